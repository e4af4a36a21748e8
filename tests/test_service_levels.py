"""Service levels by severity and customer type (issue 14): working-time clocks on hand-built cases
(weekend, National Day, make-up working day), each measure on hand-built complaints, the config's
errors, and the effects planted in the demo sample."""

from __future__ import annotations

import math

import holidays
import pandas as pd
import pytest

from qa_helpers.errors import ConfigError
from qa_helpers.measures import service_levels as sl
from qa_helpers.measures.standards import load_standards

T = pd.to_datetime
STD = load_standards().raw
CAL = sl.calendar(STD)  # the kit's: 09:00-18:00, Monday to Friday, China's public holidays


def hours(pairs: list[tuple[str, str | None]], cal: sl.Calendar = CAL) -> list[float]:
    frame = pd.DataFrame({"a": T([a for a, _ in pairs]), "b": T([b for _, b in pairs])})
    return [round(h, 4) if not math.isnan(h) else h for h in (sl.working_seconds(frame, "a", "b", cal) / 3600)]


# ---------------------------------------------------------------- the working-time clock

@pytest.mark.parametrize("start, end, expected", [
    ("2025-10-20 10:00", "2025-10-20 12:30", 2.5),    # Monday, inside working hours
    ("2025-10-20 07:00", "2025-10-20 20:00", 9.0),    # the whole working day, not the 13 h on the clock
    ("2025-10-20 20:00", "2025-10-21 08:00", 0.0),    # overnight
    ("2025-10-17 17:00", "2025-10-20 10:00", 2.0),    # Friday 17:00 to Monday 10:00: the weekend is off
    ("2025-10-18 11:00", "2025-10-19 15:00", 0.0),    # within a weekend
    ("2025-09-30 17:00", "2025-10-09 10:00", 2.0),    # across National Day and Mid-Autumn (1-8 October)
    ("2025-10-01 10:00", "2025-10-03 16:00", 0.0),    # on public holidays
    ("2025-10-10 17:00", "2025-10-13 10:00", 11.0),   # Saturday 11 October is a make-up working day (调休)
    ("2025-09-26 17:00", "2025-09-29 10:00", 11.0),   # ... and Sunday 28 September
    ("2025-12-31 17:00", "2026-01-05 10:00", 11.0),   # New Year 2026 (1-3 January off, Sunday 4 January worked)
])
def test_working_hours_on_hand_built_cases(start, end, expected):
    assert hours([(start, end)]) == [expected]


def test_working_hours_many_rows_at_once_and_missing_ends():
    got = hours([("2025-10-17 17:00", "2025-10-20 10:00"), ("2025-10-20 10:00", None),
                 ("2025-10-10 17:00", "2025-10-13 10:00")])
    assert got[0] == 2.0 and math.isnan(got[1]) and got[2] == 11.0


def test_calendar_days_follow_the_holidays_package_including_make_up_days():
    days = sl.calendar_days(CAL, pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-12-31").date())
    cn = holidays.China(years=2025)
    assert days["working"].tolist() == [cn.is_working_day(d) for d in days["day"]]
    assert days["before"].iloc[-1] + days["working"].iloc[-1] == days["working"].sum()


def test_extra_holidays_extra_working_days_and_hours_are_configurable():
    std = {"service_levels": {"calendar": {"working_hours": ["08:00", "20:00"], "extra_holidays": ["2025-10-20"],
                                           "extra_working_days": ["2025-10-18"]}}}
    cal = sl.calendar(std)
    # Friday 17:00 to Tuesday 10:00: Fri 3 h + Sat (made a working day) 12 h + Mon (a day off) 0 + Tue 2 h
    assert hours([("2025-10-17 17:00", "2025-10-21 10:00")], cal) == [17.0]
    no_public = sl.calendar({"service_levels": {"calendar": {"public_holidays": False}}})
    assert hours([("2025-10-01 10:00", "2025-10-01 12:00")], no_public) == [2.0]
    weekend_shop = sl.calendar({"service_levels": {"calendar": {"weekdays": ["Sat", "Sun"], "public_holidays": False}}})
    assert hours([("2025-10-17 17:00", "2025-10-20 10:00")], weekend_shop) == [18.0]


@pytest.mark.parametrize("calendar, key", [
    ({"working_hours": ["9h", "18:00"]}, "service_levels.calendar.working_hours"),
    ({"working_hours": ["18:00", "09:00"]}, "service_levels.calendar.working_hours"),
    ({"weekdays": ["Monday"]}, "service_levels.calendar.weekdays"),
    ({"extra_holidays": ["2025-13-01"]}, "service_levels.calendar.extra_holidays[0]"),
    ({"country": "XX"}, "service_levels.calendar.country"),
])
def test_bad_calendar_names_the_key(calendar, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        sl.calendar({"service_levels": {"calendar": calendar}}, "std.yml")


@pytest.mark.parametrize("spec, key", [
    ({"limit": {1: 2, 2: 4, 3: 24}}, "service_levels.limits.response.limit"),
    ({"limit": 24, "unit": "minutes"}, "service_levels.limits.response.unit"),
    ({"limit": -1}, "service_levels.limits.response.limit"),
    ({"limit": 24, "target": 1.5}, "service_levels.limits.response.target"),
    ({"limit": 24, "by_customer_type": {"enterprise": "soon"}}, "service_levels.limits.response.by_customer_type.enterprise"),
])
def test_bad_limits_name_the_key(spec, key):
    with pytest.raises(ConfigError, match=key):
        sl.limits({"service_levels": {"limits": {"response": spec}}}, "std.yml")


def test_load_standards_rejects_a_bad_service_levels_block(tmp_path):
    import yaml

    doc = yaml.safe_load(open(load_standards().path, encoding="utf-8"))
    doc["service_levels"]["limits"]["callback"] = {"limit": 24}
    path = tmp_path / "standards.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"standards.yml: service_levels.limits.callback: unknown measure"):
        load_standards(path)


def test_the_kit_standards_quote_seed_003():
    limits = sl.limits(STD)
    assert limits["response"].hours == {1: 2.0, 2: 4.0, 3: 24.0, 4: 24.0}
    assert limits["confirmation"].working and limits["confirmation"].hours[3] == 18.0   # 2 working days of 9 h
    assert limits["first_handling"].hours[3] == 48.0 and not limits["first_handling"].working
    assert "24小时" in limits["response"].source and "2个工作日" in limits["confirmation"].source
    assert "48小时" in limits["first_handling"].source


# ---------------------------------------------------------------- the measures on hand-built complaints

def complaints() -> pd.DataFrame:
    """Six complaints; received on a Monday 10:00 unless said otherwise."""
    return pd.DataFrame({
        "complaint_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
        "ticket_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
        "severity": [1, 1, 2, 3, 3, 4],
        "customer_type": ["enterprise", "individual", "enterprise", "individual", "individual", "enterprise"],
        "received_at": T(["2025-10-20 10:00", "2025-10-20 10:00", "2025-10-20 10:00",
                          "2025-10-17 20:00",     # c4: Friday evening
                          "2025-10-20 10:00", "2025-10-20 10:00"]),
        # 1 h (in 2 h); 3 h (late for severity 1); 13 h (late for 4 h, late for enterprise 12 h);
        # Monday 10:00 = 62 h on the calendar, 1 working hour; never answered; 20 h
        "first_response_at": T(["2025-10-20 11:00", "2025-10-20 13:00", "2025-10-20 23:00", "2025-10-20 10:00",
                                None, "2025-10-21 06:00"]),
        # 20 h; 30 h (over 24 h for severity 1); open; 86 h; 40 h; 50 h
        "closed_at": T(["2025-10-21 06:00", "2025-10-21 16:00", None, "2025-10-21 10:00", "2025-10-22 02:00",
                        "2025-10-22 12:00"]),
    })


STD_TEST = {"service_levels": {
    "min_n": 1,
    "limits": {"response": {"limit": {1: 2, 2: 4, 3: 24, 4: 24}, "by_customer_type": {"enterprise": 12},
                            "target": 0.9},
               "confirmation": {"limit": 2, "unit": "working_days", "target": 0.95},
               "first_handling": {"limit": {1: 24, 2: 48, 3: 48, 4: 48}}},
    "resolution_rate": {"target": 0.95}}}


def level(table: pd.DataFrame, measure: str, group_by: str, group) -> pd.Series:
    return table[(table["measure"] == measure) & (table["group_by"] == group_by)
                 & (table["group"] == group)].iloc[0]


def test_service_levels_per_severity_against_their_limits():
    got = sl.service_level_table({"complaints": complaints()}, STD_TEST)
    one = level(got, "response", "severity", 1)
    assert (one["within"], one["n"], one["share"], one["limit_value"]) == (1, 2, 0.5, 2)
    assert one["gap_points"] == pytest.approx(-40.0) and one["verdict"] == "misses"
    assert level(got, "response", "severity", 2)["share"] == 0.0          # 13 h against 4 h
    # severity 3: the Friday-evening one is 62 h on the calendar; the other was never answered
    assert level(got, "response", "severity", 3)[["within", "n"]].tolist() == [0, 2]
    four = level(got, "response", "severity", 4)
    assert (four["share"], four["verdict"]) == (1.0, "meets")
    assert level(got, "first_handling", "severity", 1)[["within", "n"]].tolist() == [1, 2]
    assert level(got, "first_handling", "severity", 3)[["within", "n"]].tolist() == [1, 2]   # 86 h late; 40 h in
    assert level(got, "first_handling", "severity", 2)["within"] == 0       # still open: not within


def test_a_working_time_limit_forgives_the_weekend():
    got = sl.service_level_table({"complaints": complaints()}, STD_TEST)
    # the Friday-evening complaint was answered within 1 working hour: within 2 working days
    assert level(got, "confirmation", "severity", 3)[["within", "n"]].tolist() == [1, 2]
    assert level(got, "confirmation", "severity", 3)["unit"] == "working_days"


def test_customer_type_rows_use_the_customer_types_own_limit():
    got = sl.service_level_table({"complaints": complaints()}, STD_TEST)
    enterprise = level(got, "response", "customer_type", "enterprise")
    # c1 1 h, c3 13 h, c6 20 h against enterprise's 12 h (severity 4 alone would allow c6's 20 h)
    assert enterprise[["within", "n", "limit_value"]].tolist() == [1, 3, 12]
    individual = level(got, "response", "customer_type", "individual")
    assert individual[["within", "n"]].tolist() == [0, 3] and math.isnan(individual["limit_value"])
    everyone = level(got, "response", "all", "all")
    assert everyone[["within", "n"]].tolist() == [2, 6]


def test_customer_type_comes_from_the_linked_ticket_when_the_complaint_has_none():
    frame = complaints().drop(columns="customer_type")
    tickets = pd.DataFrame({"ticket_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
                            "customer_type": ["individual"] * 5 + ["enterprise"]})
    got = sl.service_level_table({"complaints": frame, "tickets": tickets}, STD_TEST)
    assert level(got, "response", "customer_type", "enterprise")[["within", "n"]].tolist() == [0, 1]


def test_a_severity_without_complaints_has_no_data_not_zero():
    got = sl.service_level_table({"complaints": complaints().query("severity != 4")}, STD_TEST)
    four = level(got, "response", "severity", 4)
    assert four["n"] == 0 and math.isnan(four["share"]) and four["verdict"] == "no_data"


def test_resolution_rate_and_time():
    got = sl.resolution_table({"complaints": complaints()}, STD_TEST).set_index("group")
    assert got.loc["all", ["n", "closed"]].tolist() == [6, 5]
    assert got.loc["all", "rate"] == pytest.approx(5 / 6) and got.loc["all", "verdict"] == "misses"
    assert got.loc[1, "median_h"] == pytest.approx(25.0)          # 20 h and 30 h
    assert got.loc[2, "rate"] == 0.0 and math.isnan(got.loc[2, "median_h"])
    # c4 Friday 20:00 to Tuesday 10:00: Monday's 9 h and Tuesday's 1 h; c5 Monday 10:00 to Wednesday 02:00: 8 + 9 h
    assert got.loc[3, "median_working_h"] == pytest.approx((10 + 17) / 2)


def test_out_of_hours_arrivals_against_in_hours():
    got = sl.arrival_effect({"complaints": complaints()}, STD_TEST).set_index("arrival")
    assert got.loc["out_of_hours", "n"] == 1 and got.loc["in_hours", "n"] == 5
    assert got.loc["out_of_hours", "median_response_h"] == 62.0
    assert got.loc["out_of_hours", "median_response_working_h"] == 1.0
    assert got.loc["out_of_hours", "within_24h"] == 0.0 and got.loc["in_hours", "within_24h"] == 0.8


@pytest.mark.parametrize("chunk_rows", [None, 1])
def test_repeat_complaints_and_repeat_contacts(chunk_rows, monkeypatch):
    if chunk_rows:  # more tickets than a span holds: read where they are, not copied (issue 17)
        monkeypatch.setattr(sl, "REPEAT_COPY_ROWS", chunk_rows)
        monkeypatch.setattr(sl, "REPEAT_SPAN_ROWS", chunk_rows)
    tickets = pd.DataFrame({
        "ticket_id": ["t1", "t2", "t3", "t4", "t5"],
        "customer_id": ["X", "X", "Y", "X", "Y"],
        "created_at": T(["2025-10-01 09:00", "2025-10-05 09:00", "2025-10-02 09:00", "2025-12-20 09:00",
                         "2025-10-20 09:00"]),
        "resolved_at": T(["2025-10-02 09:00", None, "2025-10-03 09:00", "2025-12-21 09:00", "2025-10-21 09:00"]),
    })
    complaints = pd.DataFrame({
        "complaint_id": ["k1", "k2", "k3", "k4"],
        "ticket_id": ["t1", "t2", "t4", "t3"],
        # k2 is X's second complaint within 30 days of k1; k3 comes 80 days later; Y complained once
        "received_at": T(["2025-10-02 10:00", "2025-10-20 10:00", "2025-12-21 10:00", "2025-10-02 10:00"]),
    })
    got = sl.repeat_rates({"tickets": tickets, "complaints": complaints}, STD).set_index("measure")
    assert got.loc["repeat_complaint", ["repeats", "n"]].tolist() == [1, 4]
    assert got.loc["repeat_complaint", "verdict"] == "misses"        # 25 % against at most 5 %
    # t2 comes 3 days after t1 was resolved (within 7); t5 17 days after t3; t4 is X's third, long after
    assert got.loc["repeat_contact", ["repeats", "n"]].tolist() == [1, 5]
    # the previous period's complaint makes the period's first one a repeat
    history = {"complaints": complaints.iloc[[3]].assign(complaint_id="old", received_at=T(["2025-09-25"])),
               "tickets": tickets.iloc[[2]]}
    again = sl.repeat_rates({"tickets": tickets, "complaints": complaints}, STD, history=history).set_index("measure")
    assert again.loc["repeat_complaint", ["repeats", "n"]].tolist() == [2, 4]


@pytest.mark.parametrize("copy_rows", [None, 0])
def test_a_look_back_ticket_named_by_a_complaint_links_however_long_ago_it_was_resolved(copy_rows, monkeypatch):
    """The repeat rates keep of the look-back's tickets only those either rate can reach (issue 17): the
    ones resolved within the contact window before the period, and every one a complaint names, however
    old; here both complaints of the period link to customer X only through such tickets."""
    if copy_rows is not None:
        monkeypatch.setattr(sl, "REPEAT_COPY_ROWS", copy_rows)  # read from the sources, not copied
    tickets = pd.DataFrame({"ticket_id": ["p1", "p2"], "customer_id": ["X", "Y"],
                            "created_at": T(["2025-10-10 09:00", "2025-10-20 09:00"]),
                            "resolved_at": T(["2025-10-10 12:00", "2025-10-21 09:00"])})
    past = pd.DataFrame({"ticket_id": ["old1", "old2", "old3"], "customer_id": ["X", "Y", "X"],
                         "created_at": T(["2025-06-01 09:00", "2025-06-01 09:00", "2025-09-28 09:00"]),
                         "resolved_at": T(["2025-06-02 09:00", "2025-06-02 09:00", "2025-10-09 09:00"])})
    complaints = pd.DataFrame({"complaint_id": ["k1", "k2"], "ticket_id": ["p1", "old1"],
                               "received_at": T(["2025-10-11 10:00", "2025-10-12 10:00"])})
    past_complaints = pd.DataFrame({"complaint_id": ["k0"], "ticket_id": ["old1"],
                                    "received_at": T(["2025-09-30 10:00"])})
    got = sl.repeat_rates({"tickets": tickets, "complaints": complaints}, STD,
                          history={"tickets": past, "complaints": past_complaints}).set_index("measure")
    # k1 follows k0 (X's, through old1, resolved months before) and k2 follows k1: both repeats, both linked
    assert got.loc["repeat_complaint", ["repeats", "n"]].tolist() == [2, 2]
    # p1 comes a day after old3 was resolved; old1 and old2 were resolved long before any ticket of the period
    assert got.loc["repeat_contact", ["repeats", "n"]].tolist() == [1, 2]


def test_repeat_rates_compare_ids_as_text_whatever_a_frame_stores_them_as():
    """Ids are hashed as text (issue 17: the rates join on 64-bit hashes of the ids): categorical ids with
    different category lists in the period and the look-back give what plain text ids give."""
    tickets = pd.DataFrame({"ticket_id": ["t1", "t2", "t3"], "customer_id": ["X", "Y", "X"],
                            "created_at": T(["2025-10-01 09:00", "2025-10-02 09:00", "2025-10-04 09:00"]),
                            "resolved_at": T(["2025-10-01 12:00", "2025-10-02 12:00", "2025-10-04 12:00"])})
    past = pd.DataFrame({"ticket_id": ["p1"], "customer_id": ["Y"], "created_at": T(["2025-09-29 09:00"]),
                         "resolved_at": T(["2025-09-30 09:00"])})
    complaints = pd.DataFrame({"complaint_id": ["k1", "k2"], "ticket_id": ["t1", "t3"],
                               "received_at": T(["2025-10-01 13:00", "2025-10-04 13:00"])})
    text = sl.repeat_rates({"tickets": tickets, "complaints": complaints}, STD, history={"tickets": past})
    as_categories = {"tickets": tickets.astype({"ticket_id": "category", "customer_id": "category"}),
                     "complaints": complaints.astype({"ticket_id": pd.CategoricalDtype(["t3", "t1", "zz"])})}
    past_categories = past.astype({"customer_id": pd.CategoricalDtype(["Q", "Y"])})
    got = sl.repeat_rates(as_categories, STD, history={"tickets": past_categories})
    pd.testing.assert_frame_equal(got, text)
    # t3 follows t1 (X, resolved 3 days before) and t2 follows p1 (Y); k2 follows k1
    assert got.set_index("measure")[["repeats", "n"]].values.tolist() == [[1, 2], [2, 3]]


def test_weekly_service_levels_per_severity():
    got = sl.weekly_service_levels({"complaints": complaints()}, STD_TEST, "response")
    week_of_20th = got[got["week"] == pd.Timestamp("2025-10-20")].set_index("severity")
    assert week_of_20th.loc[1, ["within", "n"]].tolist() == [1, 2]
    assert got[got["week"] == pd.Timestamp("2025-10-13")]["severity"].tolist() == [3]   # the Friday one


def test_groups_under_min_n_are_shown_but_not_judged():
    std = {"service_levels": {**STD_TEST["service_levels"], "min_n": 3}}
    got = sl.service_level_table({"complaints": complaints()}, std)
    assert level(got, "response", "severity", 1)["verdict"] == "too_few"          # n = 2
    assert level(got, "response", "all", "all")["verdict"] == "misses"            # n = 6
    with pytest.raises(ConfigError, match="service_levels.min_n"):
        sl.check({"service_levels": {"min_n": 0}}, "std.yml")


def test_only_the_measures_asked_for():
    # an archive without first responses: response and confirmation are left out, not 0 %
    got = sl.service_level_table({"complaints": complaints()}, STD_TEST, measures=["first_handling"])
    assert set(got["measure"]) == {"first_handling"}


def test_no_limits_configured_gives_an_empty_table():
    assert sl.service_level_table({"complaints": complaints()}, {}).empty


# ---------------------------------------------------------------- the planted effects (demo sample)

@pytest.fixture(scope="module")
def q4(full_sample):
    from qa_helpers.report.context import open_context

    archive, truth = full_sample
    ctx = open_context("ALL", "2025-Q4", archive)
    return ctx, ctx.tables(), truth["service_levels"]


def test_the_severity_levels_planted_to_miss_are_found(q4):
    ctx, tables, truth = q4
    got = sl.service_level_table(tables, ctx.standards.raw)
    severity = got[got["group_by"] == "severity"]
    for measure in ("response", "first_handling"):
        rows = severity[severity["measure"] == measure].set_index("group")
        assert sorted(rows.index[rows["verdict"] == "misses"]) == truth["q4_misses"][measure]
        for s, share in truth["q4_share_within"][measure].items():
            assert rows.loc[int(s), "share"] == pytest.approx(share, abs=0.03), (measure, s)
    # severity 1 answered fastest, but slower in the demo quarter: it misses its 2 h by some 20 points
    assert -30 < severity.set_index(["measure", "group"]).loc[("response", 1), "gap_points"] < -10


def test_the_business_hours_effect_is_found(q4):
    ctx, tables, truth = q4
    arrival = sl.arrival_effect(tables, ctx.standards.raw).set_index("arrival")
    assert arrival.loc["out_of_hours", "within_24h"] < arrival.loc["in_hours", "within_24h"] - 0.05
    # answered the next working morning: long on the calendar, short in working hours
    assert arrival.loc["out_of_hours", "median_response_h"] > 3 * arrival.loc["out_of_hours", "median_response_working_h"]
    confirmation = sl.service_level_table(tables, ctx.standards.raw).query("measure == 'confirmation'")
    assert (confirmation["verdict"] == "meets").all()


def test_resolution_rate_planted_for_severity_4(q4):
    ctx, tables, truth = q4
    res = sl.resolution_table(tables, ctx.standards.raw).set_index("group")
    assert list(res.index[res["verdict"] == "misses"]) == [4]
    planted = {int(s): rate for s, rate in truth["q4_resolution_rate"].items()}   # int keys, or str from truth.json
    assert res.loc[4, "rate"] == pytest.approx(planted[4], abs=0.03)
    medians = res.loc[[1, 2, 3, 4], "median_h"].tolist()
    assert medians == sorted(medians)        # severity 1 closes fastest, 4 slowest


def test_planted_repeat_complaints_are_counted(q4):
    ctx, tables, truth = q4
    history = {name: ctx.load(name, ctx.period.previous()) for name in ("tickets", "complaints")}
    got = sl.repeat_rates(tables, ctx.standards.raw, history=history).set_index("measure")
    planted = set(truth["repeat_complaints"]) & set(tables["complaints"]["complaint_id"])
    assert len(planted) >= 5
    assert got.loc["repeat_complaint", "repeats"] >= len(planted)
    assert got.loc["repeat_complaint", "repeats"] <= len(planted) + 5    # few repeats happen by chance


def test_sections_in_both_languages(q4):
    from qa_helpers.report import service
    from qa_helpers.report.context import open_context

    ctx, tables, truth = q4
    en = service.service_levels_section(ctx, tables)
    assert "Severity 1 (major)" in en[0] and "points short" in en[0] and "n = " in en[0]
    zh_ctx = open_context("ALL", "2025-Q4", ctx.archive, language="zh")
    zh = service.service_levels_section(zh_ctx, tables)
    assert "一级（重大）" in zh[0] and "百分点" in zh[0] and "Severity" not in zh[0]
    lines = [item for item in service.resolution_section(zh_ctx, tables) if isinstance(item, str)]
    assert any("回访" in line for line in lines) and not any("points" in line for line in lines)


# ---------------------------------------------------------------- review fixes (h-fixsl)

def test_open_complaints_not_yet_due_at_the_data_end_are_left_out_not_missed():
    # c5 (severity 3, never answered, 24 h limit) received Monday 10:00; the data end Tuesday 06:00 is 20 h later
    frame = complaints().assign(closed_at=T([None] * 6), first_response_at=T(
        ["2025-10-20 11:00", "2025-10-20 13:00", "2025-10-20 23:00", "2025-10-20 10:00", None, "2025-10-21 06:00"]))
    got = sl.service_level_table({"complaints": frame}, STD_TEST)
    three = level(got, "response", "severity", 3)
    assert three[["within", "n", "not_yet_due"]].tolist() == [0, 1, 1]
    # first handling: every complaint is open; only c4 (Friday 20:00, 58 h before the end) is past its 48 h
    handling = level(got, "first_handling", "all", "all")
    assert handling[["within", "n", "not_yet_due"]].tolist() == [0, 1, 5]
    # later data: the deadline has passed without an answer, so it is a miss
    later = sl.service_level_table({"complaints": frame}, STD_TEST, as_of="2025-10-22 12:00")
    assert level(later, "response", "severity", 3)[["within", "n", "not_yet_due"]].tolist() == [0, 2, 0]
    # a working-time limit: 2 working days from Monday 10:00 run to Wednesday 10:00
    confirmation = level(got, "confirmation", "severity", 3)
    assert confirmation[["within", "n", "not_yet_due"]].tolist() == [1, 1, 1]
    res = sl.resolution_table({"complaints": frame}, STD_TEST).set_index("group")
    assert res.loc["all", ["n", "closed", "not_yet_due"]].tolist() == [1, 0, 5]
    weekly = sl.weekly_service_levels({"complaints": frame}, STD_TEST, "response")
    assert weekly["not_yet_due"].sum() == 1 and weekly["n"].sum() == 5


def test_data_end_is_the_latest_time_in_the_complaints():
    assert sl.data_end(complaints()) == pd.Timestamp("2025-10-22 12:00")
    assert sl.data_end(complaints()[["complaint_id", "received_at"]]) == pd.Timestamp("2025-10-20 10:00")


@pytest.mark.parametrize("text, expected", [("08:30", 8.5), ("17:30", 17.5), ("'17:30'", 17.5), ("9:00", 9.0)])
def test_unquoted_yaml_times_are_read_as_times_of_day(text, expected):
    import yaml

    hours = yaml.safe_load(f"working_hours: [{text}, {text}]")["working_hours"]
    assert sl._clock("std.yml", hours[0]) == expected * 3600


@pytest.mark.parametrize("value", ["1050", 17.5, 63000, "17h30"])
def test_a_time_of_day_that_is_not_hh_mm_is_refused(value):
    with pytest.raises(ConfigError, match=r"std.yml: service_levels.calendar.working_hours: .*HH:MM"):
        sl.calendar({"service_levels": {"calendar": {"working_hours": [value, "18:00"]}}}, "std.yml")


def test_unquoted_working_hours_in_a_standards_yaml_give_the_right_day():
    import yaml

    std = yaml.safe_load("service_levels:\n  calendar:\n    working_hours: [08:30, 17:30]\n")
    cal = sl.calendar(std)
    assert (cal.start_s, cal.end_s) == (8.5 * 3600, 17.5 * 3600)
    assert hours([("2025-10-20 07:00", "2025-10-20 20:00")], cal) == [9.0]


@pytest.mark.parametrize("block, key", [
    ({"limits": {"response": 24}}, r"std.yml: service_levels.limits.response: give a mapping"),
    ({"limits": {"response": {"limit": 24, "by_customer_type": ["vip"]}}},
     r"std.yml: service_levels.limits.response.by_customer_type: give a mapping"),
    ({"limits": [24]}, r"std.yml: service_levels.limits: give a mapping"),
    ({"calendar": ["09:00"]}, r"std.yml: service_levels.calendar: give a mapping"),
    ({"resolution_rate": 0.95}, r"std.yml: service_levels.resolution_rate: give a mapping"),
])
def test_a_scalar_or_list_where_a_mapping_belongs_names_the_key(block, key):
    with pytest.raises(ConfigError, match=key):
        sl.check({"service_levels": block}, "std.yml")


def _svc_ctx(language: str = "en", min_n: int = 5):
    from types import SimpleNamespace

    return SimpleNamespace(language=language, period="2025-Q4",
                           standards=SimpleNamespace(raw={"service_levels": {"min_n": min_n}}))


def _severity_rows(shares: list[float], ns: list[int], verdicts: list[str], target: float = 0.95) -> pd.DataFrame:
    rows = pd.DataFrame({"measure": "response", "group_by": "severity", "group": [1, 2, 3, 4], "limit_value": 24.0,
                         "unit": "hours", "within": 0, "n": ns, "share": shares, "target": target,
                         "verdict": verdicts, "not_yet_due": 0})
    rows["gap_points"] = (rows["share"] - rows["target"]) * 100
    everyone = rows.iloc[[0]].assign(group_by="all", group="all", n=sum(ns), verdict="too_few")
    return pd.concat([rows, everyone], ignore_index=True)


def test_headline_says_too_few_to_judge_when_no_severity_level_is_judged():
    from qa_helpers.report import service

    got = _severity_rows([0.5, 1.0, float("nan"), 0.0], [2, 1, 0, 1], ["too_few", "too_few", "no_data", "too_few"])
    for language, words in (("en", "Too few complaints to judge"), ("zh", "投诉过少")):
        lines = service.headline_lines(_svc_ctx(language), got)
        assert len(lines) == 1 and words in lines[0] and "n = 4" in lines[0]
        assert "met" not in lines[0] and "均达到" not in lines[0]


def test_a_narrow_miss_is_not_rounded_into_a_pass():
    from qa_helpers.report import service

    got = _severity_rows([0.946, 0.99, 0.80, 0.99], [50, 50, 50, 50], ["misses", "meets", "misses", "meets"])
    line = service.headline_lines(_svc_ctx(), got)[0]
    assert "94.6 % answered within 24 h against 95.0 %, 0.4 points short" in line
    assert "80 % answered within 24 h against 95 %, 15 points short" in line     # a clear miss keeps whole percents


def test_history_is_read_by_duckdb_and_gives_the_same_repeat_rates(q4):
    from qa_helpers.report import service

    ctx, tables, truth = q4
    history = service._history(ctx)
    assert all(isinstance(source, str) and "read_parquet" in source for source in history.values())
    loaded = {name: ctx.load(name, ctx.period.previous()) for name in ("tickets", "complaints")}
    got = sl.repeat_rates(tables, ctx.standards.raw, history=history)
    pd.testing.assert_frame_equal(got, sl.repeat_rates(tables, ctx.standards.raw, history=loaded))
    assert got.loc[got["measure"] == "repeat_complaint", "repeats"].iloc[0] > 0


def test_repeat_rates_started_ahead_in_the_background_equal_those_computed_in_place(q4):
    """The KPI analysis starts the repeat rates with the report (issue 17); the section shows the same lines
    as when it computes them itself, and a unit whose table is not in the archive computes them in place."""
    from qa_helpers.report import service
    from qa_helpers.report.context import open_context

    ctx, _, _ = q4
    sources = ctx.sources()
    ahead = service.repeats_ahead(ctx, sources)
    assert ahead is not None
    in_place = sl.repeat_rates(sources, ctx.standards.raw, connection=ctx.duckdb, history=service._history(ctx))
    pd.testing.assert_frame_equal(ahead.rates, in_place)
    assert (in_place["repeats"] > 0).all()
    fresh = open_context("ALL", "2025-Q4", ctx.archive)
    def lines(items):
        return [item for item in items if isinstance(item, str)]

    shown = lines(service.resolution_section(fresh, fresh.sources(), service.repeats_ahead(fresh, fresh.sources())))
    assert shown == lines(service.resolution_section(fresh, fresh.sources()))
    assert any("repeat contact" in line.lower() for line in shown)
    assert service.repeats_ahead(ctx, {**sources, "complaints": "empty_complaints"}) is None


def test_repeat_rates_read_a_copy_of_a_small_units_tickets_and_give_what_the_archive_scans_give(q4, monkeypatch):
    """A unit of at most ``REPEAT_COPY_ROWS`` tickets is copied once, keyed, into a temporary table that both
    rates read (issue 17: each scan of the tickets decodes them again); the copy is dropped after. Read from
    the archive's files instead, in spans, the rates are the same."""
    import duckdb

    from qa_helpers.report import service

    ctx, _, _ = q4
    tables, history = ctx.sources(), service._history(ctx)
    con = duckdb.connect()
    made = []
    copy = sl._keyed_tickets
    monkeypatch.setattr(sl, "_keyed_tickets", lambda *a, **k: made.append(copy(*a, **k)) or made[-1])
    copied = sl.repeat_rates(tables, ctx.standards.raw, connection=con, history=history)
    assert made == [sl.KEYED_TICKETS]
    assert sl.KEYED_TICKETS not in set(con.sql("SHOW TABLES").df()["name"])
    monkeypatch.setattr(sl, "REPEAT_COPY_ROWS", 50)
    monkeypatch.setattr(sl, "REPEAT_SPAN_ROWS", 50)  # scanned in several spans of creation time
    scanned = sl.repeat_rates(tables, ctx.standards.raw, connection=con, history=history)
    assert made[-1].startswith("(SELECT")
    pd.testing.assert_frame_equal(copied, scanned)
    assert (copied["repeats"] > 0).all()


def test_sections_show_complaints_not_yet_due(q4, monkeypatch):
    from qa_helpers.report import service
    from qa_helpers.report.context import open_context

    ctx, tables, truth = q4
    assert service.data_end(ctx) >= tables["complaints"]["closed_at"].max()
    # an extract taken on 31 December at 23:00: the last evening's complaints are still open
    late = tables["complaints"]["received_at"] >= pd.Timestamp("2025-12-31 12:00")
    assert late.sum() >= 1
    complaints = tables["complaints"].copy()
    complaints.loc[late, ["first_response_at", "closed_at"]] = pd.NaT
    monkeypatch.setattr(service, "data_end", lambda ctx: pd.Timestamp("2025-12-31 23:00"))
    mine = {**tables, "complaints": complaints}
    en = [item for item in service.service_levels_section(ctx, mine) if isinstance(item, str)]
    assert any(line.startswith("Not yet due, left out of n:") and "2025-12-31 23:00" in line for line in en)
    zh_ctx = open_context("ALL", "2025-Q4", ctx.archive, language="zh")
    zh = [item for item in service.resolution_section(zh_ctx, mine) if isinstance(item, str)]
    assert any(line.startswith("尚未到期") and "解决率" in line for line in zh)


def _repeat_contacts_by_pairs(tickets: pd.DataFrame, past: pd.DataFrame, days: float) -> tuple[int, int]:
    """The repeat-contact definition checked pair by pair: a ticket with a customer is a repeat when
    another ticket (another id) of that customer, this period's or the look-back's, was resolved at or
    before its creation and no more than ``days`` before it."""
    every = pd.concat([tickets, past], ignore_index=True)
    window = pd.Timedelta(seconds=int(days * 86400))
    mine = tickets[tickets["customer_id"].notna()]
    repeats = 0
    for row in mine.itertuples():
        others = every[(every["customer_id"] == row.customer_id) & (every["ticket_id"] != row.ticket_id)
                       & every["resolved_at"].notna()]
        repeats += bool(((others["resolved_at"] <= row.created_at)
                         & (others["resolved_at"] >= row.created_at - window)).any())
    return repeats, len(mine)


@pytest.mark.parametrize("chunk_rows", [None, 50, 1])
def test_repeat_contacts_match_the_definition_pair_by_pair(chunk_rows, monkeypatch):
    """Pins the repeat-contact query (issue 17 may rewrite it for speed) on its edge cases, in one semi join
    and split into spans of creation time (as a year of 10 M tickets is: 8 and 366 spans here)."""
    import numpy as np

    if chunk_rows:
        monkeypatch.setattr(sl, "REPEAT_COPY_ROWS", chunk_rows)
        monkeypatch.setattr(sl, "REPEAT_SPAN_ROWS", chunk_rows)

    rng = np.random.default_rng(17)
    start = pd.Timestamp("2025-10-01")
    # whole hours on few days and few customers: ties in time, resolutions exactly 7 days before a
    # creation, resolutions at the creation itself, null customers and null resolutions all occur
    n, n_past = 400, 120
    created = start + pd.to_timedelta(rng.integers(0, 24 * 30, n), unit="h")
    lag = pd.to_timedelta(rng.choice([0, 1, 24, 72, 168], n), unit="h")
    resolved = pd.Series(created + lag).where(rng.random(n) > 0.2)
    customers = pd.Series(rng.choice(["A", "B", "C", "D", "E", "F"], n)).where(rng.random(n) > 0.1)
    tickets = pd.DataFrame({"ticket_id": [f"t{k % 380}" for k in range(n)],  # some ids twice
                            "customer_id": customers, "created_at": created, "resolved_at": resolved})
    past_created = start - pd.to_timedelta(rng.integers(1, 24 * 10, n_past), unit="h")  # up to the boundary
    past = pd.DataFrame({"ticket_id": [f"p{k}" for k in range(n_past)],
                         "customer_id": rng.choice(["A", "B", "C", "G"], n_past),
                         "created_at": past_created,
                         "resolved_at": past_created + pd.to_timedelta(rng.choice([0, 5, 48, 240], n_past), unit="h")})
    assert (tickets["resolved_at"] == tickets["created_at"]).any()
    pairs = tickets.merge(pd.concat([tickets, past]), on="customer_id", suffixes=("", "_e"))
    pairs = pairs[pairs["ticket_id"] != pairs["ticket_id_e"]]
    assert (pairs["created_at"] - pairs["resolved_at_e"] == pd.Timedelta(days=7)).any()  # the window's edge
    assert (pairs["created_at"] == pairs["resolved_at_e"]).any()  # a tie with another ticket
    for history in ({"tickets": past}, None):
        got = sl.repeat_rates({"tickets": tickets}, STD, history=history).set_index("measure")
        expected = _repeat_contacts_by_pairs(tickets, past if history else tickets.iloc[:0], 7)
        assert tuple(got.loc["repeat_contact", ["repeats", "n"]].tolist()) == expected
        assert 0 < expected[0] < expected[1]


def test_repeat_contacts_join_in_spans_of_repeat_span_rows(monkeypatch):
    """A year of 10 M tickets joins in spans of ``REPEAT_SPAN_ROWS`` (two), whether copied or not (the
    copy threshold is ``REPEAT_COPY_ROWS``): larger spans took the same CPU and less wall (issue 17)."""
    import duckdb

    created = pd.date_range("2025-10-01", periods=300, freq="h")
    tickets = pd.DataFrame({"ticket_id": [f"t{i}" for i in range(300)], "customer_id": ["A", "B", "C"] * 100,
                            "created_at": created, "resolved_at": created + pd.Timedelta("30min")})

    class Counting:
        def __init__(self):
            self.con, self.joins = duckdb.connect(), 0

        def sql(self, query, *args):
            self.joins += "SEMI JOIN" in query
            return self.con.sql(query, *args)

        def execute(self, query, *args):
            self.joins += "SEMI JOIN" in query
            return self.con.execute(query, *args)

    expected = None
    for span_rows, joins in ((5_000_000, 1), (100, 3), (1, 300)):
        monkeypatch.setattr(sl, "REPEAT_SPAN_ROWS", span_rows)
        con = Counting()
        con.con.register("t", tickets)
        keyed = sl._keyed_tickets(con, "t", None, True, [], "INTERVAL 7 DAY")
        got = sl._repeat_contacts(con, keyed, "INTERVAL 7 DAY")
        assert con.joins == joins
        expected = expected or got
        assert got == expected and got[0] == 297  # every ticket but each customer's first repeats


def test_an_analysis_connection_spills_under_the_system_temp_not_the_working_folder(tmp_path, monkeypatch):
    """A query past the memory cap spills to a folder of the connection's own under the system's temp,
    removed with the connection: nothing lands in the notebooks' folder (DuckDB's default is ./.tmp)."""
    import tempfile
    from pathlib import Path

    from qa_helpers.data.archive import analysis_connection

    work = tmp_path / "notebooks"
    work.mkdir()
    monkeypatch.chdir(work)
    con = analysis_connection()
    con.execute("SET memory_limit = '64MB'")
    spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    assert spill.parent == Path(tempfile.gettempdir())
    assert spill != Path(analysis_connection().execute("SELECT current_setting('temp_directory')").fetchone()[0])
    groups = con.execute("SELECT count(*) FROM (SELECT i % 3000000 AS k, count(*) FROM range(20000000) t(i) GROUP BY 1)")
    assert groups.fetchone()[0] == 3_000_000
    assert spill.exists()  # it did spill: the cap was passed
    con.close()
    assert not spill.exists()
    assert list(work.iterdir()) == []


def test_data_end_is_read_once_per_set_of_complaint_files(q4, tmp_path, monkeypatch):
    """Issue 17: each read scans every month of the archive's complaints; a notebook asks three times."""
    import os
    import shutil

    from qa_helpers.report import service
    from qa_helpers.report.context import open_context

    archive = tmp_path / "archive"
    shutil.copytree(q4[0].archive, archive)
    ctx = open_context("ALL", "2025-Q4", archive)
    monkeypatch.setattr(service, "_DATA_ENDS", {})
    reads = []
    read = sl.data_end
    monkeypatch.setattr(sl, "data_end", lambda *a, **k: reads.append(1) or read(*a, **k))
    first = service.data_end(ctx)
    assert first == service.data_end(open_context("FS-1", "2025-Q3", archive)) and len(reads) == 1
    assert first == service.data_end(q4[0])  # another archive: read for itself
    touched = sorted((archive / "complaints").glob("*/*.parquet"))[-1]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1))
    assert service.data_end(ctx) == first and len(reads) == 3


def test_analysis_cursors_share_one_database_each_with_its_own_frames_and_a_forked_child_its_own():
    """A report context's connection is a cursor of the process's one analysis database: what one
    notebook registers or makes temporary is not seen by the next; a forked process opens its own."""
    import multiprocessing

    import duckdb

    from qa_helpers.data.archive import analysis_cursor

    first, second = analysis_cursor(), analysis_cursor()
    first.register("kept_by_first", pd.DataFrame({"x": [1]}))
    first.execute("CREATE TEMP TABLE made_by_first AS SELECT 1 AS y")
    assert first.sql("SELECT x FROM kept_by_first").fetchall() == [(1,)]
    for name in ("kept_by_first", "made_by_first"):
        with pytest.raises(duckdb.CatalogException):
            second.sql(f"SELECT * FROM {name}")
    setting = "SELECT current_setting('temp_directory')"
    assert first.execute(setting).fetchone() == second.execute(setting).fetchone()  # one database

    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        child = pool.apply(_spill_folder_of_a_new_cursor)
    assert child != first.execute(setting).fetchone()[0]


def _spill_folder_of_a_new_cursor() -> str:
    from qa_helpers.data.archive import analysis_cursor

    return analysis_cursor().execute("SELECT current_setting('temp_directory')").fetchone()[0]
