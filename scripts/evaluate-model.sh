#!/usr/bin/env bash
# Evaluates a MNIST model folder the way assets/MODEL.md reports it: 500
# unconditional samples and 50 per class at guidance 2 (DDIM 50, seed 7),
# each judged by `ddpmstudio evaluate` beside as many real held-out test
# digits. A training run's current weights are evaluated by exporting them
# first:
#   ./ddpmstudio export --model runs/mnist-v2 --out /tmp/m && scripts/evaluate-model.sh /tmp/m
# Usage: scripts/evaluate-model.sh MODEL [NEAREST.png]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: scripts/evaluate-model.sh MODEL [NEAREST.png]}
nearest=${2:-}
bin=${BIN:-}
if [ -z "$bin" ]; then # no binary given: build this tree's
  bin=./ddpmstudio
  go build -o "$bin" .
fi
EVAL=$(mktemp -d)
trap 'rm -rf "$EVAL"' EXIT
"$bin" sample --model "$model" --count 500 --batch 50 --sampler ddim --steps 50 --seed 7 --outdir "$EVAL/uncond" --quiet
mkdir -p "$EVAL/cond"
for c in 0 1 2 3 4 5 6 7 8 9; do
  "$bin" sample --model "$model" --class "$c" --count 50 --batch 50 --sampler ddim --steps 50 --seed 7 --outdir "$EVAL/cond/class$c" --quiet
done
echo "== unconditional"
"$bin" evaluate --samples "$EVAL/uncond" ${nearest:+--nearest "$nearest"}
echo "== per class, guidance 2"
"$bin" evaluate --samples "$EVAL/cond"
