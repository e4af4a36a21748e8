"""Handle / response seconds: ratio of geometric means on the log scale, agent-clustered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from qa_helpers.stats._common import _interval_t, _t_inference
from qa_helpers.stats.cr2 import _cluster_contrast
from qa_helpers.stats.power import _mde_t
from qa_helpers.stats.results import _result

def _duration(obs: dict, metric: str, *, cluster, alpha, sign, ctx, test: str = "auto") -> pd.DataFrame:
    if test not in ('auto', 'welch'):
        raise ValueError(f"{metric}: test must be one of ('auto', 'welch') here, got {test!r}")
    y, after = obs["y"], obs["after"]
    log_b, log_a = np.log(y[~after]), np.log(y[after])
    n_b, n_a = len(log_b), len(log_a)
    gm_b, gm_a = np.exp(log_b.mean()), np.exp(log_a.mean())
    if test == "welch" and cluster is not None:
        raise ValueError(f"{metric}: the Welch t test is observation-level; pass cluster=None with it")
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
