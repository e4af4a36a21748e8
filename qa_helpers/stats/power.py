"""Minimum detectable effects at :data:`POWER` for the t/Wald, proportion and rate tests.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import optimize, stats
from statsmodels.stats.power import normal_power_het
from statsmodels.stats.proportion import power_proportions_2indep

POWER = 0.80


def _se_median_factor(df: float | None) -> float:
    """How much an SE estimated with ``df`` degrees of freedom falls short of the true SE in the
    median: ``1 / sqrt(median(chi2_df) / df)`` (1.025 at 14 df, 1 without df).

    An MDE is ``multiplier x SE``; the SE of one sample is an estimate whose median lies below the
    true SE (the square root of a chi-square), so the plain plug-in MDE gave 77 % rather than 80 %
    power in the issue-13 simulations (durations and rates, 14 agent clusters). Scaled by this
    factor, the reported MDE is median-unbiased for the design's MDE.
    """
    if df is None or not np.isfinite(df) or df <= 0:
        return 1.0
    return float(1 / np.sqrt(stats.chi2.ppf(0.5, df) / df))


def _mde_t(se: float, df: float | None, alpha: float) -> float:
    """Smallest |effect| (analysis scale) a two-sided Wald/t test detects with POWER, from the
    SE scaled to be median-unbiased (:func:`_se_median_factor`)."""
    if not np.isfinite(se) or se <= 1e-10:  # rounding noise is no SE (as in the tests' own threshold)
        return np.nan
    use_normal = df is None or not np.isfinite(df) or df > 1e4
    return _t_multiplier(None if use_normal else float(df), float(alpha)) * se * _se_median_factor(df)


@functools.lru_cache(maxsize=1024)
def _t_multiplier(df: float | None, alpha: float) -> float:
    """The noncentrality at which the two-sided test has POWER (normal without ``df``)."""
    if df is None:
        crit = stats.norm.ppf(1 - alpha / 2)
        def gap(d):
            return stats.norm.sf(crit - d) + stats.norm.cdf(-crit - d) - POWER
    else:
        crit = stats.t.ppf(1 - alpha / 2, df)
        def gap(d):
            # the far tail of nct.cdf can come back nan; it is ~0 there
            return stats.nct.sf(crit, df, d) + np.nan_to_num(stats.nct.cdf(-crit, df, d)) - POWER
    try:
        return optimize.brentq(gap, 0.0, 200.0)
    except ValueError:
        return np.nan


def _mde_proportion(p_before: float, n_after: float, n_before: float, alpha: float, sign: int) -> float:
    """Smallest difference the score test detects with POWER (statsmodels power_proportions_2indep)."""
    edge = (1 - p_before) if sign > 0 else -p_before
    if abs(edge) < 1e-9:
        return np.nan

    def gap(d):
        return power_proportions_2indep(d, p_before, n_after, ratio=n_before / n_after, alpha=alpha,
                                        return_results=False) - POWER
    lo, hi = sign * 1e-9, edge - sign * 1e-9
    try:
        if gap(hi) < 0:
            return np.nan
        return optimize.brentq(gap, lo, hi)
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return np.nan


def _mde_rate(rate_before: float, exposure_after: float, exposure_before: float, alpha: float,
              sign: int) -> float:
    """Smallest rate ratio the Poisson score test detects with POWER.

    Normal approximation of the score test (statsmodels ``normal_power_het``): the null SE
    uses the pooled rate, the alternative SE the two rates. Exposures are the effective
    (design-effect deflated) ones.
    """
    if rate_before <= 0:
        return np.nan
    total = exposure_after + exposure_before

    def gap(ratio):
        rate_after = rate_before * ratio
        pooled = (rate_after * exposure_after + rate_before * exposure_before) / total
        std_null = np.sqrt(pooled * (1 / exposure_after + 1 / exposure_before))
        std_alt = np.sqrt(rate_after / exposure_after + rate_before / exposure_before)
        return normal_power_het(rate_after - rate_before, 1, alpha, std_null=std_null, std_alternative=std_alt,
                                alternative="two-sided") - POWER
    hi = 0.0 if sign < 0 else 1e6
    try:
        if gap(hi) < 0:
            return np.nan
        return float(optimize.brentq(gap, 1.0, hi))
    except ValueError:
        return np.nan


def _exact_rate_power(ratio: float, rate_before: float, exposure_after: float, exposure_before: float,
                      alpha: float) -> float:
    """Power of the exact conditional (binomial) test of two Poisson rates (R ``poisson.test``,
    two-sided, R's "minlike" p) when the after rate is ``ratio`` times the before rate.

    Given the total count N, the after count is binomial; the power sums, over N ~ Poisson,
    the binomial probability of the counts whose p is below ``alpha``.
    """
    mean_b, mean_a = rate_before * exposure_before, ratio * rate_before * exposure_after
    null = exposure_after / (exposure_after + exposure_before)
    alt = mean_a / (mean_a + mean_b)
    top = int(np.ceil(mean_a + mean_b + 10 * np.sqrt(mean_a + mean_b) + 10))
    total = 0.0
    for n in range(1, top + 1):
        k = np.arange(n + 1)
        pmf0 = stats.binom.pmf(k, n, null)
        order = np.sort(pmf0)
        # p(k) = sum of the null probabilities not above pmf0[k] (relative tolerance as R's binom.test)
        p = np.cumsum(order)[np.searchsorted(order, pmf0 * (1 + 1e-7), side="right") - 1]
        total += stats.poisson.pmf(n, mean_a + mean_b) * stats.binom.pmf(k, n, alt)[p < alpha].sum()
    return float(total)


def _mde_rate_exact(rate_before: float, exposure_after: float, exposure_before: float, alpha: float,
                    sign: int) -> float:
    """Smallest rate ratio the exact conditional test detects with POWER (the test chosen for
    small counts: an MDE from the score test's normal approximation promised power it lacked)."""
    if rate_before <= 0:
        return np.nan

    def gap(ratio):
        return _exact_rate_power(ratio, rate_before, exposure_after, exposure_before, alpha) - POWER
    hi = 1e-6 if sign < 0 else 1e3
    try:
        if gap(hi) < 0:
            return np.nan
        return float(optimize.brentq(gap, 1.0, hi, xtol=1e-4))
    except ValueError:
        return np.nan
