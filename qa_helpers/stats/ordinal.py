"""1–5 scores: probability of superiority, with a cluster-robust placement variance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.nonparametric import rank_compare_2indep

from qa_helpers.stats._common import _interval_t, _t_inference
from qa_helpers.stats.power import _mde_t
from qa_helpers.stats.results import _result

def _ordinal(obs: dict, metric: str, *, cluster, alpha, sign, ctx, test: str = "auto") -> pd.DataFrame:
    if test not in ('auto',):
        raise ValueError(f"{metric}: test must be one of ('auto',) here, got {test!r}")
    y, after = obs["y"], obs["after"]
    y_b, y_a = y[~after], y[after]
    n_b, n_a = len(y_b), len(y_a)
    if cluster is None:
        if min(n_a, n_b) < 2:
            raise ValueError(f"{metric}: the rank comparison needs at least 2 scores per window")
        res = rank_compare_2indep(y_a, y_b)
        prob, p = res.prob1, res.pvalue
        lo, hi = res.conf_int(alpha=alpha)
        se, df = np.sqrt(res.var_prob), res.df
        method = "Brunner–Munzel probability of superiority (CI, t test), observation-level (ignores clustering)"
    else:
        sorted_b, sorted_a = np.sort(y_b), np.sort(y_a)
        # placement values: where each score sits in the other window (ties count 1/2)
        place_a = (np.searchsorted(sorted_b, y_a, "left") + np.searchsorted(sorted_b, y_a, "right")) / (2 * n_b)
        place_b = (np.searchsorted(sorted_a, y_b, "left") + np.searchsorted(sorted_a, y_b, "right")) / (2 * n_a)
        prob = place_a.mean()
        influence = np.empty(len(y))
        influence[after] = (place_a - prob) / n_a
        influence[~after] = ((1 - place_b) - prob) / n_b
        groups, weeks = obs["groups"], obs["weeks"]
        n_groups = len(np.unique(groups))
        se, df = _placement_se(influence, groups, weeks)
        p, lo, hi = _t_inference(prob - 0.5, se, df, alpha)
        lo, hi = lo + 0.5, hi + 0.5
        two_way = (f" and ISO week (two-way, Cameron–Gelbach–Miller; t with min(G)-1 = {df} df)"
                   if weeks is not None else f" (t with G-1 df)")
        method = (f"probability of superiority, cluster-robust placement variance (Obuchowski), "
                  f"clustered by {cluster}{two_way}, G={n_groups}")
    mde = 0.5 + sign * _mde_t(se, df, alpha)
    mde = mde if 0 <= mde <= 1 else np.nan
    return _result(metric, method, y_b.mean(), y_a.mean(), prob, (max(lo, 0.0), min(hi, 1.0)), p, n_b, n_a,
                   mde, scale="probability", interval=_interval_t(prob - 0.5, se, df, offset=0.5, bounds=(0.0, 1.0)),
                   **ctx)


def _placement_se(influence: np.ndarray, groups: np.ndarray, weeks: np.ndarray | None) -> tuple[float, int]:
    """CR1 variance of the placement influence values, two-way by agent and week when
    ``weeks`` is given (``V_agent + V_week - V_observation``, floored at the agent part, as in
    :func:`qa_helpers.stats.cr2.two_way_contrast`); df = the smaller number of clusters - 1."""

    def one_way(codes: np.ndarray, values: np.ndarray = influence) -> tuple[float, int]:
        totals = np.bincount(pd.factorize(codes)[0], weights=values)
        n = len(totals)
        return n / (n - 1) * float(np.sum(totals ** 2)), n

    var_groups, n_groups = one_way(groups)
    if weeks is None:
        return float(np.sqrt(var_groups)), n_groups - 1
    var_weeks, n_weeks = one_way(weeks)
    var_each, _ = one_way(np.arange(len(influence)))
    var = max(var_groups + var_weeks - var_each, var_groups)
    return float(np.sqrt(var)), min(n_groups, n_weeks) - 1
