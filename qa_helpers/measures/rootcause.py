"""Root cause (seed 000 step 3, seed 001 step 5, seed 004 ch. 4): problem types, 5-Why records, case reviews.

- Each complaint gets a *problem type* and a *responsible department* from the topic dictionary
  (``config/topics.yml``, :func:`qa_helpers.voc.topics.problem_types`): a ``problem_type`` column the export
  maps (kept into the archive with the source's ``keep:``) wins, else the masked text's keywords, else
  its category. Problem types are a classification apart from the business category.
- A Pareto of complaints by problem type, and seed 004's classification by type × severity × frequency
  (severity 1 = major … 4 = minor, the complaint levels of seed 003 ch. 5).
- Root-cause records (``config/root_causes.yml``): for a unit's flagged indicator, the fishbone dimension,
  the 5-Why chain, the evidence and the action that answers it; rendered for the scorecard's flagged
  indicators, and "no root-cause record yet" where there is none.
- Case reviews (``config/case_reviews.yml``): seed 004's template (background, problem, handling,
  result and impact) for selected complaints, beside what the archive holds on them.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from qa_helpers.config import config_file, register_entries
from qa_helpers.errors import ConfigError
from qa_helpers.voc.topics import problem_types

DIMENSIONS = ("people", "process", "tools", "environment")
SEVERITIES = (1, 2, 3, 4)  # 1 major, 2 serious, 3 moderate, 4 minor (seed 003 ch. 5.1)
ROOT_CAUSE_COLUMNS = ["unit", "indicator", "period", "dimension", "why", "evidence", "action"]
CASE_FIELDS = ("background", "problem", "handling", "result", "impact", "lessons")
CASE_REQUIRED = ("case", "background", "problem", "handling", "result")
CASE_COLUMNS = ["case", "title", *CASE_FIELDS]
NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
PERIOD = re.compile(r"^\d{4}(?:-(?:Q[1-4]|\d{2}|W\d{2}))?$")


# ---------------------------------------------------------------- problem types

def classify(complaints: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """Each complaint's problem type and responsible department.

    Parameters
    ----------
    complaints : DataFrame
        The archive's complaints (masked ``text``, ``category``, ``severity``, ``cause_dimension``; a
        ``problem_type`` column when the export has one).
    topics : DataFrame
        :func:`qa_helpers.voc.topics.load_topics`.

    Returns
    -------
    DataFrame
        ``complaints`` with ``problem_type, department, assigned_by`` (``data``, ``text``, ``category``, ``none``).
    """
    texts = complaints["text"] if "text" in complaints else pd.Series(pd.NA, index=complaints.index, dtype="string")
    inputs = pd.DataFrame({"text": texts}, index=complaints.index)
    for name, column in (("category", "category"), ("mapped", "problem_type")):
        if column in complaints:
            inputs[name] = complaints[column].astype(object)
    # a complaint's type depends on its text, category and mapped type only, and a year's complaints repeat
    # a few thousand of those (170 k complaints of a large archive: 5 k): each is classified once (issue 17)
    codes = inputs.groupby(list(inputs.columns), dropna=False, sort=False).ngroup().to_numpy()
    distinct = inputs.iloc[np.unique(codes, return_index=True)[1]].reset_index(drop=True)  # row k: code k
    found = problem_types(distinct["text"], distinct.get("category"), topics, mapped=distinct.get("mapped"))
    found = found.iloc[codes].set_axis(complaints.index)
    return complaints.drop(columns=[c for c in ("problem_type", "department") if c in complaints]).join(found)


def type_pareto(classified: pd.DataFrame, threshold: float = 0.8) -> pd.DataFrame:
    """Complaints by problem type, largest first, with the responsible department and the cause
    dimension most often coded for the type.

    Returns
    -------
    DataFrame
        ``problem_type, department, count, share, cumulative_share, vital_few, main_cause`` (``main_cause``
        empty when the complaints have no cause dimension).
    """
    from qa_helpers.measures.analysis import pareto

    out = pareto(classified["problem_type"], threshold).rename(columns={"category": "problem_type"})
    departments = classified.drop_duplicates("problem_type").set_index("problem_type")["department"]
    out.insert(1, "department", out["problem_type"].map(departments))
    if "cause_dimension" in classified and classified["cause_dimension"].notna().any():
        main = classified.dropna(subset=["cause_dimension"]).groupby("problem_type")["cause_dimension"].agg(
            lambda s: s.value_counts().index[0])
        out["main_cause"] = out["problem_type"].map(main).fillna("")
    else:
        out["main_cause"] = ""
    return out


def type_severity_matrix(classified: pd.DataFrame, frequent_share: float = 0.10,
                         severe_up_to: int = 2) -> pd.DataFrame:
    """Seed 004's classification of problems by type, severity and frequency.

    Parameters
    ----------
    classified : DataFrame
        :func:`classify` output, with ``severity`` (1 major … 4 minor).
    frequent_share : float
        A type with at least this share of the complaints is *frequent* (seed 004: a dedicated improvement
        plan); the others are *occasional* (monitor and handle case by case).
    severe_up_to : int
        Severities up to this level (1 major, 2 serious) count as severe.

    Returns
    -------
    DataFrame
        One row per problem type: ``problem_type, severity_1 … severity_4, count, share, severe, severe_share,
        frequency (frequent|occasional), remedy (improvement plan|monitor)``, frequent types first, then
        by severe complaints.
    """
    severity = pd.to_numeric(classified["severity"], errors="coerce")
    counts = pd.crosstab(classified["problem_type"], severity).reindex(columns=list(SEVERITIES), fill_value=0)
    counts.columns = [f"severity_{s}" for s in SEVERITIES]
    out = counts.reset_index()
    out["count"] = classified.groupby("problem_type").size().reindex(out["problem_type"]).to_numpy()
    total = out["count"].sum()
    out["share"] = out["count"] / total if total else 0.0
    out["severe"] = out[[f"severity_{s}" for s in SEVERITIES if s <= severe_up_to]].sum(axis=1)
    out["severe_share"] = out["severe"] / out["count"].where(out["count"] > 0)
    frequent = out["share"] >= frequent_share
    out["frequency"] = frequent.map({True: "frequent", False: "occasional"})
    out["remedy"] = frequent.map({True: "improvement plan", False: "monitor"})
    out = out.sort_values(["frequency", "severe", "count"], ascending=[True, False, False], kind="stable")
    return out.reset_index(drop=True)


# ---------------------------------------------------------------- root-cause records

def _text(where: str, key: str, value, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
        raise ConfigError(f"{where}.{key}: expected text" + (" (required)" if required else ""))
    return str(value).strip()


def load_root_causes(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and check the root-cause records (seed 001 step 5: fishbone and 5 whys per flagged indicator).

    An absent file, an empty file and ``root_causes: []`` all mean no records.

    Parameters
    ----------
    path : path-like, optional
        ``root_causes.yml`` or a config folder holding one; defaults to the config folder's.

    Returns
    -------
    DataFrame
        ``unit, indicator, period, dimension, why (list of str), evidence, action``; ``unit`` a team, a
        department or ``ALL`` (every unit), ``period`` "" when the record holds for any period.

    Raises
    ------
    ConfigError
        Naming the file, the entry and the field at fault.
    """
    path, entries = register_entries(path, "root_causes.yml", "root_causes")
    if entries is None:
        return pd.DataFrame(columns=ROOT_CAUSE_COLUMNS)
    rows = []
    for i, item in enumerate(entries):
        where = f"{path}: root_causes[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping")
        where += f" ({item.get('unit')} {item.get('indicator')})" if item.get("unit") and item.get("indicator") else ""
        unknown = sorted(set(map(str, item)) - {"unit", "indicator", "period", "dimension", "why", "evidence", "action"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected unit, indicator, period, "
                              "dimension, why, evidence, action")
        missing = [k for k in ("unit", "indicator", "dimension", "why", "evidence") if k not in item]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        if not isinstance(item["indicator"], str) or not NAME.match(item["indicator"]):
            raise ConfigError(f"{where}.indicator: expected a scorecard indicator name such as csat, "
                              f"got {item['indicator']!r}")
        if item["dimension"] not in DIMENSIONS:
            raise ConfigError(f"{where}.dimension: must be one of {', '.join(DIMENSIONS)}, got {item['dimension']!r}")
        why = item["why"]
        if not isinstance(why, list) or not why or len(why) > 7:
            raise ConfigError(f"{where}.why: expected the 5-Why chain as a list of 1 to 7 answers")
        chain = [_text(f"{where}.why", f"[{k}]", answer) for k, answer in enumerate(why)]
        period = "" if item.get("period") is None else str(item["period"])
        if period and not PERIOD.match(period):
            raise ConfigError(f"{where}.period: expected a period such as 2025-Q4, got {period!r}")
        rows.append({"unit": _text(where, "unit", item["unit"]), "indicator": item["indicator"], "period": period,
                     "dimension": item["dimension"], "why": chain, "evidence": _text(where, "evidence", item["evidence"]),
                     "action": _text(where, "action", item.get("action"), required=False)})
    return pd.DataFrame(rows, columns=ROOT_CAUSE_COLUMNS)


def flagged_records(card: pd.DataFrame, records: pd.DataFrame, unit: str, teams: list[str] | None,
                    period: str) -> pd.DataFrame:
    """The root-cause record of each indicator the scorecard flags, or none.

    A record applies when its ``unit`` is the unit, one of its teams, or ``ALL``, and its period is the
    period (or not given).

    Returns
    -------
    DataFrame
        One row per flagged indicator and record: ``indicator, actual, target, attainment, unit (the
        record's), dimension, why, evidence, action, recorded`` (``recorded`` False, and the record's
        fields empty, when no record applies).
    """
    flagged = card.loc[card["root_cause"].astype(bool), ["indicator", "actual", "target", "attainment"]]
    units = {unit, "ALL", *(teams or [])}
    mine = records[records["unit"].isin(units) & records["period"].isin(["", str(period)])]
    out = flagged.merge(mine.drop(columns="period").rename(columns={"unit": "record_unit"}), on="indicator", how="left")
    out["recorded"] = out["dimension"].notna().astype(bool)
    for column in ("record_unit", "dimension", "evidence", "action"):
        out[column] = out[column].fillna("")
    out["why"] = [w if isinstance(w, list) else [] for w in out["why"]]
    return out.reset_index(drop=True)


# ---------------------------------------------------------------- case reviews

def load_case_reviews(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and check the case reviews (seed 004's case review template).

    Returns
    -------
    DataFrame
        ``case, title, background, problem, handling, result, impact, lessons``; ``case`` is a complaint id
        as the archive holds it (pseudonymised where the source pseudonymises it).

    Raises
    ------
    ConfigError
        Naming the file, the entry and the field at fault.
    """
    path, entries = register_entries(path, "case_reviews.yml", "case_reviews")
    if entries is None:
        return pd.DataFrame(columns=CASE_COLUMNS)
    rows, seen = [], set()
    for i, item in enumerate(entries):
        where = f"{path}: case_reviews[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping")
        where += f" ({item['case']})" if isinstance(item.get("case"), str) else ""
        unknown = sorted(set(map(str, item)) - set(CASE_COLUMNS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(CASE_COLUMNS)}")
        missing = [k for k in CASE_REQUIRED if k not in item]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        row = {"case": _text(where, "case", item["case"]), "title": _text(where, "title", item.get("title"), False)}
        if row["case"] in seen:
            raise ConfigError(f"{where}.case: {row['case']!r} is reviewed twice")
        seen.add(row["case"])
        row.update({k: _text(where, k, item.get(k), k in CASE_REQUIRED) for k in CASE_FIELDS})
        rows.append(row)
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def cases_found(reviews: pd.DataFrame, classified: pd.DataFrame) -> pd.DataFrame:
    """The reviewed cases among the unit's complaints of the period, with what the archive holds on them
    (received, team, category, severity, problem type, department, cause dimension)."""
    facts = [c for c in ("complaint_id", "received_at", "team", "category", "severity", "problem_type", "department",
                         "cause_dimension") if c in classified]
    return reviews.merge(classified[facts], left_on="case", right_on="complaint_id", how="inner")


# ---------------------------------------------------------------- report sections (scorecard notebook)

def _topics(ctx) -> pd.DataFrame:
    from qa_helpers.voc.topics import load_topics

    return load_topics(ctx.files.get("topics.yml") or config_file("topics.yml", ctx.config))


# what classify and the root-cause sections read of a complaint (a year of a large archive's complaints is
# 170 k rows: its other columns cost a cold scorecard 0.2-0.4 s to read and carry; issue 17)
COMPLAINT_COLUMNS = ("complaint_id", "received_at", "team", "category", "severity", "cause_dimension",
                     "problem_type", "text")


def complaint_types(ctx) -> pd.DataFrame:
    """The unit's complaints of the period (the :data:`COMPLAINT_COLUMNS` the archive has), classified by
    problem type and responsible department.

    Loaded and classified once per context (the scorecard's four root-cause sections share them); a copy
    is returned."""
    cache = ctx.__dict__.setdefault("_complaint_types", {})  # per context, as its cached properties are
    key = (str(ctx.period), str(ctx.files.get("topics.yml") or ctx.config))
    if key not in cache:
        columns = [c for c in COMPLAINT_COLUMNS if ctx.has("complaints", c)] if ctx.has("complaints") else None
        cache[key] = classify(ctx.load("complaints", columns=columns), _topics(ctx))
    return cache[key].copy()


def type_label(topics: pd.DataFrame, language: str):
    """Problem type -> its label in ``language`` (from the topic dictionary)."""
    from qa_helpers.report.labels import t

    labels = dict(zip(topics["topic"], topics["label_zh" if language == "zh" else "label_en"]))
    return lambda name: labels.get(name, t(name, language))


def problem_types_section(ctx) -> list:
    """Pareto of the unit's complaints by problem type (seed 000's 'slow response', 'poor attitude', 'not fully
    resolved' …), with the responsible department and the most coded cause dimension, and how the types were
    assigned."""
    import matplotlib.pyplot as plt

    from qa_helpers.report import plots
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    note = ctx.missing_note("complaints")
    if note:
        return [note]
    topics = _topics(ctx)
    classified = complaint_types(ctx)
    if classified.empty:
        return [say("rootcause.no_complaints", ctx.language)]
    label = type_label(topics, ctx.language)
    pareto_table = type_pareto(classified)
    top = pareto_table.iloc[0]
    how = classified["assigned_by"].value_counts()
    lines = [say("rootcause.types_headline", ctx.language, type=label(top["problem_type"]),
                 share=f"{top['share'] * 100:.0f} %", n=len(classified), vital=int(pareto_table["vital_few"].sum()),
                 types=len(pareto_table)),
             say("rootcause.assigned", ctx.language, data=int(how.get("data", 0)), text=int(how.get("text", 0)),
                 category=int(how.get("category", 0)), none=int(how.get("none", 0)))]
    shown = pareto_table.assign(problem_type=pareto_table["problem_type"].map(label),
                                department=pareto_table["department"].map(lambda d: _department(d, ctx.language)),
                                main_cause=pareto_table["main_cause"].map(lambda c: t(c, ctx.language) if c else "–"))
    fig, ax = plt.subplots(figsize=(9, 4.2))
    plots.plot_pareto(shown.rename(columns={"problem_type": "category"}), ax=ax, language=ctx.language)
    ax.set_title(t("type_pareto_title", ctx.language))
    ax.set_ylabel(t("complaints", ctx.language))
    ax.set_xlabel(t("problem_type", ctx.language))
    return [*lines, fig, table(shown.rename(columns={"department": "responsible_department"}),
                               ctx.language,
                               percent=["share", "cumulative_share"])]


def _department(name, language: str) -> str:
    from qa_helpers.report.labels import t

    if not isinstance(name, str) or not name:
        return "–"
    return t(f"department.{name}", language).replace("department.", "")


def matrix_section(ctx) -> list:
    """Seed 004's problem classes: complaints per problem type by severity (1 major … 4 minor), how frequent
    the type is, and the remedy the seed gives (a dedicated improvement plan for frequent problems,
    monitoring and case-by-case handling for occasional ones)."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import say

    note = ctx.missing_note("complaints", "complaints.severity")
    if note:
        return [note]
    topics = _topics(ctx)
    classified = complaint_types(ctx)
    if classified.empty:
        return [say("rootcause.no_complaints", ctx.language)]
    matrix = type_severity_matrix(classified)
    label = type_label(topics, ctx.language)
    frequent = matrix[matrix["frequency"] == "frequent"]
    lines = [say("rootcause.matrix_headline", ctx.language, k=len(frequent), m=len(matrix),
                 types="、".join(map(label, frequent["problem_type"])) if ctx.language == "zh"
                 else ", ".join(map(label, frequent["problem_type"])) or "–")]
    shown = matrix.assign(problem_type=matrix["problem_type"].map(label))
    return [*lines, table(shown, ctx.language, values=["frequency", "remedy"], percent=["share", "severe_share"])]


def records_section(ctx, card: pd.DataFrame) -> list:
    """For each indicator the scorecard flags: its root-cause record (fishbone dimension, the 5-Why chain,
    evidence, the action that answers it), or "no root-cause record yet"."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    records = load_root_causes(ctx.files.get("root_causes.yml") or config_file("root_causes.yml", ctx.config))
    rows = flagged_records(card, records, ctx.unit, ctx.teams, str(ctx.period))
    if rows.empty:
        return [say("rootcause.nothing_flagged", ctx.language)]
    missing = rows.loc[~rows["recorded"], "indicator"]
    known = set(ctx.actions(every_unit=True)["action_id"])
    lines = [say("rootcause.records_headline", ctx.language, k=int(rows.loc[rows["recorded"], "indicator"].nunique()),
                 m=rows["indicator"].nunique()),
             say("rootcause.no_record", ctx.language, indicators="、".join(t(i, ctx.language) for i in missing)
                 if ctx.language == "zh" else ", ".join(t(i, ctx.language) for i in missing)) if len(missing) else None]
    not_yet = t("no_record_yet", ctx.language)
    shown = rows.assign(
        dimension=[t(d, ctx.language) if d else not_yet for d in rows["dimension"]],
        why=[" → ".join(f"{k + 1}. {w}" for k, w in enumerate(chain)) or "–" for chain in rows["why"]],
        evidence=rows["evidence"].replace("", "–"), record_unit=rows["record_unit"].replace("", "–"),
        action=[(a if a in known else f"{a} ({t('not_in_register', ctx.language)})") if a else "–"
                for a in rows["action"]])
    return [*[line for line in lines if line],
            table(shown.rename(columns={"action": "root_action", "dimension": "fishbone_dimension"})[["indicator", "record_unit", "fishbone_dimension", "why", "evidence",
                                                              "root_action"]], ctx.language,
                  values=["indicator"], verbatim=["why", "evidence"])]


def case_section(ctx) -> list:
    """Seed 004's case review template for each reviewed complaint of the unit and period: background,
    problem, handling, result, impact (and lessons), beside what the archive holds on the complaint."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say, verbatim

    reviews = load_case_reviews(ctx.files.get("case_reviews.yml") or config_file("case_reviews.yml", ctx.config))
    if reviews.empty:
        return [say("rootcause.no_cases", ctx.language)]
    note = ctx.missing_note("complaints")
    if note:
        return [note]
    topics = _topics(ctx)
    found = cases_found(reviews, complaint_types(ctx))
    if found.empty:
        return [say("rootcause.no_cases_here", ctx.language, k=len(reviews))]
    label = type_label(topics, ctx.language)
    items: list = []
    for case in found.itertuples(index=False):
        facts = [f"{t('received', ctx.language)} {case.received_at:%Y-%m-%d}",
                 f"{t('team', ctx.language)} {getattr(case, 'team', '') or '–'}",
                 f"{t('category', ctx.language)} {t(getattr(case, 'category', '') or '–', ctx.language)}",
                 f"{t('problem_type', ctx.language)} {label(case.problem_type)}",
                 t(f"severity.{int(case.severity)}", ctx.language) if pd.notna(getattr(case, "severity", None)) else ""]
        items.append(say("rootcause.case_title", ctx.language, case=verbatim(case.case),
                         title=verbatim(case.title) if case.title else "",
                         facts=" · ".join(f for f in facts if f)))
        template = pd.DataFrame({"case_part": [t(f"case.{k}", ctx.language) for k in CASE_FIELDS if getattr(case, k)],
                                 "case_text": [getattr(case, k) for k in CASE_FIELDS if getattr(case, k)]})
        items.append(table(template, ctx.language, verbatim=["case_text"]))
    return items
