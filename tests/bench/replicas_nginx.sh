#!/bin/bash
# `submit` to 1, 2 and 3 account-sharded replicas behind nginx (deploy/nginx),
# and to one replica directly (the proxy's own cost), alternating in one command
# (the machine is noisy: compare within a round); then HTTP/JSON (trailsentry-load
# --mode http, 4 clients, 100-event requests, HTTP_SECONDS each) to one replica
# directly and to 3 replicas behind nginx, where replicas forward the events of
# accounts they do not own. Every replica, nginx and the client share this
# machine's cores.
#
#   tests/bench/replicas_nginx.sh BUILD_DIR FILE.jsonl [ROUNDS] [HTTP_SECONDS]
#   tests/bench/replicas_nginx.sh build /tmp/w300k.jsonl 2 15
set -euo pipefail
build=$1 file=$2 rounds=${3:-2} http_seconds=${4:-15}
src="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  [[ -s "$work/nginx/nginx.pid" ]] && "$src/deploy/nginx/local.sh" "$work/nginx" --stop 2>/dev/null || true
  rm -f "$work/nginx/nginx.pid"
  sleep 0.5
}
trap 'stop; rm -rf "$work"' EXIT

ports=($(python3 -c '
import socket
s = [socket.socket() for _ in range(8)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))'))

start() {  # N [nginx]: N replicas with their ring, fresh data; HTTP on ports 4..
  local n=$1 i replicas=() https=() quoted
  for ((i = 0; i < n; i++)); do
    replicas+=("127.0.0.1:${ports[$i]}")
    https+=("127.0.0.1:${ports[$((4 + i))]}")
  done
  quoted="$(printf '"%s", ' "${replicas[@]}")"
  for ((i = 0; i < n; i++)); do
    rm -rf "$work/data$i"
    printf 'server { shard { self: "%s" replicas: [%s] } }\n' "${replicas[$i]}" "${quoted%, }" \
      >"$work/r$i.textproto"
    "$build/server/trailsentryd" --config "$work/r$i.textproto" --listen "${replicas[$i]}" \
      --http_listen "${https[$i]}" --data_dir "$work/data$i" >"$work/r$i.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < n; i++)); do
    until grep -q "listening on" "$work/r$i.log"; do sleep 0.1; done
  done
  [[ ${2:-} == nginx ]] || return 0
  "$src/deploy/nginx/local.sh" "$work/nginx" "127.0.0.1:${ports[3]}" "${replicas[@]}" \
    --http "127.0.0.1:${ports[7]}" "${https[@]}"
}

# CPU seconds used so far by nginx's worker processes.
nginx_cpu() {
  [[ -s "$work/nginx/nginx.pid" ]] || { echo 0; return; }
  local ticks=0 p
  for p in $(pgrep -P "$(cat "$work/nginx/nginx.pid")"); do
    ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  python3 -c "print($ticks / $(getconf CLK_TCK))"
}

run() {  # LABEL TARGET
  local out before
  before=$(nginx_cpu)
  out=$("$build/client/trailsentry" submit --server "$2" "$file" 2>&1 >/dev/null | tail -n 1)
  printf '%s\t%s; %s; nginx CPU %s s\n' "$1" "$(grep -o '[0-9]* events/s' <<<"$out")" \
    "$(grep -o '[0-9]* alerts' <<<"$out")" "$(python3 -c "print(round($(nginx_cpu) - $before, 2))")"
}

for ((round = 1; round <= rounds; round++)); do
  echo "== round $round"
  start 1
  run "1 replica, direct" "127.0.0.1:${ports[0]}"
  stop
  for n in 1 2 3; do
    start "$n" nginx
    run "$n replica(s) behind nginx" "127.0.0.1:${ports[3]}"
    stop
  done
  for n in 1 3; do
    start "$n" nginx
    for target in direct nginx; do
      [[ $n == 3 && $target == direct ]] && continue
      addr="127.0.0.1:${ports[4]}"
      [[ $target == nginx ]] && addr="127.0.0.1:${ports[7]}"
      before=$(nginx_cpu)
      out=$("$build/tests/bench/trailsentry-load" --mode http --http "$addr" --clients 4 \
        --duration "$http_seconds" --report 1000 2>&1 | grep "^total" | tr -s " ")
      printf 'HTTP, %s replica(s), %s\t%s; nginx CPU %s s\n' "$n" "$target" "$out" \
        "$(python3 -c "print(round($(nginx_cpu) - $before, 2))")"
    done
    stop
  done
done
