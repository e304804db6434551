#!/usr/bin/env python3
"""Masks the numbers in scripts/capture-outputs.sh's files so that two runs (two builds)
can be diffed: what must not change is every metric name, label, HELP/TYPE line, JSON key
and type, and CLI column and row, not the counts, which move with timing.
usage: mask-outputs.py IN_DIR OUT_DIR"""
import json, os, re, sys

def mask_json(v):
    if isinstance(v, bool): return v
    if isinstance(v, int): return "<int>"
    if isinstance(v, float): return "<float>"
    if isinstance(v, dict): return {k: mask_json(x) for k, x in v.items()}
    if isinstance(v, list): return [mask_json(x) for x in v]
    if isinstance(v, str): return re.sub(r"\d+", "N", v)
    return v

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    # the capture's temporary folder differs from run to run
    text = re.sub(r"/tmp/ivs-capture\.[A-Za-z0-9]+", "/tmp/ivs-capture.WORK", open(os.path.join(src, name)).read())
    if name.endswith(".json"):
        try: out = json.dumps(mask_json(json.loads(text)), indent=1, sort_keys=False) + "\n"
        except ValueError: out = text
    else:
        # numbers (also 1.5e+06, 12.3) to N; runs of spaces to one (column widths follow the numbers)
        out = re.sub(r"[0-9][0-9.e+-]*", "N", text)
        out = re.sub(r" +", " ", out)
        out = re.sub(r"-{2,}", "--", out)
    open(os.path.join(dst, name), "w").write(out)
