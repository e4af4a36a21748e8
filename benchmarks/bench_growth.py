"""Growth: ingest, KPI tables and one notebook at 1 M, 10 M and 30 M tickets, so the cost curve shows.

Each row gives seconds and peak memory (MB) and both as a multiple of the 1 M row; a linear
cost makes the 10 M row about 10× and the 30 M row about 30×.

- **ingest**: ``ingest(tables=["tickets"])`` of the ticket export (agents roster beside it) in a
  fresh process; wall time and peak memory of its process tree.
- **KPI tables**: ``kpi_table`` by team × week × channel over *every* row of the archive (all
  months, every table) in a fresh process: median of 3 runs after one warm-up, and the process's
  peak memory (``VmHWM``).
- **notebook 03 (KPI analysis) for ALL × 2025** with the ``papermill`` CLI (kernel start included),
  peak memory of the process tree. In the 30 M archive 2025 is one year of three: the row shows
  what a year's report costs once the archive holds years of history (a unit and period read only
  their own month files), not 30 M rows in one report.

The 1 M archive and export are the generator's (``generate(seed=7, n_teams=20)`` and ``ingest``;
see :func:`bench_notebooks.full_archive`). Larger data is built from them cheaply and cached in
``benchmarks/.cache``:

- ``archive_10M``: the 1 M archive and nine copies of its month files in the same months, with new
  record and customer ids (:func:`common.copied_archive`; the same proportions of every table).

- ``archive_30M``: three years. The 10 M archive's month files are linked unchanged, and each is
  copied twice by DuckDB with every timestamp shifted by -1 and -2 years and every record id
  (``*_id`` except agent and customer) prefixed ``Y1-`` / ``Y2-`` so ids stay unique and links
  between tables hold; a shifted file goes to its shifted month's folder as ``<file>-y1.parquet``
  (``-y2``). The ingest report is the 10 M one with row counts tripled and the new file list.
- ``raw_10M`` and ``raw_30M``: the 1 M ticket export streamed 10 and 30 times into one CSV (header
  once), copy *r* with ticket ids prefixed (``TK`` → ``TK-R<r>-``, ``TEST-`` → ``TEST-R<r>-``) and
  its dates moved back *r* // 10 years (``2025/`` → ``2024/``, ...: 30 M is three years, like the
  archive), in 64 MB blocks of bytes (GB18030 is ASCII-safe for these patterns), never held in
  memory. The agents roster is copied beside it.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from common import CACHE, ROOT, copied_archive, raw_export, tree_peak_run

SIZES = (1_000_000, 10_000_000, 30_000_000)
TIMEOUT_S = 900
MEMORY_LIMIT_MB = 20 * 1024  # of a 24 GB machine (4 GB left to the system): a run that needs more is stopped and reported
BLOCK = 64 * 2**20


def _tag(n: int) -> str:
    return f"{n // 1_000_000}M"


def archive_30m(source: Path) -> Path:
    """The 30 M-ticket, three-year archive derived from the 10 M one (cached; see the module docstring)."""
    return copied_archive(source, "archive_30M", [("Y1", 1), ("Y2", 2)],
                          "benchmark archive: the 10 M archive plus its copies shifted by -1 and -2 years")


def _shift_block(block: bytes, copy: int) -> bytes:
    """Copy ``copy`` of export lines: ids prefixed ``R<copy>-``, dates shifted back ``copy // 10`` years."""
    shift = copy // 10
    if shift:
        years = {b"2025/": f"{2025 - shift}/".encode(), b"2026/": f"{2026 - shift}/".encode()}
        block = re.sub(rb"202[56]/", lambda m: years[m.group(0)], block)
    return re.sub(rb"\n(TK|TEST-)", lambda m: b"\n" + m.group(1).rstrip(b"-") + f"-R{copy}-".encode(), block)


def raw_copies(source: Path, copies: int) -> Path:
    """A ticket export of ``copies`` × the 1 M one, streamed (cached; see the module docstring)."""
    folder = CACHE / f"raw_{copies}M"
    csv = next(source.glob("helpdesk_tickets_*.csv"))
    target = folder / csv.name
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(next(source.glob("agents_roster*.csv")), folder)
    with open(target, "wb") as out:
        for copy in range(copies):
            with open(csv, "rb") as stream:
                header = stream.readline()
                if copy == 0:
                    out.write(header)
                carry = b"\n"  # every block starts at a line start, marked by the newline before it
                while block := stream.read(BLOCK):
                    block = carry + block
                    cut = block.rfind(b"\n")
                    body, carry = block[:cut + 1], block[cut:]
                    out.write((_shift_block(body, copy) if copy else body)[1:])
                if len(carry) > 1:
                    out.write((_shift_block(carry, copy) if copy else carry)[1:] + b"\n")
    (folder / "done").write_text("ok")
    return folder


def raw_folder(n_tickets: int) -> Path:
    """The ticket export at each size: the generator's 1 M one (cached), or copies of it."""
    folder = raw_export(1_000_000)
    return folder if n_tickets == 1_000_000 else raw_copies(folder, n_tickets // 1_000_000)


def archive_at(n_tickets: int) -> Path:
    from bench_notebooks import full_archive

    if n_tickets == 30_000_000:
        return archive_30m(full_archive(10_000_000))
    return full_archive(n_tickets)


def measure_ingest(raw: Path) -> dict:
    work = CACHE / "growth_ingest"
    shutil.rmtree(work, ignore_errors=True)
    code = ("from qa_helpers.data.ingest import ingest; "
            f"ingest({str(raw)!r}, {str(work / 'archive')!r}, key=b'benchmark-key', tables=['tickets'])")
    result = tree_peak_run([sys.executable, "-c", code], timeout=TIMEOUT_S, memory_limit_mb=MEMORY_LIMIT_MB, cwd=ROOT)
    shutil.rmtree(work, ignore_errors=True)
    return result


KPI_CHILD = """
import json, statistics, sys, time
sys.path.insert(0, 'benchmarks')
from pathlib import Path
from bench_kpis import BY, sources
from qa_helpers.measures.kpis import kpi_table
from qa_helpers.measures.standards import load_standards
src, std = sources(Path({folder!r})), load_standards().raw
times = []
for _ in range(4):
    started = time.perf_counter()
    table = kpi_table(src, by=BY, standards=std)
    times.append(time.perf_counter() - started)
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))
Path({result!r}).write_text(json.dumps({{"seconds": statistics.median(times[1:]), "min": min(times[1:]),
                                        "max": max(times[1:]), "peak_mb": hwm / 1024, "rows": len(table)}}))
"""


def measure_kpis(archive: Path) -> dict:
    """One warm-up and three timed ``kpi_table`` calls in a fresh process (killed past the limits)."""
    result = CACHE / "growth_kpis.json"
    result.unlink(missing_ok=True)
    run = tree_peak_run([sys.executable, "-c", KPI_CHILD.format(folder=str(archive), result=str(result))],
                        timeout=TIMEOUT_S, memory_limit_mb=MEMORY_LIMIT_MB, cwd=ROOT)
    if run["status"] != "ok":
        return {**run, "seconds": None, "peak_mb": None}
    return {"status": "ok", **json.loads(result.read_text())}


def measure_notebook(archive: Path) -> dict:
    from qa_helpers.run.execute import notebook_steps

    notebook = notebook_steps()["kpi_analysis"]
    papermill = Path(sys.executable).with_name("papermill")
    out = CACHE / "growth_notebook.ipynb"
    argv = [str(papermill), str(notebook), str(out), "-p", "team", "ALL", "-r", "period", "2025", "-p", "archive",
            str(archive), "--cwd", str(notebook.parent), "--no-progress-bar"]
    return tree_peak_run(argv, timeout=TIMEOUT_S, memory_limit_mb=MEMORY_LIMIT_MB)


def run(sizes: tuple[int, ...] = SIZES) -> list[dict]:
    """Growth rows for each size; a size whose data cannot be built or measured is reported, not raised."""
    from common import measured_at

    rows: list[dict] = []
    store = CACHE / "growth_results.json"  # sizes measured in separate runs still share their 1 M base
    kept = json.loads(store.read_text()) if store.exists() else {}
    for what, measure, where in (("ingest of the ticket export (tickets only)", measure_ingest, raw_folder),
                                 ("KPI tables, team x week x channel, every row of the archive", measure_kpis,
                                  archive_at),
                                 ("notebook 03_kpi_analysis, ALL x 2025, papermill CLI", measure_notebook,
                                  archive_at)):
        for n in sizes:
            try:
                result = measure(where(n))
            except Exception as exc:  # a size that cannot be built in this run: said, and the others go on
                result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:200], "seconds": None,
                          "peak_mb": None}
            ok = result["status"] == "ok"
            if ok:
                kept.setdefault(what, {})[_tag(n)] = {**result, "measured": measured_at()}
                store.write_text(json.dumps(kept, indent=1, default=str))
            base = kept.get(what, {}).get("1M", {})
            row = {"benchmark": f"growth: {what}, {_tag(n)} tickets", "measured": ok and measured_at(),
                   "kit_s": ok and round(result["seconds"], 2),
                   "peak_mb": ok and round(result["peak_mb"]),
                   "x_1M_time": round(result["seconds"] / base["seconds"], 1) if ok and base.get("seconds") else None,
                   "x_1M_memory": round(result["peak_mb"] / base["peak_mb"], 1) if ok and base.get("peak_mb") else None,
                   "status": "ok" if ok else f"{result['status']}: {result.get('error')}"}
            if "min" in result:
                row["kit_min_max"] = f"{result['min']:.2f}–{result['max']:.2f}"
            rows.append(row)
            print(row, flush=True)
    return rows
