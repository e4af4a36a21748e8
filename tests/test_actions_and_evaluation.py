"""The action register and the before/after evaluation on the sample's planted truth."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from qa_helpers.improve.actions import acceptance, for_teams, load_actions, tracking
from qa_helpers.config import config_dir
from qa_helpers.errors import ConfigError
from qa_helpers.improve.evaluation import evaluate_action, evaluable, metric_kind
from qa_helpers.measures.standards import load_standards


def test_register_loads_and_matches_the_sample_actions(truth):
    register = load_actions(known_units=list(truth["teams"]))
    planted = {a["action_id"]: a for a in truth["actions"]}
    for action_id, spec in planted.items():
        row = register.set_index("action_id").loc[action_id]
        assert row["teams"] == [spec["team"]]
        assert row["start"] == pd.Timestamp(spec["start"])
        assert row["control_teams"] == spec["control_teams"]


@pytest.mark.parametrize("edit, message", [
    (lambda a: a[0].update(due="2025-01-01"), "due 2025-01-01 is before start"),
    (lambda a: a[0].update(status="finished"), "status must be one of"),
    (lambda a: a[0]["metrics"].append({"kpi": "joy", "direction": "increase", "target": 1}), "unknown KPI 'joy'"),
    (lambda a: a[0].pop("owner"), "missing owner"),
    (lambda a: a[1].update(id="ACT-01"), "used twice"),
    (lambda a: a[0].update(control_teams=["HL-B"]), "cannot be its own control"),
    (lambda a: a[0].update(teams=["HL-Z"]), "unknown team"),
    (lambda a: a[0].update(start="next monday"), "is not a date"),
])
def test_bad_register_entries_are_named(tmp_path, edit, message, truth):
    doc = yaml.safe_load((config_dir() / "actions.yml").read_text(encoding="utf-8"))
    edit(doc["actions"])
    path = tmp_path / "actions.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_actions(path, known_units=list(truth["teams"]))
    assert str(path) in str(err.value)


def test_tracking_and_acceptance():
    register = load_actions()
    as_of = pd.Timestamp("2026-01-01")
    tracked = tracking(register, as_of).set_index("action_id")
    assert tracked.loc["ACT-05", "overdue"] and not tracked.loc["ACT-01", "overdue"]
    assert not tracked.loc["ACT-04", "started"]
    fake = {"csat": (0.91, 100), "fcr": (0.80, 100), "median_first_response_s": (5.0, 50),
            "onsite_arrival_on_time": (float("nan"), 0), "solution_accuracy": (0.98, 10), "complaint_24h": (0.9, 5)}

    def measure(action, start, end):
        return pd.DataFrame([{"kpi": m["kpi"], "value": fake[m["kpi"]][0], "n": fake[m["kpi"]][1]} for m in action.metrics])

    checks = acceptance(register, measure, as_of).set_index(["action_id", "kpi"])["verdict"]
    assert checks[("ACT-01", "csat")] == "met" and checks[("ACT-01", "fcr")] == "not met"
    assert checks[("ACT-02", "median_first_response_s")] == "met"   # decrease: 5 s <= 6 s
    assert checks[("ACT-03", "onsite_arrival_on_time")] == "not yet measurable"  # no data
    assert checks[("ACT-04", "complaint_24h")] == "not yet measurable"  # starts after the period
    assert for_teams(register, ["HL-B"])["action_id"].tolist() == ["ACT-01"]


def test_metric_kinds():
    assert [metric_kind(k) for k in ("csat", "aht_s", "csat_mean", "complaints_per_1000", "workload_per_agent")] == \
        ["proportion", "duration", "ordinal", "rate", None]


@pytest.fixture(scope="module")
def evaluations(full_sample):
    path, truth = full_sample
    std = load_standards().raw
    register = load_actions()
    done = register[evaluable(register, pd.Timestamp("2026-01-01"), 8, 0)]
    return {a.action_id: evaluate_action(a, path, std) for a in done.itertuples(index=False)}, truth


def test_planted_improvements_are_found(evaluations):
    found, truth = evaluations
    planted = {a["action_id"] for a in truth["actions"]}
    assert planted <= set(found)
    for action_id in planted:
        evaluation = found[action_id]
        assert (evaluation.results["verdict"] == "improved").all(), evaluation.results
        assert (evaluation.did["verdict"] == "improved").all(), evaluation.did
        level = evaluation.its[evaluation.its["metric"].str.endswith("level change")]
        assert (level["verdict"] == "improved").all(), level
        assert evaluation.results["p_adj"].ge(evaluation.results["p"]).all()  # Holm never lowers p
        # one family per action: default, DiD, segmented and standardised rows adjusted together
        family = evaluation.results["family"].iloc[0]
        parts = [evaluation.results, evaluation.did, evaluation.its, evaluation.standardised]
        assert family.startswith(action_id) and all((part["family"] == family).all() for part in parts if len(part))
        rows = sum(len(part) for part in parts)
        assert family.endswith(f"{rows} rows")


def test_action_without_a_planted_effect_is_not_called_improved(evaluations):
    found, truth = evaluations
    assert "ACT-05" not in {a["action_id"] for a in truth["actions"]}  # the register's extra, untreated action
    assert (found["ACT-05"].results["verdict"] != "improved").all(), found["ACT-05"].results


def test_chat_only_effect_is_measured_on_chat(evaluations):
    found, _ = evaluations
    obs = found["ACT-02"].observations["median_first_response_s"]
    assert set(obs["channel"]) == {"chat"}
    assert found["ACT-02"].results.iloc[0]["effect"] == pytest.approx(0.55, abs=0.08)  # planted x0.55


def test_placebo_team_shows_no_detectable_change(full_sample):
    path, truth = full_sample
    placebo = truth["placebo"]
    action = pd.Series({"action_id": "PLACEBO", "teams": [placebo["team"]], "start": pd.Timestamp(placebo["start"]),
                        "metrics": [{"kpi": k, "direction": "increase", "target": 0.99} for k in placebo["metrics"]],
                        "control_teams": ["HL-A"], "channels": [], "status": "done"})
    result = evaluate_action(action, path, load_standards().raw)
    assert set(result.results["verdict"]) <= {"no change larger than the MDE", "inconclusive (underpowered)"}, result.results
    assert not result.conclusions["standardise"].any()


def test_conclusions_say_whether_to_standardise(evaluations):
    found, _ = evaluations
    conclusions = found["ACT-03"].conclusions.iloc[0]
    assert conclusions["verdict"] == "improved" and conclusions["meets_target"] and conclusions["standardise"]
    assert "standardise the measure" in conclusions["conclusion"]


def test_acceptance_is_judged_on_the_kpi_not_the_test_scale(evaluations):
    """ACT-02's test compares geometric means; its target is on the median KPI itself."""
    found, _ = evaluations
    result = found["ACT-02"]
    median = result.after_kpis.set_index("kpi").loc["median_first_response_s", "value"]
    assert median != pytest.approx(result.results.iloc[0]["after"])
    assert result.conclusions.iloc[0]["meets_target"] == (median <= 6)
    assert f"{median:.3g}" in result.conclusions.iloc[0]["conclusion"]


def test_actions_naming_teams_the_archive_lacks_are_left_out():
    from qa_helpers.improve.actions import naming_units, unknown_teams

    register = load_actions()
    known = {"HL-A", "HL-B", "HL-C", "HL-D", "hotline", "ALL"}
    assert unknown_teams(register, known) == {"ACT-03": ["FS-1", "FS-2"], "ACT-05": ["FS-2"]}
    assert list(register.loc[naming_units(register, known), "action_id"]) == ["ACT-01", "ACT-02", "ACT-04"]


def test_metrics_the_archive_cannot_measure_are_skipped_with_the_reason(full_sample):
    path, _ = full_sample
    action = next(a for a in load_actions().itertuples(index=False) if a.action_id == "ACT-01")
    result = evaluate_action(action, path, load_standards().raw, unavailable={"csat": "no surveys table in the archive"})
    assert list(result.results["metric"]) == ["fcr"] and list(result.conclusions["metric"]) == ["fcr"]
    assert result.skipped == {"csat": "no surveys table in the archive"}
    assert "csat" not in result.observations


def test_a_mean_target_is_compared_with_the_mean_not_the_geometric_mean():
    # issue 13: average response 325 s (geometric mean ~178 s), target 260 s: a 20 % cut is
    # needed; against the geometric mean the target would have looked already met
    from qa_helpers.improve.evaluation import _expected_effect, _kpi_level
    seconds = pd.Series([100.0, 100.0, 100.0, 1000.0])
    assert _kpi_level(seconds, "mean") == 325.0 and _kpi_level(seconds, "median") == 100.0
    assert _expected_effect("duration", _kpi_level(seconds, "mean"), 260, "decrease") == pytest.approx(0.8)
    assert _expected_effect("duration", _kpi_level(seconds, "median"), 260, "decrease") is None  # already met
