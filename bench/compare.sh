#!/usr/bin/env bash
# Side-by-side CPU speed of the CIFAR-10 U-Net forward (batch 1): the Go
# backend before (gonum's Sgemm) and after (packed AVX kernels), on one and
# two threads, and PyTorch 1.13 on this machine when Debian's python3-torch
# is installed (apt-get install python3-torch libopenblas0-pthread).
# Prints medians of several runs; compare ratios, not absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
go test ./unet -run '^$' -bench 'CIFAR10Forward/(gonum|sgemm-avx512|sgemm-avx2)/batch=1$' -benchtime 3x -count "$runs" -cpu 1,2 \
  | grep -E '^Benchmark' | awk '{ for (i=1;i<=NF;i++) if ($(i+1)=="ms/forward") print $1, $i }' > /tmp/ddpm-bench.txt
for name in $(cut -d' ' -f1 /tmp/ddpm-bench.txt | sort -u); do
  grep "^$name " /tmp/ddpm-bench.txt | cut -d' ' -f2 | sort -n | awk -v n="$name" '
    { a[NR]=$1 } END { m=a[int((NR+1)/2)]; printf "%-50s median %7.1f ms  %6.1f GFLOP/s  (%d runs)\n", n, m, 12.44/m*1000, NR }'
done
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  for t in 1 2; do /usr/bin/python3 bench/pytorch_cifar10.py "$t" 15 | tail -1 | sed 's/^/PyTorch 1.13 /'; done
fi
