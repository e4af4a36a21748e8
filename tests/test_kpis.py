"""Every KPI formula on tiny hand-built tables, empty groups, breakdowns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qa_helpers.measures.analysis import kpi_vs_target
from qa_helpers.measures.kpis import KPIS, kpi_catalogue, kpi_table, kpi_tables, measurability
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
        "priority": ["medium", "high", "medium", "low", "low"],
        # 600 s; 26 h (high: over 24 h); 47 h (within 48 h); unresolved; 72 h (over 48 h)
        "resolved_at": T(["2025-03-03 09:10", "2025-03-05 12:00", "2025-03-07 10:00", None, "2025-03-15 13:00"]),
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
    ("resolution_time_s", (26 * 3600 + 47 * 3600) / 2, 4),   # median of 600 s, 26 h, 47 h, 72 h; t4 unresolved
    ("resolved_within_sla", 2 / 5, 5),       # t1 and t3; t2 is high priority (24 h); t4 unresolved counts as late
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
    with pytest.raises(ValueError, match="unknown breakdown") as err:
        kpi_table(tables(), by=["colour"], standards=STD)
    assert "customer_type" in str(err.value) and "week" in str(err.value)  # names what is available


def test_breakdown_by_any_column_of_the_tables():
    frames = tables()
    frames["tickets"]["status"] = ["solved", "closed", "solved", "open", "solved"]
    by_status = kpi_table(frames, by=["status"], standards=STD, kpis=["fcr", "csat"]).set_index(["status", "kpi"])
    assert by_status.loc[("solved", "fcr"), "value"] == pytest.approx(2 / 3)
    assert by_status.loc[("solved", "fcr"), "n"] == 3
    # the surveys have no status column: they are left out of that breakdown, never mixed in
    assert by_status.loc[("solved", "csat"), "n"] == 0 and math.isnan(by_status.loc[("solved", "csat"), "value"])
    by_priority = kpi_table(frames, by=["priority"], standards=STD, kpis=["resolved_within_sla"]).set_index("priority")
    assert by_priority.loc["high", "value"] == 0.0 and by_priority.loc["medium", "value"] == 1.0
    assert by_priority.loc["low", "n"] == 2


# ---------------------------------------------------------------- resolution KPIs

def resolution_frame() -> pd.DataFrame:
    created = T(["2025-03-03 08:00"] * 5)
    return pd.DataFrame({
        "ticket_id": ["r1", "r2", "r3", "r4", "r5"],
        "created_at": created,
        "priority": ["high", "high", "medium", "low", None],
        "resolved_at": created + pd.to_timedelta([2, 30, 40, 50, np.nan], unit="h"),
    })


def test_resolution_kpis_on_a_hand_made_frame():
    frame = {"tickets": resolution_frame()}
    out = kpi_table(frame, standards=STD, kpis=["resolution_time_s", "resolved_within_sla"]).set_index("kpi")
    assert out.loc["resolution_time_s", "value"] == (30 + 40) / 2 * 3600   # median of 2, 30, 40, 50 h
    assert out.loc["resolution_time_s", "n"] == 4                          # the unresolved ticket has no time
    # high: 24 h (2 h in, 30 h late); medium 40 h and low 50 h against 48 h; unresolved counts as late
    assert out.loc["resolved_within_sla", "value"] == pytest.approx(2 / 5)
    assert out.loc["resolved_within_sla", "n"] == 5
    flat = dict(STD, resolution_hours=36, resolution_hours_by_priority=None)
    within = kpi_table(frame, standards=flat, kpis=["resolved_within_sla"]).iloc[0]
    assert within["value"] == pytest.approx(2 / 5)                          # 2 h and 30 h within 36 h
    default = kpi_table(frame, standards={}, kpis=["resolved_within_sla"]).iloc[0]
    assert default["value"] == pytest.approx(3 / 5)                         # 48 h for all: 2, 30, 40 h


def test_resolution_kpis_in_the_standards():
    from qa_helpers.measures.standards import load_standards as load

    std = load()
    targets = std.targets().set_index("kpi")
    assert targets.loc["resolved_within_sla", "target"] == 0.95 and targets.loc["resolved_within_sla", "direction"] == "higher"
    assert targets.loc["resolution_time_s", "direction"] == "lower"
    table = std.resolution_table().set_index("priority")["resolution_hours"]
    assert table["(default)"] == 48 and table["high"] == 24


# ---------------------------------------------------------------- not measured, never 0

def test_an_all_null_field_gives_nan_not_zero():
    frame = tickets()
    frame["first_contact_resolved"] = pd.array([None] * 5, dtype="boolean")
    frame["reopened"] = pd.array([True, None, None, False, None], dtype="boolean")
    frame["first_response_s"] = [20.0, None, None, None, None]
    frame["agent_id"] = pd.Series([None] * 5, dtype="str")
    out = kpi_table({"tickets": frame}, standards=STD).set_index("kpi")
    assert math.isnan(out.loc["fcr", "value"]) and out.loc["fcr", "n"] == 0       # was 0 %
    assert out.loc["reopen_rate", "value"] == 0.5 and out.loc["reopen_rate", "n"] == 2  # rows with a value only
    assert out.loc["response_on_time", "value"] == 1.0 and out.loc["response_on_time", "n"] == 1
    assert math.isnan(out.loc["workload_per_agent", "value"]) and out.loc["workload_per_agent", "n"] == 0


def test_complaint_24h_still_counts_no_answer_as_late():
    frame = complaints()
    frame["first_response_at"] = pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us]")
    row = kpi_table({"complaints": frame}, standards=STD, kpis=["complaint_24h"]).iloc[0]
    assert (row["value"], row["n"]) == (0.0, 2)


def availability(frames: dict[str, pd.DataFrame], absent: dict[str, list[str]] | None = None) -> dict[str, set[str]]:
    """Stand-in for ``qa_helpers.data.archive.availability``: a table with rows is present with every
    column but the ``absent`` ones; an empty (schema-only) table is absent."""
    absent = absent or {}
    return {name: set(frame.columns) - set(absent.get(name, [])) if len(frame) else set()
            for name, frame in frames.items()}


def tickets_and_csat_only() -> tuple[dict, dict]:
    """An archive with only tickets (no FCR, handle time, reopen or resolution) and a CSAT survey table."""
    ticket_rows = tickets().drop(columns=["priority", "resolved_at"])
    lacking = ["first_contact_resolved", "handle_s", "reopened", "customer_type", "resolved_at", "priority"]
    for column in lacking:
        ticket_rows[column] = pd.Series([None] * len(ticket_rows), dtype="object")
    survey_rows = surveys().drop(columns=["nps"]).assign(nps=pd.array([None] * 5, dtype="Int64"))
    frames = {"tickets": ticket_rows, "surveys": survey_rows, "complaints": complaints().iloc[:0],
              "field_visits": visits().iloc[:0], "qa_reviews": reviews().iloc[:0]}
    return frames, availability(frames, {"tickets": lacking, "surveys": ["nps"]})


def test_measurability_says_why_in_plain_words():
    _, available = tickets_and_csat_only()
    m = measurability(available, STD).set_index("kpi")
    assert set(m.index) == set(KPIS)
    assert m.loc[["csat", "csat_mean", "avg_first_response_s", "median_first_response_s", "response_on_time",
                  "workload_per_agent"], "measured"].all()
    assert m.loc["csat", "reason"] == ""
    assert m.loc["complaints_per_1000", "reason"] == "no complaints table in the archive"
    assert m.loc["complaint_24h", "reason"] == "no complaints table in the archive"
    assert m.loc["onsite_arrival_on_time", "reason"] == "no field visits table in the archive"
    assert m.loc["process_compliance", "reason"] == "no QA reviews table in the archive"
    assert m.loc["fcr", "reason"] == "the tickets have no first_contact_resolved field"
    assert m.loc["aht_s", "reason"] == "the tickets have no handle_s field"
    assert m.loc["nps", "reason"] == "the surveys have no nps field"
    assert m.loc["resolved_within_sla", "reason"] == "the tickets have no resolved_at field"
    assert m["measured"].dtype == bool
    no_sla = measurability(None, dict(STD, sla={"phone": None})).set_index("kpi")
    assert no_sla.loc["response_on_time", "reason"] == "no channel has a first-response SLA"
    assert no_sla.drop(index="response_on_time")["measured"].all()   # None: every field present
    both = measurability({"tickets": {"ticket_id", "created_at"}}, {}, ["response_on_time"]).iloc[0]
    assert both["reason"] == ("the tickets have no first_response_s and channel fields; "
                              "no channel has a first-response SLA")


def test_kpi_table_lists_unmeasurable_kpis_as_nan_with_n_zero():
    frames, available = tickets_and_csat_only()
    before = kpi_table(frames, standards=STD).set_index("kpi")
    assert before.loc["complaints_per_1000", "value"] == 0.0   # an empty complaints table alone reads as 0 ‰
    out = kpi_table(frames, standards=STD, available=available).set_index("kpi")
    assert set(out.index) == set(KPIS)                          # still listed
    for name in ("complaints_per_1000", "complaint_24h", "fcr", "aht_s", "nps", "reopen_rate",
                 "onsite_arrival_on_time", "process_compliance", "resolution_time_s", "resolved_within_sla"):
        assert math.isnan(out.loc[name, "value"]) and out.loc[name, "n"] == 0, name
    assert out.loc["csat", "value"] == pytest.approx(2 / 4) and out.loc["csat", "n"] == 4
    assert out.loc["response_on_time", "value"] == pytest.approx(2 / 4)
    by_team = kpi_table(frames, by=["team"], standards=STD, available=available).set_index(["team", "kpi"])
    assert math.isnan(by_team.loc[("A", "complaints_per_1000"), "value"])
    assert by_team.loc[("A", "complaints_per_1000"), "n"] == 0
    assert by_team.loc[("A", "fcr"), "n"] == 0 and by_team.loc[("B", "csat"), "n"] == 1


def test_an_absent_complaints_table_is_not_measured_not_zero():
    frames = tables()
    frames["complaints"] = frames["complaints"].iloc[:0]
    available = availability(frames)
    out = kpi_table(frames, standards=STD, available=available).set_index("kpi")
    assert math.isnan(out.loc["complaints_per_1000", "value"]) and out.loc["complaints_per_1000", "n"] == 0
    assert out.loc["fcr", "value"] == pytest.approx(3 / 5)     # the rest is unaffected
    headline = kpi_vs_target(out.reset_index(), load_standards().targets(),
                             measurability(available, STD)).set_index("kpi")
    assert headline.loc["complaints_per_1000", "status"] == "not measured"
    assert headline.loc["complaints_per_1000", "note"] == "no complaints table in the archive"
    assert pd.isna(headline.loc["complaints_per_1000", "meets_target"])


def test_a_hand_built_frame_without_a_column_is_not_measured():
    frame = tickets().drop(columns=["handle_s"])
    out = kpi_table({"tickets": frame}, standards=STD, kpis=["aht_s", "fcr"]).set_index("kpi")
    assert out.loc["aht_s", "n"] == 0 and math.isnan(out.loc["aht_s", "value"])
    assert out.loc["fcr", "n"] == 5


def test_kpi_vs_target_status_and_note():
    values = pd.DataFrame({"kpi": ["csat", "resolution_time_s", "fcr", "nps", "reopen_rate", "complaints_per_1000"],
                           "value": [0.95, 86500.0, np.nan, 70.0, 0.04, 0.0], "n": [40, 40, 0, 3, 40, 500]})
    targets = load_standards().targets()
    m = measurability({"tickets": {"ticket_id", "created_at", "resolved_at", "reopened"},
                       "surveys": {"survey_id", "answered_at", "csat", "source", "nps"}}, STD)
    out = kpi_vs_target(values, targets, m, min_n=10).set_index("kpi")
    assert out.loc["csat", "status"] == "meets target" and out.loc["csat", "meets_target"] == True  # noqa: E712
    assert out.loc["resolution_time_s", "status"] == "misses target" and out.loc["resolution_time_s", "gap"] == 100
    assert out.loc["reopen_rate", "status"] == "meets target"            # lower is better
    assert out.loc["fcr", "status"] == "not measured"
    assert out.loc["fcr", "note"] == "the tickets have no first_contact_resolved field"
    assert out.loc["nps", "status"] == "not measured" and out.loc["nps", "note"] == "n < 10 (n = 3)"
    # 0 ‰ from an empty complaints table: the measurability makes it NaN with n = 0
    row = out.loc["complaints_per_1000"]
    assert row["status"] == "not measured" and math.isnan(row["value"]) and row["n"] == 0
    assert out["note"].loc[["csat", "resolution_time_s"]].eq("").all()
    plain = kpi_vs_target(values, targets).set_index("kpi")
    assert plain.loc["fcr", "status"] == "not measured" and plain.loc["fcr", "note"] == "no data for this unit and period"
    assert plain.loc["nps", "status"] == "meets target"                  # no min_n rule by default
    no_target = kpi_vs_target(values, targets[targets["kpi"] != "csat"]).set_index("kpi")
    assert no_target.loc["csat", "status"] == "no target" and pd.isna(no_target.loc["csat", "meets_target"])


def test_kpis_on_the_archive_agree_with_pandas(archive):
    from qa_helpers.data.archive import load

    frame = load("tickets", "HL-A", "2025-Q2", archive=archive)
    out = kpi_table({"tickets": frame}, by=["channel"], standards=STD, kpis=["fcr", "aht_s"]).set_index(["channel", "kpi"])
    expected = frame.groupby("channel").agg(fcr=("first_contact_resolved", "mean"), aht=("handle_s", "mean"))
    for channel, row in expected.iterrows():
        assert out.loc[(channel, "fcr"), "value"] == pytest.approx(float(row["fcr"]))
        assert out.loc[(channel, "aht_s"), "value"] == pytest.approx(float(row["aht"]))
    assert np.isfinite(out["value"]).all()


def test_breakdown_charts_name_answers_without_a_channel_not_nan(archive, monkeypatch):
    """Survey answers whose ticket did not link (it was quarantined) have no channel: the breakdown
    charts and the channel x customer-type heat map call them "not recorded", never "nan"."""
    import matplotlib.pyplot as plt

    from qa_helpers.report import sections
    from qa_helpers.report.context import Context, open_context

    ctx = open_context("ALL", "2025-Q4", archive)
    real = Context.kpi_table

    def with_a_missing_channel(self, tables=None, by=(), kpis=None, period=None):
        out = real(self, tables, by=by, kpis=kpis, period=period)
        out.loc[out.index[:1], by[0]] = None
        return out

    monkeypatch.setattr(Context, "kpi_table", with_a_missing_channel)
    tables = ctx.tables()
    fig = sections.kpi_breakdown(ctx, tables, "channel")[0]
    heat = sections.kpi_heatmap(ctx, tables)
    labels = [tick.get_text() for f in (fig, heat) for ax in f.axes for tick in ax.get_yticklabels() + ax.get_xticklabels()]
    plt.close("all")
    assert "not recorded" in labels and not any("nan" in label.lower() for label in labels)


def test_workload_per_agent_by_week_counts_agent_weeks_like_the_general_form():
    """Grouped by week, the kit counts distinct agents (cheaper); each week's figure must equal the
    same week computed alone, where the general (agent, week) count applies; missing agents or times
    count for no agent-week either way."""
    rng = np.random.default_rng(17)
    created = pd.Timestamp("2025-03-03") + pd.to_timedelta(rng.integers(0, 21 * 86_400, 400), unit="s")
    frame = pd.DataFrame({
        "ticket_id": [f"T{i}" for i in range(400)], "team": rng.choice(["A", "B"], 400),
        "agent_id": pd.Series(rng.choice(["a1", "a2", "a3", "a4", None], 400), dtype="str"),
        "created_at": created.where(rng.random(400) > 0.05)})
    by_week = kpi_table({"tickets": frame}, by=["team", "week"], kpis=["workload_per_agent"])
    undated = by_week["week"].isna()
    assert undated.any() and by_week.loc[undated, "value"].isna().all()  # no time, no agent-week
    assert (~undated).sum() >= 6
    for row in by_week[~undated].itertuples():
        week = frame["created_at"].dt.to_period("W-SUN").dt.start_time == row.week
        alone = kpi_table({"tickets": frame[week & (frame["team"] == row.team)]}, kpis=["workload_per_agent"])
        assert alone["value"].iloc[0] == pytest.approx(row.value) and alone["n"].iloc[0] == row.n


def test_the_distinct_agent_week_count_has_a_query_of_its_own():
    """With the other aggregates of its table, DuckDB's distinct count made the 10 M-ticket scan ~1.3x
    dearer than two scans (issue 17); the figures stay what one query gave, group by group."""
    import duckdb

    class Recording:
        def __init__(self):
            self.con, self.statements = duckdb.connect(), []

        def sql(self, query):
            self.statements.append(query)
            return self.con.sql(query)

        def execute(self, query, parameters=None):
            self.statements.append(query)
            return self.con.execute(query, parameters)

        def register(self, name, frame):
            return self.con.register(name, frame)

    frame = pd.DataFrame({"ticket_id": [f"T{i}" for i in range(6)], "team": list("AABBBB"),
                          "agent_id": ["a1", "a2", "a1", "a3", "a3", None],
                          "created_at": pd.to_datetime(["2025-03-03", "2025-03-04", "2025-03-03", "2025-03-05",
                                                        "2025-03-12", "2025-03-12"]),
                          "first_contact_resolved": [True, False, True, True, None, False]})
    recording = Recording()
    out = kpi_table({"tickets": frame}, by=["team"], kpis=["fcr", "workload_per_agent"], connection=recording)
    queries = [q for q in recording.statements if "LIMIT 0" not in q]
    assert len(queries) == 2 and ["DISTINCT" in q for q in queries] == [False, True]
    assert "fcr__value" not in queries[1]
    got = out.set_index(["team", "kpi"])
    # A: 2 tickets over 2 agent-weeks; B: 4 tickets over (a1, w10), (a3, w10), (a3, w11)
    assert got.loc[("A", "workload_per_agent"), "value"] == 1.0 and got.loc[("B", "workload_per_agent"), "value"] == 4 / 3
    assert got.loc[("A", "fcr"), "value"] == 0.5 and got.loc[("B", "fcr"), "n"] == 3


def test_several_breakdowns_at_once_equal_each_breakdown_alone():
    """Issue 17: one scan per table for several breakdowns (GROUPING SETS); each table is what
    kpi_table gives for that breakdown alone, per-1000 rates, per-agent workload, empty groups and a
    breakdown some tables lack included."""
    frames = {**tables(), "tickets": tickets().assign(channel=[None, "phone", "chat", "email", "onsite"])}
    bys = [["channel"], ["category"], ["customer_type"], [], ["week"], ["team", "week"], ["agent_id"], ["channel"],
           ["priority"]]
    got = kpi_tables(frames, bys, standards=STD)
    assert len(got) == len(bys)
    for by, frame in zip(bys, got):
        pd.testing.assert_frame_equal(frame, kpi_table(frames, by=by, standards=STD))
    assert got[0]["channel"].isna().any()  # a ticket without a channel is its own group, as alone
    with pytest.raises(ValueError, match="unknown breakdown"):
        kpi_tables(frames, [["channel"], ["no_such_column"]])
