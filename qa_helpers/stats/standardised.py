"""Direct standardisation to the before-window mix of a category (channel, ...), Wald/t on
the clustered contrast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_helpers.stats._common import (_cell_design, _cell_means, _cells, _cluster_note, _cluster_problem, _contrast,
                                      _interval_t, _t_inference)
from qa_helpers.stats.cr2 import two_way_contrast
from qa_helpers.stats.power import _mde_t
from qa_helpers.stats.results import RATE_PER, _result

def _standardised(obs: dict, kind: str, metric: str, *, cluster: str | None, stratify: str | None,
                  alpha: float, sign: int, ctx: dict) -> pd.DataFrame:
    """Direct standardisation to the before-window mix of ``stratify``; Wald/t on the contrast."""
    y, after, strata, e = obs["y"], obs["after"], obs["strata"], obs["exposure"]
    n_strata = len(obs["labels"])
    size_b = np.bincount(strata[~after], weights=e[~after], minlength=n_strata)
    size_a = np.bincount(strata[after], weights=e[after], minlength=n_strata)
    both = (size_b > 0) & (size_a > 0)
    dropped = [str(obs["labels"][s]) for s in np.flatnonzero(~both)]
    if not both.any():
        from qa_helpers.stats.comparisons import _unestimable
        return _unestimable(obs, kind, metric, f"no level of {stratify!r} has observations in both windows", ctx)
    keep = both[strata]
    remap = np.cumsum(both) - 1
    y, after, groups, e = y[keep], after[keep], obs["groups"][keep], e[keep]
    weeks = obs["weeks"][keep] if obs["weeks"] is not None else None
    strata = remap[strata[keep]]
    w = size_b[both] / size_b[both].sum()
    clustered = cluster is not None
    response = np.log(y) if kind == "duration" else (y / e if kind == "rate" else y)
    weights = e if kind == "rate" else np.ones(len(y))
    if clustered:  # the cell means alone: the CR2 below gives the variance, so no HC1 fit of every row
        mu_b, mu_a = _cell_means(response, after, strata, weights)
    else:
        mu_b, mu_a, cov = _cells(response, after, strata, groups, weights, False)
    n_groups = len(np.unique(groups))
    if clustered:
        problem = _cluster_problem(groups, after, cluster)
        if problem:  # dropping strata can leave a window with a single cluster
            from qa_helpers.stats.comparisons import _unestimable
            return _unestimable(obs, kind, metric, f"{problem} (after dropping strata not seen in both)", ctx)
    level_b, level_a = float(w @ mu_b), float(w @ mu_a)
    # the contrast (its gradient for the log rate ratio, delta method) of the cell means
    grad_b, grad_a = (-w / level_b, w / level_a) if kind == "rate" else (-w, w)
    est = np.log(level_a / level_b) if kind == "rate" else level_a - level_b
    if clustered:  # CR2 as the crude test, two-way with weeks when given
        _, se, df = two_way_contrast(_cell_design(after, strata), response, groups, weeks,
                                     np.concatenate([grad_b, grad_a]), weights,
                                     "smaller" if kind == "rate" else "groups")
    else:
        se, df = _contrast(cov, grad_b, grad_a), None
    p, lo, hi = _t_inference(est, se, df, alpha)
    mde = sign * _mde_t(se, df, alpha)
    note = f"; strata dropped (empty in a window): {', '.join(dropped)}" if dropped else ""
    ref = "t" if clustered else "normal"
    floored = ", floored at the smaller one-way part" if kind == "rate" else ""
    by_week = (f" and ISO week (two-way CR2{floored}, t with Bell–McCaffrey df {df:.1f})" if clustered and weeks is not None
               else f" (CR2, t with Bell–McCaffrey df {df:.1f})" if clustered else "")
    method = (f"direct standardisation to the before-window {stratify} mix, Wald CI and test "
              f"({ref}), {_cluster_note(cluster, n_groups)}{by_week}{note}")
    interval = _interval_t(est, se, df, log=kind != "proportion")
    if kind == "proportion":
        return _result(metric, method, level_b, level_a, est, (lo, hi), p, (~after).sum(), after.sum(), mde,
                       scale="difference", interval=interval, **ctx)
    if kind == "duration":
        method = "ratio of geometric means (log scale), " + method
        return _result(metric, method, np.exp(level_b), np.exp(level_a), np.exp(est), (np.exp(lo), np.exp(hi)),
                       p, (~after).sum(), after.sum(), np.exp(mde), scale="ratio", interval=interval, **ctx)
    method = "rate ratio (log scale, delta method), " + method
    return _result(metric, method, RATE_PER * level_b, RATE_PER * level_a, np.exp(est), (np.exp(lo), np.exp(hi)),
                   p, (~after).sum(), after.sum(), np.exp(mde), scale="ratio", interval=interval, **ctx)
