#!/usr/bin/env bash
# e2e: the real trailsentryd, fed by the real `trailsentry submit`.
source "$(dirname "$0")/e2e_lib.sh"
EXAMPLES="$SOURCE_DIR/deploy/examples"

start_server
# The example recon burst raises exactly one alert, for the leaked CI key.
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" --batch 5 "$EXAMPLES" >"$WORK/alerts.jsonl" 2>"$WORK/err.txt" ||
  fail "submit exited $? : $(cat "$WORK/err.txt")"
expect_eq "$(wc -l <"$WORK/alerts.jsonl")" "1" "alerts from the example"
expect_contains "$WORK/alerts.jsonl" '"ruleId":"aws-discovery-cli-burst"' "rule id"
expect_contains "$WORK/alerts.jsonl" '"identity":"arn:aws:iam::111122223333:user/ci-deployer"' "identity"
expect_contains "$WORK/alerts.jsonl" '"accessKeyIds":\["AKIAQXZ5EXAMPLEKEY7"\]' "access key"
expect_contains "$WORK/alerts.jsonl" '"sourceIps":\["185.220.101.47"\]' "source ip"
expect_contains "$WORK/alerts.jsonl" '"distinctActionCount":8' "distinct actions"
# Each line says what this run did to the alert; counts are numbers, and every
# field is there, false and zero included (issue 11 item 10).
expect_contains "$WORK/alerts.jsonl" '^{"change":"NEW","alertId":' "the change comes first"
expect_contains "$WORK/alerts.jsonl" '"eventCount":[0-9]' "eventCount is a number"
expect_contains "$WORK/alerts.jsonl" '"newToAccount":false' "false fields are present"
expect_contains "$WORK/alerts.jsonl" '"supersededBy":""' "empty fields are present"
expect_contains "$WORK/err.txt" "23 events read from 1 files" "summary"
expect_contains "$WORK/err.txt" "23 accepted, 0 rejected; 1 alerts" "summary counts"

# Redelivering the same records changes nothing: every eventID is a duplicate,
# so no alert is opened or updated.
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" --batch 1000 "$EXAMPLES" >"$WORK/again.jsonl" 2>"$WORK/again.txt" ||
  fail "second submit failed"
expect_eq "$(wc -l <"$WORK/again.jsonl")" "0" "alerts on redelivery"
expect_contains "$WORK/again.txt" "23 accepted, 0 rejected; 0 alerts" "redelivery summary"

# The real datasets: every record accepted, no alerts (SOURCES.md: no burst).
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$DATASETS_DIR" >"$WORK/ds.jsonl" 2>"$WORK/ds.txt" ||
  fail "datasets submit exited non-zero: $(tail -n 3 "$WORK/ds.txt")"
expect_contains "$WORK/ds.txt" "3313 events read from 91 files" "datasets summary"
expect_contains "$WORK/ds.txt" "3313 accepted, 0 rejected; 0 alerts" "datasets counts"

# Bad input: exit 1, each bad record named, the good ones still evaluated.
printf '%s\n' '{"eventName":"ListUsers","eventSource":"iam.amazonaws.com","eventTime":"2026-03-15T09:00:00Z"}' \
  '{"eventSource":"iam.amazonaws.com","eventTime":"2026-03-15T09:00:00Z"}' 'not json' \
  '{"eventName":"ListUsers","eventSource":"iam.amazonaws.com","eventTime":"2026-13-15T09:00:00Z"}' >"$WORK/bad.jsonl"
set +e
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$WORK/bad.jsonl" >/dev/null 2>"$WORK/bad.txt"
rc=$?
set -e
expect_eq "$rc" "1" "exit code on bad input"
expect_contains "$WORK/bad.txt" "bad.jsonl record 1: eventName: missing" "missing eventName named"
expect_contains "$WORK/bad.txt" "bad.jsonl record 2: record: invalid JSON" "invalid JSON named"
expect_contains "$WORK/bad.txt" "bad.jsonl record 3: .*eventTime" "bad time named"
expect_contains "$WORK/bad.txt" "1 accepted, 3 rejected" "bad input summary"

# Usage errors exit 2; an unreachable server is an error, not a hang.
set +e
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" >/dev/null 2>&1; rc_usage=$?
"$TRAILSENTRY" frobnicate x >/dev/null 2>&1; rc_cmd=$?
set -e
expect_eq "$rc_usage" "2" "exit code without PATH"
expect_eq "$rc_cmd" "2" "exit code for unknown command"

# Streaming: requests hold --batch records however the file is cut into reads (a
# server taking at most 1000 per request answers every one), gzip and S3
# delivery files (minified into lines) included, rejections named by their
# index in the file, and memory bounded whatever the input's size.
stop_server
"$TRAILSENTRY_GEN" --events 30000 --identities 300 --accounts 3 --rate 1 --bursts 0.004 --seed 3 \
  >"$WORK/g.jsonl"
gzip -c "$WORK/g.jsonl" >"$WORK/g-copy.jsonl.gz"
python3 - "$WORK/g.jsonl" "$WORK/delivery.json" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])][:2500]
records[1700] = {"eventSource": "iam.amazonaws.com"}  # no eventName, no eventTime
json.dump({"Records": records}, open(sys.argv[2], "w"), indent=1)
PY
printf 'server { max_events_per_request: 1000 }\n' >"$WORK/limit.textproto"
start_server --config "$WORK/limit.textproto"
read -r rss_kb rc < <(run_measured "$WORK/stream.jsonl" "$WORK/stream.txt" "$TRAILSENTRY" submit \
  --server "127.0.0.1:$PORT" --batch 1000 "$WORK/g.jsonl" "$WORK/g-copy.jsonl.gz" "$WORK/delivery.json")
expect_eq "$rc" "1" "exit code with one bad record"
expect_contains "$WORK/stream.txt" "62500 events read from 3 files" "every record of the three files"
expect_contains "$WORK/stream.txt" "62499 accepted, 1 rejected" "one rejection"
expect_contains "$WORK/stream.txt" "delivery.json record 1700: eventName: missing" "rejection named by file and index"
[[ -s "$WORK/stream.jsonl" ]] || fail "the generated bursts raised no alert"
stop_server
# 250 MB of JSON lines (the file above, repeated: the copies are duplicates,
# still parsed and answered) through a client whose RSS stays far below it.
for _ in $(seq 1 7); do cat "$WORK/g.jsonl"; done >"$WORK/big.jsonl"
start_server
read -r rss_kb rc < <(run_measured /dev/null "$WORK/big.txt" "$TRAILSENTRY" submit \
  --server "127.0.0.1:$PORT" "$WORK/big.jsonl")
expect_eq "$rc" "0" "submit of the big file: $(tail -n 2 "$WORK/big.txt")"
expect_contains "$WORK/big.txt" "210000 accepted, 0 rejected" "every record of the big file"
max_rss_kb=$((100 * 1024))
if [[ -n "$(sanitizer_of "$TRAILSENTRY")" ]]; then max_rss_kb=$((1024 * 1024)); fi
[[ "$rss_kb" -gt 1000 && "$rss_kb" -lt "$max_rss_kb" ]] || fail "submit's RSS was $rss_kb KiB for a $(du -m "$WORK/big.jsonl" | cut -f1) MB file"
echo "submit e2e: $(du -m "$WORK/big.jsonl" | cut -f1) MB file, client peak RSS $((rss_kb / 1024)) MB"
rm -f "$WORK/big.jsonl"

# Still serving after all that; then a clean SIGTERM.
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$EXAMPLES" >/dev/null 2>&1 || fail "server stopped serving"
stop_server
echo "submit e2e: ok"
