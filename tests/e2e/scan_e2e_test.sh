#!/usr/bin/env bash
# e2e: `trailsentry scan` runs the engine in-process over files and folders.
source "$(dirname "$0")/e2e_lib.sh"
EXAMPLES="$SOURCE_DIR/deploy/examples"

scan "$EXAMPLES" >"$WORK/alerts.jsonl" 2>"$WORK/err.txt" ||
  fail "scan exited $?: $(cat "$WORK/err.txt")"
expect_eq "$(wc -l <"$WORK/alerts.jsonl")" "1" "alerts from the example"
expect_contains "$WORK/alerts.jsonl" '"userName":"ci-deployer"' "user name"
expect_contains "$WORK/alerts.jsonl" '"windowStart":"2026-03-15T09:31:02Z"' "window start"
expect_contains "$WORK/alerts.jsonl" '"windowEnd":"2026-03-15T09:31:06Z"' "window end"

# gzip input and a folder tree are read the same way.
mkdir -p "$WORK/tree/us-east-1"
gzip -c "$EXAMPLES"/*.json >"$WORK/tree/us-east-1/111122223333_CloudTrail_us-east-1_20260315T0930Z_x.json.gz"
scan "$WORK/tree" >"$WORK/gz.jsonl" 2>/dev/null || fail "scan of gz failed"
expect_eq "$(wc -l <"$WORK/gz.jsonl")" "1" "alerts from gz"

# The datasets: all records accepted, no alert, in both modes.
for mode in sliding tumbling; do
  scan --window_mode "$mode" "$DATASETS_DIR" >"$WORK/ds.jsonl" 2>"$WORK/ds.txt" ||
    fail "datasets scan ($mode) exited non-zero: $(tail -n 3 "$WORK/ds.txt")"
  expect_contains "$WORK/ds.txt" "3313 events read from 91 files" "datasets summary ($mode)"
  expect_contains "$WORK/ds.txt" "3313 accepted, 0 rejected; 0 alerts" "datasets counts ($mode)"
  expect_eq "$(wc -l <"$WORK/ds.jsonl")" "0" "datasets alerts ($mode)"
done

# A burst straddling a 10 s bucket edge: sliding fires, tumbling does not.
: >"$WORK/edge.jsonl"
names=(DescribeInstances ListUsers ListRoles GetCallerIdentity ListBuckets DescribeVpcs)
for i in 0 1 2 3 4 5; do
  printf '{"eventTime":"2026-03-15T09:00:%02dZ","eventSource":"%s","eventName":"%s","eventID":"e%d","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.13.5 Python/3.11.4","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","userName":"bob"}}\n' \
    $((7 + i)) "$([[ $i -lt 3 ]] && echo ec2.amazonaws.com || echo iam.amazonaws.com)" "${names[$i]}" "$i" >>"$WORK/edge.jsonl"
done
scan --window_mode sliding "$WORK/edge.jsonl" >"$WORK/sliding.jsonl" 2>/dev/null || fail "sliding scan"
scan --window_mode tumbling "$WORK/edge.jsonl" >"$WORK/tumbling.jsonl" 2>/dev/null || fail "tumbling scan"
expect_eq "$(wc -l <"$WORK/sliding.jsonl")" "1" "sliding fires across the edge"
expect_eq "$(wc -l <"$WORK/tumbling.jsonl")" "0" "tumbling does not"

# Config file: a lower threshold makes the 5-action prefix fire.
head -n 4 "$WORK/edge.jsonl" >"$WORK/four.jsonl"
echo 'burst { threshold: 3 }' >"$WORK/config.textproto"
scan --config "$WORK/config.textproto" "$WORK/four.jsonl" >"$WORK/cfg.jsonl" 2>/dev/null || fail "config scan"
expect_eq "$(wc -l <"$WORK/cfg.jsonl")" "1" "threshold from config"
echo 'burst { window: "soon" }' >"$WORK/bad.textproto"
set +e
scan --config "$WORK/bad.textproto" "$WORK/four.jsonl" >/dev/null 2>"$WORK/cfgerr.txt"; rc=$?
scan --window_mode diagonal "$WORK/four.jsonl" >/dev/null 2>&1; rc_mode=$?
scan "$WORK/missing.json" >/dev/null 2>&1; rc_missing=$?
printf '%s\n' 'garbage' >"$WORK/garbage.json"
scan "$WORK/garbage.json" >/dev/null 2>"$WORK/garbage.txt"; rc_garbage=$?
set -e
expect_eq "$rc" "2" "bad config is a usage error"
expect_contains "$WORK/cfgerr.txt" "burst.window" "config error names the field"
expect_eq "$rc_mode" "2" "bad --window_mode"
expect_eq "$rc_missing" "2" "missing path"
expect_eq "$rc_garbage" "1" "unreadable file is an input error"
expect_contains "$WORK/garbage.txt" "garbage.json" "unreadable file named"
# Every binary and subcommand prints its usage and flags on --help.
"$TRAILSENTRYD" --help >"$WORK/d-help.txt" 2>&1 || true
expect_contains "$WORK/d-help.txt" "--data_dir" "trailsentryd --help lists its flags"
"$TRAILSENTRY" scan --help >"$WORK/s-help.txt" 2>&1 || true
expect_contains "$WORK/s-help.txt" "--window_mode" "trailsentry scan --help lists its flags"
if grep -q "No flags matched" "$WORK/d-help.txt" "$WORK/s-help.txt"; then fail "--help matched no flags"; fi
echo "scan e2e: ok"
