"""A webhook receiver for the e2e test: appends one JSON line per delivery to
OUT (sequence, change kind, alert id, whether the signature matched, the body)
and answers 204.

usage: webhook_receiver.py PORT SECRET_FILE OUT
"""
import hashlib
import hmac
import http.server
import json
import sys

port, secret_file, out_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
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


http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
