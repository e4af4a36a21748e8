"""Control charts (p-chart, XmR), Western Electric rules and the coaching run rule."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from qa_helpers.monitor import control_charts as cc  # noqa: E402

RULE_FLAGS = ["rule_1", "rule_2", "rule_3", "rule_4"]


def _fired(values, center=0.0, sigma=1.0) -> dict[str, list[int]]:
    """Which positions each rule flags."""
    out = cc.western_electric_rules(values, center, sigma)
    return {rule: list(np.flatnonzero(out[rule].to_numpy())) for rule in RULE_FLAGS}


# --------------------------------------------------------------------------- p-chart


def test_p_chart_limits_match_hand_computation():
    data = pd.DataFrame({"period": [1, 2, 3, 4], "events": [5, 12, 8, 15], "n": [50, 100, 80, 120]})
    chart = cc.p_chart(data)
    # p̄ = 40 / 350 = 0.1142857; p̄(1 − p̄) = 0.1012245
    # σ: n=50 → 0.0449944, n=100 → 0.0318158, n=80 → 0.0355711, n=120 → 0.0290437
    assert chart["center"].tolist() == pytest.approx([0.1142857] * 4, abs=1e-7)
    assert chart["p"].tolist() == pytest.approx([0.10, 0.12, 0.10, 0.125])
    assert chart["sigma"].tolist() == pytest.approx([0.0449944, 0.0318158, 0.0355711, 0.0290437], abs=1e-7)
    assert chart["ucl"].tolist() == pytest.approx([0.2492689, 0.2097331, 0.2209990, 0.2014168], abs=1e-6)
    # n = 50: 0.1142857 − 0.1349832 < 0 → clipped to 0
    assert chart["lcl"].tolist() == pytest.approx([0.0, 0.0188383, 0.0075724, 0.0271546], abs=1e-6)
    assert not chart["signal"].any()


def test_p_chart_upper_limit_clipped_to_one_and_empty_periods_dropped():
    data = pd.DataFrame({"period": ["w1", "w2", "w3"], "events": [9, 0, 9], "n": [10, 0, 10]})
    chart = cc.p_chart(data)
    assert chart["period"].tolist() == ["w1", "w3"]  # n = 0: nothing to chart
    # p̄ = 0.9, σ = √(0.09/10) = 0.0948683: 0.9 + 0.2846 → clipped to 1; lcl 0.6153950
    assert chart["ucl"].tolist() == [1.0, 1.0]
    assert chart["lcl"].tolist() == pytest.approx([0.6153950] * 2, abs=1e-6)
    with pytest.raises(ValueError):
        cc.p_chart(pd.DataFrame({"period": [1], "events": [5], "n": [3]}))


def test_p_chart_rules_use_per_point_sigma():
    # baseline p̄ = 0.10 from ten periods of 10/100; then the same kind of excess on a small
    # and on a large period: 5/25 (z = 0.10/0.06 = 1.67) is noise, 135/900 (z = 0.05/0.01 = 5) a signal
    data = pd.DataFrame({"period": range(12), "events": [10] * 10 + [5, 135], "n": [100] * 10 + [25, 900]})
    chart = cc.p_chart(data, baseline=10)
    assert chart["center"].iloc[0] == pytest.approx(0.10)
    assert chart["sigma"].iloc[10] == pytest.approx(0.06)
    assert chart["sigma"].iloc[11] == pytest.approx(0.01)
    assert list(np.flatnonzero(chart["rule_1"])) == [11]
    assert list(np.flatnonzero(chart["signal"])) == [11]
    assert chart["rules"].iloc[11] == "1: beyond 3σ"


def test_p_chart_constant_rate_has_no_signal():
    chart = cc.p_chart(pd.DataFrame({"period": range(20), "events": [8] * 20, "n": [80] * 20}))
    assert not chart[[*RULE_FLAGS, "signal"]].to_numpy().any()
    assert (chart["rules"] == "").all()


# --------------------------------------------------------------------------- XmR


def test_xmr_limits_match_hand_computation():
    data = pd.DataFrame({"period": range(7), "value": [12, 15, 11, 14, 13, 16, 12]})
    chart = cc.xmr_chart(data)
    # x̄ = 93/7 = 13.285714; MR = 3, 4, 3, 1, 3, 4 → MR̄ = 3
    # limits 13.285714 ± 2.66·3 = 5.305714 … 21.265714; MR UCL = 3.267·3 = 9.801
    assert chart["mr"].iloc[1:].tolist() == [3, 4, 3, 1, 3, 4]
    assert np.isnan(chart["mr"].iloc[0])
    assert chart["center"].iloc[0] == pytest.approx(13.285714, abs=1e-6)
    assert chart["mr_center"].iloc[0] == pytest.approx(3.0)
    assert chart["ucl"].iloc[0] == pytest.approx(21.265714, abs=1e-6)
    assert chart["lcl"].iloc[0] == pytest.approx(5.305714, abs=1e-6)
    assert chart["mr_ucl"].iloc[0] == pytest.approx(9.801)
    assert chart["sigma"].iloc[0] == pytest.approx(2.66)  # 2.66 · MR̄ / 3
    assert not chart["signal"].any() and not chart["mr_beyond"].any()


def test_xmr_baseline_floor_and_signals():
    values = [100, 104, 98, 102, 100, 101, 99, 103, 140, 100]
    chart = cc.xmr_chart(pd.DataFrame({"period": range(10), "value": values}), baseline=8, floor=0)
    # baseline x̄ = 807/8 = 100.875; MR = 4, 6, 4, 2, 1, 2, 4 → MR̄ = 23/7 = 3.285714
    assert chart["center"].iloc[0] == pytest.approx(100.875)
    assert chart["mr_center"].iloc[0] == pytest.approx(23 / 7)
    assert chart["ucl"].iloc[0] == pytest.approx(100.875 + 2.66 * 23 / 7)
    assert list(np.flatnonzero(chart["rule_1"])) == [8]  # 140 is far beyond 109.6
    assert list(np.flatnonzero(chart["mr_beyond"])) == [8, 9]  # the jump up and back (40 > 10.73)
    low = cc.xmr_chart(pd.DataFrame({"period": range(3), "value": [1.0, 10.0, 1.0]}), floor=0)
    assert low["lcl"].iloc[0] == 0.0  # x̄ − 2.66·MR̄ < 0 raised to the floor


def test_xmr_constant_series_has_no_signal():
    chart = cc.xmr_chart(pd.DataFrame({"period": range(15), "value": [42.0] * 15}))
    assert chart["mr_center"].iloc[0] == 0.0
    assert not chart[[*RULE_FLAGS, "signal", "mr_beyond"]].to_numpy().any()


# --------------------------------------------------------------------------- Western Electric rules


def test_rule_1_beyond_three_sigma():
    assert _fired([0, 0.5, -0.5, 3.5, 0]) == {"rule_1": [3], "rule_2": [], "rule_3": [], "rule_4": []}
    assert _fired([0, -3.2, 0])["rule_1"] == [1]
    assert _fired([0, 3.0, 0])["rule_1"] == []  # on the limit is not beyond it


def test_rule_2_two_of_three_beyond_two_sigma():
    assert _fired([0, 2.5, 0, 2.5, 0]) == {"rule_1": [], "rule_2": [3], "rule_3": [], "rule_4": []}
    assert _fired([0, -2.5, -2.2, 0])["rule_2"] == [2]
    assert _fired([0, 2.5, -2.5, 0])["rule_2"] == []  # opposite sides do not count together
    assert _fired([2.5, 0, 0, 2.5])["rule_2"] == []  # 3 apart: not within 3 points


def test_rule_3_four_of_five_beyond_one_sigma():
    assert _fired([0, 1.5, 1.5, 0.5, 1.5, 1.5, 0]) == {"rule_1": [], "rule_2": [], "rule_3": [5], "rule_4": []}
    assert _fired([0, -1.5, -1.5, -1.5, -1.5])["rule_3"] == [4]
    assert _fired([0, 1.5, 1.5, -1.5, 1.5, 0])["rule_3"] == []


def test_rule_4_eight_in_a_row_on_one_side():
    assert _fired([-0.5] + [0.5] * 8) == {"rule_1": [], "rule_2": [], "rule_3": [], "rule_4": [8]}
    assert _fired([-0.3] * 9)["rule_4"] == [7, 8]
    assert _fired([0.5] * 4 + [0.0] + [0.5] * 4)["rule_4"] == []  # a point on the centre breaks the run


def test_rules_quiet_on_in_control_series_and_text_lists_rules():
    assert not cc.western_electric_rules([0.0] * 20, 0.0, 1.0)[[*RULE_FLAGS, "signal"]].to_numpy().any()
    wobble = [0.5, -0.5, 1.2, -1.2, 0.3, -0.3] * 4
    assert not cc.western_electric_rules(wobble, 0.0, 1.0)["signal"].any()
    both = cc.western_electric_rules([0.5] * 7 + [3.5], 0.0, 1.0)
    assert both["rules"].iloc[-1] == "1: beyond 3σ; 4: 8 in a row on one side"
    assert both["signal"].tolist() == [False] * 7 + [True]


def test_rules_keep_series_index_and_per_point_sigma():
    values = pd.Series([0.35, 0.35], index=["a", "b"])
    out = cc.western_electric_rules(values, center=0.2, sigma=[0.1, 0.04])  # z = 1.5, 3.75
    assert list(out.index) == ["a", "b"]
    assert out["rule_1"].tolist() == [False, True]


# --------------------------------------------------------------------------- period helpers


def test_period_helpers_feed_the_charts():
    times = pd.to_datetime(["2025-03-03 09:00", "2025-03-05 10:00", "2025-03-10 11:00", "2025-03-16 23:00"])
    frame = pd.DataFrame({"created_at": times, "fcr": [True, False, True, True], "handle_s": [100.0, 300, 200, 400]})
    counts = cc.period_counts(frame, "created_at", "fcr")
    assert counts.to_dict("list") == {"period": [pd.Timestamp("2025-03-03"), pd.Timestamp("2025-03-10")],
                                      "events": [1, 2], "n": [2, 2]}
    values = cc.period_values(frame, "created_at", "handle_s")
    assert values["value"].tolist() == [200.0, 300.0]
    assert values["n"].tolist() == [2, 2]


# --------------------------------------------------------------------------- coaching runs


def _weekly(values: dict[str, list], weeks=None, n=None) -> pd.DataFrame:
    rows = []
    for agent, series in values.items():
        for i, v in enumerate(series):
            if v is None:
                continue  # no row at all: a week without data
            rows.append({"agent_id": agent, "week": (weeks or list(range(1, len(series) + 1)))[i], "value": v,
                         "n": 10 if n is None else n.get((agent, i), 10)})
    return pd.DataFrame(rows)


def test_coaching_exactly_k_flagged_k_minus_one_not():
    frame = _weekly({"A": [0.9, 0.7, 0.75, 0.79, 0.95], "B": [0.7, 0.7, 0.9, 0.7, 0.7]})
    out = cc.coaching_runs(frame, threshold=0.8, k=3)
    assert out.to_dict("records") == [{"agent_id": "A", "first_week": 2, "last_week": 4, "run_length": 3}]
    assert cc.coaching_runs(frame, threshold=0.8, k=4).empty


def test_coaching_threshold_is_strict_and_long_runs_reported_once():
    frame = _weekly({"A": [0.7, 0.8, 0.7, 0.7], "C": [0.5] * 6})
    out = cc.coaching_runs(frame, threshold=0.8, k=3)
    assert out.to_dict("records") == [{"agent_id": "C", "first_week": 1, "last_week": 6, "run_length": 6}]


def test_coaching_gap_breaks_run_by_default_and_skip_bridges_it():
    frame = _weekly({"A": [0.7, 0.7, None, 0.7]})  # week 3 has no data
    assert cc.coaching_runs(frame, threshold=0.8, k=3).empty
    skipped = cc.coaching_runs(frame, threshold=0.8, k=3, gaps="skip")
    assert skipped.to_dict("records") == [{"agent_id": "A", "first_week": 1, "last_week": 4, "run_length": 3}]
    # a week above the threshold ends the run under either setting
    assert cc.coaching_runs(_weekly({"A": [0.7, 0.7, 0.9, 0.7]}), 0.8, 3, gaps="skip").empty


def test_coaching_weeks_with_too_few_cases_count_as_no_data():
    frame = _weekly({"A": [0.7, 0.6, 0.7]}, n={("A", 1): 2})
    assert cc.coaching_runs(frame, threshold=0.8, k=3).to_dict("records")[0]["run_length"] == 3
    assert cc.coaching_runs(frame, threshold=0.8, k=3, min_n=5).empty
    assert cc.coaching_runs(frame, threshold=0.8, k=2, min_n=5, gaps="skip")["run_length"].tolist() == [2]


def test_coaching_week_labels_dates_and_errors():
    iso = _weekly({"A": [0.7, 0.7, 0.7]}, weeks=["2025-W52", "2026-W01", "2026-W02"])
    out = cc.coaching_runs(iso, threshold=0.8, k=3)  # consecutive across the year end
    assert out[["first_week", "last_week"]].values.tolist() == [["2025-W52", "2026-W02"]]
    dates = _weekly({"A": [0.7, 0.7, 0.7]}, weeks=list(pd.to_datetime(["2025-03-03", "2025-03-12", "2025-03-23"])))
    assert len(cc.coaching_runs(dates, threshold=0.8, k=3)) == 1  # any day of consecutive weeks
    gap = _weekly({"A": [0.7, 0.7, 0.7]}, weeks=list(pd.to_datetime(["2025-03-03", "2025-03-10", "2025-03-24"])))
    assert cc.coaching_runs(gap, threshold=0.8, k=3).empty
    with pytest.raises(ValueError, match="more than one row"):
        cc.coaching_runs(pd.concat([iso, iso]), threshold=0.8, k=3)
    with pytest.raises(ValueError):
        cc.coaching_runs(iso, threshold=0.8, k=3, gaps="ignore")


# --------------------------------------------------------------------------- plots


def test_plots_draw_limits_and_mark_violations():
    p = cc.p_chart(pd.DataFrame({"period": pd.date_range("2025-01-06", periods=12, freq="W-MON"),
                                 "events": [10] * 10 + [5, 135], "n": [100] * 10 + [25, 900]}), baseline=10)
    x = cc.xmr_chart(pd.DataFrame({"period": range(10), "value": [100, 104, 98, 102, 100, 101, 99, 103, 140, 100]}))
    fig, (a1, a2, a3) = plt.subplots(3, 1)
    try:
        ax = cc.plot_p_chart(p, a1, metric="Complaint rate")
        assert ax is a1
        assert "p-chart" in ax.get_title() and "%" in ax.get_ylabel()
        assert len(ax.collections) == 1  # the violation markers
        assert ax.collections[0].get_offsets().shape[0] == int(p["signal"].sum())
        ax = cc.plot_xmr_chart(x, a2, mr_ax=a3, metric="Mean handling time", unit="s")
        assert ax is a2
        assert ax.get_ylabel() == "Mean handling time (s)"
        assert a3.get_ylabel() == "Moving range (s)"
        assert len(ax.collections) == 1 and len(a3.collections) == 1
    finally:
        plt.close(fig)


def test_p_chart_with_a_missing_event_count_leaves_that_period_out_of_the_centre():
    # issue 13: the centre used the period's n but not its (missing) events, pulling p-bar down
    # until an ordinary period crossed the upper limit
    rows = {"period": range(10), "events": [20.0] * 10, "n": [100] * 10}
    rows["events"][3] = np.nan
    rows["n"] = [100, 100, 100, 5000, 100, 100, 100, 100, 100, 100]
    chart = cc.p_chart(pd.DataFrame(rows))
    assert len(chart) == 10 and np.isnan(chart.at[3, "p"])  # kept, not silently dropped
    assert chart["center"].eq(0.2).all()
    assert not chart["signal"].any()
    assert cc.p_chart(pd.DataFrame(rows), baseline=5)["center"].eq(0.2).all()
