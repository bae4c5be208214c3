#!/usr/bin/env bash
# Runs every Branchbox test: unit, daemon integration against a real Docker engine and real
# SQLite files, and the extension end to end in code-server. Installs and starts what the
# tests need first (scripts/setup.sh, scripts/e2e.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --test
npm run --silent build
npm run --silent typecheck
npm run --silent lint

mkdir -p test-results
status=0
# This run's id: every Docker object a test creates carries it (test/helpers/docker-fixtures.ts).
BRANCHBOX_TEST_SUITE=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
export BRANCHBOX_TEST_SUITE
# Built above: the integration project's global setup (test/helpers/fresh-build.ts) need not build again.
export BRANCHBOX_BUILD_FRESH=1
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json || status=$?

# End to end: the packaged extension in code-server, driven through its UI in Chromium.
rm -f test-results/e2e/results.json
bash scripts/e2e.sh || status=1

# Tests must remove what they created, even when failing; this run's leftovers fail it.
bash scripts/test-leftovers.sh "$BRANCHBOX_TEST_SUITE" || status=1
node scripts/test-summary.mjs test-results/vitest.json test-results/e2e/results.json || status=1
exit $status
