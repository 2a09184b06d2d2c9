#!/usr/bin/env bash
# Runs on the lent GPU machine (no Go there), from the repository root, with
# the test binaries built here by `scripts/gpu-device.sh build` in
# .build/gpu and the GL loader packages in .gl (see docs/gl-backend.md):
#   1. the conformance suite, every golden fixture and the chain test on
#      the GPU, with the EGL device and renderer printed;
#   2. auto's choice of backend;
#   3. the GL timings (forward at batch 1, 8, 64 and 256², kernels, chains);
#   4. PyTorch's CUDA eager forward of the same configs, in the same run;
# and writes logs and one table (gpu-table.md) to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = build ]; then # here, with cgo
  export GOFLAGS=${GOFLAGS:--tags=migrated_fynedo}
  mkdir -p .build/gpu
  go test -c -o .build/gpu/render.test ./render && go test -c -o .build/gpu/studio.test ./studio
  exit
fi
OUT=${OUT:-$(mktemp -d)}
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
vendor=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$vendor" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
echo "== 1. conformance, golden fixtures, chain on the GPU"
(cd render && ../.build/gpu/render.test -test.v -test.count 1 \
  -test.run 'KernelsAgainstReferences|GoldenFixturesOnGL|ChainMatchesTheCPU|UnknownVariantRefused') 2>&1 | tee "$OUT/conformance.log" |
  grep -E '^(--- |ok|FAIL|PASS)|GL:|max|differs|golden' | head -60
echo "== 2. auto"
(cd studio && ../.build/gpu/studio.test -test.v -test.run 'TestAutoPicksHardwareGL') 2>&1 | tee "$OUT/auto.log" | grep -E 'renderer|---|ok|FAIL'
echo "== 3. GL timings"
(cd render && ../.build/gpu/render.test -test.run '^$' -test.bench 'GLForward|Kernels' -test.benchtime 20x &&
 ../.build/gpu/render.test -test.run '^$' -test.bench 'GLChain' -test.benchtime 1x) 2>&1 | tee "$OUT/gl-bench.txt" | grep -E '^Benchmark|GL:'
echo "== 4. PyTorch CUDA"
python3 bench/pytorch_cuda.py 2>&1 | tee "$OUT/torch.txt"
python3 scripts/gpu-table.py "$OUT/gl-bench.txt" "$OUT/torch.txt" | tee "$OUT/gpu-table.md"
