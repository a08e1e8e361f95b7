#!/bin/bash
# Runs Debian's nginx as an ordinary process (no root, no /etc/nginx) with
# deploy/nginx/trailsentry.conf (and trailsentry-http.conf) in front of the
# replicas named: for trying a sharded fleet on one machine, and for the tests
# and benchmarks that do.
#
#   deploy/nginx/local.sh DIR LISTEN REPLICA... [--http HTTP_LISTEN HTTP_REPLICA...]
#                                                     writes DIR/nginx.conf, starts nginx
#   deploy/nginx/local.sh DIR --reload REPLICA... [--http HTTP_REPLICA...]
#                                                     new replica lists, nginx -s reload
#   deploy/nginx/local.sh DIR --stop
#
# DIR holds the config, pid (DIR/nginx.pid), logs and temp files. LISTEN:
# host:port for gRPC clients. REPLICA: host:port, as in server.shard.replicas.
# HTTP_LISTEN: host:port for HTTP/JSON clients; HTTP_REPLICA: a replica's
# --http_listen address.
set -euo pipefail
dir=$1 listen=$2
shift 2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$NGINX" ]] || { echo "local.sh: nginx is not installed (deploy/dev.sh setup)" >&2; exit 1; }
nginx() { "$NGINX" -p "$dir" -c "$dir/nginx.conf" "$@"; }
# Splits REPLICA... [--http [HTTP_LISTEN] HTTP_REPLICA...] into GRPC and HTTP.
GRPC=() HTTP=()
split_args() {
  local http=0 a
  for a in "$@"; do
    if [[ $a == --http ]]; then
      http=1
    elif ((http)); then
      HTTP+=("$a")
    else
      GRPC+=("$a")
    fi
  done
}
replicas() {
  for r in "${GRPC[@]}"; do echo "server $r max_fails=0;"; done >"$dir/trailsentry-replicas.inc"
  [[ ${#HTTP[@]} -eq 0 ]] ||
    for r in "${HTTP[@]}"; do echo "server $r;"; done >"$dir/trailsentry-http-replicas.inc"
}

case "$listen" in
--stop) nginx -s quit; exit ;;
--reload)
  split_args "$@"
  replicas
  nginx -s reload
  exit
  ;;
esac
split_args "$@"
http_listen=""
if [[ ${#HTTP[@]} -gt 0 ]]; then
  http_listen=${HTTP[0]}
  HTTP=("${HTTP[@]:1}")
fi
mkdir -p "$dir/logs"
sed "s/^    listen 50050 http2;/    listen $listen http2;/" "$here/trailsentry.conf" >"$dir/trailsentry.conf"
grep -q "listen $listen http2;" "$dir/trailsentry.conf" ||
  { echo "local.sh: trailsentry.conf has no 'listen 50050 http2;' line to replace" >&2; exit 1; }
if [[ -n $http_listen ]]; then
  sed "s/^    listen 8080;/    listen $http_listen;/" "$here/trailsentry-http.conf" >"$dir/trailsentry-http.conf"
  grep -q "listen $http_listen;" "$dir/trailsentry-http.conf" ||
    { echo "local.sh: trailsentry-http.conf has no 'listen 8080;' line to replace" >&2; exit 1; }
else
  : >"$dir/trailsentry-http.conf"
fi
replicas
cat >"$dir/nginx.conf" <<CONF
user $(id -un);
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  include trailsentry.conf;
  include trailsentry-http.conf;
}
CONF
nginx -t 2>"$dir/logs/test.txt" || { cat "$dir/logs/test.txt" >&2; exit 1; }
nginx
for _ in $(seq 1 50); do [[ -s "$dir/nginx.pid" ]] && exit 0; sleep 0.1; done
echo "local.sh: nginx did not write its pid" >&2
exit 1
