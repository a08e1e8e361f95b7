"""A webhook receiver for the e2e test: appends one JSON line per delivery to
OUT (sequence, change kind, alert id, whether the signature matched, the body)
and answers 204.

It binds a free port at once and writes it to PORT_FILE, but takes connections
only once GO_FILE exists: until then a connection is refused, as by a receiver
that is down, and no other process can take the port meanwhile (a port found
free, closed and bound again later was taken by a test beside this one).

usage: webhook_receiver.py PORT_FILE SECRET_FILE OUT GO_FILE
"""
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

port_file, secret_file, out_path, go_file = sys.argv[1:5]
key = open(secret_file, "rb").read().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        change = json.loads(body)
        line = {
            "sequence": int(self.headers["X-Trailsentry-Sequence"]),
            "kind": self.headers["X-Trailsentry-Change"],
            "alertId": change["alert"]["alertId"],
            "signed": hmac.compare_digest(expected, self.headers["X-Trailsentry-Signature"]),
            "bodySequence": int(change["sequence"]),
        }
        with open(out_path, "a") as out:
            out.write(json.dumps(line) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
server.server_bind()
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
while not os.path.exists(go_file):
    time.sleep(0.05)
server.server_activate()  # listen()
server.serve_forever()
