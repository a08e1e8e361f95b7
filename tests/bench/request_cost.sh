#!/bin/bash
# What one 100-event Evaluate costs the server: for each server binary given, a
# fresh persisted server under `trailsentry-load --mode unary` at a light fixed
# rate (default 1 client, 100 requests/s, 15 s), reporting the server's CPU time
# (user + system, from /proc) per request beside the latency the client saw.
# Binaries run one after another, ROUNDS times (compare them within a round).
#
#   tests/bench/request_cost.sh BUILD_DIR ROUNDS SERVER_BINARY...
#   CLIENTS=1 RATE=100 SECONDS_RUN=15 tests/bench/request_cost.sh build 3 /tmp/A/trailsentryd build/server/trailsentryd
set -euo pipefail
source "$(dirname "$0")/bench_lib.sh"
build=$1 rounds=$2
shift 2
clients=${CLIENTS:-1} rate=${RATE:-100} seconds=${SECONDS_RUN:-15}
work=$(mktemp -d)
server_pid=""
trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r"
  for server in "$@"; do
    start_server "$server" "$work/data" "$work/server.log"
    before=$(cpu_ticks "$server_pid")
    line=$("$build/tests/bench/trailsentry-load" --server "127.0.0.1:$port" --mode unary \
      --clients "$clients" --rate "$rate" --duration "$seconds" --report "$seconds" 2>&1 |
      grep '^total')
    after=$(cpu_ticks "$server_pid")
    kill "$server_pid"
    wait "$server_pid" || true
    server_pid=""
    printf '%s\tserver CPU %s ms per request\t%s\n' "$server" \
      "$(awk -v t=$((after - before)) -v hz="$ticks" -v n=$((rate * seconds)) \
        'BEGIN {printf "%.2f", t * 1000 / hz / n}')" "$line"
  done
done
