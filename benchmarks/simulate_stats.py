"""Issue-13 simulations: false alarms, coverage and power of the before/after tests under a
null with agent random effects, agent drift between windows and team-by-week shocks.

    nice -n 19 .venv/bin/python benchmarks/simulate_stats.py --runs 1000 [--only did]

Each run draws a treated and a control team (15 agents each, 6 tickets per agent-week, 8 + 8
weeks): agent levels (SD 0.5 logit / 0.3 log s), agent drift between windows (SD 0.2 / 0.2),
common week shocks (SD 0.1) and team-by-week shocks (SD 0.1 on the logit / log scale).
Prints one line per test: false-alarm rate at alpha 5 % with its binomial 95 % interval,
CI coverage of the true effect, and power at a planted effect.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import special, stats as sps

from qa_helpers import stats as qs

START = pd.Timestamp("2025-07-07")
WEEKS = pd.date_range("2025-05-12", periods=16, freq="7D")


def panel(rng: np.random.Generator, kind: str, effect: float = 0.0, n_agents: int = 15, per_week: int = 6,
          team_week_sd: float = 0.1) -> pd.DataFrame:
    """Tickets of a treated (HL-B) and a control (HL-C) team; ``effect`` on the logit / log scale."""
    n_weeks = len(WEEKS)
    agent = np.repeat(np.arange(2 * n_agents), n_weeks * per_week)
    week = np.tile(np.repeat(np.arange(n_weeks), per_week), 2 * n_agents)
    treated = agent < n_agents
    after = week >= 8
    team_week = rng.normal(0, team_week_sd, (2, n_weeks))[treated.astype(int), week]
    created = WEEKS.to_numpy()[week] + rng.integers(0, 7 * 86400, len(agent)).astype("timedelta64[s]")
    common = rng.normal(0, 0.1, n_weeks)[week]
    if kind == "proportion":
        logit = (1.1 + rng.normal(0, 0.5, 2 * n_agents)[agent] + rng.normal(0, 0.2, 2 * n_agents)[agent] * after
                 + common + team_week + effect * (treated & after))
        value = (rng.random(len(agent)) < special.expit(logit)).astype(int)
    else:
        log_s = (6.0 + 0.2 * treated + rng.normal(0, 0.3, 2 * n_agents)[agent]
                 + rng.normal(0, 0.2, 2 * n_agents)[agent] * after + common + team_week
                 + effect * (treated & after) + rng.normal(0, 0.8, len(agent)))
        value = np.exp(log_s)
    return pd.DataFrame({"created_at": created, "team": np.where(treated, "HL-B", "HL-C"),
                         "agent_id": agent, "value": value})


def tests(data: pd.DataFrame, kind: str) -> dict[str, pd.DataFrame]:
    """The verdict-bearing rows of a before/after report of the treated team."""
    kw = dict(direction="increase" if kind == "proportion" else "decrease")
    mine = data[data["team"] == "HL-B"]
    out = {"default": qs.before_after(mine, kind, kind, START, **kw),
           "did (two-way: agent + team-week)": qs.diff_in_diff(data, kind, kind, START, treated="HL-B",
                                                               controls=["HL-C"], **kw),
           "did (agent only)": qs.diff_in_diff(data, kind, kind, START, treated="HL-B", controls=["HL-C"],
                                               team_week=False, **kw)}
    return out


def summarise(name: str, rows: pd.DataFrame, truth: float, scale: str) -> str:
    alarms = int((rows["p"] < 0.05).sum())
    n = int(rows["p"].notna().sum())
    lo, hi = sps.binomtest(alarms, n).proportion_ci() if n else (np.nan, np.nan)
    covered = ((rows["ci_low"] <= truth) & (truth <= rows["ci_high"])).mean()
    return f"{name:45s} {alarms / max(n, 1):6.3f} [{lo:.3f}, {hi:.3f}]  coverage {covered:.3f}  (runs {n})"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--kinds", default="proportion,duration")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    for kind in args.kinds.split(","):
        t0 = time.perf_counter()
        results: dict[str, list] = {}
        for _ in range(args.runs):
            for name, row in tests(panel(rng, kind), kind).items():
                results.setdefault(name, []).append(row)
        truth = 0.0 if kind == "proportion" else 1.0
        print(f"\n{kind}: null with agent effects, agent drift and team-week shocks (SD 0.1), alpha 0.05")
        for name, rows in results.items():
            print(summarise(name, pd.concat(rows, ignore_index=True), truth, kind))
        print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
