#!/usr/bin/python3
"""Python Optuna's side of study_optuna_test (run with an interpreter that has optuna).

  create URL STUDY: creates the empty (minimising) study STUDY in the store URL, with this
    Optuna's schema.
  rungs URL STUDY: loads STUDY (successive halving, min_resource 1, reduction_factor 2) from
    the SQLite store URL, which mgr-tune wrote; prints as JSON the trials' system attributes
    as Python reads them ([number, key, repr(value), type name]) and as stored ([number, key,
    value_json]); then runs two trials reporting 5.0 and -inf at step 1, each asked
    should_prune() once (then told PRUNED, or COMPLETE with the value), and prints the
    decisions.
  hyperband_views: reads {"study_name", "values": [[v at step 1, 2, ...] per trial]} from
    stdin and runs those trials in memory with HyperbandPruner(min_resource=1,
    max_resource=9, reduction_factor=3) and TPESampler(seed=0, n_startup_trials=2), each
    reporting its values (should_prune() after each; told PRUNED at once when pruned, else
    COMPLETE with its last value). Prints, per trial, the numbers of the COMPLETE / PRUNED
    trials the sampler reads when sampling it (study._get_trials, what TPE reads from the
    study Optuna hands it), its bracket id (pruner._get_bracket_id, after the run) and the
    decisions.
"""
import json
import math
import sqlite3
import sys

import optuna
from optuna.trial import TrialState

optuna.logging.set_verbosity(optuna.logging.ERROR)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def rungs(url, name):
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    study = optuna.load_study(study_name=name, storage=url, pruner=pruner)
    attrs = [[t.number, k, repr(v), type(v).__name__]
             for t in study.trials for k, v in sorted(t.system_attrs.items())]
    db = sqlite3.connect(url[len("sqlite:///"):])
    raw = db.execute("SELECT t.number, a.key, a.value_json FROM trial_system_attributes a "
                     "JOIN trials t USING (trial_id) ORDER BY t.number, a.key").fetchall()
    decisions = []
    for value in (5.0, -math.inf):
        trial = study.ask()
        trial.report(value, 1)
        decisions.append(bool(trial.should_prune()))
        if decisions[-1]:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, value)
    json.dump({"version": optuna.__version__, "attrs": attrs, "raw": [list(r) for r in raw],
               "decisions": decisions}, sys.stdout)


def hyperband_views(spec):
    seen = {}

    class Spy(optuna.samplers.TPESampler):
        def _record(self, study, trial):
            if trial.number not in seen:
                trials = study._get_trials(deepcopy=False, states=FINISHED, use_cache=True)
                seen[trial.number] = sorted(t.number for t in trials)

        def sample_relative(self, study, trial, search_space):
            self._record(study, trial)
            return super().sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            self._record(study, trial)
            return super().sample_independent(study, trial, param_name, param_distribution)

    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = optuna.create_study(study_name=spec["study_name"], pruner=pruner,
                                sampler=Spy(seed=0, n_startup_trials=2))
    decisions = []
    for values in spec["values"]:
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        mine = []
        for step, value in enumerate(values, start=1):
            trial.report(value, step)
            mine.append(bool(trial.should_prune()))
            if mine[-1]:
                study.tell(trial, state=TrialState.PRUNED)
                break
        else:
            study.tell(trial, values[-1])
        decisions.append(mine)
    json.dump({"version": optuna.__version__,
               "views": [seen.get(t.number) for t in study.trials],
               "brackets": [pruner._get_bracket_id(study, t) for t in study.trials],
               "decisions": decisions}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "create":
        optuna.create_study(study_name=sys.argv[3], storage=sys.argv[2])
        json.dump({"version": optuna.__version__}, sys.stdout)
    elif sys.argv[1] == "rungs":
        rungs(sys.argv[2], sys.argv[3])
    else:
        hyperband_views(json.load(sys.stdin))
