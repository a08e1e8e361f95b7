#!/bin/bash
# `submit` to a local trailsentryd (fresh data directory each run) beside the
# in-process `scan` (persisted) of the same file, alternating in one command (the
# machine is noisy: compare ratios within a round). Prints events/s and the
# client's peak RSS.
#
#   tests/bench/submit_vs_scan.sh BUILD_DIR FILE.jsonl [ROUNDS] [CONCURRENCY...]
#   tests/bench/submit_vs_scan.sh build /tmp/w1m.jsonl 2 1 2 4
set -euo pipefail
source "$(dirname "$0")/bench_lib.sh"
build=$1 file=$2 rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
levels=("$@")
[[ ${#levels[@]} -gt 0 ]] || levels=(1 2 4)
work=$(mktemp -d)
server_pid=""
trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT
measure() {  # label, command...: events/s and peak RSS of the command
  local label=$1
  shift
  python3 -c '
import re, resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
m = re.search(r"\((\d+) events/s\)", r.stderr)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print("\t".join([m.group(1) + " events/s" if m else "?", "client RSS %d MB" % rss, "exit %d" % r.returncode]))
' "$@" | sed "s|^|$label\t|"
}
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r"
  rm -rf "$work/scan"
  measure "scan (all cores, persisted)" "$build/client/trailsentry" scan --data_dir "$work/scan" "$file"
  rm -rf "$work/scan"
  measure "scan --threads 1 (persisted)" "$build/client/trailsentry" scan --threads 1 --data_dir "$work/scan" "$file"
  for c in "${levels[@]}"; do
    start_server "$build/server/trailsentryd" "$work/data" "$work/server.log"
    measure "submit --concurrency $c" "$build/client/trailsentry" submit --concurrency "$c" \
      --server "127.0.0.1:$port" "$file"
    kill $server_pid
    wait $server_pid 2>/dev/null || true
    server_pid=""
  done
done
