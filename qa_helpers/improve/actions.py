"""The improvement action register (seed 000 step 4): load, check, track, and test acceptance."""

from __future__ import annotations

import datetime as dt
import os
import re

import pandas as pd

from qa_helpers.config import register_entries
from qa_helpers.errors import ConfigError
from qa_helpers.measures.kpis import KPIS

STATUSES = ("planned", "in_progress", "done", "cancelled")
OPEN = ("planned", "in_progress")
COLUMNS = ["action_id", "problem", "measure", "owner", "teams", "start", "due", "resources", "metrics",
           "control_teams", "channels", "status", "addresses", "progress"]
COLOURS = ("green", "amber", "red")  # a weekly progress note's status (seed 000 step 5's weekly meeting)
NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")  # an indicator, KPI or alert rule an action addresses
DIRECTIONS = ("increase", "decrease")
REQUIRED = ("id", "problem", "measure", "owner", "teams", "start", "due", "metrics", "status")


def _date(where: str, key: str, value) -> pd.Timestamp:
    if isinstance(value, (dt.date, dt.datetime)):
        return pd.Timestamp(value)
    try:
        return pd.Timestamp(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {key} {value!r} is not a date (write 2025-07-07)") from None


def _addresses(where: str, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and NAME.match(v) for v in value):
        raise ConfigError(f"{where}.addresses: expected a list of indicator, KPI or alert-rule names "
                          f"(e.g. [csat, fcr]), got {value!r}")
    return list(dict.fromkeys(value))


def _progress(where: str, value) -> list[dict]:
    """The weekly progress notes of an action, oldest first: ``date, status (green|amber|red), note, slip_reason``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}.progress: expected a list of {{date, status, note, slip_reason}}")
    notes = []
    for k, entry in enumerate(value):
        pwhere = f"{where}.progress[{k}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{pwhere}: expected a mapping {{date, status, note, slip_reason}}")
        unknown = sorted(set(entry) - {"date", "status", "note", "slip_reason"})
        if unknown:
            raise ConfigError(f"{pwhere}: unknown key(s) {', '.join(map(str, unknown))}; "
                              "expected date, status, note, slip_reason")
        if "date" not in entry:
            raise ConfigError(f"{pwhere}: missing date")
        if entry.get("status") not in COLOURS:
            raise ConfigError(f"{pwhere}.status: must be green, amber or red, got {entry.get('status')!r}")
        for key in ("note", "slip_reason"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise ConfigError(f"{pwhere}.{key}: expected text")
        if entry["status"] != "green" and not (entry.get("note") or entry.get("slip_reason")):
            raise ConfigError(f"{pwhere}: an amber or red week needs a note or a slip_reason")
        notes.append({"date": _date(pwhere, "date", entry["date"]), "status": entry["status"],
                      "note": entry.get("note") or "", "slip_reason": entry.get("slip_reason") or ""})
    return sorted(notes, key=lambda n: n["date"])


def empty_register() -> pd.DataFrame:
    """A register with no actions, typed as :func:`load_actions` types one (dates are dates)."""
    frame = pd.DataFrame({column: pd.Series(dtype="object") for column in COLUMNS})
    return frame.astype({"start": "datetime64[ns]", "due": "datetime64[ns]"})


def load_actions(path: str | os.PathLike | None = None, known_units: list[str] | None = None) -> pd.DataFrame:
    """Load and check the action register.

    An absent register file, an empty file and ``actions: []`` are all valid: no actions
    registered (an empty register with the usual columns).

    Parameters
    ----------
    path : path-like, optional
        The register file, or a config folder (its ``actions.yml``); defaults to the config folder's.
    known_units : list of str, optional
        When given, every team and control team must be one of them.

    Returns
    -------
    DataFrame
        One row per action: ``action_id, problem, measure, owner, teams, start, due, resources,
        metrics (list of dicts), control_teams, channels, status, addresses, progress``: ``addresses`` the
        scorecard indicators, KPIs or alert rules the action answers (the ``addresses`` key; its metrics' KPIs
        when it has none), ``progress`` its weekly notes oldest first (``date, status, note, slip_reason``,
        status green, amber or red).

    Raises
    ------
    ConfigError
        Naming the file, the action and the field at fault.
    """
    path, entries = register_entries(path, "actions.yml", "actions")
    if entries is None:
        return empty_register()
    rows, seen = [], set()
    for i, item in enumerate(entries):
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
                     "status": item["status"],
                     "addresses": _addresses(where, item["addresses"]) if "addresses" in item
                     else list(dict.fromkeys(m["kpi"] for m in item["metrics"] if m.get("kpi"))),
                     "progress": _progress(where, item.get("progress"))})
    return pd.DataFrame(rows, columns=COLUMNS) if rows else empty_register()


def for_teams(actions: pd.DataFrame, teams: list[str] | None) -> pd.DataFrame:
    """Actions that cover any of ``teams`` (``None``: every action)."""
    if teams is None:
        return actions.reset_index(drop=True)
    covers = actions["teams"].map(lambda ts: bool(set(ts) & set(teams))).astype(bool)
    return actions.loc[covers].reset_index(drop=True)  # .loc: an empty mask must not select columns


def unknown_teams(actions: pd.DataFrame, known_units: set[str]) -> dict[str, list[str]]:
    """Actions naming teams (or control teams) that are not units of the archive: action -> those teams."""
    out = {}
    for action in actions.itertuples(index=False):
        unknown = [t for t in [*action.teams, *action.control_teams] if t not in known_units]
        if unknown:
            out[action.action_id] = unknown
    return out


def naming_units(actions: pd.DataFrame, known_units: set[str]) -> pd.Series:
    """Whether each action's teams and control teams are all units of the archive."""
    unknown = unknown_teams(actions, known_units)
    return ~actions["action_id"].isin(list(unknown))


def tracking(actions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Status as of a date: days to due, and ``overdue`` when open past its due date."""
    out = actions.copy()
    open_ = out["status"].isin(OPEN)
    out["days_to_due"] = (pd.to_datetime(out["due"]) - as_of).dt.days
    out["overdue"] = (open_ & (out["due"] < as_of)).astype(bool)
    out["started"] = (out["start"] <= as_of).astype(bool)
    return out


def acceptance(actions: pd.DataFrame, measure, as_of: pd.Timestamp,
               unmeasurable: dict[str, str] | None = None) -> pd.DataFrame:
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
    unmeasurable : dict, optional
        KPI -> why the archive cannot measure it (no such table or field): those criteria say so.

    Returns
    -------
    DataFrame
        One row per action and metric: ``action_id, kpi, direction, target, value, n,
        verdict`` with verdict ``met``, ``not met``, ``not yet measurable`` or ``not measurable: <why>``.
    """
    unmeasurable = unmeasurable or {}
    rows = []
    for action in actions.itertuples(index=False):
        measurable = action.start < as_of and action.status != "cancelled"
        values = measure(action, action.start, as_of).set_index("kpi") if measurable else None
        for metric in action.metrics:
            value = n = None
            verdict = "not yet measurable"
            if metric["kpi"] in unmeasurable:
                verdict = f"not measurable: {unmeasurable[metric['kpi']]}"
            elif values is not None and metric["kpi"] in values.index and values.loc[metric["kpi"], "n"] > 0:
                value, n = float(values.loc[metric["kpi"], "value"]), int(values.loc[metric["kpi"], "n"])
                good = value >= metric["target"] if metric["direction"] == "increase" else value <= metric["target"]
                verdict = "met" if good else "not met"
            rows.append({"action_id": action.action_id, "kpi": metric["kpi"], "direction": metric["direction"],
                         "target": metric["target"], "value": value, "n": n, "verdict": verdict})
    out = pd.DataFrame(rows, columns=["action_id", "kpi", "direction", "target", "value", "n", "verdict"])
    return out.astype({"n": "Int64", "value": "float64"})


# ---------------------------------------------------------------- report sections (action-plan notebook)

def register_note(register: pd.DataFrame, every_action: pd.DataFrame, left_out: list[str] | None = None,
                  language: str = "en") -> list[str]:
    """What there is to track, when there is little: no actions registered at all, none for this archive's
    teams, or none for this unit; plus a line for each action left out (its teams are not in the archive)."""
    from qa_helpers.report.texts import say

    left_out = left_out or []
    if every_action.empty and not left_out:
        return [say("actions.none_registered", language)]
    if every_action.empty:
        return [say("actions.none_for_archive", language), *left_out]
    if register.empty:
        return [say("actions.none_for_unit", language), *left_out]
    return left_out


def _metric_text(metrics: list[dict], language: str) -> str:
    from qa_helpers.report.labels import t
    from qa_helpers.report.plots import format_value
    from qa_helpers.measures.kpis import KPIS

    return ", ".join(f"{t(m['kpi'], language)} {'≥' if m['direction'] == 'increase' else '≤'} "
                     f"{format_value(m['target'], KPIS[m['kpi']].unit) if m['kpi'] in KPIS else m['target']}"
                     for m in metrics)


def register_view(tracked: pd.DataFrame, language: str = "en"):
    """The register as a table (teams, dates and acceptance criteria written out); what users wrote
    (problem, measure, owner, resources) is shown as written."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import say

    if tracked.empty:
        return say("actions.nothing_to_list", language)
    shown = tracked.assign(teams=tracked["teams"].map(", ".join), start=tracked["start"].dt.date,
                           due=tracked["due"].dt.date, metrics=tracked["metrics"].map(lambda m: _metric_text(m, language)))
    return table(shown[["action_id", "problem", "measure", "owner", "teams", "start", "due", "resources", "status",
                        "metrics"]], language, values=["status"], verbatim=["problem", "measure", "owner", "resources"])


def overdue_view(tracked: pd.DataFrame, language: str = "en"):
    """Open actions past their due date, or a line saying there are none."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import say

    overdue = tracked[tracked["overdue"]]
    if overdue.empty:
        return say("actions.nothing_overdue", language)
    return table(overdue[["action_id", "owner", "due", "status", "days_to_due"]].assign(due=overdue["due"].dt.date),
                 language, values=["status"], verbatim=["owner"])


def acceptance_view(checks: pd.DataFrame, language: str = "en"):
    """The acceptance checks (from :func:`acceptance`) as people read them: targets and values in the KPI's
    unit (87.5 %, 32 s), verdicts and reasons in the reader's language; a line when there are none."""
    from qa_helpers.measures.kpis import KPIS
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.plots import format_value
    from qa_helpers.report.texts import reason, say

    if checks.empty:
        return say("actions.no_criteria", language)
    units = [KPIS[k].unit if k in KPIS else "" for k in checks["kpi"]]
    verdicts = [f"{t('not measurable', language)}: {reason(v.split(': ', 1)[1], language)}"
                if v.startswith("not measurable: ") else t(f"verdict.{v}", language) for v in checks["verdict"]]
    shown = checks.assign(target=[format_value(v, u) for v, u in zip(checks["target"], units)],
                          value=[format_value(v, u) for v, u in zip(checks["value"], units)], verdict=verdicts)
    return table(shown, language, values=["kpi", "direction"])


def at_a_glance(tracked: pd.DataFrame, language: str = "en") -> str:
    """At a glance: actions for this unit, open, overdue and done."""
    from qa_helpers.report.labels import glance, t

    counts = summary(tracked)
    return glance([
        {"label": t("actions", language), "value": str(len(tracked))},
        {"label": t("open_actions", language), "value": str(counts["open_actions"])},
        {"label": t("overdue_actions", language), "value": str(counts["overdue_actions"]), "target": "0",
         "met": counts["overdue_actions"] == 0},
        {"label": t("done_actions", language), "value": str(int((tracked["status"] == "done").sum()))},
    ], language)


def summary(tracked: pd.DataFrame) -> dict:
    """The index page's figures: open and overdue actions."""
    return {"open_actions": int(tracked["status"].isin(OPEN).sum()), "overdue_actions": int(tracked["overdue"].sum())}
