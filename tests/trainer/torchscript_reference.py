#!/usr/bin/python3
"""Independent reference for exported models: Debian's python3-torch opens model.pt.

  logits MODEL INPUT.f32 BATCH SAMPLES OUTPUT.f32
      torch.jit.load MODEL (reading the mgr-model.json extra file), runs forward on the
      float32 array INPUT (BATCH x SAMPLES), writes the logits as float32 and prints the
      metadata and the parameter names as one JSON line.
  predict MODEL HOP_SAMPLES WAV...
      Reads 16-bit PCM mono WAV files with the standard library (at the model's rate),
      cuts windows of clip_samples every HOP_SAMPLES (one zero-padded window for a short
      file), averages softmax(logits) and prints {file: [probabilities]} as JSON.
"""
import json
import sys
import wave

import numpy as np
import torch


def load(path):
    extra = {"mgr-model.json": ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=extra)
    module.eval()
    return module, json.loads(extra["mgr-model.json"])


def logits(model_path, input_path, batch, samples, output_path):
    module, meta = load(model_path)
    x = np.fromfile(input_path, dtype=np.float32).reshape(int(batch), int(samples))
    with torch.no_grad():
        y = module(torch.from_numpy(x))
    y.numpy().astype(np.float32).tofile(output_path)
    names = [name for name, _ in module.named_parameters()]
    buffers = [name for name, _ in module.named_buffers()]
    print(json.dumps({"metadata": meta, "parameters": names, "buffers": buffers,
                      "shape": list(y.shape)}))


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return w.getframerate(), data.astype(np.float32) / 32768.0


def predict(model_path, hop, wavs):
    module, meta = load(model_path)
    clip = int(meta["clip_samples"])
    hop = int(hop)
    out = {}
    for path in wavs:
        rate, audio = read_wav(path)
        assert rate == meta["sample_rate"], (rate, meta["sample_rate"])
        if len(audio) < clip:
            windows = [np.concatenate([audio, np.zeros(clip - len(audio), np.float32)])]
        else:
            windows = [audio[s:s + clip] for s in range(0, len(audio) - clip + 1, hop)]
        with torch.no_grad():
            probs = torch.softmax(module(torch.from_numpy(np.stack(windows))), dim=1)
        out[path] = probs.mean(dim=0).tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "logits":
        logits(*sys.argv[2:7])
    elif sys.argv[1] == "predict":
        predict(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit("unknown mode " + sys.argv[1])
