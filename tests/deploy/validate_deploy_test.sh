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
compose = yaml.safe_load(open(f"{deploy}/docker-compose.yml"))
assert "trailsentryd" in compose["services"]
print("k8s and compose YAML: ok")
PY
grep -q '^USER trailsentry' "$DEPLOY/Dockerfile" || fail "Dockerfile runs as root"
grep -q '^FROM debian:12-slim' "$DEPLOY/Dockerfile" || fail "Dockerfile runtime stage"
echo "deploy validation: ok"
