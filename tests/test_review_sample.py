"""The review sample sized to the QA team's capacity, its design weights, and QA coverage (issue 12 item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from qa_helpers.config import config_dir
from qa_helpers.errors import ConfigError
from qa_helpers.measures.standards import load_standards
from qa_helpers.periods import parse_period
from qa_helpers.qa.sampling import (allocate, capacity_sample, qa_coverage, qa_settings, review_capacity,
                                    risk_class, sample_against_capacity)


def population(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Tickets over 3 channels × 2 categories, 10 % complaint tickets and 15 % low-CSAT tickets."""
    rng = np.random.default_rng(seed)
    risk = rng.choice(["complaint", "low_csat", "other"], size=n, p=[0.10, 0.15, 0.75])
    return pd.DataFrame({"ticket_id": [f"T{i:05d}" for i in range(n)],
                         "channel": rng.choice(["phone", "chat", "email"], size=n, p=[0.6, 0.3, 0.1]),
                         "category": rng.choice(["billing", "repair"], size=n),
                         "risk": risk, "customer_name": "张三"})


OVERSAMPLE = {"complaint": 3.0, "low_csat": 2.0}


def test_sample_size_is_the_capacity_and_allocation_sums():
    frame = population()
    sample, alloc = capacity_sample(frame, capacity=150, seed=7, oversample=OVERSAMPLE, minimum=2)
    assert len(sample) == 150
    assert alloc["sample_size"].sum() == 150
    assert alloc["population"].sum() == len(frame)
    assert (alloc["sample_size"] >= np.minimum(alloc["population"], 2)).all()
    assert (alloc["sample_size"] <= alloc["population"]).all()
    assert sample.groupby("stratum").size().reindex(alloc["stratum"], fill_value=0).tolist() == \
        alloc["sample_size"].tolist()
    assert sample["ticket_id"].is_unique and sample["ticket_id"].isin(frame["ticket_id"]).all()
    assert "customer_name" not in sample.columns  # nothing but the design columns reaches the CSV


def test_fewer_tickets_than_capacity_takes_them_all_with_weight_one():
    frame = population(80)
    sample, _ = capacity_sample(frame, capacity=500, seed=1, oversample=OVERSAMPLE)
    assert sorted(sample["ticket_id"]) == sorted(frame["ticket_id"])
    assert (sample["design_weight"] == 1).all()


def test_oversampled_classes_are_over_represented_by_their_factor():
    frame = population(20_000, seed=3)
    sample, alloc = capacity_sample(frame, capacity=1_000, seed=5, oversample=OVERSAMPLE, minimum=0)
    rate = sample.groupby("risk").size() / frame.groupby("risk").size()
    # sizes are rounded to whole tickets per stratum: the ratio is within a few per cent of the factor
    assert rate["complaint"] / rate["other"] == pytest.approx(3.0, rel=0.05)
    assert rate["low_csat"] / rate["other"] == pytest.approx(2.0, rel=0.05)
    fraction = alloc["sample_size"] / alloc["population"]
    other = alloc["risk"] == "other"
    assert fraction[other].max() / fraction[other].min() == pytest.approx(1.0, rel=0.1)  # proportional within a class


def test_design_weights_reproduce_the_population_totals():
    frame = population()
    sample, _ = capacity_sample(frame, capacity=200, seed=11, oversample=OVERSAMPLE, minimum=2)
    assert sample["design_weight"].sum() == pytest.approx(len(frame))
    for key in ("risk", "channel", "category"):
        weighted = sample.groupby(key)["design_weight"].sum()
        assert weighted.to_dict() == pytest.approx(frame.groupby(key).size().astype(float).to_dict())


def test_same_seed_same_sample_whatever_the_row_order():
    frame = population()
    first, _ = capacity_sample(frame, capacity=120, seed=42, oversample=OVERSAMPLE)
    shuffled, _ = capacity_sample(frame.sample(frac=1, random_state=9), capacity=120, seed=42, oversample=OVERSAMPLE)
    other, _ = capacity_sample(frame, capacity=120, seed=43, oversample=OVERSAMPLE)
    pd.testing.assert_frame_equal(first, shuffled)
    assert set(first["ticket_id"]) != set(other["ticket_id"])


def test_allocation_lowers_the_minimum_when_capacity_cannot_give_every_stratum_one():
    sizes = pd.Series([50, 40, 30, 20, 10], index=list("abcde"))
    alloc = allocate(sizes, pd.Series(1.0, index=sizes.index), capacity=3, minimum=2)
    # no minimum fits (5 strata, 3 reviews): proportional 1.0, 0.8, 0.6, 0.4, 0.2 rounded by largest remainder
    assert alloc.tolist() == [1, 1, 1, 0, 0]


def test_capacity_per_team_scales_with_the_period_and_takes_team_overrides():
    raw = {"qa": {"reviews_per_week": 10, "by_team": {"HL-C": 14}}}
    quarter = review_capacity(raw, ["HL-A", "HL-C"], parse_period("2025-Q4"))  # 92 days
    assert quarter.set_index("team")["capacity"].to_dict() == {"HL-A": round(10 * 92 / 7), "HL-C": round(14 * 92 / 7)}
    week = review_capacity(raw, ["HL-A"], parse_period("2025-W10"))
    assert week["capacity"].tolist() == [10]


def test_the_shipped_config_has_a_valid_qa_section():
    standards = load_standards(config_dir())
    settings = qa_settings(standards.raw)
    assert settings["reviews_per_week"] > 0 and settings["oversample"]["complaint"] >= 1


@pytest.mark.parametrize("qa, message", [
    ({"reviews_per_week": 0}, "qa.reviews_per_week must be a positive"),
    ({"reviews_per_week": "ten"}, "qa.reviews_per_week must be a positive"),
    ({"by_team": {"HL-C": -3}}, r"qa.by_team.HL-C must be a positive"),
    ({"min_per_stratum": 1.5}, "qa.min_per_stratum must be a whole number"),
    ({"low_csat_max": 5}, "qa.low_csat_max"),
    ({"oversample": {"complaint": 0.5}}, "qa.oversample.complaint must be a factor of 1 or more"),
    ({"oversample": {"angry": 2}}, "qa.oversample.angry: unknown risk class"),
    ({"reviewers": 4}, "qa.reviewers: unknown key"),
])
def test_bad_qa_section_is_a_config_error_naming_file_and_key(tmp_path, qa, message):
    doc = yaml.safe_load((config_dir() / "standards.yml").read_text(encoding="utf-8"))
    doc["qa"] = qa
    path = tmp_path / "standards.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_standards(path)
    assert str(path) in str(err.value)


def test_risk_class_prefers_complaint_over_low_csat():
    tickets = pd.DataFrame({"ticket_id": ["A", "B", "C", "D"]})
    surveys = pd.DataFrame({"ticket_id": ["A", "B", "C", None], "csat": [1, 2, 5, 1]})
    complaints = pd.DataFrame({"ticket_id": ["A", None]})
    assert risk_class(tickets, surveys, complaints, low_csat_max=2).tolist() == ["complaint", "low_csat", "other", "other"]


def test_coverage_on_a_hand_built_fixture():
    tickets = pd.DataFrame({"ticket_id": ["T1", "T2", "T3", "T4", "T5"],
                            "channel": ["phone", "phone", "phone", "chat", "chat"]})
    # T1 reviewed twice (calibration) counts once; X9 belongs to another unit and does not count
    reviews = pd.DataFrame({"ticket_id": ["T1", "T1", "T4", "X9"]})
    out = qa_coverage(tickets, reviews, unit="HL-A").set_index("group")
    assert out.loc["HL-A", ["tickets", "reviewed"]].tolist() == [5, 2]
    assert out.loc["HL-A", "coverage"] == pytest.approx(0.4)
    assert out.loc["phone", ["tickets", "reviewed"]].tolist() == [3, 1]
    assert out.loc["chat", "coverage"] == pytest.approx(0.5)
    summary = sample_against_capacity(pd.DataFrame({"ticket_id": ["T1", "T2"]}), population=5, capacity=4)
    assert summary.iloc[0].to_dict() == {"tickets": 5, "capacity": 4, "sampled": 2, "capacity_used": 0.5,
                                         "sample_share": 0.4}


def test_the_report_section_writes_a_capacity_sized_sample_without_customer_data(archive, tmp_path):
    from qa_helpers.qa import calibration
    from qa_helpers.report.context import open_context

    ctx = open_context("hotline", "2025-Q4", archive)
    lines = calibration.review_sample_section(ctx, 0.15, 2026, tmp_path / "sample.csv")
    sample = pd.read_csv(tmp_path / "sample.csv", encoding="utf-8-sig")
    tickets = ctx.load("tickets", columns=["ticket_id"])
    capacity = review_capacity(ctx.standards.raw, ["HL-A", "HL-B", "HL-C", "HL-D"], ctx.period.next())
    assert len(sample) == min(int(capacity["capacity"].sum()), len(tickets))
    assert list(sample.columns) == ["ticket_id", "channel", "category", "risk", "stratum", "design_weight"]
    assert sample["design_weight"].sum() == pytest.approx(len(tickets))
    assert "sample.csv" in lines[0] and "seed 2026" in lines[0]
    coverage = calibration.coverage_section(ctx, calibration.calibration_data(ctx))
    assert "coverage" in coverage[0] and f"of {len(tickets):,} tickets" in coverage[0]
