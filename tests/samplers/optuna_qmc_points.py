"""Reference points for qmc_sampler_optuna5_test, printed as JSON (floats round-trip).

  optuna SPACE_JSON N_TRIALS SEED: the params of the N trials an Optuna
      QMCSampler(qmc_type="sobol", scramble=False, seed=SEED) study suggests over SPACE_JSON,
      a list of {"name", "type": "float"|"int", "low", "high", "log", "step"} suggested in
      list order; the objective returns 0.
  scipy DIMS INDICES_JSON: the points at those 0-based indices of
      scipy.stats.qmc.Sobol(DIMS, scramble=False), each by fast_forward from a fresh engine.
"""
import json
import sys
import warnings

warnings.simplefilter("ignore")  # Optuna's experimental and SciPy's balance warnings

if sys.argv[1] == "optuna":
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space, n_trials, seed = json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    def objective(trial):
        for p in space:
            if p["type"] == "float":
                trial.suggest_float(p["name"], p["low"], p["high"], log=p.get("log", False),
                                    step=p.get("step"))
            else:
                trial.suggest_int(p["name"], p["low"], p["high"], log=p.get("log", False),
                                  step=p.get("step", 1))
        return 0.0

    sampler = optuna.samplers.QMCSampler(qmc_type="sobol", scramble=False, seed=seed)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    print(json.dumps({"optuna": optuna.__version__,
                      "trials": [t.params for t in study.trials]}))
else:
    import numpy
    import scipy
    from scipy.stats import qmc

    dims, indices = int(sys.argv[2]), json.loads(sys.argv[3])
    points = []
    for i in indices:
        engine = qmc.Sobol(dims, scramble=False)
        if i > 0:
            engine.fast_forward(i)
        points.append(numpy.asarray(engine.random(1)[0], dtype=float).tolist())
    print(json.dumps({"scipy": scipy.__version__, "points": points}))
