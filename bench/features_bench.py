#!/usr/bin/python3
"""torchaudio reference for bench/features_bench.cc: clip -> log-Mel and clip -> MFCC,
configured as librosa (REFERENCE.md section 2), batched, per-clip top_db.

usage: features_bench.py --threads T --batch B --samples N --iterations K --sample-rate SR
Prints one JSON line: {"mel_clips_per_s": .., "mfcc_clips_per_s": ..}.
"""
import argparse
import json
import time

import torch
import torchaudio


def best_rate(fn, x, iterations, batch):
    fn(x)  # warm-up
    best = float("inf")
    for _ in range(iterations):
        start = time.perf_counter()
        fn(x)
        best = min(best, time.perf_counter() - start)
    return batch / best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--iterations", type=int, required=True)
    p.add_argument("--sample-rate", type=int, required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    mel_kwargs = dict(n_fft=2048, win_length=2048, hop_length=1024, f_min=0.0,
                      f_max=a.sample_rate / 2, n_mels=128, power=2.0, center=True,
                      pad_mode="constant", norm="slaney", mel_scale="slaney")
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=a.sample_rate, **mel_kwargs)
    to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80.0)
    mfcc = torchaudio.transforms.MFCC(sample_rate=a.sample_rate, n_mfcc=20, dct_type=2,
                                      norm="ortho", log_mels=False, melkwargs=mel_kwargs)
    g = torch.Generator().manual_seed(1)
    # (B, 1, N): top_db per clip, as the trainer does.
    x = torch.randn(a.batch, 1, a.samples, generator=g) * 0.1
    with torch.no_grad():
        out = {
            "mel_clips_per_s": best_rate(lambda c: to_db(mel(c))[:, 0, :, :256], x,
                                         a.iterations, a.batch),
            "mfcc_clips_per_s": best_rate(lambda c: mfcc(c)[:, 0, :, :256], x,
                                          a.iterations, a.batch),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
