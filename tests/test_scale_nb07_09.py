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



def test_the_draw_bound_on_the_whole_digest_is_the_bound_on_its_first_64_bits():
    """The draw tests the whole MD5 hex against the bound's 16 digits padded with ``f`` (no cut of every
    digest): the same tickets pass as under the 64-bit number, at the bound itself and either side of it."""
    import hashlib

    import duckdb

    from qa_helpers.qa.sampling import _digest, draw_key

    ids = [f"T{i:05d}" for i in range(2_000)]
    number = {t: int(hashlib.md5(f"{t}:7".encode()).hexdigest()[:16], 16) for t in ids}
    con = duckdb.connect()
    con.register("p", pd.DataFrame({"ticket_id": ids}))
    for edge in sorted(number.values())[::250]:  # a ticket's own key is each bound: it must pass
        bound = f"{edge:016x}" + "f" * 16
        passed = {r[0] for r in con.sql(f"SELECT ticket_id FROM p WHERE {_digest('ticket_id', 7)} <= '{bound}'")
                  .fetchall()}
        assert passed == {t for t, k in number.items() if k <= edge}
    ordered = [r[0] for r in con.sql(f"SELECT ticket_id FROM p ORDER BY {draw_key('ticket_id', 7)}, ticket_id")
               .fetchall()]
    assert ordered == sorted(ids, key=lambda t: (number[t], t))
