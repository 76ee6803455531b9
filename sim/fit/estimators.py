"""Statistical building blocks of the fit: intervals, distribution families, censored data.

Every function takes numpy arrays and returns plain numbers (JSON-ready dicts), so the fit of a
million calls stays vectorised. Methods and their references are in docs/fit.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "FAMILIES",
    "censored_family_fit",
    "exponential_from_totals",
    "exponential_patience",
    "fit_family",
    "kaplan_meier",
    "mean_cv_intervals",
    "survival",
    "wilson",
]

FAMILIES = ("exponential", "lognormal", "gamma")
RANDOM_GROUPS = 20  # groups of the random-groups interval for statistics without a formula
BAD_FIT_KS = 0.05  # largest gap between the data's and the family's CDF before a fit is "bad"
CENSORED_SAMPLE = 50_000  # rows used to compare censored families (every k-th row)


def _t95(df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def mean_cv_intervals(x: np.ndarray) -> dict:
    """Mean and cv with 95% intervals: Student t for the mean, random groups for the cv.

    Random groups (Wolter, *Introduction to Variance Estimation*, ch. 2): the rows are dealt
    into 20 groups by position, the cv is computed in each, and the t-interval of their mean
    is the interval of the cv. No distribution is assumed, and it costs one pass.
    """
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    out: dict[str, Any] = {
        "n": n,
        "mean": mean,
        "cv": sd / mean if n > 1 and mean > 0 else math.nan,
    }
    if n > 1:
        half = _t95(n - 1) * sd / math.sqrt(n)
        out["mean_ci95"] = [mean - half, mean + half]
    if n >= 5 * RANDOM_GROUPS:
        groups = np.arange(n) % RANDOM_GROUPS
        m = np.bincount(groups, weights=x) / np.bincount(groups)
        m2 = np.bincount(groups, weights=x * x) / np.bincount(groups)
        k = np.bincount(groups)
        cvs = np.sqrt((m2 - m * m) * k / (k - 1)) / m
        half = _t95(RANDOM_GROUPS - 1) * cvs.std(ddof=1) / math.sqrt(RANDOM_GROUPS)
        out["cv_ci95"] = [out["cv"] - half, out["cv"] + half]
    return out


def wilson(successes: int, trials: int) -> list[float] | None:
    """Wilson score 95% interval of a proportion (Wilson 1927; Brown, Cai, DasGupta 2001)."""
    if trials <= 0:
        return None
    z, p = 1.959964, successes / trials
    den = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / den
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / den
    return [max(0.0, centre - half), min(1.0, centre + half)]


def _loglik(family: str, x: np.ndarray, logx: np.ndarray) -> tuple[float, dict]:
    """Maximum log-likelihood of ``family`` (location 0) and its mean and cv."""
    n = len(x)
    if family == "exponential":
        m = float(x.mean())
        return -n * math.log(m) - n, {"mean": m, "cv": 1.0}
    if family == "lognormal":
        mu, s = float(logx.mean()), float(logx.std())
        s = max(s, 1e-12)
        ll = -float(logx.sum()) - n * math.log(s * math.sqrt(2 * math.pi)) - n / 2
        return ll, {"mean": math.exp(mu + s * s / 2), "cv": math.sqrt(math.expm1(s * s))}
    from scipy import special, stats

    shape, _, scale = stats.gamma.fit(x, floc=0)
    ll = float(
        (shape - 1) * logx.sum()
        - x.sum() / scale
        - n * (special.gammaln(shape) + shape * math.log(scale))
    )
    return ll, {"mean": shape * scale, "cv": 1 / math.sqrt(shape)}


def _cdf(family: str, params: dict, x: np.ndarray) -> np.ndarray:
    from scipy import stats

    m, cv = params["mean"], params["cv"]
    if family == "exponential":
        return -np.expm1(-x / m)
    if family == "lognormal":
        s2 = math.log1p(cv * cv)
        return stats.lognorm.cdf(x, math.sqrt(s2), scale=math.exp(math.log(m) - s2 / 2))
    shape = 1 / (cv * cv)
    return stats.gamma.cdf(x, shape, scale=m / shape)


def survival(family: str, mean: float, cv: float, t: np.ndarray) -> np.ndarray:
    """P(X > t) of ``family`` by mean and cv (drawn beside the Kaplan–Meier curve)."""
    return 1.0 - _cdf(family, {"mean": mean, "cv": cv}, t)


def fit_family(x: np.ndarray) -> dict:
    """The family (exponential, lognormal, gamma) with the smallest AIC, and how well it fits.

    Each is fitted by maximum likelihood with location 0. The scenario gets the *sample* mean
    and cv in that family's shape (method of moments), so the workload (mean handle time) is
    reproduced exactly; ``ks`` is the Kolmogorov distance between the data and the chosen
    family, and ``fits_badly`` says it exceeds :data:`BAD_FIT_KS`.
    """
    x = np.asarray(x, dtype=float)
    x = x[x > 0]
    if len(x) < 2:
        return {"family": None, "n": len(x), "note": "too few observations to fit"}
    moments = mean_cv_intervals(x)
    if not moments["cv"] > 1e-9:  # every value the same (a scripted or padded time)
        return {
            "family": "fixed",
            "estimator": "all values equal",
            "ks": 0.0,
            "fits_badly": False,
            **moments,
        }
    logx = np.log(x)
    aic = {}
    for family in FAMILIES:
        k = 1 if family == "exponential" else 2
        try:
            ll, _ = _loglik(family, x, logx)
        except (ValueError, RuntimeError, FloatingPointError):
            continue  # the optimiser failed on this family: it is not offered
        if math.isfinite(ll):
            aic[family] = 2 * k - 2 * ll
    best = min(aic, key=aic.__getitem__)
    step = max(1, len(x) // 200_000)  # the KS distance on at most 200k points
    xs = np.sort(x[::step])
    ecdf_hi = np.arange(1, len(xs) + 1) / len(xs)
    params = {"mean": moments["mean"], "cv": moments["cv"] if best != "exponential" else 1.0}
    cdf = _cdf(best, params, xs)
    ks = float(np.max(np.maximum(ecdf_hi - cdf, cdf - (ecdf_hi - 1 / len(xs)))))
    out = {
        "family": best,
        "estimator": "family by AIC of ML fits (location 0); mean and cv by moments",
        "aic": aic,
        "ks": ks,
        "fits_badly": ks > BAD_FIT_KS,
        **moments,
    }
    if out["fits_badly"]:
        out["note"] = (
            f"{best} is the best of {', '.join(FAMILIES)} but its CDF is {ks:.3f} away from the "
            "data's; consider {dist: empirical, file: ...} for this distribution"
        )
    return out


def exponential_patience(wait: np.ndarray, abandoned: np.ndarray) -> dict:
    """Exponential patience from right-censored waits: mean = total time waited / abandons.

    An abandoned call's wait is its patience; an answered call's wait is a lower bound
    (right-censored). The MLE of the mean is sum(wait) / abandons; 2 x sum(wait) / mean is
    chi-square with 2 x abandons degrees of freedom (exact for type-II censoring, the usual
    approximation here; Lawless, *Statistical Models and Methods for Lifetime Data*, 2.4.1).
    """
    return exponential_from_totals(float(wait.sum()), int(abandoned.sum()), len(wait))


def exponential_from_totals(total: float, d: int, n: int) -> dict:
    """:func:`exponential_patience` from its sufficient statistics: total time waited by all
    ``n`` queued calls and ``d`` abandons (all an interval report gives; Mandelbaum & Zeltyn)."""
    from scipy import stats

    out: dict[str, Any] = {
        "n": n,
        "abandoned": d,
        "censored_share": 1 - d / n if n else None,
        "estimator": "exponential MLE: total time waited / abandons (right-censored)",
    }
    if d == 0:
        out.update(mean=None, note="no abandoned call: patience cannot be estimated (never)")
        return out
    out["mean"] = total / d
    out["mean_ci95"] = [
        2 * total / float(stats.chi2.ppf(0.975, 2 * d)),
        2 * total / float(stats.chi2.ppf(0.025, 2 * d)),
    ]
    return out


def kaplan_meier(wait: np.ndarray, abandoned: np.ndarray, points: int = 200) -> dict:
    """Kaplan–Meier survival of patience (Kaplan & Meier 1958) at up to ``points`` times.

    S(t) = prod over abandon times t_i <= t of (1 - d_i / n_i), with n_i the calls still waiting
    at t_i. Known only up to the longest wait: beyond it the curve says nothing.
    """
    order = np.argsort(wait, kind="stable")
    w, d = wait[order], abandoned[order].astype(bool)
    times, first = np.unique(w[d], return_index=True)
    if len(times) == 0:
        return {"t": [0.0], "survival": [1.0]}
    deaths = np.diff(np.append(first, int(d.sum())))
    at_risk = len(w) - np.searchsorted(w, times, side="left")
    surv = np.cumprod(1 - deaths / at_risk)
    keep = np.unique(np.linspace(0, len(times) - 1, min(points, len(times))).astype(int))
    return {
        "t": [0.0, *times[keep].tolist()],
        "survival": [1.0, *surv[keep].tolist()],
        "last_wait": float(w[-1]),
    }


def _log_pdf_sf(family: str, m: float, cv: float, x: np.ndarray, c: np.ndarray):
    """log density at ``x`` and log survival at ``c`` of lognormal or gamma by mean and cv."""
    from scipy import special

    if family == "lognormal":
        s = math.sqrt(math.log1p(cv * cv))
        mu = math.log(m) - s * s / 2
        z = (np.log(x) - mu) / s
        logpdf = -np.log(x) - math.log(s * math.sqrt(2 * math.pi)) - z * z / 2
        return logpdf, special.log_ndtr(-(np.log(c) - mu) / s)
    a = 1 / (cv * cv)
    scale = m / a
    logpdf = (a - 1) * np.log(x) - x / scale - special.gammaln(a) - a * math.log(scale)
    return logpdf, np.log(np.maximum(special.gammaincc(a, c / scale), 1e-300))


def censored_family_fit(wait: np.ndarray, abandoned: np.ndarray) -> dict:
    """Exponential, lognormal and gamma patience by censored maximum likelihood, AIC each.

    Log-likelihood: log f(w) for abandons plus log S(w) for answered calls. Fitted on at most
    :data:`CENSORED_SAMPLE` rows (every k-th) to stay fast on a million-row log.
    """
    from scipy import optimize

    step = max(1, len(wait) // CENSORED_SAMPLE)
    w, d = wait[::step].astype(float), abandoned[::step].astype(bool)
    w = np.maximum(w, 1e-3)
    x, c = w[d], w[~d]
    exp_mean = w.sum() / max(d.sum(), 1)
    aic = {"exponential": 2 - 2 * float(-d.sum() * math.log(exp_mean) - w.sum() / exp_mean)}
    params = {"exponential": {"mean": exp_mean, "cv": 1.0}}
    for family in ("lognormal", "gamma"):

        def nll(theta, family=family):
            lp, ls = _log_pdf_sf(family, math.exp(theta[0]), math.exp(theta[1]), x, c)
            return -(lp.sum() + ls.sum())

        with np.errstate(all="ignore"):
            res = optimize.minimize(
                nll,
                [math.log(exp_mean), 0.0],
                method="Nelder-Mead",
                options={"xatol": 1e-4, "fatol": 1e-3, "maxiter": 400},
            )
        if np.isfinite(res.fun):
            aic[family] = 4 + 2 * float(res.fun)
            params[family] = {"mean": math.exp(res.x[0]), "cv": math.exp(res.x[1])}
    best = min(aic, key=aic.__getitem__)
    return {"family": best, "aic": aic, "params": params, "rows_used": len(w)}
