"""Benchmark helpers (issue 17): medians of alternating runs, process-tree peak memory, kill on budget."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

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


def test_foreign_cpu_counts_other_processes_and_not_the_benchmarks_own(tmp_path, capsys):
    """A child the benchmark ran and reaped is its own work; a process still unaccounted for when the
    reading is taken (here a child not yet reaped, as another user's process would be) is other work."""
    import json
    import os
    import subprocess

    since = cpu_seconds()
    subprocess.run([sys.executable, "-c", BURN_ONE_CPU_SECOND], check=True)
    assert foreign_cpu(since) < 0.5

    since = cpu_seconds()
    other = subprocess.Popen([sys.executable, "-c", BURN_ONE_CPU_SECOND])
    os.waitid(os.P_PID, other.pid, os.WEXITED | os.WNOWAIT)  # finished, not yet reaped
    assert foreign_cpu(since) >= 0.8
    other.wait()

    print_table([{"benchmark": "b", "kit_s": 1.0}], tmp_path / "r.json",
                foreign={"kpis": {"wall_s": 95.0, "foreign_cpu_s": 47.5}})
    printed = capsys.readouterr().out
    assert "Other processes' CPU during each benchmark: kpis 47.5 s over 95 s (50% of a core)" in printed
    saved = json.loads((tmp_path / "r.json").read_text())["foreign_cpu"]
    assert saved == {"kpis": {"wall_s": 95.0, "foreign_cpu_s": 47.5}}
