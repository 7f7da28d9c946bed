#!/usr/bin/env bash
# Runs the whole test suite. It first installs what the tests need: moto for Cognito,
# oidc-provider and the Firebase Auth emulator from npm, playwright-core and Debian's Chromium
# for the Swagger UI test. So it passes on a fresh machine with the Rust toolchain, Python 3 with
# pip, and Node.js with npm. A test whose component is missing fails; none is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/issuers/moto/install.sh
for fixture in tests/issuers/oidc-provider tests/issuers/firebase tests/browser; do
    (cd "$fixture" && npm install --no-audit --no-fund --loglevel=error)
done

# The Swagger UI test drives Debian's Chromium; installing it needs root (about 20 s).
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: /usr/bin/chromium is missing; install Debian's chromium package as root" >&2
        exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi

cargo test --workspace --all-features
