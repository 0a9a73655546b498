#!/usr/bin/python3
"""The Python side of bench/race.sh: the study mgr-tune just ran, re-run the way the seed
paper's stack runs it (Optuna + PyTorch + torchaudio), trial for trial.

Stack choices (what a Lightning + Optuna user on one machine does):
- one process, `study.optimize(objective, n_jobs=WORKERS)`: Optuna's threads run the
  trials, torch uses THREADS intra-op threads (mgr-tune: WORKERS worker processes with
  `threads_per_worker` threads each);
- audio decoded with torchaudio.load (sox_io reads the demo MP3s; where torchaudio cannot,
  TorchCodec, soundfile or the ffmpeg CLI as librosa's audioread runs it) in a process pool
  over all cores, mono mean, resampled with torchaudio.functional.resample,
  kept in memory (mgr-tune decodes once into its clip cache; the paper's code decoded with
  librosa inside the Dataset at every access, which would be slower still);
- features on the device with torchaudio's MFCC configured as docs/features.md says,
  per-clip standardisation and the paper's spectrogram augmentation, batched;
- the network from bench/train_step_reference.py (NNET2, generalised to the tuned sizes),
  Xavier init, Adam with L2 weight decay, cross-entropy on logits;
- per epoch: train, validate (fixed windows), `trial.report(val_loss, epoch)`,
  `should_prune`; the objective is the best val_loss; best weights kept in memory;
- one Optuna study per playbook stage, in memory (Optuna 3.1's RDB storage on SQLite hands
  one enqueued trial to both n_jobs threads: "Cannot tell a COMPLETE trial");
  every trial mgr-tune ran (read from its store) is enqueued with the same parameters
  (`enqueue_trial`), the rest of its configuration (fixed + incumbent) comes from the
  trial's `hparams` user attribute;
- at the end, the incumbent mgr-tune chose is evaluated on the test split (mid-track
  windows) with the best weights of the same trial here.

Runs on python3-optuna 3.1 / torch 1.13 / torchaudio 0.13 and on optuna 4 / torch 2.

  race_reference.py --study STUDY.json --mgr-store MGR.db --device cpu|cuda
                    [--workers 2] [--threads 1] [--storage URL] --out OUT.json
"""
import argparse
import csv
import datetime
import json
import math
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402
import optuna  # noqa: E402
import torch  # noqa: E402
import torchaudio  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_step_reference as ref  # noqa: E402

T_IMPORTED = time.perf_counter()

SPLITS = {"training": 0, "validation": 1, "test": 2}
NNET2_DENSE = [1024, 256, 64]  # docs/hyperparameters.md, the paper's preset
DEFAULTS = {"lr": 5e-5, "weight_decay": 0.005, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
            "batch_size": 64, "max_epochs": 100, "patience": 20, "min_delta": 0.01,
            "res_channels": 256, "res_kernel": 4, "res_blocks": 1, "dense_layers": 3,
            "dropout": 0.1, "aug_spec_time_p": 0.5, "aug_spec_coef_p": 0.5,
            "aug_spec_noise_p": 0.5, "standardize": True}


# ---- Data: FMA metadata, decoding

def read_tracks(metadata, audio_dir, subset):
    """(track_id, split, genre, path) of the subset's usable rows (FMA's 3 header lines)."""
    nested = {"small": ["small"], "medium": ["small", "medium"],
              "large": ["small", "medium", "large"]}[subset]
    with open(metadata, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        groups, names, _ = next(rows), next(rows), next(rows)
        col = {(g, n): i for i, (g, n) in enumerate(zip(groups, names))}
        c_split, c_subset = col[("set", "split")], col[("set", "subset")]
        c_genre = col[("track", "genre_top")]
        out = []
        for r in rows:
            if len(r) <= max(c_split, c_subset, c_genre) or not r[c_genre]:
                continue
            if r[c_split] not in SPLITS or r[c_subset] not in nested:
                continue
            tid = "%06d" % int(r[0])
            path = os.path.join(audio_dir, tid[:3], tid + ".mp3")
            if os.path.exists(path):
                out.append((int(r[0]), r[c_split], r[c_genre], path))
    return out


def load_torchaudio(path):
    wave, sr = torchaudio.load(path)
    return wave, sr


def load_ffmpeg(path):
    """The ffmpeg CLI, as librosa's audioread backend runs it (native rate, all channels)."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                            "stream=sample_rate,channels", "-of", "csv=p=0", path],
                           capture_output=True, text=True, check=True).stdout.split(",")
    sr, channels = int(probe[0]), int(probe[1])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    wave = torch.from_numpy(np.frombuffer(raw, dtype=np.float32).copy())
    return wave.view(-1, channels).t(), sr


def load_torchcodec(path):
    from torchcodec.decoders import AudioDecoder  # torchaudio >= 2.9 loads through it
    samples = AudioDecoder(path).get_all_samples()
    return samples.data, int(samples.sample_rate)


def load_soundfile(path):
    import soundfile  # libsndfile >= 1.1 reads MP3
    wave, sr = soundfile.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(wave.T.copy()), sr


LOADERS = {"torchaudio": load_torchaudio, "torchcodec": load_torchcodec,
           "soundfile": load_soundfile, "ffmpeg": load_ffmpeg}


def pick_decoder(probe_path):
    """The first loader that decodes `probe_path`: torchaudio.load (torchaudio < 2.9 reads
    MP3 with sox_io/ffmpeg), TorchCodec (where newer torchaudio moved loading), soundfile,
    then the ffmpeg CLI as librosa's audioread runs it."""
    for name, load in LOADERS.items():
        if name == "ffmpeg" and not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
            continue
        try:
            if load(probe_path)[0].numel() > 0:
                return name
        except Exception:  # noqa: BLE001  (not installed or cannot read MP3)
            pass
    raise SystemExit("race_reference.py: cannot decode %s: torchaudio %s cannot load it and "
                     "there is no TorchCodec, soundfile or ffmpeg CLI that can"
                     % (probe_path, torchaudio.__version__))


def decode(args):
    """Mono float32 (mean of the channels) at `rate`, or None when the file cannot be
    decoded (broken files are skipped, as mgr-train prepare does)."""
    path, rate, decoder = args
    torch.set_num_threads(1)
    try:
        wave, sr = LOADERS[decoder](path)
    except Exception:  # noqa: BLE001
        return None
    if wave.numel() == 0:
        return None
    wave = wave.mean(0)
    if sr != rate:
        wave = torchaudio.functional.resample(wave, sr, rate)
    return wave.numpy()


def load_dataset(ds, base, processes):
    """Decodes every track once (process pool); drops tracks shorter than a clip."""
    metadata = os.path.join(base, ds["metadata"])
    audio_dir = os.path.join(base, ds["audio_dir"])
    rate, clip = ds.get("sample_rate", 22050), ds.get("clip_samples", 262144)
    tracks = read_tracks(metadata, audio_dir, ds.get("subset", "small"))
    classes = sorted({t[2] for t in tracks})
    decoder = pick_decoder(tracks[0][3])
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        waves = pool.map(decode, [(t[3], rate, decoder) for t in tracks], chunksize=4)
    split = {s: ([], []) for s in SPLITS}
    skipped = 0
    for (tid, s, genre, _), w in zip(tracks, waves):
        if w is None or len(w) < clip:
            skipped += 1
            continue
        split[s][0].append(w)
        split[s][1].append(classes.index(genre))
    return split, classes, skipped, decoder


# ---- mgr-tune's store: the trials to enqueue

def read_mgr_store(path, study_name, stages):
    """Per stage: the trials mgr-tune ran (number, state, hparams, params with
    distributions, value, epochs) and the stage's decision / incumbent attributes."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    out = []
    for stage in stages:
        row = db.execute("SELECT study_id FROM studies WHERE study_name = ?",
                         ("%s/%s" % (study_name, stage),)).fetchone()
        if row is None:
            raise SystemExit("%s: no study %s/%s" % (path, study_name, stage))
        sid = row[0]
        attrs = {k: json.loads(v) for k, v in db.execute(
            "SELECT key, value_json FROM study_user_attributes WHERE study_id = ?", (sid,))}
        trials = []
        for tid, number, state in db.execute(
                "SELECT trial_id, number, state FROM trials WHERE study_id = ? ORDER BY number",
                (sid,)).fetchall():
            ua = {k: json.loads(v) for k, v in db.execute(
                "SELECT key, value_json FROM trial_user_attributes WHERE trial_id = ?", (tid,))}
            params = {n: (v, json.loads(d)) for n, v, d in db.execute(
                "SELECT param_name, param_value, distribution_json FROM trial_params "
                "WHERE trial_id = ?", (tid,))}
            value = db.execute("SELECT value FROM trial_values WHERE trial_id = ?",
                               (tid,)).fetchone()
            inter = db.execute("SELECT step, intermediate_value FROM trial_intermediate_values "
                               "WHERE trial_id = ? ORDER BY step", (tid,)).fetchall()
            starts = db.execute("SELECT datetime_start, datetime_complete FROM trials "
                                "WHERE trial_id = ?", (tid,)).fetchone()
            trials.append({"number": number, "state": state, "hparams": ua.get("hparams"),
                           "params": params, "value": value[0] if value else None,
                           "intermediate": inter, "start": starts[0], "complete": starts[1]})
        out.append({"stage": stage, "attrs": attrs, "trials": trials})
    return out


def external_value(v, dist):
    """The parameter's value as suggest_* returns it (categoricals are stored as indices)."""
    d = optuna.distributions.json_to_distribution(json.dumps(dist))
    return d.to_external_repr(v), d


# ---- Model, features, training

def dense_units(hp):
    units, prev = [], None
    for i in range(int(hp["dense_layers"])):
        u = hp.get("dense_units_%d" % i)
        if u is None:
            u = NNET2_DENSE[i] if i < len(NNET2_DENSE) else prev
        units.append(int(u))
        prev = units[-1]
    return units


def build_net(hp, frames, classes, seed):
    torch.manual_seed(seed)
    drop = [float(hp.get("dropout_%d" % i, hp["dropout"])) for i in range(int(hp["dense_layers"]))]
    net = ref.Net("nnet2", dense=dense_units(hp), dropout=drop[0] if drop else 0.0,
                  encoder2d={"coefs": 20, "channels": int(hp["res_channels"]),
                             "kernel": int(hp["res_kernel"]), "blocks": int(hp["res_blocks"]),
                             "frames": frames})
    if classes != 8:
        raise SystemExit("the reference network has 8 outputs; the dataset has %d" % classes)
    ref.init_xavier(net)
    return net


class Features:
    """MFCC as docs/features.md configures torchaudio, first `frames` frames, time first,
    standardised per clip and coefficient."""

    def __init__(self, rate, frames, device):
        mel = dict(n_fft=2048, win_length=2048, hop_length=1024, f_min=0.0, f_max=rate / 2,
                   n_mels=128, power=2.0, center=True, pad_mode="constant", norm="slaney",
                   mel_scale="slaney")
        self.mfcc = torchaudio.transforms.MFCC(sample_rate=rate, n_mfcc=20, dct_type=2,
                                               norm="ortho", log_mels=False,
                                               melkwargs=mel).to(device)
        self.frames = frames

    def __call__(self, clips, standardize=True):  # (B, N) -> (B, 1, frames, 20)
        x = self.mfcc(clips.unsqueeze(1))  # (B, 1, 20, T): 4D, so top_db is per clip
        x = x.transpose(2, 3)[:, :, :self.frames, :]
        if standardize:
            x = x - x.mean(2, keepdim=True)
            std = x.pow(2).mean(2, keepdim=True).sqrt()  # population std
            x = x / torch.where(std > 0, std, torch.ones_like(std))
        return x


def spec_augment(x, hp, rng):
    """The paper's spectrogram augmentation, each clip drawing independently."""
    b, _, t, c = x.shape
    u = rng.random((b, 7))
    keep = np.ones((b, t, c), dtype=np.float32)
    for i in range(b):
        if u[i, 0] < hp["aug_spec_time_p"]:
            w = int(u[i, 1] * 30)
            s = int(u[i, 2] * (t - w))
            keep[i, s:s + w, :] = 0
        if u[i, 3] < hp["aug_spec_coef_p"]:
            w = int(u[i, 4] * 2)
            s = int(u[i, 5] * (c - w))
            keep[i, :, s:s + w] = 0
    noisy = torch.from_numpy((u[:, 6] < hp["aug_spec_noise_p"]).astype(np.float32))
    x = x * torch.from_numpy(keep).to(x.device).unsqueeze(1)
    noise = torch.randn(x.shape, device=x.device).abs() * 0.015
    return x + noise * noisy.to(x.device).view(b, 1, 1, 1)


def windows(waves, starts, clip):
    return torch.from_numpy(np.stack([w[s:s + clip] for w, s in zip(waves, starts)]))


def evaluate(net, feats, waves, labels, starts, clip, batch, device, hp):
    net.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(waves), batch):
            x = windows(waves[i:i + batch], starts[i:i + batch], clip).to(device)
            y = torch.tensor(labels[i:i + batch], device=device)
            logits = net(None, feats(x, hp["standardize"]))
            loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return loss / len(waves), correct / len(waves)


class Runner:
    def __init__(self, data, clip, rate, device, seed):
        self.data, self.clip, self.device, self.seed = data, clip, device, seed
        self.frames = min(256, clip // 1024 + 1)
        self.feats = Features(rate, self.frames, device)
        self.best_weights = {}  # (stage, mgr number) -> state_dict of the best epoch
        self.epoch_seconds = []  # (train, val) per epoch
        self.lock = threading.Lock()

    def objective(self, stage, trial):
        mgr = trial.user_attrs["mgr"]
        hp = dict(DEFAULTS)
        hp.update(mgr["hparams"])
        for name, (_, dist) in mgr["params"].items():  # Optuna-style suggestions
            d = optuna.distributions.json_to_distribution(json.dumps(dist))
            if isinstance(d, optuna.distributions.CategoricalDistribution):
                hp[name] = trial.suggest_categorical(name, d.choices)
            elif isinstance(d, optuna.distributions.IntDistribution):
                hp[name] = trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
            else:
                hp[name] = trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
        device, clip, batch = self.device, self.clip, int(hp["batch_size"])
        rng = np.random.default_rng([self.seed, trial.number])
        net = build_net(hp, self.frames, 8, self.seed).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
                               eps=hp["eps"], weight_decay=hp["weight_decay"])
        tr_w, tr_y = self.data["training"]
        va_w, va_y = self.data["validation"]
        va_starts = [int(rng.integers(0, len(w) - clip)) if len(w) > clip else 0 for w in va_w]
        best, best_state, reference, bad = math.inf, None, math.inf, 0
        for epoch in range(1, int(hp["max_epochs"]) + 1):
            t0 = time.perf_counter()
            net.train()
            order = rng.permutation(len(tr_w))
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                starts = [int(rng.integers(0, len(tr_w[j]) - clip)) if len(tr_w[j]) > clip
                          else 0 for j in idx]
                x = windows([tr_w[j] for j in idx], starts, clip).to(device)
                y = torch.tensor([tr_y[j] for j in idx], device=device)
                f = spec_augment(self.feats(x, hp["standardize"]), hp, rng)
                opt.zero_grad()
                loss = nn.functional.cross_entropy(net(None, f), y)
                loss.backward()
                opt.step()
            t1 = time.perf_counter()
            val_loss, _ = evaluate(net, self.feats, va_w, va_y, va_starts, clip, batch, device, hp)
            with self.lock:
                self.epoch_seconds.append((t1 - t0, time.perf_counter() - t1))
            if val_loss < best:
                best = val_loss
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            trial.report(val_loss, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
            if val_loss < reference - hp["min_delta"]:
                reference, bad = val_loss, 0
            else:
                bad += 1
                if bad >= hp["patience"]:
                    break
        with self.lock:
            self.best_weights[(stage, mgr["number"])] = (hp, best_state, best)
        return best

    def test(self, stage, number):
        hp, state, _ = self.best_weights[(stage, number)]
        net = build_net(hp, self.frames, 8, self.seed).to(self.device)
        net.load_state_dict(state)
        te_w, te_y = self.data["test"]
        starts = [max(0, min(len(w) // 2, len(w) - self.clip)) for w in te_w]
        return evaluate(net, self.feats, te_w, te_y, starts, self.clip, int(hp["batch_size"]),
                        self.device, hp)


def seconds_between(start, end):
    f = "%Y-%m-%d %H:%M:%S.%f"
    return (datetime.datetime.strptime(end, f) - datetime.datetime.strptime(start, f)).total_seconds()


def summarise_mgr(stages):
    out = []
    for s in stages:
        done = [t for t in s["trials"] if t["state"] in ("COMPLETE", "PRUNED")]
        vals = [t["value"] for t in done if t["state"] == "COMPLETE" and t["value"] is not None]
        out.append({"stage": s["stage"], "trials": len(done),
                    "pruned": sum(t["state"] == "PRUNED" for t in done),
                    "failed": sum(t["state"] == "FAIL" for t in s["trials"]),
                    "epochs": sum(len(t["intermediate"]) for t in done),
                    "trial_seconds": sum(seconds_between(t["start"], t["complete"])
                                         for t in done if t["start"] and t["complete"]),
                    "best_val_loss": min(vals) if vals else None,
                    "first_start": min((t["start"] for t in done if t["start"]), default=None),
                    "last_complete": max((t["complete"] for t in done if t["complete"]),
                                         default=None)})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--study", required=True, help="the study file mgr-tune ran")
    p.add_argument("--mgr-store", required=True, help="mgr-tune's SQLite store of that run")
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, default=2, help="Optuna n_jobs (trials at once)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--processes", type=int, default=os.cpu_count(), help="decoding processes")
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: in memory)")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with open(a.study) as f:
        study = json.load(f)
    base = os.path.dirname(os.path.abspath(a.study))
    names = [s["name"] for s in study["stages"]]
    mgr = read_mgr_store(a.mgr_store, study["name"], names)
    ds = study["dataset"]
    seed = int(study.get("seed", 0))
    pr = study.get("pruner", {})
    device = torch.device(a.device)

    t0 = time.perf_counter()
    data, classes, skipped, decoder = load_dataset(ds, base, a.processes)
    t_decode = time.perf_counter() - t0
    runner = Runner({k: v for k, v in data.items()}, ds.get("clip_samples", 262144),
                    ds.get("sample_rate", 22050), device, seed)

    result = {"device": str(device), "workers": a.workers, "threads": a.threads,
              "torch": torch.__version__, "torchaudio": torchaudio.__version__,
              "optuna": optuna.__version__, "import_seconds": T_IMPORTED - T_START,
              "decoder": decoder, "decode_seconds": t_decode, "tracks": {k: len(v[0]) for k, v in data.items()},
              "skipped_tracks": skipped, "stages": []}
    for s in mgr:
        t0 = time.perf_counter()
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=pr.get("n_startup_trials", 5),
            n_warmup_steps=pr.get("n_warmup_steps", 0),
            interval_steps=pr.get("interval_steps", 1))
        st = optuna.create_study(study_name="%s/%s" % (study["name"], s["stage"]),
                                 storage=a.storage, direction="minimize", pruner=pruner,
                                 sampler=optuna.samplers.TPESampler(seed=seed),
                                 load_if_exists=False)
        todo = [t for t in s["trials"] if t["state"] in ("COMPLETE", "PRUNED") and t["hparams"]]
        for t in todo:
            params = {n: external_value(v, d)[0] for n, (v, d) in t["params"].items()}
            hparams = dict(study.get("fixed", {}))
            hparams.update(t["hparams"])
            st.enqueue_trial(params, user_attrs={"mgr": {
                "number": t["number"], "hparams": hparams,
                "params": {n: (v, d) for n, (v, d) in t["params"].items()}}})
        st.optimize(lambda trial, name=s["stage"]: runner.objective(name, trial),
                    n_trials=len(todo), n_jobs=a.workers)
        trials = st.get_trials(deepcopy=False)
        done = [t for t in trials if t.state.name == "COMPLETE"]
        result["stages"].append({
            "stage": s["stage"], "trials": len(trials),
            "pruned": sum(t.state.name == "PRUNED" for t in trials),
            "failed": sum(t.state.name == "FAIL" for t in trials),
            "epochs": sum(len(t.intermediate_values) for t in trials),
            "best_val_loss": min(t.value for t in done) if done else None,
            "seconds": time.perf_counter() - t0})
    # The test evaluation of the incumbent mgr-tune chose (its export step).
    t0 = time.perf_counter()
    inc = mgr[-1]["attrs"].get("incumbent") or {}
    key = (inc.get("stage"), inc.get("trial_number"))
    note = "mgr-tune's incumbent"
    if key not in runner.best_weights and runner.best_weights:  # pruned here: our best
        key = min(runner.best_weights, key=lambda k: runner.best_weights[k][2])
        note = "best trial here (mgr-tune's incumbent %s #%s was pruned here)" % (
            inc.get("stage"), inc.get("trial_number"))
    if key in runner.best_weights:
        loss, acc = runner.test(*key)
        result["test"] = {"stage": key[0], "trial_number": key[1], "which": note,
                          "loss": loss, "accuracy": acc}
    result["test_seconds"] = time.perf_counter() - t0
    ep = runner.epoch_seconds
    result["epochs"] = len(ep)
    result["train_seconds_per_epoch"] = sum(e[0] for e in ep) / max(1, len(ep))
    result["val_seconds_per_epoch"] = sum(e[1] for e in ep) / max(1, len(ep))
    result["seconds"] = time.perf_counter() - T_START
    result["mgr"] = {"stages": summarise_mgr(mgr),
                     "final_result": mgr[-1]["attrs"].get("final_result")}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
