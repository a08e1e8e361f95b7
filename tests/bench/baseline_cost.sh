#!/usr/bin/env bash
# What the unusual-source-IP rule (and keeping baselines) costs `trailsentry scan`,
# on identities that already have baselines. Day 1 (28 h of trail) bootstraps a
# data directory; day 2 (the same organisation, 1M events) is then scanned from a
# copy of it with both rules, and with the unusual-IP rule off, alternately.
#
#   tests/bench/baseline_cost.sh [BUILD_DIR] [EVENTS] [ROUNDS]
set -euo pipefail
BUILD="${1:-build}"
EVENTS="${2:-1000000}"
ROUNDS="${3:-3}"
TMP="${TMPDIR:-/tmp}/trailsentry-baseline-cost"
mkdir -p "$TMP"
GEN="$BUILD/tests/bench/trailsentry-gen"
SCAN="$BUILD/client/trailsentry scan"
DAY1=1767225600
DAY2=$((DAY1 + 28 * 3600))
[[ -s "$TMP/day1.jsonl" ]] || "$GEN" --events "$EVENTS" --start "$DAY1" --rate 10 >"$TMP/day1.jsonl"
[[ -s "$TMP/day2.jsonl" ]] || "$GEN" --events "$EVENTS" --start "$DAY2" --rate 50 >"$TMP/day2.jsonl"
echo 'unusual_ip { enabled: false }' >"$TMP/burst-only.textproto"
rm -rf "$TMP/bootstrap"
$SCAN --data_dir "$TMP/bootstrap" "$TMP/day1.jsonl" 2>&1 >/dev/null | tail -n 1 | sed 's/^/bootstrap: /'
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$TMP/both" "$TMP/burst"
  cp -r "$TMP/bootstrap" "$TMP/both"
  cp -r "$TMP/bootstrap" "$TMP/burst"
  both=$($SCAN --data_dir "$TMP/both" "$TMP/day2.jsonl" 2>&1 >"$TMP/both-alerts.jsonl" | tail -n 1)
  burst=$($SCAN --config "$TMP/burst-only.textproto" --data_dir "$TMP/burst" "$TMP/day2.jsonl" 2>&1 >/dev/null | tail -n 1)
  b=$(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' <<<"$both")
  o=$(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' <<<"$burst")
  echo "round $round: both rules $b events/s, burst only $o events/s, cost $(awk "BEGIN{printf \"%.0f%%\", 100*(1-$b/$o)}")"
done
echo "alerts in the last 'both rules' run: $(grep -c cli-burst "$TMP/both-alerts.jsonl") burst, $(grep -c unusual-source-ip "$TMP/both-alerts.jsonl") unusual-IP"
