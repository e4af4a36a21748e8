"""Action governance (gaps with no action, done but not accepted, slipping) and root cause (problem types,
type × severity × frequency, 5-Why records, case reviews): issue 14 parts 3 and 4."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from qa_helpers.errors import ConfigError
from qa_helpers.improve import governance
from qa_helpers.improve.actions import load_actions, tracking
from qa_helpers.measures import rootcause
from qa_helpers.voc.topics import load_topics

AS_OF = pd.Timestamp("2026-01-01")


def _action(**kw) -> dict:
    base = {"id": "A1", "problem": "p", "measure": "m", "owner": "o", "teams": ["T1"], "start": "2025-10-01",
            "due": "2025-12-31", "metrics": [{"kpi": "csat", "direction": "increase", "target": 0.9}],
            "status": "in_progress"}
    return {**base, **kw}


def _register(tmp_path, *actions) -> pd.DataFrame:
    path = tmp_path / "actions.yml"
    path.write_text(yaml.safe_dump({"actions": list(actions)}, allow_unicode=True), encoding="utf-8")
    return load_actions(path)


def _card(flags: dict[str, bool]) -> pd.DataFrame:
    return pd.DataFrame({"indicator": list(flags), "target": 0.9, "actual": 0.8, "n": 100, "attainment": 0.89,
                         "root_cause": list(flags.values())})


# ---------------------------------------------------------------- register: addresses and progress

def test_addresses_default_to_the_metrics_and_progress_is_sorted(tmp_path):
    register = _register(tmp_path, _action(id="A1"), _action(
        id="A2", addresses=["fcr", "csat"], progress=[
            {"date": "2025-11-10", "status": "red", "note": "late", "slip_reason": "no budget"},
            {"date": "2025-10-06", "status": "green", "note": "started"}])).set_index("action_id")
    assert register.loc["A1", "addresses"] == ["csat"] and register.loc["A1", "progress"] == []
    assert register.loc["A2", "addresses"] == ["fcr", "csat"]
    assert [n["status"] for n in register.loc["A2", "progress"]] == ["green", "red"]
    assert register.loc["A2", "progress"][1]["slip_reason"] == "no budget"


@pytest.mark.parametrize("change, field", [
    ({"progress": [{"date": "2025-10-06", "status": "blue", "note": "x"}]}, "progress[0].status"),
    ({"progress": [{"date": "2025-10-06", "status": "amber"}]}, "progress[0]: an amber or red week needs a note"),
    ({"progress": [{"status": "green"}]}, "progress[0]: missing date"),
    ({"progress": [{"date": "someday", "status": "green"}]}, "progress[0]: date 'someday' is not a date"),
    ({"progress": [{"date": "2025-10-06", "status": "green", "colour": "x"}]}, "unknown key(s) colour"),
    ({"addresses": "csat"}, "addresses"),
    ({"addresses": ["CSAT score"]}, "addresses"),
])
def test_bad_governance_entries_name_file_action_and_field(tmp_path, change, field):
    with pytest.raises(ConfigError) as err:
        _register(tmp_path, _action(id="ACT-9", **change))
    message = str(err.value)
    assert str(tmp_path / "actions.yml") in message and "actions[0] (ACT-9)" in message and field in message
    assert "\n" not in message


def test_the_kit_register_keeps_the_planted_actions(truth):
    register = load_actions().set_index("action_id")
    for planted in truth["actions"]:
        row = register.loc[planted["action_id"]]
        assert row["teams"] == [planted["team"]] and row["start"] == pd.Timestamp(planted["start"])
    assert register.loc["ACT-04", "addresses"] == ["complaint_24h"]
    assert register.loc["ACT-05", "progress"][-1]["status"] == "red"


# ---------------------------------------------------------------- gaps, done but not accepted, slipping

def test_gaps_with_no_open_action_and_actions_off_target(tmp_path):
    register = _register(
        tmp_path,
        _action(id="ACT-04", teams=["HL-C"], addresses=["complaint_24h"], status="planned"),
        _action(id="ACT-01", teams=["HL-B"], addresses=["csat", "fcr"], status="done"),
        _action(id="ACT-07", teams=["HL-B"], addresses=["fcr"], status="in_progress"))
    cards = {"HL-C": _card({"csat": True, "fcr": True, "complaint_24h": False}),
             "HL-B": _card({"csat": True, "fcr": True})}
    gaps = governance.addressing(governance.flagged_gaps(cards), register).set_index(["unit", "indicator"])
    assert list(gaps.index) == [("HL-C", "csat"), ("HL-C", "fcr"), ("HL-B", "csat"), ("HL-B", "fcr")]
    assert gaps["unaddressed"].tolist() == [True, True, True, False]
    assert gaps.loc[("HL-B", "csat"), "closed_actions"] == "ACT-01 (done)"  # a done action leaves the gap open
    assert gaps.loc[("HL-B", "fcr"), "open_actions"] == "ACT-07"
    off = governance.off_target(gaps.reset_index(), register, list(cards))
    assert off["action_id"].tolist() == ["ACT-04"] and off["teams"].tolist() == [["HL-C"]]


def test_no_flagged_gap_gives_an_empty_frame():
    gaps = governance.flagged_gaps({"HL-A": _card({"csat": False})})
    assert gaps.empty and list(gaps.columns) == governance.GAP_COLUMNS


def test_done_but_not_accepted_says_which_and_why(tmp_path):
    register = _register(tmp_path, _action(id="D1", status="done"), _action(id="D2", status="done"),
                         _action(id="D3", status="done"), _action(id="O1", status="in_progress"))
    checks = pd.DataFrame({"action_id": ["D1", "D1", "D2", "D3", "O1"], "kpi": ["csat", "fcr", "csat", "csat", "csat"],
                           "direction": "increase", "target": 0.9, "value": [0.8, 0.95, None, 0.95, 0.5],
                           "n": [100, 100, None, 100, 100],
                           "verdict": ["not met", "met", "not measurable: no complaints table in the archive", "met",
                                       "not met"]})
    rows = governance.not_accepted(register, checks)
    assert rows[["action_id", "kpi", "judged"]].values.tolist() == [["D1", "csat", True], ["D2", "csat", False]]


def test_progress_status_colours_and_slipping(tmp_path):
    register = _register(
        tmp_path,
        _action(id="G", due="2026-03-31", progress=[{"date": "2025-12-01", "status": "green", "note": "fine"}]),
        _action(id="R", due="2026-03-31", progress=[
            {"date": "2025-12-01", "status": "red", "note": "blocked", "slip_reason": "vendor"},
            {"date": "2026-02-01", "status": "green", "note": "written after the period"}]),
        _action(id="L", due="2025-12-15"),  # overdue, no note
        _action(id="X", status="done", progress=[{"date": "2025-12-01", "status": "red", "note": "old"}]))
    status = governance.progress_status(tracking(register, AS_OF), AS_OF).set_index("action_id")
    assert list(status.index) == ["R", "G", "L"]  # red first, then green, then no note; done actions left out
    assert status.loc["R", "colour"] == "red" and status.loc["R", "slip_reason"] == "vendor"
    assert status.loc["R", "note"] == "blocked"  # the note dated after the period is not yet written
    assert status["slipping"].tolist() == [True, False, True]
    assert status.loc["G", "days_since_note"] == 31


def test_slipping_view_colours_survive_html_and_notes_are_escaped(tmp_path):
    register = _register(tmp_path, _action(id="R", due="2025-12-15", progress=[
        {"date": "2025-12-01", "status": "red", "note": "<script>alert(1)</script>", "slip_reason": "=cmd()"}]))
    items = governance.slipping_view(tracking(register, AS_OF), AS_OF, "zh")
    html = next(i for i in items if hasattr(i, "to_html")).to_html()
    assert "● 红" in html and "color: #c62828" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert items[0].startswith("**1") and "1 项" in items[0]


# ---------------------------------------------------------------- problem types and the matrix

def test_problem_types_come_from_data_then_text_then_category():
    topics = load_topics()
    complaints = pd.DataFrame({
        "text": ["客服态度差，很不耐烦", "等了很久才有人接", "无关内容", "无关内容", "客服态度差"],
        "category": ["other", "other", "billing_dispute", "other", "other"],
        "problem_type": [None, None, None, None, "slow_response"],
        "severity": [1, 2, 3, 4, 1]})
    found = rootcause.classify(complaints, topics)
    assert found["problem_type"].tolist() == ["poor_attitude", "slow_response", "billing_dispute", "unclassified",
                                              "slow_response"]
    assert found["assigned_by"].tolist() == ["text", "text", "category", "none", "data"]
    assert found["department"].tolist()[:3] == ["customer_service", "customer_service", "billing"]


def test_type_severity_frequency_matrix():
    classified = pd.DataFrame({"problem_type": ["a"] * 8 + ["b"] * 2 + ["c"] * 10,
                               "severity": [1, 1, 2, 3, 3, 3, 4, 4] + [1, 1] + [4] * 10})
    matrix = rootcause.type_severity_matrix(classified, frequent_share=0.3).set_index("problem_type")
    assert matrix.loc["a", ["severity_1", "severity_2", "severity_3", "severity_4"]].tolist() == [2, 1, 3, 2]
    assert matrix.loc["a", "severe"] == 3 and matrix.loc["b", "severe_share"] == 1.0
    assert matrix["frequency"].to_dict() == {"a": "frequent", "c": "frequent", "b": "occasional"}
    assert list(matrix.index) == ["a", "c", "b"]  # frequent first, then by severe complaints
    assert matrix.loc["b", "remedy"] == "monitor"
    pareto = rootcause.type_pareto(classified.assign(department="d", cause_dimension="people"))
    assert pareto["problem_type"].tolist() == ["c", "a", "b"] and set(pareto["main_cause"]) == {"people"}


# ---------------------------------------------------------------- root-cause records and case reviews

def _write(tmp_path, name, doc) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(path)


RECORD = {"unit": "HL-C", "indicator": "csat", "dimension": "people", "why": ["a", "b"], "evidence": "e"}


@pytest.mark.parametrize("change, field", [
    ({"dimension": "money"}, "root_causes[0] (HL-C csat).dimension"),
    ({"why": "because"}, "root_causes[0] (HL-C csat).why"),
    ({"why": ["a", ""]}, "why.[1]"),
    ({"indicator": "CSAT %"}, ".indicator"),
    ({"period": "Q4"}, ".period"),
    ({"owner": "x"}, "unknown key(s) owner"),
    ({"evidence": None}, ".evidence"),
])
def test_bad_root_cause_records_are_named(tmp_path, change, field):
    path = _write(tmp_path, "root_causes.yml", {"root_causes": [{**RECORD, **change}]})
    with pytest.raises(ConfigError) as err:
        rootcause.load_root_causes(path)
    assert path in str(err.value) and field in str(err.value)


def test_flagged_indicators_get_their_record_or_none(tmp_path):
    path = _write(tmp_path, "root_causes.yml", {"root_causes": [
        RECORD, {**RECORD, "unit": "ALL", "indicator": "fcr", "dimension": "tools"},
        {**RECORD, "unit": "HL-B", "indicator": "aht_s"}, {**RECORD, "indicator": "nps", "period": "2025-Q3"}]})
    records = rootcause.load_root_causes(path)
    card = _card({"csat": True, "fcr": True, "aht_s": True, "nps": True, "reopen_rate": False})
    rows = rootcause.flagged_records(card, records, "HL-C", ["HL-C"], "2025-Q4").set_index("indicator")
    assert rows["recorded"].to_dict() == {"csat": True, "fcr": True, "aht_s": False, "nps": False}
    assert rows.loc["fcr", "record_unit"] == "ALL" and rows.loc["csat", "why"] == ["a", "b"]
    assert rootcause.load_root_causes(tmp_path / "absent.yml").empty


def test_case_reviews_are_checked_and_rendered_escaped(tmp_path):
    case = {"case": "CP1", "background": "b", "problem": "<img src=x onerror=alert(1)>", "handling": "h",
            "result": "r"}
    missing = {k: v for k, v in case.items() if k != "handling"}
    with pytest.raises(ConfigError, match=r"case_reviews\[0\] \(CP1\): missing handling"):
        rootcause.load_case_reviews(_write(tmp_path, "a.yml", {"case_reviews": [missing]}))
    with pytest.raises(ConfigError, match=r"case_reviews\[1\] \(CP1\).case: 'CP1' is reviewed twice"):
        rootcause.load_case_reviews(_write(tmp_path, "b.yml", {"case_reviews": [case, case]}))
    reviews = rootcause.load_case_reviews(_write(tmp_path, "c.yml", {"case_reviews": [case, {**case, "case": "CP9"}]}))
    complaints = pd.DataFrame({"complaint_id": ["CP1", "CP2"], "received_at": pd.to_datetime(["2025-10-01"] * 2),
                               "problem_type": "slow_response", "severity": 2})
    found = rootcause.cases_found(reviews, complaints)
    assert found["case"].tolist() == ["CP1"] and found.loc[0, "impact"] == ""


# ---------------------------------------------------------------- the demo (2025-Q4), as the reports answer it

def test_the_demo_answers_the_governance_questions(full_sample, tmp_path):
    from qa_helpers.report.context import open_context

    archive, _ = full_sample
    ctx = open_context("HL-C", "2025-Q4", archive, "en")
    register = ctx.actions()
    lines = [str(i) for i in governance.gaps_view(ctx, register) if isinstance(i, str)]
    assert any("HL-C" in line and "CSAT" in line and "First-contact resolution" in line and "no open or planned"
               in line for line in lines), lines
    gaps = governance.addressing(governance.flagged_gaps(governance.unit_cards(ctx)), register).set_index("indicator")
    assert gaps.loc[["csat", "fcr"], "unaddressed"].all()
    if "complaint_24h" in gaps.index:  # ACT-04 (complaints within 24 h only) then covers that gap and no other
        assert gaps.loc["complaint_24h", "open_actions"] == "ACT-04"
    else:  # HL-C meets the 24-hour target: its only action covers none of its gaps
        assert any(line.startswith("**ACT-04** addresses only Complaints handled within 24 h") for line in lines)
    everyone = open_context("ALL", "2025-Q4", archive, "zh")
    every_action = everyone.actions()
    checks = governance.acceptance_results(everyone, every_action)
    rows = governance.not_accepted(every_action, checks)
    assert set(rows["action_id"]) == {"ACT-01"} and rows["judged"].all()  # trained, marked done, CSAT still short
    said = governance.not_accepted_view(everyone, every_action, checks)
    assert said[0].startswith("**已完成但未通过验收：** ACT-01")
    status = governance.progress_status(tracking(every_action, everyone.period.end), everyone.period.end)
    assert status.set_index("action_id").loc["ACT-05", ["colour", "slipping"]].tolist() == ["red", True]
    card = ctx.scorecard()
    records = rootcause.flagged_records(card, rootcause.load_root_causes(), "HL-C", ["HL-C"], "2025-Q4")
    assert set(records.loc[records["recorded"], "indicator"]) >= {"csat", "fcr"}
    assert "response_on_time" in set(records.loc[~records["recorded"], "indicator"])
    known = set(every_action["action_id"])
    assert set(rootcause.load_root_causes()["action"]) - {""} <= known
    found = rootcause.cases_found(rootcause.load_case_reviews(), rootcause.complaint_types(ctx))
    assert found["case"].tolist() == ["CP001028"] and found.loc[0, "problem_type"] == "transfers" and found.loc[0, "team"] == "HL-C"


def test_an_empty_register_leaves_every_gap_open(tmp_path):
    register = _register(tmp_path)
    gaps = governance.addressing(governance.flagged_gaps({"HL-A": _card({"csat": True})}), register)
    assert gaps["unaddressed"].tolist() == [True] and gaps["open_actions"].tolist() == [""]
    assert governance.off_target(gaps, register, ["HL-A"]).empty
    assert governance.not_accepted(register, pd.DataFrame(columns=["action_id", "kpi", "verdict"])).empty
    assert governance.progress_status(tracking(register, AS_OF), AS_OF).empty


@pytest.mark.parametrize("file, text, expected", [
    ("root_causes.yml", "root_causes:\n  - {unit: HL-B, indicator: csat, dimension: luck, why: [a], evidence: e}\n",
     "root_causes.yml: root_causes[0] (HL-B csat).dimension: must be one of people, process, tools, environment"),
    ("case_reviews.yml", "case_reviews:\n  - {case: CP1, background: b}\n",
     "case_reviews.yml: case_reviews[0] (CP1): missing problem, handling, result"),
    ("actions.yml", "actions:\n  - {id: A1, problem: p, measure: m, owner: o, teams: [HL-B], start: 2025-07-01, "
     "due: 2025-09-30, metrics: [{kpi: csat, direction: increase, target: 0.9}], status: done, "
     "progress: [{date: 2025-07-07, status: purple}]}\n",
     "actions.yml: actions[0] (A1).progress[0].status: must be green, amber or red, got 'purple'"),
])
def test_a_broken_governance_file_stops_the_batch_with_one_line(file, text, expected, tmp_path, archive, capsys):
    from qa_helpers.cli import main

    config = tmp_path / "config"
    config.mkdir()
    (config / file).write_text(text, encoding="utf-8")
    code = main(["run", "--teams", "HL-B", "--notebooks", "scorecard", "--no-html", "--period", "2025-Q3",
                 "--out", str(tmp_path / "reports"), "--config", str(config)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert expected in err and not (tmp_path / "reports").exists()


def test_complaints_are_classified_once_per_text_category_and_mapped_type(monkeypatch):
    # classify works on the distinct (text, category, problem_type) rows: the same as classifying every complaint
    from qa_helpers.voc.topics import problem_types

    topics = load_topics()
    texts = ["客服态度差，很不耐烦", "等了很久才有人接", None, "无关内容", "客服态度差，很不耐烦", None, "无关内容"]
    complaints = pd.DataFrame({"text": pd.array(texts, dtype="string"),
                               "category": ["other", "other", "billing_dispute", None, "other", "billing_dispute", None],
                               "problem_type": [None, None, None, None, "slow_response", None, None],
                               "severity": [1, 2, 3, 4, 1, 2, 3]}, index=[10, 11, 12, 13, 14, 15, 16])
    classified = []
    monkeypatch.setattr(rootcause, "problem_types", lambda text, *a, **k: classified.append(len(text))
                        or problem_types(text, *a, **k))
    found = rootcause.classify(complaints, topics)
    assert classified == [5]  # 7 complaints, 5 distinct (text, category, type)
    expected = problem_types(complaints["text"], complaints["category"].astype(object), topics,
                             mapped=complaints["problem_type"].astype(object))
    pd.testing.assert_frame_equal(found[["problem_type", "department", "assigned_by"]], expected)
    pd.testing.assert_frame_equal(found[["text", "category", "severity"]], complaints[["text", "category", "severity"]])
    assert rootcause.classify(complaints.iloc[:0], topics).empty


def test_the_root_cause_sections_read_only_the_complaint_columns_they_use(archive, monkeypatch):
    from qa_helpers.report.context import Context, open_context

    ctx = open_context("ALL", "2025-Q4", archive)
    asked = []
    real = Context.load
    monkeypatch.setattr(Context, "load", lambda self, table, *a, **k: asked.append(k.get("columns"))
                        or real(self, table, *a, **k))
    classified = rootcause.complaint_types(ctx)
    assert asked == [[c for c in rootcause.COMPLAINT_COLUMNS if ctx.has("complaints", c)]]
    every = rootcause.classify(real(ctx, "complaints"), rootcause._topics(ctx))
    pd.testing.assert_frame_equal(classified, every[classified.columns])
