#!/usr/bin/env bash
# Soak: trailsentryd (the Release build) under a steady rate for a while, its RSS
# and request latency sampled every 30 s (issue 9). Not part of ctest (it takes
# half an hour); run with `deploy/dev.sh soak [MINUTES] [EVENTS_PER_SECOND]` and
# record the table in docs/operations.md.
#
# Load: every 10 s, 10 s x EVENTS_PER_SECOND events of one fleet (5,000
# identities in 10 accounts, the same identities all along) sent by `trailsentry
# submit` in batches of 500. Event time runs SPEEDUP (6) times faster than the
# clock, so the state bounded by event time (duplicate ids within max_lateness,
# burst windows) reaches its steady size within the run: 1 h of event time after
# 10 minutes. Each 30-s row: RSS, threads, fds, and p50/p99 of the Evaluate
# requests of those 30 s (from /metrics buckets). SOAK_CONFIG: a config file.
set -euo pipefail
BUILD="${1:?build dir}"
MINUTES="${2:-30}"
RATE="${3:-2000}"
SPEEDUP="${SPEEDUP:-6}"
WORK="$(mktemp -d -t trailsentry-soak-XXXXXX)"
PID=""
trap '[[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

"$BUILD/server/trailsentryd" --listen 127.0.0.1:0 --http_listen 127.0.0.1:0 --data_dir "$WORK/data" \
  --log_level warn ${SOAK_CONFIG:+--config "$SOAK_CONFIG"} >"$WORK/server.log" 2>&1 &
PID=$!
sleep 1
PORT="" HTTP=""
for _ in $(seq 1 100); do
  PORT="$(ss -ltnp 2>/dev/null | awk -v p="pid=$PID," '$0 ~ p {split($4, a, ":"); print a[length(a)]}' | sort -n | head -n1)"
  [[ -n "$PORT" ]] && break
  sleep 0.1
done
# Two listeners: gRPC and HTTP; the one answering /healthz is HTTP.
for p in $(ss -ltnp | awk -v p="pid=$PID," '$0 ~ p {split($4, a, ":"); print a[length(a)]}'); do
  if curl -sf "127.0.0.1:$p/healthz" >/dev/null 2>&1; then HTTP=$p; else PORT=$p; fi
done
[[ -n "$PORT" && -n "$HTTP" ]] || { echo "soak: server did not start"; cat "$WORK/server.log"; exit 1; }

# Cumulative Evaluate bucket counts "le count" from /metrics.
buckets() {
  curl -s "127.0.0.1:$HTTP/metrics" |
    sed -n 's/^trailsentry_request_duration_seconds_bucket{api="grpc",method="Evaluate",le="\([^"]*\)"} \([0-9]*\)$/\1 \2/p'
}
# The q-quantile (seconds, bucket upper bound) between two bucket snapshots.
quantile() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
q = float(sys.argv[1])
def read(path):
    out = []
    for line in open(path):
        le, n = line.split()
        out.append((float("inf") if le == "+Inf" else float(le), int(n)))
    return out
a, b = read(sys.argv[2]), read(sys.argv[3])
if not a:  # no request before the first sample
    a = [(le, 0) for le, _ in b]
d = [(le, nb - na) for (le, na), (_, nb) in zip(a, b)]
total = d[-1][1] if d else 0
if total == 0:
    print("-"); sys.exit()
for le, n in d:
    if n >= q * total:
        print(f"{le*1000:g}ms" if le != float("inf") else ">2.5s"); break
PY
}

start=$(date +%s)
event_start=1767225600
chunk=0
buckets >"$WORK/b0"
printf '%6s %8s %8s %5s %5s %9s %9s %10s\n' min rss_mib threads fds req p50 p99 events
next_sample=$((start + 30))
sent=0
while (( $(date +%s) < start + MINUTES * 60 )); do
  t0=$(date +%s.%N)
  "$BUILD/tests/bench/trailsentry-gen" --events $((RATE * 10)) --identities 5000 --accounts 10 \
    --rate "$(echo "$RATE / $SPEEDUP" | bc -l)" --seed 1 --start $((event_start + chunk * 10 * SPEEDUP)) \
    >"$WORK/chunk.jsonl" 2>/dev/null
  "$BUILD/client/trailsentry" submit --server "127.0.0.1:$PORT" --batch 500 "$WORK/chunk.jsonl" \
    >/dev/null 2>"$WORK/submit.err" || { echo "soak: submit failed: $(tail -n 2 "$WORK/submit.err")"; exit 1; }
  sent=$((sent + RATE * 10))
  chunk=$((chunk + 1))
  now=$(date +%s)
  if (( now >= next_sample )); then
    buckets >"$WORK/b1"
    rss=$(awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$PID/status")
    threads=$(awk '/Threads/ {print $2}' "/proc/$PID/status")
    fds=$(ls "/proc/$PID/fd" | wc -l)
    total1=$(tail -n1 "$WORK/b1" | cut -d' ' -f2)
    total0=$(tail -n1 "$WORK/b0" | cut -d' ' -f2)
    req=$(( ${total1:-0} - ${total0:-0} ))
    printf '%6.1f %8s %8s %5s %5s %9s %9s %10s\n' "$(echo "($now - $start) / 60" | bc -l)" "$rss" \
      "$threads" "$fds" "$req" "$(quantile 0.5 "$WORK/b0" "$WORK/b1")" \
      "$(quantile 0.99 "$WORK/b0" "$WORK/b1")" "$sent"
    mv "$WORK/b1" "$WORK/b0"
    next_sample=$((next_sample + 30))
  fi
  # Sleep the rest of the 10 s.
  rest=$(echo "10 - ($(date +%s.%N) - $t0)" | bc -l)
  if (( $(echo "$rest > 0" | bc -l) )); then sleep "$rest"; fi
done
kill -0 "$PID" || { echo "soak: server died"; exit 1; }
echo "soak: ${MINUTES} min at ${RATE} events/s (event time x${SPEEDUP}), ${sent} events, server alive"
