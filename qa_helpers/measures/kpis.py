"""KPIs: each defined once, with its formula in its docstring, computed for any breakdown.

A KPI is a function decorated with :func:`kpi`. It returns the SQL expression evaluated on
each row of its table; the decorator says how rows aggregate:

- ``share``: share of rows where the expression is true (n = rows counted);
- ``mean`` / ``median``: of the expression over rows where it is not null;
- ``nps``: mean of +100 (promoter), 0 (passive), −100 (detractor);
- ``per_1000``: rows of this table per 1 000 tickets of the same group;
- ``per_agent``: rows per distinct agent of the same group.

:func:`kpi_table` computes every KPI for a breakdown (team, agent, channel, category,
customer type, week, month — or none, for the whole period) in one DuckDB pass per table.
Each figure carries its ``n``; a group with no rows gets ``NaN`` with ``n = 0``, never 0 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import duckdb
import numpy as np
import pandas as pd

from qa_helpers.data.schemas import TIME_COLUMNS

# Columns a table offers under a breakdown name (field visits are done by engineers).
ALIASES = {"field_visits": {"agent_id": "engineer_id"}}
BREAKDOWNS = ("team", "department", "agent_id", "channel", "category", "customer_type", "week", "month")


@dataclass(frozen=True)
class KPI:
    """One KPI: where its rows come from, how they aggregate, and its unit."""

    name: str
    table: str
    agg: str
    unit: str            # share | seconds | points | score | per_1000 | tickets
    where: str | None
    expression: Callable[[dict], str]
    formula: str

    def sql(self, standards: dict) -> str:
        return self.expression(standards)


KPIS: dict[str, KPI] = {}


def kpi(table: str, agg: str, unit: str, where: str | None = None):
    """Register the decorated function as a KPI (its docstring is the formula)."""
    def register(func: Callable[[dict], str]) -> Callable[[dict], str]:
        KPIS[func.__name__] = KPI(func.__name__, table, agg, unit, where, func,
                                  " ".join((func.__doc__ or "").split()))
        return func
    return register


# ---------------------------------------------------------------- the KPIs

@kpi("surveys", "share", "share", where="source = 'survey'")
def csat(std: dict) -> str:
    """CSAT (top-2-box) = survey answers scoring 4 or 5 / all survey answers. Online reviews are not surveys and are left out."""
    return "csat >= 4"


@kpi("surveys", "mean", "score", where="source = 'survey'")
def csat_mean(std: dict) -> str:
    """Mean CSAT score = Σ csat / survey answers (1-5 scale), shown beside the top-2-box share."""
    return "CAST(csat AS DOUBLE)"


@kpi("surveys", "nps", "points", where="nps IS NOT NULL")
def nps(std: dict) -> str:
    """NPS = % promoters (9-10) − % detractors (0-6) among answers with a recommendation score, in points (−100..100)."""
    return "nps"


@kpi("tickets", "share", "share")
def fcr(std: dict) -> str:
    """FCR = tickets resolved at the first contact / all tickets."""
    return "first_contact_resolved"


@kpi("tickets", "mean", "seconds")
def avg_first_response_s(std: dict) -> str:
    """ART = Σ first-response time / tickets with a first response, seconds (seed 000: ART = Σ response time / responses)."""
    return "first_response_s"


@kpi("tickets", "median", "seconds")
def median_first_response_s(std: dict) -> str:
    """Median first response = the middle first-response time of the tickets, seconds: robust to the long tail that inflates the mean."""
    return "first_response_s"


@kpi("tickets", "mean", "seconds")
def aht_s(std: dict) -> str:
    """AHT = Σ handling time / tickets, seconds."""
    return "handle_s"


@kpi("tickets", "share", "share", where="{sla_channels}")
def response_on_time(std: dict) -> str:
    """Response on-time rate = tickets first answered within their channel's SLA / tickets of channels that have a first-response SLA (phone ≤ 30 s, chat ≤ 10 s, e-mail and social as configured)."""
    return f"first_response_s <= {_sla_case(std)}"


@kpi("field_visits", "share", "share", where="arrived_at IS NOT NULL")
def onsite_arrival_on_time(std: dict) -> str:
    """On-site arrival on-time rate = visits where the engineer arrived by the promised time / visits with a recorded arrival."""
    return "arrived_at <= promised_at"


@kpi("field_visits", "share", "share", where="rework_required IS NOT NULL")
def solution_accuracy(std: dict) -> str:
    """Technical solution accuracy = visits whose fix needed no rework / visits with a recorded outcome."""
    return "NOT rework_required"


@kpi("qa_reviews", "share", "share", where="process_compliant IS NOT NULL AND NOT calibration")
def process_compliance(std: dict) -> str:
    """Process compliance = QA-reviewed conversations that followed the standard process / reviewed conversations (calibration re-reviews excluded)."""
    return "process_compliant"


@kpi("complaints", "share", "share")
def complaint_24h(std: dict) -> str:
    """Complaints handled within 24 h = complaints first answered within the configured hours of receipt / all complaints (no answer counts as late)."""
    hours = float(std.get("complaint_response_hours", 24))
    return f"coalesce(epoch(first_response_at - received_at) <= {hours * 3600}, false)"


@kpi("tickets", "share", "share")
def reopen_rate(std: dict) -> str:
    """Reopen rate = tickets reopened after being closed / all tickets (the repeat-contact signal)."""
    return "reopened"


@kpi("complaints", "per_1000", "per_1000")
def complaints_per_1000(std: dict) -> str:
    """Complaints per 1 000 tickets = complaints received / tickets created × 1 000, in the same group."""
    return "1"


@kpi("tickets", "per_agent", "tickets")
def workload_per_agent(std: dict) -> str:
    """Workload per agent = tickets / distinct agents who handled them, in the same group."""
    return "1"


def _sla_case(std: dict) -> str:
    sla = {c: s for c, s in (std.get("sla") or {}).items() if s is not None}
    whens = " ".join(f"WHEN '{c}' THEN {float(s)}" for c, s in sla.items())
    return f"(CASE channel {whens} END)" if sla else "NULL"


def _where(k: KPI, std: dict) -> str:
    if k.where is None:
        return "TRUE"
    if "{sla_channels}" in k.where:
        channels = [c for c, s in (std.get("sla") or {}).items() if s is not None]
        return "channel IN (" + ", ".join(f"'{c}'" for c in channels) + ")" if channels else "FALSE"
    return k.where


# ---------------------------------------------------------------- computing

def _aggregate_sql(k: KPI, std: dict) -> tuple[str, str]:
    expr, where = k.sql(std), _where(k, std)
    if k.agg == "share":
        return (f"avg(CASE WHEN ({expr}) THEN 1.0 ELSE 0.0 END) FILTER (WHERE {where})",
                f"count(*) FILTER (WHERE {where})")
    if k.agg == "mean":
        return (f"avg({expr}) FILTER (WHERE {where})", f"count({expr}) FILTER (WHERE {where})")
    if k.agg == "median":
        return (f"median({expr}) FILTER (WHERE {where})", f"count({expr}) FILTER (WHERE {where})")
    if k.agg == "nps":
        score = f"CASE WHEN {expr} >= 9 THEN 100.0 WHEN {expr} <= 6 THEN -100.0 ELSE 0.0 END"
        return f"avg({score}) FILTER (WHERE {where})", f"count(*) FILTER (WHERE {where})"
    if k.agg == "per_1000":
        return f"count(*) FILTER (WHERE {where})", f"count(*) FILTER (WHERE {where})"
    if k.agg == "per_agent":
        return (f"count(*) FILTER (WHERE {where}) / nullif(count(DISTINCT agent_id) FILTER (WHERE {where}), 0)",
                f"count(*) FILTER (WHERE {where})")
    raise ValueError(f"unknown aggregation {k.agg!r}")


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
            out[name] = column
        else:
            return None  # this table cannot be broken down that way
    return out


def kpi_table(tables: Mapping[str, pd.DataFrame | str], by: list[str] | tuple[str, ...] = (),
              standards: dict | None = None, kpis: list[str] | None = None,
              connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Compute KPIs for a breakdown.

    Parameters
    ----------
    tables : mapping of table name to DataFrame or SQL source
        The unit's rows for the period (as :func:`qa_helpers.data.archive.load` returns them), or a
        DuckDB source such as ``"read_parquet('data/archive/tickets/*/*.parquet')"``.
    by : list of str
        Breakdown columns from ``team, department, agent_id, channel, category,
        customer_type, week, month``; empty for one row per KPI over the whole period.
    standards : dict, optional
        The raw standards (``Standards.raw``: SLA per channel, complaint hours). Without them no
        channel has an SLA (``response_on_time`` is not measured) and complaints use 24 h.
    kpis : list of str, optional
        Only these KPIs (default: all whose table is given).

    Returns
    -------
    DataFrame
        Tidy: ``*by, kpi, value, n``. Shares are 0-1, durations seconds.

    Examples
    --------
    >>> tickets = pd.DataFrame({"ticket_id": ["a", "b"], "first_contact_resolved": [True, False],
    ...                         "created_at": pd.to_datetime(["2025-01-06", "2025-01-07"])})
    >>> kpi_table({"tickets": tickets}, kpis=["fcr"])[["kpi", "value", "n"]].values.tolist()
    [['fcr', 0.5, 2]]
    """
    by = list(by)
    unknown = [b for b in by if b not in BREAKDOWNS]
    if unknown:
        raise ValueError(f"unknown breakdown {unknown}; choose from {', '.join(BREAKDOWNS)}")
    std = standards if standards is not None else {}
    wanted = [KPIS[name] for name in (kpis or KPIS)]
    con = connection or duckdb.connect()
    sources = {}
    for name, source in tables.items():
        if isinstance(source, pd.DataFrame):
            con.register(f"t_{name}", source)
            sources[name] = f"t_{name}"
        else:
            sources[name] = source
    if any(k.agg == "per_1000" for k in wanted) and "tickets" not in sources:
        wanted = [k for k in wanted if k.agg != "per_1000"]
    # per-1000 rates divide by the ticket count of the same group, which workload_per_agent carries
    computed = wanted + ([KPIS["workload_per_agent"]] if any(k.agg == "per_1000" for k in wanted)
                         and KPIS["workload_per_agent"] not in wanted else [])
    frames = []
    for table in dict.fromkeys(k.table for k in computed if k.table in sources):
        columns = set(con.sql(f"SELECT * FROM {sources[table]} LIMIT 0").columns)
        groups = _group_expressions(table, by, columns)
        if groups is None:
            continue
        parts = [f"{sql} AS \"{name}\"" for name, sql in groups.items()]
        table_kpis = [k for k in computed if k.table == table]
        for k in table_kpis:
            value, n = _aggregate_sql(k, std)
            parts += [f"{value} AS \"{k.name}__value\"", f"{n} AS \"{k.name}__n\""]
        group_by = f" GROUP BY {', '.join(groups.values())}" if groups else ""
        wide = con.sql(f"SELECT {', '.join(parts)} FROM {sources[table]}{group_by}").df()
        for k in table_kpis:
            frames.append(wide[[*groups, f"{k.name}__value", f"{k.name}__n"]]
                          .rename(columns={f"{k.name}__value": "value", f"{k.name}__n": "n"})
                          .assign(kpi=k.name))
    columns = [*by, "kpi", "value", "n"]
    if not frames:
        return pd.DataFrame(columns=columns)
    long = pd.concat(frames, ignore_index=True)
    long = _per_1000(long, by)
    long = long[long["kpi"].isin([k.name for k in wanted])]
    long["n"] = long["n"].fillna(0).astype("int64")
    long.loc[long["n"] == 0, "value"] = np.nan
    long["value"] = long["value"].astype("float64")
    return _complete_grid(long, by, [k.name for k in wanted])[columns]


def _per_1000(long: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Turn complaint counts into complaints per 1 000 tickets of the same group."""
    rates = [k for k in long["kpi"].unique() if KPIS[k].agg == "per_1000"]
    if not rates:
        return long
    tickets = long[long["kpi"] == "workload_per_agent"][[*by, "n"]].rename(columns={"n": "tickets"})
    if tickets.empty:
        raise ValueError("per-1000 KPIs need the workload_per_agent KPI (ticket counts) in the same call")
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
    out["n"] = out["n"].fillna(0).astype("int64")
    order = {name: i for i, name in enumerate(names)}
    return out.sort_values([*by, "kpi"], key=lambda s: s.map(order) if s.name == "kpi" else s,
                           kind="stable").reset_index(drop=True)


def kpi_catalogue() -> pd.DataFrame:
    """Every KPI with its table, aggregation, unit and formula (from its docstring)."""
    return pd.DataFrame([{"kpi": k.name, "table": k.table, "aggregation": k.agg, "unit": k.unit,
                          "formula": k.formula} for k in KPIS.values()])
