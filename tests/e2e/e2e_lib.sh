# Shared helpers for the e2e tests: start the real trailsentryd, check, stop.
# Sourced by each test; expects TRAILSENTRYD, TRAILSENTRY, SOURCE_DIR, DATASETS_DIR.
set -euo pipefail

WORK="$(mktemp -d -t trailsentry-e2e-XXXXXX)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -9 "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [[ -f "$WORK/server.log" ]] && { echo "--- server log" >&2; tail -n 30 "$WORK/server.log" >&2; }
  exit 1
}

# Prints "address" or "thread" when BIN was built with that sanitizer, else
# nothing. Reads the dynamic symbols: GCC links the sanitizer runtime as a shared
# library, clang links it statically and exports its entry points.
sanitizer_of() {
  local symbols
  symbols="$(nm -D "$1" 2>/dev/null)"
  case "$symbols" in
    *__asan_init*) echo address ;;
    *__tsan_init*) echo thread ;;
  esac
}

# Starts trailsentryd on free ports, on $DATA_DIR (default $WORK/data); sets PORT
# (gRPC), HTTP_PORT and SERVER_PID.
start_server() {
  # Emptied here, before the server starts: the background child opens the log
  # when it gets to it, and until then the loop below would read the previous
  # server's port from it (or fail to read a log not made yet).
  : >"$WORK/server.log"
  "$TRAILSENTRYD" --listen 127.0.0.1:0 --http_listen 127.0.0.1:0 --data_dir "${DATA_DIR:-$WORK/data}" "$@" \
    >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do  # up to 30 s on a loaded machine
    PORT="$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$WORK/server.log" | head -n1)"
    HTTP_PORT="$(sed -n 's/.*HTTP on port \([0-9]*\).*/\1/p' "$WORK/server.log" | head -n1)"
    [[ -n "$PORT" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "trailsentryd exited at start"
    sleep 0.1
  done
  fail "trailsentryd did not report its port within 30 s"
}

# Stops the server with SIGTERM and checks it exits 0 within 15 s.
stop_server() {
  kill -TERM "$SERVER_PID"
  for _ in $(seq 1 150); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" || fail "trailsentryd exited non-zero after SIGTERM"
      SERVER_PID=""
      return 0
    fi
    sleep 0.1
  done
  fail "trailsentryd did not stop within 15 s of SIGTERM"
}

# `trailsentry scan` with a fresh data directory each time.
SCANS=0
scan() {
  SCANS=$((SCANS + 1))
  "$TRAILSENTRY" scan --data_dir "$WORK/scan-$SCANS" "$@"
}

expect_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }
expect_contains() { grep -q -- "$2" "$1" || fail "$3: '$2' not in $1: $(head -c 400 "$1")"; }

# One CloudTrail record as a JSON line:
#   record TIME USER IP ACTION [SOURCE] [USER_AGENT] [ERROR_CODE]
RECORDS=0
record() {
  RECORDS=$((RECORDS + 1))
  local err=""
  [[ -n "${7:-}" ]] && err=",\"errorCode\":\"$7\""
  printf '{"eventVersion":"1.09","eventTime":"%s","eventSource":"%s","eventName":"%s","eventID":"e2e-%s-%d","sourceIPAddress":"%s","userAgent":"%s","awsRegion":"us-east-1","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","principalId":"AIDA%s","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","accessKeyId":"AKIAE2E%s","userName":"%s"}%s}\n' \
    "$1" "${5:-iam.amazonaws.com}" "$4" "$$" "$RECORDS" "$3" "${6:-Boto3/1.34.45 Botocore/1.34.45}" "$2" "$2" "$2" "$2" "$err"
}

# RFC 3339 for N seconds after 2026-03-15T00:00:00Z.
at() { date -u -d "@$((1773532800 + $1))" +%Y-%m-%dT%H:%M:%SZ; }

# Two days of ordinary (non-discovery) calls by USER from IP, one an hour.
history() {
  local user=$1 ip=$2
  for h in $(seq 0 47); do record "$(at $((h * 3600)))" "$user" "$ip" PutObject s3.amazonaws.com; done
}

# Final state of every alert over several runs' outputs: the last line per alertId
# ("change", NEW or UPDATED relative to each run, left out, and so is the triage a
# server adds by its clock: only what the events decide is compared).
final_alerts() {
  python3 -c '
import json, sys
alerts = {}
for path in sys.argv[1:]:
    for line in open(path):
        a = json.loads(line)
        for k in ("change", "status", "disposition", "assignee", "notes", "createdAt",
                  "updatedAt", "changeSequence", "link"):
            a.pop(k, None)
        alerts[a["alertId"]] = json.dumps(a, separators=(",", ":"))
for k in sorted(alerts):
    print(alerts[k])
' "$@"
}

# Runs a command with stdout to OUT and stderr to ERR; prints its peak RSS in KiB
# and its exit code.
run_measured() {
  python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out, open(sys.argv[2], "wb") as err:
    rc = subprocess.run(sys.argv[3:], stdout=out, stderr=err).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)
' "$@"
}
