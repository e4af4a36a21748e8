"""Incremental ingest (`qakit ingest --append`, issue 17): an archive plus one appended week equals a
full ingest of both; only the touched months are rewritten; re-appends are refused; the report
accumulates per batch; cross-batch duplicate ids and review bursts are caught."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from qa_helpers.cli import main
from qa_helpers.data import archive as qa_archive, repeat_index
from qa_helpers.data.append import append, carve
from qa_helpers.data.ingest import ingest
from qa_helpers.data.sample import generate

KEY = b"append-test-key"
START, END = "2025-12-15", "2025-12-22"
TABLES = ["tickets", "surveys", "complaints", "field_visits", "qa_reviews"]


def _renamed(folder: Path, suffix: str) -> None:
    """Give a carved week's files their own names (helpdesk_tickets_2025_w51.csv): a new export."""
    for path in list(folder.iterdir()):
        path.rename(folder / path.name.replace(".", f"_{suffix}.", 1))


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """A generated export cut into an archive part (before the week), one week, and both together."""
    root = tmp_path_factory.mktemp("append")
    generate(root / "raw", seed=7, n_tickets=3_000)
    carve(root / "raw", root / "base", "2000-01-01", START)
    carve(root / "raw", root / "week", START, END, tables=TABLES)
    _renamed(root / "week", "w51")
    (root / "both").mkdir()
    for path in [*(root / "base").iterdir(), *(root / "week").iterdir()]:
        shutil.copy2(path, root / "both" / path.name)
    full = ingest(root / "both", root / "full" / "archive", key=KEY)
    first = ingest(root / "base", root / "inc" / "archive", key=KEY)
    old = qa_archive.archive_path(root / "inc" / "archive")
    appended = append(root / "week", root / "inc" / "archive", key=KEY)
    return {"root": root, "full": full, "first": first, "appended": appended, "old": old,
            "new": qa_archive.archive_path(root / "inc" / "archive")}


def _rows(folder: Path, table: str) -> pd.DataFrame:
    return pq.read_table(folder / table).to_pandas().drop(columns="month", errors="ignore")


def test_append_equals_full_ingest(split):
    full = qa_archive.archive_path(split["root"] / "full" / "archive")
    for table in ["agents", *TABLES]:
        pd.testing.assert_frame_equal(_rows(split["new"], table), _rows(full, table))  # pseudonyms included
        ours = qa_archive.quarantine(table, archive=split["new"])  # every batch's file
        theirs = qa_archive.quarantine(table, archive=full)
        key = ["file", "row", "rule", "detail"]
        pd.testing.assert_frame_equal(ours.sort_values(key).reset_index(drop=True)[key],
                                      theirs.sort_values(key).reset_index(drop=True)[key])
    assert split["appended"]["fingerprint"] == split["full"]["fingerprint"]  # byte for byte the same archive
    for table in TABLES:
        for count in ("raw", "archived", "quarantined", "by_rule"):
            assert split["appended"]["sources"][table][count] == split["full"]["sources"][table][count]


def test_only_touched_months_rewritten(split):
    rewritten = {m for entry in split["appended"]["batches"][-1]["sources"].values()
                 for m in entry.get("months_rewritten", [])}
    assert rewritten == {"2025-12"}
    shared = changed = 0
    for path in split["old"].rglob("*.parquet"):
        relative = path.relative_to(split["old"])
        same = os.stat(path).st_ino == os.stat(split["new"] / relative).st_ino
        batch = split["appended"]["batches"][-1]["sources"]
        # the quarantine is linked; the repeat-contact index is built again from the first rewritten month
        touched = "month=2025-12" in relative.parts and relative.parts[0] in {*batch, "repeat_contacts"}
        assert same != touched, relative
        shared, changed = shared + same, changed + (not same)
    assert shared > 40 and changed == sum(bool(e.get("months_rewritten")) for e in batch.values()) + 1 >= 5
    added = {p.relative_to(split["new"]).as_posix() for p in split["new"].rglob("*.parquet")
             if not (split["old"] / p.relative_to(split["new"])).exists()}
    assert added == {f"quarantine/{table}.batch-000002.parquet" for table, entry in batch.items()
                     if entry["quarantined"]}  # the batch's rejected rows, in a file of their own


def test_batches_account_for_every_row(split):
    report = split["appended"]
    assert [b["batch"] for b in report["batches"]] == [1, 2]
    assert report["batches"][0]["sources"]["tickets"]["raw"] == split["first"]["sources"]["tickets"]["raw"]
    for batch in report["batches"]:
        for entry in batch["sources"].values():
            assert entry["raw"] == entry["archived"] + entry["quarantined"]
            assert all(len(f["sha256"]) == 64 for f in entry["files"])
    week = report["batches"][1]["sources"]
    assert "tickets" in week and set(week) <= set(TABLES)
    for table, entry in report["sources"].items():
        assert entry["raw"] == sum(b["sources"].get(table, {}).get("raw", 0) for b in report["batches"])
        assert entry["archived"] == len(_rows(split["new"], table))
        assert entry["quarantined"] == len(qa_archive.quarantine(table, archive=split["new"]))
    for table, entry in report["batches"][1]["sources"].items():  # raw = archived + quarantined per batch
        own = qa_archive.quarantine_batch_file(split["new"], table, 2)
        assert (len(pd.read_parquet(own)) if own.exists() else 0) == entry["quarantined"]
    assert report["files"] == qa_archive.archive_files(split["new"])  # archive_path checks the new generation


def test_reader_of_old_generation_still_reads_it(split):
    before = split["first"]["sources"]["tickets"]["archived"]
    assert len(qa_archive.load("tickets", archive=split["old"])) == before
    added = split["appended"]["batches"][-1]["sources"]["tickets"]["archived"]
    assert len(qa_archive.load("tickets", archive=split["root"] / "inc" / "archive")) == before + added > before


def test_reappend_refused_with_exit_2(split, capsys):
    archive = split["root"] / "inc" / "archive"
    before = archive.resolve()
    status = main(["ingest", "--append", "--raw", str(split["root"] / "week"), "--archive", str(archive)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert "already ingested (this one in batch 2" in err and "_w51" in err
    assert archive.resolve() == before  # nothing was written


def test_duplicate_id_and_straddling_burst(split, tmp_path, monkeypatch):
    """A ticket id archived earlier is a duplicate; one-star reviews completing a burst that began in the
    archive quarantine the new ones and withdraw the archived ones."""
    root = split["root"]
    shutil.copytree(split["new"], tmp_path / ".archive.gen-000001")
    (tmp_path / "archive").symlink_to(".archive.gen-000001")
    raw = tmp_path / "raw"
    raw.mkdir()
    tickets = pd.read_csv(root / "base" / "helpdesk_tickets_2025.csv", encoding="gb18030", dtype=str,
                          keep_default_na=False)
    again = tickets.iloc[[100]].copy()
    again["备注"] = "改过的备注"  # same id, other content
    again.to_csv(raw / "helpdesk_tickets_2025_x.csv", index=False, encoding="gb18030")
    surveys = pd.read_excel(root / "base" / "survey_export.xlsx", sheet_name="问卷结果", dtype=str,
                            keep_default_na=False)
    reviews = pd.concat([surveys.iloc[[0]]] * 6, ignore_index=True)
    reviews["问卷编号"] = [f"SVX{i:06d}" for i in range(6)]
    reviews["关联工单"], reviews["来源"], reviews["满意度评分"] = "", "网络评价", "1"
    reviews["提交时间"] = [f"2025-12-21 23:{m:02d}:00" for m in (10, 20, 30)] + \
                      [f"2025-12-22 00:{m:02d}:00" for m in (0, 5, 10)]
    archived_part = tmp_path / "archived_part"
    archived_part.mkdir()
    reviews.iloc[:3].to_excel(archived_part / "survey_export_y.xlsx", index=False, sheet_name="问卷结果")
    append(archived_part, tmp_path / "archive", key=KEY)  # three one-star reviews: no burst yet
    assert qa_archive.load("surveys", archive=tmp_path / "archive")["survey_id"].str.startswith("SVX").sum() == 3
    reviews.iloc[3:].to_excel(raw / "survey_export_x.xlsx", index=False, sheet_name="问卷结果")
    scanned = []
    read_table = pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda path, *a, columns=None, **k: (
        scanned.append(Path(path).parent.name) if columns == ["survey_id"] else None) or read_table(
        path, *a, columns=columns, **k))
    report = append(raw, tmp_path / "archive", key=KEY)
    monkeypatch.undo()
    assert scanned == ["month=2025-12"]  # the withdrawn reviews' month only, not every month's ids
    batch = report["batches"][-1]["sources"]
    assert batch["tickets"]["by_rule"] == {"duplicate_id": 1}
    assert batch["surveys"]["by_rule"] == {"review_burst": 3} and batch["surveys"]["withdrawn"]["rows"] == 3
    assert not qa_archive.load("surveys", archive=tmp_path / "archive")["survey_id"].str.startswith("SVX").any()
    quarantine = qa_archive.quarantine("surveys", archive=tmp_path / "archive")
    assert (quarantine["rule"] == "review_burst").sum() == split["appended"]["sources"]["surveys"]["by_rule"].get(
        "review_burst", 0) + 6
    assert report["sources"]["surveys"]["archived"] == len(qa_archive.load("surveys", archive=tmp_path / "archive"))
    late = json.loads((tmp_path / "archive" / "ingest_report.json").read_text())["batches"][-1]
    assert late["sources"]["tickets"]["months_rewritten"] == []  # the duplicate archived nothing


def test_late_export_touches_only_its_month(split, tmp_path):
    """Rows older than the archive's last month (a late export) rewrite only the month they fall in."""
    shutil.copytree(split["new"], tmp_path / ".archive.gen-000001")
    (tmp_path / "archive").symlink_to(".archive.gen-000001")
    old = qa_archive.archive_path(tmp_path / "archive")
    tickets = pd.read_csv(split["root"] / "base" / "helpdesk_tickets_2025.csv", encoding="gb18030", dtype=str,
                          keep_default_na=False)
    june = tickets[tickets["创建时间"].str.startswith("2025/06/1")].head(20).copy()
    june["工单编号"] = "TL" + june["工单编号"].str[2:]  # tickets the archive has not seen
    (tmp_path / "raw").mkdir()
    june.to_csv(tmp_path / "raw" / "helpdesk_tickets_2025_late.csv", index=False, encoding="gb18030")
    shutil.copy2(split["root"] / "base" / "agents_roster.csv", tmp_path / "raw")  # unchanged roster: skipped
    before = len(qa_archive.load("tickets", period="2025-06", archive=old))
    report = append(tmp_path / "raw", tmp_path / "archive", key=KEY)
    assert report["batches"][-1]["skipped"] == [{"name": "agents_roster.csv", "as": "agents_roster.csv", "batch": 1}]
    assert "agents" not in report["batches"][-1]["sources"]
    entry = report["batches"][-1]["sources"]["tickets"]
    assert entry["months_rewritten"] == ["2025-06"] and entry["raw"] == 20
    new = qa_archive.archive_path(tmp_path / "archive")
    assert len(qa_archive.load("tickets", period="2025-06", archive=new)) == before + entry["archived"] > before
    for path in old.rglob("*.parquet"):
        relative = path.relative_to(old)
        # the index of June and every later month is built again: a late ticket can be an earlier one of theirs
        rewritten = ((relative.parts[0] == "tickets" and "month=2025-06" in relative.parts)
                     or (relative.parts[0] == "repeat_contacts" and relative.parts[1] >= "month=2025-06"))
        assert (os.stat(path).st_ino == os.stat(new / relative).st_ino) != rewritten, relative
    assert report["repeat_index"] == repeat_index.index_record(report["sha256"])
    month = qa_archive.load("tickets", period="2025-06", archive=new)
    assert month["team"].is_monotonic_increasing  # the month stays in archive order: team by team,
    assert month.groupby("team")["created_at"].apply(lambda times: times.is_monotonic_increasing).all()  # in time


def test_append_hashes_only_the_files_it_wrote_and_verification_still_catches_an_altered_file(split, tmp_path,
                                                                                               monkeypatch):
    """The fingerprint is built from per-file hashes kept in the report: an append reads only the files it
    wrote. A linked file altered in place after its hash was recorded keeps its recorded hash, so a
    full verification (every byte re-read) no longer matches the report."""
    from qa_helpers.data import ingest as ingest_module

    shutil.copytree(split["new"], tmp_path / ".archive.gen-000001")
    (tmp_path / "archive").symlink_to(".archive.gen-000001")
    old = qa_archive.archive_path(tmp_path / "archive")
    altered = old / "tickets" / "month=2025-03" / "part-0.parquet"
    with open(altered, "r+b") as stream:  # same size: the file list's stat check cannot see it
        stream.seek(100)
        byte = stream.read(1)
        stream.seek(100)
        stream.write(bytes([byte[0] ^ 0xFF]))
    tickets = pd.read_csv(split["root"] / "base" / "helpdesk_tickets_2025.csv", encoding="gb18030", dtype=str,
                          keep_default_na=False)
    june = tickets[tickets["创建时间"].str.startswith("2025/06/1")].head(20).copy()
    june["工单编号"] = "TH" + june["工单编号"].str[2:]
    (tmp_path / "raw").mkdir()
    june.to_csv(tmp_path / "raw" / "helpdesk_tickets_2025_h.csv", index=False, encoding="gb18030")
    hashed = []
    real = ingest_module._file_sha256
    monkeypatch.setattr(ingest_module, "_file_sha256", lambda path: hashed.append(path) or real(path))
    report = append(tmp_path / "raw", tmp_path / "archive", key=KEY)
    new = qa_archive.archive_path(tmp_path / "archive")
    index = sorted(p.relative_to(new).as_posix() for p in (new / "repeat_contacts").glob("month=*/*.parquet")
                   if p.parent.name >= "month=2025-06")  # built again from the rewritten month on
    assert sorted(p.relative_to(new).as_posix() for p in hashed) == [*index, "tickets/month=2025-06/part-0.parquet"]
    assert report["sha256"]["tickets/month=2025-03/part-0.parquet"] == split["appended"]["sha256"][
        "tickets/month=2025-03/part-0.parquet"]  # recorded, not re-read
    monkeypatch.undo()
    assert set(report["sha256"]) == {f for f in report["files"] if not f.startswith("quarantine/")}
    assert ingest_module.fingerprint(new) != report["fingerprint"]  # verification catches the altered file
    with open(new / "tickets" / "month=2025-03" / "part-0.parquet", "r+b") as stream:  # put the byte back
        stream.seek(100)
        stream.write(byte)
    assert ingest_module.fingerprint(new) == report["fingerprint"]


def test_ingest_of_some_tables_keeps_every_batch_of_the_others_quarantine(split, tmp_path):
    shutil.copytree(split["new"], tmp_path / ".archive.gen-000001")
    (tmp_path / "archive").symlink_to(".archive.gen-000001")
    batches = {table: len(qa_archive.quarantine_files(qa_archive.archive_path(tmp_path / "archive"), table))
               for table in TABLES}
    assert max(batches.values()) == 2  # the appended week quarantined rows of its own
    before = {table: qa_archive.quarantine(table, archive=tmp_path / "archive") for table in TABLES}
    report = ingest(split["root"] / "both", tmp_path / "archive", key=KEY, tables=["agents"])
    after = qa_archive.archive_path(tmp_path / "archive")
    for table in TABLES:
        assert [p.name for p in qa_archive.quarantine_files(after, table)] == [f"{table}.parquet"]
        pd.testing.assert_frame_equal(qa_archive.quarantine(table, archive=after), before[table])
        assert report["sources"][table]["quarantined"] == len(before[table])


def test_quarantined_bursts_outside_the_window_are_not_parsed_again(split, monkeypatch):
    """An append's burst rule re-reads earlier batches' quarantined bursts near its own reviews only: the
    quarantine grows with every batch, the window does not."""
    from qa_helpers.config import load_sources
    from qa_helpers.data import append as append_module

    config = load_sources()
    bursts = qa_archive.quarantine("surveys", archive=split["new"])
    bursts = bursts[bursts["rule"] == "review_burst"]
    times = pd.to_datetime([json.loads(r)["提交时间"] for r in bursts["record"]], format="mixed")
    assert len(times) >= 5
    parsed = []
    real = append_module.parse_table
    monkeypatch.setattr(append_module, "parse_table", lambda raw, *a, **k: parsed.append(raw.num_rows) or real(raw, *a, **k))
    view = append_module.ArchiveView(split["new"], config.sources["surveys"], config)
    columns = ["csat", "source", "answered_at"]
    near = view.between(columns, times.min() - pd.Timedelta("1h"), times.min() + pd.Timedelta("1h"))
    found = near[~near["_archived"].astype(bool)]
    first, day = times.min(), pd.Timedelta("1D")
    assert len(found) == ((times >= first - day / 24) & (times <= first + day / 24)).sum() > 0
    assert (times > first + 4 * day).sum() > 0  # bursts far from the window exist ...
    assert len(parsed) == 1 and len(found) <= parsed[0] <= (times <= first + 4 * day).sum()  # ... and are not parsed
    far = view.between(columns, pd.Timestamp("2030-01-01"), pd.Timestamp("2030-01-02"))
    assert far.empty and len(parsed) == 1  # nothing near: nothing parsed


def test_ingest_and_append_write_the_same_bytes_after_a_report_set_python_strings(split, tmp_path):
    """A report sets pandas' Python text storage for its process (open_context); an ingest or an append
    run later in that process must still write the archive byte for byte (its fingerprint)."""
    from qa_helpers.report.context import python_text_columns

    root = split["root"]
    with pd.option_context("mode.string_storage", "pyarrow"):  # restored after the test
        python_text_columns()
        assert pd.get_option("mode.string_storage") == "python"
        assert ingest(root / "both", tmp_path / "full", key=KEY)["fingerprint"] == split["full"]["fingerprint"]
        ingest(root / "base", tmp_path / "inc", key=KEY)
        assert append(root / "week", tmp_path / "inc", key=KEY)["fingerprint"] == split["full"]["fingerprint"]
        assert pd.get_option("mode.string_storage") == "python"  # the process's own choice is left as it was
    # the fingerprint leaves out the quarantine, whose text columns took the storage's Arrow type
    reference = qa_archive.archive_path(root / "full" / "archive") / "quarantine"
    for path in (qa_archive.archive_path(tmp_path / "full") / "quarantine").glob("*.parquet"):
        assert path.read_bytes() == (reference / path.name).read_bytes()
    batches = list((qa_archive.archive_path(tmp_path / "inc") / "quarantine").glob("*.parquet"))
    assert any(".batch-" in path.name for path in batches)
    for path in batches:  # a batch's file: the schema of its table's file in the one-go archive
        assert pq.read_schema(path).equals(pq.read_schema(reference / f"{path.name.split('.')[0]}.parquet"),
                                           check_metadata=True)
