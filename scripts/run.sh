#!/usr/bin/env bash
# The project's main job on the embedded default: bootstrap the environment and
# drive the default agent through the leaderboard loop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/automot smoke "$@"
