"""Issue 17, notebook 07: the shortcuts of the before/after statistics give what the longer way gave."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("weighted", [False, True])
def test_cr2_of_cell_dummies_in_closed_form_equals_the_general_case(weighted, monkeypatch):
    from qa_helpers.stats import cr2

    rng = np.random.default_rng(7)
    for trial in range(40):
        n, k, clusters = int(rng.integers(40, 2_000)), int(rng.integers(2, 7)), int(rng.integers(3, 50))
        cells = rng.integers(0, k, n)
        cells[:k] = np.arange(k)
        x = np.zeros((n, k))
        x[np.arange(n), cells] = 1.0
        groups, weeks = rng.integers(0, clusters, n), rng.integers(0, 16, n)
        y = (rng.random(n) < 0.7).astype(float) if trial % 2 else rng.normal(5, 1, n) + 0.02 * groups
        weights = rng.uniform(0.3, 4, n) if weighted else None
        c = rng.normal(size=k)
        fast = [*cr2.cr2_contrast(x, y, groups, c, weights), cr2._hc2_variance(x, y, c, weights),
                *cr2.two_way_contrast(x, y, groups, weeks, c, weights)]
        with monkeypatch.context() as m:
            m.setattr(cr2, "_one_hot", lambda design, weights=None: None)
            slow = [*cr2.cr2_contrast(x, y, groups, c, weights), cr2._hc2_variance(x, y, c, weights),
                    *cr2.two_way_contrast(x, y, groups, weeks, c, weights)]
        np.testing.assert_allclose(fast, slow, rtol=1e-11, atol=0)


def test_a_cluster_alone_in_a_cell_is_not_estimable_in_closed_form_too():
    from qa_helpers.stats import cr2

    cells = np.array([0, 0, 0, 1, 1, 1, 1])
    x = np.eye(2)[cells]
    groups = np.array([0, 0, 0, 1, 1, 2, 2])  # cluster 0 alone makes up cell 0
    est, se, df = cr2.cr2_contrast(x, np.arange(7.0), groups, np.array([-1.0, 1.0]))
    assert est == pytest.approx(3.5) and np.isnan(se) and np.isnan(df)


def test_designs_that_are_not_cell_dummies_take_the_general_way():
    from qa_helpers.stats import cr2

    assert cr2._one_hot(np.column_stack([np.ones(4), [0, 1, 0, 1.0]])) is None  # intercept + dummy
    assert cr2._one_hot(np.array([[1.0, 0], [0.5, 0.5]])) is None
    assert cr2._one_hot(np.array([[1.0, 0], [1.0, 0]])) is None  # a column never used: singular
    assert cr2._one_hot(np.array([[0, 1.0], [1.0, 0]])).tolist() == [1, 0]


def _frames_equal(a, b):
    import pandas as pd

    for name in ("results", "did", "its", "mix", "standardised", "weekly", "after_kpis", "conclusions", "windows"):
        left, right = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(left.drop(columns=["channels"], errors="ignore"),
                                      right.drop(columns=["channels"], errors="ignore"), rtol=1e-12)
    assert a.skipped == b.skipped and list(a.observations) == list(b.observations)
    for kpi in a.observations:
        pd.testing.assert_frame_equal(a.observations[kpi], b.observations[kpi])


def test_a_plan_read_in_a_thread_of_its_own_gives_each_action_evaluated_alone(archive):
    from qa_helpers.improve import evaluation
    from qa_helpers.report.context import open_context

    ctx = open_context("ALL", "2025", archive)
    the_plan = evaluation.plan(ctx)
    assert len(the_plan.ready) >= 2
    options = dict(weeks_before=8, weeks_after=8, washout_weeks=1, alpha=0.05)
    together = evaluation.evaluate_plan(ctx, the_plan, **options)
    for action in the_plan.ready.itertuples(index=False):
        alone = evaluation.evaluate_action(action, ctx.archive, ctx.standards.raw, unavailable=the_plan.unavailable,
                                           **options)
        _frames_equal(together[action.action_id], alone)


def test_window_labels_are_the_text_labels_of_each_time():
    import pandas as pd

    from qa_helpers import stats

    windows = stats.week_windows("2025-07-09", weeks_before=2, weeks_after=2, washout_weeks=1)
    times = pd.Series(pd.to_datetime(["2025-07-01", "2025-07-08", None, "2025-07-22", "2025-09-01"]), index=[4, 3, 2, 1, 0])
    got = stats.label_windows(times, windows)
    want = pd.Series(["before", "excluded", "excluded", "after", "excluded"], index=times.index, name="window", dtype="str")
    pd.testing.assert_series_equal(got, want)


def test_cells_of_zero_weight_take_the_general_form_and_rounding_is_no_mde():
    from qa_helpers.stats import cr2, power

    design = np.repeat(np.eye(2), 3, axis=0)
    with pytest.raises(np.linalg.LinAlgError):  # singular, as the general form always said
        cr2.cr2_contrast(design, np.arange(6.0), np.arange(6), np.array([-1.0, 1.0]),
                         np.array([1.0, 1, 1, 0, 0, 0]))
    assert np.isnan(power._mde_t(1e-17, 10.0, 0.05)) and power._mde_t(0.1, 10.0, 0.05) > 0
