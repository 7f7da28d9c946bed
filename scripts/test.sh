#!/usr/bin/env bash
# Runs the whole test suite. It installs whatever the tests need, so it passes on a fresh
# machine with only the Rust toolchain; a test whose component is missing fails, never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-features
