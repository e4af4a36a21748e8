"""Every KPI formula on tiny hand-built tables, empty groups, breakdowns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qa_helpers.measures.kpis import KPIS, kpi_catalogue, kpi_table
from qa_helpers.measures.standards import load_standards

STD = load_standards().raw
T = pd.to_datetime


def tickets() -> pd.DataFrame:
    return pd.DataFrame({
        "ticket_id": ["t1", "t2", "t3", "t4", "t5"],
        "created_at": T(["2025-03-03 09:00", "2025-03-04 10:00", "2025-03-05 11:00", "2025-03-11 12:00",
                         "2025-03-12 13:00"]),
        "channel": ["phone", "phone", "chat", "email", "onsite"],
        "team": ["A", "A", "A", "B", "B"],
        "agent_id": ["a1", "a1", "a2", "b1", "b1"],
        "category": ["billing_dispute"] * 5,
        "customer_type": ["individual", "enterprise", "individual", "individual", "enterprise"],
        "first_response_s": [20.0, 40.0, 5.0, 20_000.0, 600.0],   # phone ok, phone late, chat ok, e-mail late (4 h SLA)
        "handle_s": [100.0, 200.0, 300.0, 400.0, 1000.0],
        "first_contact_resolved": pd.array([True, False, True, True, False], dtype="boolean"),
        "reopened": pd.array([False, True, False, False, False], dtype="boolean"),
    })


def surveys() -> pd.DataFrame:
    return pd.DataFrame({
        "survey_id": ["s1", "s2", "s3", "s4", "s5"],
        "ticket_id": ["t1", "t2", "t3", None, "t4"],
        "answered_at": T(["2025-03-03 12:00", "2025-03-04 12:00", "2025-03-05 12:00", "2025-03-06 12:00",
                          "2025-03-11 15:00"]),
        "csat": pd.array([5, 3, 4, 1, 2], dtype="Int64"),
        "nps": pd.array([10, 6, 8, None, 0], dtype="Int64"),
        "source": ["survey", "survey", "survey", "review", "survey"],
        "team": ["A", "A", "A", None, "B"],
        "channel": ["phone", "phone", "chat", None, "email"],
        "agent_id": ["a1", "a1", "a2", None, "b1"],
    })


def complaints() -> pd.DataFrame:
    return pd.DataFrame({
        "complaint_id": ["c1", "c2"],
        "ticket_id": ["t2", "t4"],
        "received_at": T(["2025-03-04 12:00", "2025-03-11 13:00"]),
        "first_response_at": T(["2025-03-04 20:00", None]),
        "team": ["A", "B"], "channel": ["phone", "email"], "agent_id": ["a1", "b1"],
    })


def visits() -> pd.DataFrame:
    return pd.DataFrame({
        "visit_id": ["v1", "v2", "v3"],
        "ticket_id": ["t5", "t5", "t5"],
        "engineer_id": ["b1", "b1", "b1"],
        "promised_at": T(["2025-03-13 09:00"] * 3),
        "arrived_at": T(["2025-03-13 08:50", "2025-03-13 09:30", None]),
        "rework_required": pd.array([False, True, None], dtype="boolean"),
        "team": ["B"] * 3, "channel": ["onsite"] * 3,
    })


def reviews() -> pd.DataFrame:
    return pd.DataFrame({
        "review_id": ["r1", "r2", "r3", "r4"],
        "ticket_id": ["t1", "t2", "t3", "t3"],
        "agent_id": ["a1", "a1", "a2", "a2"],
        "reviewed_at": T(["2025-03-05 09:00"] * 4),
        "process_compliant": pd.array([True, False, True, False], dtype="boolean"),
        "calibration": pd.array([False, False, False, True], dtype="boolean"),  # r4: a calibration re-review
        "team": ["A"] * 4,
    })


def tables() -> dict:
    return {"tickets": tickets(), "surveys": surveys(), "complaints": complaints(),
            "field_visits": visits(), "qa_reviews": reviews()}


@pytest.fixture(scope="module")
def overall() -> pd.Series:
    out = kpi_table(tables(), standards=STD)
    return out.set_index("kpi")


@pytest.mark.parametrize("name, value, n", [
    ("csat", 2 / 4, 4),                      # 5 and 4 are top-2 of four survey answers; the review is left out
    ("csat_mean", (5 + 3 + 4 + 2) / 4, 4),
    ("nps", (100 - 100 + 0 - 100) / 4 * 1, 4),   # 10 promoter, 6 detractor, 8 passive, 0 detractor
    ("fcr", 3 / 5, 5),
    ("avg_first_response_s", (20 + 40 + 5 + 20_000 + 600) / 5, 5),
    ("median_first_response_s", 40.0, 5),
    ("aht_s", (100 + 200 + 300 + 400 + 1000) / 5, 5),
    ("response_on_time", 2 / 4, 4),          # on-site has no first-response SLA
    ("onsite_arrival_on_time", 1 / 2, 2),    # the visit with no arrival is not counted
    ("solution_accuracy", 1 / 2, 2),
    ("process_compliance", 2 / 3, 3),        # the calibration re-review is not counted
    ("complaint_24h", 1 / 2, 2),             # an unanswered complaint counts as late
    ("reopen_rate", 1 / 5, 5),
    ("complaints_per_1000", 2 / 5 * 1000, 5),
    ("workload_per_agent", 5 / 3, 5),
])
def test_formula(overall, name, value, n):
    assert overall.loc[name, "value"] == pytest.approx(value)
    assert overall.loc[name, "n"] == n


def test_every_kpi_is_tested_and_documented(overall):
    assert set(overall.index) == set(KPIS)
    catalogue = kpi_catalogue()
    assert catalogue["formula"].str.contains("=").all()


def test_breakdown_by_team_and_empty_groups():
    by_team = kpi_table(tables(), by=["team"], standards=STD).set_index(["team", "kpi"])
    assert by_team.loc[("A", "fcr"), "value"] == pytest.approx(2 / 3)
    assert by_team.loc[("B", "csat"), "value"] == 0.0 and by_team.loc[("B", "csat"), "n"] == 1
    # team A has no field visits: NaN with n = 0, never 0 %
    assert math.isnan(by_team.loc[("A", "onsite_arrival_on_time"), "value"])
    assert by_team.loc[("A", "onsite_arrival_on_time"), "n"] == 0
    assert by_team.loc[("A", "complaints_per_1000"), "value"] == pytest.approx(1 / 3 * 1000)


def test_breakdown_by_week_and_agent():
    weekly = kpi_table(tables(), by=["week"], standards=STD, kpis=["fcr", "csat"]).set_index(["week", "kpi"])
    assert weekly.loc[(pd.Timestamp("2025-03-03"), "fcr"), "value"] == pytest.approx(2 / 3)
    assert weekly.loc[(pd.Timestamp("2025-03-10"), "fcr"), "n"] == 2
    by_agent = kpi_table(tables(), by=["agent_id"], standards=STD, kpis=["onsite_arrival_on_time"])
    assert by_agent.set_index("agent_id").loc["b1", "value"] == 0.5  # engineers are agents for visits


def test_empty_tables_give_nan_with_n_zero():
    empty = {name: frame.iloc[:0] for name, frame in tables().items()}
    out = kpi_table(empty, standards=STD)
    assert out["value"].isna().all() and (out["n"] == 0).all()


def test_sla_follows_the_standards():
    std = dict(STD, sla={"phone": 60, "chat": 10, "email": None, "social": None, "onsite": None})
    out = kpi_table(tables(), standards=std, kpis=["response_on_time"]).iloc[0]
    assert (out["value"], out["n"]) == (1.0, 3)  # phone 20 s and 40 s both within 60 s; chat 5 s


def test_unknown_breakdown_is_refused():
    with pytest.raises(ValueError, match="unknown breakdown"):
        kpi_table(tables(), by=["colour"], standards=STD)


def test_kpis_on_the_archive_agree_with_pandas(archive):
    from qa_helpers.data.archive import load

    frame = load("tickets", "HL-A", "2025-Q2", archive=archive)
    out = kpi_table({"tickets": frame}, by=["channel"], standards=STD, kpis=["fcr", "aht_s"]).set_index(["channel", "kpi"])
    expected = frame.groupby("channel").agg(fcr=("first_contact_resolved", "mean"), aht=("handle_s", "mean"))
    for channel, row in expected.iterrows():
        assert out.loc[(channel, "fcr"), "value"] == pytest.approx(float(row["fcr"]))
        assert out.loc[(channel, "aht_s"), "value"] == pytest.approx(float(row["aht"]))
    assert np.isfinite(out["value"]).all()
