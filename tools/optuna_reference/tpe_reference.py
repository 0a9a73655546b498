#!/usr/bin/python3
"""Reference values for tests/samplers/{parzen_estimator,tpe_sampler}_test.cc.

Run with Debian's interpreter (python3-optuna 3.1.0 + numpy):
    /usr/bin/python3 tools/optuna_reference/tpe_reference.py > tests/samplers/data/tpe_reference.json

Where each number comes from:
- gamma(n), weights(n): Optuna 3.1's own default_gamma / default_weights (unchanged in 4.x).
- below/above splits: Optuna 3.1's own _get_observation_pairs + _split_observation_pairs on
  a real in-memory study (their ranking of COMPLETE then PRUNED-by-(-step, value) trials is
  the rule 4.x's _split_trials keeps).
- Parzen estimator kernels (mus, sigmas, mixture weights, categorical tables): computed here
  with numpy following Optuna 4.x's parzen_estimator.py, because 3.1 differs: 3.1's
  univariate bandwidth rule does not sort the prior's centre in with the observations, and
  its categorical rows put the whole prior_weight on each choice. The mixture weights and
  the multivariate (Scott's rule) sigmas are the same in both versions, and this script
  asserts that 3.1's _ParzenEstimator reproduces them.
- log-densities: 4.x's mixture log-pdf written out with numpy, using 3.1's _truncnorm
  building blocks (_log_gauss_mass, logpdf). 3.1's _truncnorm.logpdf omits the -log(scale)
  term that 4.x's has, so the script subtracts log(sigma) itself.
"""
import json
import math
import sys

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.distributions import distribution_to_json
from optuna.samplers._tpe import _truncnorm
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import _get_observation_pairs
from optuna.samplers._tpe.sampler import _split_observation_pairs
from optuna.samplers._tpe.sampler import default_gamma
from optuna.samplers._tpe.sampler import default_weights
from optuna.trial import TrialState

optuna.logging.set_verbosity(optuna.logging.ERROR)
EPS = 1e-12


def kernels_4x(obs, dist, n_params, prior_weight, magic_clip, endpoints, multivariate):
    """Optuna 4.x _calculate_{numerical,categorical}_distributions, in numpy."""
    obs = np.asarray(obs, dtype=float)
    if isinstance(dist, CategoricalDistribution):
        n_choices = len(dist.choices)
        if len(obs) == 0:
            return {"cat_weights": np.full((1, n_choices), 1.0 / n_choices)}
        n_kernels = len(obs) + 1
        w = np.full((n_kernels, n_choices), prior_weight / n_kernels)
        w[np.arange(len(obs)), obs.astype(int)] += 1
        w /= w.sum(axis=1, keepdims=True)
        return {"cat_weights": w}
    low, high = float(dist.low), float(dist.high)
    step = dist.step
    if step is not None:
        low -= step / 2
        high += step / 2
    if dist.log:
        obs = np.log(obs)
        low, high = math.log(low), math.log(high)
    mus = obs
    if multivariate:
        sigmas = np.full(len(obs), 0.2 * max(len(obs), 1) ** (-1.0 / (n_params + 4)) * (high - low))
    else:
        prior_mu = 0.5 * (low + high)
        with_prior = np.append(mus, prior_mu)
        idx = np.argsort(with_prior)
        padded = np.concatenate([[low], with_prior[idx], [high]])
        s = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
        if not endpoints and padded.shape[0] >= 4:
            s[0] = padded[2] - padded[1]
            s[-1] = padded[-2] - padded[-3]
        sigmas = s[np.argsort(idx)][: len(obs)]
    maxsigma = high - low
    minsigma = (high - low) / min(100.0, 1.0 + len(obs) + 1) if magic_clip else EPS
    sigmas = np.clip(sigmas, minsigma, maxsigma)
    mus = np.append(mus, 0.5 * (low + high))
    sigmas = np.append(sigmas, high - low)
    return {"mus": mus, "sigmas": sigmas, "low": low, "high": high, "step": step, "log": dist.log}


def log_pdf_4x(points, space, kernels, weights):
    """Optuna 4.x _MixtureOfProductDistribution.log_pdf with 3.1's _truncnorm."""
    points = np.asarray(points, dtype=float)
    out = np.zeros((len(points), len(weights)))
    for i, (name, dist) in enumerate(space.items()):
        k = kernels[name]
        x = points[:, i]
        if "cat_weights" in k:
            out += np.log(k["cat_weights"].T[x.astype(int), :])
            continue
        mus, sigmas, low, high = k["mus"], k["sigmas"], k["low"], k["high"]
        a = (low - mus) / sigmas
        b = (high - mus) / sigmas
        if k["step"] is None:
            xt = np.log(x) if k["log"] else x
            lp = _truncnorm.logpdf(xt[:, None], a[None, :], b[None, :], loc=mus[None, :],
                                   scale=sigmas[None, :])
            out += lp - np.log(sigmas)[None, :]  # 3.1 omits this term; 4.x has it
        else:
            left, right = x - k["step"] / 2, x + k["step"] / 2
            if k["log"]:
                left, right = np.log(left), np.log(right)
            mass = _truncnorm._log_gauss_mass((left[:, None] - mus) / sigmas,
                                              (right[:, None] - mus) / sigmas)
            accept = _truncnorm._log_gauss_mass(a, b)
            out += mass - accept[None, :]
    out += np.log(weights)[None, :]
    mx = out.max(axis=1)
    mx[np.isneginf(mx)] = 0
    return np.log(np.exp(out - mx[:, None]).sum(axis=1)) + mx


def estimator_case(name, space, obs, points, prior_weight=1.0, magic_clip=True,
                   endpoints=False, multivariate=False):
    n = len(next(iter(obs.values())))
    w = default_weights(n)
    weights = np.array([1.0]) if n == 0 else np.append(w, prior_weight)
    weights = weights / weights.sum()
    kernels = {p: kernels_4x(obs[p], d, len(space), prior_weight, magic_clip, endpoints,
                             multivariate) for p, d in space.items()}
    # Cross-check with Optuna 3.1 where the versions agree.
    params31 = _ParzenEstimatorParameters(True, prior_weight, magic_clip, endpoints,
                                          default_weights, multivariate)
    pe31 = _ParzenEstimator({p: np.asarray(v, dtype=float) for p, v in obs.items()}, space,
                            params31)
    assert np.allclose(pe31._weights, weights, rtol=1e-14), name
    if multivariate:
        for p, k in kernels.items():
            if "mus" in k:
                assert np.allclose(pe31._mus[p], k["mus"], rtol=1e-14), name
                assert np.allclose(pe31._sigmas[p], k["sigmas"], rtol=1e-14), name
    lp = log_pdf_4x(points, space, kernels, weights)
    params = {}
    for p, k in kernels.items():
        if "cat_weights" in k:
            params[p] = {"cat_weights": k["cat_weights"].tolist()}
        else:
            params[p] = {"mus": k["mus"].tolist(), "sigmas": k["sigmas"].tolist()}
    return {
        "name": name,
        "space": {p: distribution_to_json(d) for p, d in space.items()},
        "observations": obs,
        "prior_weight": prior_weight,
        "consider_magic_clip": magic_clip,
        "consider_endpoints": endpoints,
        "multivariate": multivariate,
        "points": points,
        "expected": {"weights": weights.tolist(), "params": params, "log_pdf": lp.tolist()},
    }


def estimator_cases():
    rng = np.random.RandomState(7)
    cases = []
    f = FloatDistribution(-5.0, 10.0)
    cases.append(estimator_case("float", {"x": f}, {"x": [1.0, -4.0, 9.5, 2.0, 2.5]},
                                [[-5.0], [0.0], [2.2], [9.99]]))
    cases.append(estimator_case("float_no_obs", {"x": f}, {"x": []}, [[-1.0], [3.0]]))
    cases.append(estimator_case("float_one_obs_endpoints", {"x": f}, {"x": [8.0]},
                                [[-1.0], [8.1]], endpoints=True))
    cases.append(estimator_case("float_no_magic_clip", {"x": f}, {"x": [1.0, 1.01, 1.02]},
                                [[1.0], [1.005], [5.0]], magic_clip=False))
    cases.append(estimator_case("float_prior_weight", {"x": f}, {"x": [1.0, 3.0]}, [[2.0]],
                                prior_weight=2.5))
    many = rng.uniform(-5, 10, size=40).tolist()
    cases.append(estimator_case("float_40_obs_ramp_weights", {"x": f}, {"x": many},
                                [[v] for v in rng.uniform(-5, 10, size=6).tolist()]))
    lg = FloatDistribution(1e-5, 1e-1, log=True)
    cases.append(estimator_case("float_log", {"lr": lg}, {"lr": [1e-4, 3e-3, 5e-2, 2e-5]},
                                [[1e-5], [1e-3], [0.0999]]))
    st = FloatDistribution(0.0, 1.0, step=0.1)
    cases.append(estimator_case("float_step", {"d": st}, {"d": [0.1, 0.5, 0.5, 1.0]},
                                [[0.0], [0.5], [1.0], [0.3]]))
    it = IntDistribution(2, 10)
    cases.append(estimator_case("int", {"n": it}, {"n": [2, 3, 10, 7]}, [[2], [5], [10]]))
    its = IntDistribution(4, 256, step=4)
    cases.append(estimator_case("int_step", {"u": its}, {"u": [4, 128, 252]}, [[4], [100], [256]]))
    ilog = IntDistribution(1, 1024, log=True)
    cases.append(estimator_case("int_log", {"b": ilog}, {"b": [1, 16, 300, 1024]},
                                [[1], [2], [17], [1000]]))
    cat = CategoricalDistribution(["adam", "sgd", "rmsprop"])
    cases.append(estimator_case("categorical", {"opt": cat}, {"opt": [0, 2, 2, 1, 2]},
                                [[0], [1], [2]]))
    cases.append(estimator_case("categorical_no_obs", {"opt": cat}, {"opt": []}, [[0], [2]]))
    space = {"b": ilog, "d": st, "lr": lg, "opt": cat, "x": f}
    obs = {"b": [1, 64, 512], "d": [0.0, 0.7, 0.2], "lr": [1e-3, 2e-2, 5e-5],
           "opt": [1, 1, 0], "x": [0.0, -3.0, 7.5]}
    pts = [[2, 0.1, 1e-3, 1, 0.5], [512, 0.7, 2e-2, 0, -2.0], [30, 1.0, 1e-5, 2, 9.0]]
    cases.append(estimator_case("multivariate_mixed", space, obs, pts, multivariate=True))
    obs30 = {"x": rng.uniform(-5, 10, size=30).tolist(),
             "lr": np.exp(rng.uniform(math.log(1e-5), math.log(1e-1), size=30)).tolist()}
    cases.append(estimator_case("multivariate_30_obs", {"lr": lg, "x": f}, obs30,
                                [[1e-3, 0.0], [5e-2, 9.0], [1e-5, -5.0]], multivariate=True))
    cases.append(estimator_case("univariate_mixed_product", {"n": it, "opt": cat},
                                {"n": [3, 9], "opt": [2, 0]}, [[3, 2], [9, 1]]))
    return cases


def split_cases():
    rng = np.random.RandomState(3)
    cases = []
    for k in range(30):
        direction = "minimize" if k % 2 == 0 else "maximize"
        study = optuna.create_study(direction=direction)
        trials = []
        n_trials = int(rng.randint(1, 60))
        for t in range(n_trials):
            r = rng.rand()
            if r < 0.7:
                state, value = "COMPLETE", float(rng.normal())
                inter = {}
            else:
                state, value = "PRUNED", None
                n_rep = int(rng.randint(0, 6))
                steps = sorted(rng.choice(20, size=n_rep, replace=False).tolist())
                inter = {int(s): (float("nan") if rng.rand() < 0.15 else float(rng.normal()))
                         for s in steps}
            study.add_trial(optuna.trial.create_trial(
                state=TrialState[state], value=value, intermediate_values=inter,
                params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)}))
            trials.append({"state": state, "value": value,
                           "intermediate": [[s, "nan" if math.isnan(v) else v]
                                            for s, v in inter.items()]})
        _, scores, _ = _get_observation_pairs(study, ["x"])
        n = len(scores)
        below, above = _split_observation_pairs(scores, default_gamma(n), None)
        cases.append({"direction": direction, "trials": trials, "n_below": default_gamma(n),
                      "below": [int(i) for i in below], "above": [int(i) for i in above]})
    return cases


def truncnorm_cases():
    """Optuna 3.1's own _truncnorm (the same algorithms as 4.x's, ported from SciPy)."""
    xs = [-1e3, -50.0, -38.5, -20.5, -20.0, -10.0, -3.0, -0.5, 0.0, 0.7, 5.9, 6.1, 12.0, 40.0]
    log_ndtr = [[x, float(_truncnorm._log_ndtr(np.array([x]))[0])] for x in xs]
    pairs = [(-1e3, -999.0), (-40.0, -39.0), (-5.0, -4.0), (-3.0, 2.0), (-0.1, 0.1),
             (0.5, 1.5), (4.0, 8.0), (30.0, 31.0), (-2.0, 0.0), (0.0, 3.0), (-1e9, 1e9)]
    mass = [[a, b, float(_truncnorm._log_gauss_mass(np.array([a]), np.array([b]))[0])]
            for a, b in pairs]
    ppf = []
    for a, b in [(-3.0, 2.0), (0.5, 1.5), (-10.0, -9.0), (7.0, 30.0), (-1.0, 1.0), (-50.0, 0.1)]:
        for q in [1e-9, 0.01, 0.3, 0.5, 0.77, 0.999999]:
            ppf.append([q, a, b, float(_truncnorm.ppf(np.array([q]), a, b)[0])])
    return {"log_ndtr": log_ndtr, "log_gauss_mass": mass, "ppf": ppf}


def main():
    out = {
        "truncnorm": truncnorm_cases(),
        "generator": "tools/optuna_reference/tpe_reference.py with optuna " + optuna.__version__,
        "gamma": [[n, default_gamma(n)] for n in [0, 1, 9, 10, 11, 99, 100, 240, 250, 251, 1000]],
        "weights": [[n, default_weights(n).tolist()] for n in [0, 1, 24, 25, 26, 27, 40, 100]],
        "estimators": estimator_cases(),
        "splits": split_cases(),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
