"""Optuna 5.1's qLogEI (optuna/_gp/acqf.py, gp.py's ConditionalGPRegressor) on data given as
JSON, with the caller's normal samples in place of Optuna's Sobol draws: the reference of
tests/samplers/acquisition_test.cc. Run with BUILD/optuna5-venv's python (torch needed).

Usage: optuna_qlogei_reference.py FILE where FILE holds JSON: X (rows), y, is_categorical,
params {ils, scale, noise}, threshold, running (rows), samples (n_qmc x (running + 1)),
points (rows). Prints JSON: qlogei and grad (torch autograd) at each point, fantasies,
optuna (version).
"""

import json
import sys

import numpy as np
import optuna
from optuna._gp import acqf, gp
import torch


def main() -> None:
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    p = cfg["params"]
    g = gp.GPRegressor(
        is_categorical=torch.tensor(cfg["is_categorical"], dtype=torch.bool),
        X_train=torch.tensor(cfg["X"], dtype=torch.float64),
        y_train=torch.tensor(cfg["y"], dtype=torch.float64),
        inverse_squared_lengthscales=torch.tensor(p["ils"], dtype=torch.float64),
        kernel_scale=torch.tensor(p["scale"], dtype=torch.float64),
        noise_var=torch.tensor(p["noise"], dtype=torch.float64),
    )
    g._cache_matrix()
    samples = torch.tensor(cfg["samples"], dtype=torch.float64)
    running = np.array(cfg["running"], dtype=np.float64)
    assert samples.shape == (len(samples), len(running) + 1)
    # ConditionalGPRegressor draws its fixed samples here; use the caller's.
    gp.sample_from_normal_sobol = lambda dim, n_samples, seed: samples.clone()
    f = acqf.qLogEI(
        gpr=g,
        search_space=None,
        threshold=cfg["threshold"],
        n_qmc_samples=len(samples),
        qmc_seed=0,
        normalized_params_of_running_trials=running,
    )
    out = {"optuna": optuna.__version__, "qlogei": [], "grad": []}
    for x in cfg["points"]:
        value, grad = f.eval_acqf_with_grad(np.array(x, dtype=np.float64))
        out["qlogei"].append(value)
        out["grad"].append(grad.tolist())
    out["fantasies"] = f._cond_gpr.get_fantasy_samples().numpy().tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
