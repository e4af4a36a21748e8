"""Before/after statistics: published reference values, simulations with known truth, API rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats
from statsmodels.stats import rates as sm_rates
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from qa_helpers import stats as qs

Z975 = stats.norm.ppf(0.975)


def _two_windows(before: np.ndarray, after: np.ndarray, **columns) -> pd.DataFrame:
    """Observation-level frame with a window label from two value arrays."""
    frame = pd.DataFrame({"window": ["before"] * len(before) + ["after"] * len(after),
                          "value": np.concatenate([before, after])})
    for name, values in columns.items():
        frame[name] = values
    return frame


def _successes(x: int, n: int) -> np.ndarray:
    return np.r_[np.ones(x), np.zeros(n - x)]


# --------------------------------------------------------------------------- published reference values

def test_naive_score_test_is_the_uncorrected_pearson_test():
    # the kit's observation-level default (no continuity correction) on R prop.test's example table;
    # the Yates-corrected R values themselves are checked in test_exact_methods_match_r_documented_values
    row = qs.compare(_two_windows(_successes(400, 500), _successes(490, 500)), "x", "proportion", cluster=None)
    assert row.at[0, "p"] == pytest.approx(stats.chi2_contingency([[490, 10], [400, 100]], correction=False)[1],
                                           rel=1e-9)
    assert row.at[0, "effect"] == pytest.approx(0.18)


def test_r_chisq_test_via_mix_shift():
    # R: chisq.test(rbind(c(762, 327, 468), c(484, 239, 477)))
    #    X-squared = 30.07, df = 2, p-value = 2.954e-07
    levels = np.array(["a", "b", "c"])
    data = pd.DataFrame({
        "window": ["before"] * (762 + 327 + 468) + ["after"] * (484 + 239 + 477),
        "channel": np.r_[np.repeat(levels, [762, 327, 468]), np.repeat(levels, [484, 239, 477])],
    })
    mix = qs.mix_shift(data, "channel")
    assert mix["channel"].tolist() == ["a", "b", "c"]
    assert mix["n_before"].tolist() == [762, 327, 468] and mix["n_after"].tolist() == [484, 239, 477]
    assert round(mix.at[0, "chi2"], 2) == 30.07 and mix.at[0, "dof"] == 2
    assert f"{mix.at[0, 'p']:.3e}" == "2.954e-07"
    assert mix["change"].sum() == pytest.approx(0.0, abs=1e-12)


def test_statsmodels_two_proportion_ztest_matches_kit_naive_test():
    # statsmodels proportions_ztest([5, 12], [83, 99]): z = -1.40783, p = 0.159181
    z, p = proportions_ztest([5, 12], [83, 99])
    assert round(z, 5) == -1.40783 and round(p, 6) == 0.159181
    row = qs.compare(_two_windows(_successes(12, 99), _successes(5, 83)), "x", "proportion", cluster=None,
                     test="score")
    assert round(row.at[0, "p"], 6) == 0.159181
    assert row.at[0, "ci_low"] < row.at[0, "effect"] < row.at[0, "ci_high"]


def test_newcombe_interval_matches_published_example_and_hand_computation():
    # Newcombe (1998), Stat Med 17:873, example 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    row = qs.compare(_two_windows(_successes(48, 80), _successes(56, 70)), "x", "proportion", cluster=None)
    assert round(row.at[0, "ci_low"], 4) == 0.0524 and round(row.at[0, "ci_high"], 4) == 0.3339

    def wilson(x, n):
        p = x / n
        centre = (p + Z975 ** 2 / (2 * n)) / (1 + Z975 ** 2 / n)
        half = Z975 * np.sqrt(p * (1 - p) / n + Z975 ** 2 / (4 * n ** 2)) / (1 + Z975 ** 2 / n)
        return centre - half, centre + half

    (l1, u1), (l2, u2) = wilson(56, 70), wilson(48, 80)
    p1, p2 = 56 / 70, 48 / 80
    assert row.at[0, "ci_low"] == pytest.approx(p1 - p2 - np.hypot(p1 - l1, u2 - p2), abs=1e-10)
    assert row.at[0, "ci_high"] == pytest.approx(p1 - p2 + np.hypot(u1 - p1, p2 - l2), abs=1e-10)


def test_poisson_two_sample_against_independent_computations():
    # Inputs as in R's poisson.test(c(11, 23), c(800, 2300)). R's two-sample poisson.test is the
    # exact conditional test: binom.test(11, 34, p = 800 / 3100), recomputed here with scipy.
    exact = sm_rates.test_poisson_2indep(11, 800, 23, 2300, method="exact-cond")
    assert exact.pvalue == pytest.approx(stats.binomtest(11, 34, 800 / 3100).pvalue, rel=1e-12)
    # The kit's naive rate test is the score test; its z is (r1 - r2) / sqrt(r_pooled (1/E1 + 1/E2)).
    data = _two_windows(np.r_[np.ones(23), np.zeros(2300 - 23)], np.r_[np.ones(11), np.zeros(800 - 11)])
    row = qs.compare(data, "complaints", "rate", cluster=None, direction="decrease")
    pooled = 34 / 3100
    z = (11 / 800 - 23 / 2300) / np.sqrt(pooled * (1 / 800 + 1 / 2300))
    assert row.at[0, "p"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert row.at[0, "effect"] == pytest.approx((11 / 800) / (23 / 2300))
    assert row.at[0, "before"] == pytest.approx(1000 * 23 / 2300) and row.at[0, "after"] == pytest.approx(13.75)
    assert row.at[0, "ci_low"] < row.at[0, "effect"] < row.at[0, "ci_high"]
    assert row.at[0, "verdict"] == "no change larger than the MDE"  # the CI lies inside +/- the MDE


# --------------------------------------------------------------------------- clustering: simulations

AGENTS, TICKETS, AGENT_SD, LOGIT_MEAN = 20, 30, 0.5, 1.1
N_SIMS = 500


def _clustered_proportions(rng: np.random.Generator, n_sims: int, logit_shift: float = 0.0):
    """Tickets of 20 agents per window, 30 each; each window's agents (and their random
    intercepts, SD 0.5 on the logit scale) are a fresh draw: staff turnover, or agents' levels
    drifting between windows. No true change unless ``logit_shift``."""
    agent = np.repeat(np.arange(2 * AGENTS), TICKETS)
    after = agent >= AGENTS
    effects = rng.normal(0, AGENT_SD, (n_sims, 2 * AGENTS))
    logit = LOGIT_MEAN + effects[:, agent] + logit_shift * after
    values = (rng.random(logit.shape) < special.expit(logit)).astype(int)
    window = np.where(after, "after", "before")
    return [pd.DataFrame({"window": window, "value": v, "agent_id": agent}) for v in values]


@pytest.fixture(scope="module")
def null_proportion_runs():
    sims = _clustered_proportions(np.random.default_rng(20250707), N_SIMS)
    default = pd.concat([qs.compare(d, "csat_top2", "proportion") for d in sims], ignore_index=True)
    naive = pd.concat([qs.compare(d, "csat_top2", "proportion", cluster=None) for d in sims], ignore_index=True)
    return default, naive


def test_default_proportion_test_keeps_false_alarms_near_alpha(null_proportion_runs):
    default, naive = null_proportion_runs
    default_rate, naive_rate = (default["p"] < 0.05).mean(), (naive["p"] < 0.05).mean()
    print(f"false alarms at alpha 0.05: default {default_rate:.3f}, naive {naive_rate:.3f}")
    assert default_rate <= 0.07
    assert naive_rate >= 0.10  # ignoring agents over-rejects
    assert default["method"].str.contains("agent_id-clustered").all()
    assert (default["ci_high"] - default["ci_low"]).median() > 1.3 * (naive["ci_high"] - naive["ci_low"]).median()
    # a verdict needs p < alpha and a CI that excludes 0 (Newcombe CI and score test can disagree at the edge)
    significant = default["verdict"].isin(["improved", "worsened"])
    excludes = (default["ci_low"] > 0) | (default["ci_high"] < 0)
    assert (significant == ((default["p"] < 0.05) & excludes)).all()
    assert (significant != (default["p"] < 0.05)).mean() <= 0.01


def test_planted_effect_found_at_the_power_the_mde_predicts(null_proportion_runs):
    default, _ = null_proportion_runs
    mde = float(default["mde"].median())  # the kit's MDE (80 % power) for this design
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()

    def marginal(shift):  # population share over the agent distribution
        return np.sum(weights * special.expit(LOGIT_MEAN + shift + AGENT_SD * nodes))

    shift = optimize.brentq(lambda s: marginal(s) - marginal(0.0) - mde, 0.0, 3.0)
    sims = _clustered_proportions(np.random.default_rng(8), N_SIMS, logit_shift=shift)
    rows = pd.concat([qs.compare(d, "csat_top2", "proportion") for d in sims], ignore_index=True)
    power = (rows["verdict"] == "improved").mean()
    print(f"planted effect {mde:.4f} (= median MDE): empirical power {power:.3f}, predicted {qs.POWER:.2f}")
    assert abs(power - qs.POWER) <= 0.10
    assert rows["effect"].mean() == pytest.approx(mde, abs=0.01)  # the estimate is unbiased for the planted effect


def test_default_duration_and_ordinal_tests_account_for_agents():
    rng = np.random.default_rng(11)
    agent = np.repeat(np.arange(2 * AGENTS), TICKETS)
    window = np.where(agent >= AGENTS, "after", "before")
    cuts = np.array([-2.5, -1.2, 0.0, 1.3])
    n = 300
    effects = rng.normal(0, 0.5, (n, 2 * AGENTS))
    seconds = np.exp(5 + effects[:, agent] + rng.normal(0, 1, (n, len(agent))))
    scores = 1 + ((0.8 + 2 * effects[:, agent] + rng.logistic(size=(n, len(agent))))[..., None] > cuts).sum(-1)
    alarms = {"duration": [0, 0], "ordinal": [0, 0]}
    for i in range(n):
        for kind, values in (("duration", seconds[i]), ("ordinal", scores[i])):
            d = pd.DataFrame({"window": window, "value": values, "agent_id": agent})
            alarms[kind][0] += qs.compare(d, kind, kind, direction="decrease").at[0, "p"] < 0.05
            alarms[kind][1] += qs.compare(d, kind, kind, cluster=None, direction="decrease").at[0, "p"] < 0.05
    rates = {k: (v[0] / n, v[1] / n) for k, v in alarms.items()}
    print(f"false alarms (default, naive): {rates}")
    for kind, (default_rate, naive_rate) in rates.items():
        assert default_rate <= 0.08, kind
        assert naive_rate >= 0.20, kind


def test_clustered_test_treats_copies_within_a_cluster_as_one_observation():
    # Every ticket copied 4 times within its own cluster carries no new information: the
    # clustered test on the copies should match the naive test on the originals, while the
    # naive test on the copies is far too sure of itself.
    rng = np.random.default_rng(3)
    y = np.r_[rng.random(300) < 0.70, rng.random(300) < 0.78].astype(int)
    base = _two_windows(y[:300], y[300:], agent_id=np.arange(600))
    copies = base.loc[base.index.repeat(4)].reset_index(drop=True)
    original = qs.compare(base, "fcr", "proportion", cluster=None)
    clustered = qs.compare(copies, "fcr", "proportion")
    naive = qs.compare(copies, "fcr", "proportion", cluster=None)
    width = lambda r: r.at[0, "ci_high"] - r.at[0, "ci_low"]  # noqa: E731
    assert width(clustered) == pytest.approx(width(original), rel=0.02)
    assert clustered.at[0, "p"] == pytest.approx(original.at[0, "p"], rel=0.05)
    assert width(naive) == pytest.approx(width(original) / 2, rel=0.05)
    assert clustered.at[0, "mde"] == pytest.approx(original.at[0, "mde"], rel=0.02)
    assert naive.at[0, "mde"] < 0.6 * original.at[0, "mde"]


def test_clustered_ordinal_variance_reduces_to_brunner_munzel_for_single_observations():
    rng = np.random.default_rng(4)
    data = _two_windows(rng.integers(1, 6, 400), np.clip(rng.integers(1, 6, 450) + (rng.random(450) < 0.2), 1, 5),
                        agent_id=np.arange(850))
    clustered = qs.compare(data, "qa", "ordinal")
    naive = qs.compare(data, "qa", "ordinal", cluster=None)
    assert clustered.at[0, "effect"] == pytest.approx(naive.at[0, "effect"], rel=1e-12)
    width = lambda r: r.at[0, "ci_high"] - r.at[0, "ci_low"]  # noqa: E731
    assert width(clustered) == pytest.approx(width(naive), rel=0.02)
    assert clustered.at[0, "p"] == pytest.approx(naive.at[0, "p"], rel=0.1)


# --------------------------------------------------------------------------- DiD and segmented regression

START = "2025-07-07"  # a Monday


def _team_panel(rng: np.random.Generator, kind: str, effect: float, n_agents: int = 15,
                per_week: int = 6) -> pd.DataFrame:
    """Tickets of a treated and a control team over 8 + 8 weeks around START.

    Common week shocks (season), a team gap, agent levels and agent drift between windows;
    ``effect`` is added to the treated team's after window (probability points, or log
    seconds for durations)."""
    weeks = pd.date_range("2025-05-12", periods=16, freq="7D")
    n_weeks = len(weeks)
    agent = np.repeat(np.arange(2 * n_agents), n_weeks * per_week)
    week = np.tile(np.repeat(np.arange(n_weeks), per_week), 2 * n_agents)
    treated = agent < n_agents
    after = week >= 8
    created = weeks.to_numpy()[week] + rng.integers(0, 7 * 86400, len(agent)).astype("timedelta64[s]")
    if kind == "proportion":
        level = (0.62 + 0.05 * treated + rng.normal(0, 0.06, 2 * n_agents)[agent]
                 + rng.normal(0, 0.10, 2 * n_agents)[agent] * after + rng.normal(0, 0.04, n_weeks)[week]
                 + effect * (treated & after))
        value = (rng.random(len(agent)) < np.clip(level, 0.02, 0.98)).astype(int)
    else:
        log_s = (6.0 + 0.2 * treated + rng.normal(0, 0.3, 2 * n_agents)[agent]
                 + rng.normal(0, 0.2, 2 * n_agents)[agent] * after + rng.normal(0, 0.1, n_weeks)[week]
                 + effect * (treated & after) + rng.normal(0, 0.8, len(agent)))
        value = np.exp(log_s)
    return pd.DataFrame({"created_at": created, "team": np.where(treated, "HL-B", "HL-C"),
                         "agent_id": agent, "value": value})


def test_did_recovers_a_planted_ratio_for_durations():
    rng = np.random.default_rng(21)
    rows = pd.concat([qs.diff_in_diff(_team_panel(rng, "duration", np.log(0.8), n_agents=25), "handle_time",
                                      "duration", START, treated="HL-B", controls=["HL-C"], direction="decrease")
                      for _ in range(40)], ignore_index=True)
    assert list(rows.columns) == qs.COLUMNS
    assert np.exp(np.log(rows["effect"]).mean()) == pytest.approx(0.8, abs=0.03)  # unbiased on the log scale
    assert ((rows["ci_low"] < 0.8) & (0.8 < rows["ci_high"])).mean() >= 0.85
    assert (rows["verdict"] == "improved").mean() >= 0.6
    assert set(rows["verdict"]) <= {"improved", "inconclusive (underpowered)"}
    assert rows["method"].str.contains("agent_id-clustered").all() and rows["method"].str.contains("G=50").all()
    assert ((0 < rows["mde"]) & (rows["mde"] < 1)).all()  # lower is better: the detectable ratio is below 1


def test_did_false_alarms_under_the_null_and_a_planted_proportion_effect():
    rng = np.random.default_rng(22)
    n = 200
    clustered = naive = 0
    for _ in range(n):
        data = _team_panel(rng, "proportion", 0.0)
        kw = dict(treated="HL-B", controls=["HL-C"])
        clustered += qs.diff_in_diff(data, "fcr", "proportion", START, **kw).at[0, "p"] < 0.05
        naive += qs.diff_in_diff(data, "fcr", "proportion", START, cluster=None, **kw).at[0, "p"] < 0.05
    print(f"DiD false alarms: agent-clustered {clustered / n:.3f}, ignoring agents {naive / n:.3f}")
    assert clustered / n <= 0.09
    assert naive / n >= 0.10
    # this panel has no team-week shocks: the agent-only variance (team_week=False) is the one tested here
    planted = qs.diff_in_diff(_team_panel(np.random.default_rng(23), "proportion", 0.15, n_agents=30), "fcr",
                              "proportion", START, treated="HL-B", controls=["HL-C"], team_week=False)
    assert planted.at[0, "ci_low"] < 0.15 < planted.at[0, "ci_high"]
    assert planted.at[0, "verdict"] == "improved"


def _weekly(rng: np.random.Generator, level_shift: float, n_weeks: int = 52, rho: float = 0.5) -> pd.DataFrame:
    noise = np.empty(n_weeks)
    noise[0] = rng.normal(0, 0.01 / np.sqrt(1 - rho ** 2))
    for t in range(1, n_weeks):
        noise[t] = rho * noise[t - 1] + rng.normal(0, 0.01)
    t = np.arange(n_weeks)
    post = t >= 26
    return pd.DataFrame({"week": pd.Timestamp("2025-01-06") + pd.to_timedelta(7 * t, unit="D"),
                         "value": 0.70 + 0.001 * t + level_shift * post + noise})


def test_segmented_regression_recovers_a_level_shift():
    rows = qs.segmented(_weekly(np.random.default_rng(31), 0.05), "fcr", "2025-07-07")
    assert rows["metric"].tolist() == ["fcr: level change", "fcr: slope change"]
    level, slope = rows.iloc[0], rows.iloc[1]
    assert level["ci_low"] < 0.05 < level["ci_high"] and level["effect"] == pytest.approx(0.05, abs=0.015)
    assert level["verdict"] == "improved" and level["after"] - level["before"] == pytest.approx(level["effect"])
    assert slope["ci_low"] < 0 < slope["ci_high"]
    assert (level["n_before"], level["n_after"]) == (26, 26)
    assert "AR(1)" in level["method"] and "parametric bootstrap" in level["method"]
    # seeded: the same series gives the same p
    assert qs.segmented(_weekly(np.random.default_rng(31), 0.05), "fcr", "2025-07-07")["p"].tolist() == \
        rows["p"].tolist()


def test_segmented_rho_matches_a_continuous_reml_fit():
    # the grid search (step 0.05) lands within half a step of scipy's bounded optimiser on the same REML criterion
    from scipy import optimize
    from qa_helpers.stats import its
    series = _weekly(np.random.default_rng(34), 0.0)
    t = np.arange(52.0)
    post = t >= 26
    design = np.column_stack([np.ones(52), t, post, post * (t - 26)])
    y = series["value"].to_numpy()

    def criterion(rho):
        sigma = rho ** np.abs(t[:, None] - t[None, :]) / (1 - rho ** 2)
        vi = np.linalg.inv(sigma)
        xvx = design.T @ vi @ design
        resid = y - design @ np.linalg.solve(xvx, design.T @ vi @ y)
        return np.linalg.slogdet(sigma)[1] + np.linalg.slogdet(xvx)[1] + 48 * np.log(resid @ vi @ resid)
    best = optimize.minimize_scalar(criterion, bounds=(-0.95, 0.95), method="bounded").x
    assert its._reml_t(y, design, t)["rho"][0] == pytest.approx(best, abs=0.026)


def test_segmented_regression_false_alarms_with_autocorrelated_noise():
    # 52 weekly values, AR(1) noise with rho 0.5, no change: the bootstrap-calibrated test stays
    # near alpha (the plain t reference gave 7–9.5 %); 1,000-run figures in the README
    rng = np.random.default_rng(32)
    p = np.array([qs.segmented(_weekly(rng, 0.0), "x", "2025-07-07", bootstrap=199)["p"].to_numpy()
                  for _ in range(150)])
    print(f"segmented false alarms (level, slope; T=52, rho=0.5, 150 runs): {(p < 0.05).mean(0)}")
    assert ((p < 0.05).mean(0) <= 0.10).all()  # ~ the binomial 97.5 % bound for 5 % at 150 runs


def test_segmented_slope_reads_a_smooth_bend_as_no_change_and_finds_a_kink():
    # issue 13: a team average of steadily drifting agents bends; a piecewise-linear model read the
    # bend as a slope change. Over the quadratic baseline a bend is not a change, a kink at the start is.
    rng = np.random.default_rng(35)
    base = _weekly(rng, 0.0, rho=0.0)
    t = np.arange(52.0)
    bend = base.assign(value=base["value"] + 0.0002 * (t - 26) ** 2)
    rows = qs.segmented(bend, "fcr", "2025-07-07", bootstrap=199)
    assert "quadratic" in rows.at[1, "method"]
    assert rows.at[1, "p"] > 0.05 and rows.at[1, "verdict"] not in ("improved", "worsened")
    assert rows.at[1, "ci_low"] < 0 < rows.at[1, "ci_high"]
    # the same bend on a piecewise-linear design: the slope row's t is far beyond any critical value
    from qa_helpers.stats import its
    post = t >= 26
    linear = np.column_stack([np.ones(52), t, post, post * (t - 26)])
    fit = its._reml_t(bend["value"].to_numpy(), linear, t)
    assert abs(fit["beta"][3, 0] / fit["se"][3, 0]) > 4
    kink = base.assign(value=base["value"] + 0.004 * np.maximum(t - 26, 0))
    found = qs.segmented(kink, "fcr", "2025-07-07", bootstrap=199).iloc[1]
    assert found["verdict"] == "improved" and found["ci_low"] < 0.004 < found["ci_high"]


def test_two_way_floor_options_and_median_unbiased_mde():
    from qa_helpers.stats import cr2, power
    rng = np.random.default_rng(36)
    agents, weeks = np.repeat(np.arange(12), 20), np.tile(np.arange(20), 12)
    after = weeks >= 10
    y = rng.poisson(0.3, 240).astype(float)
    design = np.column_stack([~after, after]).astype(float)
    contrast = np.array([-1.0, 1.0])
    _, se_a, _ = cr2.cr2_contrast(design, y, agents, contrast)
    _, se_w, _ = cr2.cr2_contrast(design, y, weeks, contrast)
    hc2 = cr2._hc2_variance(design, y, contrast)
    _, se_groups, df = cr2.two_way_contrast(design, y, agents, weeks, contrast)
    _, se_smaller, _ = cr2.two_way_contrast(design, y, agents, weeks, contrast, floor="smaller")
    assert se_groups ** 2 == pytest.approx(max(se_a ** 2 + se_w ** 2 - hc2, se_a ** 2))
    assert se_smaller ** 2 == pytest.approx(max(se_a ** 2 + se_w ** 2 - hc2, min(se_a, se_w) ** 2))
    with pytest.raises(ValueError, match="floor"):
        cr2.two_way_contrast(design, y, agents, weeks, contrast, floor="largest")
    # the MDE uses the SE scaled to its median shortfall: 1 / sqrt(median chi2_df / df)
    assert power._se_median_factor(14) == pytest.approx(1 / np.sqrt(stats.chi2.median(14) / 14))
    assert power._se_median_factor(None) == 1.0 and power._se_median_factor(np.inf) == 1.0
    noncentral = power._mde_t(0.1, 14, 0.05) / (0.1 * power._se_median_factor(14))
    crit = stats.t.ppf(0.975, 14)
    assert stats.nct.sf(crit, 14, noncentral) + stats.nct.cdf(-crit, 14, noncentral) == pytest.approx(0.8, abs=1e-6)


def test_rate_mde_switches_to_the_exact_tests_power_when_counts_are_small():
    # the exact conditional test runs below 10 effective events: an MDE from the score test's
    # normal approximation promised 80 % where the exact test had ~72 % (issue-13 simulation)
    from qa_helpers.stats import power
    from qa_helpers.stats.rates import exact_rate_ratio
    rng = np.random.default_rng(37)
    hits = [exact_rate_ratio(rng.poisson(0.4 * 20), 400, rng.poisson(20), 400)[0] < 0.05 for _ in range(3000)]
    assert power._exact_rate_power(0.4, 0.05, 400, 400, 0.05) == pytest.approx(np.mean(hits), abs=0.03)
    exact = power._mde_rate_exact(0.05, 400, 400, 0.05, -1)
    assert exact < power._mde_rate(0.05, 400, 400, 0.05, -1) < 1
    assert power._exact_rate_power(exact, 0.05, 400, 400, 0.05) == pytest.approx(0.80, abs=1e-3)
    data = pd.DataFrame({"window": np.repeat(["before", "after"], 400), "value": np.r_[np.ones(20), np.zeros(780)]})
    row = qs.compare(data, "complaints", "rate", cluster=None, direction="decrease")
    assert row.at[0, "mde"] == pytest.approx(exact, abs=1e-3)


def test_segmented_drops_a_partly_treated_week():
    rows = qs.segmented(_weekly(np.random.default_rng(33), 0.0), "x", "2025-07-09")  # a Wednesday
    assert rows.at[0, "n_before"] == 26 and rows.at[0, "n_after"] == 25


# --------------------------------------------------------------------------- verdicts, adjustment, mix

def test_verdicts_respect_lower_is_better():
    rng = np.random.default_rng(41)
    agents = np.tile(np.arange(40), 30)
    before, after = np.exp(rng.normal(6, 0.8, 1200)), np.exp(rng.normal(6 - 0.3, 0.8, 1200))
    data = _two_windows(before, after, agent_id=np.r_[agents, agents])
    lower_better = qs.compare(data, "handle_time", "duration", direction="decrease")
    higher_better = qs.compare(data, "handle_time", "duration", direction="increase")
    assert lower_better.at[0, "effect"] < 1 and lower_better.at[0, "ci_high"] < 1
    assert lower_better.at[0, "verdict"] == "improved" and higher_better.at[0, "verdict"] == "worsened"
    assert lower_better.at[0, "mde"] < 1 < higher_better.at[0, "mde"]
    complaints = _two_windows(np.r_[np.ones(60), np.zeros(1940)], np.r_[np.ones(25), np.zeros(1975)],
                              agent_id=np.r_[np.arange(2000) % 40, np.arange(2000) % 40])
    rate = qs.compare(complaints, "complaints", "rate", direction="decrease")
    assert rate.at[0, "before"] == pytest.approx(30.0) and rate.at[0, "after"] == pytest.approx(12.5)
    assert rate.at[0, "verdict"] == "improved" and rate.at[0, "mde"] < 1


def test_underpowered_versus_no_change_larger_than_the_mde():
    rng = np.random.default_rng(42)
    small = _two_windows((rng.random(40) < 0.7).astype(int), (rng.random(40) < 0.7).astype(int),
                         agent_id=np.arange(80) % 8)
    row = qs.compare(small, "fcr", "proportion", expected_effect=0.05)
    assert row.at[0, "p"] >= 0.05 and row.at[0, "mde"] > 0.05
    assert row.at[0, "verdict"] == "inconclusive (underpowered)"
    # without a hoped-for effect the MDE is the smallest effect that matters: the CI includes it
    assert qs.compare(small, "fcr", "proportion").at[0, "verdict"] == "inconclusive (underpowered)"
    big = _two_windows(np.tile([1, 1, 1, 0], 5000), np.tile([1, 1, 1, 0], 5000), agent_id=np.arange(40000) % 400)
    row = qs.compare(big, "fcr", "proportion", expected_effect=0.05)
    assert row.at[0, "effect"] == 0 and row.at[0, "mde"] < 0.05
    assert row.at[0, "verdict"] == "no change larger than the MDE"
    # six complaints before: not even a drop to zero would be detected with 80 % power
    few = _two_windows(np.r_[np.ones(6), np.zeros(394)], np.r_[np.ones(5), np.zeros(395)])
    row = qs.compare(few, "complaints", "rate", cluster=None, direction="decrease")
    assert np.isnan(row.at[0, "mde"]) and row.at[0, "verdict"] == "inconclusive (underpowered)"
    # lower is better: the hoped-for ratio is below 1, the MDE too
    shorter = qs.compare(_two_windows(np.exp(rng.normal(6, 1, 30)), np.exp(rng.normal(6, 1, 30))),
                         "aht", "duration", cluster=None, direction="decrease", expected_effect=0.95)
    assert shorter.at[0, "mde"] < 0.95 and shorter.at[0, "verdict"] == "inconclusive (underpowered)"


def test_every_result_has_the_same_columns_and_a_known_verdict():
    rng = np.random.default_rng(43)
    n = 400
    data = pd.DataFrame({"window": np.repeat(["before", "after"], n), "agent_id": np.tile(np.arange(20), 2 * n // 20),
                         "channel": rng.choice(["phone", "chat"], 2 * n)})
    rows = [
        qs.compare(data.assign(value=rng.random(2 * n) < 0.8), "fcr", "proportion"),
        qs.compare(data.assign(value=np.exp(rng.normal(5, 1, 2 * n))), "aht", "duration", direction="decrease"),
        qs.compare(data.assign(value=rng.integers(1, 6, 2 * n)), "qa", "ordinal"),
        qs.compare(data.assign(value=rng.poisson(0.2, 2 * n)), "complaints", "rate", direction="decrease"),
        qs.compare(data.assign(value=rng.random(2 * n) < 0.8), "fcr", "proportion", stratify="channel"),
        qs.compare(data.assign(value=np.exp(rng.normal(5, 1, 2 * n))), "aht", "duration", stratify="channel",
                   direction="decrease"),
        qs.compare(data.assign(value=rng.poisson(0.2, 2 * n)), "complaints", "rate", stratify="channel",
                   direction="decrease"),
        qs.diff_in_diff(_team_panel(rng, "proportion", 0.0), "repeat contacts", "rate", START, treated="HL-B",
                        controls=["HL-C"], direction="decrease"),
        qs.segmented(_weekly(rng, 0.0), "fcr weekly", "2025-07-07", bootstrap=99),
    ]
    table = qs.evaluate(rows)
    assert list(table.columns) == qs.COLUMNS and len(table) == 10
    assert table["verdict"].isin(qs.VERDICTS).all()
    assert table[["before", "after", "effect", "ci_low", "ci_high", "p", "mde"]].notna().all().all()
    assert (table["ci_low"] <= table["effect"]).all() and (table["effect"] <= table["ci_high"]).all()
    assert table["method"].str.len().gt(20).all()


def test_holm_equals_statsmodels_bit_for_bit_without_a_garbage_collection(monkeypatch):
    import gc

    from qa_helpers.stats.multiplicity import _holm

    rng = np.random.default_rng(3)
    for p in (rng.uniform(size=17), np.r_[rng.uniform(size=6), [0.02, 0.02, 0.5, 0.5, 0.9, 1.0]], np.array([0.3])):
        np.testing.assert_array_equal(_holm(p), multipletests(p, method="holm")[1])
    # statsmodels' Holm collects garbage on every call (0.3 s in a notebook kernel): the kit's does not
    monkeypatch.setattr(gc, "collect", lambda *a: pytest.fail("gc.collect() called"))
    rows = [qs.compare(_two_windows(_successes(70, 100), _successes(80, 100)), m, "proportion", cluster=None)
            for m in ("a", "b")]
    assert qs.evaluate(rows)["p_adj"].notna().all()


def test_holm_and_bh_match_statsmodels_and_verdicts_follow_adjusted_p():
    agents = np.arange(1000) % 50  # observation-level tests: this is about the adjustment, not the clustering
    rows = []
    for metric, successes in (("fcr", 760), ("csat", 744), ("on_time", 705), ("resolved", 770)):
        data = _two_windows(_successes(700, 1000), _successes(successes, 1000), agent_id=np.r_[agents, agents])
        rows.append(qs.compare(data, metric, "proportion", cluster=None,
                               expected_effect=0.03 if metric == "csat" else None))
    raw = np.array([r.at[0, "p"] for r in rows])
    holm = qs.evaluate(rows)
    np.testing.assert_allclose(holm["p_adj"], multipletests(raw, method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(qs.evaluate(rows, method="bh")["p_adj"], multipletests(raw, method="fdr_bh")[1],
                               rtol=1e-12)
    assert all(r.at[0, "p_adj"] == r.at[0, "p"] for r in rows)  # a lone test is its own family
    alone = [r.at[0, "verdict"] for r in rows]
    assert alone == ["improved", "improved", "no change larger than the MDE", "improved"]
    # csat is significant alone (p ~ 0.03) but not after Holm; its MDE (~0.057) is larger than
    # the hoped-for +0.03, so it becomes inconclusive, not "no change"
    assert raw[1] < 0.05 <= holm.at[1, "p_adj"]
    # on_time's CI is inside ± its MDE alone, but not at the family's Bonferroni level 0.05 / 4
    assert holm["verdict"].tolist() == ["improved", "inconclusive (underpowered)", "inconclusive (underpowered)",
                                        "improved"]
    lone_width = rows[2].at[0, "ci_high"] - rows[2].at[0, "ci_low"]
    assert holm.at[2, "ci_high"] - holm.at[2, "ci_low"] > 1.2 * lone_width
    assert holm.at[0, "ci_low"] < rows[0].at[0, "ci_low"] and rows[0].at[0, "ci_high"] < holm.at[0, "ci_high"]
    with pytest.raises(ValueError, match="as this module returns them"):
        qs.evaluate(pd.concat(rows, ignore_index=True))


def test_channel_mix_shift_and_standardised_estimate():
    rng = np.random.default_rng(45)
    n = 6000
    channel_before = rng.choice(["chat", "phone"], n, p=[0.5, 0.5])
    channel_after = rng.choice(["chat", "phone"], n, p=[0.8, 0.2])  # mix moves towards chat
    rate = {"chat": 0.9, "phone": 0.6}  # no change within a channel
    y = lambda ch: (rng.random(n) < np.vectorize(rate.get)(ch)).astype(int)  # noqa: E731
    data = _two_windows(y(channel_before), y(channel_after), channel=np.r_[channel_before, channel_after],
                        agent_id=np.r_[np.arange(n) % 60, np.arange(n) % 60])
    mix = qs.mix_shift(data, "channel")
    assert mix.at[0, "p"] < 1e-6
    assert mix.set_index("channel").at["chat", "change"] == pytest.approx(0.3, abs=0.03)
    crude = qs.compare(data, "fcr", "proportion")
    adjusted = qs.compare(data, "fcr", "proportion", stratify="channel")
    assert crude.at[0, "verdict"] == "improved"  # the mix alone moves the crude share
    assert adjusted.at[0, "ci_low"] < 0 < adjusted.at[0, "ci_high"]
    assert abs(adjusted.at[0, "effect"]) < 0.02
    assert adjusted.at[0, "before"] == pytest.approx(crude.at[0, "before"])  # standardised to the before mix
    assert "direct standardisation" in adjusted.at[0, "method"]


# --------------------------------------------------------------------------- windows

def test_windows_are_whole_weeks_with_the_partial_start_week_excluded():
    w = qs.week_windows("2025-07-09 10:00", weeks_before=8, weeks_after=6, washout_weeks=2).set_index("window")
    assert (w["start"].dt.day_of_week == 0).all() and (w["end"].dt.day_of_week == 0).all()
    assert ((w["end"] - w["start"]) == w["weeks"] * pd.Timedelta(days=7)).all()
    assert w.at["before", "end"] == pd.Timestamp("2025-07-07") == w.at["washout", "start"]
    assert w.at["washout", "weeks"] == 3  # the partly treated start week + 2 wash-out weeks
    assert w.at["after", "start"] == pd.Timestamp("2025-07-28") == w.at["washout", "end"]
    assert w.loc["before", "weeks"] == 8 and w.loc["after", "weeks"] == 6
    monday = qs.week_windows("2025-07-07", washout_weeks=0).set_index("window")
    assert monday.at["washout", "weeks"] == 0 and monday.at["after", "start"] == pd.Timestamp("2025-07-07")
    with pytest.raises(ValueError, match="weeks_before"):
        qs.week_windows("2025-07-07", weeks_before=0)


def test_labels_and_before_after_exclude_the_washout():
    times = pd.Series(pd.date_range("2025-04-01", "2025-10-31 23:00", freq="h"))
    w = qs.week_windows("2025-07-07", weeks_before=4, weeks_after=4, washout_weeks=1)
    labels = qs.label_windows(times, w)
    assert set(labels) == {"before", "after", "excluded"}
    assert labels[times.between("2025-07-07", "2025-07-13 23:59")].eq("excluded").all()
    assert times[labels == "before"].min() == pd.Timestamp("2025-06-09")
    assert times[labels == "after"].max() == pd.Timestamp("2025-08-10 23:00")
    assert (labels == "before").sum() == (labels == "after").sum() == 4 * 7 * 24
    rng = np.random.default_rng(51)
    # a huge jump in the wash-out week must not leak into the comparison
    data = pd.DataFrame({"created_at": times, "agent_id": np.arange(len(times)) % 25,
                         "value": np.where(labels == "excluded", 1, (rng.random(len(times)) < 0.5)).astype(int)})
    row = qs.before_after(data, "fcr", "proportion", "2025-07-07", weeks_before=4, weeks_after=4, washout_weeks=1)
    assert (row.at[0, "n_before"], row.at[0, "n_after"]) == (4 * 7 * 24, 4 * 7 * 24)
    assert abs(row.at[0, "effect"]) < 0.05 and row.at[0, "before"] < 0.6


def test_bad_inputs_are_refused_with_a_clear_message():
    data = _two_windows(np.r_[1, 0, 1], np.r_[0, 1, 1], agent_id=[1, 2, 3, 1, 2, 3])
    with pytest.raises(ValueError, match="direction"):
        qs.compare(data, "fcr", "proportion", direction="up")
    with pytest.raises(ValueError, match="kind"):
        qs.compare(data, "fcr", "mean")
    with pytest.raises(ValueError, match="cluster=None"):
        qs.compare(data.drop(columns="agent_id"), "fcr", "proportion")
    with pytest.raises(ValueError, match="0/1"):
        qs.compare(data.assign(value=[1, 2, 3, 4, 5, 6]), "fcr", "proportion")
    with pytest.raises(ValueError, match="log"):
        qs.compare(data.assign(value=[0, 10, 20, 30, 40, 50]), "aht", "duration")
    with pytest.raises(ValueError, match="after window"):
        qs.compare(data.assign(window="before"), "fcr", "proportion")


# --------------------------------------------------------------------------- issue 13: the edges

def test_one_agent_per_window_is_not_estimable_never_p_zero():
    rng = np.random.default_rng(61)
    data = _two_windows(np.exp(rng.normal(5, 1, 40)), np.exp(rng.normal(5, 1, 40)), agent_id=[1] * 40 + [2] * 40)
    row = qs.compare(data, "aht", "duration", direction="decrease")
    assert row.at[0, "verdict"] == "not estimable" and np.isnan(row.at[0, "p"]) and np.isnan(row.at[0, "ci_low"])
    assert "1 value(s) of 'agent_id' in the before window" in row.at[0, "note"]
    assert row.at[0, "before"] > 0 and row.at[0, "n_before"] == 40  # the levels are still reported
    # one ticket per window with clustering: a row, not a ZeroDivisionError inside statsmodels
    single = qs.compare(_two_windows(np.r_[1], np.r_[0], agent_id=[1, 2]), "fcr", "proportion")
    assert single.at[0, "verdict"] == "not estimable"
    table = qs.evaluate([row, single, qs.compare(_two_windows(_successes(60, 100), _successes(75, 100)), "fcr2",
                                                 "proportion", cluster=None)])
    assert table["verdict"].tolist()[:2] == ["not estimable"] * 2 and np.isnan(table["p_adj"][:2]).all()


def test_zero_or_nan_standard_error_is_not_estimable():
    from qa_helpers.stats._common import _t_inference
    assert all(np.isnan(v) for v in _t_inference(0.3, 0.0, 10, 0.05))
    assert all(np.isnan(v) for v in _t_inference(0.3, np.nan, None, 0.05))
    flat = _two_windows(np.full(40, 100.0), np.full(40, 120.0), agent_id=np.r_[np.arange(40) % 4, np.arange(40) % 4])
    row = qs.compare(flat, "aht", "duration", direction="decrease")
    assert row.at[0, "verdict"] == "not estimable" and "standard error" in row.at[0, "note"]


def test_did_with_one_agent_teams_is_not_estimable():
    rng = np.random.default_rng(62)
    data = _team_panel(rng, "proportion", 0.0, n_agents=1)
    row = qs.diff_in_diff(data, "fcr", "proportion", START, treated="HL-B", controls=["HL-C"])
    assert row.at[0, "verdict"] == "not estimable" and np.isnan(row.at[0, "p"])
    assert "team HL-B has 1 value(s) of 'agent_id'" in row.at[0, "note"]
    assert list(row.columns) == qs.COLUMNS


def test_standardisation_with_no_stratum_in_both_windows_is_not_estimable():
    data = _two_windows(_successes(30, 60), _successes(40, 60), agent_id=np.arange(120) % 6,
                        channel=["phone"] * 60 + ["chat"] * 60)
    row = qs.compare(data, "fcr", "proportion", stratify="channel")
    assert row.at[0, "verdict"] == "not estimable" and "channel" in row.at[0, "note"]


def test_missing_agent_ids_are_grouped_as_one_cluster_and_said_so():
    rng = np.random.default_rng(63)
    agents = pd.array(np.r_[np.arange(200) % 10, np.arange(200) % 10], dtype="Int64")
    agents[::7] = pd.NA
    data = _two_windows(rng.random(200) < 0.6, rng.random(200) < 0.6, agent_id=agents)
    row = qs.compare(data.assign(value=data["value"].astype(int)), "fcr", "proportion")
    assert "G=11" in row.at[0, "method"]  # 10 agents + one cluster of the missing ids
    assert "58 observation(s) without agent_id grouped as one cluster" in row.at[0, "note"]


def test_crashes_are_clear_errors():
    series = _weekly(np.random.default_rng(64), 0.0)
    with pytest.raises(ValueError, match="more than once"):
        qs.segmented(pd.concat([series, series.iloc[[30]]]), "fcr", "2025-07-07")
    times = pd.Series(pd.date_range("2025-06-01", periods=60, freq="D", tz="Asia/Shanghai"))
    data = pd.DataFrame({"created_at": times, "value": np.arange(60) % 2, "agent_id": np.arange(60) % 5})
    with pytest.raises(ValueError, match="tz-aware"):
        qs.before_after(data, "fcr", "proportion", "2025-07-07", weeks_before=2, weeks_after=2)
    scores = _two_windows(np.r_[1, 2, 5, 3], np.r_[4, 6, 5, 2], agent_id=[1, 2, 1, 2, 1, 2, 1, 2])
    with pytest.raises(ValueError, match="outside the scale 1-5"):
        qs.compare(scores, "qa", "ordinal", score_range=(1, 5))
    with pytest.raises(ValueError, match="whole numbers"):
        qs.compare(scores.assign(value=scores["value"] + 0.5), "qa", "ordinal")
    # one ticket per window with clustering: not estimable with the reason, no ZeroDivisionError
    one = qs.compare(_two_windows(np.r_[1.0], np.r_[0.0], agent_id=[1, 2]), "fcr", "proportion")
    assert one.at[0, "verdict"] == "not estimable" and "at least 2" in one.at[0, "note"]


def test_weighted_kappa_refuses_scores_off_the_scale():
    from qa_helpers.qa.calibration import weighted_kappa
    with pytest.raises(ValueError, match=r"score 0 \(pair 1\) is not on the scale 1, 2, 3, 4, 5"):
        weighted_kappa([0, 1, 2, 3], [1, 2, 3, 4])  # was KeyError: 0
    with pytest.raises(ValueError, match="second rater's score 6"):
        weighted_kappa([1, 2, 3, 4], [1, 2, 3, 6])
    with pytest.raises(ValueError, match="score 2.5"):
        weighted_kappa([1, 2.5, 3], [1, 2, 3])  # was silently filed under 2
    assert weighted_kappa([1, 2, 3, np.nan], [1, 2, 3, 4]) == 1.0  # a missing score is not a bad one


# --------------------------------------------------------------------------- issue 13: small and zero counts

def test_complaints_falling_from_four_to_zero_is_honest():
    data = _two_windows(np.r_[np.ones(4), np.zeros(396)], np.zeros(400), agent_id=np.arange(800) % 20)
    for cluster in (None, "agent_id"):
        row = qs.compare(data, "complaints", "rate", cluster=cluster, direction="decrease")
        assert "exact conditional" in row.at[0, "method"]
        assert row.at[0, "effect"] == 0 and row.at[0, "ci_low"] == 0 < row.at[0, "ci_high"]
        assert row.at[0, "p"] >= 0.05 and row.at[0, "verdict"] == "inconclusive (underpowered)"
    naive = qs.compare(data, "complaints", "rate", cluster=None, direction="decrease")
    assert naive.at[0, "p"] == pytest.approx(stats.binomtest(0, 4, 0.5).pvalue, rel=1e-12)  # = 0.125
    nothing = qs.compare(_two_windows(np.zeros(300), np.zeros(300)), "complaints", "rate", cluster=None,
                         direction="decrease")
    assert nothing.at[0, "verdict"] == "inconclusive (no events)"


def test_zero_to_five_in_a_hundred_does_not_say_improved():
    row = qs.compare(_two_windows(np.zeros(100), _successes(5, 100)), "fcr", "proportion", cluster=None)
    assert "Fisher's exact" in row.at[0, "method"] and row.at[0, "verdict"] != "improved"
    # R fisher.test(matrix(c(5, 95, 0, 100), 2)): the two tables as likely as the one seen
    assert row.at[0, "p"] == pytest.approx(2 * special.comb(100, 5) / special.comb(200, 5), rel=1e-9)
    assert row.at[0, "ci_low"] <= row.at[0, "effect"] <= row.at[0, "ci_high"]
    ceiling = qs.compare(_two_windows(np.ones(50), _successes(49, 50)), "fcr", "proportion", cluster=None)
    assert ceiling.at[0, "verdict"] == "inconclusive (at ceiling)"


def test_exact_methods_match_r_documented_values():
    # R: poisson.test(c(11, 6 + 8 + 7), c(800, 1083 + 1050 + 878)) (the help page's eba1977 example):
    #    p-value = 0.07967, 95 percent CI 0.8584264 4.2772659, rate ratio 1.971488
    p, lo, hi = qs.exact_rate_ratio(11, 800, 21, 3011)
    assert round(p, 5) == 0.07967 and round(lo, 7) == 0.8584264 and round(hi, 7) == 4.2772659
    data = _two_windows(np.r_[np.ones(21), np.zeros(3011 - 21)], np.r_[np.ones(11), np.zeros(800 - 11)])
    row = qs.compare(data, "complaints", "rate", cluster=None, test="exact")
    assert round(row.at[0, "effect"], 6) == 1.971488 and round(row.at[0, "p"], 5) == 0.07967
    assert round(row.at[0, "ci_low"], 7) == 0.8584264 and round(row.at[0, "ci_high"], 7) == 4.2772659
    # R: poisson.test(137, 24.19893) (SMR, Welsh nickel workers): p-value < 2.2e-16, CI 4.753125 6.692709
    p, lo, hi = qs.exact_poisson(137, 24.19893)
    assert p < 2.2e-16 and round(lo, 6) == 4.753125 and round(hi, 6) == 6.692709
    # the one-sample p follows R's rule; scipy's binomtest rule agrees on a binomial limit
    assert qs.exact_poisson(3, 1.0, rate=7.5)[0] == pytest.approx(
        stats.poisson.cdf(3, 7.5) + stats.poisson.sf(11, 7.5), rel=1e-12)
    # Clopper–Pearson = scipy binomtest(...).proportion_ci(method="exact") (= R binom.test)
    ci = stats.binomtest(7, 30).proportion_ci(method="exact")
    assert qs.clopper_pearson(7, 30) == pytest.approx((ci.low, ci.high), rel=1e-12)
    # R: prop.test(x = c(490, 400), n = c(500, 500)): X-squared = 80.909, CI 0.1408536 0.2191464
    chi2, _, lo, hi = qs.yates_prop_test(490, 500, 400, 500)
    assert round(chi2, 3) == 80.909 and round(lo, 7) == 0.1408536 and round(hi, 7) == 0.2191464
    row = qs.compare(_two_windows(_successes(400, 500), _successes(490, 500)), "x", "proportion", cluster=None,
                     test="yates")
    assert round(row.at[0, "ci_low"], 7) == 0.1408536 and "Yates" in row.at[0, "method"]
    assert row.at[0, "p"] == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12)


def test_naive_duration_test_is_welch_on_logs_as_r_t_test():
    # R: t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939,
    #    95 percent CI -3.3654832 0.2054832; durations exp(extra) make the kit's log scale R's scale
    g1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
    g2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])
    row = qs.compare(_two_windows(np.exp(g2), np.exp(g1)), "aht", "duration", cluster=None)
    assert round(row.at[0, "p"], 5) == 0.07939 and "Welch" in row.at[0, "method"]
    assert round(np.log(row.at[0, "ci_low"]), 7) == -3.3654832 and round(np.log(row.at[0, "ci_high"]), 7) == 0.2054832


def test_wilcoxon_rank_sum_matches_r_documented_values():
    # Hollander & Wolfe (1999, p. 111), R coin::wilcox_test(pd ~ age, distribution = "exact", conf.int = TRUE):
    #    p-value = 0.2544, 95 percent CI -0.76 0.15, difference in location -0.305 (12-26 weeks - at term)
    term = np.array([0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46])
    early = np.array([1.15, 0.88, 0.90, 0.74, 1.21])
    # durations exp(value): the kit's log scale is the data's own scale, its ratios exp(shift)
    row = qs.compare(_two_windows(np.exp(term), np.exp(early)), "aht", "duration", cluster=None, test="wilcoxon")
    assert round(row.at[0, "p"], 4) == 0.2544 and "Wilcoxon rank-sum test (exact" in row.at[0, "method"]
    assert np.log(row.at[0, "effect"]) == pytest.approx(-0.305, abs=1e-9)
    assert np.log(row.at[0, "ci_low"]) == pytest.approx(-0.76, abs=1e-9)
    assert np.log(row.at[0, "ci_high"]) == pytest.approx(0.15, abs=1e-9)
    # R: wilcox.test(x, y) with ties (normal approximation, continuity correction):
    #    W = 51.5, p-value = 0.5966; and against y2: W = 0, p-value = 0.001364 (endmemo.com R reference)
    x = np.array([1, 5, 9, 24, 56, 21, 3, 7, 21, 4.0])
    y = np.array([12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5.0])
    y2 = np.array([1233, 4356, 987, 39999, 1111, 200000.0])
    w, p, *_ = qs.wilcoxon_rank_sum(np.log(x), np.log(y))
    assert w == 51.5 and round(p, 4) == 0.5966
    w, p, *_ = qs.wilcoxon_rank_sum(np.log(x), np.log(y2))
    assert w == 0 and round(p, 6) == 0.001364
    # the Hodges–Lehmann shift and Moses limits are order statistics of all pairwise differences
    rng = np.random.default_rng(66)
    a, b = rng.normal(size=300), rng.normal(size=250)
    diffs = np.sort(np.subtract.outer(a, b).ravel())
    _, _, shift, lo, hi, _ = qs.wilcoxon_rank_sum(a, b)
    k = int(np.floor(300 * 250 / 2 - Z975 * np.sqrt(300 * 250 * 551 / 12)))
    assert shift == pytest.approx(np.median(diffs), abs=1e-12)
    assert (lo, hi) == pytest.approx((diffs[k], diffs[-k - 1]), abs=1e-12)
    with pytest.raises(ValueError, match="observation-level"):
        qs.compare(_two_windows(np.exp(term), np.exp(early), agent_id=np.arange(15) % 3), "aht", "duration",
                   test="wilcoxon")


# --------------------------------------------------------------------------- issue 13: CR2 / Bell–McCaffrey

def test_cr2_matches_the_dense_formulas_and_known_identities():
    from scipy import linalg
    rng = np.random.default_rng(65)
    n = 60
    g = rng.integers(0, 9, n)
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.random(n) < 0.5])
    y = rng.normal(size=n) + 0.3 * g
    c = np.array([0.0, 1.0, -1.0])
    bread = np.linalg.inv(x.T @ x)
    resid = y - x @ bread @ x.T @ y
    hat = x @ bread @ x.T
    var, cols = 0.0, []
    for k in np.unique(g):  # the textbook CR2 and Bell–McCaffrey df, with n x n matrices
        i = np.flatnonzero(g == k)
        a = np.real(linalg.sqrtm(np.linalg.inv(np.eye(len(i)) - hat[np.ix_(i, i)])))
        var += (c @ bread @ x[i].T @ a @ resid[i]) ** 2
        cols.append((np.eye(n) - hat)[:, i] @ a @ x[i] @ bread @ c)
    gram = np.column_stack(cols).T @ np.column_stack(cols)
    est, se, df = qs.cr2_contrast(x, y, g, c)
    assert se == pytest.approx(np.sqrt(var), rel=1e-10)
    assert df == pytest.approx(np.trace(gram) ** 2 / np.sum(gram * gram), rel=1e-10)
    # one observation per cluster: CR2 is HC2, whose two-group variance is Welch's, and the
    # Bell–McCaffrey df has Imbens & Kolesár's (2016, §3) closed form
    after = np.r_[np.ones(20, bool), np.zeros(30, bool)]
    y = rng.normal(size=50) + after
    two = np.column_stack([~after, after]).astype(float)
    _, se, df = qs.cr2_contrast(two, y, np.arange(50), np.array([-1.0, 1.0]))
    assert se ** 2 == pytest.approx(y[after].var(ddof=1) / after.sum() + y[~after].var(ddof=1) / (~after).sum())
    assert df == pytest.approx(50 ** 2 * 29 * 19 / (20 ** 2 * 19 + 30 ** 2 * 29), rel=1e-10)
    # balanced clusters, m per window: df = 2 (m - 1)
    groups = np.repeat(np.arange(12), 5)
    after = groups >= 6
    _, _, df = qs.cr2_contrast(np.column_stack([~after, after]).astype(float), rng.normal(size=60), groups,
                               np.array([-1.0, 1.0]))
    assert df == pytest.approx(10)
    row = qs.compare(_two_windows(np.exp(rng.normal(5, 1, 60)), np.exp(rng.normal(5, 1, 60)),
                                  agent_id=np.r_[np.arange(60) % 7, 7 + np.arange(60) % 7]), "aht", "duration")
    assert "CR2, t with Bell–McCaffrey df" in row.at[0, "method"]


@pytest.mark.parametrize("clusters", [9, 150])
def test_cr2_blocks_match_the_textbook_formulas_for_few_and_many_clusters(clusters):
    """The batched CR2 (a product per cluster up to 64 clusters, sums over sorted rows beyond) against
    the n x n textbook formulas, with WLS weights, string cluster ids and a cluster of one row."""
    from scipy import linalg
    rng = np.random.default_rng(clusters)
    n = 4 * clusters
    g = np.array([f"agent {i:03d}" for i in rng.integers(1, clusters, n)], dtype=object)
    g[0] = "agent 000"  # one cluster of a single row
    weights = rng.random(n) + 0.5
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.random(n) < 0.3, rng.normal(size=n)])
    y = rng.normal(size=n)
    c = np.array([0.0, 1.0, -1.0, 0.5])
    xw, yw = x * np.sqrt(weights)[:, None], y * np.sqrt(weights)
    bread = np.linalg.inv(xw.T @ xw)
    resid = yw - xw @ bread @ xw.T @ yw
    hat = xw @ bread @ xw.T
    var, cols = 0.0, []
    for k in np.unique(g):
        i = np.flatnonzero(g == k)
        a = np.real(linalg.sqrtm(np.linalg.inv(np.eye(len(i)) - hat[np.ix_(i, i)])))
        var += (c @ bread @ xw[i].T @ a @ resid[i]) ** 2
        cols.append((np.eye(n) - hat)[:, i] @ a @ xw[i] @ bread @ c)
    gram = np.column_stack(cols).T @ np.column_stack(cols)
    est, se, df = qs.cr2_contrast(x, y, g, c, weights)
    assert est == pytest.approx(c @ bread @ xw.T @ yw, rel=1e-10)
    assert se == pytest.approx(np.sqrt(var), rel=1e-10)
    assert df == pytest.approx(np.trace(gram) ** 2 / np.sum(gram * gram), rel=1e-10)


def test_segmented_baseline_bends_except_for_scores():
    """Shares, durations and rates get the bending baseline; mean 1-5 scores a straight one, named in the method."""
    from qa_helpers.stats import bends, segmented

    assert [bends(k) for k in ("proportion", "duration", "rate", "ordinal")] == [True, True, True, False]
    weeks = pd.date_range("2025-01-06", periods=30, freq="7D")
    rng = np.random.default_rng(3)
    series = pd.DataFrame({"week": weeks, "value": 4.0 + rng.normal(0, 0.05, 30)})
    straight = segmented(series, "score", weeks[15], bootstrap=99, bend=False)
    bent = segmented(series, "score", weeks[15], bootstrap=99)
    assert straight["method"].str.contains("straight baseline").all()
    assert bent["method"].str.contains("quadratic trend").all()
    assert not np.isclose(straight["effect"].iloc[1], bent["effect"].iloc[1])
