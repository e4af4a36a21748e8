"""Every notebook: stripped in git, thin, parameters documented, runs under papermill, leaks no PII."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from qa_helpers.run.batch import run_batch
from qa_helpers.run.execute import notebook_steps

STEPS = notebook_steps()


def test_the_kit_has_notebooks():
    assert "data_quality" in STEPS


@pytest.mark.parametrize("step", STEPS)
def test_committed_without_outputs(step):
    nb = nbformat.read(STEPS[step], as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{step}: a code cell has outputs; strip them before committing"
            assert cell.execution_count is None, f"{step}: a code cell has an execution count"
    assert "papermill" not in nb.metadata


LOOPS_AND_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.For, ast.AsyncFor,
                         ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@pytest.mark.parametrize("step", STEPS)
def test_notebooks_are_thin(step):
    """No def, class, lambda or loop in a notebook and at most 8 lines per code cell (the parameters
    cell aside): the computation lives in qa_helpers, where it is tested."""
    nb = nbformat.read(STEPS[step], as_version=4)
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        lines = cell.source.splitlines()
        if "parameters" not in cell.metadata.get("tags", []):
            assert len(lines) <= 8, f"{step}: code cell {i + 1} has {len(lines)} lines"
        tree = ast.parse("\n".join(line for line in lines if not line.lstrip().startswith("%")))
        found = sorted({type(node).__name__ for node in ast.walk(tree) if isinstance(node, LOOPS_AND_DEFINITIONS)})
        assert not found, f"{step}: code cell {i + 1} has {found}"


@pytest.mark.parametrize("step", STEPS)
def test_parameters_have_type_and_help(step):
    params = pm.inspect_notebook(str(STEPS[step]))
    assert {"team", "period", "archive", "config"} <= set(params)
    for name, info in params.items():
        assert info["inferred_type_name"] not in ("None", ""), f"{step}.{name} has no type"
        assert info["help"], f"{step}.{name} has no help text"


@pytest.fixture(scope="module")
def rendered(archive, tmp_path_factory) -> Path:
    """Every notebook run for a team, a department and ALL into a reports tree, as the batch does."""
    out = tmp_path_factory.mktemp("reports")
    manifest = run_batch("2025-Q3", teams="HL-B,hotline,ALL", out=out, archive=archive, jobs=2, progress=False)
    assert manifest["failed"] == []
    return out


def test_notebooks_run_under_papermill(rendered):
    for step in STEPS:
        nb = nbformat.read(rendered / "2025-Q3" / "HL-B" / f"{step}.ipynb", as_version=4)
        executed = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in executed)
        errors = [o for c in executed for o in c.outputs if o.output_type == "error"]
        assert errors == []


def test_html_hides_code_and_embeds_figures(rendered):
    for step in STEPS:
        html = (rendered / "2025-Q3" / "HL-B" / f"{step}.html").read_text(encoding="utf-8")
        body = html.split("<body", 1)[1]
        assert "hl-ipython3" not in body and "jp-CodeMirrorEditor" not in body  # no highlighted code
        code = [c.source for c in nbformat.read(STEPS[step], as_version=4).cells if c.cell_type == "code"]
        assert "open_context(" in "\n".join(code)
        assert "open_context(" not in body
        if "plt.show()" in "\n".join(code):
            assert "data:image/png;base64" in body  # figures travel inside the file
        assert "<pre></pre>" not in body  # the batch summary stays out of the reader's way


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="ignore") for p in folder.rglob("*") if p.is_file())


def test_no_planted_pii_anywhere_under_reports(rendered, truth, key):
    text = _all_text(rendered)
    tokens = [p["token"] for p in truth["pii"]]
    assert tokens
    assert [t for t in tokens if t in text] == []
    # JSON-escaped forms too: notebooks store text with \\uXXXX escapes for non-ASCII
    escaped = [json.dumps(t)[1:-1] for t in tokens]
    assert [t for t in escaped if t in text] == []
    assert [c for c in truth["raw_customer_ids"] if c in text] == []
    assert key.decode() not in text


def _outputs(ipynb: Path) -> str:
    """Every output of a notebook, with what differs between any two runs (object addresses,
    the random ids of styled tables) blanked."""
    import re

    cells = json.loads(ipynb.read_text(encoding="utf-8"))["cells"]
    return re.sub(r"T_[0-9a-f]{5}|at 0x[0-9a-f]+", "…", json.dumps([c.get("outputs", []) for c in cells]))


def test_a_reused_kernel_gives_the_outputs_of_a_fresh_one(rendered, archive, tmp_path):
    """The batch runs notebooks one after another in a warm kernel; each must come out exactly as
    it would from a kernel of its own: text, tables and figure bytes."""
    from qa_helpers.run.execute import run_notebook

    for step in STEPS:
        fresh = run_notebook(step, "HL-B", "2025-Q3", tmp_path, {"archive": str(archive)}, html=False)
        assert fresh.status == "ok", fresh.error
        assert _outputs(Path(fresh.ipynb)) == _outputs(rendered / "2025-Q3" / "HL-B" / f"{step}.ipynb"), step


def test_english_reports_show_no_internals(rendered):
    """What a reader sees has no True/False, NaN, snake_case names or raw floats (0.850000, 2,038.000; a
    p-value may show three significant figures): every step, for a team, a department and the company."""
    import re

    from test_language import visible_text

    for unit in ("HL-B", "hotline", "ALL"):
        for step in STEPS:
            text = visible_text((rendered / "2025-Q3" / unit / f"{step}.html").read_text(encoding="utf-8"))
            found = re.findall(r"\b(?:True|False|nan|NaN|None)\b|\b[a-z]+_[a-z_]+\b|\b\d+\.\d{6,}\b|\b\d{1,3}(?:,\d{3})+\.\d+\b",
                               text)
            assert found == [], f"{unit}/{step}: {sorted(set(found))}"
