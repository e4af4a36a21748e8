"""Small seeded simulations (issue 13): DiD under team-by-week shocks, and the edge cases'
honesty. The ≥ 1,000-run figures come from ``benchmarks/simulate_stats.py``."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pandas as pd
import pytest

from qa_helpers import stats as qs

_SPEC = importlib.util.spec_from_file_location(
    "simulate_stats", pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "simulate_stats.py")
sim = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sim)

RUNS = 100


@pytest.mark.parametrize("kind", ["proportion", "duration"])
def test_did_holds_alpha_under_team_week_shocks(kind):
    rng = np.random.default_rng(1300 + len(kind))
    direction = "increase" if kind == "proportion" else "decrease"
    rows = pd.concat([qs.diff_in_diff(sim.panel(rng, kind), kind, kind, sim.START, treated="HL-B",
                                      controls=["HL-C"], direction=direction) for _ in range(RUNS)],
                     ignore_index=True)
    rate = (rows["p"] < 0.05).mean()
    print(f"DiD {kind} false alarms under team-week shocks: {rate:.3f} ({RUNS} runs)")
    assert rate <= 0.10  # binomial 95 % upper bound for a true 5 % at 100 runs is ~0.10
    assert rows["method"].str.contains("team-week").all()
    truth = 0.0 if kind == "proportion" else 1.0
    assert ((rows["ci_low"] <= truth) & (truth <= rows["ci_high"])).mean() >= 0.90


def test_did_finds_a_planted_effect_with_team_week_shocks():
    rng = np.random.default_rng(1310)
    rows = pd.concat([qs.diff_in_diff(sim.panel(rng, "duration", np.log(0.7)), "aht", "duration", sim.START,
                                      treated="HL-B", controls=["HL-C"], direction="decrease")
                      for _ in range(40)], ignore_index=True)
    assert (rows["verdict"] == "improved").mean() >= 0.8
    assert ((rows["ci_low"] < 0.7) & (0.7 < rows["ci_high"])).mean() >= 0.85


def test_zero_event_rates_never_claim_a_change_under_the_null():
    # rare complaints (mean 2 per window), no change: the exact test is at most nominal
    rng = np.random.default_rng(1320)
    p = []
    for _ in range(300):
        data = pd.DataFrame({"window": np.repeat(["before", "after"], 400), "value": rng.poisson(0.005, 800)})
        p.append(qs.compare(data, "complaints", "rate", cluster=None, direction="decrease").at[0, "p"])
    assert (np.array(p) < 0.05).mean() <= 0.05
