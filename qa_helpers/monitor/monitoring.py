"""Monitoring (step 5): threshold alerts, coaching cases, and the series behind control charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from qa_helpers.monitor.control_charts import coaching_runs
from qa_helpers.measures.kpis import KPIS, kpi_table
from qa_helpers.data.schemas import TIME_COLUMNS

ALERT_COLUMNS = ["rule", "kpi", "group_by", "group", "week", "value", "threshold", "n", "open"]


def threshold_alerts(tables: dict[str, pd.DataFrame], standards: dict, min_n: int = 5,
                     rules: list[dict] | None = None) -> pd.DataFrame:
    """Weekly threshold alerts from the standards' ``alerts`` rules.

    Each rule ``{kpi, unit: team|channel|agent|all, every: week, below: x}`` (or ``above``)
    fires for every group and week where the KPI, computed on at least ``min_n``
    observations, crosses the threshold. An alert in the period's last week with data is
    ``open``. ``rules`` replaces the standards' rules (e.g. only those the archive can judge,
    see :func:`usable_rules`).

    Returns
    -------
    DataFrame
        ``rule, kpi, group_by, group, week, value, threshold, n, open``.
    """
    frames = []
    for rule in (standards.get("alerts") or []) if rules is None else rules:
        group_by = {"team": "team", "channel": "channel", "agent": "agent_id", "all": None}[rule.get("unit", "team")]
        by = [group_by, "week"] if group_by else ["week"]
        values = kpi_table(tables, by=by, standards=standards, kpis=[rule["kpi"]])
        values = values[values["n"] >= min_n]
        if "below" in rule:
            hit, threshold, word = values["value"] < rule["below"], rule["below"], "below"
        else:
            hit, threshold, word = values["value"] > rule["above"], rule["above"], "above"
        fired = values[hit].assign(
            rule=f"{rule['kpi']} {word} {threshold:g} per {rule.get('unit', 'team')} and week",
            kpi=rule["kpi"], group_by=rule.get("unit", "team"),
            group=values.loc[hit, group_by] if group_by else "ALL", threshold=threshold)
        frames.append(fired)
    alerts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ALERT_COLUMNS)
    if alerts.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    tickets = tables["tickets"]
    last_week = tickets["created_at"].max().to_period("W-SUN").start_time if len(tickets) else None
    alerts["open"] = alerts["week"] == last_week if last_week is not None else False
    return alerts[ALERT_COLUMNS].sort_values(["week", "rule", "group"]).reset_index(drop=True)


def coaching_cases(tables: dict[str, pd.DataFrame], standards: dict) -> pd.DataFrame:
    """Agents due for one-to-one coaching under the seed rule (numbers from ``standards['coaching']``).

    Seed 000: an agent below 80 % CSAT three weeks in a row gets one-to-one coaching. Weeks
    with fewer than ``min_responses`` survey answers count as no data and break a run.

    Returns
    -------
    DataFrame
        ``agent_id, first_week, last_week, run_length``.
    """
    rule = standards.get("coaching") or {}
    weekly = kpi_table(tables, by=["agent_id", "week"], standards=standards, kpis=[rule.get("kpi", "csat")])
    return coaching_runs(weekly, threshold=rule.get("below", 0.8), k=rule.get("consecutive_weeks", 3),
                         min_n=rule.get("min_responses", 1))


def coaching_evidence(cases: pd.DataFrame, tables: dict[str, pd.DataFrame], standards: dict,
                      confidence: float = 0.95) -> pd.DataFrame:
    """Put each coaching case beside the agent's CSAT over the whole period, with a Wilson interval.

    The seed rule looks at a handful of answers per agent and week, so chance alone makes
    runs. The run's own CSAT is low by construction (its weeks were picked for being low),
    so the evidence is the agent's CSAT over the whole period: ``below all period`` when
    even its upper bound is under the threshold, ``run only`` otherwise — a dip that may be
    real (a bad month) or chance; look at it before booking a session.

    Returns
    -------
    DataFrame
        The cases with ``run_csat, run_n, period_csat, period_n, ci_low, ci_high, evidence``.
    """
    from statsmodels.stats.proportion import proportion_confint

    rule = standards.get("coaching") or {}
    threshold, kpi = rule.get("below", 0.8), rule.get("kpi", "csat")
    weekly = kpi_table(tables, by=["agent_id", "week"], standards=standards, kpis=[kpi])
    overall = kpi_table(tables, by=["agent_id"], standards=standards, kpis=[kpi]).set_index("agent_id")
    rows = []
    for case in cases.itertuples(index=False):
        run = weekly[(weekly["agent_id"] == case.agent_id) & (weekly["week"] >= case.first_week)
                     & (weekly["week"] <= case.last_week) & (weekly["n"] > 0)]
        run_n = int(run["n"].sum())
        value, n = overall.loc[case.agent_id, "value"], int(overall.loc[case.agent_id, "n"])
        low, high = proportion_confint(round(value * n), n, alpha=1 - confidence, method="wilson")
        rows.append({**case._asdict(), "run_csat": (run["value"] * run["n"]).sum() / run_n if run_n else float("nan"),
                     "run_n": run_n, "period_csat": value, "period_n": n, "ci_low": low, "ci_high": high,
                     "evidence": "below all period" if high < threshold else "run only"})
    columns = [*cases.columns, "run_csat", "run_n", "period_csat", "period_n", "ci_low", "ci_high", "evidence"]
    return pd.DataFrame(rows, columns=columns)


def weekly_counts(tables: dict[str, pd.DataFrame], kpi: str, standards: dict) -> pd.DataFrame:
    """Weekly events and trials of a share KPI, for a p-chart: ``period, events, n``."""
    weekly = kpi_table(tables, by=["week"], standards=standards, kpis=[kpi])
    weekly = weekly[weekly["n"] > 0]
    return pd.DataFrame({"period": weekly["week"], "events": (weekly["value"] * weekly["n"]).round().astype("int64"),
                         "n": weekly["n"]}).reset_index(drop=True)


def weekly_values(tables: dict[str, pd.DataFrame], kpi: str, standards: dict) -> pd.DataFrame:
    """Weekly values of a KPI, for an XmR chart: ``period, value``."""
    weekly = kpi_table(tables, by=["week"], standards=standards, kpis=[kpi])
    weekly = weekly[weekly["n"] > 0]
    return pd.DataFrame({"period": weekly["week"], "value": weekly["value"]}).reset_index(drop=True)


# ---------------------------------------------------------------- what the archive lets monitoring judge


def agent_field(table: str) -> str:
    """Where a KPI's rows name their agent: field visits name the engineer, QA reviews the agent
    reviewed, everything else the ticket's agent."""
    return {"field_visits": "field_visits.engineer_id", "qa_reviews": "qa_reviews.agent_id"}.get(table,
                                                                                                   "tickets.agent_id")


def rule_problem(ctx, rule: dict) -> str | None:
    """Why an alert rule cannot be judged on this archive (its KPI not measured, its groups absent), or None."""
    kpi = rule.get("kpi")
    if not ctx.measured(kpi):
        return ctx.kpi_reason(kpi)
    group = rule.get("unit", "team")
    if group == "agent":
        return ctx.missing(agent_field(KPIS[kpi].table))
    if group == "channel":
        return ctx.missing("tickets.channel")
    return None


def usable_rules(ctx) -> tuple[list[dict], list[str]]:
    """The standards' alert rules this archive can judge, and one line for each it cannot."""
    usable, notes = [], []
    for rule in ctx.standards.raw.get("alerts") or []:
        problem = rule_problem(ctx, rule)
        if problem is None:
            usable.append(rule)
        else:
            notes.append(f"Not judged: {rule['kpi']} per {rule.get('unit', 'team')} and week ({problem}).")
    return usable, notes


def coaching_problem(ctx) -> str | None:
    """Why the coaching rule cannot run on this archive (it needs agents and its KPI), or None."""
    kpi = (ctx.standards.raw.get("coaching") or {}).get("kpi", "csat")
    if not ctx.measured(kpi):
        return ctx.kpi_reason(kpi)
    return ctx.missing(agent_field(KPIS[kpi].table))


# ---------------------------------------------------------------- report sections (monitoring notebook)

def unit_alerts(ctx, tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, list[str]]:
    """The unit's threshold alerts from the rules the archive can judge, and a line per rule skipped."""
    rules, notes = usable_rules(ctx)
    return threshold_alerts(tables, ctx.standards.raw, rules=rules), notes


def alerts_view(ctx, alerts: pd.DataFrame, notes: list[str]) -> list:
    """The alerts table (or a line saying none fired), then the rules that could not be judged."""
    from qa_helpers.report.labels import table

    if alerts.empty:
        return ["No alert fired in this period.", *notes]
    return [table(alerts.assign(week=alerts["week"].dt.date), ctx.language, values=["kpi"],
                  percent=["value", "threshold"]), *notes]


def alerts_summary(alerts: pd.DataFrame) -> dict:
    """The index page's figures: open alerts and all alerts of the period."""
    return {"open_alerts": int(alerts["open"].sum()) if len(alerts) else 0, "alerts": len(alerts)}


def unit_coaching(ctx, tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, str | None]:
    """Coaching cases with their evidence, or no cases and the line saying why none can be found."""
    problem = coaching_problem(ctx)
    if problem:
        columns = ["agent_id", "first_week", "last_week", "run_length", "run_csat", "run_n", "period_csat",
                   "period_n", "ci_low", "ci_high", "evidence"]
        why = f"Coaching not assessed: {problem} (the rule needs agents and their CSAT)."
        return pd.DataFrame(columns=columns), why
    std = ctx.standards.raw
    return coaching_evidence(coaching_cases(tables, std), tables, std), None


def coaching_view(ctx, cases: pd.DataFrame, note: str | None):
    """The coaching cases, a line saying none met the rule, or why the rule could not run."""
    from qa_helpers.report.labels import table

    if note:
        return note
    if cases.empty:
        return "No agent met the coaching rule in this period."
    return table(cases.assign(first_week=cases["first_week"].dt.date, last_week=cases["last_week"].dt.date),
                 ctx.language, percent=["run_csat", "period_csat", "ci_low", "ci_high"])


def with_previous(ctx, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """This period's tables with the previous period's rows added (the control charts' baseline)."""
    previous = ctx.tables(ctx.period.previous())
    return {name: pd.concat([previous[name], frame], ignore_index=True) for name, frame in tables.items()}


CHARTS = (("p", "csat"), ("p", "fcr"), ("xmr", "median_first_response_s"))


def control_chart_section(ctx, both: dict[str, pd.DataFrame]) -> list:
    """p-charts (CSAT, FCR) and an XmR chart (median first response), weekly, with limits from the
    previous period; the Western Electric violations; a line for each chart the archive cannot draw."""
    from qa_helpers.monitor import control_charts
    from qa_helpers.report.labels import t, table

    std, language = ctx.standards.raw, ctx.language
    drawn = [(kind, name) for kind, name in CHARTS if ctx.measured(name)]
    notes = [f"{t(name, language)} chart not drawn: {ctx.kpi_reason(name)}." for kind, name in CHARTS
             if not ctx.measured(name)]
    if not drawn:
        return notes
    before = {name: frame[frame[TIME_COLUMNS[name]] < ctx.period.start] for name, frame in both.items()}
    fig, axes = plt.subplots(len(drawn), 1, figsize=(11, 3.7 * len(drawn)), squeeze=False)
    signals = []
    for ax, (kind, name) in zip(axes[:, 0], drawn):
        label = t(name, language)
        if kind == "p":
            baseline = len(weekly_counts(before, name, std))
            chart = control_charts.p_chart(weekly_counts(both, name, std), baseline=baseline or None)
            control_charts.plot_p_chart(chart, ax=ax, metric=label, title=f"p-chart: {label}, weekly")
        else:
            baseline = len(weekly_values(before, name, std))
            chart = control_charts.xmr_chart(weekly_values(both, name, std), baseline=baseline or None, floor=0)
            control_charts.plot_xmr_chart(chart, ax=ax, metric=label, unit="s", title=f"XmR chart: {label}, weekly")
        signals.append(chart.assign(chart=f"{kind}: {label}"))
    fig.tight_layout()
    found = pd.concat(signals, ignore_index=True)
    found = found[found["signal"].astype(bool)]
    return [fig, table(found[["chart", "period", "rules"]].assign(period=found["period"].dt.date))
            if len(found) else "No rule violations on the control charts.", *notes]


def action_progress(ctx, both: dict[str, pd.DataFrame]) -> list:
    """Weekly values of each open action's metrics since its start, against its acceptance target."""
    from qa_helpers.report import plots
    from qa_helpers.report.labels import t

    register = ctx.actions()
    open_actions = register[register["status"].isin(["in_progress", "planned"]) & (register["start"] < ctx.period.end)]
    left_out = ctx.actions_left_out()
    if ctx.actions(every_unit=True).empty and not left_out:
        return ["No actions registered: there is no progress to follow."]
    if open_actions.empty:
        return ["No open action has started yet for this unit.", *left_out]
    items: list = list(left_out)
    for action in open_actions.itertuples(index=False):
        metrics = [m for m in action.metrics if ctx.measured(m["kpi"])]
        items += [f"{action.action_id}: {t(m['kpi'], ctx.language)} not followed: {ctx.kpi_reason(m['kpi'])}."
                  for m in action.metrics if not ctx.measured(m["kpi"])]
        if not metrics:
            continue
        since = {name: frame[frame[TIME_COLUMNS[name]] >= action.start] for name, frame in both.items()}
        fig, axes = plt.subplots(1, len(metrics), figsize=(7 * len(metrics), 3.6), squeeze=False)
        for ax, metric in zip(axes[0], metrics):
            weekly = ctx.kpi_table(since, by=["week"], kpis=[metric["kpi"]])
            plots.plot_kpi_trend(weekly, metric["kpi"], KPIS[metric["kpi"]].unit, metric["target"], ax=ax,
                                 language=ctx.language, min_n=3)
            ax.set_title(f"{action.action_id}: {t(metric['kpi'], ctx.language)} since {action.start:%Y-%m-%d}")
        items.append(fig)
    return items
