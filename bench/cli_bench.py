"""cli_bench: `mgr-tune trials` on a 100,000-trial study against Python Optuna's CLI code.

Usage: /usr/bin/python3 bench/cli_bench.py path/to/mgr-tune [n_trials] [n_python_trials]

Builds an Optuna SQLite file (schema created by Optuna itself, rows bulk-inserted), then
times in the same run:
  - mgr-tune trials -f json, -f csv and -f table on the big study (n_trials, default 100,000)
  - Python: optuna.cli's own code (load_study + _create_records_and_aggregate_column +
    _format_output, what `optuna trials -f json` runs) on a study of n_python_trials (default
    10,000, Python is too slow for 100,000 on a loaded machine), and mgr-tune on that same study.
Prints seconds, per-trial microseconds and the ratio Python / mgr-tune (same file, same run).
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings

warnings.simplefilter("ignore")
import optuna  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)

DIST_LR = json.dumps({"name": "FloatDistribution",
                      "attributes": {"low": 1e-05, "high": 0.1, "log": True, "step": None}})
DIST_LAYERS = json.dumps({"name": "IntDistribution",
                          "attributes": {"low": 1, "high": 8, "log": False, "step": 1}})
DIST_OPT = json.dumps({"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd"]}})


def make_study(path, name, n):
    storage = optuna.storages.RDBStorage("sqlite:///" + path, skip_compatibility_check=True)
    study = optuna.create_study(storage=storage, study_name=name)
    study_id = study._study_id
    del study, storage
    db = sqlite3.connect(path)
    cur = db.cursor()
    base = db.execute("SELECT COALESCE(MAX(trial_id), 0) FROM trials").fetchone()[0]
    trials, values, params, attrs = [], [], [], []
    for i in range(n):
        tid = base + i + 1
        start = "2024-01-01 00:%02d:%02d.%06d" % (i // 60 % 60, i % 60, i % 1000000)
        done = "2024-01-01 01:%02d:%02d.%06d" % (i // 60 % 60, i % 60, (i * 7) % 1000000)
        state = "COMPLETE" if i % 10 else "PRUNED"
        trials.append((tid, i, study_id, state, start, done))
        values.append((tid, 0, 1.0 / (i + 1), "FINITE"))
        params.append((tid, "lr", 1e-5 * (1 + i % 1000), DIST_LR))
        params.append((tid, "layers", float(1 + i % 8), DIST_LAYERS))
        params.append((tid, "opt", float(i % 2), DIST_OPT))
        attrs.append((tid, "note", json.dumps("trial %d" % i)))
    cur.executemany("INSERT INTO trials (trial_id, number, study_id, state, datetime_start, "
                    "datetime_complete) VALUES (?, ?, ?, ?, ?, ?)", trials)
    cur.executemany("INSERT INTO trial_values (trial_id, objective, value, value_type) "
                    "VALUES (?, ?, ?, ?)", values)
    cur.executemany("INSERT INTO trial_params (trial_id, param_name, param_value, "
                    "distribution_json) VALUES (?, ?, ?, ?)", params)
    cur.executemany("INSERT INTO trial_user_attributes (trial_id, key, value_json) "
                    "VALUES (?, ?, ?)", attrs)
    db.commit()
    db.close()


def time_tune(tune, path, name, fmt):
    t = time.perf_counter()
    out = subprocess.run([tune, "trials", "--storage", "sqlite:///" + path, "--study-name", name,
                          "-f", fmt], stdout=subprocess.PIPE, check=True).stdout
    return time.perf_counter() - t, out


def time_python(path, name):
    from optuna import cli
    from optuna.study import _dataframe
    t = time.perf_counter()
    storage = optuna.storages.RDBStorage("sqlite:///" + path, skip_compatibility_check=True)
    study = optuna.load_study(storage=storage, study_name=name)
    attrs = ("number", "value", "datetime_start", "datetime_complete", "duration", "params",
             "user_attrs", "state")
    records, columns = _dataframe._create_records_and_aggregate_column(study, attrs)
    out = cli._format_output(records, columns, "json", False) + "\n"
    return time.perf_counter() - t, out.encode()


def main():
    tune = sys.argv[1]
    n_big = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    n_py = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.db")
        make_study(path, "big", n_big)
        make_study(path, "small", n_py)
        for fmt in ("json", "csv", "table"):
            secs, out = time_tune(tune, path, "big", fmt)
            print("mgr-tune trials -f %-5s %7d trials: %7.3f s  (%6.2f us/trial, %d bytes)"
                  % (fmt, n_big, secs, secs / n_big * 1e6, len(out)))
        tune_secs, tune_out = time_tune(tune, path, "small", "json")
        py_secs, py_out = time_python(path, "small")
        same = "identical" if tune_out == py_out else "DIFFERENT"
        print("mgr-tune trials -f json  %7d trials: %7.3f s  (%6.2f us/trial)"
              % (n_py, tune_secs, tune_secs / n_py * 1e6))
        print("optuna (cli.py code)     %7d trials: %7.3f s  (%6.2f us/trial), output %s"
              % (n_py, py_secs, py_secs / n_py * 1e6, same))
        big_json, _ = time_tune(tune, path, "big", "json")
        print("ratio python/mgr-tune, same %d-trial study: %.1fx" % (n_py, py_secs / tune_secs))
        print("ratio python per-trial (%d) / mgr-tune per-trial (%d): %.1fx"
              % (n_py, n_big, (py_secs / n_py) / (big_json / n_big)))


if __name__ == "__main__":
    main()
