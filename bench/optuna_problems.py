#!/usr/bin/python3
"""Test problems shared by bench/sampler_quality_bench.cc (which defines the same ones in
C++) and python3-optuna. Run with /usr/bin/python3.

    optuna_problems.py quality N_TRIALS SEEDS [--jobs J] [PROBLEM...]
        -> {"problem": [best value for seed 0, 1, ...], ...} with Optuna's default TPE;
           the (problem, seed) runs are spread over J worker processes (default 2), each
           one interpreter for many runs (in-memory storage, logging off)
    optuna_problems.py speed N_FINISHED REPS
        -> {"univariate_ms": .., "multivariate_ms": ..}: one ask + 10 suggest_float + tell
           after N_FINISHED finished trials (added with add_trials, so only the timed
           calls run TPE)
    optuna_problems.py gp_quality N_TRIALS SEEDS [--jobs J] [PROBLEM...]
        -> {"gp": {"problem": [best per seed]}} with Optuna's GPSampler(seed=seed) (needs torch)
    optuna_problems.py gp_speed N_FINISHED REPS
        -> {"gp_ms": .., "gp_wall_ms": ..}: median CPU (all threads) and wall ms of one ask + 3 suggest_float (lr, wd, beta) + tell
           after N_FINISHED finished trials, with GPSampler
"""
import json
import math
import multiprocessing
import sys
import time
import warnings

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")

T0 = [3.0, 1.0, 4.0, 0.5, 5.0, 9.0]
T1 = [2.0, 7.0, 1.8, 2.8, 0.0, 4.5]
T2 = [6.0, 2.5, 3.5, 0.2, 8.0, 1.1]
CHOICES = ["a", "b", "c", "d", "e", "f"]


def sphere(n):
    def f(t):
        return sum(t.suggest_float(f"x{i}", -5, 5) ** 2 for i in range(n))
    return f


def rosenbrock(t):
    x = t.suggest_float("x", -2, 2)
    y = t.suggest_float("y", -2, 2)
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def log_scale(t):
    lr = t.suggest_float("lr", 1e-6, 1, log=True)
    wd = t.suggest_float("wd", 1e-8, 1e-1, log=True)
    eps = t.suggest_float("eps", 1e-10, 1e-2, log=True)
    return ((math.log10(lr) + 3.3) ** 2 + (math.log10(wd) + 5.1) ** 2
            + (math.log10(eps) + 7.2) ** 2)


def integer(t):
    a = t.suggest_int("a", -20, 20)
    b = t.suggest_int("b", -20, 20)
    c = t.suggest_int("c", 0, 100, step=5)
    n = t.suggest_int("n", 1, 1024, log=True)
    return (a - 7) ** 2 + (b + 3) ** 2 + ((c - 35) / 5) ** 2 + (math.log2(n) - 6.3) ** 2


def categorical(t):
    c0 = CHOICES.index(t.suggest_categorical("c0", CHOICES))
    c1 = CHOICES.index(t.suggest_categorical("c1", CHOICES))
    c2 = CHOICES.index(t.suggest_categorical("c2", CHOICES))
    x = t.suggest_float("x", 0, 1)
    return T0[c0] + T1[c1] + T2[c2] + 10 * (x - 0.3) ** 2


def mixed(t):
    lr = t.suggest_float("lr", 1e-5, 1e-1, log=True)
    dropout = t.suggest_float("dropout", 0, 0.5, step=0.05)
    batch = t.suggest_int("batch", 16, 256, step=16)
    layers = t.suggest_int("layers", 1, 8)
    opt = t.suggest_categorical("opt", ["adam", "sgd", "rmsprop"])
    x = t.suggest_float("x", -1, 1)
    return ((math.log10(lr) + 3) ** 2 + 4 * (dropout - 0.2) ** 2 + ((batch - 64) / 64) ** 2
            + 0.3 * abs(layers - 3) + {"adam": 0.0, "sgd": 1.0, "rmsprop": 0.5}[opt] + x * x)


def conditional(t):
    n_layers = t.suggest_int("n_layers", 1, 4)
    v = abs(n_layers - 3)
    for i in range(n_layers):
        u = t.suggest_int(f"units_l{i}", 4, 256, log=True)
        v += 0.2 * (math.log2(u) - 6) ** 2
    if t.suggest_categorical("opt", ["adam", "sgd"]) == "sgd":
        v += 0.5 + 4 * (t.suggest_float("momentum", 0, 0.99) - 0.9) ** 2
    else:
        v += 1.0 + 40 * (t.suggest_float("beta", 0.8, 0.999) - 0.95) ** 2
    return v


PROBLEMS = {
    "sphere_5d": sphere(5),
    "rosenbrock_2d": rosenbrock,
    "log_scale_3d": log_scale,
    "integer_4d": integer,
    "categorical_4d": categorical,
    "mixed_6d": mixed,
    "conditional": conditional,
    "sphere_10d": sphere(10),
}


def best_value(task):
    name, seed, n_trials, multivariate = task
    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=seed, multivariate=multivariate))
    study.optimize(PROBLEMS[name], n_trials=n_trials)
    return study.best_value


def quality(n_trials, seeds, names, jobs=2):
    tasks = [(name, seed, n_trials, multi)
             for multi in (False, True) for name in names for seed in range(seeds)]
    if jobs > 1:
        # Fork: the workers inherit the imported optuna (no start-up per run). Longest
        # problems first would balance better, but chunks of 1 keep both cores busy.
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            values = pool.map(best_value, tasks, chunksize=1)
    else:
        values = [best_value(t) for t in tasks]
    # {"version": ..., "univariate": {problem: [best per seed]}, "multivariate": {...}}
    out = {"version": optuna.__version__, "univariate": {}, "multivariate": {}}
    for (name, _, _, multi), v in zip(tasks, values):
        out["multivariate" if multi else "univariate"].setdefault(name, []).append(v)
    return out


def speed(n_finished, reps):
    rng = np.random.RandomState(0)
    dists = {f"x{i}": optuna.distributions.FloatDistribution(-5, 5) for i in range(10)}
    out = {}
    for label, multivariate in [("univariate_ms", False), ("multivariate_ms", True)]:
        study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=0, multivariate=multivariate))
        trials = []
        for _ in range(n_finished):
            params = {k: float(rng.uniform(-5, 5)) for k in dists}
            trials.append(optuna.trial.create_trial(
                params=params, distributions=dists, value=sum(v * v for v in params.values())))
        study.add_trials(trials)
        times = []
        for _ in range(reps):
            start = time.process_time()
            t = study.ask()
            v = sum(t.suggest_float(k, -5, 5) ** 2 for k in dists)
            study.tell(t, v)
            times.append((time.process_time() - start) * 1e3)
        out[label] = float(np.median(times))
    out["version"] = optuna.__version__
    return out


def gp_best_value(task):
    name, seed, n_trials = task
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    study.optimize(PROBLEMS[name], n_trials=n_trials)
    return study.best_value


def gp_quality(n_trials, seeds, names, jobs=2):
    tasks = [(name, seed, n_trials) for name in names for seed in range(seeds)]
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            values = pool.map(gp_best_value, tasks, chunksize=1)
    else:
        values = [gp_best_value(t) for t in tasks]
    out = {"version": optuna.__version__, "gp": {}}
    for (name, _, _), v in zip(tasks, values):
        out["gp"].setdefault(name, []).append(v)
    return out


# The GP speed problem: three continuous parameters of a late playbook stage.
GP_SPACE = {
    "lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
    "wd": optuna.distributions.FloatDistribution(1e-6, 1e-1, log=True),
    "beta": optuna.distributions.FloatDistribution(0.8, 0.999),
}


def gp_objective(p):
    return ((math.log10(p["lr"]) + 3) ** 2 + (math.log10(p["wd"]) + 4) ** 2
            + 10 * (p["beta"] - 0.95) ** 2)


def gp_speed(n_finished, reps):
    rng = np.random.RandomState(0)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
    trials = []
    for _ in range(n_finished):
        params = {"lr": float(10 ** rng.uniform(-5, -1)), "wd": float(10 ** rng.uniform(-6, -1)),
                  "beta": float(rng.uniform(0.8, 0.999))}
        trials.append(optuna.trial.create_trial(
            params=params, distributions=GP_SPACE, value=gp_objective(params)))
    study.add_trials(trials)
    times, walls = [], []
    for _ in range(reps):
        start, wall = time.process_time(), time.perf_counter()
        t = study.ask()
        p = {k: t.suggest_float(k, d.low, d.high, log=d.log) for k, d in GP_SPACE.items()}
        # Told FAIL so that every repetition sees the same N_FINISHED complete trials.
        study.tell(t, state=optuna.trial.TrialState.FAIL)
        times.append((time.process_time() - start) * 1e3)
        walls.append((time.perf_counter() - wall) * 1e3)
    return {"version": optuna.__version__, "gp_ms": float(np.median(times)),
            "gp_wall_ms": float(np.median(walls))}


def main():
    mode = sys.argv[1]
    if mode == "quality":
        rest = sys.argv[4:]
        jobs = 2
        if len(rest) >= 2 and rest[0] == "--jobs":
            jobs = int(rest[1])
            rest = rest[2:]
        names = rest or list(PROBLEMS)
        print(json.dumps(quality(int(sys.argv[2]), int(sys.argv[3]), names, jobs)))
    elif mode == "gp_quality":
        rest = sys.argv[4:]
        jobs = 2
        if len(rest) >= 2 and rest[0] == "--jobs":
            jobs = int(rest[1])
            rest = rest[2:]
        names = rest or ["sphere_5d", "rosenbrock_2d", "log_scale_3d"]
        print(json.dumps(gp_quality(int(sys.argv[2]), int(sys.argv[3]), names, jobs)))
    elif mode == "gp_speed":
        print(json.dumps(gp_speed(int(sys.argv[2]), int(sys.argv[3]))))
    elif mode == "speed":
        print(json.dumps(speed(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        raise SystemExit(
            "usage: optuna_problems.py quality N SEEDS [--jobs J] [P...] | speed N REPS")


if __name__ == "__main__":
    main()
