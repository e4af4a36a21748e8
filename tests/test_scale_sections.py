"""Issue 17: the KPI-analysis, scorecard and monitoring sections aggregate in DuckDB over the unit's period
files (``Context.sources``) and give what they gave from pandas rows (``Context.tables``), loading no row
they do not need."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from qa_helpers.measures import analysis, rootcause  # noqa: E402
from qa_helpers.measures.kpis import kpi_table as fresh_kpi_table  # noqa: E402  (kept before any test patches it)
from qa_helpers.monitor import monitoring  # noqa: E402
from qa_helpers.report import sections, service  # noqa: E402
from qa_helpers.report.context import Context, open_context  # noqa: E402


@pytest.fixture(scope="module", params=[("HL-A", "2025-Q4"), ("ALL", "2025-Q3")])
def both(request, archive):
    """A unit's context with its tables twice: pandas rows and DuckDB sources."""
    ctx = open_context(*request.param, archive)
    return ctx, ctx.tables(), ctx.sources()


@pytest.fixture
def no_rows(monkeypatch):
    """Loading rows through the context fails the test: a section given sources must not load any."""
    def refuse(self, *args, **kwargs):
        raise AssertionError(f"rows loaded: {args} {kwargs}")

    monkeypatch.setattr(Context, "load", refuse)
    monkeypatch.setattr(Context, "tables", refuse)


def test_sources_are_sql_over_the_units_period(both):
    ctx, rows, sources = both
    assert set(sources) == set(rows) and all(isinstance(s, str) for s in sources.values())
    counted = ctx.query("SELECT count(*) AS n FROM {t}", t=sources["tickets"])["n"].iloc[0]
    assert counted == len(rows["tickets"]) > 0


def test_pareto_counts_in_duckdb_equal_the_pandas_problem_tickets(both, no_rows):
    ctx, rows, sources = both
    problems = analysis.problem_tickets(rows["tickets"], rows["surveys"], rows["complaints"])
    counts, total = analysis.problem_counts(sources, connection=ctx.duckdb)
    assert total == len(problems) > 0
    expected = problems["category"].value_counts()
    assert counts.to_dict() == expected.to_dict()
    pd.testing.assert_frame_equal(analysis.pareto_counts(counts).drop(columns="category"),
                                  analysis.pareto(problems["category"]).drop(columns="category"))
    # hand-made frames give the same counts as their SQL sources
    frames, _ = analysis.problem_counts(rows)
    assert frames.to_dict() == counts.to_dict()


def _pandas_fishbone(complaints: pd.DataFrame) -> pd.DataFrame:
    """The tally as pandas counted it before issue 17 moved it into DuckDB."""
    tally = complaints.groupby(["cause_dimension", "category"]).size().rename("complaints").reset_index()
    out = pd.DataFrame({"cause_dimension": ["people", "process", "tools", "environment"]}).merge(
        tally, on="cause_dimension", how="left")
    return out.assign(complaints=out["complaints"].fillna(0).astype("int64"))


def test_fishbone_tally_in_duckdb_equals_the_pandas_count(both, no_rows):
    ctx, rows, sources = both
    pd.testing.assert_frame_equal(analysis.fishbone_tally(sources["complaints"], ctx.duckdb),
                                  _pandas_fishbone(rows["complaints"]), check_dtype=False)
    # a missing category or dimension is not counted, as pandas' groupby leaves it out
    extra = pd.DataFrame({"cause_dimension": ["tools", "tools", None, "people"],
                          "category": ["zz_last", None, "billing", "aa_first"]})
    frame = pd.concat([rows["complaints"][["cause_dimension", "category"]], extra], ignore_index=True)
    got = analysis.fishbone_tally(frame)
    assert got["complaints"].sum() == len(rows["complaints"]) + 2
    pd.testing.assert_frame_equal(got, _pandas_fishbone(frame), check_dtype=False)


def test_kpi_sections_from_sources_equal_those_from_rows(both, no_rows):
    ctx, rows, sources = both
    pd.testing.assert_frame_equal(sections.kpi_headline(ctx, sources), sections.kpi_headline(ctx, rows))
    by_agent = ctx.kpi_table(sources, by=["agent_id"], kpis=["csat", "fcr"])
    assert by_agent.equals(ctx.kpi_table(rows, by=["agent_id"], kpis=["csat", "fcr"]))
    for section in (sections.pareto_section, sections.fishbone_section, sections.agent_section, sections.kpi_trends):
        assert section(ctx, sources) is not None
    matplotlib.pyplot.close("all")


def test_service_levels_from_sources_equal_those_from_rows(both, no_rows):
    ctx, rows, sources = both
    pd.testing.assert_frame_equal(service.levels(ctx, sources), service.levels(ctx, rows))
    text = [item for item in service.resolution_section(ctx, sources) if isinstance(item, str)]
    assert text == [item for item in service.resolution_section(ctx, rows) if isinstance(item, str)]


def test_monitoring_from_sources_equals_monitoring_from_rows(both, no_rows):
    ctx, rows, sources = both
    alerts, notes = monitoring.unit_alerts(ctx, sources)
    pd.testing.assert_frame_equal(alerts, monitoring.unit_alerts(ctx, rows)[0])
    assert notes == monitoring.unit_alerts(ctx, rows)[1]
    assert monitoring.whole_weeks(sources, ctx.period, ctx.duckdb) == monitoring.whole_weeks(rows, ctx.period)
    cases, teams, _ = monitoring.unit_coaching(ctx, sources)
    cases_rows, teams_rows, _ = monitoring.unit_coaching(ctx, rows)
    pd.testing.assert_frame_equal(cases, cases_rows)
    pd.testing.assert_frame_equal(teams, teams_rows)


def test_control_chart_series_over_two_periods_from_sources(both, monkeypatch):
    ctx, rows, sources = both
    previous = ctx.tables(ctx.period.previous())  # before the refusal: the pandas reference
    joined = {name: pd.concat([previous[name], frame], ignore_index=True) for name, frame in rows.items()}
    monkeypatch.setattr(Context, "tables", lambda *a, **k: (_ for _ in ()).throw(AssertionError("rows loaded")))
    both_sql = monitoring.with_previous(ctx, sources)
    assert all(isinstance(s, str) for s in both_sql.values())
    for kpi in ("csat", "fcr"):
        got = monitoring.weekly_counts(both_sql, kpi, ctx.standards.raw, ctx.duckdb)
        pd.testing.assert_frame_equal(got, monitoring.weekly_counts(joined, kpi, ctx.standards.raw))
    start = ctx.period.start
    before_sql = {name: monitoring._window(s, name, end=start) for name, s in both_sql.items()}
    before_rows = {name: monitoring._window(f, name, end=start) for name, f in joined.items()}
    got = monitoring.weekly_values(before_sql, "median_first_response_s", ctx.standards.raw, ctx.duckdb)
    pd.testing.assert_frame_equal(got, monitoring.weekly_values(before_rows, "median_first_response_s",
                                                                ctx.standards.raw))
    assert len(got) and (got["period"] < start).all()


def test_root_cause_sections_load_the_complaints_once(archive, monkeypatch):
    ctx = open_context("ALL", "2025-Q4", archive)
    loads = []
    real = Context.load
    monkeypatch.setattr(Context, "load", lambda self, table, *a, **k: loads.append(table) or real(self, table, *a, **k))
    rootcause.problem_types_section(ctx)
    rootcause.matrix_section(ctx)
    rootcause.case_section(ctx)
    matplotlib.pyplot.close("all")
    assert loads == ["complaints"]
    assert len(rootcause.complaint_types(ctx)) == len(real(ctx, "complaints"))


def _repeat_contacts(tickets: pd.DataFrame, earlier: pd.DataFrame, days: float) -> tuple[int, int]:
    """The seed-000 definition in pandas, ticket by ticket: a ticket whose customer had another ticket
    resolved within ``days`` before it was created (the reference for the one-pass DuckDB query)."""
    every = pd.concat([tickets, earlier], ignore_index=True).dropna(subset=["customer_id", "resolved_at"])
    resolved = every.groupby("customer_id")[["ticket_id", "resolved_at"]].apply(lambda f: list(zip(*f.values.T)))
    mine = tickets.dropna(subset=["customer_id"])
    window = pd.Timedelta(seconds=int(days * 86400))
    repeats = sum(any(other != ticket and created - window <= at <= created
                      for other, at in resolved.get(customer, []))
                  for ticket, customer, created in zip(mine["ticket_id"], mine["customer_id"], mine["created_at"]))
    return repeats, len(mine)


def test_repeat_contacts_in_one_duckdb_pass_equal_the_ticket_by_ticket_count(archive):
    from qa_helpers.measures import service_levels as sl

    ctx = open_context("HL-A", "2025-Q4", archive)
    columns = ["ticket_id", "customer_id", "created_at", "resolved_at"]
    tickets, earlier = ctx.load("tickets", columns=columns), ctx.load("tickets", ctx.period.previous(), columns=columns)
    got = sl.repeat_rates(ctx.sources(), ctx.standards.raw, connection=ctx.duckdb, history=service._history(ctx))
    row = got.set_index("measure").loc["repeat_contact"]
    assert (row["repeats"], row["n"]) == _repeat_contacts(tickets, earlier, row["days"])
    assert row["repeats"] > 0
    # the look-back counts: without the previous period the first days of the quarter lose repeats
    alone = sl.repeat_rates(ctx.sources(), ctx.standards.raw, connection=ctx.duckdb).set_index("measure")
    assert alone.loc["repeat_contact", "repeats"] == _repeat_contacts(tickets, tickets.iloc[:0], row["days"])[0]


def test_workload_per_agent_week_from_sources_equals_the_pandas_count(both):
    ctx, rows, sources = both
    tickets = rows["tickets"].copy()
    tickets.loc[tickets.index[:7], "agent_id"] = None  # a ticket with no agent is no agent-week
    weeks = tickets.dropna(subset=["agent_id"]).assign(week=lambda f: f["created_at"].dt.to_period("W-SUN"))
    expected = len(tickets) / len(weeks[["agent_id", "week"]].drop_duplicates())
    got = ctx.kpi_table({"tickets": tickets}, kpis=["workload_per_agent"])
    assert got["value"].iloc[0] == pytest.approx(expected)
    from_sql = ctx.kpi_table(sources, kpis=["workload_per_agent"])["value"].iloc[0]
    assert from_sql == pytest.approx(len(rows["tickets"]) / len(rows["tickets"].assign(
        week=rows["tickets"]["created_at"].dt.to_period("W-SUN"))[["agent_id", "week"]].dropna().drop_duplicates()))


def test_a_batch_kernel_keeps_kpi_tables_over_archive_scans(archive, monkeypatch):
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.measures import kpis

    monkeypatch.setattr(qa_archive._READS, "limit", 64 * 2**20)  # as $QAKIT_READ_CACHE_MB sets it in a batch kernel
    monkeypatch.setattr(qa_archive._READS, "frames", type(qa_archive._READS.frames)())
    computed = []
    real = kpis.kpi_table
    monkeypatch.setattr(kpis, "kpi_table", lambda tables, **kw: computed.append(kw["by"]) or real(tables, **kw))
    first = open_context("HL-A", "2025-Q4", archive)
    values = first.kpi_table(period=first.period.previous())
    values.loc[0, "value"] = -1.0  # the caller's copy
    second = open_context("HL-A", "2025-Q4", archive)  # the next notebook of the same unit and period
    again = second.kpi_table(second.sources(second.period.previous()))
    assert computed == [[]] and again.loc[0, "value"] != -1.0
    pd.testing.assert_frame_equal(again, real(second.sources(second.period.previous()), standards=second.standards.raw,
                                              available=second.available, connection=second.duckdb))
    # rows given as DataFrames or a query the context did not hand out are computed afresh
    second.kpi_table({"tickets": second.load("tickets")}, kpis=["fcr"])
    second.kpi_table({"tickets": f"(SELECT * FROM {second.source('tickets')} WHERE channel = 'chat')"}, kpis=["fcr"])
    assert len(computed) == 3


def test_kpi_tables_are_not_kept_outside_a_batch_kernel(archive, monkeypatch):
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.measures import kpis

    monkeypatch.setattr(qa_archive._READS, "limit", 0)
    computed = []
    real = kpis.kpi_table
    monkeypatch.setattr(kpis, "kpi_table", lambda tables, **kw: computed.append(1) or real(tables, **kw))
    first, second = (open_context("HL-A", "2025-Q4", archive) for _ in range(2))
    pd.testing.assert_frame_equal(first.kpi_table(), second.kpi_table())
    assert len(computed) == 2


@pytest.fixture
def asked_kpis(monkeypatch) -> list:
    """The ``kpis`` each call of ``kpis.kpi_table`` was asked for (one scan each), the read cache off."""
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.measures import kpis

    monkeypatch.setattr(qa_archive._READS, "limit", 0)
    asked = []
    monkeypatch.setattr(kpis, "kpi_table",
                        lambda tables, **kw: asked.append(kw["kpis"]) or fresh_kpi_table(tables, **kw))
    return asked


def test_a_notebook_computes_a_kpi_table_once_and_cuts_kpis_from_it(archive, asked_kpis):
    # notebook 04 asks for the unit's table (scorecard), then for the benchmarked KPIs: one scan (issue 17)
    computed, real = asked_kpis, fresh_kpi_table
    ctx = open_context("ALL", "2025-Q4", archive)
    whole = ctx.kpi_table()
    whole.loc[0, "value"] = -1.0  # the caller's copy
    wanted = ["fcr", "aht_s", "csat"]
    cut = ctx.kpi_table(kpis=wanted)
    assert computed == [None] and list(cut["kpi"]) == wanted
    pd.testing.assert_frame_equal(cut, real(ctx.sources(), kpis=wanted, standards=ctx.standards.raw,
                                            available=ctx.available, connection=ctx.duckdb))
    pd.testing.assert_frame_equal(ctx.kpi_table(), real(ctx.sources(), standards=ctx.standards.raw,
                                                        available=ctx.available, connection=ctx.duckdb))
    ctx.kpi_table(by=["channel"], kpis=["fcr"])  # a breakdown is its own scan
    assert computed == [None, ["fcr"]]
    # no KPIs means every KPI (as kpi_tables reads it), and a repeated KPI keeps kpi_tables' order: computed
    for kpis_asked in ([], ["fcr", "csat", "fcr"]):
        pd.testing.assert_frame_equal(ctx.kpi_table(kpis=kpis_asked),
                                      real(ctx.sources(), kpis=kpis_asked, standards=ctx.standards.raw,
                                           available=ctx.available, connection=ctx.duckdb))
    assert computed[2:] == [[], ["fcr", "csat", "fcr"]]


def test_the_three_breakdowns_scan_each_table_once_and_equal_the_kpi_tables(archive, monkeypatch):
    """Issue 17: by channel, category and customer type from one query per table (GROUPING SETS)."""
    from qa_helpers.measures import kpis

    ctx = open_context("ALL", "2025-Q3", archive)
    sources = ctx.sources()
    calls = []
    real = kpis.kpi_tables
    monkeypatch.setattr(kpis, "kpi_tables", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    shown = {by: sections._breakdown_values(ctx, sources, by, ["csat", "fcr"]) for by in sections.SHOWN_BREAKDOWNS}
    assert all(len(sections.kpi_breakdown(ctx, sources, by)) == 2 for by in sections.SHOWN_BREAKDOWNS)
    assert calls == [[["channel"], ["category"], ["customer_type"]]]
    for by, frame in shown.items():
        pd.testing.assert_frame_equal(frame, ctx.kpi_table(sources, by=[by], kpis=["csat", "fcr"]))
    matplotlib.pyplot.close("all")


def test_the_service_tables_of_a_notebook_share_one_clocks_table(archive):
    """Issue 17: the service-level, resolution and arrival tables over the same sources and data end build
    the complaints' clocks once per connection; other sources, another data end or DataFrames rebuild it."""
    from qa_helpers.measures import service_levels as sl

    ctx = open_context("ALL", "2025-Q3", archive)
    sources, con, std = ctx.sources(), ctx.duckdb, ctx.standards.raw
    end = service.data_end(ctx)
    fresh = sl.arrival_effect(sources, std, connection=con, as_of=end)
    # as_of does not change the arrival figures, only which clocks table they share
    pd.testing.assert_frame_equal(fresh, sl.arrival_effect(sources, std, connection=duckdb_connection()))
    levels = sl.service_level_table(sources, std, connection=con, as_of=end)
    assert levels["n"].sum() > 0
    con.sql("DELETE FROM svc_clocks")  # reused from here on: the next tables over the same inputs read no complaint
    assert sl.resolution_table(sources, std, connection=con, as_of=end)["n"].sum() == 0
    assert sl.arrival_effect(sources, std, connection=con, as_of=end)["n"].sum() == 0
    # another data end, other sources or a DataFrame: made afresh
    assert sl.resolution_table(sources, std, connection=con, as_of=end + pd.Timedelta("1s"))["n"].sum() > 0
    con.sql("DELETE FROM svc_clocks")
    other = ctx.sources(ctx.period.previous())
    assert sl.arrival_effect(other, std, connection=con, as_of=end)["n"].sum() > 0
    con.sql("DELETE FROM svc_clocks")
    rows = ctx.tables()
    pd.testing.assert_frame_equal(sl.arrival_effect(rows, std, connection=con, as_of=end), fresh)
    con.sql("DELETE FROM svc_clocks")
    pd.testing.assert_frame_equal(sl.arrival_effect(rows, std, connection=con, as_of=end), fresh)
    # a table the caller named may change under its name: never reused
    con.execute(f"CREATE TEMP TABLE my_complaints AS SELECT * FROM {sources['complaints']}")
    named = {**sources, "complaints": "my_complaints"}
    assert sl.arrival_effect(named, std, connection=con, as_of=end)["n"].sum() > 0
    con.execute("DELETE FROM my_complaints")
    assert sl.arrival_effect(named, std, connection=con, as_of=end)["n"].sum() == 0


def duckdb_connection():
    import duckdb

    return duckdb.connect()


def test_a_context_computes_only_the_kpis_it_has_not_kept(archive, asked_kpis):
    # notebook 04: the scorecard's KPIs, then the benchmarked ones (csat kept, aht_s not): aht_s alone is computed
    computed, real = asked_kpis, fresh_kpi_table
    ctx = open_context("ALL", "2025-Q4", archive)
    fresh = real(ctx.sources(), standards=ctx.standards.raw, available=ctx.available, connection=ctx.duckdb)
    first = ctx.kpi_table(kpis=["fcr", "csat", "complaints_per_1000"])
    both = ctx.kpi_table(kpis=["aht_s", "csat", "complaints_per_1000", "median_first_response_s"])
    assert computed == [["fcr", "csat", "complaints_per_1000"], ["aht_s", "median_first_response_s"]]
    for table in (first, both):
        pd.testing.assert_frame_equal(table, fresh.set_index("kpi").loc[table["kpi"]].reset_index())
    both.loc[0, "value"] = -1.0  # the caller's copy
    pd.testing.assert_frame_equal(ctx.kpi_table(kpis=["median_first_response_s", "fcr"]),
                                  fresh.set_index("kpi").loc[["median_first_response_s", "fcr"]].reset_index())
    assert ctx.kpi_table(kpis=["aht_s"])["value"].iloc[0] == fresh.set_index("kpi").loc["aht_s", "value"]
    assert len(computed) == 2  # both cut from the kept rows
    ctx.kpi_table(by=["channel"], kpis=["fcr"])  # a breakdown's groups depend on its KPIs' tables: computed
    assert computed[2:] == [["fcr"]]


def test_a_scorecard_computes_only_the_kpis_it_scores(archive, monkeypatch):
    from qa_helpers.measures import kpis, scorecard

    ctx = open_context("HL-B", "2025-Q4", archive)
    whole = ctx.kpi_table()
    expected = scorecard.scorecard(whole, ctx.standards, ctx.unit, scorecard.panel_means(ctx.panel_scores(), ctx.unit,
                                                                                         str(ctx.period)),
                                   measurability=ctx.measurability,
                                   remarks=scorecard.indicator_remarks(ctx.standards, ctx.unit, str(ctx.period),
                                                                       ctx.actions()))
    fresh = open_context("HL-B", "2025-Q4", archive)
    asked = []
    real = kpis.kpi_table
    monkeypatch.setattr(kpis, "kpi_table", lambda tables, **kw: asked.append(kw["kpis"]) or real(tables, **kw))
    pd.testing.assert_frame_equal(fresh.scorecard(), expected)
    scored = scorecard.scorecard_kpis(ctx.standards)
    assert asked == [scored] and set(scored) == set(expected.loc[expected["kind"] == "kpi", "indicator"])
    assert "median_first_response_s" not in scored and "workload_per_agent" not in scored


def test_every_team_card_computes_only_the_kpis_it_scores(archive, monkeypatch):
    from qa_helpers.improve import governance
    from qa_helpers.improve.actions import for_teams
    from qa_helpers.measures import kpis, scorecard

    ctx = open_context("hotline", "2025-Q4", archive)
    every = ctx.kpi_table(by=["team"])  # every KPI by team: what the cards were scored from before
    asked = []
    real = kpis.kpi_table
    monkeypatch.setattr(kpis, "kpi_table", lambda tables, **kw: asked.append((kw["by"], kw["kpis"])) or real(tables, **kw))
    cards = governance.unit_cards(open_context("hotline", "2025-Q4", archive))
    assert asked == [(["team"], scorecard.scorecard_kpis(ctx.standards))]
    for team, card in cards.items():
        mine = every.loc[every["team"] == team, ["kpi", "value", "n"]].reset_index(drop=True)
        remarks = scorecard.indicator_remarks(ctx.standards, team, str(ctx.period),
                                              for_teams(ctx.actions(every_unit=True), [team]))
        pd.testing.assert_frame_equal(card, scorecard.scorecard(
            mine, ctx.standards, team, scorecard.panel_means(ctx.panel_scores(), team, str(ctx.period)),
            measurability=ctx.measurability, remarks=remarks))
