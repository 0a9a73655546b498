"""Independent checks of a generated dataset (called by make_fma_dataset_test.cc).

Reads tracks.csv with Python's csv module and prints one line per row:
    <id> <split> <subset> <genre or -> <number of fields>
With --separability, also decodes every usable small track with the ffmpeg CLI, computes
simple spectral statistics (log band energies, mean and std over frames) and prints the
test accuracy of a nearest-centroid classifier fit on the training split:
    accuracy <value>
"""
import csv
import subprocess
import sys

import numpy as np


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def features(path):
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ac", "1", "-ar",
                          "22050", "-f", "f32le", "-"], capture_output=True).stdout
    x = np.frombuffer(raw, dtype=np.float32)
    if len(x) < 65536:
        return None
    x = x[:65536]
    frames = x[: (len(x) // 1024) * 1024].reshape(-1, 1024) * np.hanning(1024)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.unique(np.geomspace(1, 512, 25).astype(int))
    bands = np.stack([power[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:])], axis=1)
    logb = np.log10(bands + 1e-10)
    return np.concatenate([logb.mean(axis=0), logb.std(axis=0)])


def main():
    csv_path = sys.argv[1]
    table = rows(csv_path)
    groups, names = table[0], table[1]
    col = {(g, n): i for i, (g, n) in enumerate(zip(groups, names))}
    split, subset, genre = col[("set", "split")], col[("set", "subset")], col[("track", "genre_top")]
    print("header", len(table[0]), len(table[1]), table[2][0])
    for r in table[3:]:
        print(r[0], r[split], r[subset], r[genre] or "-", len(r))
    if len(sys.argv) > 3 and sys.argv[3] == "--separability":
        audio_dir = sys.argv[2]
        data = {"training": ([], []), "test": ([], [])}
        for r in table[3:]:
            if r[subset] != "small" or r[split] not in data:
                continue
            tid = "%06d" % int(r[0])
            f = features("%s/%s/%s.mp3" % (audio_dir, tid[:3], tid))
            if f is None:
                continue
            data[r[split]][0].append(f)
            data[r[split]][1].append(r[genre])
        xs, ys = np.array(data["training"][0]), np.array(data["training"][1])
        mu, sd = xs.mean(axis=0), xs.std(axis=0) + 1e-9
        classes = sorted(set(ys))
        centroids = np.stack([((xs[ys == c] - mu) / sd).mean(axis=0) for c in classes])
        xt, yt = (np.array(data["test"][0]) - mu) / sd, np.array(data["test"][1])
        pred = [classes[i] for i in np.argmin(((xt[:, None, :] - centroids[None]) ** 2).sum(-1), 1)]
        print("accuracy", float(np.mean(np.array(pred) == yt)))


if __name__ == "__main__":
    main()
