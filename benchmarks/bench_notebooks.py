"""Every notebook at scale: ``ALL`` × a year with the ``papermill`` CLI, one team × a quarter warm.

Cold: each notebook (:func:`qa_helpers.run.execute.notebook_steps`) is run with the ``papermill``
CLI for ``ALL`` over the year 2025, the way a user would from a shell: wall time including kernel
start, and the peak memory of the whole process tree (papermill and its kernel, sampled every 50 ms
with psutil), against 10 s and 2 GB. A single run of the same code varies by several seconds with
the machine's state, so there are :data:`ROUNDS` rounds over all notebooks (a slow moment of the
machine hits one round of several notebooks, not every run of one): the median and the min–max,
and the highest peak.

Warm: one team × one quarter in the kit's warm-kernel executor (``run_notebook(...,
reuse_kernel=True)``, what a batch worker does): the kernel is started and warmed by a run of every
notebook for another team and the quarter before (what an analyst's open kernel or a batch worker
that served the previous team has done: libraries imported, nothing of this unit read), then each
notebook is timed for :data:`ROUNDS` teams in turn, each read for the first time (papermill included,
HTML excluded), against 3 s: the median and min–max over the teams; its peak memory is the kernel's
high-water mark over that notebook alone, the highest of the teams
(``VmHWM`` after resetting it through ``/proc/<pid>/clear_refs``).

A notebook that fails, runs past 3× its time budget or grows past 3× the memory budget is
killed and recorded (``status``); the benchmark goes on with the next one.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from statistics import median

from common import CACHE, ROOT, copied_archive, raw_export, spread, tree_peak_run

BUDGET_S = 10.0
BUDGET_MB = 2048
WARM_BUDGET_S = 3.0
KILL_FACTOR = 3
ROUNDS = 3
YEAR = "2025"
QUARTER = "2025-Q4"
PREVIOUS_QUARTER = "2025-Q3"


def full_archive(n_tickets: int) -> Path:
    """An archive of every table with ``n_tickets`` tickets (a whole number of millions), 20 teams, 2025.

    1 M is generated and ingested (``generate(seed=7, n_teams=20)``, about 5 minutes on 2 cores);
    a larger one is that archive and copies of its month files with new record and customer ids
    (:func:`common.copied_archive`): the same proportions of every table, minutes to build where
    generating 10 M tickets takes over an hour (most of it writing and reading the survey workbooks).
    Cached in ``benchmarks/.cache/archive_<n>M``.
    """
    from qa_helpers.data.archive import archive_path
    from qa_helpers.data.ingest import ingest

    millions = n_tickets // 1_000_000
    folder = CACHE / f"archive_{millions}M"
    if (folder / "ingest_report.json").exists():
        return archive_path(folder)
    if millions > 1:
        return copied_archive(full_archive(1_000_000), folder.name, [(f"R{k}", 0) for k in range(1, millions)],
                              f"benchmark archive: the 1 M archive and {millions - 1} copies with new ids")
    ingest(raw_export(n_tickets), folder, key=b"benchmark-key")
    return archive_path(folder)


def archived_tickets(archive: Path) -> int:
    """Tickets in an archive, from its ingest report."""
    report = json.loads((Path(archive) / "ingest_report.json").read_text(encoding="utf-8"))
    return int(report["sources"]["tickets"]["archived"])


def _verdict(status: str, seconds: float, seconds_budget: float, peak_mb: float | None) -> bool:
    return status == "ok" and seconds <= seconds_budget and (peak_mb is None or peak_mb <= BUDGET_MB)


def cold_rows(archive: Path, label: str) -> list[dict]:
    """Each notebook for ALL × the year, one ``papermill`` CLI call each, in :data:`ROUNDS` rounds."""
    from qa_helpers.run.execute import notebook_steps, step_parameters

    papermill = Path(sys.executable).with_name("papermill")
    out = CACHE / "notebooks_out" / "cold"
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {step: [] for step in notebook_steps()}
    for _ in range(ROUNDS):
        for step, notebook in notebook_steps().items():
            extra = [arg for name, value in step_parameters(step, out, YEAR).items() for arg in ("-p", name, value)]
            argv = [str(papermill), str(notebook), str(out / f"{step}.ipynb"), "-p", "team", "ALL", "-r", "period",
                    YEAR, "-p", "archive", str(archive), *extra, "--cwd", str(notebook.parent), "--no-progress-bar"]
            runs[step].append(tree_peak_run(argv, timeout=KILL_FACTOR * BUDGET_S,
                                            memory_limit_mb=KILL_FACTOR * BUDGET_MB))
    rows = []
    for step, notebook in notebook_steps().items():
        seconds = [result["seconds"] for result in runs[step]]
        peaks = [result["peak_mb"] for result in runs[step] if result["peak_mb"] is not None]
        peak = max(peaks) if peaks else None
        failed = next((result for result in runs[step] if result["status"] != "ok"), None)
        status = _status(failed or runs[step][0])
        rows.append({"benchmark": f"notebook {notebook.stem}, ALL x {YEAR}, {label}, papermill CLI (kernel start "
                                  f"included), median of {len(seconds)}", "kit_s": round(median(seconds), 1),
                     "spread": spread(seconds, 1, "s"), "peak_mb": peak if peak is None else round(peak),
                     "goal": f"<= {BUDGET_S:g} s, <= {BUDGET_MB / 1024:g} GB", "status": status,
                     "met": failed is None and peak is not None and _verdict("ok", median(seconds), BUDGET_S, peak)})
        print(rows[-1], flush=True)
    return rows


def _status(result: dict) -> str:
    return {"ok": "ok", "timeout": f"killed after {KILL_FACTOR}x the time budget",
            "memory": f"killed at {KILL_FACTOR}x the memory budget"}.get(
        result["status"], f"failed: {result.get('error') or result['returncode']}")


def warm_rows(archive: Path, label: str) -> list[dict]:
    """Each notebook for :data:`ROUNDS` teams × a quarter in one warm kernel (a child process runs them)."""
    from qa_helpers.data.archive import units
    from qa_helpers.run.execute import notebook_steps

    table = units(archive)
    teams = [str(team) for team in table.loc[table["kind"] == "team", "unit"]]
    if len(teams) < 2:
        raise SystemExit(f"the warm rows need two teams (one to warm the kernel), the archive has {len(teams)}")
    other, timed = teams[-1], teams[:min(ROUNDS, len(teams) - 1)]  # the warm-up team is never one timed
    steps = notebook_steps()
    results = CACHE / "notebooks_out" / "warm.jsonl"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "--warm", str(archive), other, ",".join(timed), str(results)]
    whole = tree_peak_run(argv, timeout=120 + len(steps) * (1 + len(timed)) * KILL_FACTOR * WARM_BUDGET_S,
                          memory_limit_mb=KILL_FACTOR * BUDGET_MB, cwd=ROOT)
    done = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    rows = []
    for step, notebook in steps.items():
        found = [r for r in done if r["step"] == step]
        failed = next((r for r in found if r["status"] != "ok"), None)
        status = ("ok" if len(found) == len(timed) and failed is None else f"failed: {failed['error']}" if failed
                  else f"not run: the warm run ended ({_status(whole)})")
        seconds = [r["seconds"] for r in found]
        peaks = [r["peak_mb"] for r in found if r["peak_mb"] is not None]
        rows.append({"benchmark": f"notebook {notebook.stem}, {len(timed)} teams x {QUARTER} in turn, {label}, "
                                  "warm kernel, median", "kit_s": round(median(seconds), 2) if seconds else None,
                     "spread": spread(seconds, 1, "s") if seconds else None, "peak_mb": max(peaks) if peaks else None,
                     "goal": f"<= {WARM_BUDGET_S:g} s", "status": status,
                     "met": status == "ok" and _verdict("ok", median(seconds), WARM_BUDGET_S, None)})
        print(rows[-1], flush=True)
    return rows


def _warm_child(archive: str, other: str, teams: str, results: str) -> None:
    """In a child process: warm the kernel on ``other``, then time each notebook in it for each of ``teams``
    (comma-separated) in turn (one JSON line each)."""
    from qa_helpers.run import execute

    params = {"archive": archive}
    out = CACHE / "notebooks_out" / "warm"
    for step in execute.notebook_steps():  # the scipy/statsmodels/seaborn imports a notebook pays once per kernel
        execute.run_notebook(step, other, PREVIOUS_QUARTER, out / "warm-up", params, html=False, reuse_kernel=True)
    for team, step in ((team, step) for team in teams.split(",") for step in execute.notebook_steps()):
        km = getattr(execute._warm, "km", None)
        pid = km.provisioner.process.pid if km is not None and km.provisioner else None
        if pid:  # the kernel's high-water mark restarts here (Linux: clear_refs 5)
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        run = execute.run_notebook(step, team, QUARTER, out / team, params, html=False, reuse_kernel=True,
                                   timeout=KILL_FACTOR * WARM_BUDGET_S)
        peak = None
        if pid and Path(f"/proc/{pid}/status").exists():
            peak = round(int(next(line.split()[1] for line in open(f"/proc/{pid}/status")
                                  if line.startswith("VmHWM"))) / 1024)
        error = run.error and (f"a cell ran past {KILL_FACTOR * WARM_BUDGET_S:g} s (stopped)"
                               if "CellTimeoutError" in run.error else run.error[:160])
        with open(results, "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"step": step, "team": team, "status": run.status, "seconds": run.duration_s,
                                     "peak_mb": peak, "error": error}) + "\n")
        if run.status != "ok":  # the executor dropped the kernel: the next notebook gets a warm one again
            execute.run_notebook("standards", other, QUARTER, out / "rewarm", params, html=False, reuse_kernel=True)
    execute.discard_kernel()


def run(n_tickets: int, archive: Path | None = None) -> list[dict]:
    """Cold and warm rows of every notebook on an archive of ``n_tickets`` tickets (or the one given)."""
    path = archive or full_archive(n_tickets)
    label = f"{archived_tickets(path) / 1e6:.1f} M tickets"
    return cold_rows(path, label) + warm_rows(path, label)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--warm":
        os.chdir(ROOT)
        _warm_child(*sys.argv[2:])
    else:
        raise SystemExit("usage: run through benchmarks/run.py --only notebooks")
