#!/bin/bash
# `submit` of one file to each server binary given (a fresh persisted server
# per run), alternating the binaries round after round in one command (the
# machine is noisy: compare within a round). Prints the client's events/s, the
# alerts, and the server's RSS at the end of the run.
#
#   tests/bench/submit_servers.sh BUILD_DIR FILE.jsonl ROUNDS SERVER_BINARY...
#   tests/bench/submit_servers.sh build /tmp/w1m.jsonl 3 /tmp/trailsentryd.before build/server/trailsentryd
set -euo pipefail
build=$1 file=$2 rounds=$3
shift 3
work=$(mktemp -d)
pid=""
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r"
  for server in "$@"; do
    rm -rf "$work/data"
    "$server" --listen 127.0.0.1:0 --http_listen 127.0.0.1:0 --data_dir "$work/data" \
      >"$work/server.log" 2>&1 &
    pid=$!
    port=""
    for _ in $(seq 1 100); do
      port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$work/server.log" | head -n1)
      [[ -n $port ]] && break
      sleep 0.1
    done
    [[ -n $port ]] || { cat "$work/server.log" >&2; exit 1; }
    # A rejected record makes submit exit 1: its summary line is still the result.
    out=$("$build/client/trailsentry" submit --server "127.0.0.1:$port" "$file" 2>&1 >/dev/null | tail -n 1) || true
    rss=$(ps -o rss= -p "$pid")
    printf '%s\t%s; %s; server RSS %d MB\n' "$server" "$(grep -o '[0-9]* events/s' <<<"$out")" \
      "$(grep -o '[0-9]* alerts' <<<"$out")" $((rss / 1024))
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
  done
done
