"""Operator mistakes: each stops before any work with one line on stderr and exit status 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from qa_helpers.cli import main


@pytest.fixture
def read_only(tmp_path) -> Path:
    """A folder nobody may write in: chmod 555 for a user; for root (whom chmod does not stop), /sys."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    try:
        tempfile.TemporaryFile(dir="/sys").close()
    except OSError:
        yield Path("/sys")
        return
    pytest.skip("running as root with a writable /sys: no read-only folder to test with")


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


@pytest.fixture
def silent_port():
    """A port that accepts connections and never says anything (a firewall or a hung service)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    yield server.getsockname()[1]
    server.close()


def _one_line_exit_2(argv: list[str], capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


RUN = ["run", "--teams", "HL-B", "--notebooks", "scorecard", "--no-html"]


@pytest.mark.parametrize("period, expected", [
    ("0000", "year must be between 1900 and 2199"),
    ("9999-Q4", "year must be between 1900 and 2199"),
    ("２０２５-Q4", "ASCII digits"),        # full-width digits
    ("٢٠٢٥-Q4", "ASCII digits"),            # Arabic-Indic digits
    ("۲۰۲۵", "ASCII digits"),               # Persian digits
])
def test_periods_outside_the_calendar_or_not_in_ascii_digits(period, expected, tmp_path, archive, capsys):
    err = _one_line_exit_2([*RUN, "--period", period, "--out", str(tmp_path / "reports")], capsys)
    assert expected in err
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_jobs_below_one(jobs, tmp_path, archive, capsys):
    err = _one_line_exit_2([*RUN, "--period", "2025-Q3", "--out", str(tmp_path / "r"), "--jobs", jobs], capsys)
    assert f"--jobs {jobs}: give at least 1" in err


def test_out_is_a_file(a_file, archive, capsys):
    err = _one_line_exit_2([*RUN, "--period", "2025-Q3", "--out", str(a_file)], capsys)
    assert f"--out folder {a_file} is a file" in err


def test_out_under_a_file(a_file, archive, capsys):
    err = _one_line_exit_2([*RUN, "--period", "2025-Q3", "--out", str(a_file / "reports")], capsys)
    assert f"{a_file} is a file" in err


def test_out_not_writable(read_only, archive, capsys):
    err = _one_line_exit_2([*RUN, "--period", "2025-Q3", "--out", str(read_only / "reports")], capsys)
    assert "cannot be written" in err and str(read_only) in err


def test_period_folder_is_a_file(tmp_path, archive, capsys):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "2025-Q3").write_text("")
    err = _one_line_exit_2([*RUN, "--period", "2025-Q3", "--out", str(tmp_path / "reports")], capsys)
    assert "period folder" in err and "2025-Q3 is a file" in err


@pytest.mark.parametrize("file, text, expected", [
    ("standards.yml", "targets: [\n", "standards.yml line 2: not valid YAML"),
    ("standards.yml", "targets:\n  csat: 3.5\n", "standards.yml"),
    ("actions.yml", "actions:\n  - action_id: A1\n    start: someday\n", "actions.yml"),
    ("panel_scores.csv", 'unit,period\n"HL-B,2025-Q3\n', "panel_scores.csv: not a readable CSV"),
    ("topics.yml", "sentiment:\n  negative: {zh: [差]}\n  positive: {zh: 好}\n", "topics.yml: expected a mapping"),
])
def test_broken_config_stops_the_batch_before_it_starts(file, text, expected, tmp_path, archive, capsys):
    config = tmp_path / "config"
    config.mkdir()
    (config / file).write_text(text, encoding="utf-8")
    out = tmp_path / "reports"
    err = _one_line_exit_2([*RUN, "--period", "2025-Q3", "--out", str(out), "--config", str(config)], capsys)
    assert expected in err
    assert not out.exists()


def test_unreachable_scheduler_fails_in_seconds(silent_port, tmp_path, archive, capsys):
    pytest.importorskip("distributed")
    started = time.perf_counter()
    err = _one_line_exit_2([*RUN, "--period", "2025-Q3", "--out", str(tmp_path / "reports"),
                            "--scheduler", f"tcp://127.0.0.1:{silent_port}"], capsys)
    assert time.perf_counter() - started < 15
    assert "no Dask scheduler answered within 5 s" in err
    assert not (tmp_path / "reports" / "2025-Q3").exists()


def test_ingest_into_a_read_only_parent(read_only, raw_dir, capsys):
    err = _one_line_exit_2(["ingest", "--raw", str(raw_dir), "--archive", str(read_only / "archive")], capsys)
    assert "its parent folder" in err and "cannot be written" in err


@pytest.mark.parametrize("where", ["archive_is_a_file", "parent_is_a_file"])
def test_ingest_into_a_file(where, a_file, raw_dir, capsys):
    target = a_file if where == "archive_is_a_file" else a_file / "archive"
    err = _one_line_exit_2(["ingest", "--raw", str(raw_dir), "--archive", str(target)], capsys)
    assert f"{a_file} is a file" in err


def test_key_file_that_cannot_be_made(a_file, raw_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("QAKIT_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("QAKIT_KEY_FILE", str(a_file / "archive.key"))
    err = _one_line_exit_2(["ingest", "--raw", str(raw_dir), "--archive", str(tmp_path / "archive")], capsys)
    assert "pseudonymisation key file" in err and f"{a_file} is a file" in err
    assert not (tmp_path / "archive").exists()


@pytest.mark.parametrize("args, expected", [
    (["--teams", "3"], "--teams 3: the sample needs at least 6 teams"),
    (["--tickets", "-5"], "--tickets -5: the sample needs at least 1000 tickets"),
    (["--tickets", "0"], "--tickets 0: the sample needs at least 1000 tickets"),
])
def test_sample_sizes_the_generator_cannot_make(args, expected, tmp_path, capsys):
    err = _one_line_exit_2(["sample", "--out", str(tmp_path / "raw"), *args], capsys)
    assert expected in err
    assert not (tmp_path / "raw").exists()


def test_sample_into_a_file(a_file, capsys):
    err = _one_line_exit_2(["sample", "--out", str(a_file), "--tickets", "1000"], capsys)
    assert "is a file" in err


@pytest.mark.parametrize("where", ["a_folder", "under_a_file"])
def test_map_draft_that_cannot_be_written(where, a_file, raw_dir, tmp_path, capsys):
    out = tmp_path if where == "a_folder" else a_file / "sources.yml"
    roster = raw_dir / "agents_roster.csv"
    err = _one_line_exit_2(["map", str(roster), "--table", "agents", "--out", str(out)], capsys)
    assert "--out file" in err


def test_the_command_itself_exits_2_with_one_line(tmp_path):
    """The installed entry point, not just main(): status 2 and one line, in a fresh process."""
    done = subprocess.run([sys.executable, "-m", "qa_helpers", "run", "--period", "２０２５-Q4",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "Traceback" not in done.stderr
