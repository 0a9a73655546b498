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

Pruners that record state in the study (successive_halving, hyperband: {"type":
"successive_halving", "min_resource": "auto" | int, "reduction_factor": ..,
"min_early_stopping_rate": .., "bootstrap_count": ..}, {"type": "hyperband", "min_resource":
.., "max_resource": "auto" | int, ...}) are checked on a study run as a sequence of events
instead: a scenario with "events" (and "config", "direction", "study_name", "stop_on_prune")
and no "trials" / "candidate". Events, in order: ["start", i] asks trial i (trials start in
index order, so trial i is number i); ["report", i, step, value] reports and then calls
trial.should_prune(); ["finish", i, "COMPLETE" | "PRUNED" | "FAIL", value] tells the
study. With stop_on_prune, a trial told to prune is told PRUNED at once and its later
events are skipped. Its decisions are one entry per event: the should_prune() answer for a
report, null for anything else (and for skipped reports).
WilcoxonPruner: {"type": "wilcoxon", "p_threshold": .., "n_startup_steps": ..} as a
"config" of the first form; the candidate's reports may come in any step order (the
instance ids of a Wilcoxon study), and are reported in the order given.

Instead of "scenarios", the input may give {"wilcoxon": [{"d": [...], "alternative":
"greater" | "less" | "two-sided"}, ...]}: the output is then {"wilcoxon": [[statistic,
pvalue], ...]} from scipy.stats.wilcoxon(d, zero_method="zsplit", alternative=...), as
WilcoxonPruner calls it (values as above; NaN results are written as "nan").
Everything here is Optuna's (or SciPy's) own code; nothing is reimplemented.
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
    if kind == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(**args)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(**args)
    if kind == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(**args)
    raise SystemExit(f"unknown pruner type {kind}")


def run_events(sc):
    pruner = make_pruner(sc["config"])
    study = optuna.create_study(
        study_name=sc["study_name"],
        direction=sc["direction"],
        pruner=pruner,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    trials = []
    finished = set()
    decisions = []
    for ev in sc["events"]:
        kind, i = ev[0], ev[1]
        decision = None
        if kind == "start":
            trials.append(study.ask())
            assert trials[i].number == i
        elif i in finished:
            pass
        elif kind == "report":
            trials[i].report(num(ev[3]), ev[2])
            decision = bool(trials[i].should_prune())
            if decision and sc["stop_on_prune"]:
                study.tell(trials[i], state=TrialState.PRUNED)
                finished.add(i)
        else:
            state = TrialState[ev[2]]
            if state == TrialState.COMPLETE:
                study.tell(trials[i], num(ev[3]))
            else:
                study.tell(trials[i], state=state)
            finished.add(i)
        decisions.append(decision)
    return decisions


def out_num(v):
    v = float(v)
    return "nan" if v != v else v


def run_wilcoxon(cases):
    import scipy.stats

    out = []
    for case in cases:
        res = scipy.stats.wilcoxon(
            [num(v) for v in case["d"]], zero_method="zsplit", alternative=case["alternative"]
        )
        out.append([out_num(res.statistic), out_num(res.pvalue)])
    return out


def main():
    spec = json.load(sys.stdin)
    if "wilcoxon" in spec:
        json.dump({"wilcoxon": run_wilcoxon(spec["wilcoxon"])}, sys.stdout)
        return
    out = []
    for sc in spec["scenarios"]:
        if "events" in sc:
            out.append(run_events(sc))
            continue
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
