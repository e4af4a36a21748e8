"""Batch: every notebook for every team of one quarter.

``qakit run`` against (a) a sequential shell loop of ``papermill`` CLI calls over the same
notebooks and parameters, and (b) the floor: per-notebook kernel start + imports, measured
here, × notebooks ÷ cores.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import CACHE

GOAL_VS_LOOP = 2.5
GOAL_VS_FLOOR = 1.25
PERIOD = "2025-Q4"
IMPORTS = ("%matplotlib inline\nimport matplotlib.pyplot as plt\nimport pandas as pd\nimport seaborn\n"
           "import statsmodels.api\nfrom IPython.display import Markdown, display\n"
           "from qa_helpers import actions, analysis, calibration, control_charts, evaluation, kpis, monitoring, plots, "
           "quality, scorecard, stats\nfrom qa_helpers.report.context import open_context")


def archive(n_teams: int) -> Path:
    from qa_helpers.data.ingest import ingest
    from qa_helpers.data.sample import generate

    folder = CACHE / f"batch_{n_teams}_teams"
    if not (folder / "archive" / "ingest_report.json").exists():
        generate(folder / "raw", seed=7, n_tickets=80_000, n_teams=n_teams)
        ingest(folder / "raw", folder / "archive", key=b"benchmark-key")
    return folder / "archive"


def kernel_start_and_imports(repeat: int = 5) -> float:
    """Median time to start a kernel, import what the notebooks import, and shut it down."""
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        reply = kc.execute_interactive(IMPORTS, timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def papermill_loop(steps: dict[str, Path], teams: list[str], path: Path, out: Path) -> float:
    """Sequential `papermill` CLI calls, one per notebook, as a shell loop would run them."""
    papermill = Path(sys.executable).with_name("papermill")
    started = time.perf_counter()
    for team in teams:
        for step, notebook in steps.items():
            target = out / team / f"{step}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([str(papermill), str(notebook), str(target), "-p", "team", team, "-p", "period", PERIOD,
                            "-p", "archive", str(path), "--cwd", str(notebook.parent), "--no-progress-bar"],
                           check=True, capture_output=True)
    return time.perf_counter() - started


def run(n_teams: int) -> list[dict]:
    from qa_helpers.data.archive import units
    from qa_helpers.run.batch import run_batch
    from qa_helpers.run.execute import notebook_steps

    path = archive(n_teams)
    table = units(path)
    teams = list(table.loc[table["kind"] == "team", "unit"])
    steps = notebook_steps()
    n_notebooks = len(teams) * len(steps)
    cores = os.cpu_count() or 1
    work = CACHE / "batch_out"
    shutil.rmtree(work, ignore_errors=True)

    floor_each = kernel_start_and_imports()
    floor = floor_each * n_notebooks / cores

    started = time.perf_counter()
    manifest = run_batch(PERIOD, teams=",".join(teams), out=work / "kit", archive=path, jobs=cores, html=False,
                         progress=False)
    kit = time.perf_counter() - started
    assert not manifest["failed"], manifest["failed"]
    started = time.perf_counter()
    run_batch(PERIOD, teams=",".join(teams), out=work / "kit_html", archive=path, jobs=cores, progress=False)
    kit_html = time.perf_counter() - started

    loop = papermill_loop(steps, teams, path, work / "loop")
    label = f"batch: {len(steps)} notebooks x {len(teams)} teams = {n_notebooks}, {cores} cores"
    return [
        {"benchmark": label + " (no HTML, as the loop)", "kit_s": round(kit, 1), "reference": "papermill CLI loop",
         "reference_s": round(loop, 1), "ratio": round(loop / kit, 2), "goal": f">= {GOAL_VS_LOOP} x faster",
         "met": loop / kit >= GOAL_VS_LOOP},
        {"benchmark": label + " (no HTML)", "kit_s": round(kit, 1),
         "reference": f"floor: {floor_each:.2f} s kernel start + imports x {n_notebooks} / {cores}",
         "reference_s": round(floor, 1), "ratio": round(kit / floor, 2), "goal": f"<= {GOAL_VS_FLOOR}",
         "met": kit / floor <= GOAL_VS_FLOOR},
        {"benchmark": label + " with HTML rendering", "kit_s": round(kit_html, 1), "reference": "papermill CLI loop",
         "reference_s": round(loop, 1), "ratio": round(loop / kit_html, 2), "goal": "(information)", "met": None},
    ]
