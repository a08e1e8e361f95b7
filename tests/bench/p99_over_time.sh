#!/bin/bash
# p99 of 100-event Evaluate calls over a long run at a fixed rate while RocksDB
# flushes and compacts (issue 8): for each server binary given, a fresh
# persisted server and `trailsentry-load --mode unary --clients 4 --rate RATE`
# for SECONDS, reporting every REPORT seconds with, beside each line, the p99 of
# the server's own evaluation time (its request histogram's bucket: what the
# client sees beyond it is transport and the two processes sharing the cores)
# and the live SST bytes; at the end the WAL's size and what each column
# family flushed. Binaries run one after another (compare them in one command).
#
#   tests/bench/p99_over_time.sh BUILD_DIR SECONDS RATE REPORT SERVER_BINARY...
#   tests/bench/p99_over_time.sh build 600 380 60 /tmp/trailsentryd.before build/server/trailsentryd
set -euo pipefail
source "$(dirname "$0")/bench_lib.sh"
build=$1 seconds=$2 rate=$3 report=$4
shift 4
work=$(mktemp -d)
pid=""
trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
ports=($(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))'))
for server in "$@"; do
  echo "== $server"
  rm -rf "$work/data"
  "$server" --listen "127.0.0.1:${ports[0]}" --http_listen "127.0.0.1:${ports[1]}" \
    --data_dir "$work/data" >"$work/server.log" 2>&1 &
  pid=$!
  until grep -q "listening on" "$work/server.log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }  # it did not start
    sleep 0.1
  done
  "$build/tests/bench/trailsentry-load" --server "127.0.0.1:${ports[0]}" --mode unary --clients 4 \
    --rate "$rate" --duration "$seconds" --report "$report" 2>&1 |
    while IFS= read -r line; do
      metrics=$(curl -s "127.0.0.1:${ports[1]}/metrics")
      sst=$(awk '$1 ~ /^trailsentry_rocksdb_live_sst_bytes/ {s += $2} END {printf "%.0f", s / 1e6}' \
        <<<"$metrics")
      now=$(evaluate_buckets "$metrics")
      [[ $line == total* ]] && since="" || since=${last:-}
      server=$(server_p99 "$now" "$since")
      [[ $line == total* ]] || last=$now
      if [[ $line =~ ^([0-9]+s|total)\  ]]; then
        printf '%s  server p99 %s  sst %s MB\n' "$line" "$server" "$sst"
      else
        printf '%s  sst %s MB\n' "$line" "$sst"
      fi
    done
  echo "WAL at the end: $(cat "$work"/data/*.log 2>/dev/null | wc -c | awk '{printf "%.0f", $1 / 1e6}') MB"
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  # What each column family flushed (RocksDB's LOG names each flush's family
  # and size): the write-behind journal's share, for one.
  sed -n 's/.*\[\([a-z_]*\)\] \[JOB [0-9]*\] Level-0 flush table #[0-9]*: \([0-9]*\) bytes OK.*/\1 \2/p' \
    "$work/data/LOG" |
    awk '{b[$1] += $2; n[$1]++; t += $2}
      END {sort = "sort -k5 -n -r"
           for (c in b) printf "flushed %-20s %4d flushes %8.1f MB\n", c, n[c], b[c] / 1e6 | sort
           close(sort)
           printf "flushed in all %.1f MB\n", t / 1e6}'
done
