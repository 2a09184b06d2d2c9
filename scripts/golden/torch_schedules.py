#!/usr/bin/env python3
"""Write β and ᾱ schedules as diffusers 0.31 builds them, computed by PyTorch.

diffusers' schedulers build their schedule with a handful of PyTorch float32
operations (DDPMScheduler.__init__, identical in DDIM and RePaint); this
script performs exactly those operations on PyTorch's CPU kernels, so the
output is the float32 tensors a diffusers scheduler holds, for schedule kinds,
lengths and β ranges that the original fixtures do not cover (sigmoid among
them).  It needs only torch (Debian: apt-get install python3-torch); diffusers
itself is not needed because these lines are all its schedule code does.

Usage: torch_schedules.py OUT.safetensors [KIND:T:BETA_START:BETA_END ...]
Without specs a default set is written.  The file's metadata key "schedules"
maps each key to its settings; "torch" records the version and CPU capability.
"""
import json
import math
import struct
import sys

import torch


def betas_for_alpha_bar(T, max_beta=0.999):
    def abar(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    return torch.tensor([min(1 - abar((i + 1) / T) / abar(i / T), max_beta) for i in range(T)], dtype=torch.float32)


def schedule(kind, T, b0, b1):
    if kind == "linear":
        betas = torch.linspace(b0, b1, T, dtype=torch.float32)
    elif kind == "scaled_linear":
        betas = torch.linspace(b0 ** 0.5, b1 ** 0.5, T, dtype=torch.float32) ** 2
    elif kind == "squaredcos_cap_v2":
        betas = betas_for_alpha_bar(T)
    elif kind == "sigmoid":
        betas = torch.linspace(-6, 6, T)
        betas = torch.sigmoid(betas) * (b1 - b0) + b0
    else:
        raise SystemExit(f"unknown kind {kind}")
    alphas = 1.0 - betas
    return betas, torch.cumprod(alphas, dim=0)


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-(8 + len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


DEFAULT = [
    "linear:1000:0.0001:0.02", "linear:50:0.0001:0.02", "linear:4000:0.00085:0.012", "linear:17:0.001:0.2",
    "scaled_linear:1000:0.00085:0.012", "scaled_linear:333:0.0001:0.02",
    "squaredcos_cap_v2:1000:0.0001:0.02", "squaredcos_cap_v2:77:0.0001:0.02", "squaredcos_cap_v2:4000:0.0001:0.02",
    "sigmoid:1000:0.0001:0.02", "sigmoid:123:0.0003:0.035", "sigmoid:2000:0.0001:0.02",
]


def main():
    out, specs = sys.argv[1], sys.argv[2:] or DEFAULT
    tensors, meta = {}, {}
    for i, spec in enumerate(specs):
        kind, T, b0, b1 = spec.split(":")
        T, b0, b1 = int(T), float(b0), float(b1)
        key = f"s{i:03d}_{kind}_T{T}"
        betas, abar = schedule(kind, T, b0, b1)
        tensors[key + ".betas"], tensors[key + ".alphas_cumprod"] = betas, abar
        meta[key] = {"beta_schedule": kind, "num_train_timesteps": T, "beta_start": b0, "beta_end": b1}
    cap = torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "see torch.__config__"
    write_safetensors(out, tensors, {"schedules": json.dumps(meta, sort_keys=True),
                                     "torch": f"{torch.__version__} ({cap})",
                                     "made_by": "scripts/golden/torch_schedules.py"})


if __name__ == "__main__":
    main()
