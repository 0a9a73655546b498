#!/usr/bin/python3
"""Reference log-Mel and MFCC features from Debian's python3-torchaudio, configured as
librosa >= 0.9 (REFERENCE.md section 2). Test-only: features_test.cc writes clips with
mgr's WriteNpy, runs this script and compares.

usage: torchaudio_reference.py CLIPS.npy MEL_OUT.npy MFCC_OUT.npy --sample-rate SR
           [--dtype float32|float64] [--n-mfcc 20] [--top-db 80]

CLIPS.npy holds (B, N) clips. Outputs hold ALL STFT frames, frames first:
(B, T, n_mels) dB and (B, T, n_mfcc).
"""
import argparse

import numpy as np
import torch
import torchaudio


def transforms(sample_rate, n_mfcc, top_db, n_mels=128):
    mel_kwargs = dict(n_fft=2048, win_length=2048, hop_length=1024, f_min=0.0,
                      f_max=sample_rate / 2, n_mels=n_mels, power=2.0, center=True,
                      pad_mode="constant", norm="slaney", mel_scale="slaney")
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=sample_rate, **mel_kwargs)
    to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=top_db)
    mfcc = torchaudio.transforms.MFCC(sample_rate=sample_rate, n_mfcc=n_mfcc, dct_type=2,
                                      norm="ortho", log_mels=False, melkwargs=mel_kwargs)
    mfcc.amplitude_to_DB = to_db
    return mel, to_db, mfcc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("clips")
    parser.add_argument("mel_out")
    parser.add_argument("mfcc_out")
    parser.add_argument("--sample-rate", type=int, required=True)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--n-mfcc", type=int, default=20)
    parser.add_argument("--n-mels", type=int, default=128)
    parser.add_argument("--top-db", type=float, default=80.0)
    args = parser.parse_args()

    dtype = getattr(torch, args.dtype)
    # torchaudio builds its filterbank with torch.linspace in the default dtype; in float32
    # that alone moves bands near a triangle's foot by ~1e-3 dB. float64 is the exact one.
    torch.set_default_dtype(dtype)
    clips = torch.from_numpy(np.load(args.clips)).to(dtype)
    assert clips.dim() == 2, clips.shape
    mel, to_db, mfcc = transforms(args.sample_rate, args.n_mfcc, args.top_db, args.n_mels)
    mel, mfcc = mel.to(dtype), mfcc.to(dtype)
    # (B, 1, N): AmplitudeToDB takes its top_db maximum per (batch, channel) item only for
    # 4D input; a 3D (B, mels, T) input would share one maximum across the batch.
    with torch.no_grad():
        x = clips.unsqueeze(1)
        db = to_db(mel(x))[:, 0]          # (B, n_mels, T)
        coefficients = mfcc(x)[:, 0]      # (B, n_mfcc, T)
    np.save(args.mel_out, db.transpose(1, 2).contiguous().numpy())
    np.save(args.mfcc_out, coefficients.transpose(1, 2).contiguous().numpy())


if __name__ == "__main__":
    main()
