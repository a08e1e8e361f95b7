#!/usr/bin/env bash
# trailsentry beside its two yardsticks, on one JSON-lines file, alternating in
# one command (the machines are shared and noisy: compare ratios within a round):
#   - DuckDB running Elastic's reference ES|QL burst rule as SQL (what a user
#     would pick instead), on 1 thread and on every core;
#   - simdjson On-Demand reading the 7 fields the rules need (the parse limit),
#     beside what each of `scan`'s threads does before the rules (DOM parse + the
#     spec §1 fields, `parse-ceiling --fields`) and its share of the limit;
#   - `trailsentry scan` as it runs by default (both rules, SLIDING, persisted)
#     on 1 thread and on every core, and in TUMBLING mode (the peer's alert set).
# The peers come from ../shared/bench (or PEERS=DIR); they are copied to a work
# folder, as `npm ci` and the limit's build write beside them. Not needed by the
# build or the tests: without the peers this script says so and stops.
#
#   tests/bench/peers.sh BUILD_DIR FILE.jsonl [ROUNDS]
#   tests/bench/peers.sh build /tmp/w1m.jsonl 2
set -euo pipefail
build=$1 file=$2 rounds=${3:-2}
here=$(cd "$(dirname "$0")/../.." && pwd)
peers=${PEERS:-$here/../shared/bench}
[[ -f $peers/esql_duckdb.mjs ]] || { echo "peers.sh: no benchmark peers in $peers (set PEERS=DIR)" >&2; exit 2; }
work=${PEERS_WORK:-${TMPDIR:-/tmp}/trailsentry-peers}
if [[ ! -d $work/node_modules || ! -x $work/limit/build/parse_limit ]]; then
  rm -rf "$work"
  cp -r "$peers" "$work"
  chmod -R u+w "$work"
  (cd "$work" && npm ci --silent >/dev/null)
  "$work/limit/build.sh" >/dev/null
fi
cores=$(nproc)
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
rate() { sed -n 's/.* \([0-9]*\) events\/s.*/\1/p; s/.*(\([0-9]*\) events\/s).*/\1/p' | head -n1; }
alerts() { sed -n 's/.*[ ;] \([0-9]*\) alerts.*/\1/p' | head -n1; }
row() { printf '%-44s %10s events/s  %s\n' "$1" "$2" "$3"; }
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r ($(basename "$file"), $cores cores)"
  out=$("$work/limit/build/parse_limit" "$file" 3 --stream-only 2>&1)
  limit=$(grep 'limit stream' <<<"$out" | rate)
  row "limit (simdjson On-Demand, 7 fields, 1 thread)" "$limit" ""
  fields=$("$build/tests/bench/parse-ceiling" --fields "$file" | sed -n 's/.* \([0-9]*\) records\/s.*/\1/p')
  row "trailsentry parse + fields, 1 thread" "$fields" \
    "$(awk -v f="$fields" -v l="$limit" 'BEGIN { printf "%.2f of the limit", f / l }')"
  for t in 1 "$cores"; do
    out=$(node "$work/esql_duckdb.mjs" "$file" --threads "$t" 2>&1 >/dev/null)
    row "DuckDB reference rule, $t thread(s)" "$(rate <<<"$out")" "$(sed -n 's/.* \([0-9]*\) alerts.*/\1 alerts/p' <<<"$out")"
  done
  for t in 1 "$cores"; do
    rm -rf "$data/db"
    out=$("$build/client/trailsentry" scan --threads "$t" --data_dir "$data/db" "$file" 2>&1 >/dev/null | tail -n1)
    row "trailsentry scan (default), $t thread(s)" "$(rate <<<"$out")" "$(alerts <<<"$out") alerts"
  done
  rm -rf "$data/db"
  out=$("$build/client/trailsentry" scan --window_mode tumbling --data_dir "$data/db" "$file" 2>&1 >/dev/null | tail -n1)
  row "trailsentry scan --window_mode tumbling, $cores" "$(rate <<<"$out")" "$(alerts <<<"$out") alerts"
done
