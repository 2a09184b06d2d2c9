#!/usr/bin/env bash
# Side by side on this machine: the embedded model's config (the MNIST
# U-Net) in Go and in PyTorch 1.13, forward at batch 1 and the training step
# at batch 64, on one and two threads, rounds interleaved so that drift hits
# both alike. Prints every round and the medians; compare ratios.
# Needs Debian's python3-torch and libopenblas0-pthread for the PyTorch half
# (without OpenBLAS, torch falls back to the reference BLAS and is 5x slower).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--tags=migrated_fynedo}
rounds=${ROUNDS:-3}
bin=$(mktemp -d)/unet.test # run in unet/, as go test runs it: the benchmark reads ../train/configs
go test -c -o "$bin" ./unet
out=$(mktemp)
for r in $(seq "$rounds"); do
  (cd unet && "$bin" -test.run '^$' -test.bench 'MNISTForward$' -test.cpu 1,2 -test.benchtime 200x) |
    awk -v r="$r" '/ms\/forward/ { for (i=1;i<=NF;i++) if ($(i+1)=="ms/forward") print "go", $1, $i }' >> "$out"
  (cd unet && "$bin" -test.run '^$' -test.bench 'MNISTTrainStep$' -test.cpu 1,2 -test.benchtime 3x) |
    awk -v r="$r" '/ms\/step/ { for (i=1;i<=NF;i++) if ($(i+1)=="ms/step") print "go", $1, $i }' >> "$out"
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    for t in 1 2; do
      /usr/bin/python3 bench/pytorch_mnist.py "$t" 30 | awk -v t="$t" '
        /^forward/ { print "torch", "forward-threads=" t, $5 }
        /^train/   { print "torch", "trainstep-threads=" t, $6 }' >> "$out"
    done
  fi
done
sort "$out" | awk '{ k=$1" "$2; v[k]=v[k]" "$3 } END { for (k in v) print k ":" v[k] }' | sort
echo "medians:"
sort "$out" | awk '{ print $1" "$2, $3 }' | sort -k1,2 -k3n | awk '
  { k=$1" "$2; n[k]++; a[k,n[k]]=$3 } END { for (k in n) printf "%-40s %8.2f\n", k, a[k,int((n[k]+1)/2)] }' | sort
