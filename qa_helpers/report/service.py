"""Report sections for service levels by severity and customer type (KPI analysis and monitoring notebooks).

Each takes the notebook's :class:`~qa_helpers.report.context.Context` and the unit's tables (DataFrames or,
at scale, the DuckDB sources of :meth:`~qa_helpers.report.context.Context.sources`) and returns what a cell shows (lines of text and tables); the figures come from
:mod:`qa_helpers.measures.service_levels`, which aggregates in DuckDB.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import pandas as pd

from qa_helpers.data import repeat_index, storage
from qa_helpers.data.archive import is_scan, sql_text
from qa_helpers.data.schemas import TIME_COLUMNS
from qa_helpers.measures import service_levels as sl
from qa_helpers.report import background
from qa_helpers.report.context import Context, not_measured
from qa_helpers.report.labels import t, table
from qa_helpers.report.texts import reason, say

def _pct(value: float, digits: int = 0) -> str:
    return "–" if value is None or pd.isna(value) else f"{value * 100:.{digits}f} %"


def _digits(share: float, target: float) -> int:
    """1 when whole percents would hide a miss (94.6 % against 95 % reads "95 % ... 0 points short"), else 0."""
    if share is None or target is None or pd.isna(share) or pd.isna(target):
        return 0
    return 1 if f"{share * 100:.0f}" == f"{target * 100:.0f}" or f"{abs(share - target) * 100:.0f}" == "0" else 0


def _number(value: float, digits: int = 0) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _group_label(group_by: str, group, language: str) -> str:
    if group_by == "severity":
        return t(f"svc.severity.{int(group)}", language)
    if group_by == "all":
        return t("svc.all", language)
    return t(str(group), language)


def _limit_text(value, unit: str, language: str) -> str:
    if value is None or pd.isna(value):
        return t("svc.by_severity", language)
    return t(f"svc.unit.{unit}", language).format(v=f"{float(value):g}")


def min_complaints(ctx: Context) -> int:
    """The fewest complaints a group needs to be judged (``service_levels.min_n`` of the standards, 5)."""
    return sl.min_n(ctx.standards.raw)


_DATA_ENDS: dict[tuple, pd.Timestamp | None] = {}


def _complaint_files(ctx: Context) -> tuple | None:
    """The archive's complaint files with their sizes and modification times (``None`` for an ``s3://``
    archive): what :func:`data_end` reads, so a changed file changes the key."""
    if storage.is_remote(ctx.archive):
        return None
    files = sorted((ctx.archive / "complaints").glob("*/*.parquet"))
    return (str(ctx.archive), *((f.as_posix(), st.st_size, st.st_mtime_ns) for f in files for st in [f.stat()]))


def data_end(ctx: Context) -> pd.Timestamp | None:
    """The end of the archive's complaint data: its latest receipt, first response or closing time (any
    unit, any period), read by DuckDB from the archive's files. An open complaint whose limit runs past it
    is not yet due.

    Kept per set of complaint files (paths, sizes, modification times) for this process: a notebook asks
    three times and a batch kernel once per notebook, and each read scans every month of the archive
    (issue 17)."""
    if not ctx.has("complaints"):
        return None
    key = _complaint_files(ctx)
    if key is not None and key in _DATA_ENDS:
        return _DATA_ENDS[key]
    folder = str(ctx.archive / "complaints").replace("'", "''")
    end = sl.data_end(f"read_parquet('{folder}/*/*.parquet', hive_partitioning = true, union_by_name = true)",
                      connection=ctx.duckdb)  # the context's connection reads an s3:// archive too
    if key is not None:
        _DATA_ENDS[key] = end
    return end


def _not_yet_due(ctx: Context, counts: dict[str, int], end: pd.Timestamp | None) -> str | None:
    """One line naming the complaints left out of n as not yet due (per measure), ``None`` when there are none."""
    lang = ctx.language
    counts = {name: int(n) for name, n in counts.items() if n}
    if not counts:
        return None
    return say("svc.not_yet_due", lang, end="–" if end is None else f"{end:%Y-%m-%d %H:%M}",
               counts=("；" if lang == "zh" else "; ").join(f"{t(f'svc.{m}', lang)} {n}" for m, n in counts.items()))


def _missing(ctx: Context) -> str | None:
    """One line when the archive or the standards cannot give service levels; ``None`` when they can."""
    note = ctx.missing_note("complaints", "complaints.severity", "complaints.received_at")
    if note is not None:
        return note
    if not sl.limits(ctx.standards.raw, str(ctx.standards.path)):
        return not_measured(ctx.language, say("svc.no_limits", ctx.language))
    return None


def measured(ctx: Context) -> list[str]:
    """The configured measures whose end time the archive holds (a first response, a closing time)."""
    return [name for name in sl.limits(ctx.standards.raw) if ctx.has("complaints", sl.MEASURE_END[name])]


def levels(ctx: Context, tables: dict[str, pd.DataFrame | str], as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """:func:`~qa_helpers.measures.service_levels.service_level_table` for the measures the archive can give,
    complaints not yet due at the archive's data end (:func:`data_end`) left out."""
    return sl.service_level_table(tables, ctx.standards.raw, measures=measured(ctx), connection=ctx.duckdb,
                                  as_of=data_end(ctx) if as_of is None else as_of)


def service_level_view(ctx: Context, got: pd.DataFrame) -> pd.DataFrame:
    """The service-level table in the reader's words: group, service level, limit, share within, n,
    target, gap in points and verdict (rows: severity 1-4, each customer type, all complaints)."""
    lang = ctx.language
    return pd.DataFrame({
        "svc.group": [_group_label(b, g, lang) for b, g in zip(got["group_by"], got["group"])],
        "svc.measure": [t(f"svc.{m}", lang) for m in got["measure"]],
        "svc.limit": [_limit_text(v, u, lang) if b != "all" else t("svc.by_severity", lang)
                      for v, u, b in zip(got["limit_value"], got["unit"], got["group_by"])],
        "svc.share_within": got["share"], "n": got["n"], "target": got["target"],
        "svc.gap_points": got["gap_points"].round(1),
        "svc.verdict": [t(f"svc.{v}", lang) for v in got["verdict"]],
        "svc.not_yet_due": got["not_yet_due"],
    })


def headline_lines(ctx: Context, got: pd.DataFrame) -> list[str]:
    """The headline: which severity levels miss their limits and by how much, worst first, one line each
    ("Severity 1 (major): 73 % answered within 2 h against 95 %, 22 points short, n = 26.")."""
    lang = ctx.language
    severity = got[got["group_by"] == "severity"]
    judged = severity[severity["verdict"].isin(["meets", "misses"])]
    missed = judged[judged["verdict"] == "misses"].sort_values("gap_points")
    if judged.empty:
        return [say("svc.too_few_to_judge", lang, period=str(ctx.period), min_n=sl.min_n(ctx.standards.raw),
                    n=int(got.loc[got["group_by"] == "all", "n"].max() or 0))]
    if missed.empty:
        return [say("svc.all_meet", lang, period=str(ctx.period),
                    n=int(got.loc[got["group_by"] == "all", "n"].max() or 0))]
    lines = [say("svc.headline_intro", lang, missed=len(missed), judged=len(judged), period=str(ctx.period))]
    for row in missed.itertuples():
        digits = _digits(row.share, row.target)
        lines.append("- " + say("svc.headline_miss", lang, group=_group_label("severity", row.group, lang),
                                share=_pct(row.share, digits), verb=t(f"svc.verb.{row.measure}", lang),
                                limit=_limit_text(row.limit_value, row.unit, lang), target=_pct(row.target, digits),
                                gap=_number(-row.gap_points, digits), n=int(row.n)))
    return ["\n".join(lines)]


def service_levels_section(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> list:
    """KPI analysis: the headline (which severity levels miss their seed-003 limits, by how much) and the
    table by severity and customer type."""
    missing = _missing(ctx)
    if missing is not None:
        return [missing]
    end = data_end(ctx)
    got = levels(ctx, tables, end)
    overall = got[got["group_by"] == "all"]
    out = [*headline_lines(ctx, got), table(service_level_view(ctx, got), ctx.language,
                                            percent=["svc.share_within", "target"], precision=1),
           _not_yet_due(ctx, dict(zip(overall["measure"], overall["not_yet_due"])), end)]
    for field in ("first_response_at", "closed_at"):
        out.append(ctx.missing_note(f"complaints.{field}"))
    return [item for item in out if item is not None]


HISTORY_COLUMNS = {"tickets": {"ticket_id": "VARCHAR", "customer_id": "VARCHAR", "created_at": "TIMESTAMP",
                               "resolved_at": "TIMESTAMP"},
                   "complaints": {"complaint_id": "VARCHAR", "ticket_id": "VARCHAR", "received_at": "TIMESTAMP"}}


def _history(ctx: Context) -> dict[str, str]:
    """The look-back of the repeat rates: the unit's tickets and complaints of the previous period, and its
    earlier tickets resolved within :data:`~qa_helpers.data.repeat_index.HORIZON_DAYS` before the period
    (a ticket open longer than a period can still make a repeat contact; the archive's index, which ``ALL``
    counts from, looks that far back too). DuckDB queries over the archive's files reading only the columns
    the repeat rates use (a column the archive lacks is NULL), so that nothing is loaded into pandas."""
    previous = ctx.period.previous()
    out = {}
    for name, columns in HISTORY_COLUMNS.items():
        if not ctx.has(name):
            continue
        time = TIME_COLUMNS[name]
        files = sql_text(f"{ctx.archive / name}/*/*.parquet")
        select = ", ".join(c if ctx.has(name, c) else f"CAST(NULL AS {kind}) AS {c}" for c, kind in columns.items())
        unit = ([f"team IN ({', '.join(sql_text(team) for team in ctx.teams) or 'NULL'})"]
                if ctx.teams is not None else [])
        scans = [[f"month IN ({', '.join(sql_text(m) for m in previous.months)})",
                  f"{time} >= TIMESTAMP {sql_text(previous.start)}", f"{time} < TIMESTAMP {sql_text(previous.end)}"]]
        if name == "tickets" and ctx.has(name, "resolved_at"):  # two plain scans: each row group's statistics
            scans.append([f"month <= {sql_text(previous.months[0])}",  # rule out the later files
                          f"{time} < TIMESTAMP {sql_text(previous.start)}",
                          f"resolved_at >= TIMESTAMP {sql_text(ctx.period.start)} - "
                          f"INTERVAL {repeat_index.HORIZON_DAYS} DAY"])
        out[name] = "(" + " UNION ALL ".join(
            f"SELECT {select} FROM read_parquet({files}, hive_partitioning = true, hive_types_autocast = false, "
            f"union_by_name = true) WHERE {' AND '.join(where + unit)}" for where in scans) + ")"
    return out


@dataclass
class RepeatsAhead:
    """The repeat rates of :func:`resolution_section`, started in the background by :func:`repeats_ahead`."""

    started: Future

    @property
    def rates(self) -> pd.DataFrame:
        """:func:`qa_helpers.measures.service_levels.repeat_rates` (waits for it)."""
        return background.take(self.started)


def repeats_ahead(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> RepeatsAhead | None:
    """Start the repeat rates in the background, for :func:`resolution_section` to show.

    Their ticket join is the KPI analysis's largest piece of DuckDB work for a unit the archive's repeat-contact
    index does not answer (a team, a department; for ``ALL`` only the complaints' tickets are joined); started
    with the report, it runs on the core that drawing the figures and formatting the tables before it leave
    idle (issue 17). The join runs on a cursor of its own; the result is the one
    computed in place. ``None`` (the section computes them in place) when the archive lacks the tickets or
    their customer ids, or lacks a table (its stand-in is registered on the report's own cursor only). A new
    report opened meanwhile stops the job; the section then computes the rates itself
    (:func:`qa_helpers.report.background.take`).
    """
    sources = {name: tables.get(name) for name in ("tickets", "complaints")}
    if ctx.missing_note("tickets", "tickets.customer_id") is not None or not all(
            isinstance(source, str) and source.startswith("(") for source in sources.values()):
        return None
    cursor = storage.register(ctx.duckdb.cursor(), ctx.archive)  # a connection of its own to the same database
    return RepeatsAhead(background.submit(_repeat_rates, ctx, sources, cursor, stop=cursor.interrupt))


def _repeat_rates(ctx: Context, tables: dict[str, pd.DataFrame | str], connection) -> pd.DataFrame:
    """:func:`qa_helpers.measures.service_levels.repeat_rates` of the unit, looking back into the period before;
    for ``ALL`` over the archive's tickets, the repeat contacts counted from its index
    (:mod:`qa_helpers.data.repeat_index`) when it has a current one."""
    return sl.repeat_rates(tables, ctx.standards.raw, connection=connection, history=_history(ctx),
                           contact_index=_contact_index(ctx, tables))


def _contact_index(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> repeat_index.IndexRows | None:
    """The period's rows of the archive's repeat-contact index, when the unit is ``ALL`` (the index looks for
    a customer's earlier tickets in every team) and its tickets are the archive's."""
    if ctx.teams is not None or not is_scan(tables.get("tickets")):
        return None
    return repeat_index.index_source(ctx.archive, ctx.ingest_report(), ctx.period)


def resolution_section(ctx: Context, tables: dict[str, pd.DataFrame | str],
                       repeats: RepeatsAhead | None = None) -> list:
    """KPI analysis: resolution rate and time per severity, complaints received out of hours against in
    hours, repeat-complaint and repeat-contact rates (``repeats``, when :func:`repeats_ahead` started them),
    and the call-back note."""
    lang = ctx.language
    out: list = []
    missing = _missing(ctx) or ctx.missing_note("complaints.closed_at")
    if missing is not None:
        out.append(missing)
    else:
        end = data_end(ctx)
        res = sl.resolution_table(tables, ctx.standards.raw, connection=ctx.duckdb, as_of=end)
        overall = res[res["group"] == "all"].iloc[0]
        digits = _digits(overall["rate"], overall["target"]) if overall["verdict"] == "misses" else 0
        out.append(say("svc.resolution_line", lang, rate=_pct(overall["rate"], digits),
                       target=_pct(overall["target"], digits),
                       n=int(overall["n"]), median_h=_number(overall["median_h"], 1),
                       median_wh=_number(overall["median_working_h"], 1)))
        below = res[(res["group"] != "all") & (res["verdict"] == "misses")]
        if len(below):
            out.append(say("svc.resolution_miss", lang, groups=("；" if lang == "zh" else "; ").join(
                f"{_group_label('severity', g, lang)} {_pct(r, _digits(r, target))} (n = {n})"
                for g, r, n, target in zip(below["group"], below["rate"], below["n"], below["target"]))))
        out.append(_not_yet_due(ctx, {"rate": overall["not_yet_due"]}, end))
        shown = pd.DataFrame({
            "svc.group": [_group_label("all" if g == "all" else "severity", g, lang) for g in res["group"]],
            "n": res["n"], "svc.closed": res["closed"], "svc.rate": res["rate"], "target": res["target"],
            "svc.gap_points": res["gap_points"].round(1), "svc.verdict": [t(f"svc.{v}", lang) for v in res["verdict"]],
            "svc.median_h": res["median_h"].round(1), "svc.median_working_h": res["median_working_h"].round(1),
            "svc.not_yet_due": res["not_yet_due"]})
        out.append(table(shown, lang, percent=["svc.rate", "target"], precision=1))
        arrival = sl.arrival_effect(tables, ctx.standards.raw, connection=ctx.duckdb, as_of=end).set_index("arrival")
        total = int(arrival["n"].sum())
        if total:
            out.append(say("svc.arrival_line", lang, share_out=_pct(arrival.loc["out_of_hours", "n"] / total), n=total,
                           within_out=_pct(arrival.loc["out_of_hours", "within_24h"]),
                           within_in=_pct(arrival.loc["in_hours", "within_24h"])))
            shown = arrival.reset_index()
            out.append(table(pd.DataFrame({
                "svc.arrival": [t(f"svc.{a}", lang) for a in shown["arrival"]], "n": shown["n"],
                "svc.median_response_h": shown["median_response_h"].round(1),
                "svc.median_response_working_h": shown["median_response_working_h"].round(1),
                "svc.within_24h": shown["within_24h"]}), lang, percent=["svc.within_24h"], precision=1))
    missing_tickets = ctx.missing_note("tickets", "tickets.customer_id")
    if missing_tickets is not None:
        out.append(missing_tickets)
    else:
        rates = repeats.rates if repeats is not None else _repeat_rates(ctx, tables, ctx.duckdb)
        out.extend(say("svc.repeat_line", lang, what=t(f"svc.{r.measure}", lang),
                       rate=_pct(r.rate, _digits(r.rate, r.target) if r.verdict == "misses" else 0), n=f"{r.n:,}",
                       days=f"{r.days:g}", target=_pct(r.target, _digits(r.rate, r.target) if r.verdict == "misses" else 0))
                   for r in rates.itertuples())
    out.append(say("svc.call_back", lang))
    return [item for item in out if item is not None]


def weekly_section(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> list:
    """Monitoring: each week's share of complaints answered within their severity's response limit (a
    line per severity that fell under target, and the weeks x severity table)."""
    lang = ctx.language
    missing = _missing(ctx)
    if missing is not None:
        return [missing]
    missing = ctx.missing_note("complaints.first_response_at")
    if missing is not None:
        return [missing]
    end = data_end(ctx)
    weekly = sl.weekly_service_levels(tables, ctx.standards.raw, "response", connection=ctx.duckdb, as_of=end)
    if weekly.empty:
        return [not_measured(lang, reason("no data for this unit and period", lang))]
    limit = sl.limits(ctx.standards.raw)["response"]
    judged = weekly[weekly["verdict"].isin(["meets", "misses"])]
    lines = []
    for severity, rows in judged.groupby("severity"):
        below = rows[rows["share"] < rows["target"] - 1e-12]
        if len(below):
            last = rows.iloc[-1]
            lines.append("- " + say("svc.weekly_line", lang, group=t(f"svc.severity.{severity}", lang),
                                    target=_pct(limit.target), limit=_limit_text(limit.value[severity], limit.unit, lang),
                                    below=len(below), judged=len(rows),
                                    latest=f"{last['week']:%Y-%m-%d} "
                                           f"{_pct(last['share'], _digits(last['share'], last['target']))} "
                                           f"(n = {int(last['n'])})"))
    cells = weekly.assign(cell=[f"{_pct(s)} ({n})" for s, n in zip(weekly["share"], weekly["n"])])
    wide = cells.pivot(index="week", columns="severity", values="cell").reindex(columns=list(sl.SEVERITIES))
    wide = wide.fillna("–").reset_index()
    wide["week"] = wide["week"].dt.strftime("%Y-%m-%d")
    wide.columns = ["svc.week", *[t(f"svc.severity.{s}", lang) for s in sl.SEVERITIES]]
    out = ["\n".join(lines) if lines else say("svc.weekly_all_meet", lang), table(wide, lang),
           _not_yet_due(ctx, {"response": weekly["not_yet_due"].sum()}, end)]
    return [item for item in out if item is not None]
