#!/usr/bin/env python3
"""Read a DDPM Studio trajectory (`ddpmstudio sample --trajectory`, or the
window's Save chain...) with nothing but the standard library, and print a
summary as JSON: what a notebook sees, checked by the Go tests.

In a notebook, `safetensors.numpy.load_file(path)` gives the same arrays:
x [steps+1, N, C, H, W], x0_pred and eps [steps, N, C, H, W] (NaN on
RePaint's re-noising events), timesteps [steps+1] (the t of each x; -1
for the final sample) and next [steps] (int64); the
recipe is `safe_open(path, "np").metadata()["recipe"]`.
"""
import array
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        lo, hi = info["data_offsets"]
        code = {"F32": "f", "I64": "q"}[info["dtype"]]
        a = array.array(code)
        a.frombytes(body[lo:hi])
        if sys.byteorder != "little":
            a.byteswap()
        tensors[name] = (info["shape"], a)
    return meta, tensors


def main():
    meta, t = read(sys.argv[1])
    recipe = json.loads(meta["recipe"])
    xs, x = t["x"]
    per = 1
    for d in xs[1:]:
        per *= d
    summary = {
        "format": meta.get("format"),
        "seed": recipe["seed"],
        "sampler": recipe["sampler"],
        "shapes": {k: v[0] for k, v in t.items()},
        "timesteps": list(t["timesteps"][1]),
        "x_first": x[0],
        "x_last_sum": sum(x[(xs[0] - 1) * per :]),
    }
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
