"""Data-quality figures on tiny hand-built tables."""

from __future__ import annotations

import math

import pandas as pd

from qa_helpers.measures import quality

REPORT = {"sources": {
    "tickets": {"files": [{"name": "t.csv", "rows": 10, "sha256": "ab" * 32}], "raw": 10, "archived": 7,
                "quarantined": 3, "by_rule": {"duplicate_row": 2, "test_ticket": 1}, "warnings": []},
    "surveys": {"files": [{"name": "s.xlsx", "rows": 0, "sha256": "cd" * 32}], "raw": 0, "archived": 0,
                "quarantined": 0, "by_rule": {}, "warnings": ["s.xlsx: header only"]},
}}


def test_row_accounting():
    table = quality.row_accounting(REPORT).set_index("source")
    assert table.loc["tickets", "quarantined_share"] == 0.3
    assert math.isnan(table.loc["surveys", "quarantined_share"])  # 0 rows: no share, not 0 %
    assert table["balanced"].all()


def test_quarantine_reasons_and_notes():
    reasons = quality.quarantine_reasons(REPORT)
    assert reasons.to_dict("records") == [{"source": "tickets", "rule": "duplicate_row", "rows": 2},
                                          {"source": "tickets", "rule": "test_ticket", "rows": 1}]
    assert quality.ingest_notes(REPORT)["note"].tolist() == ["s.xlsx: header only"]


TICKETS = pd.DataFrame({
    "ticket_id": ["T1", "T2", "T3", "T4"],
    "channel": ["phone", "phone", "chat", "email"],
    "created_at": pd.to_datetime(["2025-03-03 09:00", "2025-03-04 10:00", "2025-03-11 11:00", "2025-03-12 12:00"]),
})
SURVEYS = pd.DataFrame({
    "ticket_id": ["T1", "T1", "T3", None, "T9"],
    "source": ["survey", "survey", "review", "review", "survey"],
})


def test_survey_response_counts_tickets_once_and_ignores_reviews():
    overall = quality.survey_response(TICKETS, SURVEYS).iloc[0]
    assert (overall["tickets"], overall["surveyed"], overall["response_rate"]) == (4, 1, 0.25)
    by = quality.survey_response(TICKETS, SURVEYS, by="channel").set_index("channel")
    assert by.loc["phone", "response_rate"] == 0.5 and by.loc["chat", "surveyed"] == 0


def test_linkage_rate_over_rows_that_name_a_ticket():
    row = quality.linkage(SURVEYS, TICKETS["ticket_id"], "surveys").iloc[0]
    assert (row["rows"], row["with_ticket_id"], row["linked"]) == (5, 4, 3)
    assert row["linkage_rate"] == 0.75


def test_empty_group_gives_nan_not_zero():
    row = quality.survey_response(TICKETS.iloc[:0], SURVEYS).iloc[0]
    assert row["tickets"] == 0 and math.isnan(row["response_rate"])


def test_missingness_and_duplicates():
    frame = pd.DataFrame({"a": [1, None, 3], "b": ["x", "y", "x"]})
    miss = quality.missingness(frame, "t").set_index("column")
    assert miss.loc["a", "missing"] == 1 and miss.loc["b", "missing"] == 0
    assert quality.duplicate_keys(frame, "b", "t")["rows_with_repeated_key"].iloc[0] == 2


def test_channel_coverage_fills_zero_weeks():
    cover = quality.channel_coverage(TICKETS)
    assert len(cover) == 2 * 3  # two ISO weeks x three channels
    week2_phone = cover[(cover["week"] == pd.Timestamp("2025-03-10")) & (cover["channel"] == "phone")]
    assert week2_phone["tickets"].iloc[0] == 0
    assert cover["tickets"].sum() == 4


# ---------------------------------------------------------------- absent tables and fields

def test_availability_table_lists_absent_tables_and_fields():
    available = {"tickets": {"ticket_id", "created_at", "channel", "status"}, "surveys": set()}
    out = quality.availability_table(available, ["tickets", "surveys"]).set_index("table")
    assert out.loc["tickets", "present"] and not out.loc["surveys", "present"]
    assert out.loc["tickets", "fields"] == 3 and out.loc["tickets", "extra"] == "status"
    assert "first_contact_resolved" in out.loc["tickets", "absent_fields"].split(", ")
    assert out.loc["surveys", "fields"] == 0
    assert quality.availability_table(available)["table"].tolist()[:2] == ["agents", "tickets"]


def test_missingness_reports_absent_fields_as_absent_not_as_empty():
    frame = pd.DataFrame({"ticket_id": ["T1", "T2"], "handle_s": [None, None], "remark": [None, "x"]})
    miss = quality.missingness(frame, "tickets", present={"ticket_id", "remark"}).set_index("column")
    assert miss.loc["handle_s", "status"] == "absent"
    assert pd.isna(miss.loc["handle_s", "missing"]) and math.isnan(miss.loc["handle_s", "missing_share"])
    assert miss.loc["remark", "status"] == "present" and miss.loc["remark", "missing_share"] == 0.5
    assert miss.loc["ticket_id", "missing"] == 0
    shown = miss[miss["missing"] > 0]                 # what the plot keeps: present columns with empties
    assert shown.index.tolist() == ["remark"]
    empty = quality.missingness(frame.iloc[:0], "tickets", present=set())
    assert (empty["status"] == "absent").all() and empty["missing_share"].isna().all()


def test_survey_response_without_surveys_is_not_measured():
    no_surveys = SURVEYS.iloc[:0]
    row = quality.survey_response(TICKETS, no_surveys).iloc[0]
    assert row["status"] == "not measured" and math.isnan(row["response_rate"]) and row["note"] == "no survey answers"
    by = quality.survey_response(TICKETS, no_surveys, by="channel")
    assert (by["status"] == "not measured").all() and by["response_rate"].isna().all()
    absent = quality.survey_response(TICKETS, no_surveys, available={"tickets": {"ticket_id"}, "surveys": set()})
    assert absent["note"].iloc[0] == "no surveys table in the archive"
    measured = quality.survey_response(TICKETS, SURVEYS).iloc[0]
    assert measured["status"] == "measured" and measured["note"] == ""


def test_linkage_on_an_empty_or_absent_table():
    empty = SURVEYS.iloc[:0]
    row = quality.linkage(empty, TICKETS["ticket_id"], "complaints").iloc[0]
    assert (row["rows"], row["with_ticket_id"], row["linked"]) == (0, 0, 0)
    assert math.isnan(row["linkage_rate"]) and row["status"] == "not measured" and row["note"] == "no rows"
    absent = quality.linkage(pd.DataFrame(), TICKETS["ticket_id"], "complaints", present=set()).iloc[0]
    assert absent["note"] == "no complaints table in the archive" and absent["rows"] == 0
    unlinked = quality.linkage(pd.DataFrame({"survey_id": ["s1"], "ticket_id": [None]}), TICKETS["ticket_id"],
                               "surveys", present={"survey_id"}).iloc[0]
    assert unlinked["note"] == "the surveys have no ticket_id field" and math.isnan(unlinked["linkage_rate"])


def test_empty_tables_and_absent_channels_do_not_crash():
    assert quality.duplicate_keys(TICKETS.iloc[:0], "ticket_id", "tickets")["rows_with_repeated_key"].iloc[0] == 0
    assert quality.channel_coverage(TICKETS.iloc[:0]).empty
    no_channel = TICKETS.assign(channel=None)
    cover = quality.channel_coverage(no_channel)
    assert cover["tickets"].sum() == 4 and set(cover["channel"]) == {"(missing)"}
    assert quality.missingness(TICKETS.iloc[:0], "tickets")["missing_share"].isna().all()


# ---------------------------------------------------------------- at scale: counted in DuckDB (issue 17)

import pytest  # noqa: E402


def _pandas_missingness(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The reference: empty values per column counted by pandas on loaded rows."""
    n = len(frame)
    return pd.DataFrame({"column": list(frame.columns), "n": n, "missing": frame.isna().sum().to_numpy()})


@pytest.mark.parametrize("unit,period", [("ALL", "2025"), ("ALL", "2025-Q1"), ("HL-A", "2025-Q1"), ("ALL", "2025-W10")])
def test_sources_give_the_pandas_figures_without_loading_rows(archive, unit, period):
    """The data-quality figures from DuckDB sources (and, for ALL over whole months, from the parquet
    footers) equal those pandas computes on the unit's loaded rows."""
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.report import sections
    from qa_helpers.report.context import open_context

    ctx = open_context(unit, period, archive)
    checked = 0
    for name in ("tickets", "surveys", "complaints", "field_visits", "qa_reviews"):
        rows, source = ctx.load(name), ctx.source(name)
        assert quality.row_count(source, ctx.duckdb) == len(rows)
        expected = _pandas_missingness(rows, name)
        got = sections._missingness(ctx, name, source, [])
        assert got["column"].tolist() == expected["column"].tolist()
        assert got["missing"].astype(int).tolist() == expected["missing"].tolist() and (got["n"] == len(rows)).all()
        files = sections._whole_files(ctx, name, source)
        assert (files is not None) == (unit == "ALL" and period != "2025-W10")
        if files:
            assert quality.row_count(source, ctx.duckdb, files=files) == len(rows)
        key = sections.KEYS[name]
        assert quality.duplicate_keys(source, key, name, connection=ctx.duckdb).equals(
            quality.duplicate_keys(rows, key, name))
        checked += int(rows.isna().any().any())
    assert checked  # some table has empty values to count
    tickets, surveys = ctx.load("tickets"), ctx.load("surveys")
    answered = set(surveys.loc[surveys["source"] == "survey", "ticket_id"].dropna())
    by_channel = sections._survey_response(ctx, ctx.sources(), by="channel").set_index("channel")
    expected = tickets.assign(hit=tickets["ticket_id"].isin(answered)).groupby("channel")["hit"].agg(["size", "sum"])
    assert by_channel["tickets"].to_dict() == expected["size"].to_dict()
    assert by_channel["surveyed"].to_dict() == expected["sum"].astype(int).to_dict()
    overall = sections._survey_response(ctx, ctx.sources()).iloc[0]
    assert (overall["tickets"], overall["surveyed"]) == (len(tickets), int(tickets["ticket_id"].isin(answered).sum()))
    every_id = qa_archive.load("tickets", archive=ctx.archive, columns=["ticket_id"])["ticket_id"]
    rows = {name: qa_archive.scan_sql(name, "ALL", ctx.period, archive=ctx.archive)
            for name in ("surveys", "complaints", "field_visits")}
    known = quality.known_tickets(rows, qa_archive.scan_sql("tickets", archive=ctx.archive, columns=["ticket_id"]),
                                  connection=ctx.duckdb)
    for name, source in rows.items():
        got = quality.linkage(source, known, name, connection=ctx.duckdb)
        assert got.equals(quality.linkage(qa_archive.load(name, "ALL", ctx.period, archive=ctx.archive), every_id, name))
    cover = quality.channel_coverage(ctx.source("tickets"), connection=ctx.duckdb)
    reference = quality.channel_coverage(tickets)
    assert cover["tickets"].tolist() == reference["tickets"].tolist() and cover["channel"].tolist() == reference["channel"].tolist()
    assert (pd.to_datetime(cover["week"]) == pd.to_datetime(reference["week"])).all()


class _Counting:
    """A DuckDB connection that remembers the statements it ran."""

    def __init__(self, connection):
        self.connection, self.statements = connection, []

    def sql(self, query, *args, **kwargs):
        self.statements.append(query)
        return self.connection.sql(query, *args, **kwargs)

    def execute(self, query, *args, **kwargs):
        self.statements.append(query)
        return self.connection.execute(query, *args, **kwargs)

    def register(self, *args):
        return self.connection.register(*args)


def test_known_tickets_links_every_table_in_one_pass_and_stands_for_every_id():
    import duckdb

    con = _Counting(duckdb.connect())
    con.execute("CREATE TABLE ids AS SELECT * FROM (VALUES ('t1'), ('t2'), ('t3'), ('t4')) v(ticket_id)")
    con.execute("CREATE TABLE s AS SELECT * FROM (VALUES ('t1'), ('t1'), ('x'), (NULL), ('')) v(ticket_id)")
    con.execute("CREATE TABLE c AS SELECT * FROM (VALUES ('t2'), ('y')) v(ticket_id)")
    con.execute("CREATE TABLE v AS SELECT * FROM (VALUES ('t3'), ('t4'), ('t4')) v(ticket_id)")
    tables = {"surveys": "(SELECT * FROM s)", "complaints": "(SELECT * FROM c)"}
    known = quality.known_tickets(tables, "(SELECT * FROM ids)", connection=con)
    counted = len(con.statements)
    got = [quality.linkage(source, known, name, connection=con).iloc[0] for name, source in tables.items()]
    assert [(g["rows"], g["with_ticket_id"], g["linked"]) for g in got] == [(5, 3, 2), (2, 2, 1)]
    # the tables counted in known_tickets' pass are not read again (only their columns are looked up)
    assert all("LIMIT 0" in statement for statement in con.statements[counted:])
    # a table known_tickets did not see is linked against every id, not only the ids the others name
    other = quality.linkage("(SELECT * FROM v)", known, "field_visits", connection=con).iloc[0]
    assert (other["rows"], other["with_ticket_id"], other["linked"]) == (3, 3, 3)


def test_duplicate_keys_from_sorted_hashes_equal_the_exact_count_on_planted_repeats():
    """The numpy pass over the key hashes gives pandas' count: no repeat (0), repeats among empty
    strings and NULL keys (NULLs never repeat), and a table without rows."""
    import duckdb

    con = duckdb.connect()
    cases = {"unique": ["a", "b", None, ""], "repeats": ["a", "b", "a", None, None, "", "", "c", "a"],
             "empty": []}
    for name, keys in cases.items():
        frame = pd.DataFrame({"id": pd.Series(keys, dtype=object), "x": range(len(keys))})
        con.register("planted", frame)
        got = quality.duplicate_keys("(SELECT * FROM planted)", "id", name, connection=con)
        assert got.equals(quality.duplicate_keys(frame, "id", name)), name
    assert quality.duplicate_keys("(SELECT * FROM planted)", "id", connection=con)["n"].iloc[0] == 0


def test_weekly_survey_response_gives_the_response_by_channel_and_the_coverage_in_one_pass():
    import duckdb

    con = duckdb.connect()
    tickets = pd.concat([TICKETS, pd.DataFrame({"ticket_id": ["T5", "T6"], "channel": [None, "phone"],
                                                "created_at": pd.to_datetime(["2025-03-12", "2025-03-13"])})])
    surveys = pd.concat([SURVEYS, pd.DataFrame({"ticket_id": ["T5", "T6"], "source": ["survey", "survey"]})])
    con.register("t", tickets)
    con.register("s", surveys)
    weekly = quality.survey_response("(SELECT * FROM t)", "(SELECT * FROM s)", by="channel", connection=con,
                                     weekly="created_at")
    assert len(weekly) == 5 and weekly["week"].nunique() == 2  # phone and chat the first week; three the second
    by_channel = quality.survey_response(tickets, surveys, by="channel")
    assert quality.summed_response(weekly, "channel").equals(by_channel)
    assert by_channel.set_index("channel").loc["(missing)", "surveyed"] == 1
    from_counts = quality.coverage_from_counts(weekly[["week", "channel", "tickets"]])
    reference = quality.channel_coverage(tickets)
    assert from_counts["tickets"].tolist() == reference["tickets"].tolist()
    assert from_counts["channel"].tolist() == reference["channel"].tolist()
    assert (pd.to_datetime(from_counts["week"]) == pd.to_datetime(reference["week"])).all()


def test_whole_months_of_all_teams_are_read_as_their_files(archive):
    """For ALL over whole months a table's source tests no row (its month files are exactly its rows)
    and its rows are counted from the files' footers: the same counts and duplicate check as the rows;
    a team's rows or part of a month keep their filters."""
    from qa_helpers.report import sections
    from qa_helpers.report.context import open_context

    ctx = open_context("ALL", "2025-Q1", archive)
    for name in ("tickets", "surveys"):
        source = ctx.source(name)
        files = sections._whole_files(ctx, name, source)
        assert " WHERE " not in source and len(files) == 3
        assert quality.row_count(source, ctx.duckdb, files=files) == quality.row_count(source, ctx.duckdb) \
            == len(ctx.load(name))
        key = sections.KEYS[name]
        assert quality.duplicate_keys(source, key, name, connection=ctx.duckdb).equals(
            quality.duplicate_keys(ctx.load(name), key, name))
    team = open_context("HL-A", "2025-Q1", archive)
    assert sections._whole_files(team, "tickets", team.source("tickets")) is None and " WHERE team IN" in team.source("tickets")
    week = open_context("ALL", "2025-W10", archive)
    assert sections._whole_files(week, "tickets", week.source("tickets")) is None and "created_at" in week.source("tickets")


def test_linkage_is_kept_for_the_next_unit_of_a_batch_kernel(archive, monkeypatch):
    """Linkage covers every team's rows of the period: a kernel that keeps archive results computes it
    for the first unit and recalls it for the next one without a query."""
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.report import sections
    from qa_helpers.report.context import open_context

    monkeypatch.setattr(qa_archive._READS, "limit", 64 * 2**20)
    monkeypatch.setattr(qa_archive._READS, "frames", type(qa_archive._READS.frames)())
    names = ["surveys", "complaints", "field_visits"]
    first = sections._linkage(open_context("HL-A", "2025-Q1", archive), names)
    ctx = open_context("HL-B", "2025-Q1", archive)
    ctx.__dict__["duckdb"] = _Counting(ctx.duckdb)
    again = sections._linkage(ctx, names)
    assert again.equals(first) and ctx.duckdb.statements == []
    assert (first["linked"] > 0).all()
