"""The weighted scorecard of seed 001: score = weight × actual / target, grades, root-cause flags.

Lower-is-better indicators score weight × target / actual. Whether a score may exceed its
weight is the standards' ``cap_at_weight`` switch (the seed's own example, 20 × 82/80 =
20.50, does exceed it, so the default does not cap). An indicator with no data for a unit
(on-site arrival for a hotline team) is *not applicable*: by default the total is rescaled
to the weights that apply, so teams with different indicator sets stay on the same 0-100 scale.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from qa_helpers.config import config_file
from qa_helpers.measures.standards import Standards

PANEL_MAX = 5.0


def indicator_score(actual: float, target: float, weight: float, direction: str = "higher",
                    cap_at_weight: bool = False) -> float:
    """Score one indicator.

    Parameters
    ----------
    actual, target : float
        Measured value and target, in the same unit.
    weight : float
        The indicator's weight (points it is worth at target).
    direction : {"higher", "lower"}
        Which way is better.
    cap_at_weight : bool
        Cap the score at the weight.

    Returns
    -------
    float
        ``weight × actual / target`` (``weight × target / actual`` when lower is better);
        NaN when ``actual`` is missing. A lower-is-better actual of 0 scores the full weight.

    Examples
    --------
    >>> round(indicator_score(0.88, 0.90, 15), 2), round(indicator_score(0.82, 0.80, 20), 2)
    (14.67, 20.5)
    """
    if actual is None or pd.isna(actual):
        return np.nan
    if direction == "higher":
        score = weight * actual / target
    elif actual == 0:
        score = weight
    else:
        score = weight * target / actual
    return min(score, weight) if cap_at_weight else score


def panel_means(panel: pd.DataFrame, unit: str, period: str) -> pd.DataFrame:
    """Mean panel score (1-5) per qualitative indicator for a unit and period: ``kpi, value, n``."""
    rows = panel[(panel["unit"] == unit) & (panel["period"] == period)]
    out = rows.groupby("panel")["score"].agg(value="mean", n="count").reset_index()
    return out.rename(columns={"panel": "kpi"})


def load_panel_scores(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Panel scores (``unit, period, panel, rater, score``) from config/panel_scores.csv, if present."""
    path = Path(path) if path and not Path(path).is_dir() else config_file("panel_scores.csv", path)
    if not path.is_file():
        return pd.DataFrame(columns=["unit", "period", "panel", "rater", "score"])
    return pd.read_csv(path, dtype={"unit": str, "period": str, "panel": str, "rater": str})


def scorecard(kpi_values: pd.DataFrame, standards: Standards, unit: str | None = None,
              panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """The scorecard for one unit and period.

    Parameters
    ----------
    kpi_values : DataFrame
        ``kpi, value, n`` for the period (``kpis.kpi_table(tables)``).
    standards : Standards
        Targets (with the unit's overrides), weights and switches.
    unit : str, optional
        The unit, for its target overrides.
    panel : DataFrame, optional
        ``kpi, value, n`` mean panel scores (1-5) for qualitative indicators.

    Returns
    -------
    DataFrame
        One row per indicator: ``dimension, indicator, weight, target, actual, n, direction,
        applicable, score, share_of_weight, root_cause``.
    """
    switches = standards.raw["scorecard"]
    targets = standards.targets(unit).set_index("kpi")
    values = kpi_values.set_index("kpi")
    panel_values = panel.set_index("kpi") if panel is not None and len(panel) else pd.DataFrame(columns=["value", "n"])
    rows = []
    for item in standards.indicators().itertuples(index=False):
        if item.kind == "kpi":
            target, direction = targets.loc[item.indicator, "target"], targets.loc[item.indicator, "direction"]
            actual = values["value"].get(item.indicator, np.nan)
            n = int(values["n"].get(item.indicator, 0))
        else:
            target, direction = PANEL_MAX, "higher"
            actual = panel_values["value"].get(item.indicator, np.nan)
            n = int(panel_values["n"].get(item.indicator, 0))
        score = indicator_score(actual, target, item.weight, direction, switches.get("cap_at_weight", False))
        rows.append({"dimension": item.dimension, "indicator": item.indicator, "kind": item.kind,
                     "weight": item.weight, "target": target, "actual": actual, "n": n, "direction": direction,
                     "applicable": n > 0, "score": score})
    card = pd.DataFrame(rows)
    if switches.get("not_applicable", "rescale") == "zero":
        card["score"] = card["score"].fillna(0.0)
    card["share_of_weight"] = card["score"] / card["weight"]
    card["root_cause"] = card["share_of_weight"] < switches.get("root_cause_below", 0.8)
    return card


def scorecard_total(card: pd.DataFrame, standards: Standards) -> pd.DataFrame:
    """Total score and grade: one row ``total, raw_points, applicable_weight, grade``.

    With ``not_applicable: rescale`` the total is the points scored over the weights that
    apply, × 100; with ``zero`` it is the plain sum.
    """
    applicable = card[card["applicable"]]
    raw_points = float(applicable["score"].sum())
    weight = float(applicable["weight"].sum())
    if standards.raw["scorecard"].get("not_applicable", "rescale") == "rescale":
        total = raw_points / weight * 100 if weight else np.nan
    else:
        total = float(card["score"].sum())
    return pd.DataFrame([{"total": total, "raw_points": raw_points, "applicable_weight": weight,
                          "grade": standards.grade(total)}])


def dimension_subtotals(card: pd.DataFrame) -> pd.DataFrame:
    """Points and weight per dimension: ``dimension, score, weight, share_of_weight``."""
    applicable = card[card["applicable"]]
    out = applicable.groupby("dimension", sort=False).agg(score=("score", "sum"), weight=("weight", "sum"))
    out["share_of_weight"] = out["score"] / out["weight"]
    return out.reset_index()


def compare_scorecards(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Indicator by indicator: actual and score now and before, and the change."""
    keep = ["indicator", "actual", "score"]
    both = current[["dimension", *keep]].merge(previous[keep], on="indicator", how="left",
                                               suffixes=("", "_previous"))
    both["delta_actual"] = both["actual"] - both["actual_previous"]
    both["delta_score"] = both["score"] - both["score_previous"]
    return both
