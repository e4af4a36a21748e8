"""Run one notebook for one unit and period with papermill, render it, and read its summary.

:func:`run_notebook` is what a batch worker (a local process or a Dask worker) runs. It
never raises for a notebook that fails: the result says ``failed``, with the error and the
failing cell, and the output notebook keeps papermill's record of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .config import project_root
from .errors import QAKitError

NOTEBOOK_NAME = re.compile(r"^\d{2}_(?P<step>[a-z_]+)\.ipynb$")
SUMMARY_MIME = "application/vnd.qakit.summary+json"
ERROR_ANCHOR = "papermill-error-cell"


def notebooks_dir() -> Path:
    """The folder of the kit's parameterized notebooks."""
    return project_root() / "notebooks"


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

    def to_dict(self) -> dict:
        return asdict(self)


def render_html(ipynb: Path, html: Path, show_code: bool = False) -> Path:
    """Render an executed notebook as one self-contained HTML file (figures embedded).

    Code cells are hidden unless ``show_code``; their outputs stay.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    notebook = nbformat.read(ipynb, as_version=4)
    for cell in notebook.cells:  # the batch's summaries are for the index, not for readers
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if SUMMARY_MIME not in o.get("data", {})]
    body, _ = exporter.from_notebook_node(notebook)
    html.write_text(body, encoding="utf-8")
    return html


def read_summary(ipynb: Path) -> dict:
    """Headline figures a notebook left with ``context.record_summary`` (merged, in cell order)."""
    try:
        cells = json.loads(Path(ipynb).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return {}
    summary: dict = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIME in data:
                summary.update(data[SUMMARY_MIME])
    return summary


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


def run_notebook(step: str, unit: str, period: str, out_dir: str | os.PathLike, parameters: dict | None = None,
                 html: bool = True, show_code: bool = False, notebooks: str | os.PathLike | None = None,
                 log: bool = True, own_process: bool = True) -> NotebookRun:
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

    Returns
    -------
    NotebookRun
    """
    import logging

    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    steps = notebook_steps(Path(notebooks) if notebooks else None)
    if step not in steps:
        raise QAKitError(f"unknown notebook {step!r}; notebooks are {', '.join(steps)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb = out_dir / f"{step}.ipynb"
    log_path = out_dir / f"{step}.log" if log else None
    if log_path is not None:
        log_path.write_text("", encoding="utf-8")
    params = {"team": unit, "period": period, **(parameters or {})}
    started = time.perf_counter()
    error, failing_cell = None, None
    handler = logging.FileHandler(log_path, encoding="utf-8") if log_path and own_process else None
    logger = logging.getLogger("papermill")
    if handler:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    cell_log = open(log_path, "a", encoding="utf-8") if log_path and not own_process else None
    streams = {"stdout_file": cell_log, "stderr_file": cell_log} if cell_log else {}
    try:
        with _output_to(log_path if own_process else None):
            pm.execute_notebook(str(steps[step]), str(ipynb), parameters=params, cwd=str(steps[step].parent),
                                progress_bar=False, kernel_name="python3", log_output=log and own_process,
                                **streams)
    except PapermillExecutionError as exc:
        error, failing_cell = f"{exc.ename}: {exc.evalue}", exc.exec_count
    except Exception as exc:  # a dead kernel, a timeout, a broken notebook: recorded, never raised
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else 'no message'}"
    finally:
        if handler:
            logger.removeHandler(handler)
            handler.close()
        if cell_log:
            cell_log.close()
    html_path = None
    if html and ipynb.exists():
        try:
            html_path = str(render_html(ipynb, out_dir / f"{step}.html", show_code=show_code))
        except Exception as exc:  # the run's result stands; the rendering problem is reported with it
            error = (error + "; " if error else "") + f"HTML rendering failed: {type(exc).__name__}: {exc}"
    return NotebookRun(step=step, unit=unit, status="failed" if error else "ok",
                       duration_s=round(time.perf_counter() - started, 2), ipynb=str(ipynb), html=html_path,
                       log=str(log_path) if log_path else None, error=error, failing_cell=failing_cell,
                       parameters=params, summary=read_summary(ipynb) if ipynb.exists() else {})

