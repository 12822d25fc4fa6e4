#!/usr/bin/env bash
# The one command that makes the shipped embedded model (models/embedded_mini) from nothing:
# record the expert's training data, train the network, ship the last checkpoint.
#   bash scripts/reproduce_embedded_model.sh [WORKERS]
# Every stage resumes: a finished route is not recorded again, training continues from its last
# checkpoint. On this project's 2-core CPU: ~22-45 min of recording, ~50 + ~15 + ~20 + ~19 min of training.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${1:-2}"
bash scripts/bootstrap.sh
.venv/bin/automot collect --config configs/collect_embedded.yaml --generate 240 \
  --routes datasets/embedded_train_routes.xml --max-hours 2.3 --out datasets/embedded_train --workers "$WORKERS" \
  || echo "collect: some routes failed (the expert's failures are left out of the data)"
.venv/bin/automot train --config configs/train_embedded_mini.yaml --auto-resume            # stage 1
.venv/bin/automot train --config configs/train_embedded_mini_finetune.yaml --auto-resume   # stage 2: against inertia
.venv/bin/automot train --config configs/train_embedded_mini_no_speed.yaml --auto-resume   # stage 3: no ego speed
.venv/bin/automot train --config configs/train_embedded_mini_stage4.yaml --auto-resume     # stage 4: on, at a lower rate
.venv/bin/python -m training.ship --run runs/train_embedded_mini_stage4 --out models/embedded_mini
