#!/usr/bin/env bash
# Installs what the end-to-end suite (test/e2e) needs, idempotently, then runs it:
#   Debian chromium, libkrb5-dev, ripgrep; code-server@4.100.3 in a cache folder outside the repo.
# Usage: bash scripts/e2e.sh            # install + run
#        bash scripts/e2e.sh --install  # install only
set -euo pipefail
cd "$(dirname "$0")/.."

CS_VERSION=4.100.3
CACHE="${BRANCHBOX_E2E_CACHE:-$HOME/.cache/branchbox-e2e}"
CS_DIR="$CACHE/code-server"
CS_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e: apt-get install ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f "$CS_ENTRY" ] || ! grep -q "\"version\": \"$CS_VERSION\"" "$CS_DIR/node_modules/code-server/package.json" 2>/dev/null; then
  echo "e2e: installing code-server@$CS_VERSION into $CS_DIR (2-3 min)"
  # @vscode/ripgrep (inside code-server) downloads rg from GitHub: pre-seed its cache with Debian's rg.
  seed=$(mktemp -d)
  cp "$(command -v rg)" "$seed/rg"
  mkdir -p /tmp/vscode-ripgrep-cache-1.15.11
  tar -C "$seed" -czf /tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz rg
  rm -rf "$seed"
  mkdir -p "$CS_DIR"
  [ -f "$CS_DIR/package.json" ] || echo '{"name":"branchbox-e2e-code-server","private":true}' > "$CS_DIR/package.json"
  (cd "$CS_DIR" && npm_config_unsafe_perm=true npm_config_yes=true \
     npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION")
fi
test -f "$CS_ENTRY"

[ "${1:-}" = "--install" ] && exit 0

# A Docker engine and the offline base images (scripts/test.sh has run setup already).
if ! docker image inspect branchbox/node:20 >/dev/null 2>&1; then bash scripts/setup.sh --no-npm; fi
# The suite installs the packaged .vsix (vsce runs vscode:prepublish, i.e. the production build).
echo "e2e: npm run package"
npm run --silent package >/dev/null
export BRANCHBOX_E2E_CODE_SERVER="$CS_ENTRY"
exec node --import tsx test/e2e/extension.e2e.ts
