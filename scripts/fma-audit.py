#!/usr/bin/env python3
"""Lists the fused multiply-adds the Go compiler made in our code for arm64.

Go may fuse x*y+z into one instruction on arm64 (not on amd64); the
canonical arithmetic (docs/determinism.md) allows a fused multiply-add
only where it names one. Reads `go tool objdump` of an arm64 binary on
stdin; prints each fused instruction inside a function of this module
(file:line, function, instruction), and exits 1 if any lies outside the
functions allowed below.
"""
import re
import sys

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A fused instruction is allowed where its source line asks for one:
# math.FMA (exact everywhere) or detmath.FMA32 (the canonical float32 one).
ASKED = ("math.FMA(", "FMA32(", "FMA32Fast(")
_lines = {}


def source_line(where):
    """The text of file:line, looked up among this module's .go files."""
    name, _, num = where.rpartition(":")
    if name not in _lines:
        _lines[name] = []
        for d, _, files in os.walk(ROOT):
            if name in files:
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    _lines[name].append(f.read().splitlines())
    return [ls[int(num) - 1] for ls in _lines[name] if int(num) <= len(ls)]
MODULE = "github.com/ddpmstudio/ddpmstudio/"
fused = re.compile(r"\s(FMADD|FMSUB|FNMADD|FNMSUB)[SD]\s|\sVFML[AS]\s")
func = None
bad = 0
seen = set()
for line in sys.stdin:
    if line.startswith("TEXT "):
        func = line.split()[1].rsplit("(", 1)[0]
        continue
    if func and func.startswith(MODULE) and "fma_arm64.go:" in line and re.search(r"\sF(MUL|ADD)S\s", line):
        # detmath's arm64 FMA32 must compile to one FMADDS wherever inlined.
        print("UNFUSED " + line.split()[0] + "  " + func[len(MODULE):])
        bad += 1
    if func and func.startswith(MODULE) and fused.search(line):
        where = line.split()[0]
        key = (func, where)
        if key in seen:
            continue
        seen.add(key)
        ok = any(a in t for t in source_line(where) for a in ASKED)
        instr = [f for f in line.strip().split("\t") if f.strip()][-1].strip()
        print(("allowed " if ok else "FUSED   ") + where + "  " + func[len(MODULE):] + "  " + instr)
        bad += 0 if ok else 1
print(f"{bad} fused multiply-add(s) outside the canonical ones", file=sys.stderr)
sys.exit(1 if bad else 0)
