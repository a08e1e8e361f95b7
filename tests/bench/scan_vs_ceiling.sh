#!/usr/bin/env bash
# `trailsentry scan` throughput against simdjson's raw parse of the same file,
# measured alternately in one run (the machines are shared and noisy), for three
# set-ups: as `scan` runs by default (both rules, state persisted to a fresh data
# directory), both rules in memory (--data_dir ""), and the burst rule alone in
# memory (unusual_ip { enabled: false }).
#
#   tests/bench/scan_vs_ceiling.sh [BUILD_DIR] [EVENTS] [ROUNDS]
set -euo pipefail
BUILD="${1:-build}"
EVENTS="${2:-1000000}"
ROUNDS="${3:-5}"
TMP="${TMPDIR:-/tmp}"
FILE="$TMP/trailsentry-workload-${EVENTS}.jsonl"
[[ -s "$FILE" ]] || "$BUILD/tests/bench/trailsentry-gen" --events "$EVENTS" >"$FILE"
echo 'unusual_ip { enabled: false }' >"$TMP/trailsentry-burst-only.textproto"
rate() { sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p'; }
ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
for round in $(seq 1 "$ROUNDS"); do
  ceiling=$("$BUILD/tests/bench/parse-ceiling" "$FILE" | sed -n 's/.*: \([0-9]*\) records\/s.*/\1/p')
  rm -rf "$TMP/trailsentry-bench-data"
  persisted=$("$BUILD/client/trailsentry" scan --data_dir "$TMP/trailsentry-bench-data" "$FILE" 2>&1 >/dev/null | rate)
  memory=$("$BUILD/client/trailsentry" scan --data_dir "" "$FILE" 2>&1 >/dev/null | rate)
  burst=$("$BUILD/client/trailsentry" scan --data_dir "" --config "$TMP/trailsentry-burst-only.textproto" "$FILE" 2>&1 >/dev/null | rate)
  echo "round $round: ceiling $ceiling/s | default $persisted/s ($(ratio "$persisted" "$ceiling")) | both rules in memory $memory/s ($(ratio "$memory" "$ceiling")) | burst rule in memory $burst/s ($(ratio "$burst" "$ceiling"))"
done
