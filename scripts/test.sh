#!/usr/bin/env bash
# Runs every Branchbox test: unit, daemon integration against a real Docker engine and real
# SQLite files, and the extension end to end in code-server. Installs and starts what the
# tests need first (scripts/setup.sh, scripts/e2e.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
npm run --silent build
npm run --silent typecheck
npm run --silent lint

mkdir -p test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json || status=$?

# End to end: the packaged extension in code-server, driven through its UI in Chromium.
rm -f test-results/e2e/results.json
bash scripts/e2e.sh || status=1

# Tests label what they create (branchbox.test=<run>) and must remove it, even when failing:
# containers, networks, and images (those the daemons under test built carry the label too).
leftovers=$(docker ps -aq --filter label=branchbox.test; docker network ls -q --filter label=branchbox.test
  docker images -q --filter label=branchbox.test)
if [ -n "$leftovers" ]; then
  echo "Tests left Docker objects behind:" >&2
  docker ps -a --filter label=branchbox.test --format 'container {{.Names}} {{.Labels}}' >&2
  docker network ls --filter label=branchbox.test --format 'network {{.Name}} {{.Labels}}' >&2
  docker images --filter label=branchbox.test --format 'image {{.Repository}}:{{.Tag}} {{.ID}}' >&2
  docker ps -aq --filter label=branchbox.test | xargs -r docker rm -f >/dev/null
  docker network ls -q --filter label=branchbox.test | xargs -r docker network rm >/dev/null
  docker images -q --filter label=branchbox.test | sort -u | xargs -r docker rmi -f >/dev/null
  status=1
fi
node scripts/test-summary.mjs test-results/vitest.json test-results/e2e/results.json || status=1
exit $status
