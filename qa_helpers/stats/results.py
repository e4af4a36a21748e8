"""The result row and its verdict, shared by every test in :mod:`qa_helpers.stats`.

Every answer is one row with :data:`COLUMNS`; the per-row inputs :func:`evaluate` needs to
redo the verdicts after adjusting p ride along in ``DataFrame.attrs``. The kinds of metric,
their effect scales and the rate unit live here because every design reports in them.

Verdicts (:data:`VERDICTS`)
---------------------------
``not estimable``
    The design cannot give an honest test: fewer than 2 clusters in a window (or in a DiD
    team), a standard error of 0 or NaN, no stratum observed in both windows... ``note``
    says which. Never a p of 0 from a degenerate standard error.
``improved`` / ``worsened``
    p (adjusted p once :func:`evaluate` has run) below ``alpha`` *and* the CI excludes "no
    change", so a row never claims a change its own interval does not support.
``no change larger than the MDE``
    Not significant, and the CI lies inside ± the smallest effect that matters (the
    ``expected_effect`` when given, else the MDE) on the analysis scale (difference, log
    ratio, probability - 0.5): an equivalence-style statement the data support.
``inconclusive (no events)``
    No events / successes in either window: nothing to compare.
``inconclusive (at ceiling)``
    The before level is already the best possible (share 1 for "increase", no complaints
    for "decrease"): no improvement can be shown.
``inconclusive (underpowered)``
    Not significant, and the CI still includes an effect that matters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["metric", "method", "before", "after", "effect", "ci_low", "ci_high", "p", "p_adj",
           "n_before", "n_after", "mde", "verdict", "note", "family"]
NOT_ESTIMABLE = "not estimable"
NO_CHANGE = "no change larger than the MDE"
UNDERPOWERED = "inconclusive (underpowered)"
AT_CEILING = "inconclusive (at ceiling)"
NO_EVENTS = "inconclusive (no events)"
VERDICTS = ("improved", "worsened", NO_CHANGE, UNDERPOWERED, AT_CEILING, NO_EVENTS, NOT_ESTIMABLE)
KINDS = ("proportion", "duration", "ordinal", "rate")
DIRECTIONS = ("increase", "decrease")
RATE_PER = 1000

_META = "qa_stats"  # DataFrame.attrs key: per-row inputs evaluate() needs to redo verdicts
_SCALE = {"proportion": "difference", "duration": "ratio", "ordinal": "probability", "rate": "ratio"}
_NULL = {"difference": 0.0, "ratio": 1.0, "probability": 0.5}
_EDGES = {"no events": NO_EVENTS, "at ceiling": AT_CEILING}


def _distance(value: float, scale: str) -> float:
    if value is None or not np.isfinite(value):
        return np.inf
    if scale == "ratio":
        return abs(np.log(value)) if value > 0 else np.inf
    return abs(value - _NULL[scale])


def _signed(value: float, scale: str) -> float:
    """Position on the analysis scale relative to "no change" (log for ratios)."""
    if scale == "ratio":
        if value <= 0:
            return -np.inf
        return np.log(value) if np.isfinite(value) else np.inf
    return value - _NULL[scale]


def _verdict(effect: float, p: float, mde: float, *, scale: str, direction: str, alpha: float,
             expected_effect: float | None, ci: tuple = (np.nan, np.nan), reason: str | None = None,
             edge: str | None = None) -> str:
    """The verdict of one row (rules in the module docstring)."""
    if reason:
        return NOT_ESTIMABLE
    lo, hi = (_signed(float(c), scale) if c is not None and not np.isnan(c) else np.nan for c in ci)
    null = _NULL[scale]
    excludes_null = not (lo <= 0 <= hi)  # NaN bounds compare False: no CI, no veto
    if np.isfinite(p) and p < alpha and effect != null and excludes_null:
        better = effect > null if direction == "increase" else effect < null
        return "improved" if better else "worsened"
    if edge in _EDGES:
        return _EDGES[edge]
    if not np.isfinite(p):
        return NOT_ESTIMABLE
    band = _distance(expected_effect, scale) if expected_effect is not None else _distance(mde, scale)
    if np.isfinite(band) and np.isfinite(lo) and np.isfinite(hi) and -band < lo and hi < band:
        return NO_CHANGE
    return UNDERPOWERED


def _check_options(direction: str, alpha: float, expected_effect: float | None, scale: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'increase' or 'decrease' (which way is better), got {direction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if expected_effect is not None and scale == "ratio" and expected_effect <= 0:
        raise ValueError(f"expected_effect is a ratio here (e.g. 0.9 for -10 %), got {expected_effect!r}")


def _result(metric: str, method: str, before: float, after: float, effect: float, ci: tuple,
            p: float, n_before: int, n_after: int, mde: float, *, scale: str, direction: str,
            alpha: float, expected_effect: float | None, reason: str | None = None, edge: str | None = None,
            note: str = "", family: str | None = None, interval=None) -> pd.DataFrame:
    """One result row. ``reason`` (why the design cannot be tested) makes it "not estimable";
    ``edge`` ("no events", "at ceiling") names why a non-significant row is inconclusive;
    ``interval(alpha)`` recomputes the CI at another level (family-adjusted CIs)."""
    p = float(p)
    if not reason and edge is None and not np.isfinite(p):
        reason = "no test statistic (standard error 0 or not finite)"
    if reason:  # never a p, CI or MDE from a design that cannot support them
        p, ci, mde = np.nan, (np.nan, np.nan), np.nan
    notes = [n for n in (f"not estimable: {reason}" if reason else "", f"{edge}" if edge else "", note) if n]
    row = {"metric": metric, "method": method, "before": float(before), "after": float(after),
           "effect": float(effect), "ci_low": float(ci[0]), "ci_high": float(ci[1]), "p": p,
           "p_adj": p, "n_before": int(n_before), "n_after": int(n_after), "mde": float(mde),
           "note": "; ".join(notes), "family": family or ""}
    row["verdict"] = _verdict(row["effect"], row["p"], row["mde"], scale=scale, direction=direction,
                              alpha=alpha, expected_effect=expected_effect, ci=ci, reason=reason, edge=edge)
    frame = pd.DataFrame([row], columns=COLUMNS)
    frame.attrs[_META] = [{"scale": scale, "direction": direction, "alpha": alpha,
                           "expected_effect": expected_effect, "reason": reason, "edge": edge,
                           "interval": interval}]
    return frame


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    meta = [m for f in frames for m in f.attrs[_META]]
    out = pd.concat(frames, ignore_index=True)
    out.attrs = {_META: meta}
    return out
