# Sourced by the benchmark scripts.
#
#   start_server BINARY DATA_DIR LOG   # sets server_pid and port (gRPC)

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
