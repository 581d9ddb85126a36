#!/usr/bin/env bash
# The main job on the bundled example: check, build (verified, content-tagged), then run the
# built image. Uses the local stand-in for nvidia/cuda:12.1.1-runtime-ubuntu22.04, so no
# registry on the internet is needed (scripts/testenv.sh up must have run: `make demo` does).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${LAUNCHBUILD:-}" ]]; then
  read -r -a LB <<<"$LAUNCHBUILD"
elif [[ -x .venv/bin/launchbuild ]]; then
  LB=(.venv/bin/launchbuild)
else
  LB=(python3 -m launchbuild.cli)
fi
DOCKER=/usr/bin/docker
[[ -x $DOCKER ]] || DOCKER=docker
JOB=(examples/demo --queue-config examples/demo/queue.json)

echo "==> launchbuild check ${JOB[*]}"
"${LB[@]}" check "${JOB[@]}"

echo "==> launchbuild build ${JOB[*]}"
"${LB[@]}" build "${JOB[@]}"

# Asking again is a content-addressed no-op; its JSON report names the tag.
tag=$("${LB[@]}" build "${JOB[@]}" --quiet --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["build"]["tag"])')

echo "==> docker run --rm --network none $tag"
"$DOCKER" run --rm --network none "$tag"
