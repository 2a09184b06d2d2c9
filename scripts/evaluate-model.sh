#!/usr/bin/env bash
# Evaluates a MNIST model folder the way assets/MODEL.md reports it: 500
# samples whose classes the seed chooses (--class any) at guidance 2 (the
# app's first Generate) and 1 (the model's own mixture), 500 unconditional
# (null-class) samples, and 50 per class at guidance 2 (DDIM 50, seed 7), each judged by
# `ddpmstudio evaluate` beside as many real held-out test digits. A training
# run's current weights are evaluated by exporting them first:
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
for g in 2 1; do
  "$bin" sample --model "$model" --class any --guidance "$g" --count 500 --batch 50 --sampler ddim --steps 50 --seed 7 --outdir "$EVAL/any$g" --quiet
done
"$bin" sample --model "$model" --count 500 --batch 50 --sampler ddim --steps 50 --seed 7 --outdir "$EVAL/uncond" --quiet
mkdir -p "$EVAL/cond"
for c in 0 1 2 3 4 5 6 7 8 9; do
  "$bin" sample --model "$model" --class "$c" --count 50 --batch 50 --sampler ddim --steps 50 --seed 7 --outdir "$EVAL/cond/class$c" --quiet
done
echo "== any class (the seed chooses), guidance 2"
"$bin" evaluate --samples "$EVAL/any2" ${nearest:+--nearest "$nearest"}
echo "== any class (the seed chooses), guidance 1"
"$bin" evaluate --samples "$EVAL/any1"
echo "== unconditional (the null class)"
"$bin" evaluate --samples "$EVAL/uncond"
echo "== per class, guidance 2"
"$bin" evaluate --samples "$EVAL/cond"
