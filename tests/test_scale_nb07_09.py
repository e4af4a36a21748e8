"""Issue 17 (notebooks 07–09 at scale): each rewritten computation gives what the one it replaced gave."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from qa_helpers.stats import surveys as s


def _dominance_by_refitting(data: pd.DataFrame, outcome: str, items: list[str]) -> np.ndarray:
    """The general dominance weights as key_drivers computed them before: one OLS fit per subset."""
    z = (data - data.mean()) / data.std(ddof=1)
    y, X = z[outcome].to_numpy(), z[items].to_numpy()

    def r2(cols):
        if not cols:
            return 0.0
        return float(sm.OLS(y, sm.add_constant(X[:, list(cols)], has_constant="add")).fit().rsquared)

    k = len(items)
    weights = []
    for j in range(k):
        others = [i for i in range(k) if i != j]
        weights.append(np.mean([np.mean([r2(tuple(sorted((*c, j)))) - r2(c) for c in combinations(others, m)])
                                for m in range(k)]))
    weights = np.array(weights)
    return weights / weights.sum()


@pytest.mark.parametrize("k", [1, 2, 4])
def test_key_drivers_dominance_from_the_correlations_matches_refitting_every_subset(k):
    rng = np.random.default_rng(17)
    items = [f"i{j}" for j in range(k)]
    X = rng.integers(1, 6, size=(500, k)).astype(float)
    y = np.clip(np.rint(X @ np.linspace(0.2, 0.9, k) / k * 1.5 + rng.normal(0, 1, 500)), 1, 5)
    data = pd.DataFrame(X, columns=items).assign(csat=y)
    data.loc[::37, "i0"] = np.nan   # listwise deletion still applies
    got = s.key_drivers(data, items).set_index("item")
    want = _dominance_by_refitting(data[["csat", *items]].dropna(), "csat", items)
    assert got.loc[items, "dominance"].to_numpy() == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert got["n"].iloc[0] == len(data.dropna())


def test_key_drivers_collinear_items_still_match():
    rng = np.random.default_rng(3)
    a = rng.integers(1, 6, 300).astype(float)
    b = np.where(rng.random(300) < 0.9, a, rng.integers(1, 6, 300))
    y = np.clip(a + rng.integers(-1, 2, 300), 1, 5)
    data = pd.DataFrame({"csat": y, "a": a, "b": b})
    got = s.key_drivers(data, ["a", "b"]).set_index("item")
    assert got.loc[["a", "b"], "dominance"].to_numpy() == pytest.approx(
        _dominance_by_refitting(data, "csat", ["a", "b"]), rel=1e-9)


@pytest.mark.parametrize("kpi", ["fcr", "csat", "median_first_response_s"])
def test_did_cells_by_an_agent_table_equal_the_case_on_agent_lists(archive, kpi):
    from qa_helpers import stats
    from qa_helpers.config import config_dir
    from qa_helpers.improve import evaluation
    from qa_helpers.measures.standards import load_standards

    standards = load_standards(config_dir()).raw
    teams = ["HL-A", "HL-B", "FS-1"]
    windows = stats.week_windows(pd.Timestamp("2025-09-03"), weeks_before=6, weeks_after=5)
    con = evaluation._connection()
    sources, columns = evaluation.window_sources(teams, archive, windows["start"].min(), windows["end"].max(),
                                                 ["tickets", "complaints", "surveys"], connection=con)
    agents = [a for (a,) in con.sql(f"SELECT DISTINCT agent_id FROM {sources['tickets']} WHERE agent_id IS NOT NULL "
                                    "ORDER BY 1").fetchall()]
    trainees, others = agents[:8], agents[8:-3]   # the last three agents are in neither group
    listed = lambda names: ", ".join(f"'{a}'" for a in names)  # noqa: E731
    case = (f"CASE WHEN agent_id IN ({listed(trainees)}) THEN 'trainees' "
            f"WHEN agent_id IN ({listed(others)}) THEN 'others' END")
    groups = pd.DataFrame({"agent_id": [*trainees, *others, trainees[0]],   # a repeated agent keeps its first group
                           "group": ["trainees"] * 8 + ["others"] * len(others) + ["others"]})
    keys = ["team", "cluster", "week", "after"]
    want = evaluation.did_cells(con, sources, columns, kpi, standards, windows, group=case)
    got = evaluation.did_cells(con, sources, columns, kpi, standards, windows, agent_groups=groups)
    assert len(want) > 20 and set(want["team"]) == {"trainees", "others"}
    pd.testing.assert_frame_equal(want.sort_values(keys).reset_index(drop=True),
                                  got.sort_values(keys).reset_index(drop=True), check_exact=False, rtol=1e-12)


def test_the_review_population_is_built_once_and_the_draw_is_the_first_16_hex_digits():
    """The population (its risk joins) is evaluated once per ticket for the count and the draw, and the
    draw keeps in each stratum the tickets with the smallest first 64 bits of MD5(ticket_id:seed)."""
    import hashlib

    import duckdb

    from qa_helpers.qa.sampling import capacity_sample

    rng = np.random.default_rng(3)
    n = 4_000
    frame = pd.DataFrame({"ticket_id": [f"T{i:05d}" for i in range(n)],
                          "channel": rng.choice(["phone", "chat"], size=n),
                          "risk": rng.choice(["complaint", "other"], size=n, p=[0.2, 0.8])})
    con = duckdb.connect()
    con.register("rows", frame)
    calls = []

    def seen(values):
        calls.append(len(values))
        return values

    con.create_function("seen", seen, ["VARCHAR"], "VARCHAR", type="arrow")
    sample, alloc = capacity_sample("(SELECT seen(ticket_id) AS ticket_id, channel, risk FROM rows)", capacity=200,
                                    seed=11, strata=["channel"], connection=con)
    assert sum(calls) == n  # once per ticket, not once for the count and again for the draw
    assert not con.sql("SELECT * FROM duckdb_tables() WHERE table_name LIKE 'review_population%'").fetchall()
    key = frame["ticket_id"].map(lambda t: int(hashlib.md5(f"{t}:11".encode()).hexdigest()[:16], 16))
    for (channel, risk), size in alloc.set_index(["channel", "risk"])["sample_size"].items():
        members = frame[(frame["channel"] == channel) & (frame["risk"] == risk)]
        expected = members.assign(k=key).sort_values(["k", "ticket_id"])["ticket_id"].head(size)
        got = sample[(sample["channel"] == channel) & (sample["risk"] == risk)]["ticket_id"]
        assert sorted(got) == sorted(expected) and len(got) == size > 0
