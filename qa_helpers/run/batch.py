"""Batch runs: every notebook for every unit of a period, in parallel, with a manifest.

One entry point, :func:`run_batch`. Everything is validated before anything runs: the
period, each unit (a team, a department or ``ALL``), each notebook, and that no output
path can leave the output folder. Notebooks then run in separate processes (a local pool
of ``jobs`` workers, or the workers of an existing Dask cluster); a failing notebook or a
dying kernel is recorded and the rest carry on. ``<out>/<period>/manifest.json`` gets one
entry per notebook with its status and provenance, and ``index.html`` links every report.

A batch survives being killed: the manifest is rewritten atomically after every notebook (the
ones still to run are ``pending``), every output takes its final name only when complete and
its sha256 goes in the manifest, workers and kernels die with the run, and a lock file keeps a
second run out of the same period folder. A run of some units or notebooks merges into the
period's manifest and index; a unit with no tickets in the period is ``no data``, not run.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from qa_helpers import __version__
from qa_helpers.data.archive import ALL, archive_path, load, units
from qa_helpers.errors import QAKitError, UnitError
from qa_helpers.faults import fault_point
from qa_helpers.locks import folder_lock
from qa_helpers.run.execute import (PARTIAL, discard_kernel, file_hash, light_notebook_io, notebook_steps,
                                    run_notebook, step_parameters)
from qa_helpers.run.workers import by_unit as workers_by_unit
from qa_helpers.periods import Period, parse_period
from qa_helpers.report.labels import LANGUAGES

MANIFEST = "manifest.json"
LOCK = ".qakit-run.lock"
NO_DATA = "no data"
PENDING = "pending"


@dataclass(frozen=True)
class Job:
    """One notebook for one unit."""

    unit: str
    step: str
    out_dir: str
    parameters: dict
    notebook_hash: str


def select_units(archive: Path, teams: str | None = "all", departments: str | None = None) -> list[str]:
    """The units a batch covers, in report order, checked against the archive's roster.

    ``teams="all"`` is every team, every department rollup and ``ALL``; a list names units
    (teams, departments or ``ALL``). ``departments`` adds each named department's rollup and
    every one of its teams — the department batch.
    """
    table = units(archive)
    known = list(table["unit"])
    chosen: list[str] = []
    if teams == "all":
        chosen = [ALL, *table.loc[table["kind"] == "department", "unit"], *table.loc[table["kind"] == "team", "unit"]]
    elif teams:
        chosen = [u.strip() for u in teams.split(",") if u.strip()]
    for dept in [d.strip() for d in (departments or "").split(",") if d.strip()]:
        row = table[(table["unit"] == dept) & (table["kind"] == "department")]
        if row.empty:
            valid = ", ".join(table.loc[table["kind"] == "department", "unit"])
            raise UnitError(f"unknown department {dept!r}; departments are {valid}")
        chosen += [dept, *row.iloc[0]["teams"]]
    unknown = [u for u in chosen if u not in known]
    if unknown:
        raise UnitError(f"unknown unit(s) {unknown}; valid units: {', '.join(known)}")
    if not chosen:
        raise UnitError("no units selected: give --teams and/or --departments")
    return list(dict.fromkeys(chosen))


def select_steps(notebooks: str | None, folder: Path | None = None) -> list[str]:
    """Notebook steps a batch runs (``all`` or a comma-separated list), validated."""
    steps = notebook_steps(folder)
    if not steps:
        where = folder if folder else "the kit's notebooks/"
        raise QAKitError(f"no notebooks named NN_step.ipynb in {where}")
    if notebooks in (None, "all"):
        return list(steps)
    chosen = [n.strip() for n in notebooks.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in steps]
    if unknown:
        raise QAKitError(f"unknown notebook(s) {unknown}; notebooks are {', '.join(steps)}")
    return chosen


def _inside(folder: Path, path: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(folder.resolve()):
        raise UnitError(f"{path} would be written outside the output folder {folder}")
    return resolved


def config_provenance(config: str | os.PathLike | None = None) -> dict:
    """The config files the notebooks read, each as resolved for the kernels, with its sha256.

    Every notebook of a batch is given the same config folder; each file is the folder's own or,
    when the folder has none, the kit's default (:func:`qa_helpers.config.config_file`), so the
    manifest records exactly the file a kernel reads. A file that exists nowhere (an optional
    ``panel_scores.csv``) has ``sha256`` null.

    Returns
    -------
    dict
        ``config_dir`` (absolute), ``config_files`` ({name: {path, sha256}}) and ``config_hash``
        (one digest over the files' names and contents, what ``--resume`` compares).
    """
    import hashlib

    from qa_helpers.config import CONFIG_FILES, config_dir, config_file

    folder = config_dir(config).resolve()
    files = {}
    for name in CONFIG_FILES:
        path = config_file(name, folder).resolve()
        files[name] = {"path": str(path), "sha256": file_hash(path) if path.is_file() else None}
    digest = hashlib.sha256(json.dumps({n: f["sha256"] for n, f in files.items()}, sort_keys=True).encode())
    return {"config_dir": str(folder), "config_files": files, "config_hash": digest.hexdigest()}


def config_hash(config: str | os.PathLike | None = None) -> str:
    """One hash over the config files notebooks read (see :func:`config_provenance`)."""
    return config_provenance(config)["config_hash"]


def git_commit() -> str | None:
    """The checkout's commit, when the kit runs from a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _execute(job: Job, period: str, html: bool, show_code: bool, notebooks: str | None,
             own_process: bool = True, threads: int | None = None) -> dict:
    """Worker body: run one job in this worker's warm kernel (picklable, for the local workers)."""
    result = run_notebook(job.step, job.unit, period, job.out_dir, job.parameters, html=html,
                          show_code=show_code, notebooks=notebooks, own_process=own_process, reuse_kernel=True,
                          threads=threads)
    return result.to_dict()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. under ``taskset`` or a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this system
        return os.cpu_count() or 1


def kernel_threads(kernels: int, cores: int | None = None) -> int:
    """Threads of each thread pool (DuckDB, BLAS) of ``kernels`` warm kernels running side by side on
    ``cores`` (default: :func:`usable_cores`): the cores shared out, at least one. DuckDB takes at most
    two of them (:func:`~qa_helpers.run.execute.warm_kernel`).

    A small unit's queries and fits are short, and a pool of two threads per kernel for two kernels on two
    cores (the pools' default here) spends more time handing work between threads than on the work. On
    the 20-team batch (issue 17), one DuckDB thread each took 73.2 / 78.1 s against 81.7 / 84.4 s with
    two; one BLAS thread each besides, 70.3 / 72.4 s against 77.1 / 74.3 s.
    """
    return max(1, (cores or usable_cores()) // max(1, kernels))


def _execute_share(share: list[Job], key: str, period: str, html: bool, show_code: bool,
                   notebooks: str | None, threads_by_host: dict[str, int] | None = None) -> list[dict]:
    """Dask task ``key``: some notebooks of one unit, one after another in one warm kernel, stopped at the end.

    A Dask worker thread outlives the batch and may serve another batch next, so no kernel is left
    behind in it: the kernel lives exactly as long as the task. Dask cannot stop a running task, so
    the task stops itself between notebooks once its batch has gone (interrupted, or its client
    lost): the rest of the share is not run, and nothing more is written to the period folder. A
    notebook whose run raises (not a failing notebook, which is a result) fails alone. The kernel's thread
    pools share the machine's cores with every worker thread on it (``threads_by_host``, :func:`host_threads`).
    """
    results = []
    threads = kernel_threads(_threads_beside(threads_by_host or {}))
    try:
        for job in share:
            if not _still_wanted(key):
                break
            try:
                results.append(_execute(job, period, html, show_code, notebooks, own_process=False,
                                        threads=threads))
            except Exception as exc:
                results.append(_failure(job, period, f"worker failed: {type(exc).__name__}: {exc}"))
    finally:
        discard_kernel()
    return results


def _threads_beside(threads_by_host: dict[str, int]) -> int:
    """The Dask worker threads on this task's machine, each of which may run a kernel: those of every
    worker on its host (``threads_by_host``), else its own worker's; 1 off a Dask worker."""
    try:
        from distributed import get_worker
        from distributed.comm import get_address_host

        worker = get_worker()
        return int(threads_by_host.get(get_address_host(worker.address), worker.state.nthreads))
    except Exception:  # not on a Dask worker, or a distributed without this state
        return 1


def host_threads(client) -> dict[str, int]:
    """Worker threads by host on a Dask cluster (a local cluster runs several workers on one machine)."""
    threads: dict[str, int] = {}
    for worker in client.scheduler_info().get("workers", {}).values():
        threads[worker["host"]] = threads.get(worker["host"], 0) + int(worker.get("nthreads", 1))
    return threads


def _still_wanted(key: str) -> bool:
    """Whether the Dask task ``key`` running here is still wanted by its batch (True off a Dask worker)."""
    try:
        from distributed import get_worker

        task = get_worker().state.tasks.get(key)
    except Exception:  # not on a Dask worker, or a distributed without this state: run on
        return True
    return task is not None and task.state != "cancelled"


def dask_shares(jobs: list[Job], threads: int) -> list[list[Job]]:
    """Jobs as Dask tasks: each unit's notebooks in order, split into as many shares as keep every
    worker thread busy when there are fewer units than threads (one share per unit otherwise).

    A share runs in one kernel: it starts once (the ~2 s of a kernel start and imports that a task per
    notebook paid nine times over) and keeps what the unit's notebooks share.
    """
    by_unit: dict[str, list[Job]] = {}
    for job in jobs:
        by_unit.setdefault(job.unit, []).append(job)
    split = max(1, -(-threads // max(1, len(by_unit))))
    shares = []
    for unit_jobs in by_unit.values():
        parts = min(split, len(unit_jobs))
        size, extra = divmod(len(unit_jobs), parts)
        start = 0
        for i in range(parts):
            end = start + size + (i < extra)
            shares.append(unit_jobs[start:end])
            start = end
    return shares


def _entry(job: Job, result: dict, provenance: dict, out: Path) -> dict:
    def rel(p):
        return os.path.relpath(p, out) if p else None
    return {
        "team": job.unit, "notebook": job.step, "status": result["status"], "duration_s": result["duration_s"],
        "outputs": {"ipynb": rel(result["ipynb"]), "html": rel(result["html"]), "log": rel(result["log"])},
        "error": result["error"], "failing_cell": result["failing_cell"], "parameters": result["parameters"],
        "notebook_hash": job.notebook_hash, "summary": result["summary"], "sha256": result.get("sha256") or {},
        **provenance,
    }


def _not_run(job: Job, status: str, provenance: dict) -> dict:
    """The entry of a notebook not run (yet): ``pending`` until it is, or ``no data`` for good."""
    return {"team": job.unit, "notebook": job.step, "status": status, "duration_s": 0.0,
            "outputs": {"ipynb": None, "html": None, "log": None}, "error": None, "failing_cell": None,
            "parameters": {"team": job.unit, "period": provenance["period"], **job.parameters},
            "notebook_hash": job.notebook_hash, "summary": {}, "sha256": {}, **provenance}


def _reusable(previous: dict | None, job: Job, provenance: dict, out: Path, html: bool) -> bool:
    """--resume: the earlier run succeeded, its outputs are the very files it wrote (sha256), and
    nothing it depends on changed. The archive counts by its fingerprint, not by its path (each
    ingest writes a new generation folder)."""
    if not previous or previous.get("status") not in ("ok", "skipped"):
        return False
    parameters = {k: v for k, v in (previous.get("parameters") or {}).items() if k != "archive"}
    wanted = {k: v for k, v in {"team": job.unit, "period": provenance["period"], **job.parameters}.items()
              if k != "archive"}
    if not (previous.get("notebook_hash") == job.notebook_hash and parameters == wanted
            and previous.get("kit_version") == provenance["kit_version"]
            and previous.get("config_hash") == provenance["config_hash"]
            and previous.get("archive_fingerprint") == provenance["archive_fingerprint"]):
        return False
    # only now read the outputs back: after a changed input every report reruns, unhashed
    outputs, hashes = previous.get("outputs") or {}, previous.get("sha256") or {}
    if not hashes.get("ipynb") or (html and not hashes.get("html")):
        return False
    return all(outputs.get(kind) and (out / outputs[kind]).is_file() and file_hash(out / outputs[kind]) == digest
               for kind, digest in hashes.items())


def ticket_counts(archive: Path, period: Period, unit_list: list[str]) -> pd.DataFrame:
    """Tickets each unit has in the period (one read of the period's ``team`` column).

    Returns
    -------
    DataFrame
        ``unit``, ``tickets``; a unit with 0 is reported ``no data`` instead of being run.
    """
    teams = load("tickets", period=period, archive=archive, columns=["team"])["team"]
    per_team = teams.value_counts()
    table = units(archive).set_index("unit")
    counts = [len(teams) if unit == ALL else int(per_team.reindex(table.loc[unit, "teams"]).fillna(0).sum())
              for unit in unit_list]
    return pd.DataFrame({"unit": unit_list, "tickets": counts})


def read_manifest(path: Path) -> dict:
    """A period's manifest, or an empty one when there is none (or an unreadable one, with a warning)."""
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # written by a kit version that wrote manifests in place
        warnings.warn(f"{path} is not valid JSON ({exc}); starting a new manifest", stacklevel=2)
        return {}


def manifest_json(manifest: dict) -> str:
    """The manifest as JSON text: a key per line, and an entry (a notebook) per line of ``entries``.

    A batch writes it after every notebook, 180 entries of ~3 KB each in a department's batch;
    Python's JSON encoder in C encodes it in a fifth of the time its indenting encoder (pure
    Python) takes, and a notebook's line is one ``grep`` away.
    """
    def one(value) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)

    lines = []
    for key, value in manifest.items():
        if key == "entries" and value:
            value = "[\n    " + ",\n    ".join(one(entry) for entry in value) + "\n  ]"
        else:
            value = one(value)
        lines.append(f"  {one(key)}: {value}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_manifest(manifest: dict, path: Path) -> None:
    """Write the manifest atomically: a reader, or a crash, finds the old one or the new one, whole."""
    partial = path.with_name(f".{path.name}.{os.getpid()}{PARTIAL}")
    with open(partial, "w", encoding="utf-8") as stream:
        stream.write(manifest_json(manifest))
        stream.flush()
        os.fsync(stream.fileno())
    fault_point("batch:manifest")
    os.replace(partial, path)


def _remove_partials(period_dir: Path) -> None:
    """Outputs and manifests a killed run left half-written (hidden ``.*.partial*`` names)."""
    for path in [*period_dir.glob(f".*{PARTIAL}*"), *period_dir.glob(f"*/.*{PARTIAL}.*")]:
        path.unlink(missing_ok=True)


def _merged(provenance: dict, entries: dict[tuple[str, str], dict], step_order: list[str],
            this_run: list[Job]) -> dict:
    """The manifest from every entry of the period, this run's and earlier runs' (other units or steps).

    ``units``, ``notebooks`` and ``entries`` cover the period; ``run`` names what this run was
    asked for, and ``failed`` lists this run's failures (what its exit status reports).
    """
    unit_order = list(dict.fromkeys(unit for unit, _ in entries))
    steps = [s for s in step_order if any(step == s for _, step in entries)]
    steps += [s for s in dict.fromkeys(step for _, step in entries) if s not in steps]
    ordered = [entries[(u, s)] for u in unit_order for s in steps if (u, s) in entries]
    return {**provenance, "units": unit_order, "notebooks": steps, "entries": ordered,
            "run": {"units": list(dict.fromkeys(j.unit for j in this_run)),
                    "notebooks": list(dict.fromkeys(j.step for j in this_run))},
            "failed": [f"{j.unit}/{j.step}" for j in this_run if entries[(j.unit, j.step)]["status"] == "failed"]}


def run_batch(period: str, teams: str | None = "all", departments: str | None = None, notebooks: str | None = "all",
              out: str | os.PathLike = "reports", archive: str | os.PathLike | None = None, jobs: int | None = None,
              resume: bool = False, html: bool = True, show_code: bool = False, scheduler: str | None = None,
              notebooks_dir: str | os.PathLike | None = None, progress: bool = True,
              config: str | os.PathLike | None = None, language: str = "en") -> dict:
    """Run notebooks for units of one period and write the manifest and index.

    Parameters
    ----------
    period : str
        ``2025``, ``2025-Q1``, ``2025-03`` or ``2025-W10``.
    teams : str
        ``all`` (every team, department and ``ALL``) or a comma-separated list of units.
    departments : str, optional
        Comma-separated departments: each one's rollup plus all its teams.
    notebooks : str
        ``all`` or a comma-separated list of steps.
    out : path-like
        Output folder; reports go to ``<out>/<period>/<unit>/<step>.ipynb|html|log``.
    archive : path-like, optional
        The archive (default ``$QAKIT_ARCHIVE`` or ``data/archive``).
    jobs : int, optional
        Parallel notebooks (default: the machine's cores).
    resume : bool
        Skip notebooks that succeeded before with the same notebook, parameters, kit
        version, archive and config files (any changed config file reruns them), and whose
        outputs still have the sha256 recorded; anything pending, failed or changed reruns.
    html, show_code : bool
        Render HTML; show code cells in it.
    scheduler : str, optional
        Address of an existing Dask cluster (``tcp://host:port``) to run the notebooks on.
    notebooks_dir : path-like, optional
        Folder of notebooks (default: the kit's ``notebooks/``).
    progress : bool
        Show a progress bar.
    config : path-like, optional
        The config folder (default ``$QAKIT_CONFIG``, else ``config/``): passed to every notebook
        as its ``config`` parameter (an absolute path), and its files' hashes go in the manifest.
    language : {"en", "zh"}
        The reports' and the index's language: passed to every notebook as its ``language`` parameter.

    Returns
    -------
    dict
        The period's manifest (also written to ``<out>/<period>/manifest.json``): this run's
        entries merged into the earlier runs' entries for other units and notebooks.

    Raises
    ------
    LockedError
        When another run is writing the same period folder.
    """
    from qa_helpers.report.index import write_index

    if language not in LANGUAGES:
        raise QAKitError(f"unknown language {language!r}; languages are {', '.join(LANGUAGES)}")
    the_period = parse_period(period)
    archive_dir = archive_path(archive)
    unit_list = select_units(archive_dir, teams, departments)
    folder = Path(notebooks_dir) if notebooks_dir else None
    steps = select_steps(notebooks, folder)
    step_paths = notebook_steps(folder)
    out_root = Path(out)
    out_root.mkdir(parents=True, exist_ok=True)
    period_dir = _inside(out_root, out_root / the_period.label)
    report = json.loads((archive_dir / "ingest_report.json").read_text(encoding="utf-8"))
    configured = config_provenance(config)
    provenance = {"period": the_period.label, "kit_version": __version__,
                  "archive_fingerprint": report.get("fingerprint"), **configured, "git_commit": git_commit(),
                  "language": language}
    # every kernel reads the folder the manifest hashes, whatever its own cwd or environment
    parameters = {"archive": str(archive_dir.resolve()), "config": configured["config_dir"], "language": language}
    job_list = [Job(unit=u, step=s, out_dir=str(_inside(out_root, period_dir / u)),
                    parameters={**parameters, **step_parameters(s, _inside(out_root, period_dir / u), the_period)},
                    notebook_hash=file_hash(step_paths[s])) for u in unit_list for s in steps]

    period_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(period_dir / LOCK, f"the report folder {period_dir}"):
        _remove_partials(period_dir)
        manifest_path = period_dir / MANIFEST
        entries = {(e["team"], e["notebook"]): e for e in read_manifest(manifest_path).get("entries", [])}
        counts = ticket_counts(archive_dir, the_period, unit_list)
        empty = set(counts.loc[counts["tickets"] == 0, "unit"])
        todo = []
        for job in job_list:
            key = (job.unit, job.step)
            if job.unit in empty:
                entries[key] = _not_run(job, NO_DATA, provenance)
            elif resume and _reusable(entries.get(key), job, provenance, period_dir, html):
                entries[key] = {**entries[key], "status": "skipped"}
            else:
                entries[key] = _not_run(job, PENDING, provenance)
                todo.append(job)
        write_manifest(_merged(provenance, entries, list(step_paths), job_list), manifest_path)

        workers = jobs or os.cpu_count() or 1
        args = (the_period.label, html, show_code, str(folder) if folder else None)
        bar = tqdm(total=len(job_list), initial=len(job_list) - len(todo), desc=f"qakit run {the_period.label}",
                   unit="notebook", disable=not progress)
        for job, result in _run(todo, args, workers, scheduler):
            entries[(job.unit, job.step)] = _entry(job, result, provenance, period_dir)
            write_manifest(_merged(provenance, entries, list(step_paths), job_list), manifest_path)
            fault_point("batch:recorded")
            bar.update(1)
            if result["status"] != "ok":
                bar.write(f"failed: {job.unit}/{job.step}: {result['error']}")
        bar.close()

        manifest = _merged(provenance, entries, list(step_paths), job_list)
        write_index(manifest, period_dir, archive_dir)
    return manifest


def _run(todo: list[Job], args: tuple, workers: int, scheduler: str | None):
    """Yield (job, result) as notebooks finish, on local workers (:mod:`qa_helpers.run.workers`) or a Dask cluster."""
    if not todo:
        return
    if scheduler:
        try:
            from distributed import Client, as_completed as dask_completed
        except ImportError:
            raise QAKitError("--scheduler needs dask.distributed: pip install 'qa-kit[dask]'") from None
        with Client(scheduler) as client:
            batch_id = uuid.uuid4().hex[:8]  # two batches on one cluster must never share a task
            tasks = itertools.count()  # nor two tasks of a batch (a share run again keeps its first step)
            futures: dict = {}  # future -> (its share, the jobs to run one by one after it)
            finished = dask_completed()

            threads = host_threads(client)

            def submit(share: list[Job], then: list[Job]) -> None:
                key = f"qakit-{args[0]}-{share[0].unit}-{share[0].step}-{batch_id}-{next(tasks)}"
                future = client.submit(_execute_share, share, key, *args, threads, pure=False, key=key)
                futures[future] = (share, then)
                finished.add(future)

            for share in dask_shares(todo, sum(client.nthreads().values())):
                submit(share, [])
            for future in finished:
                share, then = futures.pop(future)
                try:
                    results = future.result()
                except Exception as exc:  # its worker died, as often as Dask retries a task
                    if len(share) > 1:  # one notebook at a time: only the one that kills its worker fails
                        submit(share[:1], share[1:])
                        continue
                    results = [_failure(share[0], args[0], f"worker failed: {type(exc).__name__}: {exc}")]
                if then:
                    submit(then[:1], then[1:])
                # a share stops early only when its batch has gone; were it ever to, its rest is not lost
                results += [_failure(job, args[0], "not run: its Dask task was cancelled")
                            for job in share[len(results):]]
                yield from zip(share, results)
        return
    # papermill is imported by each worker, not before forking: workers forked after the parent imported it
    # ran out of ZMQ sockets ("Too many open files" in jupyter_client's channel threads: 2 in a demo batch of 81)
    light_notebook_io()
    args = (*args, True, kernel_threads(min(workers, len(todo))))  # own_process, threads
    for job, result, error in workers_by_unit(todo, _execute, args, workers, unit=lambda job: job.unit):
        yield job, result if error is None else _failure(job, args[0], f"worker failed: {error}")


def _failure(job: Job, period: str, error: str) -> dict:
    """The result of a notebook whose worker failed (not the notebook)."""
    out = Path(job.out_dir)
    return {"status": "failed", "duration_s": 0.0, "ipynb": str(out / f"{job.step}.ipynb"), "html": None,
            "log": None, "error": error, "failing_cell": None,
            "parameters": {"team": job.unit, "period": period, **job.parameters}, "summary": {}, "sha256": {}}
