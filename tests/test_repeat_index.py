"""The archive's repeat-contact index (issue 17): written by ingest, append and purge, it gives the repeat
contacts the in-place join gives, and a report for ALL counts from it only while it is current."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qa_helpers.data import archive as qa_archive
from qa_helpers.data import repeat_index
from qa_helpers.data.governance import purge
from qa_helpers.data.repeat_index import IndexRows
from qa_helpers.measures import service_levels as sl
from qa_helpers.measures.standards import load_standards

STD = load_standards().raw


def _indexed(tickets: pd.DataFrame, folder: Path, since: pd.Timestamp) -> IndexRows:
    """The index of ``tickets`` built in ``folder`` (as ingest builds it from its rows in memory), as the
    rows created from ``since`` on."""
    repeat_index.build(folder, tickets=pa.Table.from_pandas(tickets, preserve_index=False))
    files = f"{folder}/{repeat_index.INDEX}/*/*.parquet"
    return IndexRows(f"(SELECT * FROM read_parquet('{files}') WHERE created_at >= TIMESTAMP '{since}')",
                     repeat_index.HORIZON_DAYS)


def _edge_cases(seed: int = 17) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """A month of tickets and the ten days before it, on few customers and whole hours: ties in time,
    resolutions exactly 7 days before a creation or at the creation itself, null customers and null
    resolutions all occur. Each id once, as in an archive (ingest quarantines a duplicate id)."""
    rng = np.random.default_rng(seed)
    start, n, n_past = pd.Timestamp("2025-10-01"), 400, 120
    created = start + pd.to_timedelta(rng.integers(0, 24 * 30, n), unit="h")
    lag = pd.to_timedelta(rng.choice([0, 1, 24, 72, 168], n), unit="h")
    tickets = pd.DataFrame({"ticket_id": [f"t{k}" for k in range(n)],
                            "customer_id": pd.Series(rng.choice(list("ABCDEF"), n)).where(rng.random(n) > 0.1),
                            "created_at": created,
                            "resolved_at": pd.Series(created + lag).where(rng.random(n) > 0.2)})
    past_created = start - pd.to_timedelta(rng.integers(1, 24 * 10, n_past), unit="h")
    past = pd.DataFrame({"ticket_id": [f"p{k}" for k in range(n_past)],
                         "customer_id": rng.choice(list("ABCG"), n_past), "created_at": past_created,
                         "resolved_at": past_created + pd.to_timedelta(rng.choice([0, 5, 48, 240], n_past), unit="h")})
    return tickets, past, start


@pytest.mark.parametrize("seed", [17, 18, 19])
def test_index_counts_the_repeat_contacts_the_join_finds(seed, tmp_path):
    tickets, past, start = _edge_cases(seed)
    joined = sl.repeat_rates({"tickets": tickets}, STD, history={"tickets": past}).set_index("measure")
    index = _indexed(pd.concat([past, tickets]), tmp_path, start)
    counted = sl.repeat_rates({"tickets": tickets}, STD, contact_index=index).set_index("measure")
    assert counted.loc["repeat_contact"].tolist() == joined.loc["repeat_contact"].tolist()
    assert 0 < joined.loc["repeat_contact", "repeats"] < joined.loc["repeat_contact", "n"]
    for days in (1, 3, 30):  # any window within the horizon
        std = {**STD, "service_levels": {**STD["service_levels"], "repeat_contact": {"days": days, "target": 0.15}}}
        assert (sl.repeat_rates({"tickets": tickets}, std, contact_index=index).set_index("measure")
                .loc["repeat_contact"].tolist()
                == sl.repeat_rates({"tickets": tickets}, std, history={"tickets": past}).set_index("measure")
                .loc["repeat_contact"].tolist())


def test_a_window_beyond_the_horizon_is_joined_in_place(tmp_path, monkeypatch):
    tickets, past, start = _edge_cases()
    index = _indexed(pd.concat([past, tickets]), tmp_path, start)
    std = {**STD, "service_levels": {**STD["service_levels"], "repeat_contact": {"days": 40, "target": 0.15}}}
    used = []
    monkeypatch.setattr(sl, "_indexed_contacts", lambda *args: used.append(args))
    got = sl.repeat_rates({"tickets": tickets}, std, history={"tickets": past}, contact_index=index)
    assert not used
    pd.testing.assert_frame_equal(got, sl.repeat_rates({"tickets": tickets}, std, history={"tickets": past}))


def test_the_index_looks_back_past_the_previous_period(tmp_path):
    """A customer's ticket opened in August and resolved the day before their next, in October: given only
    September to look back into, the join misses it; the index finds it (a report's look-back adds such
    earlier tickets, :func:`qa_helpers.report.service._history`)."""
    tickets = pd.DataFrame({"ticket_id": ["old", "new"], "customer_id": ["A", "A"],
                            "created_at": pd.to_datetime(["2025-08-20", "2025-10-05"]),
                            "resolved_at": pd.to_datetime(["2025-10-04", "2025-10-06"])})
    october = tickets.iloc[1:]
    joined = sl.repeat_rates({"tickets": october}, STD, history={"tickets": tickets.iloc[:0]}).set_index("measure")
    index = _indexed(tickets, tmp_path, pd.Timestamp("2025-10-01"))
    counted = sl.repeat_rates({"tickets": october}, STD, contact_index=index).set_index("measure")
    assert joined.loc["repeat_contact", "repeats"] == 0 and counted.loc["repeat_contact", "repeats"] == 1


@pytest.mark.parametrize("unit, period", [("ALL", "2025"), ("ALL", "2025-Q3"), ("ALL", "2025-W23"),
                                          ("ALL", "2025-03"), ("HL-A", "2025")])
def test_a_report_for_all_counts_from_the_index_what_the_join_gives(archive, unit, period, monkeypatch):
    from qa_helpers.report import service
    from qa_helpers.report.context import open_context

    ctx = open_context(unit, period, archive, "en", "", config="")
    tables = ctx.sources()
    index = service._contact_index(ctx, tables)
    assert (index is not None) == (unit == "ALL")  # a team's repeat contacts are its own tickets': joined
    used = []
    real = sl._indexed_contacts
    monkeypatch.setattr(sl, "_indexed_contacts", lambda *args: used.append(1) or real(*args))
    got = service._repeat_rates(ctx, tables, ctx.duckdb)
    assert len(used) == (unit == "ALL")
    history = service._history(ctx)  # the period before, and earlier tickets resolved within the horizon
    expected = sl.repeat_rates(tables, ctx.standards.raw, connection=ctx.duckdb, history=history)
    pd.testing.assert_frame_equal(got, expected)
    assert got.set_index("measure").loc["repeat_contact", "repeats"] > 0


def _copy(archive: Path, target: Path) -> Path:
    generation = qa_archive.generation_folder(target, 1)
    shutil.copytree(qa_archive.archive_path(archive), generation)
    target.symlink_to(generation.name)
    return target


def _rows(folder: Path) -> pd.DataFrame:
    files = sorted((folder / repeat_index.INDEX).glob("month=*/*.parquet"))
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def test_ingest_records_a_current_index_and_a_changed_ticket_file_retires_it(archive, tmp_path):
    report = qa_archive.ingest_report(archive)
    assert repeat_index.current(report) and report["repeat_index"]["horizon_days"] == repeat_index.HORIZON_DAYS
    index = _rows(qa_archive.archive_path(archive))
    assert list(index.columns) == ["created_at", "gap_s"] and len(index) > 0  # no id, no customer, no team
    assert (index["gap_s"] >= 0).all() and (index["gap_s"] <= repeat_index.HORIZON_DAYS * 86400).all()
    period = qa_archive.parse_period("2025")
    assert repeat_index.index_source(qa_archive.archive_path(archive), report, period) is not None
    stale = json.loads(json.dumps(report))
    stale["sha256"]["tickets/month=2025-03/part-0.parquet"] = "00" * 32  # rewritten by hand, a purge, ...
    assert repeat_index.index_source(qa_archive.archive_path(archive), stale, period) is None


def test_a_purge_of_ticket_months_builds_the_index_again_without_them(archive, tmp_path):
    copy = _copy(archive, tmp_path / "archive")
    purge(copy, as_of="2028-03-01", approve="retention board minute 9")  # January and February are due
    report = qa_archive.ingest_report(copy)
    assert repeat_index.current(report)
    index = _rows(qa_archive.archive_path(copy))
    assert index["created_at"].min() >= pd.Timestamp("2025-03-01")
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(qa_archive.archive_path(copy) / "tickets", rebuilt / "tickets")
    repeat_index.build(rebuilt)
    pd.testing.assert_frame_equal(index, _rows(rebuilt))


def _brute_force_gaps(tickets: pd.DataFrame) -> list[tuple]:
    """Each ticket's seconds since the latest resolution of another ticket of its customer within the
    horizon before its creation, by comparing every pair."""
    horizon = pd.Timedelta(days=repeat_index.HORIZON_DAYS)
    rows = []
    for i, m in tickets.iterrows():
        if pd.isna(m.customer_id):
            continue
        others = tickets[(tickets.index != i) & (tickets.customer_id == m.customer_id) & tickets.resolved_at.notna()
                         & (tickets.resolved_at <= m.created_at) & (tickets.resolved_at >= m.created_at - horizon)]
        if len(others):
            rows.append((m.created_at, (m.created_at - others.resolved_at.max()).total_seconds()))
    return sorted(rows)


@pytest.mark.parametrize("seed", [3, 4])
def test_index_rows_equal_every_pair_compared_across_its_time_buckets(seed, tmp_path):
    """Gaps of exactly the horizon, one hour over it, and creations on the edges of the join's periods."""
    rng = np.random.default_rng(seed)
    n, bucket = 300, pd.Timedelta(days=repeat_index.BUCKET_DAYS)
    edges = pd.Timestamp("1970-01-01") + bucket * rng.integers(1260, 1270, n)  # epoch multiples of the period
    created = pd.Series(pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 24 * 150, n), unit="h"))
    created = created.where(rng.random(n) > 0.3, pd.Series(edges))
    lag = pd.to_timedelta(rng.choice([0, 1, 24 * 15, 24 * 16, 24 * 30, 24 * 31, 24 * 31 + 1, 24 * 32], n), unit="h")
    tickets = pd.DataFrame({"ticket_id": [f"t{k}" for k in range(n)],
                            "customer_id": pd.Series(rng.choice(list("ABCDE"), n)).where(rng.random(n) > 0.05),
                            "created_at": created, "resolved_at": (created + lag).where(rng.random(n) > 0.1)})
    repeat_index.build(tmp_path, tickets=pa.Table.from_pandas(tickets, preserve_index=False))
    built = pq.read_table(tmp_path / repeat_index.INDEX).to_pandas()
    got = sorted(zip(built.created_at, built.gap_s))
    assert got == _brute_force_gaps(tickets) and len(got) > 100
    # as an append rebuilds it: the months from one on, from the files, earlier tickets only looked back at
    month = "2025-05"
    (tmp_path / "tickets" / "month=all").mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(tickets, preserve_index=False), tmp_path / "tickets" / "month=all" / "part-0.parquet")
    shutil.rmtree(tmp_path / repeat_index.INDEX)
    repeat_index.build(tmp_path, since=month)
    rebuilt = pq.read_table(tmp_path / repeat_index.INDEX).to_pandas()
    assert sorted(zip(rebuilt.created_at, rebuilt.gap_s)) == [r for r in got if r[0] >= pd.Timestamp(f"{month}-01")]
