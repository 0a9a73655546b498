"""Optuna 5.1's Gaussian process (optuna/_gp) on data given as JSON: the reference of
tests/samplers/gaussian_process_test.cc. Run with BUILD/optuna5-venv's python (torch needed).

Usage: optuna_gp_reference.py '<json>' where json has X (rows), y, is_categorical,
params {ils, scale, noise}, points (rows), threshold, z (list), deterministic.
Prints JSON: kernel, mll, log_prior, logei (at points, with params), standard_logei (at z),
fit {ils, scale, noise, loss} (fit_kernel_params from the defaults), optuna (version).
"""

import json
import sys

import numpy as np
import optuna
from optuna._gp import acqf, gp, prior
import torch


def main() -> None:
    cfg = json.loads(sys.argv[1])
    X = np.array(cfg["X"], dtype=np.float64)
    y = np.array(cfg["y"], dtype=np.float64)
    is_cat = np.array(cfg["is_categorical"], dtype=bool)
    p = cfg["params"]

    def make(ils, scale, noise):
        return gp.GPRegressor(
            is_categorical=torch.from_numpy(is_cat),
            X_train=torch.from_numpy(X),
            y_train=torch.from_numpy(y),
            inverse_squared_lengthscales=torch.tensor(ils, dtype=torch.float64),
            kernel_scale=torch.tensor(scale, dtype=torch.float64),
            noise_var=torch.tensor(noise, dtype=torch.float64),
        )

    g = make(p["ils"], p["scale"], p["noise"])
    out = {"optuna": optuna.__version__}
    with torch.no_grad():
        out["kernel"] = g.kernel().numpy().tolist()
        out["mll"] = g.marginal_log_likelihood().item()
        out["log_prior"] = prior.default_log_prior(g).item()
    g._cache_matrix()
    f = acqf.LogEI(gpr=g, search_space=None, threshold=cfg["threshold"])
    with torch.no_grad():
        pts = torch.tensor(cfg["points"], dtype=torch.float64)
        out["logei"] = f.eval_acqf(pts).numpy().tolist()
        out["standard_logei"] = acqf.standard_logei(
            torch.tensor(cfg["z"], dtype=torch.float64)
        ).numpy().tolist()
    fitted = gp.fit_kernel_params(
        X=X,
        Y=y,
        is_categorical=is_cat,
        log_prior=prior.default_log_prior,
        minimum_noise=prior.DEFAULT_MINIMUM_NOISE_VAR,
        deterministic_objective=cfg["deterministic"],
    )
    with torch.no_grad():
        loss = -fitted.marginal_log_likelihood() - prior.default_log_prior(fitted)
    out["fit"] = {
        "ils": fitted.inverse_squared_lengthscales.numpy().tolist(),
        "scale": fitted.kernel_scale.item(),
        "noise": fitted.noise_var.item(),
        "loss": loss.item(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
