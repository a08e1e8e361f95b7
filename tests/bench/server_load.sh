#!/usr/bin/env bash
# trailsentryd under trailsentry-load: maximum throughput of 100-event requests
# by transport and number of clients, then the latency of Evaluate at half the
# best unary rate, beside the p99 of the server's own evaluation time (its
# request histogram's bucket). One fresh server (persisted, default config) on
# loopback; client and server share the machine.
#
#   tests/bench/server_load.sh BUILD_DIR [SECONDS_PER_RUN] [CLIENTS...]
#   tests/bench/server_load.sh build 20 1 4 16
set -euo pipefail
source "$(dirname "$0")/bench_lib.sh"
build=$1 seconds=${2:-20}
shift $(($# < 2 ? $# : 2))
clients=("$@")
[[ ${#clients[@]} -gt 0 ]] || clients=(1 4 16)
work=$(mktemp -d)
"$build/server/trailsentryd" --listen 127.0.0.1:0 --http_listen 127.0.0.1:0 --data_dir "$work/data" \
  >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$work/server.log" | head -n1)
  http=$(sed -n 's/.*HTTP on port \([0-9]*\).*/\1/p' "$work/server.log" | head -n1)
  [[ -n $port ]] && break
  sleep 0.1
done
seed=1
load() {  # prints the total line
  seed=$((seed + 1000))
  "$build/tests/bench/trailsentry-load" --server "127.0.0.1:$port" --http "127.0.0.1:$http" \
    --duration "$seconds" --report "$seconds" --seed "$seed" "$@" | grep '^total'
}
best=0
for mode in unary stream http; do
  for c in "${clients[@]}"; do
    line=$(load --mode "$mode" --clients "$c")
    printf '%-7s %3d clients: %s\n' "$mode" "$c" "${line#total}"
    if [[ $mode == unary ]]; then
      rate=$(awk '{print int($2)}' <<<"$line")
      ((rate > best)) && best=$rate && best_clients=$c
    fi
  done
done
half=$((best / 2))
since=$(evaluate_buckets "$(curl -s "127.0.0.1:$http/metrics")")
line=$(load --mode unary --clients "$best_clients" --rate "$half")
server=$(server_p99 "$(evaluate_buckets "$(curl -s "127.0.0.1:$http/metrics")")" "$since")
printf 'unary   %3d clients at %d req/s (half the best): %s  server p99 %s\n' "$best_clients" \
  "$half" "${line#total}" "$server"
