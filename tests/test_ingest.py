"""Ingest on the generated sample: exact row accounting, mapping, cleaning, privacy, repeatability."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from qa_helpers.data import archive as qa_archive
from qa_helpers.data.ingest import archive_order, fingerprint, ingest
from qa_helpers.data.schemas import DEFAULT_VALUE_SETS
from qa_helpers.errors import SourceError

TEXT_TABLES = {"tickets": ["remark"], "surveys": ["comment"], "complaints": ["text"]}


def test_raw_equals_archived_plus_quarantined(report, archive):
    for table, entry in report["sources"].items():
        assert entry["raw"] == entry["archived"] + entry["quarantined"], table
        assert sum(entry["by_rule"].values()) == entry["quarantined"], table
        quarantined = pd.read_parquet(archive / "quarantine" / f"{table}.parquet")
        assert len(quarantined) == entry["quarantined"]
        archived = qa_archive.load(table, archive=archive)
        assert len(archived) == entry["archived"]


def test_every_planted_defect_is_quarantined_under_its_rule(report, truth):
    """The generator wrote down how many defects of each kind it planted; ingest finds exactly those."""
    for table, planted in truth["defects"].items():
        assert report["sources"][table]["by_rule"] == {k: v for k, v in planted.items() if v}, table


def test_raw_row_counts_match_the_files(report, raw_dir):
    tickets = raw_dir / "helpdesk_tickets_2025.csv"
    lines = tickets.read_bytes().count(b"\n") - 1  # header
    assert report["sources"]["tickets"]["raw"] == lines
    assert report["sources"]["complaints"]["raw"] == (raw_dir / "complaints.jsonl").read_bytes().count(b"\n")


def test_quarantine_names_file_row_and_rule(archive, raw_dir):
    q = pd.read_parquet(archive / "quarantine" / "tickets.parquet")
    assert set(q["file"]) == {"helpdesk_tickets_2025.csv"}
    assert q["row"].min() >= 2
    raw = pd.read_csv(raw_dir / "helpdesk_tickets_2025.csv", encoding="gb18030", dtype=str, keep_default_na=False)
    # the quarantined record is the raw row found at that row number
    for _, item in q.sample(20, random_state=1).iterrows():
        record = json.loads(item["record"])
        assert record["工单编号"] == raw.iloc[item["row"] - 2]["工单编号"]
    bad = q[q["rule"] == "malformed_value"]
    assert (bad["column"] == "创建时间").all()
    assert bad["detail"].str.contains("cannot read").all()


def test_values_are_mapped_to_canonical_names(archive):
    tickets = qa_archive.load("tickets", archive=archive)
    assert set(tickets["channel"]) <= set(DEFAULT_VALUE_SETS["channel"])
    assert set(tickets["category"]) <= set(DEFAULT_VALUE_SETS["category"])
    assert set(tickets["customer_type"]) == {"enterprise", "individual"}
    assert tickets["first_contact_resolved"].dtype == "boolean"
    assert tickets["team"].notna().all() and tickets["department"].notna().all()
    assert str(tickets["created_at"].dtype).startswith("datetime64")


def test_complaint_times_are_converted_from_utc(archive, raw_dir):
    complaints = qa_archive.load("complaints", archive=archive)
    first = json.loads((raw_dir / "complaints.jsonl").read_text(encoding="utf-8").splitlines()[0])
    row = complaints.set_index("complaint_id").loc[first["complaintNo"]]
    utc = pd.Timestamp(first["receivedTime"]).tz_convert(None)
    assert row["received_at"] == utc + pd.Timedelta(hours=8)


def test_cleaning_removes_what_it_should(archive):
    tickets = qa_archive.load("tickets", archive=archive)
    assert not tickets["ticket_id"].str.startswith("TEST").any()
    assert tickets["ticket_id"].is_unique
    assert (tickets["handle_s"] >= 0).all()
    assert tickets["created_at"].dt.year.eq(2025).all()
    surveys = qa_archive.load("surveys", archive=archive)
    assert surveys["csat"].between(1, 5).all()
    assert not surveys["survey_id"].str.startswith("SVB").any()  # the planted review bursts


def test_archive_is_partitioned_by_month_team_by_team_in_time_order(archive):
    months = sorted(p.name for p in (archive / "tickets").iterdir())
    assert months == [f"month=2025-{m:02d}" for m in range(1, 13)]
    for month in months:
        part = pq.read_table(archive / "tickets" / month / "part-0.parquet").to_pandas()
        assert part["team"].is_monotonic_increasing and part["team"].nunique() > 1  # a team's rows are together
        assert part.groupby("team")["created_at"].apply(lambda times: times.is_monotonic_increasing).all()
        assert (part["created_at"].dt.strftime("month=%Y-%m") == month).all()


def test_archive_order_is_team_then_time_with_ties_in_arrival_order():
    """Rows in time order (an ingest's month) and the same rows shuffled into archived + new (an append's
    month) come out in one order: team by team, rows without a team last, equal times as they arrived."""
    stamps = pd.to_datetime(["2025-03-01 09:00", "2025-03-01 09:00", "2025-03-02 09:00", "2025-03-03 09:00",
                             "2025-03-04 09:00", "2025-03-05 09:00"])
    rows = pa.table({"id": ["a", "b", "c", "d", "e", "f"], "team": ["HL-B", "HL-A", None, "HL-A", "HL-B", "HL-A"],
                     "created_at": pa.array(stamps, pa.timestamp("us"))})
    order = archive_order(rows, "created_at")
    assert rows.take(pa.array(order))["id"].to_pylist() == ["b", "d", "f", "a", "e", "c"]
    archived, new = rows.take(pa.array(order)).filter(pa.array([True, False, True, True, False, True])), \
        rows.filter(pa.array([False, False, False, True, True, False]))  # d and e arrive in a later batch
    merged = pa.concat_tables([archived, new])
    assert merged.take(pa.array(archive_order(merged, "created_at")))["id"].to_pylist() == ["b", "d", "f", "a", "e", "c"]
    dictionary = rows.set_column(1, "team", pc.dictionary_encode(rows["team"]))
    assert (archive_order(dictionary, "created_at") == order).all()
    # a reader's dictionary may repeat a text (values trimmed after it was built) or have a null entry
    repeated = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2, 0, 1], pa.int8()),
                                              pa.array(["HL-B", "HL-A", "HL-A"]))
    null_entry = pa.DictionaryArray.from_arrays(pa.array([1, 0, 2, 0, 1, 0], pa.int8()),
                                                pa.array(["HL-A", "HL-B", None]))
    for team in (repeated, null_entry):
        assert team.to_pylist() == rows["team"].to_pylist()
        assert (archive_order(rows.set_column(1, "team", team), "created_at") == order).all()
    in_order = rows.take(pa.array(order))
    assert archive_order(in_order, "created_at") is None  # nothing to move: no copy
    assert archive_order(rows.drop_columns(["team"]), "created_at") is None  # no team: time order alone


def test_archive_order_of_several_months_is_month_then_team_then_time():
    """An ingest orders all its rows at once: month by month (the files are written from slices), and
    within each month as :func:`archive_order` orders that month alone."""
    rng = np.random.default_rng(3)
    stamps = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24, 3000), unit="h")
    teams = pa.array(rng.choice(["HL-B", "HL-A", "QD-C", None], 3000).tolist())
    rows = pa.table({"id": np.arange(3000), "team": pc.dictionary_encode(teams),
                     "created_at": pa.array(stamps, pa.timestamp("us"))})
    ordered = rows.take(pa.array(archive_order(rows, "created_at")))
    months = ordered.to_pandas()["created_at"].dt.to_period("M")
    assert months.is_monotonic_increasing and months.nunique() == 3
    for month in months.unique():
        part = ordered.filter(pa.array((months == month).to_numpy()))
        alone = rows.filter(pa.array((rows.to_pandas()["created_at"].dt.to_period("M") == month).to_numpy()))
        assert part["id"].to_pylist() == alone.take(pa.array(archive_order(alone, "created_at")))["id"].to_pylist()


def test_a_link_joins_as_a_lookup_at_every_size_without_copying_the_other_tables_column():
    """Review of 2026-12-05: a null key matches the other table's null key whether or not the keys are few
    enough to be looked up once each (over 100 k rows they are), the row's own value wins, and a linked
    column points into the other table's dictionary rather than holding a copy of its column."""
    from qa_helpers.data.ingest import _linked

    other = pa.table({"agent_id": ["A1", None, "A2"], "team": pc.dictionary_encode(pa.array(["X", "Z", None]))})
    for n in (10, 100_010):
        keys = pa.array((["A1", None, "A2", "A9"] * (n // 4 + 1))[:n])
        expected = pc.take(other["team"].combine_chunks().dictionary_decode(),
                           pc.index_in(keys, value_set=other["agent_id"])).to_pylist()
        for column in (keys, pc.dictionary_encode(keys), pa.chunked_array([keys[:3], keys[3:]])):
            linked = _linked(pa.table({"agent_id": column}), other, "agent_id", ["team"])["team"]
            assert linked.to_pylist() == expected
            assert linked.chunk(0).dictionary.equals(other["team"].chunk(0).dictionary)  # its own: not a copy
        own = pa.table({"agent_id": keys, "team": pa.array((["own", None] * n)[:n])})
        assert _linked(own, other, "agent_id", ["team"])["team"].to_pylist() == \
            pc.coalesce(own["team"], pa.array(expected, pa.string())).to_pylist()


def test_archive_order_reads_times_in_their_unit_and_ranks_teams_of_a_long_dictionary():
    stamps = pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-03", "2024-04-04"])
    rows = pa.table({"team": ["B", "A", "B", "A"], "t": pa.array(stamps, pa.timestamp("us"))})
    assert archive_order(rows, "t").tolist() == [1, 0, 2, 3]
    assert archive_order(rows.set_column(1, "t", rows["t"].cast(pa.timestamp("ns"))), "t").tolist() == [1, 0, 2, 3]
    long = pa.DictionaryArray.from_arrays(pa.array([0, 5, 2, 1], pa.int32()), pa.array(["B", "A", "B", "A", "B", "A"]))
    assert archive_order(rows.set_column(0, "team", long), "t").tolist() == [1, 0, 2, 3]


def test_rerun_gives_the_same_archive(raw_dir, tmp_path, key, archive):
    report = ingest(raw_dir, tmp_path / "again", key=key)
    assert report["fingerprint"] == fingerprint(archive)
    assert report == json.loads((archive / "ingest_report.json").read_text(encoding="utf-8"))


def test_pseudonyms_are_stable_for_a_key_and_differ_across_keys(raw_dir, tmp_path, key, archive):
    ingest(raw_dir, tmp_path / "other", key=b"a-different-key")
    mine = qa_archive.load("tickets", archive=archive, columns=["ticket_id", "customer_id"]).set_index("ticket_id")
    other = qa_archive.load("tickets", archive=tmp_path / "other", columns=["ticket_id", "customer_id"]) \
        .set_index("ticket_id")
    joined = mine.join(other.add_suffix("_other"))
    assert (joined["customer_id"] != joined["customer_id_other"]).all()
    # same customer -> same pseudonym under one key, so customers can still be counted
    raw = pd.read_csv(raw_dir / "helpdesk_tickets_2025.csv", encoding="gb18030", dtype=str)
    raw = raw.drop_duplicates("工单编号").set_index("工单编号")["客户编号"]
    pairs = mine.join(raw.rename("raw_id"))
    assert (pairs.groupby("raw_id")["customer_id"].nunique() == 1).all()
    assert (pairs.groupby("customer_id")["raw_id"].nunique() == 1).all()


def _archived_text(archive) -> str:
    chunks = []
    for table in qa_archive.TABLES:
        frame = qa_archive.load(table, archive=archive)
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype).startswith(("str", "string")):
                chunks.append("\n".join(frame[column].dropna().astype(str)))
    return "\n".join(chunks)


def test_no_pii_or_raw_identifier_in_the_archive(archive, truth, key):
    text = _archived_text(archive)
    planted = [p["token"] for p in truth["pii"]]
    assert planted, "the generator must plant PII for this test to mean anything"
    leaked = [t for t in planted if t in text]
    assert leaked == []
    assert not [c for c in truth["raw_customer_ids"] if c in text]
    assert key.decode() not in text
    tickets = qa_archive.load("tickets", archive=archive)
    assert "customer_name" not in tickets.columns
    assert tickets["customer_id"].str.match(r"^C[0-9a-f]{16}$").all()


def test_pii_is_masked_not_deleted(archive):
    surveys = qa_archive.load("surveys", archive=archive)
    masked = surveys["comment"].dropna()
    assert masked.str.contains(r"\[(?:PHONE|EMAIL|ID_NUMBER|BANK_CARD|NAME)\]").sum() > 10


def test_key_is_not_written_into_the_archive(archive, key):
    for path in archive.rglob("*"):
        if path.is_file():
            assert key not in path.read_bytes(), path


@pytest.mark.parametrize("table", ["surveys", "complaints", "field_visits"])
def test_linked_tables_carry_the_ticket_team(archive, table):
    frame = qa_archive.load(table, archive=archive)
    tickets = qa_archive.load("tickets", archive=archive, columns=["ticket_id", "team"])
    merged = frame.dropna(subset=["team"]).merge(tickets, on="ticket_id", suffixes=("", "_ticket"))
    assert len(merged) > 0
    assert (merged["team"] == merged["team_ticket"]).all()


def test_ingesting_some_tables_keeps_the_others(raw_dir, tmp_path, key, archive):
    target = tmp_path / "archive"
    full = ingest(raw_dir, target, key=key)
    partial = ingest(raw_dir, target, key=key, tables=["complaints"])
    assert set(partial["sources"]) == set(full["sources"])
    assert partial["fingerprint"] == full["fingerprint"]  # same inputs: the same archive
    assert len(qa_archive.load("qa_reviews", archive=target)) == full["sources"]["qa_reviews"]["archived"]


@pytest.mark.parametrize("table", ["agents", "tickets", "surveys", "complaints", "field_visits", "qa_reviews"])
def test_arrow_validation_gives_pandera_verdict_row_by_row(raw_dir, table):
    """Ingest evaluates the pandera schema's checks on Arrow columns; pandera itself must agree."""
    import numpy as np
    import pandera.pandas as pa

    from qa_helpers.config import load_sources
    from qa_helpers.data.columns import archive_text_storage
    from qa_helpers.data.ingest import archive_schema, parse_table, read_source, validate
    from qa_helpers.data.schemas import SCHEMAS

    spec = load_sources().sources[table]
    raw, _, _ = read_source(spec, raw_dir)
    typed, malformed = parse_table(raw, spec, "Asia/Shanghai")
    live = np.ones(raw.num_rows, dtype=bool)
    live[malformed["position"].to_numpy()] = False
    ours = validate(typed, live, spec).set_index("position")

    with archive_text_storage():  # the archive's text, as ingest stores it (a report in this process sets another)
        frame = typed.cast(archive_schema(typed, table)).to_pandas()[live]
    try:
        SCHEMAS[table].validate(frame, lazy=True)
        cases = pd.DataFrame({"index": [], "column": [], "check": []})
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    order = {c: i for i, c in enumerate(SCHEMAS[table].columns)}
    first = cases.assign(_order=cases["column"].map(order)).sort_values(["index", "_order"]) \
        .drop_duplicates("index").set_index("index")
    assert sorted(ours.index) == sorted(int(i) for i in first.index)
    theirs = np.where(first["check"] == "not_nullable", "missing_required", "invalid_value")
    assert dict(zip(first.index.astype(int), theirs)) == ours["rule"].to_dict()
    assert len(ours) > 0 or table in ("agents", "field_visits")  # the sample plants invalid values


@pytest.mark.parametrize("dictionaries", ["everywhere", "nowhere"])
def test_columns_worked_on_per_distinct_value_give_the_same_archive(raw_dir, tmp_path, key, archive, monkeypatch,
                                                                    dictionaries):
    """At scale, columns that repeat few values are read as dictionaries, then parsed, checked and
    masked once per distinct value; the small test sample gets there only in part unless told to.
    Told to everywhere, or nowhere, the archive is the same."""
    from qa_helpers.data import columns, readers

    everywhere = dictionaries == "everywhere"
    monkeypatch.setattr(columns, "DISTINCT_SAMPLE", 200 if everywhere else 10**9)
    monkeypatch.setattr(readers, "REPEATS_MIN_ROWS", 20 if everywhere else 10**9)
    report = ingest(raw_dir, tmp_path / "dictionaries", key=key)
    assert report["sources"] == json.loads((archive / "ingest_report.json").read_text(encoding="utf-8"))["sources"]
    for table in ("agents", "tickets", "surveys", "complaints", "field_visits", "qa_reviews"):
        pd.testing.assert_frame_equal(qa_archive.load(table, archive=tmp_path / "dictionaries"),
                                      qa_archive.load(table, archive=archive))
        pd.testing.assert_frame_equal(qa_archive.quarantine(table, archive=tmp_path / "dictionaries"),
                                      qa_archive.quarantine(table, archive=archive))


def test_repeated_marks_every_row_whose_value_occurs_again():
    """The duplicate rules' shared pass (a sorted 64-bit hash per row): exactly the rows whose
    value occurs in another row, nulls counting as one value, in row order, dictionaries too."""
    import numpy as np
    import pyarrow as pa

    from qa_helpers.data.cleaning import RuleContext

    values = ["a", "b", None, "c", "a", None, "d", "b", "e", "a"]
    typed = pa.table({"id": values, "kind": pa.array(values).dictionary_encode()})
    expected = np.array([v is None or values.count(v) > 1 for v in values])
    context = RuleContext(raw=typed)
    assert (context.repeated(typed, "id") == expected).all()
    assert (context.repeated(typed, "kind") == expected).all()
    empty = typed.slice(0, 0)
    assert RuleContext(raw=empty).repeated(empty, "id").shape == (0,)


def test_rule_context_computes_each_key_once_whichever_thread_asks_first():
    """A rule's prepare step and the rule itself ask for the same result: it is computed once, a
    second caller waits for it, and an error reaches every caller, as the rule's own would."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    from qa_helpers.data.cleaning import RuleContext

    context = RuleContext(raw=pa.table({"x": [1]}))
    started, release, calls = threading.Event(), threading.Event(), []

    def slow() -> int:
        calls.append(1)
        started.set()
        release.wait(5)
        return 42

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(context.once, ("k",), slow)
        assert started.wait(5)
        waiting = threading.Thread(target=lambda: calls.append(context.once(("k",), slow)))
        waiting.start()
        release.set()
        waiting.join(5)
        assert first.result() == 42
    assert calls == [1, 42]  # computed once; the second caller got the first one's result

    def broken() -> int:
        raise ValueError("no such column")

    for _ in range(2):
        with pytest.raises(ValueError, match="no such column"):
            context.once(("bad",), broken)


def test_ingest_gives_the_same_archive_without_the_rules_prepare_steps(raw_dir, tmp_path, key, archive, monkeypatch):
    """The prepare steps only move work earlier: without them, every rule computes it itself, and
    the archive, the quarantine and the report are the same."""
    from qa_helpers.data import cleaning

    assert {"duplicate_row", "duplicate_id", "pii_in_id", "resolved_before_response"} <= set(cleaning.PREPARE)
    monkeypatch.setattr(cleaning, "PREPARE", {})
    report = ingest(raw_dir, tmp_path / "unprepared", key=key)
    assert report["sources"] == json.loads((archive / "ingest_report.json").read_text(encoding="utf-8"))["sources"]
    assert report["fingerprint"] == json.loads((archive / "ingest_report.json").read_text(encoding="utf-8"))["fingerprint"]
    for table in ("tickets", "surveys", "complaints", "qa_reviews"):
        pd.testing.assert_frame_equal(qa_archive.quarantine(table, archive=tmp_path / "unprepared"),
                                      qa_archive.quarantine(table, archive=archive))


def test_archive_order_of_all_rows_less_the_rejected_is_the_kept_rows_order():
    """The archive order is taken of every row before the rules decide which stay; less the rejected
    rows it must be the order of the kept ones alone (export order among equal times), nulls included."""
    import numpy as np
    import pyarrow as pa

    from qa_helpers.data.ingest import _archive_order

    rng = np.random.default_rng(7)
    for sorted_input in (False, True):
        stamps = rng.integers(0, 50, 2000) * 1_000_000 + rng.choice([0, 40 * 86_400 * 10**6], 2000)  # two months
        stamps = np.sort(stamps) if sorted_input else stamps
        nulls = rng.random(2000) < (0 if sorted_input else 0.05)
        for team in (None, rng.choice(["B", "A", None], 2000).tolist()):
            typed = pa.table({"t": pa.array(stamps, pa.timestamp("us"), mask=nulls)} |
                             ({"team": pa.array(team)} if team else {}))
            live = ~nulls & (rng.random(2000) < 0.8)
            kept = typed.filter(pa.array(live))
            alone = archive_order(kept, "t")
            expected = np.flatnonzero(live)[np.arange(kept.num_rows) if alone is None else alone]
            assert (archive_order(typed, "t") is None) == (sorted_input and team is None)  # in order: no sort
            assert (_archive_order(archive_order(typed, "t"), live) == expected).all()
        assert (_archive_order(None, live) == np.flatnonzero(live)).all()


def test_per_value_gives_what_the_function_gives_on_every_row_nulls_included():
    """The dictionary path (each distinct value once) must equal ``func`` over the whole column:
    a value the function turns into null, a null in the input, and a function without nulls."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from qa_helpers.data.columns import decoded, per_value

    rng = np.random.default_rng(7)
    words = np.array(["电话", "邮件", "n/a", "web", "  ", "chat"], dtype=object)
    values = pa.array([None if i % 97 == 0 else words[k] for i, k in enumerate(rng.integers(0, 6, 120_000))])

    def blanks_null(v):
        trimmed = pc.utf8_trim_whitespace(v)
        return pc.if_else(pc.is_in(trimmed, value_set=pa.array(["n/a", ""])), pa.scalar(None, pa.string()), trimmed)

    for func in (blanks_null, pc.utf8_upper, lambda v: pc.utf8_length(v)):
        expected = func(values)
        got = per_value(values, func)
        assert pa.types.is_dictionary(got.type) or not pa.types.is_string(expected.type)
        assert decoded(got).equals(expected)
        assert got.null_count == expected.null_count  # null checks read the indices


def test_take_rows_keeps_the_order_asked_for_whether_it_filters_or_gathers():
    import numpy as np
    import pyarrow as pa

    from qa_helpers.data.columns import take_rows

    table = pa.concat_tables([pa.table({"id": [f"T{i}" for i in range(s, s + 500)],
                                        "n": pa.array(range(s, s + 500), pa.int64())}) for s in (0, 500, 1000)])
    for positions in (np.arange(1500), np.flatnonzero(np.arange(1500) % 7 != 3), np.array([5, 1400, 2, 2, 777]),
                      np.array([], np.int64), np.array([1499])):
        got = take_rows(table, positions)
        assert got.column("n").to_pylist() == positions.tolist()
        assert got.column("id").to_pylist() == [f"T{i}" for i in positions]
    with pytest.raises(IndexError):
        take_rows(table, np.array([3, 1500]))


def test_take_rows_gives_the_parquet_writer_what_a_take_gives_it():
    """A filter keeps the reader's chunks; the writer's dictionary pages depend on them, and the
    archive's bytes must not depend on the CSV reader's blocks: one chunk per column, as a take."""
    import hashlib
    import io

    import numpy as np
    import pyarrow as pa

    from qa_helpers.data.columns import take_rows

    notes = pa.array([f"x{i % 5000}-{i}" for i in range(400_000)])
    table = pa.table({"note": pa.chunked_array([notes.slice(i, 23_456) for i in range(0, 400_000, 23_456)])})

    def written(part):
        stream = io.BytesIO()
        pq.write_table(part, stream, row_group_size=131_072, use_dictionary=["note"])
        return hashlib.sha256(stream.getvalue()).hexdigest()

    for keep in (np.flatnonzero(np.arange(400_000) % 1000 != 5), np.arange(400_000)):
        taken = pa.table({"note": table["note"].take(pa.array(keep))})
        ours = take_rows(table, keep)
        assert ours["note"].num_chunks == 1 and ours.equals(taken)
        assert written(ours) == written(taken)


def test_per_value_keeps_a_dictionarys_narrow_indices():
    """A dictionary may hold more entries than its index type counts (int8, 200 values, few used)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from qa_helpers.data.columns import decoded, per_value

    values = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2] * 30_000, pa.int8()),
                                            pa.array([f"v{i}" for i in range(200)]))

    def drop_v1(v):
        return pc.if_else(pc.equal(v, "v1"), pa.scalar(None, pa.string()), v)

    got = per_value(values, drop_v1)
    assert got.type == values.type
    assert decoded(got).equals(drop_v1(decoded(values)))


def test_ingest_runs_on_pyarrows_jemalloc_pool_and_gives_the_default_back(raw_dir, key, tmp_path, monkeypatch):
    """pyarrow's default pool (mimalloc) spent more of a 10 M-row ingest in system time than in reading:
    ingest and append run on jemalloc where pyarrow has it, and leave the process's default as they found
    it, also when they fail; a pool chosen with ARROW_DEFAULT_MEMORY_POOL stands."""
    import pyarrow as pa

    from qa_helpers.data import ingest as ingest_module

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow is built without jemalloc")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    seen, real = [], ingest_module.ingest_source

    def ingest_source(*args, **kwargs):
        seen.append(pa.default_memory_pool().backend_name)
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "ingest_source", ingest_source)
    before = pa.default_memory_pool().backend_name
    ingest(raw_dir, tmp_path / "archive", key=key, tables=["tickets"])
    assert seen and set(seen) == {"jemalloc"}
    assert pa.default_memory_pool().backend_name == before
    with pytest.raises(SourceError, match="no file matches"):
        ingest(tmp_path / "no exports here", tmp_path / "other", key=key)
    assert pa.default_memory_pool().backend_name == before

    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    seen.clear()
    ingest(raw_dir, tmp_path / "checked", key=key, tables=["tickets"], check=True)
    assert set(seen) == {before}
