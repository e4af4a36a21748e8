"""Monitoring (step 5): threshold alerts as episodes, coaching that tells agent from team, and the
series behind control charts.

Alerts. Each rule of the standards is judged per group and *whole* week: a week only partly inside
the period (or after the last day with data) is labelled, not judged, and a group-week with fewer
than the rule's ``min_n`` observations is not judged either, and says so. Weeks that fire are
gathered into *episodes*: one alert with a start week and how long it has been open (weeks apart by
at most ``merge_gap_weeks`` are one episode), *chronic* when open ``chronic_weeks`` or more, *new*
otherwise, with a severity from its shortfall. One table, open alerts first, most severe first.

Coaching. Seed 000's rule (an agent under 80 % three weeks in a row) screens every agent of a team
each week, so chance alone makes runs. A run becomes a one-to-one case only when, over the run's
weeks, the agent had enough answers and is below the rest of the team beyond chance (one-sided
exact binomial test, Bonferroni over the team's agents) and the agent's CSAT, shrunk towards the
team's by empirical Bayes, is still under the threshold. When the whole team is below its target
the remedy is team-level, and runs that do not stand out from the team are counted there, not sent
to one-to-one coaching.
"""

from __future__ import annotations

import duckdb
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from qa_helpers.monitor.control_charts import coaching_runs
from qa_helpers.measures.intervals import wilson_interval
from qa_helpers.measures.kpis import KPIS, kpi_table, kpi_tables
from qa_helpers.data.schemas import TIME_COLUMNS

DEFAULT_MIN_N = 30  # a weekly share from fewer answers moves by ±15 points by chance alone
GROUP_COLUMNS = {"team": "team", "channel": "channel", "agent": "agent_id", "all": None}
JUDGEMENT_COLUMNS = ["rule", "kpi", "group_by", "group", "week", "value", "threshold", "n", "status"]
ALERT_COLUMNS = ["kind", "severity", "rule", "kpi", "group_by", "group", "start", "last_week", "weeks_open",
                 "weeks_fired", "value", "threshold", "n", "open"]
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
COACHING_BREAKDOWN = ("team", "agent_id", "week")  # what the coaching rule reads: each agent's weeks in a team


def rule_breakdown(rule: dict) -> tuple[str, ...]:
    """What an alert rule is judged on: its group (team, channel, agent or all) and week."""
    group_by = GROUP_COLUMNS[rule.get("unit", "team")]
    return (group_by, "week") if group_by else ("week",)


def weekly_kpis(tables: dict[str, pd.DataFrame | str], requests: list[tuple[str, tuple[str, ...]]],
                standards: dict, connection=None) -> dict[tuple[str, tuple[str, ...]], pd.DataFrame]:
    """KPI tables for several ``(kpi, breakdown)`` requests, every breakdown of a KPI from one scan of its
    table (:func:`~qa_helpers.measures.kpis.kpi_tables`, GROUPING SETS): the alert rules and the coaching
    rule read CSAT by team and week and by team, agent and week, and a year's 3 M survey answers cost
    0.3 s of CPU per scan at 10 M tickets.

    Returns
    -------
    dict
        ``(kpi, breakdown)`` to what ``kpi_table(tables, by=breakdown, kpis=[kpi])`` returns.
    """
    wanted: dict[str, list[tuple[str, ...]]] = {}
    for kpi, by in requests:
        wanted.setdefault(kpi, [])
        if tuple(by) not in wanted[kpi]:
            wanted[kpi].append(tuple(by))
    out = {}
    for kpi, bys in wanted.items():
        frames = kpi_tables(tables, [list(by) for by in bys], standards=standards, kpis=[kpi], connection=connection)
        out.update({(kpi, by): frame for by, frame in zip(bys, frames)})
    return out


def review_requests(standards: dict, rules: list[dict] | None = None,
                    coaching: bool = True) -> list[tuple[str, tuple[str, ...]]]:
    """The ``(kpi, breakdown)`` tables :func:`weekly_judgements` (of ``rules``, else the standards' rules)
    and, with ``coaching``, :func:`coaching_review` read: pass them to :func:`weekly_kpis`."""
    rules = (standards.get("alerts") or []) if rules is None else rules
    requests = [(rule["kpi"], rule_breakdown(rule)) for rule in rules]
    if coaching:
        requests.append(((standards.get("coaching") or {}).get("kpi", "csat"), COACHING_BREAKDOWN))
    return requests


def rule_text(rule: dict) -> str:
    """A rule as a short phrase: "csat below 0.85 per team and week"."""
    word, value = ("below", rule["below"]) if "below" in rule else ("above", rule["above"])
    return f"{rule['kpi']} {word} {value:g} per {rule.get('unit', 'team')} and week"


def _span(tables: dict[str, pd.DataFrame | str], connection=None,
          period=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first and last ticket creation time (``None, None`` without tickets); a DuckDB source is
    asked for its two ends, no row is loaded.

    With a ``period``, only the last one is needed and the first is the period's start: the last is
    looked for in the period's last week first, where DuckDB reads only the row groups of those days
    (a year's 10 M creation times cost 0.2 s of CPU), and in the whole source only when that week has none.
    """
    source = tables.get("tickets")
    if source is None:
        return None, None
    if isinstance(source, pd.DataFrame):
        created = source["created_at"]
        return (None, None) if created.empty else (created.min(), created.max())
    con = connection or duckdb
    if period is not None:
        since = f"{period.end - pd.Timedelta(weeks=1):%Y-%m-%d %H:%M:%S}"
        last = con.execute(f"SELECT max(created_at) FROM {source} WHERE created_at >= TIMESTAMP '{since}'").fetchall()[0][0]
        if last is None:
            last = con.execute(f"SELECT max(created_at) FROM {source}").fetchall()[0][0]
        return (None, None) if last is None else (period.start, pd.Timestamp(last))
    first, last = con.execute(f"SELECT min(created_at), max(created_at) FROM {source}").fetchall()[0]
    return (None, None) if first is None else (pd.Timestamp(first), pd.Timestamp(last))


def _window(source: pd.DataFrame | str, table: str, start=None, end=None) -> pd.DataFrame | str:
    """A table's rows from ``start`` (inclusive) to ``end`` (exclusive) of its time column: a DataFrame
    filtered, or a DuckDB source wrapped in the same filter."""
    time = TIME_COLUMNS[table]
    if isinstance(source, pd.DataFrame):
        keep = pd.Series(True, index=source.index)
        if start is not None:
            keep &= source[time] >= start
        if end is not None:
            keep &= source[time] < end
        return source[keep]
    bounds = [f'"{time}" {op} TIMESTAMP \'{pd.Timestamp(when):%Y-%m-%d %H:%M:%S.%f}\''
              for op, when in ((">=", start), ("<", end)) if when is not None]
    return f"(SELECT * FROM {source}{' WHERE ' + ' AND '.join(bounds) if bounds else ''})"


def whole_weeks(tables: dict[str, pd.DataFrame | str], period=None,
                connection=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first and last Monday of the weeks that lie wholly inside the period and end by the last
    day with tickets (``None, None`` when there is none).

    Without a period, the span of the tickets stands for it. ``tables`` may be DataFrames or DuckDB
    sources (run on ``connection``).
    """
    earliest, latest = _span(tables, connection, period)
    if earliest is None:
        return None, None
    start = period.start if period is not None else earliest.normalize()
    end = period.end if period is not None else latest.normalize() + pd.Timedelta(days=1)
    end = min(end, latest.normalize() + pd.Timedelta(days=1))
    first = start.to_period("W-SUN").start_time
    first = first if first >= start else first + pd.Timedelta(weeks=1)
    last = (end - pd.Timedelta(days=7)).to_period("W-SUN").start_time
    last = last if last + pd.Timedelta(days=7) <= end else last - pd.Timedelta(weeks=1)
    return (first, last) if first <= last else (None, None)


def weekly_judgements(tables: dict[str, pd.DataFrame | str], standards: dict, rules: list[dict] | None = None,
                      period=None, connection=None,
                      computed: dict[tuple[str, tuple[str, ...]], pd.DataFrame] | None = None) -> pd.DataFrame:
    """Every rule, group and week with its value, n and what was decided.

    Parameters
    ----------
    tables : dict of DataFrame or DuckDB source
        The unit's tables for the period (:meth:`~qa_helpers.report.context.Context.sources` at scale).
    standards : dict
        The raw standards (``alerts`` rules, SLAs).
    rules : list of dict, optional
        Replaces the standards' rules (e.g. only those the archive can judge, :func:`usable_rules`).
    period : Period, optional
        The period: weeks not wholly inside it are partial. Without it, the tickets' span.
    connection : DuckDB connection, optional
        Where the KPIs are aggregated (the notebook's capped connection).
    computed : dict, optional
        KPI tables already computed over ``tables`` (:func:`weekly_kpis`); a rule's missing one is computed.

    Returns
    -------
    DataFrame
        ``rule, kpi, group_by, group, week, value, threshold, n, status``; ``status`` is "fired",
        "ok", "too few" (n under the rule's ``min_n``) or "partial week".
    """
    first, last = whole_weeks(tables, period, connection)
    frames = []
    for rule in (standards.get("alerts") or []) if rules is None else rules:
        group_by = GROUP_COLUMNS[rule.get("unit", "team")]
        values = (computed or {}).get((rule["kpi"], rule_breakdown(rule)))
        if values is None:
            values = kpi_table(tables, by=list(rule_breakdown(rule)), standards=standards, kpis=[rule["kpi"]],
                               connection=connection)
        values = values[values["n"] > 0]
        threshold = rule["below"] if "below" in rule else rule["above"]
        hit = values["value"] < threshold if "below" in rule else values["value"] > threshold
        whole = (values["week"] >= first) & (values["week"] <= last) if first is not None else hit & False
        status = np.select([~whole, values["n"] < rule.get("min_n", DEFAULT_MIN_N), hit],
                           ["partial week", "too few", "fired"], "ok")
        group = values[group_by].fillna(f"(no {rule.get('unit', 'team')})") if group_by else "ALL"
        frames.append(values.assign(rule=rule_text(rule), kpi=rule["kpi"], group_by=rule.get("unit", "team"),
                                    group=group, threshold=threshold,
                                    status=status)[JUDGEMENT_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=JUDGEMENT_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(["rule", "group", "week"]).reset_index(drop=True)


def alert_episodes(judgements: pd.DataFrame, standards: dict) -> pd.DataFrame:
    """Fired weeks gathered into alerts: one per rule, group and episode, sorted for action.

    Weeks of the same rule and group that fire with at most ``alert_episodes.merge_gap_weeks``
    (default 1) weeks between them are one alert. ``open``: it fired in the last whole week judged.
    ``kind``: "chronic" when open ``chronic_weeks`` (default 4) or more, else "new". ``severity``:
    "high" / "medium" / "low" by the shortfall of the episode's pooled value from the threshold,
    relative to the threshold (``severity: {high: 0.10, medium: 0.05}``). ``value`` is pooled over
    the fired weeks (weighted by n) and ``n`` is their total.

    Returns
    -------
    DataFrame
        ``kind, severity, rule, kpi, group_by, group, start, last_week, weeks_open, weeks_fired,
        value, threshold, n, open``: open first, then by severity, weeks open (longest first), group.
    """
    policy = standards.get("alert_episodes") or {}
    gap, chronic = int(policy.get("merge_gap_weeks", 1)), int(policy.get("chronic_weeks", 4))
    bands = policy.get("severity")
    judged = judgements[judgements["status"].isin(["fired", "ok"])]
    fired = judgements[judgements["status"] == "fired"]
    if fired.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    last_judged = judged["week"].max()
    # each rule and group's fired weeks in order (groups as they first appear), cut where the gap exceeds
    # merge_gap_weeks: slices of arrays, not a pandas group per rule, group and episode (0.1 s at 20 teams)
    key = pd.factorize(pd.MultiIndex.from_frame(fired[["rule", "group"]]))[0]
    fired = fired.assign(_key=key).sort_values(["_key", "week"], kind="stable").reset_index(drop=True)
    key = fired["_key"].to_numpy()
    first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    apart = fired["week"].diff().dt.days.div(7).to_numpy() - 1
    bounds = [*np.flatnonzero(first | (apart > gap)).tolist(), len(fired)]
    values, counts = fired["value"].to_numpy(), fired["n"].to_numpy()
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        episode = fired.iloc[a]
        n = int(counts[a:b].sum())
        value = float((values[a:b] * counts[a:b]).sum() / n)
        threshold = float(episode["threshold"])
        start, end = episode["week"], fired["week"].iloc[b - 1]
        open_weeks = int((end - start).days // 7) + 1
        rows.append({"rule": episode["rule"], "kpi": episode["kpi"], "group_by": episode["group_by"],
                     "group": episode["group"], "start": start, "last_week": end, "weeks_open": open_weeks,
                     "weeks_fired": b - a, "value": value, "threshold": threshold, "n": n,
                     "open": bool(end == last_judged),
                     "kind": "chronic" if open_weeks >= chronic else "new" if first[a] else "recurring",
                     "severity": severity(value, threshold, bands)})
    out = pd.DataFrame(rows)
    out["_severity"] = out["severity"].map(SEVERITY_ORDER)
    out = out.sort_values(["open", "_severity", "weeks_open", "group", "start"],
                          ascending=[False, True, False, True, True], kind="stable")
    return out[ALERT_COLUMNS].reset_index(drop=True)


def severity(value: float, threshold: float, bands: dict | None = None) -> str:
    """"high", "medium" or "low": how far ``value`` is on the wrong side of ``threshold``, relative to it.

    Examples
    --------
    >>> severity(0.72, 0.85), severity(0.80, 0.85), severity(0.84, 0.85)
    ('high', 'medium', 'low')
    """
    bands = bands or {"high": 0.10, "medium": 0.05}
    shortfall = abs(threshold - value) / abs(threshold) if threshold else abs(threshold - value)
    return "high" if shortfall >= bands.get("high", 0.10) else "medium" if shortfall >= bands.get("medium", 0.05) \
        else "low"


def threshold_alerts(tables: dict[str, pd.DataFrame | str], standards: dict, rules: list[dict] | None = None,
                     period=None, connection=None) -> pd.DataFrame:
    """The period's threshold alerts as episodes (:func:`weekly_judgements` then :func:`alert_episodes`)."""
    return alert_episodes(weekly_judgements(tables, standards, rules, period, connection), standards)


def judgement_notes(judgements: pd.DataFrame, language: str = "en") -> list[str]:
    """Lines saying what was not judged: partial weeks and group-weeks with too few observations."""
    from qa_helpers.report.labels import t
    from qa_helpers.report.texts import say

    notes = []
    partial = judgements[judgements["status"] == "partial week"]
    if len(partial):
        weeks = ", ".join(f"{w:%Y-%m-%d}" for w in sorted(partial["week"].unique()))
        notes.append(say("monitoring.partial_weeks", language, weeks=weeks))
    few = judgements[judgements["status"] == "too few"]
    for (kpi, group_by), rows in few.groupby(["kpi", "group_by"], sort=False):
        examples = ", ".join(f"{t(g, language)} {w:%Y-%m-%d} (n = {n})" for g, w, n in
                             rows[["group", "week", "n"]].head(4).itertuples(index=False))
        more = say("monitoring.more", language, count=len(rows) - 4) if len(rows) > 4 else ""
        notes.append(say("monitoring.too_few", language, kpi=t(kpi, language), group_by=t(f"group.{group_by}", language),
                         count=len(rows), examples=examples + more))
    return notes


# ---------------------------------------------------------------- coaching

COACHING_COLUMNS = ["agent_id", "team", "first_week", "last_week", "run_length", "run_n", "run_csat", "team_csat",
                    "shrunk_csat", "p_value", "decision"]
TEAM_COLUMNS = ["team", "csat", "n", "ci_low", "ci_high", "target", "below_target", "agents", "agents_with_runs",
                "one_to_one", "remedy"]


def _prior_strength(agent_rates: pd.DataFrame) -> float:
    """Empirical-Bayes prior strength m of a beta-binomial (method of moments): how many answers the
    team's rate is worth when an agent's rate is shrunk towards it. No spread between agents beyond
    chance: a very strong prior (every agent is the team)."""
    rates = agent_rates[agent_rates["n"] > 0]
    if len(rates) < 2:
        return 1e6
    p = rates["events"].sum() / rates["n"].sum()
    observed = (rates["events"] / rates["n"]).var(ddof=1)
    chance = (p * (1 - p) / rates["n"]).mean()
    between = observed - chance
    return 1e6 if between <= 1e-9 else max(p * (1 - p) / between - 1, 0.0)


def coaching_review(tables: dict[str, pd.DataFrame | str], standards: dict, connection=None,
                    computed: dict[tuple[str, tuple[str, ...]], pd.DataFrame] | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seed 000's coaching rule, each run judged against the agent's own team.

    For every run of ``consecutive_weeks`` weeks under ``below`` (weeks with ``min_responses``
    answers or more), over the run's weeks: the agent's answers ``run_n`` and CSAT, the rest of the
    team's CSAT, the agent's CSAT shrunk towards the team's (empirical Bayes, the prior's strength
    from the spread between the team's agents over the period), and the one-sided exact binomial
    p-value of the agent's CSAT against the team's. ``decision``:

    - "one-to-one coaching": ``run_n`` ≥ ``min_run_responses``, p under (1 − ``confidence``) / the
      team's agents (Bonferroni: every agent of the team was screened), and the shrunk CSAT still
      under the threshold;
    - "too few answers": ``run_n`` under ``min_run_responses``;
    - "team-level": not an individual case, and the team as a whole is below its CSAT target;
    - "within the team's range": not an individual case, the team at target.

    ``tables`` may be DataFrames or DuckDB sources: only agent × week aggregates are brought back
    (computed on ``connection``, unless ``computed`` holds them: :func:`weekly_kpis`).

    Returns
    -------
    cases : DataFrame
        ``agent_id, team, first_week, last_week, run_length, run_n, run_csat, team_csat, shrunk_csat,
        p_value, decision``, one-to-one cases first.
    teams : DataFrame
        Per team: ``team, csat, n, ci_low, ci_high`` (Wilson, ``confidence``), ``target``,
        ``below_target`` (the interval's upper end under the target), ``agents, agents_with_runs,
        one_to_one`` and ``remedy`` ("team-level" when below target, else "individual").
    """
    from scipy.special import bdtr

    rule = standards.get("coaching") or {}
    kpi, threshold = rule.get("kpi", "csat"), float(rule.get("below", 0.8))
    confidence, min_run = float(rule.get("confidence", 0.95)), int(rule.get("min_run_responses", 15))
    target = float((standards.get("kpis") or {}).get(kpi, {}).get("target", threshold))
    weekly = (computed or {}).get((kpi, COACHING_BREAKDOWN))
    if weekly is None:
        weekly = kpi_table(tables, by=list(COACHING_BREAKDOWN), standards=standards, kpis=[kpi], connection=connection)
    # answers no team owns are compared among themselves, as one team, rather than dropped
    weekly = weekly[(weekly["n"] > 0) & weekly["agent_id"].notna()].assign(team=weekly["team"].fillna("(no team)"))
    weekly["events"] = (weekly["value"] * weekly["n"]).round()
    if weekly.empty:
        return pd.DataFrame(columns=COACHING_COLUMNS), pd.DataFrame(columns=TEAM_COLUMNS)
    by_agent = weekly.groupby(["team", "agent_id"], as_index=False)[["events", "n"]].sum()
    by_team_week = weekly.groupby(["team", "week"])[["events", "n"]].sum()
    strength = {team: _prior_strength(rows) for team, rows in by_agent.groupby("team")}
    agents_in = by_agent.groupby("team")["agent_id"].nunique()
    agent_weekly = weekly.groupby(["agent_id", "week"], as_index=False)[["events", "n"]].sum()
    agent_weekly["value"] = agent_weekly["events"] / agent_weekly["n"]
    runs = coaching_runs(agent_weekly, threshold=threshold, k=rule.get("consecutive_weeks", 3),
                         min_n=rule.get("min_responses", 1))
    home = by_agent.sort_values("n", ascending=False).drop_duplicates("agent_id").set_index("agent_id")["team"]
    teams = _team_table(by_agent, target, confidence)
    below = teams.set_index("team")["below_target"]
    # every run judged at once: its agent's weeks and its team's weeks summed over the run's span
    runs = runs.reset_index(drop=True).assign(team=lambda f: f["agent_id"].map(home), run=lambda f: np.arange(len(f)))
    spans = runs[["run", "agent_id", "team", "first_week", "last_week"]]

    def over_run(weeks: pd.DataFrame, on: list[str]) -> pd.DataFrame:
        joined = spans.merge(weeks, on=on)
        joined = joined[(joined["week"] >= joined["first_week"]) & (joined["week"] <= joined["last_week"])]
        return joined.groupby("run")[["events", "n"]].sum().reindex(runs["run"], fill_value=0)

    mine = over_run(weekly[["agent_id", "team", "week", "events", "n"]], ["agent_id", "team"])
    both = over_run(by_team_week.reset_index(), ["team"])
    events, n = mine["events"].to_numpy(dtype=float), mine["n"].to_numpy(dtype="int64")
    rest_n = both["n"].to_numpy(dtype=float) - n
    with np.errstate(invalid="ignore", divide="ignore"):
        team_rate = np.where(rest_n > 0, (both["events"].to_numpy(dtype=float) - events) / rest_n, np.nan)
        m = runs["team"].map(strength).to_numpy(dtype=float)
        shrunk = np.where(np.isnan(team_rate), np.nan, (events + m * team_rate) / (n + m))
        judged = (n > 0) & ~np.isnan(team_rate)
        p_value = np.where(judged, bdtr(events, n, np.where(judged, team_rate, 0.5)), np.nan)
        run_csat = np.where(n > 0, events / np.where(n > 0, n, 1), np.nan)
    alpha = (1 - confidence) / runs["team"].map(agents_in).to_numpy(dtype=float)
    decision = np.select([n < min_run, (p_value < alpha) & (shrunk < threshold),
                          runs["team"].map(below).fillna(False).astype(bool).to_numpy()],
                         ["too few answers", "one-to-one coaching", "team-level"], "within the team's range")
    rows = pd.DataFrame({"agent_id": runs["agent_id"], "team": runs["team"], "first_week": runs["first_week"],
                         "last_week": runs["last_week"], "run_length": runs["run_length"], "run_n": n,
                         "run_csat": run_csat, "team_csat": team_rate, "shrunk_csat": shrunk, "p_value": p_value,
                         "decision": decision}) if len(runs) else []
    cases = pd.DataFrame(rows, columns=COACHING_COLUMNS)
    cases = cases.assign(_first=cases["decision"] != "one-to-one coaching").sort_values(
        ["_first", "team", "agent_id", "first_week"]).drop(columns="_first").reset_index(drop=True)
    coached = cases[cases["decision"] == "one-to-one coaching"].groupby("team")["agent_id"].nunique()
    with_runs = cases.groupby("team")["agent_id"].nunique()
    teams["agents_with_runs"] = teams["team"].map(with_runs).fillna(0).astype(int)
    teams["one_to_one"] = teams["team"].map(coached).fillna(0).astype(int)
    return cases, teams[TEAM_COLUMNS]


def _team_table(by_agent: pd.DataFrame, target: float, confidence: float) -> pd.DataFrame:
    team = by_agent.groupby("team").agg(events=("events", "sum"), n=("n", "sum"),
                                        agents=("agent_id", "nunique")).reset_index()
    low, high = wilson_interval(team["events"], team["n"], confidence)
    team = team.assign(csat=team["events"] / team["n"], ci_low=low, ci_high=high, target=target)
    team["below_target"] = team["ci_high"] < target
    team["remedy"] = np.where(team["below_target"], "team-level", "individual")
    return team


def coaching_cases(tables: dict[str, pd.DataFrame], standards: dict) -> pd.DataFrame:
    """The one-to-one coaching cases of :func:`coaching_review` (runs that stand out from the team)."""
    cases, _ = coaching_review(tables, standards)
    return cases[cases["decision"] == "one-to-one coaching"].reset_index(drop=True)


def _weeks_with_data(weekly: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """One KPI's weeks that have observations, from a :func:`kpi_table` by week."""
    return weekly[(weekly["kpi"] == kpi) & (weekly["n"] > 0)]


def _counts_series(weekly: pd.DataFrame, kpi: str) -> pd.DataFrame:
    weekly = _weeks_with_data(weekly, kpi)
    return pd.DataFrame({"period": weekly["week"], "events": (weekly["value"] * weekly["n"]).round().astype("int64"),
                         "n": weekly["n"]}).reset_index(drop=True)


def _values_series(weekly: pd.DataFrame, kpi: str) -> pd.DataFrame:
    weekly = _weeks_with_data(weekly, kpi)
    return pd.DataFrame({"period": weekly["week"], "value": weekly["value"]}).reset_index(drop=True)


def weekly_counts(tables: dict[str, pd.DataFrame | str], kpi: str, standards: dict, connection=None) -> pd.DataFrame:
    """Weekly events and trials of a share KPI, for a p-chart: ``period, events, n``."""
    return _counts_series(kpi_table(tables, by=["week"], standards=standards, kpis=[kpi], connection=connection), kpi)


def weekly_values(tables: dict[str, pd.DataFrame | str], kpi: str, standards: dict, connection=None) -> pd.DataFrame:
    """Weekly values of a KPI, for an XmR chart: ``period, value``."""
    return _values_series(kpi_table(tables, by=["week"], standards=standards, kpis=[kpi], connection=connection), kpi)


def chart_series(tables: dict[str, pd.DataFrame | str], charts: list[tuple[str, str]], start: pd.Timestamp,
                 standards: dict, connection=None) -> dict[str, tuple[pd.DataFrame, int]]:
    """Each control chart's weekly series and its baseline: the number of weeks with data before ``start``.

    Parameters
    ----------
    tables : dict of DataFrame or DuckDB source
        The rows of the period and of the one before it (:func:`with_previous`).
    charts : list of (kind, kpi)
        ``"p"`` charts get :func:`weekly_counts`, ``"xmr"`` charts :func:`weekly_values`.
    start : Timestamp
        Where the period starts: the weeks with rows before it set the limits, the week straddling it
        included when it has rows before the start.
    standards : dict
        The raw standards.
    connection : DuckDB connection, optional

    Returns
    -------
    dict
        KPI name to ``(series, baseline)``.
    """
    names = [name for _, name in charts]
    # one aggregate per table for every chart, over only the tables the charts read
    # (the same numbers as one query per chart: each KPI keeps its own weeks with observations)
    read = {name: source for name, source in tables.items() if name in {KPIS[kpi].table for kpi in names}}
    weekly = kpi_table(read, by=["week"], standards=standards, kpis=names, connection=connection)
    # the weeks wholly before the start have the same rows in both periods' tables as before the start; only
    # the week straddling the start needs its own look, at its days before the start
    straddling = start.to_period("W-SUN").start_time
    edge = (kpi_table({name: _window(source, name, start=straddling, end=start) for name, source in read.items()},
                      by=["week"], standards=standards, kpis=names, connection=connection)
            if straddling < start else weekly.iloc[:0])
    series = {}
    for kind, name in charts:
        whole = _weeks_with_data(weekly, name)["week"]
        baseline = int((whole + pd.Timedelta(weeks=1) <= start).sum()) + len(_weeks_with_data(edge, name))
        series[name] = ((_counts_series if kind == "p" else _values_series)(weekly, name), baseline)
    return series


# ---------------------------------------------------------------- what the archive lets monitoring judge


def agent_field(table: str) -> str:
    """Where a KPI's rows name their agent: field visits name the engineer, QA reviews the agent
    reviewed, everything else the ticket's agent."""
    return {"field_visits": "field_visits.engineer_id", "qa_reviews": "qa_reviews.agent_id"}.get(table,
                                                                                                   "tickets.agent_id")


def rule_problem(ctx, rule: dict) -> str | None:
    """Why an alert rule cannot be judged on this archive (its KPI not measured, its groups absent), or None."""
    kpi = rule.get("kpi")
    if not ctx.measured(kpi):
        return ctx.kpi_reason(kpi)
    group = rule.get("unit", "team")
    if group == "agent":
        return ctx.missing(agent_field(KPIS[kpi].table))
    if group == "channel":
        return ctx.missing("tickets.channel")
    return None


def usable_rules(ctx) -> tuple[list[dict], list[str]]:
    """The standards' alert rules this archive can judge, and one line for each it cannot."""
    from qa_helpers.report.labels import t
    from qa_helpers.report.texts import say

    usable, notes = [], []
    for rule in ctx.standards.raw.get("alerts") or []:
        problem = rule_problem(ctx, rule)
        if problem is None:
            usable.append(rule)
        else:
            notes.append(say("monitoring.rule_not_judged", ctx.language, kpi=t(rule["kpi"], ctx.language),
                             group_by=t(f"group.{rule.get('unit', 'team')}", ctx.language), reason=problem))
    return usable, notes


def coaching_problem(ctx) -> str | None:
    """Why the coaching rule cannot run on this archive (it needs agents and its KPI), or None."""
    kpi = (ctx.standards.raw.get("coaching") or {}).get("kpi", "csat")
    if not ctx.measured(kpi):
        return ctx.kpi_reason(kpi)
    return ctx.missing(agent_field(KPIS[kpi].table))


# ---------------------------------------------------------------- report sections (monitoring notebook)

def unit_review(ctx, tables: dict[str, pd.DataFrame | str]) -> tuple[pd.DataFrame, list[str], pd.DataFrame,
                                                                   pd.DataFrame, str | None]:
    """:func:`unit_alerts` and :func:`unit_coaching` at once, each KPI's weekly tables from one scan of its
    table (:func:`weekly_kpis`): ``alerts, not_judged, cases, teams, why_not``."""
    rules, _ = usable_rules(ctx)
    computed = weekly_kpis(tables, review_requests(ctx.standards.raw, rules, coaching_problem(ctx) is None),
                           ctx.standards.raw, ctx.duckdb)
    return (*unit_alerts(ctx, tables, computed), *unit_coaching(ctx, tables, computed))


def unit_alerts(ctx, tables: dict[str, pd.DataFrame | str],
                computed: dict[tuple[str, tuple[str, ...]], pd.DataFrame] | None = None
                ) -> tuple[pd.DataFrame, list[str]]:
    """The unit's alerts (episodes, whole weeks of the period only) from the rules the archive can judge,
    and the lines saying what was not judged: rules skipped, partial weeks, group-weeks with too few.
    ``computed``: KPI tables over ``tables`` already computed (:func:`weekly_kpis`)."""
    rules, notes = usable_rules(ctx)
    judgements = weekly_judgements(tables, ctx.standards.raw, rules, ctx.period, ctx.duckdb, computed)
    return alert_episodes(judgements, ctx.standards.raw), [*notes, *judgement_notes(judgements, ctx.language)]


def _week_label(week: pd.Timestamp) -> str:
    return f"{week:%Y-%m-%d}" if pd.notna(week) else "–"


def alerts_view(ctx, alerts: pd.DataFrame, notes: list[str]) -> list:
    """One sorted alert table (open first, most severe first): chronic or new, start, weeks open,
    severity, n; or a line saying none fired; then what was not judged."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.plots import format_value
    from qa_helpers.report.texts import say

    if alerts.empty:
        return [say("monitoring.no_alerts", ctx.language), *notes]
    units = [KPIS[k].unit for k in alerts["kpi"]]
    shown = alerts.assign(
        kind=[t(k, ctx.language) for k in alerts["kind"]], severity=[t(s, ctx.language) for s in alerts["severity"]],
        group=[t(g, ctx.language) for g in alerts["group"]], start=alerts["start"].map(_week_label),
        last_week=alerts["last_week"].map(_week_label),
        value=[format_value(v, u) for v, u in zip(alerts["value"], units)],
        threshold=[format_value(v, u) for v, u in zip(alerts["threshold"], units)],
        open=[t("still open" if o else "closed", ctx.language) for o in alerts["open"]])
    columns = ["open", "severity", "kind", "kpi", "group_by", "group", "start", "last_week", "weeks_open",
               "weeks_fired", "value", "threshold", "n"]
    return [table(shown[columns], ctx.language, values=["kpi", "group_by"]), *notes]


def alerts_summary(alerts: pd.DataFrame) -> dict:
    """The index page's figures: open alerts (episodes still firing in the last whole week), all alerts of
    the period, how many are chronic, recurring and new, and the open ones of high severity."""
    if alerts.empty:
        return {"open_alerts": 0, "alerts": 0, "chronic_alerts": 0, "recurring_alerts": 0, "new_alerts": 0,
                "high_severity_alerts": 0}
    return {"open_alerts": int(alerts["open"].sum()), "alerts": len(alerts),
            "chronic_alerts": int((alerts["kind"] == "chronic").sum()),
            "recurring_alerts": int((alerts["kind"] == "recurring").sum()),
            "new_alerts": int((alerts["kind"] == "new").sum()),
            "high_severity_alerts": int(((alerts["severity"] == "high") & alerts["open"]).sum())}


def unit_coaching(ctx, tables: dict[str, pd.DataFrame | str],
                  computed: dict[tuple[str, tuple[str, ...]], pd.DataFrame] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """Coaching runs with their decision and the team table, or none and the line saying why none can
    be found. ``computed``: KPI tables over ``tables`` already computed (:func:`weekly_kpis`)."""
    from qa_helpers.report.texts import say

    problem = coaching_problem(ctx)
    if problem:
        why = say("monitoring.coaching_not_assessed", ctx.language, reason=problem)
        return pd.DataFrame(columns=COACHING_COLUMNS), pd.DataFrame(columns=TEAM_COLUMNS), why
    cases, teams = coaching_review(tables, ctx.standards.raw, ctx.duckdb, computed)
    return cases, teams, None


def coaching_view(ctx, cases: pd.DataFrame, teams: pd.DataFrame, note: str | None) -> list:
    """Per team: its CSAT against target and whether the remedy is team-level; then every run of the
    seed rule with its decision (one-to-one cases first)."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    if note:
        return [note]
    language = ctx.language
    team_lines = [
        say("monitoring.team_line", language, team=t(row.team, language), csat=f"{row.csat:.1%}", n=f"{row.n:,}",
            low=f"{row.ci_low:.1%}", high=f"{row.ci_high:.1%}", target=f"{row.target:.0%}")
        + " " + (say("monitoring.team_below", language, quiet=row.agents_with_runs - row.one_to_one,
                     runs=row.agents_with_runs) if row.below_target else say("monitoring.team_at_target", language))
        + " " + say("monitoring.team_one_to_one", language, cases=row.one_to_one, agents=row.agents)
        for row in teams.itertuples(index=False)]
    if cases.empty:
        return [*team_lines, say("monitoring.no_runs", language)]
    shown = cases.assign(first_week=cases["first_week"].map(_week_label),
                         last_week=cases["last_week"].map(_week_label),
                         p_value=["< 0.0001" if p < 0.0001 else f"{p:.4f}" if pd.notna(p) else "–"
                                  for p in cases["p_value"]],
                         decision=[t(d, language) for d in cases["decision"]]
                         ).rename(columns={"p_value": "p_below_team"})  # "p" alone names other tests elsewhere
    return [*team_lines, table(shown, language, percent=["run_csat", "team_csat", "shrunk_csat"])]


def at_a_glance(ctx, alerts: pd.DataFrame, cases: pd.DataFrame, teams: pd.DataFrame) -> str:
    """At a glance: open alerts (chronic, recurring, new; high severity), one-to-one coaching cases and teams
    whose remedy is team-level."""
    from qa_helpers.report.labels import glance, t

    counts = {**alerts_summary(alerts), **coaching_summary(cases, teams)}
    kinds = "; ".join(f"{t(kind, ctx.language)} {counts[f'{kind}_alerts']}" for kind in ("chronic", "recurring", "new"))
    return glance([
        {"label": t("open_alerts", ctx.language), "value": f"{counts['open_alerts']} / {counts['alerts']}",
         "target": "0", "met": counts["open_alerts"] == 0, "change": None},
        {"label": t("kind", ctx.language), "value": kinds},
        {"label": t("high_severity_open", ctx.language), "value": str(counts["high_severity_alerts"])},
        {"label": t("coaching_cases", ctx.language), "value": str(counts["coaching_cases"])},
        {"label": t("teams_below_target", ctx.language), "value": str(counts["teams_below_target"])},
    ], ctx.language)


def coaching_summary(cases: pd.DataFrame, teams: pd.DataFrame) -> dict:
    """The index page's figures: one-to-one cases (agents), and teams whose remedy is team-level."""
    one_to_one = cases[cases["decision"] == "one-to-one coaching"]
    return {"coaching_cases": int(one_to_one["agent_id"].nunique()),
            "coaching_runs": len(cases),
            "teams_below_target": int(teams["below_target"].sum()) if len(teams) else 0}


def with_previous(ctx, tables: dict[str, pd.DataFrame | str]) -> dict[str, pd.DataFrame | str]:
    """This period's tables with the previous period's rows added (the control charts' baseline).

    DuckDB sources (:meth:`~qa_helpers.report.context.Context.sources`) give DuckDB sources over both
    periods' files, nothing loaded; DataFrames give DataFrames."""
    if all(isinstance(frame, str) for frame in tables.values()):
        previous = ctx.sources(ctx.period.previous())
        return {name: f"(SELECT * FROM {previous[name]} UNION ALL BY NAME SELECT * FROM {source})"
                for name, source in tables.items()}
    previous = ctx.tables(ctx.period.previous())
    return {name: pd.concat([previous[name], frame], ignore_index=True) for name, frame in tables.items()}


CHARTS = (("p", "csat"), ("p", "fcr"), ("xmr", "median_first_response_s"))


def control_chart_section(ctx, both: dict[str, pd.DataFrame | str]) -> list:
    """p-charts (CSAT, FCR) and an XmR chart (median first response), weekly, with limits from the
    previous period; the Western Electric violations; a line for each chart the archive cannot draw."""
    from qa_helpers.monitor import control_charts
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    std, language = ctx.standards.raw, ctx.language
    drawn = [(kind, name) for kind, name in CHARTS if ctx.measured(name)]
    notes = [say("monitoring.chart_not_drawn", language, kpi=t(name, language), reason=ctx.kpi_reason(name))
             for kind, name in CHARTS if not ctx.measured(name)]
    if not drawn:
        return notes
    series = chart_series(both, drawn, ctx.period.start, std, ctx.duckdb)
    fig, axes = plt.subplots(len(drawn), 1, figsize=(11, 3.7 * len(drawn)), squeeze=False)
    signals = []
    for ax, (kind, name) in zip(axes[:, 0], drawn):
        label = t(name, language)
        weekly, baseline = series[name]
        if kind == "p":
            chart = control_charts.p_chart(weekly, baseline=baseline or None)
            control_charts.plot_p_chart(chart, ax=ax, metric=label, title=say("monitoring.p_chart_title", language, kpi=label), language=language)
        else:
            chart = control_charts.xmr_chart(weekly, baseline=baseline or None, floor=0)
            control_charts.plot_xmr_chart(chart, ax=ax, metric=label, unit="s", title=say("monitoring.xmr_chart_title", language, kpi=label), language=language)
        signals.append(chart.assign(chart=say(f"monitoring.{kind}_chart_title", language, kpi=label)))
    found = pd.concat(signals, ignore_index=True)
    found = found[found["signal"].astype(bool)]
    rules = found["rules"].map(lambda text: "; ".join(t(f"rule.{rule}", language) for rule in text.split("; ")))
    return [fig, table(found.assign(week=found["period"].dt.date, rules=rules)[["chart", "week", "rules"]], language)
            if len(found) else say("monitoring.no_violations", language), *notes]


def action_progress(ctx, both: dict[str, pd.DataFrame | str]) -> list:
    """Weekly values of each open action's metrics since its start, against its acceptance target."""
    from qa_helpers.report import plots
    from qa_helpers.report.labels import t
    from qa_helpers.report.texts import say

    register = ctx.actions()
    open_actions = register[register["status"].isin(["in_progress", "planned"]) & (register["start"] < ctx.period.end)]
    left_out = ctx.actions_left_out()
    if ctx.actions(every_unit=True).empty and not left_out:
        return [say("monitoring.no_actions", ctx.language)]
    if open_actions.empty:
        return [say("monitoring.no_open_actions", ctx.language), *left_out]
    items: list = list(left_out)
    for action in open_actions.itertuples(index=False):
        metrics = [m for m in action.metrics if ctx.measured(m["kpi"])]
        items += [say("monitoring.metric_not_followed", ctx.language, action=action.action_id,
                      kpi=t(m["kpi"], ctx.language), reason=ctx.kpi_reason(m["kpi"]))
                  for m in action.metrics if not ctx.measured(m["kpi"])]
        if not metrics:
            continue
        since = {name: _window(frame, name, start=action.start) for name, frame in both.items()}
        fig, axes = plt.subplots(1, len(metrics), figsize=(7 * len(metrics), 3.6), squeeze=False)
        for ax, metric in zip(axes[0], metrics):
            weekly = ctx.kpi_table(since, by=["week"], kpis=[metric["kpi"]])
            plots.plot_kpi_trend(weekly, metric["kpi"], KPIS[metric["kpi"]].unit, metric["target"], ax=ax,
                                 language=ctx.language, min_n=3)
            ax.set_title(say("monitoring.progress_title", ctx.language, action=action.action_id,
                             kpi=t(metric["kpi"], ctx.language), start=f"{action.start:%Y-%m-%d}"))
        items.append(fig)
    return items
