"""The weighted scorecard of seed 001: score = weight × actual / target, grades, root-cause flags.

Lower-is-better indicators score weight × target / actual. Whether a score may exceed its
weight is the standards' ``cap_at_weight`` switch (the seed's own example, 20 × 82/80 =
20.50, does exceed it, so the default does not cap). An indicator with no data for a unit
(on-site arrival for a hotline team) or that the archive cannot measure at all (no
complaints table, no first_contact_resolved field) is *not measured*: by default the total
is rescaled to the weights that can be measured, so teams with different indicator sets stay
on the same 0-100 scale, and the total says over how many of the 100 points it was scored.
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
              panel: pd.DataFrame | None = None, measurability: pd.DataFrame | None = None) -> pd.DataFrame:
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
    measurability : DataFrame, optional
        ``kpis.measurability(available, standards)``: indicators the archive cannot measure
        get no value whatever ``kpi_values`` says, ``status`` "not measured" with the reason, and
        are always left out of the total (they cannot score any unit).

    Returns
    -------
    DataFrame
        One row per indicator: ``dimension, indicator, kind, weight, target, actual, n, direction,
        applicable, score, share_of_weight, root_cause, measurable, status, note``.
        ``measurable``: the archive has its inputs; ``applicable``: it has a value for this unit
        and period (n > 0); ``status`` is "scored" or "not measured", ``note`` says why not
        (the measurability reason, "no data for this unit and period", "no panel scores ...").
        Under ``not_applicable: zero`` an indicator the archive can measure but this unit has no
        data for scores 0 (``note`` says so).
    """
    switches = standards.raw["scorecard"]
    zero = switches.get("not_applicable", "rescale") == "zero"
    targets = standards.targets(unit).set_index("kpi")
    values = kpi_values.set_index("kpi")
    panel_values = panel.set_index("kpi") if panel is not None and len(panel) else pd.DataFrame(columns=["value", "n"])
    reasons = measurability.set_index("kpi")["reason"] if measurability is not None else pd.Series(dtype=object)
    measured = measurability.set_index("kpi")["measured"] if measurability is not None else pd.Series(dtype=bool)
    rows = []
    for item in standards.indicators().itertuples(index=False):
        measurable, note = True, ""
        if item.kind == "kpi":
            target, direction = targets.loc[item.indicator, "target"], targets.loc[item.indicator, "direction"]
            actual = values["value"].get(item.indicator, np.nan)
            n = int(values["n"].get(item.indicator, 0))
            if not bool(measured.get(item.indicator, True)):
                measurable, note, actual, n = False, str(reasons.get(item.indicator, "")), np.nan, 0
            elif n == 0 or pd.isna(actual):
                note = "no data for this unit and period"
        else:
            target, direction = PANEL_MAX, "higher"
            actual = panel_values["value"].get(item.indicator, np.nan)
            n = int(panel_values["n"].get(item.indicator, 0))
            if n == 0 or pd.isna(actual):
                note = "no panel scores for this unit and period"
        applicable = measurable and n > 0 and not pd.isna(actual)
        score = indicator_score(actual, target, item.weight, direction, switches.get("cap_at_weight", False))
        if zero and measurable and not applicable:
            score, note = 0.0, note + ": scored 0 (not_applicable: zero)"
        rows.append({"dimension": item.dimension, "indicator": item.indicator, "kind": item.kind,
                     "weight": item.weight, "target": target, "actual": actual, "n": n, "direction": direction,
                     "applicable": applicable, "score": score, "measurable": measurable,
                     "status": "scored" if applicable else "not measured", "note": note})
    card = pd.DataFrame(rows)
    card["share_of_weight"] = card["score"] / card["weight"]
    card["root_cause"] = card["share_of_weight"] < switches.get("root_cause_below", 0.8)
    return card[["dimension", "indicator", "kind", "weight", "target", "actual", "n", "direction", "applicable",
                 "score", "share_of_weight", "root_cause", "measurable", "status", "note"]]


def _count(k: int, what: str) -> str:
    return f"{k} {what}" if k == 1 else f"{k} {what.replace('indicator', 'indicators')}"


def scorecard_total(card: pd.DataFrame, standards: Standards) -> pd.DataFrame:
    """Total score and grade over the indicators that could be measured.

    With ``not_applicable: rescale`` (default) the total is the points scored over the weights
    of the indicators that have a value, × 100; with ``zero`` an indicator without data for the
    unit scores 0, and only indicators the archive cannot measure at all are left out (the
    total is the plain sum when none is). With no indicator measured the total is NaN and the
    grade ``None``.

    Returns
    -------
    DataFrame
        One row: ``total, raw_points, applicable_weight, measured_weight, grade, note``.
        ``measured_weight`` is the weight (of the scorecard's 100) the total is scored over;
        ``note`` says so in words, e.g. "scored over 55 of 100 points: 3 indicators not measured".
    """
    measurable = card["measurable"] if "measurable" in card else pd.Series(True, index=card.index)
    applicable = card["applicable"].astype(bool)
    all_weight = float(card["weight"].sum())
    raw_points = float(card.loc[applicable, "score"].sum())
    zero = standards.raw["scorecard"].get("not_applicable", "rescale") == "zero"
    counted = (measurable.astype(bool) if zero else applicable)
    if not applicable.any():
        counted = applicable
    weight = float(card.loc[counted, "weight"].sum())
    points = float(card.loc[counted, "score"].fillna(0.0).sum())
    if not applicable.any():
        total = np.nan
    elif zero and weight == all_weight:
        total = float(card["score"].fillna(0.0).sum())  # nothing left out: the plain sum, as before
    else:
        total = points / weight * 100
    left_out, zeroed = int((~counted).sum()), int((counted & ~applicable).sum())
    parts = [_count(left_out, "indicator not measured")] if left_out else []
    parts += [_count(zeroed, "indicator without data scored 0")] if zeroed else []
    note = f"scored over {weight:g} of {all_weight:g} points: " + (", ".join(parts) or "every indicator measured")
    return pd.DataFrame([{"total": total, "raw_points": raw_points,
                          "applicable_weight": float(card.loc[applicable, "weight"].sum()),
                          "measured_weight": weight, "grade": standards.grade(total), "note": note}])


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
