"""Handle / response seconds: ratio of geometric means on the log scale, agent-clustered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from qa_helpers.stats._common import _cells, _t_inference
from qa_helpers.stats.power import _mde_t
from qa_helpers.stats.results import _result

def _duration(obs: dict, metric: str, *, cluster, alpha, sign, ctx) -> pd.DataFrame:
    y, after = obs["y"], obs["after"]
    log_b, log_a = np.log(y[~after]), np.log(y[after])
    n_b, n_a = len(log_b), len(log_a)
    gm_b, gm_a = np.exp(log_b.mean()), np.exp(log_a.mean())
    if cluster is None:
        welch = stats.ttest_ind(log_a, log_b, equal_var=False)
        lo, hi = welch.confidence_interval(1 - alpha)
        se = np.sqrt(log_a.var(ddof=1) / n_a + log_b.var(ddof=1) / n_b) if min(n_a, n_b) > 1 else np.nan
        p = stats.brunnermunzel(y[after], y[~after]).pvalue if min(n_a, n_b) > 1 else np.nan
        mde = _mde_t(se, welch.df, alpha)
        method = ("Brunner–Munzel test + Welch CI for ratio of geometric means (log scale), "
                  "observation-level (ignores clustering)")
    else:
        _, _, cov = _cells(np.log(y), after, obs["strata"], obs["groups"], np.ones(len(y)), True)
        se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
        n_groups = len(np.unique(obs["groups"]))
        p, lo, hi = _t_inference(log_a.mean() - log_b.mean(), se, n_groups - 1, alpha)
        mde = _mde_t(se, n_groups - 1, alpha)
        method = (f"ratio of geometric means, OLS on log values, {cluster}-clustered SE "
                  f"(CR1, t with G-1 df, G={n_groups})")
    return _result(metric, method, gm_b, gm_a, gm_a / gm_b, (np.exp(lo), np.exp(hi)), p, n_b, n_a,
                   np.exp(sign * mde), scale="ratio", **ctx)
