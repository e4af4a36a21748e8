"""Difference-in-differences of treated team(s) against control teams on the weekly panel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from qa_helpers.stats._common import _checked_exposure, _checked_values, _groups, _t_inference
from qa_helpers.stats.power import _mde_t
from qa_helpers.stats.results import RATE_PER, _SCALE, _check_options, _result
from qa_helpers.stats.windows import label_windows, week_windows

def diff_in_diff(data: pd.DataFrame, metric: str, kind: str, start, *, treated: str | list[str],
                 controls: list[str], team: str = "team", time: str = "created_at", value: str = "value",
                 cluster: str | None = "agent_id", exposure: str | None = None, direction: str = "increase",
                 weeks_before: int = 8, weeks_after: int = 8, washout_weeks: int = 0, alpha: float = 0.05,
                 expected_effect: float | None = None) -> pd.DataFrame:
    """Difference-in-differences of the treated team(s) against control teams, by week.

    The observations are collapsed to ``team x cluster x week`` cells (the team-week panel
    split by agent; with ``cluster=None`` the plain team-week panel) and the model
    ``outcome ~ team + week + treated:after`` is fitted with weights = observations per cell:
    WLS for proportions (difference in differences, linear probability) and durations (log
    scale: ratio of geometric-mean ratios), Poisson GLM with log-exposure offset for rates
    (ratio of rate ratios). Week fixed effects absorb season and shocks common to all teams.

    Errors are cluster-robust (CR1) by ``cluster`` with t on G - 1 degrees of freedom.
    The default clusters by agent, not by team: with one treated and one to three control
    teams, team-clustered errors rest on 2–4 clusters, where the sandwich is badly biased and
    the t reference has 1–3 degrees of freedom. Agent clusters (tens of them) capture the
    persistence of each agent's level across weeks; what they cannot capture is a shock to a
    whole team in some weeks (e.g. a team lead's absence) beyond the common week effects —
    read the weekly series before trusting a DiD verdict. With many teams, pass
    ``cluster=team``.

    Parameters
    ----------
    data : DataFrame
        Observation-level rows of the treated and control teams (other teams are ignored).
    treated : str or list of str
        Team(s) that took the action.
    controls : list of str
        Comparable teams that did not.
    kind : {"proportion", "duration", "rate"}
        As in :func:`compare` (ordinal scores: use a top-2 share as a proportion).
    Other parameters are as in :func:`before_after`.

    Returns
    -------
    DataFrame
        One row with :data:`COLUMNS`. ``before`` / ``after`` are the treated team's own
        window levels (share, geometric mean, rate per :data:`RATE_PER`); ``effect`` is the
        change beyond the controls' change.
    """
    if kind not in ("proportion", "duration", "rate"):
        raise ValueError("diff_in_diff handles kind 'proportion', 'duration' or 'rate'")
    if exposure is not None and kind != "rate":
        raise ValueError("exposure only applies to kind='rate'")
    scale = _SCALE[kind]
    _check_options(direction, alpha, expected_effect, scale)
    treated = [treated] if isinstance(treated, str) else list(treated)
    controls = list(controls)
    if not controls or set(treated) & set(controls):
        raise ValueError("give at least one control team, none of them treated")
    needed = [c for c in (team, time, value, cluster, exposure) if c is not None]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise ValueError(f"{metric}: column(s) {missing} not in the data")
    windows = week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after, washout_weeks=washout_weeks)
    label = label_windows(data[time], windows)
    keep = label.isin(["before", "after"]) & data[team].isin(treated + controls) & data[value].notna()
    if exposure is not None:
        keep &= data[exposure].notna()
    sub = data.loc[keep]
    is_after = (label[keep] == "after").to_numpy()
    is_treated = sub[team].isin(treated).to_numpy()
    y = _checked_values(sub[value], metric, kind, value)
    e = _checked_exposure(sub, metric, exposure)
    for who, mask in (("treated", is_treated), ("control", ~is_treated)):
        for name, part in (("before", ~is_after), ("after", is_after)):
            if not (mask & part).any():
                raise ValueError(f"{metric}: no {who} observations in the {name} window")
    cells = pd.DataFrame({
        "team": sub[team].to_numpy(), "treated": is_treated, "after": is_after,
        # without clustering the panel is team x week (one cluster code per team)
        "cluster": _groups(sub[cluster], len(sub)) if cluster is not None else pd.factorize(sub[team])[0],
        "week": sub[time].dt.to_period("W-SUN").dt.start_time.to_numpy(),
        "y": np.log(y) if kind == "duration" else y, "n": e,
    }).groupby(["team", "cluster", "week"], sort=True).agg(
        treated=("treated", "first"), after=("after", "first"), y=("y", "sum"), n=("n", "sum"),
    ).reset_index()
    design = pd.get_dummies(cells[["team", "week"]].astype(str), drop_first=True, dtype=float)
    design.insert(0, "const", 1.0)
    design["did"] = (cells["treated"] & cells["after"]).astype(float)
    groups = cells["cluster"].to_numpy()
    n_groups = len(np.unique(groups))
    clustered = cluster is not None
    fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": groups}} if clustered else {"cov_type": "HC1"}
    if kind == "rate":
        fit = sm.GLM(cells["y"], design, family=sm.families.Poisson(), offset=np.log(cells["n"])).fit(**fit_kw)
    else:
        fit = sm.WLS(cells["y"] / cells["n"], design, weights=cells["n"]).fit(**fit_kw)
    est, se = float(fit.params["did"]), float(fit.bse["did"])
    df = n_groups - 1 if clustered else None
    p, lo, hi = _t_inference(est, se, df, alpha)
    sign = 1 if direction == "increase" else -1
    mde = sign * _mde_t(se, df, alpha)
    tb, ta = is_treated & ~is_after, is_treated & is_after
    who = ", ".join(controls)
    errors = (f"{cluster}-clustered SE (CR1, t with G-1 df, G={n_groups})" if clustered
              else "HC1 SE on team-week cells (ignores clustering)")
    ctx = {"direction": direction, "alpha": alpha, "expected_effect": expected_effect}
    if kind == "proportion":
        method = f"difference-in-differences vs {who}: WLS on team-week cells with team and week effects, {errors}"
        return _result(metric, method, y[tb].mean(), y[ta].mean(), est, (lo, hi), p, tb.sum(), ta.sum(), mde,
                       scale=scale, **ctx)
    if kind == "duration":
        method = (f"difference-in-differences vs {who}: WLS of log values on team-week cells with team and "
                  f"week effects (ratio of geometric-mean ratios), {errors}")
        return _result(metric, method, np.exp(np.log(y[tb]).mean()), np.exp(np.log(y[ta]).mean()), np.exp(est),
                       (np.exp(lo), np.exp(hi)), p, tb.sum(), ta.sum(), np.exp(mde), scale=scale, **ctx)
    method = (f"difference-in-differences vs {who}: Poisson GLM on team-week cells with team and week "
              f"effects and exposure offset (ratio of rate ratios), {errors}")
    return _result(metric, method, RATE_PER * y[tb].sum() / e[tb].sum(), RATE_PER * y[ta].sum() / e[ta].sum(),
                   np.exp(est), (np.exp(lo), np.exp(hi)), p, tb.sum(), ta.sum(), np.exp(mde), scale=scale, **ctx)
