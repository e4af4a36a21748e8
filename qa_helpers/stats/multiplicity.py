"""Adjusting p and CIs across the results of one evaluation (Holm or Benjamini–Hochberg).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from qa_helpers.stats.results import COLUMNS, _META, _stack, _verdict

_ADJUST = {"holm": "holm", "bh": "fdr_bh"}


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values, the same floating-point operations as statsmodels ``multipletests(p,
    method="holm")``. Its Holm branch calls ``gc.collect()`` on every call: 0.3 s in a notebook kernel's
    heap, paid once per family (an action, the coaching sessions, each topic comparison)."""
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def evaluate(rows: pd.DataFrame | Iterable[pd.DataFrame], method: str = "holm",
             family: str | None = None) -> pd.DataFrame:
    """Stack the results of one evaluation, adjust p and CIs across them and redo the verdicts.

    CIs are recomputed at the family's level where the row's method can (every method of
    this package can): Bonferroni level ``alpha / m`` with Holm (simultaneous coverage; a Holm
    rejection whose Bonferroni interval still touches "no change" gets no improved/worsened
    verdict, the conservative side), Benjamini–Yekutieli's false-coverage level
    ``alpha * R / m`` (R rows significant after adjustment, at least 1) with BH. ``m`` counts
    the rows with a p-value.

    Parameters
    ----------
    rows : DataFrame or iterable of DataFrames
        Results as returned by :mod:`qa_helpers.stats` (:func:`before_after`, :func:`diff_in_diff`,
        :func:`segmented`, ...). They carry, in ``DataFrame.attrs``, the direction, alpha and
        expected effect the verdicts need; a frame whose rows lack them is refused.
    method : {"holm", "bh"}
        Holm (family-wise error, default) or Benjamini–Hochberg (false discovery rate), via
        statsmodels ``multipletests``. Rows without a p-value (not estimable, no events) are
        left out of the family.
    family : str, optional
        Name written in the ``family`` column of every row (default: the rows' own, or
        ``"<n> rows"``): the rows adjusted together. See :func:`adjust_family`.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, one row per result, ``p_adj`` filled and ``verdict`` based on it.
    """
    if method not in _ADJUST:
        raise ValueError(f"method must be 'holm' or 'bh', got {method!r}")
    frames = [rows] if isinstance(rows, pd.DataFrame) else list(rows)
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    for frame in frames:
        meta = frame.attrs.get(_META)
        if meta is None or len(meta) != len(frame):
            raise ValueError("evaluate() needs the result frames as this module returns them (a list of "
                             "them, not a pd.concat of them): their direction / alpha are kept in .attrs")
    out = _stack(frames)[COLUMNS].copy()
    out.attrs = {_META: [m for f in frames for m in f.attrs[_META]]}
    p = out["p"].to_numpy(float)
    ok = np.isfinite(p)
    p_adj = np.full(len(p), np.nan)
    if ok.any():
        p_adj[ok] = _holm(p[ok]) if method == "holm" else multipletests(p[ok], method=_ADJUST[method])[1]
    out["p_adj"] = p_adj
    m = int(ok.sum())
    # the intervals at the family's level, written back once (a .loc write per row copies the frame's attrs)
    bounds = {}
    for i, meta in enumerate(out.attrs[_META]):
        interval = meta.get("interval")
        if interval is None or not ok[i] or m < 2:
            continue
        significant = max(int((p_adj[ok] < meta["alpha"]).sum()), 1)
        level = meta["alpha"] / m if method == "holm" else meta["alpha"] * significant / m
        bounds[i] = [float(v) for v in interval(level)]
    if bounds and all(out[c].dtype == np.float64 for c in ("ci_low", "ci_high")):
        for j, column in enumerate(("ci_low", "ci_high")):
            values = out[column].to_numpy(float).copy()
            values[list(bounds)] = [b[j] for b in bounds.values()]
            out[column] = values
    else:
        for i, b in bounds.items():
            out.loc[i, ["ci_low", "ci_high"]] = b
    out["family"] = family if family is not None else f"{method}: {int(ok.sum())} tests"
    out["verdict"] = [
        _verdict(e, pa, m, scale=meta["scale"], direction=meta["direction"], alpha=meta["alpha"],
                 expected_effect=meta["expected_effect"], ci=(lo, hi), reason=meta.get("reason"),
                 edge=meta.get("edge"))
        for e, pa, m, lo, hi, meta in zip(out["effect"], p_adj, out["mde"], out["ci_low"], out["ci_high"],
                                          out.attrs[_META])
    ]
    return out


def adjust_family(rows: Iterable[pd.DataFrame], family: str, method: str = "holm") -> pd.DataFrame:
    """Every verdict-bearing row of one action (default, DiD, segmented, standardised) in one family.

    The rows are stacked, p is adjusted across all of them (Holm by default) and every
    verdict redone on the adjusted p; ``family`` names the family in each row so a report can
    show which rows were adjusted together. CIs are at the family's level (see
    :func:`evaluate`); a verdict still needs its CI to exclude "no change".

    Parameters
    ----------
    rows : iterable of DataFrame
        Result frames as this package returns them (one or more rows each).
    family : str
        The family's name, e.g. the action id.
    method : {"holm", "bh"}
        As in :func:`evaluate`.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`; split it back by ``metric`` / ``method`` as needed.
    """
    return evaluate(list(rows), method=method, family=family)
