"""Surveys done properly, mystery shopping and benchmarks (issue 15, parts 4 and 5)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qa_helpers.errors import ConfigError, QAKitError, RegisterError
from qa_helpers.stats import surveys as s

# real-statistics.com's binary questionnaire (12 respondents x 11 items, 5 missing answers), as shipped
# with pingouin (dataset ``cronbach_wide_missing``); its documented values come from R psych::alpha.
WIDE_MISSING = """Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8,Q9,Q10,Q11
1.0,1,1.0,1,1.0,1,1,1,1.0,1,1
1.0,1,1.0,1,1.0,1,1,1,0.0,1,0
,0,1.0,1,,1,1,1,1.0,0,0
1.0,1,1.0,0,1.0,1,0,1,1.0,0,0
1.0,1,1.0,1,1.0,0,0,0,1.0,0,0
0.0,1,,0,1.0,1,1,1,0.0,0,0
1.0,1,1.0,1,0.0,0,1,0,0.0,0,0
1.0,1,1.0,1,1.0,0,0,0,0.0,0,0
0.0,1,0.0,1,1.0,0,0,0,0.0,1,0
1.0,0,0.0,1,0.0,1,0,0,,0,0
1.0,1,1.0,0,0.0,0,0,0,0.0,0,0
1.0,0,0.0,1,0.0,0,0,0,0.0,0,0
"""


# ---------------------------------------------------------------- NPS

def test_nps_interval_matches_the_hand_computed_adjusted_wald_interval():
    # 50 promoters, 30 passives, 20 detractors: NPS 30; one pseudo-answer per group: 51 / 103 - 21 / 103
    answers = [10] * 25 + [9] * 25 + [8] * 20 + [7] * 10 + [6] * 10 + [0] * 10 + [np.nan] * 7
    row = s.nps_estimate(answers).iloc[0]
    p, d = 51 / 103, 21 / 103
    se = 100 * np.sqrt((p + d - (p - d) ** 2) / 103)
    assert row["n"] == 100 and row["estimate"] == pytest.approx(30.0)
    assert row["se"] == pytest.approx(se, abs=1e-9)
    assert row["ci_low"] == pytest.approx(100 * (p - d) - 1.959964 * se, abs=1e-4)
    assert row["ci_high"] == pytest.approx(100 * (p - d) + 1.959964 * se, abs=1e-4)
    assert "multinomial" in row["method"] and "pseudo-answer" in row["method"]


def test_nps_of_all_promoters_has_an_interval_with_width():
    # review finding 4: all promoters gave "100 to 100"; with pseudo-answers: (21 - 1) / 23 ± z se
    row = s.nps_estimate([10] * 20).iloc[0]
    p, d = 21 / 23, 1 / 23
    se = 100 * np.sqrt((p + d - (p - d) ** 2) / 23)
    assert row["estimate"] == pytest.approx(100.0) and row["ci_high"] == pytest.approx(100.0)
    assert row["ci_low"] == pytest.approx(100 * (p - d) - 1.959964 * se, abs=1e-6)   # 68.7
    assert row["ci_low"] < 75 and row["note"] == ""


def test_nps_difference_is_a_z_test_on_the_pooled_shares():
    before = [10] * 50 + [8] * 30 + [3] * 20              # NPS 30 on n = 100
    after = [10] * 120 + [8] * 50 + [3] * 30               # NPS 45 on n = 200
    row = s.nps_difference(before, after).iloc[0]
    p, d = 170 / 300, 50 / 300                             # pooled shares under H0
    se = 100 * np.sqrt((p + d - (p - d) ** 2) * (1 / 100 + 1 / 200))
    assert row["effect"] == pytest.approx(15.0)
    assert row["p"] == pytest.approx(2 * sps.norm.sf(15 / se))
    p0, d0, p1, d1 = 51 / 103, 21 / 103, 121 / 203, 31 / 203  # adjusted Wald CI: a pseudo-answer per group
    centre = 100 * (p1 - d1 - p0 + d0)
    ci_se = 100 * np.sqrt((p0 + d0 - (p0 - d0) ** 2) / 103 + (p1 + d1 - (p1 - d1) ** 2) / 203)
    assert row["ci_low"] == pytest.approx(centre - 1.959964 * ci_se, abs=1e-4)
    assert (row["n_before"], row["n_after"]) == (100, 200)
    assert row["verdict"] == "improved" if row["p"] < 0.05 else row["verdict"] != "improved"
    same = s.nps_difference([10] * 10, [10] * 10).iloc[0]   # no variance at all: not a p of 0
    assert same["verdict"] == "not estimable" and np.isnan(same["p"])


def test_nps_difference_with_a_period_of_all_promoters_is_not_significant():
    # review finding 1: before 5 x 10 had variance 0, so the summed variances gave "worsened", p = 0.016;
    # the pooled shares (0.875 promoters, 0.125 detractors) give se = 31.6 points, p = 0.37
    row = s.nps_difference([10] * 5, [0] * 5 + [10] * 30).iloc[0]
    assert row["p"] == pytest.approx(2 * sps.norm.sf((100 - 2500 / 35) / 100 / np.sqrt(0.4375 * (1 / 5 + 1 / 35))))
    assert row["p"] == pytest.approx(0.366, abs=0.001)
    assert row["verdict"] != "worsened" and row["ci_low"] < 0 < row["ci_high"]


class _NpsCtx:
    """Just what nps_view reads of a report context."""

    language = "en"

    def __init__(self, before):
        from qa_helpers.periods import parse_period

        self.period, self._before = parse_period("2025-Q4"), before

    def missing_note(self, *fields):
        return None

    def load(self, table, period, columns=None):
        return pd.DataFrame({"nps": self._before}, dtype="float64")

    def targets(self):
        return pd.DataFrame({"kpi": ["nps"], "target": [30.0]})


def test_nps_change_needs_enough_answers_in_the_previous_period():
    # review finding 1: the change was printed on any n_before > 0
    from qa_helpers.voc import surveys as voc

    now = {"surveys": pd.DataFrame({"nps": [0.0] * 5 + [10.0] * 30, "source": "survey"})}
    text = " ".join(x for x in voc.nps_view(_NpsCtx([10.0] * 5), now) if isinstance(x, str))
    assert "Not compared with 2025-Q3" in text and "n = 5" in text and "→" not in text
    text = " ".join(x for x in voc.nps_view(_NpsCtx([10.0] * 20 + [0.0] * 20), now) if isinstance(x, str))
    assert "Since the previous period" in text and "n = 40 answers before" in text


def test_nps_refuses_answers_off_the_scale():
    with pytest.raises(ValueError, match="0-10"):
        s.nps_estimate([5, 11])


# ---------------------------------------------------------------- reliability

def test_cronbach_alpha_reproduces_the_published_psych_values():
    data = pd.read_csv(io.StringIO(WIDE_MISSING))
    listwise = s.cronbach_alpha(data).iloc[0]
    # R psych::alpha(data, use = "complete.obs"): 0.8016949 on the 9 complete respondents
    assert listwise["estimate"] == pytest.approx(0.8016949152542373, abs=1e-9)
    assert (listwise["n"], listwise["items"]) == (9, 11)
    # median-imputed (no missing answers, n = 12): alpha 0.738019 with Feldt CI [0.447, 0.911]
    imputed = s.cronbach_alpha(data.fillna(data.median())).iloc[0]
    assert imputed["estimate"] == pytest.approx(0.7380191693290734, abs=1e-9)
    assert round(imputed["ci_low"], 3) == 0.447 and round(imputed["ci_high"], 3) == 0.911
    assert not imputed["meets_bar"] and imputed["bar"] == 0.9


def test_cronbach_alpha_of_parallel_items_clears_the_bar():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=2000)
    items = pd.DataFrame({f"q{i}": truth + rng.normal(0, 0.3, 2000) for i in range(4)})
    row = s.cronbach_alpha(items).iloc[0]
    # 4 parallel items, reliability of each 1 / 1.09: Spearman-Brown gives 4r / (1 + 3r) with r = 1 / 1.09
    r = 1 / 1.09
    assert row["estimate"] == pytest.approx(4 * r / (1 + 3 * r), abs=0.01)
    assert row["meets_bar"] and row["bar_sure"]


# ---------------------------------------------------------------- non-response

def _fixture() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two strata of 100 tickets: enterprise answers 20 (10 satisfied), individual 50 (45 satisfied)."""
    tickets = pd.DataFrame({"customer_type": ["enterprise"] * 100 + ["individual"] * 100, "channel": "phone"})
    surveys = pd.DataFrame({
        "customer_type": ["enterprise"] * 20 + ["individual"] * 50 + [None] * 5,
        "channel": "phone",
        "csat": [5] * 10 + [2] * 10 + [4] * 45 + [1] * 5 + [5] * 5,
        "source": "survey"})
    reviews = pd.DataFrame({"customer_type": None, "channel": None, "csat": [1] * 30, "source": "review"})
    return tickets, pd.concat([surveys, reviews], ignore_index=True)


def test_response_rates_and_weights_per_stratum():
    tickets, surveys = _fixture()
    rates = s.response_rates(tickets, surveys).set_index("customer_type")
    assert rates.loc["enterprise", "response_rate"] == pytest.approx(0.20)
    assert rates.loc["individual", "response_rate"] == pytest.approx(0.50)
    assert rates.loc["enterprise", "weight"] == pytest.approx(5.0)
    assert rates.loc["individual", "csat"] == pytest.approx(0.9)
    assert "not recorded" not in rates.index  # answers without tickets in their stratum get no weight


def test_weighted_csat_on_a_hand_built_fixture():
    tickets, surveys = _fixture()
    out = s.weighted_csat(tickets, surveys).set_index("metric")
    raw, weighted = out.loc["csat_raw"], out.loc["csat_weighted"]
    assert raw["n"] == 75 and raw["estimate"] == pytest.approx(60 / 75)        # reviews are not answers
    # post-stratified: 0.5 x 0.5 + 0.5 x 0.9 = 0.70; variance with (x + 1) / (n + 2): 11/22 and 46/52
    assert weighted["estimate"] == pytest.approx(0.70)
    q1, q2 = 11 / 22, 46 / 52
    half = 1.959964 * np.sqrt(0.25 * q1 * (1 - q1) / 20 + 0.25 * q2 * (1 - q2) / 50)
    assert weighted["ci_low"] == pytest.approx(0.70 - half, abs=1e-5)
    assert weighted["n"] == 70 and weighted["tickets"] == 200
    assert "5 answer(s)" in weighted["note"]


def test_weighted_csat_of_a_stratum_at_100_percent_keeps_its_variance():
    # review finding 2: p_h (1 - p_h) was 0 for a stratum where every answer is satisfied
    tickets = pd.DataFrame({"customer_type": ["enterprise"] * 100 + ["individual"] * 100, "channel": "phone"})
    surveys = pd.DataFrame({"customer_type": ["enterprise"] * 10 + ["individual"] * 10, "channel": "phone",
                            "csat": [5] * 10 + [5] * 10, "source": "survey"})
    weighted = s.weighted_csat(tickets, surveys).set_index("metric").loc["csat_weighted"]
    q = 11 / 12
    half = 1.959964 * np.sqrt(2 * 0.25 * q * (1 - q) / 10)
    assert weighted["estimate"] == pytest.approx(1.0)
    assert weighted["ci_low"] == pytest.approx(1 - half, abs=1e-9) and weighted["ci_low"] < 0.9
    assert "(satisfied + 1) / (answers + 2)" in weighted["method"]


# ---------------------------------------------------------------- sample sizes

def test_stratum_sizes_follow_cochran_with_the_finite_population_correction():
    one = s.stratum_sizes(pd.DataFrame({"stratum": ["all"], "tickets": [10_000]}), margin=0.03).iloc[0]
    n0 = 1.959964 ** 2 * 0.25 / 0.03 ** 2                      # 1067.1
    assert one["answers_needed"] == int(np.ceil(n0 / (1 + n0 / 10_000)))  # 965
    pop = pd.DataFrame({"stratum": ["a", "b"], "tickets": [5000, 5000], "p": [0.5, 0.9], "rate": [0.2, 0.5]})
    prop = s.stratum_sizes(pop, margin=0.03, share="p", response_rate="rate")
    assert prop["answers_needed"].iloc[0] == prop["answers_needed"].iloc[1]   # proportional: equal halves
    assert prop["invitations"].tolist() == [int(np.ceil(a / r)) for a, r in zip(prop["answers_needed"], [0.2, 0.5])]
    neyman = s.stratum_sizes(pop, margin=0.03, share="p", allocation="neyman")
    # Neyman: proportional to N_h S_h = 0.5 : 0.3, and never more answers than proportional in total
    assert neyman["answers_needed"].iloc[0] / neyman["answers_needed"].iloc[1] == pytest.approx(0.5 / 0.3, rel=0.01)
    assert neyman["answers_needed"].sum() <= prop["answers_needed"].sum()
    tiny = s.stratum_sizes(pd.DataFrame({"stratum": ["x"], "tickets": [40]}), margin=0.03).iloc[0]
    assert tiny["answers_needed"] <= 40                      # a census at most


class _SampleCtx:
    """A report context whose archive loader hands out ``tickets`` (and no archive folder to glob)."""

    archive = None

    def __init__(self, tickets):
        self._tickets = tickets

    def load(self, table, period=None, columns=None):
        assert table == "tickets"
        return self._tickets[columns] if columns else self._tickets


def _sample_tables():
    n = 1000
    tickets = pd.DataFrame({"ticket_id": [f"T{i}" for i in range(n + 100)],
                            "customer_id": [f"C{i % 50}" for i in range(n + 100)], "team": "HL-A",
                            "channel": "phone", "customer_type": ["individual"] * n + ["enterprise"] * 100,
                            "created_at": pd.Timestamp("2025-10-01")})
    surveys = pd.DataFrame({"customer_type": ["individual"] * 2 + ["enterprise"] * 40, "channel": "phone",
                            "csat": [5, 5] + [5] * 30 + [1] * 10, "source": "survey"})
    return tickets, surveys


def test_sample_plan_takes_a_stratum_with_few_answers_at_the_worst_case():
    # review finding 5: 2 answers both satisfied made the stratum's expected share 0.99 -> too small a plan
    from qa_helpers.voc import surveys as voc

    tickets, surveys = _sample_tables()
    plan = voc.sample_plan(_SampleCtx(tickets), {"tickets": tickets, "surveys": surveys}, margin=0.05)
    by = plan.set_index("customer_type")
    assert by.loc["individual", "share"] == pytest.approx(0.5)                # 2 answers: worst case
    assert by.loc["enterprise", "share"] == pytest.approx(0.75)               # 40 answers: their CSAT
    assert by.loc["individual", "tickets"] == 1000 and by.loc["enterprise", "tickets"] == 100
    assert by.loc["enterprise", "response_rate"] == pytest.approx(0.4)
    assert "fewer than 30 answers" in plan["method"].iloc[0]
    # proportional allocation of the Cochran total with these shares
    W, S2 = np.array([1000, 100]) / 1100, np.array([0.25, 0.75 * 0.25])
    V = (0.05 / 1.959964) ** 2
    total = (W * S2).sum() / (V + (W * S2).sum() / 1100)
    assert by.loc["individual", "answers_needed"] == int(np.ceil(total * W[0]))


def test_survey_sample_reads_the_tickets_through_the_archive_loader():
    # review finding 21: the draw globbed parquet files under ctx.archive instead of the archive loader
    from qa_helpers.voc import surveys as voc

    tickets, surveys = _sample_tables()
    ctx = _SampleCtx(tickets)
    plan = voc.sample_plan(ctx, {"tickets": tickets, "surveys": surveys}, margin=0.05)
    sample = voc.draw_survey_sample(ctx, plan, seed=1)
    assert sample.groupby("stratum").size().to_dict() == plan.set_index("stratum")["invitations"].to_dict()
    assert set(sample["ticket_id"]) <= set(tickets["ticket_id"]) and sample["ticket_id"].is_unique


# ---------------------------------------------------------------- the planted sample

@pytest.fixture(scope="module")
def ctx(archive):
    from qa_helpers.report.context import open_context

    return open_context("HL-A", "2025", archive, "en")


def test_planted_questionnaire_reliability_and_driver_are_found(ctx, truth):
    tables = {"surveys": ctx.load("surveys")}
    answers = tables["surveys"][tables["surveys"]["source"] == "survey"]
    items = truth["surveys"]["items"]
    alpha = s.cronbach_alpha(answers[items]).iloc[0]
    assert 0.85 <= truth["surveys"]["cronbach_alpha"] <= 0.92
    assert alpha["ci_low"] <= truth["surveys"]["cronbach_alpha"] + 0.02 and alpha["estimate"] > 0.8
    drivers = s.key_drivers(answers, items)
    assert drivers["item"].iloc[0] == truth["surveys"]["strongest_driver"]
    assert drivers["dominance"].sum() == pytest.approx(1.0) and (drivers["n"] == len(answers.dropna(subset=items))).all()


def test_planted_non_response_shows_in_the_rates(archive):
    from qa_helpers.data.archive import load

    rates = s.response_rates(load("tickets", archive=archive), load("surveys", archive=archive))
    by_type = rates.groupby("customer_type")[["tickets", "answers"]].sum()
    share = by_type["answers"] / by_type["tickets"]
    assert share["enterprise"] < share["individual"] - 0.05   # planted 22 % vs 32 %


def test_survey_sample_is_drawn_in_duckdb_to_the_plan(archive):
    from qa_helpers.report.context import open_context
    from qa_helpers.voc import surveys as voc

    ctx = open_context("ALL", "2025-Q4", archive, "en")
    tables = {"tickets": ctx.load("tickets"), "surveys": ctx.load("surveys")}
    plan = voc.sample_plan(ctx, tables, margin=0.05)
    assert plan["tickets"].sum() == len(tables["tickets"])
    sample = voc.draw_survey_sample(ctx, plan, seed=5)
    assert sample.groupby("stratum").size().to_dict() == plan.set_index("stratum")["invitations"].to_dict()
    assert sample["ticket_id"].is_unique and set(sample["ticket_id"]) <= set(tables["tickets"]["ticket_id"])
    assert not sample["customer_id"].astype(str).str.startswith("CUST-").any()  # pseudonyms only
    again = voc.draw_survey_sample(ctx, plan, seed=5)
    other = voc.draw_survey_sample(ctx, plan, seed=6)
    assert again["ticket_id"].tolist() == sample["ticket_id"].tolist()
    assert other["ticket_id"].tolist() != sample["ticket_id"].tolist()


def test_survey_sections_render_in_both_languages(archive):
    from qa_helpers.report.context import open_context
    from qa_helpers.voc import surveys as voc

    for language in ("en", "zh"):
        ctx = open_context("HL-A", "2025-Q4", archive, language)
        items = voc.survey_section(ctx, ctx.tables())
        text = " ".join(str(i) for i in _flat(items) if isinstance(i, str))
        assert ("NPS" in text) and ("α =" in text)
        assert ("Problem resolved" in text) if language == "en" else ("问题解决" in text)


def _flat(items):
    for item in items:
        if isinstance(item, list):
            yield from _flat(item)
        else:
            yield item


def test_a_mapping_without_sub_scores_still_loads_with_them_absent(tmp_path):
    from qa_helpers.config import load_sources

    text = (Path(__file__).resolve().parent.parent / "config" / "sources.yml").read_text(encoding="utf-8")
    cut = text.replace(",\n              # survey sub-scores 1-5 (issue 15): optional fields; a source that does not map "
                       "them has them absent\n              响应速度评分: q_speed, 服务态度评分: q_attitude, 问题解决评分: "
                       "q_resolution, 专业程度评分: q_professionalism}", "}")
    assert cut != text
    (tmp_path / "sources.yml").write_text(cut, encoding="utf-8")
    spec = load_sources(tmp_path / "sources.yml").sources["surveys"]
    assert {"q_speed", "q_resolution"} <= set(spec.absent)


# ---------------------------------------------------------------- benchmarks and mystery shopping

REGISTER_HEAD = ("visit_id,date,team,channel,shopper,ms_answered_in_time,ms_standard_greeting,ms_plain_language,"
                 "ms_problem_resolved,ms_follow_up,comment\n")


def test_mystery_visits_are_scored_against_the_rubric_and_target(tmp_path):
    from qa_helpers.measures import external

    path = tmp_path / "mystery_shopping.csv"
    path.write_text(REGISTER_HEAD + "V1,2025-10-01,HL-A,phone,s1,1,1,1,1,0,\nV2,2025-10-02,HL-A,chat,s2,1,1,0,1,,\n"
                    "V3,2025-11-01,HL-B,phone,s1,1,1,1,1,1,=cmd()\n", encoding="utf-8")
    visits = external.load_mystery_shopping(path)
    teams, items = external.mystery_scores(visits, target=0.9)
    a = teams.set_index("team").loc["HL-A"]
    assert a["visits"] == 2 and a["score"] == pytest.approx((0.8 + 0.75) / 2) and not a["met"]
    assert teams.set_index("team").loc["HL-B", "met"]
    follow = items.set_index("rubric_item").loc["ms_follow_up"]
    assert follow["visits"] == 2 and follow["met_share"] == pytest.approx(0.5)   # empty: not applicable


@pytest.mark.parametrize("row, column", [
    ("V1,2025-13-01,HL-A,phone,s1,1,1,1,1,1,", "date"),
    ("V1,2025-10-01,HL A,phone,s1,1,1,1,1,1,", "team"),
    ("V1,2025-10-01,HL-A,fax,s1,1,1,1,1,1,", "channel"),
    ("V1,2025-10-01,HL-A,phone,s1,1,yes,1,1,1,", "ms_standard_greeting"),
    ("V1,2025-10-01,HL-A,phone,s1,,,,,,", "ms_answered_in_time"),
])
def test_a_bad_register_row_names_file_row_and_column(tmp_path, row, column):
    from qa_helpers.measures import external

    path = tmp_path / "mystery_shopping.csv"
    path.write_text(REGISTER_HEAD + "V0,2025-10-01,HL-A,phone,s1,1,1,1,1,1,\n" + row + "\n", encoding="utf-8")
    with pytest.raises(RegisterError) as error:
        external.load_mystery_shopping(path)
    message = str(error.value)
    assert str(path) in message and "row 3" in message and repr(column) in message and "\n" not in message
    assert isinstance(error.value, QAKitError)


def test_benchmarks_load_and_sit_beside_the_kpis(tmp_path):
    from qa_helpers.measures import external

    kit = Path(__file__).resolve().parent.parent / "config" / "benchmarks.yml"
    bench = external.load_benchmarks(kit)
    assert bench.set_index("kpi").loc["csat", "value"] == pytest.approx(0.882)
    assert bench.set_index("kpi").loc["aht_s", "value"] == pytest.approx(72)     # 1.2 minutes
    values = pd.DataFrame({"kpi": ["csat", "aht_s"], "value": [0.90, 80.0], "n": [5000, 900]})
    targets = pd.DataFrame({"kpi": ["csat", "aht_s"], "direction": ["higher", "lower"]})
    table = external.benchmark_table(values, bench, targets).set_index("kpi")
    assert table.loc["csat", "ahead"] and not table.loc["aht_s", "ahead"]
    assert table.loc["aht_s", "gap"] == pytest.approx(8.0)
    assert external.benchmark_summary(table.reset_index())["csat_benchmark"] == pytest.approx(0.882)
    bad = tmp_path / "benchmarks.yml"
    bad.write_text("benchmarks:\n  - {kpi: csat, value: 88.2, kind: competitor, year: 2025, source: x}\n")
    with pytest.raises(ConfigError, match=r"benchmarks entry 1: 'value'.*between 0 and 1"):
        external.load_benchmarks(bad)
    bad.write_text("benchmarks:\n  - {kpi: csat, value: 0.88, kind: rival, year: 2025, source: x}\n")
    with pytest.raises(ConfigError, match=r"entry 1: 'kind'"):
        external.load_benchmarks(bad)


def test_benchmark_standing_is_judged_on_the_interval_not_the_point():
    # review finding 24: 12 answers at 90 % read as "ahead of 88.2 %"
    from qa_helpers.measures import external

    bench = pd.DataFrame({"kpi": ["csat", "aht_s"], "value": [0.882, 72.0], "kind": "competitor", "year": 2025,
                          "source": "x"})
    targets = pd.DataFrame({"kpi": ["csat", "aht_s"], "direction": ["higher", "lower"]})
    few = external.benchmark_table(pd.DataFrame({"kpi": ["csat", "aht_s"], "value": [0.90, 60.0], "n": [12, 10]}),
                                   bench, targets).set_index("kpi")
    assert few.loc["csat", "standing"] == "can't tell" and few.loc["csat", "ahead"] is None
    assert few.loc["aht_s", "standing"] == "can't tell"               # fewer than 30 handled contacts
    many = external.benchmark_table(pd.DataFrame({"kpi": ["csat", "aht_s"], "value": [0.85, 60.0], "n": [5000, 40]}),
                                    bench, targets).set_index("kpi")
    assert many.loc["csat", "standing"] == "behind" and many.loc["aht_s", "standing"] == "ahead"


def test_a_missed_target_never_reads_as_equal_to_it():
    # review finding 23: 0.896 against 0.90 read "90 % ... below the target of 90 %"
    from qa_helpers.measures.external import _score_and_target

    assert _score_and_target(0.896, 0.90) == ("89.6%", "90.0%")
    assert _score_and_target(0.8996, 0.90) == ("89.96%", "90.00%")
    assert _score_and_target(0.86, 0.90) == ("86%", "90%")
    assert _score_and_target(0.904, 0.90) == ("90%", "90%")            # met: whole percentages


def test_the_mystery_register_is_read_like_the_other_registers(tmp_path):
    # review finding 20: the register took UTF-8 and YYYY-MM-DD only; the QA registers take GB18030 and 2025/4/28
    from qa_helpers.measures import external

    path = tmp_path / "mystery_shopping.csv"
    path.write_bytes((REGISTER_HEAD + "V1,2025/10/1,HL-A,phone,张三,1,1,1,1,0,语气友好\n").encode("gb18030"))
    visits = external.load_mystery_shopping(path)
    assert visits.loc[0, "date"] == pd.Timestamp("2025-10-01") and visits.loc[0, "shopper"] == "张三"
    assert visits.loc[0, "ms_follow_up"] == 0.0
    path.write_text(REGISTER_HEAD + "V1,2025-10-01,HL-A,phone,s1,1,1,1,1,1,\nV1,2025-10-02,HL-A,phone,s1,1,1,1,1,1,\n",
                    encoding="utf-8")
    with pytest.raises(RegisterError, match=r"row 3.*'visit_id'"):
        external.load_mystery_shopping(path)


def test_index_shows_the_benchmark_beside_the_kpi():
    from qa_helpers.report.index import _kpi_cell

    cell = _kpi_cell({"csat": 0.87, "csat_target": 0.9, "csat_n": 80, "csat_benchmark": 0.882,
                      "csat_benchmark_kind": "competitor"}, "csat", "share", "en")
    assert "competitor 88.2%" in cell
    assert "88.2" not in _kpi_cell({"csat": 0.87, "csat_n": 80}, "csat", "share", "en")


def test_a_broken_register_stops_a_run_with_exit_status_2(tmp_path, archive):
    import shutil

    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(Path(__file__).resolve().parent.parent / "config" / "sources.yml", config / "sources.yml")
    (config / "mystery_shopping.csv").write_text(REGISTER_HEAD + "V1,2025-10-01,HL-A,phone,s1,2,1,1,1,1,\n",
                                                 encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "qa_helpers", "run", "--period", "2025-Q4", "--teams", "HL-A",
                           "--notebooks", "scorecard", "--archive", str(archive), "--config", str(config),
                           "--out", str(tmp_path / "reports"), "--no-html"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 2
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "row 2" in lines[0] and "'ms_answered_in_time'" in lines[0]


def _answers_and_their_counts(seed: int = 11, n: int = 20_000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Answers on small scales (so that they repeat) and the same answers counted: one row per distinct one."""
    rng = np.random.default_rng(seed)
    items = rng.integers(1, 6, size=(n, 3)).astype(float)
    csat = np.clip(np.rint(items @ [0.5, 0.3, 0.2] + rng.normal(0, 0.7, n)), 1, 5)
    rows = pd.DataFrame({"source": "survey", "csat": csat, "a": items[:, 0], "b": items[:, 1], "c": items[:, 2],
                         "customer_type": rng.choice(["enterprise", "individual", None], n),
                         "channel": rng.choice(["chat", "phone"], n)})
    rows.loc[::41, "b"] = np.nan
    rows.loc[::53, "csat"] = np.nan
    counted = rows.groupby(list(rows.columns), dropna=False).size().rename("k").reset_index()
    return rows, counted


def test_counted_answers_give_what_the_answers_give():
    import statsmodels.api as sm

    rows, counted = _answers_and_their_counts()
    assert len(counted) < len(rows) / 2
    tickets = pd.DataFrame({"customer_type": ["enterprise", "individual", "enterprise", "individual"],
                            "channel": ["chat", "chat", "phone", "phone"], "tickets": [4000, 3000, 2000, 1000]})
    pd.testing.assert_frame_equal(s.response_rates(tickets, counted, counts="k"), s.response_rates(tickets, rows))
    pd.testing.assert_frame_equal(s.weighted_csat(tickets, counted, counts="k"), s.weighted_csat(tickets, rows))
    want = s.cronbach_alpha(rows[["a", "b", "c"]]).iloc[0]
    got = s.cronbach_alpha(counted[["a", "b", "c", "k"]], counts="k").iloc[0]
    assert got["n"] == want["n"] == rows[["a", "b", "c"]].dropna().shape[0]
    assert got[["estimate", "ci_low", "ci_high"]].astype(float).to_numpy() == pytest.approx(
        want[["estimate", "ci_low", "ci_high"]].astype(float).to_numpy(), rel=1e-12)
    got = s.key_drivers(counted, ["a", "b", "c"], counts="k").set_index("item")
    want = s.key_drivers(rows, ["a", "b", "c"]).set_index("item")
    numbers = ["beta", "ci_low", "ci_high", "p", "dominance", "r2", "n"]
    assert got[numbers].to_numpy(dtype=float) == pytest.approx(want[numbers].to_numpy(dtype=float), rel=1e-9)
    # and the rows' coefficients, CIs and p are statsmodels' OLS on the z-scores
    data = rows[["csat", "a", "b", "c"]].dropna()
    z = (data - data.mean()) / data.std(ddof=1)
    fit = sm.OLS(z["csat"].to_numpy(), sm.add_constant(z[["a", "b", "c"]].to_numpy())).fit()
    assert want.loc[["a", "b", "c"], "beta"].to_numpy() == pytest.approx(fit.params[1:], rel=1e-9)
    assert want.loc[["a", "b", "c"], ["ci_low", "ci_high"]].to_numpy() == pytest.approx(fit.conf_int()[1:], rel=1e-9)
    assert want.loc[["a", "b", "c"], "p"].to_numpy() == pytest.approx(fit.pvalues[1:], rel=1e-6, abs=1e-300)
    assert want["r2"].iloc[0] == pytest.approx(fit.rsquared, rel=1e-12)


def test_survey_tables_count_the_answers_in_duckdb(archive):
    from qa_helpers.report.context import open_context
    from qa_helpers.voc import surveys as voc

    ctx = open_context("ALL", "2025-Q4", str(archive), "en", "")
    tables = voc.survey_tables(ctx)
    answers = ctx.load("surveys")
    assert tables["surveys"][voc.COUNTS].sum() == len(answers)
    assert len(tables["surveys"]) < len(answers)
    survey = answers[answers["source"] == "survey"]
    assert s.cronbach_alpha(voc._answers(tables["surveys"])[[*voc.SURVEY_ITEMS, voc.COUNTS]],
                            counts=voc.COUNTS).iloc[0]["n"] == len(survey[list(voc.SURVEY_ITEMS)].dropna())
