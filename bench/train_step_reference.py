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
    def __init__(self, coefs=20):
        super().__init__()
        self.c1 = nn.Conv2d(1, 256, (4, coefs))
        self.b1 = nn.BatchNorm2d(256)
        self.c2 = nn.Conv2d(256, 256, (4, 1), padding=(2, 0))
        self.b2 = nn.BatchNorm2d(256)
        self.c3 = nn.Conv2d(256, 256, (4, 1), padding=(1, 0))
        self.b3 = nn.BatchNorm2d(256)

    def forward(self, x):  # (B, 1, 256, 20) -> (B, 1024)
        a = torch.relu(self.b1(self.c1(x)))
        y = torch.relu(self.b2(self.c2(a)))
        y = self.b3(self.c3(y))
        y = torch.relu(a + y)
        return torch.cat([nn.functional.max_pool2d(y, (125, 1), (125, 1)),
                          nn.functional.avg_pool2d(y, (125, 1), (125, 1))], 1).flatten(1)


def classifier(sizes, dropout):
    layers = []
    for i in range(len(sizes) - 2):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class Net(nn.Module):
    def __init__(self, family):
        super().__init__()
        self.family = family
        if family == "nnet1":
            self.e1 = Encoder1d()
            self.head = classifier([1024, 512, 128, 128, 64, 8], 0.0)
        elif family == "nnet2":
            self.e2 = Encoder2d()
            self.head = classifier([1024, 1024, 256, 64, 8], 0.1)
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
