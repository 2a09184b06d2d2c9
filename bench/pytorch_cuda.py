"""PyTorch's CUDA eager forward of the configs the GL benchmarks time
(render/bench_test.go), on the same card in the same run: the yardstick of
docs/gl-backend.md. The U-Net is bench/pytorch_cifar10.py's (diffusers'
UNet2DModel in plain torch.nn), random weights, float32 with TF32 off (the GL
backend computes in plain float32). Prints one line per case:
"torch NAME MS" (milliseconds, median of timed runs, CUDA events).

Usage: python3 bench/pytorch_cuda.py
"""
import importlib.util
import os
import statistics

import torch
import torch.nn.functional as F

assert torch.cuda.is_available(), "no CUDA device"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True
spec = importlib.util.spec_from_file_location("ref", os.path.join(os.path.dirname(__file__), "pytorch_cifar10.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)  # defines UNet; its __main__ block does not run
dev = "cuda"


def time_ms(f, warm=5, runs=20):
    with torch.no_grad():
        for _ in range(warm):
            f()
        torch.cuda.synchronize()
        ts = []
        for _ in range(runs):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            f()
            b.record()
            torch.cuda.synchronize()
            ts.append(a.elapsed_time(b))
    return statistics.median(ts)


print("torch device", torch.cuda.get_device_name(0), "torch", torch.__version__)
cifar = ref.UNet().eval().to(dev)
for n in (1, 8, 64):
    x, t = torch.randn(n, 3, 32, 32, device=dev), torch.full((n,), 500, device=dev)
    print(f"torch cifar10/batch={n} {time_ms(lambda: cifar(x, t)):.3f}")
x1, t1 = torch.randn(1, 3, 32, 32, device=dev), torch.tensor([500], device=dev)


def chain():  # 1000 forwards at batch 1, each step's update on the device
    x = x1
    for k in range(1000):
        x = x - 0.001 * cifar(x, t1)
    return x


print(f"torch cifar10/ddpm1000 {time_ms(chain, warm=1, runs=3):.3f}")
del cifar
big = ref.UNet(ch=(128, 128, 256, 256, 512, 512), attn=(False, False, False, False, True, False)).eval().to(dev)
x, t = torch.randn(1, 3, 256, 256, device=dev), torch.tensor([500], device=dev)
print(f"torch 256/batch=1 {time_ms(lambda: big(x, t), runs=10):.3f}")
del big
conv = torch.nn.Conv2d(128, 128, 3, padding=1).to(dev)
xc = torch.randn(1, 128, 32, 32, device=dev)
print(f"torch conv3x3_128ch_32x32 {time_ms(lambda: conv(xc)):.3f}")
q = torch.randn(1, 256, 256, device=dev)  # 256 tokens × 256 channels, one head
print(f"torch attention_256tok_256ch {time_ms(lambda: torch.softmax(q @ q.transpose(1, 2) * 0.0625, -1) @ q):.3f}")
