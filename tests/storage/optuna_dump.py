"""Python Optuna's view of a study, for the storage interoperability tests.

usage: optuna_dump.py dump  URL STUDY   # print every field of every trial as JSON
       optuna_dump.py write URL STUDY   # write a study with Optuna itself (TPE, pruned,
                                        # failed and enqueued trials, attrs), then dump it

Non-finite floats are written as the strings "nan", "inf", "-inf" (strict JSON has none);
datetimes as "YYYY-MM-DD HH:MM:SS.ffffff" or null.
"""
import json
import warnings
import math
import sys

import optuna
from optuna.distributions import distribution_to_json


def enc(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def dt(d):
    return None if d is None else d.strftime("%Y-%m-%d %H:%M:%S.%f")


def dump(url, name):
    warnings.simplefilter("ignore")
    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
    study = optuna.load_study(study_name=name, storage=storage)
    out = {
        "study_name": study.study_name,
        "directions": [d.name for d in study.directions],
        "user_attrs": study.user_attrs,
        # Through the storage: Optuna 5 dropped Study.system_attrs.
        "system_attrs": storage.get_study_system_attrs(study._study_id),
        "trials": [],
    }
    for t in study.get_trials(deepcopy=False):
        out["trials"].append(
            {
                "trial_id": t._trial_id,
                "number": t.number,
                "state": t.state.name,
                "values": None if t.values is None else [enc(v) for v in t.values],
                "params": {k: enc(v) for k, v in t.params.items()},
                "distributions": {
                    k: json.loads(distribution_to_json(d)) for k, d in t.distributions.items()
                },
                "intermediate_values": sorted(
                    [[s, enc(v)] for s, v in t.intermediate_values.items()]
                ),
                "user_attrs": t.user_attrs,
                "system_attrs": t.system_attrs,
                "datetime_start": dt(t.datetime_start),
                "datetime_complete": dt(t.datetime_complete),
            }
        )
    print(json.dumps(out, sort_keys=True))


def write(url, name):
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name,
        storage=url,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=7, n_startup_trials=4),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
    )
    study.set_user_attr("dataset", "fma_small")
    study.set_user_attr("folds", [1, 2, 3])
    storage = study._storage  # Optuna 5 dropped Study/Trial.set_system_attr
    storage.set_study_system_attr(study._study_id, "stage", {"index": 1, "name": "lr"})
    study.enqueue_trial({"lr": 0.01, "layers": 4, "opt": "sgd", "drop": 0.25})

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        layers = trial.suggest_int("layers", 2, 10, step=2)
        opt = trial.suggest_categorical("opt", ["adam", "sgd", None, 1.5])
        drop = trial.suggest_float("drop", 0.0, 0.5, step=0.05)
        trial.set_user_attr("note", "n%d" % trial.number)
        storage.set_trial_system_attr(trial._trial_id, "sys", {"k": [trial.number]})
        if trial.number == 5:
            raise RuntimeError("deliberate failure")
        score = 0.0
        for step in range(6):
            score = (layers / 10.0) * (1 - drop) * (step + 1) / 6 + lr * (opt == "sgd")
            if step == 0 and trial.number == 7:
                trial.report(float("nan"), step)
            elif step == 5 and trial.number == 1:
                trial.report(float("inf"), step)
            else:
                trial.report(score, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        if trial.number == 1:
            return float("inf")
        return score

    study.optimize(objective, n_trials=12, catch=(RuntimeError,))
    # A trial left running and one waiting, as a crashed worker and a queue would leave them.
    study.ask({"lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)})
    study.enqueue_trial({"layers": 6})
    dump(url, name)


if __name__ == "__main__":
    {"dump": dump, "write": write}[sys.argv[1]](sys.argv[2], sys.argv[3])
