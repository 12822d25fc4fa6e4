#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv.
# Idempotent: re-runs pip only when setup.py changed since the last bootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.automot-stamp
want=$(cat setup.py scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    # torch first and pinned: the local CPU wheel. Unpinned, pip would fetch a CUDA build.
    .venv/bin/python -m pip install -q "torch==2.13.0"
    .venv/bin/python -m pip install -q -e ".[dev,carla]"
    echo "$want" > "$stamp"
fi
