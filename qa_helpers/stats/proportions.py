"""Shares (CSAT top-2, FCR, on-time): Newcombe CI + score test on Rao–Scott effective counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from qa_helpers.stats._common import _cells, _design_effect
from qa_helpers.stats.power import _mde_proportion
from qa_helpers.stats.results import _result

def _proportion(obs: dict, metric: str, *, cluster, alpha, sign, ctx) -> pd.DataFrame:
    y, after = obs["y"], obs["after"]
    n_b, n_a = int((~after).sum()), int(after.sum())
    x_b, x_a = float(y[~after].sum()), float(y[after].sum())
    p_b, p_a = x_b / n_b, x_a / n_a
    n_groups = len(np.unique(obs["groups"]))
    if cluster is None:
        deff, method = 1.0, "Newcombe CI + score test, observation-level (ignores clustering)"
    else:
        _, _, cov = _cells(y, after, obs["strata"], obs["groups"], np.ones(len(y)), True)
        var_c = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
        deff = _design_effect(var_c, p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b, n_groups, alpha)
        method = (f"Newcombe CI + score test on Rao–Scott effective counts, {cluster}-clustered "
                  f"(deff {deff:.2f}, G={n_groups})")
    eff = (x_a / deff, n_a / deff, x_b / deff, n_b / deff)
    lo, hi = confint_proportions_2indep(*eff, method="newcomb", compare="diff", alpha=alpha)
    p = test_proportions_2indep(*eff, method="score", compare="diff", correction=False).pvalue
    p = 1.0 if not np.isfinite(p) and p_a == p_b else p
    mde = _mde_proportion(p_b, eff[1], eff[3], alpha, sign)
    return _result(metric, method, p_b, p_a, p_a - p_b, (lo, hi), p, n_b, n_a, mde, scale="difference", **ctx)
