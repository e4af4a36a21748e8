"""Segmented regression (interrupted time series) of a weekly series: AR(1) GLS by REML or
OLS with Newey–West errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import linalg, optimize

from qa_helpers.stats._common import _t_inference
from qa_helpers.stats.power import _mde_t
from qa_helpers.stats.results import _check_options, _result, _stack
from qa_helpers.stats.windows import _WEEK

def _ar1_reml(y: np.ndarray, design: np.ndarray, t: np.ndarray):
    """GLS with AR(1) errors, rho by restricted maximum likelihood (profile over sigma)."""
    lag = np.abs(t[:, None] - t[None, :]).astype(int)

    def sigma(rho):
        return rho ** lag / (1 - rho ** 2)

    def objective(rho):
        factor = linalg.cho_factor(sigma(rho))
        vx, vy = linalg.cho_solve(factor, design), linalg.cho_solve(factor, y)
        xvx = design.T @ vx
        resid = y - design @ np.linalg.solve(xvx, design.T @ vy)
        return (2 * np.log(np.diag(factor[0])).sum() + np.linalg.slogdet(xvx)[1]
                + (len(y) - design.shape[1]) * np.log(resid @ linalg.cho_solve(factor, resid)))
    rho = optimize.minimize_scalar(objective, bounds=(-0.95, 0.95), method="bounded").x
    return sm.GLS(y, design, sigma=sigma(rho)).fit(), float(rho)


def segmented(series: pd.DataFrame, metric: str, start, *, week: str = "week", value: str = "value",
              errors: str = "ar1", direction: str = "increase", alpha: float = 0.05,
              expected_effect: float | None = None, maxlags: int | None = None) -> pd.DataFrame:
    """Segmented regression (interrupted time series) of a weekly series around ``start``.

    ``value ~ 1 + t + post + post:(t - t0)``: ``t`` counts weeks, ``post`` marks weeks that
    begin on or after ``start`` (a week that contains ``start`` part-way is dropped), ``t0``
    is the first post week. Inference uses t with T - 4 degrees of freedom.

    ``errors="ar1"`` (default) and ``errors="hac"``: OLS with Newey–West (HAC, Bartlett) errors, lag length
    ``floor(4 (T/100)^(2/9))`` unless ``maxlags`` is given. HAC errors are known to be
    optimistic on short series, and this design is a hard case for them (the level change is
    a low-frequency contrast that trend-fitted residuals hide): in this kit's simulations
    with AR(1) noise (rho 0–0.5, break mid-series), a nominal 5 % test raised false alarms in
    12–19 % of 52-week series and 9–15 % of 104-week series. ``errors="ar1"`` (the default): GLS with AR(1)
    errors, rho by REML (Turner et al. 2021 found REML the most reliable method for
    interrupted time series); the same simulations gave 6–9 % at 52 weeks and 6–7 % at 104.
    Prefer ``"ar1"`` for series under two years, and DiD against a control team over either.

    Parameters
    ----------
    series : DataFrame
        One row per week: ``week`` (the week's first day) and ``value`` (a weekly share,
        mean, log geometric mean...). HAC assumes consecutive weeks; AR(1) allows gaps.
    metric : str
        Name; the rows are called ``"<metric>: level change"`` and ``"<metric>: slope change"``.
    start : str or Timestamp
        When the action started.
    errors : {"hac", "ar1"}
        Newey–West errors on OLS, or GLS with REML AR(1) errors.
    direction : {"increase", "decrease"}
        Which way is better.
    expected_effect : float, optional
        Hoped-for level change (additive, in ``value`` units); the slope row has none.
    maxlags : int, optional
        HAC lag length.

    Returns
    -------
    DataFrame
        Two rows with :data:`COLUMNS`. Level: ``before`` is the pre-trend projected to the
        first post week, ``after`` the fitted post level there. Slope: pre and post slopes
        per week. ``n_before`` / ``n_after`` count weeks.
    """
    if errors not in ("hac", "ar1"):
        raise ValueError(f"errors must be 'hac' or 'ar1', got {errors!r}")
    _check_options(direction, alpha, expected_effect, "difference")
    start = pd.Timestamp(start)
    missing = [c for c in (week, value) if c not in series.columns]
    if missing:
        raise ValueError(f"{metric}: column(s) {missing} not in the weekly series")
    s = series[[week, value]].dropna().sort_values(week)
    weeks = pd.to_datetime(s[week])
    if isinstance(weeks.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"{metric}: {week!r} holds tz-aware timestamps; give naive archive-time weeks")
    repeated = weeks[weeks.duplicated()]
    if len(repeated):
        raise ValueError(f"{metric}: the weekly series has week(s) more than once "
                         f"({', '.join(str(w.date()) for w in repeated.unique()[:3])}); aggregate to one value per week")
    partial = (weeks < start) & (weeks + _WEEK > start)
    s, weeks = s.loc[~partial], weeks[~partial]
    post = (weeks >= start).to_numpy()
    if post.sum() < 3 or (~post).sum() < 3:
        raise ValueError(f"{metric}: segmented regression needs at least 3 weeks on each side of the start")
    t = np.round((weeks - weeks.iloc[0]) / _WEEK).to_numpy(float)
    t0 = t[post].min()
    design = np.column_stack([np.ones(len(t)), t, post.astype(float), post * (t - t0)])
    y = s[value].to_numpy(float)
    n_weeks = len(t)
    if errors == "hac":
        lags = int(np.floor(4 * (n_weeks / 100) ** (2 / 9))) if maxlags is None else int(maxlags)
        fit = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
        how = f"OLS with Newey–West HAC SE ({lags} lags, t with T-4 df)"
    else:
        fit, rho = _ar1_reml(y, design, t)
        how = f"GLS with AR(1) errors (REML rho {rho:.2f}, t with T-4 df)"
    b, bse = np.asarray(fit.params), np.asarray(fit.bse)
    df = n_weeks - 4
    sign = 1 if direction == "increase" else -1
    method = f"segmented regression (interrupted time series), {how}"
    ctx = {"direction": direction, "alpha": alpha}
    rows = []
    for name, idx, before, after, expected in (
            ("level change", 2, b[0] + b[1] * t0, b[0] + b[1] * t0 + b[2], expected_effect),
            ("slope change", 3, b[1], b[1] + b[3], None)):
        p, lo, hi = _t_inference(b[idx], bse[idx], df, alpha)
        rows.append(_result(f"{metric}: {name}", method, before, after, b[idx], (lo, hi), p, (~post).sum(),
                            post.sum(), sign * _mde_t(bse[idx], df, alpha), scale="difference",
                            expected_effect=expected, **ctx))
    return _stack(rows)
