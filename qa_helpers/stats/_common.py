"""Observation data and inference helpers shared by the tests: checked values and exposures,
cluster codes, clustered window means, t/Wald inference and the Rao–Scott design effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

def _groups(values: pd.Series | None, n: int) -> np.ndarray:
    """Integer cluster codes; a missing cluster id is its own cluster."""
    if values is None:
        return np.arange(n)
    codes = pd.factorize(values)[0]
    missing = codes < 0
    codes[missing] = codes.max() + 1 + np.arange(missing.sum())
    return codes


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


def _observations(data: pd.DataFrame, metric: str, kind: str, *, window: str, value: str,
                  cluster: str | None, exposure: str | None, stratify: str | None) -> dict:
    needed = [c for c in (window, value, cluster, exposure, stratify) if c is not None]
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
    if cluster is not None and len(np.unique(groups)) < 2:
        raise ValueError(f"{metric}: clustered comparison needs at least 2 values of {cluster!r}")
    if stratify is None:
        strata, labels = np.zeros(len(sub), dtype=int), np.array(["all"], dtype=object)
    else:
        strata, labels = pd.factorize(sub[stratify].astype(object).where(sub[stratify].notna(), "(missing)"))
    return {"y": y, "after": after, "groups": groups, "exposure": e, "strata": strata,
            "labels": np.asarray(labels, dtype=object)}


def _cells(y: np.ndarray, after: np.ndarray, strata: np.ndarray, groups: np.ndarray,
           weights: np.ndarray, clustered: bool):
    """Window x stratum means (WLS on cell dummies) and their covariance (CR1 or HC1)."""
    n_strata = int(strata.max()) + 1
    design = np.zeros((len(y), 2 * n_strata))
    design[np.arange(len(y)), after.astype(int) * n_strata + strata] = 1.0
    model = sm.WLS(y, design, weights=weights)
    fit = (model.fit(cov_type="cluster", cov_kwds={"groups": groups}) if clustered
           else model.fit(cov_type="HC1"))
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    return params[:n_strata], params[n_strata:], cov


def _contrast(cov: np.ndarray, grad_before: np.ndarray, grad_after: np.ndarray) -> float:
    g = np.concatenate([grad_before, grad_after])
    return float(np.sqrt(max(g @ cov @ g, 0.0)))


def _t_inference(estimate: float, se: float, df: float | None, alpha: float) -> tuple[float, float, float]:
    """Two-sided p and CI bounds for a Wald statistic with t(df) (normal when df is None)."""
    dist = stats.norm if df is None else stats.t(df)
    crit = dist.ppf(1 - alpha / 2)
    if not se > 0:
        return (1.0 if estimate == 0 else 0.0), estimate, estimate
    p = 2 * dist.sf(abs(estimate) / se)
    return float(p), estimate - crit * se, estimate + crit * se


def _cluster_note(cluster: str | None, n_groups: int) -> str:
    return "observation-level, ignores clustering" if cluster is None else f"{cluster}-clustered, G={n_groups}"


def _design_effect(var_clustered: float, var_simple: float, n_groups: int, alpha: float) -> float:
    """Kish deff of the contrast (>= 1) times the small-sample factor (t_{G-1} / z)^2."""
    ratio = var_clustered / var_simple if var_simple > 0 else 1.0
    small = (stats.t.ppf(1 - alpha / 2, n_groups - 1) / stats.norm.ppf(1 - alpha / 2)) ** 2
    return max(1.0, ratio) * small
