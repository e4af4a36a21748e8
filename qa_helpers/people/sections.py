"""What the monitoring, before/after and QA calibration notebooks show of the coaching log and the
training and QA programme (issue 14 parts 2 and 5). The computation is in
:mod:`qa_helpers.people.coaching` and :mod:`qa_helpers.people.training`; these functions load the
registers through the report context, pick the unit's rows and put the answers in the reader's language.
What the QA team wrote (coach, topic, agreed action, course names) is shown as written, escaped; the
free text of a session (topic, agreed action) is PII-masked first, with the config's ``pii_locales``.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qa_helpers.people import coaching as qa_coaching, training as qa_training
from qa_helpers.people.registers import check_agents
from qa_helpers.report import background


@dataclass
class PeopleData:
    """The unit's rows of the two registers, and the rows naming agents the archive does not have."""

    coaching: pd.DataFrame          # sessions of the unit's agents, with team and department
    training: pd.DataFrame          # training records of the unit's agents, with team and department
    coaching_present: bool          # the config folder has a coaching register
    training_present: bool          # ... training records
    notes: list                     # one line per register naming unknown agents
    roster: pd.DataFrame            # the unit's agents
    every_training: pd.DataFrame    # the whole training register, every unit (who else took a course)


NOTE_COLUMNS = ("topic", "agreed_action")  # a coach's free text: may name a customer or a phone number


def mask_notes(coaching: pd.DataFrame, locales=None) -> pd.DataFrame:
    """The coaching register with its free text (topic, agreed action) run through the kit's PII masking.

    Parameters
    ----------
    coaching : DataFrame
        Register rows (:func:`qa_helpers.people.registers.load_coaching`).
    locales : str or iterable of str, optional
        The config's ``pii_locales`` (:func:`qa_helpers.voc.text.config_locales`); the kit's default without.

    Returns
    -------
    DataFrame
        The same rows, ``topic`` and ``agreed_action`` masked ("call back 13812345678" → "call back [PHONE]").
    """
    from qa_helpers.data.privacy import DEFAULT_PII_LOCALES, mask_text

    out = coaching.copy()
    for column in NOTE_COLUMNS:
        if column in out and len(out):
            out[column] = mask_text(out[column].astype(object),
                                    locales=DEFAULT_PII_LOCALES if locales is None else locales)
    return out


def people_data(ctx) -> PeopleData:
    """Load both registers (through the context, so ``--config`` applies), check their agents against
    the archive's roster and keep the unit's rows."""
    from qa_helpers.report.texts import Verbatim, say

    roster = ctx.roster()
    mine = roster if ctx.teams is None else roster[roster["team"].isin(ctx.teams)]
    notes, kept, registers = [], {}, {"coaching.csv": ctx.coaching(), "training.csv": ctx.training()}
    for name, register in registers.items():
        known, unknown = check_agents(register, roster)
        if len(unknown):
            listed = ", ".join(f"{a} ({'行' if ctx.language == 'zh' else 'row'} {r})"
                               for a, r in zip(unknown["agent_id"][:8], unknown["row"][:8]))
            notes.append(say("people.unknown_agents", ctx.language, count=len(unknown), file=Verbatim(name),
                             agents=listed))
        kept[name] = known[known["agent_id"].isin(mine["agent_id"])].reset_index(drop=True)
        if name == "coaching.csv":
            from qa_helpers.voc.text import config_locales

            kept[name] = mask_notes(kept[name], config_locales(ctx.files.get("sources.yml") or ctx.config))
        kept[name].attrs["present"] = bool(register.attrs.get("present"))
    return PeopleData(kept["coaching.csv"], kept["training.csv"], kept["coaching.csv"].attrs["present"],
                      kept["training.csv"].attrs["present"], notes, mine.reset_index(drop=True),
                      registers["training.csv"])


def _day(value) -> str:
    return "–" if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


# ---------------------------------------------------------------- notebook 06: the coaching log

def log_section(ctx, data: PeopleData, cases: pd.DataFrame) -> list:
    """Sessions held up to the period's end: followed up, pending, overdue; and this period's one-to-one
    cases that nobody coached."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import Verbatim, say

    language = ctx.language
    if not data.coaching_present:
        return [say("people.no_coaching_register", language, file=Verbatim("coaching.csv"))]
    as_of = ctx.period.end
    tracked = qa_coaching.follow_up(data.coaching, as_of)
    never = qa_coaching.never_coached(cases, data.coaching, as_of)
    n_cases = int(cases.loc[cases["decision"] == "one-to-one coaching", "agent_id"].nunique()) if len(cases) else 0
    counts = tracked["state"].value_counts()
    items: list = [*data.notes, say("people.log_line", language, held=len(tracked), end=_day(as_of - pd.Timedelta(days=1)),
                                    done=int(counts.get("follow-up done", 0)),
                                    pending=int(counts.get("follow-up pending", 0)),
                                    overdue=int(counts.get("follow-up overdue", 0)), never=len(never), cases=n_cases)]
    todo = tracked[tracked["state"] != "follow-up done"]
    if len(todo):
        shown = todo.assign(date=todo["date"].map(_day), follow_up_date=todo["follow_up_date"].map(_day))
        items += [say("people.todo", language),
                  table(shown[["session_id", "agent_id", "team", "coach", "date", "topic", "agreed_action",
                               "follow_up_date", "state", "days_overdue"]], language, values=["state"],
                        verbatim=["session_id", "coach", "topic", "agreed_action"])]
    if len(never):
        shown = never.assign(first_week=never["first_week"].map(_day), last_week=never["last_week"].map(_day))
        items += [say("people.never", language),
                  table(shown[["agent_id", "team", "first_week", "last_week", "run_n", "run_csat"]], language,
                        percent=["run_csat"])]
    return items


def log_summary(ctx, data: PeopleData, cases: pd.DataFrame) -> dict:
    """The index page's figures: overdue follow-ups and one-to-one cases never coached (None without a register)."""
    if not data.coaching_present:
        return {"coaching_overdue": None, "never_coached": None}
    tracked = qa_coaching.follow_up(data.coaching, ctx.period.end)
    return {"coaching_overdue": int((tracked["state"] == "follow-up overdue").sum()),
            "never_coached": len(qa_coaching.never_coached(cases, data.coaching, ctx.period.end))}


# ---------------------------------------------------------------- notebook 07: did coaching and training work?

def _settings(ctx, block: str) -> dict:
    return dict(((ctx.standards.raw.get("people") or {}).get(block) or {}))


@dataclass
class EffectsAhead:
    """The people section's coaching and training tests, started in the background by :func:`effects_ahead`;
    each attribute waits for them."""

    started: Future

    @property
    def sessions(self) -> pd.DataFrame:
        """:func:`coaching_effects`."""
        return background.take(self.started)[0]

    @property
    def courses(self) -> pd.DataFrame:
        """:func:`training_effects`."""
        return background.take(self.started)[1]


def effects_ahead(ctx, data: PeopleData, alpha: float = 0.05) -> EffectsAhead:
    """Start :func:`coaching_effects` and :func:`training_effects` (one after the other) in the background.

    The before/after notebook starts them before its evaluation and shows them last: their archive scans
    release the interpreter, so they use the core the evaluation and its charts leave idle (issue 17). Their
    DuckDB work runs on a cursor of the worker thread's own; the results are those computed in place.
    """
    return EffectsAhead(background.submit(lambda: (coaching_effects(ctx, data, alpha),
                                                   training_effects(ctx, data, alpha))))


def coaching_effects(ctx, data: PeopleData, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`qa_helpers.people.coaching.coaching_effect` for the unit's sessions held up to the period's end."""
    from qa_helpers import stats
    from qa_helpers.improve.evaluation import window_observations

    held = data.coaching[data.coaching["date"] < ctx.period.end]
    if held.empty:
        return pd.DataFrame(columns=qa_coaching.EFFECT_COLUMNS)
    options = _settings(ctx, "coaching_effect")
    before, after = int(options.get("weeks_before", 4)), int(options.get("weeks_after", 4))
    default_kpi = (ctx.standards.raw.get("coaching") or {}).get("kpi", "csat")
    start = held["date"].min() - pd.Timedelta(weeks=before + 1)
    end = min(held["date"].max() + pd.Timedelta(weeks=after + 1), ctx.period.end)
    kpis = set(held["kpi"].replace("", default_kpi))
    # each session reads its own team's weeks (:func:`qa_helpers.people.coaching.coaching_effect`), and one
    # whose after-window has not ended reads none: only those rows are loaded, not the months between
    spans = pd.DataFrame([{"team": s.team, "start": w["start"].min(), "end": w["end"].max()} for s in held.itertuples()
                          for w in [stats.week_windows(s.date, weeks_before=before, weeks_after=after)]
                          if w["end"].max() <= ctx.period.end], columns=["team", "start", "end"])
    obs = window_observations(sorted(held["team"].unique()), ctx.archive, start, end,
                              sorted(k for k in kpis if ctx.measured(k)), ctx.standards.raw, spans=spans)
    return qa_coaching.coaching_effect(held, obs, ctx.period.end, standards=ctx.standards.raw, default_kpi=default_kpi,
                                       weeks_before=before, weeks_after=after,
                                       min_answers=int(options.get("min_answers", 10)), alpha=alpha,
                                       family=f"coaching sessions of {ctx.unit}")


def _points(value: float, unit: str, language: str = "en") -> str:
    if pd.isna(value):
        return "–"
    if unit == "share":
        return f"{value * 100:+.1f} {'个百分点' if language == 'zh' else 'pp'}"
    return f"{value:+.3g}"


def _p(value: float) -> str:
    return "–" if pd.isna(value) else "< 0.001" if value < 0.001 else f"{value:.3f}"


def effect_section(ctx, data: PeopleData, effects: pd.DataFrame) -> list:
    """Which coaching sessions worked: the headline count, then one row per session in the KPI's units."""
    from qa_helpers.measures.kpis import KPIS
    from qa_helpers.report.labels import table
    from qa_helpers.report.plots import format_value
    from qa_helpers.report.texts import Verbatim, say

    language = ctx.language
    if not data.coaching_present:
        return [say("people.no_coaching_register", language, file=Verbatim("coaching.csv"))]
    if effects.empty:
        return [*data.notes, say("people.no_sessions", language)]
    words = effects["effect_verdict"].value_counts()
    items: list = [*data.notes, say("people.effect_line", language, worked=int(words.get("worked", 0)),
                                    sessions=len(effects), none=int(words.get("no detectable effect", 0)),
                                    worse=int(words.get("got worse", 0)),
                                    few=int(words.get(qa_coaching.TOO_FEW, 0)), early=int(words.get(qa_coaching.TOO_EARLY, 0)))]
    unit = [KPIS[k].unit for k in effects["kpi"]]
    shown = pd.DataFrame({
        "session_id": effects["session_id"], "agent_id": effects["agent_id"], "team": effects["team"],
        "date": effects["date"].map(_day), "coach": effects["coach"], "kpi": effects["kpi"],
        "coached_before": [format_value(v, u) for v, u in zip(effects["before"], unit)],
        "coached_after": [format_value(v, u) for v, u in zip(effects["after"], unit)],
        "peers_change": [_points(a - b, u, language) for a, b, u in zip(effects["peers_after"], effects["peers_before"], unit)],
        "effect_beyond_peers": [_points(v, u, language) for v, u in zip(effects["effect"], unit)],
        "ba_ci": [f"{_points(lo, u, language)} – {_points(hi, u, language)}" if pd.notna(lo) else "–"
                  for lo, hi, u in zip(effects["ci_low"], effects["ci_high"], unit)],
        "p_adj": effects["p_adj"].map(_p), "n_before": effects["n_before"], "n_after": effects["n_after"],
        "effect_verdict": effects["effect_verdict"]})
    items += [table(shown, language, values=["kpi", "effect_verdict"], verbatim=["session_id", "coach"]),
              say("people.effect_method", language, weeks_before=_settings(ctx, "coaching_effect").get("weeks_before", 4),
                  weeks_after=_settings(ctx, "coaching_effect").get("weeks_after", 4),
                  min_answers=_settings(ctx, "coaching_effect").get("min_answers", 10))]
    return items


def effect_summary(effects: pd.DataFrame) -> dict:
    """The index page's figures: sessions evaluated and sessions that worked."""
    tested = effects["effect_verdict"] != qa_coaching.TOO_EARLY if len(effects) else []
    return {"coaching_sessions_evaluated": int(np.sum(tested)),
            "coaching_sessions_worked": int((effects["effect_verdict"] == "worked").sum()) if len(effects) else 0}


def training_effects(ctx, data: PeopleData, alpha: float = 0.05) -> pd.DataFrame:
    """Each course of the unit whose after-window ended by the period's end, on each training KPI: trainees
    against the untrained agents of the same department (Holm across the rows)."""
    from qa_helpers import stats
    from qa_helpers.improve.evaluation import _connection, did_cells, window_sources
    from qa_helpers.measures.kpis import KPIS

    options = _settings(ctx, "training_effect")
    before, after = int(options.get("weeks_before", 8)), int(options.get("weeks_after", 8))
    kpis = [k for k in options.get("kpis", ["csat", "fcr"]) if ctx.measured(k)]
    rows, meta = [], []
    roster, every = ctx.roster(), data.every_training  # the register people_data read: not read and checked again
    for course in qa_training.courses(data.training).itertuples(index=False):
        windows = stats.week_windows(course.date, weeks_before=before, weeks_after=after)
        if windows["end"].max() > ctx.period.end:
            continue
        trainees = data.training.loc[data.training["course_id"] == course.course_id]
        taken = set(every.loc[every["course_id"] == course.course_id, "agent_id"])
        departments = trainees["department"].unique()
        others = roster[roster["department"].isin(departments) & ~roster["agent_id"].isin(taken)]
        teams = sorted(set(trainees["team"]) | set(others["team"]))
        # the trainees' and the others' observations summed per agent and week in DuckDB: no row is loaded
        names = list(dict.fromkeys(n for kpi in kpis for n in (
            ["tickets", "complaints"] if KPIS[kpi].agg == "per_1000" else [KPIS[kpi].table])))
        con = _connection()
        sources, columns = window_sources(teams, ctx.archive, windows["start"].min(), windows["end"].max(), names,
                                          connection=con)
        groups = pd.concat([pd.DataFrame({"agent_id": trainees["agent_id"], "group": "trainees"}),
                            pd.DataFrame({"agent_id": others["agent_id"], "group": "others"})], ignore_index=True)
        for kpi in kpis:
            try:
                cells = did_cells(con, sources, columns, kpi, ctx.standards.raw, windows, agent_groups=groups)
                row = qa_training.training_effect_cells(cells, kpi, standards=ctx.standards.raw, alpha=alpha)
            except ValueError:
                continue
            rows.append(row)
            meta.append({"course_id": course.course_id, "course": course.course, "date": course.date,
                         "trainees": int(trainees["agent_id"].nunique()), "others": int(others["agent_id"].nunique()),
                         "kpi": kpi})
    if not rows:
        return pd.DataFrame()
    adjusted = stats.adjust_family(rows, family=f"training courses of {ctx.unit}", method="holm")
    return pd.concat([pd.DataFrame(meta), adjusted.drop(columns=["metric"])], axis=1)


def training_effect_section(ctx, data: PeopleData, effects: pd.DataFrame) -> list:
    """Did the training work: per course and KPI, the trainees' change beyond the untrained agents'."""
    from qa_helpers.measures.kpis import KPIS
    from qa_helpers.report.labels import table
    from qa_helpers.report.plots import format_value
    from qa_helpers.report.texts import Verbatim, say

    language = ctx.language
    if not data.training_present:
        return [say("people.no_training", language, file=Verbatim("training.csv"))]
    if effects.empty:
        return [say("people.no_course_ready", language)]
    unit = [KPIS[k].unit for k in effects["kpi"]]
    shown = pd.DataFrame({
        "course_id": effects["course_id"], "course": effects["course"], "date": effects["date"].map(_day),
        "trainees": effects["trainees"], "others": effects["others"], "kpi": effects["kpi"],
        "ba_before": [format_value(v, u) for v, u in zip(effects["before"], unit)],
        "ba_after": [format_value(v, u) for v, u in zip(effects["after"], unit)],
        "effect_beyond_others": [_points(v, u, language) for v, u in zip(effects["effect"], unit)],
        "ba_ci": [f"{_points(lo, u, language)} – {_points(hi, u, language)}" if pd.notna(lo) else "–"
                  for lo, hi, u in zip(effects["ci_low"], effects["ci_high"], unit)],
        "p_adj": effects["p_adj"].map(_p), "ba_verdict": effects["verdict"]})
    worked = effects[effects["verdict"] == "improved"]
    return [say("people.training_line", language, improved=len(worked), rows=len(effects),
                courses=effects["course_id"].nunique()),
            table(shown, language, values=["kpi", "ba_verdict"], verbatim=["course_id", "course"]),
            say("people.training_method", language, weeks_before=_settings(ctx, "training_effect").get("weeks_before", 8),
                weeks_after=_settings(ctx, "training_effect").get("weeks_after", 8))]


# ---------------------------------------------------------------- notebook 08: the programme against its targets

def _met(value: float, target: float | None, language: str, lower: bool = False) -> str:
    from qa_helpers.report.labels import t

    if target is None or pd.isna(value):
        return t("no target", language) if target is None else "–"
    return t("meets target" if (value <= target if lower else value >= target) else "misses target", language)


def programme_for(ctx, data: PeopleData, reviews: pd.DataFrame, counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`qa_helpers.people.training.programme` for the unit: training of the period's year up to its end,
    the period's ordinary QA reviews and tickets.

    ``counts`` are the unit's tickets of the period counted by team among others
    (:func:`qa_helpers.qa.sampling.ticket_counts` over the unit's period and its reviews, as
    :func:`qa_helpers.qa.calibration.ticket_counts` keeps them for the notebook); counted here without.
    """
    from qa_helpers.qa.sampling import counts_by, ticket_counts

    year_start = pd.Timestamp(year=ctx.period.start.year, month=1, day=1)
    records = data.training[(data.training["date"] >= year_start) & (data.training["date"] < ctx.period.end)]
    ordinary = reviews[~reviews["calibration"].fillna(False).astype(bool)] if "calibration" in reviews else reviews
    if counts is None:  # counted in DuckDB: no ticket row is loaded
        flag = ["calibration"] if ctx.has("qa_reviews", "calibration") else []
        counts = ticket_counts(ctx.source("tickets", columns=["ticket_id", "team"]), ["team"],
                               ctx.source("qa_reviews", columns=["ticket_id", *flag]), connection=ctx.duckdb)
    teams = counts_by(counts, ["team"])
    tickets = pd.DataFrame({"team": teams["team"].to_numpy(), "tickets": teams["tickets"].to_numpy(),
                            "reviewed": teams["reviewed_ordinary"].to_numpy()})
    figures = qa_training.programme(data.roster, records, ordinary, tickets, ctx.unit,
                                    pass_mark=float((ctx.standards.raw.get("people") or {}).get("qa_pass_mark", 60)))
    if not ctx.has("qa_reviews"):  # no QA table: reviews and coverage not measured, never 0 reviews, 0 %
        figures[["qa_reviews", "coverage"]] = np.nan
    return figures


def programme_section(ctx, data: PeopleData, figures: pd.DataFrame) -> list:
    """The programme's headline against its targets, per team, and the year's courses."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import Verbatim, say

    language = ctx.language
    goals = {k: v.get("target") for k, v in qa_training.targets(ctx.standards.raw).items()}
    unit = figures.iloc[0]
    items: list = [*data.notes]
    pct = lambda v: "–" if pd.isna(v) else f"{v:.1%}"  # noqa: E731
    if not data.training_present:
        items.append(say("people.no_training", language, file=Verbatim("training.csv")))
    else:
        year = ctx.period.start.year
        items.append(say("people.programme_training", language, year=year, rate=pct(unit["pass_rate"]),
                         tested=int(unit["tested"]), target=pct(goals.get("training_pass_rate")),
                         met=_met(unit["pass_rate"], goals.get("training_pass_rate"), language),
                         hours=f"{unit['hours_per_agent']:.1f}", hours_target=goals.get("training_hours_per_agent", "–"),
                         hours_met=_met(unit["hours_per_agent"], goals.get("training_hours_per_agent"), language),
                         certified=pct(unit["certified_rate"]), agents=int(unit["agents"]),
                         cert_target=pct(goals.get("certification_rate")),
                         cert_met=_met(unit["certified_rate"], goals.get("certification_rate"), language)))
    if not ctx.has("qa_reviews"):
        items.append(say("calibration.no_table", language))
    else:
        items.append(say("people.programme_qa", language, rate=pct(unit["qa_pass_rate"]), reviews=int(unit["qa_reviews"]),
                         mark=(ctx.standards.raw.get("people") or {}).get("qa_pass_mark", 60),
                         target=pct(goals.get("qa_pass_rate")),
                         met=_met(unit["qa_pass_rate"], goals.get("qa_pass_rate"), language),
                         coverage=pct(unit["coverage"]), tickets=f"{int(unit['tickets']):,}",
                         coverage_target=pct(goals.get("qa_coverage")),
                         coverage_met=_met(unit["coverage"], goals.get("qa_coverage"), language)))
    items.append(table(figures, language,
                       percent=["pass_rate", "certified_rate", "qa_pass_rate", "coverage"], precision=1))
    if data.training_present and len(data.training):
        year_start = pd.Timestamp(year=ctx.period.start.year, month=1, day=1)
        records = data.training[(data.training["date"] >= year_start) & (data.training["date"] < ctx.period.end)]
        listed = qa_training.courses(records)
        if len(listed):
            items += [say("people.courses", language),
                      table(listed.assign(date=listed["date"].map(_day)), language, percent=["pass_rate"],
                            precision=1, verbatim=["course_id", "course"])]
    return items


def programme_summary(figures: pd.DataFrame) -> dict:
    """The index page's figures: training pass rate, certification rate, QA pass rate and coverage of the unit."""
    unit = figures.iloc[0]
    clean = lambda v: None if pd.isna(v) else round(float(v), 4)  # noqa: E731
    return {"training_pass_rate": clean(unit["pass_rate"]), "certification_rate": clean(unit["certified_rate"]),
            "qa_pass_rate": clean(unit["qa_pass_rate"]), "qa_coverage": clean(unit["coverage"])}


# ---------------------------------------------------------------- notebook 05: acceptance criteria that are not KPIs

def criteria_checks(ctx, register: pd.DataFrame) -> pd.DataFrame:
    """The non-KPI acceptance criteria (``acceptance:`` in ``actions.yml``) of the unit's actions, checked
    against the training records; rows shaped as :func:`qa_helpers.improve.actions.acceptance`'s."""
    from qa_helpers.config import config_file

    criteria = qa_training.load_criteria(ctx.files.get("actions.yml") or config_file("actions.yml", ctx.config))
    criteria = criteria[criteria["action_id"].isin(register["action_id"])] if len(register) else criteria.iloc[0:0]
    return qa_training.criteria_checks(criteria, ctx.training(), ctx.period.end)
