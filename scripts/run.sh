#!/usr/bin/env bash
# The main job: installs what is needed, builds, and runs branchboxd in the foreground with its
# embedded defaults (state in ~/.local/state/branchbox, WebSocket on 127.0.0.1:47815).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
npm run --silent build
exec node dist/branchboxd.js "$@"
