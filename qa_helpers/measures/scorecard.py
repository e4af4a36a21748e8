"""The weighted scorecard of seed 001: scores, grades, targets met, root-cause flags, remarks.

How an indicator is scored is the standards' ``scorecard.method``:

- ``ratio`` (seed 001): weight × actual / target (target / actual when lower is better); the
  seed's own example, 20 × 82/80 = 20.50, exceeds the weight, so this does not cap;
- ``capped``: the ratio, at most the weight;
- ``floor_to_target``: 0 at the indicator's declared floor, the full weight at its target,
  linear between. The ratio hardly discriminates (80 % of every target still scores 80-89,
  "good"), so a unit missing four targets can be graded excellent; this spends the grade
  bands between "unacceptable" and "at target".

Beside the grade the scorecard counts the targets met (k of n), flags each indicator whose
*attainment* (actual / target, target / actual when lower is better) is under
``root_cause_below`` (1.0: every missed target; seed 001's "below 80 %" is 0.80), and carries
a remark per indicator from the standards or the action register. An indicator with no data for a unit
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
PANEL_MIN = 1.0  # a panel score of 1 ("not met") is the floor of a panel indicator


def indicator_score(actual: float, target: float, weight: float, direction: str = "higher",
                    method: str = "ratio", floor: float | None = None) -> float:
    """Score one indicator.

    Parameters
    ----------
    actual, target : float
        Measured value and target, in the same unit.
    weight : float
        The indicator's weight (points it is worth at target).
    direction : {"higher", "lower"}
        Which way is better.
    method : {"ratio", "capped", "floor_to_target"}
        ``ratio``: ``weight × actual / target`` (``weight × target / actual`` when lower is
        better), may exceed the weight; ``capped``: the ratio, at most the weight;
        ``floor_to_target``: 0 at ``floor``, the weight at ``target``, linear between and
        clipped to that range.
    floor : float, optional
        The level that scores 0 (``floor_to_target`` only).

    Returns
    -------
    float
        The points; NaN when ``actual`` is missing. Under the ratio a lower-is-better actual of
        0 scores the full weight.

    Examples
    --------
    >>> round(indicator_score(0.88, 0.90, 15), 2), round(indicator_score(0.82, 0.80, 20), 2)
    (14.67, 20.5)
    >>> round(indicator_score(0.80, 0.90, 15, method="floor_to_target", floor=0.70), 2)
    7.5
    """
    if actual is None or pd.isna(actual):
        return np.nan
    if method == "floor_to_target":
        if floor is None or pd.isna(floor):
            raise ValueError("floor_to_target needs the indicator's floor")
        return weight * float(np.clip((actual - floor) / (target - floor), 0.0, 1.0))
    if direction == "higher":
        score = weight * actual / target
    elif actual == 0:
        score = weight
    else:
        score = weight * target / actual
    return min(score, weight) if method == "capped" else score


def attainment(actual: float, target: float, direction: str = "higher") -> float:
    """How much of its target an indicator reached: actual / target (target / actual when lower is
    better); 1 or more meets the target. NaN when ``actual`` is missing.

    Examples
    --------
    >>> attainment(0.72, 0.90), attainment(40, 30, "lower")
    (0.7999999999999999, 0.75)
    """
    if actual is None or pd.isna(actual):
        return np.nan
    if direction == "higher":
        return actual / target
    return np.inf if actual == 0 else target / actual


def channel_attainment(values: pd.DataFrame, standards: Standards, unit: str | None = None) -> pd.DataFrame:
    """Durations against their own channel's (and priority's) target, and their volume-weighted attainment.

    A first response of 615 s over phone, chat and e-mail together says nothing: each channel is
    compared with its own target (``target_by_channel`` in the standards) and the channels are
    combined by their volume, so a unit is neither punished for its e-mail share nor excused by
    its chat share. Where the standards give a channel targets per ticket priority, ``values``
    broken down by priority too are compared priority by priority (a priority without its own
    target takes the channel's default).

    Parameters
    ----------
    values : DataFrame
        ``channel, kpi, value, n`` (``kpi_table(tables, by=["channel"])``), optionally with
        ``priority`` (``by=["channel", "priority"]``).
    standards : Standards
    unit : str, optional
        For the unit's overrides.

    Returns
    -------
    DataFrame
        ``kpi, channel, priority, value, n, target, direction, unit, attainment, met``, one row per
        KPI and channel (and priority) with a target and data, then per KPI a row ``channel = "all
        channels"`` whose ``attainment`` is Σ n × attainment / Σ n and whose ``met`` is True when
        every row met its target (``value``: NaN, a mix has no single value). Attainment is
        target / value (lower is better), capped at 2 so one very fast channel cannot hide a slow one.
    """
    columns = ["kpi", "channel", "priority", "value", "n", "target", "direction", "unit", "attainment", "met"]
    targets = standards.channel_targets(unit)
    defaults = targets[targets["priority"].isna()].drop(columns="priority")
    if "priority" in values:
        specific = targets[targets["priority"].notna()]
        rows = values.merge(specific, on=["kpi", "channel", "priority"], how="left")
        fallback = values.merge(defaults, on=["kpi", "channel"], how="left")
        for column in ("target", "direction", "unit", "source"):
            rows[column] = rows[column].fillna(fallback[column])
        rows = rows[rows["target"].notna()]
    else:
        rows = values.merge(defaults, on=["kpi", "channel"], how="inner").assign(priority=None)
    rows = rows[(rows["n"] > 0) & rows["value"].notna()].copy()
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows["attainment"] = [min(attainment(v, t, d), 2.0) for v, t, d in
                          zip(rows["value"], rows["target"], rows["direction"])]
    rows["met"] = rows["attainment"] >= 1
    combined = rows.groupby("kpi", sort=False).apply(
        lambda g: pd.Series({"channel": "all channels", "priority": None, "value": np.nan, "n": int(g["n"].sum()),
                             "target": np.nan, "direction": g["direction"].iloc[0], "unit": g["unit"].iloc[0],
                             "attainment": float((g["attainment"] * g["n"]).sum() / g["n"].sum()),
                             "met": bool(g["met"].all())}), include_groups=False).reset_index()
    out = pd.concat([rows[columns], combined[columns]], ignore_index=True)
    order = {name: i for i, name in enumerate(targets["kpi"].drop_duplicates())}
    out["_kpi"] = out["kpi"].map(order)
    out["_last"] = out["channel"] == "all channels"
    return out.sort_values(["_kpi", "_last"], kind="stable").drop(columns=["_kpi", "_last"]).reset_index(drop=True)


def indicator_remarks(standards: Standards, unit: str, period: str,
                      actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Seed 001's remarks column: the standards' remarks for the unit and period, then each action
    of the register (already limited to the unit) that names the indicator among its metrics.

    Returns
    -------
    DataFrame
        ``indicator, remark``: one row per indicator, several remarks joined by "; ".
    """
    rows = standards.remarks(unit, period).to_dict("records")
    for action in (actions.itertuples(index=False) if actions is not None else []):
        if action.status == "cancelled":
            continue
        status = str(action.status).replace("_", " ")
        rows += [{"indicator": metric["kpi"],
                  "remark": f"{action.action_id} ({status}, due {pd.Timestamp(action.due):%Y-%m-%d}): {action.measure}"}
                 for metric in action.metrics]
    frame = pd.DataFrame(rows, columns=["indicator", "remark"])
    return frame.groupby("indicator", sort=False)["remark"].agg("; ".join).reset_index()


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


def scorecard_kpis(standards: Standards) -> list[str]:
    """The KPIs a scorecard scores (its ``kpi`` indicators, in scorecard order): the only rows of a KPI table
    :func:`scorecard` reads, so a unit's scorecard needs no other KPI computed (issue 17: the medians and
    per-agent counts of a year's tickets cost seconds and score nothing).

    Examples
    --------
    >>> from qa_helpers.measures.standards import load_standards
    >>> scorecard_kpis(load_standards())[:3]
    ['response_on_time', 'onsite_arrival_on_time', 'fcr']
    """
    indicators = standards.indicators()
    if indicators.empty:
        return []
    return list(dict.fromkeys(indicators.loc[indicators["kind"] == "kpi", "indicator"]))


def scorecard(kpi_values: pd.DataFrame, standards: Standards, unit: str | None = None,
              panel: pd.DataFrame | None = None, measurability: pd.DataFrame | None = None,
              remarks: pd.DataFrame | None = None) -> pd.DataFrame:
    """The scorecard for one unit and period.

    Parameters
    ----------
    kpi_values : DataFrame
        ``kpi, value, n`` for the period (``kpis.kpi_table(tables)``; only the :func:`scorecard_kpis` rows
        are read).
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
    remarks : DataFrame, optional
        ``indicator, remark`` (:func:`indicator_remarks`).

    Returns
    -------
    DataFrame
        One row per indicator: ``dimension, indicator, kind, weight, target, floor, actual, n,
        direction, applicable, score, share_of_weight, attainment, met, root_cause, remark,
        measurable, status, note``. ``met`` and ``root_cause`` are False for an indicator without
        a value (it is neither met nor missed); ``root_cause``: attainment under the standards'
        ``root_cause_below``.
        ``measurable``: the archive has its inputs; ``applicable``: it has a value for this unit
        and period (n > 0); ``status`` is "scored" or "not measured", ``note`` says why not
        (the measurability reason, "no data for this unit and period", "no panel scores ...").
        Under ``not_applicable: zero`` an indicator the archive can measure but this unit has no
        data for scores 0 (``note`` says so).
    """
    switches = standards.scoring()
    zero = switches["not_applicable"] == "zero"
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
            floor = targets.loc[item.indicator, "floor"]
            actual = values["value"].get(item.indicator, np.nan)
            n = int(values["n"].get(item.indicator, 0))
            if not bool(measured.get(item.indicator, True)):
                measurable, note, actual, n = False, str(reasons.get(item.indicator, "")), np.nan, 0
            elif n == 0 or pd.isna(actual):
                note = "no data for this unit and period"
        else:
            target, direction, floor = PANEL_MAX, "higher", PANEL_MIN
            actual = panel_values["value"].get(item.indicator, np.nan)
            n = int(panel_values["n"].get(item.indicator, 0))
            if n == 0 or pd.isna(actual):
                note = "no panel scores for this unit and period"
        applicable = measurable and n > 0 and not pd.isna(actual)
        score = indicator_score(actual, target, item.weight, direction, switches["method"], floor)
        if zero and measurable and not applicable:
            score, note = 0.0, note + ": scored 0 (not_applicable: zero)"
        rows.append({"dimension": item.dimension, "indicator": item.indicator, "kind": item.kind,
                     "weight": item.weight, "target": target, "floor": floor, "actual": actual, "n": n,
                     "direction": direction, "attainment": attainment(actual, target, direction),
                     "applicable": applicable, "score": score, "measurable": measurable,
                     "status": "scored" if applicable else "not measured", "note": note})
    card = pd.DataFrame(rows)
    card["share_of_weight"] = card["score"] / card["weight"]
    judged = card["applicable"].astype(bool)
    card["met"] = judged & (card["attainment"] >= 1)
    card["root_cause"] = judged & (card["attainment"] < switches["root_cause_below"])
    notes = remarks.set_index("indicator")["remark"] if remarks is not None and len(remarks) else {}
    card["remark"] = [notes.get(name, "") for name in card["indicator"]]
    return card[["dimension", "indicator", "kind", "weight", "target", "floor", "actual", "n", "direction",
                 "applicable", "score", "share_of_weight", "attainment", "met", "root_cause", "remark",
                 "measurable", "status", "note"]]


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
        One row: ``total, raw_points, applicable_weight, measured_weight, grade, targets_met,
        targets_judged, root_causes, note``. ``targets_met`` of ``targets_judged``: indicators
        with a value that met their target; ``root_causes``: indicators flagged for root cause.
        ``measured_weight`` is the weight (of the scorecard's 100) the total is scored over;
        ``note`` says so in words, e.g. "scored over 55 of 100 points: 3 indicators not measured".
    """
    measurable = card["measurable"] if "measurable" in card else pd.Series(True, index=card.index)
    applicable = card["applicable"].astype(bool)
    all_weight = float(card["weight"].sum())
    raw_points = float(card.loc[applicable, "score"].sum())
    zero = standards.scoring()["not_applicable"] == "zero"
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
                          "measured_weight": weight, "grade": standards.grade(total),
                          "targets_met": int(card["met"].sum()), "targets_judged": int(applicable.sum()),
                          "root_causes": int(card["root_cause"].sum()), "note": note}])


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
