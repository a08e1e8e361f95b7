#!/bin/bash
# scan on one and on every thread, persisted and in memory, alternating in one
# command (the machine is noisy: compare ratios within a round). With BEFORE set
# to another build's `trailsentry`, that build's default scan runs in each round too.
#
#   tests/bench/scan_threads.sh BUILD_DIR FILE.jsonl [ROUNDS]
#   BEFORE=/tmp/oldtree/build/client/trailsentry tests/bench/scan_threads.sh build /tmp/w1m.jsonl 2
set -euo pipefail
build=$1 file=$2 rounds=${3:-2}
threads=$(nproc)
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
run() {  # label, binary, args...
  local label=$1 bin=$2
  shift 2
  for dir in "$data/db" ""; do
    rm -rf "$data/db"
    local out
    out=$("$bin" scan --data_dir "$dir" "$@" "$file" 2>&1 >/dev/null | tail -n 1)
    printf '%s\t%s\t%s\n' "$label" "$([[ -n $dir ]] && echo persisted || echo "in memory")" \
      "$(grep -o '[0-9]* events/s' <<<"$out"); $(grep -o '[0-9]* alerts' <<<"$out")"
  done
}
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r"
  [[ -n "${BEFORE:-}" ]] && run "before" "$BEFORE"
  run "--threads 1" "$build/client/trailsentry" --threads 1
  run "--threads $threads" "$build/client/trailsentry" --threads "$threads"
done
