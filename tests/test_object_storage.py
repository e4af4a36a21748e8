"""The archive on S3-compatible object storage, against a real local S3 server (moto's server mode, a
separate process on a free port: not a mock), and a batch on a real 2-worker Dask cluster reading it.

The session's small sample is ingested into ``s3://qakit-test/archive``; every table, the units, the
quarantine, scan_sql and the KPIs must equal those of the session's local archive (same raw exports,
same key). A second and a third ingest switch the pointer; a reader that resolved the old generation
keeps reading it; the pseudonymisation key never reaches the bucket.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pandas as pd
import pytest

from qa_helpers.cli import main
from qa_helpers.data import archive as qa_archive
from qa_helpers.data import storage
from qa_helpers.data.ingest import ingest
from qa_helpers.errors import ArchiveError
from qa_helpers.report.context import open_context

BUCKET = "qakit-test"
URL = f"s3://{BUCKET}/archive"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """A moto S3 server process on localhost, the AWS variables pointing at it; killed at teardown."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the moto S3 server did not start on {endpoint}")
                time.sleep(0.1)
        with pytest.MonkeyPatch.context() as patch:
            for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
                patch.delenv(name, raising=False)
            patch.setenv("AWS_ENDPOINT_URL", endpoint)
            patch.setenv("AWS_ACCESS_KEY_ID", "qakit-test")
            patch.setenv("AWS_SECRET_ACCESS_KEY", "qakit-test-secret")
            patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
            yield endpoint
    finally:
        server.kill()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def s3_archive(s3_server, raw_dir, key):
    """The session's raw exports ingested into the S3 archive (the session's key, passed in)."""
    storage.filesystem().mkdir(BUCKET)
    ingest(raw_dir, URL, key=key)
    return URL


def _objects() -> list[str]:
    fs = storage.filesystem()
    fs.invalidate_cache()
    return sorted(fs.find(BUCKET))


def test_ingest_writes_a_generation_then_the_pointer_and_no_key(s3_archive, key):
    fs = storage.filesystem()
    assert fs.cat_file(f"{BUCKET}/archive/{storage.POINTER}") == b".gen-000001"
    objects = _objects()
    assert f"{BUCKET}/archive/.gen-000001/ingest_report.json" in objects
    assert any(o.startswith(f"{BUCKET}/archive/.gen-000001/tickets/month=2025-") for o in objects)
    assert not any(o.endswith(".key") or "pseudonym" in o for o in objects)
    assert not any(key in fs.cat_file(o) for o in objects if not o.endswith(".parquet"))
    assert str(qa_archive.archive_path(s3_archive)) == f"{URL}/.gen-000001"


@pytest.mark.parametrize("table", qa_archive.TABLES)
def test_tables_from_s3_equal_the_local_archive(s3_archive, archive, table):
    for team, period in (("ALL", None), ("HL-B", "2025-Q3"), ("hotline", "2025-03")):
        local = qa_archive.load(table, team, period, archive=archive)
        remote = qa_archive.load(table, team, period, archive=s3_archive)
        assert len(local) > 0 or table == "field_visits"
        pd.testing.assert_frame_equal(remote, local)
    pd.testing.assert_frame_equal(qa_archive.load(table, "HL-C", "2025-Q2", archive=s3_archive,
                                                  columns=["team"]),
                                  qa_archive.load(table, "HL-C", "2025-Q2", archive=archive, columns=["team"]))


def test_units_quarantine_and_report_from_s3_equal_the_local_archive(s3_archive, archive):
    pd.testing.assert_frame_equal(qa_archive.units(s3_archive), qa_archive.units(archive))
    assert qa_archive.availability(s3_archive) == qa_archive.availability(archive)
    for table in ("tickets", "surveys"):
        pd.testing.assert_frame_equal(qa_archive.quarantine(table, archive=s3_archive),
                                      qa_archive.quarantine(table, archive=archive))
    remote, local = qa_archive.ingest_report(s3_archive), qa_archive.ingest_report(archive)
    assert remote["sources"] == local["sources"] and remote["fingerprint"] == local["fingerprint"]


def test_repeat_rates_for_all_from_the_index_on_s3_equal_the_local_archive(s3_archive, archive):
    from qa_helpers.report import service

    remote, local = open_context("ALL", "2025-Q3", s3_archive), open_context("ALL", "2025-Q3", str(archive))
    assert service._contact_index(remote, remote.sources()) is not None  # the index travelled with the archive
    got = service._repeat_rates(remote, remote.sources(), remote.duckdb)
    pd.testing.assert_frame_equal(got, service._repeat_rates(local, local.sources(), local.duckdb))
    assert got.set_index("measure").loc["repeat_contact", "repeats"] > 0


def test_duckdb_sources_and_kpis_from_s3_equal_the_local_archive(s3_archive, archive):
    sql = qa_archive.scan_sql("tickets", "HL-B", "2025-Q3", archive=s3_archive)
    files = re.findall(r"'(s3://[^']+)'", sql)
    assert [f.rsplit("/", 2)[1] for f in files] == ["month=2025-07", "month=2025-08", "month=2025-09"]
    remote, local = open_context("HL-B", "2025-Q3", s3_archive), open_context("HL-B", "2025-Q3", str(archive))
    count = "SELECT count(*) AS n, count(DISTINCT customer_id) AS customers FROM {t}"
    pd.testing.assert_frame_equal(remote.query(count, t=remote.source("tickets")),
                                  local.query(count, t=local.source("tickets")))
    assert remote.query(count, t=remote.source("tickets"))["n"].iloc[0] == len(
        qa_archive.load("tickets", "HL-B", "2025-Q3", archive=archive))
    got, expected = remote.kpi_table(), local.kpi_table()
    assert (got["n"] > 0).sum() >= 5
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(remote.kpi_table(by=["channel"]), local.kpi_table(by=["channel"]))


def test_a_new_ingest_switches_the_pointer_and_a_reader_keeps_its_generation(s3_archive, archive, raw_dir, key,
                                                                             tmp_path, monkeypatch):
    first = qa_archive.archive_path(s3_archive)
    key_file = tmp_path / "keys" / "archive.pseudonym.key"
    key_file.parent.mkdir()
    key_file.write_text(key.decode("utf-8"))
    monkeypatch.setenv("QAKIT_KEY_FILE", "")  # the CLI sets it from --key-file; restored after the test
    assert main(["ingest", "--raw", str(raw_dir), "--archive", s3_archive, "--key-file", str(key_file)]) == 0
    second = qa_archive.archive_path(s3_archive)
    assert second.name == ".gen-000002" and first.name == ".gen-000001"
    # the reader that resolved the first generation still reads it, whole
    pd.testing.assert_frame_equal(qa_archive.load("surveys", "HL-B", "2025-Q3", archive=first),
                                  qa_archive.load("surveys", "HL-B", "2025-Q3", archive=archive))
    pd.testing.assert_frame_equal(qa_archive.load("tickets", archive=second), qa_archive.load("tickets", archive=archive))
    # debris of an upload that failed before its pointer switch: removed by the next ingest
    storage.filesystem().pipe_file(f"{BUCKET}/archive/.gen-000000/tickets/part-0.parquet", b"partial")
    # only the roster re-ingested: the other tables carry over from the current generation; the oldest goes
    ingest(raw_dir, s3_archive, key=key, tables=["agents"])
    third = qa_archive.archive_path(s3_archive)
    assert third.name == ".gen-000003"
    generations = {o.split("/")[2] for o in _objects() if o.count("/") > 2}
    assert generations == {".gen-000002", ".gen-000003"}
    pd.testing.assert_frame_equal(qa_archive.load("complaints", archive=third),
                                  qa_archive.load("complaints", archive=archive))
    assert not any(o.endswith(".key") for o in _objects())


def test_bad_s3_archives_give_one_line_errors(s3_server, tmp_path, raw_dir, capsys, monkeypatch):
    with pytest.raises(ArchiveError, match="no archive at s3://qakit-test/nothing"):
        qa_archive.archive_path("s3://qakit-test/nothing")
    with pytest.raises(ArchiveError, match="not an archive URL"):
        qa_archive.archive_path("s3://qakit-test")
    monkeypatch.setenv("QAKIT_KEY_FILE", str(tmp_path / "k.key"))
    assert main(["ingest", "--raw", str(raw_dir), "--archive", "s3://no-such-bucket/archive"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "no bucket 'no-such-bucket'" in error
    assert not (tmp_path / "k.key").exists()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore: fail at once rather than retry
    monkeypatch.setattr(storage, "_verified", set())
    with pytest.raises(ArchiveError, match="cannot read the archive s3://qakit-test/archive .*AWS_ENDPOINT_URL"):
        qa_archive.archive_path(URL)


@pytest.mark.slow  # notebooks in kernels on two worker processes: about a minute on a quiet 2-core machine
def test_batch_on_a_two_worker_dask_cluster_reads_the_s3_archive(s3_archive, archive, tmp_path):
    distributed = pytest.importorskip("distributed")
    from qa_helpers.run.batch import run_batch

    current = qa_archive.archive_path(s3_archive)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        manifest = run_batch("2025-Q3", teams="HL-B,HL-C", notebooks="standards,kpi_analysis", out=tmp_path,
                             archive=s3_archive, scheduler=cluster.scheduler_address, progress=False)
        workers = len(cluster.scheduler_info["workers"])
    assert workers == 2
    entries = {(e["team"], e["notebook"]): e for e in manifest["entries"]}
    assert set(entries) == {(t, s) for t in ("HL-B", "HL-C") for s in ("standards", "kpi_analysis")}
    for (team, step), entry in entries.items():
        assert entry["status"] == "ok", entry["error"]
        assert entry["parameters"]["archive"] == str(current)  # every worker read the same generation
        html = (tmp_path / "2025-Q3" / team / f"{step}.html").read_text(encoding="utf-8")
        assert team in html and "Traceback" not in html and "papermill-error-cell" not in html
    for team in ("HL-B", "HL-C"):  # the headline figures the workers computed from S3 = the local archive's
        local = open_context(team, "2025-Q3", str(archive))
        kpis = local.kpi_table().set_index("kpi")
        summary = entries[(team, "kpi_analysis")]["summary"]
        for name in ("csat", "fcr"):
            assert summary[name] == pytest.approx(kpis.loc[name, "value"]) and summary[f"{name}_n"] == kpis.loc[name, "n"]
        assert entries[(team, "standards")]["summary"]["overrides"] == int(local.targets()["overridden"].sum())
    index = (tmp_path / "2025-Q3" / "index.html").read_text(encoding="utf-8")
    assert index.count("kpi_analysis.html") == 2
    assert json.loads((tmp_path / "2025-Q3" / "manifest.json").read_text())["archive_fingerprint"] == \
        qa_archive.ingest_report(s3_archive)["fingerprint"]
