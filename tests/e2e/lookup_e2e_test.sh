#!/usr/bin/env bash
# e2e: baseline bootstrap with `trailsentry scan` into a data directory, then a
# server on it; lookups and triage feedback through the CLI.
source "$(dirname "$0")/e2e_lib.sh"
T=$((2 * 86400))
{ history alice 203.0.113.7; history bob 198.51.100.20; } >"$WORK/history.jsonl"
"$TRAILSENTRY" scan --data_dir "$WORK/data" "$WORK/history.jsonl" >/dev/null 2>"$WORK/scan.txt" ||
  fail "bootstrap scan: $(cat "$WORK/scan.txt")"
expect_contains "$WORK/scan.txt" "96 accepted" "bootstrap read"

start_server  # same data dir: $WORK/data
# Live traffic: alice from a network neither she nor her account knows.
{
  record "$(at $T)" alice 185.220.101.4 ListUsers
  record "$(at $((T + 5)))" alice 185.220.101.4 ListRoles
} >"$WORK/live.jsonl"
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$WORK/live.jsonl" >"$WORK/live-alerts.jsonl" 2>/dev/null ||
  fail "live submit"
expect_eq "$(wc -l <"$WORK/live-alerts.jsonl")" "1" "bootstrap made alice mature"
expect_contains "$WORK/live-alerts.jsonl" '"ruleId":"aws-discovery-unusual-source-ip"' "rule"
expect_contains "$WORK/live-alerts.jsonl" '"network":"185.220.101.4/32"' "network"
expect_contains "$WORK/live-alerts.jsonl" '"newToAccount":true' "new to account"
expect_contains "$WORK/live-alerts.jsonl" '"severity":"MEDIUM"' "severity"
expect_contains "$WORK/live-alerts.jsonl" '"recentKnownNetworks":\["203.0.113.7/32"\]' "known networks"

"$TRAILSENTRY" identity --server "127.0.0.1:$PORT" arn:aws:iam::111122223333:user/alice >"$WORK/alice.json" || fail "identity"
expect_contains "$WORK/alice.json" '"mature":true' "mature"
expect_contains "$WORK/alice.json" '"recentAlerts":\[' "recent alerts"
expect_contains "$WORK/alice.json" '"count":"48"' "every bootstrap observation counted (scan flushes at its end)"
set +e
"$TRAILSENTRY" identity --server "127.0.0.1:$PORT" arn:aws:iam::111122223333:user/nobody >/dev/null 2>"$WORK/nf.txt"; rc=$?
"$TRAILSENTRY" trust --server "127.0.0.1:$PORT" --identity arn:aws:iam::111122223333:user/bob 10.0.0.1/8 >/dev/null 2>"$WORK/cidr.txt"; rc_cidr=$?
"$TRAILSENTRY" trust --server "127.0.0.1:$PORT" 10.0.0.0/8 >/dev/null 2>&1; rc_scope=$?
"$TRAILSENTRY" alerts --server "127.0.0.1:$PORT" --rule_id nope >/dev/null 2>"$WORK/rule.txt"; rc_rule=$?
set -e
expect_eq "$rc" "1" "unknown identity"
expect_contains "$WORK/nf.txt" "never been seen" "unknown identity message"
expect_eq "$rc_cidr" "2" "bad CIDR"
expect_contains "$WORK/cidr.txt" "host bits set" "bad CIDR message"
expect_eq "$rc_scope" "2" "trust without a scope"
expect_eq "$rc_rule" "2" "unknown rule"

# Triage: trust bob's VPN range; his calls from it raise nothing.
"$TRAILSENTRY" trust --server "127.0.0.1:$PORT" --identity arn:aws:iam::111122223333:user/bob 192.0.2.0/24 >"$WORK/trust.txt" ||
  fail "trust"
expect_eq "$(cat "$WORK/trust.txt")" "192.0.2.0/24" "trusted network"
"$TRAILSENTRY" trusted --server "127.0.0.1:$PORT" --identity arn:aws:iam::111122223333:user/bob >"$WORK/trusted.txt" ||
  fail "trusted"
expect_contains "$WORK/trusted.txt" '"network":"192.0.2.0/24"' "trusted lists the network"
"$TRAILSENTRY" trust --server "127.0.0.1:$PORT" --identity arn:aws:iam::111122223333:user/bbo 192.0.2.0/24 \
  >/dev/null 2>"$WORK/typo.txt" && fail "trust for an identity never seen was accepted"
expect_contains "$WORK/typo.txt" "never been seen" "an unknown identity is said so"
"$TRAILSENTRY" trust --server "127.0.0.1:$PORT" --account 111122223333 0.0.0.0/0 >/dev/null 2>"$WORK/wide.txt" &&
  fail "0.0.0.0/0 for a whole account was accepted"
"$TRAILSENTRY" trust --server "127.0.0.1:$PORT" --account 111122223333 --expires 2026-03-16T00:00:00Z \
  --force 10.0.0.0/8 >/dev/null || fail "trust --force --expires"
"$TRAILSENTRY" untrust --server "127.0.0.1:$PORT" --account 111122223333 10.0.0.0/8 >/dev/null || fail "untrust"
"$TRAILSENTRY" untrust --server "127.0.0.1:$PORT" --account 111122223333 10.0.0.0/8 >/dev/null 2>&1 &&
  fail "untrust of a network not trusted succeeded"
{
  record "$(at $((T + 60)))" bob 192.0.2.77 ListUsers
  record "$(at $((T + 65)))" bob 192.0.2.77 ListRoles
} >"$WORK/vpn.jsonl"
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$WORK/vpn.jsonl" >"$WORK/vpn-alerts.jsonl" 2>/dev/null || fail "vpn submit"
expect_eq "$(wc -l <"$WORK/vpn-alerts.jsonl")" "0" "trusted network raises nothing"

"$TRAILSENTRY" alerts --server "127.0.0.1:$PORT" --identity arn:aws:iam::111122223333:user/alice --limit 5 >"$WORK/list.jsonl" 2>/dev/null || fail "alerts"
expect_eq "$(wc -l <"$WORK/list.jsonl")" "1" "alice's alerts"
"$TRAILSENTRY" forget --server "127.0.0.1:$PORT" arn:aws:iam::111122223333:user/bob 2>/dev/null || fail "forget"
"$TRAILSENTRY" identity --server "127.0.0.1:$PORT" arn:aws:iam::111122223333:user/bob >/dev/null 2>&1 &&
  fail "bob should be unknown after forget"
# A clean shutdown writes out what write coalescing held back.
stop_server
start_server
"$TRAILSENTRY" identity --server "127.0.0.1:$PORT" arn:aws:iam::111122223333:user/alice >"$WORK/alice2.json" || fail "identity after restart"
expect_contains "$WORK/alice2.json" "\"lastSeen\":\"$(at $((T + 5)))\"" "alice's last call, flushed at shutdown"
stop_server

# Baselines bootstrapped by `scan --tenant` are the tenant's a token maps to
# (issue 11 item 7); without it they land in "default", which that token never sees.
history carol 198.51.100.9 >"$WORK/carol.jsonl"
printf 'bootstrap-token-0123456789abcdef acme\n' >"$WORK/tokens"
"$TRAILSENTRY" scan --tenant acme --data_dir "$WORK/tenant-data" "$WORK/carol.jsonl" >/dev/null 2>&1 ||
  fail "scan --tenant acme"
"$TRAILSENTRY" scan --tenant 'no/such' --data_dir "$WORK/tenant-data" "$WORK/carol.jsonl" >/dev/null 2>&1 &&
  fail "a tenant with a slash was accepted"
DATA_DIR="$WORK/tenant-data" start_server --token_file "$WORK/tokens"
"$TRAILSENTRY" identity --token bootstrap-token-0123456789abcdef --server "127.0.0.1:$PORT" \
  arn:aws:iam::111122223333:user/carol >"$WORK/carol.json" 2>"$WORK/carol.err" ||
  fail "the bootstrapped identity is unknown to its tenant: $(cat "$WORK/carol.err")"
expect_contains "$WORK/carol.json" '"mature":true' "carol's baseline, bootstrapped for acme"
stop_server
echo "lookup e2e: ok"
