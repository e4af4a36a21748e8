"""Shares (CSAT top-2, FCR, on-time): Newcombe CI + score test on Rao–Scott effective counts;
exact (Fisher + Clopper–Pearson based Newcombe interval) when counts are small; R's Yates-corrected
``prop.test`` on request.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from qa_helpers.stats._common import _design_effect
from qa_helpers.stats.cr2 import _cluster_contrast
from qa_helpers.stats.power import _mde_proportion, _se_median_factor
from qa_helpers.stats.results import _result

EXACT_BELOW = 10  # smallest (effective) cell of the 2 x 2 table below which the exact method is used
TESTS = ("auto", "score", "exact", "yates")


def clopper_pearson(x: float, n: float, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval for a binomial proportion, from beta quantiles (as R's binom.test)."""
    lo = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    hi = 1.0 if x >= n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lo, hi


def exact_difference(x_a: int, n_a: int, x_b: int, n_b: int, alpha: float = 0.05) -> tuple[float, float, float]:
    """Fisher's exact p (two-sided, as R's fisher.test) and a Newcombe hybrid interval for
    p_a - p_b built from Clopper–Pearson limits instead of Wilson's (never narrower than the
    exact single-proportion intervals allow; contains the estimate, also at 0/n)."""
    p = float(stats.fisher_exact([[x_a, n_a - x_a], [x_b, n_b - x_b]]).pvalue)
    (l_a, u_a), (l_b, u_b) = clopper_pearson(x_a, n_a, alpha), clopper_pearson(x_b, n_b, alpha)
    p_a, p_b = x_a / n_a, x_b / n_b
    d = p_a - p_b
    return p, d - np.hypot(p_a - l_a, u_b - p_b), d + np.hypot(u_a - p_a, p_b - l_b)


def yates_prop_test(x_a: float, n_a: float, x_b: float, n_b: float,
                    alpha: float = 0.05) -> tuple[float, float, float, float]:
    """R's ``prop.test(c(x_a, x_b), c(n_a, n_b))``: Pearson chi-square with Yates' continuity
    correction and the Wald CI widened by the same correction. Returns ``chi2, p, lo, hi``."""
    p_a, p_b = x_a / n_a, x_b / n_b
    d = p_a - p_b
    table = np.array([[x_a, n_a - x_a], [x_b, n_b - x_b]], dtype=float)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    if (expected <= 0).any():
        return np.nan, np.nan, np.nan, np.nan
    yates = min(0.5, float(np.abs(table - expected).min()))
    chi2 = float((np.maximum(np.abs(table - expected) - yates, 0) ** 2 / expected).sum())
    corr = min(0.5, abs(d) / (1 / n_a + 1 / n_b))
    width = stats.norm.ppf(1 - alpha / 2) * np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b) \
        + corr * (1 / n_a + 1 / n_b)
    return chi2, float(stats.chi2.sf(chi2, 1)), max(d - width, -1.0), min(d + width, 1.0)


def _edge(x_a: float, n_a: float, x_b: float, n_b: float, sign: int) -> str | None:
    if (sign > 0 and x_b == n_b) or (sign < 0 and x_b == 0):
        return "at ceiling"
    if x_a + x_b == 0 or x_a + x_b == n_a + n_b:
        return "no events"
    return None


def _proportion(obs: dict, metric: str, *, cluster, alpha, sign, ctx, test: str = "auto") -> pd.DataFrame:
    if test not in TESTS:
        raise ValueError(f"{metric}: test for a proportion must be one of {TESTS}, got {test!r}")
    y, after = obs["y"], obs["after"]
    n_b, n_a = int((~after).sum()), int(after.sum())
    x_b, x_a = float(y[~after].sum()), float(y[after].sum())
    p_b, p_a = x_b / n_b, x_a / n_a
    n_groups = len(np.unique(obs["groups"]))
    if cluster is None:
        deff, where = 1.0, ", observation-level (ignores clustering)"
    else:
        _, se, df, how = _cluster_contrast(y, after, obs["groups"], obs["weeks"])
        deff = _design_effect(se ** 2, p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b, df, alpha)
        where = f" on Rao–Scott effective counts, {cluster}-clustered ({how}; deff {deff:.2f}, G={n_groups})"
        if not np.isfinite(deff):
            return _result(metric, "Newcombe CI + score test (not run)", p_b, p_a, p_a - p_b, (np.nan, np.nan),
                           np.nan, n_b, n_a, np.nan, scale="difference",
                           reason="no clustered variance (a cluster alone identifies a window's mean)", **ctx)
    eff = (x_a / deff, n_a / deff, x_b / deff, n_b / deff)
    smallest = min(eff[0], eff[1] - eff[0], eff[2], eff[3] - eff[2])
    chosen = test if test != "auto" else ("exact" if smallest < EXACT_BELOW else "score")
    if chosen == "exact":
        # few counts: a clustered variance below the simple one is noise, never a licence to test more counts
        eff = (x_a / max(deff, 1.0), n_a / max(deff, 1.0), x_b / max(deff, 1.0), n_b / max(deff, 1.0))
        # Fisher and Clopper–Pearson need whole counts: effective counts are rounded (sizes at least 1)
        k_a, m_a = int(round(eff[0])), max(int(round(eff[1])), 1)
        k_b, m_b = int(round(eff[2])), max(int(round(eff[3])), 1)
        k_a, k_b = min(k_a, m_a), min(k_b, m_b)
        p = exact_difference(k_a, m_a, k_b, m_b, alpha)[0]

        def interval(a):  # rounding must not move the estimate out
            lo, hi = exact_difference(k_a, m_a, k_b, m_b, a)[1:]
            return min(lo, p_a - p_b), max(hi, p_a - p_b)
        why = f"smallest effective cell {smallest:.1f} < {EXACT_BELOW}; " if test == "auto" else ""
        method = f"Fisher's exact test + Newcombe CI from Clopper–Pearson limits{where} ({why.rstrip('; ') or 'by request'})"
    elif chosen == "yates":
        p = yates_prop_test(*eff, alpha)[1]

        def interval(a):
            return yates_prop_test(*eff, a)[2:]
        method = f"two-proportion chi-square with Yates' correction and Wald CI (R prop.test){where}"
    else:
        def interval(a):
            return tuple(confint_proportions_2indep(*eff, method="newcomb", compare="diff", alpha=a))
        p = test_proportions_2indep(*eff, method="score", compare="diff", correction=False).pvalue
        method = f"Newcombe CI + score test{where}"
    lo, hi = interval(alpha)
    p = 1.0 if not np.isfinite(p) and p_a == p_b else p
    # the MDE from the same effective sizes, the design effect's median shortfall undone (see _se_median_factor)
    shrink = _se_median_factor(df if cluster is not None else None) ** 2
    mde = _mde_proportion(p_b, eff[1] / shrink, eff[3] / shrink, alpha, sign)
    return _result(metric, method, p_b, p_a, p_a - p_b, (lo, hi), p, n_b, n_a, mde, scale="difference",
                   edge=_edge(x_a, n_a, x_b, n_b, sign), interval=interval, **ctx)
