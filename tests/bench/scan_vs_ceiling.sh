#!/usr/bin/env bash
# `trailsentry scan` throughput against simdjson's raw parse of the same file,
# measured alternately in one run (the machines are shared and noisy).
#
#   tests/bench/scan_vs_ceiling.sh [BUILD_DIR] [EVENTS] [ROUNDS]
set -euo pipefail
BUILD="${1:-build}"
EVENTS="${2:-1000000}"
ROUNDS="${3:-5}"
FILE="${TMPDIR:-/tmp}/trailsentry-workload-${EVENTS}.jsonl"
[[ -s "$FILE" ]] || "$BUILD/tests/bench/trailsentry-gen" --events "$EVENTS" >"$FILE"
best_scan=0
best_ceiling=0
for round in $(seq 1 "$ROUNDS"); do
  ceiling=$("$BUILD/tests/bench/parse-ceiling" "$FILE" | sed -n 's/.*: \([0-9]*\) records\/s.*/\1/p')
  # Both rules, state persisted to a fresh data directory, as `scan` runs by default.
  rm -rf "${TMPDIR:-/tmp}/trailsentry-bench-data"
  scan=$("$BUILD/client/trailsentry" scan --data_dir "${TMPDIR:-/tmp}/trailsentry-bench-data" "$FILE" 2>&1 >/dev/null |
    sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p')
  echo "round $round: scan $scan events/s, ceiling $ceiling records/s, ratio $(awk "BEGIN{printf \"%.2f\", $scan/$ceiling}")"
  ((scan > best_scan)) && best_scan=$scan
  ((ceiling > best_ceiling)) && best_ceiling=$ceiling
done
echo "best: scan $best_scan events/s, ceiling $best_ceiling records/s, ratio $(awk "BEGIN{printf \"%.2f\", $best_scan/$best_ceiling}")"
