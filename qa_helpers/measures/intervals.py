"""Confidence intervals the reports need without importing ``scipy.stats`` or statsmodels (issue 17).

Each is statsmodels' formula step by step, and a test holds it equal to statsmodels to the last bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def wilson_interval(events: pd.Series | np.ndarray | list, n: pd.Series | np.ndarray | list,
                    confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Wilson score interval of ``events / n``, clipped to [0, 1].

    The formula of statsmodels' ``proportion_confint(method="wilson")``, term for term (the same
    floats), with the normal quantile from ``scipy.special``: importing ``scipy.stats`` (which
    statsmodels does) costs ~0.4-0.8 s of a cold notebook (issue 17), and notebooks 04 and 06 need
    nothing else from it.

    Parameters
    ----------
    events, n : Series or array-like
        Successes and trials per row (``n`` > 0).
    confidence : float
        E.g. 0.95.

    Returns
    -------
    low, high : ndarray
    """
    from scipy.special import ndtri

    nobs = np.asarray(n)
    share = np.asarray(events) / nobs
    crit = -ndtri((1 - confidence) / 2.0)  # scipy.stats.norm.isf
    crit2 = crit**2
    denom = 1 + crit2 / nobs
    center = (share + crit2 / (2 * nobs)) / denom
    dist = crit * np.sqrt(share * (1.0 - share) / nobs + crit2 / (4.0 * nobs**2)) / denom
    return np.clip(center - dist, 0, 1), np.clip(center + dist, 0, 1)
