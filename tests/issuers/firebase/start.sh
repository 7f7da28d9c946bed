#!/usr/bin/env bash
# Start the Firebase Authentication emulator in the foreground on 127.0.0.1.
#
# Usage: start.sh PORT PROJECT_ID
#
# PROJECT_ID must start with "demo-" so that firebase-tools needs no login and
# makes no calls to production services. The script replaces itself with the
# emulator's node process (exec), so the caller's child pid is the emulator's
# pid and SIGTERM, SIGINT or SIGKILL on that pid stops it.
#
# The emulator is ready when `GET http://127.0.0.1:PORT/` returns HTTP 200 with
# {"authEmulator": {"ready": true, ...}}. See README.md for the REST contract.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 PORT PROJECT_ID" >&2
  exit 2
fi
port=$1
project_id=$2

case "$port" in
  '' | *[!0-9]*)
    echo "start.sh: PORT must be a decimal number, got '$port'" >&2
    exit 2
    ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "start.sh: PORT must be in 1..65535, got $port" >&2
  exit 2
fi
case "$project_id" in
  demo-*) ;;
  *)
    echo "start.sh: PROJECT_ID must start with 'demo-', got '$project_id'" >&2
    exit 2
    ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
cli="$here/node_modules/firebase-tools/lib/bin/firebase.js"
if [ ! -f "$cli" ]; then
  echo "start.sh: firebase-tools is missing. Run 'npm install' in $here first." >&2
  exit 1
fi

# firebase-tools reads the emulator port only from firebase.json, so write a
# copy with PORT into a state directory. The directory also receives the CLI's
# config store, the emulator hub's locator file and firebase-debug.log, which
# keeps runs apart from each other and from the user's own firebase-tools
# setup. It is keyed by port and wiped at every start, because a killed
# emulator leaves its files behind.
state_dir="${TMPDIR:-/tmp}/cloudauth-firebase-auth-$port"
# Check the port before wiping, so that a second start on a busy port cannot
# delete the state directory of the emulator that already runs there.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "start.sh: 127.0.0.1:$port is already in use" >&2
  exit 1
fi
rm -rf "$state_dir"
mkdir -p "$state_dir/config" "$state_dir/tmp"
node -e '
  const fs = require("fs");
  const [template, output, port] = process.argv.slice(1);
  const config = JSON.parse(fs.readFileSync(template, "utf8"));
  config.emulators.auth.port = Number(port);
  fs.writeFileSync(output, JSON.stringify(config, null, 2) + "\n");
' "$here/firebase.json" "$state_dir/firebase.json" "$port"

cd "$state_dir"

# What each variable does in firebase-tools 15.37.0:
# - CI=true stops the CLI from fetching its message of the day at start, and
#   it turns off the update notifier, as NO_UPDATE_NOTIFIER does.
# - An empty config store (XDG_CONFIG_HOME) has no login and no usage consent,
#   so the CLI sends no analytics events.
# - START_LOGGING_EMULATOR=false keeps the logging emulator (port 4500) from
#   starting. Unset, the CLI reads its default as the string "false", which
#   is truthy, so the logging emulator starts even with the UI disabled.
# - The CLI posts start and stop notices to a VS Code extension at
#   localhost:VSCODE_WEBHOOK_PORT (default 40001). Port 0 makes that post
#   fail at once instead of reaching whatever else listens on 40001.
export CI=true
export NO_UPDATE_NOTIFIER=1
export XDG_CONFIG_HOME="$state_dir/config"
export TMPDIR="$state_dir/tmp"
export START_LOGGING_EMULATOR=false
export VSCODE_WEBHOOK_PORT=0

exec node "$cli" emulators:start \
  --only auth \
  --project "$project_id" \
  --config "$state_dir/firebase.json"
