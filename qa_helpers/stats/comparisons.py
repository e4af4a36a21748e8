"""Before/after comparison of one metric: picks the test for its kind and builds the windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_helpers.stats._common import _observations
from qa_helpers.stats.durations import _duration
from qa_helpers.stats.ordinal import _ordinal
from qa_helpers.stats.proportions import _proportion
from qa_helpers.stats.rates import _rate
from qa_helpers.stats.results import KINDS, RATE_PER, _SCALE, _check_options, _result
from qa_helpers.stats.standardised import _standardised
from qa_helpers.stats.windows import label_windows, week_windows

_COMPARE = {"proportion": _proportion, "duration": _duration, "ordinal": _ordinal, "rate": _rate}


def compare(data: pd.DataFrame, metric: str, kind: str, *, window: str = "window", value: str = "value",
            cluster: str | None = "agent_id", exposure: str | None = None, stratify: str | None = None,
            direction: str = "increase", alpha: float = 0.05,
            expected_effect: float | None = None, test: str = "auto",
            score_range: tuple[int, int] | None = None, week: str | None = None) -> pd.DataFrame:
    """Compare a metric between observations labelled ``before`` and ``after``.

    Parameters
    ----------
    data : DataFrame
        One row per observation (ticket, survey answer, visit). Rows whose ``window`` is not
        ``before``/``after`` or whose value is missing are ignored.
    metric : str
        Name written in the result's ``metric`` column.
    kind : {"proportion", "duration", "ordinal", "rate"}
        Picks the method and the effect scale (see :mod:`qa_helpers.stats`).
    window : str
        Column holding ``before`` / ``after`` (as :func:`label_windows` writes it).
    value : str
        0/1 outcome (proportion), positive duration, 1–5 score (ordinal) or event count (rate).
    cluster : str or None
        Column the observations cluster in (default the agent). ``None`` gives the naive
        observation-level test, which over-states certainty when observations cluster.
    week : str, optional
        Column naming each observation's week. Given (as :func:`before_after` does by
        default), clustered tests are two-way clustered on ``cluster`` and week
        (Cameron–Gelbach–Miller): a week that is good or bad for the whole team is then
        part of the noise, not an effect. Needs at least 2 weeks per window; with fewer the
        test is clustered on ``cluster`` only and ``note`` says so.
    exposure : str, optional
        ``rate`` only: exposure per row (default: every row is one unit, e.g. one ticket).
    stratify : str, optional
        ``proportion``/``duration``/``rate``: report the effect directly standardised to the
        before-window mix of this column (e.g. ``channel``), with a Wald CI from the
        clustered covariance. Use it when :func:`mix_shift` shows the mix moved.
    direction : {"increase", "decrease"}
        Which way is better (``decrease`` for handle time, complaints).
    alpha : float
        Significance level for the CI, the verdict and the MDE.
    expected_effect : float, optional
        The effect the action hoped for, in the effect's scale (difference for proportions,
        ratio for durations and rates, probability of superiority for ordinal scores).
    test : str
        The named method; ``"auto"`` (default) picks per kind and size, and ``method`` says
        which ran. ``proportion``: ``"score"`` (Newcombe CI + score test), ``"exact"`` (Fisher
        + Clopper–Pearson-based Newcombe CI; automatic when the smallest effective cell of the
        2 x 2 table is below 10), ``"yates"`` (R ``prop.test``). ``rate``: ``"score"``,
        ``"exact"`` (conditional binomial + Clopper–Pearson CI, R ``poisson.test``; automatic
        when a window has fewer than 10 effective events). ``duration``: ``"welch"`` (Welch t
        on log values, the naive default; R ``t.test`` on ``log(x)``), ``"wilcoxon"`` (rank-sum,
        R ``wilcox.test``: Hodges–Lehmann ratio + Moses CI), both observation-level
        (``cluster=None``); the clustered default is CR2 with Bell–McCaffrey df.
    score_range : (int, int), optional
        ``ordinal`` only: the scale (e.g. ``(1, 5)``, ``(0, 10)``); scores outside it, or not whole
        numbers, are refused.

    Returns
    -------
    DataFrame
        One row with :data:`COLUMNS`.

    Examples
    --------
    >>> d = pd.DataFrame({"window": ["before"] * 100 + ["after"] * 100,
    ...                   "value": [1] * 60 + [0] * 40 + [1] * 75 + [0] * 25})
    >>> r = compare(d, "fcr", "proportion", cluster=None)
    >>> r[["before", "after", "verdict"]].values.tolist()
    [[0.6, 0.75, 'improved']]
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if exposure is not None and kind != "rate":
        raise ValueError("exposure only applies to kind='rate'")
    if stratify is not None and kind == "ordinal":
        raise ValueError("stratify is not available for ordinal scores; compare within each stratum instead")
    scale = _SCALE[kind]
    _check_options(direction, alpha, expected_effect, scale)
    if score_range is not None and kind != "ordinal":
        raise ValueError("score_range only applies to kind='ordinal'")
    obs = _observations(data, metric, kind, window=window, value=value, cluster=cluster,
                        exposure=exposure, stratify=stratify, week=week)
    if kind == "ordinal":
        _check_scores(obs["y"], metric, score_range)
    sign = 1 if direction == "increase" else -1
    ctx = {"direction": direction, "alpha": alpha, "expected_effect": expected_effect, "note": obs["note"]}
    if obs["problem"]:
        return _unestimable(obs, kind, metric, obs["problem"], ctx)
    if stratify is not None:
        return _standardised(obs, kind, metric, cluster=cluster, stratify=stratify, alpha=alpha,
                             sign=sign, ctx=ctx)
    return _COMPARE[kind](obs, metric, cluster=cluster, alpha=alpha, sign=sign, ctx=ctx, test=test)


def before_after(data: pd.DataFrame, metric: str, kind: str, start, *, time: str = "created_at",
                 value: str = "value", cluster: str | None = "agent_id", exposure: str | None = None,
                 stratify: str | None = None, direction: str = "increase", weeks_before: int = 8,
                 weeks_after: int = 8, washout_weeks: int = 0, alpha: float = 0.05,
                 expected_effect: float | None = None, test: str = "auto",
                 score_range: tuple[int, int] | None = None, cluster_weeks: bool = True) -> pd.DataFrame:
    """Before/after comparison of one metric around an action's start, in whole weeks.

    Builds the windows with :func:`week_windows`, labels the observations by ``time`` and
    runs :func:`compare`. A before/after on one team is exposed to season and regression to
    the mean; prefer :func:`diff_in_diff` when a comparable control team exists.

    Parameters
    ----------
    data : DataFrame
        One row per observation (ticket, survey answer, visit) of the team evaluated.
    metric, kind : str
        Result name and kind of metric, as in :func:`compare`.
    start : str or Timestamp
        When the action started.
    time : str
        Timestamp column that places an observation in a window.
    weeks_before, weeks_after, washout_weeks : int
        Window lengths in whole weeks, as in :func:`week_windows`.
    cluster_weeks : bool
        Cluster on ISO weeks as well as on ``cluster`` (two-way, the default). Teams have
        good and bad weeks (a lead away, a system outage, a campaign); clustered on agents
        only, a before/after test reads those shared shocks as an effect (16 % false alarms
        for durations at alpha 5 % with team-week shocks of SD 0.1 on the log scale in the
        kit's simulation, ``benchmarks/simulate_stats.py``). ``False`` is the agent-only test.
    value, cluster, exposure, stratify, direction, alpha, expected_effect, test, score_range
        As in :func:`compare`.

    Returns
    -------
    DataFrame
        One row with :data:`COLUMNS`.
    """
    if time not in data.columns:
        raise ValueError(f"{metric}: time column {time!r} not in the data")
    _check_naive_times(data[time], metric, time)
    windows = week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after,
                           washout_weeks=washout_weeks)
    column, week = "_qa_window", "_qa_week"
    labelled = data.assign(**{column: label_windows(data[time], windows),
                              week: data[time].dt.to_period("W-SUN").dt.start_time})
    return compare(labelled, metric, kind, window=column, value=value, cluster=cluster, exposure=exposure,
                   stratify=stratify, direction=direction, alpha=alpha, expected_effect=expected_effect,
                   test=test, score_range=score_range, week=week if cluster_weeks else None)


def _check_naive_times(times: pd.Series, metric: str, column: str) -> None:
    """Windows are in naive archive time; a tz-aware column would fail deep inside pandas."""
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"{metric}: {column!r} holds tz-aware timestamps ({times.dtype.tz}); windows are in naive "
                         f"archive time: convert first, e.g. data[{column!r}].dt.tz_convert(zone).dt.tz_localize(None)")
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise ValueError(f"{metric}: {column!r} must hold timestamps (datetime64), got {times.dtype}")


def _unestimable(obs: dict, kind: str, metric: str, reason: str, ctx: dict) -> pd.DataFrame:
    """A "not estimable" row: the window levels, sizes and the reason, no test."""
    y, after, e = obs["y"], obs["after"], obs["exposure"]
    scale = _SCALE[kind]
    if kind == "duration":
        before, later = np.exp(np.log(y[~after]).mean()), np.exp(np.log(y[after]).mean())
        effect = later / before
    elif kind == "rate":
        before, later = RATE_PER * y[~after].sum() / e[~after].sum(), RATE_PER * y[after].sum() / e[after].sum()
        effect = later / before if before > 0 else np.nan
    else:
        before, later = y[~after].mean(), y[after].mean()
        effect = later - before if kind == "proportion" else np.nan
    return _result(metric, "not estimable (no test run)", before, later, effect, (np.nan, np.nan), np.nan,
                   (~after).sum(), after.sum(), np.nan, scale=scale, reason=reason, **ctx)


def _check_scores(y: np.ndarray, metric: str, score_range: tuple[int, int] | None) -> None:
    """Ordinal scores are whole numbers on a known scale; anything else is a data error."""
    if not np.all(y == np.round(y)):
        raise ValueError(f"{metric}: ordinal scores must be whole numbers")
    if score_range is not None:
        low, high = score_range
        outside = (y < low) | (y > high)
        if outside.any():
            raise ValueError(f"{metric}: {int(outside.sum())} score(s) outside the scale {low}-{high} "
                             f"(e.g. {y[outside][0]:g})")
