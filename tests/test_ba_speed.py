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
            m.setattr(cr2, "_one_hot", lambda design: None)
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
