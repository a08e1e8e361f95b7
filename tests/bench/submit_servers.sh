#!/bin/bash
# `submit` of one file to each server binary given (a fresh persisted server
# per run), alternating the binaries round after round in one command (the
# machine is noisy: compare within a round). Prints the client's events/s, the
# alerts, and the server's RSS at the end of the run.
#
#   tests/bench/submit_servers.sh BUILD_DIR FILE.jsonl ROUNDS SERVER_BINARY...
#   tests/bench/submit_servers.sh build /tmp/w1m.jsonl 3 /tmp/trailsentryd.before build/server/trailsentryd
set -euo pipefail
source "$(dirname "$0")/bench_lib.sh"
build=$1 file=$2 rounds=$3
shift 3
work=$(mktemp -d)
server_pid=""
trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r"
  for server in "$@"; do
    start_server "$server" "$work/data" "$work/server.log"
    # A rejected record makes submit exit 1: its summary line is still the result.
    out=$("$build/client/trailsentry" submit --server "127.0.0.1:$port" "$file" 2>&1 >/dev/null | tail -n 1) || true
    rss=$(ps -o rss= -p "$server_pid")
    printf '%s\t%s; %s; server RSS %d MB\n' "$server" "$(grep -o '[0-9]* events/s' <<<"$out")" \
      "$(grep -o '[0-9]* alerts' <<<"$out")" $((rss / 1024))
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  done
done
