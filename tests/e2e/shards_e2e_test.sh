#!/usr/bin/env bash
# e2e: account-sharded replicas behind nginx (issue 12) — Debian's nginx, run as
# an ordinary process with the shipped deploy/nginx/trailsentry.conf, in front of
# three trailsentryd on loopback, each told the ring (server.shard). A
# multi-account, multi-day workload submitted through nginx gives the alerts of a
# single node; each replica holds only the accounts the ring gives it; a
# misrouted event is refused naming its owner; a fourth replica joins and takes
# its accounts by export/import, and the next part, sent over HTTP/JSON through
# nginx (replicas forward what they do not own), still gives a single node's
# alerts; with one replica killed, only its accounts fail, by name, over gRPC
# and over HTTP, and the others go on.
source "$(dirname "$0")/e2e_lib.sh"


PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [[ -s "$WORK/nginx/nginx.pid" ]]; then
    # SIGTERM: the master stops its workers, then exits (killed, it would leave
    # them running, and it respawns a worker killed before it).
    local master
    master="$(cat "$WORK/nginx/nginx.pid")"
    kill -TERM "$master" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
    pkill -9 -P "$master" 2>/dev/null || true
    kill -9 "$master" 2>/dev/null || true
  fi
  cleanup
}
trap stop_all EXIT

# N loopback ports free now, below the kernel's ephemeral range: they are
# bound later (the ring names them first), and a port from that range could be
# taken meanwhile by any connection or `:0` listener of a test beside this one.
free_ports() {
  python3 -c '
import random, socket, sys
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
ports = []
while len(ports) < int(sys.argv[1]):
    port = random.randrange(10000, max(low, 20000))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    if port not in ports:
        ports.append(port)
print(" ".join(map(str, ports)))' "$1"
}

# 12 accounts, 3 days of event time, bursts and unusual IPs in each account.
"$TRAILSENTRY_GEN" --events 40000 --identities 900 --accounts 12 --rate 0.15 --bursts 0.004 --seed 21 \
  >"$WORK/w.jsonl"
# Three parts in time: the first through three replicas, the second after a
# fourth joined, the third with a replica down.
python3 - "$WORK/w.jsonl" "$WORK/early.jsonl" "$WORK/middle.jsonl" "$WORK/late.jsonl" <<'PY'
import sys
lines = open(sys.argv[1]).readlines()
a, b = len(lines) * 60 // 100, len(lines) * 85 // 100
open(sys.argv[2], "w").writelines(lines[:a])
open(sys.argv[3], "w").writelines(lines[a:b])
open(sys.argv[4], "w").writelines(lines[b:])
PY
"$TRAILSENTRY" scan --threads 1 --data_dir "" "$WORK/early.jsonl" >"$WORK/reference.jsonl" 2>/dev/null ||
  fail "reference scan"
reference="$(final_alerts "$WORK/reference.jsonl")"
[[ $(wc -l <"$WORK/reference.jsonl") -gt 20 ]] || fail "too few alerts to prove anything"
grep -q unusual-source-ip "$WORK/reference.jsonl" || fail "no unusual-IP alert in the workload"

# Which replica owns each account of the workload (the same ring nginx builds).
accounts_of() {  # FILE: the accounts its records are routed by, sorted
  python3 -c '
import json, sys
seen = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    seen.add(r["userIdentity"].get("accountId") or r["recipientAccountId"])
print("\n".join(sorted(seen)))' "$1"
}
accounts_of "$WORK/w.jsonl" >"$WORK/accounts.txt"
# Accounts with alerts in the first part (so with state to move).
python3 -c '
import json, sys
print("\n".join(sorted({json.loads(l)["accountIds"][0] for l in open(sys.argv[1])})))' \
  "$WORK/reference.jsonl" >"$WORK/alerting-accounts.txt"
# Ports such that the ring gives every replica some of the 12 accounts (a
# random set of three leaves one empty ~2% of the time), with three replicas and
# with a fourth added later.
owners() {  # RING OUT
  # shellcheck disable=SC2046
  "$TRAILSENTRY" admin owner --replicas "$1" $(cat "$WORK/accounts.txt") >"$2" || fail "admin owner"
}
every_replica_owns() {  # OWNERS REPLICA...
  local f=$1 r
  shift
  for r in "$@"; do grep -q "$r" "$f" || return 1; done
}
for attempt in $(seq 1 50); do
  read -r -a PORTS <<<"$(free_ports 10)"
  NGINX_PORT=${PORTS[4]} NGINX_HTTP=${PORTS[9]}
  REPLICAS=("127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" "127.0.0.1:${PORTS[2]}")
  FOURTH="127.0.0.1:${PORTS[3]}"
  # Each replica's HTTP gateway.
  HTTP_OF=("127.0.0.1:${PORTS[5]}" "127.0.0.1:${PORTS[6]}" "127.0.0.1:${PORTS[7]}" "127.0.0.1:${PORTS[8]}")
  RING="$(IFS=,; echo "${REPLICAS[*]}")"
  RING4="$RING,$FOURTH"
  owners "$RING" "$WORK/owners.tsv"
  owners "$RING4" "$WORK/owners4.tsv"
  # ... and the fourth takes an account with alerts, so the move carries state.
  every_replica_owns "$WORK/owners.tsv" "${REPLICAS[@]}" &&
    every_replica_owns "$WORK/owners4.tsv" "${REPLICAS[@]}" "$FOURTH" &&
    grep -qFf "$WORK/alerting-accounts.txt" <(awk -v r="$FOURTH" '$2 == r {print $1}' "$WORK/owners4.tsv") &&
    break
  [[ $attempt == 50 ]] && fail "no ports give every replica an account"
done

start_replica() {  # INDEX: with the ring of REPLICAS
  local i=$1 addr=${REPLICAS[$1]}
  local quoted
  quoted="$(printf '"%s" ' "${REPLICAS[@]}")"
  printf 'server { shard { self: "%s" replicas: [%s] } }\n' "$addr" "${quoted// /, }" |
    sed 's/, \]/]/' >"$WORK/replica$i.textproto"
  : >"$WORK/replica$i.log"
  "$TRAILSENTRYD" --config "$WORK/replica$i.textproto" --listen "$addr" --http_listen "${HTTP_OF[$i]}" \
    --data_dir "$WORK/data$i" >>"$WORK/replica$i.log" 2>&1 &
  PIDS[$i]=$!
  for _ in $(seq 1 300); do
    grep -q "listening on" "$WORK/replica$i.log" && return 0
    kill -0 "${PIDS[$i]}" 2>/dev/null || fail "replica $i exited at start: $(tail -n 5 "$WORK/replica$i.log")"
    sleep 0.1
  done
  fail "replica $i did not start"
}
for i in 0 1 2; do start_replica "$i"; done
stop_replica() {  # INDEX: SIGTERM, flushed and exited 0
  kill -TERM "${PIDS[$1]}"
  wait "${PIDS[$1]}" || fail "replica $1 exited non-zero after SIGTERM"
}

# nginx with the shipped routing (deploy/nginx/local.sh: its own prefix, pid
# and logs in $WORK/nginx).
"$SOURCE_DIR/deploy/nginx/local.sh" "$WORK/nginx" "127.0.0.1:$NGINX_PORT" "${REPLICAS[@]}" \
  --http "127.0.0.1:$NGINX_HTTP" "${HTTP_OF[@]:0:3}" >"$WORK/nginx.txt" 2>&1 || fail "nginx: $(cat "$WORK/nginx.txt")"
PROXY_HTTP="http://127.0.0.1:$NGINX_HTTP"
# HTTP/JSON: POST FILE's records to URL in requests of 500, in file order; each
# alert of the responses to OUT. Prints the events rejected; fails on an error
# status, printing it.
post_records() {  # URL FILE OUT
  python3 - "$@" <<'PY'
import json, sys, urllib.error, urllib.request
lines = open(sys.argv[2]).read().splitlines()
rejected = 0
with open(sys.argv[3], "w") as out:
    for i in range(0, len(lines), 500):
        part = lines[i:i + 500]
        body = json.dumps({"events": [{"rawJson": l} for l in part]}).encode()
        request = urllib.request.Request(sys.argv[1] + "/v1/evaluate", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            r = json.load(urllib.request.urlopen(request, timeout=60))
        except urllib.error.HTTPError as e:
            print(e.code, e.read().decode())
            sys.exit(1)
        assert len(r["verdicts"]) == len(part), (len(r["verdicts"]), len(part))
        assert all(v.get("status") in ("ACCEPTED", "REJECTED") for v in r["verdicts"])
        rejected += sum(v["status"] == "REJECTED" for v in r["verdicts"])
        for change in r.get("alerts", []):
            out.write(json.dumps(change["alert"]) + "\n")
print(rejected)
PY
}

# 1. Through nginx: the single node's alerts, and no event refused (every
# account reached the replica that owns it).
"$TRAILSENTRY" submit --server "127.0.0.1:$NGINX_PORT" "$WORK/early.jsonl" >"$WORK/sharded.jsonl" \
  2>"$WORK/submit.err" || fail "submit through nginx: $(tail -n 5 "$WORK/submit.err")"
expect_contains "$WORK/submit.err" " 0 rejected" "no event refused as misrouted"
expect_eq "$(final_alerts "$WORK/sharded.jsonl")" "$reference" \
  "alerts through nginx and three replicas equal a single node's"

# Each replica holds exactly the alerts of the accounts it owns, and together
# they hold the single node's.
: >"$WORK/held-all.jsonl"
for i in 0 1 2; do
  "$TRAILSENTRY" alerts --server "${REPLICAS[$i]}" --limit 100000 >"$WORK/held$i.jsonl" 2>/dev/null ||
    fail "alerts of replica $i"
  python3 - "$WORK/held$i.jsonl" "$WORK/owners.tsv" "${REPLICAS[$i]}" <<'PY' || fail "replica $i holds another replica's account"
import json, sys
owner = dict(line.split() for line in open(sys.argv[2]))
for line in open(sys.argv[1]):
    a = json.loads(line)
    account = a["accountIds"][0]
    assert owner[account] == sys.argv[3], (a["alertId"], account, owner[account])
PY
  cat "$WORK/held$i.jsonl" >>"$WORK/held-all.jsonl"
  echo "replica $i (${REPLICAS[$i]}): $(grep -c "${REPLICAS[$i]}" "$WORK/owners.tsv") accounts, $(wc -l <"$WORK/held$i.jsonl") alerts"
done
echo "single node: $(wc -l <"$WORK/reference.jsonl") alerts"
expect_eq "$(final_alerts "$WORK/held-all.jsonl")" "$reference" "the replicas together hold the single node's alerts"
# The fleet's alerts in one list: every replica's, merged newest first (each
# replica's own order kept), in pages of 7 (each page a token over three
# replicas' own pages), each alert once.
"$TRAILSENTRY" alerts --replicas "$RING" --page_size 7 --limit 100000 >"$WORK/fleet.jsonl" \
  2>"$WORK/fleet.err" || fail "alerts --replicas: $(cat "$WORK/fleet.err")"
expect_eq "$(wc -l <"$WORK/fleet.jsonl")" "$(wc -l <"$WORK/held-all.jsonl")" "each alert listed once"
expect_eq "$(final_alerts "$WORK/fleet.jsonl")" "$reference" "alerts --replicas lists the single node's alerts"
python3 - "$WORK/fleet.jsonl" "$WORK"/held[0-2].jsonl <<'PY' || fail "alerts --replicas broke a replica's order"
import json, sys
ids = lambda path: [json.loads(l)["alertId"] for l in open(path)]
fleet = ids(sys.argv[1])
for held in sys.argv[2:]:
    own = ids(held)
    mine = set(own)
    assert [a for a in fleet if a in mine] == own, held  # each replica's order kept
PY

# An ARN of FILE from an account REPLICA owns ("" if none).
arn_of_replica() {  # REPLICA FILE
  local account
  account="$(awk -v r="$1" '$2 == r {print $1; exit}' "$WORK/owners.tsv")"
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    u = json.loads(line)["userIdentity"]
    if u.get("accountId") == sys.argv[2] and u.get("arn", "").startswith("arn:"):
        print(u["arn"]); break' "$2" "$account"
}
# Lookups through nginx reach the identity's replica (the client sends the
# identity's account as the shard key): one identity of each replica.
for r in "${REPLICAS[@]}"; do
  arn="$(arn_of_replica "$r" "$WORK/early.jsonl")"
  [[ -n "$arn" ]] || continue
  "$TRAILSENTRY" identity --server "127.0.0.1:$NGINX_PORT" "$arn" >"$WORK/identity.json" 2>&1 ||
    fail "identity lookup through nginx: $(cat "$WORK/identity.json")"
  python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); assert int(p.get("eventCount", 0)) > 0, p' \
    "$WORK/identity.json" || fail "lookup of $arn through nginx did not reach its replica $r"
done

# The Python client through nginx: a batch of several accounts goes one call
# per account with its shard header, so no record reaches a replica that does
# not own it (these were evaluated already: duplicates, accepted, no change).
head -n 300 "$WORK/early.jsonl" >"$WORK/py-batch.jsonl"
PYTHONPATH="$SOURCE_DIR/client/python" /usr/bin/python3 - "127.0.0.1:$NGINX_PORT" "$WORK/py-batch.jsonl" \
  <<'PY' >"$WORK/py.txt" 2>&1 || fail "python client through nginx: $(tail -n 5 "$WORK/py.txt")"
import sys
from trailsentry_client import Client, record_account
records = open(sys.argv[2]).read().splitlines()
assert len({record_account(r) for r in records}) > 3, "too few accounts in the batch"
r = Client(sys.argv[1], timeout=20).evaluate(records)
assert len(r.verdicts) == len(records)
assert r.rejected == 0, [v.reject_reason for v in r.verdicts if v.reject_reason][:3]
PY

# 2. A sender that bypasses the ring is refused, naming the owner, and nothing
# of it is stored.
misrouted_account="$(awk -v r="${REPLICAS[0]}" '$2 != r {print $1; exit}' "$WORK/owners.tsv")"
owner="$(awk -v a="$misrouted_account" '$1 == a {print $2}' "$WORK/owners.tsv")"
grep -m 3 "\"$misrouted_account\"" "$WORK/late.jsonl" >"$WORK/misrouted.jsonl"
set +e
"$TRAILSENTRY" submit --server "${REPLICAS[0]}" "$WORK/misrouted.jsonl" >/dev/null 2>"$WORK/misrouted.err"
code=$?
set -e
expect_eq "$code" "1" "a misrouted submit ends with input errors"
expect_contains "$WORK/misrouted.err" "belongs to replica $owner" "the refusal names the owner"
expect_contains "$WORK/misrouted.err" "3 rejected" "every misrouted event refused"

# 3. A fourth replica: the replicas stop, each exports the accounts the new ring
# gives to another (all of them to the fourth: consistent hashing moves only
# those) and deletes them, the fourth imports them, all restart with the new
# ring and nginx reloads. The next part's alerts are still a single node's.
for i in 0 1 2; do stop_replica "$i"; done
for i in 0 1 2; do
  "$TRAILSENTRY" admin export --data_dir "$WORK/data$i" --out "$WORK/moves" --replicas "$RING4" \
    --shard_self "${REPLICAS[$i]}" --remove >>"$WORK/export.txt" 2>"$WORK/export.err" ||
    fail "export from replica $i: $(cat "$WORK/export.err")"
done
moved=$(grep -c "now owned by $FOURTH" "$WORK/export.txt" || true)
expect_eq "$(grep -c "now owned by" "$WORK/export.txt")" "$moved" "every moved account goes to the new replica"
for account in $(awk -v r="$FOURTH" '$2 == r {print $1}' "$WORK/owners4.tsv" | grep -xFf "$WORK/alerting-accounts.txt"); do
  grep -q "\.$account\.tsacct" "$WORK/export.txt" || fail "account $account of the new replica was not moved"
done
"$TRAILSENTRY" admin import --data_dir "$WORK/data3" "$WORK"/moves/*.tsacct >"$WORK/import.txt" \
  2>"$WORK/import.err" || fail "import: $(cat "$WORK/import.err")"
# A second import of the same account is refused, never merged.
if "$TRAILSENTRY" admin import --data_dir "$WORK/data3" "$(ls "$WORK"/moves/*.tsacct | head -n 1)" \
  >/dev/null 2>"$WORK/import2.err"; then
  fail "a second import of an account was accepted"
fi
expect_contains "$WORK/import2.err" "already holds state of account" "a second import is refused"
REPLICAS+=("$FOURTH")
for i in 0 1 2 3; do start_replica "$i"; done
"$SOURCE_DIR/deploy/nginx/local.sh" "$WORK/nginx" --reload "${REPLICAS[@]}" --http "${HTTP_OF[@]}" ||
  fail "nginx reload"
sleep 1  # the reload's new worker takes over
# This part over HTTP/JSON: nginx spreads the requests over the replicas, and
# each forwards the events of accounts it does not own to their owner.
rejected="$(post_records "$PROXY_HTTP" "$WORK/middle.jsonl" "$WORK/middle-sharded.jsonl")" ||
  fail "HTTP through nginx after the move: $rejected"
expect_eq "$rejected" "0" "no event refused over HTTP after the move"
for i in 0 1 2 3; do
  n="$(curl -s "http://${HTTP_OF[$i]}/metrics" | awk '$1 ~ /^trailsentry_events_total/ {s += $2} END {print s + 0}')"
  echo "replica $i evaluated $n events"
  [[ $n -gt 0 ]] || fail "replica $i evaluated nothing"
done
cat "$WORK/early.jsonl" "$WORK/middle.jsonl" >"$WORK/two-parts.jsonl"
"$TRAILSENTRY" scan --threads 1 --data_dir "" "$WORK/two-parts.jsonl" >"$WORK/reference2.jsonl" 2>/dev/null ||
  fail "reference scan of two parts"
expect_eq "$(final_alerts "$WORK/sharded.jsonl" "$WORK/middle-sharded.jsonl")" \
  "$(final_alerts "$WORK/reference2.jsonl")" \
  "after moving $moved accounts to a fourth replica, alerts equal a single node's"
echo "fourth replica: $moved accounts moved by export/import"
cp "$WORK/owners4.tsv" "$WORK/owners.tsv"

# HTTP lookups through nginx reach the identity's replica, whichever replica
# nginx picks: one identity of each replica, asked several times.
for r in "${REPLICAS[@]}"; do
  arn="$(arn_of_replica "$r" "$WORK/middle.jsonl")"
  [[ -n "$arn" ]] || continue
  encoded="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$arn")"
  for _ in 1 2 3; do
    curl -sf "$PROXY_HTTP/v1/identities/$encoded" >"$WORK/identity.json" ||
      fail "HTTP identity lookup through nginx: $(cat "$WORK/identity.json")"
    python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); assert int(p.get("eventCount", 0)) > 0, p' \
      "$WORK/identity.json" || fail "HTTP lookup of $arn through nginx did not reach its replica $r"
  done
done
# HTTP alert lists through nginx are the fleet's, in pages.
python3 - "$PROXY_HTTP" "$WORK/http-alerts.jsonl" <<'PY' || fail "HTTP alert list through nginx"
import json, sys, urllib.request
token, n = "", 0
with open(sys.argv[2], "w") as out:
    while True:
        page = json.load(urllib.request.urlopen(f"{sys.argv[1]}/v1/alerts?page_size=9&page_token={token}"))
        for a in page.get("alerts", []):
            out.write(json.dumps(a) + "\n")
        token = page.get("nextPageToken", "")
        if not token:
            break
PY
"$TRAILSENTRY" alerts --replicas "$(IFS=,; echo "${REPLICAS[*]}")" --limit 100000 >"$WORK/fleet4.jsonl" ||
  fail "alerts --replicas after the move"
expect_eq "$(final_alerts "$WORK/http-alerts.jsonl")" "$(final_alerts "$WORK/fleet4.jsonl")" \
  "GET /v1/alerts through nginx lists every replica's alerts"

# 4. One replica killed: its accounts fail, by name, and only they; the others'
# last part is evaluated as a single node would.
kill -9 "${PIDS[1]}"
wait "${PIDS[1]}" 2>/dev/null || true
set +e
"$TRAILSENTRY" submit --server "127.0.0.1:$NGINX_PORT" "$WORK/late.jsonl" >"$WORK/late-sharded.jsonl" \
  2>"$WORK/late.err"
code=$?
set -e
[[ $code -ne 0 ]] || fail "submit with a replica down succeeded"
# The killed replica's accounts that have events in this part.
accounts_of "$WORK/late.jsonl" >"$WORK/late-accounts.txt"
awk -v r="${REPLICAS[1]}" '$2 == r {print $1}' "$WORK/owners.tsv" | grep -xFf "$WORK/late-accounts.txt" |
  sort >"$WORK/dead-accounts.txt" || true
[[ -s "$WORK/dead-accounts.txt" ]] || fail "the killed replica owns no account of the last part"
sed -n 's/^trailsentry submit: account \([0-9]*\) not evaluated: .*/\1/p' "$WORK/late.err" | sort \
  >"$WORK/failed-accounts.txt"
expect_eq "$(cat "$WORK/failed-accounts.txt")" "$(cat "$WORK/dead-accounts.txt")" \
  "exactly the killed replica's accounts fail"
expect_contains "$WORK/late.err" "UNAVAILABLE: the replica that owns this account is unavailable" \
  "the failure says the replica is unavailable"
echo "replica 1 killed: $(wc -l <"$WORK/failed-accounts.txt") accounts failed by name"
# Over HTTP, a request holding a dead account's events fails UNAVAILABLE (503)
# naming it, whichever replica took it; a request of live accounts goes on.
dead="$(head -n 1 "$WORK/dead-accounts.txt")"
grep -m 5 "\"$dead\"" "$WORK/late.jsonl" >"$WORK/http-dead.jsonl"
if out="$(post_records "$PROXY_HTTP" "$WORK/http-dead.jsonl" /dev/null)"; then
  fail "HTTP with the owner down succeeded: $out"
fi
[[ $out == 503* ]] || fail "HTTP with the owner down: not 503: $out"
[[ $out == *"$dead"*"did not evaluate them"* ]] || fail "the HTTP error does not name the account: $out"
live_account="$(awk -v r="${REPLICAS[1]}" '$2 != r {print $1}' "$WORK/owners.tsv" | grep -xFf "$WORK/late-accounts.txt" | head -n 1)"
grep -m 5 "\"$live_account\"" "$WORK/late.jsonl" >"$WORK/http-live.jsonl"
rejected="$(post_records "$PROXY_HTTP" "$WORK/http-live.jsonl" /dev/null)" ||
  fail "HTTP of a live account with a replica down: $rejected"
# The reference for the live accounts: the whole workload on a single node,
# alerts of accounts the dead replica does not own.
"$TRAILSENTRY" scan --threads 1 --data_dir "" "$WORK/w.jsonl" >"$WORK/whole.jsonl" 2>/dev/null ||
  fail "whole reference scan"
live_alerts() {  # FILE...: alerts of accounts not owned by the killed replica
  python3 - "$WORK/dead-accounts.txt" "$@" <<'PY'
import json, sys
dead = set(open(sys.argv[1]).read().split())
for path in sys.argv[2:]:
    for line in open(path):
        if json.loads(line)["accountIds"][0] not in dead:
            sys.stdout.write(line)
PY
}
live_alerts "$WORK/whole.jsonl" >"$WORK/whole-live.jsonl"
live_alerts "$WORK/sharded.jsonl" "$WORK/middle-sharded.jsonl" "$WORK/late-sharded.jsonl" \
  >"$WORK/sharded-live.jsonl"
expect_eq "$(final_alerts "$WORK/sharded-live.jsonl")" "$(final_alerts "$WORK/whole-live.jsonl")" \
  "the live replicas' accounts went on as on a single node"
echo "PASS"
