#!/usr/bin/python3
"""Reference for bench/train_step_bench.cc: one training step (forward, cross-entropy on
logits, backward, Adam step) of the paper's networks (REFERENCE.md section 1) in Debian's
python3-torch, same shapes and thread count as the C++ side.

  train_step_reference.py THREADS REPS FAMILY:BATCH [FAMILY:BATCH ...]

Prints one JSON object: {family: {"ms_per_step", "cpu_ms_per_step", "parameters"}}
(medians over REPS steps after two warm-up steps).
"""
import json
import sys
import time

import torch
from torch import nn


def conv1d_block():
    layers = []
    for cin, cout, k, s, pool in [(1, 64, 128, 32, 4), (64, 128, 32, 2, 2),
                                  (128, 256, 16, 2, 2), (256, 512, 8, 2, 1)]:
        layers += [nn.Conv1d(cin, cout, k, s, k // 2), nn.BatchNorm1d(cout), nn.ReLU()]
        if pool > 1:
            layers.append(nn.MaxPool1d(pool, pool))
    return nn.Sequential(*layers)


class Encoder1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = conv1d_block()

    def forward(self, x):  # (B, 1, N) -> (B, 1024)
        x = self.conv(x)
        w = 64
        return torch.cat([nn.functional.max_pool1d(x, w, w),
                          nn.functional.avg_pool1d(x, w, w)], 1).flatten(1)


class Encoder2d(nn.Module):
    """NNET2's residual encoder (docs/models.md): stem (kernel, coefs) -> BN -> ReLU, `blocks`
    residual blocks of two (kernel, 1) convolutions, max + avg head of 2 steps. The defaults
    are the paper's network on 2^18-sample clips (256 frames)."""

    def __init__(self, coefs=20, channels=256, kernel=4, blocks=1, frames=256):
        super().__init__()
        c, k = channels, kernel
        self.c1 = nn.Conv2d(1, c, (k, coefs))
        self.b1 = nn.BatchNorm2d(c)
        self.blocks = nn.ModuleList()
        for _ in range(blocks):
            self.blocks.append(nn.ModuleList([
                nn.Conv2d(c, c, (k, 1), padding=(k // 2, 0)), nn.BatchNorm2d(c),
                nn.Conv2d(c, c, (k, 1), padding=(k - 1 - k // 2, 0)), nn.BatchNorm2d(c)]))
        self.window = (frames - k + 1) // 2  # the head's window, as the C++ head computes it
        self.out_features = 2 * c * 2

    def forward(self, x):  # (B, 1, frames, coefs) -> (B, 4 * channels)
        x = torch.relu(self.b1(self.c1(x)))
        for ca, ba, cb, bb in self.blocks:
            y = torch.relu(ba(ca(x)))
            x = torch.relu(x + bb(cb(y)))
        w = (self.window, 1)
        return torch.cat([nn.functional.max_pool2d(x, w, w),
                          nn.functional.avg_pool2d(x, w, w)], 1).flatten(1)


def classifier(sizes, dropout):
    layers = []
    for i in range(len(sizes) - 2):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class Net(nn.Module):
    """The paper's networks; `dense` (hidden widths), `dropout` and `encoder2d` (Encoder2d's
    keyword arguments) override NNET2's preset, as mgr-train's hyperparameters do."""

    def __init__(self, family, dense=None, dropout=None, encoder2d=None):
        super().__init__()
        self.family = family
        if family == "nnet1":
            self.e1 = Encoder1d()
            self.head = classifier([1024, 512, 128, 128, 64, 8], 0.0)
        elif family == "nnet2":
            self.e2 = Encoder2d(**(encoder2d or {}))
            hidden = [1024, 256, 64] if dense is None else list(dense)
            self.head = classifier([self.e2.out_features] + hidden + [8],
                                   0.1 if dropout is None else dropout)
        else:
            self.e1 = Encoder1d()
            self.e2 = Encoder2d()
            self.head = classifier([2048, 512, 256, 128, 8], 0.1)

    def forward(self, audio, features):
        if self.family == "nnet1":
            return self.head(self.e1(audio))
        if self.family == "nnet2":
            return self.head(self.e2(features))
        return self.head(torch.cat([self.e1(audio), self.e2(features)], 1))


def init_xavier(net):
    """mgr-train's initialisation: Xavier-uniform Conv/Linear weights, zero biases."""
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


SETUP = {"nnet1": (1e-4, 0.005), "nnet2": (5e-5, 0.005), "mixnet": (5e-5, 0.0)}


def bench(family, batch, reps):
    torch.manual_seed(0)
    net = Net(family)
    net.train()
    lr, wd = SETUP[family]
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)
    audio = torch.randn(batch, 1, 262144) * 0.1
    features = torch.randn(batch, 1, 256, 20)
    labels = torch.randint(0, 8, (batch,))

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(audio, features), labels)
        loss.backward()
        opt.step()

    for _ in range(2):  # warm-up (allocator, oneDNN primitives)
        step()
    times, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times.sort()
    cpu.sort()
    return {"ms_per_step": 1000 * times[len(times) // 2],
            "cpu_ms_per_step": 1000 * cpu[len(cpu) // 2],
            "parameters": sum(p.numel() for p in net.parameters())}


def main():
    threads, reps = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    out = {}
    for arg in sys.argv[3:]:
        family, batch = arg.split(":")
        out[family] = bench(family, int(batch), reps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
