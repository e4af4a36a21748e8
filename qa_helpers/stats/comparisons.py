"""Before/after comparison of one metric: picks the test for its kind and builds the windows.
"""

from __future__ import annotations

import pandas as pd

from qa_helpers.stats._common import _observations
from qa_helpers.stats.durations import _duration
from qa_helpers.stats.ordinal import _ordinal
from qa_helpers.stats.proportions import _proportion
from qa_helpers.stats.rates import _rate
from qa_helpers.stats.results import KINDS, _SCALE, _check_options
from qa_helpers.stats.standardised import _standardised
from qa_helpers.stats.windows import label_windows, week_windows

_COMPARE = {"proportion": _proportion, "duration": _duration, "ordinal": _ordinal, "rate": _rate}


def compare(data: pd.DataFrame, metric: str, kind: str, *, window: str = "window", value: str = "value",
            cluster: str | None = "agent_id", exposure: str | None = None, stratify: str | None = None,
            direction: str = "increase", alpha: float = 0.05,
            expected_effect: float | None = None) -> pd.DataFrame:
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
    obs = _observations(data, metric, kind, window=window, value=value, cluster=cluster,
                        exposure=exposure, stratify=stratify)
    sign = 1 if direction == "increase" else -1
    ctx = {"direction": direction, "alpha": alpha, "expected_effect": expected_effect}
    if stratify is not None:
        return _standardised(obs, kind, metric, cluster=cluster, stratify=stratify, alpha=alpha,
                             sign=sign, ctx=ctx)
    return _COMPARE[kind](obs, metric, cluster=cluster, alpha=alpha, sign=sign, ctx=ctx)


def before_after(data: pd.DataFrame, metric: str, kind: str, start, *, time: str = "created_at",
                 value: str = "value", cluster: str | None = "agent_id", exposure: str | None = None,
                 stratify: str | None = None, direction: str = "increase", weeks_before: int = 8,
                 weeks_after: int = 8, washout_weeks: int = 0, alpha: float = 0.05,
                 expected_effect: float | None = None) -> pd.DataFrame:
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
    value, cluster, exposure, stratify, direction, alpha, expected_effect
        As in :func:`compare`.

    Returns
    -------
    DataFrame
        One row with :data:`COLUMNS`.
    """
    if time not in data.columns:
        raise ValueError(f"{metric}: time column {time!r} not in the data")
    windows = week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after,
                           washout_weeks=washout_weeks)
    column = "_qa_window"
    labelled = data.assign(**{column: label_windows(data[time], windows)})
    return compare(labelled, metric, kind, window=column, value=value, cluster=cluster, exposure=exposure,
                   stratify=stratify, direction=direction, alpha=alpha, expected_effect=expected_effect)
