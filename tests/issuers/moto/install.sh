#!/usr/bin/env bash
# Installs the pinned Python packages that fixture.py needs: moto with its server extra, and
# boto3. Running it again is cheap: when the pinned versions and the server extra's modules
# are already importable, it exits without calling pip.
set -euo pipefail

MOTO_VERSION=5.2.6
BOTO3_VERSION=1.44.8
PYTHON=${PYTHON:-python3}

# Prints nothing and exits 0 only when both pins are installed and the modules that
# moto's server mode and its Cognito tokens need can be imported.
pins_installed() {
    "$PYTHON" - "$MOTO_VERSION" "$BOTO3_VERSION" <<'PY' 2>/dev/null
import sys
from importlib import metadata

moto_version, boto3_version = sys.argv[1], sys.argv[2]
if metadata.version("moto") != moto_version or metadata.version("boto3") != boto3_version:
    sys.exit(1)

import flask, flask_cors, joserfc, moto.server  # noqa: E401,F401
PY
}

if pins_installed; then
    echo "moto ${MOTO_VERSION} and boto3 ${BOTO3_VERSION} are already installed" >&2
    exit 0
fi

"$PYTHON" -m pip install \
    --disable-pip-version-check \
    --root-user-action=ignore \
    --quiet \
    "moto[server]==${MOTO_VERSION}" \
    "boto3==${BOTO3_VERSION}"

if ! pins_installed; then
    echo "error: pip finished, but moto ${MOTO_VERSION} with its server extra or boto3 ${BOTO3_VERSION} still cannot be imported" >&2
    exit 1
fi
echo "installed moto ${MOTO_VERSION} and boto3 ${BOTO3_VERSION}" >&2
