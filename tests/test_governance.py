"""Archive governance (seed 003 ch. 7): retention, approved purges, the access log, audience bundles."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from qa_helpers.cli import main
from qa_helpers.config import config_dir, load_sources
from qa_helpers.data import archive as qa_archive
from qa_helpers.data.governance import access_log_path, due_for_purge, purge, read_access_log, retention_years
from qa_helpers.data.ingest import fingerprint
from qa_helpers.errors import ConfigError


@pytest.fixture
def copy(archive, tmp_path) -> Path:
    """A private copy of the session's archive, so a purge or a log touches nothing shared."""
    target = tmp_path / "archive"
    generation = qa_archive.generation_folder(target, 1)
    shutil.copytree(qa_archive.archive_path(archive), generation)  # the same layout ingest makes:
    target.symlink_to(generation.name)                              # a link to its current generation
    return target


def _month_rows(archive: Path, table: str) -> dict[str, int]:
    return {part.name.split("=", 1)[1]: sum(pq.ParquetFile(f).metadata.num_rows for f in part.glob("*.parquet"))
            for part in sorted((archive / table).glob("month=*"))}


def test_retention_comes_from_sources_yml(tmp_path):
    years = retention_years()
    assert years["complaints"] == 5 and years["tickets"] == 3  # the kit's policy: seed 003's 3 years, 5 at most
    doc = yaml.safe_load((config_dir() / "sources.yml").read_text(encoding="utf-8"))
    for bad, message in [({"tickets": 0}, "whole number"), ({"tickets": "3y"}, "whole number"),
                         ({"agents": 3}, "not a table with times"), ([3], "mapping")]:
        doc["retention"] = bad
        path = tmp_path / "sources.yml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_sources(path)


def test_purge_lists_what_is_due_and_removes_nothing_without_approval(copy):
    before = fingerprint(copy)
    due = purge(copy, as_of="2028-03-01")
    # 3 years from the end of each month: on 2028-03-01, January and February 2025 are due;
    # complaints are kept 5 years, so none of theirs is
    assert set(due["month"]) == {"2025-01", "2025-02"}
    assert "complaints" not in set(due["table"]) and not due["removed"].any()
    expected = {(t, m): _month_rows(copy, t)[m] for t, m in zip(due["table"], due["month"])}
    assert dict(zip(zip(due["table"], due["month"]), due["rows"])) == expected
    assert fingerprint(copy) == before and (copy / "tickets" / "month=2025-01").is_dir()
    assert due_for_purge(copy, as_of="2028-01-31").empty  # January is due on 1 February, not before


def test_approved_purge_removes_the_months_and_keeps_the_report_consistent(copy):
    tickets_before = qa_archive.load("tickets", archive=copy)
    due = purge(copy, as_of="2028-03-01", approve="Li Wei / CHG-1042")
    assert due["removed"].all()
    tickets = qa_archive.load("tickets", archive=copy)
    assert tickets["created_at"].min() >= pd.Timestamp("2025-03-01")
    removed = int(due.loc[due["table"] == "tickets", "rows"].sum())
    assert len(tickets) == len(tickets_before) - removed > 0
    report = json.loads((copy / "ingest_report.json").read_text(encoding="utf-8"))
    assert report["fingerprint"] == fingerprint(copy)  # what reports record still names this archive
    assert report["purged"]["tickets"] == {m: int(r) for m, r in
                                           zip(due.loc[due["table"] == "tickets", "month"],
                                               due.loc[due["table"] == "tickets", "rows"])}
    assert not list(copy.glob(".purge-*")) and not list(copy.glob(".ingest_report-*"))  # no leftovers
    # the purge made a new generation and switched the link to it; the old one, purged months and all, is gone
    assert copy.resolve() == qa_archive.generation_folder(copy, 2) and not qa_archive.generation_folder(copy, 1).exists()
    audit = read_access_log(copy).iloc[-1]
    assert audit["command"] == "purge" and "approved by Li Wei / CHG-1042" in audit["detail"]
    assert audit["fingerprint"] == report["fingerprint"] and audit["user"] and audit["host"]
    january = due[(due["table"] == "tickets") & (due["month"] == "2025-01")]["rows"].iloc[0]
    assert f"tickets 2025-01 ({january} rows)" in audit["detail"]


def test_purging_every_month_leaves_a_loadable_empty_table(copy):
    purge(copy, as_of="2099-01-01", approve="retention board minute 7")
    for table in ("tickets", "complaints", "surveys"):
        frame = qa_archive.load(table, archive=copy)
        assert frame.empty and len(frame.columns) > 3
    assert qa_archive.load("agents", archive=copy).shape[0] > 0  # the roster has no months: never purged


def test_cli_purge_requires_an_approval_to_destroy_and_logs_every_call(copy, capsys):
    assert main(["purge", "--archive", str(copy), "--as-of", "2028-03-01"]) == 0
    out = capsys.readouterr().out
    assert "2025-01" in out and "nothing removed" in out and (copy / "tickets" / "month=2025-01").is_dir()
    assert main(["purge", "--archive", str(copy), "--as-of", "2028-03-01", "--approve", " "]) == 2
    assert "--approve needs" in capsys.readouterr().err and (copy / "tickets" / "month=2025-01").is_dir()
    assert main(["purge", "--archive", str(copy), "--as-of", "2028-03-01", "--approve", "QA lead Zhang"]) == 0
    assert not (copy / "tickets" / "month=2025-01").exists()
    log = read_access_log(copy)
    assert log["command"].tolist() == ["purge"] * 3
    assert log["status"].tolist() == ["ok", "error", "ok"]
    assert log.iloc[2]["parameters"]["approve"] == "QA lead Zhang"


def test_access_log_records_who_ran_what_on_which_archive(copy, capsys):
    log_path = access_log_path(copy)
    assert log_path.parent == copy.parent and not log_path.is_relative_to(copy)  # survives a re-ingest
    assert main(["alerts", "--period", "2025-Q4", "--archive", str(copy), "--format", "json"]) == 0
    assert main(["alerts", "--period", "2031-Q9", "--archive", str(copy)]) == 2
    capsys.readouterr()
    lines = log_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    report = json.loads((copy / "ingest_report.json").read_text(encoding="utf-8"))
    assert first["command"] == "alerts" and first["status"] == "ok"
    assert first["parameters"]["period"] == "2025-Q4" and first["archive"] == str(copy.resolve())
    assert first["fingerprint"] == report["fingerprint"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", first["time"])
    assert second["status"] == "error" and "2031-Q9" in second["detail"]


def test_ingest_is_logged_but_a_check_is_not(raw_dir, tmp_path, capsys):
    archive = tmp_path / "new-archive"
    assert main(["ingest", "--raw", str(raw_dir), "--check"]) == 0
    assert main(["ingest", "--raw", str(raw_dir), "--archive", str(archive), "--tables", "agents"]) == 0
    capsys.readouterr()
    log = read_access_log(archive)
    assert log["command"].tolist() == ["ingest"]
    assert log.iloc[0]["fingerprint"] == json.loads((archive / "ingest_report.json").read_text())["fingerprint"]


def test_team_bundle_holds_only_that_teams_reports(archive, tmp_path, capsys):
    from qa_helpers.run.batch import run_batch

    reports = tmp_path / "reports"
    run_batch("2025-Q4", teams="HL-A,HL-B", notebooks="qa_calibration", out=reports, archive=archive, jobs=2,
              progress=False)
    roster = qa_archive.load("agents", archive=archive)
    agents = {team: set(group["agent_id"]) for team, group in roster.groupby("team")}

    def texts(folder: Path) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())

    everything = texts(reports / "2025-Q4")
    assert any(a in everything for a in agents["HL-B"])  # the shared folder does hold HL-B's agents
    assert main(["bundle", "--period", "2025-Q4", "--team", "HL-A", "--out", str(tmp_path / "bundle"),
                 "--reports", str(reports), "--archive", str(archive)]) == 0
    bundle = tmp_path / "bundle"
    files = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    assert files == ["2025-Q4/HL-A/qa_calibration.html", "2025-Q4/index.html"]
    shared = texts(bundle)
    assert any(a in shared for a in agents["HL-A"])  # the team's own agents are there ...
    others = {a for team, ids in agents.items() if team != "HL-A" for a in ids} - agents["HL-A"]
    assert not [a for a in others if re.search(rf"\b{re.escape(a)}\b", shared)]  # ... and no one else's
    index = (bundle / "2025-Q4" / "index.html").read_text(encoding="utf-8")
    assert "HL-A" in index and "HL-B" not in index
    assert main(["bundle", "--period", "2025-Q4", "--team", "HL-A", "--out", str(bundle),
                 "--reports", str(reports), "--archive", str(archive)]) == 2  # never into a used folder
    assert main(["bundle", "--period", "2025-Q4", "--team", "HL-Z", "--out", str(tmp_path / "b2"),
                 "--reports", str(reports), "--archive", str(archive)]) == 2
    assert "HL-Z" in capsys.readouterr().err
    assert read_access_log(archive)["command"].str.contains("bundle").any()
