#!/usr/bin/python3
"""Pruning decisions of Debian's python3-optuna for scenarios given as JSON.

Run with /usr/bin/python3 (the interpreter that has optuna). Reads from stdin:
  {"scenarios": [{"pruner": {"type": "median"|"percentile", "percentile": p,
                              "n_startup_trials": .., "n_warmup_steps": ..,
                              "interval_steps": .., "n_min_trials": ..},
                   "direction": "minimize"|"maximize",
                   "trials": [{"state": "COMPLETE"|"PRUNED"|"FAIL", "value": v,
                               "intermediate": [[step, value], ...]}, ...],
                   "candidate": [[step, value], ...]}]}
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


def main():
    spec = json.load(sys.stdin)
    out = []
    for sc in spec["scenarios"]:
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
