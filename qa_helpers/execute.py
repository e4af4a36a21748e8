"""Run one notebook for one unit and period with papermill, and render it as shareable HTML."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import project_root
from .errors import QAKitError

NOTEBOOK_NAME = re.compile(r"^\d{2}_(?P<step>[a-z_]+)\.ipynb$")


def notebooks_dir() -> Path:
    """The folder of the kit's parameterized notebooks."""
    return project_root() / "notebooks"


def notebook_steps(folder: Path | None = None) -> dict[str, Path]:
    """Notebooks by step name, in loop order: ``02_data_quality.ipynb`` is step ``data_quality``."""
    folder = folder or notebooks_dir()
    steps = {}
    for path in sorted(folder.glob("*.ipynb")):
        match = NOTEBOOK_NAME.match(path.name)
        if match:
            steps[match["step"]] = path
    return steps


@dataclass
class NotebookRun:
    """What happened to one notebook run."""

    step: str
    unit: str
    status: str                      # ok | failed
    duration_s: float
    ipynb: Path
    html: Path | None
    error: str | None = None
    parameters: dict = field(default_factory=dict)


def render_html(ipynb: Path, html: Path, show_code: bool = False) -> Path:
    """Render an executed notebook as one self-contained HTML file (figures embedded).

    Code cells are hidden unless ``show_code``; their outputs stay.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(ipynb, as_version=4))
    html.write_text(body, encoding="utf-8")
    return html


def run_notebook(step: str, unit: str, period: str, out_dir: Path, parameters: dict | None = None,
                 html: bool = True, show_code: bool = False) -> NotebookRun:
    """Execute one notebook with papermill into ``out_dir/<step>.ipynb`` (and ``.html``).

    A failing notebook does not raise: the run comes back ``failed`` with the error, and the
    output notebook keeps papermill's record of the failing cell.
    """
    import papermill as pm

    steps = notebook_steps()
    if step not in steps:
        raise QAKitError(f"unknown notebook {step!r}; notebooks are {', '.join(steps)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb = out_dir / f"{step}.ipynb"
    params = {"team": unit, "period": period, **(parameters or {})}
    started = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(str(steps[step]), str(ipynb), parameters=params, cwd=str(steps[step].parent),
                            progress_bar=False, kernel_name="python3")
    except Exception as exc:  # papermill raises its own error for a failing cell; record, never stop the batch
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    html_path = None
    if html and ipynb.exists():
        html_path = render_html(ipynb, out_dir / f"{step}.html", show_code=show_code)
    return NotebookRun(step=step, unit=unit, status="failed" if error else "ok",
                       duration_s=round(time.perf_counter() - started, 2), ipynb=ipynb, html=html_path,
                       error=error, parameters=params)


def archive_parameter(archive: str | os.PathLike | None) -> dict:
    """The ``archive`` notebook parameter as an absolute path (notebooks run in their own folder)."""
    return {"archive": str(Path(archive).resolve())} if archive else {}
