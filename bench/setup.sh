#!/usr/bin/env bash
# Bench prerequisites beyond the test environment: the peer (wandb, in its own venv, never the
# project's) and the shared base images. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/bench/.work/peer-venv"
WANDB_VERSION="${BENCH_WANDB_VERSION:-0.31.0}"
if ! "$VENV/bin/python" -c "import wandb, sys; sys.exit(wandb.__version__ != '$WANDB_VERSION')" 2>/dev/null; then
    echo "bench: installing wandb==$WANDB_VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "wandb==$WANDB_VERSION"
fi
bash "$ROOT/bench/setup_bases.sh"
