"""Shared helpers: alternating timed runs and their medians, peak memory of a child process or a
whole process tree, and the dated results table."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"


def drop_stale_archives() -> list[str]:
    """Remove the cached archives (and all that was measured or built from them) when they were written
    in another layout than ingest writes now (``ARCHIVE_LAYOUT`` in their ingest report): the cache is
    keyed by name, and rows measured on old files would not be the code's. The generated raw exports
    (``raw_*``) stay. Returns the names removed."""
    import shutil

    from qa_helpers.data.ingest import ARCHIVE_LAYOUT

    reports = [CACHE / "archive_1M" / "ingest_report.json", CACHE / "batch_20_teams" / "archive" / "ingest_report.json"]
    stale = any(json.loads(r.read_text(encoding="utf-8")).get("layout") != ARCHIVE_LAYOUT
                for r in reports if r.exists())
    if not stale:
        return []
    removed = []
    for entry in sorted(CACHE.iterdir()):
        if entry.name.startswith(("raw_", "results")):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry.name)
    return removed


def raw_export(n_tickets: int) -> Path:
    """The generator's exports of every table with ``n_tickets`` tickets and 20 teams (cached).

    One folder per size, ``benchmarks/.cache/raw_all_<n>M``, shared by every benchmark: the
    ingest benchmark reads its roster and ticket export, the notebook and append benchmarks
    ingest all of it. Generating 10 M tickets takes about 25 minutes on 2 cores.
    """
    from qa_helpers.data.sample import generate

    folder = CACHE / f"raw_all_{n_tickets // 1_000_000}M"
    if not (folder / "truth.json").exists():
        generate(folder, seed=7, n_tickets=n_tickets, n_teams=20)
    return folder


def copied_archive(source: Path, name: str, copies: list[tuple[str, int]], derived: str) -> Path:
    """A larger archive made of ``source`` and copies of its month files (cached as ``CACHE / name``).

    Each copy ``(tag, years_back)`` is written by DuckDB beside the original month files with every
    record id (``*_id`` except the agent's) prefixed ``<tag>-`` so ids stay unique and the links between
    tables hold, and every timestamp moved back ``years_back`` years. A copy in the same year
    (``years_back == 0``) also gets new customers (their ids prefixed): ten times the tickets of a
    centre come from more customers, not from each customer contacting it ten times as often. A copy
    in an earlier year keeps the customers, as years of history do. The ingest report is the
    source's with row counts multiplied and the new file list. Minutes, not the half hour of
    generating that many tickets.
    """
    import hashlib
    import os
    import shutil

    import duckdb

    from qa_helpers.data import repeat_index
    from qa_helpers.data.archive import TIME_COLUMNS, archive_files, archive_path
    from qa_helpers.data.ingest import file_hashes

    folder = CACHE / name
    if (folder / "ingest_report.json").exists():
        return folder
    source = archive_path(source)
    work = CACHE / f"{name}.partial"
    shutil.rmtree(work, ignore_errors=True)
    con = duckdb.connect()
    con.execute("SET threads = 2; SET memory_limit = '2GB'; SET preserve_insertion_order = true")
    for path in sorted(source.rglob("*.parquet")):
        relative = path.relative_to(source)
        if relative.parts[0] == repeat_index.INDEX:  # the copy's own is built below
            continue
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path, work / relative)
        table = relative.parts[0]
        if table not in TIME_COLUMNS or not relative.parts[1].startswith("month="):
            continue
        columns = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning = false)").fetchall()
        year, month = map(int, relative.parts[1].removeprefix("month=").split("-"))
        for tag, back in copies:
            kept = {"agent_id", "customer_id"} if back else {"agent_id"}  # ids that stay the same in a copy
            select = ", ".join(
                (f"{column} - INTERVAL {back} YEAR AS {column}" if back else column) if kind.startswith("TIMESTAMP")
                else f"'{tag}-' || {column} AS {column}" if column.endswith("_id") and column not in kept
                else column for column, kind, *_ in columns)
            # named after its source file: a month of a copied archive holds several
            target = work / table / f"month={year - back}-{month:02d}" / f"{path.stem}-{tag.lower()}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY (SELECT {select} FROM read_parquet('{path}', hive_partitioning = false)) "
                        f"TO '{target}' (FORMAT parquet)")
    report = json.loads((source / "ingest_report.json").read_text(encoding="utf-8"))
    for table, entry in report["sources"].items():
        if table in TIME_COLUMNS:
            entry["archived"] *= 1 + len(copies)
            entry["raw"] = entry["archived"] + entry["quarantined"]
    repeat_index.build(work)  # as ingest would: copies in earlier years keep the customers, so gaps cross years
    report["files"] = archive_files(work)
    report["sha256"] = file_hashes(work)
    report["repeat_index"] = repeat_index.index_record(report["sha256"])
    report["fingerprint"] = hashlib.sha256(json.dumps(report["files"], sort_keys=True).encode()).hexdigest()
    report["derived"] = derived
    (work / "ingest_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    return folder


def alternating(funcs: dict, repeat: int = 3) -> dict[str, list[float]]:
    """Wall-clock seconds of each function over ``repeat`` rounds, run in turn within a round.

    Round 1 runs every function once, then round 2, and so on (kit, reference, kit, reference,
    ...), so a slow moment of the machine hits both sides rather than one. Returns the times of
    each function by name, in run order.
    """
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            started = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - started)
    return times


def spread(values: list[float], digits: int = 2, unit: str = "") -> str:
    """``min–max`` of ``values`` as the tables print it (e.g. ``2.04–2.28``, ``4.6–7.4 s``)."""
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}" + (f" {unit}" if unit else "")


def median_ratio(kit: list[float], reference: list[float], goal: str, met, benchmark: str, reference_name: str,
                 invert: bool = False, **extra) -> dict:
    """One results row from alternating runs: medians, their ratio, and each side's min–max.

    The ratio is ``median(kit) / median(reference)`` (``invert``: reference ÷ kit, "× faster");
    ``met`` is called with the ratio. ``spread`` shows the ratio's range over the runs' pairs,
    so a reader sees how much of a verdict is noise.
    """
    kit_med, ref_med = statistics.median(kit), statistics.median(reference)
    ratio = ref_med / kit_med if invert else kit_med / ref_med
    pairs = [(r / k if invert else k / r) for k, r in zip(kit, reference)]
    return {"benchmark": benchmark, "runs": len(kit), "kit_s": round(kit_med, 2),
            "kit_min_max": spread(kit), "reference": reference_name,
            "reference_s": round(ref_med, 2), "ref_min_max": spread(reference),
            "ratio": round(ratio, 2), "spread": spread(pairs), "goal": goal,
            "met": bool(met(ratio)), **extra}


def tree_peak_run(argv: list[str], timeout: float, memory_limit_mb: float | None = None, interval: float = 0.05,
                  cwd: Path | None = None, env: dict | None = None) -> dict:
    """Run a command; wall time and peak resident memory of its whole process tree.

    The tree (the command and every descendant, e.g. papermill and its kernel) is sampled
    every ``interval`` seconds with psutil, and the sum of the resident sets is the memory at
    that moment; the peak is the largest sum. A run that passes ``timeout`` seconds or
    ``memory_limit_mb`` is killed (the whole tree) and reported, never raised.

    Returns
    -------
    dict
        ``seconds``, ``peak_mb``, ``status`` (``ok``, ``failed``, ``timeout``, ``memory``),
        ``returncode`` and the last line of stderr (``error``) when it failed.
    """
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    root = psutil.Process(proc.pid)
    known: dict[int, psutil.Process] = {proc.pid: root}
    peak, status = 0, None
    while proc.poll() is None:
        try:
            for child in root.children(recursive=True):
                known.setdefault(child.pid, child)
        except psutil.Error:
            pass
        total = 0
        for pid, member in list(known.items()):
            try:
                total += member.memory_info().rss
            except psutil.Error:
                known.pop(pid, None)
        peak = max(peak, total)
        elapsed = time.perf_counter() - started
        if elapsed > timeout:
            status = "timeout"
        elif memory_limit_mb and total > memory_limit_mb * 2**20:
            status = "memory"
        if status:
            _kill_tree(proc, known)
            break
        time.sleep(interval)
    seconds = time.perf_counter() - started
    _, stderr = proc.communicate()
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    status = status or ("ok" if proc.returncode == 0 else "failed")
    return {"seconds": seconds, "peak_mb": peak / 2**20, "status": status, "returncode": proc.returncode,
            "error": lines[-1][:200] if status == "failed" and lines else None}


def _kill_tree(proc: subprocess.Popen, known: dict) -> None:
    """Kill a benchmarked command and every process it started (its own session)."""
    import os
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    for member in known.values():  # a kernel that left the session
        try:
            member.kill()
        except Exception:
            pass


def child_peak_memory_mb(code: str) -> tuple[float, str]:
    """Run Python code in a fresh process; return its peak resident memory (MB) and its output.

    The child reports its own high-water mark (``VmHWM``, reset when the process image is
    replaced): ``getrusage(RUSAGE_CHILDREN)`` would also count the parent's pages that a
    forked child shared before it exec'd.
    """
    probe = code + "\nprint('VmHWM', next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    lines = out.stdout.strip().splitlines()
    peak_kb = int(lines[-1].split()[1])
    return peak_kb / 1024, "\n".join(lines[:-1])


def machine() -> str:
    """One line describing the machine the numbers were measured on."""
    import os

    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = cpu
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {mem_gb:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def load() -> str:
    """The machine's 1, 5 and 15-minute load averages, as printed under the results."""
    import os

    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (Linux; elsewhere nothing).

    A notebook kernel runs in a session of its own: when a benchmark kills a run past its budget, or a
    worker exits first, the kernel would be handed to init, and the CPU it used would never reach this
    process's account of its children (:func:`cpu_seconds`), passing for other work. Adopted, it is
    reaped here (:func:`reap_children`) and counted as the benchmark's own.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_children() -> None:
    """Reap every child of this process that has exited and that nobody waited for (adopted orphans).

    Only between benchmarks, when no ``subprocess`` object of this process waits for a child: one
    reaped here would read its exit status as 0.
    """
    import os

    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def cpu_seconds() -> dict[str, float]:
    """CPU seconds since boot, read together: ``machine`` (every core busy, the hypervisor's steal
    included), ``own`` (this process and the children it reaped, with what they reaped) and
    ``kernel_threads`` (the OS kernel's own threads: writing back files, reclaiming memory, for this
    benchmark or any other process). :func:`foreign_cpu` subtracts two readings."""
    import resource

    import psutil

    times = psutil.cpu_times()
    machine = sum(getattr(times, field, 0.0) for field in ("user", "nice", "system", "irq", "softirq", "steal"))
    own = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    kernel_threads = 0.0
    for process in psutil.process_iter(["pid", "ppid", "cpu_times"]):
        if (process.info["pid"] == 2 or process.info["ppid"] == 2) and process.info["cpu_times"] is not None:
            kernel_threads += process.info["cpu_times"].user + process.info["cpu_times"].system
    return {"machine": machine, "own": own, "kernel_threads": kernel_threads}


def foreign_cpu(since: dict[str, float]) -> dict[str, float]:
    """CPU seconds spent since ``since`` (a :func:`cpu_seconds` reading): ``own``, ``kernel_threads`` and
    ``foreign``, what the machine spent on neither.

    A benchmark counts as its own the processes it reaped, so the reading is taken between benchmarks,
    after :func:`reap_children`. What is left is other work: a test suite, a build, a second benchmark,
    another tenant of the host. It is the difference of two large counts, the machine's kept in ticks
    of 10 ms per core, so it errs by a fraction of a second either way (it is not clipped at zero), and
    an OS kernel thread that ended in between counts as foreign. On 2026-12-05 a run whose load average
    read 2.3 at its start measured the warm notebooks 15-30 % slower than a quiet run two hours later;
    this figure says which benchmarks shared the machine, averaged over each (its data preparation
    included).
    """
    now = cpu_seconds()
    spent = {key: now[key] - since[key] for key in now}
    return {"own": spent["own"], "kernel_threads": spent["kernel_threads"],
            "foreign": spent["machine"] - spent["own"] - spent["kernel_threads"]}


SPEED_PROBE = """
import statistics, sys, time
import duckdb, numpy as np, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

def once():
    started = time.perf_counter()
    sum(i * i for i in range(2_000_000))  # the interpreter
    np.sort(np.random.default_rng(0).random(5_000_000))  # memory
    duckdb.sql("SELECT i % 1000 AS k, sum(i) FROM range(20_000_000) t(i) GROUP BY k").fetchall()  # both cores
    fig, ax = plt.subplots()
    ax.bar(range(30), range(30))
    ax.set_title("probe")
    fig.tight_layout()
    fig.canvas.draw()  # a report's figure
    plt.close(fig)
    return time.perf_counter() - started

once()
print(statistics.median(once() for _ in range(int(sys.argv[1]))))
"""


def speed_probe(repeat: int = 3) -> float:
    """Seconds a fixed workload takes now (median of ``repeat`` after a warm-up, in a fresh process): the
    interpreter, a sort in memory, a DuckDB aggregation on every core and one figure drawn.

    This machine ran a quarter slower at 21:30 than at 19:30 on 2026-12-04, and a fixed budget (10 s,
    3 s) flips with such a change; a ratio measured within one run does not. Printed at the start and the end
    of ``make bench``, the probe says how fast the machine was, so runs hours apart can be compared.
    """
    out = subprocess.run([sys.executable, "-c", SPEED_PROBE, str(repeat)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


def measured_at() -> str:
    """Now, in UTC, as the results table is dated."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def results_path(quick: bool, only: list[str] | None = None) -> Path:
    """Where a run's table is kept: ``results.json`` for a whole run, ``results_quick.json`` for a quick one,
    and a name of its own for a run of some benchmarks (``results_only_batch.json``), so that a partial
    run does not replace the record of the last whole one."""
    name = "results_quick" if quick else "results"
    return CACHE / (f"{name}_only_{'_'.join(only)}.json" if only else f"{name}.json")


def print_table(rows: list[dict], path: Path | None = None, started: str | None = None,
                probe: dict | None = None, foreign: dict | None = None) -> None:
    """Print the results as a Markdown table, dated (UTC) with the machine line and, when given, the
    speed probe's seconds (:func:`speed_probe`, e.g. ``{"start": 1.2, "end": 1.3}``) and the CPU other
    processes used during each benchmark (``{"kpis": {"wall_s": 95.0, "foreign_cpu_s": 0.4, ...}}``,
    :func:`foreign_cpu`); save them as JSON."""
    frame = pd.DataFrame(rows)
    finished = measured_at()
    when = f"{started} – {finished}" if started else finished
    print()
    print(f"Measured: {when}")
    print(f"Machine: {machine()}")
    if probe:
        print("Speed probe: " + " · ".join(f"{seconds:.2f} s ({moment})" for moment, seconds in probe.items())
              + " (a fixed workload; compare runs by it)")
    print(f"Load: {load()} (other work on the machine slows every row)")
    if foreign:
        print("CPU of other processes during each benchmark: " + " · ".join(
            f"{name} {spent['foreign_cpu_s']:.1f} s over {spent['wall_s']:.0f} s"
            + (f" ({spent['foreign_cpu_s'] / spent['wall_s']:.0%} of a core)" if spent["wall_s"] >= 10 else "")
            for name, spent in foreign.items())
              + " (a row measured beside other work is slower than the code)")
    print(frame.to_markdown(index=False) if _has_tabulate() else frame.to_string(index=False))
    if path:
        record = {"measured": when, "machine": machine(), "speed_probe_s": probe, "load": load(),
                  "foreign_cpu": foreign, "rows": rows}
        path.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False
