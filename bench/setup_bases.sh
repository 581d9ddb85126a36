#!/usr/bin/env bash
# Bench base images: the stand-ins plus the CA bundle, tagged under the names both tools'
# Dockerfiles name, so that both build on byte-identical bases. Idempotent; re-tags every run
# because other work on this engine may have pointed the names elsewhere.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKER="${LAUNCHBUILD_DOCKER:-/usr/bin/docker}"
CA="${BENCH_CA_BUNDLE:-${SSL_CERT_FILE:-${REQUESTS_CA_BUNDLE:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}}}"
WORK="$ROOT/bench/.work/bases"
mkdir -p "$WORK"
cp "$CA" "$WORK/ca-certificates.crt"
cp "$ROOT/bench/bases/ca.Dockerfile" "$WORK/Dockerfile"

build() {  # build BASE TAG [extra tags...]
    local base=$1 tag=$2; shift 2
    DOCKER_BUILDKIT=1 "$DOCKER" build --network host --quiet --build-arg "BASE=$base" -t "$tag" "$WORK" >/dev/null
    local t
    for t in "$@"; do "$DOCKER" tag "$tag" "$t"; done
    echo "bench: $tag ($base) -> $*" >&2
}

build launchbuild-test/python:3.11-slim launchbuild-bench/python:3.11 \
    python:3.11 python:3.11-slim python:3.11-buster python:3.11-bookworm
build launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04 launchbuild-bench/cuda:12.1.1-runtime-ubuntu22.04 \
    nvidia/cuda:12.1.1-runtime-ubuntu22.04
