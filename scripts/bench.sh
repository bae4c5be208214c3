#!/usr/bin/env bash
# Runs the benchmarks under bench/ (or the ones named), each comparing Branchbox with the
# plain alternative in the same run and printing ratios. Options (--quick, --rounds 3, …) are
# passed to every bench; arguments ending in .bench.ts, or the name of a bench under bench/,
# name the benches to run:
#
#   npm run bench -- --quick
#   npm run bench -- --quick bench/rpc.bench.ts
#   npm run bench -- daemon-memory --quick
#
# Every bench runs even when one fails; at the end a table of every bench's ratios and
# checks (from the JSON lines they append to $BENCH_SUMMARY), and the exit code is 1 when any
# bench failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npm run --silent build
benches=()
flags=()
for arg in "$@"; do
  case "$arg" in
    *.bench.ts) benches+=("$arg") ;;
    -*) flags+=("$arg") ;;
    *) if [ -f "bench/$arg.bench.ts" ]; then benches+=("bench/$arg.bench.ts"); else flags+=("$arg"); fi ;;
  esac
done
[ ${#benches[@]} -gt 0 ] || benches=(bench/*.bench.ts)
export BENCH_SUMMARY
BENCH_SUMMARY="$(mktemp -t branchbox-bench.XXXXXX)"
trap 'rm -f "$BENCH_SUMMARY"' EXIT
failed=()
for bench in "${benches[@]}"; do
  echo "== $bench"
  before=$(wc -l <"$BENCH_SUMMARY")
  if ! node --import tsx "$bench" "${flags[@]}"; then failed+=("$bench"); fi
  if [ "$(wc -l <"$BENCH_SUMMARY")" = "$before" ]; then
    # It ended before writing its summary (a usage error, a crash): a row says so.
    printf '{"bench":"%s","quick":false,"ok":false,"cores":%s,"loadStart":[],"loadEnd":[],"seconds":0,"ratios":[],"failed":["ended without a summary"]}\n' \
      "$(basename "$bench" .bench.ts)" "$(nproc)" >>"$BENCH_SUMMARY"
  fi
  echo
done
echo "== summary"
node --import tsx bench/summary.ts "$BENCH_SUMMARY"
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
