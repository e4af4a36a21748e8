"""QA calibration: agreement statistics against published values, bias, IQS, review sample."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from qa_helpers.qa import calibration as cal  # noqa: E402
from qa_helpers.data.sample import simulate  # noqa: E402

# Fleiss (1971) / Wikipedia "Fleiss' kappa" worked example: 10 subjects, 14 raters, 5 categories.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]
# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def _reviews(scores: dict[tuple[str, str], dict[str, object]], calibration: bool = True) -> pd.DataFrame:
    """Build a qa_reviews-shaped frame from {(ticket, reviewer): {column: value}}."""
    rows = []
    for i, ((ticket, reviewer), values) in enumerate(scores.items()):
        row = {"review_id": f"QA{i:04d}", "ticket_id": ticket, "agent_id": "A1", "reviewer_id": reviewer,
               "reviewed_at": pd.Timestamp("2025-03-01") + pd.Timedelta(minutes=i),
               "critical_fail": False, "process_compliant": True, "calibration": calibration}
        row.update(values)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for item in cal.RUBRIC_ITEMS:
        if item in frame:
            frame[item] = pd.array(frame[item], dtype="Int64")
    frame["critical_fail"] = frame["critical_fail"].astype("boolean")
    return frame


def _from_matrix(matrix, item: str = "courtesy") -> pd.DataFrame:
    """Tickets × reviewers matrix of scores → calibration reviews of one item."""
    matrix = np.asarray(matrix)
    return _reviews({(f"T{t:02d}", f"R{r:02d}"): {item: int(matrix[t, r])}
                     for t in range(matrix.shape[0]) for r in range(matrix.shape[1])})


# --------------------------------------------------------------------------- Fleiss' kappa


def test_fleiss_kappa_reproduces_published_example():
    assert round(cal.fleiss_kappa_from_counts(FLEISS_TABLE), 4) == 0.2099


def test_fleiss_kappa_by_item_from_review_rows():
    # expand the published count table into 14 reviewers' individual scores 1–5
    scores = {}
    for t, counts in enumerate(FLEISS_TABLE):
        ratings = np.repeat(np.arange(1, 6), counts)
        for r, score in enumerate(ratings):
            scores[(f"T{t:02d}", f"R{r:02d}")] = {"courtesy": int(score)}
    reviews = _reviews(scores)
    out = cal.fleiss_kappa_by_item(reviews, items=["courtesy"]).set_index("item")
    assert out.loc["courtesy", "subjects"] == 10
    assert out.loc["courtesy", "raters"] == 14
    assert round(out.loc["courtesy", "kappa"], 4) == 0.2099
    # a single item pooled is the same item
    assert round(out.loc["all", "kappa"], 4) == 0.2099


def test_fleiss_kappa_needs_constant_raters_and_drops_na_tickets():
    with pytest.raises(ValueError, match="same number of raters"):
        cal.fleiss_kappa_from_counts([[2, 1], [1, 1]])
    matrix = [[5, 5, 5], [1, 1, 2], [3, 3, 3], [4, 4, 4]]
    reviews = _from_matrix(matrix)
    reviews.loc[(reviews["ticket_id"] == "T03") & (reviews["reviewer_id"] == "R01"), "courtesy"] = pd.NA
    out = cal.fleiss_kappa_by_item(reviews, items=["courtesy"]).set_index("item")
    assert out.loc["courtesy", "subjects"] == 3  # T03 has an N/A: left out
    assert out.loc["courtesy", "kappa"] == pytest.approx(cal.fleiss_kappa_from_counts(
        [[0, 0, 0, 0, 3], [2, 1, 0, 0, 0], [0, 0, 3, 0, 0]]))


def test_fleiss_kappa_ignores_non_calibration_reviews():
    reviews = _from_matrix([[5, 5], [1, 1], [3, 3]])
    extra = _reviews({("T00", "R00"): {"courtesy": 1}, ("T00", "R01"): {"courtesy": 5}}, calibration=False)
    extra["ticket_id"] = ["X1", "X1"]
    out = cal.fleiss_kappa_by_item(pd.concat([reviews, extra], ignore_index=True), items=["courtesy"])
    assert out.loc[0, "subjects"] == 3
    assert out.loc[0, "kappa"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- weighted Cohen's kappa


def _hand_weighted_kappa(a, b, power: int) -> float:
    """Independent computation: κw = 1 − Σ w·O / Σ w·E on the 5×5 table, w = |i − j|^power."""
    observed = np.zeros((5, 5))
    for x, y in zip(a, b):
        observed[x - 1, y - 1] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i, j = np.indices((5, 5))
    w = np.abs(i - j) ** power
    return 1 - (w * observed).sum() / (w * expected).sum()


A = [1, 2, 3, 4, 5, 3, 4, 4, 2, 5, 3, 1, 4, 5, 2, 3]
B = [1, 3, 3, 5, 4, 3, 4, 3, 2, 5, 2, 2, 4, 4, 1, 5]


def test_weighted_kappa_matches_hand_computation():
    assert cal.weighted_kappa(A, B, weights="quadratic") == pytest.approx(_hand_weighted_kappa(A, B, 2), abs=1e-12)
    assert cal.weighted_kappa(A, B, weights="linear") == pytest.approx(_hand_weighted_kappa(A, B, 1), abs=1e-12)
    # quadratic weights forgive the many 1-point disagreements more than linear ones
    assert cal.weighted_kappa(A, B, "quadratic") > cal.weighted_kappa(A, B, "linear")


def test_weighted_kappa_small_worked_example():
    # O: (1,1), (1,2), (2,2) x2 -> Σ w·O = 1/4; margins a = (.5, .5), b = (.25, .75)
    # E off-diagonal: .5·.75 + .5·.25 = .5 -> κ = 1 − .25/.5 = 0.5 (linear and quadratic agree: gaps of 1)
    assert cal.weighted_kappa([1, 1, 2, 2], [1, 2, 2, 2]) == pytest.approx(0.5)
    assert cal.weighted_kappa([1, 1, 2, 2], [1, 2, 2, 2], weights="linear") == pytest.approx(0.5)
    assert np.isnan(cal.weighted_kappa([4, 4, 4], [4, 4, 4]))  # one category throughout: undefined


def test_pairwise_weighted_kappa_per_pair_and_pooled():
    c = [min(5, x + 1) for x in A]  # a lenient third reviewer
    reviews = _from_matrix(np.column_stack([A, B, c]))
    out = cal.pairwise_weighted_kappa(reviews, items=["courtesy"])
    assert set(zip(out["reviewer_a"], out["reviewer_b"])) == {("R00", "R01"), ("R00", "R02"), ("R01", "R02")}
    row = out[(out["reviewer_a"] == "R00") & (out["reviewer_b"] == "R01") & (out["item"] == "courtesy")].iloc[0]
    assert row["n"] == len(A)
    assert row["kappa"] == pytest.approx(_hand_weighted_kappa(A, B, 2))
    assert row["ci_low"] < row["kappa"] < row["ci_high"]
    assert row["weights"] == "quadratic"
    pooled = out[(out["reviewer_a"] == "R00") & (out["reviewer_b"] == "R02") & (out["item"] == "all")].iloc[0]
    assert pooled["kappa"] == pytest.approx(_hand_weighted_kappa(A, c, 2))



def test_pairwise_weighted_kappa_pairs_that_share_no_ticket():
    """Reviewers in two groups that never scored the same conversation (a large centre's teams):
    the cross pairs are rows with n = 0 and no kappa; the pairs within a group are as if alone."""
    first = _from_matrix(np.column_stack([A, B]))
    second = _from_matrix(np.column_stack([B, [min(5, x + 1) for x in A]]))
    second["ticket_id"] = "U" + second["ticket_id"]
    second["reviewer_id"] = second["reviewer_id"].str.replace("R0", "S0")
    second["review_id"] = "S" + second["review_id"].astype(str)
    for part in (first, second):
        part["voice_quality"] = (6 - part["courtesy"]).astype("Int64")  # a second item, scored otherwise
    both = pd.concat([first, second], ignore_index=True)
    out = cal.pairwise_weighted_kappa(both, items=["courtesy", "voice_quality"])
    cross = out[out["reviewer_a"].str[0] != out["reviewer_b"].str[0]]
    assert len(cross) == 4 * 3 and (cross["n"] == 0).all() and cross["kappa"].isna().all()
    for part in (first, second):
        alone = cal.pairwise_weighted_kappa(part, items=["courtesy", "voice_quality"])
        within = out.merge(alone[["reviewer_a", "reviewer_b", "item"]], on=["reviewer_a", "reviewer_b", "item"])
        pd.testing.assert_frame_equal(within.reset_index(drop=True), alone.reset_index(drop=True))


# --------------------------------------------------------------------------- ICC


def test_anova_mean_squares_shrout_fleiss():
    ms = cal.anova_mean_squares(SHROUT_FLEISS)
    # Shrout & Fleiss (1979) Table 3: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02
    assert round(ms["BMS"], 2) == 11.24
    assert round(ms["WMS"], 2) == 6.26
    assert round(ms["JMS"], 2) == 32.49
    assert round(ms["EMS"], 2) == 1.02


def test_icc_reproduces_shrout_fleiss():
    out = cal.icc(SHROUT_FLEISS).set_index("type")
    assert round(out.loc["ICC(1,1)", "icc"], 2) == 0.17
    assert round(out.loc["ICC(2,1)", "icc"], 2) == 0.29
    assert round(out.loc["ICC(3,1)", "icc"], 2) == 0.71
    # F test and 95 % intervals as printed by R psych::ICC for the same data
    assert round(out.loc["ICC(2,1)", "f"], 1) == 11.0
    assert round(out.loc["ICC(2,1)", "ci_low"], 3) == 0.019
    assert round(out.loc["ICC(2,1)", "ci_high"], 2) == 0.76
    assert round(out.loc["ICC(3,1)", "ci_low"], 2) == 0.34
    assert round(out.loc["ICC(3,1)", "ci_high"], 2) == 0.95
    assert round(out.loc["ICC(1,1)", "ci_low"], 2) == -0.13
    assert round(out.loc["ICC(1,1)", "ci_high"], 2) == 0.72


def test_calibration_icc_on_review_rows():
    reviews = _from_matrix((np.asarray(SHROUT_FLEISS) + 1) // 2)  # the 1–10 ratings folded onto 1–5
    wide = cal.rating_matrix(reviews, "courtesy")
    expected = cal.icc(wide).set_index("type").loc["ICC(2,1)", "icc"]
    out = cal.calibration_icc(reviews, items=["courtesy"], weights={"courtesy": 1}).set_index("item")
    assert out.loc["courtesy", "tickets"] == 6
    assert out.loc["courtesy", "reviewers"] == 4
    assert out.loc["courtesy", "icc"] == pytest.approx(expected)
    # the IQS is a linear rescaling of the one item here, and the ICC is scale-free
    assert out.loc["iqs", "icc"] == pytest.approx(expected)


# --------------------------------------------------------------------------- IQS


def test_quality_score_hand_computed():
    items = cal.RUBRIC_ITEMS
    reviews = pd.DataFrame({
        "voice_quality": pd.array([5, 1, 3, 5, pd.NA, pd.NA], dtype="Int64"),
        "courtesy": pd.array([5, 1, 4, 5, pd.NA, pd.NA], dtype="Int64"),
        "problem_solving": pd.array([5, 1, 2, 5, pd.NA, pd.NA], dtype="Int64"),
        "proactiveness": pd.array([5, 1, pd.NA, 5, pd.NA, pd.NA], dtype="Int64"),
        "compliance": pd.array([5, 1, 5, 5, pd.NA, pd.NA], dtype="Int64"),
        "critical_fail": pd.array([False, False, False, True, False, True], dtype="boolean"),
    })
    assert list(items) == list(cal.DEFAULT_WEIGHTS)
    iqs = cal.quality_score(reviews)
    assert iqs.name == "iqs"
    assert iqs[0] == pytest.approx(100.0)
    assert iqs[1] == pytest.approx(0.0)
    # row 2: proactiveness N/A leaves the denominator; weights 10, 20, 30, 25 remain (85)
    # rescaled 3→50, 4→75, 2→25, 5→100: (10·50 + 20·75 + 30·25 + 25·100) / 85 = 5250 / 85
    assert iqs[2] == pytest.approx(5250 / 85)
    assert iqs[3] == 0.0  # critical fail overrides perfect items
    assert np.isnan(iqs[4])  # nothing scored, no fail: no score
    assert iqs[5] == 0.0  # nothing scored but a critical fail: 0


def test_quality_score_custom_weights_and_auto_fail_columns():
    reviews = pd.DataFrame({
        "courtesy": pd.array([4, 2, 5, 5], dtype="Int64"),
        "compliance": pd.array([2, pd.NA, 5, 5], dtype="Int64"),
        "critical_fail": pd.array([False, False, True, False], dtype="boolean"),
        "data_breach": pd.array([False, False, False, pd.NA], dtype="boolean"),
    })
    iqs = cal.quality_score(reviews, weights={"courtesy": 1, "compliance": 3},
                            auto_fail=("critical_fail", "data_breach"))
    # row 0: (1·75 + 3·25) / 4 = 37.5; row 1: compliance N/A → courtesy alone = 25
    assert iqs.tolist()[:2] == pytest.approx([37.5, 25.0])
    assert iqs[2] == 0.0
    assert iqs[3] == pytest.approx(100.0)  # a missing auto-fail flag is not a fail
    no_fail = cal.quality_score(reviews, weights={"courtesy": 1, "compliance": 3}, auto_fail=())
    assert no_fail[2] == pytest.approx(100.0)
    with pytest.raises(ValueError):
        cal.quality_score(reviews, weights={"courtesy": -1})
    bad = reviews.assign(courtesy=pd.array([7, 1, 1, 1], dtype="Int64"))
    with pytest.raises(ValueError, match="courtesy"):
        cal.quality_score(bad, weights={"courtesy": 1}, auto_fail=())


# --------------------------------------------------------------------------- within tolerance


def test_within_tolerance_relative_and_absolute():
    # weights {courtesy: 1}: IQS 1→0, 2→25, 3→50, 4→75, 5→100
    scores = {
        "T1": (4, 4, 4),  # 75, 75, 75: consensus 75, all within
        "T2": (5, 5, 3),  # 100, 100, 50: consensus 83.3, diffs 16.7, 16.7, 33.3: none within
        "T3": (5, 5, 5),  # all within
        "T4": (3, 3, 2),  # 50, 50, 25: consensus 41.7, diffs 8.3, 8.3, 16.7
    }
    reviews = _reviews({(t, r): {"courtesy": s[i]} for t, s in scores.items()
                        for i, r in enumerate(["R1", "R2", "R3"])})
    lone = _reviews({("T9", "R1"): {"courtesy": 1}})  # one reviewer only: no consensus, ignored
    reviews = pd.concat([reviews, lone], ignore_index=True)
    rel = cal.within_tolerance(reviews, tolerance=0.10, weights={"courtesy": 1}).set_index("reviewer_id")
    # relative: T4 allows ±4.17 points, so only T1 and T3 are within
    assert rel["tickets"].to_dict() == {"R1": 4, "R2": 4, "R3": 4, "all": 12}
    assert rel["within"].to_dict() == {"R1": 2, "R2": 2, "R3": 2, "all": 6}
    assert rel.loc["all", "share"] == pytest.approx(0.5)
    ab = cal.within_tolerance(reviews, tolerance=0.10, relative=False, weights={"courtesy": 1}).set_index("reviewer_id")
    # absolute ±10 points: R1 and R2 are also within on T4
    assert ab["within"].to_dict() == {"R1": 3, "R2": 3, "R3": 2, "all": 8}


# --------------------------------------------------------------------------- reviewer bias


def _panel(bias: dict[str, float], tickets: int = 30, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    quality = rng.normal(0, 0.7, tickets)
    scores = {}
    for t in range(tickets):
        for reviewer, b in bias.items():
            scores[(f"T{t:02d}", reviewer)] = {
                item: int(np.clip(np.round(3.3 + quality[t] + b + rng.normal(0, 0.5)), 1, 5))
                for item in cal.RUBRIC_ITEMS}
    return _reviews(scores)


def test_reviewer_bias_detects_planted_harsh_reviewer():
    # bias is measured against the panel's consensus, so plant a balanced panel (mean bias 0)
    planted = {"R1": 0.0, "R2": 0.0, "R3": 0.0, "R4": -0.5, "R5": 0.5}
    out = cal.reviewer_bias(_panel(planted)).set_index("reviewer_id")
    assert (out["tickets"] == 30).all()
    assert out.loc["R4", "ci_high"] < 0
    assert out.loc["R4", "bias"] == pytest.approx(-0.5, abs=0.15)
    assert out.loc["R5", "ci_low"] > 0
    for unbiased in ("R1", "R2", "R3"):
        assert out.loc[unbiased, "ci_low"] < 0 < out.loc[unbiased, "ci_high"]
    assert out["bias"].idxmin() == "R4"


def test_reviewer_bias_leave_one_out_relation():
    reviews = _panel({"R1": 0.0, "R2": 0.0, "R3": -0.5})
    everyone = cal.reviewer_bias(reviews).set_index("reviewer_id")["bias"]
    others = cal.reviewer_bias(reviews, leave_one_out=True).set_index("reviewer_id")["bias"]
    # k = 3 reviewers on every ticket: difference from all = (k − 1)/k × difference from the others
    assert everyone.to_numpy() == pytest.approx(2 / 3 * others.to_numpy())
    assert everyone.sum() == pytest.approx(0.0, abs=1e-12)  # differences from the mean cancel


def test_reviewer_bias_finds_simulated_harsh_reviewer():
    sim = simulate(n_tickets=6000, seed=11)
    bias = cal.reviewer_bias(sim["tables"]["qa_reviews"]).set_index("reviewer_id")
    harsh = min(sim["truth"]["reviewer_bias"], key=sim["truth"]["reviewer_bias"].get)
    assert bias["bias"].idxmin() == harsh
    assert bias.loc[harsh, "ci_high"] < 0
    agreement = cal.fleiss_kappa_by_item(sim["tables"]["qa_reviews"])
    assert list(agreement["item"]) == [*cal.RUBRIC_ITEMS, "all"]
    assert (agreement["raters"] == 5).all()
    assert agreement["subjects"].iloc[:-1].max() <= len(sim["truth"]["calibration_tickets"])


# --------------------------------------------------------------------------- distributions


def test_score_distribution_counts_and_shares():
    reviews = pd.DataFrame({
        "reviewer_id": ["R1", "R1", "R1", "R2"],
        "agent_id": ["A1", "A2", "A2", "A2"],
        "courtesy": pd.array([5, 5, 3, pd.NA], dtype="Int64"),
        "compliance": pd.array([1, 2, 2, 4], dtype="Int64"),
    })
    out = cal.score_distribution(reviews, items=["courtesy", "compliance"])
    assert list(out.columns) == ["group", "item", "score", "count", "share"]
    assert len(out) == 2 * 2 * 5  # every score for every group and item
    r1 = out[(out["group"] == "R1") & (out["item"] == "courtesy")].set_index("score")
    assert r1["count"].to_dict() == {1: 0, 2: 0, 3: 1, 4: 0, 5: 2}
    assert r1.loc[5, "share"] == pytest.approx(2 / 3)
    r2 = out[(out["group"] == "R2") & (out["item"] == "courtesy")]
    assert r2["count"].sum() == 0 and r2["share"].isna().all()  # nothing scored
    by_agent = cal.score_distribution(reviews, by="agent_id", items=["courtesy"], include_na=True)
    a2 = by_agent[by_agent["group"] == "A2"]
    assert a2["count"].sum() == 3
    assert a2.loc[a2["score"].isna(), "count"].item() == 1
    assert a2["share"].sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- review sample


@pytest.fixture()
def population() -> pd.DataFrame:
    sizes = {("A1", "phone"): 1000, ("A1", "chat"): 200, ("A2", "chat"): 40, ("A2", "email"): 10, ("A3", "onsite"): 2}
    rows = [{"ticket_id": f"{agent}-{channel}-{i:04d}", "agent_id": agent, "channel": channel}
            for (agent, channel), n in sizes.items() for i in range(n)]
    return pd.DataFrame(rows)


def test_sample_sizes_follow_precision_formula(population):
    # n0 = 1.95996² · 0.25 / 0.10² = 96.04; n = n0 / (1 + (n0 − 1)/N), rounded up, min 3, max N
    # N = 1000 → 87.70 → 88; 200 → 65.10 → 66; 40 → 28.45 → 29; 10 → 9.14 → 10; 2 → min 3 capped at 2
    sizes = cal.stratum_sample_sizes(population).set_index("stratum")
    assert sizes["sample_size"].to_dict() == {
        "A1|chat": 66, "A1|phone": 88, "A2|chat": 29, "A2|email": 10, "A3|onsite": 2}
    assert sizes["population"].to_dict() == {
        "A1|chat": 200, "A1|phone": 1000, "A2|chat": 40, "A2|email": 10, "A3|onsite": 2}
    # a looser target: n0 = 1.95996² · 0.2 · 0.8 / 0.2² = 15.37
    # N = 1000 → 15.15 → 16; N = 10 → 6.31 → 7; N = 4 → 4.0 raised to the minimum 5, capped at N = 4
    assert cal.required_sample_size([1000, 10, 4], margin=0.2, p=0.2, minimum=5).tolist() == [16, 7, 4]
    assert cal.required_sample_size([1000, 10, 4], margin=0.2, p=0.2, minimum=10).tolist() == [16, 10, 4]


def test_review_sample_reproducible_and_stratified(population, tmp_path):
    first = cal.review_sample(population, seed=42)
    again = cal.review_sample(population.sample(frac=1, random_state=0), seed=42)  # row order does not matter
    other = cal.review_sample(population, seed=43)
    pd.testing.assert_frame_equal(first, again)
    assert set(first["ticket_id"]) != set(other["ticket_id"])
    assert list(first.columns) == ["ticket_id", "agent_id", "channel", "stratum"]
    assert first["ticket_id"].is_unique
    assert set(first["ticket_id"]) <= set(population["ticket_id"])
    expected = cal.stratum_sample_sizes(population).set_index("stratum")["sample_size"]
    got = first.groupby("stratum").size()
    assert got.to_dict() == expected.to_dict()
    # small strata are taken whole
    assert set(first.loc[first["stratum"] == "A2|email", "ticket_id"]) == \
        set(population.loc[(population["agent_id"] == "A2") & (population["channel"] == "email"), "ticket_id"])
    path = cal.write_review_sample(first, tmp_path / "next" / "review_sample.csv")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert back["ticket_id"].tolist() == first["ticket_id"].tolist()
    assert back["stratum"].tolist() == first["stratum"].tolist()


# --------------------------------------------------------------------------- plots


def test_calibration_plots_label_and_return_ax():
    planted = {"R1": 0.0, "R2": 0.0, "R3": -0.5}
    reviews = _panel(planted, tickets=12)
    fig, axes = plt.subplots(1, 3)
    try:
        ax = cal.plot_score_distribution(cal.score_distribution(reviews), "courtesy", ax=axes[0])
        assert ax is axes[0] and ax.get_title() and "%" in ax.get_xlabel()
        ax = cal.plot_reviewer_bias(cal.reviewer_bias(reviews), ax=axes[1])
        assert ax is axes[1] and "consensus" in ax.get_xlabel() and "1–5" in ax.get_xlabel()
        ax = cal.plot_pairwise_kappa(cal.pairwise_weighted_kappa(reviews), ax=axes[2])
        assert ax is axes[2] and ax.get_title()
    finally:
        plt.close(fig)


def test_pairwise_kappa_heat_map_holds_each_pair_in_both_cells():
    """The heat map's cells are filled by position: each pair's kappa sits at (a, b) and (b, a), a pair
    without one and the diagonal stay empty, and the reviewers run in sorted order on both axes."""
    pairs = pd.DataFrame({"reviewer_a": ["R1", "R1", "R2"], "reviewer_b": ["R2", "R3", "R3"], "item": "all",
                          "kappa": [0.5, np.nan, 0.25], "weights": "quadratic"})
    fig, ax = plt.subplots()
    try:
        cal.plot_pairwise_kappa(pairs.iloc[::-1], ax=ax)
        cells = np.ma.filled(ax.collections[0].get_array(), np.nan).reshape(3, 3)
        expected = np.array([[np.nan, 0.5, np.nan], [0.5, np.nan, 0.25], [np.nan, 0.25, np.nan]])
        np.testing.assert_array_equal(cells, expected)
        assert [label.get_text() for label in ax.get_yticklabels()] == ["R1", "R2", "R3"]
        assert sorted(text.get_text() for text in ax.texts) == ["0.25", "0.25", "0.50", "0.50"]
    finally:
        plt.close(fig)


@pytest.mark.parametrize("include_na", [False, True])
def test_score_distribution_counts_as_grouping_every_review_item(include_na):
    """The counts come from one bincount; they equal a group-by over every (review, item), missing groups
    and N/A scores included, for every group x item x score of the full product."""
    rng = np.random.default_rng(8)
    n, items = 2_000, ["courtesy", "problem_solving", "accuracy"]
    reviews = pd.DataFrame({"reviewer_id": rng.choice(["R3", "R1", "R2", None], size=n)})
    for item in items:
        reviews[item] = pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(1, 6, size=n)), dtype="Int64")
    got = cal.score_distribution(reviews, items=items, include_na=include_na)
    long = reviews.melt(id_vars="reviewer_id", value_vars=items, var_name="item", value_name="score").dropna(
        subset=["reviewer_id"])
    long["code"] = long["score"].fillna(0).astype(int)
    if not include_na:
        long = long[long["code"] > 0]
    expected = long.groupby(["reviewer_id", "item", "code"]).size()
    levels = ([0] if include_na else []) + [1, 2, 3, 4, 5]
    assert len(got) == 3 * len(items) * len(levels)
    assert list(got["group"].drop_duplicates()) == ["R1", "R2", "R3"]
    for row in got.itertuples(index=False):
        code = 0 if pd.isna(row.score) else int(row.score)
        assert row.count == expected.get((row.group, row.item, code), 0)
    shares = got.groupby(["group", "item"])["share"].sum()
    assert np.allclose(shares, 1.0)


@pytest.mark.parametrize("weights", ["quadratic", "linear"])
def test_kappa_and_its_se_are_statsmodels_cohens_kappa_to_the_bit(weights):
    """The weighted κ and its standard error are computed as statsmodels' cohens_kappa does (without its
    result object): equal to the last bit on random tables, sparse ones and a one-sided one."""
    from statsmodels.stats.inter_rater import cohens_kappa

    rng = np.random.default_rng(21)
    tables = [rng.integers(0, 6, size=(5, 5)).astype(float) for _ in range(200)]
    tables += [np.diag([0, 3, 0, 0, 0]).astype(float) + np.eye(5, k=1) * [0, 0, 1, 0, 0]]
    tables += [np.where(rng.random((5, 5)) < 0.8, 0, rng.integers(1, 4, size=(5, 5))).astype(float)
               for _ in range(100)]
    for table in tables:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning reaches a report
            got = cal._kappa_result(table, weights, cal.SCORES)
        if got is None:
            continue
        with np.errstate(invalid="ignore"):
            ref = cohens_kappa(table, weights=np.asarray(cal.SCORES, dtype=float), wt=weights)
        assert got[0] == float(ref.kappa)
        assert got[1] == float(ref.std_kappa) or (np.isnan(got[1]) and np.isnan(ref.std_kappa))
