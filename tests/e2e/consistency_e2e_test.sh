#!/usr/bin/env bash
# e2e: the same alerts however trailsentry is run — `scan` in one run or split
# into several runs over one data directory, memory-only or persisted, run after
# run; the server restarted by kill -9 or SIGTERM between acknowledged batches
# (docs/spec.md §4: results never depend on eviction, restarts or compaction).
source "$(dirname "$0")/e2e_lib.sh"

# 1. An unusual-IP alert split across two scans into one directory stays one alert.
{
  history carol 198.51.100.7
  record "$(at $((49 * 3600)))" carol 203.0.113.9 ListUsers
  record "$(at $((49 * 3600 + 10)))" carol 203.0.113.9 ListRoles
} >"$WORK/part1.jsonl"
{
  for i in 0 1 2; do
    record "$(at $((49 * 3600 + 2400 + i)))" carol 203.0.113.9 "ListPolicies$i"
  done
} >"$WORK/part2.jsonl"
cat "$WORK/part1.jsonl" "$WORK/part2.jsonl" >"$WORK/whole.jsonl"
"$TRAILSENTRY" scan --data_dir "$WORK/split" "$WORK/part1.jsonl" >"$WORK/s1.jsonl" 2>/dev/null ||
  fail "first scan"
"$TRAILSENTRY" scan --data_dir "$WORK/split" "$WORK/part2.jsonl" >"$WORK/s2.jsonl" 2>/dev/null ||
  fail "second scan"
"$TRAILSENTRY" scan --data_dir "$WORK/one" "$WORK/whole.jsonl" >"$WORK/one.jsonl" 2>/dev/null ||
  fail "single scan"
expect_eq "$(wc -l <"$WORK/one.jsonl")" "1" "one alert from one scan"
expect_eq "$(final_alerts "$WORK/s1.jsonl" "$WORK/s2.jsonl")" "$(final_alerts "$WORK/one.jsonl")" \
  "two scans into one directory give the one scan's alert, id included"

# 2. A sparse 3-day workload (identities idle for hours, so evicted): memory-only,
# persisted, persisted in four runs, and persisted again all give the same alerts.
"$TRAILSENTRY_GEN" --events 60000 --identities 1500 --accounts 6 --rate 0.25 --bursts 0.002 --seed 7 \
  >"$WORK/sparse.jsonl"
"$TRAILSENTRY" scan --data_dir "" "$WORK/sparse.jsonl" >"$WORK/mem.jsonl" 2>"$WORK/mem.txt" ||
  fail "memory-only scan: $(tail -n 3 "$WORK/mem.txt")"
"$TRAILSENTRY" scan --data_dir "$WORK/p1" "$WORK/sparse.jsonl" >"$WORK/p1.jsonl" 2>/dev/null ||
  fail "persisted scan"
"$TRAILSENTRY" scan --data_dir "$WORK/p2" "$WORK/sparse.jsonl" >"$WORK/p2.jsonl" 2>/dev/null ||
  fail "persisted scan again"
alerts=$(wc -l <"$WORK/p1.jsonl")
[[ "$alerts" -gt 10 ]] || fail "the workload raises too few alerts to prove anything ($alerts)"
grep -q aws-discovery-unusual-source-ip "$WORK/p1.jsonl" || fail "no unusual-IP alert"
cmp -s "$WORK/p1.jsonl" "$WORK/p2.jsonl" || fail "two persisted scans of one file differ"
cmp -s "$WORK/p1.jsonl" "$WORK/mem.jsonl" ||
  fail "memory-only and persisted scans differ: $(diff "$WORK/p1.jsonl" "$WORK/mem.jsonl" | head -c 600)"
split -n l/4 -d "$WORK/sparse.jsonl" "$WORK/chunk-"
outs=()
for chunk in "$WORK"/chunk-*; do
  mv "$chunk" "$chunk.jsonl"
  "$TRAILSENTRY" scan --data_dir "$WORK/p4" "$chunk.jsonl" >"$chunk.out" 2>/dev/null ||
    fail "scan of $chunk"
  outs+=("$chunk.out")
done
expect_eq "$(final_alerts "${outs[@]}")" "$(final_alerts "$WORK/p1.jsonl")" \
  "four scans into one directory give the one scan's alerts"
# A resource limit either leaves the alerts as they are or fails the run loudly
# (a message and a non-zero exit): never exit 0 with other alerts. (Not under
# AddressSanitizer, which reserves terabytes of address space for itself.)
limits="200000 400000 700000 1500000"
if [[ "$(sanitizer_of "$TRAILSENTRY")" == address ]]; then limits=""; fi
for limit in $limits; do
  rm -rf "$WORK/limited"
  set +e
  (ulimit -v "$limit" && exec "$TRAILSENTRY" scan --data_dir "$WORK/limited" "$WORK/sparse.jsonl") \
    >"$WORK/limited.jsonl" 2>"$WORK/limited.txt"
  rc=$?
  set -e
  if [[ "$rc" == 0 ]]; then
    cmp -s "$WORK/limited.jsonl" "$WORK/p1.jsonl" ||
      fail "under ulimit -v $limit the scan exited 0 with other alerts"
  else
    [[ -s "$WORK/limited.txt" ]] || fail "under ulimit -v $limit the scan failed ($rc) silently"
    [[ "$rc" -lt 128 ]] || fail "under ulimit -v $limit the scan crashed ($rc): $(tail -c 300 "$WORK/limited.txt")"
  fi
done
echo "consistency e2e (scan): ok ($alerts alerts)"

# 3. The server gives the same alerts when restarted between acknowledged batches,
# by kill -9 and by SIGTERM, and re-sending every batch afterwards changes nothing.
outs=()
n=0
for chunk in "$WORK"/chunk-*.jsonl; do
  n=$((n + 1))
  start_server
  "$TRAILSENTRY" submit --server "127.0.0.1:$PORT" --batch 300 "$chunk" >"$chunk.srv" 2>"$chunk.err" ||
    fail "submit of $chunk: $(tail -n 3 "$chunk.err")"
  outs+=("$chunk.srv")
  if ((n % 2)); then
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  else
    stop_server
  fi
done
expect_eq "$(final_alerts "${outs[@]}")" "$(final_alerts "$WORK/p1.jsonl")" \
  "the server restarted between batches (kill -9 and SIGTERM) gives the one scan's alerts"
start_server
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" --batch 300 "$WORK/sparse.jsonl" >"$WORK/again.srv" 2>/dev/null ||
  fail "re-submit"
expect_eq "$(wc -l <"$WORK/again.srv")" "0" "re-sending every batch opens or updates no alert"
stop_server
# Several requests in flight on several streams, each account's events on one
# stream in file order: the same alerts, ids included, on this sparse workload
# where a few requests in flight span hours of event time.
for concurrency in 2 4; do
  rm -rf "$WORK/data"
  start_server
  "$TRAILSENTRY" submit --concurrency "$concurrency" --window 8 --server "127.0.0.1:$PORT" --batch 200 \
    "$WORK/sparse.jsonl" >"$WORK/c$concurrency.srv" 2>"$WORK/c$concurrency.err" ||
    fail "submit --concurrency $concurrency: $(tail -n 3 "$WORK/c$concurrency.err")"
  expect_contains "$WORK/c$concurrency.err" "60000 accepted, 0 rejected" "every record answered once"
  expect_eq "$(final_alerts "$WORK/c$concurrency.srv")" "$(final_alerts "$WORK/p1.jsonl")" \
    "submit --concurrency $concurrency gives the scan's alerts"
  stop_server
done
echo "consistency e2e (server): ok"
