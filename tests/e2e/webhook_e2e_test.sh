#!/usr/bin/env bash
# e2e: alert changes reach a webhook receiver that is down at first, across a
# kill -9 of the server: every change arrives, signed, in order per alert, and
# matches what WatchAlerts gives (issue 10).
source "$(dirname "$0")/e2e_lib.sh"

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/secret"
# The receiver holds its port from now on, but refuses connections (is down)
# until $WORK/go exists.
/usr/bin/python3 "$SOURCE_DIR/tests/e2e/webhook_receiver.py" "$WORK/port" "$WORK/secret" \
  "$WORK/received.jsonl" "$WORK/go" &
RECEIVER_PID=$!
trap 'kill "$RECEIVER_PID" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 100); do [[ -s "$WORK/port" ]] && break; sleep 0.1; done
port="$(cat "$WORK/port")" || fail "the webhook receiver did not start"
cat >"$WORK/config.textproto" <<CONFIG
server {
  alerts {
    webhooks {
      name: "soar"
      url: "http://127.0.0.1:$port/hook"
      secret_file: "$WORK/secret"
      timeout: "1s"
      max_backoff: "1s"
    }
  }
}
CONFIG

"$TRAILSENTRY_GEN" --events 6000 --identities 60 --accounts 3 --rate 2 --bursts 0.01 --seed 3 \
  >"$WORK/w.jsonl"
head -n 3000 "$WORK/w.jsonl" >"$WORK/part1.jsonl"
tail -n +3001 "$WORK/w.jsonl" >"$WORK/part2.jsonl"

sequence() { curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | sed -n 's/^trailsentry_alert_change_sequence \([0-9]*\)$/\1/p'; }

# Nobody listens: the changes wait in the change log.
start_server --config "$WORK/config.textproto"
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$WORK/part1.jsonl" >/dev/null 2>"$WORK/submit1.err" ||
  fail "submit part 1: $(tail -n 3 "$WORK/submit1.err")"
first="$(sequence)"
((first > 0)) || fail "part 1 logged no alert change"
grep -q "webhook soar: change 1 not delivered" "$WORK/server.log" ||
  { sleep 2; grep -q "webhook soar: change 1 not delivered" "$WORK/server.log"; } ||
  fail "the webhook was not tried while the receiver was down"
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

# The receiver comes up; the restarted server delivers what it owed, then more.
touch "$WORK/go"
start_server --config "$WORK/config.textproto"
"$TRAILSENTRY" submit --server "127.0.0.1:$PORT" "$WORK/part2.jsonl" >"$WORK/part2.out" \
  2>"$WORK/submit2.err" || fail "submit part 2: $(tail -n 3 "$WORK/submit2.err")"
alert="$(head -n 1 "$WORK/part2.out" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["alertId"])')"
curl -sf -X PATCH "http://127.0.0.1:$HTTP_PORT/v1/alerts/$alert" \
  -d '{"status": "RESOLVED", "disposition": "TRUE_POSITIVE", "note": "escalated"}' >/dev/null ||
  fail "resolving $alert over HTTP"
last="$(sequence)"
((last > first)) || fail "part 2 logged no alert change"

for _ in $(seq 1 300); do
  [[ -f "$WORK/received.jsonl" ]] &&
    (($(/usr/bin/python3 -c 'import json, sys; print(len({json.loads(l)["sequence"] for l in open(sys.argv[1])}))' "$WORK/received.jsonl") >= last)) &&
    break
  sleep 0.1
done

"$TRAILSENTRY" watch --server "127.0.0.1:$PORT" --after 0 --limit "$last" >"$WORK/watched.jsonl" ||
  fail "watch"
/usr/bin/python3 - "$WORK/received.jsonl" "$WORK/watched.jsonl" "$last" <<'CHECK' || fail "deliveries"
import json, sys
received = [json.loads(l) for l in open(sys.argv[1])]
watched = [json.loads(l) for l in open(sys.argv[2])]
last = int(sys.argv[3])
assert all(r["signed"] for r in received), "a signature did not match"
assert all(r["sequence"] == r["bodySequence"] for r in received), "header and body disagree"
got = {r["sequence"]: (r["kind"], r["alertId"]) for r in received}
assert sorted(got) == list(range(1, last + 1)), f"missing: {sorted(set(range(1, last + 1)) - set(got))}"
want = {int(w["sequence"]): (w["kind"], w["alert"]["alertId"]) for w in watched}
assert got == want, "webhook and WatchAlerts disagree"
# In order per alert: each alert's first deliveries come in sequence order.
seen = {}
for r in received:
    first = seen.setdefault(r["alertId"], [])
    if r["sequence"] not in first:
        assert not first or r["sequence"] > first[-1], f"out of order for {r['alertId']}"
        first.append(r["sequence"])
assert any(k == "TRIAGED" for k, _ in got.values()), "the triage was not delivered"
print(f"{len(received)} deliveries of {last} changes, {len(seen)} alerts", file=sys.stderr)
CHECK
delivered="$(curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | sed -n 's/^trailsentry_webhook_delivered_total{sink="soar"} \([0-9]*\)$/\1/p')"
((delivered >= last - first)) || fail "metrics: delivered $delivered"
stop_server
echo "PASS"
