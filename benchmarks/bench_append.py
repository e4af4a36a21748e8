"""Append one week to a large archive ÷ ingesting that week alone into an empty archive (issue 17).

The large archive is a shared prebuilt one (``/work/scale/archive_10M`` by default, or any archive
made by ``qakit ingest`` from ``<scale>/raw_<tag>``) with the week's rows taken out of a hard-link
copy (never written in place); the week is carved from the same raw exports. Each run appends to a
fresh hard-link copy of that archive, alternating with an ingest of the week alone.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common import CACHE

GOAL = 1.5
KEY = b"benchmark-key"
WEEK = ("2025-12-22", "2025-12-29")
TABLES = ["tickets", "surveys", "complaints", "field_visits", "qa_reviews"]
ARCHIVE_10M = os.environ.get("QAKIT_BENCH_ARCHIVE", "/work/scale/archive_10M")
ARCHIVE_1M = os.environ.get("QAKIT_BENCH_ARCHIVE_QUICK", "/work/scale/archive_1M")


def _week(raw: Path, folder: Path) -> tuple[Path, Path]:
    """The week's exports (new file names) and, beside them, the same with the roster (to ingest alone)."""
    from qa_helpers.data.append import carve

    week, alone = folder / "week", folder / "week_alone"
    if not (folder / "week.done").exists():
        shutil.rmtree(week, ignore_errors=True)
        shutil.rmtree(alone, ignore_errors=True)
        carve(raw, week, *WEEK, tables=TABLES)
        for path in list(week.iterdir()):
            path.rename(week / path.name.replace(".", "_week.", 1))
        alone.mkdir()
        for path in [*week.iterdir(), *raw.glob("agents_roster*.csv")]:
            os.link(path, alone / path.name)
        (folder / "week.done").write_text("ok")
    return week, alone


def _base(archive: Path, folder: Path) -> Path:
    """A hard-link copy of ``archive`` without the week's rows (the touched month files rewritten as new
    files, so the shared archive is never changed), with its report and file list to match."""
    from qa_helpers.data.archive import archive_files, archive_path
    from qa_helpers.data.ingest import fingerprint
    from qa_helpers.data.schemas import TIME_COLUMNS

    generation = folder / "base" / ".archive.gen-000001"
    if (folder / "base.done").exists():
        return generation
    shutil.rmtree(folder / "base", ignore_errors=True)
    generation.parent.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(archive_path(archive)), str(generation)], check=True)
    report = json.loads((generation / "ingest_report.json").read_text(encoding="utf-8"))
    low, high = (pa.scalar(np.datetime64(d, "us"), pa.timestamp("us")) for d in WEEK)
    for table in TABLES:
        for path in sorted((generation / table).glob("month=2025-12/*.parquet")):
            rows = pq.read_table(path)
            time_column = rows[TIME_COLUMNS[table]]
            inside = pc.fill_null(pc.and_(pc.greater_equal(time_column, low), pc.less(time_column, high)), False)
            kept = rows.filter(pc.invert(inside))
            fresh = path.with_suffix(".tmp")
            pq.write_table(kept, fresh, row_group_size=131_072)
            os.replace(fresh, path)  # a new file: the shared archive's inode is untouched
            report["sources"][table]["archived"] -= rows.num_rows - kept.num_rows
            report["sources"][table]["raw"] -= rows.num_rows - kept.num_rows
    report["files"] = archive_files(generation)
    report["fingerprint"] = fingerprint(generation)
    (generation / "ingest_report.json").unlink()
    (generation / "ingest_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / "base.done").write_text("ok")
    return generation


def run(archive: str | Path = ARCHIVE_10M, raw: str | Path | None = None,
        repeat: int = 3) -> list[dict]:
    """Median of ``repeat`` alternating runs of each, with the spread of the pairwise ratios."""
    from qa_helpers.data.append import append
    from qa_helpers.data.ingest import ingest

    archive = Path(archive)
    raw = Path(raw) if raw else archive.parent / archive.name.replace("archive", "raw")
    folder = CACHE / f"append_{archive.name}"
    week, alone = _week(raw, folder)
    base = _base(archive, folder)
    appends, alones = [], []
    for _ in range(repeat):
        work = folder / "run"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        subprocess.run(["cp", "-al", str(base), str(work / base.name)], check=True)
        (work / "archive").symlink_to(base.name)
        started = time.perf_counter()
        report = append(week, work / "archive", key=KEY)
        appends.append(time.perf_counter() - started)
        batch = report["batches"][-1]["sources"]

        shutil.rmtree(folder / "alone", ignore_errors=True)
        started = time.perf_counter()
        single = ingest(alone, folder / "alone" / "archive", key=KEY)
        alones.append(time.perf_counter() - started)
    shutil.rmtree(folder / "run", ignore_errors=True)
    shutil.rmtree(folder / "alone", ignore_errors=True)
    ratios = [a / b for a, b in zip(appends, alones)]
    rows_week = sum(e["raw"] for e in batch.values())
    archived = sum(e["archived"] for t, e in report["sources"].items() if t != "agents")
    ratio = statistics.median(appends) / statistics.median(alones)
    return [{"benchmark": f"append one week ({rows_week / 1e3:.0f} k raw rows, {len(batch)} sources) to an archive "
                          f"of {archived / 1e6:.1f} M rows (median of {repeat}, alternating)",
             "kit_s": round(statistics.median(appends), 2),
             "reference": "ingest of that week alone into an empty archive",
             "reference_s": round(statistics.median(alones), 2), "ratio": round(ratio, 2),
             "spread": f"{min(ratios):.2f}–{max(ratios):.2f}", "goal": f"<= {GOAL}", "met": ratio <= GOAL,
             "detail": {"append_s": [round(t, 2) for t in appends], "alone_s": [round(t, 2) for t in alones],
                        "rows_alone": sum(e["raw"] for t, e in single["sources"].items() if t != "agents")}}]


if __name__ == "__main__":
    import sys

    from common import print_table

    print_table(run(*sys.argv[1:2]))
