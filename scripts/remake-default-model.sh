#!/usr/bin/env bash
# Remakes the embedded default model (assets/default/) and the figures of
# assets/MODEL.md from scratch: trains on MNIST, exports the EMA weights as
# F16, draws the class grid, and evaluates 500 unconditional and 500
# class-conditional samples. Re-running it after an interruption resumes
# the training from its last checkpoint.
# The defaults are the shipped model's run; BATCH and EMA change a new run
# (a resumed run keeps the options it was started with).
#   RUN=runs/mnist STEPS=5500 scripts/remake-default-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-runs/mnist}
STEPS=${STEPS:-5500}
BATCH=${BATCH:-32}
EMA=${EMA:-0.999}
go build -o ddpmstudio .
if [ -f "$RUN/training_state.safetensors" ]; then
  ./ddpmstudio train --resume --out "$RUN" --steps "$STEPS" --batch "$BATCH"
else
  ./ddpmstudio train --data mnist --config train/configs/mnist-default.json --out "$RUN" --steps "$STEPS" --batch "$BATCH" --ema "$EMA" --seed 1
fi
./ddpmstudio export --model "$RUN" --out assets/default --half
cp "$RUN/loss.png" assets/loss.png
./ddpmstudio classgrid --model assets/default --per-class 10 --steps 50 --guidance 2 --seed 1 --out assets/samples.png
BIN=./ddpmstudio scripts/evaluate-model.sh assets/default assets/nearest.png
