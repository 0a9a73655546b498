#!/usr/bin/python3
"""Univariate TPE re-implemented with numpy (Optuna 4.x rules; 3.1 truncnorm building blocks)
on sphere_5d, to compare with mgr TPE and Optuna 3.1 (docs/samplers.md, Performance).

Usage: /usr/bin/python3 tests/samplers/tpe_sphere_numpy.py SEED0 SEED1 {4x|31}
  4x: logpdf with -log(sigma) (Optuna >= PR #5110, as mgr); 31: without (Optuna 3.1).
Not run by ctest; ~1 s per seed.
"""
import sys, numpy as np
from optuna.samplers._tpe import _truncnorm as tn
def logsumexp(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return (np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m).squeeze(axis)

def default_weights(n):
    if n == 0: return np.asarray([])
    if n < 25: return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)])

def estimator(obs, w, low, high):
    n = len(obs)
    prior_mu = 0.5 * (low + high)
    if n == 0:
        return np.array([prior_mu]), np.array([high - low]), np.array([1.0])
    mus_p = np.append(obs, prior_mu)
    idx = np.argsort(mus_p)
    s = np.concatenate([[low], mus_p[idx], [high]])
    ss = np.maximum(s[1:-1] - s[:-2], s[2:] - s[1:-1])
    if len(s) >= 4:
        ss[0] = s[2] - s[1]; ss[-1] = s[-2] - s[-3]
    sig = ss[np.argsort(idx)][:n]
    sig = np.clip(sig, (high - low) / min(100.0, 1.0 + n + 1), high - low)
    ww = np.append(w, 1.0); ww = ww / ww.sum()
    return np.append(obs, prior_mu), np.append(sig, high - low), ww

def logpdf(x, mus, sig, ww, low, high):
    a = (low - mus) / sig; b = (high - mus) / sig
    lp = tn.logpdf(x[:, None], a, b, loc=mus, scale=sig) + np.log(ww)
    if LOG_SCALE: lp = lp - np.log(sig)  # 4.x (optuna PR #5110); 3.1 lacks it
    return logsumexp(lp, axis=1)

def run(seed, dim=5, n_trials=100, low=-5.0, high=5.0):
    rng = np.random.RandomState(seed)
    X, Y = [], []
    for t in range(n_trials):
        if t < 10:
            x = rng.uniform(low, high, dim)
        else:
            Yarr = np.array(Y); n = len(Y)
            nb = min(int(np.ceil(0.1 * n)), 25)
            order = np.argsort(Yarr, kind="stable")
            bi = np.sort(order[:nb]); ai = np.sort(order[nb:])
            Xa = np.array(X); x = np.empty(dim)
            for i in range(dim):
                mb, sb, wb = estimator(Xa[bi, i], default_weights(len(bi)), low, high)
                ma, sa, wa = estimator(Xa[ai, i], default_weights(len(ai)), low, high)
                k = rng.choice(len(wb), p=wb, size=24)
                c = mb[k] + sb[k] * tn.ppf(rng.rand(24), (low - mb[k]) / sb[k], (high - mb[k]) / sb[k])
                c = np.clip(c, low, high)
                sc = logpdf(c, mb, sb, wb, low, high) - logpdf(c, ma, sa, wa, low, high)
                x[i] = c[np.argmax(sc)]
        X.append(x); Y.append(float(np.sum(x ** 2)))
    return min(Y)

LOG_SCALE = True
if __name__ == "__main__":
    LOG_SCALE = sys.argv[3] == '4x'
    s0, s1 = int(sys.argv[1]), int(sys.argv[2])
    best = np.array([run(s) for s in range(s0, s1)])
    print(f"numpy {sys.argv[3]} logpdf, univariate TPE sphere_5d seeds {s0}..{s1-1}: mean {best.mean():.4g} std {best.std():.4g} median {np.median(best):.4g}")
