"""Monitoring (step 5): threshold alerts, coaching cases, and the series behind control charts."""

from __future__ import annotations

import pandas as pd

from qa_helpers.monitor.control_charts import coaching_runs
from qa_helpers.measures.kpis import kpi_table

ALERT_COLUMNS = ["rule", "kpi", "group_by", "group", "week", "value", "threshold", "n", "open"]


def threshold_alerts(tables: dict[str, pd.DataFrame], standards: dict, min_n: int = 5) -> pd.DataFrame:
    """Weekly threshold alerts from the standards' ``alerts`` rules.

    Each rule ``{kpi, unit: team|channel|agent|all, every: week, below: x}`` (or ``above``)
    fires for every group and week where the KPI, computed on at least ``min_n``
    observations, crosses the threshold. An alert in the period's last week with data is
    ``open``.

    Returns
    -------
    DataFrame
        ``rule, kpi, group_by, group, week, value, threshold, n, open``.
    """
    frames = []
    for i, rule in enumerate(standards.get("alerts") or []):
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
