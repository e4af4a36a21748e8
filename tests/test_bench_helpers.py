"""Benchmark helpers (issue 17): medians of alternating runs, process-tree peak memory, kill on budget."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from common import alternating, median_ratio, print_table, speed_probe, tree_peak_run  # noqa: E402

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
