"""The training and QA programme (seed 004): training records, pass and certification rates, QA pass rate
and coverage against their targets, the trainees' before/after, and acceptance criteria that are not KPIs.

Training figures cover the period's year up to the end of the period (courses are few and run once),
certification is each agent's latest record up to the end of the period; QA figures cover the period.

- *Scenario-test pass rate* (seed 000: 95 % or more): trainees who passed / trainees of courses with a test.
- *Hours per agent*: training hours / agents on the roster.
- *Certification rate* (seed 003: 95 % or more): agents whose latest record says certified / agents on the
  roster (an agent with no certification record is not certified).
- *QA pass rate*: ordinary (not calibration) reviews without a critical fail and with an IQS of at least
  ``people.qa_pass_mark`` / ordinary reviews.
- *QA coverage*: tickets with an ordinary (not calibration) review / tickets (:func:`qa_helpers.qa.sampling.qa_coverage`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from qa_helpers import stats

PROGRAMME_COLUMNS = ["team", "agents", "trained", "hours_per_agent", "tested", "pass_rate", "certified_rate",
                     "qa_reviews", "qa_pass_rate", "tickets", "coverage"]
COURSE_COLUMNS = ["course_id", "course", "date", "trainees", "hours", "tested", "mean_score", "pass_rate"]
CRITERIA_COLUMNS = ["action_id", "measure", "course", "target"]
MEASURES = ("training_pass_rate",)


def targets(standards: dict) -> dict[str, dict]:
    """The programme's targets (``people.targets``): name -> ``{target, source}``."""
    return {name: dict(spec) for name, spec in ((standards.get("people") or {}).get("targets") or {}).items()}


def courses(training: pd.DataFrame) -> pd.DataFrame:
    """One row per course: trainees, hours per trainee, trainees tested, mean score and pass rate.

    Parameters
    ----------
    training : DataFrame
        Training records (:func:`qa_helpers.people.registers.load_training`).

    Returns
    -------
    DataFrame
        :data:`COURSE_COLUMNS`; ``pass_rate`` over trainees with a score (NaN when the course had no test).
    """
    if training.empty:
        return pd.DataFrame(columns=COURSE_COLUMNS)
    tested = training["score"].notna()
    out = training.assign(tested=tested, passed_test=training["passed"] & tested).groupby(
        ["course_id", "course", "date"], as_index=False).agg(
        trainees=("agent_id", "nunique"), hours=("hours", "mean"), tested=("tested", "sum"),
        mean_score=("score", "mean"), passed=("passed_test", "sum"))
    out["pass_rate"] = out["passed"] / out["tested"].replace(0, np.nan)
    return out.sort_values(["date", "course_id"]).reset_index(drop=True)[COURSE_COLUMNS]


def qa_passes(reviews: pd.DataFrame, pass_mark: float = 60.0) -> pd.Series:
    """Whether each QA review passed: no critical fail and an IQS of at least ``pass_mark`` (0-100).

    Parameters
    ----------
    reviews : DataFrame
        QA reviews with the rubric items and ``critical_fail``.
    pass_mark : float
        The lowest passing IQS.

    Returns
    -------
    Series
        Boolean (nullable: a review with every item N/A and no critical fail has no verdict).
    """
    from qa_helpers.qa.calibration import quality_score

    if reviews.empty:
        return pd.Series(dtype="boolean")
    iqs = quality_score(reviews)
    return pd.Series(np.where(iqs.isna(), None, iqs >= pass_mark), index=reviews.index, dtype="boolean")


def programme(roster: pd.DataFrame, training: pd.DataFrame, reviews: pd.DataFrame, tickets: pd.DataFrame,
              unit: str, pass_mark: float = 60.0) -> pd.DataFrame:
    """The training and QA programme per team, and for the whole unit (the first row).

    Parameters
    ----------
    roster : DataFrame
        The unit's agents (``agent_id, team``).
    training : DataFrame
        The records that count (the year up to the period's end), with ``team``.
    reviews : DataFrame
        The unit's ordinary QA reviews of the period (``ticket_id, team`` and the rubric items).
    tickets : DataFrame
        The unit's tickets of the period (``ticket_id, team``), or their counts per team
        (``team, tickets, reviewed``: tickets, and tickets with an ordinary review; see
        :func:`ticket_counts`), so a year of every team need not be loaded.
    unit : str
        The label of the unit row.
    pass_mark : float
        The QA pass mark (IQS 0-100).

    Returns
    -------
    DataFrame
        :data:`PROGRAMME_COLUMNS`: agents on the roster, agents trained, training hours per agent,
        trainees tested, pass rate, certification rate (the latest record per agent), QA reviews, QA pass
        rate, tickets and QA coverage (tickets reviewed / tickets).
    """
    training = training[training["agent_id"].isin(roster["agent_id"])]
    certified = training.dropna(subset=["certified"]).sort_values("date").drop_duplicates("agent_id", keep="last")
    certified = certified.set_index("agent_id")["certified"].astype(bool)
    passes = qa_passes(reviews, pass_mark)
    if "reviewed" not in tickets.columns:
        tickets = ticket_counts(tickets, reviews)

    def row(name: str, agents: pd.DataFrame) -> dict:
        mine = training[training["agent_id"].isin(agents["agent_id"])]
        tested = mine[mine["score"].notna()]
        qa = reviews["team"].isin(agents["team"].unique()) if name != unit else pd.Series(True, index=reviews.index)
        verdicts = passes[qa].dropna()
        tk = tickets[tickets["team"].isin(agents["team"].unique())] if name != unit else tickets
        seen, covered = int(tk["tickets"].sum()), int(tk["reviewed"].sum())
        n = len(agents)
        return {"team": name, "agents": n, "trained": int(mine["agent_id"].nunique()),
                "hours_per_agent": mine["hours"].sum() / n if n else np.nan, "tested": len(tested),
                "pass_rate": tested["passed"].mean() if len(tested) else np.nan,
                "certified_rate": certified.reindex(agents["agent_id"]).fillna(False).astype(bool).mean()
                if n and len(certified) else np.nan,
                "qa_reviews": int(qa.sum()), "qa_pass_rate": verdicts.astype(bool).mean() if len(verdicts) else np.nan,
                "tickets": seen, "coverage": covered / seen if seen else np.nan}

    rows = [row(unit, roster)]
    if roster["team"].nunique() > 1:
        rows += [row(team, agents) for team, agents in roster.groupby("team", sort=True)]
    return pd.DataFrame(rows, columns=PROGRAMME_COLUMNS)


def ticket_counts(tickets: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """Tickets per team and how many of them a review names (the input :func:`programme` needs).

    Parameters
    ----------
    tickets : DataFrame
        ``ticket_id, team`` rows.
    reviews : DataFrame
        The reviews that count (``ticket_id``); a ticket reviewed twice counts once.

    Returns
    -------
    DataFrame
        ``team, tickets, reviewed``, one row per team (tickets without a team in a row of their own).
    """
    reviewed = tickets["ticket_id"].isin(set(reviews["ticket_id"].dropna()))
    grouped = reviewed.groupby(tickets["team"].astype(object), dropna=False).agg(["size", "sum"])
    return pd.DataFrame({"team": grouped.index.to_numpy(), "tickets": grouped["size"].to_numpy(dtype="int64"),
                         "reviewed": grouped["sum"].to_numpy(dtype="int64")})


def training_effect(obs: pd.DataFrame, trainees: list[str], others: list[str], kpi: str, start, *,
                    standards: dict | None = None, weeks_before: int = 8, weeks_after: int = 8, alpha: float = 0.05) -> pd.DataFrame:
    """A course's before/after on one KPI: the trainees against untrained agents (difference-in-differences).

    Parameters
    ----------
    obs : DataFrame
        The KPI's observations (``time, agent_id, value``) for trainees and the comparison agents.
    trainees, others : list of str
        The course's trainees, and comparable agents who did not take it (same department).
    kpi : str
        The KPI (its kind and better direction come from the kit's KPI table).
    start : Timestamp
        The course date.
    standards : dict, optional
        Loaded standards: which way the KPI is better.
    weeks_before, weeks_after, alpha
        Whole-week windows and significance level.

    Returns
    -------
    DataFrame
        One :data:`qa_helpers.stats.COLUMNS` row, clustered on agents (both groups have many), or a
        "not estimable" row saying why.
    """
    from qa_helpers.improve.evaluation import metric_kind
    from qa_helpers.people.coaching import better

    kind = metric_kind(kpi)
    direction = better(kpi, standards)
    group = np.where(obs["agent_id"].isin(trainees), "trainees", np.where(obs["agent_id"].isin(others), "others", ""))
    data = obs.assign(group=group)
    data = data[data["group"] != ""]
    if kind not in ("proportion", "duration", "rate"):
        raise ValueError(f"{kpi}: no difference-in-differences for this kind of KPI")
    return stats.diff_in_diff(data, kpi, kind, pd.Timestamp(start), treated="trainees", controls=["others"],
                              team="group", time="time", cluster="agent_id", direction=direction,
                              weeks_before=weeks_before, weeks_after=weeks_after, alpha=alpha)


def training_effect_cells(cells: pd.DataFrame, kpi: str, *, standards: dict | None = None,
                          alpha: float = 0.05) -> pd.DataFrame:
    """:func:`training_effect` from the observations summed per group x agent x week x window
    (:func:`qa_helpers.improve.evaluation.did_cells` with the groups ``trainees`` and ``others``): the same row.

    Parameters
    ----------
    cells : DataFrame
        :data:`qa_helpers.stats.did.CELL_COLUMNS`, ``team`` holding ``trainees`` or ``others``.
    kpi, standards, alpha
        As in :func:`training_effect`.

    Returns
    -------
    DataFrame
        One :data:`qa_helpers.stats.COLUMNS` row.
    """
    from qa_helpers.improve.evaluation import metric_kind
    from qa_helpers.people.coaching import better

    kind = metric_kind(kpi)
    if kind not in ("proportion", "duration", "rate"):
        raise ValueError(f"{kpi}: no difference-in-differences for this kind of KPI")
    return stats.diff_in_diff_cells(cells, kpi, kind, treated="trainees", controls=["others"], cluster="agent_id",
                                    direction=better(kpi, standards), alpha=alpha)


def load_criteria(path: str | os.PathLike | None) -> pd.DataFrame:
    """Acceptance criteria that are not KPIs, from the action register's ``acceptance:`` lists.

    An action of ``actions.yml`` may carry, besides its KPI ``metrics``, criteria measured from the
    training records: ``acceptance: [{measure: training_pass_rate, course: BILL-07, target: 0.95}]``.

    Parameters
    ----------
    path : path-like or None
        The action register.

    Returns
    -------
    DataFrame
        :data:`CRITERIA_COLUMNS`, one row per criterion.

    Raises
    ------
    ConfigError
        Naming the file, the action and the criterion at fault.
    """
    from qa_helpers.config import read_yaml
    from qa_helpers.errors import ConfigError

    if path is None or not Path(path).is_file():
        return pd.DataFrame(columns=CRITERIA_COLUMNS)
    doc = read_yaml(Path(path)) or {}
    rows = []
    for i, action in enumerate((doc.get("actions") or []) if isinstance(doc, dict) else []):
        if not isinstance(action, dict):
            continue
        for j, item in enumerate(action.get("acceptance") or []):
            where = f"{path}: actions[{i}] ({action.get('id')}).acceptance[{j}]"
            if not isinstance(item, dict) or item.get("measure") not in MEASURES:
                raise ConfigError(f"{where}: measure must be one of {', '.join(MEASURES)}")
            if not item.get("course"):
                raise ConfigError(f"{where}: course (the course_id in training.csv) is missing")
            target = item.get("target")
            if not isinstance(target, (int, float)) or isinstance(target, bool) or not 0 < target <= 1:
                raise ConfigError(f"{where}: target must be a share in (0, 1], got {target!r}")
            rows.append({"action_id": action.get("id"), "measure": item["measure"], "course": str(item["course"]),
                         "target": float(target)})
    return pd.DataFrame(rows, columns=CRITERIA_COLUMNS)


def criteria_checks(criteria: pd.DataFrame, training: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each non-KPI acceptance criterion against the training records.

    Parameters
    ----------
    criteria : DataFrame
        From :func:`load_criteria` (the unit's actions only).
    training : DataFrame
        Training records.
    as_of : Timestamp
        The end of the period: a course held later is not yet measurable.

    Returns
    -------
    DataFrame
        Rows shaped as :func:`qa_helpers.improve.actions.acceptance`'s: ``action_id, kpi`` (the measure),
        ``direction, target, value, n, verdict`` ("met", "not met", "not yet measurable" or
        "not measurable: no training records for course X").
    """
    rows = []
    for item in criteria.itertuples(index=False):
        course = training[(training["course_id"] == item.course) & training["score"].notna()]
        value = n = None
        if not len(training[training["course_id"] == item.course]):
            verdict = f"not measurable: no training records for course {item.course}"
        elif course.empty or course["date"].min() >= as_of:
            verdict = "not yet measurable"
        else:
            value, n = float(course["passed"].mean()), int(len(course))
            verdict = "met" if value >= item.target else "not met"
        rows.append({"action_id": item.action_id, "kpi": item.measure, "direction": "increase",
                     "target": item.target, "value": value, "n": n, "verdict": verdict})
    out = pd.DataFrame(rows, columns=["action_id", "kpi", "direction", "target", "value", "n", "verdict"])
    return out.astype({"n": "Int64", "value": "float64"})
