"""The sample generator: deterministic, realistic in shape, truth written down."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from qa_helpers.data.sample import generate, simulate


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.suffix != ".xlsx"}  # xlsx zips carry a write timestamp; its sheet content is compared below


def test_same_seed_same_exports(tmp_path):
    generate(tmp_path / "a", seed=3, n_tickets=1500)
    generate(tmp_path / "b", seed=3, n_tickets=1500)
    generate(tmp_path / "c", seed=4, n_tickets=1500)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")
    sheet_a = pd.read_excel(tmp_path / "a" / "survey_export.xlsx", sheet_name=None, dtype=str)
    sheet_b = pd.read_excel(tmp_path / "b" / "survey_export.xlsx", sheet_name=None, dtype=str)
    assert sheet_a.keys() == sheet_b.keys()
    for name in sheet_a:
        pd.testing.assert_frame_equal(sheet_a[name], sheet_b[name])


@pytest.fixture(scope="module")
def sim():
    return simulate(n_tickets=80_000, seed=5)


def test_organisation_shape(sim):
    agents = sim["tables"]["agents"]
    assert agents["team"].nunique() >= 6
    assert agents["department"].nunique() >= 2
    assert len(agents) >= 80
    # agents are nested in teams: each agent belongs to exactly one team
    assert agents.groupby("agent_id")["team"].nunique().max() == 1


def test_ticket_mix(sim):
    tickets = sim["tables"]["tickets"]
    assert set(tickets["channel"]) == {"phone", "chat", "email", "social", "onsite"}
    top2 = tickets["category"].value_counts(normalize=True).index[:2]
    assert set(top2) == {"billing_dispute", "fault_repair"}
    assert 0.15 < (tickets["customer_type"] == "enterprise").mean() < 0.35
    weekday = tickets["created_at"].dt.day_of_week
    assert (weekday < 5).mean() > 0.8  # weekday seasonality
    hours = tickets["created_at"].dt.hour.value_counts(normalize=True)
    assert hours.loc[10] > 5 * hours.loc[3]  # hour-of-day seasonality


def test_surveys_complaints_visits_reviews(sim):
    t = sim["tables"]
    responded = t["surveys"].query("source == 'survey'")["ticket_id"].nunique() / len(t["tickets"])
    assert 0.2 < responded < 0.4  # non-response
    assert set(t["complaints"]["severity"]) == {1, 2, 3, 4}
    assert set(t["complaints"]["cause_dimension"]) == {"people", "process", "tools", "environment"}
    onsite = t["tickets"].query("channel == 'onsite'")
    assert set(t["field_visits"]["ticket_id"]) == set(onsite["ticket_id"])
    assert t["field_visits"]["rework_required"].between(0, 1).all()
    qa = t["qa_reviews"]
    assert qa["reviewer_id"].nunique() >= 3
    calib = qa[qa["calibration"]]
    assert (calib.groupby("ticket_id")["reviewer_id"].nunique() == qa["reviewer_id"].nunique()).all()


def test_truth_lists_planted_effects(sim):
    truth = sim["truth"]
    teams = {a["team"] for a in truth["actions"]}
    assert truth["placebo"]["team"] not in teams
    assert any(a["channels"] == ["chat"] for a in truth["actions"])  # effect on one channel only
    assert truth["team_quality_order"][0] == "HL-A"


def test_planted_csat_effect_is_real(sim):
    """The treated team's satisfaction rises after its start date; the placebo team's does not.

    Eight weeks either side of the start, as the before/after evaluation compares them; the
    placebo's band is about three standard errors of a difference of two ~640-answer shares.
    """
    t = sim["tables"]
    s = t["surveys"].merge(t["tickets"][["ticket_id", "team", "created_at"]], on="ticket_id")
    s = s[(s["created_at"] >= "2025-05-12") & (s["created_at"] < "2025-09-01")]
    s["after"] = s["created_at"] >= "2025-07-07"
    top2 = s.assign(sat=s["csat"] >= 4).groupby(["team", "after"])["sat"].mean()
    assert top2["HL-B", True] - top2["HL-B", False] > 0.05
    assert abs(top2["HL-C", True] - top2["HL-C", False]) < 0.06


def test_too_few_teams_is_refused():
    with pytest.raises(ValueError, match="at least 6 teams"):
        simulate(n_tickets=100, n_teams=3)
