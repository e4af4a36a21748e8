"""Notebook 08's faster paths give what the plain ones gave (issue 17): the review sample drawn in the
background, the pairwise kappa tables counted at once, the agreement tables kept for the next report, and
QA coverage counted as the programme counts it."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest


def _pairwise_loop(reviews: pd.DataFrame, items, weights: str = "quadratic") -> pd.DataFrame:
    """The pair-by-pair computation pairwise_weighted_kappa made before its tables were counted at once."""
    from qa_helpers.qa import calibration as cal

    data = cal._calibration_subset(reviews, True)
    z = cal._normal_quantile(0.975)
    mats = {item: cal._wide(data, cal._score_array(data, [item])[:, 0]) for item in items}
    reviewers = sorted(pd.unique(data["reviewer_id"]))
    column = {reviewer: i for i, reviewer in enumerate(mats[items[0]].columns)}
    scores = {item: mats[item].to_numpy() for item in items}
    rows = []
    for ra, rb in combinations(reviewers, 2):
        a, b = column[ra], column[rb]
        pooled = np.zeros((5, 5))
        for item in [*items, cal.ALL]:
            if item == cal.ALL:
                table = pooled
            else:
                both = ~np.isnan(scores[item][:, a]) & ~np.isnan(scores[item][:, b])
                table = cal._confusion(scores[item][both, a], scores[item][both, b], cal.SCORES)
                pooled = pooled + table
            res = cal._kappa_result(table, weights, cal.SCORES)
            kappa, se = (np.nan, np.nan) if res is None else res
            rows.append((ra, rb, item, int(table.sum()), kappa, se, kappa - z * se, kappa + z * se, weights))
    return pd.DataFrame.from_records(rows, columns=["reviewer_a", "reviewer_b", "item", "n", "kappa", "se",
                                                    "ci_low", "ci_high", "weights"])


@pytest.mark.parametrize("weights", ["quadratic", "linear"])
def test_pairwise_kappa_counted_at_once_equals_the_pair_by_pair_tables(archive, weights):
    from qa_helpers.data.schemas import RUBRIC_ITEMS
    from qa_helpers.qa import calibration as cal
    from qa_helpers.report.context import open_context

    reviews = cal.calibration_data(open_context("ALL", "2025", archive)).calibration
    assert reviews["reviewer_id"].nunique() >= 3
    out = cal.pairwise_weighted_kappa(reviews, weights=weights)
    pd.testing.assert_frame_equal(out, _pairwise_loop(reviews, list(RUBRIC_ITEMS), weights), check_exact=True)
    assert (out["n"] > 0).any()


def test_pairwise_kappa_still_refuses_an_off_scale_score():
    from qa_helpers.qa import calibration as cal

    reviews = pd.DataFrame({"ticket_id": ["T1", "T1", "T2", "T2"], "reviewer_id": ["R1", "R2", "R1", "R2"],
                            "calibration": True, "courtesy": [4.0, 2.5, 3.0, 3.0]})
    with pytest.raises(ValueError, match="not on the scale"):
        cal.pairwise_weighted_kappa(reviews, items=["courtesy"])


def test_the_sample_drawn_in_the_background_is_the_sample_drawn_in_place(archive, tmp_path):
    from qa_helpers.qa import calibration as cal
    from qa_helpers.report.context import open_context

    ctx = open_context("ALL", "2025-Q4", archive)
    in_place = cal.review_sample_section(ctx, 0.15, 2026, tmp_path / "in_place.csv")
    shared = cal.calibration_data(ctx)  # counts shared, the sample drawn when its section asks
    with_counts = cal.review_sample_section(ctx, 0.15, 2026, tmp_path / "with_counts.csv", shared)
    early = cal.calibration_data(ctx, 2026)  # counts and sample started in the background
    background = cal.review_sample_section(ctx, 0.15, 2026, tmp_path / "background.csv", early)
    other_seed = cal.review_sample_section(ctx, 0.15, 7, tmp_path / "seed7.csv", early)  # not drawn early
    written = (tmp_path / "in_place.csv").read_bytes()
    assert written == (tmp_path / "with_counts.csv").read_bytes() == (tmp_path / "background.csv").read_bytes()
    assert written != (tmp_path / "seed7.csv").read_bytes()
    shown = [[x.data.to_csv() if hasattr(x, "data") else str(x) for x in lines[1:]]
             for lines in (in_place, with_counts, background)]
    assert shown[0] == shown[1] == shown[2]
    assert "seed 7" in other_seed[0]
    def ordered(counts: pd.DataFrame) -> pd.DataFrame:  # DuckDB's GROUP BY gives its rows in any order
        keys = ["channel", "category", "team", "risk"]
        return counts.sort_values(keys, na_position="last").reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(cal.ticket_counts(ctx, shared)), ordered(cal.ticket_counts(ctx, early)))


def test_qa_coverage_is_the_programmes(archive):
    from qa_helpers.people import sections as people
    from qa_helpers.qa import calibration as cal
    from qa_helpers.report.context import open_context

    ctx = open_context("hotline", "2025-Q4", archive)
    data = cal.calibration_data(ctx, 2026)
    coverage = cal.coverage_section(ctx, data)
    programme = people.programme_for(ctx, people.people_data(ctx), data.reviews, cal.ticket_counts(ctx, data))
    unit = programme.iloc[0]
    assert f"({unit['coverage']:.1%} coverage)" in coverage[0]
    assert f"of {int(unit['tickets']):,} tickets" in coverage[0]
    counts = cal.ticket_counts(ctx, data)
    assert counts["reviewed_ordinary"].sum() < counts["reviewed"].sum()  # the calibration reviews no longer count
    from qa_helpers.qa.sampling import coverage_from_counts, qa_coverage

    # one definition: from the counts, from the rows, and the programme's
    rows = qa_coverage(ctx.load("tickets", columns=["ticket_id", "channel"]), ctx.load("qa_reviews"), ctx.unit)
    pd.testing.assert_frame_equal(rows, coverage_from_counts(counts, ctx.unit, "channel"), check_dtype=False)


def test_agreement_tables_kept_for_the_next_report_are_the_computed_ones(archive, monkeypatch):
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.qa import calibration as cal
    from qa_helpers.report.context import open_context

    monkeypatch.setattr(qa_archive, "_READS", qa_archive._ReadCache())
    monkeypatch.setattr(qa_archive._READS, "limit", 64 * 2**20)
    first = cal.calibration_data(open_context("HL-A", "2025-Q4", archive))
    second = cal.calibration_data(open_context("HL-B", "2025-Q4", archive))
    earlier = cal.calibration_data(open_context("HL-B", "2025-Q3", archive))
    kept = cal.bias_for(first)
    pd.testing.assert_frame_equal(cal.bias_for(second), kept)
    pd.testing.assert_frame_equal(kept, cal.reviewer_bias(second.calibration))
    pd.testing.assert_frame_equal(cal.bias_for(earlier), cal.reviewer_bias(earlier.calibration))
    assert len(earlier.calibration) < len(second.calibration)
    for name, compute in [("pairwise_kappa", cal.pairwise_weighted_kappa), ("icc", cal.calibration_icc),
                          ("fleiss", cal.fleiss_kappa_by_item), ("within", cal.within_tolerance)]:
        pd.testing.assert_frame_equal(cal._for_calibration(second, name, compute), compute(second.calibration))
        pd.testing.assert_frame_equal(cal._for_calibration(first, name, compute), compute(second.calibration))


@pytest.mark.parametrize("by", [["channel", "team"], ["team"], []])
def test_ticket_counts_equal_the_left_join_of_every_ticket(by):
    import duckdb

    from qa_helpers.qa.sampling import ticket_counts

    rng = np.random.default_rng(5)
    n = 3000
    tickets = pd.DataFrame({"ticket_id": [f"T{i}" for i in range(n)],
                            "channel": pd.Series(rng.choice(["phone", "chat", None], n), dtype=object),
                            "team": rng.choice(["A", "B", "C"], n)})
    tickets.loc[::97, "ticket_id"] = None
    reviews = pd.DataFrame({"ticket_id": rng.choice(tickets["ticket_id"].dropna(), 400),
                            "calibration": pd.array(rng.choice([True, False, None], 400), dtype="boolean")})
    surveys = pd.DataFrame({"ticket_id": rng.choice([*tickets["ticket_id"].dropna(), "X1", None], 600),
                            "csat": rng.integers(1, 6, 600)})
    complaints = pd.DataFrame({"ticket_id": rng.choice([*tickets["ticket_id"].dropna(), "X2"], 150)})
    con = duckdb.connect()
    for name, frame in (("t", tickets), ("r", reviews), ("s", surveys), ("c", complaints)):
        con.register(name, frame)
    carried = "".join(f't."{c}", ' for c in by)
    flags = ("(SELECT ticket_id, max(k) AS k, bool_or(r) AS r, bool_or(o) AS o FROM ("
             "SELECT ticket_id, 2 AS k, false AS r, false AS o FROM c WHERE ticket_id IS NOT NULL UNION ALL "
             "SELECT ticket_id, 1 AS k, false AS r, false AS o FROM s WHERE ticket_id IS NOT NULL AND "
             "TRY_CAST(csat AS DOUBLE) <= 2.0 UNION ALL "
             "SELECT ticket_id, 0 AS k, true AS r, calibration IS NOT TRUE AS o FROM r WHERE ticket_id IS NOT NULL) "
             "GROUP BY ticket_id)")
    left_join = con.sql(f"SELECT {carried}CASE f.k WHEN 2 THEN 'complaint' WHEN 1 THEN 'low_csat' ELSE 'other' END "
                        "AS risk, count(*) AS tickets, count(*) FILTER (WHERE f.r) AS reviewed, count(*) FILTER "
                        f"(WHERE f.o) AS reviewed_ordinary FROM t LEFT JOIN {flags} f ON t.ticket_id = f.ticket_id "
                        "GROUP BY ALL").df()
    numbers = ["tickets", "reviewed", "reviewed_ordinary"]
    left_join[numbers] = left_join[numbers].astype("int64")
    counted = ticket_counts("t", by, "r", "s", "c", 2, connection=con)

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values([*by, "risk"], na_position="last").reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(counted), ordered(left_join))
    assert counted["tickets"].sum() == n and counted["reviewed"].sum() > counted["reviewed_ordinary"].sum() > 0
