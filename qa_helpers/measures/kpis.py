"""KPIs: each defined once, with its formula in its docstring, computed for any breakdown.

A KPI is a function decorated with :func:`kpi`. It returns the SQL expression evaluated on
each row of its table; the decorator says how rows aggregate and which fields it needs:

- ``share``: share of rows where the expression is true, over the rows where it is not null
  (n = rows with a value, so an all-null field gives NaN with n = 0, never 0 %);
- ``mean`` / ``median``: of the expression over rows where it is not null;
- ``nps``: mean of +100 (promoter), 0 (passive), −100 (detractor);
- ``per_1000``: rows of this table per 1 000 tickets of the same group;
- ``per_agent``: rows per agent-week worked (distinct agent and week) of the same group.

:func:`kpi_table` computes every KPI for a breakdown (team, agent, channel, category,
customer type, week, month, or any other column of the tables such as status or region —
or none, for the whole period) in one DuckDB pass per table. Each figure carries its ``n``;
a group with no rows gets ``NaN`` with ``n = 0``, never 0 %.

Exports differ: a table or a field may be absent from the archive. :func:`measurability`
says, from the archive's availability, which KPIs can be measured and in plain words why
not; :func:`kpi_table` (given ``available``) reports those as ``NaN`` with ``n = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import duckdb
import numpy as np
import pandas as pd

from qa_helpers.data.archive import source_columns, sql_text
from qa_helpers.data.schemas import TIME_COLUMNS

# Columns a table offers under a breakdown name (field visits are done by engineers).
ALIASES = {"field_visits": {"agent_id": "engineer_id"}}
# The usual breakdowns (kept for callers that list them); any column of the tables is accepted.
BREAKDOWNS = ("team", "department", "agent_id", "channel", "category", "customer_type", "week", "month")
TIME_BREAKDOWNS = ("week", "month")
# How a table is named in a sentence ("no field visits table in the archive").
TABLE_WORDS = {"tickets": "tickets", "surveys": "surveys", "complaints": "complaints",
               "field_visits": "field visits", "qa_reviews": "QA reviews", "agents": "roster (agents)"}
# Ticket counts per group, computed beside the KPIs when a per-1 000 rate needs them.
_TICKETS = "__tickets"


@dataclass(frozen=True)
class KPI:
    """One KPI: where its rows come from, how they aggregate, its unit and the fields it needs."""

    name: str
    table: str
    agg: str
    unit: str            # share | seconds | points | score | per_1000 | tickets
    where: str | None
    expression: Callable[[dict], str]
    formula: str
    # fields that must be present in the archive for the KPI to be measured, per table
    # (an empty tuple: the table itself must be present)
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # further columns of its own table its SQL reads when they exist (absent: treated as null)
    optional: Callable[[dict], tuple[str, ...]] = lambda std: ()

    def sql(self, standards: dict) -> str:
        return self.expression(standards)

    def columns(self, standards: dict) -> set[str]:
        """Columns of its own table the KPI's SQL reads."""
        return set(self.needs.get(self.table, ())) | set(self.optional(standards))


KPIS: dict[str, KPI] = {}


def kpi(table: str, agg: str, unit: str, where: str | None = None, needs: tuple[str, ...] = (),
        also: Mapping[str, tuple[str, ...]] | None = None,
        optional: Callable[[dict], tuple[str, ...]] | tuple[str, ...] = ()):
    """Register the decorated function as a KPI (its docstring is the formula).

    ``needs`` are the fields of ``table`` it cannot do without, ``also`` other tables (and
    their fields) it needs, ``optional`` columns its SQL reads that may be all null.
    """
    def register(func: Callable[[dict], str]) -> Callable[[dict], str]:
        opt = optional if callable(optional) else (lambda std, cols=tuple(optional): cols)
        KPIS[func.__name__] = KPI(func.__name__, table, agg, unit, where, func,
                                  " ".join((func.__doc__ or "").split()),
                                  {table: tuple(needs), **(also or {})}, opt)
        return func
    return register


# ---------------------------------------------------------------- the KPIs

@kpi("surveys", "share", "share", where="source = 'survey'", needs=("csat", "source"))
def csat(std: dict) -> str:
    """CSAT (top-2-box) = survey answers scoring 4 or 5 / all survey answers. Online reviews are not surveys and are left out."""
    return "csat >= 4"


@kpi("surveys", "mean", "score", where="source = 'survey'", needs=("csat", "source"))
def csat_mean(std: dict) -> str:
    """Mean CSAT score = Σ csat / survey answers (1-5 scale), shown beside the top-2-box share."""
    return "CAST(csat AS DOUBLE)"


@kpi("surveys", "nps", "points", where="nps IS NOT NULL", needs=("nps",))
def nps(std: dict) -> str:
    """NPS = % promoters (9-10) − % detractors (0-6) among answers with a recommendation score, in points (−100..100)."""
    return "nps"


@kpi("tickets", "share", "share", needs=("first_contact_resolved",))
def fcr(std: dict) -> str:
    """FCR = tickets resolved at the first contact / tickets with a recorded first-contact outcome."""
    return "first_contact_resolved"


@kpi("tickets", "mean", "seconds", needs=("first_response_s",))
def avg_first_response_s(std: dict) -> str:
    """ART = Σ first-response time / tickets with a first response, seconds (seed 000: ART = Σ response time / responses)."""
    return "first_response_s"


@kpi("tickets", "median", "seconds", needs=("first_response_s",))
def median_first_response_s(std: dict) -> str:
    """Median first response = the middle first-response time of the tickets, seconds: robust to the long tail that inflates the mean."""
    return "first_response_s"


@kpi("tickets", "mean", "seconds", needs=("handle_s",))
def aht_s(std: dict) -> str:
    """AHT = Σ handling time / tickets with a handling time, seconds."""
    return "handle_s"


@kpi("tickets", "share", "share", where="{sla_channels}", needs=("first_response_s", "channel"))
def response_on_time(std: dict) -> str:
    """Response on-time rate = tickets first answered within their channel's SLA / tickets with a first response on channels that have a first-response SLA (phone ≤ 30 s, chat ≤ 10 s, e-mail and social as configured)."""
    return f"first_response_s <= {_sla_case(std)}"


@kpi("field_visits", "share", "share", where="arrived_at IS NOT NULL", needs=("promised_at", "arrived_at"))
def onsite_arrival_on_time(std: dict) -> str:
    """On-site arrival on-time rate = visits where the engineer arrived by the promised time / visits with a recorded arrival."""
    return "arrived_at <= promised_at"


@kpi("field_visits", "share", "share", where="rework_required IS NOT NULL", needs=("rework_required",))
def solution_accuracy(std: dict) -> str:
    """Technical solution accuracy = visits whose fix needed no rework / visits with a recorded outcome."""
    return "NOT rework_required"


# an export without the calibration flag has no calibration re-reviews: every review counts
@kpi("qa_reviews", "share", "share", where="process_compliant IS NOT NULL AND NOT coalesce(calibration, false)",
     needs=("process_compliant",), optional=("calibration",))
def process_compliance(std: dict) -> str:
    """Process compliance = QA-reviewed conversations that followed the standard process / reviewed conversations (calibration re-reviews excluded)."""
    return "process_compliant"


@kpi("complaints", "share", "share", needs=("received_at", "first_response_at"))
def complaint_24h(std: dict) -> str:
    """Complaints handled within 24 h = complaints first answered within the configured hours of receipt / all complaints (no answer counts as late)."""
    hours = float(std.get("complaint_response_hours", 24))
    return f"coalesce(epoch(first_response_at - received_at) <= {hours * 3600}, false)"


@kpi("tickets", "share", "share", needs=("reopened",))
def reopen_rate(std: dict) -> str:
    """Reopen rate = tickets reopened after being closed / tickets with a recorded reopen flag (the repeat-contact signal)."""
    return "reopened"


@kpi("complaints", "per_1000", "per_1000", also={"tickets": ()})
def complaints_per_1000(std: dict) -> str:
    """Complaints per 1 000 tickets = complaints received / tickets created × 1 000, in the same group."""
    return "1"


@kpi("tickets", "per_agent", "tickets", needs=("agent_id",))
def workload_per_agent(std: dict) -> str:
    """Workload per agent and week = tickets / agent-weeks worked (an agent with a ticket in a week is one agent-week), in the same group: the same figure for a week, a month or a quarter."""
    return "1"


@kpi("tickets", "median", "seconds", where="resolved_at IS NOT NULL", needs=("created_at", "resolved_at"))
def resolution_time_s(std: dict) -> str:
    """Resolution time = the median time from creation to resolution over resolved tickets, seconds: the middle ticket, robust to the few that take days."""
    return "epoch(resolved_at - created_at)"


@kpi("tickets", "share", "share", needs=("created_at", "resolved_at"),
     optional=lambda std: ("priority",) if _resolution_by_priority(std) else ())
def resolved_within_sla(std: dict) -> str:
    """Resolved within SLA = tickets resolved within the resolution hours of their priority (default 48 h) of creation / all tickets (an unresolved ticket counts as not within)."""
    return f"coalesce(epoch(resolved_at - created_at) <= {_resolution_limit_s(std)}, false)"


def _sla_case(std: dict) -> str:
    sla = {c: s for c, s in (std.get("sla") or {}).items() if s is not None}
    whens = " ".join(f"WHEN {sql_text(c)} THEN {float(s)}" for c, s in sla.items())
    return f"(CASE channel {whens} END)" if sla else "NULL"


def _resolution_by_priority(std: dict) -> dict:
    return {p: h for p, h in (std.get("resolution_hours_by_priority") or {}).items() if h is not None}


def _resolution_limit_s(std: dict) -> str:
    """The resolution limit in seconds: per priority when configured, else ``resolution_hours`` (48)."""
    default = float(std.get("resolution_hours", 48)) * 3600
    by_priority = _resolution_by_priority(std)
    if not by_priority:
        return f"{default}"
    whens = " ".join(f"WHEN {sql_text(p)} THEN {float(h) * 3600}" for p, h in by_priority.items())
    return f"(CASE priority {whens} ELSE {default} END)"


def _sla_channels(std: dict) -> list[str]:
    return [c for c, s in (std.get("sla") or {}).items() if s is not None]


def _where(k: KPI, std: dict) -> str:
    if k.where is None:
        return "TRUE"
    if "{sla_channels}" in k.where:
        channels = _sla_channels(std)
        return "channel IN (" + ", ".join(sql_text(c) for c in channels) + ")" if channels else "FALSE"
    return k.where


# ---------------------------------------------------------------- measurability

def _fields(names: list[str]) -> str:
    if len(names) == 1:
        return f"{names[0]} field"
    return ", ".join(names[:-1]) + f" and {names[-1]} fields"


def _reasons(k: KPI, available: Mapping[str, set[str]] | None, std: dict) -> list[str]:
    reasons = []
    if available is not None:
        for table, needed in k.needs.items():
            present = available.get(table) or set()
            if not present:
                reasons.append(f"no {TABLE_WORDS.get(table, table)} table in the archive")
                continue
            missing = [f for f in needed if f not in present]
            if missing:
                reasons.append(f"the {TABLE_WORDS.get(table, table)} have no {_fields(missing)}")
    if k.where == "{sla_channels}" and not _sla_channels(std):
        reasons.append("no channel has a first-response SLA")
    return reasons


def measurability(available: Mapping[str, set[str]] | None, standards: dict | None = None,
                  kpis: list[str] | None = None) -> pd.DataFrame:
    """Which KPIs the archive can measure, and in plain words why not.

    Parameters
    ----------
    available : mapping of table to set of field names, or None
        The fields present per table (``qa_helpers.data.archive.availability(archive)``; an
        absent table maps to an empty set or is left out). ``None``: every field is present.
    standards : dict or Standards, optional
        The raw standards (a ``Standards`` object is accepted too): without a first-response
        SLA for any channel, ``response_on_time`` cannot be measured.
    kpis : list of str, optional
        Only these KPIs (default: all).

    Returns
    -------
    DataFrame
        ``kpi, measured, reason``: ``measured`` is a bool; ``reason`` is empty when measured,
        else e.g. "no complaints table in the archive", "the tickets have no
        first_contact_resolved field", "no channel has a first-response SLA" (several joined by "; ").

    Examples
    --------
    >>> m = measurability({"tickets": {"ticket_id", "created_at"}}, {"sla": {"phone": 30}}, ["fcr"])
    >>> m.to_dict("records")
    [{'kpi': 'fcr', 'measured': False, 'reason': 'the tickets have no first_contact_resolved field'}]
    """
    std = _raw(standards)
    rows = []
    for name in kpis or KPIS:
        reasons = _reasons(KPIS[name], available, std)
        rows.append({"kpi": name, "measured": not reasons, "reason": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["kpi", "measured", "reason"]).astype({"measured": bool})


def _raw(standards) -> dict:
    if standards is None:
        return {}
    return getattr(standards, "raw", standards)


# ---------------------------------------------------------------- computing

def _aggregate_sql(k: KPI, std: dict, by: list[str], expr: str | None = None,
                   where: str | None = None) -> tuple[str, str]:
    """SQL for a KPI's value and n. ``expr`` and ``where``: names under which its expression and row filter
    were computed once (see :func:`kpi_table`), else written out; a filter of ``TRUE`` is left out."""
    expr = expr or k.sql(std)
    where = where or _where(k, std)
    only = "" if where == "TRUE" else f" FILTER (WHERE {where})"
    if k.agg == "share":
        # a row whose expression is null (an empty field) has no value: it is left out of n
        return f"avg(CAST(({expr}) AS DOUBLE)){only}", f"count({expr}){only}"
    if k.agg == "mean":
        return f"avg({expr}){only}", f"count({expr}){only}"
    if k.agg == "median":
        return f"median({expr}){only}", f"count({expr}){only}"
    if k.agg == "nps":
        score = f"CASE WHEN {expr} >= 9 THEN 100.0 WHEN {expr} <= 6 THEN -100.0 ELSE 0.0 END"
        return f"avg({score}){only}", f"count(*){only}"
    if k.agg == "per_1000":
        return f"count(*){only}", f"count(*){only}"
    if k.agg == "per_agent":
        # per agent-week, so a quarter's figure is not 13 times a week's; no agent recorded at all:
        # no value (and n = 0 below), never a division by zero
        # the (agent, week) pair as a row value, not a built string: a third of the cost at scale (issue 17);
        # a pair missing either part counts for no agent-week, as the string it replaced was then null
        agent_week = ("CASE WHEN agent_id IS NOT NULL AND created_at IS NOT NULL "
                      "THEN (agent_id, date_trunc('week', created_at)) END")
        if "week" in by:  # within one week's group an agent is one agent-week: the cheaper distinct count
            agent_week = "CASE WHEN created_at IS NOT NULL THEN agent_id END"
        return (f"count(*){only} / nullif(count(DISTINCT {agent_week}){only}, 0)", f"count(*){only}")
    raise ValueError(f"unknown aggregation {k.agg!r}")


def _computed_once(kpis: list[KPI], std: dict) -> tuple[dict[str, str], list[str]]:
    """Each KPI expression and row filter of one table under a name of its own, for a projection under the
    aggregates: DuckDB evaluates an expression once per aggregate that writes it out, and the value and n
    of a KPI both do (at 10 M tickets the channel SLA and resolution-time cases cost more than the scan)."""
    names: dict[str, str] = {}
    for k in kpis:
        for sql in ((k.sql(std),) if k.agg in ("share", "mean", "median", "nps") else ()) + (_where(k, std),):
            if sql != "TRUE" and not sql.isidentifier():
                names.setdefault(sql, f"__kpi_{len(names)}")
    return names, [f"({sql}) AS {name}" for sql, name in names.items()]


def _ident(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _group_expressions(table: str, by: list[str], columns: set[str]) -> dict[str, str] | None:
    time = TIME_COLUMNS[table]
    out = {}
    for name in by:
        column = ALIASES.get(table, {}).get(name, name)
        if name == "week":
            out[name] = f"CAST(date_trunc('week', {time}) AS TIMESTAMP)"
        elif name == "month":
            out[name] = f"strftime({time}, '%Y-%m')"
        elif column in columns:
            out[name] = _ident(column)
        else:
            return None  # this table cannot be broken down that way
    return out


def _offered(table: str, columns: set[str]) -> set[str]:
    """The breakdown names a table offers: its columns, their aliases, week and month."""
    aliases = {alias for alias, column in ALIASES.get(table, {}).items() if column in columns}
    return columns | aliases | (set(TIME_BREAKDOWNS) if TIME_COLUMNS.get(table) in columns else set())


def kpi_table(tables: Mapping[str, pd.DataFrame | str], by: list[str] | tuple[str, ...] = (),
              standards: dict | None = None, kpis: list[str] | None = None,
              connection: duckdb.DuckDBPyConnection | None = None,
              available: Mapping[str, set[str]] | None = None) -> pd.DataFrame:
    """Compute KPIs for a breakdown.

    Parameters
    ----------
    tables : mapping of table name to DataFrame or SQL source
        The unit's rows for the period (as :func:`qa_helpers.data.archive.load` returns them), or a
        DuckDB source such as ``"read_parquet('data/archive/tickets/*/*.parquet')"``.
    by : list of str
        Breakdown columns: ``week``, ``month`` or any column of the tables (``team, department,
        agent_id, channel, category, customer_type``, extra dimensions such as ``status`` or
        ``region``); a table without that column is left out of the breakdown. Empty for one
        row per KPI over the whole period.
    standards : dict, optional
        The raw standards (``Standards.raw``: SLA per channel, complaint and resolution hours).
        Without them no channel has an SLA (``response_on_time`` is not measured), complaints
        use 24 h and resolution 48 h.
    kpis : list of str, optional
        Only these KPIs (default: all whose table is given).
    connection : DuckDB connection, optional
    available : mapping of table to set of field names, optional
        The archive's availability (:func:`qa_helpers.data.archive.availability`). KPIs that
        cannot be measured from it (:func:`measurability`) are listed with ``NaN`` and ``n = 0``.
        Without it every field is taken as present, but a share still counts only rows with a
        value, so an all-null field gives ``NaN`` with ``n = 0``, never 0 %.

    Returns
    -------
    DataFrame
        Tidy: ``*by, kpi, value, n``. Shares are 0-1, durations seconds.

    Raises
    ------
    ValueError
        A breakdown that no given table has, naming the columns that are available.

    Examples
    --------
    >>> tickets = pd.DataFrame({"ticket_id": ["a", "b"], "first_contact_resolved": [True, False],
    ...                         "created_at": pd.to_datetime(["2025-01-06", "2025-01-07"])})
    >>> kpi_table({"tickets": tickets}, kpis=["fcr"])[["kpi", "value", "n"]].values.tolist()
    [['fcr', 0.5, 2]]
    """
    return kpi_tables(tables, [by], standards=standards, kpis=kpis, connection=connection, available=available)[0]


def kpi_tables(tables: Mapping[str, pd.DataFrame | str], bys: list[list[str] | tuple[str, ...]],
               standards: dict | None = None, kpis: list[str] | None = None,
               connection: duckdb.DuckDBPyConnection | None = None,
               available: Mapping[str, set[str]] | None = None) -> list[pd.DataFrame]:
    """:func:`kpi_table` for several breakdowns at once, each table scanned once for all of them.

    A report shows the same KPIs by channel, by category and by customer type: one DuckDB query per table
    groups its rows by ``GROUPING SETS`` (issue 17: a scan of a year's tickets decodes 10 M rows whatever
    it groups by), except the per-agent workload, whose distinct count is cheaper on its own.

    Parameters
    ----------
    tables, standards, kpis, connection, available
        As for :func:`kpi_table`.
    bys : list of lists of str
        The breakdowns, each as ``by`` of :func:`kpi_table`.

    Returns
    -------
    list of DataFrame
        One per breakdown, in the order given, each equal to ``kpi_table(tables, by=...)``.

    Raises
    ------
    ValueError
        A breakdown that no given table has, naming the columns that are available.

    Examples
    --------
    >>> tickets = pd.DataFrame({"ticket_id": ["a", "b"], "first_contact_resolved": [True, False],
    ...                         "channel": ["chat", "phone"], "category": ["x", "x"],
    ...                         "created_at": pd.to_datetime(["2025-01-06", "2025-01-07"])})
    >>> [len(t) for t in kpi_tables({"tickets": tickets}, [["channel"], ["category"]], kpis=["fcr"])]
    [2, 1]
    """
    bys = [list(by) for by in bys]
    std = _raw(standards)
    names = list(kpis or KPIS)
    unknown_kpis = [name for name in names if name not in KPIS]
    if unknown_kpis:
        raise ValueError(f"unknown KPI {unknown_kpis}; known KPIs: {', '.join(KPIS)}")
    con = connection or duckdb.connect()
    sources, columns = {}, {}
    for name, source in tables.items():
        if isinstance(source, pd.DataFrame):
            con.register(f"t_{name}", source)
            sources[name] = f"t_{name}"
        else:
            sources[name] = source
        if name in TIME_COLUMNS:
            columns[name] = set(source_columns(con, sources[name]))
    offered = set().union(*(_offered(t, c) for t, c in columns.items())) if columns else set()
    unknown = [b for by in bys for b in by if b not in offered]
    if unknown and columns:
        raise ValueError(f"unknown breakdown {list(dict.fromkeys(unknown))}: no table has that column; the tables "
                         f"have {', '.join(sorted(offered))}")
    wanted = [KPIS[name] for name in names]
    if any(k.agg == "per_1000" for k in wanted) and "tickets" not in sources:
        wanted = [k for k in wanted if k.agg != "per_1000"]
    not_measured = set() if available is None else set(
        measurability(available, std, [k.name for k in wanted]).query("not measured")["kpi"])
    # a KPI whose columns are not in its table (a hand-built frame) cannot be computed either
    computed = [k for k in wanted if k.name not in not_measured and k.table in columns
                and k.columns(std) <= columns[k.table]]
    distinct = list(dict.fromkeys(tuple(by) for by in bys))
    frames: dict[tuple, list[pd.DataFrame]] = {by: [] for by in distinct}
    for table in dict.fromkeys([k.table for k in computed] + (
            ["tickets"] if any(k.agg == "per_1000" for k in computed) else [])):
        groups = {by: _group_expressions(table, list(by), columns[table]) for by in distinct}
        groups = {by: g for by, g in groups.items() if g is not None}
        if not groups:
            continue
        mine = [k for k in computed if k.table == table]
        # a distinct count in the scan of the other aggregates costs DuckDB more than a second scan of its two
        # columns (issue 17: 5.4 -> 4.4 s of CPU over 10 M tickets), so per-agent KPIs have their own query,
        # one per breakdown (the agent-week count depends on whether the breakdown is by week)
        per_agent = [k for k in mine if k.agg == "per_agent"]
        batches = [(True, [k for k in mine if k.agg != "per_agent"], list(groups))]
        batches += [(False, per_agent, [by]) for by in groups]
        for first, batch, sets in batches:
            once, projected = _computed_once(batch, std)
            aggregates = [(k.name, *_aggregate_sql(k, std, list(sets[0]), once.get(k.sql(std)),
                                                   once.get(_where(k, std)))) for k in batch]
            if first and table == "tickets" and any(k.agg == "per_1000" for k in computed):
                # per-1000 rates divide by the ticket count of the same group
                aggregates.append((_TICKETS, "count(*)", "count(*)"))
            if not aggregates:
                continue
            keys = dict(item for by in sets for item in groups[by].items())
            parts = [f"{sql} AS {_ident(name)}" for name, sql in keys.items()]
            for name, value, n in aggregates:
                parts += [f"{value} AS \"{name}__value\"", f"{n} AS \"{name}__n\""]
            if len(sets) > 1:
                # which breakdown a row belongs to: a bit per grouping column, set when the row is not grouped by it
                parts.append(f"GROUPING({', '.join(keys.values())}) AS __set")
                group_by = " GROUP BY GROUPING SETS (" + ", ".join(
                    f"({', '.join(groups[by].values())})" for by in sets) + ")"
            else:
                group_by = f" GROUP BY {', '.join(keys.values())}" if keys else ""
            rows = f"(SELECT *, {', '.join(projected)} FROM {sources[table]})" if projected else sources[table]
            wide = con.execute(f"SELECT {', '.join(parts)} FROM {rows}{group_by}").df()
            for by in sets:
                if len(sets) > 1:
                    mask = sum(1 << (len(keys) - 1 - i) for i, name in enumerate(keys) if name not in by)
                    part = wide[wide["__set"] == mask].reset_index(drop=True)
                else:
                    part = wide
                frames[by].append(_tidy(part, list(by), [name for name, _, _ in aggregates]))
    done = {by: _assemble(frames[by], list(by), [k.name for k in wanted]) for by in distinct}
    return [done[tuple(by)] for by in bys]


def _tidy(wide: pd.DataFrame, by: list[str], names: list[str]) -> pd.DataFrame:
    """One row per group and KPI (``by``..., ``value``, ``n``, ``kpi``, KPI by KPI) from one row per group
    with a ``<kpi>__value`` and a ``<kpi>__n`` column per KPI."""
    rows = np.tile(np.arange(len(wide)), len(names))
    out = wide[by].iloc[rows].reset_index(drop=True) if by else pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for column in ("value", "n"):
        out[column] = np.concatenate([wide[f"{name}__{column}"].to_numpy(dtype="float64", na_value=np.nan)
                                      for name in names]) if names else np.array([], dtype="float64")
    out["kpi"] = np.repeat(np.array(names, dtype=object), len(wide))
    return out


def _assemble(frames: list[pd.DataFrame], by: list[str], names: list[str]) -> pd.DataFrame:
    """One breakdown's tidy KPI table from its per-table aggregates: per-1000 rates, n = 0 without a value,
    every KPI for every group."""
    out_columns = [*by, "kpi", "value", "n"]
    if not frames:
        if by:
            return pd.DataFrame(columns=out_columns)
        return _complete_grid(pd.DataFrame(columns=out_columns), by, names)[out_columns]
    long = pd.concat(frames, ignore_index=True)
    long = _per_1000(long, by)
    long = long[long["kpi"].isin(names)]
    long["value"] = long["value"].astype("float64")
    long["n"] = long["n"].fillna(0).astype("int64")
    # n counts the rows that gave a value: no value, no n
    long.loc[long["n"] == 0, "value"] = np.nan
    long.loc[long["value"].isna(), "n"] = 0
    return _complete_grid(long, by, names)[out_columns]


def _per_1000(long: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Turn complaint counts into complaints per 1 000 tickets of the same group."""
    rates = [k for k in long["kpi"].unique() if k in KPIS and KPIS[k].agg == "per_1000"]
    if not rates:
        return long
    tickets = long[long["kpi"] == _TICKETS][[*by, "n"]].rename(columns={"n": "tickets"})
    for name in rates:
        rows = long["kpi"] == name
        counts = long[rows][[*by, "n"]].rename(columns={"n": "count"})
        # start from the tickets' groups: a group with tickets and no complaints has rate 0, not NaN
        merged = tickets.merge(counts, on=by, how="left") if by else tickets.assign(
            count=counts["count"].iloc[0] if len(counts) else 0)
        merged["count"] = merged["count"].fillna(0)
        merged = merged.assign(kpi=name, value=merged["count"] / merged["tickets"].where(merged["tickets"] > 0) * 1000,
                               n=merged["tickets"]).drop(columns=["count", "tickets"])
        long = pd.concat([long[~rows], merged], ignore_index=True)
    return long


def _complete_grid(long: pd.DataFrame, by: list[str], names: list[str]) -> pd.DataFrame:
    """Every KPI for every group seen in any table: missing ones get NaN with n = 0."""
    if not by:
        full = pd.DataFrame({"kpi": names})
    else:
        groups = long[by].drop_duplicates()
        full = groups.merge(pd.DataFrame({"kpi": names}), how="cross")
    out = full.merge(long, on=[*by, "kpi"], how="left")
    out["value"] = out["value"].astype("float64")
    out["n"] = out["n"].fillna(0).astype("int64")
    order = {name: i for i, name in enumerate(names)}
    return out.sort_values([*by, "kpi"], key=lambda s: s.map(order) if s.name == "kpi" else s,
                           kind="stable").reset_index(drop=True)


def kpi_catalogue() -> pd.DataFrame:
    """Every KPI with its table, aggregation, unit, the fields it needs and formula (from its docstring)."""
    return pd.DataFrame([{"kpi": k.name, "table": k.table, "aggregation": k.agg, "unit": k.unit,
                          "inputs": ", ".join(f"{t}.{f}" for t, fs in k.needs.items() for f in fs)
                          or ", ".join(k.needs),
                          "formula": k.formula} for k in KPIS.values()])
