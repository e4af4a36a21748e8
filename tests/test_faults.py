"""Crashes at scripted points: ingest leaves the old or the new archive, whole; a killed batch leaves
no process behind and a manifest that --resume completes.

Each kill is real: ``$QAKIT_FAULT`` makes the process SIGKILL itself at a named point
(:mod:`qa_helpers.faults`), so no ``finally`` or ``atexit`` runs — as with ``kill -9`` or a power
cut of the process. ``benchmarks/fault_injection.py`` does the same at random moments.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from qa_helpers.data.archive import load
from qa_helpers.data.ingest import ingest
from qa_helpers.errors import ArchiveError, LockedError
from qa_helpers.faults import FAULT_ENV, TAG_ENV, archive_state, leftovers, manifest_problems, tagged_processes
from qa_helpers.locks import folder_lock
from qa_helpers.run.batch import run_batch

KILLED = -signal.SIGKILL


def _qakit(*args: str, fault: str | None = None, tag: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env.update({FAULT_ENV: fault} if fault else {})
    env.update({TAG_ENV: tag} if tag else {})
    return subprocess.run([sys.executable, "-m", "qa_helpers", *args], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def two_exports(tmp_path_factory) -> dict:
    """Two different small exports and the fingerprints of the archives they make."""
    from qa_helpers.data.sample import generate

    base = tmp_path_factory.mktemp("faults")
    known, raws = {}, {}
    for name, seed in (("old", 3), ("new", 4)):
        raws[name] = base / f"raw-{name}"
        generate(raws[name], seed=seed, n_tickets=2000)
        known[name] = ingest(raws[name], base / f"reference-{name}" / "archive")["fingerprint"]
    assert known["old"] != known["new"]
    return {"raw": raws, "known": known, "old_archive": base / "reference-old"}


def _old_archive(two_exports: dict, folder: Path) -> Path:
    """A copy of the old archive (its link, generation and lock file) in ``folder``."""
    shutil.copytree(two_exports["old_archive"], folder, symlinks=True)
    return folder / "archive"


def _to_old_layout(archive: Path) -> None:
    """Turn a generation archive into the plain folder earlier kit versions wrote."""
    generation = archive.resolve()
    archive.unlink()
    generation.rename(archive)
    (archive / ".qakit-generation").unlink()
    report = json.loads((archive / "ingest_report.json").read_text(encoding="utf-8"))
    del report["files"]
    (archive / "ingest_report.json").write_text(json.dumps(report), encoding="utf-8")


@pytest.mark.parametrize("layout, point, survivor", [
    ("generations", "ingest:staged", "old"),     # the new generation is complete, the link not yet switched
    ("generations", "ingest:linked", "old"),     # the new link exists beside the archive, not yet renamed over it
    ("generations", "ingest:switched", "new"),   # switched; the old generation not yet removed
    ("generations", "ingest:cleanup", "new"),    # the old generation half removed
    ("old layout", "ingest:staged", "old"),      # an archive of earlier versions (a plain folder) ...
    ("old layout", "ingest:linked", "old"),
    ("old layout", "ingest:switched", "new"),    # ... exchanged whole with the new link
])
def test_an_ingest_killed_anywhere_leaves_the_old_or_the_new_archive_whole(two_exports, tmp_path, layout, point,
                                                                          survivor):
    archive = _old_archive(two_exports, tmp_path / "data")
    if layout == "old layout":
        _to_old_layout(archive)
    assert archive_state(archive, two_exports["known"]) == "old"

    killed = _qakit("ingest", "--raw", str(two_exports["raw"]["new"]), "--archive", str(archive), fault=point)
    assert killed.returncode == KILLED, killed.stderr
    assert archive_state(archive, two_exports["known"]) == survivor
    assert leftovers(archive)  # what the crash left (a generation, a link, the old archive) ...

    ingest(two_exports["raw"]["new"], archive)
    assert archive_state(archive, two_exports["known"]) == "new"
    assert leftovers(archive) == []  # ... the next ingest removed
    assert archive.is_symlink() and not list(archive.parent.glob(".archive-*"))


def test_staging_of_earlier_kit_versions_is_cleaned_and_nothing_else(two_exports, tmp_path):
    archive = _old_archive(two_exports, tmp_path / "data")
    old_staging = tmp_path / "data" / ".archive-k2x9_q1a"  # tempfile.mkdtemp's name, as earlier versions made
    (old_staging / "tickets").mkdir(parents=True)
    (old_staging / "ingest_report.json").write_text("{}")
    foreign = tmp_path / "data" / ".archive-notes123"
    (foreign / "mine.txt").parent.mkdir()
    (foreign / "mine.txt").write_text("not the kit's")
    unmarked = tmp_path / "data" / ".archive.gen-000099"  # a kit-like name without the kit's marker
    (unmarked / "tickets").mkdir(parents=True)
    ingest(two_exports["raw"]["new"], archive)
    assert not old_staging.exists()
    assert (foreign / "mine.txt").exists() and (unmarked / "tickets").exists()


def test_an_archive_whose_files_differ_from_its_report_is_refused(two_exports, tmp_path):
    assert len(load("tickets", archive=_old_archive(two_exports, tmp_path / "whole"))) > 0
    archive = _old_archive(two_exports, tmp_path / "data")
    month = sorted((archive / "tickets").glob("month=*/part-0.parquet"))[-1]
    month.unlink()  # as the replace step of earlier versions left it when killed
    with pytest.raises(ArchiveError) as refused:
        load("tickets", archive=archive)
    message = str(refused.value)
    assert str(archive) in message and "missing tickets/" in message and "\n" not in message


def test_a_second_ingest_into_the_same_archive_is_refused_while_one_runs(two_exports, tmp_path):
    archive = tmp_path / "archive"
    with folder_lock(tmp_path / ".archive.lock", "archive"):
        with pytest.raises(LockedError, match=rf"pid {os.getpid()} on host"):
            ingest(two_exports["raw"]["old"], archive)
    assert not archive.exists()


PARAMS = '''team: str = "ALL"  # unit
period: str = "2025-Q3"  # period
archive: str = ""  # archive'''
PROBE = '''from qa_helpers.report.context import open_context, record_summary
record_summary(rows=len(open_context(team, period, archive).load("tickets")))'''


@pytest.fixture(scope="module")
def probes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("probes")
    for name in ("01_probe", "02_second"):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
                    nbformat.v4.new_code_cell(PROBE)]
        nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def _gone(tag: str, within_s: float = 5.0) -> list:
    deadline = time.monotonic() + within_s
    while (alive := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


@pytest.mark.parametrize("point", ["batch:recorded@2", "batch:manifest@3"])
def test_a_killed_batch_leaves_no_process_and_resume_completes_it(probes, tmp_path, archive, point):
    out, tag = tmp_path / "reports", uuid.uuid4().hex
    args = ["run", "--period", "2025-Q3", "--teams", "HL-A,HL-B", "--notebooks-dir", str(probes),
            "--archive", str(archive), "--out", str(out), "--jobs", "2", "--no-html"]
    killed = _qakit(*args, fault=point, tag=tag)
    assert killed.returncode == KILLED, killed.stderr
    assert _gone(tag) == []  # workers and their kernels died with the run

    period_dir = out / "2025-Q3"
    crashed = json.loads((period_dir / "manifest.json").read_text(encoding="utf-8"))  # whole, never half-written
    done = {(e["team"], e["notebook"]) for e in crashed["entries"] if e["status"] == "ok"}
    assert len(crashed["entries"]) == 4 and 1 <= len(done) < 4
    assert {e["status"] for e in crashed["entries"]} <= {"ok", "pending"}

    resumed = run_batch("2025-Q3", teams="HL-A,HL-B", out=out, archive=archive, jobs=2, resume=True,
                        notebooks_dir=probes, progress=False, html=False)
    statuses = {(e["team"], e["notebook"]): e["status"] for e in resumed["entries"]}
    assert {k for k, s in statuses.items() if s == "skipped"} == done
    assert {k for k, s in statuses.items() if s == "ok"} == set(statuses) - done
    assert manifest_problems(period_dir) == []


def test_resume_reruns_an_output_that_is_not_the_one_recorded(probes, tmp_path, archive):
    out = tmp_path / "reports"
    args = dict(teams="HL-B,HL-C", out=out, archive=archive, jobs=2, notebooks_dir=probes, progress=False, html=False)
    run_batch("2025-Q3", **args)
    truncated = out / "2025-Q3" / "HL-B" / "probe.ipynb"
    truncated.write_bytes(truncated.read_bytes()[:200])  # as a killed writer of an earlier version left it
    debris = out / "2025-Q3" / "HL-C" / ".second.partial.ipynb"
    debris.write_text("{")
    statuses = {(e["team"], e["notebook"]): e["status"] for e in run_batch("2025-Q3", resume=True, **args)["entries"]}
    assert statuses == {("HL-B", "probe"): "ok", ("HL-B", "second"): "skipped",
                        ("HL-C", "probe"): "skipped", ("HL-C", "second"): "skipped"}
    assert not debris.exists() and manifest_problems(out / "2025-Q3") == []


def test_a_second_run_on_the_same_period_folder_is_refused(probes, tmp_path, archive):
    period_dir = tmp_path / "reports" / "2025-Q3"
    period_dir.mkdir(parents=True)
    with folder_lock(period_dir / ".qakit-run.lock", "the report folder"):
        with pytest.raises(LockedError, match=rf"in use by another qakit process \(pid {os.getpid()} on host"):
            run_batch("2025-Q3", teams="HL-B", out=tmp_path / "reports", archive=archive, notebooks_dir=probes,
                      progress=False)
    assert not (period_dir / "manifest.json").exists()
