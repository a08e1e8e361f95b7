#!/bin/bash
# scan of the same number of events from 5,000 and from 1,000,000 identities,
# persisted, on one and on every thread, alternating in one command (the machine
# is noisy: compare ratios within a round). Reports events/s and peak RSS.
#
#   tests/bench/identity_scale.sh BUILD_DIR [EVENTS] [ROUNDS] [CONFIG]
#   tests/bench/identity_scale.sh build 1000000 2
#
# CONFIG: a config file for scan (default: none, the built-in defaults). With
# 1M identities, server.cached_identities decides whether an identity that
# comes back is still in memory (docs/configuration.md).
set -euo pipefail
build=$1 events=${2:-1000000} rounds=${3:-2} config=${4:-}
config_flag=()
[[ -n $config ]] && config_flag=(--config "$config")
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
threads=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ids in 5000 1000000; do
  # 10 events/s of event time: 1M events span 28 h, so baselines mature.
  "$build/tests/bench/trailsentry-gen" --events "$events" --identities "$ids" --accounts 200 \
    --rate 10 --seed 1 >"$work/$ids.jsonl"
done
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r"
  for t in 1 "$threads"; do
    for ids in 5000 1000000; do
      rm -rf "$work/db"
      out=$(/usr/bin/time -f 'rss %M KiB' "$build/client/trailsentry" scan "${config_flag[@]}" --threads "$t" \
        --data_dir "$work/db" "$work/$ids.jsonl" 2>&1 >/dev/null | tail -n 2 | tr '\n' ' ')
      printf '%s identities\t--threads %s\t%s; %s; peak %s\n' "$ids" "$t" \
        "$(grep -o '[0-9]* events/s' <<<"$out")" "$(grep -o '[0-9]* alerts' <<<"$out")" \
        "$(grep -o 'rss [0-9]* KiB' <<<"$out")"
    done
  done
done
