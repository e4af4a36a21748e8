"""Append one week to a large archive ÷ ingesting that week alone into an empty archive (issue 17).

The large archive is the benchmark cache's archive of every table (``benchmarks/.cache/archive_10M``,
built by :func:`bench_notebooks.full_archive` when absent), or the one ``$QAKIT_BENCH_ARCHIVE`` names.
The week (2025-12-22 to 28, every table) is carved from the raw exports beside the archive
(``raw_all_<n>M``) or, for an archive made of copies like the cache's 10 M one, from the 1 M
export it was copied from. The archive is only read: this benchmark copies it (never hard-links
it: a link shares the bytes) to ``benchmarks/.cache/append_<name>/``, takes the week's rows out of
the copy and writes everything it derives there. Each run appends to a fresh hard-link copy of
that private copy, alternating with an ingest of the week alone.
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

from common import CACHE, copied_archive, spread

GOAL = 1.5
KEY = b"benchmark-key"
WEEK = ("2025-12-22", "2025-12-29")
TABLES = ["tickets", "surveys", "complaints", "field_visits", "qa_reviews"]
ARCHIVE_ENV = "QAKIT_BENCH_ARCHIVE"


def large_archive(n_tickets: int = 10_000_000) -> Path:
    """The archive to append to: ``$QAKIT_BENCH_ARCHIVE``, else the cache's archive of ``n_tickets``
    tickets (built when absent, see :func:`bench_notebooks.full_archive`)."""
    if os.environ.get(ARCHIVE_ENV):
        return Path(os.environ[ARCHIVE_ENV])
    from bench_notebooks import full_archive

    full_archive(n_tickets)
    return CACHE / f"archive_{n_tickets // 1_000_000}M"


def raw_exports(archive: Path) -> Path:
    """The raw exports an archive was ingested from: ``raw_all_<n>M`` beside it (the cache's naming;
    ``raw_<n>M`` there is the ingest benchmark's ticket-only export, not an archive's)."""
    raw = archive.parent / archive.name.replace("archive_", "raw_all_", 1)
    if (raw / "truth.json").exists():
        return raw
    raise FileNotFoundError(f"no raw exports beside {archive} ({raw.name})")


def _private_copy(source: Path, target: Path) -> None:
    """A real copy of a shared archive generation (hard links would share its bytes with what we write)."""
    shutil.copytree(source, target)


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


def _history(archive: Path, folder: Path, years: int) -> Path:
    """A longer archive: ``archive`` plus ``years`` earlier copies of its months (:func:`common.copied_archive`:
    timestamps moved back a year per copy, record ids prefixed ``0<k>-`` so that they sort before the real ones,
    as ids issued earlier do; the customers kept). For measuring an append to years of history when only a
    one-year archive is at hand. Written once under ``folder`` (never into ``archive``)."""
    name = folder.relative_to(CACHE) / f"history_{years}" / "archive"
    return copied_archive(archive, str(name), [(f"0{k}", k) for k in range(1, years + 1)],
                          f"{archive.name} and {years} earlier year(s) of copies")


def _rewrite_report(generation: Path, source: Path, report: dict) -> None:
    """The derived generation's report: its file list, per-file hashes (unchanged files keep theirs) and fingerprint."""
    from qa_helpers.data import repeat_index
    from qa_helpers.data.archive import archive_files
    from qa_helpers.data.ingest import file_hashes, fingerprint

    report["files"] = archive_files(generation)
    report["sha256"] = file_hashes(generation, previous=source, known=report.get("sha256"))
    report["repeat_index"] = repeat_index.index_record(report["sha256"])
    report["fingerprint"] = fingerprint(generation, report["sha256"])
    (generation / "ingest_report.json").unlink()  # never write through a link
    (generation / "ingest_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


def _base(archive: Path, folder: Path) -> Path:
    """A copy of ``archive`` without the week's rows (a real copy of a shared archive, hard links of our
    own history one; the touched month files rewritten as new files), with its report to match."""
    from qa_helpers.data import repeat_index
    from qa_helpers.data.archive import archive_path
    from qa_helpers.data.schemas import TIME_COLUMNS

    generation = folder / "base" / ".archive.gen-000001"
    if (folder / "base.done").exists():
        return generation
    shutil.rmtree(folder / "base", ignore_errors=True)
    generation.parent.mkdir(parents=True)
    source = archive_path(archive)
    if source.is_relative_to(folder):  # our own history archive: links are safe
        subprocess.run(["cp", "-al", str(source), str(generation)], check=True)
    else:
        _private_copy(source, generation)
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
    # the index of the month the week was taken out of (all of it, for an archive written without one)
    repeat_index.build(generation, since=WEEK[0][:7] if repeat_index.current(report) else None)
    _rewrite_report(generation, source, report)
    (folder / "base.done").write_text("ok")
    return generation


def _prepared(archive: Path | None, raw: Path | None, years: int) -> tuple[Path, Path, Path, Path]:
    """The benchmark's folder, the base archive (the week taken out), the week and the week with the roster."""
    archive = Path(archive) if archive else large_archive()
    try:
        raw = Path(raw) if raw else raw_exports(archive)
    except FileNotFoundError:  # an archive built without its raw exports (e.g. rows replicated): the 1 M ones' week
        raw = raw_exports(CACHE / "archive_1M")
    folder = CACHE / f"append_{archive.name}"
    week, alone = _week(raw, folder)
    if years:
        archive = _history(archive, folder, years)
        folder = folder / f"history_{years}"
    return folder, _base(archive, folder), week, alone


def _fresh_copy(folder: Path, base: Path) -> Path:
    """A hard-link copy of the (private) base archive to append to: append never writes a file in place."""
    work = folder / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    subprocess.run(["cp", "-al", str(base), str(work / base.name)], check=True)
    (work / "archive").symlink_to(base.name)
    return work / "archive"


def run(archive: str | Path | None = None, raw: str | Path | None = None,
        repeat: int = 3, years: int = 0) -> list[dict]:
    """Median of ``repeat`` alternating runs of each, with the spread of the pairwise ratios
    (``years``: earlier years of history added to the archive first, see :func:`_history`)."""
    from qa_helpers.data.append import append
    from qa_helpers.data.ingest import ingest

    folder, base, week, alone = _prepared(archive, raw, years)
    appends, alones, cpu = [], [], {"append": [], "alone": []}
    for _ in range(repeat):
        target = _fresh_copy(folder, base)
        started, ticks = time.perf_counter(), time.process_time()
        report = append(week, target, key=KEY)
        appends.append(time.perf_counter() - started)
        cpu["append"].append(round(time.process_time() - ticks, 2))
        batch = report["batches"][-1]["sources"]

        shutil.rmtree(folder / "alone", ignore_errors=True)
        started, ticks = time.perf_counter(), time.process_time()
        single = ingest(alone, folder / "alone" / "archive", key=KEY)
        alones.append(time.perf_counter() - started)
        cpu["alone"].append(round(time.process_time() - ticks, 2))
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
             "spread": spread(ratios), "goal": f"<= {GOAL}", "met": ratio <= GOAL,
             "detail": {"append_s": [round(t, 2) for t in appends], "alone_s": [round(t, 2) for t in alones],
                        "append_cpu_s": cpu["append"], "alone_cpu_s": cpu["alone"],
                        "rows_alone": sum(e["raw"] for t, e in single["sources"].items() if t != "agents")}}]


def profile(archive: str | Path | None = None, years: int = 0, top: int = 25) -> str:
    """cProfile of one append of the week (after the archive is prepared): the functions with the
    most cumulative time, as text."""
    import cProfile
    import io
    import pstats

    from qa_helpers.data.append import append

    folder, base, week, _ = _prepared(archive, None, years)
    target = _fresh_copy(folder, base)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(append, week, target, key=KEY)
    wall = time.perf_counter() - started
    shutil.rmtree(folder / "run", ignore_errors=True)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return f"append wall {wall:.2f} s\n{out.getvalue()}"


if __name__ == "__main__":
    import sys

    from common import print_table

    arguments = [a for a in sys.argv[1:] if a != "--profile"]
    archive, years = (arguments[0] if arguments else None), (int(arguments[1]) if len(arguments) > 1 else 0)
    if "--profile" in sys.argv:
        print(profile(archive, years))
    else:
        print_table(run(archive, years=years))
