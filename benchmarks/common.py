"""Shared helpers: best-of timing, peak memory of a child process, and the results table."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"


def best_of(func, repeat: int = 3) -> float:
    """The fastest of ``repeat`` wall-clock runs, in seconds (the least disturbed by the machine)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


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


def print_table(rows: list[dict], path: Path | None = None) -> None:
    """Print the results as a Markdown table (and save them as JSON)."""
    frame = pd.DataFrame(rows)
    print()
    print(f"Machine: {machine()}")
    print(frame.to_markdown(index=False) if _has_tabulate() else frame.to_string(index=False))
    if path:
        path.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2), encoding="utf-8")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False
