#!/usr/bin/env bash
# Runs the benchmarks under bench/ (or the ones named), each comparing Branchbox with the
# plain alternative in the same run and printing ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npm run --silent build
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(bench/*.bench.ts)
for bench in "${benches[@]}"; do
  echo "== $bench"
  node --import tsx "$bench"
done
