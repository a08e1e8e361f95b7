#!/usr/bin/env bash
# e2e: kill -9 trailsentryd mid-stream and restart it on the same data directory:
# every acknowledged baseline entry and alert is still there, and a CLI burst
# split by the restart fires exactly once.
source "$(dirname "$0")/e2e_lib.sh"
CLI="aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off"
T=$((2 * 86400))  # after two days of history: alice and bob are mature

{
  history alice 203.0.113.7
  history bob 198.51.100.20
  # An unusual-IP alert for alice (two denied discovery calls from a new network).
  record "$(at $T)" alice 185.220.101.4 ListUsers iam.amazonaws.com "$CLI" AccessDenied
  record "$(at $((T + 30)))" alice 185.220.101.4 ListRoles iam.amazonaws.com "$CLI" AccessDenied
  # The first half of a CLI burst by bob, from his usual network.
  record "$(at $((T + 600)))" bob 198.51.100.20 DescribeInstances ec2.amazonaws.com "$CLI"
  record "$(at $((T + 601)))" bob 198.51.100.20 ListBuckets s3.amazonaws.com "$CLI"
  record "$(at $((T + 602)))" bob 198.51.100.20 GetCallerIdentity sts.amazonaws.com "$CLI"
} >"$WORK/before.jsonl"
{
  record "$(at $((T + 603)))" bob 198.51.100.20 ListUsers iam.amazonaws.com "$CLI"
  record "$(at $((T + 604)))" bob 198.51.100.20 ListRoles iam.amazonaws.com "$CLI"
  record "$(at $((T + 605)))" bob 198.51.100.20 ListKeys kms.amazonaws.com "$CLI"
} >"$WORK/after.jsonl"
# A long stream to be cut by kill -9 (carol's ordinary traffic).
STREAM_TIME=$(at $((T + 1000)))
for i in $(seq 1 20000); do
  record "$STREAM_TIME" carol 192.0.2.$((i % 200 + 1)) PutObject s3.amazonaws.com
done >"$WORK/part.jsonl"
# Repeated (the copies are duplicates, still evaluated), so it outlasts the sleep.
for _ in 1 2 3 4 5; do cat "$WORK/part.jsonl"; done >"$WORK/stream.jsonl"

start_server
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" --batch 50 "$WORK/before.jsonl" >"$WORK/a1.jsonl" 2>"$WORK/s1.txt" ||
  fail "first submit: $(cat "$WORK/s1.txt")"
expect_eq "$(grep -c '"ruleId":"aws-discovery-unusual-source-ip"' "$WORK/a1.jsonl")" "1" "unusual-IP alert before the kill"
expect_eq "$(grep -c '"ruleId":"aws-discovery-cli-burst"' "$WORK/a1.jsonl")" "0" "no burst yet"
UNUSUAL_ID=$(grep -o '"alertId":"[^"]*"' "$WORK/a1.jsonl")

# kill -9 while a stream is being submitted.
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" --batch 1 "$WORK/stream.jsonl" >/dev/null 2>&1 &
STREAM=$!
sleep 0.3
kill -0 "$STREAM" 2>/dev/null || fail "the stream finished before the kill; make it longer"
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
wait "$STREAM" 2>/dev/null || true

start_server
# Everything acknowledged before the kill is there.
"$TRAILSENTRY" identity --server "127.0.0.1:$PORT" arn:aws:iam::111122223333:user/alice >"$WORK/alice.json" ||
  fail "identity lookup after restart"
expect_contains "$WORK/alice.json" '"mature":true' "alice still mature"
expect_contains "$WORK/alice.json" '"network":"203.0.113.7/32"' "alice's usual network"
expect_contains "$WORK/alice.json" '"firstSeen":"2026-03-15T00:00:00Z"' "alice's baseline start"
# Counts too: every change is committed with the request that made it (48 hourly
# calls; the two denied ones teach nothing).
expect_contains "$WORK/alice.json" '"eventCount":"48"' "alice's event count, exact after kill -9"
"$TRAILSENTRY" alerts --server "127.0.0.1:$PORT" >"$WORK/history.jsonl" 2>/dev/null || fail "alerts after restart"
expect_contains "$WORK/history.jsonl" "$UNUSUAL_ID" "unusual-IP alert kept"

# The second half of bob's burst: it fires, once.
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$WORK/after.jsonl" >"$WORK/a2.jsonl" 2>"$WORK/s2.txt" ||
  fail "second submit: $(cat "$WORK/s2.txt")"
expect_eq "$(grep -c '"ruleId":"aws-discovery-cli-burst"' "$WORK/a2.jsonl")" "1" "split burst fires after restart"
expect_contains "$WORK/a2.jsonl" '"distinctActionCount":6' "all six actions in the alert"
BURST_ID=$(grep -o '"alertId":"[^"]*"' "$WORK/a2.jsonl")
# Resubmitting either half changes nothing: no second alert.
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$WORK/before.jsonl" "$WORK/after.jsonl" >"$WORK/a3.jsonl" 2>/dev/null ||
  fail "resubmit"
expect_eq "$(wc -l <"$WORK/a3.jsonl")" "0" "redelivery after restart"
"$TRAILSENTRY" alerts --server "127.0.0.1:$PORT" --rule_id aws-discovery-cli-burst >"$WORK/bursts.jsonl" 2>/dev/null
expect_eq "$(wc -l <"$WORK/bursts.jsonl")" "1" "exactly one burst alert in history"
expect_contains "$WORK/bursts.jsonl" "$BURST_ID" "the burst alert is stored"

# One more restart (clean this time): the burst alert is updated in place, not reopened.
stop_server
start_server
record "$(at $((T + 606)))" bob 198.51.100.20 ListFunctions lambda.amazonaws.com "$CLI" >"$WORK/more.jsonl"
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$WORK/more.jsonl" >"$WORK/a4.jsonl" 2>/dev/null || fail "third submit"
expect_contains "$WORK/a4.jsonl" "$BURST_ID" "same burst alert id after a second restart"
expect_contains "$WORK/a4.jsonl" '"distinctActionCount":7' "seventh action added"
stop_server
echo "restart e2e: ok"
