#!/usr/bin/env bash
# Remakes the embedded default model (assets/default/) and the figures of
# assets/MODEL.md from scratch: trains on MNIST, exports the EMA weights as
# F16, draws the class grid, and evaluates samples the way MODEL.md reports
# them (scripts/evaluate-model.sh). Re-running it after an interruption
# resumes the training from its last checkpoint.
# The defaults are the shipped model's run: a 12000-step schedule taken at
# step 9000. BATCH and EMA change a new run (a resumed run keeps the options
# it was started with). STOP_AT ends the training at that step, keeping the
# schedule STEPS sets: the model the run has there (resuming later with a
# larger STOP_AT, or STOP_AT=0, continues the same run).
#   RUN=runs/mnist STEPS=5500 BATCH=32 EMA=0.999 STOP_AT=0 scripts/remake-default-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-runs/mnist-v2}
STEPS=${STEPS:-12000}
BATCH=${BATCH:-64}
EMA=${EMA:-0.9995}
STOP_AT=${STOP_AT:-9000}
go build -o ddpmstudio .
if [ -f "$RUN/training_state.safetensors" ]; then
  ./ddpmstudio train --resume --out "$RUN" --steps "$STEPS" --batch "$BATCH" --stop-at "$STOP_AT"
else
  ./ddpmstudio train --data mnist --config train/configs/mnist-default.json --out "$RUN" --steps "$STEPS" --batch "$BATCH" --ema "$EMA" --seed 1 --stop-at "$STOP_AT"
fi
./ddpmstudio export --model "$RUN" --out assets/default --half
cp "$RUN/loss.png" assets/loss.png
./ddpmstudio classgrid --model assets/default --per-class 10 --steps 50 --guidance 2 --seed 1 --out assets/samples.png
BIN=./ddpmstudio scripts/evaluate-model.sh assets/default assets/nearest.png
