"""Before/after evaluation of an action (step 6): from the register and the archive to verdicts.

:func:`evaluate_action` takes one action of the register, turns each of its KPIs into
observations (one row per survey answer, ticket or visit, with its agent), and runs
:mod:`qa_helpers.stats`: the before/after test clustered on agent and week (the default), a
difference-in-differences against the control teams, a segmented regression on the
weekly series, a channel-mix check with a channel-standardised estimate when the mix
moved, and the minimum detectable effect. Every verdict-bearing row of an action (default,
DiD, segmented level and slope, standardised) is in one family: Holm (or BH) across all of
them, CIs at the family's level, and the ``family`` column names it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from qa_helpers.data import archive as qa_archive
from qa_helpers.errors import ArchiveError
from qa_helpers import stats
from qa_helpers.measures.kpis import KPIS, _where
from qa_helpers.report import background
from qa_helpers.data.schemas import ANALYSIS_TABLES, TIME_COLUMNS

SCORE_SCALE = (1, 5)  # CSAT answers: the ordinal KPIs' scale; a score outside it is a data error
KIND_OF_AGG = {"share": "proportion", "mean": "duration", "median": "duration", "nps": "ordinal",
               "per_1000": "rate"}


def metric_kind(kpi: str) -> str | None:
    """The statistical kind of a KPI: proportion, duration, ordinal, rate (None: not testable)."""
    spec = KPIS[kpi]
    if spec.unit == "score":
        return "ordinal"
    return KIND_OF_AGG.get(spec.agg)


def observation_sql(sources: dict[str, str], columns: dict[str, set[str]], kpi: str, standards: dict,
                    ordered: bool = False) -> str:
    """The SQL of :func:`observations` over DuckDB sources (table name -> source, and its columns).

    Returns a parenthesised SELECT with ``time, team, agent_id, channel, value`` (durations keep
    their zeros here; :func:`observations` drops them). ``ordered``: the sources carry ``_team,
    _file, _row`` (:func:`window_sources`) and the rows come in that order.
    """
    spec = KPIS[kpi]
    if spec.agg == "per_1000":
        order = " ORDER BY min(t._team), min(t._file), min(t._row)" if ordered else ""
        return (f"(SELECT t.created_at AS time, t.team, t.agent_id, t.channel, "
                f"CAST(count(c.complaint_id) AS DOUBLE) AS value FROM {sources['tickets']} t "
                f"LEFT JOIN {sources['complaints']} c ON c.ticket_id = t.ticket_id "
                f"GROUP BY t.ticket_id, t.created_at, t.team, t.agent_id, t.channel{order})")
    expr = spec.sql(standards)
    # shares become 0/1; everything else (seconds, 1-5 and 0-10 scores) is tested on its own scale
    value = f"CASE WHEN ({expr}) THEN 1.0 ELSE 0.0 END" if spec.agg == "share" else f"CAST({expr} AS DOUBLE)"
    agent = "engineer_id" if spec.table == "field_visits" else "agent_id"
    channel = "channel" if "channel" in columns[spec.table] else "NULL"
    order = " ORDER BY _team, _file, _row" if ordered else ""
    return (f"(SELECT {TIME_COLUMNS[spec.table]} AS time, team, {agent} AS agent_id, {channel} AS channel, "
            f"{value} AS value FROM {sources[spec.table]} WHERE ({_where(spec, standards)}) AND ({expr}) IS NOT NULL"
            f"{order})")


def window_observations(teams: list[str], archive, start, end, kpis, standards: dict, *,
                        complaints_span: tuple | None = None,
                        spans: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """:func:`observations` of each KPI for a set of teams between two dates, straight from the archive:
    DuckDB reads only the months that overlap, the teams' rows and the KPI's columns, and only the
    observations reach pandas (in :func:`load_teams`' row order, so the tests see what they saw before).

    Parameters
    ----------
    teams, archive, start, end
        As for :func:`load_teams`.
    kpis : iterable of str
        The KPIs.
    standards : dict
        Loaded standards.
    complaints_span : (start, end), optional
        The window for complaints (a rate counts a ticket's complaints made up to this end); the
        tickets' window without.
    spans : DataFrame, optional
        ``team, start, end``: only the observations of these teams in these half-open windows (and
        within ``start, end``), as :func:`window_sources`; complaints are not restricted by them.

    Returns
    -------
    dict
        KPI -> ``time, team, agent_id, channel, value``.
    """
    kpis = list(dict.fromkeys(kpis))
    names = list(dict.fromkeys(n for kpi in kpis for n in (
        ["tickets", "complaints"] if KPIS[kpi].agg == "per_1000" else [KPIS[kpi].table])))
    con = _connection()
    sources, columns = window_sources(teams, archive, start, end, [n for n in names if n != "complaints"],
                                      connection=con, ordered=True, spans=spans)
    if "complaints" in names:
        extra, extra_columns = window_sources(teams, archive, *(complaints_span or (start, end)), ["complaints"],
                                              connection=con, ordered=True)
        sources["complaints"], columns["complaints"] = extra["complaints"], extra_columns["complaints"]
    out = {}
    for kpi in kpis:
        frame = con.sql(observation_sql(sources, columns, kpi, standards, ordered=True)).df()
        frame["time"] = frame["time"].astype("datetime64[ns]")
        if metric_kind(kpi) == "duration":
            frame = frame[frame["value"] > 0]  # log scale: a zero-second response carries no ratio information
        out[kpi] = frame.reset_index(drop=True)
    return out


def did_cells(connection, sources: dict[str, str], columns: dict[str, set[str]], kpi: str, standards: dict,
              windows: pd.DataFrame, group: str = "team", channels: list[str] | None = None,
              agent_groups: pd.DataFrame | None = None) -> pd.DataFrame:
    """The sufficient statistics of :func:`qa_helpers.stats.diff_in_diff_cells` for a KPI, summed in DuckDB:
    its observations (:func:`observation_sql`) per group x agent x week x window; no row is loaded.

    Parameters
    ----------
    connection : duckdb.DuckDBPyConnection
        Where ``sources`` can be read.
    sources, columns
        As :func:`window_sources` returns them (any span that covers ``windows``).
    kpi : str
        The KPI.
    standards : dict
        Loaded standards.
    windows : DataFrame
        :func:`qa_helpers.stats.week_windows`: only the before and after windows are summed.
    group : str
        SQL over the observations naming each one's group (``team``, or a CASE on ``agent_id``); NULL leaves
        the observation out.
    channels : list of str, optional
        Only these channels.
    agent_groups : DataFrame, optional
        ``agent_id, group``: each listed agent's group (the first row of an agent counts), replacing
        ``group``; an observation of an agent not listed is left out. A join, where a CASE over long
        lists of agents would test every row against every agent (ten times slower at 3 M rows).

    Returns
    -------
    DataFrame
        :data:`qa_helpers.stats.did.CELL_COLUMNS` (``team`` holds the group).
    """
    kind = metric_kind(kpi)
    source = observation_sql(sources, columns, kpi, standards)
    if agent_groups is not None:
        connection.register("did_agent_groups", agent_groups[["agent_id", "group"]].drop_duplicates("agent_id"))
        group = "agent_id"  # an agent's cells are summed first and joined to its group after (its one group)
    bounds = windows.set_index("window")
    stamp = lambda t: "TIMESTAMP " + qa_archive.sql_text(pd.Timestamp(t).strftime("%Y-%m-%d %H:%M:%S.%f"))  # noqa: E731
    inside = " OR ".join(f"(time >= {stamp(bounds.at[w, 'start'])} AND time < {stamp(bounds.at[w, 'end'])})"
                         for w in ("before", "after"))
    conditions = [f"({inside})", "value IS NOT NULL", f"({group}) IS NOT NULL"]
    if kind == "duration":
        conditions.append("value > 0")  # as :func:`observations`: zero seconds carry no ratio information
    if channels:
        conditions.append(f"channel IN ({', '.join(qa_archive.sql_text(c) for c in channels)})")
    value = "ln(value)" if kind == "duration" else "value"
    cells = (f"SELECT ({group}) AS team, agent_id AS cluster, date_trunc('week', time) AS week, "
             f"time >= {stamp(bounds.at['after', 'start'])} AS after, sum({value}) AS y, "
             f"CAST(count(*) AS DOUBLE) AS n, count(*) AS count FROM {source} "
             f"WHERE {' AND '.join(conditions)} GROUP BY ALL")
    if agent_groups is not None:  # the join after the sums: thousands of cells, not millions of rows
        cells = (f"SELECT g.\"group\" AS team, c.cluster, c.week, c.after, c.y, c.n, c.count FROM ({cells}) AS c "
                 f"JOIN did_agent_groups AS g ON c.cluster = g.agent_id WHERE g.\"group\" IS NOT NULL")
    out = connection.execute(cells).df()
    out["week"] = pd.to_datetime(out["week"]).astype("datetime64[ns]")
    return out.astype({"team": object, "cluster": object, "after": bool, "count": "int64"})


def observations(tables: dict[str, pd.DataFrame], kpi: str, standards: dict) -> pd.DataFrame:
    """One row per observation of a KPI: ``time, team, agent_id, channel, value``.

    Shares give 0/1, durations seconds, scores 1-5; for complaints per 1 000 tickets each
    ticket is one unit of exposure and ``value`` counts its complaints.
    """
    spec = KPIS[kpi]
    con = duckdb.connect()
    names = ["tickets", "complaints"] if spec.agg == "per_1000" else [spec.table]
    for name in names:
        con.register(name, tables[name])
    out = con.sql(observation_sql({n: n for n in names}, {n: set(tables[n].columns) for n in names}, kpi,
                                  standards)).df()
    if metric_kind(kpi) == "duration":
        out = out[out["value"] > 0]  # log scale: a zero-second response carries no ratio information
    return out.reset_index(drop=True)


def _kpi_level(values: pd.Series, agg: str) -> float:
    """A window's level on the KPI's own scale: a share, an arithmetic mean or a median."""
    return float(values.median()) if agg == "median" else float(values.mean())


def _expected_effect(kind: str, before: float, target: float, direction: str) -> float | None:
    """The effect the acceptance target asks for, in the effect's scale (None if already met).

    ``before`` is the before-window level on the KPI's own scale (a mean response time is
    compared with its target as a mean, not as the test's geometric mean); for durations and
    rates the target becomes the ratio ``target / before``, the proportional change the
    test's ratio scale measures."""
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
    results: pd.DataFrame                       # default clustered tests (all rows: one family per action)
    did: pd.DataFrame                           # difference-in-differences per metric
    its: pd.DataFrame                           # segmented regression: level and slope rows
    mix: pd.DataFrame                           # channel-mix shift table
    standardised: pd.DataFrame                  # channel-standardised rows where the mix moved
    weekly: pd.DataFrame                        # kpi, team, week, value, n, role
    after_kpis: pd.DataFrame                    # kpi, value, n: the KPIs themselves in the after-window
    observations: dict = field(default_factory=dict)
    conclusions: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: dict = field(default_factory=dict)  # kpi -> why it could not be evaluated
    windows: pd.DataFrame = field(default_factory=pd.DataFrame)  # the tests' before / after weeks


def _months(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """The archive's month partitions (``YYYY-MM``) that hold times in ``[start, end)``."""
    if end <= start:
        return []
    return [str(m) for m in pd.period_range(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(1, "ns"), freq="M")]


def table_columns(name: str, archive) -> list[str] | None:
    """The archived columns of one table (``month`` left out); None when the archive has no such table."""
    import pyarrow.dataset as pads

    folder = qa_archive.archive_path(archive) / name
    if not any(folder.glob("**/*.parquet")):
        return None
    return [c for c in pads.dataset(folder, format="parquet", partitioning="hive").schema.names if c != "month"]


def kpi_columns(name: str, kpis, standards: dict) -> list[str]:
    """The columns of table ``name`` that the observations and KPI figures of ``kpis`` read."""
    wanted = {TIME_COLUMNS[name], "team", "channel", "agent_id", "engineer_id", "ticket_id"}
    if name == "complaints":
        wanted.add("complaint_id")
    for kpi in kpis:
        spec = KPIS[kpi]
        if spec.table == name:
            wanted |= spec.columns(standards)
        if spec.agg == "per_1000" and name == "tickets":
            wanted |= {"created_at"}
    return sorted(wanted)


def load_teams(teams: list[str], archive, start: pd.Timestamp, end: pd.Timestamp,
               columns: dict[str, list[str]] | None = None,
               names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The analysis tables for a set of teams between two dates.

    Only the month files that overlap ``[start, end)`` are read, with the teams filter pushed
    into the parquet scan; rows come team by team in ``teams`` order.

    Parameters
    ----------
    teams : list of str
        Team names.
    archive : path-like
        The archive.
    start, end : Timestamp
        The half-open time window (each table's own time column).
    columns : dict, optional
        Table -> the columns to read (those the table lacks are skipped); all columns without.
    names : list of str, optional
        Only these tables (default: every analysis table).

    Returns
    -------
    dict of DataFrame
        Table name -> its rows; an absent table is empty with its columns.
    """
    from qa_helpers.report.context import empty_table

    start, end = pd.Timestamp(start), pd.Timestamp(end)
    months = _months(start, end)
    out = {}
    for name in names or ANALYSIS_TABLES:
        present = table_columns(name, archive)
        if present is None:
            out[name] = empty_table(name)
            continue
        wanted = None if columns is None or name not in columns else [c for c in present if c in columns[name]]
        try:
            frame = qa_archive.load(name, qa_archive.ALL, archive=archive, columns=wanted,
                                    where={"team": list(teams), "month": months or ["none"]})
        except (FileNotFoundError, ArchiveError):  # an archive from before absent tables were written empty
            out[name] = empty_table(name, wanted)
            continue
        time = frame[TIME_COLUMNS[name]]
        frame = frame[(time >= start) & (time < end)]
        order = pd.Categorical(frame["team"], categories=list(dict.fromkeys(teams)))
        out[name] = frame.iloc[np.argsort(order.codes, kind="stable")].reset_index(drop=True)
    return out


def window_sources(teams: list[str], archive, start: pd.Timestamp, end: pd.Timestamp,
                   names: list[str], channels: list[str] | None = None,
                   connection=None, ordered: bool = False,
                   spans: pd.DataFrame | None = None) -> tuple[dict[str, str], dict[str, set[str]]]:
    """DuckDB sources for tables of a set of teams between two dates (only the months that overlap),
    optionally only some channels (tables without a channel column are not filtered). ``ordered``
    adds ``_team`` (the team's place in ``teams``), ``_file`` and ``_row`` (the row's file and place
    in it), to return rows in :func:`load_teams`' order. ``spans`` (``team, start, end``) keeps only
    the rows of those teams in those half-open windows, and only their months are read: a few weeks
    around each of a year's coaching sessions, not the whole year.

    Returns
    -------
    (sources, columns)
        Table -> a parenthesised SELECT, and table -> its column names. An absent table is an
        empty frame registered on ``connection``.
    """
    from qa_helpers.report.context import empty_table

    start, end = pd.Timestamp(start), pd.Timestamp(end)
    folder = qa_archive.archive_path(archive)
    months = set(_months(start, end))
    stamp = lambda t: "TIMESTAMP " + qa_archive.sql_text(pd.Timestamp(t).strftime("%Y-%m-%d %H:%M:%S.%f"))  # noqa: E731
    if spans is not None:
        months &= {m for s in spans.itertuples(index=False) for m in _months(max(start, s.start), min(end, s.end))}
    team_list = ", ".join(qa_archive.sql_text(t) for t in teams) or "NULL"
    sources, columns = {}, {}
    for name in names:
        present = table_columns(name, archive)
        if present is None:
            empty = empty_table(name)
            if ordered:
                empty = empty.assign(_team=pd.Series(dtype="int64"), _file=pd.Series(dtype="object"),
                                     _row=pd.Series(dtype="int64"))
            label = f"window_empty_{name}"
            connection.register(label, empty)
            sources[name], columns[name] = label, set(empty.columns)
            continue
        every = sorted((folder / name).glob("month=*/*.parquet"))
        files = [f for f in every if f.parent.name.removeprefix("month=") in months]
        time = '"' + TIME_COLUMNS[name] + '"'
        conditions = [f"team IN ({team_list})", f"{time} >= {stamp(start)}", f"{time} < {stamp(end)}"]
        if spans is not None:
            conditions.append("(" + (" OR ".join(
                f"(team = {qa_archive.sql_text(s.team)} AND {time} >= {stamp(s.start)} AND {time} < {stamp(s.end)})"
                for s in spans.itertuples(index=False)) or "false") + ")")
        if not files:
            files, conditions = every[:1], ["false"]
        if channels and "channel" in present:
            conditions.append(f"channel IN ({', '.join(qa_archive.sql_text(c) for c in channels)})")
        listing = ", ".join(qa_archive.sql_text(f.as_posix()) for f in files)
        select = ", ".join('"' + c + '"' for c in present)
        options = "hive_partitioning = false"
        if ordered:
            select += f", list_position([{team_list}], team) AS _team, filename AS _file, file_row_number AS _row"
            options += ", filename = true, file_row_number = true"
        sources[name] = (f"(SELECT {select} FROM read_parquet([{listing}], {options}) "
                         f"WHERE {' AND '.join(conditions)})")
        columns[name] = set(present)
    return sources, columns


def read_action(action, archive, standards: dict, *, weeks_before: int = 8, weeks_after: int = 8,
                washout_weeks: int = 0, its_weeks: int = 26, unavailable: dict[str, str] | None = None) -> dict:
    """Every archive read of :func:`evaluate_action` (its scans, no test): the treated teams' observations in the
    test windows, each metric's weekly series and DiD cells over the span (or the ValueError its scan raised),
    the after-window KPIs. Parameters as for :func:`evaluate_action`; the result is its ``reads``.

    :func:`evaluate_plan` runs the reads of the next actions in a thread of their own while the statistics of
    the current one run: DuckDB releases the GIL while it scans, so the two overlap.
    """
    start = pd.Timestamp(action.start)
    windows = stats.week_windows(start, weeks_before=max(weeks_before, its_weeks),
                                 weeks_after=max(weeks_after, its_weeks) + washout_weeks, washout_weeks=0)
    span_start, span_end = windows["start"].min(), windows["end"].max()
    treated, controls = list(action.teams), list(action.control_teams)
    skipped = {kpi: why for kpi, why in (unavailable or {}).items() if kpi in {m["kpi"] for m in action.metrics}}
    # the tests read the observations of their own windows (treated and control teams, straight from
    # DuckDB); the segmented regression's longer series comes from DuckDB as weekly aggregates
    kpis = [m["kpi"] for m in action.metrics if m["kpi"] not in skipped and metric_kind(m["kpi"]) is not None]
    names = list(dict.fromkeys(n for kpi in kpis for n in (
        ["tickets", "complaints"] if KPIS[kpi].agg == "per_1000" else [KPIS[kpi].table])))
    test_windows = stats.week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after,
                                      washout_weeks=washout_weeks)
    # a ticket's complaints may come after the test windows: counted up to the span's end, as before
    # the DiD's control teams are summed in DuckDB (:func:`did_cells`): only the treated teams' rows are read
    tables = window_observations(treated, archive, max(test_windows["start"].min(), span_start),
                                 min(test_windows["end"].max(), span_end), kpis, standards,
                                 complaints_span=(span_start, span_end))
    con = _connection()
    sources, source_columns = window_sources(treated + controls, archive, span_start, span_end, names, connection=con)
    span = {"connection": con, "sources": sources, "columns": source_columns}
    # every scan of the action before its first test: cold, the statistics' modules load meanwhile
    # (:func:`evaluate_plan`), and a scan's error is raised where the metric's test would have met it
    scans = [_scan_or_error(span, m["kpi"], standards, action.channels, test_windows)
             if m["kpi"] not in skipped and metric_kind(m["kpi"]) is not None else None for m in action.metrics]
    after = test_windows.set_index("window").loc["after"]
    after_kpis = measure_kpis(action, archive, standards, after["start"], after["end"])
    return {"start": start, "treated": treated, "controls": controls, "skipped": skipped, "tables": tables,
            "scans": scans, "after_kpis": after_kpis, "windows": test_windows}


def evaluate_action(action, archive, standards: dict, *, weeks_before: int = 8, weeks_after: int = 8,
                    washout_weeks: int = 0, its_weeks: int = 26, alpha: float = 0.05,
                    method: str = "holm", unavailable: dict[str, str] | None = None,
                    reads: dict | None = None) -> ActionEvaluation:
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
        Significance level (family-wise with Holm).
    method : {"holm", "bh"}
        Adjustment across every verdict-bearing row of the action (default, DiD, segmented
        level and slope, standardised), with CIs at the family's level.
    unavailable : dict, optional
        KPI -> why the archive cannot measure it; those metrics are skipped, and so is a metric
        whose windows hold too little data to test (both land in ``skipped`` with the reason).
        Observations without an agent are tested unclustered (the result's method says so).
    reads : dict, optional
        :func:`read_action` of this action with the same windows and ``unavailable`` (read beforehand);
        without, the action reads them first.

    Returns
    -------
    ActionEvaluation
    """
    reads = reads if reads is not None else read_action(
        action, archive, standards, weeks_before=weeks_before, weeks_after=weeks_after, washout_weeks=washout_weeks,
        its_weeks=its_weeks, unavailable=unavailable)
    start, treated, controls = reads["start"], reads["treated"], reads["controls"]
    tables, scans, after_kpis, test_windows = reads["tables"], reads["scans"], reads["after_kpis"], reads["windows"]
    skipped = dict(reads["skipped"])
    rows, did, its, mixes, standardised, weekly, obs_by = [], [], [], [], [], [], {}
    for metric, scan in zip(action.metrics, scans):
        kpi = metric["kpi"]
        if kpi in skipped:
            continue
        if metric_kind(kpi) is None:
            skipped[kpi] = "no before/after test for this kind of KPI"
            continue
        try:
            parts = _evaluate_metric(action, metric, tables, standards, start, treated, controls, weeks_before,
                                     weeks_after, washout_weeks, its_weeks, alpha, scan)
        except ValueError as exc:  # too few observations in a window, a single agent, ...
            skipped[kpi] = f"too little data to test ({exc})"
            continue
        obs_by[kpi] = parts["obs"]
        rows.append(parts["row"])
        mixes += parts["mix"]
        standardised += parts["standardised"]
        did += parts["did"]
        weekly.append(parts["weekly"])
        its.append(parts["its"])
    sections = {"results": rows, "did": did, "its": its, "standardised": standardised}
    adjusted = _one_family(sections, f"{action.action_id} ({method})", method)
    # acceptance is judged on the KPI as defined (a mean, a median, NPS points), not on the
    # test's effect scale (a geometric mean, a mean raw score)
    evaluation = ActionEvaluation(
        action_id=action.action_id, results=adjusted["results"],
        did=adjusted["did"], its=adjusted["its"], mix=_stack(mixes), standardised=adjusted["standardised"],
        weekly=_stack(weekly), after_kpis=after_kpis,
        observations=obs_by, skipped=skipped, windows=test_windows)
    evaluation.conclusions = conclusions(evaluation, action)
    return evaluation


def _one_family(sections: dict[str, list[pd.DataFrame]], family: str, method: str) -> dict[str, pd.DataFrame]:
    """Adjust every row of every section as one family and split them back by section."""
    frames = [frame for part in sections.values() for frame in part]
    if not frames:
        return {name: pd.DataFrame(columns=stats.COLUMNS) for name in sections}
    adjusted = stats.adjust_family(frames, family=f"{family}: {sum(len(f) for f in frames)} rows", method=method)
    out, start = {}, 0
    for name, part in sections.items():
        size = sum(len(f) for f in part)
        out[name] = adjusted.iloc[start:start + size].reset_index(drop=True) if size else \
            pd.DataFrame(columns=stats.COLUMNS)
        start += size
    return out


def _scan_or_error(span: dict, kpi: str, standards: dict, channels, windows: pd.DataFrame):
    """:func:`_weekly_sql` with the DiD's cells for one metric, or the ValueError it raised."""
    try:
        return _weekly_sql(span, kpi, metric_kind(kpi), standards, channels, windows=windows)
    except ValueError as exc:
        return exc


def _evaluate_metric(action, metric: dict, tables: dict[str, pd.DataFrame], standards: dict, start: pd.Timestamp,
                     treated: list[str], controls: list[str], weeks_before: int, weeks_after: int,
                     washout_weeks: int, its_weeks: int, alpha: float, scan) -> dict:
    """Every test of one metric of an action (see :func:`evaluate_action`): ``tables`` hold each KPI's
    observations in the test windows, ``scan`` the metric's weekly series and DiD cells over the whole span
    (:func:`_weekly_sql`), or the ValueError that scan raised."""
    kpi, direction = metric["kpi"], metric["direction"]
    kind = metric_kind(kpi)
    obs = tables[kpi]  # the KPI's observations in the test windows (:func:`window_observations`)
    if action.channels:
        obs = obs[obs["channel"].isin(action.channels)]
    mine = obs[obs["team"].isin(treated)]
    test_windows = stats.week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after,
                                      washout_weeks=washout_weeks)
    if isinstance(scan, ValueError):
        raise scan
    series, cells = scan
    # without agents (an export with no agent field) the observations cannot be clustered
    cluster = "agent_id" if series["agents"].any() else None
    common = dict(time="time", cluster=cluster, weeks_before=weeks_before, weeks_after=weeks_after,
                  washout_weeks=washout_weeks, alpha=alpha, direction=direction)
    labelled = mine.assign(window=stats.label_windows(mine["time"], test_windows))
    before_level = _kpi_level(labelled.loc[labelled["window"] == "before", "value"], KPIS[kpi].agg)
    if kind == "rate":
        before_level *= stats.RATE_PER
    expected = _expected_effect(kind, before_level, metric["target"], direction)
    row = stats.before_after(mine, kpi, kind, start, expected_effect=expected,
                             score_range=SCORE_SCALE if kind == "ordinal" else None, **common)
    mixes, standardised, did = [], [], []
    treated_channels = set().union(*series.loc[series["team"].isin(treated), "channels"].map(set))
    if kind != "ordinal" and len(treated_channels) > 1 and not action.channels:
        mix = stats.mix_shift(labelled[labelled["window"].isin(["before", "after"])], by="channel")
        mixes.append(mix.assign(metric=kpi))
        if (mix["p"] < alpha).any() if "p" in mix.columns else False:
            standardised.append(stats.before_after(mine, kpi, kind, start, stratify="channel",
                                                   expected_effect=expected, **common))
    if controls and kind != "ordinal":
        did.append(stats.diff_in_diff_cells(cells, kpi, kind, treated=treated, controls=controls, cluster=cluster,
                                            direction=direction, alpha=alpha, expected_effect=expected))
    series = series.drop(columns=["agents", "channels"])
    series["role"] = np.where(series["team"].isin(treated), "treated", "control")
    # the treated teams' weekly values pooled, weighted by their observations
    mine_weekly = series[series["team"].isin(treated)]
    pooled = pd.DataFrame({"week": mine_weekly["week"], "value": mine_weekly["value"] * mine_weekly["n"],
                           "n": mine_weekly["n"].astype(float)}).groupby("week", sort=True).sum()
    treated_series = pd.DataFrame({"week": pooled.index, "value": (pooled["value"] / pooled["n"]).to_numpy(),
                                   "n": pooled["n"].to_numpy()})
    its_span = (treated_series["week"] >= start - pd.Timedelta(weeks=its_weeks)) & \
               (treated_series["week"] < start + pd.Timedelta(weeks=its_weeks))
    return {"obs": obs, "row": row, "mix": mixes, "standardised": standardised, "did": did,
            "weekly": series.assign(kpi=kpi),
            "its": stats.segmented(treated_series[its_span], kpi, start, direction=direction, alpha=alpha,
                                   bend=stats.bends(kind))}


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


_CONNECTION: list = []
_THREAD = threading.local()
_MAKING = threading.Lock()


def _connection():
    """A DuckDB connection like a report context's (:func:`qa_helpers.data.archive.analysis_cursor`), made once
    per process; frames registered on it are replaced. A background thread (:mod:`qa_helpers.report.background`)
    gets a cursor of its own on it."""
    with _MAKING:  # two background threads asking first make one connection
        if not _CONNECTION:
            _CONNECTION.append(qa_archive.analysis_cursor())
    if threading.current_thread() is threading.main_thread():
        return _CONNECTION[0]
    # another thread: a cursor of its own, a connection to the same database
    cursor = getattr(_THREAD, "cursor", None)
    if cursor is None:
        cursor = _THREAD.cursor = _CONNECTION[0].cursor()
    return cursor


def _weekly_sql(span: dict, kpi: str, kind: str, standards: dict, channels=None,
                windows: pd.DataFrame | None = None):
    """:func:`_weekly` computed in DuckDB over the span's sources, with per team and week whether any
    observation names an agent (``agents``) and the channels seen (``channels``).

    With ``windows`` (:func:`qa_helpers.stats.week_windows`, whole weeks) the same scan also sums the
    difference-in-differences' cells (:func:`did_cells` with ``group="team"``) per team, agent and week of
    the before and after windows, and ``(weekly, cells)`` is returned: at 10 M tickets every scan reads
    every row of its months, and the cells' weeks are inside the series' span.
    """
    obs = observation_sql(span["sources"], span["columns"], kpi, standards)
    value = "ln(value)" if kind == "duration" else "value"
    conditions = ["team IS NOT NULL", "time IS NOT NULL"]
    if kind == "duration":
        conditions.append("value > 0")  # as :func:`observations`: zero seconds carry no ratio information
    if channels:
        conditions.append(f"channel IN ({', '.join(qa_archive.sql_text(c) for c in channels)})")
    groups = "GROUP BY 1, 2"
    if windows is not None:  # the team x week rows, and the team x agent x week rows the DiD sums
        groups = "GROUP BY GROUPING SETS ((team, week), (team, agent_id, week))"
    # the rows summed once per team, agent, week and channel, and those sums summed again for both sets (one
    # pass over millions of rows with plain sums costs DuckDB a third less than the sets' lists and flags)
    fine = (f"(SELECT team, agent_id, date_trunc('week', time) AS week, channel, sum({value}) AS y, "
            f"count(*) AS n FROM {obs} WHERE {' AND '.join(conditions)} GROUP BY ALL)")
    out = span["connection"].execute(
        "SELECT team, week, sum(y) / sum(n) AS value, CAST(sum(n) AS BIGINT) AS n, "
        "bool_or(agent_id IS NOT NULL) AS agents, "
        "coalesce(list(DISTINCT channel) FILTER (WHERE channel IS NOT NULL), []) AS channels"
        + (", agent_id AS cluster, sum(y) AS y, grouping(agent_id) AS _level" if windows is not None else "")
        + f" FROM {fine} {groups} ORDER BY 1, 2").df()
    out["week"] = pd.to_datetime(out["week"]).astype("datetime64[ns]")
    out["n"] = out["n"].astype("int64")
    cells = None
    if windows is not None:
        bounds = windows.set_index("window")
        by_agent = out["_level"].to_numpy() == 0
        cells = out[by_agent]
        out = out[~by_agent].drop(columns=["cluster", "y", "_level"]).reset_index(drop=True)
        week = cells["week"]
        inside = np.zeros(len(cells), dtype=bool)
        for name in ("before", "after"):
            inside |= ((week >= bounds.at[name, "start"]) & (week < bounds.at[name, "end"])).to_numpy()
        cells = cells[inside]
        cells = pd.DataFrame({"team": cells["team"].astype(object), "cluster": cells["cluster"].astype(object),
                              "week": cells["week"], "after": (cells["week"] >= bounds.at["after", "start"]).to_numpy(),
                              "y": cells["y"].astype(float), "n": cells["n"].astype(float),
                              "count": cells["n"].astype("int64")}).reset_index(drop=True)
    if kind == "rate":
        out["value"] *= stats.RATE_PER
    return out if windows is None else (out, cells)


def conclusions(evaluation: ActionEvaluation, action, language: str = "en") -> pd.DataFrame:
    """One plain-language sentence per metric (in ``language``), and whether to standardise the measure.

    ``target`` and ``kpi_after`` (the KPI as defined, in the after-window) ride along for
    :func:`qa_helpers.improve.summary.action_headlines`.

    Standardise (seed 000 step 6) when the default test says *improved* and the after-window
    value also meets the action's acceptance target.
    """
    from qa_helpers.report.labels import t
    from qa_helpers.report.texts import say

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
            did_text = say("conclusion.did", language, verdict=t(d["verdict"], language), p=f"{d['p_adj']:.3g}")
        text = (say("conclusion.main", language, kpi=t(row.metric, language), verdict=t(row.verdict, language),
                    before=f"{row.before:.3g}", after=f"{row.after:.3g}", effect=f"{row.effect:.3g}",
                    low=f"{row.ci_low:.3g}", high=f"{row.ci_high:.3g}", p=f"{row.p_adj:.3g}", mde=f"{row.mde:.3g}")
                + did_text + say("conclusion.after", language, value=f"{value:.3g}", target=f"{metric['target']:g}")
                + say("conclusion.standardise" if standardise else "conclusion.unproven" if meets
                      else "conclusion.missed", language))
        rows.append({"metric": row.metric, "verdict": row.verdict, "meets_target": meets,
                     "standardise": standardise, "conclusion": text, "target": float(metric["target"]),
                     "kpi_after": float(value)})
    return pd.DataFrame(rows, columns=["metric", "verdict", "meets_target", "standardise", "conclusion", "target",
                                       "kpi_after"])


def measure_kpis(action, archive, standards: dict, start, end) -> pd.DataFrame:
    """The KPIs of an action's teams (and channels) between two dates: ``kpi, value, n``."""
    from qa_helpers.measures.kpis import kpi_table

    kpis = [m["kpi"] for m in action.metrics]
    names = list(dict.fromkeys(n for kpi in kpis for n in (
        ["tickets", "complaints"] if KPIS[kpi].agg == "per_1000" else [KPIS[kpi].table])))
    con = _connection()  # aggregated in DuckDB over the window's month files: no row is loaded
    sources, _ = window_sources(list(action.teams), archive, start, end, names, channels=action.channels,
                                connection=con)
    return kpi_table(sources, standards=standards, kpis=kpis, connection=con)


def evaluable(actions: pd.DataFrame, as_of: pd.Timestamp, weeks_after: int, washout_weeks: int) -> pd.Series:
    """Actions whose whole after-window has passed by ``as_of`` (and that were not cancelled)."""
    ends = actions["start"] + pd.to_timedelta(7 * (weeks_after + washout_weeks + 1), unit="D")
    return (ends <= as_of) & (actions["status"] != "cancelled")


# ---------------------------------------------------------------- report sections (action plan, before/after)

def unmeasurable_kpis(ctx, register: pd.DataFrame) -> dict[str, str]:
    """KPIs of the register's metrics that the archive cannot measure, with why."""
    names = dict.fromkeys(m["kpi"] for metrics in register["metrics"] for m in metrics)
    return {name: ctx.kpi_reason(name) for name in names if not ctx.measured(name)}


@dataclass
class EvaluationPlan:
    """Which of a unit's actions the before/after notebook evaluates, and what it says about the rest."""

    register: pd.DataFrame          # the unit's actions (or the one asked for)
    ready: pd.DataFrame             # those whose after-window has passed
    unavailable: dict[str, str]     # KPI -> why the archive cannot measure it
    notes: list[str]


def plan(ctx, action_id: str = "", weeks_after: int = 8, washout_weeks: int = 0) -> EvaluationPlan:
    """The actions to evaluate for the context's unit and period, with one line for each thing left out.

    Raises
    ------
    ValueError
        When ``action_id`` names no action of the unit.
    """
    every = ctx.actions(every_unit=True)
    register = ctx.actions()
    if action_id:
        register = register[register["action_id"] == action_id].reset_index(drop=True)
        if register.empty:
            raise ValueError(f"no action {action_id!r} covers unit {ctx.unit}")
    ready = register.loc[evaluable(register, ctx.period.end, weeks_after, washout_weeks).astype(bool)]
    waiting = register[~register["action_id"].isin(ready["action_id"])]
    unavailable = unmeasurable_kpis(ctx, ready)
    left_out = ctx.actions_left_out()
    from qa_helpers.report.texts import say

    language = ctx.language
    notes = []
    if every.empty and not left_out:
        notes.append(say("evaluation.none_registered", language))
    elif every.empty:
        notes.append(say("actions.none_for_archive", language))
    elif register.empty:
        notes.append(say("actions.none_for_unit", language))
    notes += left_out
    if len(waiting):
        notes.append(say("evaluation.waiting", language, actions=", ".join(
            say("evaluation.starts", language, action=a.action_id, start=f"{a.start:%Y-%m-%d}")
            for a in waiting.itertuples())))
    if ready.empty and not register.empty:
        notes.append(say("evaluation.none_ready", language))
    if len(ready) and not ctx.has("tickets", "agent_id"):
        notes.append(say("evaluation.no_agents", language))
    return EvaluationPlan(register=register, ready=ready, unavailable=unavailable, notes=notes)


def evaluate_plan(ctx, the_plan: EvaluationPlan, **options) -> dict[str, ActionEvaluation]:
    """:func:`evaluate_action` for every ready action of a plan (``options``: windows and ``alpha``)."""
    ready = list(the_plan.ready.itertuples(index=False))
    if not ready:
        return {}
    # their ~2 s of cold imports overlap the first action's archive scans
    stats.preload(["before_after", "diff_in_diff_cells", "segmented", "mix_shift", "adjust_family"])
    windows = {k: options[k] for k in ("weeks_before", "weeks_after", "washout_weeks", "its_weeks") if k in options}
    # the next action's reads run in the background (on a DuckDB cursor of their own) while this action's
    # statistics run here; one read ahead at a time, so memory holds at most two actions' reads
    reads: dict[int, object] = {}

    def read_ahead(i: int) -> None:
        if i < len(ready):
            reads[i] = background.submit(read_action, ready[i], ctx.archive, ctx.standards.raw,
                                         unavailable=the_plan.unavailable, **windows)

    evaluated = {}
    read_ahead(0)
    try:
        for i, action in enumerate(ready):
            read_ahead(i + 1)
            evaluated[action.action_id] = evaluate_action(
                action, ctx.archive, ctx.standards.raw, unavailable=the_plan.unavailable,
                reads=background.take(reads.pop(i)), **options)
    finally:
        for future in reads.values():
            future.cancel()
    return evaluated


def summary(evaluations: dict[str, ActionEvaluation]) -> dict:
    """The index page's figures: actions evaluated and metrics improved."""
    return {"actions_evaluated": len(evaluations),
            "metrics_improved": int(sum((e.results["verdict"] == "improved").sum() for e in evaluations.values()))}


def action_report(ctx, action, result: ActionEvaluation, weeks_before: int = 8, weeks_after: int = 8,
                  washout_weeks: int = 0, alpha: float = 0.05) -> list:
    """What the before/after notebook shows for one action: heading, the metrics that could not be
    evaluated, the plain-language headline, every result row (default, DiD, segmented,
    standardised) in the KPI's units with footnoted methods, charts, and the channel mix."""
    from qa_helpers.report import plots
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.safe import markdown_text as md
    from qa_helpers.report.texts import Said, Verbatim, reason, say, verbatim

    language = ctx.language

    # the register's text is shown as written
    items: list = [Said(say("before_after.action", language, action=action.action_id, measure=Verbatim(action.measure),
                            problem=Verbatim(action.problem), teams=", ".join(action.teams),
                            controls=", ".join(action.control_teams) or t("none", language),
                            start=f"{action.start:%Y-%m-%d}", before=weeks_before, after=weeks_after)
                        + (say("before_after.channels", language, channels=", ".join(t(c, language) for c in action.channels))
                           if action.channels else "")
                        + (say("before_after.washout", language, weeks=washout_weeks) if washout_weeks else ""))]
    items += [say("before_after.skipped", language, kpi=t(kpi, language), reason=reason(why, language))
              for kpi, why in result.skipped.items()]
    if result.results.empty:
        return items
    # the answer to "did it work?" first; the rows it rests on follow
    from qa_helpers.improve import summary as plain

    items += plain.headline_lines(plain.action_headlines({action.action_id: result}, ctx.language), ctx.language)
    family = result.results["family"].iloc[0]
    items.append(say("before_after.family", language, family=Verbatim(family)))
    # the detailed rows in the KPI's units, roles and short method names (footnoted), not raw estimates
    shown = plain.presentable_results({action.action_id: result}, language)
    # the short names are the kit's words; the methods behind them are named as the statistics write them
    items += [table(shown, language), Said("\n".join(md(label) + ": " + verbatim(methods) + "  " for label, methods in
                                                     (line.split(": ", 1) for line in shown.attrs["footnotes"])))]
    windows = result.windows  # the weeks the tests used
    for kpi, obs in result.observations.items():
        mine = obs[obs["team"].isin(action.teams)]
        fig, axes = _subplots(1, 2, figsize=(13, 4), gridspec_kw={"width_ratios": [1, 2.4]})
        plots.plot_windows(mine.assign(window=stats.label_windows(mine["time"], windows)), metric_kind(kpi), kpi,
                           ax=axes[0], language=ctx.language)
        plots.plot_interrupted_series(result.weekly[result.weekly["kpi"] == kpi], action.start, kpi, metric_kind(kpi),
                                      ax=axes[1], language=ctx.language)
        items.append(fig)
    if len(result.mix):
        moved = result.mix["p"].lt(alpha).any()
        items += [say("before_after.mix_moved" if moved else "before_after.mix_steady", language),
                  table(result.mix.drop(columns=["metric"]).drop_duplicates("channel"), language, values=["channel"],
                        percent=["share_before", "share_after", "change"], precision=3)]
    return items


def report(ctx, the_plan: EvaluationPlan, evaluations: dict[str, ActionEvaluation], **options) -> list:
    """:func:`action_report` for every evaluated action, in register order."""
    return [action_report(ctx, a, evaluations[a.action_id], **options) for a in the_plan.ready.itertuples(index=False)]


def _subplots(*args, **kwargs):
    """``matplotlib.pyplot.subplots`` (imported late: the statistics need no plotting)."""
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)
