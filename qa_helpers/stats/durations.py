"""Handle / response seconds: ratio of geometric means on the log scale, clustered on agent and
week; observation-level Welch t on log values or Wilcoxon rank-sum by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from qa_helpers.stats._common import _interval_t, _t_inference
from qa_helpers.stats.cr2 import _cluster_contrast
from qa_helpers.stats.power import _mde_t
from qa_helpers.stats.results import _result

TESTS = ("auto", "welch", "wilcoxon")
EXACT_WILCOXON_BELOW = 50  # R's wilcox.test: exact p when both samples are smaller and have no ties


def _kth_difference(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """The k-th smallest (0-based) of the n_a x n_b differences a_i - b_j, by bisection on
    counts (O(n log n) memory-free; the differences themselves could be millions)."""
    b = np.sort(b)
    lo, hi = a.min() - b.max(), a.max() - b.min()
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        below = int((len(b) - np.searchsorted(b, a - mid, "left")).sum())  # differences <= mid
        lo, hi = (lo, mid) if below > k else (mid, hi)
    return float(hi)


def wilcoxon_rank_sum(x: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float, str]:
    """Wilcoxon rank-sum test of ``x`` against ``y`` as R's ``wilcox.test(x, y, conf.int = TRUE)``.

    p: exact when both samples have fewer than 50 values and no ties, else the normal
    approximation with tie and continuity corrections (R's defaults; scipy ``mannwhitneyu``).
    Estimate: the Hodges–Lehmann shift (median of the differences ``x_i - y_j``); CI: Moses'
    distribution-free interval from the same rank statistic's normal approximation (the
    ``k``-th smallest and largest differences). Returns ``W, p, estimate, lo, hi, how``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n_x, n_y = len(x), len(y)
    ties = len(np.unique(np.r_[x, y])) < n_x + n_y
    exact = max(n_x, n_y) < EXACT_WILCOXON_BELOW and not ties
    res = stats.mannwhitneyu(x, y, alternative="two-sided", use_continuity=True,
                             method="exact" if exact else "asymptotic")
    pairs = n_x * n_y
    mid = (pairs - 1) / 2
    estimate = (_kth_difference(x, y, int(np.floor(mid))) + _kth_difference(x, y, int(np.ceil(mid)))) / 2
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(pairs * (n_x + n_y + 1) / 12)
    k = int(np.floor(pairs / 2 - half))
    if k < 0:
        lo, hi = -np.inf, np.inf
    else:
        lo, hi = _kth_difference(x, y, k), _kth_difference(x, y, pairs - 1 - k)
    return float(res.statistic), float(res.pvalue), estimate, lo, hi, "exact" if exact else "normal approximation"


def _duration(obs: dict, metric: str, *, cluster, alpha, sign, ctx, test: str = "auto") -> pd.DataFrame:
    if test not in TESTS:
        raise ValueError(f"{metric}: test for a duration must be one of {TESTS}, got {test!r}")
    y, after = obs["y"], obs["after"]
    log_b, log_a = np.log(y[~after]), np.log(y[after])
    n_b, n_a = len(log_b), len(log_a)
    gm_b, gm_a = np.exp(log_b.mean()), np.exp(log_a.mean())
    if test in ("welch", "wilcoxon") and cluster is not None:
        raise ValueError(f"{metric}: the {test} test is observation-level; pass cluster=None with it")
    if test == "wilcoxon":
        # ranks of seconds = ranks of log seconds: the shift on the log scale is a ratio
        _, p, shift, lo, hi, how = wilcoxon_rank_sum(log_a, log_b, alpha)
        method = (f"Wilcoxon rank-sum test ({how}; R wilcox.test) + Hodges–Lehmann ratio with Moses CI, "
                  f"observation-level (ignores clustering)")
        interval = lambda a: tuple(np.exp(wilcoxon_rank_sum(log_a, log_b, a)[3:5]))  # noqa: E731
        return _result(metric, method, gm_b, gm_a, np.exp(shift), (np.exp(lo), np.exp(hi)), p, n_b, n_a, np.nan,
                       scale="ratio", interval=interval, **ctx)
    if cluster is None:
        # Welch t on log values: p and CI from the same statistic (they used to come from
        # Brunner–Munzel and Welch, and disagreed in ~5 % of null runs)
        if min(n_a, n_b) < 2:
            p = lo = hi = se = df = np.nan
        else:
            welch = stats.ttest_ind(log_a, log_b, equal_var=False)
            lo, hi = welch.confidence_interval(1 - alpha)
            se, df, p = np.sqrt(log_a.var(ddof=1) / n_a + log_b.var(ddof=1) / n_b), welch.df, welch.pvalue
        p = p if np.isfinite(se) and se > 0 else np.nan
        est = log_a.mean() - log_b.mean()
        mde = _mde_t(se, df, alpha)
        method = "Welch t test + CI on log values (ratio of geometric means), observation-level (ignores clustering)"
    else:
        est, se, df, how = _cluster_contrast(np.log(y), after, obs["groups"], obs["weeks"])
        n_groups = len(np.unique(obs["groups"]))
        p, lo, hi = _t_inference(est, se, df, alpha)
        mde = _mde_t(se, df, alpha)
        method = f"ratio of geometric means, OLS on log values, {cluster}-clustered SE ({how}, G={n_groups})"
    interval = _interval_t(est, se, df, log=True)
    return _result(metric, method, gm_b, gm_a, gm_a / gm_b, (np.exp(lo), np.exp(hi)), p, n_b, n_a,
                   np.exp(sign * mde), scale="ratio", interval=interval, **ctx)
