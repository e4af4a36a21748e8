"""Action governance (seed 000 steps 4-5): are the scorecard's gaps covered, are done actions accepted,
and which actions slip.

Three questions a weekly progress meeting asks of the register:

- which indicators a unit misses (flagged in the period's scorecard) that no open or planned action
  addresses (an action's ``addresses`` key in ``actions.yml``; its metrics' KPIs when it has none);
- which actions are marked done although an acceptance criterion was not met, or could not be judged;
- which open actions are overdue or slipping (their latest weekly note is amber or red), with that note.

The computations take and return DataFrames; the ``*_view`` functions turn them into what the action-plan
report shows, in the reader's language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_helpers.improve.actions import OPEN, acceptance

GAP_COLUMNS = ["unit", "indicator", "target", "actual", "n", "attainment"]
COLOUR_ORDER = {"red": 0, "amber": 1, "green": 2, "": 3}
COLOUR_CSS = {"red": "color: #c62828; font-weight: bold", "amber": "color: #b26a00; font-weight: bold",
              "green": "color: #2e7d32"}


# ---------------------------------------------------------------- computations

def flagged_gaps(cards: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The indicators each unit's scorecard flags for root-cause analysis (under the standards'
    ``root_cause_below`` share of target).

    Parameters
    ----------
    cards : dict of str to DataFrame
        Unit -> its scorecard (:func:`qa_helpers.measures.scorecard.scorecard`).

    Returns
    -------
    DataFrame
        ``unit, indicator, target, actual, n, attainment``, units in the order given, indicators in
        scorecard order.
    """
    frames = [card.loc[card["root_cause"].astype(bool), GAP_COLUMNS[1:]].assign(unit=unit)
              for unit, card in cards.items()]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=GAP_COLUMNS)
    return pd.concat(frames, ignore_index=True)[GAP_COLUMNS]


def addressing(gaps: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """Which actions address each gap: an action addresses unit × indicator when it covers the unit
    and names the indicator in ``addresses``.

    Returns
    -------
    DataFrame
        ``gaps`` with ``open_actions`` (planned or in progress, comma-joined ids, "" for none),
        ``closed_actions`` (done or cancelled ones, e.g. "ACT-01 (done)") and ``unaddressed`` (no
        open action).
    """
    out = gaps.copy()
    open_ids, closed = [], []
    for unit, indicator in zip(gaps["unit"], gaps["indicator"]):
        covers = [unit in teams and indicator in names for teams, names in zip(register["teams"], register["addresses"])]
        hits = register.loc[pd.Series(covers, index=register.index, dtype=bool)]  # .loc: an empty mask keeps columns
        live = hits["status"].isin(OPEN)
        open_ids.append(", ".join(hits.loc[live, "action_id"]))
        closed.append(", ".join(f"{a} ({s})" for a, s in zip(hits.loc[~live, "action_id"], hits.loc[~live, "status"])))
    out["open_actions"] = pd.Series(open_ids, index=out.index, dtype=object)
    out["closed_actions"] = pd.Series(closed, index=out.index, dtype=object)
    out["unaddressed"] = (out["open_actions"] == "").astype(bool)
    return out


def off_target(gaps: pd.DataFrame, register: pd.DataFrame, units: list[str]) -> pd.DataFrame:
    """Open or planned actions that address none of the flagged gaps of the units they cover (among
    ``units``): e.g. a team's only action targets an indicator the team already meets.

    Returns
    -------
    DataFrame
        ``action_id, teams (those among units), addresses``, in register order.
    """
    rows = []
    for action in register[register["status"].isin(OPEN)].itertuples(index=False):
        teams = [t for t in action.teams if t in units]
        flagged = set(gaps.loc[gaps["unit"].isin(teams), "indicator"])
        if teams and not flagged & set(action.addresses):
            rows.append({"action_id": action.action_id, "teams": teams, "addresses": list(action.addresses)})
    return pd.DataFrame(rows, columns=["action_id", "teams", "addresses"])


def not_accepted(register: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    """Actions marked done whose acceptance was not shown: a criterion not met, or one that could
    not be judged (not yet measurable, not measurable).

    Parameters
    ----------
    register : DataFrame
        From :func:`qa_helpers.improve.actions.load_actions`.
    checks : DataFrame
        ``action_id, kpi, target, value, n, verdict`` (:func:`qa_helpers.improve.actions.acceptance`,
        or any frame with those columns, e.g. non-KPI criteria).

    Returns
    -------
    DataFrame
        One row per failing criterion of a done action: ``action_id, owner, due, kpi, direction, target,
        value, n, verdict, judged`` (``judged`` False when the criterion could not be judged).
    """
    done = register.loc[register["status"] == "done", ["action_id", "owner", "due"]]
    rows = done.merge(checks, on="action_id", how="inner")
    rows = rows[rows["verdict"] != "met"].copy()
    rows["judged"] = (rows["verdict"] == "not met").astype(bool)
    return rows.reset_index(drop=True)


def progress_status(tracked: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each open action's latest weekly note up to ``as_of``, its status colour, and whether it slips.

    Parameters
    ----------
    tracked : DataFrame
        :func:`qa_helpers.improve.actions.tracking` of the register.
    as_of : Timestamp
        The end of the period; notes dated later are not yet written.

    Returns
    -------
    DataFrame
        Open actions (planned or in progress): ``action_id, owner, status, due, days_to_due, overdue,
        colour (green|amber|red|"" when no note), note_date, note, slip_reason, days_since_note,
        slipping``; ``slipping``: overdue, or the latest note amber or red. Sorted red, amber, green,
        no note, then by due date.
    """
    columns = ["action_id", "owner", "status", "due", "days_to_due", "overdue", "colour", "note_date", "note",
               "slip_reason", "days_since_note", "slipping"]
    live = tracked[tracked["status"].isin(OPEN)]
    rows = []
    for action in live.itertuples(index=False):
        notes = [n for n in action.progress if n["date"] < as_of]
        last = notes[-1] if notes else {"date": pd.NaT, "status": "", "note": "", "slip_reason": ""}
        rows.append({"action_id": action.action_id, "owner": action.owner, "status": action.status,
                     "due": action.due, "days_to_due": action.days_to_due, "overdue": bool(action.overdue),
                     "colour": last["status"], "note_date": last["date"], "note": last["note"],
                     "slip_reason": last["slip_reason"],
                     "days_since_note": (as_of - last["date"]).days if notes else None,
                     "slipping": bool(action.overdue) or last["status"] in ("amber", "red")})
    out = pd.DataFrame(rows, columns=columns)
    if out.empty:
        return out
    out["_order"] = out["colour"].map(COLOUR_ORDER)
    return out.sort_values(["_order", "due"], kind="stable").drop(columns="_order").reset_index(drop=True)


# ---------------------------------------------------------------- the report's inputs

def unit_cards(ctx) -> dict[str, pd.DataFrame]:
    """The period's scorecard of the unit when it is a team, else of each of its teams."""
    from qa_helpers.data import archive as qa_archive

    teams = ctx.teams
    if teams is None:
        units = qa_archive.units(ctx.archive)
        teams = list(units.loc[units["kind"] == "team", "unit"])
    if teams == [ctx.unit]:
        return {ctx.unit: ctx.scorecard()}
    # every team's KPIs in one DuckDB pass over the unit's rows (not one pass per team), and the register
    # and panel scores read once: each card is what the team's own ``ctx.scorecard()`` gives
    from qa_helpers.improve.actions import for_teams
    from qa_helpers.measures import scorecard as qa_scorecard

    scored = qa_scorecard.scorecard_kpis(ctx.standards) or None
    values = ctx.kpi_table(by=["team"], kpis=scored)
    names = list(dict.fromkeys(values["kpi"])) or list(ctx.kpi_table(kpis=scored)["kpi"])
    usable, panel_scores, period = ctx.actions(every_unit=True), ctx.panel_scores(), str(ctx.period)
    cards = {}
    for team in teams:
        mine = values.loc[values["team"] == team, ["kpi", "value", "n"]].reset_index(drop=True)
        if mine.empty:  # no row of the team in any table: every KPI unmeasured, as its own kpi_table says
            mine = pd.DataFrame({"kpi": names, "value": np.nan, "n": 0})
        remarks = qa_scorecard.indicator_remarks(ctx.standards, team, period, for_teams(usable, [team]))
        cards[team] = qa_scorecard.scorecard(mine, ctx.standards, team,
                                             qa_scorecard.panel_means(panel_scores, team, period),
                                             measurability=ctx.measurability, remarks=remarks)
    return cards


def acceptance_results(ctx, register: pd.DataFrame) -> pd.DataFrame:
    """The acceptance checks of the unit's actions as rows (``action_id, kpi, ..., verdict``): each KPI
    criterion against the KPIs measured since the action started, then each criterion that is not a KPI
    (``acceptance:`` in the register: a training pass rate) against the training records. The action
    plan shows them with :func:`qa_helpers.improve.actions.acceptance_view`."""
    from qa_helpers.improve import evaluation
    from qa_helpers.people.sections import criteria_checks

    checks = acceptance(register, lambda a, s, e: evaluation.measure_kpis(a, ctx.archive, ctx.standards.raw, s, e),
                        ctx.period.end, unmeasurable=evaluation.unmeasurable_kpis(ctx, register))
    others = criteria_checks(ctx, register)
    if len(others):
        checks = pd.concat([checks, others], ignore_index=True).astype({"n": "Int64", "value": "float64"})
    return checks


# ---------------------------------------------------------------- views

def _names(indicators, language: str) -> str:
    from qa_helpers.report.labels import t

    words = [t(i, language) for i in indicators]
    if language == "zh":
        return "、".join(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def gaps_view(ctx, register: pd.DataFrame) -> list:
    """Flagged gaps with no open or planned action: one headline per unit (``HL-C misses the CSAT and
    FCR targets and no open or planned action addresses them``), then every flagged gap with the actions
    that address it."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.plots import format_value
    from qa_helpers.report.texts import say

    language = ctx.language
    cards = unit_cards(ctx)
    gaps = addressing(flagged_gaps(cards), register)
    if gaps.empty:
        return [say("governance.no_gaps", language)]  # every action is then off target: nothing to point at
    open_gaps = gaps[gaps["unaddressed"]]
    lines = [say("governance.gap_headline" if len(rows) > 1 else "governance.gap_headline_one", language, unit=unit,
                 indicators=_names(rows["indicator"], language), k=len(rows))
             for unit, rows in open_gaps.groupby("unit", sort=False)]
    if open_gaps.empty:
        lines = [say("governance.every_gap_addressed", language, k=len(gaps))]
    elif len(cards) > 1:
        lines.insert(0, say("governance.gap_count", language, k=len(open_gaps), m=len(gaps),
                            units=open_gaps["unit"].nunique()))
    gaps = gaps.sort_values("unaddressed", ascending=False, kind="stable")
    lines += [say("governance.off_target", language, action=a.action_id, indicators=_names(a.addresses, language),
                  teams=", ".join(a.teams)) for a in off_target(gaps, register, list(cards)).itertuples(index=False)]
    units = [_unit(ctx, i) for i in gaps["indicator"]]

    shown = gaps.assign(target=[format_value(v, u) for v, u in zip(gaps["target"], units)],
                        actual=[format_value(v, u) for v, u in zip(gaps["actual"], units)],
                        open_actions=gaps["open_actions"].replace("", "–"),
                        closed_actions=gaps["closed_actions"].map(lambda s: _closed(s, language)))
    return [*lines, table(shown[["unit", "indicator", "target", "actual", "n", "attainment", "open_actions",
                                 "closed_actions"]],
                          language, values=["indicator"], percent=["attainment"])]


def _closed(text: str, language: str) -> str:
    from qa_helpers.report.labels import t

    if not text:
        return "–"
    for status in ("done", "cancelled"):
        text = text.replace(f"({status})", f"({t(status, language)})")
    return text


def _unit(ctx, indicator: str) -> str:
    targets = ctx.targets().set_index("kpi")["unit"]
    return targets.get(indicator, "score")


def not_accepted_view(ctx, register: pd.DataFrame, checks: pd.DataFrame) -> list:
    """Actions done but not accepted: a headline naming them, then each failing criterion with why
    (not met, or could not be judged and why not)."""
    from qa_helpers.measures.kpis import KPIS
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.plots import format_value
    from qa_helpers.report.texts import reason, say

    language = ctx.language
    rows = not_accepted(register, checks)
    done = int((register["status"] == "done").sum())
    if rows.empty:
        return [say("governance.all_done_accepted" if done else "governance.none_done", language, k=done)]
    failed = rows.loc[rows["judged"], "action_id"].drop_duplicates().tolist()
    unjudged = [a for a in rows["action_id"].drop_duplicates() if a not in failed]
    lines = [say("governance.done_not_met", language, actions=", ".join(failed)) if failed else None,
             say("governance.done_not_judged", language, actions=", ".join(unjudged)) if unjudged else None]
    from qa_helpers.people.training import MEASURES  # the non-KPI criteria are rates: shown as 88.0 %

    units = [KPIS[k].unit if k in KPIS else "share" if k in MEASURES else "" for k in rows["kpi"]]
    why = [f"{t('not measurable', language)}: {reason(v.split(': ', 1)[1], language)}"
           if v.startswith("not measurable: ") else t(f"verdict.{v}", language) for v in rows["verdict"]]
    shown = rows.assign(due=rows["due"].dt.date, target=[format_value(v, u) for v, u in zip(rows["target"], units)],
                        value=[format_value(v, u) for v, u in zip(rows["value"], units)], verdict=why)
    return [*[line for line in lines if line],
            table(shown[["action_id", "owner", "due", "kpi", "target", "value", "n", "verdict"]], language,
                  values=["kpi"], verbatim=["owner"])]


def colour_word(colour: str, language: str = "en") -> str:
    """A status colour readable without colour: ``● Red``, ``● 红``; "–" for no note."""
    from qa_helpers.report.labels import t

    return f"● {t(f'colour.{colour}', language)}" if colour else "–"


def slipping_view(tracked: pd.DataFrame, as_of: pd.Timestamp, language: str = "en") -> list:
    """Open actions that are overdue or slipping, each with its status colour (a coloured ● and the
    word) and latest weekly note and reason for slippage; then how many open actions are on track."""
    from qa_helpers.report.labels import header, table
    from qa_helpers.report.texts import say

    status = progress_status(tracked, as_of)
    if status.empty:
        return [say("governance.nothing_open", language)]
    slipping = status[status["slipping"]]
    on_track = len(status) - len(slipping)
    silent = int(status["colour"].eq("").sum())
    lines = [say("governance.slipping_headline", language, k=len(slipping), m=len(status)) if len(slipping)
             else say("governance.none_slipping", language, m=len(status)),
             say("governance.no_notes", language, k=silent) if silent else None]
    if slipping.empty:
        return [line for line in lines if line]
    shown = slipping.assign(colour=[colour_word(c, language) for c in slipping["colour"]],
                            due=slipping["due"].dt.date, note_date=slipping["note_date"].dt.date,
                            days_since_note=slipping["days_since_note"].astype("Int64"))
    styler = table(shown[["action_id", "owner", "status", "due", "days_to_due", "overdue", "colour", "note_date", "note",
                          "slip_reason"]], language, values=["status"], verbatim=["owner", "note", "slip_reason"])
    css = [COLOUR_CSS.get(c, "") for c in slipping["colour"]]
    column = header("colour", language)
    styler = styler.apply(lambda _: css, subset=[column], axis=0)
    return [*[line for line in lines if line], styler,
            say("governance.on_track", language, k=on_track) if on_track else None]
