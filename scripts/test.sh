#!/usr/bin/env bash
# Runs the whole test suite. It first installs what the tests against real issuers need (moto
# for Cognito, oidc-provider and the Firebase Auth emulator from npm), so it passes on a fresh
# machine with the Rust toolchain, Python 3 with pip, and Node.js with npm. A test whose
# component is missing fails; none is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/issuers/moto/install.sh
for fixture in oidc-provider firebase; do
    (cd "tests/issuers/$fixture" && npm install --no-audit --no-fund --loglevel=error)
done

cargo test --workspace --all-features
