"""Events per exposure (complaints per 1 000 tickets): Poisson score test and CI for the rate
ratio on Rao–Scott effective counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.rates import confint_poisson_2indep, test_poisson_2indep

from qa_helpers.stats._common import _cells, _design_effect
from qa_helpers.stats.power import _mde_rate
from qa_helpers.stats.results import RATE_PER, _result

def _rate(obs: dict, metric: str, *, cluster, alpha, sign, ctx) -> pd.DataFrame:
    y, after, e = obs["y"], obs["after"], obs["exposure"]
    c_b, c_a = float(y[~after].sum()), float(y[after].sum())
    e_b, e_a = float(e[~after].sum()), float(e[after].sum())
    r_b, r_a = c_b / e_b, c_a / e_a
    n_groups = len(np.unique(obs["groups"]))
    if cluster is None:
        deff, method = 1.0, "Poisson score test + score CI for rate ratio, observation-level (ignores clustering)"
    else:
        _, _, cov = _cells(y / e, after, obs["strata"], obs["groups"], e, True)
        var_c = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
        deff = _design_effect(var_c, r_a / e_a + r_b / e_b, n_groups, alpha)
        method = (f"Poisson score test + score CI for rate ratio on Rao–Scott effective counts, "
                  f"{cluster}-clustered (deff {deff:.2f}, G={n_groups})")
    eff = (c_a / deff, e_a / deff, c_b / deff, e_b / deff)
    if c_a + c_b == 0:
        p, lo, hi, ratio = np.nan, np.nan, np.nan, np.nan
    else:
        p = test_poisson_2indep(*eff, method="score", compare="ratio").pvalue
        lo, hi = confint_poisson_2indep(*eff, method="score", compare="ratio", alpha=alpha)
        ratio = r_a / r_b if r_b > 0 else np.inf
    mde = _mde_rate(r_b, eff[1], eff[3], alpha, sign)
    return _result(metric, method, RATE_PER * r_b, RATE_PER * r_a, ratio, (lo, hi), p,
                   int((~after).sum()), int(after.sum()), mde, scale="ratio", **ctx)
