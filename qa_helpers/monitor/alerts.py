"""Alerts for schedulers: the monitoring notebook's threshold alerts and coaching cases, as one table."""

from __future__ import annotations

import os

import pandas as pd

from qa_helpers.data import archive as qa_archive
from qa_helpers.data.schemas import ANALYSIS_TABLES
from qa_helpers.monitor.monitoring import coaching_cases, threshold_alerts
from qa_helpers.periods import parse_period
from qa_helpers.measures.standards import load_standards

COLUMNS = ["unit", "type", "rule", "group", "week", "value", "threshold", "n", "open"]


def alerts_for_units(period: str, units: list[str] | None = None, archive: str | os.PathLike | None = None,
                     standards: str | os.PathLike | None = None) -> pd.DataFrame:
    """Threshold alerts and coaching cases for each unit of a period.

    Parameters
    ----------
    period : str
        The period.
    units : list of str, optional
        Units to check (default: every team).
    archive, standards : path-like, optional
        As elsewhere.

    Returns
    -------
    DataFrame
        ``unit, type (threshold|coaching), rule, group, week, value, threshold, n, open``.
    """
    the_period = parse_period(period)
    path = qa_archive.archive_path(archive)
    std = load_standards(standards).raw
    if units is None:
        table = qa_archive.units(path)
        units = list(table.loc[table["kind"] == "team", "unit"])
    frames = []
    for unit in units:
        tables = {name: qa_archive.load(name, unit, the_period, archive=path) for name in ANALYSIS_TABLES}
        fired = threshold_alerts(tables, std)
        if len(fired):
            frames.append(fired.assign(unit=unit, type="threshold")[COLUMNS])
        cases = coaching_cases(tables, std)
        if len(cases):
            rule = std.get("coaching") or {}
            frames.append(pd.DataFrame({
                "unit": unit, "type": "coaching",
                "rule": f"{rule.get('kpi', 'csat')} below {rule.get('below', 0.8):g} for "
                        f"{rule.get('consecutive_weeks', 3)} weeks in a row",
                "group": cases["agent_id"], "week": cases["last_week"], "value": None,
                "threshold": rule.get("below", 0.8), "n": cases["run_length"], "open": True}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
