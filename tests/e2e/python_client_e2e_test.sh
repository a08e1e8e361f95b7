#!/usr/bin/env bash
# e2e: the Python client (client/python) against the real trailsentryd.
source "$(dirname "$0")/e2e_lib.sh"
printf 'python-client-token-000000000 soar\nother-tenant-token-00000000000 other\n' >"$WORK/tokens"
start_server --token_file "$WORK/tokens"
# The client as a user installs it (issue 11 item 9): `pip install client/python`
# into a virtual environment, stubs included, then the tests with its Python and
# no PYTHONPATH. (Offline here: grpcio and protobuf come from the system through
# --system-site-packages; the package declares them for pip to fetch elsewhere.)
cp -r "$SOURCE_DIR/client/python" "$WORK/pkg"  # pip builds in place: not in the clone
/usr/bin/python3 -m venv --system-site-packages "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --no-index --no-deps --no-build-isolation "$WORK/pkg" \
  >"$WORK/pip.txt" 2>&1 || fail "pip install client/python: $(tail -n 5 "$WORK/pip.txt")"
"$WORK/venv/bin/pip" show trailsentry-client >"$WORK/show.txt"
expect_contains "$WORK/show.txt" '^Requires: grpcio, protobuf' "the package declares its dependencies"
(cd "$WORK" && TS_TARGET="127.0.0.1:$PORT" TS_TOKEN=python-client-token-000000000 \
  TS_OTHER_TOKEN=other-tenant-token-00000000000 TS_EXAMPLES="$SOURCE_DIR/deploy/examples" \
  "$WORK/venv/bin/python" "$SOURCE_DIR/tests/e2e/python_client_test.py" 2>"$WORK/py.txt") ||
  fail "python client tests: $(tail -n 30 "$WORK/py.txt")"
grep -E "^Ran [0-9]+ tests" "$WORK/py.txt"

# kill -9, and the server back on the same port 1.5 s later: a call made while
# it is down succeeds once it is back (issue 11 item 8: retries, fast reconnect).
cat >"$WORK/ride.py" <<'PY'
import os, sys, time
from trailsentry_client import Client
ts = Client(os.environ["TS_TARGET"], token="python-client-token-000000000", timeout=10)
ts.list_alerts(limit=1)  # connected
open(os.environ["TS_READY"], "w").close()
while os.path.exists(os.environ["TS_READY"]):
    time.sleep(0.05)
start = time.time()
list(ts.list_alerts(limit=1))
print("answered after %.1f s" % (time.time() - start))
PY
TS_TARGET="127.0.0.1:$PORT" TS_READY="$WORK/ready" "$WORK/venv/bin/python" "$WORK/ride.py" \
  >"$WORK/ride.txt" 2>&1 &
rider=$!
for _ in $(seq 1 100); do [[ -e "$WORK/ready" ]] && break; sleep 0.1; done
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
rm -f "$WORK/ready"  # the client calls now, while the server is down
sleep 1.5
start_server --token_file "$WORK/tokens" --listen "127.0.0.1:$PORT"
wait "$rider" || fail "a call across a kill -9 and restart failed: $(tail -n 5 "$WORK/ride.txt")"
cat "$WORK/ride.txt"
stop_server
echo "python client e2e: ok"
