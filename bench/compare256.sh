#!/usr/bin/env bash
# Side-by-side CPU speed of the 256² U-Net forward at batch 1 (the
# google/ddpm-celebahq-256 architecture, bench/configs/ddpm-256.config.json,
# 497 GFLOP): the Go backend (BenchmarkForward256) and PyTorch 1.13 on the
# same cores, interleaved round by round so that both see the same machine
# (shared machines drift by ±20% from minute to minute). Prints each
# round's times and the ratio Go/PyTorch; compare ratios, not absolutes.
# Needs Debian's python3-torch for the PyTorch half.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
go test -c -o /tmp/ddpm-unet.test ./unet
for r in $(seq "$rounds"); do
  go_ms=$(cd unet && /tmp/ddpm-unet.test -test.run '^$' -test.bench 'BenchmarkForward256$' -test.benchtime 3x -test.cpu "$threads" \
    | awk '/^BenchmarkForward256/ { for (i=1;i<=NF;i++) if ($(i+1)=="ms/forward") print $i }')
  py_ms=$(/usr/bin/python3 bench/pytorch_cifar10.py "$threads" 3 256 | tail -1 | sed -E 's/.*median ([0-9.]+) ms.*/\1/')
  awk -v r="$r" -v g="$go_ms" -v p="$py_ms" 'BEGIN { printf "round %d: Go %.0f ms (%.0f GFLOP/s)  PyTorch %.0f ms  Go/PyTorch %.3f\n", r, g, 497.0/g*1000, p, g/p }'
done
