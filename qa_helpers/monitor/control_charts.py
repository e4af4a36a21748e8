"""Monitoring (DESIGN.md §5, step "monitoring"): control charts, rule violations, coaching runs.

* ``p_chart`` — rates with a varying number of cases per period (limits step with nᵢ).
* ``xmr_chart`` — individuals and moving range, for durations (e.g. weekly mean AHT).
* ``western_electric_rules`` — the four Western Electric run rules on any chart.
* ``coaching_runs`` — agents below a threshold in K consecutive weeks (the seed rule
  "an agent below 80 % three times in a row → one-to-one coaching").
* ``plot_p_chart`` / ``plot_xmr_chart`` — the charts, violations marked.

Each chart function returns a tidy frame, one row per period, with the centre line, the
limits, the σ used for the zones, one boolean per rule, ``signal`` (any rule) and
``rules`` (which rules fired, as text).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from qa_helpers.report.plots import COLOURS, _ax, _empty

E2 = 2.66
"""XmR constant: natural process limits = mean ± E2·MR̄ (E2 = 3/d₂, d₂ = 1.128 for n = 2)."""
D4 = 3.267
"""XmR constant: upper limit of the moving-range chart = D4·MR̄."""

RULES = {
    1: "1: beyond 3σ",
    2: "2: 2 of 3 beyond 2σ",
    3: "3: 4 of 5 beyond 1σ",
    4: "4: 8 in a row on one side",
}
RULE_COLUMNS = ["rule_1", "rule_2", "rule_3", "rule_4", "signal", "rules"]
_EPS = 1e-9  # a point exactly on a zone boundary is not beyond it
LIMIT_COLOUR = "0.35"  # dark grey: limits recede behind the data, violations stand out in colour


# --------------------------------------------------------------------------- rules


def _window_count(flags: np.ndarray, width: int) -> np.ndarray:
    """How many of the last ``width`` points (the current one included) are flagged."""
    csum = np.concatenate([[0], np.cumsum(flags.astype(int))])
    idx = np.arange(len(flags))
    return csum[idx + 1] - csum[np.maximum(idx + 1 - width, 0)]


def western_electric_rules(values: Sequence[float] | np.ndarray | pd.Series,
                           center: float | Sequence[float] | np.ndarray,
                           sigma: float | Sequence[float] | np.ndarray) -> pd.DataFrame:
    """Western Electric run rules for a series with a centre line and a (per-point) σ.

    With zᵢ = (xᵢ − centreᵢ) / σᵢ (per-point σ, e.g. √(p̄(1−p̄)/nᵢ) on a p-chart), a point
    is flagged by

    1. ``rule_1``: |zᵢ| > 3 (beyond a control limit);
    2. ``rule_2``: zᵢ > 2 and at least 2 of the last 3 points (this one included) have
       z > 2 — or the same below −2;
    3. ``rule_3``: zᵢ > 1 and at least 4 of the last 5 points have z > 1 — or the same below −1;
    4. ``rule_4``: this point and the 7 before it are all above the centre line — or all below.

    The flag goes on the point that completes the pattern, which must itself be one of
    the outlying points. A point exactly on a boundary is not beyond it, a point on the
    centre line breaks a run, and a missing value counts as in control. When σᵢ = 0 a
    point off the centre line is beyond every zone (a process with no variation that moves
    has changed) and a point on it is not.

    Parameters
    ----------
    values : array-like
    center, sigma : float or array-like of the same length

    Returns
    -------
    DataFrame
        ``rule_1, rule_2, rule_3, rule_4, signal, rules`` aligned to ``values`` (its index
        when it is a Series); ``rules`` lists the rules that fired, e.g. ``"1: beyond 3σ; 4: 8 in a row on one side"``.

    Examples
    --------
    >>> r = western_electric_rules([0, 0, 4, 0], center=0, sigma=1)
    >>> r["rule_1"].tolist(), r["rules"].tolist()
    ([False, False, True, False], ['', '', '1: beyond 3σ', ''])
    """
    index = values.index if isinstance(values, pd.Series) else None
    x = np.asarray(values, dtype=float)
    c = np.broadcast_to(np.asarray(center, dtype=float), x.shape)
    s = np.broadcast_to(np.asarray(sigma, dtype=float), x.shape)
    dev = x - c
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, dev / s, np.where(dev == 0, 0.0, np.sign(dev) * np.inf))
    z = np.where(np.isnan(x) | np.isnan(c) | np.isnan(s), np.nan, z)

    def beyond(k: float) -> tuple[np.ndarray, np.ndarray]:
        return z - k > _EPS, z + k < -_EPS

    up3, lo3 = beyond(3)
    rule_1 = up3 | lo3
    up2, lo2 = beyond(2)
    rule_2 = (up2 & (_window_count(up2, 3) >= 2)) | (lo2 & (_window_count(lo2, 3) >= 2))
    up1, lo1 = beyond(1)
    rule_3 = (up1 & (_window_count(up1, 5) >= 4)) | (lo1 & (_window_count(lo1, 5) >= 4))
    above, below = z > 0, z < 0
    rule_4 = (_window_count(above, 8) >= 8) | (_window_count(below, 8) >= 8)
    out = pd.DataFrame({"rule_1": rule_1, "rule_2": rule_2, "rule_3": rule_3, "rule_4": rule_4}, index=index)
    flags = out[["rule_1", "rule_2", "rule_3", "rule_4"]].to_numpy()
    out["signal"] = flags.any(axis=1)
    out["rules"] = ["; ".join(RULES[i + 1] for i in np.flatnonzero(row)) for row in flags]
    return out


# --------------------------------------------------------------------------- p-chart


def p_chart(data: pd.DataFrame, period: str = "period", events: str = "events", n: str = "n",
            baseline: int | None = None) -> pd.DataFrame:
    """p-chart for a rate whose denominator varies by period.

    pᵢ = xᵢ / nᵢ; centre p̄ = Σx / Σn; σᵢ = √(p̄(1 − p̄) / nᵢ); limits p̄ ± 3σᵢ clipped
    to [0, 1]. Periods with nᵢ = 0 are dropped (nothing to chart). A period whose event
    count or n is missing stays in the chart with p = NaN and is left out of the centre
    entirely — its n and its events alike — so it neither drags p̄ down nor makes other
    periods look out of control; the run rules count it as in control. The Western
    Electric rules use the per-point σᵢ.

    Parameters
    ----------
    data : DataFrame
        One row per period: ``period``, ``events`` (count of cases with the attribute,
        e.g. complaints or first-contact resolutions) and ``n`` (cases).
    period, events, n : str
        Column names.
    baseline : int, optional
        Compute p̄ from the first ``baseline`` periods only (phase I) and judge every
        period against it; default all periods.

    Returns
    -------
    DataFrame
        ``period, events, n, p, center, sigma, lcl, ucl`` and the rule columns of
        ``western_electric_rules``, sorted by period.

    Examples
    --------
    >>> c = p_chart(pd.DataFrame({"period": [1, 2], "events": [10, 30], "n": [100, 100]}))
    >>> c[["p", "center", "lcl", "ucl"]].round(4).values.tolist()
    [[0.1, 0.2, 0.08, 0.32], [0.3, 0.2, 0.08, 0.32]]
    """
    for column in (period, events, n):
        if column not in data.columns:
            raise ValueError(f"p_chart: missing column {column!r}")
    frame = pd.DataFrame({"period": data[period].to_numpy(),
                          "events": pd.to_numeric(data[events]).to_numpy(dtype=float),
                          "n": pd.to_numeric(data[n]).to_numpy(dtype=float)})
    frame = frame[~(frame["n"] <= 0)].sort_values("period", kind="stable").reset_index(drop=True)
    known = frame["events"].notna() & frame["n"].notna()
    if not known.any():
        raise ValueError("p_chart: no period with n > 0 and a known event count")
    if ((frame["events"] < 0) | (frame["events"] > frame["n"])).any():
        raise ValueError("p_chart: events must lie between 0 and n")
    base = frame[known] if baseline is None else frame.iloc[:baseline][known.iloc[:baseline]]
    if base.empty:
        raise ValueError("p_chart: no baseline period with a known event count")
    p_bar = base["events"].sum() / base["n"].sum()
    frame["p"] = frame["events"] / frame["n"]
    frame["center"] = p_bar
    frame["sigma"] = np.sqrt(p_bar * (1 - p_bar) / frame["n"])
    frame["lcl"] = (p_bar - 3 * frame["sigma"]).clip(lower=0.0)
    frame["ucl"] = (p_bar + 3 * frame["sigma"]).clip(upper=1.0)
    rules = western_electric_rules(frame["p"], frame["center"], frame["sigma"])
    return pd.concat([frame, rules], axis=1)


# --------------------------------------------------------------------------- XmR


def xmr_chart(data: pd.DataFrame, value: str = "value", period: str = "period",
              baseline: int | None = None, floor: float | None = None) -> pd.DataFrame:
    """Individuals and moving-range (XmR) chart, e.g. for weekly mean handling time.

    MRᵢ = |xᵢ − xᵢ₋₁|; centre x̄ = mean of x; MR̄ = mean of the moving ranges;
    limits x̄ ± 2.66·MR̄; moving-range chart centre MR̄, upper limit 3.267·MR̄ (lower 0).
    The σ used for the Western Electric zones is 2.66·MR̄/3 (≈ MR̄/1.128), so rule 1 is
    exactly "outside the limits". Rows with a missing value are dropped.

    Parameters
    ----------
    data : DataFrame
        One row per period: ``period`` and ``value``.
    value, period : str
        Column names.
    baseline : int, optional
        Compute x̄ and MR̄ from the first ``baseline`` periods only; default all.
    floor : float, optional
        Lowest meaningful value (e.g. 0 for durations): the reported lower limit is raised
        to it (the rule zones still use σ, as on the p-chart). Default none, i.e. the
        textbook x̄ − 2.66·MR̄.

    Returns
    -------
    DataFrame
        ``period, value, mr, center, sigma, lcl, ucl, mr_center, mr_ucl, mr_beyond`` and
        the rule columns of ``western_electric_rules``.

    Examples
    --------
    >>> c = xmr_chart(pd.DataFrame({"period": [1, 2, 3], "value": [10.0, 12.0, 11.0]}))
    >>> float(c["center"][0]), float(c["mr_center"][0]), float(c["ucl"][0]), float(c["mr_ucl"][0])
    (11.0, 1.5, 14.99, 4.9005)
    """
    for column in (period, value):
        if column not in data.columns:
            raise ValueError(f"xmr_chart: missing column {column!r}")
    frame = pd.DataFrame({"period": data[period].to_numpy(),
                          "value": pd.to_numeric(data[value]).to_numpy(dtype=float)})
    frame = frame.dropna(subset=["value"]).sort_values("period", kind="stable").reset_index(drop=True)
    if len(frame) < 2:
        raise ValueError("xmr_chart: need at least two values")
    frame["mr"] = frame["value"].diff().abs()
    base = frame if baseline is None else frame.iloc[:baseline]
    if len(base) < 2:
        raise ValueError("xmr_chart: the baseline needs at least two values")
    x_bar = base["value"].mean()
    mr_bar = base["mr"].iloc[1:].mean()
    frame["center"] = x_bar
    frame["sigma"] = E2 * mr_bar / 3
    frame["lcl"] = x_bar - E2 * mr_bar if floor is None else max(x_bar - E2 * mr_bar, floor)
    frame["ucl"] = x_bar + E2 * mr_bar
    frame["mr_center"] = mr_bar
    frame["mr_ucl"] = D4 * mr_bar
    frame["mr_beyond"] = (frame["mr"] - frame["mr_ucl"] > _EPS).fillna(False).astype(bool)
    rules = western_electric_rules(frame["value"], frame["center"], frame["sigma"])
    return pd.concat([frame, rules], axis=1)


# --------------------------------------------------------------------------- period helpers


def _period_start(times: pd.Series, freq: str) -> pd.Series:
    return times.dt.to_period(freq).dt.start_time


def period_counts(frame: pd.DataFrame, time_column: str, flag_column: str, freq: str = "W-SUN") -> pd.DataFrame:
    """Input for ``p_chart``: cases and flagged cases per period (default ISO weeks, by their Monday).

    Returns
    -------
    DataFrame
        ``period, events, n`` (rows with a missing flag are not counted).
    """
    data = frame[[time_column, flag_column]].dropna()
    flag = data[flag_column].astype(bool)
    out = flag.groupby(_period_start(data[time_column], freq).rename("period")).agg(events="sum", n="size")
    return out.reset_index().astype({"events": int, "n": int})


def period_values(frame: pd.DataFrame, time_column: str, value_column: str, freq: str = "W-SUN",
                  stat: str = "mean") -> pd.DataFrame:
    """Input for ``xmr_chart``: one summary value per period (``mean`` or ``median``) and its count.

    Returns
    -------
    DataFrame
        ``period, value, n``.
    """
    if stat not in ("mean", "median"):
        raise ValueError("stat must be 'mean' or 'median'")
    data = frame[[time_column, value_column]].dropna()
    groups = pd.to_numeric(data[value_column]).groupby(_period_start(data[time_column], freq).rename("period"))
    return groups.agg(value=stat, n="size").reset_index()


# --------------------------------------------------------------------------- coaching rule


def _week_ordinal(weeks: pd.Series) -> np.ndarray:
    """Weeks as consecutive integers: ints as given, dates / Periods / ``YYYY-Www`` as week numbers."""
    if isinstance(weeks.dtype, pd.PeriodDtype):
        return weeks.map(lambda p: p.ordinal).to_numpy(dtype=np.int64)
    if pd.api.types.is_integer_dtype(weeks.dtype):
        return weeks.to_numpy(dtype=np.int64)
    if pd.api.types.is_datetime64_any_dtype(weeks.dtype):
        return weeks.dt.to_period("W-SUN").map(lambda p: p.ordinal).to_numpy(dtype=np.int64)
    text = weeks.astype(str).str.strip()
    parts = text.str.extract(r"^(\d{4})-?W(\d{1,2})$")
    if parts.isna().any().any():
        bad = text[parts.isna().any(axis=1)].iloc[0]
        raise ValueError(f"week {bad!r}: give integers, dates, weekly Periods or ISO labels like 2025-W07")
    mondays = [pd.Timestamp.fromisocalendar(int(y), int(w), 1) for y, w in parts.itertuples(index=False)]
    return pd.Series(pd.DatetimeIndex(mondays)).dt.to_period("W-SUN").map(lambda p: p.ordinal).to_numpy(dtype=np.int64)


def coaching_runs(frame: pd.DataFrame, threshold: float, k: int, agent: str = "agent_id", week: str = "week",
                  value: str = "value", n: str | None = "n", min_n: int = 1, gaps: str = "break") -> pd.DataFrame:
    """Agents whose weekly value was below ``threshold`` in at least ``k`` consecutive weeks.

    A week counts as *below* when ``value < threshold`` (strictly). A week counts as
    *observed* when the value is present and ``n ≥ min_n``; weeks with fewer cases are
    treated as having no data.

    Gap handling (decided here, default ``gaps="break"``): a calendar week with no data
    for the agent **breaks** the run, because the rule speaks of consecutive weeks and an
    unobserved week is no evidence of low performance. With ``gaps="skip"`` weeks without
    data are ignored and the run continues over them ("K observed weeks in a row").
    Either way an observed week at or above the threshold ends the run.

    Parameters
    ----------
    frame : DataFrame
        Tidy, one row per agent and week: ``agent, week, value`` and optionally ``n``.
        ``week`` may be integers (consecutive numbers = consecutive weeks), dates (the
        week containing the date, weeks starting Monday), weekly Periods or ISO labels
        such as ``2025-W07``.
    threshold : float
        E.g. 0.80 for "CSAT below 80 %".
    k : int
        Run length that triggers coaching, e.g. 3.
    agent, week, value, n : str
        Column names; ``n=None`` when there is no case count.
    min_n : int, default 1
        Fewest cases for a week to count as observed.
    gaps : {"break", "skip"}

    Returns
    -------
    DataFrame
        ``<agent>, first_week, last_week, run_length``: one row per maximal run of at
        least ``k`` below-threshold weeks (``run_length`` counts below-threshold weeks;
        a run longer than ``k`` is reported once, whole), sorted by agent and first week.

    Examples
    --------
    >>> f = pd.DataFrame({"agent_id": ["A"] * 4, "week": [1, 2, 3, 4], "value": [0.7, 0.75, 0.79, 0.9], "n": 10})
    >>> coaching_runs(f, threshold=0.8, k=3).values.tolist()
    [['A', 1, 3, 3]]
    """
    if gaps not in ("break", "skip"):
        raise ValueError("gaps must be 'break' or 'skip'")
    if k < 1:
        raise ValueError("k must be at least 1")
    columns = [agent, week, value] + ([n] if n is not None else [])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"coaching_runs: missing column(s) {missing}")
    empty = pd.DataFrame({agent: pd.Series(dtype=frame[agent].dtype),
                          "first_week": pd.Series(dtype=frame[week].dtype),
                          "last_week": pd.Series(dtype=frame[week].dtype),
                          "run_length": pd.Series(dtype="int64")})
    data = frame[columns].copy()
    data["_value"] = pd.to_numeric(data[value]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    observed = ~np.isnan(data["_value"].to_numpy())
    if n is not None:
        observed &= pd.to_numeric(data[n]).fillna(0).to_numpy(dtype=float) >= min_n
    data = data[observed]
    if data.empty:
        return empty
    data["_ord"] = _week_ordinal(data[week])
    if data.duplicated([agent, "_ord"]).any():
        raise ValueError("coaching_runs: more than one row for an agent and week")
    data = data.sort_values([agent, "_ord"], kind="stable")
    data["_pos"] = data.groupby(agent).cumcount() if gaps == "skip" else data["_ord"]
    below = data[data["_value"] < threshold]
    if below.empty:
        return empty
    new_run = (below[agent] != below[agent].shift()) | (below["_pos"] != below["_pos"].shift() + 1)
    runs = below.groupby(new_run.cumsum().to_numpy()).agg(
        **{agent: (agent, "first"), "first_week": (week, "first"), "last_week": (week, "last"),
           "run_length": (week, "size")})
    runs = runs[runs["run_length"] >= k]
    return runs.reset_index(drop=True).astype({"run_length": "int64"}) if not runs.empty else empty


# --------------------------------------------------------------------------- plots


def _x(period: pd.Series) -> pd.Series:
    if isinstance(period.dtype, pd.PeriodDtype):
        return period.dt.start_time
    return period


def _mark_signals(ax: Axes, x: pd.Series, y: pd.Series, chart: pd.DataFrame, colour, label: str = "Rule violation") -> None:
    hit = chart["signal"].to_numpy(dtype=bool)
    if not hit.any():
        return
    ax.scatter(x[hit], y[hit], marker="D", s=70, color=colour, zorder=4, label=label)
    for xi, yi, text in zip(x[hit], y[hit], chart.loc[hit, "rules"]):
        numbers = ",".join(part.split(":")[0] for part in text.split("; "))
        ax.annotate(numbers, (xi, yi), xytext=(0, 7), textcoords="offset points", ha="center",
                    fontsize=8, color=colour)


def plot_p_chart(chart: pd.DataFrame, ax: Axes | None = None, metric: str = "Rate",
                 title: str | None = None, language: str = "en") -> Axes:
    """Draw a p-chart (from ``p_chart``): rate, centre line, stepped limits, violations marked.

    Violating points are drawn as diamonds in a contrasting colour and labelled with the
    numbers of the rules that fired.
    """
    from qa_helpers.report.labels import t

    ax = _ax(ax)
    if chart.empty:
        return _empty(ax, t("no_periods", language))
    palette = COLOURS
    x = _x(chart["period"])
    ax.plot(x, chart["p"], marker="o", markersize=4, color=palette[0], label=metric, zorder=3)
    ax.plot(x, chart["center"], color="black", linestyle="--", linewidth=1, label=f"{t('centre', language)} p̄")
    # "σ" with a plain i: the CJK font has no subscript letters
    sigma = "3σᵢ" if language == "en" else "3σ"
    ax.step(x, chart["ucl"], where="mid", color=LIMIT_COLOUR, linewidth=1.2,
            label=f"{t('limits', language)} p̄ ± {sigma}")
    ax.step(x, chart["lcl"], where="mid", color=LIMIT_COLOUR, linewidth=1.2)
    _mark_signals(ax, x, chart["p"], chart, palette[3], t("rule_violation", language))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(title or f"p-chart: {metric} (limits vary with cases per period)")
    ax.set_xlabel(t("period", language))
    ax.set_ylabel(f"{metric} (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    return ax


def plot_xmr_chart(chart: pd.DataFrame, ax: Axes | None = None, mr_ax: Axes | None = None,
                   metric: str = "Value", unit: str = "s", title: str | None = None, language: str = "en") -> Axes:
    """Draw an XmR chart (from ``xmr_chart``) on ``ax``; the moving-range chart too if ``mr_ax`` is given.

    Returns the individuals ``ax``.
    """
    from qa_helpers.report.labels import t

    ax = _ax(ax)
    if chart.empty:
        return _empty(ax, t("no_periods", language))
    palette = COLOURS
    x = _x(chart["period"])
    ax.plot(x, chart["value"], marker="o", markersize=4, color=palette[0], label=metric, zorder=3)
    ax.plot(x, chart["center"], color="black", linestyle="--", linewidth=1, label=f"{t('centre', language)} x̄")
    ax.plot(x, chart["ucl"], color=LIMIT_COLOUR, linewidth=1.2, label=f"{t('limits', language)} x̄ ± 2.66·MR̄")
    ax.plot(x, chart["lcl"], color=LIMIT_COLOUR, linewidth=1.2)
    _mark_signals(ax, x, chart["value"], chart, palette[3], t("rule_violation", language))
    ax.set_title(title or f"Individuals chart: {metric}")
    ax.set_xlabel(t("period", language))
    ax.set_ylabel(f"{metric} ({unit})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    if mr_ax is not None:
        mr_ax.plot(x, chart["mr"], marker="o", markersize=4, color=palette[2], label=t("moving_range", language))
        mr_ax.plot(x, chart["mr_center"], color="black", linestyle="--", linewidth=1, label="MR̄")
        mr_ax.plot(x, chart["mr_ucl"], color=LIMIT_COLOUR, linewidth=1.2, label="UCL 3.267·MR̄")
        hit = chart["mr_beyond"].to_numpy(dtype=bool)
        if hit.any():
            mr_ax.scatter(x[hit], chart["mr"][hit], marker="D", s=70, color=palette[3], zorder=4,
                          label=t("beyond_ucl", language))
        mr_ax.set_title(f"{t('moving_range', language)}: {metric}")
        mr_ax.set_xlabel(t("period", language))
        mr_ax.set_ylabel(f"{t('moving_range', language)} ({unit})")
        mr_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    return ax
