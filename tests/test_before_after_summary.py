"""Plain-language before/after: one sentence per action, in the KPI's units, en and zh."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from qa_helpers.improve.actions import load_actions
from qa_helpers.improve.evaluation import ActionEvaluation, evaluate_action
from qa_helpers.improve.summary import action_headlines, headline_lines, presentable_results
from qa_helpers.measures.standards import load_standards
from qa_helpers.report.labels import t
from qa_helpers.stats import COLUMNS


def _row(metric, verdict, before, after, effect, ci, p=0.5, mde=np.nan, method="Newcombe CI + score test", note=""):
    return {"metric": metric, "method": method, "before": before, "after": after, "effect": effect,
            "ci_low": ci[0], "ci_high": ci[1], "p": p, "p_adj": p, "n_before": 400, "n_after": 420, "mde": mde,
            "verdict": verdict, "note": note, "family": "ACT-X (holm): 4 rows"}


def _evaluation(rows, did=(), its=(), target=0.9, kpi_after=0.86, meets=False, standardise=False):
    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    conclusions = pd.DataFrame({"metric": frame["metric"], "verdict": frame["verdict"], "meets_target": meets,
                                "standardise": standardise, "conclusion": "", "target": target,
                                "kpi_after": kpi_after})
    return ActionEvaluation(action_id="ACT-X", results=frame, did=pd.DataFrame(list(did), columns=COLUMNS),
                            its=pd.DataFrame(list(its), columns=COLUMNS), mix=pd.DataFrame(),
                            standardised=pd.DataFrame(columns=COLUMNS), weekly=pd.DataFrame(),
                            after_kpis=pd.DataFrame(), conclusions=conclusions)


def _headline(evaluation, language="en"):
    return action_headlines({"ACT-X": evaluation}, language).iloc[0]


def test_an_improved_share_reads_in_percent_and_points_with_the_control_and_the_target():
    did = _row("csat", "inconclusive (underpowered)", 0.72, 0.86, 0.03, (-0.04, 0.10),
               method="difference-in-differences vs HL-C: WLS on team-week cells")
    row = _headline(_evaluation([_row("csat", "improved", 0.72, 0.86, 0.14, (0.09, 0.19), p=1e-6)], did=[did],
                                kpi_after=0.91, meets=True, standardise=True))
    assert row["sentence"].startswith("CSAT (top-2-box) rose from 72 % to 86 % (+14 points, CI +9.0 to +19 points)")
    assert "control team(s) HL-C" in row["sentence"] and "could be noise" in row["sentence"]
    assert "met its target of 90 % (91 % in the after weeks)" in row["sentence"]
    assert row["decision"] == "standardise"


def test_a_worsened_duration_reads_in_time_units_and_percent_slower():
    row = _headline(_evaluation([_row("aht_s", "worsened", 300.0, 390.0, 1.3, (1.1, 1.5), p=0.001)],
                                target=280.0, kpi_after=400.0))
    assert "Average handling time rose from 5.0 min to 6.5 min (30 % slower, CI 10 % slower to 50 % slower)" \
        in row["sentence"]
    assert "missed its target of 4.7 min" in row["sentence"]
    assert row["decision"] == "rethink"


def test_no_change_inconclusive_and_not_estimable_read_differently():
    rows = [_row("complaints_per_1000", "no change larger than the MDE", 4.0, 3.9, 0.98, (0.9, 1.07)),
            _row("csat_mean", "inconclusive (underpowered)", 4.1, 4.3, 0.56, (0.45, 0.66)),
            _row("fcr", "not estimable", 0.7, 0.8, 0.1, (np.nan, np.nan), p=np.nan,
                 note="not estimable: fewer than 2 agent clusters in the after window")]
    sentence = _headline(_evaluation(rows, target=np.nan))["sentence"]
    assert "from 4.0 per 1 000 tickets to 3.9 per 1 000 tickets (2 % fewer, CI 10 % fewer to 7 % more): " \
           "no change that matters" in sentence
    assert "4.10 of 5 to 4.30 of 5" in sentence and "an after-answer beats a before-answer 56 % of the time" in sentence
    assert "cannot tell yet" in sentence
    assert "First-contact resolution could not be tested (not estimable: fewer than 2 agent clusters" in sentence
    assert _headline(_evaluation(rows[1:], target=np.nan))["decision"] == "not enough data"


def test_chinese_sentences_carry_no_latin_words_besides_ids():
    did = _row("aht_s", "improved", 300.0, 200.0, 0.7, (0.6, 0.8), p=0.001,
               method="difference-in-differences vs HL-C: WLS")
    rows = [_row("aht_s", "improved", 300.0, 200.0, 0.67, (0.6, 0.75), p=0.001),
            _row("fcr", "not estimable", 0.7, 0.8, 0.1, (np.nan, np.nan), p=np.nan, note="not estimable: G < 2")]
    headline = _headline(_evaluation(rows, did=[did], target=250.0, kpi_after=210.0, meets=True), "zh")
    words = set(re.findall(r"[A-Za-z]+", headline["sentence"] + headline["decision"]))
    assert words <= {"HL", "C"}, words
    assert "平均处理时长由5.0分钟降至3.3分钟（快33 %" in headline["sentence"]
    assert "目标4.2分钟已达成" in headline["sentence"] and headline["decision"] == t("keep watching", "zh")


def test_a_slope_the_primary_test_does_not_confirm_gets_a_note_saying_which_to_believe():
    primary = _row("csat", "no change larger than the MDE", 0.80, 0.81, 0.01, (-0.02, 0.04))
    slope = _row("csat: slope change", "improved", 0.0, 0.01, 0.01, (0.004, 0.016), p=0.01,
                 method="segmented regression (interrupted time series)")
    evaluation = _evaluation([primary], its=[slope])
    assert "weekly trend test suggests the slope improved, but the before/after comparison, which accounts " \
           "for agents and weeks, does not: believe the before/after comparison" in _headline(evaluation)["note"]
    assert "以前后对比为准" in _headline(evaluation, "zh")["note"]
    assert _headline(_evaluation([primary]))["note"] == ""


def test_the_managers_table_has_kpi_units_short_methods_and_no_log_scale():
    primary = _row("aht_s", "improved", 300.0, 240.0, 0.8, (0.7, 0.9), p=1e-5,
                   method="ratio of geometric means, OLS on log values, agent_id-clustered SE")
    level = _row("aht_s: level change", "improved", np.log(300.0), np.log(240.0), np.log(0.8),
                 (np.log(0.7), np.log(0.9)), p=0.004, mde=np.log(0.9), method="segmented regression (AR(1))")
    table = presentable_results({"ACT-X": _evaluation([primary], its=[level])})
    assert list(table.columns[:4]) == [t("ba_action_id"), "KPI", t("ba_role"), t("ba_test")]
    first, second = table.iloc[0], table.iloc[1]
    assert (first["Test"], first["p (adjusted)"], first["Change"]) == ("clustered test¹", "< 0.001", "20 % faster")
    assert (second["Before"], second["After"], second["Change"]) == ("5.0 min", "4.0 min", "20 % faster")
    assert second["Test"] == "weekly trend² (level)" and second["Role"] == "supporting only"
    assert table.attrs["footnotes"] == ["¹ clustered test: ratio of geometric means, OLS on log values",
                                        "² weekly trend: segmented regression"]
    zh = presentable_results({"ACT-X": _evaluation([primary], its=[level])}, "zh")
    assert zh.iloc[0][t("ba_verdict", "zh")] == "有改善" and zh.iloc[1][t("ba_change", "zh")] == "快20 %"


def test_a_real_action_on_the_small_archive_gets_one_sentence(archive):
    register = load_actions()
    action = next(register[register["action_id"] == "ACT-02"].itertuples(index=False))
    evaluations = {"ACT-02": evaluate_action(action, archive, load_standards().raw)}
    headlines = action_headlines(evaluations)
    assert len(headlines) == 1 and headlines.iloc[0]["sentence"].startswith("Median first response ")
    assert re.search(r"\d % (faster|slower)", headlines.iloc[0]["sentence"])
    assert re.search(r"the control team\(s\) HL-A went from \d+\.\d s to \d+\.\d s over the same weeks, so relative "
                     r"to them the change is \d+ % (faster|slower)", headlines.iloc[0]["sentence"])
    assert headlines.iloc[0]["decision"] in {"standardise", "keep watching", "rethink", "not enough data"}
    table = presentable_results(evaluations)
    shown = table.drop(columns=["n before", "n after"]).to_string()
    assert not re.search(r"\d\.\d{4}", shown), "raw decimals leaked into the managers' table"


def test_headline_lines_are_one_markdown_bullet_per_action_with_the_decision_and_note():
    primary = _row("csat", "no change larger than the MDE", 0.80, 0.81, 0.01, (-0.02, 0.04))
    slope = _row("csat: level change", "worsened", 0.8, 0.7, -0.1, (-0.15, -0.05), p=0.01,
                 method="segmented regression (interrupted time series)")
    lines = headline_lines(action_headlines({"ACT_X*": _evaluation([primary], its=[slope])}))
    assert len(lines) == 1 and lines[0].startswith(r"- **ACT\_X\***: CSAT")
    assert "*Decision: rethink.*" in lines[0] and "Note: csat: the weekly trend test suggests the level worsened" \
        in lines[0]


def test_nps_reads_as_answers_out_of_10_and_its_target_in_nps_points():
    row = _headline(_evaluation([_row("nps", "improved", 7.2, 7.9, 0.6, (0.55, 0.65), p=1e-4)],
                                target=30.0, kpi_after=34.0, meets=True, standardise=True))
    assert row["sentence"].startswith("NPS rose from 7.20 of 10 to 7.90 of 10 (an after-answer beats a "
                                      "before-answer 60 % of the time, CI 55 % to 65 %): improved")
    assert "met its target of NPS +30 (NPS +34 in the after weeks)" in row["sentence"]
