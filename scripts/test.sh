#!/usr/bin/env bash
# The project's test command: bootstrap the environment, lint, run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
