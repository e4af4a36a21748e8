"""Ingest of a 10 M-row ticket export ÷ a bare pyarrow CSV read + parquet write of the same file."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common import CACHE

GOAL = 2.0


def sample(n_tickets: int) -> Path:
    """The generator's ticket export (cached: generating 10 M rows takes minutes)."""
    from qa_helpers.data.sample import generate

    folder = CACHE / f"raw_{n_tickets}"
    if not (folder / "truth.json").exists():
        generate(folder, seed=7, n_tickets=n_tickets, tables=("agents", "tickets"))
    return folder


def run(n_tickets: int, repeat: int = 2) -> dict:
    """Best of ``repeat`` runs of each, alternating, so a slow moment of the machine hits neither alone."""
    from qa_helpers.data.ingest import ingest

    raw = sample(n_tickets)
    work = CACHE / "ingest_work"
    csv = next(raw.glob("helpdesk_tickets_*.csv"))
    references, kits = [], []
    for _ in range(repeat):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        started = time.perf_counter()
        table = pacsv.read_csv(csv, read_options=pacsv.ReadOptions(encoding="gb18030"))
        pq.write_table(table, work / "reference.parquet")
        references.append(time.perf_counter() - started)
        rows = table.num_rows
        del table

        started = time.perf_counter()
        report = ingest(raw, work / "archive", key=b"benchmark-key", tables=["tickets"])
        kits.append(time.perf_counter() - started)
        entry = report["sources"]["tickets"]
        assert entry["raw"] == entry["archived"] + entry["quarantined"] == rows
    kit, reference = min(kits), min(references)
    return {"benchmark": f"ingest {rows / 1e6:.1f} M ticket rows (best of {repeat})", "kit_s": round(kit, 2),
            "reference": "pyarrow CSV read + parquet write", "reference_s": round(reference, 2),
            "ratio": round(kit / reference, 2), "goal": f"<= {GOAL}", "met": kit / reference <= GOAL}
