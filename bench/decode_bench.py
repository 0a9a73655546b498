"""torchaudio reference for decode_bench: load + mono + resample, one thread.

Usage: decode_bench.py RATE FILE... ; prints "seconds <wall seconds> samples <total>".
Interpreter start-up and imports are not timed.
"""
import sys
import time

import torch
import torchaudio

torch.set_num_threads(1)
rate = int(sys.argv[1])
files = sys.argv[2:]
total = 0
start = time.perf_counter()
for f in files:
    wave, sr = torchaudio.load(f)
    mono = wave.mean(dim=0)
    if sr != rate:
        mono = torchaudio.functional.resample(mono, sr, rate)
    total += mono.numel()
print("seconds", time.perf_counter() - start, "samples", total)
