"""Alerts for schedulers: the monitoring notebook's alerts, coaching cases and team-level problems, as one
table with the notebook's fields."""

from __future__ import annotations

import os

import pandas as pd

from qa_helpers.config import CONFIG_FILES, config_dir, config_file
from qa_helpers.data import archive as qa_archive
from qa_helpers.measures.standards import load_standards
from qa_helpers.monitor.monitoring import SEVERITY_ORDER, severity, unit_review
from qa_helpers.periods import parse_period

COLUMNS = ["unit", "type", "kind", "severity", "rule", "group", "start", "last_week", "weeks_open", "value",
           "threshold", "n", "open"]


def alerts_for_units(period: str, units: list[str] | None = None, archive: str | os.PathLike | None = None,
                     standards: str | os.PathLike | None = None,
                     config: str | os.PathLike | None = None) -> pd.DataFrame:
    """Threshold alerts, one-to-one coaching cases and team-level problems for each unit of a period.

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
        ``unit, type, kind, severity, rule, group, start, last_week, weeks_open, value, threshold, n,
        open``. ``type`` "threshold": an alert episode, as the monitoring notebook lists it (whole weeks
        only, chronic / recurring / new, severity, n over its weeks); "coaching": an agent whose run of
        weeks under the coaching threshold stands out from the team (``value``: the run's CSAT, ``n``
        its answers); "team-level": a team whose CSAT over the period is below target, so the remedy is
        for the team (``value``: its CSAT, ``threshold``: the target). Sorted as the notebook sorts:
        open first, most severe first.
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
    policy = std.raw.get("alert_episodes") or {}
    # a team-level problem spans the period: from its first day to the Monday of its last week
    last_week = (the_period.end - pd.Timedelta(days=1)).to_period("W-SUN").start_time
    weeks = int((last_week - the_period.start.to_period("W-SUN").start_time).days // 7) + 1
    coaching = std.raw.get("coaching") or {}
    frames = []
    for unit in units:
        ctx = Context(unit=unit, period=the_period, archive=path, teams=qa_archive.resolve_unit(unit, path),
                      standards=std, language="en", config=folder, files=files, available=available)
        # DuckDB sources: only aggregates are loaded
        fired, _, cases, teams, not_assessed = unit_review(ctx, ctx.sources())
        if len(fired):
            frames.append(fired.assign(unit=unit, type="threshold")[COLUMNS])
        if not_assessed:
            continue
        cases = cases[cases["decision"] == "one-to-one coaching"]
        threshold = float(coaching.get("below", 0.8))
        if len(cases):
            frames.append(pd.DataFrame({
                "unit": unit, "type": "coaching",
                "kind": ["chronic" if k >= policy.get("chronic_weeks", 4) else "new" for k in cases["run_length"]],
                "severity": [severity(v, threshold, policy.get("severity")) for v in cases["shrunk_csat"]],
                "rule": f"{coaching.get('kpi', 'csat')} below {threshold:g} for {coaching.get('consecutive_weeks', 3)} "
                        f"weeks in a row, below the team",
                "group": cases["agent_id"], "start": cases["first_week"], "last_week": cases["last_week"],
                "weeks_open": cases["run_length"], "value": cases["run_csat"], "threshold": threshold,
                "n": cases["run_n"], "open": True}))
        below = teams[teams["below_target"]]
        if len(below):
            frames.append(pd.DataFrame({
                "unit": unit, "type": "team-level", "kind": "chronic",
                "severity": [severity(v, t, policy.get("severity")) for v, t in zip(below["csat"], below["target"])],
                "rule": f"{coaching.get('kpi', 'csat')} of the whole team below target over the period",
                "group": below["team"], "start": the_period.start, "last_week": last_week, "weeks_open": weeks,
                "value": below["csat"], "threshold": below["target"], "n": below["n"], "open": True}))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    order = out["severity"].map(SEVERITY_ORDER)
    return (out.assign(_order=order).sort_values(["unit", "open", "_order", "type"], ascending=[True, False, True, True],
                                                 kind="stable").drop(columns="_order").reset_index(drop=True))
