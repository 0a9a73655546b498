#!/usr/bin/python3
"""Pruning decisions of Python Optuna for scenarios given as JSON.

Run with an interpreter that has optuna (Debian's /usr/bin/python3 has 3.1; the Optuna 5
venv of tools/optuna_venv.sh). Reads from stdin:
  {"scenarios": [{"pruner": {"type": "median"|"percentile", "percentile": p,
                              "n_startup_trials": .., "n_warmup_steps": ..,
                              "interval_steps": .., "n_min_trials": ..},
                   "direction": "minimize"|"maximize",
                   "trials": [{"state": "COMPLETE"|"PRUNED"|"FAIL", "value": v,
                               "intermediate": [[step, value], ...]}, ...],
                   "candidate": [[step, value], ...]}]}
Instead of "pruner", a scenario may give "config": a pruner in mgr-tune's study-file form
({"type": "threshold", "lower": .., ...}, {"type": "patient", "patience": .., "wrapped":
{...}}, median, percentile, nop), built here with Optuna's classes and keyword names.
Values may be the strings "nan", "inf", "-inf". Writes {"decisions": [[bool, ...], ...]}:
for each scenario, the decision of optuna's pruner.prune(study, trial) after each prefix of
the candidate's reports (the candidate is a RUNNING trial that is not in the study).
Everything here is Optuna's own code; nothing is reimplemented.
"""
import json
import sys

import optuna
from optuna.trial import TrialState

optuna.logging.set_verbosity(optuna.logging.ERROR)


def num(v):
    return float(v) if isinstance(v, str) else v


def make_pruner(cfg):
    kind = cfg.get("type", "median")
    args = {k: v for k, v in cfg.items() if k not in ("type", "wrapped")}
    if kind == "nop":
        return optuna.pruners.NopPruner()
    if kind == "median":
        return optuna.pruners.MedianPruner(**args)
    if kind == "percentile":
        return optuna.pruners.PercentilePruner(**args)
    if kind == "threshold":
        return optuna.pruners.ThresholdPruner(**args)
    if kind == "patient":
        wrapped = make_pruner(cfg["wrapped"]) if "wrapped" in cfg else None
        return optuna.pruners.PatientPruner(wrapped, **args)
    raise SystemExit(f"unknown pruner type {kind}")


def main():
    spec = json.load(sys.stdin)
    out = []
    for sc in spec["scenarios"]:
        if "config" in sc:
            pruner = make_pruner(sc["config"])
        else:
            p = sc["pruner"]
            kwargs = dict(
                n_startup_trials=p["n_startup_trials"],
                n_warmup_steps=p["n_warmup_steps"],
                interval_steps=p["interval_steps"],
                n_min_trials=p["n_min_trials"],
            )
            if p["type"] == "median":
                pruner = optuna.pruners.MedianPruner(**kwargs)
            else:
                pruner = optuna.pruners.PercentilePruner(p["percentile"], **kwargs)
        study = optuna.create_study(direction=sc["direction"], pruner=pruner)
        for t in sc["trials"]:
            state = TrialState[t["state"]]
            study.add_trial(
                optuna.trial.create_trial(
                    state=state,
                    value=num(t["value"]) if state == TrialState.COMPLETE else None,
                    intermediate_values={s: num(v) for s, v in t["intermediate"]},
                )
            )
        decisions = []
        reports = {}
        for s, v in sc["candidate"]:
            reports[s] = num(v)
            trial = optuna.trial.create_trial(
                state=TrialState.RUNNING, intermediate_values=dict(reports)
            )
            decisions.append(bool(pruner.prune(study, trial)))
        out.append(decisions)
    json.dump({"decisions": out}, sys.stdout)


if __name__ == "__main__":
    main()
