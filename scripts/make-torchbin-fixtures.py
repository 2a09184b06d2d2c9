#!/usr/bin/python3
"""Writes testdata/torchbin: PyTorch's own torch.save of the golden U-Nets'
state dicts (Debian's python3-torch), in float32, float16 and bfloat16,
so the Go reader is checked against files PyTorch made, not against
itself. Usage: /usr/bin/python3 scripts/make-torchbin-fixtures.py
"""
import collections
import json
import os
import struct
import sys

import torch

DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n :]
    out = collections.OrderedDict()
    for name in sorted(header):
        info = header[name]
        lo, hi = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[lo:hi]), dtype=DT[info["dtype"]]).reshape(info["shape"])
        out[name] = t.clone()
    return out


def main():
    out = "testdata/torchbin"
    os.makedirs(out, exist_ok=True)
    for model in ["tiny_gray16", "scaleshift_class16"]:
        sd = read_safetensors(f"testdata/golden/unet/{model}/diffusion_pytorch_model.safetensors")
        for suffix, dt in [("", torch.float32), (".fp16", torch.float16), (".bf16", torch.bfloat16)]:
            if model != "tiny_gray16" and suffix:
                continue
            d = collections.OrderedDict((k, v.to(dt)) for k, v in sd.items())
            torch.save(d, f"{out}/{model}{suffix}.bin")
    print("torch", torch.__version__, file=sys.stderr)


if __name__ == "__main__":
    main()
