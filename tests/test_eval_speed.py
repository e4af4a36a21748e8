"""Issue 17, notebook 07 at 10 M tickets: the before/after and people sections read fewer rows and skip fits whose
results were replaced; each shortcut gives what the longer way gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _standards():
    from qa_helpers.config import config_dir
    from qa_helpers.measures.standards import load_standards

    return load_standards(config_dir()).raw


def test_window_observations_in_spans_are_the_rows_of_those_spans(archive):
    from qa_helpers.improve import evaluation

    standards = _standards()
    teams, start, end = ["HL-B", "HL-A", "FS-1"], pd.Timestamp("2025-02-01"), pd.Timestamp("2025-12-01")
    spans = pd.DataFrame({"team": ["HL-A", "FS-1", "HL-A"],
                          "start": pd.to_datetime(["2025-03-03", "2025-03-17", "2025-09-01"]),
                          "end": pd.to_datetime(["2025-04-28", "2025-05-12", "2025-10-27"])})
    every = evaluation.window_observations(teams, archive, start, end, ["csat"], standards)["csat"]
    got = evaluation.window_observations(teams, archive, start, end, ["csat"], standards, spans=spans)["csat"]
    inside = np.zeros(len(every), dtype=bool)
    for span in spans.itertuples():
        inside |= ((every["team"] == span.team) & (every["time"] >= span.start) & (every["time"] < span.end)).to_numpy()
    assert 50 < len(got) < len(every)
    pd.testing.assert_frame_equal(every[inside].reset_index(drop=True), got)
    # only the spans' months are read: none of the summer's between them
    sources, _ = evaluation.window_sources(teams, archive, start, end, ["surveys"],
                                           connection=evaluation._connection(), spans=spans)
    assert "month=2025-03" in sources["surveys"] and "month=2025-07" not in sources["surveys"]
    none, _ = evaluation.window_sources(teams, archive, start, end, ["surveys"], connection=evaluation._connection(),
                                        spans=spans.iloc[0:0])
    assert evaluation._connection().sql(f"SELECT count(*) FROM {none['surveys']}").fetchall()[0][0] == 0


def test_coaching_effects_equal_the_sessions_tested_on_every_row(archive):
    from qa_helpers.improve import evaluation
    from qa_helpers.people import coaching

    standards = _standards()
    as_of, start, end = pd.Timestamp("2025-12-01"), pd.Timestamp("2025-03-01"), pd.Timestamp("2025-12-01")
    teams = ["HL-A", "HL-B", "HL-C"]
    rows = evaluation.window_observations(teams, archive, start, end, ["csat"], standards)
    busiest = [rows["csat"].loc[rows["csat"]["team"] == t, "agent_id"].value_counts().index[0] for t in teams]
    sessions = pd.DataFrame({"session_id": ["S1", "S2", "S3"], "agent_id": busiest, "team": teams, "coach": "c",
                             "kpi": "csat", "date": pd.to_datetime(["2025-04-07", "2025-06-02", "2025-11-24"])})
    spans = pd.DataFrame({"team": ["HL-A", "HL-B"], "start": pd.to_datetime(["2025-03-03", "2025-04-28"]),
                          "end": pd.to_datetime(["2025-05-12", "2025-07-07"])})  # S3 is too early to tell
    options = dict(standards=standards, weeks_before=4, weeks_after=4, min_answers=2)
    every = coaching.coaching_effect(sessions, rows, as_of, **options)
    some = coaching.coaching_effect(sessions, evaluation.window_observations(teams, archive, start, end, ["csat"],
                                                                             standards, spans=spans), as_of, **options)
    assert every["effect_verdict"].iloc[2] == coaching.TOO_EARLY and every["n_before"].iloc[:2].gt(0).all()
    pd.testing.assert_frame_equal(every, some)


def test_cell_means_are_the_wls_fit_on_cell_dummies():
    from qa_helpers.stats._common import _cell_means, _cells

    rng = np.random.default_rng(3)
    n = 2_000
    y, after = rng.normal(5, 2, n), rng.random(n) < 0.4
    strata, weights = rng.integers(0, 4, n), rng.uniform(0.5, 3, n)
    mu_b, mu_a, _ = _cells(y, after, strata, np.arange(n), weights, False)
    got_b, got_a = _cell_means(y, after, strata, weights)
    np.testing.assert_allclose(got_b, mu_b, rtol=1e-12)
    np.testing.assert_allclose(got_a, mu_a, rtol=1e-12)


def test_a_share_did_estimate_is_the_wls_fit_it_no_longer_runs():
    from statsmodels.regression.linear_model import WLS

    from qa_helpers import stats

    rng = np.random.default_rng(8)
    weeks = pd.date_range("2025-05-12", periods=12, freq="7D")
    cells = pd.DataFrame([{"team": team, "cluster": f"{team}-{agent}", "week": week, "after": i >= 6,
                           "n": float(n), "count": n,
                           "y": float(rng.binomial(n, 0.6 + 0.08 * (team == "T") * (i >= 6)))}
                          for team in ("T", "C") for agent in range(12) for i, week in enumerate(weeks)
                          for n in [int(rng.integers(3, 15))]])
    row = stats.diff_in_diff_cells(cells, "fcr", "proportion", treated=["T"], controls=["C"])
    design = pd.get_dummies(cells[["team", "week"]].astype(str), drop_first=True, dtype=float)
    design.insert(0, "const", 1.0)
    design["did"] = ((cells["team"] == "T") & cells["after"]).astype(float)
    fit = WLS(cells["y"] / cells["n"], design, weights=cells["n"]).fit()
    assert row.at[0, "effect"] == pytest.approx(fit.params["did"], rel=1e-10)
    assert "two-way CR2" in row.at[0, "method"] and np.isfinite(row.at[0, "p"])



@pytest.mark.parametrize("kpi", ["fcr", "median_first_response_s", "complaints_per_1000"])
def test_the_weekly_scan_sums_the_did_cells_did_cells_sums(archive, kpi):
    from qa_helpers import stats
    from qa_helpers.improve import evaluation

    standards = _standards()
    start = pd.Timestamp("2025-09-03")
    windows = stats.week_windows(start, weeks_before=6, weeks_after=5, washout_weeks=1)
    con = evaluation._connection()
    sources, columns = evaluation.window_sources(["HL-B", "HL-A"], archive, pd.Timestamp("2025-03-03"),
                                                 pd.Timestamp("2025-12-29"), ["tickets", "complaints"], connection=con)
    span = {"connection": con, "sources": sources, "columns": columns}
    kind = evaluation.metric_kind(kpi)
    series, cells = evaluation._weekly_sql(span, kpi, kind, standards, ["phone", "chat"], windows=windows)
    alone = evaluation._weekly_sql(span, kpi, kind, standards, ["phone", "chat"])
    pd.testing.assert_frame_equal(series.drop(columns="channels"), alone.drop(columns="channels"), rtol=1e-12)
    assert series["channels"].map(set).tolist() == alone["channels"].map(set).tolist()  # a set, in any order
    want = evaluation.did_cells(con, sources, columns, kpi, standards, windows, channels=["phone", "chat"])
    order = ["team", "cluster", "week"]
    want, cells = (f.sort_values(order).reset_index(drop=True) for f in (want, cells))
    assert len(cells) > 100 and cells["after"].any() and not cells["after"].all()
    pd.testing.assert_frame_equal(want, cells, rtol=1e-12)


def test_every_scan_of_an_action_runs_before_its_first_test(archive, monkeypatch):
    # cold, the tests' first use waits for scipy.stats and statsmodels; the scans before it overlap that import
    from qa_helpers import stats
    from qa_helpers.improve import evaluation
    from qa_helpers.improve.actions import load_actions

    events = []
    for module, name, label in ((evaluation, "_weekly_sql", "scan"), (evaluation, "measure_kpis", "kpis"),
                                (stats, "before_after", "test")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _label=label, **k: events.append(_label) or _real(*a, **k))
    action = next(a for a in load_actions().itertuples(index=False) if a.action_id == "ACT-01")
    result = evaluation.evaluate_action(action, archive, _standards())
    assert len(action.metrics) == 2 and events.count("scan") == 2 and "test" in events
    assert set(events[:events.index("test")]) == {"scan", "kpis"}
    assert not result.skipped


def test_preloading_the_statistics_imports_their_modules_in_the_background():
    import subprocess
    import sys

    code = ("import sys, threading\nfrom qa_helpers import stats\nbefore = 'scipy.stats' in sys.modules\n"
            "stats.preload(['segmented', 'before_after'])\n"
            "loading = [t for t in threading.enumerate() if t.name == 'qa_helpers.stats.preload']\n"
            "[t.join() for t in loading]\nstats.preload(['segmented'])\n"
            "again = [t for t in threading.enumerate() if t.name == 'qa_helpers.stats.preload']\n"
            "print(before, len(loading), all(m in sys.modules for m in ('qa_helpers.stats.its', "
            "'qa_helpers.stats.comparisons', 'scipy.stats')), len(again))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "False 1 True 0"
