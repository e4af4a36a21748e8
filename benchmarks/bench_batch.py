"""Batch: every notebook for every team of one quarter.

``qakit run`` against (a) a sequential shell loop of ``papermill`` CLI calls over the same
notebooks and parameters, and (b) the floor: per-notebook kernel start + imports, measured
here, × notebooks ÷ cores. The three are timed in alternating rounds (kit, loop, floor, kit, ...)
and each ratio is the median of the rounds, printed with its min–max.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import CACHE, alternating, median_ratio

GOAL_VS_LOOP = 10.0
GOAL_VS_FLOOR = 0.4
LOOP_TEAMS = 2
PERIOD = "2025-Q4"
def notebook_imports() -> str:
    """What the kit's notebooks import, gathered from their code cells (every ``import`` line once)."""
    import json as _json

    from qa_helpers.run.execute import notebook_steps

    lines = ["%matplotlib inline"]
    for notebook in notebook_steps().values():
        for cell in _json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
            lines += [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    return "\n".join(dict.fromkeys(lines))


def archive(n_teams: int) -> Path:
    from qa_helpers.data.ingest import ingest
    from qa_helpers.data.sample import generate

    folder = CACHE / f"batch_{n_teams}_teams"
    if not (folder / "archive" / "ingest_report.json").exists():
        generate(folder / "raw", seed=7, n_tickets=80_000, n_teams=n_teams)
        ingest(folder / "raw", folder / "archive", key=b"benchmark-key")
    return folder / "archive"


def kernel_start_and_imports() -> float:
    """Seconds to start a kernel, import what the notebooks import, and shut it down.

    Timed in a child process: a kernel client here would leave a ZMQ context in this process,
    which the batch's workers, forked from it next, would inherit.
    """
    code = f"""
import time
from jupyter_client.manager import start_new_kernel
started = time.perf_counter()
km, kc = start_new_kernel(kernel_name="python3")
reply = kc.execute_interactive({notebook_imports()!r}, timeout=120)
assert reply["content"]["status"] == "ok", reply["content"]
kc.stop_channels()
km.shutdown_kernel(now=True)
print(time.perf_counter() - started)
"""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def papermill_loop(steps: dict[str, Path], teams: list[str], path: Path, out: Path) -> float:
    """Sequential `papermill` CLI calls, one per notebook, as a shell loop would run them."""
    from qa_helpers.run.execute import step_parameters

    papermill = Path(sys.executable).with_name("papermill")
    started = time.perf_counter()
    for team in teams:
        for step, notebook in steps.items():
            target = out / team / f"{step}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            extra = [arg for name, value in step_parameters(step, target.parent, PERIOD).items()
                     for arg in ("-p", name, value)]
            subprocess.run([str(papermill), str(notebook), str(target), "-p", "team", team, "-p", "period", PERIOD,
                            "-p", "archive", str(path), *extra, "--cwd", str(notebook.parent), "--no-progress-bar"],
                           check=True, capture_output=True)
    return time.perf_counter() - started


def run(n_teams: int, repeat: int = 3, loop_teams: int = LOOP_TEAMS, use_teams: int | None = None) -> list[dict]:
    """Kit batch, papermill loop and floor, ``repeat`` alternating rounds; medians with min–max.

    The loop is timed over the first ``loop_teams`` teams (every notebook) and scaled to all teams:
    a sequential loop's calls are independent, so its time is linear in the teams (a full loop
    of 180 notebooks would take about 20 minutes per run, three runs an hour). ``use_teams`` runs
    the batch on the first that many teams of the ``n_teams`` archive (a shorter benchmark on a
    busy machine; the label says so).
    """
    from qa_helpers.data.archive import units
    from qa_helpers.run.batch import run_batch
    from qa_helpers.run.execute import notebook_steps

    path = archive(n_teams)
    table = units(path)
    teams = list(table.loc[table["kind"] == "team", "unit"])[:use_teams]
    steps = notebook_steps()
    n_notebooks = len(teams) * len(steps)
    sampled = teams[:min(loop_teams, len(teams))]
    cores = os.cpu_count() or 1
    work = CACHE / "batch_out"
    shutil.rmtree(work, ignore_errors=True)

    def kit_once():
        shutil.rmtree(work / "kit", ignore_errors=True)
        manifest = run_batch(PERIOD, teams=",".join(teams), out=work / "kit", archive=path, jobs=cores, html=False,
                             progress=False)
        assert not manifest["failed"], manifest["failed"]

    def loop_once():
        shutil.rmtree(work / "loop", ignore_errors=True)
        papermill_loop(steps, sampled, path, work / "loop")

    times = alternating({"kit": kit_once, "loop": loop_once, "floor": kernel_start_and_imports}, repeat=repeat)
    loop = [t * len(teams) / len(sampled) for t in times["loop"]]
    floor = [t * n_notebooks / cores for t in times["floor"]]
    started = time.perf_counter()
    run_batch(PERIOD, teams=",".join(teams), out=work / "kit_html", archive=path, jobs=cores, progress=False)
    kit_html = time.perf_counter() - started

    label = f"batch: {len(steps)} notebooks x {len(teams)} teams = {n_notebooks}, {cores} cores, no HTML"
    floor_each = statistics.median(times["floor"])
    return [
        median_ratio(times["kit"], loop, f">= {GOAL_VS_LOOP} x faster", lambda r: r >= GOAL_VS_LOOP,
                     f"{label}, median of {repeat} alternating runs",
                     f"papermill CLI loop (timed over {len(sampled)} teams x {len(steps)} notebooks, x "
                     f"{len(teams) / len(sampled):g})", invert=True),
        median_ratio(times["kit"], floor, f"<= {GOAL_VS_FLOOR}", lambda r: r <= GOAL_VS_FLOOR,
                     f"{label}, against the floor",
                     f"floor: {floor_each:.2f} s kernel start + imports x {n_notebooks} / {cores}"),
        {"benchmark": f"batch with HTML rendering (one run; information)", "kit_s": round(kit_html, 1),
         "reference": "papermill CLI loop (no HTML), median", "reference_s": round(statistics.median(loop), 1),
         "ratio": round(statistics.median(loop) / kit_html, 2), "goal": "(information)", "met": None},
    ]
