#!/bin/bash
# Where a one-thread `trailsentry scan` spends its time, per event: the file
# is scanned under `perf record` (DWARF call graphs) and the samples of the
# scanning thread are summed by stage, in nanoseconds per event. Run it on two
# files (5,000 and 1M identities) to see what a new identity costs, or beside
# peers.sh to see what `scan` would have to shed to reach a budget.
#
#   tests/bench/scan_profile.sh BUILD_DIR FILE.jsonl [CONFIG]
#   tests/bench/scan_profile.sh build /tmp/w1m.jsonl
#
# Stages nest as printed (indented rows are part of the row above them). A
# sample is counted in a stage when the stage's function is on its stack;
# simdjson's own frames do not unwind, so "JSON parse" sums the samples taken
# inside libsimdjson. The rows under "across stages" are already counted in
# the stages above: the rules' writes into the batch, and page faults. `perf`
# samples CPU time at 1 kHz: one sample is 1 ns per event on 1M events.
# Compare files in one command, as the machine's speed moves from minute to
# minute.
set -euo pipefail
build=$1 file=$2 config=${3:-}
command -v perf >/dev/null || { echo "needs perf: apt-get install linux-perf" >&2; exit 1; }
config_flag=()
[[ -n $config ]] && config_flag=(--config "$config")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat "$file" >/dev/null  # in the page cache, as on a second scan

summary=$(perf record -q -F 1000 --call-graph dwarf,16384 -o "$work/perf.data" -- \
  "$build/client/trailsentry" scan "${config_flag[@]}" --threads 1 --data_dir "$work/db" "$file" \
  2>&1 >/dev/null | grep 'trailsentry scan:' || true)
[[ -n $summary ]] || { echo "scan failed" >&2; exit 1; }
events=$(grep -o '[0-9]* events read' <<<"$summary" | grep -o '^[0-9]*')
echo "$summary"

# The scanning thread is the process's main thread (its comm: trailsentry).
perf report -i "$work/perf.data" --comm trailsentry --children --stdio -g none -n \
  --sort dso,sym 2>/dev/null | grep -E '^ +[0-9]' >"$work/children"
total=$(perf script -i "$work/perf.data" --comm trailsentry -F comm 2>/dev/null | wc -l)
# Inclusive share of the first symbol matching PATTERN, or the self samples of
# a shared object (dso:NAME).
share() {
  if [[ $1 == dso:* ]]; then
    awk -v d="${1#dso:}" '$4 ~ d { s += $2 } END { print s + 0 }' "$work/children"
  else
    grep -E -m1 -- "$1" "$work/children" | awk '{ print $1 + 0 }' || true
  fi
}
pct=0
row() {  # LABEL PATTERN...: the stage's ns per event (several patterns add up); sets pct
  local label=$1 p
  pct=0
  shift
  for pattern in "$@"; do
    p=$(share "$pattern")
    pct=$(awk -v a="$pct" -v b="${p:-0}" 'BEGIN { print a + b }')
  done
  show "$label" "$pct"
}
show() {  # LABEL PERCENT
  awk -v l="$1" -v p="$2" -v t="$total" -v e="$events" \
    'BEGIN { printf "%-44s %7.0f ns %6.1f%%\n", l, p / 100 * t / 1000 * 1e9 / e, p }'
}
rest() {  # LABEL WHOLE PARTS...: what of WHOLE the PARTS leave
  local label=$1 left=$2
  shift 2
  for part in "$@"; do left=$(awk -v a="$left" -v b="$part" 'BEGIN { print a - b }'); done
  show "$label" "$left"
}
printf '%-44s %10s %7s\n' "stage (one thread, $events events)" "per event" "share"
row "everything (the scanning thread)" 'RunScan$'
all=$pct
row "  read the file" 'FileSource::Read$'
read=$pct
row "  JSON parse (simdjson DOM)" 'dso:libsimdjson'
parse=$pct
row "  spec §1 fields" 'engine::ParseRecord$'
fields=$pct
row "  classify" 'EventClassifier::Classify$'
classify=$pct
row "  rules and state (Engine::Evaluate)" 'Engine::Evaluate$'
evaluate=$pct
row "    identity table" 'IdentitySlot>.*try_emplace_impl'
table=$pct
row "    an identity's first read" 'Engine::LoadIdentity$'
first_read=$pct
row "    burst rule" 'BurstWindow::Add$'
burst=$pct
row "    unusual-IP rule and baselines" 'IdentityBaseline::Evaluate$'
unusual=$pct
row "      account baselines" 'AccountBaselines::Observe$'
rest "    the rest (seen ids, the event log's entry)" "$evaluate" "$table" "$first_read" \
  "$burst" "$unusual"
row "  commit" 'storage::Transaction::Commit$'
commit=$pct
row "    keys in order (coalesced writes)" 'CoalescedWrites::ForEachLatest$' \
  'CoalescedWrites::ForEachSeen$'
row "    owner filters" 'internal::AddOwners$'
row "    RocksDB write (memtables; no WAL in scan)" 'rocksdb::DBImpl::Write$'
rest "  the rest (the pipeline between stages)" "$all" "$read" "$parse" "$fields" "$classify" \
  "$evaluate" "$commit"
echo "across stages:"
row "  state writes into the batch (in the rules)" 'StateBatch::WillObserve$' \
  'StateBatch::PutEvent$' 'StateBatch::PutProfile$' 'StateBatch::PutBaseline$' \
  'StateBatch::PutAccountBaseline$' 'StateBatch::PutAlert$'
row "  page faults" 'exc_page_fault$'
