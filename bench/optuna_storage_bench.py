"""Python Optuna's RDB storage (SQLite or PostgreSQL): the reference for bench/storage_bench.cc.

usage: optuna_storage_bench.py lifecycle URL N    # N trials of ask, 5 suggests, 30 reports, tell
       optuna_storage_bench.py read URL STUDY     # load every trial of a study
Prints one JSON object: {"ms_per_trial", "cpu_ms_per_trial"} or {"ms", "cpu_ms", "n_trials"}.
"""
import json
import sys
import time
import warnings

import optuna


def lifecycle(url, n):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    study = optuna.create_study(
        study_name="lifecycle", storage=storage, sampler=optuna.samplers.RandomSampler(seed=1)
    )
    start = time.perf_counter()
    cpu_start = time.process_time()
    for _ in range(n):
        trial = study.ask()
        x = [trial.suggest_float("x%d" % i, 0.0, 1.0) for i in range(5)]
        for step in range(30):
            trial.report(sum(x) / (step + 1), step)
        study.tell(trial, sum(x))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({"ms_per_trial": elapsed * 1000.0 / n, "cpu_ms_per_trial": cpu * 1000.0 / n}))


def read(url, name):
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
    study_id = storage.get_study_id_from_name(name)
    start = time.perf_counter()
    cpu_start = time.process_time()
    trials = storage.get_all_trials(study_id, deepcopy=False)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    n_values = sum(len(t.intermediate_values) for t in trials)
    print(json.dumps({"ms": elapsed * 1000.0, "cpu_ms": cpu * 1000.0, "n_trials": len(trials),
                      "n_values": n_values}))


if __name__ == "__main__":
    if sys.argv[1] == "lifecycle":
        lifecycle(sys.argv[2], int(sys.argv[3]))
    else:
        read(sys.argv[2], sys.argv[3])
