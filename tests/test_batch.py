"""Batch runs: isolation of failures, dead kernels, manifest, resume, path safety, Dask, index."""

from __future__ import annotations

import json
import multiprocessing
import re
from pathlib import Path

import nbformat
import pytest

from qa_helpers.run.batch import run_batch
from qa_helpers.cli import main
from qa_helpers.errors import PeriodError, QAKitError, UnitError

PARAMS = '''team: str = "ALL"  # unit
period: str = "2025-Q4"  # period
archive: str = ""  # archive'''
PROBE = '''from qa_helpers.report.context import open_context, record_summary
ctx = open_context(team, period, archive)
if team == "HL-C":
    raise ValueError("planted failure for " + team)
if team == "HL-D":
    import os
    os._exit(1)  # the kernel dies
record_summary(csat=0.9, fcr=0.8, rows=len(ctx.load("tickets")))'''


def _notebook(path: Path, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(nb, path)


@pytest.fixture
def probes(tmp_path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_probe.ipynb", PROBE)
    _notebook(folder / "02_second.ipynb", "record_summary(grade='good')" if False else
              "from qa_helpers.report.context import record_summary\nrecord_summary(grade='good', score=85.0)")
    return folder


def _by_key(manifest):
    return {(e["team"], e["notebook"]): e for e in manifest["entries"]}


def test_failures_are_isolated_recorded_and_resumed(probes, tmp_path, archive):
    out = tmp_path / "reports"
    manifest = run_batch("2025-Q3", teams="HL-B,HL-C,HL-D", out=out, archive=archive, jobs=2,
                         notebooks_dir=probes, progress=False)
    entries = _by_key(manifest)
    assert entries[("HL-B", "probe")]["status"] == "ok"
    assert entries[("HL-B", "probe")]["summary"]["csat"] == 0.9
    failed = entries[("HL-C", "probe")]
    assert failed["status"] == "failed" and "planted failure for HL-C" in failed["error"]
    assert failed["failing_cell"] == 3  # execution count: parameters, injected parameters, then the probe
    dead = entries[("HL-D", "probe")]
    assert dead["status"] == "failed" and "kernel" in dead["error"].lower()
    assert all(entries[(u, "second")]["status"] == "ok" for u in ("HL-B", "HL-C", "HL-D"))
    assert sorted(manifest["failed"]) == ["HL-C/probe", "HL-D/probe"]
    on_disk = json.loads((out / "2025-Q3" / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["entries"] == json.loads(json.dumps(manifest["entries"]))
    for entry in manifest["entries"]:
        assert set(entry) >= {"team", "notebook", "status", "duration_s", "outputs", "error", "parameters",
                              "notebook_hash", "kit_version", "archive_fingerprint", "git_commit"}
        assert entry["parameters"]["period"] == "2025-Q3" and entry["parameters"]["team"] == entry["team"]
        assert (out / "2025-Q3" / entry["outputs"]["ipynb"]).exists()
        assert (out / "2025-Q3" / entry["outputs"]["log"]).exists()
    # the failed notebook keeps papermill's record of the failing cell
    nb = (out / "2025-Q3" / "HL-C" / "probe.ipynb").read_text(encoding="utf-8")
    assert "planted failure for HL-C" in nb

    # --resume runs only what failed; then only what changed
    again = _by_key(run_batch("2025-Q3", teams="HL-B,HL-C,HL-D", out=out, archive=archive, jobs=2, resume=True,
                              notebooks_dir=probes, progress=False))
    assert again[("HL-B", "probe")]["status"] == "skipped"
    assert all(again[(u, "second")]["status"] == "skipped" for u in ("HL-B", "HL-C", "HL-D"))
    assert again[("HL-C", "probe")]["status"] == "failed"   # ran again: it had failed
    assert again[("HL-B", "probe")]["summary"]["csat"] == 0.9  # skipped entries keep their figures
    _notebook(probes / "02_second.ipynb", "from qa_helpers.report.context import record_summary\nrecord_summary(score=86.0)")
    third = _by_key(run_batch("2025-Q3", teams="HL-B", out=out, archive=archive, jobs=1, resume=True,
                              notebooks_dir=probes, progress=False))
    assert third[("HL-B", "probe")]["status"] == "skipped"
    assert third[("HL-B", "second")]["status"] == "ok"       # its notebook changed


def test_cli_lists_failures_and_exits_1(probes, tmp_path, archive, capsys):
    code = main(["run", "--period", "2025-Q3", "--teams", "HL-B,HL-C", "--notebooks", "probe", "--jobs", "2",
                 "--archive", str(archive), "--out", str(tmp_path / "r"), "--notebooks-dir", str(probes), "--no-html"])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED HL-C/probe: ValueError: planted failure for HL-C" in captured.err
    assert "1 ok, 1 failed" in captured.out
    code = main(["run", "--period", "2025-Q3", "--teams", "HL-B", "--notebooks", "probe", "--archive", str(archive),
                 "--out", str(tmp_path / "r"), "--notebooks-dir", str(probes), "--no-html"])
    assert code == 0


@pytest.mark.parametrize("teams, period, error", [
    ("../x", "2025-Q3", UnitError), ("/etc", "2025-Q3", UnitError), ("HL-B/../../x", "2025-Q3", UnitError),
    ("HL-B,nope", "2025-Q3", UnitError), ("HL-B", "../2025", PeriodError), ("HL-B", "2025-Q3/../..", PeriodError),
    ("HL-B", "/tmp", PeriodError),
])
def test_unknown_or_escaping_units_and_periods_are_refused_before_running(tmp_path, archive, teams, period, error):
    with pytest.raises(error):
        run_batch(period, teams=teams, out=tmp_path / "r", archive=archive, progress=False)
    assert not any((tmp_path / "r").rglob("*.ipynb"))


def test_unknown_notebook_and_department_list_the_valid_ones(tmp_path, archive):
    with pytest.raises(QAKitError, match="notebooks are .*scorecard"):
        run_batch("2025-Q3", teams="HL-B", notebooks="scorecrd", out=tmp_path, archive=archive, progress=False)
    with pytest.raises(UnitError, match="departments are field, hotline"):
        run_batch("2025-Q3", teams=None, departments="sales", out=tmp_path, archive=archive, progress=False)


def test_department_batch_runs_the_rollup_and_its_teams(probes, tmp_path, archive):
    manifest = run_batch("2025-Q3", teams=None, departments="field", notebooks="second", out=tmp_path,
                         archive=archive, notebooks_dir=probes, progress=False, html=False)
    assert manifest["units"] == ["field", "FS-1", "FS-2"]


def test_dask_cluster_gives_the_same_manifest(probes, tmp_path, archive):
    distributed = pytest.importorskip("distributed")
    local = run_batch("2025-Q3", teams="HL-B,HL-C", out=tmp_path / "local", archive=archive, jobs=2,
                      notebooks_dir=probes, progress=False, html=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_batch("2025-Q3", teams="HL-B,HL-C", out=tmp_path / "dask", archive=archive,
                           scheduler=cluster.scheduler_address, notebooks_dir=probes, progress=False, html=False)
    keep = ("team", "notebook", "status", "error", "failing_cell", "parameters", "notebook_hash", "summary",
            "kit_version", "archive_fingerprint", "git_commit", "outputs")
    assert [{k: e[k] for k in keep} for e in remote["entries"]] == [{k: e[k] for k in keep} for e in local["entries"]]


def test_dask_shares_keep_each_units_notebooks_in_order_and_fill_the_threads():
    from qa_helpers.run.batch import Job, dask_shares

    jobs = [Job(unit=u, step=s, out_dir="", parameters={}, notebook_hash="") for u in "ABC" for s in "pqrs"]
    steps = lambda shares: [[(j.unit, j.step) for j in share] for share in shares]  # noqa: E731
    assert steps(dask_shares(jobs, threads=2)) == [[(u, s) for s in "pqrs"] for u in "ABC"]
    assert steps(dask_shares(jobs[:4], threads=3)) == [[("A", "p"), ("A", "q")], [("A", "r")], [("A", "s")]]
    assert steps(dask_shares(jobs[:4], threads=16)) == [[("A", s)] for s in "pqrs"]
    assert steps(dask_shares(jobs[:8], threads=4)) == [[("A", "p"), ("A", "q")], [("A", "r"), ("A", "s")],
                                                       [("B", "p"), ("B", "q")], [("B", "r"), ("B", "s")]]


def test_dask_workers_run_a_units_notebooks_in_one_kernel_and_keep_none_after(tmp_path, archive):
    distributed = pytest.importorskip("distributed")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for i, name in enumerate(("first", "second", "third"), 1):
        _notebook(folder / f"0{i}_{name}.ipynb", "import os\nfrom qa_helpers.report.context import record_summary\n"
                                                   "record_summary(kernel=os.getpid())")

    def kernels_left():  # run on each worker: its child processes (a kernel is one)
        import psutil

        return [p.pid for p in psutil.Process().children(recursive=True)]

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        manifest = run_batch("2025-Q3", teams="HL-B,HL-C", out=tmp_path / "r", archive=archive,
                             scheduler=cluster.scheduler_address, notebooks_dir=folder, progress=False, html=False)
        with distributed.Client(cluster) as client:
            left = client.run(kernels_left)
    assert not manifest["failed"]
    kernels = {unit: {e["summary"]["kernel"] for e in manifest["entries"] if e["team"] == unit}
               for unit in ("HL-B", "HL-C")}
    assert all(len(pids) == 1 for pids in kernels.values()), kernels  # three notebooks, one kernel start
    assert left and all(pids == [] for pids in left.values()), left  # no kernel outlives its task


def test_a_share_fails_only_the_notebook_whose_run_raises(tmp_path, archive, probes):
    from qa_helpers.run.batch import Job, _execute_share

    out = tmp_path / "r" / "2025-Q3" / "HL-B"
    params = {"archive": str(archive)}
    share = [Job(unit="HL-B", step=step, out_dir=str(out), parameters=params, notebook_hash="")
             for step in ("probe", "no_such_notebook", "second")]
    results = _execute_share(share, "not-on-dask", "2025-Q3", False, False, str(probes))
    assert [r["status"] for r in results] == ["ok", "failed", "ok"]
    assert "unknown notebook 'no_such_notebook'" in results[1]["error"]


def test_a_cancelled_dask_share_runs_no_further_notebook_and_stops_its_kernel(tmp_path):
    import time

    distributed = pytest.importorskip("distributed")
    from qa_helpers.run.batch import Job, _execute_share

    folder = tmp_path / "notebooks"
    folder.mkdir()
    for i, name in enumerate(("first", "second", "third"), 1):
        _notebook(folder / f"0{i}_{name}.ipynb", "import time\ntime.sleep(3)")
    out = tmp_path / "r" / "2025-Q3" / "U"
    share = [Job(unit="U", step=step, out_dir=str(out), parameters={}, notebook_hash="")
             for step in ("first", "second", "third")]

    def children():
        import psutil

        return [p.pid for p in psutil.Process().children(recursive=True)]

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        client = distributed.Client(cluster)
        # held: a future dropped is a task released
        task = client.submit(_execute_share, share, "share-1", "2025-Q3", False, False, str(folder),  # noqa: F841
                             pure=False, key="share-1")
        deadline = time.monotonic() + 60
        while not (out / ".first.partial.ipynb").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        client.close()  # what an interrupted `qakit run` does: the scheduler cancels the task
        with distributed.Client(cluster) as watcher:
            deadline = time.monotonic() + 30
            while any(watcher.run(children).values()) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert not any(watcher.run(children).values())  # the kernel stopped with the task
    # the notebook running when the batch went finishes
    assert (out / "first.ipynb").exists(), sorted(p.name for p in out.iterdir())
    assert not list(out.glob("*second*")) and not list(out.glob("*third*"))


def test_a_notebook_that_kills_its_dask_worker_fails_alone(tmp_path, archive):
    distributed = pytest.importorskip("distributed")
    import dask

    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_first.ipynb", "x = 1")
    _notebook(folder / "02_killer.ipynb",
              "import os, signal\nif team == 'HL-C':\n    os.kill(os.getppid(), signal.SIGKILL)")
    _notebook(folder / "03_third.ipynb", "x = 3")
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster:
        manifest = run_batch("2025-Q3", teams="HL-B,HL-C", out=tmp_path / "r", archive=archive,
                             scheduler=cluster.scheduler_address, notebooks_dir=folder, progress=False, html=False)
    status = {(e["team"], e["notebook"]): e["status"] for e in manifest["entries"]}
    errors = [(e["team"], e["notebook"], e["error"]) for e in manifest["entries"]]
    assert status == {(u, s): "failed" if (u, s) == ("HL-C", "killer") else "ok"
                      for u in ("HL-B", "HL-C") for s in ("first", "killer", "third")}, errors
    assert "worker failed" in _by_key(manifest)[("HL-C", "killer")]["error"]


def test_index_links_every_report_and_the_failing_cell(probes, tmp_path, archive):
    out = tmp_path / "reports"
    run_batch("2025-Q3", teams="ALL,hotline,HL-B,HL-C", out=out, archive=archive, jobs=2, notebooks_dir=probes,
              progress=False)
    index = (out / "2025-Q3" / "index.html").read_text(encoding="utf-8")
    links = re.findall(r"href='([^']+)'", index)
    assert len(links) == 8
    for link in links:
        assert (out / "2025-Q3" / link.split("#")[0]).is_file(), link
    assert "HL-C/probe.html#papermill-error-cell" in index
    failed_html = (out / "2025-Q3" / "HL-C" / "probe.html").read_text(encoding="utf-8")
    assert 'id="papermill-error-cell"' in failed_html
    assert "90.0%" in index and "85.0" in index  # headline figures read from the notebooks' summaries
    assert index.index("ALL (whole company)") < index.index("hotline (all its teams)") < index.index(">HL-B<")


def test_resume_reruns_when_a_config_file_changes(probes, tmp_path, archive, monkeypatch):
    import shutil

    from qa_helpers.config import config_dir

    config = tmp_path / "config"
    shutil.copytree(config_dir(), config)
    monkeypatch.setenv("QAKIT_CONFIG", str(config))
    args = dict(teams="HL-B", notebooks="second", out=tmp_path / "r", archive=archive, notebooks_dir=probes,
                progress=False, html=False)
    run_batch("2025-Q3", **args)
    assert _by_key(run_batch("2025-Q3", resume=True, **args))[("HL-B", "second")]["status"] == "skipped"
    (config / "standards.yml").write_text((config / "standards.yml").read_text().replace("target: 0.90", "target: 0.91", 1))
    assert _by_key(run_batch("2025-Q3", resume=True, **args))[("HL-B", "second")]["status"] == "ok"


LEAKY = '''import os
import matplotlib
from qa_helpers.report.context import record_summary
record_summary(kernel=os.getpid(), clean="leak" not in globals(), dpi=matplotlib.rcParams["figure.dpi"],
               first_count=get_ipython().execution_count)
leak = 1
matplotlib.rcParams["figure.dpi"] = 33
if team == "HL-C":
    raise ValueError("planted failure")'''


def test_a_worker_reuses_its_kernel_but_every_notebook_starts_clean(tmp_path, archive):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_leaky.ipynb", LEAKY)
    _notebook(folder / "02_again.ipynb", LEAKY)
    manifest = run_batch("2025-Q3", teams="HL-A,HL-B,HL-C,HL-D", out=tmp_path / "reports", archive=archive, jobs=1,
                         notebooks_dir=folder, progress=False)
    runs = manifest["entries"]
    assert [e["status"] for e in runs].count("failed") == 2  # both notebooks of HL-C
    assert all(e["summary"]["clean"] for e in runs)  # no variable of an earlier notebook is visible
    assert len({e["summary"]["first_count"] for e in runs}) == 1  # numbering starts afresh, as in a new kernel
    assert len({e["summary"]["dpi"] for e in runs}) == 1 and runs[0]["summary"]["dpi"] != 33
    kernels = [e["summary"]["kernel"] for e in runs]
    assert len(set(kernels)) < len(runs)  # kernels were reused ...
    assert len(set(kernels)) >= 2  # ... but not after a failure
    period_dir = tmp_path / "reports" / "2025-Q3"
    assert not list(period_dir.glob("kernel-*.log"))  # the kernels' own logs are not beside the reports ...
    assert len(list((period_dir / ".logs").glob("kernel-*.log"))) == 1  # ... but hidden (one worker: one log)
    assert ".logs" not in (period_dir / "index.html").read_text(encoding="utf-8")


def test_a_batch_kernel_caches_archive_reads_and_hands_out_copies(archive, monkeypatch):
    from qa_helpers.data import archive as store

    fresh = store.load("tickets", "HL-A", "2025-Q3", archive=archive)
    monkeypatch.setenv("QAKIT_READ_CACHE_MB", "64")
    monkeypatch.setattr(store, "_READS", store._ReadCache())  # as a batch kernel starts (execute.READ_CACHE_ENV)
    first = store.load("tickets", "HL-A", "2025-Q3", archive=archive)
    first.loc[:, "handle_s"] = -1.0  # a caller changing its frame must not change the next caller's
    again = store.load("tickets", "HL-A", "2025-Q3", archive=archive)
    assert len(store._READS.frames) == 1 and store._READS.bytes > 0
    assert again.equals(fresh) and not again.equals(first)
    other = store.load("tickets", "HL-B", "2025-Q3", archive=archive, columns=["ticket_id", "team"])
    assert set(other["team"]) == {"HL-B"} and list(other.columns) == ["ticket_id", "team"]
    assert len(store._READS.frames) == 2


def test_a_period_without_tickets_is_no_data_not_ok(probes, tmp_path, archive):
    out = tmp_path / "reports"
    manifest = run_batch("2024-Q1", teams="ALL,HL-B", out=out, archive=archive, notebooks_dir=probes, progress=False)
    assert {e["status"] for e in manifest["entries"]} == {"no data"} and len(manifest["entries"]) == 4
    assert manifest["failed"] == [] and not any((out / "2024-Q1").rglob("*.ipynb"))  # nothing ran
    index = (out / "2024-Q1" / "index.html").read_text(encoding="utf-8")
    assert index.count("no data: no tickets in 2024-Q1") == 2  # one row per unit says so plainly
    assert "4 no data (no tickets in the period)" in index and "nan" not in index


def test_ticket_counts_roll_teams_up_into_departments_and_all(archive):
    from qa_helpers.data.archive import load
    from qa_helpers.periods import parse_period
    from qa_helpers.run.batch import ticket_counts

    counts = ticket_counts(archive, parse_period("2025-Q3"), ["ALL", "field", "FS-1", "FS-2"]).set_index("unit")
    assert counts.loc["ALL", "tickets"] == len(load("tickets", period="2025-Q3", archive=archive))
    assert counts.loc["field", "tickets"] == counts.loc["FS-1", "tickets"] + counts.loc["FS-2", "tickets"] > 0
    assert counts.loc["FS-1", "tickets"] == len(load("tickets", team="FS-1", period="2025-Q3", archive=archive))


def test_a_partial_run_merges_into_the_period_manifest_and_index(probes, tmp_path, archive):
    out = tmp_path / "reports"
    run_batch("2025-Q3", teams="HL-A,HL-B", out=out, archive=archive, jobs=2, notebooks_dir=probes, progress=False)
    text = (out / "2025-Q3" / "manifest.json").read_text(encoding="utf-8")
    first = json.loads(text)
    # a notebook's entry is one line of the file, whole
    lines = [json.loads(line.strip().rstrip(",")) for line in text.splitlines() if line.startswith('    {"team"')]
    assert lines == first["entries"] and len(lines) == 4
    partial = run_batch("2025-Q3", teams="HL-B", notebooks="second", out=out, archive=archive, jobs=1,
                        notebooks_dir=probes, progress=False)
    assert partial["run"] == {"units": ["HL-B"], "notebooks": ["second"]}
    entries, before = _by_key(partial), _by_key(first)
    assert set(entries) == set(before)  # nothing vanished
    # this one ran again (papermill stamps each run's start and end times into the notebook)
    assert entries[("HL-B", "second")]["sha256"]["ipynb"] != before[("HL-B", "second")]["sha256"]["ipynb"]
    assert all(entries[k] == before[k] for k in entries if k != ("HL-B", "second"))  # the rest as they were
    assert partial["units"] == ["HL-A", "HL-B"] and partial["notebooks"] == ["probe", "second"]
    index = (out / "2025-Q3" / "index.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r"href='([^']+)'", index)) == [f"{u}/{s}.html" for u in ("HL-A", "HL-B")
                                                           for s in ("probe", "second")]


def test_a_warm_kernel_opens_no_zmq_context_or_thread_per_notebook(tmp_path, monkeypatch):
    """Each notebook on a warm kernel used to make (and tear down) two ZMQ contexts, two heartbeat
    threads and their sockets and event loops; batch workers printed "Too many open files" from
    such a thread. Now a notebook opens sockets on the kernel's context and nothing else."""
    import os
    import threading

    import zmq

    from qa_helpers.run import execute

    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_small.ipynb", "print(team, period)")
    contexts, threads = [], []
    context_init, thread_start = zmq.Context.__init__, threading.Thread.start

    def counted_context(self, *args, **kwargs):
        contexts.append(type(self).__name__)
        context_init(self, *args, **kwargs)

    def counted_start(self, *args, **kwargs):
        threads.append(type(self).__name__)
        thread_start(self, *args, **kwargs)

    monkeypatch.setattr(zmq.Context, "__init__", counted_context)
    monkeypatch.setattr(threading.Thread, "start", counted_start)

    def run(unit):
        result = execute.run_notebook("small", unit, "2025-Q4", tmp_path / "out" / unit, {"archive": ""},
                                      html=False, notebooks=folder, reuse_kernel=True)
        assert result.status == "ok", result.error
        return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0

    try:
        run("HL-A")  # starts the kernel
        run("HL-B")  # opens its reset client
        warm = execute._warm.km
        made, started = len(contexts), len(threads)
        fds = [run(f"HL-{n}") for n in range(8)]
        assert execute._warm.km is warm  # the same kernel ran them all
        assert contexts[made:] == []  # no context per notebook ...
        assert threads[started:] == []  # ... and no heartbeat (or other) thread
        assert max(fds) <= fds[0] + 8  # open descriptors do not grow with the notebooks run
    finally:
        execute.discard_kernel()
    assert execute._warm.km is None


def test_the_kits_client_is_ready_at_its_kernel_info_idle_and_loses_no_output(tmp_path, monkeypatch):
    """jupyter_client's readiness check ends with 0.2 s of IOPub silence, about a quarter of a small
    unit's notebook in a batch. The kit's client stops at the idle status of its kernel_info request
    instead (jupyter_client's check is never called), and every notebook's output is in it, the
    kernel's first notebook's included: in a warm kernel, and in a notebook's own kernel (Dask
    workers, which run notebooks in threads of their process)."""
    import nbformat as nbf
    from jupyter_client.asynchronous import AsyncKernelClient

    from qa_helpers.run import execute

    async def silence_based(*args, **kwargs):
        raise AssertionError("the 0.2 s-of-silence readiness check ran")

    monkeypatch.setattr(AsyncKernelClient, "wait_for_ready", silence_based)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_small.ipynb", "print('first cell of', team)")
    try:
        for n in range(5):
            result = execute.run_notebook("small", f"HL-{n}", "2025-Q4", tmp_path / "out" / str(n), {"archive": ""},
                                          html=False, notebooks=folder, reuse_kernel=True)
            assert result.status == "ok", result.error
            outputs = nbf.read(result.ipynb, as_version=4).cells[-1].outputs
            assert [o.get("text") for o in outputs] == [f"first cell of HL-{n}\n"]
    finally:
        execute.discard_kernel()
    for n in range(2):
        result = execute.run_notebook("small", f"FS-{n}", "2025-Q4", tmp_path / "own" / str(n), {"archive": ""},
                                      html=False, notebooks=folder, own_process=False, reuse_kernel=False)
        assert result.status == "ok", result.error
        outputs = nbf.read(result.ipynb, as_version=4).cells[-1].outputs
        assert [o.get("text") for o in outputs] == [f"first cell of FS-{n}\n"]


def test_a_warm_kernels_readiness_check_retries_is_bounded_and_keeps_jupyter_clients_errors(tmp_path, monkeypatch):
    """The check's other paths: a missed idle status (IOPub still connecting) means asking again;
    IOPub traffic of another origin cannot hold it past its timeout; a stopped or dead kernel
    raises the words :func:`kernel_start_failed` knows, so the notebook gets another kernel."""
    import asyncio
    import os
    import signal

    from qa_helpers.run import execute

    km = execute.warm_kernel(tmp_path, tmp_path / "kernel.log")
    kc = km.client()
    kc.start_channels()
    real_get, sent, kernel_info = kc.iopub_channel.get_msg, [], kc.kernel_info

    def counted_kernel_info():
        sent.append(kernel_info())
        return sent[-1]

    async def first_idle_lost(*args, **kwargs):
        msg = await real_get(*args, **kwargs)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle" and len(sent) == 1:
            return {**msg, "parent_header": {}}  # as if published before the socket was subscribed
        return msg

    async def chatter(*args, **kwargs):
        await asyncio.sleep(0.01)
        return {"msg_type": "stream", "parent_header": {"msg_id": "another"}, "content": {}}

    pid = km.provisioner.process.pid
    try:
        monkeypatch.setattr(kc, "kernel_info", counted_kernel_info)
        monkeypatch.setattr(kc.iopub_channel, "get_msg", first_idle_lost)
        asyncio.run(kc.wait_for_ready(timeout=30))
        assert len(sent) == 2  # asked again after the lost idle, and ready then

        monkeypatch.setattr(kc.iopub_channel, "get_msg", chatter)
        with pytest.raises(RuntimeError) as chattered:
            asyncio.run(kc.wait_for_ready(timeout=1.5))
        assert str(chattered.value) == "Kernel didn't respond in 1.5 seconds"
        monkeypatch.setattr(kc.iopub_channel, "get_msg", real_get)

        os.kill(pid, signal.SIGSTOP)
        try:
            with pytest.raises(RuntimeError) as stopped:
                asyncio.run(kc.wait_for_ready(timeout=1))
        finally:
            os.kill(pid, signal.SIGCONT)
        assert execute.kernel_start_failed(stopped.value)

        os.kill(pid, signal.SIGKILL)
        km.provisioner.process.wait()
        with pytest.raises(RuntimeError) as died:
            asyncio.run(kc.wait_for_ready(timeout=30))
        assert str(died.value) == "Kernel died before replying to kernel_info"
        assert execute.kernel_start_failed(died.value)
    finally:
        execute.discard_kernel()


@pytest.mark.parametrize("reuse_kernel", [False, True])
def test_a_kernel_that_misses_the_start_timeout_is_replaced_once(probes, tmp_path, archive, monkeypatch,
                                                                  reuse_kernel):
    import papermill

    from qa_helpers.run import execute

    real, calls = papermill.execute_notebook, []

    def slow_start_then_real(*args, **kwargs):
        calls.append(kwargs.get("km"))
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", slow_start_then_real)
    try:
        result = execute.run_notebook("second", "HL-B", "2025-Q3", tmp_path / "out", {"archive": str(archive)},
                                      html=False, notebooks=probes, own_process=not reuse_kernel,
                                      reuse_kernel=reuse_kernel)
    finally:
        execute.discard_kernel()
    assert result.status == "ok" and result.summary["score"] == 85.0 and len(calls) == 2
    if reuse_kernel:  # the kernel that missed the timeout is not trusted again
        assert calls[0] is not calls[1]
    assert "kernel start failed (Kernel didn't respond in 60 seconds)" in Path(result.log).read_text()


def test_a_kernel_that_never_starts_fails_the_notebook_after_two_tries(probes, tmp_path, archive, monkeypatch):
    import papermill

    from qa_helpers.run import execute

    calls = []

    def never_ready(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(papermill, "execute_notebook", never_ready)
    result = execute.run_notebook("second", "HL-B", "2025-Q3", tmp_path / "out", {"archive": str(archive)},
                                  html=False, notebooks=probes)
    assert result.status == "failed" and "Kernel died before replying" in result.error
    assert len(calls) == execute.KERNEL_START_ATTEMPTS == 2


def _pid_probes(folder: Path, steps: int, slow_team: str = "", killing_team: str = "") -> Path:
    folder.mkdir()
    body = ("import os, signal, time\nfrom qa_helpers.report.context import record_summary\n"
            f"if team == {slow_team!r}:\n    time.sleep(1.5)\n"
            f"if team == {killing_team!r}:\n    os.kill(os.getppid(), signal.SIGKILL)  # the kernel kills its worker\n"
            "record_summary(pid=os.getpid())")
    for i in range(1, steps + 1):
        _notebook(folder / f"{i:02d}_step_{'abcdefgh'[i - 1]}.ipynb", body)
    return folder


def test_a_worker_keeps_a_units_notebooks_in_its_warm_kernel(tmp_path, archive):
    probes = _pid_probes(tmp_path / "notebooks", steps=2)
    manifest = run_batch("2025-Q3", teams="ALL,hotline,HL-B,HL-C", out=tmp_path / "r", archive=archive, jobs=2,
                         notebooks_dir=probes, progress=False, html=False)
    kernels = {}
    for entry in manifest["entries"]:
        assert entry["status"] == "ok", entry["error"]
        kernels.setdefault(entry["team"], set()).add(entry["summary"]["pid"])
    assert all(len(pids) == 1 for pids in kernels.values()), kernels  # both of a unit's notebooks, one kernel
    assert len(set().union(*kernels.values())) == 2  # and both workers had units


def test_a_units_lone_last_notebook_stays_in_its_warm_kernel(tmp_path, archive):
    # HL-B's worker is done while ALL's first notebook still sleeps: ALL's second waits for ALL's kernel
    probes = _pid_probes(tmp_path / "notebooks", steps=2, slow_team="ALL")
    manifest = run_batch("2025-Q3", teams="ALL,HL-B", out=tmp_path / "r", archive=archive, jobs=2,
                         notebooks_dir=probes, progress=False, html=False)
    pids = {(e["team"], e["notebook"]): e["summary"]["pid"] for e in manifest["entries"]}
    assert pids[("ALL", "step_a")] == pids[("ALL", "step_b")] != pids[("HL-B", "step_a")] == pids[("HL-B", "step_b")]


def test_an_idle_worker_takes_notebooks_the_other_has_not_started(tmp_path, archive):
    probes = _pid_probes(tmp_path / "notebooks", steps=6, slow_team="HL-C")
    manifest = run_batch("2025-Q3", teams="HL-B,HL-C", out=tmp_path / "r", archive=archive, jobs=2,
                         notebooks_dir=probes, progress=False, html=False)
    pids = {(e["team"], e["notebook"]): e["summary"]["pid"] for e in manifest["entries"]}
    assert all(e["status"] == "ok" for e in manifest["entries"]) and len(pids) == 12
    fast = {pid for (team, _), pid in pids.items() if team == "HL-B"}
    assert len(fast) == 1
    assert fast & {pid for (team, _), pid in pids.items() if team == "HL-C"}  # the fast worker helped the slow one


def test_a_worker_that_dies_outright_fails_its_notebook_and_is_replaced(tmp_path, archive):
    probes = _pid_probes(tmp_path / "notebooks", steps=2, killing_team="HL-C")
    manifest = run_batch("2025-Q3", teams="HL-B,HL-C,HL-D", out=tmp_path / "r", archive=archive, jobs=2,
                         notebooks_dir=probes, progress=False, html=False)
    entries = _by_key(manifest)
    assert len(manifest["entries"]) == 6
    for step in ("step_a", "step_b"):
        assert entries[("HL-C", step)]["status"] == "failed"
        assert "worker died (exit code -9)" in entries[("HL-C", step)]["error"]
        assert entries[("HL-B", step)]["status"] == entries[("HL-D", step)]["status"] == "ok"


def _sleep(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_an_interrupted_run_kills_its_workers_at_once(tmp_path):
    import time

    from qa_helpers.run import workers

    jobs = [0.1, 60.0, 60.0, 60.0]  # two units: the first job ends, the other worker sleeps
    run = workers.by_unit(jobs, _sleep, (), 2, unit=lambda job: "fast" if job < 1 else "slow")
    assert next(run)[:2] == (0.1, 0.1)
    started = time.perf_counter()
    children = multiprocessing.active_children()
    assert len(children) == 2
    run.close()  # what an exception or Ctrl-C in the consumer does
    assert time.perf_counter() - started < 10
    assert not any(child.is_alive() for child in children)


def _troublesome(job: str):
    import os
    import signal
    import threading

    if job.startswith("kill"):
        os.kill(os.getpid(), signal.SIGKILL)  # killed at any moment: only its own pipe is lost
    if job.startswith("big"):
        return "x" * 2_000_000  # larger than a pipe's buffer
    if job.startswith("lock"):
        return threading.Lock()  # cannot be sent back
    return job


def test_workers_record_every_job_once_whatever_kills_or_chokes_them():
    from qa_helpers.run import workers

    jobs = ["a", "kill1", "big1", "lock1", "b", "kill2", "c", "d", "big2", "e"]
    out = {job: (result, error) for job, result, error in
           workers.by_unit(jobs, _troublesome, (), 2, unit=lambda job: "first" if job < "c" else "second")}
    assert set(out) == set(jobs)
    for job, (result, error) in out.items():
        if job.startswith("kill"):
            assert result is None and error == "worker died (exit code -9)"
        elif job.startswith("lock"):
            assert result is None and "pickle" in error
        else:
            assert error is None and result == (job if not job.startswith("big") else "x" * 2_000_000)
    assert not multiprocessing.active_children()


def test_a_notebooks_parts_are_checked_once_when_it_is_written(monkeypatch):
    """Batch processes skip nbformat's check of each output as it is made (pure-Python jsonschema, about
    20 ms per kit notebook): the written notebook is still checked whole, so a bad part is still reported."""
    import nbformat
    from nbformat.v4 import nbbase

    from qa_helpers.run.execute import light_notebook_io

    monkeypatch.setattr(nbbase, "validate", nbbase.validate)  # restored after the test
    light_notebook_io()
    bad = nbbase.new_output("display_data", data={"image/png": 5})  # not text: made without complaint
    notebook = nbbase.new_notebook(cells=[nbbase.new_code_cell("1", outputs=[bad])])
    caught: dict = {}
    nbformat.writes(notebook, capture_validation_error=caught)
    assert "ValidationError" in caught
    good = nbbase.output_from_msg({"msg_type": "stream", "header": {"msg_type": "stream"},
                                   "content": {"name": "stdout", "text": "ok"}})
    caught.clear()
    nbformat.writes(nbbase.new_notebook(cells=[nbbase.new_code_cell("1", outputs=[good])]),
                    capture_validation_error=caught)
    assert not caught


def test_a_notebooks_summary_is_the_same_from_memory_as_from_its_file(tmp_path):
    """The batch takes a notebook's summary from the notebook papermill returns; the manifest records
    what reading the written file gave (keys sorted, plain dicts), output after output."""
    from qa_helpers.run.execute import SUMMARY_MIME, cells_summary, read_summary

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("", outputs=[
        nbformat.v4.new_output("display_data", data={SUMMARY_MIME: {"when": "2025-Q3", "big": 2 ** 60,
                                                                    "nested": {"z": 1, "a": [1, 2]}}}),
        nbformat.v4.new_output("display_data", data={SUMMARY_MIME: {"upd": 2, "big": 3, "名": "值"}})])]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    in_memory, from_file = cells_summary(nb.cells), read_summary(path)
    assert json.dumps(in_memory, ensure_ascii=False) == json.dumps(from_file, ensure_ascii=False)
    assert type(in_memory["nested"]) is dict and in_memory["big"] == 3


THREADS_PROBE = '''import os
from qa_helpers.data.archive import analysis_cursor
from qa_helpers.report.context import record_summary
record_summary(threads=analysis_cursor().execute("SELECT current_setting('threads')").fetchone()[0],
               blas=os.environ.get("OPENBLAS_NUM_THREADS"), omp=os.environ.get("OMP_NUM_THREADS"))'''


@pytest.mark.parametrize("jobs, cores, duckdb, blas", [(2, 2, 1, "1"), (2, 8, 2, "4"), (1, 2, 2, "2")])
def test_kernels_side_by_side_share_the_cores_between_their_thread_pools(tmp_path, archive, monkeypatch, jobs, cores,
                                                                         duckdb, blas):
    from qa_helpers.run import batch

    for name in ("QAKIT_DUCKDB_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # what the environment sets stays
    monkeypatch.setattr(batch, "usable_cores", lambda: cores)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_threads.ipynb", THREADS_PROBE)
    manifest = run_batch("2025-Q3", teams="HL-B,HL-C", out=tmp_path / "r", archive=archive, jobs=jobs,
                         notebooks_dir=folder, progress=False, html=False)
    # the cores shared out; DuckDB at most the two a report has on its own
    assert [(e["summary"]["threads"], e["summary"]["blas"], e["summary"]["omp"]) for e in manifest["entries"]] \
        == [(duckdb, blas, "7")] * 2


def test_dask_workers_on_one_machine_share_its_cores(tmp_path, archive, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from qa_helpers.run.batch import usable_cores

    monkeypatch.delenv("QAKIT_DUCKDB_THREADS", raising=False)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_threads.ipynb", THREADS_PROBE)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        manifest = run_batch("2025-Q3", teams="HL-B,HL-C", out=tmp_path / "dask", archive=archive,
                             scheduler=cluster.scheduler_address, notebooks_dir=folder, progress=False, html=False)
    # two one-thread workers on this machine: each kernel's DuckDB has half its cores (at most two)
    expected = min(2, max(1, usable_cores() // 2))
    assert [e["summary"]["threads"] for e in manifest["entries"]] == [expected, expected]


def test_a_warm_kernel_started_for_other_threads_is_replaced(tmp_path, monkeypatch):
    from qa_helpers.run import execute

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_threads.ipynb", THREADS_PROBE + "\nrecord_summary(pid=os.getpid())")

    def run(unit, threads):
        result = execute.run_notebook("threads", unit, "2025-Q4", tmp_path / "out" / unit, {"archive": ""},
                                      html=False, notebooks=folder, reuse_kernel=True, threads=threads)
        assert result.status == "ok", result.error
        return result.summary["blas"], result.summary["pid"]

    try:
        (one, first), (three, second), (again, third) = run("HL-A", 1), run("HL-B", 3), run("HL-C", 3)
    finally:
        execute.discard_kernel()
    assert (one, three, again) == ("1", "3", "3")
    assert first != second == third  # replaced for other threads, kept for the same


def test_the_duckdb_threads_setting_overrides_and_bad_values_fall_back(monkeypatch):
    import os

    from qa_helpers.data.archive import analysis_threads

    monkeypatch.setenv("QAKIT_DUCKDB_THREADS", "3")
    assert analysis_threads() == 3
    for bad in ("", "two", "0"):
        monkeypatch.setenv("QAKIT_DUCKDB_THREADS", bad)
        assert analysis_threads() == (1 if bad == "0" else min(2, os.cpu_count() or 1))
