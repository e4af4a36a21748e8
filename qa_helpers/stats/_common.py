"""Observation data and inference helpers shared by the tests: checked values and exposures,
cluster codes, clustered window means, t/Wald inference and the Rao–Scott design effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import WLS  # not statsmodels.api: it imports every model (~0.3 s)
from scipy import stats

MIN_CLUSTERS = 2  # per window (per team in DiD): fewer and the cluster-robust variance does not exist


def _groups(values: pd.Series | None, n: int) -> np.ndarray:
    """Integer cluster codes. Missing cluster ids are grouped into one cluster of their own.

    Giving each one its own cluster (the old behaviour) silently turned the clustered test
    into the naive one for those rows; one shared cluster is the conservative reading
    (they may all be one unrecorded agent) and :func:`_missing_note` says so in the row.
    """
    if values is None:
        return np.arange(n)
    codes = pd.factorize(values)[0]
    codes[codes < 0] = codes.max() + 1
    return codes


def _missing_note(values: pd.Series | None, cluster: str | None) -> str:
    if values is None:
        return ""
    missing = int(values.isna().sum())
    return (f"{missing} observation(s) without {cluster} grouped as one cluster" if missing else "")


def _cluster_problem(groups: np.ndarray, after: np.ndarray, cluster: str) -> str | None:
    """Why a clustered comparison cannot be estimated (fewer than 2 clusters in a window), or None."""
    for name, mask in (("before", ~after), ("after", after)):
        found = len(np.unique(groups[mask]))
        if found < MIN_CLUSTERS:
            return (f"{found} value(s) of {cluster!r} in the {name} window; a clustered comparison needs at "
                    f"least {MIN_CLUSTERS} per window")
    return None


def _checked_values(values: pd.Series, metric: str, kind: str, column: str) -> np.ndarray:
    y = values.to_numpy(float)
    if kind == "proportion" and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{metric}: a proportion needs 0/1 or True/False values in {column!r}")
    if kind == "duration" and (y <= 0).any():
        raise ValueError(f"{metric}: {(y <= 0).sum()} durations are <= 0; the comparison is on the log "
                         "scale, so drop or shift them explicitly first")
    if kind == "rate" and (y < 0).any():
        raise ValueError(f"{metric}: counts in {column!r} must be >= 0")
    return y


def _checked_exposure(sub: pd.DataFrame, metric: str, exposure: str | None) -> np.ndarray:
    e = np.ones(len(sub)) if exposure is None else sub[exposure].to_numpy(float)
    if (e <= 0).any():
        raise ValueError(f"{metric}: exposure {exposure!r} must be > 0")
    return e


def _week_codes(values: pd.Series | None, after: np.ndarray) -> tuple[np.ndarray | None, str]:
    """Week cluster codes, or None with the reason when a window has fewer than 2 weeks
    (a week-clustered variance needs at least 2 weeks on each side)."""
    if values is None:
        return None, ""
    codes = pd.factorize(values)[0]
    if (codes < 0).any():
        raise ValueError("observations without a week cannot be week-clustered")
    fewest = min(len(np.unique(codes[~after])), len(np.unique(codes[after])))
    if fewest < MIN_CLUSTERS:
        return None, f"{fewest} week(s) in a window: clustered on agents only, not on weeks"
    return codes, ""


def _observations(data: pd.DataFrame, metric: str, kind: str, *, window: str, value: str,
                  cluster: str | None, exposure: str | None, stratify: str | None,
                  week: str | None = None) -> dict:
    needed = [c for c in (window, value, cluster, exposure, stratify, week) if c is not None]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        hint = " (pass cluster=None for the naive, unclustered test)" if cluster in missing else ""
        raise ValueError(f"{metric}: column(s) {missing} not in the data{hint}")
    keep = data[window].isin(["before", "after"]) & data[value].notna()
    if exposure is not None:
        keep &= data[exposure].notna()
    sub = data.loc[keep]
    after = (sub[window] == "after").to_numpy()
    for name, mask in (("before", ~after), ("after", after)):
        if not mask.any():
            raise ValueError(f"{metric}: no observations with a value in the {name} window")
    y = _checked_values(sub[value], metric, kind, value)
    e = _checked_exposure(sub, metric, exposure)
    groups = _groups(sub[cluster] if cluster is not None else None, len(sub))
    problem = _cluster_problem(groups, after, cluster) if cluster is not None else None
    note = _missing_note(sub[cluster] if cluster is not None else None, cluster)
    weeks, week_note = _week_codes(sub[week] if week is not None and cluster is not None else None, after)
    note = "; ".join(n for n in (note, week_note) if n)
    if stratify is None:
        strata, labels = np.zeros(len(sub), dtype=int), np.array(["all"], dtype=object)
    else:
        strata, labels = pd.factorize(sub[stratify].astype(object).where(sub[stratify].notna(), "(missing)"))
    return {"y": y, "after": after, "groups": groups, "exposure": e, "strata": strata,
            "labels": np.asarray(labels, dtype=object), "problem": problem, "note": note,
            "weeks": weeks}


def _cell_design(after: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Dummies of the window x stratum cells: before strata first, then after strata."""
    n_strata = int(strata.max()) + 1
    design = np.zeros((len(after), 2 * n_strata))
    design[np.arange(len(after)), after.astype(int) * n_strata + strata] = 1.0
    return design


def _cells(y: np.ndarray, after: np.ndarray, strata: np.ndarray, groups: np.ndarray,
           weights: np.ndarray, clustered: bool):
    """Window x stratum means (WLS on cell dummies) and their covariance (CR1 or HC1)."""
    n_strata = int(strata.max()) + 1
    model = WLS(y, _cell_design(after, strata), weights=weights)
    fit = (model.fit(cov_type="cluster", cov_kwds={"groups": groups}) if clustered
           else model.fit(cov_type="HC1"))
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    return params[:n_strata], params[n_strata:], cov


def _cell_means(y: np.ndarray, after: np.ndarray, strata: np.ndarray,
                weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The window x stratum weighted means of :func:`_cells` (its WLS on cell dummies), without the fit."""
    n_strata = int(strata.max()) + 1
    cell = after.astype(int) * n_strata + strata
    means = (np.bincount(cell, weights=weights * y, minlength=2 * n_strata)
             / np.bincount(cell, weights=weights, minlength=2 * n_strata))
    return means[:n_strata], means[n_strata:]


def _contrast(cov: np.ndarray, grad_before: np.ndarray, grad_after: np.ndarray) -> float:
    g = np.concatenate([grad_before, grad_after])
    return float(np.sqrt(max(g @ cov @ g, 0.0)))


def _t_inference(estimate: float, se: float, df: float | None, alpha: float) -> tuple[float, float, float]:
    """Two-sided p and CI bounds for a Wald statistic with t(df) (normal when df is None).

    A standard error of 0 or NaN (one cluster, no variation) carries no information about
    uncertainty: p and CI are NaN, never p = 0 with a zero-width interval, and the row
    built from them is "not estimable".
    """
    # an SE at rounding-noise size (identical values) is a zero SE, not near-certainty
    if not (np.isfinite(se) and se > 1e-10 * max(1.0, abs(estimate)) and np.isfinite(estimate)) \
            or (df is not None and not df > 0):
        return np.nan, np.nan, np.nan
    dist = stats.norm if df is None else stats.t(df)
    crit = dist.ppf(1 - alpha / 2)
    p = 2 * dist.sf(abs(estimate) / se)
    return float(p), estimate - crit * se, estimate + crit * se


def _interval_t(estimate: float, se: float, df: float | None, *, log: bool = False, offset: float = 0.0,
                bounds: tuple[float, float] = (-np.inf, np.inf)):
    """The row's CI at any level (for family-adjusted intervals): Wald/t on the analysis scale,
    exponentiated for ratios (``log``), shifted by ``offset`` and clipped to ``bounds``."""
    def interval(alpha: float) -> tuple[float, float]:
        _, lo, hi = _t_inference(estimate, se, df, alpha)
        lo, hi = (np.exp(lo), np.exp(hi)) if log else (lo + offset, hi + offset)
        return max(lo, bounds[0]), min(hi, bounds[1])
    return interval


def _cluster_note(cluster: str | None, n_groups: int) -> str:
    return "observation-level, ignores clustering" if cluster is None else f"{cluster}-clustered, G={n_groups}"


def _design_effect(var_clustered: float, var_simple: float, df: float, alpha: float) -> float:
    """Kish deff of the contrast times the small-sample factor (t_df / z)^2.

    Not floored at 1: the clustered variance is an estimate, below the simple one in about half
    the samples where the true deff is near 1, and a floor there made the shares' and rates'
    tests conservative (2.9 % and 2.1 % false alarms at alpha 5 % in 1,000 null runs with agent
    and team-week shocks). The ratio is floored at ``chi2(alpha / 2, df) / df``, the smallest
    estimate a true deff of 1 gives with ``df`` degrees of freedom (and a clustered variance of 0,
    every agent the same before and after, is not certainty). The exact methods, for small
    counts, never use a deff below 1."""
    if not var_simple > 0:  # no variation at all (no events, all at ceiling): nothing to inflate
        return 1.0
    if not (np.isfinite(var_clustered) and np.isfinite(df) and df > 0):
        return np.nan
    small = (stats.t.ppf(1 - alpha / 2, df) / stats.norm.ppf(1 - alpha / 2)) ** 2
    return max(var_clustered / var_simple, stats.chi2.ppf(alpha / 2, df) / df) * small
