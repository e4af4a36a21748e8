"""One config folder for every command and notebook; empty action registers; archives with only tickets.

* ``--config DIR`` reaches every kernel: a changed SLA in the user's ``standards.yml`` changes the
  report's figures, the manifest records that file's path and sha256, and ``--resume`` reruns when
  it changes. ``$QAKIT_CONFIG`` is the fallback; a ``config/`` folder in the cwd hides no notebook.
* An empty register (``actions: []``) is valid: the action-plan, monitoring and before/after
  notebooks say "no actions registered" and run.
* Every notebook runs on an archive with only tickets — teams on the ticket rows, no roster, no
  complaints, field visits or QA reviews, fields absent (agent, customer type), surveys carved out
  of a CSAT column or no surveys at all — and says what it cannot measure instead of drawing zeros.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from qa_helpers.cli import main
from qa_helpers.config import kit_root
from qa_helpers.data.ingest import ingest
from qa_helpers.improve.actions import acceptance, for_teams, load_actions, tracking
from qa_helpers.run.batch import config_provenance, run_batch, select_steps
from qa_helpers.run.execute import notebook_steps, run_notebook

KIT_CONFIG = kit_root() / "config"
STEPS = list(notebook_steps())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _texts(ipynb: Path) -> str:
    """Every Markdown, plain-text and HTML output of an executed notebook, as one string."""
    nb = nbformat.read(ipynb, as_version=4)
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            parts += [data.get(kind, "") for kind in ("text/markdown", "text/html", "text/plain")]
            parts.append(output.get("text", ""))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def _headline_value(ipynb: Path, label: str) -> str:
    """The value cell of one KPI row in the KPI notebook's headline table."""
    html = _texts(ipynb)
    match = re.search(re.escape(label) + r"</td>\s*<td[^>]*>([^<]+)</td>", html)
    assert match, f"no headline row {label!r}"
    return match.group(1).strip()


# ---------------------------------------------------------------- --config, end to end

def test_config_folder_is_honoured_end_to_end(archive, tmp_path):
    """The user's standards.yml (in a folder holding nothing else) reaches the kernels through
    `qakit run --config`; the manifest hashes exactly that file; --resume reruns when it changes."""
    config = tmp_path / "my config"
    config.mkdir()
    standards = yaml.safe_load((KIT_CONFIG / "standards.yml").read_text(encoding="utf-8"))
    standards["sla"] = {**standards["sla"], "phone": 600, "chat": 600}  # far looser first-response SLAs
    (config / "standards.yml").write_text(yaml.safe_dump(standards, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "reports"
    run = ["run", "--period", "2025-Q3", "--teams", "HL-B", "--notebooks", "kpi_analysis", "--archive", str(archive),
           "--no-html", "--jobs", "1"]
    args = [*run, "--out", str(out)]

    assert main([*run, "--out", str(tmp_path / "kit")]) == 0  # the kit's own config
    assert main([*args, "--config", str(config)]) == 0
    kit_value = _headline_value(tmp_path / "kit" / "2025-Q3" / "HL-B" / "kpi_analysis.ipynb", "Response on time (SLA)")
    user_value = _headline_value(out / "2025-Q3" / "HL-B" / "kpi_analysis.ipynb", "Response on time (SLA)")
    assert user_value != kit_value
    assert float(user_value.rstrip("%")) > float(kit_value.rstrip("%"))

    manifest = json.loads((out / "2025-Q3" / "manifest.json").read_text(encoding="utf-8"))
    user_file = (config / "standards.yml").resolve()
    assert manifest["config_dir"] == str(config.resolve())
    assert manifest["config_files"]["standards.yml"] == {"path": str(user_file), "sha256": _sha256(user_file)}
    # the folder has no register: the kit's describes its sample's teams, so there is none, and the manifest says so
    assert manifest["config_files"]["actions.yml"] == {"path": str(config.resolve() / "actions.yml"), "sha256": None}
    assert manifest["entries"][0]["parameters"]["config"] == str(config.resolve())

    assert main([*args, "--config", str(config), "--resume"]) == 0
    resumed = json.loads((out / "2025-Q3" / "manifest.json").read_text(encoding="utf-8"))
    assert resumed["entries"][0]["status"] == "skipped"
    standards["sla"]["phone"] = 900
    (config / "standards.yml").write_text(yaml.safe_dump(standards, allow_unicode=True), encoding="utf-8")
    assert main([*args, "--config", str(config), "--resume"]) == 0
    rerun = json.loads((out / "2025-Q3" / "manifest.json").read_text(encoding="utf-8"))
    assert rerun["entries"][0]["status"] == "ok"
    assert rerun["config_files"]["standards.yml"]["sha256"] == _sha256(user_file) != manifest["config_files"][
        "standards.yml"]["sha256"]


def test_qakit_config_is_the_fallback_and_a_cwd_config_hides_no_notebook(tmp_path, monkeypatch):
    monkeypatch.delenv("QAKIT_CONFIG", raising=False)
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    shutil.copy(KIT_CONFIG / "sources.yml", project / "config" / "sources.yml")
    monkeypatch.chdir(project)
    assert select_steps("all") == STEPS  # the notebooks are the kit's, wherever the user stands
    assert config_provenance()["config_dir"] == str((project / "config").resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "standards.yml").write_text((KIT_CONFIG / "standards.yml").read_text(encoding="utf-8"),
                                             encoding="utf-8")
    monkeypatch.setenv("QAKIT_CONFIG", str(elsewhere))
    provenance = config_provenance()
    assert provenance["config_dir"] == str(elsewhere.resolve())
    assert provenance["config_files"]["standards.yml"]["path"] == str((elsewhere / "standards.yml").resolve())
    assert provenance["config_files"]["sources.yml"] == {"path": str((elsewhere / "sources.yml").resolve()),
                                                         "sha256": None}  # kernels never read it
    assert provenance["config_files"]["panel_scores.csv"]["sha256"] is None  # optional, and nowhere


def test_alerts_read_the_config_folder(archive, tmp_path, capsys):
    config = tmp_path / "cfg"
    config.mkdir()
    standards = yaml.safe_load((KIT_CONFIG / "standards.yml").read_text(encoding="utf-8"))
    standards["alerts"] = [{"kpi": "fcr", "unit": "team", "every": "week", "below": 0.999, "min_n": 1}]
    (config / "standards.yml").write_text(yaml.safe_dump(standards), encoding="utf-8")
    args = ["alerts", "--period", "2025-Q3", "--teams", "HL-B", "--format", "json", "--archive", str(archive)]
    assert main(args) == 0
    kit = json.loads(capsys.readouterr().out)
    assert main([*args, "--config", str(config)]) == 0
    user = json.loads(capsys.readouterr().out)
    assert {a["rule"] for a in user if a["type"] == "threshold"} == {"fcr below 0.999 per team and week"}
    assert not any(a["rule"].startswith("fcr") for a in kit)


def test_a_year_given_as_a_number_is_a_period(archive, tmp_path):
    """`papermill -p period 2025` passes an int: the notebook takes it as the year 2025."""
    from qa_helpers.report.context import open_context

    assert open_context("ALL", 2025, archive).period.label == "2025"
    run = run_notebook("standards", "HL-B", 2025, tmp_path, {"archive": str(archive)}, html=False)
    assert run.status == "ok", run.error
    assert "**Period:** 2025 (2025-01-01 to 2025-12-31)" in _texts(Path(run.ipynb))


# ---------------------------------------------------------------- CLI: ingest --check, map

@pytest.fixture(scope="module")
def call_log(tmp_path_factory) -> Path:
    """A contact-centre call log (no agent column, queue = team, IVR survey on the row), raw."""
    from qa_helpers.data.foreign import write_call_log

    raw = tmp_path_factory.mktemp("call_log") / "raw"
    raw.mkdir()
    write_call_log(raw / "call_log_2025H1.csv", n=1500, seed=3)
    return raw


def test_ingest_check_prints_what_would_be_quarantined_and_writes_nothing(call_log, tmp_path, capsys):
    archive = tmp_path / "archive"
    assert main(["ingest", "--raw", str(call_log), "--archive", str(archive), "--config",
                 str(KIT_CONFIG / "mappings" / "call_log"), "--check"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"tickets: 1,\d{3} raw rows, 1,\d{3} would be archived, \d+ quarantined", out)
    assert re.search(r"  time_order: \d+ row\(s\)\n    e\.g\. file call_log_2025H1\.csv, row \d+", out)
    assert "nothing was written (--check)" in out
    assert not archive.exists() and not list(tmp_path.iterdir())


def test_map_prints_the_profile_and_the_draft(call_log, tmp_path, capsys):
    pytest.importorskip("qa_helpers.data.profile")
    out = tmp_path / "myconfig" / "sources.yml"
    assert main(["map", str(call_log / "call_log_2025H1.csv"), "--table", "tickets", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Queue" in printed and f"written to {out}" in printed  # the draft goes to the file
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["sources"]["tickets"]


# ---------------------------------------------------------------- an empty action register

@pytest.mark.parametrize("text", ["actions: []\n", "", "actions:\n", None])
def test_an_empty_or_absent_register_is_valid(tmp_path, text):
    path = tmp_path / "actions.yml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    register = load_actions(path)
    assert register.empty and {"action_id", "teams", "start", "due", "metrics", "status"} <= set(register.columns)
    assert for_teams(register, ["HL-B"]).empty and "teams" in for_teams(register, ["HL-B"]).columns
    tracked = tracking(register, pd.Timestamp("2025-10-01"))
    assert tracked["overdue"].sum() == 0
    assert acceptance(register, None, pd.Timestamp("2025-10-01")).empty


def test_an_empty_register_runs_the_action_notebooks(archive, tmp_path):
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "actions.yml").write_text("# nothing planned yet\nactions: []\n", encoding="utf-8")
    manifest = run_batch("2025-Q3", teams="HL-B,ALL", notebooks="action_plan,monitoring,before_after",
                         out=tmp_path / "r", archive=archive, config=config, jobs=2, html=False, progress=False)
    assert manifest["failed"] == []
    for entry in manifest["entries"]:
        assert "No actions registered" in _texts(tmp_path / "r" / "2025-Q3" / entry["outputs"]["ipynb"]), entry
    assert manifest["config_files"]["actions.yml"]["path"] == str((config / "actions.yml").resolve())


# ---------------------------------------------------------------- archives with only tickets

@pytest.fixture(scope="module")
def call_log_archive(call_log, tmp_path_factory) -> Path:
    """Tickets and surveys carved out of their CSAT column; teams from the queue; no agent, no customer
    type, no roster, complaints, field visits or QA reviews."""
    archive = tmp_path_factory.mktemp("call_log_archive") / "archive"
    ingest(call_log, archive, config=KIT_CONFIG / "mappings" / "call_log", key=b"call-log-key")
    return archive


@pytest.fixture(scope="module")
def tickets_only(tmp_path_factory) -> tuple[Path, Path]:
    """The sample's ticket export alone (no roster, no surveys): teams derived on the ticket row.

    Returns (archive, config folder).
    """
    from qa_helpers.data.sample import generate

    base = tmp_path_factory.mktemp("tickets_only")
    generate(base / "raw", seed=5, n_tickets=1500, tables=("tickets",))
    (base / "raw" / "agents_roster.csv").unlink()
    doc = yaml.safe_load((KIT_CONFIG / "sources.yml").read_text(encoding="utf-8"))
    tickets = doc["sources"]["tickets"]
    tickets.pop("link")
    tickets["rules"] = [r for r in tickets["rules"] if "unknown_agent" not in r]
    tickets["derived"] = {"team": """CASE WHEN txt("客服工号") < 'A0030' THEN 'T-1' ELSE 'T-2' END"""}
    tickets["absent"] = ["department"]
    doc["sources"] = {"tickets": tickets}
    config = base / "config"
    config.mkdir()
    (config / "sources.yml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    ingest(base / "raw", base / "archive", config=config, key=b"tickets-only-key")
    return base / "archive", config


NOT_MEASURED_LINES = {
    "kpi_analysis": ["Not measured: no complaints table in the archive.", "not measured"],
    "monitoring": ["Coaching not assessed"],
    "qa_calibration": ["No QA reviews in the archive"],
    "data_quality": ["Not in the archive (no source): complaints, field visits, QA reviews."],
    "scorecard": ["no field visits table in the archive"],
}


def test_every_notebook_runs_on_a_tickets_only_archive(call_log_archive, tickets_only, tmp_path):
    """~1 400 calls over a half-year (one quarter reported, the previous one as baseline), and the
    sample's tickets without roster or surveys: every notebook runs and names what is not measured."""
    manifest = run_batch("2025-Q2", teams="Billing,ALL", out=tmp_path / "calls", archive=call_log_archive,
                         config=KIT_CONFIG / "mappings" / "call_log", jobs=2, html=False, progress=False)
    assert manifest["failed"] == [], [(e["team"], e["notebook"], e["error"]) for e in manifest["entries"]]
    for step, lines in NOT_MEASURED_LINES.items():
        text = _texts(tmp_path / "calls" / "2025-Q2" / "Billing" / f"{step}.ipynb")
        assert "Traceback" not in text
        for line in lines:
            assert line in text, (step, line)
    kpi = _texts(tmp_path / "calls" / "2025-Q2" / "Billing" / "kpi_analysis.ipynb")
    assert "the tickets have no customer_type field" in kpi and "the tickets have no agent_id field" in kpi
    assert manifest["entries"][0]["summary"]  # the index still gets its figures

    archive, config = tickets_only
    manifest = run_batch("2025-Q3", teams="T-1", out=tmp_path / "tickets", archive=archive, config=config, jobs=2,
                         html=False, progress=False)
    assert manifest["failed"] == [], [(e["team"], e["notebook"], e["error"]) for e in manifest["entries"]]
    kpi = _texts(tmp_path / "tickets" / "2025-Q3" / "T-1" / "kpi_analysis.ipynb")
    assert "no surveys table in the archive" in kpi
    summary = {k: v for e in manifest["entries"] for k, v in e["summary"].items()}
    assert summary["csat"] is None and summary["fcr"] is not None  # CSAT not measured is empty, never 0


def test_without_a_qa_table_the_programme_shows_reviews_and_coverage_not_measured(tickets_only):
    from qa_helpers.people import sections as people
    from qa_helpers.report.context import open_context

    archive, config = tickets_only
    ctx = open_context("T-1", "2025-Q3", archive, config=config)
    figures = people.programme_for(ctx, people.people_data(ctx), ctx.load("qa_reviews"))
    assert figures.iloc[0]["tickets"] > 0
    assert figures[["qa_reviews", "coverage"]].isna().all().all()  # not 0 reviews and 0 % coverage
