"""Alerts for schedulers: the monitoring notebook's threshold alerts and coaching cases, as one table."""

from __future__ import annotations

import os

import pandas as pd

from qa_helpers.config import CONFIG_FILES, config_dir, config_file
from qa_helpers.data import archive as qa_archive
from qa_helpers.measures.standards import load_standards
from qa_helpers.monitor.monitoring import coaching_cases, coaching_problem, threshold_alerts, usable_rules
from qa_helpers.periods import parse_period

COLUMNS = ["unit", "type", "rule", "group", "week", "value", "threshold", "n", "open"]


def alerts_for_units(period: str, units: list[str] | None = None, archive: str | os.PathLike | None = None,
                     standards: str | os.PathLike | None = None,
                     config: str | os.PathLike | None = None) -> pd.DataFrame:
    """Threshold alerts and coaching cases for each unit of a period.

    Rules the archive cannot judge (a KPI whose table or field is absent, per-agent rules without
    agents) are left out, as the monitoring notebook leaves them out.

    Parameters
    ----------
    period : str
        The period.
    units : list of str, optional
        Units to check (default: every team).
    archive : path-like, optional
        As elsewhere.
    standards : path-like, optional
        A standards file overriding the config folder's.
    config : path-like, optional
        The config folder (default ``$QAKIT_CONFIG``, else ``config/``).

    Returns
    -------
    DataFrame
        ``unit, type (threshold|coaching), rule, group, week, value, threshold, n, open``.
    """
    from qa_helpers.report.context import Context

    the_period = parse_period(str(period))
    path = qa_archive.archive_path(archive)
    folder = config_dir(config).resolve()
    files = {name: config_file(name, folder) for name in CONFIG_FILES}
    std = load_standards(standards or files["standards.yml"])
    available = qa_archive.availability(path)
    if units is None:
        table = qa_archive.units(path)
        units = list(table.loc[table["kind"] == "team", "unit"])
    frames = []
    for unit in units:
        ctx = Context(unit=unit, period=the_period, archive=path, teams=qa_archive.resolve_unit(unit, path),
                      standards=std, language="en", config=folder, files=files, available=available)
        tables = ctx.tables()
        rules, _ = usable_rules(ctx)
        fired = threshold_alerts(tables, std.raw, rules=rules)
        if len(fired):
            frames.append(fired.assign(unit=unit, type="threshold")[COLUMNS])
        if coaching_problem(ctx):
            continue
        cases = coaching_cases(tables, std.raw)
        if len(cases):
            rule = std.raw.get("coaching") or {}
            frames.append(pd.DataFrame({
                "unit": unit, "type": "coaching",
                "rule": f"{rule.get('kpi', 'csat')} below {rule.get('below', 0.8):g} for "
                        f"{rule.get('consecutive_weeks', 3)} weeks in a row",
                "group": cases["agent_id"], "week": cases["last_week"], "value": None,
                "threshold": rule.get("below", 0.8), "n": cases["run_length"], "open": True}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
