#!/usr/bin/env bash
# e2e: the Python client (client/python) against the real trailsentryd.
source "$(dirname "$0")/e2e_lib.sh"
printf 'python-client-token-000000000 soar\nother-tenant-token-00000000000 other\n' >"$WORK/tokens"
start_server --token_file "$WORK/tokens"
TS_TARGET="127.0.0.1:$PORT" TS_TOKEN=python-client-token-000000000 \
  TS_OTHER_TOKEN=other-tenant-token-00000000000 TS_EXAMPLES="$SOURCE_DIR/deploy/examples" \
  PYTHONPATH="$PYTHON_DIR" /usr/bin/python3 "$(dirname "$0")/python_client_test.py" 2>"$WORK/py.txt" ||
  fail "python client tests: $(tail -n 30 "$WORK/py.txt")"
grep -E "^Ran [0-9]+ tests" "$WORK/py.txt"
stop_server
echo "python client e2e: ok"
