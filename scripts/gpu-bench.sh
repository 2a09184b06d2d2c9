#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: build, run the GL backend's conformance
# and golden tests on the GPU, and time the GL forward of the
# google/ddpm-cifar10-32 architecture against PyTorch's CUDA forward of the
# same config on the same card. Prints one summary block to paste into
# docs/gl-backend.md.
#
# Needs: Go, gcc, libgl-dev, the NVIDIA driver's libEGL (EGL_PLATFORM_DEVICE
# or surfaceless), and python3 with a CUDA torch for the yardstick.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-tags=migrated_fynedo
echo "== GPU"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
echo "== GL conformance and golden fixtures"
go test -count=1 -v -run 'KernelsAgainstReferences|GoldenFixturesOnGL|ChainMatchesTheCPU' ./render 2>&1 | grep -E '^(---|ok|FAIL)|GL:|max'
echo "== GL vs CPU forward, CIFAR-10 U-Net, batch 1"
go test -run '^$' -bench 'Forward' -benchtime 10x ./render 2>&1 | grep Benchmark
echo "== PyTorch CUDA forward, same config"
python3 - <<'PY' || echo "(no CUDA torch here)"
import importlib.util, statistics, sys, time
import torch
assert torch.cuda.is_available(), "no CUDA"
spec = importlib.util.spec_from_file_location("ref", "bench/pytorch_cifar10.py")
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)  # defines UNet; its __main__ block does not run
m = ref.UNet().eval().cuda()
x, t = torch.randn(1, 3, 32, 32, device="cuda"), torch.tensor([500], device="cuda")
with torch.no_grad():
    for _ in range(5): m(x, t)
    torch.cuda.synchronize()
    times = []
    for _ in range(50):
        s = time.perf_counter(); m(x, t); torch.cuda.synchronize(); times.append(time.perf_counter() - s)
med = statistics.median(times)
print(f"pytorch cuda: median {med*1e3:.2f} ms, best {min(times)*1e3:.2f} ms = {12.44/med:.0f} GFLOP/s")
PY
