#!/usr/bin/env bash
# Validates what of deploy/ can be validated without a container engine or a
# cluster: the example config loads, the systemd unit passes systemd-analyze
# verify, and the Kubernetes and Compose YAML parse with the expected objects.
# (The Dockerfile is not built here: no Docker engine runs on these machines.)
set -euo pipefail
DEPLOY="$SOURCE_DIR/deploy"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$TRAILSENTRYD" --check_config --config "$DEPLOY/config.example.textproto" >/dev/null ||
  fail "deploy/config.example.textproto does not load"
echo 'burst { window: "soon" }' >"$WORK/bad.textproto"
if "$TRAILSENTRYD" --check_config --config "$WORK/bad.textproto" 2>"$WORK/err.txt"; then
  fail "--check_config accepted a bad config"
fi
grep -q "burst.window" "$WORK/err.txt" || fail "config error does not name the field"

if command -v systemd-analyze >/dev/null; then
  sed "s|/usr/local/bin/trailsentryd|$TRAILSENTRYD|" "$DEPLOY/systemd/trailsentryd.service" \
    >"$WORK/trailsentryd.service"
  systemd-analyze verify "$WORK/trailsentryd.service" || fail "systemd unit"
else
  echo "systemd-analyze not installed: unit not verified"
fi

/usr/bin/python3 - "$DEPLOY" <<'PY'
import sys, yaml
deploy = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(f"{deploy}/k8s/trailsentry.yaml")) if d]
kinds = sorted(d["kind"] for d in docs)
assert kinds == ["ConfigMap", "Secret", "Service", "StatefulSet"], kinds
sts = next(d for d in docs if d["kind"] == "StatefulSet")
pod = sts["spec"]["template"]
c = pod["spec"]["containers"][0]
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
assert any(a.startswith("--shard_self=$(POD_NAME).trailsentry:") for a in c["args"]), c["args"]
cm = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.textproto"]
# The proxy: nginx with deploy/nginx/trailsentry.conf as is, the same replicas
# as the replicas' ring.
proxy = [d for d in yaml.safe_load_all(open(f"{deploy}/k8s/proxy.yaml")) if d]
assert sorted(d["kind"] for d in proxy) == ["ConfigMap", "Deployment", "Service"]
nginx = next(d for d in proxy if d["kind"] == "ConfigMap")["data"]
assert nginx["trailsentry.conf"] == open(f"{deploy}/nginx/trailsentry.conf").read(), \
    "deploy/k8s/proxy.yaml's trailsentry.conf differs from deploy/nginx/trailsentry.conf"
assert nginx["trailsentry-http.conf"] == open(f"{deploy}/nginx/trailsentry-http.conf").read(), \
    "deploy/k8s/proxy.yaml's trailsentry-http.conf differs from deploy/nginx/trailsentry-http.conf"
names = [l.split()[1] for l in nginx["trailsentry-replicas.inc"].splitlines() if l.strip()]
assert names and all(f'"{n}"' in cm for n in names), (names, cm)
# HTTP goes to the same pods' HTTP port (--http_listen).
http_names = [l.split()[1].rstrip(";") for l in nginx["trailsentry-http-replicas.inc"].splitlines()
              if l.strip()]
assert [n.rsplit(":", 1)[0] for n in http_names] == [n.rsplit(":", 1)[0] for n in names], http_names
assert all(n.endswith(":8080") for n in http_names) and "--http_listen=0.0.0.0:8080" in c["args"]
compose = yaml.safe_load(open(f"{deploy}/docker-compose.yml"))
assert "trailsentryd" in compose["services"]
print("k8s and compose YAML: ok")
PY
# The shipped nginx routing, with its example replicas, passes `nginx -t`.
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$NGINX" ]] || fail "nginx is not installed (deploy/dev.sh setup installs it)"
cp "$DEPLOY"/nginx/trailsentry{,-http}.conf "$DEPLOY"/nginx/trailsentry{,-http}-replicas.inc "$WORK/"
cat >"$WORK/nginx.conf" <<EOF
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events {}
http { access_log off; include trailsentry.conf; include trailsentry-http.conf; }
EOF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -t 2>"$WORK/nginx-t.txt" ||
  fail "deploy/nginx does not pass nginx -t: $(cat "$WORK/nginx-t.txt")"
grep -q '^USER trailsentry' "$DEPLOY/Dockerfile" || fail "Dockerfile runs as root"
grep -q '^FROM debian:12-slim' "$DEPLOY/Dockerfile" || fail "Dockerfile runtime stage"
echo "deploy validation: ok"
