"""Surveys analysed properly (issue 15, part 4): the voice-of-customer report's survey sections.

Each ``*_view(ctx, tables)`` returns the displayables of one section (sentences from the en/zh
catalogue, tables with translated headers), in the order a notebook shows them;
:func:`survey_section` gives them all. The statistics are in :mod:`qa_helpers.stats.surveys`.

* :func:`nps_view` — NPS with its CI and n, and the change since the previous period (z-test).
* :func:`response_view` — response rate per customer type × channel, and the CSAT weighted for
  non-response beside the raw one, each with its n.
* :func:`reliability_view` — Cronbach's α of the sub-scores with Feldt's CI against seed 002's 0.9.
* :func:`drivers_view` — which sub-score explains overall CSAT (standardised β, dominance share).
* :func:`sample_plan_view` — the next stratified random survey sample sized for a stated precision
  (seed 002); :func:`draw_survey_sample` draws it in DuckDB from the archive and
  :func:`write_survey_sample` writes it as a spreadsheet-safe CSV (pseudonymised ids only).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from qa_helpers.data import archive as qa_archive
from qa_helpers.data.schemas import SURVEY_ITEMS
from qa_helpers.stats import surveys as survey_stats
from qa_helpers.stats.surveys import NOT_RECORDED, STRATA

MIN_ANSWERS = 30      # fewer answers: the section says so instead of a figure
SAMPLE_MARGIN = 0.03  # the survey sample's precision: CSAT within ± 3 points ...
SAMPLE_CONFIDENCE = 0.95  # ... at 95 %
COUNTS = "answers_counted"  # survey_tables' column: how many identical answers a row stands for
SAMPLE_COLUMNS = ["ticket_id", "customer_id", "team", "channel", "customer_type", "created_at", "stratum"]


def _answers(surveys: pd.DataFrame) -> pd.DataFrame:
    return surveys[surveys["source"] == "survey"] if "source" in surveys else surveys


def _pct(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def _num(value: float, digits: int = 0) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}".replace("-", "−")


def survey_items(ctx, surveys: pd.DataFrame) -> list[str]:
    """The questionnaire's sub-score fields this archive holds with answers in ``surveys``."""
    return [item for item in SURVEY_ITEMS
            if ctx.has("surveys", item) and item in surveys and surveys[item].notna().any()]


# ---------------------------------------------------------------- what the survey sections read

def survey_tables(ctx) -> dict[str, pd.DataFrame]:
    """The period's tickets and survey answers as the survey sections need them, without loading a ticket.

    ``tickets`` is the unit's ticket count per stratum (customer type × channel), counted in DuckDB;
    ``surveys`` the unit's survey rows of the period with only the columns the sections read (answers,
    scores, sub-scores and strata; text columns as categories), counted in DuckDB too: one row per
    distinct answer, its :data:`COUNTS` column saying how many there were (millions of answers hold
    a few thousand distinct ones; the statistics take the counts as weights and give what the rows give).

    Parameters
    ----------
    ctx : Context
        The notebook's context.

    Returns
    -------
    dict of str to DataFrame
        ``tickets`` (``customer_type, channel, tickets``) and ``surveys``.
    """
    strata = [c for c in STRATA if ctx.has("tickets", c)]
    if ctx.has("tickets") and strata:
        groups = ", ".join(strata)
        tickets = ctx.query(f"SELECT {groups}, count(*) AS tickets FROM {{t}} GROUP BY {groups}",
                            t=ctx.source("tickets", columns=strata))
    else:
        tickets = ctx.load("tickets", columns=list(STRATA)) if ctx.has("tickets") else pd.DataFrame(columns=list(STRATA))
    wanted = ["source", "csat", "nps", *SURVEY_ITEMS, *STRATA]
    present = qa_archive.source_columns(ctx.duckdb, ctx.source("surveys"))
    read = [c for c in wanted if c in present]
    # ordered, so that the rows (and any sum over them) come in the same order every run
    surveys = ctx.duckdb.sql(f"SELECT {', '.join(read)}, count(*) AS {COUNTS} FROM {ctx.source('surveys', columns=read)} "
                             "GROUP BY ALL ORDER BY ALL").arrow()
    frame = surveys.to_pandas() if not hasattr(surveys, "read_all") else surveys.read_all().to_pandas()
    for column in ("source", *STRATA):
        if column in frame:
            frame[column] = frame[column].astype("category")
    return {"tickets": tickets, "surveys": frame}


# ---------------------------------------------------------------- NPS

def nps_answers(ctx, tables: dict[str, pd.DataFrame]) -> tuple[pd.Series, pd.Series]:
    """The 0–10 answers of the previous period and of this one."""
    surveys = tables["surveys"]
    now = (pd.Series(np.repeat(surveys["nps"].to_numpy(), surveys[COUNTS].to_numpy()) if COUNTS in surveys
                     else surveys["nps"], name="nps") if "nps" in surveys else pd.Series(dtype=float))
    return ctx.load("surveys", ctx.period.previous(), columns=["nps"])["nps"], now


def nps_view(ctx, tables: dict[str, pd.DataFrame]) -> list:
    """NPS with its 95 % CI and n against the target, and its change since the previous period (compared
    only when the previous period has :data:`MIN_ANSWERS` answers or more; else a sentence says why not)."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    missing = ctx.missing_note("surveys.nps")
    if missing:
        return [missing]
    before, now = nps_answers(ctx, tables)
    estimate, change = survey_stats.nps_estimate(now), survey_stats.nps_difference(before, now)
    row = estimate.iloc[0]
    if row["n"] < MIN_ANSWERS:
        return [say("survey.too_few", ctx.language, n=int(row["n"]), minimum=MIN_ANSWERS)]
    target = ctx.targets().set_index("kpi")["target"].get("nps", np.nan)
    out = [say("survey.nps_headline", ctx.language, nps=_num(row["estimate"]), low=_num(row["ci_low"]),
               high=_num(row["ci_high"]), n=f"{int(row['n']):,}", target=_num(target),
               promoters=_pct(row["promoters"]), detractors=_pct(row["detractors"]))]
    c = change.iloc[0]
    if 0 < c["n_before"] < MIN_ANSWERS:
        out.append(say("survey.nps_not_compared", ctx.language, period=str(ctx.period.previous()),
                       n=f"{int(c['n_before']):,}", minimum=MIN_ANSWERS))
    elif c["n_before"] >= MIN_ANSWERS:
        out.append(say("survey.nps_change", ctx.language, before=_num(c["before"]), after=_num(c["after"]),
                       change=f"{c['effect']:+.0f}".replace("-", "−"), low=_num(c["ci_low"]), high=_num(c["ci_high"]),
                       p="< 0.001" if c["p"] < 0.001 else _num(c["p"], 3), n_before=f"{int(c['n_before']):,}",
                       verdict=t(c["verdict"], ctx.language)))
    both = pd.concat([survey_stats.nps_estimate(before), estimate], ignore_index=True)
    shown = pd.DataFrame({"period": [str(ctx.period.previous()), str(ctx.period)], "nps_points": both["estimate"],
                          "nps_ci_low": both["ci_low"], "nps_ci_high": both["ci_high"], "answers": both["n"]})
    out.append(table(shown, ctx.language, precision=1))
    return out


# ---------------------------------------------------------------- non-response

def response_view(ctx, tables: dict[str, pd.DataFrame]) -> list:
    """Response rate per customer type × channel, and the non-response-weighted CSAT beside the raw one."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import say

    missing = ctx.missing_note("surveys", "tickets.customer_type", "tickets.channel")
    if missing:
        return [missing]
    tickets, surveys = tables["tickets"], tables["surveys"]
    counts = COUNTS if COUNTS in surveys else None
    rates = survey_stats.response_rates(tickets, surveys, counts=counts)
    csat = survey_stats.weighted_csat(tickets, surveys, counts=counts).set_index("metric")
    raw, weighted = csat.loc["csat_raw"], csat.loc["csat_weighted"]
    if raw["n"] < MIN_ANSWERS:
        return [say("survey.too_few", ctx.language, n=int(raw["n"]), minimum=MIN_ANSWERS)]
    by_type = rates.groupby("customer_type")[["tickets", "answers"]].sum()
    by_type = (by_type["answers"] / by_type["tickets"]).drop(NOT_RECORDED, errors="ignore")
    out = [say("survey.weighted_csat", ctx.language, raw=_pct(raw["estimate"]), n_raw=f"{int(raw['n']):,}",
               weighted=_pct(weighted["estimate"]), low=_pct(weighted["ci_low"]), high=_pct(weighted["ci_high"]),
               n_weighted=f"{int(weighted['n']):,}", tickets=f"{int(weighted['tickets']):,}",
               change=f"{100 * (weighted['estimate'] - raw['estimate']):+.1f}".replace("-", "−"))]
    if {"enterprise", "individual"} <= set(by_type.index):
        out.append(say("survey.response_gap", ctx.language, enterprise=_pct(by_type["enterprise"]),
                       individual=_pct(by_type["individual"])))
    shown = rates.rename(columns={"csat": "csat_of_answers"}).drop(columns="weight")
    out.append(table(shown, ctx.language, values=["customer_type", "channel"],
                     percent=["response_rate", "csat_of_answers"]))
    return out


# ---------------------------------------------------------------- questionnaire

def reliability_view(ctx, tables: dict[str, pd.DataFrame]) -> list:
    """Cronbach's α of the questionnaire's sub-scores with Feldt's CI, against seed 002's 0.9."""
    from qa_helpers.report.texts import say

    surveys = _answers(tables["surveys"])
    items = survey_items(ctx, surveys)
    if len(items) < 2:
        return [say("survey.no_items", ctx.language)]
    counts = [COUNTS] if COUNTS in surveys else []
    row = survey_stats.cronbach_alpha(surveys[[*items, *counts]], counts=COUNTS if counts else None).iloc[0]
    if row["n"] < MIN_ANSWERS:
        return [say("survey.too_few", ctx.language, n=int(row["n"]), minimum=MIN_ANSWERS)]
    key = "survey.alpha_meets" if row["bar_sure"] else "survey.alpha_near" if row["meets_bar"] else "survey.alpha_below"
    return [say(key, ctx.language, alpha=_num(row["estimate"], 2), low=_num(row["ci_low"], 2),
                high=_num(row["ci_high"], 2), items=int(row["items"]), n=f"{int(row['n']):,}",
                bar=_num(row["bar"], 1))]


def drivers_view(ctx, tables: dict[str, pd.DataFrame]) -> list:
    """Which sub-score explains overall CSAT: standardised β with CI and each item's share of R²."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    surveys = _answers(tables["surveys"])
    items = survey_items(ctx, surveys)
    if len(items) < 2:
        return [say("survey.no_items", ctx.language)]
    drivers = survey_stats.key_drivers(surveys, items, counts=COUNTS if COUNTS in surveys else None)
    if drivers.empty or drivers["n"].iloc[0] < MIN_ANSWERS:
        return [say("survey.too_few", ctx.language, n=int(drivers["n"].iloc[0]) if len(drivers) else 0,
                    minimum=MIN_ANSWERS)]
    top = drivers.iloc[0]
    shown = drivers[["item", "beta", "ci_low", "ci_high", "dominance", "n"]].rename(
        columns={"item": "survey_item", "beta": "std_beta", "ci_low": "beta_ci_low", "ci_high": "beta_ci_high", "dominance": "share_of_r2"})
    return [say("survey.drivers", ctx.language, item=t(top["item"], ctx.language), share=_pct(top["dominance"]),
                r2=_pct(top["r2"]), n=f"{int(top['n']):,}"),
            table(shown, ctx.language, values=["survey_item"], percent=["share_of_r2"])]


# ---------------------------------------------------------------- the next survey sample

def _tickets_relation(con, ctx, tickets: pd.DataFrame | None = None):
    """The unit's tickets of the period, read through the kit's archive loader (``ctx.load``: the current
    generation, the unit's teams, the period) and registered in DuckDB as ``tickets``; None without any."""
    frame = ctx.load("tickets", columns=SAMPLE_COLUMNS[:-1]) if tickets is None else tickets[SAMPLE_COLUMNS[:-1]]
    if frame.empty:
        return None
    con.register("tickets", frame)
    return con.table("tickets")


def sample_plan(ctx, tables: dict[str, pd.DataFrame], margin: float = SAMPLE_MARGIN,
                confidence: float = SAMPLE_CONFIDENCE, allocation: str = "proportional") -> pd.DataFrame:
    """Per-stratum sizes of the next survey sample: answers needed for CSAT within ± ``margin`` at
    ``confidence``, and invitations.

    Tickets, answers, response rate and CSAT per stratum all come from one computation
    (:func:`~qa_helpers.stats.surveys.response_rates` on ``tables``). A stratum's expected share is its
    CSAT of this period when it has :data:`MIN_ANSWERS` answers or more, else 0.5 (the worst case: two
    satisfied answers do not make a stratum 99 % satisfied); a stratum without answers is invited at the
    overall response rate.
    """
    rates = survey_stats.response_rates(tables["tickets"], tables["surveys"],
                                        counts=COUNTS if COUNTS in tables["surveys"] else None)
    if rates.empty:
        return pd.DataFrame(columns=["stratum", *STRATA, "tickets", "share", "answers_needed", "invitations", "method"])
    counts = rates.copy()
    overall = counts["answers"].sum() / max(counts["tickets"].sum(), 1)
    counts["response_rate"] = counts["response_rate"].where(counts["response_rate"] > 0, overall)
    counts["expected"] = counts["csat"].where(counts["answers"] >= MIN_ANSWERS, 0.5).fillna(0.5)
    counts.insert(0, "stratum", counts[list(STRATA)].agg("|".join, axis=1))
    plan = survey_stats.stratum_sizes(counts, margin, confidence, allocation, share="expected",
                                      response_rate="response_rate")
    plan["method"] += f"; expected share 50 % in strata with fewer than {MIN_ANSWERS} answers, else their CSAT"
    plan = plan.merge(counts[["stratum", *STRATA, "response_rate"]], on="stratum")
    plan.attrs["total"] = int(plan["answers_needed"].sum())
    return plan[["stratum", *STRATA, "tickets", "response_rate", "share", "answers_needed", "invitations", "method"]]


def draw_survey_sample(ctx, plan: pd.DataFrame, seed: int, tickets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The stratified random sample itself: ``invitations`` tickets per stratum, drawn in DuckDB by a
    seeded hash of the ticket id (the same seed and tickets give the same sample, whatever their order).
    The tickets are ``tickets`` (the plan's ``tables["tickets"]``) or else the unit's tickets of the
    period from the archive loader.

    Returns
    -------
    DataFrame
        :data:`SAMPLE_COLUMNS`: ticket, pseudonymised customer id, team, channel, customer type, created
        time and stratum; nothing else leaves the archive.
    """
    import duckdb

    con = duckdb.connect()  # as the KPIs do: the kit's own connect() sets options a notebook kernel refuses
    found = _tickets_relation(con, ctx, tickets)
    if found is None or plan.empty:
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    sizes = plan[["stratum", "invitations"]]  # noqa: F841 -- read by DuckDB by name
    label = " || '|' || ".join(f"coalesce(CAST({c} AS VARCHAR), '{NOT_RECORDED}')" for c in STRATA)
    query = f"""
        WITH t AS (SELECT ticket_id, customer_id, team, channel, customer_type, created_at, {label} AS stratum
                   FROM tickets)
        SELECT t.* FROM t JOIN sizes USING (stratum)
        QUALIFY row_number() OVER (PARTITION BY stratum ORDER BY hash(ticket_id || '#' || $seed), ticket_id)
                <= sizes.invitations
        ORDER BY stratum, ticket_id"""
    return con.execute(query, {"seed": str(int(seed))}).df()[SAMPLE_COLUMNS]


def write_survey_sample(sample: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the survey sample as a spreadsheet-safe CSV (UTF-8 with BOM; no cell runs as a formula)."""
    from qa_helpers.report.safe import write_csv

    return write_csv(sample, path)


def sample_plan_view(ctx, tables: dict[str, pd.DataFrame], margin: float = SAMPLE_MARGIN,
                     confidence: float = SAMPLE_CONFIDENCE) -> list:
    """The next survey sample's plan: answers and invitations per stratum for CSAT within ± margin."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import say

    missing = ctx.missing_note("surveys", "tickets.customer_type", "tickets.channel")
    if missing:
        return [missing]
    plan = sample_plan(ctx, tables, margin, confidence)
    if plan.empty:
        return [say("survey.too_few", ctx.language, n=0, minimum=MIN_ANSWERS)]
    shown = plan[[*STRATA, "tickets", "response_rate", "answers_needed", "invitations"]]
    short = int((plan["invitations"] * plan["response_rate"] < plan["answers_needed"] - 0.5).sum())
    return [say("survey.sample_plan", ctx.language, margin=f"{100 * margin:g} pp", confidence=f"{confidence:.0%}",
                answers=f"{int(plan['answers_needed'].sum()):,}", invitations=f"{int(plan['invitations'].sum()):,}",
                tickets=f"{int(plan['tickets'].sum()):,}"),
            say("survey.sample_short", ctx.language, groups=short) if short else None,
            table(shown, ctx.language, values=list(STRATA), percent=["response_rate"])]


def survey_section(ctx, tables: dict[str, pd.DataFrame]) -> list:
    """Every survey section in order: NPS, non-response, reliability, key drivers, the next sample."""
    from qa_helpers.report.texts import say

    return [say("survey.surveys_title", ctx.language), nps_view(ctx, tables),
            say("survey.response_title", ctx.language), response_view(ctx, tables),
            say("survey.questionnaire_title", ctx.language), reliability_view(ctx, tables), drivers_view(ctx, tables),
            say("survey.sample_title", ctx.language), sample_plan_view(ctx, tables)]
