"""KPI analysis (step 3): Pareto of problems, fishbone tally, agent cross-analysis."""

from __future__ import annotations

from typing import Mapping

import duckdb
import numpy as np
import pandas as pd

from qa_helpers.measures.rootcause import DIMENSIONS


def problem_tickets(tickets: pd.DataFrame, surveys: pd.DataFrame, complaints: pd.DataFrame) -> pd.DataFrame:
    """Tickets that show a service problem, with the first signal that marks them.

    A ticket is a problem when it was not resolved at first contact, was reopened, drew a
    complaint, or got a dissatisfied survey answer (1-3).

    Returns
    -------
    DataFrame
        ``ticket_id, category, channel, signal``.
    """
    unhappy = set(surveys.loc[(surveys["source"] == "survey") & (surveys["csat"] <= 3), "ticket_id"].dropna())
    complained = set(complaints["ticket_id"].dropna())
    signals = [
        ("complaint", tickets["ticket_id"].isin(complained)),
        ("dissatisfied survey", tickets["ticket_id"].isin(unhappy)),
        ("reopened", tickets["reopened"].fillna(False).astype(bool)),
        ("not resolved first time", ~tickets["first_contact_resolved"].fillna(True).astype(bool)),
    ]
    signal = pd.Series(pd.NA, index=tickets.index, dtype="string")
    for name, hit in signals:
        signal = signal.mask(signal.isna() & hit.to_numpy(), name)
    out = tickets.loc[signal.notna(), ["ticket_id", "category", "channel"]].copy()
    out["signal"] = signal[signal.notna()]
    return out.reset_index(drop=True)


def _source(con: duckdb.DuckDBPyConnection, name: str, table: pd.DataFrame | str) -> str:
    """A table as something DuckDB can read: a SQL source as given, a DataFrame registered."""
    if isinstance(table, pd.DataFrame):
        con.register(f"analysis_{name}", table)
        return f"analysis_{name}"
    return str(table)


def problem_counts(tables: Mapping[str, pd.DataFrame | str],
                   connection: duckdb.DuckDBPyConnection | None = None) -> tuple[pd.Series, int]:
    """Problem tickets (as :func:`problem_tickets` marks them) counted by category in DuckDB, without
    loading the tickets.

    Parameters
    ----------
    tables : mapping
        ``tickets``, ``surveys`` and ``complaints`` of the unit and period, as DataFrames or DuckDB
        sources (:meth:`qa_helpers.report.context.Context.source`).
    connection : DuckDB connection, optional

    Returns
    -------
    counts : Series
        Problem tickets per category (categories recorded only), largest first.
    total : int
        Every problem ticket, a category recorded or not.
    """
    con = connection or duckdb.connect()
    tickets = _source(con, "tickets", tables["tickets"])
    surveys = _source(con, "surveys", tables["surveys"])
    complaints = _source(con, "complaints", tables["complaints"])
    got = con.execute(f"""
        WITH flagged AS (
            SELECT t.category FROM {tickets} t
            WHERE coalesce(t.reopened, false) OR NOT coalesce(t.first_contact_resolved, true)
               -- one mark join on both id lists, not one each: a pass over the tickets less (issue 17)
               OR t.ticket_id IN (SELECT ticket_id FROM {complaints} WHERE ticket_id IS NOT NULL
                                  UNION ALL SELECT ticket_id FROM {surveys}
                                  WHERE source = 'survey' AND csat <= 3 AND ticket_id IS NOT NULL))
        SELECT CAST(category AS VARCHAR) AS category, count(*) AS n FROM flagged GROUP BY ALL""").df()
    total = int(got["n"].sum())
    known = got.dropna(subset=["category"]).sort_values(["n", "category"], ascending=[False, True])
    return pd.Series(known["n"].to_numpy(), index=known["category"].to_numpy(), name="count"), total


def pareto(values: pd.Series, threshold: float = 0.8) -> pd.DataFrame:
    """Counts by category, largest first, with share and cumulative share.

    ``vital_few`` marks the categories needed to reach ``threshold`` of all problems
    (the category that crosses it included).

    Examples
    --------
    >>> pareto(pd.Series(list("aaaabbc")))["vital_few"].tolist()
    [True, True, False]
    """
    return pareto_counts(values.value_counts(), threshold)


def pareto_counts(counts: pd.Series, threshold: float = 0.8) -> pd.DataFrame:
    """:func:`pareto` from counts already made (``category -> count``, e.g. by DuckDB), largest first.

    Examples
    --------
    >>> pareto_counts(pd.Series({"b": 2, "a": 4, "c": 1}))["category"].tolist()
    ['a', 'b', 'c']
    """
    counts = counts.sort_values(ascending=False, kind="stable")
    out = pd.DataFrame({"category": counts.index.astype(str), "count": counts.to_numpy().astype("int64")})
    total = out["count"].sum()
    out["share"] = out["count"] / total if total else np.nan
    out["cumulative_share"] = out["share"].cumsum()
    out["vital_few"] = (out["cumulative_share"] - out["share"]) < threshold
    return out


def fishbone_tally(complaints: pd.DataFrame | str,
                   connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Complaints by cause dimension (people / process / tools / environment) and category, counted in
    DuckDB (a year of a large centre's complaints is not loaded).

    Parameters
    ----------
    complaints : DataFrame or SQL source
        The unit's complaints with ``cause_dimension`` and ``category``; one missing either is not
        counted.
    connection : DuckDB connection, optional

    Returns
    -------
    DataFrame
        Tidy ``cause_dimension, category, complaints`` with every dimension present (a dimension without
        complaints as one row, category missing and 0), categories in order within each.

    Examples
    --------
    >>> fishbone_tally(pd.DataFrame({"cause_dimension": ["people", "people", "tools"],
    ...                              "category": ["billing", "billing", "outage"]})).values.tolist()
    [['people', 'billing', 2], ['process', nan, 0], ['tools', 'outage', 1], ['environment', nan, 0]]
    """
    con = connection or duckdb.connect()
    source = _source(con, "complaints", complaints)
    tally = con.execute(f"""
        SELECT CAST(cause_dimension AS VARCHAR) AS cause_dimension, CAST(category AS VARCHAR) AS category,
               count(*) AS complaints
        FROM {source} WHERE cause_dimension IS NOT NULL AND category IS NOT NULL
        GROUP BY ALL ORDER BY ALL""").df()
    present = pd.DataFrame({"cause_dimension": list(DIMENSIONS)})
    out = present.merge(tally, on="cause_dimension", how="left")
    out["complaints"] = out["complaints"].fillna(0).astype("int64")
    return out


def agent_cross(by_agent: pd.DataFrame, targets: pd.DataFrame, x: str = "fcr", y: str = "csat",
                min_n: int = 10) -> pd.DataFrame:
    """One row per agent with two KPIs side by side and the quadrant against their targets.

    Parameters
    ----------
    by_agent : DataFrame
        ``kpi_table(tables, by=["agent_id"])`` output.
    targets : DataFrame
        ``Standards.targets()``.
    x, y : str
        The two KPIs (seed 000: an agent's CSAT against their resolution rate).
    min_n : int
        Agents with fewer observations on either KPI are marked ``too few`` instead of placed.

    Returns
    -------
    DataFrame
        ``agent_id, {x}, {x}_n, {y}, {y}_n, quadrant``.
    """
    wide = by_agent[by_agent["kpi"].isin([x, y])].pivot(index="agent_id", columns="kpi", values=["value", "n"])
    out = pd.DataFrame({x: wide[("value", x)], f"{x}_n": wide[("n", x)].astype(int),
                        y: wide[("value", y)], f"{y}_n": wide[("n", y)].astype(int)}).reset_index()
    tx = targets.set_index("kpi").loc[x, "target"]
    ty = targets.set_index("kpi").loc[y, "target"]
    good_x, good_y = out[x] >= tx, out[y] >= ty
    out["quadrant"] = np.select(
        [good_x & good_y, good_x & ~good_y, ~good_x & good_y], ["both at target", f"{y} below target",
                                                                 f"{x} below target"], "both below target")
    out.loc[(out[f"{x}_n"] < min_n) | (out[f"{y}_n"] < min_n), "quadrant"] = "too few"
    return out


STATUSES = ("meets target", "misses target", "not measured", "no target")


def kpi_vs_target(values: pd.DataFrame, targets: pd.DataFrame, measurability: pd.DataFrame | None = None,
                  min_n: int = 0) -> pd.DataFrame:
    """Each KPI's value beside its target, with a status people can read.

    Parameters
    ----------
    values : DataFrame
        ``kpi, value, n`` (``kpis.kpi_table`` output; extra breakdown columns are kept).
    targets : DataFrame
        ``Standards.targets(unit)``.
    measurability : DataFrame, optional
        ``kpis.measurability(available, standards)``: KPIs it marks as not measured get no value
        (NaN, n = 0) whatever ``values`` says, and its reason as ``note``.
    min_n : int
        Values from fewer observations are shown but not judged (``note`` "n < min_n"); 0: no rule.

    Returns
    -------
    DataFrame
        ``kpi, value, n, target, direction, unit, gap, meets_target, status, note`` (breakdown
        columns first when present). ``gap`` is value − target; ``meets_target`` respects the
        direction and is NA unless the KPI was judged. ``status`` is "meets target",
        "misses target", "not measured" (note: the reason, "no data for this unit and period"
        or "n < min_n") or "no target" (the standards set none for this KPI).
    """
    out = values.merge(targets[["kpi", "target", "direction", "unit"]], on="kpi", how="left")
    note = pd.Series("", index=out.index, dtype=object)
    unmeasured = pd.Series(False, index=out.index)
    if measurability is not None:
        reasons = out["kpi"].map(measurability.set_index("kpi")["reason"])
        measured = out["kpi"].map(measurability.set_index("kpi")["measured"]).fillna(True).astype(bool)
        out.loc[~measured, "value"] = np.nan
        out.loc[~measured, "n"] = 0
        note = note.mask(~measured, reasons)
        unmeasured |= ~measured
    no_data = ~unmeasured & out["value"].isna()
    note = note.mask(no_data, "no data for this unit and period")
    few = ~unmeasured & ~no_data & (out["n"] < min_n)
    note = note.mask(few, out["n"].map(lambda n: f"n < {min_n} (n = {n})"))
    unmeasured |= no_data | few
    no_target = ~unmeasured & out["target"].isna()
    note = note.mask(no_target, "no target in the standards")
    out["gap"] = out["value"] - out["target"]
    meets = np.where(out["direction"] == "lower", out["value"] <= out["target"], out["value"] >= out["target"])
    out["meets_target"] = pd.array(meets, dtype="boolean")
    out.loc[unmeasured | no_target, "meets_target"] = pd.NA
    out["status"] = np.select([unmeasured, no_target, out["meets_target"].fillna(False).to_numpy(bool)],
                              ["not measured", "no target", "meets target"], "misses target")
    out["note"] = note.astype(str)
    return out
