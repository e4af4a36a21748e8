"""Benchmark helpers (issue 17): medians of alternating runs, process-tree peak memory, kill on budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import (alternating, cpu_seconds, foreign_cpu, median_ratio, print_table, speed_probe,  # noqa: E402
                    tree_peak_run)

GRANDCHILD = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
              "'import time; block = bytearray(300 * 2**20); block[::4096] = b\"x\" * len(block[::4096]); "
              "time.sleep(0.6)'], check=True)")


def test_alternating_runs_interleave_and_the_row_takes_medians_and_spread():
    order = []
    times = alternating({"kit": lambda: order.append("k"), "ref": lambda: order.append("r")}, repeat=3)
    assert order == ["k", "r", "k", "r", "k", "r"] and all(len(v) == 3 for v in times.values())
    row = median_ratio([1.0, 3.0, 2.0], [4.0, 4.0, 10.0], "<= 1", lambda r: r <= 1, "b", "ref")
    assert row["kit_s"] == 2.0 and row["reference_s"] == 4.0 and row["ratio"] == 0.5 and row["met"]
    assert row["kit_min_max"] == "1.00–3.00" and row["ref_min_max"] == "4.00–10.00"
    assert row["spread"] == "0.20–0.75"  # the ratio of each round's pair: 1/4, 3/4, 2/10
    faster = median_ratio([1.0, 2.0, 3.0], [10.0, 30.0, 20.0], ">= 10", lambda r: r >= 10, "b", "ref", invert=True)
    assert faster["ratio"] == 10.0 and faster["met"]


def test_tree_peak_counts_grandchildren_and_kills_past_the_budget():
    grown = tree_peak_run([sys.executable, "-c", GRANDCHILD], timeout=60)
    assert grown["status"] == "ok" and grown["peak_mb"] > 300  # the grandchild's 300 MB is in the tree's peak
    slow = tree_peak_run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert slow["status"] == "timeout" and slow["seconds"] < 10
    big = tree_peak_run([sys.executable, "-c", GRANDCHILD], timeout=60, memory_limit_mb=150)
    assert big["status"] == "memory" and big["peak_mb"] > 150
    failed = tree_peak_run([sys.executable, "-c", "raise SystemExit('no such archive')"], timeout=60)
    assert failed["status"] == "failed" and failed["error"] == "no such archive"


def test_the_speed_probe_is_timed_and_printed_and_saved_with_the_results(tmp_path, capsys):
    """The probe's seconds say how fast the machine was, so the header and the JSON carry them."""
    import json

    seconds = speed_probe(repeat=1)
    assert 0 < seconds < 60
    print_table([{"benchmark": "b", "kit_s": 1.0}], tmp_path / "r.json", started="then",
                probe={"start": seconds, "end": 1.25})
    assert f"Speed probe: {seconds:.2f} s (start) · 1.25 s (end)" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["speed_probe_s"] == {"start": seconds, "end": 1.25}


BURN_ONE_CPU_SECOND = "import time\nwhile time.process_time() < 1.0: pass"

ORPHAN = f"""
import subprocess, sys, time
sys.path.insert(0, {str(ROOT / "benchmarks")!r})
from common import adopt_orphans, cpu_seconds, foreign_cpu, reap_children
adopt_orphans()
since = cpu_seconds()
# a child that leaves a grandchild in a session of its own and exits, as papermill leaves its kernel
burn = {BURN_ONE_CPU_SECOND!r}
subprocess.run([sys.executable, "-c", "import subprocess, sys; "
                f"subprocess.Popen([sys.executable, '-c', {{burn!r}}], start_new_session=True)"], check=True)
time.sleep(0.1)
orphan = [p for p in __import__("psutil").Process().children() if p.status() != "zombie"]
while any(p.is_running() and p.status() != "zombie" for p in orphan):
    time.sleep(0.05)
reap_children()
print(len(orphan), foreign_cpu(since)["own"])
"""


def test_foreign_cpu_is_the_machines_less_the_benchmarks_own_and_the_kernel_threads(monkeypatch):
    """Not clipped at zero: the machine's count is kept in ticks, so a quiet section may read a little below."""
    import common

    monkeypatch.setattr(common, "cpu_seconds", lambda: {"machine": 130.0, "own": 110.0, "kernel_threads": 7.0})
    assert foreign_cpu({"machine": 100.0, "own": 90.0, "kernel_threads": 5.0}) == {
        "own": 20.0, "kernel_threads": 2.0, "foreign": 8.0}
    assert foreign_cpu({"machine": 129.0, "own": 109.0, "kernel_threads": 6.9})["foreign"] == pytest.approx(-0.1)


def test_a_reaped_child_and_an_adopted_orphan_count_as_the_benchmarks_own_cpu():
    """papermill's kernel runs in a session of its own; when its parent goes first it is an orphan, which the
    benchmark adopts (``adopt_orphans``) and reaps, so its CPU is not taken for other work."""
    since = cpu_seconds()
    subprocess.run([sys.executable, "-c", BURN_ONE_CPU_SECOND], check=True)
    assert cpu_seconds()["own"] - since["own"] >= 0.9

    adopted, own = subprocess.run([sys.executable, "-c", ORPHAN], check=True, capture_output=True,
                                  text=True).stdout.split()
    assert int(adopted) == 1 and float(own) >= 0.9


def test_other_processes_cpu_is_printed_and_saved(tmp_path, capsys):
    import json

    spent = {"kpis": {"wall_s": 95.0, "foreign_cpu_s": 47.5, "own_cpu_s": 120.0, "kernel_threads_cpu_s": 0.3},
             "append": {"wall_s": 4.0, "foreign_cpu_s": 0.1, "own_cpu_s": 5.0, "kernel_threads_cpu_s": 0.0}}
    print_table([{"benchmark": "b", "kit_s": 1.0}], tmp_path / "r.json", foreign=spent)
    printed = capsys.readouterr().out
    assert ("CPU of other processes during each benchmark: kpis 47.5 s over 95 s (50% of a core) · "
            "append 0.1 s over 4 s (a row measured") in printed  # no share of a core for a section of seconds
    assert json.loads((tmp_path / "r.json").read_text())["foreign_cpu"] == spent


def test_cached_archives_of_an_older_layout_are_dropped(tmp_path, monkeypatch):
    """A cached archive whose ingest report names another layout (or none: written before the layout was
    recorded) is removed with everything built from it; the raw exports and past results stay."""
    import json

    import common
    from qa_helpers.data.ingest import ARCHIVE_LAYOUT

    monkeypatch.setattr(common, "CACHE", tmp_path)
    for folder in ("raw_all_1M", "archive_1M", "archive_10M", "notebooks_out", ".archive_1M.gen-000001"):
        (tmp_path / folder).mkdir()
    (tmp_path / "results.json").write_text("{}")
    (tmp_path / "growth_results.json").write_text("{}")
    report = tmp_path / "archive_1M" / "ingest_report.json"
    report.write_text(json.dumps({"layout": ARCHIVE_LAYOUT}))
    assert common.drop_stale_archives() == []
    assert len(list(tmp_path.iterdir())) == 7
    report.write_text(json.dumps({"sources": {}}))  # before layouts were recorded: months in time order
    assert common.drop_stale_archives() == [".archive_1M.gen-000001", "archive_10M", "archive_1M",
                                            "growth_results.json", "notebooks_out"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw_all_1M", "results.json"]


def test_a_partial_run_keeps_its_table_apart_from_the_whole_runs(monkeypatch, tmp_path):
    import common

    monkeypatch.setattr(common, "CACHE", tmp_path)
    assert common.results_path(False) == tmp_path / "results.json"
    assert common.results_path(True) == tmp_path / "results_quick.json"
    assert common.results_path(False, ["notebooks", "batch"]) == tmp_path / "results_only_notebooks_batch.json"
