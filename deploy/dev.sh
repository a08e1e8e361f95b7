#!/usr/bin/env bash
# trailsentry developer entry point, for a Debian 12 machine.
#
#   deploy/dev.sh setup   install missing Debian packages (idempotent, quiet when all is there)
#   deploy/dev.sh build   setup + configure + build everything
#   deploy/dev.sh test    build + run every test with ctest
#   deploy/dev.sh test-asan   the same under AddressSanitizer + UBSan (build-asan/)
#   deploy/dev.sh run     build + start trailsentryd (gRPC 127.0.0.1:50051, HTTP 127.0.0.1:8080, data ./trailsentry-data)
#   deploy/dev.sh bench   build + run the Google Benchmarks
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release),
# TRAILSENTRY_SANITIZE (address|thread), JOBS (default: number of cores).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BUILD_TYPE="${BUILD_TYPE:-Release}"   # what users deploy, and what the tests test
JOBS="${JOBS:-$(nproc)}"

PACKAGES=(
  build-essential cmake pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libspdlog-dev libsimdjson-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev libssl-dev
  openssl curl python3 python3-grpcio python3-protobuf python3-yaml
)

setup() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "dev.sh: installing ${missing[*]}" >&2
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

build() {
  setup
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
    -DTRAILSENTRY_SANITIZE="${TRAILSENTRY_SANITIZE:-}" -DTRAILSENTRY_WERROR=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-}" in
  setup) setup ;;
  build) build ;;
  test)
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure -j "$JOBS" --timeout 600
    ;;
  test-asan)
    # The whole suite again under AddressSanitizer + UBSan, in its own build dir.
    BUILD_DIR="${BUILD_DIR_ASAN:-$ROOT/build-asan}" TRAILSENTRY_SANITIZE=address build
    cd "${BUILD_DIR_ASAN:-$ROOT/build-asan}"
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      ctest --output-on-failure -j "$JOBS" --timeout 900
    ;;
  run)
    build
    shift
    exec "$BUILD_DIR/server/trailsentryd" --listen 127.0.0.1:50051 \
      --data_dir "$ROOT/trailsentry-data" "$@"
    ;;
  bench)
    build
    "$BUILD_DIR/tests/bench/engine_bench" "${@:2}"
    ;;
  *)
    sed -n '2,14p' "$0"
    exit 2
    ;;
esac
