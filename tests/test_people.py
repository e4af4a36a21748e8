"""Issue 14 parts 2 and 5: the coaching register and whether sessions worked, the training and QA programme."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_helpers.cli import main
from qa_helpers.errors import ConfigError, RegisterError
from qa_helpers.measures.standards import load_standards
from qa_helpers.people import coaching, registers, training

HEADER = "session_id,agent_id,coach,date,topic,agreed_action,follow_up_date,follow_up_done,kpi\n"
GOOD = HEADER + ("CS-1,A0001,Zhou Min,2025-04-28,Tone,Record two calls,2025-05-26,yes,csat\n"
                 "CS-2,A0002,Liu Yang,2025/5/5,=HYPERLINK(\"x\"),<b>bold</b>,2025-06-01,no,\n")
TRAINING = ("course_id,course,date,hours,agent_id,score,passed,certified\n"
            "C1,Billing,2025-07-07,16,A0001,85,yes,\n"
            "C1,Billing,2025-07-07,16,A0002,70,no,\n"
            "C1,Billing,2025-07-07,16,A0003,90,yes,\n"
            "CERT,Certification,2025-03-01,8,A0001,80,yes,yes\n"
            "CERT,Certification,2025-03-01,8,A0002,50,no,no\n")


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


# ---------------------------------------------------------------- registers

def test_a_register_loaded_again_is_the_same_unless_its_file_changed(tmp_path):
    """Registers are kept by their file's content: the same frame again (a copy the caller may change),
    and a file rewritten between two loads, even to the same size, is loaded and checked anew."""
    path = _write(tmp_path, "training.csv", TRAINING)
    first = registers.load_training(path)
    first.loc[0, "hours"] = -1.0
    first.attrs["present"] = "changed by the caller"
    again = registers.load_training(path)
    pd.testing.assert_frame_equal(again, registers.load_training(_write(tmp_path, "copy.csv", TRAINING)))
    assert again.attrs["present"] is True and (again["hours"] > 0).all()
    _write(tmp_path, "training.csv", TRAINING.replace("Billing,2025-07-07,16", "Billing,2025-07-07,12"))
    assert set(registers.load_training(path)["hours"]) == {12.0, 8.0}
    _write(tmp_path, "training.csv", TRAINING.replace("70,no", "70,maybe"))
    with pytest.raises(RegisterError, match="passed"):
        registers.load_training(path)
    coaching_file = _write(tmp_path, "coaching.csv", GOOD)
    assert registers.load_coaching(coaching_file).equals(registers.load_coaching(coaching_file))
    with pytest.raises(RegisterError, match="unknown KPI"):
        registers.load_coaching(coaching_file, kpis=("fcr",))  # other options: checked again


def test_coaching_register_loads_with_types_and_rows(tmp_path):
    frame = registers.load_coaching(_write(tmp_path, "coaching.csv", GOOD))
    assert frame.attrs["present"] and list(frame["session_id"]) == ["CS-1", "CS-2"]
    assert frame.loc[1, "date"] == pd.Timestamp("2025-05-05")  # 2025/5/5 as Excel writes it
    assert list(frame["follow_up_done"]) == [True, False] and list(frame["row"]) == [2, 3]
    assert frame.loc[1, "kpi"] == ""  # empty: the coaching rule's KPI


def test_a_missing_register_is_no_register(tmp_path):
    assert not registers.load_coaching(tmp_path / "coaching.csv").attrs["present"]
    assert registers.load_training(tmp_path / "training.csv").empty


def test_gb18030_register_from_a_chinese_excel_reads(tmp_path):
    text = HEADER + "CS-1,A0001,周敏,2025-04-28,语气,每周录两通电话,2025-05-26,是,\n"
    frame = registers.load_coaching(_write(tmp_path, "coaching.csv", text, encoding="gb18030"))
    assert frame.loc[0, "coach"] == "周敏" and bool(frame.loc[0, "follow_up_done"])


@pytest.mark.parametrize("text, row, column, words", [
    (HEADER.replace(",kpi", ",kpi,extra") + "CS-1,A1,c,2025-01-06,t,a,,no,,x\n", 1, "extra", "unknown column"),
    (HEADER.replace("coach,", "") + "CS-1,A1,2025-01-06,t,a,,no,\n", 1, "coach", "missing column"),
    (HEADER + "CS-1,A1,c,2025-01-06,t,a,,no,\nCS-2,A1,c,06.01.2025,t,a,,no,\n", 3, "date", "not a date"),
    (HEADER + "CS-1,A1,c,2025-01-06,t,a,2025-01-01,no,\n", 2, "follow_up_date", "before the session"),
    (HEADER + "CS-1,A1,c,2025-01-06,t,a,,maybe,\n", 2, "follow_up_done", "not yes or no"),
    (HEADER + "CS-1,A1,c,2025-01-06,t,a,,no,\nCS-1,A2,c,2025-01-06,t,a,,no,\n", 3, "session_id", "twice"),
    (HEADER + "CS-1,,c,2025-01-06,t,a,,no,\n", 2, "agent_id", "empty"),
    (HEADER + "CS-1,A1,c,2025-01-06,t,a,,no,happiness\n", 2, "kpi", "unknown KPI"),
])
def test_a_bad_coaching_cell_names_file_row_and_column(tmp_path, text, row, column, words):
    path = _write(tmp_path, "coaching.csv", text)
    with pytest.raises(RegisterError) as err:
        registers.load_coaching(path)
    assert (err.value.row, err.value.column) == (row, column)
    message = str(err.value)
    assert str(path) in message and f"row {row}" in message and words in message and "\n" not in message


def test_an_excel_saved_register_with_spare_columns_and_blank_rows_reads_with_true_lines(tmp_path):
    # Excel keeps trailing empty columns ("Unnamed: 9") and rows of only commas; a blank line is no row
    text = (HEADER.rstrip("\n") + ",,\n" + "CS-1,A1,c,2025-01-06,t,a,,no,,,\n" + ",,,,,,,,,,\n" + "\n"
            + "CS-2,A2,c,2025-01-07,t,a,,no,,,\n")
    frame = registers.load_coaching(_write(tmp_path, "coaching.csv", text))
    assert list(frame["session_id"]) == ["CS-1", "CS-2"] and list(frame["row"]) == [2, 5]
    bad = text + "CS-3,A3,c,07.01.2025,t,a,,no,,,\n"
    with pytest.raises(RegisterError) as err:
        registers.load_coaching(_write(tmp_path, "coaching.csv", bad))
    assert (err.value.row, err.value.column) == (6, "date")
    trained = registers.load_training(_write(tmp_path, "training.csv", TRAINING.replace("\n", ",\n", 1) + "\n"))
    assert len(trained) == 5 and sorted(trained["row"]) == [2, 3, 4, 5, 6]


@pytest.mark.parametrize("text, row, column", [
    (TRAINING + "C1,Billing,2025-07-07,sixteen,A0004,80,yes,\n", 7, "hours"),
    (TRAINING + "C1,Billing,2025-07-07,16,A0004,180,yes,\n", 7, "score"),
    (TRAINING + "C1,Billing 2,2025-07-07,16,A0004,80,yes,\n", 2, "course"),
    (TRAINING + "C1,Billing,2025-07-07,16,A0001,80,yes,\n", 7, "agent_id"),
])
def test_a_bad_training_cell_names_file_row_and_column(tmp_path, text, row, column):
    with pytest.raises(RegisterError) as err:
        registers.load_training(_write(tmp_path, "training.csv", text))
    assert (err.value.row, err.value.column) == (row, column)


def test_unknown_agents_are_reported_not_dropped_silently(tmp_path):
    frame = registers.load_coaching(_write(tmp_path, "coaching.csv", GOOD))
    roster = pd.DataFrame({"agent_id": ["A0001"], "team": ["HL-A"], "department": ["hotline"]})
    known, unknown = registers.check_agents(frame, roster)
    assert list(known["team"]) == ["HL-A"]
    assert unknown.to_dict("records") == [{"agent_id": "A0002", "row": 3}]


# ---------------------------------------------------------------- follow-up and cases never coached

def _sessions(**columns) -> pd.DataFrame:
    base = {"session_id": ["S1", "S2", "S3", "S4"], "agent_id": ["A1", "A2", "A3", "A4"],
            "date": pd.to_datetime(["2025-10-06", "2025-11-03", "2025-12-01", "2026-01-12"]),
            "follow_up_date": pd.to_datetime(["2025-11-03", "2025-11-17", "2026-01-05", "2026-02-01"]),
            "follow_up_done": [True, False, False, False], "kpi": "", "team": "T", "coach": "c"}
    base.update(columns)
    return pd.DataFrame(base)


def test_follow_up_done_pending_and_overdue():
    tracked = coaching.follow_up(_sessions(), pd.Timestamp("2026-01-01")).set_index("session_id")
    assert "S4" not in tracked.index  # held after the period
    assert tracked["state"].to_dict() == {"S3": "follow-up pending", "S2": "follow-up overdue", "S1": "follow-up done"}
    assert tracked.loc["S2", "days_overdue"] == 45  # 17 Nov to the period's end (1 Jan, exclusive)


def test_a_follow_up_due_on_the_last_day_is_one_day_overdue_never_overdue_by_0_days():
    sessions = _sessions(follow_up_date=pd.to_datetime(["2025-11-03", "2025-12-31", "2026-01-01", "2026-02-01"]),
                         follow_up_done=[False, False, False, False])
    tracked = coaching.follow_up(sessions, pd.Timestamp("2026-01-01")).set_index("session_id")
    assert tracked.loc["S2", ["state", "days_overdue"]].tolist() == ["follow-up overdue", 1]
    assert tracked.loc["S3", ["state", "days_overdue"]].tolist() == ["follow-up pending", 0]
    assert not ((tracked["state"] == "follow-up overdue") & (tracked["days_overdue"] <= 0)).any()


def test_never_coached_counts_sessions_since_the_case_began_only():
    cases = pd.DataFrame({"agent_id": ["A1", "A2", "A9", "A8"], "team": "T",
                          "first_week": pd.to_datetime(["2025-10-13", "2025-10-27", "2025-11-03", "2025-11-03"]),
                          "last_week": pd.to_datetime(["2025-11-03"] * 4), "run_n": 20, "run_csat": 0.5,
                          "decision": ["one-to-one coaching"] * 3 + ["team-level"]})
    never = coaching.never_coached(cases, _sessions(), pd.Timestamp("2026-01-01"))
    # A1 was coached before the case began (does not count), A2 after it, A9 never; A8 is a team-level run
    assert sorted(never["agent_id"]) == ["A1", "A9"]


# ---------------------------------------------------------------- did the session work?

def _observations(seed: int, agent_shift: float, agent_before: float = 0.5, weeks: int = 8,
                  per_week: int = 6, peers: int = 10, team_shift: float = 0.0) -> pd.DataFrame:
    """A team's CSAT answers over ``weeks`` weeks from 2025-03-03: agent A0 starts at ``agent_before``,
    peers at 0.8; from 2025-03-31 A0 moves by ``agent_shift`` and everyone by ``team_shift``."""
    rng = np.random.default_rng(seed)
    rows = []
    for week in range(weeks):
        monday = pd.Timestamp("2025-03-03") + pd.Timedelta(weeks=week)
        after = week >= 4
        for agent in ["A0", *[f"P{i}" for i in range(peers)]]:
            p = (agent_before + agent_shift * after if agent == "A0" else 0.8) + team_shift * after
            for _ in range(per_week):
                rows.append({"time": monday + pd.Timedelta(hours=int(rng.integers(8, 100))), "team": "T",
                             "agent_id": agent, "value": float(rng.random() < p)})
    return pd.DataFrame(rows)


def _session(date: str = "2025-03-31", agent: str = "A0") -> pd.DataFrame:
    return pd.DataFrame({"session_id": ["S1"], "agent_id": [agent], "team": ["T"], "coach": ["c"],
                         "date": [pd.Timestamp(date)], "kpi": [""]})


def test_a_session_after_which_the_agent_recovers_worked():
    effects = coaching.coaching_effect(_session(), {"csat": _observations(1, agent_shift=0.4)},
                                       pd.Timestamp("2026-01-01"))
    row = effects.iloc[0]
    assert row["effect_verdict"] == "worked" and row["effect"] > 0.2 and row["ci_low"] > 0
    assert row["n_before"] == 24 and row["peers"] == 10


def test_a_team_wide_lift_is_not_credited_to_the_coaching():
    # everyone (the agent too) improves by 15 points from the session's week: a team action, not coaching
    effects = coaching.coaching_effect(_session(), {"csat": _observations(2, 0.0, team_shift=0.15, per_week=12)},
                                       pd.Timestamp("2026-01-01"))
    assert effects.iloc[0]["effect_verdict"] != "worked"
    assert abs(effects.iloc[0]["effect"]) < 0.15


def test_an_agent_at_100_percent_before_does_not_make_a_change_certain():
    obs = _observations(3, agent_shift=-0.25, agent_before=1.0, per_week=4)
    effects = coaching.coaching_effect(_session(), {"csat": obs}, pd.Timestamp("2026-01-01"))
    row = effects.iloc[0]
    assert np.isfinite(row["ci_low"]) and row["ci_high"] - row["ci_low"] > 0.2  # a real interval, not a point


def test_few_answers_and_unfinished_windows_are_said_so():
    obs = _observations(4, agent_shift=0.4, per_week=2)
    few = coaching.coaching_effect(_session(), {"csat": obs}, pd.Timestamp("2026-01-01"), min_answers=10)
    assert few.iloc[0]["effect_verdict"] == "too few tickets to tell" and few.iloc[0]["n_before"] == 8
    early = coaching.coaching_effect(_session(), {"csat": obs}, pd.Timestamp("2025-04-15"))
    assert early.iloc[0]["effect_verdict"] == "too early to tell"


def test_sessions_are_one_holm_family():
    two = pd.concat([_session(), _session(agent="P0").assign(session_id="S2")], ignore_index=True)
    effects = coaching.coaching_effect(two, {"csat": _observations(5, agent_shift=0.4)}, pd.Timestamp("2026-01-01"))
    tested = effects.dropna(subset=["p"])
    assert (tested["p_adj"] >= tested["p"]).all() and tested["p_adj"].max() <= 1


# ---------------------------------------------------------------- training and QA programme

def test_course_pass_rates_and_the_programme(tmp_path):
    records = registers.load_training(_write(tmp_path, "training.csv", TRAINING))
    listed = training.courses(records).set_index("course_id")
    assert listed.loc["C1", "pass_rate"] == pytest.approx(2 / 3) and listed.loc["C1", "trainees"] == 3
    roster = pd.DataFrame({"agent_id": ["A0001", "A0002", "A0003", "A0004"], "team": ["X", "X", "Y", "Y"]})
    records = records.merge(roster, on="agent_id")
    reviews = pd.DataFrame({"ticket_id": ["t1", "t2", "t3"], "team": ["X", "X", "Y"], "voice_quality": [5.0, 1, 4],
                            "courtesy": [5.0, 1, 4], "problem_solving": [5.0, 1, 4], "proactiveness": [5.0, 1, 4],
                            "compliance": [5.0, 1, 4], "critical_fail": [False, False, True]})
    tickets = pd.DataFrame({"ticket_id": [f"t{i}" for i in range(1, 11)], "team": ["X"] * 5 + ["Y"] * 5})
    figures = training.programme(roster, records, reviews, tickets, "U", pass_mark=60).set_index("team")
    unit = figures.loc["U"]
    assert unit["pass_rate"] == pytest.approx(3 / 5) and unit["hours_per_agent"] == pytest.approx((48 + 16) / 4)
    assert unit["certified_rate"] == pytest.approx(1 / 4)  # A0001 only; no record is not certified
    assert unit["qa_pass_rate"] == pytest.approx(1 / 3)   # t1 passes, t2 scores 0, t3 has a critical fail
    assert unit["coverage"] == pytest.approx(3 / 10)
    assert figures.loc["X", "coverage"] == pytest.approx(3 / 5) and figures.loc["X", "certified_rate"] == 0.5


def test_training_acceptance_criteria(tmp_path):
    actions = _write(tmp_path, "actions.yml", "actions:\n  - id: A1\n    acceptance:\n"
                     "      - {measure: training_pass_rate, course: C1, target: 0.95}\n"
                     "      - {measure: training_pass_rate, course: NOPE, target: 0.5}\n")
    criteria = training.load_criteria(actions)
    records = registers.load_training(_write(tmp_path, "training.csv", TRAINING))
    checks = training.criteria_checks(criteria, records, pd.Timestamp("2026-01-01"))
    assert checks.loc[0, "verdict"] == "not met" and checks.loc[0, "value"] == pytest.approx(2 / 3)
    assert checks.loc[1, "verdict"].startswith("not measurable")
    assert training.criteria_checks(criteria, records, pd.Timestamp("2025-07-01")).loc[0, "verdict"] == \
        "not yet measurable"
    bad = _write(tmp_path, "bad.yml", "actions:\n  - id: A1\n    acceptance:\n      - {measure: vibes, course: C1}\n")
    with pytest.raises(ConfigError, match=r"actions\[0\] \(A1\)\.acceptance\[0\]: measure"):
        training.load_criteria(bad)


def test_people_standards_are_checked(tmp_path):
    text = open("config/standards.yml", encoding="utf-8").read().replace("qa_pass_mark: 60", "qa_pass_mark: 600")
    with pytest.raises(ConfigError, match="people.qa_pass_mark"):
        load_standards(_write(tmp_path, "standards.yml", text))


def test_a_broken_register_stops_the_batch_with_one_line(tmp_path, archive, capsys):
    config = tmp_path / "config"
    config.mkdir()
    _write(config, "training.csv", TRAINING + "C1,Billing,2025-07-07,16,A0009,abc,yes,\n")
    code = main(["run", "--teams", "HL-B", "--notebooks", "scorecard", "--no-html", "--period", "2025-Q3",
                 "--out", str(tmp_path / "out"), "--config", str(config), "--archive", str(archive)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "row 7" in err and "'score'" in err


# ---------------------------------------------------------------- the planted sample

def test_committed_registers_are_the_generators(full_sample):
    from qa_helpers.config import kit_root

    archive, truth = full_sample
    raw = archive.parent / "raw"
    for name in ("coaching.csv", "training.csv"):
        assert (raw / name).read_text(encoding="utf-8") == (kit_root() / "config" / name).read_text(encoding="utf-8")


def test_planted_coaching_sessions_are_found(full_sample):
    from qa_helpers.improve.evaluation import load_teams, observations
    from qa_helpers.config import kit_root
    from qa_helpers.data import archive as qa_archive

    archive, truth = full_sample
    standards = load_standards(kit_root() / "config" / "standards.yml").raw
    sessions = registers.load_coaching(kit_root() / "config" / "coaching.csv")
    sessions, unknown = registers.check_agents(sessions, qa_archive.load("agents", archive=archive))
    assert unknown.empty
    tables = load_teams(sorted(sessions["team"].unique()), archive, pd.Timestamp("2025-01-01"),
                        pd.Timestamp("2026-01-01"))
    effects = coaching.coaching_effect(sessions, {"csat": observations(tables, "csat", standards)},
                                       pd.Timestamp("2026-01-01"), standards=standards).set_index("session_id")
    planted = {s["session_id"]: s["worked"] for s in truth["coaching"]["sessions"]}
    worked = [s for s, w in planted.items() if w is True]
    did_not = [s for s, w in planted.items() if w is False]
    assert len(worked) == 2 and len(did_not) >= 3
    assert (effects.loc[worked, "effect_verdict"] == "worked").all()
    assert (effects.loc[did_not, "effect_verdict"] != "worked").all()
    assert (effects.loc[[s for s, w in planted.items() if w is None], "effect_verdict"] == "too early to tell").all()


def test_planted_training_pass_rate_misses_its_target(full_sample):
    from qa_helpers.config import kit_root

    _, truth = full_sample
    records = registers.load_training(kit_root() / "config" / "training.csv")
    rate = training.courses(records).set_index("course_id").loc[truth["training"]["act01_course"], "pass_rate"]
    assert rate == pytest.approx(truth["training"]["courses"]["BILL-07"]["pass_rate"]) and rate < 0.95
    checks = training.criteria_checks(training.load_criteria(kit_root() / "config" / "actions.yml"), records,
                                      pd.Timestamp("2026-01-01"))
    assert checks.set_index("action_id").loc["ACT-01", "verdict"] == "not met"


def test_sections_say_when_there_is_no_register_and_list_unknown_agents(tmp_path, archive):
    from qa_helpers.people import sections
    from qa_helpers.report.context import open_context

    empty = tmp_path / "empty"
    empty.mkdir()
    ctx = open_context("ALL", "2025-Q3", archive, config=empty)
    data = sections.people_data(ctx)
    assert not data.coaching_present and not data.training_present
    cases = pd.DataFrame(columns=["agent_id", "team", "first_week", "last_week", "run_n", "run_csat", "decision"])
    assert "No coaching register" in sections.log_section(ctx, data, cases)[0]
    assert sections.log_summary(ctx, data, cases) == {"coaching_overdue": None, "never_coached": None}
    assert "No training records" in sections.training_effect_section(ctx, data, pd.DataFrame())[0]
    kept = tmp_path / "kept"
    kept.mkdir()
    _write(kept, "coaching.csv", GOOD.replace("A0002", "A9999"))
    ctx = open_context("ALL", "2025-Q3", archive, config=kept)
    data = sections.people_data(ctx)
    assert list(data.coaching["agent_id"]) == ["A0001"]
    assert len(data.notes) == 1 and "A9999" in data.notes[0] and "row 3" in data.notes[0]
    zh = open_context("ALL", "2025-Q3", archive, config=kept, language="zh")
    assert "A9999" in sections.people_data(zh).notes[0] and "已剔除" in sections.people_data(zh).notes[0]


def test_coaching_free_text_is_masked_before_it_is_shown(tmp_path, archive):
    from qa_helpers.config import project_root
    from qa_helpers.people import sections
    from qa_helpers.report.context import open_context

    text = HEADER + ("CS-1,A0001,Zhou Min,2025-08-04,回访 13812345678,call back Mr Zhang 139 1234 5678 or (555) 123-4567,"
                     "2025-08-11,no,\n")
    _write(tmp_path, "coaching.csv", text)
    sources = (project_root() / "config" / "sources.yml").read_text(encoding="utf-8")
    assert "pii_locales: [cn, intl]" in sources
    (tmp_path / "sources.yml").write_text(sources.replace("pii_locales: [cn, intl]", "pii_locales: [cn, us]"),
                                          encoding="utf-8")
    ctx = open_context("ALL", "2025-Q3", archive, config=tmp_path)
    data = sections.people_data(ctx)
    row = data.coaching.iloc[0]
    assert row["topic"] == "回访 [PHONE]" and row["agreed_action"] == "call back Mr Zhang [PHONE] or [PHONE]"
    cases = pd.DataFrame(columns=["agent_id", "team", "first_week", "last_week", "run_n", "run_csat", "decision"])
    shown = "\n".join(item.to_html() if hasattr(item, "to_html") else str(item)
                      for item in sections.log_section(ctx, data, cases))
    assert "1381234" not in shown and "1391234" not in shown and "123-4567" not in shown and "[PHONE]" in shown


def test_team_mates_answers_are_clustered_by_agent_in_a_share_and_the_method_says_so():
    from qa_helpers.report.texts import say

    obs = _observations(6, agent_shift=0.3, per_week=5)
    mine = obs[obs["agent_id"] == "A0"].assign(window=np.where(obs.loc[obs["agent_id"] == "A0", "time"]
                                                               >= pd.Timestamp("2025-03-31"), "after", "before"))
    peers = obs[obs["agent_id"] != "A0"]
    window = np.where(peers["time"] >= pd.Timestamp("2025-03-31"), "after", "before")
    # the same answers, once spread evenly over the team-mates and once each agent all 1 or all 0
    spread = peers.assign(window=window)
    lumped = spread.sort_values(["window", "value"])
    lumped["agent_id"] = "P" + (lumped.groupby("window").cumcount() // 20).astype(str)  # 10 agents of 20 answers
    even = coaching._proportion_did(mine, spread, "S1", direction="increase", alpha=0.05).iloc[0]
    grouped = coaching._proportion_did(mine, lumped, "S1", direction="increase", alpha=0.05).iloc[0]
    assert grouped["effect"] == pytest.approx(even["effect"])
    assert grouped["ci_high"] - grouped["ci_low"] > 1.2 * (even["ci_high"] - even["ci_low"])
    for language, words in (("en", ("Agresti–Caffo", "without week effects", "clustered by agent",
                                    "duration or a rate")), ("zh", ("阿格雷斯蒂–卡福", "不含周效应", "按客服聚类"))):
        said = str(say("people.effect_method", language, weeks_before=4, weeks_after=4, min_answers=10))
        assert all(w in said for w in words), language


def test_never_coached_reads_only_sessions_held_by_the_end_of_the_period():
    sessions = _sessions(agent_id=["A1", "A1", "A2", "A2"])  # A1: 6 Oct and 3 Nov; A2: 1 Dec and 12 Jan 2026
    cases = pd.DataFrame({"agent_id": ["A1", "A2", "A1"], "team": "T",
                          "first_week": pd.to_datetime(["2025-10-27", "2025-12-08", "2025-11-10"]),
                          "last_week": pd.to_datetime(["2025-11-10", "2025-12-22", "2025-11-24"]), "run_n": 20,
                          "run_csat": 0.5, "decision": "one-to-one coaching"})
    # A1's earliest case began 27 Oct and a session followed on 3 Nov; A2's session of 12 Jan is after the period
    never = coaching.never_coached(cases, sessions, pd.Timestamp("2026-01-01"))
    assert never["agent_id"].tolist() == ["A2"] and never["first_week"].tolist() == [pd.Timestamp("2025-12-08")]
    assert coaching.never_coached(cases, sessions, pd.Timestamp("2026-02-01")).empty
    # no session held by the end of the period at all (a team's register starts later, or is empty)
    assert coaching.never_coached(cases, sessions, pd.Timestamp("2025-10-01"))["agent_id"].tolist() == ["A1", "A2"]
    assert coaching.never_coached(cases, sessions.iloc[:0], pd.Timestamp("2026-01-01"))["agent_id"].tolist() == ["A1", "A2"]


def test_training_effects_read_the_registers_people_data_read(archive, monkeypatch):
    from qa_helpers.people import sections
    from qa_helpers.report.context import Context, open_context

    ctx = open_context("ALL", "2025", archive)
    data = sections.people_data(ctx)
    expected = sections.training_effects(ctx, data)
    assert len(expected)
    # who else took a course comes from the register already read and checked, not from a second read
    monkeypatch.setattr(Context, "training", lambda self: (_ for _ in ()).throw(AssertionError("read again")))
    pd.testing.assert_frame_equal(sections.training_effects(ctx, data), expected)
