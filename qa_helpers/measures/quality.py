"""Data-quality figures (step 2 of the loop): accounting, quarantine, missingness, linkage.

Every function takes DataFrames (or the ingest report) and returns a tidy DataFrame in
which each rate carries the count it was computed from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _rate(numerator: int, n: int) -> float:
    return numerator / n if n else np.nan


def row_accounting(report: dict) -> pd.DataFrame:
    """Raw, archived and quarantined rows per source, and whether they add up.

    Returns
    -------
    DataFrame
        ``source, files, raw, archived, quarantined, quarantined_share, balanced``.
    """
    rows = []
    for source, entry in report["sources"].items():
        rows.append({
            "source": source, "files": len(entry["files"]), "raw": entry["raw"],
            "archived": entry["archived"], "quarantined": entry["quarantined"],
            "quarantined_share": _rate(entry["quarantined"], entry["raw"]),
            "balanced": entry["raw"] == entry["archived"] + entry["quarantined"],
        })
    return pd.DataFrame(rows)


def file_inventory(report: dict) -> pd.DataFrame:
    """One row per raw file read: source, file, rows, short content hash."""
    return pd.DataFrame([
        {"source": source, "file": f["name"], "rows": f["rows"], "sha256": f["sha256"][:12]}
        for source, entry in report["sources"].items() for f in entry["files"]
    ])


def quarantine_reasons(report: dict) -> pd.DataFrame:
    """Quarantined rows by source and rule (tidy: ``source, rule, rows``)."""
    rows = [{"source": source, "rule": rule, "rows": n}
            for source, entry in report["sources"].items() for rule, n in entry["by_rule"].items()]
    return pd.DataFrame(rows, columns=["source", "rule", "rows"])


def ingest_notes(report: dict) -> pd.DataFrame:
    """Warnings ingest recorded (ignored sheets, header-only files, ...)."""
    return pd.DataFrame([{"source": s, "note": w} for s, e in report["sources"].items() for w in e["warnings"]],
                        columns=["source", "note"])


def missingness(frame: pd.DataFrame, table: str | None = None) -> pd.DataFrame:
    """Empty values per column: ``table, column, n, missing, missing_share``.

    Examples
    --------
    >>> missingness(pd.DataFrame({"a": [1, None]}))[["column", "n", "missing"]].values.tolist()
    [['a', 2, 1]]
    """
    n = len(frame)
    missing = frame.isna().sum()
    return pd.DataFrame({
        "table": table, "column": frame.columns, "n": n, "missing": missing.to_numpy(),
        "missing_share": [_rate(m, n) for m in missing.to_numpy()],
    })


def duplicate_keys(frame: pd.DataFrame, key: str, table: str | None = None) -> pd.DataFrame:
    """Rows whose key repeats in the archive (ingest removes them, so this should be 0)."""
    dup = int(frame[key].duplicated(keep=False).sum())
    return pd.DataFrame([{"table": table, "key": key, "n": len(frame), "rows_with_repeated_key": dup}])


def survey_response(tickets: pd.DataFrame, surveys: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Share of tickets with at least one survey answer (online reviews do not count).

    Parameters
    ----------
    tickets, surveys : DataFrame
        Archived tickets and surveys (``ticket_id``, ``source``).
    by : str, optional
        A ticket column to break the rate down by (e.g. ``channel``).

    Returns
    -------
    DataFrame
        ``[by], tickets, surveyed, response_rate``.
    """
    answered = set(surveys.loc[surveys["source"] == "survey", "ticket_id"].dropna())
    flag = tickets["ticket_id"].isin(answered)
    if by is None:
        return pd.DataFrame([{"tickets": len(tickets), "surveyed": int(flag.sum()),
                              "response_rate": _rate(int(flag.sum()), len(tickets))}])
    out = flag.groupby(tickets[by], observed=True).agg(tickets="size", surveyed="sum").reset_index()
    out["response_rate"] = [_rate(s, n) for s, n in zip(out["surveyed"], out["tickets"])]
    return out


def linkage(frame: pd.DataFrame, ticket_ids: pd.Series, table: str) -> pd.DataFrame:
    """How many rows that name a ticket point to a ticket in the archive.

    Returns
    -------
    DataFrame
        ``table, rows, with_ticket_id, linked, linkage_rate`` (rate over rows that name a ticket).
    """
    named = frame["ticket_id"].notna() & (frame["ticket_id"].astype(str) != "")
    linked = named & frame["ticket_id"].isin(set(ticket_ids))
    return pd.DataFrame([{"table": table, "rows": len(frame), "with_ticket_id": int(named.sum()),
                          "linked": int(linked.sum()), "linkage_rate": _rate(int(linked.sum()), int(named.sum()))}])


def channel_coverage(tickets: pd.DataFrame, time_column: str = "created_at") -> pd.DataFrame:
    """Tickets per ISO week (its Monday) and channel, with zero where a channel had none.

    Returns
    -------
    DataFrame
        Tidy: ``week, channel, tickets``.
    """
    if tickets.empty:
        return pd.DataFrame(columns=["week", "channel", "tickets"])
    week = tickets[time_column].dt.to_period("W-SUN").dt.start_time
    counts = tickets.groupby([week.rename("week"), tickets["channel"]]).size()
    full = counts.unstack("channel", fill_value=0).stack()
    return full.rename("tickets").reset_index()
