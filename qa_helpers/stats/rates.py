"""Events per exposure (complaints per 1 000 tickets): Poisson score test and CI for the rate
ratio on Rao–Scott effective counts; the exact conditional (binomial) test with a
Clopper–Pearson interval for the rate ratio when counts are small or zero (R's ``poisson.test``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.rates import confint_poisson_2indep, test_poisson_2indep

from qa_helpers.stats._common import _design_effect
from qa_helpers.stats.cr2 import _cluster_contrast
from qa_helpers.stats.power import _mde_rate, _mde_rate_exact, _se_median_factor
from qa_helpers.stats.proportions import clopper_pearson
from qa_helpers.stats.results import RATE_PER, _result

EXACT_BELOW = 10  # smaller (effective) window count below which the exact conditional test is used
TESTS = ("auto", "score", "exact")


def exact_rate_ratio(count_a: int, exposure_a: float, count_b: int, exposure_b: float,
                     alpha: float = 0.05, ratio: float = 1.0) -> tuple[float, float, float]:
    """Exact conditional test of two Poisson rates, as R's two-sample ``poisson.test``.

    Given the total ``count_a + count_b``, ``count_a`` is binomial with probability
    ``ratio * E_a / (ratio * E_a + E_b)`` under H0; p is R's two-sided ``binom.test`` p (scipy
    ``binomtest``), the CI for the rate ratio the Clopper–Pearson interval of that probability
    mapped to the ratio scale. Returns ``p, lo, hi`` (``lo = 0`` when ``count_a = 0``,
    ``hi = inf`` when ``count_b = 0``).
    """
    total = int(count_a + count_b)
    if total == 0:
        return 1.0, 0.0, np.inf
    p = float(stats.binomtest(int(count_a), total, ratio * exposure_a / (ratio * exposure_a + exposure_b)).pvalue)
    lo, hi = clopper_pearson(count_a, total, alpha)
    to_ratio = lambda q: np.inf if q >= 1 else q / (1 - q) * exposure_b / exposure_a  # noqa: E731
    return p, to_ratio(lo), to_ratio(hi)


def exact_poisson(count: int, exposure: float, rate: float = 1.0,
                  alpha: float = 0.05) -> tuple[float, float, float]:
    """One-sample exact Poisson test and CI of a rate, as R's ``poisson.test(count, exposure, rate)``.

    p sums the Poisson probabilities not larger than the observed one (R's rule, relative
    tolerance 1e-7); the CI is Garwood's exact interval (chi-square / gamma quantiles).
    Returns ``p, lo, hi`` for the rate per unit of exposure.
    """
    mean = rate * exposure
    lo = 0.0 if count == 0 else float(stats.gamma.ppf(alpha / 2, count)) / exposure
    hi = float(stats.gamma.ppf(1 - alpha / 2, count + 1)) / exposure
    if mean == 0:
        return float(count == 0), lo, hi
    if count == mean:
        return 1.0, lo, hi
    d = stats.poisson.pmf(count, mean) * (1 + 1e-7)  # R's relErr
    if count < mean:  # R: count the values above the mean at most as likely as the observed one
        top = int(np.ceil(2 * mean - count))
        while stats.poisson.pmf(top, mean) > d:
            top *= 2
        far = int((stats.poisson.pmf(np.arange(int(np.ceil(mean)), top + 1), mean) <= d).sum())
        p = stats.poisson.cdf(count, mean) + stats.poisson.sf(top - far, mean)
    else:
        far = int((stats.poisson.pmf(np.arange(0, int(np.floor(mean)) + 1), mean) <= d).sum())
        p = stats.poisson.cdf(far - 1, mean) + stats.poisson.sf(count - 1, mean)
    return float(min(1.0, p)), lo, hi


def _rate(obs: dict, metric: str, *, cluster, alpha, sign, ctx, test: str = "auto") -> pd.DataFrame:
    if test not in TESTS:
        raise ValueError(f"{metric}: test for a rate must be one of {TESTS}, got {test!r}")
    y, after, e = obs["y"], obs["after"], obs["exposure"]
    c_b, c_a = float(y[~after].sum()), float(y[after].sum())
    e_b, e_a = float(e[~after].sum()), float(e[after].sum())
    r_b, r_a = c_b / e_b, c_a / e_a
    n_groups = len(np.unique(obs["groups"]))
    if cluster is None:
        deff, where = 1.0, ", observation-level (ignores clustering)"
    else:
        _, se, df, how = _cluster_contrast(y / e, after, obs["groups"], obs["weeks"], weights=e, floor="smaller")
        deff = _design_effect(se ** 2, r_a / e_a + r_b / e_b, df, alpha)
        where = f" on Rao–Scott effective counts, {cluster}-clustered ({how}; deff {deff:.2f}, G={n_groups})"
        if not np.isfinite(deff):
            if c_a + c_b == 0:
                deff = 1.0  # no events: no variance to estimate, and nothing to test
            else:
                return _result(metric, "Poisson score test (not run)", RATE_PER * r_b, RATE_PER * r_a,
                               r_a / r_b if r_b > 0 else np.nan, (np.nan, np.nan), np.nan, int((~after).sum()),
                               int(after.sum()), np.nan, scale="ratio",
                               reason="no clustered variance (a cluster alone identifies a window's rate)", **ctx)
    eff = (c_a / deff, e_a / deff, c_b / deff, e_b / deff)
    ratio = r_a / r_b if r_b > 0 else (np.inf if r_a > 0 else np.nan)
    chosen = test if test != "auto" else ("exact" if min(eff[0], eff[2]) < EXACT_BELOW else "score")
    # nothing happened at all / nothing left to reduce
    edge = "no events" if c_a + c_b == 0 else ("at ceiling" if sign < 0 and c_b == 0 else None)
    if c_a + c_b == 0:
        p, interval = 1.0, lambda a: (0.0, np.inf)
        method = f"no events in either window{where}"
    elif chosen == "exact":
        # few events: a clustered variance below the simple one is noise, never a licence to test more events
        eff = (c_a / max(deff, 1.0), e_a / max(deff, 1.0), c_b / max(deff, 1.0), e_b / max(deff, 1.0))
        # the conditional binomial needs whole counts: effective counts are rounded
        k_a, k_b = int(round(eff[0])), int(round(eff[2]))
        p = exact_rate_ratio(k_a, eff[1], k_b, eff[3], alpha)[0]

        def interval(a):
            lo, hi = exact_rate_ratio(k_a, eff[1], k_b, eff[3], a)[1:]
            if np.isfinite(ratio):
                lo, hi = min(lo, ratio), max(hi, ratio)  # rounding must not move the estimate out
            return lo, hi
        why = f"smaller effective count {min(eff[0], eff[2]):.1f} < {EXACT_BELOW}" if test == "auto" else "by request"
        method = (f"exact conditional (binomial) test + Clopper–Pearson CI for rate ratio (R poisson.test)"
                  f"{where} ({why})")
    else:
        p = test_poisson_2indep(*eff, method="score", compare="ratio").pvalue
        def interval(a):
            return tuple(confint_poisson_2indep(*eff, method="score", compare="ratio", alpha=a))
        method = f"Poisson score test + score CI for rate ratio{where}"
    # the MDE from the same effective exposures, the design effect's median shortfall undone (see _se_median_factor)
    shrink = _se_median_factor(df if cluster is not None else None) ** 2
    mde = _mde_rate(r_b, eff[1] / shrink, eff[3] / shrink, alpha, sign)
    # at the MDE the smaller effective count may fall below EXACT_BELOW, where the exact test runs:
    # its power decides the MDE there (as the test, with the design effect at least 1)
    low = max(deff, 1.0) * shrink
    if test in ("auto", "exact") and c_a + c_b > 0 and np.isfinite(mde) and (
            test == "exact" or min(mde * r_b * eff[1], r_b * eff[3]) < EXACT_BELOW):
        mde = _mde_rate_exact(r_b, e_a / low, e_b / low, alpha, sign)
    return _result(metric, method, RATE_PER * r_b, RATE_PER * r_a, ratio, interval(alpha), p,
                   int((~after).sum()), int(after.sum()), mde, scale="ratio", edge=edge, interval=interval, **ctx)
