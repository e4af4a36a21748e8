"""The improvement action register (seed 000 step 4): load, check, track, and test acceptance."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd

from qa_helpers.config import config_file, read_yaml
from qa_helpers.errors import ConfigError
from qa_helpers.measures.kpis import KPIS

STATUSES = ("planned", "in_progress", "done", "cancelled")
DIRECTIONS = ("increase", "decrease")
REQUIRED = ("id", "problem", "measure", "owner", "teams", "start", "due", "metrics", "status")


def _date(where: str, key: str, value) -> pd.Timestamp:
    if isinstance(value, (dt.date, dt.datetime)):
        return pd.Timestamp(value)
    try:
        return pd.Timestamp(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {key} {value!r} is not a date (write 2025-07-07)") from None


def load_actions(path: str | os.PathLike | None = None, known_units: list[str] | None = None) -> pd.DataFrame:
    """Load and check the action register.

    Parameters
    ----------
    path : path-like, optional
        Defaults to ``actions.yml`` in the config folder.
    known_units : list of str, optional
        When given, every team and control team must be one of them.

    Returns
    -------
    DataFrame
        One row per action: ``action_id, problem, measure, owner, teams, start, due, resources,
        metrics (list of dicts), control_teams, channels, status``.

    Raises
    ------
    ConfigError
        Naming the file, the action and the field at fault.
    """
    path = Path(path) if path and not Path(path).is_dir() else config_file("actions.yml", path)
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("actions"), list):
        raise ConfigError(f"{path}: expected a mapping with an 'actions' list")
    rows, seen = [], set()
    for i, item in enumerate(doc["actions"]):
        where = f"{path}: actions[{i}]" + (f" ({item.get('id')})" if isinstance(item, dict) and item.get("id") else "")
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping")
        missing = [k for k in REQUIRED if k not in item]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        if item["id"] in seen:
            raise ConfigError(f"{where}: id {item['id']!r} is used twice")
        seen.add(item["id"])
        start, due = _date(where, "start", item["start"]), _date(where, "due", item["due"])
        if due < start:
            raise ConfigError(f"{where}: due {due:%Y-%m-%d} is before start {start:%Y-%m-%d}")
        if item["status"] not in STATUSES:
            raise ConfigError(f"{where}: status must be one of {STATUSES}, got {item['status']!r}")
        teams = item["teams"]
        if not isinstance(teams, list) or not teams:
            raise ConfigError(f"{where}: teams must be a non-empty list")
        controls = item.get("control_teams") or []
        if set(controls) & set(teams):
            raise ConfigError(f"{where}: a team cannot be its own control: {sorted(set(controls) & set(teams))}")
        if known_units is not None:
            unknown = [t for t in [*teams, *controls] if t not in known_units]
            if unknown:
                raise ConfigError(f"{where}: unknown team(s) {unknown}; teams are {', '.join(known_units)}")
        if not isinstance(item["metrics"], list) or not item["metrics"]:
            raise ConfigError(f"{where}: metrics must be a non-empty list")
        for j, metric in enumerate(item["metrics"]):
            mwhere = f"{where}.metrics[{j}]"
            if metric.get("kpi") not in KPIS:
                raise ConfigError(f"{mwhere}: unknown KPI {metric.get('kpi')!r}; known KPIs: {', '.join(KPIS)}")
            if metric.get("direction") not in DIRECTIONS:
                raise ConfigError(f"{mwhere}: direction must be 'increase' or 'decrease'")
            if not isinstance(metric.get("target"), (int, float)):
                raise ConfigError(f"{mwhere}: target (the acceptance criterion) must be a number")
        rows.append({"action_id": item["id"], "problem": item["problem"], "measure": item["measure"],
                     "owner": item["owner"], "teams": list(teams), "start": start, "due": due,
                     "resources": item.get("resources", ""), "metrics": item["metrics"],
                     "control_teams": list(controls), "channels": list(item.get("channels") or []),
                     "status": item["status"]})
    return pd.DataFrame(rows)


def for_teams(actions: pd.DataFrame, teams: list[str] | None) -> pd.DataFrame:
    """Actions that cover any of ``teams`` (``None``: every action)."""
    if teams is None:
        return actions.reset_index(drop=True)
    return actions[actions["teams"].map(lambda ts: bool(set(ts) & set(teams)))].reset_index(drop=True)


def tracking(actions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Status as of a date: days to due, and ``overdue`` when open past its due date."""
    out = actions.copy()
    open_ = out["status"].isin(["planned", "in_progress"])
    out["days_to_due"] = (out["due"] - as_of).dt.days
    out["overdue"] = open_ & (out["due"] < as_of)
    out["started"] = out["start"] <= as_of
    return out


def acceptance(actions: pd.DataFrame, measure, as_of: pd.Timestamp) -> pd.DataFrame:
    """Check each action's acceptance criteria against measured KPIs.

    Parameters
    ----------
    actions : DataFrame
        From :func:`load_actions`.
    measure : callable
        ``measure(action_row, start, end) -> DataFrame[kpi, value, n]``: the KPIs of the
        action's teams (and channels) between two dates.
    as_of : Timestamp
        The end of the reporting period.

    Returns
    -------
    DataFrame
        One row per action and metric: ``action_id, kpi, direction, target, value, n,
        verdict`` with verdict ``met``, ``not met`` or ``not yet measurable``.
    """
    rows = []
    for action in actions.itertuples(index=False):
        measurable = action.start < as_of and action.status != "cancelled"
        values = measure(action, action.start, as_of).set_index("kpi") if measurable else None
        for metric in action.metrics:
            value = n = None
            verdict = "not yet measurable"
            if values is not None and metric["kpi"] in values.index and values.loc[metric["kpi"], "n"] > 0:
                value, n = float(values.loc[metric["kpi"], "value"]), int(values.loc[metric["kpi"], "n"])
                good = value >= metric["target"] if metric["direction"] == "increase" else value <= metric["target"]
                verdict = "met" if good else "not met"
            rows.append({"action_id": action.action_id, "kpi": metric["kpi"], "direction": metric["direction"],
                         "target": metric["target"], "value": value, "n": n, "verdict": verdict})
    return pd.DataFrame(rows, columns=["action_id", "kpi", "direction", "target", "value", "n", "verdict"])
