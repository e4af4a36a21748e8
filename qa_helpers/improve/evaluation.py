"""Before/after evaluation of an action (step 6): from the register and the archive to verdicts.

:func:`evaluate_action` takes one action of the register, turns each of its KPIs into
observations (one row per survey answer, ticket or visit, with its agent), and runs
:mod:`qa_helpers.stats`: the agent-clustered before/after test (the default), a
difference-in-differences against the control teams, a segmented regression on the
weekly series, a channel-mix check with a channel-standardised estimate when the mix
moved, Holm adjustment across the action's metrics, and the minimum detectable effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from qa_helpers.data import archive as qa_archive
from qa_helpers import stats
from qa_helpers.measures.kpis import KPIS, _where
from qa_helpers.data.schemas import ANALYSIS_TABLES, TIME_COLUMNS

KIND_OF_AGG = {"share": "proportion", "mean": "duration", "median": "duration", "nps": "ordinal",
               "per_1000": "rate"}


def metric_kind(kpi: str) -> str | None:
    """The statistical kind of a KPI: proportion, duration, ordinal, rate (None: not testable)."""
    spec = KPIS[kpi]
    if spec.unit == "score":
        return "ordinal"
    return KIND_OF_AGG.get(spec.agg)


def observations(tables: dict[str, pd.DataFrame], kpi: str, standards: dict) -> pd.DataFrame:
    """One row per observation of a KPI: ``time, team, agent_id, channel, value``.

    Shares give 0/1, durations seconds, scores 1-5; for complaints per 1 000 tickets each
    ticket is one unit of exposure and ``value`` counts its complaints.
    """
    spec = KPIS[kpi]
    con = duckdb.connect()
    if spec.agg == "per_1000":
        con.register("tickets", tables["tickets"])
        con.register("complaints", tables["complaints"])
        sql = ("SELECT t.created_at AS time, t.team, t.agent_id, t.channel, "
               "CAST(count(c.complaint_id) AS DOUBLE) AS value FROM tickets t "
               "LEFT JOIN complaints c ON c.ticket_id = t.ticket_id "
               "GROUP BY t.ticket_id, t.created_at, t.team, t.agent_id, t.channel")
        return con.sql(sql).df()
    table = tables[spec.table]
    con.register("source", table)
    expr = spec.sql(standards)
    # shares become 0/1; everything else (seconds, 1-5 and 0-10 scores) is tested on its own scale
    value = f"CASE WHEN ({expr}) THEN 1.0 ELSE 0.0 END" if spec.agg == "share" else f"CAST({expr} AS DOUBLE)"
    agent = "engineer_id" if spec.table == "field_visits" else "agent_id"
    channel = "channel" if "channel" in table.columns else "NULL"
    sql = (f"SELECT {TIME_COLUMNS[spec.table]} AS time, team, {agent} AS agent_id, {channel} AS channel, "
           f"{value} AS value FROM source WHERE ({_where(spec, standards)}) AND ({expr}) IS NOT NULL")
    out = con.sql(sql).df()
    if metric_kind(kpi) == "duration":
        out = out[out["value"] > 0]  # log scale: a zero-second response carries no ratio information
    return out.reset_index(drop=True)


def _expected_effect(kind: str, before: float, target: float, direction: str) -> float | None:
    """The effect the acceptance target asks for, in the effect's scale (None if already met)."""
    if before is None or np.isnan(before):
        return None
    needed = target > before if direction == "increase" else target < before
    if not needed:
        return None
    if kind == "proportion":
        return target - before
    if kind in ("duration", "rate"):
        return target / before
    return None


@dataclass
class ActionEvaluation:
    """Everything the before/after notebook shows for one action."""

    action_id: str
    results: pd.DataFrame                       # default clustered tests, Holm-adjusted
    did: pd.DataFrame                           # difference-in-differences per metric
    its: pd.DataFrame                           # segmented regression: level and slope rows
    mix: pd.DataFrame                           # channel-mix shift table
    standardised: pd.DataFrame                  # channel-standardised rows where the mix moved
    weekly: pd.DataFrame                        # kpi, team, week, value, n, role
    after_kpis: pd.DataFrame                    # kpi, value, n: the KPIs themselves in the after-window
    observations: dict = field(default_factory=dict)
    conclusions: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_teams(teams: list[str], archive, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Every analysis table for a set of teams between two dates."""
    out = {}
    for name in ANALYSIS_TABLES:
        frames = [qa_archive.load(name, team, archive=archive) for team in teams]
        frame = pd.concat(frames, ignore_index=True)
        time = frame[TIME_COLUMNS[name]]
        out[name] = frame[(time >= start) & (time < end)].reset_index(drop=True)
    return out


def evaluate_action(action, archive, standards: dict, *, weeks_before: int = 8, weeks_after: int = 8,
                    washout_weeks: int = 0, its_weeks: int = 26, alpha: float = 0.05,
                    method: str = "holm") -> ActionEvaluation:
    """Evaluate one action of the register on its KPIs.

    Parameters
    ----------
    action : row of :func:`qa_helpers.improve.actions.load_actions`
        Needs ``action_id, teams, start, metrics, control_teams, channels``.
    archive : path-like
        The archive.
    standards : dict
        Loaded standards (SLA and complaint hours define some KPIs).
    weeks_before, weeks_after, washout_weeks : int
        Whole-week windows around the start; wash-out weeks after the start are excluded.
    its_weeks : int
        Weeks either side of the start for the segmented regression.
    alpha : float
        Significance level.
    method : {"holm", "bh"}
        Adjustment across the action's metrics.

    Returns
    -------
    ActionEvaluation
    """
    start = pd.Timestamp(action.start)
    windows = stats.week_windows(start, weeks_before=max(weeks_before, its_weeks),
                                 weeks_after=max(weeks_after, its_weeks) + washout_weeks, washout_weeks=0)
    span_start, span_end = windows["start"].min(), windows["end"].max()
    treated, controls = list(action.teams), list(action.control_teams)
    tables = load_teams(treated + controls, archive, span_start, span_end)
    rows, did, its, mixes, standardised, weekly, obs_by = [], [], [], [], [], [], {}
    for metric in action.metrics:
        kpi, direction = metric["kpi"], metric["direction"]
        kind = metric_kind(kpi)
        if kind is None:
            continue
        obs = observations(tables, kpi, standards)
        if action.channels:
            obs = obs[obs["channel"].isin(action.channels)]
        obs_by[kpi] = obs
        mine = obs[obs["team"].isin(treated)]
        common = dict(time="time", cluster="agent_id", weeks_before=weeks_before, weeks_after=weeks_after,
                      washout_weeks=washout_weeks, alpha=alpha, direction=direction)
        first = stats.before_after(mine, kpi, kind, start, **common)
        expected = _expected_effect(kind, float(first["before"].iloc[0]), metric["target"], direction)
        rows.append(stats.before_after(mine, kpi, kind, start, expected_effect=expected, **common)
                    if expected is not None else first)
        labelled = mine.assign(window=stats.label_windows(mine["time"], stats.week_windows(
            start, weeks_before=weeks_before, weeks_after=weeks_after, washout_weeks=washout_weeks)))
        if kind != "ordinal" and mine["channel"].nunique() > 1 and not action.channels:
            mix = stats.mix_shift(labelled[labelled["window"].isin(["before", "after"])], by="channel")
            mixes.append(mix.assign(metric=kpi))
            if (mix["p"] < alpha).any() if "p" in mix.columns else False:
                standardised.append(stats.compare(labelled, kpi, kind, stratify="channel", direction=direction,
                                                  alpha=alpha))
        if controls and kind != "ordinal":
            did.append(stats.diff_in_diff(obs, kpi, kind, start, treated=treated, controls=controls,
                                          **{k: v for k, v in common.items() if k != "time"}, time="time"))
        series = _weekly(obs, kind)
        series["role"] = np.where(series["team"].isin(treated), "treated", "control")
        weekly.append(series.assign(kpi=kpi))
        treated_series = series[series["team"].isin(treated)].groupby("week", as_index=False).apply(
            lambda g: pd.Series({"value": np.average(g["value"], weights=g["n"]), "n": g["n"].sum()}),
            include_groups=False)
        its_span = (treated_series["week"] >= start - pd.Timedelta(weeks=its_weeks)) & \
                   (treated_series["week"] < start + pd.Timedelta(weeks=its_weeks))
        its.append(stats.segmented(treated_series[its_span], kpi, start, direction=direction, alpha=alpha))
    results = stats.evaluate(rows, method=method) if rows else pd.DataFrame(columns=stats.COLUMNS)
    # acceptance is judged on the KPI as defined (a mean, a median, NPS points), not on the
    # test's effect scale (a geometric mean, a mean raw score)
    after = stats.week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after,
                               washout_weeks=washout_weeks).set_index("window").loc["after"]
    evaluation = ActionEvaluation(
        action_id=action.action_id, results=results,
        did=_stack(did), its=_stack(its), mix=_stack(mixes), standardised=_stack(standardised),
        weekly=_stack(weekly), after_kpis=measure_kpis(action, archive, standards, after["start"], after["end"]),
        observations=obs_by)
    evaluation.conclusions = conclusions(evaluation, action)
    return evaluation


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _weekly(obs: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Weekly value per team: share / mean score / log geometric mean / events per 1 000."""
    week = obs["time"].dt.to_period("W-SUN").dt.start_time
    value = np.log(obs["value"]) if kind == "duration" else obs["value"]
    grouped = pd.DataFrame({"team": obs["team"], "week": week, "v": value}).groupby(["team", "week"])["v"]
    out = grouped.agg(value="mean", n="size").reset_index()
    if kind == "rate":
        out["value"] *= stats.RATE_PER
    return out


def conclusions(evaluation: ActionEvaluation, action) -> pd.DataFrame:
    """One plain-language sentence per metric, and whether to standardise the measure.

    Standardise (seed 000 step 6) when the default test says *improved* and the after-window
    value also meets the action's acceptance target.
    """
    targets = {m["kpi"]: m for m in action.metrics}
    did = evaluation.did.set_index("metric") if len(evaluation.did) else pd.DataFrame()
    measured = evaluation.after_kpis.set_index("kpi")["value"]
    rows = []
    for row in evaluation.results.itertuples(index=False):
        metric = targets[row.metric]
        value = measured.get(row.metric, np.nan)
        meets = bool(value >= metric["target"] if metric["direction"] == "increase" else value <= metric["target"])
        standardise = row.verdict == "improved" and bool(meets)
        did_text = ""
        if row.metric in did.index:
            d = did.loc[row.metric]
            did_text = f" Against the control team(s) the verdict is {d['verdict']} (p = {d['p']:.3g})."
        text = (f"{row.metric}: {row.verdict} (before {row.before:.3g}, after {row.after:.3g}; effect {row.effect:.3g}, "
                f"95 % CI {row.ci_low:.3g} to {row.ci_high:.3g}; adjusted p = {row.p_adj:.3g}; "
                f"smallest detectable effect {row.mde:.3g}).{did_text} "
                + f"In the after-window the KPI is {value:.3g} against its target {metric['target']:g}: "
                + ("meets it: standardise the measure." if standardise else
                   "meets it, but the change is not established." if meets else "target not met."))
        rows.append({"metric": row.metric, "verdict": row.verdict, "meets_target": meets,
                     "standardise": standardise, "conclusion": text})
    return pd.DataFrame(rows, columns=["metric", "verdict", "meets_target", "standardise", "conclusion"])


def measure_kpis(action, archive, standards: dict, start, end) -> pd.DataFrame:
    """The KPIs of an action's teams (and channels) between two dates: ``kpi, value, n``."""
    from qa_helpers.measures.kpis import kpi_table

    tables = load_teams(list(action.teams), archive, pd.Timestamp(start), pd.Timestamp(end))
    if action.channels:
        tables = {name: frame[frame["channel"].isin(action.channels)] if "channel" in frame.columns else frame
                  for name, frame in tables.items()}
    return kpi_table(tables, standards=standards, kpis=[m["kpi"] for m in action.metrics])


def evaluable(actions: pd.DataFrame, as_of: pd.Timestamp, weeks_after: int, washout_weeks: int) -> pd.Series:
    """Actions whose whole after-window has passed by ``as_of`` (and that were not cancelled)."""
    ends = actions["start"] + pd.to_timedelta(7 * (weeks_after + washout_weeks + 1), unit="D")
    return (ends <= as_of) & (actions["status"] != "cancelled")
