"""Hostile text in the exports and the config reaches no output live: HTML is escaped, CSV cells are
not formulas, figure labels are drawn as written.

One small sample with script tags, event handlers and spreadsheet formulas planted in every input a
user controls (agent and reviewer ids, a category, a file name, an XLSX sheet name, free text, the
action register, survey and complaint comments), ingested and run through the batch for one team, then every file of the output
tree is scanned.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
import pytest
import yaml

from qa_helpers.data.ingest import ingest
from qa_helpers.data.sample import generate
from qa_helpers.report.labels import table
from qa_helpers.report.safe import markdown_block, markdown_text, spreadsheet_safe
from qa_helpers.run.batch import run_batch

ROOT = Path(__file__).resolve().parent.parent
AGENT_XSS = "<img src=x onerror=alert(3)>"
# agent ids written as spreadsheet formulas (seed 000's ids are A0001...)
PLANTED_AGENTS = {"A0001": AGENT_XSS, "A0002": "=1+2", "A0003": "@SUM(1+1)", "A0004": "+1+1"}
REVIEWER_XSS = "<svg onload=alert(6)>"
# "&" must show as "&"; "$\frac$" as written (as mathtext it would fail the figure)
CATEGORY = r"<b onmouseover=alert(5)>故障 & $\frac$ 报修</b>"
FORMULA_CATEGORY = '=HYPERLINK("http://x","安装")'  # the review sample's CSV carries the category
FILE_XSS = "<img src=x onerror=alert(1)>"
SHEET_XSS = "<img src=x onerror=alert(2)>"          # 28 characters: a valid sheet name
REMARK_XSS = "<script>alert(4)</script>"
ACTION_XSS = "<script>alert(7)</script>"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _replace_ids(path: Path, encoding: str, mapping: dict[str, str]) -> None:
    text = path.read_text(encoding=encoding)
    for old, new in mapping.items():
        text = re.sub(rf"\b{old}\b", new, text)
    path.write_text(text, encoding=encoding)


def _plant(raw: Path, config: Path) -> None:
    tickets = raw / "helpdesk_tickets_2025.csv"
    _replace_ids(tickets, "gb18030", PLANTED_AGENTS)
    tickets.write_text(tickets.read_text(encoding="gb18030").replace("故障报修", CATEGORY), encoding="gb18030")
    frame = pd.read_csv(tickets, encoding="gb18030", dtype=str, keep_default_na=False)
    frame.loc[frame.index[::7], "备注"] = REMARK_XSS
    frame.to_csv(tickets, index=False, encoding="gb18030")
    tickets.rename(raw / f"helpdesk_tickets_{FILE_XSS}.csv")
    _replace_ids(raw / "agents_roster.csv", "utf-8-sig", PLANTED_AGENTS)
    _replace_ids(raw / "qa_reviews.csv", "utf-8", {**PLANTED_AGENTS, "R01": REVIEWER_XSS})
    _replace_ids(raw / "field_visits.csv", "utf-8", PLANTED_AGENTS)
    complaints = raw / "complaints.jsonl"
    complaints.write_text(complaints.read_text(encoding="utf-8").replace(
        '"content": "', f'"content": "{REMARK_XSS} =1+2 '), encoding="utf-8")
    workbook = openpyxl.load_workbook(raw / "survey_export.xlsx")
    answers = workbook["问卷结果"]
    comment = [cell.value for cell in answers[1]].index("评价内容") + 1
    for row in range(2, answers.max_row + 1, 5):
        answers.cell(row=row, column=comment, value=f"{REMARK_XSS} @SUM(1+1)")
    workbook.create_sheet(SHEET_XSS)
    workbook.save(raw / "survey_export.xlsx")

    sources = yaml.safe_load((config / "sources.yml").read_text(encoding="utf-8"))
    sources["value_sets"]["category"] += [CATEGORY, FORMULA_CATEGORY]
    sources["sources"]["tickets"]["values"]["category"]["安装开通"] = FORMULA_CATEGORY
    for table_name in ("tickets", "complaints"):
        values = sources["sources"][table_name].get("values", {}).get("category")
        if values:
            values[CATEGORY] = CATEGORY
    (config / "sources.yml").write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
    register = {"actions": [{
        "id": "ACT-X", "problem": ACTION_XSS, "measure": f"coach {AGENT_XSS}", "owner": "=HYPERLINK(\"x\")",
        "teams": ["HL-A"], "start": "2025-10-06", "due": "2025-11-28", "resources": "@SUM(1+1)",
        "metrics": [{"kpi": "csat", "direction": "increase", "target": 0.9}], "status": "in_progress"}]}
    (config / "actions.yml").write_text(yaml.safe_dump(register, allow_unicode=True), encoding="utf-8")


class _LiveMarkup(HTMLParser):
    """Collects what a browser would run or fetch from planted text: event-handler attributes,
    the planted image and scripts that call ``alert``."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"<{tag} {name}={value}>")
        if tag in ("img", "svg", "b") and dict(attrs).get("src") == "x":
            self.found.append(f"<{tag} src=x>")
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(" in data:
            self.found.append(f"<script>{data[:60]}")


def _live_html(text: str) -> list[str]:
    parser = _LiveMarkup()
    parser.feed(text)
    return parser.found


def _notebook_problems(path: Path) -> list[str]:
    problems = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            problems += _live_html(data.get("text/html", ""))
            problems += [f"markdown: {tag}" for tag in ("<img", "<script", "<svg", "<b ")
                         if tag in data.get("text/markdown", "").lower()]
    return problems


def _csv_formulas(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    return [cell for cell in cells
            if cell.startswith(FORMULA_START) and pd.isna(pd.to_numeric(cell, errors="coerce"))]


def _json_strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _json_strings(v)] + [s for k in value for s in _json_strings(k)]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    generate(base / "raw", seed=3, n_tickets=2000)
    shutil.copytree(ROOT / "config", base / "config")
    _plant(base / "raw", base / "config")
    ingest(base / "raw", base / "archive", config=base / "config", key=b"hostile-test-key")
    manifest = run_batch("2025-Q4", teams="HL-A", notebooks="data_quality,kpi_analysis,action_plan,before_after,"
                         "qa_calibration", out=base / "reports", archive=base / "archive", jobs=2,
                         config=base / "config", progress=False)
    return base / "reports", manifest


def test_every_planted_notebook_ran(hostile_run):
    _, manifest = hostile_run
    assert [e["status"] for e in manifest["entries"]] == ["ok"] * 5, manifest["failed"]


def test_no_output_carries_live_markup_or_a_formula(hostile_run):
    out, _ = hostile_run
    problems = {}
    scanned = {".html": 0, ".ipynb": 0, ".csv": 0, ".json": 0}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if path.suffix == ".html":
            found = _live_html(path.read_text(encoding="utf-8"))
        elif path.suffix == ".ipynb":
            found = _notebook_problems(path)
        elif path.suffix == ".csv":
            found = _csv_formulas(path)
        elif path.suffix == ".json":
            found = [s for s in _json_strings(json.loads(path.read_text(encoding="utf-8")))
                     if re.search(r"<(script|img|svg|b )", s, re.IGNORECASE)]
        else:
            continue
        scanned[path.suffix] += 1
        if found:
            problems[str(path.relative_to(out))] = found[:3]
    assert problems == {}
    assert scanned[".html"] == 6 and scanned[".ipynb"] == 5 and scanned[".csv"] == 1 and scanned[".json"] == 1


def test_the_plants_reach_the_reports_as_text(hostile_run):
    """The scan is not vacuous: each planted value is in a report, escaped once, and in the CSV as text."""
    out, _ = hostile_run
    unit = out / "2025-Q4" / "HL-A"
    escaped = {name: (unit / f"{name}.html").read_text(encoding="utf-8")
               for name in ("data_quality", "kpi_analysis", "action_plan", "before_after", "qa_calibration")}
    assert "&lt;img src=x onerror=alert(1)&gt;" in escaped["data_quality"]      # the file name
    assert "&lt;img src=x onerror=alert(2)&gt;" in escaped["data_quality"]      # the sheet name
    assert "&lt;img src=x onerror=alert(3)&gt;" in escaped["action_plan"]       # register text naming an agent
    assert "&lt;svg onload=alert(6)&gt;" in escaped["qa_calibration"]           # a reviewer id
    assert r"故障 &amp; $\frac$ 报修" in escaped["kpi_analysis"] and "&amp;amp;" not in escaped["kpi_analysis"]
    assert "&lt;script&gt;alert(7)&lt;/script&gt;" in escaped["action_plan"]    # config text, in a table
    assert "&lt;script&gt;alert(7)&lt;/script&gt;" in escaped["before_after"]   # and in a heading
    sample = pd.read_csv(unit / "review_sample_2026-Q1.csv", encoding="utf-8-sig", dtype=str)
    assert "'" + FORMULA_CATEGORY in set(sample["category"]) and FORMULA_CATEGORY not in set(sample["category"])
    assert 'href="review_sample_2026-Q1.csv"' in escaped["qa_calibration"]       # linked beside the report


def test_nothing_is_written_outside_the_output_folder(hostile_run):
    out, _ = hostile_run
    base = out.parent
    archive_files = {"archive", ".archive.gen-000001", ".archive.lock", "archive.pseudonym.key", "archive.access.log"}
    assert {p.name for p in base.iterdir()} <= archive_files | {"config", "raw", "reports"}
    assert not list(base.glob("**/review_samples"))


def test_helpers_escape_once_and_keep_numbers():
    frame = pd.DataFrame({"category": ["A & B <i>x</i>"], "-share": [-0.25]})
    html = table(frame, percent=["-share"]).to_html()
    assert "A &amp; B &lt;i&gt;x&lt;/i&gt;" in html and "-25.0%" in html
    safe = spreadsheet_safe(pd.DataFrame({"id": ["=1+2", "-x", "\tcmd", "A-1"], "n": [-1, 2, 3, 4]}))
    assert safe["id"].tolist() == ["'=1+2", "'-x", "'\tcmd", "A-1"] and safe["n"].tolist() == [-1, 2, 3, 4]
    assert markdown_text("*x*_[a](javascript:y) ACT-01") == r"\*x\*\_\[a\](javascript:y) ACT-01"
    assert markdown_block("**Unit:** <img src=x> &nbsp;") == "**Unit:** &lt;img src=x> &nbsp;"
