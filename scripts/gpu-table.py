#!/usr/bin/env python3
"""Joins the GL benchmark output and bench/pytorch_cuda.py's lines into the
markdown table of docs/gl-backend.md: same configs, same run.

Usage: gpu-table.py GL_BENCH_OUTPUT TORCH_OUTPUT
"""
import re
import sys

gl, torch = {}, {}
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"Benchmark(\S+?)(-\d+)?\s+\d+\s+(.*)", line)
    if not m:
        continue
    name, rest = m.group(1), m.group(3)
    for val, unit in re.findall(r"([\d.e+]+) (\S+)", rest):
        gl.setdefault(name, {})[unit] = float(val)
for line in open(sys.argv[2], encoding="utf-8"):
    p = line.split()
    if len(p) == 3 and p[0] == "torch":
        try:
            torch[p[1]] = float(p[2])
        except ValueError:
            pass

rows = [  # (label, GL benchmark, its metric, scale to ms, torch name)
    ("CIFAR-10 forward, batch 1", "GLForward/cifar10/batch=1", "ms/forward", 1, "cifar10/batch=1"),
    ("CIFAR-10 forward, batch 8", "GLForward/cifar10/batch=8", "ms/forward", 1, "cifar10/batch=8"),
    ("CIFAR-10 forward, batch 64", "GLForward/cifar10/batch=64", "ms/forward", 1, "cifar10/batch=64"),
    ("256² forward, batch 1", "GLForward/256/batch=1", "ms/forward", 1, "256/batch=1"),
    ("3×3 conv, 128 ch, 32×32", "Kernels/gl-tiled/conv3x3_128ch_32x32", "ms/op", 1, "conv3x3_128ch_32x32"),
    ("attention, 256 tokens × 256 ch", "Kernels/gl-tiled/attention_256tok_256ch", "ms/op", 1, "attention_256tok_256ch"),
    ("CIFAR-10 DDPM chain, 1000 steps", "GLChain/cifar10/ddpm1000", "s/chain", 1000, "cifar10/ddpm1000"),
    ("embedded model DDIM 50 chain", "GLChain/embedded/ddim50", "s/chain", 1000, None),
]
print("| case | GL (ms) | PyTorch CUDA eager (ms) | GL throughput / PyTorch's |")
print("| --- | --- | --- | --- |")
for label, name, unit, scale, tname in rows:
    g = gl.get(name, {}).get(unit)
    t = torch.get(tname) if tname else None
    gs = f"{g * scale:.2f}" if g is not None else "—"
    ts = f"{t:.2f}" if t is not None else "—"
    ratio = f"{t / (g * scale):.0%}" if g and t else "—"
    print(f"| {label} | {gs} | {ts} | {ratio} |")
