"""Monitoring: threshold alerts, the coaching rule and its evidence, the alerts command."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from qa_helpers.cli import main
from qa_helpers.monitor.monitoring import coaching_cases, coaching_evidence, threshold_alerts

WEEKS = pd.date_range("2025-03-03", periods=4, freq="7D")


def _surveys(weekly_satisfied: dict[str, list[tuple[int, int]]]) -> pd.DataFrame:
    """Survey answers per agent: for each week (satisfied, total)."""
    rows = []
    for agent, weeks in weekly_satisfied.items():
        for week, (good, total) in zip(WEEKS, weeks):
            for i in range(total):
                rows.append({"survey_id": f"{agent}-{week:%m%d}-{i}", "ticket_id": None, "agent_id": agent,
                             "team": "T1", "channel": "phone", "answered_at": week + pd.Timedelta(hours=10 + i % 5),
                             "csat": 5 if i < good else 2, "nps": None, "source": "survey"})
    return pd.DataFrame(rows).astype({"csat": "Int64", "nps": "Int64"})


def _tables(surveys: pd.DataFrame) -> dict:
    tickets = pd.DataFrame({"ticket_id": ["x"], "created_at": [WEEKS[-1] + pd.Timedelta(hours=9)], "team": ["T1"],
                            "agent_id": ["a"], "channel": ["phone"], "first_response_s": [10.0], "handle_s": [60.0],
                            "first_contact_resolved": pd.array([True]), "reopened": pd.array([False])})
    return {"tickets": tickets, "surveys": surveys}


STD = {"alerts": [{"kpi": "csat", "unit": "team", "every": "week", "below": 0.85}],
       "coaching": {"kpi": "csat", "below": 0.8, "consecutive_weeks": 3, "min_responses": 3},
       "sla": {"phone": 30}, "complaint_response_hours": 24}


def test_threshold_alert_fires_per_week_and_the_last_week_is_open():
    surveys = _surveys({"a": [(9, 10), (8, 10), (9, 10), (7, 10)]})  # 90 %, 80 %, 90 %, 70 %
    alerts = threshold_alerts(_tables(surveys), STD)
    assert alerts["week"].tolist() == [WEEKS[1], WEEKS[3]]
    assert alerts["value"].tolist() == [0.8, 0.7]
    assert alerts["open"].tolist() == [False, True]


def test_alerts_without_tickets_in_the_period_are_not_open():
    surveys = _surveys({"a": [(9, 10), (5, 10), (9, 10), (9, 10)]})
    tables = _tables(surveys)
    tables["tickets"] = tables["tickets"].iloc[:0]
    alerts = threshold_alerts(tables, STD)
    assert len(alerts) == 1 and not alerts["open"].any()


def test_alerts_need_enough_observations():
    surveys = _surveys({"a": [(1, 4), (9, 10), (9, 10), (9, 10)]})  # 25 % on 4 answers: not judged
    assert threshold_alerts(_tables(surveys), STD).empty


@pytest.mark.parametrize("weeks, flagged", [
    ([(2, 4), (2, 4), (2, 4), (4, 4)], True),    # three weeks at 50 %: coaching
    ([(2, 4), (2, 4), (4, 4), (2, 4)], False),   # two, then a good week: the run breaks
    ([(2, 4), (1, 2), (2, 4), (2, 4)], False),   # the middle week has 2 answers (< 3): no data breaks the run
    ([(4, 5), (4, 5), (4, 5), (4, 5)], False),   # exactly 80 % is not below 80 %
])
def test_coaching_rule(weeks, flagged):
    cases = coaching_cases(_tables(_surveys({"a": weeks})), STD)
    assert (len(cases) == 1) == flagged
    if flagged:
        assert (cases.iloc[0]["first_week"], cases.iloc[0]["run_length"]) == (WEEKS[0], 3)


def test_coaching_evidence_uses_the_whole_period():
    tables = _tables(_surveys({"a": [(2, 4), (2, 4), (2, 4), (20, 20)]}))
    evidence = coaching_evidence(coaching_cases(tables, STD), tables, STD).iloc[0]
    assert evidence["run_csat"] == 0.5 and evidence["run_n"] == 12
    assert evidence["period_csat"] == pytest.approx(26 / 32)
    assert evidence["evidence"] == "run only"


def test_planted_coaching_cases_are_found(full_sample):
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.report.context import ANALYSIS_TABLES
    from qa_helpers.measures.standards import load_standards

    path, truth = full_sample
    std = load_standards().raw
    tables = {name: qa_archive.load(name, "ALL", "2025-Q2", archive=path) for name in ANALYSIS_TABLES}
    cases = coaching_cases(tables, std)
    slump = pd.Timestamp.fromisocalendar(2025, truth["coaching"]["iso_weeks"][0], 1)
    for agent in truth["coaching"]["agents"]:
        runs = cases[cases["agent_id"] == agent]
        # the run overlaps the planted slump weeks
        assert ((runs["first_week"] <= slump + pd.Timedelta(weeks=3)) & (runs["last_week"] >= slump)).any(), agent


def test_alerts_command_exit_code_and_json(archive, capsys):
    assert main(["alerts", "--period", "2025-Q4", "--teams", "FS-1", "--archive", str(archive), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records and {r["unit"] for r in records} == {"FS-1"}
    assert {r["type"] for r in records} <= {"threshold", "coaching"}
    code = main(["alerts", "--period", "2025-Q4", "--teams", "FS-1", "--archive", str(archive), "--fail-on-alert"])
    assert code == 1
    assert main(["alerts", "--period", "2025-Q4", "--teams", "nope", "--archive", str(archive)]) == 2


def _context(available: dict[str, set[str]], alerts: list[dict]):
    """A notebook context over an archive holding ``available`` (nothing is read from disk)."""
    from pathlib import Path

    from qa_helpers.measures.standards import load_standards
    from qa_helpers.periods import parse_period
    from qa_helpers.report.context import Context

    std = load_standards()
    std.raw["alerts"] = alerts
    return Context(unit="T1", period=parse_period("2025-Q1"), archive=Path("."), teams=["T1"], standards=std,
                   language="en", available=available)


TICKET_FIELDS = {"ticket_id", "created_at", "channel", "agent_id", "customer_id", "category", "first_response_s",
                 "handle_s", "resolved_at", "first_contact_resolved", "reopened", "team"}
SURVEY_FIELDS = {"survey_id", "ticket_id", "answered_at", "csat", "source", "team", "agent_id", "channel"}
RULES = [{"kpi": "csat", "unit": "team", "every": "week", "below": 0.85},
         {"kpi": "fcr", "unit": "agent", "every": "week", "below": 0.7},
         {"kpi": "response_on_time", "unit": "channel", "every": "week", "below": 0.8}]


def test_rules_that_need_what_the_archive_lacks_are_not_judged():
    from qa_helpers.monitor.monitoring import coaching_problem, usable_rules

    everything = _context({"tickets": TICKET_FIELDS, "surveys": SURVEY_FIELDS}, RULES)
    assert usable_rules(everything) == (RULES, []) and coaching_problem(everything) is None

    no_surveys = _context({"tickets": TICKET_FIELDS, "surveys": set()}, RULES)
    rules, notes = usable_rules(no_surveys)
    assert [r["kpi"] for r in rules] == ["fcr", "response_on_time"]
    assert notes == ["Not judged: csat per team and week (no surveys table in the archive)."]
    assert coaching_problem(no_surveys) == "no surveys table in the archive"

    no_agents = _context({"tickets": TICKET_FIELDS - {"agent_id"}, "surveys": SURVEY_FIELDS}, RULES)
    rules, notes = usable_rules(no_agents)
    assert [r["kpi"] for r in rules] == ["csat", "response_on_time"]
    assert notes == ["Not judged: fcr per agent and week (the tickets have no agent_id field)."]
    assert coaching_problem(no_agents) == "the tickets have no agent_id field"


def test_alerts_command_skips_what_an_archive_without_agents_cannot_judge(tmp_path, capsys):
    from qa_helpers.config import kit_root
    from qa_helpers.data.foreign import write_call_log
    from qa_helpers.data.ingest import ingest

    (tmp_path / "raw").mkdir()
    write_call_log(tmp_path / "raw" / "call_log_2025H1.csv", n=1000, seed=2)
    mapping = kit_root() / "config" / "mappings" / "call_log"
    ingest(tmp_path / "raw", tmp_path / "archive", config=mapping, key=b"k")
    assert main(["alerts", "--period", "2025-Q2", "--teams", "all", "--archive", str(tmp_path / "archive"),
                 "--config", str(mapping), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records and {r["type"] for r in records} == {"threshold"}  # coaching needs agents: not assessed
