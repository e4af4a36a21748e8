"""The result row and its verdict, shared by every test in :mod:`qa_helpers.stats`.

Every answer is one row with :data:`COLUMNS`; the per-row inputs :func:`evaluate` needs to
redo the verdicts after adjusting p ride along in ``DataFrame.attrs``. The kinds of metric,
their effect scales and the rate unit live here because every design reports in them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["metric", "method", "before", "after", "effect", "ci_low", "ci_high", "p", "p_adj",
           "n_before", "n_after", "mde", "verdict"]
VERDICTS = ("improved", "worsened", "no detectable change", "inconclusive (underpowered)")
KINDS = ("proportion", "duration", "ordinal", "rate")
DIRECTIONS = ("increase", "decrease")
RATE_PER = 1000

_META = "qa_stats"  # DataFrame.attrs key: per-row inputs evaluate() needs to redo verdicts
_SCALE = {"proportion": "difference", "duration": "ratio", "ordinal": "probability", "rate": "ratio"}
_NULL = {"difference": 0.0, "ratio": 1.0, "probability": 0.5}


def _distance(value: float, scale: str) -> float:
    if value is None or not np.isfinite(value):
        return np.inf
    if scale == "ratio":
        return abs(np.log(value)) if value > 0 else np.inf
    return abs(value - _NULL[scale])


def _verdict(effect: float, p: float, mde: float, *, scale: str, direction: str, alpha: float,
             expected_effect: float | None) -> str:
    if np.isfinite(p) and p < alpha and effect != _NULL[scale]:
        better = effect > _NULL[scale] if direction == "increase" else effect < _NULL[scale]
        return "improved" if better else "worsened"
    if not np.isfinite(p) or not np.isfinite(mde):  # no test, or no improvement reachable with POWER
        return "inconclusive (underpowered)"
    if expected_effect is not None and _distance(mde, scale) > _distance(expected_effect, scale):
        return "inconclusive (underpowered)"
    return "no detectable change"


def _check_options(direction: str, alpha: float, expected_effect: float | None, scale: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'increase' or 'decrease' (which way is better), got {direction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if expected_effect is not None and scale == "ratio" and expected_effect <= 0:
        raise ValueError(f"expected_effect is a ratio here (e.g. 0.9 for -10 %), got {expected_effect!r}")


def _result(metric: str, method: str, before: float, after: float, effect: float, ci: tuple,
            p: float, n_before: int, n_after: int, mde: float, *, scale: str, direction: str,
            alpha: float, expected_effect: float | None) -> pd.DataFrame:
    row = {"metric": metric, "method": method, "before": float(before), "after": float(after),
           "effect": float(effect), "ci_low": float(ci[0]), "ci_high": float(ci[1]), "p": float(p),
           "p_adj": float(p), "n_before": int(n_before), "n_after": int(n_after), "mde": float(mde)}
    row["verdict"] = _verdict(row["effect"], row["p"], row["mde"], scale=scale, direction=direction,
                              alpha=alpha, expected_effect=expected_effect)
    frame = pd.DataFrame([row], columns=COLUMNS)
    frame.attrs[_META] = [{"scale": scale, "direction": direction, "alpha": alpha,
                           "expected_effect": expected_effect}]
    return frame


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    meta = [m for f in frames for m in f.attrs[_META]]
    out = pd.concat(frames, ignore_index=True)
    out.attrs = {_META: meta}
    return out
