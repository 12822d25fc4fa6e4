#!/usr/bin/env bash
# The project's main job on the embedded default: bootstrap the environment, then a
# closed-loop evaluation of the agent driven by the network this project trained
# (configs/agent_embedded.yaml -> models/embedded_mini) on the embedded quick route set
# (5 routes, one per Bench2Drive ability), scored as Bench2Drive scores. Running it again
# resumes (finished routes are skipped); extra arguments go to `automot sim` (e.g. --video).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/automot sim --routes bench2drive_routes/embedded_quick.xml --agent automot \
  --config configs/agent_embedded.yaml --out runs/sim_quick "$@"
