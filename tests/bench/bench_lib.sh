# Sourced by the benchmark scripts.
#
#   start_server BINARY DATA_DIR LOG   # sets server_pid and port (gRPC)
#   now=$(evaluate_buckets "$metrics")  # a /metrics text's gRPC Evaluate histogram
#   server_p99 "$now" "$since"          # its p99 bucket between two of them

# Starts a trailsentryd on free ports with a fresh DATA_DIR; returns once it
# listens, or fails with its log.
start_server() {
  local binary=$1 data=$2 log=$3
  rm -rf "$data"
  "$binary" --listen 127.0.0.1:0 --http_listen 127.0.0.1:0 --data_dir "$data" >"$log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$log" | head -n1)
    [[ -n $port ]] && return 0
    sleep 0.1
  done
  cat "$log" >&2
  return 1
}

# The cumulative buckets of the gRPC Evaluate histogram (the server's own
# evaluation time: parse, rules, commit; no transport) in a /metrics text, as
# "le=count le=count ...".
evaluate_buckets() {
  awk -F'[{}]' '/^trailsentry_request_duration_seconds_bucket/ && /method="Evaluate"/ &&
    /api="grpc"/ {split($2, l, "le=\""); sub(/".*/, "", l[2]); printf "%s=%s ", l[2], $3 + 0}' \
    <<<"$1"
}

# The bucket that holds the 99th percentile of the requests counted between two
# evaluate_buckets snapshots (SINCE empty: since the start), as "<= 5 ms".
server_p99() {
  awk -v now="$1" -v since="$2" 'BEGIN {
    n = split(now, a, " "); split(since, b, " ")
    for (i = 1; i <= n; i++) { split(a[i], x, "="); split(b[i], y, "="); d[i] = x[2] - y[2]; le[i] = x[1] }
    if (n == 0 || d[n] == 0) { printf "n/a (no requests)"; exit }
    for (i = 1; i <= n; i++) if (d[i] >= 0.99 * d[n]) { printf (le[i] == "+Inf" ? "> 2.5 s" : "<= %g ms"), le[i] * 1000; exit }
  }'
}
