#!/usr/bin/env bash
# e2e: trailsentry-load drives the real trailsentryd over gRPC (unary and
# streams) and HTTP/JSON, paced and as fast as answered, and reports what the
# server answered: requests, events and latency percentiles, no errors.
source "$(dirname "$0")/e2e_lib.sh"
unset GLIBC_TUNABLES TRAILSENTRY_HUGE_PAGES  # the huge-page checks below decide them

start_server
RUNS=0
check() {  # mode, extra flags...; the report is in $OUT
  local mode=$1
  shift
  RUNS=$((RUNS + 1))
  OUT="$WORK/run-$RUNS.txt"
  "$TRAILSENTRY_LOAD" --mode "$mode" --server "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP_PORT" \
    --clients 2 --duration 2 --report 1 --seed "$((RUNS * 1000))" "$@" >"$OUT" 2>&1 ||
    fail "trailsentry-load --mode $mode $*: $(tail -n 3 "$OUT")"
  local total
  total=$(grep '^total' "$OUT") || fail "no total line: $(cat "$OUT")"
  [[ "$total" != *errors* ]] || fail "$mode: $total"
  local events
  events=$(awk '{print $4}' <<<"$total")
  [[ "${events%.*}" -gt 0 ]] || fail "$mode answered no events: $total"
  [[ $(grep -c '^[0-9]*s ' "$OUT") -ge 2 ]] || fail "$mode: no line per interval"
  echo "load e2e: $mode $*: $total"
}
check unary
check stream --window 4
check http
# Paced: 40 requests/s scheduled, about that many answered.
check unary --rate 40
rate=$(awk '/^total/ {print $2}' "$OUT")
[[ "${rate%.*}" -ge 25 && "${rate%.*}" -le 45 ]] || fail "paced at 40 requests/s, answered $rate/s"
# Every event the runs report answered was evaluated by the server, once.
answered=$(cat "$WORK"/run-*.txt | awk '/^answered/ {n += $4} END {print n}')
evaluated=$(curl -s "127.0.0.1:$HTTP_PORT/metrics" |
  sed -n 's/^trailsentry_events_total{verdict="accepted"} \([0-9]*\)$/\1/p')
expect_eq "$evaluated" "$answered" "events the server evaluated"

# The server allocates through tcmalloc where the build links it (CMake's
# TRAILSENTRY_TCMALLOC, on except under sanitizers), and then never re-executes.
# Otherwise, where the kernel gives transparent huge pages only to memory that
# asks for them, it re-executed itself (same pid) with glibc's malloc asking;
# elsewhere, or in a sanitizer build (not glibc's malloc), it did not.
tunables_of() { tr '\0' '\n' <"/proc/$SERVER_PID/environ" | sed -n 's/^GLIBC_TUNABLES=//p'; }
tcmalloc_mapped=$(grep -c 'libtcmalloc' "/proc/$SERVER_PID/maps" || true)
# With tcmalloc, fresh heap memory is faulted in a block at a time where the
# kernel can (MADV_POPULATE_WRITE: Linux 5.14).
prefaulting=$(grep -c 'faulted in a block at a time' "$WORK/server.log" || true)
kernel_populates=$(uname -r | awk -F. '{ print ($1 > 5 || ($1 == 5 && $2 >= 14)) ? 1 : 0 }')
if [[ "${TRAILSENTRY_USES_TCMALLOC:-OFF}" == "ON" ]]; then
  [[ "$tcmalloc_mapped" -gt 0 ]] || fail "the server does not allocate through tcmalloc"
  expect_eq "$(tunables_of)" "" "the server's malloc tunables (tcmalloc)"
  expect_eq "$prefaulting" "$kernel_populates" "the server faults in fresh heap memory at once"
elif [[ -n "$(sanitizer_of "$TRAILSENTRYD")" ]]; then
  expect_eq "$tcmalloc_mapped" "0" "tcmalloc in a sanitizer build"
  expect_eq "$prefaulting" "0" "fresh heap memory faulted in (sanitizer build)"
  expect_eq "$(tunables_of)" "" "the server's malloc tunables (sanitizer build)"
elif grep -q '\[madvise\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
  expect_eq "$(tunables_of)" "glibc.malloc.hugetlb=1" "the server's malloc tunables"
  # It kept its name: executing /proc/self/exe alone renames a process "exe".
  expect_eq "$(cat "/proc/$SERVER_PID/comm")" "trailsentryd" "the re-executed server's name"
  expect_eq "$(cat /proc/"$SERVER_PID"/task/*/comm | grep -c "^exe$")" "0" "threads named exe"
else
  expect_eq "$(tunables_of)" "" "the server's malloc tunables (THP not in madvise mode)"
fi
stop_server
TRAILSENTRY_HUGE_PAGES=0 TRAILSENTRY_PREFAULT=0 start_server
expect_eq "$(tunables_of)" "" "the server's malloc tunables with TRAILSENTRY_HUGE_PAGES=0"
expect_eq "$(grep -c 'faulted in a block at a time' "$WORK/server.log" || true)" "0" \
  "fresh heap memory faulted in with TRAILSENTRY_PREFAULT=0"
stop_server
echo "load e2e: ok"
