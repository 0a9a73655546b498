"""Python Optuna's side of tests/tuner/optuna_cli_interop_test.cc (run with /usr/bin/python3).

  make DB            a study written by Optuna itself: TPE, pruned, failed and enqueued trials
  dump DB CMD FMT FLATTEN [STUDY]   what `optuna CMD` prints (optuna/cli.py's own code)
  summary DB STUDY   the trials as Optuna loads them, as JSON (number, state, values, params)
"""
import json
import sys
import warnings

warnings.simplefilter("ignore")
import optuna  # noqa: E402
from optuna import cli  # noqa: E402
from optuna.study import _dataframe  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def storage(db):
    """`db`: an SQLite file's path, or a URL (PostgreSQL)."""
    url = db if "://" in db else "sqlite:///" + db
    return optuna.storages.RDBStorage(url, skip_compatibility_check=True)


def make(db):
    study = optuna.create_study(
        storage=storage(db), study_name="py", direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=7, n_startup_trials=4),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2))
    study.set_user_attr("dataset", "fma_small")
    study.enqueue_trial({"lr": 0.01, "layers": 3, "opt": "sgd"}, user_attrs={"origin": "manual"})

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        layers = trial.suggest_int("layers", 1, 4)
        opt = trial.suggest_categorical("opt", ["adam", "sgd"])
        if opt == "adam":
            trial.suggest_float("beta", 0.5, 0.99, step=0.01)
        trial.set_user_attr("note", "n%d" % trial.number)
        if trial.number == 5:
            raise RuntimeError("a failed trial")
        value = (lr * 100 - 0.5) ** 2 + layers * 0.1
        for step in range(3):
            trial.report(value + (2 - step) * 0.25, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=14, catch=(RuntimeError,))
    # Trials mgr-tune will have to deal with: an enqueued one, and a second study.
    study.enqueue_trial({"lr": 0.001, "layers": 2, "opt": "adam", "beta": 0.75})
    other = optuna.create_study(storage=storage(db), study_name="py-multi",
                                directions=["minimize", "maximize"])
    for v in ([1.0, 5.0], [2.0, 6.0], [2.0, 4.0], [0.5, 1.0]):
        t = other.ask()
        t.suggest_int("k", 0, 9)
        other.tell(t, v)


def dump(db, command, fmt, flatten, study_name=None):
    st = storage(db)
    if command == "studies":
        # cli._Studies.take_action with a storage object (the URL form re-checks the schema).
        summaries = optuna.get_all_study_summaries(st, include_best_trial=False)
        records = []
        header = [("name", ""), ("direction", ""), ("n_trials", ""), ("datetime_start", "")]
        for s in summaries:
            start = (s.datetime_start.strftime(cli._DATETIME_FORMAT)
                     if s.datetime_start is not None else None)
            records.append({("name", ""): s.study_name,
                            ("direction", ""): tuple(d.name for d in s.directions),
                            ("n_trials", ""): s.n_trials, ("datetime_start", ""): start,
                            ("user_attrs", ""): s.user_attrs})
        if any(r[("user_attrs", "")] != {} for r in records):
            header.append(("user_attrs", ""))
        print(cli._format_output(records, header, fmt, flatten))
        return
    study = optuna.load_study(storage=st, study_name=study_name)
    attrs = ("number", "value" if not study._is_multi_objective() else "values",
             "datetime_start", "datetime_complete", "duration", "params", "user_attrs", "state")
    records, columns = _dataframe._create_records_and_aggregate_column(study, attrs)
    if command == "trials":
        print(cli._format_output(records, columns, fmt, flatten))
    elif command == "best-trial":
        print(cli._format_output(records[study.best_trial.number], columns, fmt, flatten))
    elif command == "best-trials":
        best = [t.number for t in study.best_trials]
        print(cli._format_output([r for r in records if r[("number", "")] in best], columns,
                                 fmt, flatten))


def summary(db, study_name):
    study = optuna.load_study(storage=storage(db), study_name=study_name)
    out = []
    for t in study.get_trials(deepcopy=False):
        out.append({"number": t.number, "state": t.state.name, "values": t.values,
                    "params": t.params, "system_attrs": t.system_attrs})
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
    elif cmd == "dump":
        dump(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1",
             sys.argv[6] if len(sys.argv) > 6 else None)
    elif cmd == "summary":
        summary(sys.argv[2], sys.argv[3])
    elif cmd == "yaml-to-json":
        import yaml
        print(json.dumps(yaml.safe_load(sys.stdin.read()), sort_keys=True))
    elif cmd == "json-to-json":
        print(json.dumps(json.loads(sys.stdin.read()), sort_keys=True))
    else:
        sys.exit("unknown command " + cmd)
