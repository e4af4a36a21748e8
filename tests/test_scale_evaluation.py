"""Issue 17: the action plan, before/after and QA calibration sections aggregate in DuckDB and read only
their windows; each result equals the pandas computation on the whole rows it replaced."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd
import pytest

from qa_helpers.qa.sampling import _stratum_label, capacity_sample, population_sql, qa_coverage, risk_class


def population(n: int = 3_000, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"ticket_id": [f"T{i:05d}" for i in range(n)],
                         "channel": rng.choice(["phone", "chat", "email", None], size=n, p=[0.5, 0.3, 0.15, 0.05]),
                         "category": rng.choice(["billing", "repair"], size=n),
                         "risk": rng.choice(["complaint", "low_csat", "other"], size=n, p=[0.1, 0.2, 0.7])})


def test_the_draw_keeps_the_smallest_seeded_hashes_of_each_stratum():
    import duckdb

    frame = population()
    sample, alloc = capacity_sample(frame, capacity=300, seed=5, oversample={"complaint": 3.0}, minimum=2)
    con = duckdb.connect()
    con.register("p", frame)
    keys = pd.Series({t: int(hashlib.md5(f"{t}:5".encode()).hexdigest()[:16], 16) for t in frame["ticket_id"]})
    stratum = _stratum_label(frame.set_index("ticket_id"), ["channel", "category", "risk"])
    for label, size in alloc.set_index("stratum")["sample_size"].items():
        members = keys[stratum[stratum == label].index].sort_values(kind="stable")
        assert set(sample.loc[sample["stratum"] == label, "ticket_id"]) == set(members.index[:size])
    assert sample["stratum"].str.startswith("None|").any()  # a ticket without a channel is its own stratum


def test_a_duckdb_source_draws_the_same_sample_as_its_rows():
    import duckdb

    frame = population()
    rows, alloc_rows = capacity_sample(frame, capacity=250, seed=9, oversample={"low_csat": 2.0})
    con = duckdb.connect()
    con.register("tickets_rows", frame)
    sql, alloc_sql = capacity_sample("(SELECT * FROM tickets_rows)", capacity=250, seed=9,
                                     oversample={"low_csat": 2.0}, connection=con)
    pd.testing.assert_frame_equal(rows, sql)
    pd.testing.assert_frame_equal(alloc_rows, alloc_sql)


def test_population_sql_classifies_risk_as_risk_class_does():
    import duckdb

    tickets = pd.DataFrame({"ticket_id": ["A", "B", "C", "D", "E"], "channel": ["phone"] * 5})
    surveys = pd.DataFrame({"ticket_id": ["A", "B", "C", None, "E"], "csat": [1, 2, 5, 1, None]})
    complaints = pd.DataFrame({"ticket_id": ["A", None, "D"]})
    con = duckdb.connect()
    for name, frame in (("t", tickets), ("s", surveys), ("c", complaints)):
        con.register(name, frame)
    got = con.sql(f"SELECT * FROM {population_sql('t', 's', 'c', ['channel'])} ORDER BY ticket_id").df()
    assert got["risk"].tolist() == risk_class(tickets, surveys, complaints).tolist()
    none = con.sql(f"SELECT risk FROM {population_sql('t', None, None, ['channel'])}").df()
    assert set(none["risk"]) == {"other"}


def test_coverage_counted_in_duckdb_equals_the_rows(archive):
    from qa_helpers.report.context import open_context

    ctx = open_context("hotline", "2025-Q4", archive)
    rows = qa_coverage(ctx.load("tickets", columns=["ticket_id", "channel"]), ctx.load("qa_reviews"), "hotline")
    counted = qa_coverage(ctx.source("tickets", columns=["ticket_id", "channel"]),
                          ctx.source("qa_reviews", columns=["ticket_id", "calibration"]), "hotline", connection=ctx.duckdb)
    pd.testing.assert_frame_equal(rows, counted, check_dtype=False)
    assert counted.iloc[0]["reviewed"] > 0


def test_programme_from_ticket_counts_equals_the_rows(archive):
    from qa_helpers.people import sections, training
    from qa_helpers.report.context import open_context

    ctx = open_context("hotline", "2025-Q4", archive)
    staff = sections.people_data(ctx)
    reviews = ctx.load("qa_reviews")
    counted = sections.programme_for(ctx, staff, reviews)
    ordinary = reviews[~reviews["calibration"].fillna(False).astype(bool)]
    year = staff.training[staff.training["date"] < ctx.period.end]
    rows = training.programme(staff.roster, year[year["date"] >= "2025-01-01"], ordinary,
                              ctx.load("tickets", columns=["ticket_id", "team"]), ctx.unit)
    pd.testing.assert_frame_equal(rows, counted)
    assert counted.iloc[0]["tickets"] == len(ctx.load("tickets", columns=["ticket_id"]))


def test_every_team_card_from_one_kpi_table_equals_the_team_own_scorecard(archive):
    from qa_helpers.improve import governance
    from qa_helpers.report.context import open_context

    ctx = open_context("hotline", "2025-Q4", archive)
    cards = governance.unit_cards(ctx)
    assert list(cards) == ["HL-A", "HL-B", "HL-C", "HL-D"]
    for team, card in cards.items():
        pd.testing.assert_frame_equal(card, dataclasses.replace(ctx, unit=team, teams=[team]).scorecard())


@pytest.mark.parametrize("kpi", ["csat", "fcr", "median_first_response_s", "complaints_per_1000",
                                 "onsite_arrival_on_time", "process_compliance"])
def test_window_observations_equal_the_loaded_rows(archive, kpi):
    from qa_helpers.improve import evaluation
    from qa_helpers.measures.standards import load_standards
    from qa_helpers.config import config_dir

    standards = load_standards(config_dir()).raw
    teams, start, end = ["HL-B", "HL-A", "FS-1"], pd.Timestamp("2025-03-05 12:00"), pd.Timestamp("2025-06-17")
    got = evaluation.window_observations(teams, archive, start, end, [kpi], standards)[kpi]
    want = evaluation.observations(evaluation.load_teams(teams, archive, start, end), kpi, standards)
    want = want.assign(time=want["time"].astype("datetime64[ns]"))
    assert len(got) > 20 and got["time"].min() >= start and got["time"].max() < end
    assert got["team"].drop_duplicates().tolist() == [t for t in teams if t in set(got["team"])]  # team order
    if kpi == "complaints_per_1000":  # the old GROUP BY's order was DuckDB's
        got, want = (f.sort_values(["team", "time", "agent_id"], kind="stable").reset_index(drop=True)
                     for f in (got, want))
    pd.testing.assert_frame_equal(want, got, check_dtype=False)


def test_load_teams_reads_only_the_window_months_and_columns(archive):
    from qa_helpers.improve import evaluation

    start, end = pd.Timestamp("2025-02-10"), pd.Timestamp("2025-03-03")
    tables = evaluation.load_teams(["HL-C"], archive, start, end, columns={"tickets": ["ticket_id", "created_at",
                                                                                       "team", "missing"]},
                                   names=["tickets"])
    assert list(tables) == ["tickets"]
    assert list(tables["tickets"].columns) == ["ticket_id", "created_at", "team"]
    assert set(tables["tickets"]["team"]) == {"HL-C"}
    assert tables["tickets"]["created_at"].between(start, end, inclusive="left").all()
    assert evaluation._months(start, end) == ["2025-02", "2025-03"]
    assert evaluation._months(start, pd.Timestamp("2025-03-01")) == ["2025-02"]


@pytest.mark.parametrize("kpi", ["fcr", "median_first_response_s", "complaints_per_1000", "onsite_arrival_on_time"])
def test_did_from_duckdb_cells_equals_the_did_on_rows(archive, kpi):
    from qa_helpers import stats
    from qa_helpers.config import config_dir
    from qa_helpers.improve import evaluation
    from qa_helpers.measures.standards import load_standards

    standards = load_standards(config_dir()).raw
    start = pd.Timestamp("2025-09-03")
    # complaints are rare in the small sample (a team may have none in a window): every other team controls
    treated, controls = {"onsite_arrival_on_time": (["FS-1"], ["FS-2"]),
                         "complaints_per_1000": (["HL-B"], ["HL-A", "HL-C", "HL-D", "FS-1", "FS-2"])}.get(
        kpi, (["HL-B"], ["HL-A", "FS-1"]))
    windows = stats.week_windows(start, weeks_before=6, weeks_after=5, washout_weeks=1)
    kind = evaluation.metric_kind(kpi)
    rows = evaluation.window_observations(treated + controls, archive, windows["start"].min(), windows["end"].max(),
                                          [kpi], standards)[kpi]
    con = evaluation._connection()
    sources, columns = evaluation.window_sources(treated + controls, archive, windows["start"].min(),
                                                 windows["end"].max(), ["tickets", "complaints", "field_visits"],
                                                 connection=con)
    cells = evaluation.did_cells(con, sources, columns, kpi, standards, windows)
    options = dict(treated=treated, controls=controls, direction="decrease", alpha=0.05)
    want = stats.diff_in_diff(rows, kpi, kind, start, time="time", weeks_before=6, weeks_after=5, washout_weeks=1,
                              **options)
    got = stats.diff_in_diff_cells(cells, kpi, kind, **options)
    assert want.at[0, "n_before"] > 50 and np.isfinite(want.at[0, "p"])
    pd.testing.assert_frame_equal(want, got, check_exact=False, rtol=1e-9)
    # training groups: a CASE on the agent names each observation's group
    agents = sorted(rows["agent_id"].dropna().unique())
    group = (f"CASE WHEN agent_id IN ({', '.join(repr(a) for a in agents[:8])}) THEN 'trainees' "
             f"WHEN agent_id IN ({', '.join(repr(a) for a in agents[8:])}) THEN 'others' END")
    by_group = evaluation.did_cells(con, sources, columns, kpi, standards, windows, group=group)
    labelled = rows.assign(group=np.where(rows["agent_id"].isin(agents[:8]), "trainees",
                                          np.where(rows["agent_id"].isin(agents[8:]), "others", "")))
    options.update(treated="trainees", controls=["others"])
    want = stats.diff_in_diff(labelled, kpi, kind, start, team="group", time="time", weeks_before=6, weeks_after=5,
                              washout_weeks=1, **options)
    pd.testing.assert_frame_equal(want, stats.diff_in_diff_cells(by_group, kpi, kind, **options), check_exact=False,
                                  rtol=1e-9)


def test_did_cells_in_any_order_give_the_same_row():
    from qa_helpers import stats

    rng = np.random.default_rng(8)
    n = 4_000
    rows = pd.DataFrame({"team": rng.choice(["T", "C1", "C2"], n), "agent_id": rng.choice([f"a{i}" for i in range(30)] + [None], n),
                         "time": pd.Timestamp("2025-03-03") + pd.to_timedelta(rng.integers(0, 16 * 7 * 24, n), unit="h"),
                         "value": rng.integers(0, 2, n).astype(float)})
    start = pd.Timestamp("2025-04-28")
    want = stats.diff_in_diff(rows, "fcr", "proportion", start, treated="T", controls=["C1", "C2"], time="time")
    shuffled = stats.diff_in_diff(rows.sample(frac=1, random_state=1), "fcr", "proportion", start, treated="T",
                                  controls=["C1", "C2"], time="time")
    assert "without agent_id grouped as one cluster" in want.at[0, "note"]
    pd.testing.assert_frame_equal(want, shuffled, check_exact=False, rtol=1e-12)


def test_one_ticket_count_serves_coverage_programme_and_the_sample_strata(archive, tmp_path):
    import duckdb

    from qa_helpers.people import sections
    from qa_helpers.qa import calibration
    from qa_helpers.qa.sampling import counts_by, coverage_from_counts, ticket_counts
    from qa_helpers.report.context import open_context

    ctx = open_context("hotline", "2025-Q4", archive)
    data = calibration.calibration_data(ctx)
    counts = calibration.ticket_counts(ctx, data)
    assert calibration.ticket_counts(ctx, data) is counts  # counted once per report
    # coverage: as the rows' computation
    rows = qa_coverage(ctx.load("tickets", columns=["ticket_id", "channel"]), ctx.load("qa_reviews"), "hotline")
    pd.testing.assert_frame_equal(rows, coverage_from_counts(counts, "hotline", "channel"), check_dtype=False)
    # the programme: the same figures with the shared counts as counted on its own
    staff = sections.people_data(ctx)
    pd.testing.assert_frame_equal(sections.programme_for(ctx, staff, data.reviews, counts),
                                  sections.programme_for(ctx, staff, data.reviews))
    assert counts["reviewed_ordinary"].sum() < counts["reviewed"].sum()  # calibration reviews are not ordinary
    # the sample's strata: the population's own counts, and the same sample drawn from either
    frame = population_sql(ctx.source("tickets", columns=["ticket_id", "channel", "category"]),
                           ctx.source("surveys", columns=["ticket_id", "csat"]),
                           ctx.source("complaints", columns=["ticket_id"]), ["channel", "category"])
    keys = ["channel", "category", "risk"]
    own = ctx.query(f"SELECT channel, category, risk, count(*) AS tickets FROM {frame} GROUP BY ALL ORDER BY ALL")
    pd.testing.assert_frame_equal(counts_by(counts, keys)[[*keys, "tickets"]], own, check_dtype=False)
    assert set(own["risk"]) == {"complaint", "low_csat", "other"}
    drawn = capacity_sample(frame, 400, 2026, ["channel", "category"], {"complaint": 3.0, "low_csat": 2.0},
                            connection=ctx.duckdb)
    shared = capacity_sample(frame, 400, 2026, ["channel", "category"], {"complaint": 3.0, "low_csat": 2.0},
                             connection=ctx.duckdb, counts=counts)
    for a, b in zip(drawn, shared):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    calibration.review_sample_section(ctx, 0.15, 2026, tmp_path / "alone.csv")
    calibration.review_sample_section(ctx, 0.15, 2026, tmp_path / "shared.csv", data)
    assert (tmp_path / "alone.csv").read_bytes() == (tmp_path / "shared.csv").read_bytes()
    # without surveys, complaints or reviews every ticket is "other" and none reviewed
    con = duckdb.connect()
    con.register("t", pd.DataFrame({"ticket_id": ["A", "B", "C"], "team": ["X", None, "X"]}))
    bare = counts_by(ticket_counts("t", ["team"], connection=con), ["team"])
    assert bare["team"].tolist() == ["X", None] and bare["tickets"].tolist() == [2, 1]
    assert bare["reviewed"].sum() == 0


@pytest.mark.parametrize("period, reads_year", [("2025", False), ("2025-Q1", False), ("2025-01", False),
                                                ("2025-03", True)])
def test_calibration_reviews_taken_from_the_loaded_rows_equal_the_year_read(archive, period, reads_year, monkeypatch):
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.qa import calibration
    from qa_helpers.report.context import open_context

    team = calibration.calibration_data(open_context("HL-A", period, archive))  # reads the year
    reads = []
    load = qa_archive.load
    monkeypatch.setattr(qa_archive, "load", lambda *a, **k: reads.append(a) or load(*a, **k))
    every = calibration.calibration_data(open_context("ALL", period, archive))
    # from the year's start ALL's reviews of the period hold the year's calibration reviews: no second read
    assert len(reads) == (2 if reads_year else 1)
    monkeypatch.undo()
    year = qa_archive.load("qa_reviews", "ALL", "2025", archive=archive, where={"calibration": True})
    expected = year[year["reviewed_at"] < open_context("ALL", period, archive).period.end].reset_index(drop=True)
    pd.testing.assert_frame_equal(every.calibration, expected)
    pd.testing.assert_frame_equal(team.calibration, expected)
    assert len(expected) > 0
