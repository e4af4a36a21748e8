"""Issue-13 simulations: false alarms and power of every verdict-bearing row of the before/after
report, under a null with agent random effects, agent drift, common and team-by-week shocks.

    nice -n 19 .venv/bin/python benchmarks/simulate_stats.py --runs 1000      (or: make simulate)
    nice -n 19 .venv/bin/python benchmarks/simulate_stats.py --runs 200 --kinds duration --power 0

Each run draws a treated (HL-B) and a control team (HL-C), 15 agents each, 6 tickets per
agent-week over 52 weeks around the start (2025-07-07), channels phone / chat / email in a
fixed mix. On the latent scale (logit for shares and 1-5 scores, log for seconds and complaint
rates): agent levels (SD 0.5 / 0.3), agent drift (each agent's level moves linearly in time,
SD 0.2 between the midpoints of the 8-week windows), common week shocks (SD 0.1) and
team-by-week shocks (SD 0.1). The report's rows are run as ``qakit`` runs them: the default
before/after test (8 + 8 weeks), the DiD against the control team, the segmented regression
on the treated team's 52-week series (level and slope) and the channel-standardised test
(run in every simulated action here, not only when the mix moved).

Agent drift is linear on the latent scale; on the share / rate scale the team's average of
drifting agents is then a curve (convex for rates), which a segmented regression's slope row
reads as a slope change: ``--drift 0`` removes it.

Prints per kind and row: the false-alarm rate at alpha 5 % with its binomial 95 % interval,
then the family-wise rate of any Holm-adjusted alarm among the action's rows, then the power
of the default test at the median MDE it reported under the null.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import optimize, special, stats as sps

from qa_helpers import stats as qs
from qa_helpers.stats.its import BOOTSTRAP, bends
from qa_helpers.stats.results import _META

START = pd.Timestamp("2025-07-07")
HALF_SPAN = 26  # weeks either side of the start: the segmented regression's series
WEEKS = pd.date_range(START - pd.Timedelta(weeks=HALF_SPAN), periods=2 * HALF_SPAN, freq="7D")
KINDS = ("proportion", "duration", "rate", "ordinal")
DIRECTION = {"proportion": "increase", "duration": "decrease", "rate": "decrease", "ordinal": "increase"}
CHANNELS = np.array(["phone", "chat", "email"])
DRIFT_SD = 0.2  # agent drift between the windows' midpoints (latent scale)
CUTS = np.array([-2.5, -1.2, 0.0, 1.3])  # latent logit -> 1-5 score


def panel(rng: np.random.Generator, kind: str, effect: float = 0.0, n_agents: int = 15, per_week: int = 6,
          team_week_sd: float = 0.1) -> pd.DataFrame:
    """Tickets of a treated (HL-B) and a control (HL-C) team; ``effect`` shifts the treated
    team's after-weeks on the latent scale (logit / log)."""
    n_weeks = len(WEEKS)
    agent = np.repeat(np.arange(2 * n_agents), n_weeks * per_week)
    week = np.tile(np.repeat(np.arange(n_weeks), per_week), 2 * n_agents)
    treated = agent < n_agents
    after = week >= HALF_SPAN
    channel = rng.choice(3, len(agent), p=[0.5, 0.3, 0.2])
    # agent drift: SD 0.2 between the before- and after-window midpoints, 8 weeks apart
    drift = rng.normal(0, DRIFT_SD / 8, 2 * n_agents)[agent] * (week - HALF_SPAN + 0.5)
    shocks = (rng.normal(0, 0.1, n_weeks)[week]
              + rng.normal(0, team_week_sd, (2, n_weeks))[treated.astype(int), week])
    latent = drift + shocks + np.array([0.0, 0.2, -0.2])[channel] + effect * (treated & after)
    if kind == "proportion":
        value = (rng.random(len(agent)) < special.expit(1.1 + rng.normal(0, 0.5, 2 * n_agents)[agent] + latent))
    elif kind == "ordinal":
        score = 0.8 + rng.normal(0, 0.5, 2 * n_agents)[agent] + latent + rng.logistic(size=len(agent))
        value = 1 + np.searchsorted(CUTS, score)
    elif kind == "rate":
        value = rng.poisson(np.exp(np.log(0.05) + rng.normal(0, 0.3, 2 * n_agents)[agent] + latent))
    else:
        value = np.exp(6.0 + 0.2 * treated + rng.normal(0, 0.3, 2 * n_agents)[agent] + latent
                       + rng.normal(0, 0.8, len(agent)))
    created = WEEKS.to_numpy()[week] + rng.integers(0, 7 * 86400, len(agent)).astype("timedelta64[s]")
    return pd.DataFrame({"created_at": created, "team": np.where(treated, "HL-B", "HL-C"), "agent_id": agent,
                         "channel": CHANNELS[channel], "value": value.astype(float)})


def weekly(tickets: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The treated team's weekly series as the report builds it (share, mean log seconds, mean
    score, complaints per 1 000 tickets)."""
    values = np.log(tickets["value"]) if kind == "duration" else tickets["value"]
    if kind == "rate":
        values = values * qs.RATE_PER
    week = tickets["created_at"].dt.to_period("W-SUN").dt.start_time
    return values.groupby(week).mean().rename_axis("week").reset_index(name="value")


ROWS = ("default", "did", "standardised", "segmented")


def report_rows(data: pd.DataFrame, kind: str, bootstrap: int = BOOTSTRAP,
                rows: tuple = ROWS) -> dict[str, pd.DataFrame]:
    """The verdict-bearing rows of a before/after report of the treated team (one action);
    ``rows`` picks some of them (the draws do not depend on it: a run of some rows gives those
    rows' p exactly as a run of all)."""
    kw = {"direction": DIRECTION[kind]}
    mine = data[data["team"] == "HL-B"]
    out = {}
    if "default" in rows:
        out["default"] = qs.before_after(mine, kind, kind, START, **kw)
    if kind != "ordinal" and "did" in rows:
        out["did"] = qs.diff_in_diff(data, kind, kind, START, treated="HL-B", controls=["HL-C"], **kw)
    if kind != "ordinal" and "standardised" in rows:
        out["standardised (channel)"] = qs.before_after(mine, kind, kind, START, stratify="channel", **kw)
    if "segmented" in rows:
        series = qs.segmented(weekly(mine, kind), kind, START, bootstrap=bootstrap, bend=bends(kind), **kw)
        for i, name in enumerate(("segmented level", "segmented slope")):
            out[name] = series.iloc[[i]].reset_index(drop=True)
            out[name].attrs = {_META: [series.attrs[_META][i]]}
    return out


def rate_line(name: str, p: np.ndarray) -> str:
    n = int(np.isfinite(p).sum())
    alarms = int((p[np.isfinite(p)] < 0.05).sum())
    lo, hi = sps.binomtest(alarms, n).proportion_ci() if n else (np.nan, np.nan)
    return f"  {name:28s} {alarms / max(n, 1):6.3f} [{lo:.3f}, {hi:.3f}]  (runs with a p: {n})"


def null_runs(rng: np.random.Generator, kind: str, runs: int, bootstrap: int, rows: tuple = ROWS,
              progress: int = 0) -> tuple[dict, np.ndarray, list]:
    """p per row, any-alarm-after-Holm per run and the default row's MDE per run (``progress``:
    print the rates so far every that many runs)."""
    p: dict[str, list] = {}
    family_alarm, mdes = [], []
    for run in range(runs):
        out = report_rows(panel(rng, kind), kind, bootstrap, rows)
        for name, row in out.items():
            p.setdefault(name, []).append(row.at[row.index[0], "p"])
        family = qs.adjust_family(out.values(), family="action")
        family_alarm.append(bool((family["p_adj"] < 0.05).any()))
        mdes.append(out["default"].at[0, "mde"] if "default" in out else np.nan)
        if progress and (run + 1) % progress == 0 and run + 1 < runs:
            print(f"  after {run + 1} runs:", flush=True)
            for name, values in p.items():
                print(rate_line(name, np.array(values, float)), flush=True)
    return {k: np.array(v, float) for k, v in p.items()}, np.array(family_alarm), mdes


def latent_effect(kind: str, mde: float) -> float:
    """The latent shift that moves the default row's effect by ``mde`` (its own scale): exact for
    ratios, solved on a large draw of the simulated latent distribution for a share (difference)
    and a score (probability of superiority)."""
    if kind in ("duration", "rate"):
        return float(np.log(mde))
    rng = np.random.default_rng(0)
    base = (rng.normal(0, 0.5, 200_000) + rng.normal(0, np.sqrt(2) * 0.1, 200_000)
            + np.array([0.0, 0.2, -0.2])[rng.choice(3, 200_000, p=[0.5, 0.3, 0.2])])
    if kind == "proportion":
        def gap(d):
            return special.expit(1.1 + base + d).mean() - special.expit(1.1 + base).mean() - mde
    else:
        noise_b, noise_a = rng.logistic(size=200_000), rng.logistic(size=200_000)
        before = np.bincount(1 + np.searchsorted(CUTS, 0.8 + base + noise_b), minlength=6) / 200_000

        def gap(d):
            after = np.bincount(1 + np.searchsorted(CUTS, 0.8 + base[::-1] + noise_a + d), minlength=6) / 200_000
            below = np.cumsum(before) - before
            return float(after @ (below + before / 2)) - mde
    return float(optimize.brentq(gap, -3, 3))


def power_runs(rng: np.random.Generator, kind: str, mde: float, runs: int) -> tuple[float, float]:
    """Share of runs where the default row rejects (p < 0.05) and says "improved" at a planted MDE."""
    shift = latent_effect(kind, mde)
    rows = [qs.before_after(panel(rng, kind, shift)[lambda d: d["team"] == "HL-B"], kind, kind, START,
                            direction=DIRECTION[kind]) for _ in range(runs)]
    rows = pd.concat(rows, ignore_index=True)
    return float((rows["p"] < 0.05).mean()), float((rows["verdict"] == "improved").mean())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--power", type=int, default=300, help="runs with the MDE planted (0: skip)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--bootstrap", type=int, default=BOOTSTRAP)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--drift", type=float, default=0.2,
                        help="agent drift SD between the windows' midpoints (0: none)")
    parser.add_argument("--rows", default=",".join(ROWS),
                        help="rows to run (default, did, standardised, segmented); the draws are the same")
    parser.add_argument("--progress", type=int, default=0, help="print the rates so far every N runs")
    args = parser.parse_args(argv)
    global DRIFT_SD
    DRIFT_SD = args.drift
    rng = np.random.default_rng(args.seed)
    for kind in args.kinds.split(","):
        t0 = time.perf_counter()
        rows = tuple(args.rows.split(","))
        p, family, mdes = null_runs(rng, kind, args.runs, args.bootstrap, rows, args.progress)
        print(f"\n{kind}: null with agent effects and drift, common and team-week shocks (SD 0.1); "
              f"false alarms at alpha 0.05 [95 % CI], {args.runs} runs")
        for name, values in p.items():
            print(rate_line(name, values))
        if set(ROWS) <= set(rows):
            print(f"  {'any row, Holm across the action':28s} {family.mean():6.3f}")
        if args.power:
            mdes = mdes if "default" in rows else [report_rows(panel(np.random.default_rng([args.seed, i]), kind), kind,
                                                               args.bootstrap, ("default",))["default"].at[0, "mde"]
                                                   for i in range(100)]
            mde = float(np.nanmedian(mdes))
            rejected, improved = power_runs(rng, kind, mde, args.power)
            print(f"  power of the default test at its median reported MDE {mde:.4g}: p < 0.05 in {rejected:.3f}, "
                  f"'improved' in {improved:.3f} ({args.power} runs)")
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
