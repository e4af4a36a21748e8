"""The report sections of the standards, data-quality, KPI and scorecard notebooks.

Each takes the notebook's :class:`~qa_helpers.report.context.Context` (and the tables it loaded)
and returns what the cell shows — a figure, a table, a line of text, or a list of them — and
:func:`show` displays it, so a notebook stays a few lines per cell. A section whose data the
archive lacks returns one plain line ("Not measured: no complaints table in the archive").
"""

from __future__ import annotations


import matplotlib.pyplot as plt
import pandas as pd

from qa_helpers.data import archive as qa_archive
from qa_helpers.data.schemas import field_names
from qa_helpers.measures import analysis, kpis, quality, scorecard as qa_scorecard
from qa_helpers.report import plots
from qa_helpers.report.labels import glance, t, table
from qa_helpers.report.texts import KPI_FORMULAS_ZH, Said, Verbatim, reason, say

from qa_helpers.report.context import Context, not_measured
from qa_helpers.report.shared_figures import shared_figure


def titled(title: str, line: str | None) -> str | None:
    """A section's one-line note led by what it is about: "By customer type — not measured: ..."."""
    if line is None:
        return None
    return f"{title} — {line[0].lower()}{line[1:]}" if line[:1].isascii() else f"{title}：{line}"


def _formatted(values, units) -> list[str]:
    return [plots.format_value(v, u) for v, u in zip(values, units)]


# ================================================================ step 1: standards

def standards_targets(ctx: Context):
    """The KPI targets in force for the unit (per channel where they differ by channel), overrides
    marked, each with the floor used by ``floor_to_target`` scoring and where the target comes from."""
    targets = ctx.targets()
    by_channel = ctx.standards.channel_targets(ctx.unit)
    by_channel["text"] = [f"{t(c, ctx.language)} {plots.format_value(v, u)}" if pd.isna(p) else
                          f"{t(c, ctx.language)} ({t(p, ctx.language)}) {plots.format_value(v, u)}"
                          for c, p, v, u in zip(by_channel["channel"], by_channel["priority"], by_channel["target"],
                                                by_channel["unit"])]
    per_channel = {kpi: ", ".join(rows["text"]) for kpi, rows in by_channel.groupby("kpi", sort=False)}
    shown = targets.assign(
        target=[per_channel.get(k, "") if b else plots.format_value(v, u)
                for k, b, v, u in zip(targets["kpi"], targets["by_channel"], targets["target"], targets["unit"])],
        default_target=[per_channel.get(k, "") if b else plots.format_value(v, u) for k, b, v, u in
                        zip(targets["kpi"], targets["by_channel"], targets["default_target"], targets["unit"])],
        floor=_formatted(targets["floor"], targets["unit"]),
        overridden=[t("yes", ctx.language) if o else "" for o in targets["overridden"]])
    return table(shown[["kpi", "dimension", "direction", "target", "default_target", "floor", "overridden", "source"]],
                 ctx.language, values=["kpi", "dimension", "direction"], verbatim=["source"])


def standards_headline(ctx: Context) -> str:
    """At a glance: how many KPIs have a target, how many this archive measures, team overrides, checks passed."""
    targets = ctx.targets()
    checks = ctx.standards.checks()
    measured = int(ctx.measurability["measured"].sum())
    return glance([
        {"label": t("kpis_with_target", ctx.language), "value": f"{int(targets['target'].notna().sum() + targets['by_channel'].sum())}"},
        {"label": t("kpis_measured", ctx.language), "value": f"{measured} / {len(ctx.measurability)}"},
        {"label": t("overridden", ctx.language), "value": f"{int(targets['overridden'].sum())}"},
        {"label": t("checks_passed", ctx.language), "value": f"{len(checks)} / {len(checks)}", "met": True},
    ], ctx.language)


# The checks' results in Chinese (the English ones come from Standards.checks()).
CHECK_RESULTS_ZH = [(r"(\d+) KPIs have a floor", r"\1 项 KPI 设有零分线"), (r"(\d+) KPIs", r"\1 项 KPI"),
                    (r"(\d+) of (\d+)", r"\2 项中 \1 项"), (r"(\d+) team\(s\)", r"\1 个班组"),
                    (r"^ok$", "通过"), (r"root cause below (\S+) of target", r"低于目标 \1 时做根因分析"),
                    (r"indicators without data: (\w+)", r"无数据指标：\1"), (r"complaints (\S+) h", r"投诉 \1 h"),
                    (r"resolution (\S+) h", r"解决 \1 h"), (r"no floors \(only .+ needs them\)", "未设零分线"),
                    (r"\brescale\b", "按适用权重折算"), (r"\bzero\b", "计 0 分"),
                    (r"\bhigh\b", "高"), (r"\bmedium\b", "中"), (r"\blow\b", "低"), (r"; ", "；")]


def standards_checks(ctx: Context):
    """What was checked when the standards loaded, and the result of each check."""
    checks = ctx.standards.checks()
    methods = r"\b(floor_to_target|capped|ratio)\b"  # the scoring method in words, not its config name
    checks["result"] = checks["result"].str.replace(methods, lambda m: t(m[1], ctx.language), regex=True)
    if ctx.language == "zh":
        for pattern, words in CHECK_RESULTS_ZH:
            checks["result"] = checks["result"].str.replace(pattern, words, regex=True)
    return table(checks, ctx.language, values=["check"])


def standards_weights(ctx: Context) -> list:
    """Scorecard weights by dimension (a bar chart) and the indicator table."""
    weights = ctx.standards.indicators()
    by_dimension = weights.groupby("dimension", sort=False)["weight"].sum()
    return [shared_figure(_weights_figure, by_dimension, ctx.language),
            table(weights.drop(columns="kind"), ctx.language, values=["indicator", "dimension"], precision=0)]


def _weights_figure(by_dimension: pd.Series, language: str):
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.barh([t(d, language) for d in by_dimension.index], by_dimension.to_numpy(), color=plots.COLOURS[0])
    for y, w in enumerate(by_dimension.to_numpy()):
        ax.annotate(f"{w:g}", (w, y), xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_title(say("standards.weights_title", language))
    ax.set_xlabel(t("points", language))
    return fig


def _rule_line(rule: dict, language: str) -> str:
    """An alert rule as a Markdown bullet: "Alert: CSAT (top-2-box) under 85.0 % per team and week (n ≥ 30)"."""
    from qa_helpers.measures.kpis import KPIS

    unit = KPIS[rule["kpi"]].unit
    word, value = ("standards.under", rule["below"]) if "below" in rule else ("standards.over", rule["above"])
    return say("standards.rule_alert", language, kpi=t(rule["kpi"], language), word=say(word, language),
               value=plots.format_value(value, unit), group=t(f"group.{rule.get('unit', 'team')}", language),
               min_n=rule.get("min_n", 1), source=Verbatim(f" — {rule['source']}" if rule.get("source") else ""))


def standards_rules(ctx: Context) -> list:
    """SLAs per channel, grade bands, the scoring method, alert rules and the coaching rule, in words."""
    raw, language = ctx.standards.raw, ctx.language
    sla = ctx.standards.sla_table()
    sla["channel"] = [t(c, language) for c in sla["channel"]]
    sla["first_response_sla_s"] = [say("standards.no_sla", language) if pd.isna(s) else plots.format_value(s, "seconds")
                                   for s in sla["first_response_sla_s"]]
    grades = pd.DataFrame(raw["grades"])
    grades["grade"] = [t(g, language) for g in grades["grade"]]
    scoring = ctx.standards.scoring()
    episodes = raw.get("alert_episodes") or {}
    coaching = raw.get("coaching") or {}
    rules = [say("standards.rule_scoring", language, method=t(scoring["method"], language),
                 below=f"{scoring['root_cause_below']:.0%}")]
    rules += [_rule_line(rule, language) for rule in raw.get("alerts") or []]
    if episodes:
        rules.append(say("standards.rule_episodes", language, gap=episodes.get("merge_gap_weeks", 1),
                         chronic=episodes.get("chronic_weeks", 4)))
    if coaching:
        rules.append(say("standards.rule_coaching", language, kpi=t(coaching.get("kpi", "csat"), language),
                         below=f"{coaching.get('below', 0.8):.0%}", weeks=coaching.get("consecutive_weeks", 3),
                         min_responses=coaching.get("min_responses", 3),
                         min_run=coaching.get("min_run_responses", 15),
                         confidence=f"{coaching.get('confidence', 0.95):.0%}",
                         source=Verbatim(f" — {coaching['source']}" if coaching.get("source") else "")))
    return [table(sla, language), table(grades, language), Said("\n".join(rules))]


def kpi_catalogue(ctx: Context):
    """Every KPI's formula, and whether this archive can measure it (and why not)."""
    language = ctx.language
    catalogue = kpis.kpi_catalogue().merge(ctx.measurability, on="kpi", how="left")
    catalogue["in_this_archive"] = [t("measured", language) if m else
                                    f"{t('not measured', language)}: {reason(r, language)}"
                                    for m, r in zip(catalogue["measured"], catalogue["reason"])]
    # the docstrings name the guide a formula comes from; a reader needs the formula only
    formulas = ([KPI_FORMULAS_ZH.get(k, f) for k, f in zip(catalogue["kpi"], catalogue["formula"])] if language == "zh"
                else catalogue["formula"].str.replace(r"\s*\(seed [^)]*\)", "", regex=True))
    shown = catalogue.drop(columns=["measured", "reason"]).assign(
        formula=formulas, table=catalogue["table"].map(lambda name: f"table.{name}"),
        aggregation=catalogue["aggregation"].map(lambda name: f"aggregation.{name}"),
        unit=catalogue["unit"].map(lambda name: f"unit.{name}"))
    return table(shown, language, values=["kpi", "table", "aggregation", "unit"], verbatim=["inputs"]).set_properties(
        subset=[t("formula", language)], **{"text-align": "left"})


# ================================================================ step 2: data quality

def quality_headline(ctx: Context, report: dict, tables: dict[str, pd.DataFrame | str]) -> str:
    """At a glance: rows exported and quarantined (whole ingest), whether every source balances, this
    unit's tickets in the period and its survey response rate.

    ``tables`` are the unit's tables of the period as DuckDB sources (``ctx.sources()``: counted in
    DuckDB, no row loaded) or as DataFrames.
    """
    accounting = quality.row_accounting(report)
    raw, quarantined = int(accounting["raw"].sum()), int(accounting["quarantined"].sum())
    rows = [{"label": t("raw", ctx.language), "value": f"{raw:,}"},
            {"label": t("quarantined_share", ctx.language), "value": f"{quarantined / raw:.1%}" if raw else "–",
             "n": quarantined},
            {"label": t("balanced", ctx.language), "value": f"{int(accounting['balanced'].sum())} / {len(accounting)}",
             "met": bool(accounting["balanced"].all())}]
    if ctx.has("surveys") and ctx.has("tickets"):
        response = _survey_response(ctx, tables).iloc[0]
        rows.append({"label": t("tickets", ctx.language), "value": f"{int(response['tickets']):,}"})
        rows.append({"label": t("response_rate", ctx.language),
                     "value": plots.format_value(response["response_rate"], "share"), "n": int(response["tickets"])})
    else:
        rows.append({"label": t("tickets", ctx.language),
                     "value": f"{quality.row_count(tables['tickets'], ctx.duckdb):,}"})
    return glance(rows, ctx.language)


def _survey_response(ctx: Context, tables: dict[str, pd.DataFrame | str], by: str | None = None) -> pd.DataFrame:
    """The unit's survey response (overall or ``by`` a ticket column), computed once per context and
    breakdown: the headline and the response section show the same figures."""
    found = _ticket_counts(ctx, tables)
    reason = next((note for note in found["note"] if note and note != "no tickets"), "")
    if by is None and found.empty:  # no tickets: the overall row says why
        return quality.survey_response(tables["tickets"], tables["surveys"], connection=ctx.duckdb)
    if by == "channel" and "channel" in found:
        return quality.summed_response(found, "channel", reason)
    if by is not None:
        return quality.survey_response(tables["tickets"], tables["surveys"], by=by, connection=ctx.duckdb)
    counts = pd.DataFrame([{"tickets": int(found["tickets"].sum()), "surveyed": int(found["surveyed"].sum())}])
    return quality.response_from_counts(counts, reason)


def _ticket_counts(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> pd.DataFrame:
    """The unit's tickets and surveyed tickets by channel (when the tickets have one) and, over DuckDB
    sources, by week: one join gives the headline, the response by channel and the channel coverage
    (issue 17). Kept on the context."""
    cache = ctx.__dict__.setdefault("_survey_response", {})
    key = tuple(f if isinstance(f, str) else id(f) for f in (tables["tickets"], tables["surveys"]))
    if key not in cache:
        weekly = "created_at" if isinstance(tables["tickets"], str) and ctx.has("tickets", "created_at") else None
        cache[key] = quality.survey_response(tables["tickets"], tables["surveys"], connection=ctx.duckdb,
                                             by="channel" if ctx.has("tickets", "channel") else None, weekly=weekly)
    return cache[key]


def row_accounting(ctx: Context, report: dict) -> list:
    """Raw, archived and quarantined rows per source, and the files read (names as the exports have them)."""
    accounting = quality.row_accounting(report).rename(columns={"source": "data_source"})
    files = quality.file_inventory(report).rename(columns={"source": "data_source"})
    return [table(accounting, ctx.language, percent=["quarantined_share"], verbatim=["data_source"]),
            table(files, ctx.language, verbatim=["data_source", "file", "sha256"])]


def quarantine_section(ctx: Context, report: dict, reasons: pd.DataFrame) -> list:
    """Quarantined rows by source and rule (chart), and the notes ingest left (no data lost)."""
    fig = shared_figure(_quarantine_figure, reasons, ctx.language)  # the archive's: the same for every unit
    notes = quality.ingest_notes(report).rename(columns={"source": "data_source"})
    return [fig, *([say("quality.ingest_notes", ctx.language),
                    table(notes, ctx.language, verbatim=["data_source", "note"])] if len(notes) else [])]


def _quarantine_figure(reasons: pd.DataFrame, language: str):
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.32 * max(len(reasons), 1)))
    plots.plot_quarantine_reasons(reasons, ax=ax, language=language)
    return fig


def data_inventory(ctx: Context, tables: dict[str, pd.DataFrame | str]):
    """Rows of each table for the unit and period (counted in DuckDB for a source); tables the archive
    does not hold say so."""
    frame = pd.DataFrame({"table": [f"table.{name}" for name in tables],
                          "rows": [quality.row_count(f, ctx.duckdb, files=_whole_files(ctx, name, f))
                                   for name, f in tables.items()],
                          "in_archive": [t("yes", ctx.language) if ctx.has(name) else t("no_source", ctx.language)
                                         for name in tables]})
    return table(frame, ctx.language, values=["table"])


def _columns_of(ctx: Context, frame: pd.DataFrame | str) -> list[str]:
    """The columns of a table given as rows or as a DuckDB source (no row read)."""
    return list(frame.columns) if isinstance(frame, pd.DataFrame) else qa_archive.source_columns(ctx.duckdb, frame)


def _absent_fields(ctx: Context, name: str, frame: pd.DataFrame | str) -> list[str]:
    """Canonical fields the archive stores as all-null columns because the export does not have them
    (a field never archived by design, such as customer names, is not in the frame at all)."""
    columns = set(_columns_of(ctx, frame)) if ctx.has(name) else set()
    return [c for c in field_names(name) if ctx.has(name) and not ctx.has(name, c) and c in columns]


def _whole_files(ctx: Context, name: str, frame: pd.DataFrame | str) -> list[str] | None:
    """The month files of a table when the unit's rows of the period are exactly their rows (``ALL``
    over whole months), else ``None``: their parquet footers count the rows without a scan."""
    period = ctx.period
    if not isinstance(frame, str) or ctx.teams is not None or not qa_archive.whole_months(period) or not ctx.has(name):
        return None
    files = [f.as_posix() for month in period.months for f in sorted((ctx.archive / name).glob(f"month={month}/*.parquet"))]
    return files or None


def _missingness(ctx: Context, name: str, frame: pd.DataFrame | str, absent: list[str]) -> pd.DataFrame:
    """Empty values per column of one table (without its absent fields): from the parquet footers when
    the unit's rows are whole files, else counted in DuckDB (or pandas for a DataFrame)."""
    if isinstance(frame, pd.DataFrame):
        return quality.missingness(frame.drop(columns=absent), name)
    kept = [c for c in _columns_of(ctx, frame) if c not in absent]
    files = _whole_files(ctx, name, frame)
    found = quality.missingness_of_files(files, name, columns=kept, connection=ctx.duckdb) if files else None
    if found is not None:
        return found
    columns = ", ".join('"' + c.replace('"', '""') + '"' for c in kept)
    return quality.missingness(f"(SELECT {columns} FROM {frame})", name, connection=ctx.duckdb)


def completeness(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> list:
    """Share of empty values per field the archive holds (counted in DuckDB, or from the parquet footers
    for ``ALL`` over whole months); absent tables and fields are listed, not counted as empty."""
    absent = {name: _absent_fields(ctx, name, frame) for name, frame in tables.items()}
    missing = pd.concat([_missingness(ctx, name, frame, absent[name]) for name, frame in tables.items()
                         if ctx.has(name)], ignore_index=True)
    shown = missing[missing["missing"] > 0]
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.32 * max(len(shown), 1)))
    plots.plot_missingness(missing, ax=ax, language=ctx.language)
    absent_tables = [t(f"table.{n}", ctx.language) for n in tables if not ctx.has(n)]
    absent_fields = [f"{n}.{c}" for n in tables for c in absent[n]]
    notes = ([say("quality.absent_tables", ctx.language, tables="、".join(absent_tables) if ctx.language == "zh"
                  else ", ".join(absent_tables))] if absent_tables else []) + \
            ([say("quality.absent_fields", ctx.language, fields=", ".join(absent_fields))] if absent_fields else [])
    return [fig, *notes]


KEYS = {"tickets": "ticket_id", "surveys": "survey_id", "complaints": "complaint_id",
        "field_visits": "visit_id", "qa_reviews": "review_id"}


def duplicates(ctx: Context, tables: dict[str, pd.DataFrame | str], reasons: pd.DataFrame) -> list:
    """Duplicates removed at ingest, and a check that no id repeats in the tables the archive holds
    (grouped in DuckDB for a source)."""
    removed = reasons[reasons["rule"].isin(["duplicate_row", "duplicate_id"])]
    repeated = pd.concat([quality.duplicate_keys(tables[name], key, name, connection=ctx.duckdb)
                          for name, key in KEYS.items() if ctx.has(name)], ignore_index=True)
    removed = removed.assign(rule=removed["rule"].map(lambda rule: f"rule.{rule}")).rename(columns={"source": "data_source"})
    repeated = repeated.assign(table=repeated["table"].map(lambda name: f"table.{name}"))
    return [table(removed, ctx.language, values=["rule"], verbatim=["data_source"]) if len(removed)
            else say("quality.no_duplicates", ctx.language), table(repeated, ctx.language, values=["table"], verbatim=["key"])]


def response_and_linkage(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> list:
    """Survey response rate (overall and by channel) and linkage of surveys, complaints and visits to tickets.

    The response rate joins the unit's tickets and answers of the period in DuckDB; linkage matches every
    row of the period (whatever its team) to the archive's ticket ids by a semi-join in DuckDB, reading
    only the id column: no row comes back, only counts.
    """
    items: list = []
    note = ctx.missing_note("surveys", "tickets")
    if note:
        items.append(titled(t("response_rate", ctx.language), note))
    else:
        items += [_measured_table(ctx, _survey_response(ctx, tables), "response_rate")]
        if ctx.has("tickets", "channel"):
            items.append(_measured_table(ctx, _survey_response(ctx, tables, by="channel"),
                                         "response_rate", values=["channel"]))
    linked_tables = [name for name in ("surveys", "complaints", "field_visits") if ctx.has(name)]
    if not linked_tables or not ctx.has("tickets"):
        return items + [say("quality.no_linkage", ctx.language)]
    linked = _linkage(ctx, linked_tables)
    return items + [_measured_table(ctx, linked.assign(table=linked["table"].map(lambda name: f"table.{name}")),
                                    "linkage_rate", values=["table"])]


def _linkage(ctx: Context, names: list[str]) -> pd.DataFrame:
    """Linkage of every row of the period (whatever its team) of each table in ``names`` to the archive's
    ticket ids. The same for every unit: a batch kernel that keeps archive results
    (:func:`~qa_helpers.data.archive.keep`) computes it once per period, not once per team (issue 17)."""
    rows = {name: qa_archive.scan_sql(name, "ALL", ctx.period, archive=ctx.archive) for name in names}
    every_id = qa_archive.scan_sql("tickets", archive=ctx.archive, columns=["ticket_id"])
    key = ("linkage", tuple(rows.items()), every_id)
    linked = qa_archive.recall(key)
    if linked is None:
        known = quality.known_tickets(rows, every_id, connection=ctx.duckdb)  # one pass over the ids for every table
        linked = pd.concat([quality.linkage(source, known, name, connection=ctx.duckdb)
                            for name, source in rows.items()], ignore_index=True)
        qa_archive.keep(key, linked)
    return linked


def _measured_table(ctx: Context, frame: pd.DataFrame, rate: str, values: list[str] | None = None):
    """A response or linkage table: its rate as a share, its status and reason in the reader's language."""
    shown = frame.assign(note=frame["note"].fillna("").map(lambda note: reason(note, ctx.language)))
    return table(shown, ctx.language, percent=[rate], values=[*(values or []), "status"])


def channel_coverage(ctx: Context, tables: dict[str, pd.DataFrame | str]):
    """Tickets per week and channel as a heat map (counted in DuckDB for a source)."""
    note = ctx.missing_note("tickets", "tickets.channel")
    if note:
        return note
    # the weekly counts the headline's survey response took (one join over the tickets) when it has them
    counts = _ticket_counts(ctx, tables) if ctx.has("surveys") and isinstance(tables["tickets"], str) else None
    coverage = (quality.coverage_from_counts(counts[["week", "channel", "tickets"]])
                if counts is not None and "week" in counts
                else quality.channel_coverage(tables["tickets"], connection=ctx.duckdb))
    fig, ax = plt.subplots(figsize=(10, 3.5))
    plots.plot_channel_coverage(coverage, ax=ax, language=ctx.language)
    return fig


# ================================================================ step 3: KPI analysis

def kpi_headline(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> pd.DataFrame:
    """Headline KPIs against target: ``kpi, value, n, target, direction, unit, status, note``.

    ``tables``: the unit's tables as DataFrames or, at scale, DuckDB sources (:meth:`Context.sources`);
    every KPI section of this step takes either, and aggregates in DuckDB."""
    return ctx.kpi_vs_target(ctx.kpi_table(tables))


def headline_table(ctx: Context, headline: pd.DataFrame):
    """The headline table as people read it: values and targets formatted, status and note."""
    shown = headline.assign(value=_formatted(headline["value"], headline["unit"]),
                            target=_formatted(headline["target"], headline["unit"]))
    shown["note"] = shown["note"].fillna("").map(lambda note: reason(note, ctx.language))
    return table(shown[["kpi", "value", "n", "target", "direction", "status", "note"]], ctx.language,
                 values=["kpi", "direction", "status"])


GLANCE_KPIS = ("csat", "fcr", "response_on_time", "median_first_response_s", "complaints_per_1000")


def kpi_at_a_glance(ctx: Context, headline: pd.DataFrame, before: pd.DataFrame,
                    names: tuple[str, ...] = GLANCE_KPIS) -> str:
    """At a glance: the headline KPIs against target, with the change since the previous period
    (``before``: :func:`kpi_headline` of the previous period) and n."""
    previous = before.set_index("kpi")["value"]
    rows = []
    for row in headline[headline["kpi"].isin(names)].itertuples():
        sign = "≥" if row.direction == "higher" else "≤"
        change = _signed([row.value - previous.get(row.kpi, float("nan"))], [row.unit])[0]
        judged = row.status in ("meets target", "misses target")
        rows.append({"label": t(row.kpi, ctx.language), "value": plots.format_value(row.value, row.unit),
                     "target": f"{sign} {plots.format_value(row.target, row.unit)}" if pd.notna(row.target) else
                     t(row.status if row.status != "misses target" else "no target", ctx.language),
                     **({"met": row.status == "meets target"} if judged else {}),
                     "change": change, "n": row.n})
    return glance(rows, ctx.language, previous=str(ctx.period.previous()))


INDEX_KPIS = ("csat", "fcr", "response_on_time")


def headline_summary(headline: pd.DataFrame, before: pd.DataFrame | None = None,
                     names: tuple[str, ...] = INDEX_KPIS) -> dict:
    """The index page's figures from the headline table: for each of ``names`` its value (empty when not
    measured), target, which way is better, n and the previous period's value (from ``before``); and how
    many KPIs miss their target or are not measured."""
    by_kpi = headline.set_index("kpi")
    previous = before.set_index("kpi") if before is not None else pd.DataFrame(columns=["value", "status"])
    judged = by_kpi.index[by_kpi["status"] != "not measured"]
    was_judged = previous.index[previous["status"] != "not measured"]

    def number(value) -> float | None:
        return None if value is None or pd.isna(value) else float(value)

    figures: dict = {}
    for name in names:
        figures[name] = number(by_kpi.loc[name, "value"]) if name in judged else None
        figures[f"{name}_target"] = number(by_kpi.loc[name, "target"]) if name in by_kpi.index else None
        figures[f"{name}_better"] = str(by_kpi.loc[name, "direction"]) if name in by_kpi.index else None
        figures[f"{name}_n"] = int(by_kpi.loc[name, "n"]) if name in judged else 0
        figures[f"{name}_previous"] = number(previous.loc[name, "value"]) if name in was_judged else None
    return {**figures, "kpis_below_target": int((headline["status"] == "misses target").sum()),
            "kpis_not_measured": int((headline["status"] == "not measured").sum())}


def _unmeasured_line(ctx: Context, names: list[str]) -> str | None:
    reasons = [f"{t(n, ctx.language)} ({ctx.kpi_reason(n)})" for n in names if not ctx.measured(n)]
    return not_measured(ctx.language, "; ".join(reasons)) if reasons else None


def kpi_breakdown(ctx: Context, tables: dict[str, pd.DataFrame | str], by: str,
                  names: tuple[str, ...] = ("csat", "fcr")) -> list:
    """CSAT and FCR by one ticket breakdown (channel, category, customer type), against target."""
    note = ctx.missing_note("tickets", f"tickets.{by}")
    measured = [n for n in names if ctx.measured(n)]
    if note or not measured:
        return [titled(f"By {t(by, ctx.language).lower()}" if ctx.language == "en" else f"按{t(by, ctx.language)}",
                       note or _unmeasured_line(ctx, list(names)))]
    # answers whose ticket did not link (e.g. it was quarantined) have no channel: say so, not "nan"
    values = _breakdown_values(ctx, tables, by, measured).fillna({by: "not recorded"})
    targets = ctx.targets().set_index("kpi")
    fig, axes = plt.subplots(1, len(measured), figsize=(6 * len(measured), 2.2 + 0.45 * values[by].nunique()),
                             squeeze=False)
    for ax, name in zip(axes[0], measured):
        plots.plot_breakdown(values[values["kpi"] == name], by, name, "share", targets.loc[name, "target"], ax=ax,
                             language=ctx.language)
    return [fig, _unmeasured_line(ctx, list(names))]


SHOWN_BREAKDOWNS = ("channel", "category", "customer_type")


def _breakdown_values(ctx: Context, tables: dict[str, pd.DataFrame | str], by: str, names: list[str]) -> pd.DataFrame:
    """``ctx.kpi_table(tables, by=[by], kpis=names)``; over DuckDB sources, computed on the first call for
    every breakdown of :data:`SHOWN_BREAKDOWNS` the archive holds (:func:`~qa_helpers.measures.kpis.kpi_tables`:
    each table scanned once for all of them, issue 17) and kept on the context for the next calls."""
    if not all(isinstance(source, str) for source in tables.values()):  # rows given: nothing to keep
        return ctx.kpi_table(tables, by=[by], kpis=names)
    cache = ctx.__dict__.setdefault("_breakdowns", {})
    key = (tuple(tables.items()), tuple(names))
    if (*key, by) not in cache:
        together = [b for b in SHOWN_BREAKDOWNS if ctx.has("tickets", b)] if by in SHOWN_BREAKDOWNS else []
        together = together if by in together else [by]
        found = kpis.kpi_tables(tables, [[b] for b in together], standards=ctx.standards.raw, kpis=names,
                                connection=ctx.duckdb, available=ctx.available)
        cache.update({(*key, b): frame for b, frame in zip(together, found)})
    return cache[(*key, by)].copy()


def kpi_heatmap(ctx: Context, tables: dict[str, pd.DataFrame | str]):
    """CSAT by channel × customer type."""
    note = ctx.missing_note("tickets.channel", "tickets.customer_type")
    if note or not ctx.measured("csat"):
        return titled(t("heat_title", ctx.language), note or _unmeasured_line(ctx, ["csat"]))
    grid = ctx.kpi_table(tables, by=["channel", "customer_type"], kpis=["csat"]).fillna(
        {"channel": "not recorded", "customer_type": "not recorded"})
    fig, ax = plt.subplots(figsize=(7, 3.6))
    plots.plot_heatmap(grid.pivot(index="channel", columns="customer_type", values="value"),
                       t("heat_title", ctx.language), ax=ax, language=ctx.language)
    return fig


TREND_KPIS = ("csat", "fcr", "response_on_time", "median_first_response_s")


def kpi_trends(ctx: Context, tables: dict[str, pd.DataFrame | str], names: tuple[str, ...] = TREND_KPIS) -> list:
    """Weekly values of the trend KPIs against target (the ones this archive measures)."""
    measured = [n for n in names if ctx.measured(n)]
    if not measured:
        return _unmeasured_line(ctx, list(names))
    weekly = ctx.kpi_table(tables, by=["week"], kpis=measured)
    targets = ctx.targets().set_index("kpi")
    rows = (len(measured) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(13, 3.5 * rows), squeeze=False)
    for ax, name in zip(axes.flat, measured):
        row = targets.loc[name]
        plots.plot_kpi_trend(weekly[weekly["kpi"] == name], name, row["unit"],
                             row["target"] if pd.notna(row["target"]) else None, ax=ax,
                             language=ctx.language, min_n=5)
    for ax in list(axes.flat)[len(measured):]:
        ax.set_axis_off()
    return [fig, _unmeasured_line(ctx, list(names))]


def pareto_section(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> list:
    """Pareto of problem tickets by category, and which problem signals the archive cannot give."""
    note = ctx.missing_note("tickets", "tickets.category")
    if note:
        return [note]
    counts, problems = analysis.problem_counts(tables, connection=ctx.duckdb)  # counted in DuckDB, no rows loaded
    if not problems:
        return [say("kpi.no_problems", ctx.language)]
    pareto_table = analysis.pareto_counts(counts)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    plots.plot_pareto(pareto_table, ax=ax, language=ctx.language)
    lacking = [t(f"lacking.{need}", ctx.language) for need in ("complaints", "surveys") if not ctx.has(need)]
    return [fig, table(pareto_table, ctx.language, values=["category"], percent=["share", "cumulative_share"]),
            say("kpi.problems_without", ctx.language, lacking=t("and", ctx.language).join(lacking)) if lacking else None]


def fishbone_section(ctx: Context, tables: dict[str, pd.DataFrame | str]):
    """Complaints by cause dimension and category."""
    note = ctx.missing_note("complaints", "complaints.cause_dimension")
    if note:
        return note
    fig, ax = plt.subplots(figsize=(9, 3.6))
    plots.plot_fishbone_tally(analysis.fishbone_tally(tables["complaints"], ctx.duckdb), ax=ax,
                              language=ctx.language)
    return fig


def agent_section(ctx: Context, tables: dict[str, pd.DataFrame | str]) -> list:
    """Each agent's CSAT against their FCR, the quadrant counts and the lowest-satisfaction agents."""
    note = ctx.missing_note("tickets.agent_id")
    if note or not (ctx.measured("csat") and ctx.measured("fcr")):
        return [note or _unmeasured_line(ctx, ["csat", "fcr"])]
    targets = ctx.targets()
    cross = analysis.agent_cross(ctx.kpi_table(tables, by=["agent_id"], kpis=["csat", "fcr"]), targets)
    by_kpi = targets.set_index("kpi")
    fig, ax = plt.subplots(figsize=(8, 5.5))
    plots.plot_agent_cross(cross, "fcr", "csat", by_kpi.loc["fcr", "target"], by_kpi.loc["csat", "target"], ax=ax,
                           language=ctx.language)
    lowest = cross[cross["quadrant"] != "too few"].nsmallest(5, "csat")
    return [fig, table(cross["quadrant"].value_counts().rename_axis("quadrant").reset_index(), ctx.language,
                       values=["quadrant"]),
            say("kpi.lowest_agents", ctx.language),
            table(lowest, ctx.language, values=["quadrant"], percent=["csat", "fcr"])]


# ================================================================ step 4: scorecard

def _signed(values, units) -> list[str]:
    """Changes as people read them: +1.2 pp for shares, +5 s for durations, "–" when unknown."""
    out = []
    for value, unit in zip(values, units):
        if value is None or pd.isna(value):
            out.append("–")
        elif unit == "share":
            out.append(f"{value * 100:+.1f} pp".replace("-", "−"))
        else:
            out.append(("+" if value > 0 else "") + plots.format_value(value, unit) if value >= 0
                       else "−" + plots.format_value(-value, unit))
    return out


def scorecard_total(ctx: Context, card: pd.DataFrame) -> pd.Series:
    """Total, grade, targets met, the weight it was scored over and a note saying what was left out."""
    return qa_scorecard.scorecard_total(card, ctx.standards).iloc[0]


def _sentence(text: str, language: str) -> str:
    """A note as a sentence after another: capitalised and full-stopped in English, "。" in Chinese."""
    return f"{text}。" if language == "zh" else f" {text[0].upper()}{text[1:]}."


def scorecard_headline(ctx: Context, total: pd.Series, before: pd.Series) -> list:
    """The total and grade with the targets met (k of n), the previous period's total, and what the
    total leaves out."""
    language = ctx.language
    grade = t(total["grade"], language) if total["grade"] else "–"
    score = f"{total['total']:.1f}" if pd.notna(total["total"]) else "–"
    change = (f"{total['total'] - before['total']:+.1f}".replace("-", "−")
              if pd.notna(total["total"]) and pd.notna(before["total"]) else "")
    previous = say("scorecard.previous", language, period=str(ctx.period.previous()), score=f"{before['total']:.1f}",
                   grade=t(before["grade"], language), change=change or "–") if pd.notna(before["total"]) else ""
    note = total.get("note")
    return [Said(say("scorecard.total", language, score=score, grade=grade, met=total["targets_met"],
                     judged=total["targets_judged"]) + (f"  \n{previous}" if previous else "")),
            say("scorecard.method", language, method=t(ctx.standards.scoring()["method"], language))
            + (_sentence(reason(note, language), language) if isinstance(note, str) and note else "")]


def scorecard_summary(total: pd.Series, before: pd.Series | None = None) -> dict:
    """The index page's figures: grade, score, targets met of judged and root-cause flags (empty when
    nothing could be scored), and the previous period's score (``before``) when there is one."""
    scored = pd.notna(total["total"])
    was_scored = before is not None and pd.notna(before["total"])
    return {"grade": total["grade"], "score": round(float(total["total"]), 2) if scored else None,
            "score_previous": round(float(before["total"]), 2) if was_scored else None,
            "targets_met": int(total["targets_met"]), "targets_judged": int(total["targets_judged"]),
            "root_causes": int(total["root_causes"])}


def _card_units(ctx: Context, card: pd.DataFrame) -> list[str]:
    units = ctx.targets().set_index("kpi")["unit"]
    return [units.get(i, "score") for i in card["indicator"]]


def scorecard_view(ctx: Context, card: pd.DataFrame) -> list:
    """Points per indicator (chart) and the indicator table: target, actual, score, met, root cause,
    remark; not-measured indicators say why."""
    fig, ax = plt.subplots(figsize=(10, 4.2))
    plots.plot_scorecard(card, ax=ax, language=ctx.language)
    kinds = _card_units(ctx, card)
    judged = card["applicable"].astype(bool)
    shown = card.assign(target=_formatted(card["target"], kinds), actual=_formatted(card["actual"], kinds),
                        met=[t("meets target" if m else "misses target", ctx.language) if j else "–"
                             for m, j in zip(card["met"], judged)],
                        root_cause=[t("yes", ctx.language) if r else "" for r in card["root_cause"]])
    shown["note"] = shown["note"].fillna("").map(lambda note: reason(note, ctx.language))
    columns = ["dimension", "indicator", "weight", "target", "actual", "n", "score", "attainment", "met", "root_cause",
               "remark", "note"]
    return [fig, table(shown[columns], ctx.language, values=["dimension", "indicator"], percent=["attainment"],
                       verbatim=["remark"])]


def scorecard_channels(ctx: Context) -> list:
    """First response and handling time per channel against each channel's own target, and their
    volume-weighted attainment."""
    names = list(ctx.standards.channel_targets(ctx.unit)["kpi"].drop_duplicates())
    measured = [name for name in names if ctx.measured(name)]
    note = ctx.missing_note("tickets.channel") or _unmeasured_line(ctx, names)
    if not measured or ctx.missing("tickets.channel"):
        return [note]
    by_priority = ctx.standards.channel_targets(ctx.unit)["priority"].notna().any() and ctx.has("tickets", "priority")
    by = ["channel", "priority"] if by_priority else ["channel"]
    rows = qa_scorecard.channel_attainment(ctx.kpi_table(by=by, kpis=measured), ctx.standards, ctx.unit)
    if rows.empty:
        return ["No ticket with a first response or handling time in this period."]
    combined = rows["channel"] == "all channels"
    shown = rows.assign(value=_formatted(rows["value"], rows["unit"]), target=_formatted(rows["target"], rows["unit"]),
                        channel=[t("all_channels", ctx.language) if c else ch for c, ch in zip(combined, rows["channel"])],
                        met=[t("meets target" if m else "misses target", ctx.language) for m in rows["met"]])
    columns = ["kpi", "channel", *(["priority"] if by_priority else []), "value", "n", "target", "attainment", "met"]
    return [table(shown[columns], ctx.language, values=["kpi", "channel", "priority"], percent=["attainment"]), note]


def scorecard_subtotals(ctx: Context, card: pd.DataFrame):
    """Points and weight per dimension (indicators that apply)."""
    return table(qa_scorecard.dimension_subtotals(card), ctx.language, values=["dimension"],
                 percent=["share_of_weight"])


def scorecard_flagged(ctx: Context, card: pd.DataFrame):
    """Indicators whose attainment is under the standards' root-cause threshold, with their remarks."""
    below = ctx.standards.scoring()["root_cause_below"]
    flagged = card[card["root_cause"].astype(bool)]
    if flagged.empty:
        return (f"No indicator is under {below:.0%} of its target." if ctx.language == "en"
                else f"没有低于目标{below:.0%}的指标。")
    kinds = _card_units(ctx, flagged)
    shown = flagged.assign(target=_formatted(flagged["target"], kinds), actual=_formatted(flagged["actual"], kinds))
    lead = (f"Under {below:.0%} of target: look for the root cause (fishbone, 5 whys) before acting."
            if ctx.language == "en" else f"低于目标{below:.0%}：先做根因分析（鱼骨图、5Why）再定措施。")
    return [lead, table(shown[["indicator", "target", "actual", "n", "attainment", "score", "remark"]], ctx.language,
                        values=["indicator"], percent=["attainment"], verbatim=["remark"])]


def scorecard_comparison(ctx: Context, card: pd.DataFrame, previous: pd.DataFrame):
    """Indicator by indicator: this period against the previous one."""
    comparison = qa_scorecard.compare_scorecards(card, previous)
    kinds = _card_units(ctx, comparison)
    shown = comparison.assign(actual_previous=_formatted(comparison["actual_previous"], kinds),
                              actual=_formatted(comparison["actual"], kinds),
                              delta_actual=_signed(comparison["delta_actual"], kinds))
    return table(shown[["indicator", "actual_previous", "actual", "delta_actual", "score_previous", "score",
                        "delta_score"]], ctx.language, values=["indicator"], precision=1)
