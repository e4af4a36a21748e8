"""Periods and the loading API notebooks use."""

from __future__ import annotations

import pandas as pd
import pytest

from qa_helpers.data import archive as qa_archive
from qa_helpers.errors import ArchiveError, PeriodError, UnitError
from qa_helpers.periods import parse_period


@pytest.mark.parametrize("label, start, end", [
    ("2025", "2025-01-01", "2026-01-01"),
    ("2025-Q1", "2025-01-01", "2025-04-01"),
    ("2025-Q4", "2025-10-01", "2026-01-01"),
    ("2025-03", "2025-03-01", "2025-04-01"),
    ("2025-W10", "2025-03-03", "2025-03-10"),   # ISO week 10 of 2025 starts Monday 3 March
    ("2025-W01", "2024-12-30", "2025-01-06"),   # ISO week 1 can start in the previous year
])
def test_period_bounds(label, start, end):
    period = parse_period(label)
    assert (period.start, period.end) == (pd.Timestamp(start), pd.Timestamp(end))


@pytest.mark.parametrize("bad", ["2025-Q5", "2025-13", "2025-W54", "25-Q1", "Q1-2025", "2025/03", "", "../2025",
                                 "2025-W53"])
def test_bad_periods_get_a_message_with_the_accepted_forms(bad):
    with pytest.raises(PeriodError) as err:
        parse_period(bad)
    assert "2025-Q1" in str(err.value) or "ISO week" in str(err.value)


def test_previous_period():
    assert parse_period("2025-Q1").previous().label == "2024-Q4"
    assert parse_period("2025-01").previous().label == "2024-12"
    assert parse_period("2025-W01").previous().label == "2024-W52"
    assert parse_period("2025").previous().label == "2024"
    assert parse_period("2025-03").months == ["2025-03"]
    assert parse_period("2025-W01").months == ["2024-12", "2025-01"]


def test_next_period():
    assert parse_period("2025-Q4").next().label == "2026-Q1"
    assert parse_period("2025-12").next().label == "2026-01"
    assert parse_period("2026-W53").next().label == "2027-W01"   # 2026 has 53 ISO weeks
    assert parse_period("2025-W52").next().label == "2026-W01"
    assert parse_period("2025").next().label == "2026"


@pytest.mark.parametrize("bad", ["２０２５", "٢٠٢٥-Q1", "۲۰۲۵-03", "2025-W１０", "0000", "9999-Q4", "1899", "2200-01"])
def test_periods_are_ascii_digits_within_pandas_calendar(bad):
    with pytest.raises(PeriodError, match="ASCII digits|between 1900 and 2199"):
        parse_period(bad)


def test_load_filters_team_and_period(archive):
    everything = qa_archive.load("tickets", archive=archive)
    subset = qa_archive.load("tickets", "HL-A", "2025-Q2", archive=archive)
    expected = everything[(everything["team"] == "HL-A") & (everything["created_at"] >= "2025-04-01")
                          & (everything["created_at"] < "2025-07-01")]
    assert len(subset) == len(expected) > 0
    assert set(subset["ticket_id"]) == set(expected["ticket_id"])


def test_week_period_crossing_months(archive):
    week = qa_archive.load("tickets", "ALL", "2025-W14", archive=archive)  # 31 March - 6 April
    assert week["created_at"].min() >= pd.Timestamp("2025-03-31")
    assert week["created_at"].max() < pd.Timestamp("2025-04-07")
    assert week["created_at"].dt.month.nunique() == 2


def test_department_is_the_rollup_of_its_teams(archive):
    units = qa_archive.units(archive)
    hotline = units.set_index("unit").loc["hotline", "teams"]
    rollup = qa_archive.load("tickets", "hotline", "2025-Q1", archive=archive)
    parts = sum(len(qa_archive.load("tickets", t, "2025-Q1", archive=archive)) for t in hotline)
    assert len(rollup) == parts
    assert set(units["kind"]) == {"team", "department", "all"}


def test_all_keeps_rows_without_a_team(archive):
    surveys = qa_archive.load("surveys", "ALL", archive=archive)
    assert surveys["team"].isna().any()  # unlinked online reviews
    by_team = sum(len(qa_archive.load("surveys", t, archive=archive))
                  for t in qa_archive.units(archive).query("kind == 'team'")["unit"])
    assert by_team == surveys["team"].notna().sum()


@pytest.mark.parametrize("unit", ["../etc", "/abs", "HL A", "nope", "HL-A/../x"])
def test_unknown_or_unsafe_unit(archive, unit):
    with pytest.raises(UnitError) as err:
        qa_archive.load("tickets", unit, archive=archive)
    if unit == "nope":
        assert "HL-A" in str(err.value) and "ALL" in str(err.value)


def test_missing_archive_says_how_to_make_one(tmp_path):
    with pytest.raises(ArchiveError, match="qakit ingest"):
        qa_archive.load("tickets", archive=tmp_path / "nothing")


def test_unknown_table(archive):
    with pytest.raises(ArchiveError, match="tables are"):
        qa_archive.load("ticket", archive=archive)


def test_columns_argument_reads_only_those(archive):
    frame = qa_archive.load("tickets", "HL-B", "2025-03", archive=archive, columns=["ticket_id", "team"])
    assert list(frame.columns) == ["ticket_id", "team"]
    assert (frame["team"] == "HL-B").all()


@pytest.mark.parametrize("label", ["2025", "2025-Q2", "2025-03", "2025-W10", "2025-W14"])
@pytest.mark.parametrize("team", ["ALL", "HL-A"])
def test_a_scan_of_whole_months_reads_the_files_without_testing_each_rows_time(archive, label, team):
    import duckdb

    period = parse_period(label)
    con = duckdb.connect()
    for table, time in qa_archive.TIME_COLUMNS.items():
        sql = qa_archive.scan_sql(table, team, label, archive=archive)
        rows = qa_archive.load(table, team, label, archive=archive)
        assert con.sql(f"SELECT count(*) FROM {sql}").fetchall()[0][0] == len(rows)
        # the month files hold exactly their months' rows, which is what lets the time test go
        bounds = con.sql(f"SELECT min({time}), max({time}) FROM {sql}").fetchall()[0]
        assert bounds[0] is None or (period.start <= pd.Timestamp(bounds[0]) and pd.Timestamp(bounds[1]) < period.end)
        assert (f'"{time}" >=' in sql) is (label.startswith("2025-W"))


def test_a_scans_columns_are_read_once_and_any_other_sources_every_time(archive, monkeypatch):
    """An archive scan's files never change once current: its columns are read from them once per process."""
    import duckdb

    from qa_helpers.data import archive as qa_archive

    class Counting:
        def __init__(self):
            self.connection, self.asked = duckdb.connect(), 0

        def sql(self, text):
            self.asked += 1
            return self.connection.sql(text)

    con = Counting()
    monkeypatch.setattr(qa_archive, "_SCAN_COLUMNS", {})  # as in a new process
    scan = qa_archive.scan_sql("surveys", "ALL", "2025-Q2", archive=archive, columns=["csat", "channel"])
    assert qa_archive.source_columns(con, scan) == ["csat", "channel"] == qa_archive.source_columns(con, scan)
    assert con.asked == 1
    con.connection.execute("CREATE TABLE hand_made AS SELECT 1 AS a")
    assert qa_archive.source_columns(con, "hand_made") == ["a"]
    con.connection.execute("ALTER TABLE hand_made ADD COLUMN b INTEGER")
    assert qa_archive.source_columns(con, "hand_made") == ["a", "b"] and con.asked == 3
