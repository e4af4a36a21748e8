"""The QA calibration's distribution functions and Fleiss' kappa without scipy.stats / statsmodels, against them."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_helpers.qa import calibration as cal

ROOT = Path(__file__).resolve().parents[1]


def test_normal_quantile_is_scipys():
    stats = pytest.importorskip("scipy.stats")
    for p in (0.5, 0.9, 0.95, 0.975, 0.995):
        assert cal._normal_quantile(p) == stats.norm.ppf(p)


@pytest.mark.parametrize("dfn,dfd", [(1, 1), (4, 12), (49, 196.7), (2.5, 0.5), (0, 5), (5, 0), (np.nan, 3)])
def test_f_distribution_is_scipys(dfn, dfd):
    stats = pytest.importorskip("scipy.stats")
    for q in (0.0, 0.025, 0.5, 0.975, 1.0):
        np.testing.assert_equal(cal._f_ppf(q, dfn, dfd), stats.f.ppf(q, dfn, dfd))
    for x in (-1.0, 0.0, 0.3, 1.0, 7.5, 1e6, np.inf, np.nan):
        np.testing.assert_equal(cal._f_sf(x, dfn, dfd), stats.f.sf(x, dfn, dfd))


def test_t_interval_and_p_value_are_scipys():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    for n in (2, 3, 10, 57, 400):
        d = rng.normal(0.2, 1.3, n)
        test = stats.ttest_1samp(d, 0.0)
        ci = test.confidence_interval(confidence_level=0.95)
        low, high, p = cal._t_test(d, 0.95)
        np.testing.assert_allclose([low, high, p], [ci.low, ci.high, test.pvalue], rtol=1e-13, atol=1e-15)


def test_fleiss_kappa_and_rater_counts_are_statsmodels():
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    rng = np.random.default_rng(5)
    for subjects, raters in ((4, 2), (30, 3), (200, 5)):
        codes = rng.integers(0, 5, (subjects, raters))
        ours = cal._count_table(pd.DataFrame(codes + 1.0))
        theirs, _ = inter_rater.aggregate_raters(codes, n_cat=5)
        np.testing.assert_array_equal(ours, theirs)
        assert cal.fleiss_kappa_from_counts(ours) == pytest.approx(
            float(inter_rater.fleiss_kappa(theirs, method="fleiss")), rel=1e-14, abs=1e-15)


def test_the_calibration_statistics_import_no_scipy_stats_or_statsmodels():
    # scipy.stats and statsmodels cost about 1.3 s of the QA calibration notebook's cold start
    code = ("import sys, numpy as np, pandas as pd\n"
            "from qa_helpers.qa import calibration as cal\n"
            "rng = np.random.default_rng(1)\n"
            "rows = [dict(review_id=f'{t}-{r}', ticket_id=f'T{t}', reviewer_id=f'R{r}', agent_id='A1', calibration=True,"
            " reviewed_at=pd.Timestamp('2025-01-01'), critical_fail=False,"
            " **{i: int(rng.integers(1, 6)) for i in cal.RUBRIC_ITEMS}) for t in range(12) for r in range(3)]\n"
            "reviews = pd.DataFrame(rows)\n"
            "cal.fleiss_kappa_by_item(reviews); cal.calibration_icc(reviews); cal.pairwise_weighted_kappa(reviews)\n"
            "cal.reviewer_bias(reviews); cal.required_sample_size([10, 1000])\n"
            "print([m for m in ('scipy.stats', 'statsmodels', 'seaborn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
