"""Monitoring: threshold alerts, the coaching rule and its evidence, the alerts command."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from qa_helpers.cli import main
from qa_helpers.monitor.alerts import COLUMNS
from qa_helpers.monitor.monitoring import (_window, alert_episodes, chart_series, coaching_cases, coaching_review,
                                           judgement_notes, threshold_alerts, weekly_counts, weekly_judgements,
                                           weekly_values, whole_weeks)
from qa_helpers.measures.intervals import wilson_interval
from qa_helpers.periods import parse_period

WEEKS = pd.date_range("2025-03-03", periods=4, freq="7D")
MARCH = parse_period("2025-03")   # whole weeks: 3, 10, 17 and 24 March; the week of 31 March is partial


def _surveys(weekly_satisfied: dict[str, list[tuple[int, int]]], team: str = "T1") -> pd.DataFrame:
    """Survey answers per agent: for each week (satisfied, total)."""
    rows = []
    for agent, weeks in weekly_satisfied.items():
        for week, (good, total) in zip(WEEKS, weeks):
            for i in range(total):
                rows.append({"survey_id": f"{agent}-{week:%m%d}-{i}", "ticket_id": None, "agent_id": agent,
                             "team": team, "channel": "phone", "answered_at": week + pd.Timedelta(hours=10 + i % 5),
                             "csat": 5 if i < good else 2, "nps": None, "source": "survey"})
    return pd.DataFrame(rows).astype({"csat": "Int64", "nps": "Int64"})


def _tables(surveys: pd.DataFrame) -> dict:
    """The surveys with a ticket on every day of March (the days the unit has data)."""
    days = pd.date_range("2025-03-01 09:00", "2025-03-31 09:00", freq="D")
    tickets = pd.DataFrame({"ticket_id": [f"t{i}" for i in range(len(days))], "created_at": days, "team": "T1",
                            "agent_id": "a", "channel": "phone", "first_response_s": 10.0, "handle_s": 60.0,
                            "first_contact_resolved": pd.array([True] * len(days)),
                            "reopened": pd.array([False] * len(days))})
    return {"tickets": tickets, "surveys": surveys}


STD = {"alerts": [{"kpi": "csat", "unit": "team", "every": "week", "below": 0.85, "min_n": 5}],
       "alert_episodes": {"merge_gap_weeks": 1, "chronic_weeks": 4, "severity": {"high": 0.10, "medium": 0.05}},
       "kpis": {"csat": {"target": 0.90}},
       "coaching": {"kpi": "csat", "below": 0.8, "consecutive_weeks": 3, "min_responses": 3,
                    "min_run_responses": 15, "confidence": 0.95},
       "sla": {"phone": 30}, "complaint_response_hours": 24}


def test_whole_weeks_of_a_period():
    q4 = parse_period("2025-Q4")   # 1 October is a Wednesday, 31 December too
    tickets = pd.DataFrame({"created_at": pd.to_datetime(["2025-10-01 08:00", "2025-12-31 17:00"])})
    assert whole_weeks({"tickets": tickets}, q4) == (pd.Timestamp("2025-10-06"), pd.Timestamp("2025-12-22"))
    # data that stops on a Wednesday: that week is not whole yet
    tickets = pd.DataFrame({"created_at": pd.to_datetime(["2025-10-01 08:00", "2025-11-19 17:00"])})
    assert whole_weeks({"tickets": tickets}, q4) == (pd.Timestamp("2025-10-06"), pd.Timestamp("2025-11-10"))


def test_weeks_that_fire_together_are_one_alert_with_its_start_and_duration():
    surveys = _surveys({"a": [(9, 10), (8, 10), (7, 10), (6, 10)]})  # 90 %, then 80 %, 70 %, 60 %
    judged = weekly_judgements(_tables(surveys), STD, period=MARCH)
    assert judged["status"].tolist() == ["ok", "fired", "fired", "fired"]
    alert = alert_episodes(judged, STD).iloc[0]
    assert (alert["start"], alert["last_week"], alert["weeks_open"], alert["weeks_fired"]) == (WEEKS[1], WEEKS[3], 3, 3)
    assert alert["n"] == 30 and alert["value"] == pytest.approx(21 / 30)
    assert alert["open"] and alert["kind"] == "new"
    assert alert["severity"] == "high"   # 70 % is 18 % under 85 %


def test_one_quiet_week_does_not_end_an_alert_and_four_weeks_open_is_chronic():
    surveys = _surveys({"a": [(8, 10), (9, 10), (8, 10), (8, 10)]})   # 80 %, 90 %, 80 %, 80 %
    alerts = threshold_alerts(_tables(surveys), STD, period=MARCH)
    assert len(alerts) == 1
    assert (alerts.iloc[0]["weeks_open"], alerts.iloc[0]["weeks_fired"], alerts.iloc[0]["kind"]) == (4, 3, "chronic")
    strict = {**STD, "alert_episodes": {**STD["alert_episodes"], "merge_gap_weeks": 0}}
    alerts = threshold_alerts(_tables(surveys), strict, period=MARCH)
    # open first: the second episode (still firing) leads; the first is closed
    assert alerts["kind"].tolist() == ["recurring", "new"] and alerts["open"].tolist() == [True, False]
    assert alerts["start"].tolist() == [WEEKS[2], WEEKS[0]]


def test_thin_and_partial_weeks_are_not_judged_and_say_so():
    surveys = _surveys({"a": [(1, 4), (9, 10), (9, 10), (9, 10)]})   # 25 % on 4 answers (min_n 5)
    late = _surveys({"a": [(0, 10)]}).assign(answered_at=pd.Timestamp("2025-03-31 10:00"))  # the partial week
    judged = weekly_judgements(_tables(pd.concat([surveys, late], ignore_index=True)), STD, period=MARCH)
    assert judged.set_index("week")["status"].to_dict() == {
        WEEKS[0]: "too few", WEEKS[1]: "ok", WEEKS[2]: "ok", WEEKS[3]: "ok", pd.Timestamp("2025-03-31"): "partial week"}
    assert alert_episodes(judged, STD).empty
    notes = judgement_notes(judged)
    assert notes[0] == "Partial weeks, not judged (only part of the week lies in the period or has data): 2025-03-31."
    assert notes[1] == ("Not judged, too few observations: CSAT (top-2-box) per team and week, 1 group-weeks: "
                        "T1 2025-03-03 (n = 4).")


def test_alerts_are_sorted_open_first_then_by_severity():
    surveys = pd.concat([_surveys({"a": [(8, 10), (8, 10), (9, 10), (9, 10)]}, team="T1"),     # closed, medium
                         _surveys({"b": [(9, 10), (9, 10), (9, 10), (84, 100)]}, team="T2"),   # open, low
                         _surveys({"c": [(9, 10), (9, 10), (5, 10), (5, 10)]}, team="T3")],    # open, high
                        ignore_index=True)
    alerts = threshold_alerts(_tables(surveys), STD, period=MARCH)
    assert alerts[["group", "open", "severity"]].values.tolist() == [
        ["T3", True, "high"], ["T2", True, "low"], ["T1", False, "medium"]]


@pytest.mark.parametrize("weeks, runs", [
    ([(2, 4), (2, 4), (2, 4), (4, 4)], 1),    # three weeks at 50 %: a run
    ([(2, 4), (2, 4), (4, 4), (2, 4)], 0),    # two, then a good week: the run breaks
    ([(2, 4), (1, 2), (2, 4), (2, 4)], 0),    # the middle week has 2 answers (< 3): no data breaks the run
    ([(4, 5), (4, 5), (4, 5), (4, 5)], 0),    # exactly 80 % is not below 80 %
])
def test_seed_coaching_rule_finds_runs(weeks, runs):
    cases, _ = coaching_review(_tables(_surveys({"a": weeks})), STD)
    assert len(cases) == runs
    if runs:
        assert (cases.iloc[0]["first_week"], cases.iloc[0]["run_length"]) == (WEEKS[0], 3)
        assert cases.iloc[0]["decision"] == "too few answers"   # 12 answers over the run, 15 needed


def _team(others: tuple[int, int], agent: dict[str, list[tuple[int, int]]]) -> dict:
    """Nine agents at ``others`` (satisfied, total) every week, plus ``agent``."""
    return _tables(_surveys({**{f"o{i}": [others] * 4 for i in range(9)}, **agent}))


def test_an_agent_far_below_a_good_team_gets_one_to_one_coaching():
    cases, teams = coaching_review(_team((9, 10), {"slump": [(3, 10), (2, 10), (3, 10), (9, 10)]}), STD)
    case = cases.iloc[0]
    assert (case["agent_id"], case["decision"], case["run_n"]) == ("slump", "one-to-one coaching", 30)
    assert case["run_csat"] == pytest.approx(8 / 30) and case["team_csat"] == pytest.approx(0.9)
    assert case["run_csat"] < case["shrunk_csat"] < case["team_csat"]   # shrunk towards the team, still under 80 %
    team = teams.iloc[0]
    assert team["one_to_one"] == 1 and team["agents_with_runs"] == 1 and team["agents"] == 10


def test_answers_without_a_team_are_judged_as_one_team_not_dropped():
    tables = _team((9, 10), {"slump": [(3, 10), (2, 10), (3, 10), (9, 10)]})
    tables["surveys"]["team"] = None
    cases, teams = coaching_review(tables, STD)
    assert cases.iloc[0]["decision"] == "one-to-one coaching" and teams["team"].tolist() == ["(no team)"]


def test_a_whole_team_below_target_is_a_team_problem_not_ten_coaching_cases():
    cases, teams = coaching_review(_team((7, 10), {"x": [(7, 10), (6, 10), (7, 10), (7, 10)]}), STD)
    assert len(cases) == 10 and set(cases["decision"]) == {"team-level"}
    assert teams.iloc[0]["below_target"] and teams.iloc[0]["remedy"] == "team-level"
    assert coaching_cases(_team((7, 10), {}), STD).empty


def test_planted_coaching_cases_are_found_and_chance_runs_are_not_coached(full_sample):
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
        # a one-to-one case whose run overlaps the planted slump weeks
        assert ((runs["first_week"] <= slump + pd.Timedelta(weeks=3)) & (runs["last_week"] >= slump)).any(), agent
    # Q4 has no planted slump: the seed rule alone flagged 20 runs (22 % of agents); few stand out from the team
    q4 = {name: qa_archive.load(name, "ALL", "2025-Q4", archive=path) for name in ANALYSIS_TABLES}
    runs, teams = coaching_review(q4, std)
    coached = runs.loc[runs["decision"] == "one-to-one coaching", "agent_id"].nunique()
    assert coached / q4["tickets"]["agent_id"].nunique() < 0.10
    hl_c = teams.set_index("team").loc["HL-C"]
    assert hl_c["remedy"] == "team-level" and hl_c["one_to_one"] == 0 and hl_c["agents_with_runs"] >= 3


def test_alerts_command_exit_code_and_json(archive, capsys, tmp_path):
    import shutil

    import yaml

    from qa_helpers.config import config_dir

    # the small test sample has a few answers per team and week: judge weeks from 3 answers, fire under 99 %
    config = shutil.copytree(config_dir(), tmp_path / "config")
    doc = yaml.safe_load((config / "standards.yml").read_text(encoding="utf-8"))
    doc["alerts"][0].update(min_n=3, below=0.99)
    (config / "standards.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert main(["alerts", "--period", "2025-Q4", "--teams", "FS-1", "--archive", str(archive), "--format", "json",
                 "--config", str(config)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records and {r["unit"] for r in records} == {"FS-1"}
    assert {r["type"] for r in records} <= {"threshold", "coaching", "team-level"}
    # the notebook's fields: chronic or new, start, weeks open, severity, n
    assert all(list(r) == COLUMNS and r["kind"] in ("chronic", "recurring", "new")
               and r["severity"] in ("high", "medium", "low") and r["start"] and r["n"] > 0 for r in records)
    code = main(["alerts", "--period", "2025-Q4", "--teams", "FS-1", "--archive", str(archive), "--fail-on-alert",
                 "--config", str(config)])
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
    assert notes == ["Not judged: CSAT (top-2-box) per team and week (no surveys table in the archive)."]
    assert coaching_problem(no_surveys) == "no surveys table in the archive"

    no_agents = _context({"tickets": TICKET_FIELDS - {"agent_id"}, "surveys": SURVEY_FIELDS}, RULES)
    rules, notes = usable_rules(no_agents)
    assert [r["kpi"] for r in rules] == ["csat", "response_on_time"]
    # a Markdown line: the field name's underscore is escaped so that it shows as written
    assert notes == ["Not judged: First-contact resolution per agent and week (the tickets have no agent\\_id field)."]
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


@pytest.mark.parametrize("straddling_days, baseline", [(["2025-09-30", "2025-10-02"], 3), (["2025-10-02"], 2)])
def test_chart_baseline_counts_the_straddling_week_only_with_rows_before_the_start(straddling_days, baseline):
    """Q4 starts on a Wednesday: the week of 29 September is in the baseline only when it has rows before
    1 October; the surveys' weeks are their own (one answered week), though read in the same call."""
    days = pd.to_datetime(["2025-09-16", "2025-09-23", *straddling_days, "2025-10-08"])
    tickets = pd.DataFrame({"ticket_id": [f"t{i}" for i in range(len(days))], "created_at": days + pd.Timedelta(hours=9),
                            "team": "T1", "agent_id": "a", "channel": "phone",
                            "first_response_s": [30.0 * (i + 1) for i in range(len(days))],
                            "first_contact_resolved": pd.array([i % 2 == 0 for i in range(len(days))]),
                            "reopened": pd.array([False] * len(days))})
    surveys = pd.DataFrame({"survey_id": ["s1", "s2"], "ticket_id": None, "agent_id": "a", "team": "T1",
                            "channel": "phone", "answered_at": pd.to_datetime(["2025-09-17 10:00", "2025-10-09 10:00"]),
                            "csat": pd.array([5, 2], dtype="Int64"), "nps": pd.array([None, None], dtype="Int64"),
                            "source": "survey"})
    tables, start = {"tickets": tickets, "surveys": surveys}, pd.Timestamp("2025-10-01")
    charts = [("p", "csat"), ("p", "fcr"), ("xmr", "median_first_response_s")]
    got = chart_series(tables, charts, start, {})
    before = {name: _window(frame, name, end=start) for name, frame in tables.items()}
    for kind, kpi in charts:
        weekly = (weekly_counts if kind == "p" else weekly_values)
        pd.testing.assert_frame_equal(got[kpi][0], weekly(tables, kpi, {}))
        assert got[kpi][1] == len(weekly(before, kpi, {}))
    assert got["csat"][1] == 1 and got["fcr"][1] == got["median_first_response_s"][1] == baseline
    assert len(got["fcr"][0]) == 4  # the straddling week charted whole either way


def test_wilson_interval_is_statsmodels_wilson_to_the_last_bit():
    from statsmodels.stats.proportion import proportion_confint

    events, n = pd.Series([0, 3, 50, 99, 100, 7]), pd.Series([1, 10, 100, 100, 100, 7])
    for confidence in (0.9, 0.95, 0.99):
        low, high = wilson_interval(events, n, confidence)
        want_low, want_high = proportion_confint(events, n, alpha=1 - confidence, method="wilson")
        assert low.tolist() == want_low.tolist() and high.tolist() == want_high.tolist()
        for one_events, one_n in zip(events, n):  # the scalar call the external benchmarks made
            (low,), (high,) = wilson_interval([one_events], [one_n], confidence)
            assert (low, high) == proportion_confint(one_events, one_n, alpha=1 - confidence, method="wilson")


def test_the_external_benchmark_standing_leaves_scipy_stats_unimported():
    # notebook 04 judged shares on statsmodels' Wilson interval: importing it cost ~1.5 s of a cold run (issue 17)
    code = ("import sys, pandas as pd\n"
            "from qa_helpers.measures.external import benchmark_table\n"
            "values = pd.DataFrame({'kpi': ['fcr'], 'value': [0.8], 'n': [400]})\n"
            "marks = pd.DataFrame({'kpi': ['fcr'], 'value': [0.7], 'kind': ['industry'], 'year': [2025], 'source': ['x']})\n"
            "print(benchmark_table(values, marks)['standing'].tolist(), "
            "sorted(m for m in sys.modules if m.startswith(('scipy.stats', 'statsmodels'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['ahead'] []"


def test_the_coaching_review_leaves_scipy_stats_unimported():
    # importing scipy.stats costs ~0.4-0.8 s of a cold monitoring notebook (issue 17)
    code = ("import sys, pandas as pd\n"
            "import tests.test_monitoring as t\n"
            "from qa_helpers.monitor.monitoring import coaching_review\n"
            "cases, teams = coaching_review(t._team((9, 10), {'slump': [(3, 10), (2, 10), (3, 10), (9, 10)]}), t.STD)\n"
            "assert cases.iloc[0]['decision'] == 'one-to-one coaching', cases\n"
            "print(sorted(m for m in sys.modules if m.startswith(('scipy.stats', 'statsmodels'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _Recording:
    """A DuckDB connection that keeps the SQL it runs."""

    def __init__(self, connection):
        self.connection, self.queries = connection, []

    def sql(self, query):
        self.queries.append(query)
        return self.connection.sql(query)

    def execute(self, query, parameters=None):
        self.queries.append(query)
        return self.connection.execute(query, parameters)


@pytest.mark.parametrize("last_day, queries", [("2025-03-31 17:00", 1), ("2025-03-19 17:00", 2)])
def test_the_last_ticket_is_looked_for_in_the_periods_last_week_first(last_day, queries):
    import duckdb

    tickets = pd.DataFrame({"created_at": pd.to_datetime(["2025-03-01 08:00", "2025-03-12 09:00", last_day])})
    connection = duckdb.connect()
    connection.register("t", tickets)
    recording = _Recording(connection)
    # the same weeks as from the rows; a year's scan only when the last week has no ticket
    assert whole_weeks({"tickets": "(SELECT * FROM t)"}, MARCH, recording) == whole_weeks({"tickets": tickets}, MARCH)
    assert len(recording.queries) == queries and "created_at >= TIMESTAMP '2025-03-25" in recording.queries[0]


def test_the_review_reads_each_kpi_once_for_every_breakdown(monkeypatch):
    from qa_helpers.monitor import monitoring

    surveys = pd.concat([_surveys({"a": [(2, 10), (2, 10), (2, 10), (9, 10)], "b": [(9, 10)] * 4}),
                         _surveys({"c": [(5, 10), (9, 10), (6, 10), (9, 10)]}, team="T2")], ignore_index=True)
    tables = _tables(surveys)
    calls = []
    real = monitoring.kpi_tables
    monkeypatch.setattr(monitoring, "kpi_tables", lambda *a, **k: calls.append(k["kpis"]) or real(*a, **k))
    computed = monitoring.weekly_kpis(tables, monitoring.review_requests(STD), STD)
    assert calls == [["csat"]]  # team x week for the alert rule and team x agent x week for coaching: one scan
    assert set(computed) == {("csat", ("team", "week")), ("csat", ("team", "agent_id", "week"))}
    monkeypatch.setattr(monitoring, "kpi_tables", real)
    pd.testing.assert_frame_equal(weekly_judgements(tables, STD, period=MARCH, computed=computed),
                                  weekly_judgements(tables, STD, period=MARCH))
    for got, expected in zip(coaching_review(tables, STD, computed=computed), coaching_review(tables, STD)):
        pd.testing.assert_frame_equal(got, expected)


def test_alerts_of_two_rules_on_one_group_keep_the_rules_order_on_ties():
    both = {**STD, "alerts": [{"kpi": "csat", "unit": "team", "below": 0.85, "min_n": 5},
                              {"kpi": "csat", "unit": "team", "below": 0.86, "min_n": 5}]}
    surveys = _surveys({"a": [(9, 10), (8, 10), (8, 10), (9, 10)]})   # 80 % in weeks 2 and 3: both fire, both medium
    alerts = threshold_alerts(_tables(surveys), both, period=MARCH)
    assert alerts["rule"].tolist() == ["csat below 0.85 per team and week", "csat below 0.86 per team and week"]
    assert alerts[["start", "weeks_open", "weeks_fired", "n"]].values.tolist() == [[WEEKS[1], 2, 2, 20]] * 2
