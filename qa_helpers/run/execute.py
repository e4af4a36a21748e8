"""Run one notebook for one unit and period with papermill, render it, and read its summary.

:func:`run_notebook` is what a batch worker (a local process or a Dask worker) runs. It
never raises for a notebook that fails: the result says ``failed``, with the error and the
failing cell, and the output notebook keeps papermill's record of it.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import multiprocessing.util
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty

from qa_helpers.config import DUCKDB_THREADS_ENV, REPORT_DUCKDB_THREADS, kit_root
from qa_helpers.errors import QAKitError

NOTEBOOK_NAME = re.compile(r"^\d{2}_(?P<step>[a-z_]+)\.ipynb$")
SUMMARY_MIME = "application/vnd.qakit.summary+json"
ERROR_ANCHOR = "papermill-error-cell"
PARTIAL = ".partial"  # a notebook or page being written: ``.<step>.partial.ipynb``, renamed when complete
PR_SET_PDEATHSIG = 1


def partial_path(final: Path) -> Path:
    """Where ``final`` is written until it is complete (hidden; removed by the next run if left over)."""
    return final.with_name(f".{final.stem}{PARTIAL}{final.suffix}")


def die_with_parent(parent_pid: int | None = None) -> None:
    """Have Linux kill this process (SIGKILL) the moment its parent process dies.

    Batch workers call it as they start, and each kernel a worker starts calls it before it
    runs, so a killed ``qakit run`` leaves no worker or kernel behind. ``parent_pid`` closes
    the race of a parent that died before this call: the process then exits at once. Elsewhere
    than Linux it does nothing (kernels still poll for their parent: ``JPY_PARENT_PID``).
    """
    if not sys.platform.startswith("linux"):
        return
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


# looked up once, here: a kernel's ``preexec_fn`` runs in a child forked from a process that may have
# threads (a Dask worker), where loading a library could wait on a lock one of them held
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def light_notebook_io() -> None:
    """Have this process read and write notebooks without the IRI grammar, and check each notebook
    once, when it is written (call before nbformat loads).

    - nbformat's jsonschema imports ``rfc3987_syntax`` whenever it is installed (jupyterlab's
      jupyter-events brings it), and that builds ~35 Earley parsers at import: about 3 s of CPU in
      every process that touches a notebook, three times what papermill itself costs to import.
      Notebook schemas use no ``iri`` format, so jsonschema, finding no such module, checks the same.
    - nbformat checks each output and cell as it is made against its part of the schema, and a part
      is checked by the pure-Python jsonschema (about 0.75 ms an output: 20 ms of a batch worker's
      CPU per kit notebook). The whole notebook is checked against the same schema, by the compiled
      validator, every time it is written (:func:`nbformat.writes`), so each part is checked there.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # None: an import of it fails at once
    from nbformat.v4 import nbbase

    nbbase.validate = _checked_when_written


def _checked_when_written(node, ref=None) -> None:
    """nbformat's check of one part of a notebook as it is made: left to the check of the written notebook."""


def notebooks_dir() -> Path:
    """The folder of the kit's parameterized notebooks."""
    return kit_root() / "notebooks"


def notebook_steps(folder: Path | None = None) -> dict[str, Path]:
    """Notebooks by step name, in loop order: ``02_data_quality.ipynb`` is step ``data_quality``."""
    folder = Path(folder) if folder else notebooks_dir()
    steps = {}
    for path in sorted(folder.glob("*.ipynb")):
        match = NOTEBOOK_NAME.match(path.name)
        if match:
            steps[match["step"]] = path
    return steps


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class NotebookRun:
    """What happened to one notebook run (one manifest entry, before batch provenance is added)."""

    step: str
    unit: str
    status: str                      # ok | failed
    duration_s: float
    ipynb: str
    html: str | None
    log: str | None
    error: str | None = None
    failing_cell: int | None = None
    parameters: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    sha256: dict = field(default_factory=dict)  # of each output, checked by --resume

    def to_dict(self) -> dict:
        return asdict(self)


def page_links(step: str, steps: list[str], language: str = "en") -> str:
    """The line atop a report: a link back to the period's index and to the unit's other steps (Markdown).

    Reports sit in ``<period>/<unit>/<step>.html``, beside the unit's other steps and one folder below
    the index.
    """
    from qa_helpers.report.labels import t

    links = [f"[{t('index', language)}](../index.html)"]
    links += [f"**{t(f'step.{name}', language)}**" if name == step else f"[{t(f'step.{name}', language)}]({name}.html)"
              for name in steps]
    return " · ".join(links)


def page_title(step: str, unit: str, period: str, language: str = "en") -> str:
    """A report's browser title: "KPI analysis · HL-B · 2025-Q3"."""
    from qa_helpers.report.labels import t

    return f"{t(f'step.{step}', language)} · {unit} · {period}"


@functools.lru_cache(maxsize=8)
def _html_exporter(show_code: bool, thread: int):
    """One HTML exporter per thread and code setting: building one compiles its templates
    (about 0.3 s of CPU), which a batch worker would otherwise pay for every notebook."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", exclude_input=not show_code,
                        exclude_input_prompt=True, exclude_output_prompt=True)


def render_html(ipynb: Path, html: Path, show_code: bool = False, title: str | None = None,
                links: str | None = None) -> Path:
    """Render an executed notebook as one self-contained HTML file (figures embedded).

    Code cells are hidden unless ``show_code``; their outputs stay. ``title`` is the page's title
    (default: the notebook's file name); ``links`` (Markdown) is shown above the report.
    """
    light_notebook_io()
    import nbformat

    exporter = _html_exporter(show_code, threading.get_ident())
    notebook = nbformat.read(ipynb, as_version=4)
    for cell in notebook.cells:  # the batch's summaries are for the index, not for readers
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if SUMMARY_MIME not in o.get("data", {})]
    if links:
        notebook.cells.insert(0, nbformat.v4.new_markdown_cell(links))
    resources = {"metadata": {"name": title}} if title else None
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    partial = partial_path(html)
    partial.write_text(body, encoding="utf-8")
    os.replace(partial, html)  # a reader, or a crash, never finds half a page under the final name
    return html


def read_summary(ipynb: Path) -> dict:
    """Headline figures a notebook left with ``context.record_summary`` (merged, in cell order)."""
    try:
        cells = json.loads(Path(ipynb).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return {}
    return cells_summary(cells)


def cells_summary(cells: list) -> dict:
    """:func:`read_summary` of a notebook's cells already in memory.

    Each output's summary passes through JSON as the written notebook has it (keys sorted, plain
    dicts, not nbformat's nodes), so the manifest records the same summary either way.
    """
    summary: dict = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIME in data:
                summary.update(json.loads(json.dumps(data[SUMMARY_MIME], sort_keys=True, ensure_ascii=False)))
    return summary


# ---------------------------------------------------------------- warm kernels

# One kernel per batch worker (a local worker process, or a Dask worker thread for one task), kept
# between notebooks: starting a kernel and importing pandas, matplotlib and statsmodels costs about
# 2 s, more than most notebooks take to run. Before each notebook the kernel's namespace, figures
# and matplotlib settings are reset, so every notebook still starts from a clean slate (a test holds
# reused and fresh kernels to the same outputs); after a failure or a dead kernel the next notebook
# gets a new kernel.
RESET_CODE = """\
import matplotlib as _mpl, matplotlib.pyplot as _plt
_plt.close("all"); _mpl.rcdefaults()
get_ipython().reset(new_session=True)  # namespace, output cache, and numbering from 1 in a new history session
"""
_warm = threading.local()
READY_ROUND_S = 0.5  # the kit's kernel client asks again for kernel_info after this long without its idle status


@functools.lru_cache(maxsize=1)
def _quiet_client_class():
    from jupyter_client.asynchronous import AsyncKernelClient

    class QuietClient(AsyncKernelClient):
        """papermill's client of the kit's kernels, warm or a notebook's own: no heartbeat thread, and
        ready without waiting for IOPub to fall silent (:meth:`wait_for_ready`). Its manager answers
        whether the kernel lives (``is_alive`` asks the parent manager), so a heartbeat only adds a
        thread, an event loop and a socket per notebook, reopened after every beat the busy kernel
        misses."""

        def start_channels(self, shell=True, iopub=True, stdin=True, hb=False, control=True):
            super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=False, control=control)

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            """Return once the kernel has answered a ``kernel_info`` request on the shell channel and
            this client's IOPub socket has seen such a request's closing ``idle`` status.

            jupyter_client's own check ends by waiting for 0.2 s of silence on IOPub: 0.2 s of every
            notebook a warm kernel runs, about a quarter of a small unit's notebook in a batch. The
            idle status proves the same two things: IOPub is subscribed (no output of the first
            cell can be lost: the kernel published the status after the socket connected) and
            nothing of the request is left to drain. Without it within :data:`READY_ROUND_S` (IOPub
            still connecting, a lagging kernel) the request is sent again, as jupyter_client does; an
            idle of any request sent here counts.

            Parameters
            ----------
            timeout : float, optional
                Seconds in all (default: no limit).

            Raises
            ------
            RuntimeError
                With jupyter_client's words, which :func:`kernel_start_failed` recognises: "Kernel
                died before replying to kernel_info" or "Kernel didn't respond in <timeout> seconds".
            """
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            sent: set[str] = set()
            reply = None
            while True:
                sent.add(self.kernel_info())
                round_end = min(deadline, time.monotonic() + READY_ROUND_S)
                # both channels within one round, bounded by the clock: steady IOPub traffic of
                # another origin (a thread left printing) cannot hold the loop
                while (left := round_end - time.monotonic()) > 0:
                    try:
                        if reply is None:
                            msg = await self.shell_channel.get_msg(timeout=left)
                            if msg["parent_header"].get("msg_id") in sent and msg["msg_type"] == "kernel_info_reply":
                                reply = msg
                            continue
                        msg = await self.iopub_channel.get_msg(timeout=left)
                    except Empty:
                        break
                    if (msg["parent_header"].get("msg_id") in sent and msg["msg_type"] == "status"
                            and msg["content"].get("execution_state") == "idle"):
                        self._handle_kernel_info_reply(reply)
                        return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    return QuietClient


@functools.lru_cache(maxsize=1)
def _quiet_kernel_manager_class():
    """The manager of the kit's kernels: as papermill's, but its client is ready at its
    ``kernel_info``'s idle status, not after 0.2 s of silence (:class:`QuietClient`). A notebook's
    own kernel (``reuse_kernel=False``) has this one; a warm kernel (local and Dask workers) a
    subclass (:func:`_kernel_manager_class`)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class QuietKernelManager(AsyncKernelManager):
        @default("client_factory")
        def _quiet_client(self):
            return _quiet_client_class()

    return QuietKernelManager


def _kernel_manager_class():
    class TrackedKernelManager(_quiet_kernel_manager_class()):
        """A warm kernel's manager. papermill's clients (one per notebook) share its ZMQ context, so a
        notebook opens sockets but no context (two threads and five descriptors each, made and torn
        down per notebook), and are remembered, to be closed after each run."""

        resetter = None  # the kernel's one client for resets (see _resetter)

        def client(self, **kwargs):
            kc = super().client(**{"context": self.context, **kwargs})
            self.opened.append(kc)
            return kc

    return TrackedKernelManager


def _resetter(km):
    """The warm kernel's blocking client for resets: opened once per kernel, shell channel only.

    It keeps a context of its own: one the manager destroys (when a start fails) must not wait on
    sockets it does not know.
    """
    from jupyter_client import BlockingKernelClient

    if km.resetter is None:
        kc = BlockingKernelClient()
        kc.load_connection_info(km.get_connection_info())
        kc.start_channels(iopub=False, stdin=False, hb=False, control=False)
        km.resetter = kc
    return km.resetter


def _reset(km) -> bool:
    """Clear a warm kernel's state; False when it does not answer as it should."""
    try:
        kc = _resetter(km)
        msg_id = kc.execute(RESET_CODE, silent=True, store_history=False)
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]["status"] == "ok"
    except Exception:  # no reply in time, or a broken channel: the kernel is not fit for reuse
        return False


READ_CACHE_ENV = "QAKIT_READ_CACHE_MB"
READ_CACHE_MB = 512  # a warm kernel keeps recent archive reads (qa_helpers.data.archive.load) up to this size
# a batch kernel keeps its input history in memory: kernels of parallel workers otherwise queue on one
# history.sqlite file (and a report needs no history beyond its own run)
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]
KERNEL_LOGS = ".logs"  # hidden: what warm kernels themselves write is for debugging, not for the index


def kernel_log(period_dir: Path) -> Path:
    """Where this worker's warm kernel writes its own messages: ``<period>/.logs/kernel-<pid>.log``."""
    return Path(period_dir) / KERNEL_LOGS / f"kernel-{os.getpid()}.log"


# the thread pools of a kernel: DuckDB's (qa_helpers.data.archive.analysis_threads), the BLAS of numpy and scipy, and
# Arrow's CPU pool (which reads OMP_NUM_THREADS)
THREAD_ENVS = (DUCKDB_THREADS_ENV, "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def warm_kernel(cwd: Path, log: Path, threads: int | None = None):
    """This worker's kernel, reset for the next notebook, or a new one started in ``cwd``.

    What the kernel process itself writes (not cell output, which goes to each notebook and its
    log) is appended to ``log``. The kernel's thread pools (:data:`THREAD_ENVS`) have ``threads`` threads
    each, DuckDB at most two (default: the pools' own choice), but for those the environment already sets;
    a kernel started for another ``threads`` is replaced.
    """
    from jupyter_core.utils import run_sync

    km = getattr(_warm, "km", None)
    if km is not None and (getattr(_warm, "cwd", None), getattr(_warm, "threads", None)) == (cwd, threads) \
            and run_sync(km.is_alive)() and _reset(km):
        return km
    discard_kernel()
    km = _kernel_manager_class()(kernel_name="python3")
    km.opened = []
    # kept before it starts: a start that fails after launching the process leaves it to discard_kernel
    _warm.km, _warm.cwd, _warm.threads = km, cwd, threads
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, READ_CACHE_ENV: os.environ.get(READ_CACHE_ENV, str(READ_CACHE_MB))}
    if threads:
        # a report's DuckDB keeps to its own threads whatever the cores (its memory budget); BLAS takes its share
        env.update({name: str(min(REPORT_DUCKDB_THREADS, threads) if name == DUCKDB_THREADS_ENV else threads)
                    for name in THREAD_ENVS if name not in os.environ})
    with open(log, "ab") as stream:
        run_sync(km.start_kernel)(cwd=str(cwd), stdout=stream, stderr=stream, env=env,
                                  extra_arguments=KERNEL_ARGUMENTS,
                                  preexec_fn=functools.partial(die_with_parent, os.getpid()))
    # shut down with a local worker process (a Dask task discards its kernel itself: this runs in the main thread)
    if not getattr(_warm, "finalizer", None):
        _warm.finalizer = multiprocessing.util.Finalize(None, discard_kernel, exitpriority=10)
    return km


SAVE_EVERY_S = 5.0  # papermill writes the whole notebook before and after every cell; the kit at most this often


@functools.lru_cache(maxsize=1)
def _engine() -> str:
    """papermill's engine with fewer saves while a notebook runs, registered as ``qakit``.

    papermill rewrites the output notebook (JSON of every output so far, figures included) before
    and after every cell: a third of a batch worker's own work. The record of a run is still
    written when it starts, at most every :data:`SAVE_EVERY_S` seconds while it runs, and whole
    when it ends however it ends (failed, timed out or with a dead kernel).
    """
    from papermill.engines import NBClientEngine, papermill_engines

    class ThrottledSaveEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            save, last = nb_man.save, [time.monotonic()]

            def throttled(**save_kwargs):
                if time.monotonic() - last[0] >= SAVE_EVERY_S:
                    save(**save_kwargs)
                    last[0] = time.monotonic()

            nb_man.save = throttled
            try:
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            finally:
                nb_man.save = save  # papermill's notebook_complete then writes the final record

    papermill_engines.register("qakit", ThrottledSaveEngine)
    return "qakit"


def _close_clients(km, resetter: bool = False) -> None:
    """Close papermill's clients of ``km`` (and its resetter, when the kernel goes)."""
    for kc in km.opened:
        kc.stop_channels()
    km.opened.clear()
    if resetter and km.resetter is not None:
        km.resetter.stop_channels()
        km.resetter = None


def discard_kernel() -> None:
    """Shut down this worker's warm kernel, if any."""
    from jupyter_core.utils import run_sync

    km = getattr(_warm, "km", None)
    _warm.km = None
    if km is None:
        return
    try:
        _close_clients(km, resetter=True)  # before the manager destroys the context they share
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # already dead: nothing left to stop
        pass


@contextmanager
def _output_to(log: Path | None):
    """Send this process's stdout/stderr (and so the kernel's, which inherits them) to ``log``."""
    if log is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    with open(log, "ab") as fh:
        saved = os.dup(1), os.dup(2)
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def step_parameters(step: str, out_dir: str | os.PathLike, period) -> dict:
    """Parameters of one step only: the QA-calibration review sample is written beside its report."""
    from qa_helpers.periods import parse_period
    from qa_helpers.qa.calibration import review_sample_name

    if step != "qa_calibration":
        return {}
    return {"sample_out": str(Path(out_dir) / review_sample_name(parse_period(str(period))))}


KERNEL_START_ATTEMPTS = 2
# jupyter_client's words (and the kit's kernel client's, which uses them too) when a kernel gives no
# kernel_info reply in papermill's start timeout
_KERNEL_START_ERRORS = ("Kernel didn't respond", "Kernel died before replying to kernel_info")


def kernel_start_failed(exc: BaseException) -> bool:
    """Whether ``exc`` says a kernel never became ready, before any cell ran.

    A kernel started under load (parallel batch workers, a Dask worker's thread) now and then
    misses papermill's start timeout (papermill issues #239, #776); no cell has run then, so the
    notebook is run once more in a new kernel rather than failing the unit's report.
    """
    return isinstance(exc, RuntimeError) and str(exc).startswith(_KERNEL_START_ERRORS)


def _log_line(log_path: Path | None, line: str) -> None:
    if log_path is not None:
        with open(log_path, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")


def run_notebook(step: str, unit: str, period: str, out_dir: str | os.PathLike, parameters: dict | None = None,
                 html: bool = True, show_code: bool = False, notebooks: str | os.PathLike | None = None,
                 log: bool = True, own_process: bool = True, reuse_kernel: bool = False,
                 timeout: float | None = None, threads: int | None = None) -> NotebookRun:
    """Execute one notebook with papermill into ``out_dir/<step>.ipynb`` (and ``.html``, ``.log``).

    Parameters
    ----------
    step : str
        The notebook's step name (``data_quality``, ``scorecard``, ...).
    unit, period : str
        The ``team`` and ``period`` parameters.
    out_dir : path-like
        Folder for this unit's outputs.
    parameters : dict, optional
        Further notebook parameters (e.g. ``archive``).
    html, show_code : bool
        Render HTML, and whether code cells show in it.
    notebooks : path-like, optional
        Folder of notebooks (default: the kit's).
    log : bool
        Write the run's output (cell output, kernel messages) to ``<step>.log``.
    own_process : bool
        The caller runs one notebook per process at a time (the local pool), so the
        process's stdout/stderr (inherited by the kernel) may go to the log too. A threaded
        Dask worker shares them between notebooks, so there only the cell output is logged.
    reuse_kernel : bool
        Run in this thread's warm kernel (reset first) instead of a new one; for batch
        workers that run one notebook at a time in a thread (a local worker, a Dask task).
    timeout : float, optional
        Seconds any one cell may run; a cell that takes longer fails the notebook (default: no limit).
    threads : int, optional
        Threads of each of a new warm kernel's thread pools (:func:`warm_kernel`): a batch running kernels
        side by side gives each its share of the cores (default: the pools' own choice).

    Returns
    -------
    NotebookRun
    """
    import logging

    light_notebook_io()
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    steps = notebook_steps(Path(notebooks) if notebooks else None)
    if step not in steps:
        raise QAKitError(f"unknown notebook {step!r}; notebooks are {', '.join(steps)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb = out_dir / f"{step}.ipynb"
    partial = partial_path(ipynb)  # papermill saves after every cell: only a finished run takes the real name
    log_path = out_dir / f"{step}.log" if log else None
    if log_path is not None:
        log_path.write_text("", encoding="utf-8")
    params = {"team": unit, "period": period, **step_parameters(step, out_dir, period), **(parameters or {})}
    started = time.perf_counter()
    error, failing_cell = None, None
    handler = logging.FileHandler(log_path, encoding="utf-8") if log_path and own_process else None
    logger = logging.getLogger("papermill")
    if handler:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    cell_log = open(log_path, "a", encoding="utf-8") if log_path and not own_process else None
    streams = {"stdout_file": cell_log, "stderr_file": cell_log} if cell_log else {}
    warm: dict = {}
    executed = None  # the notebook papermill returns when every cell ran
    try:
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            if reuse_kernel:
                warm["km"] = warm_kernel(steps[step].parent, kernel_log(out_dir.parent), threads)
            try:
                with _output_to(log_path if own_process else None):
                    executed = pm.execute_notebook(
                        str(steps[step]), str(partial), parameters=params, cwd=str(steps[step].parent),
                        progress_bar=False, kernel_name="python3", log_output=log and own_process,
                        execution_timeout=timeout, engine_name=_engine(), **streams,
                        **(warm or {"kernel_manager_class": _quiet_kernel_manager_class()}))
                break
            except RuntimeError as exc:
                if attempt == KERNEL_START_ATTEMPTS or not kernel_start_failed(exc):
                    raise
                if warm:
                    _close_clients(warm["km"])
                    discard_kernel()
                _log_line(log_path, f"kernel start failed ({exc}); starting another kernel")
    except PapermillExecutionError as exc:
        error, failing_cell = f"{exc.ename}: {exc.evalue}", exc.exec_count
    except Exception as exc:  # a dead kernel, a timeout, a broken notebook: recorded, never raised
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else 'no message'}"
    finally:
        if warm:
            _close_clients(warm["km"])
            if error:  # a failed notebook may leave the kernel in any state
                discard_kernel()
        if handler:
            logger.removeHandler(handler)
            handler.close()
        if cell_log:
            cell_log.close()
    # only here, after the run ended (ok or failed) and not when it was interrupted, is the record final
    if partial.exists():
        os.replace(partial, ipynb)
    else:  # nothing was written: an earlier run's report must not pass for this one's
        ipynb.unlink(missing_ok=True)
    html_path = None
    if html and ipynb.exists():
        try:
            language = str(params.get("language") or "en")
            html_path = str(render_html(ipynb, out_dir / f"{step}.html", show_code=show_code,
                                        title=page_title(step, unit, period, language),
                                        links=page_links(step, list(steps), language)))
        except Exception as exc:  # the run's result stands; the rendering problem is reported with it
            (out_dir / f"{step}.html").unlink(missing_ok=True)
            error = (error + "; " if error else "") + f"HTML rendering failed: {type(exc).__name__}: {exc}"
    return NotebookRun(step=step, unit=unit, status="failed" if error else "ok",
                       duration_s=round(time.perf_counter() - started, 2), ipynb=str(ipynb), html=html_path,
                       log=str(log_path) if log_path else None, error=error, failing_cell=failing_cell,
                       parameters=params,
                       # what was just written, without parsing it back (a report's figures make it ~0.5 MB);
                       # a file that is not there reads as no summary
                       summary=cells_summary(executed["cells"]) if executed is not None else read_summary(ipynb),
                       sha256={kind: file_hash(Path(path)) for kind, path in (("ipynb", ipynb), ("html", html_path))
                               if path and Path(path).exists()})

