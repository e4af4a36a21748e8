"""Data-quality figures (step 2 of the loop): accounting, quarantine, missingness, linkage.

Every function takes DataFrames (or the ingest report) and returns a tidy DataFrame in
which each rate carries the count it was computed from. Tables and fields may be absent from
an archive (the export had none): given the archive's availability
(``qa_helpers.data.archive.availability``), figures that need them say "absent" or
"not measured" instead of showing 100 % missing or a 0 % rate.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from qa_helpers.data.schemas import SCHEMAS


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


def availability_table(available: Mapping[str, set[str]], tables: list[str] | None = None) -> pd.DataFrame:
    """Which tables and canonical fields the archive has, one row per table.

    Parameters
    ----------
    available : mapping of table to set of field names
        ``qa_helpers.data.archive.availability(archive)`` (an absent table maps to an empty set).
    tables : list of str, optional
        Tables to list (default: every canonical table, then any other in ``available``).

    Returns
    -------
    DataFrame
        ``table, present, fields, absent_fields, extra``: ``fields`` counts the canonical fields
        present, ``absent_fields`` lists the canonical ones that are not, ``extra`` the kept extra
        columns (both comma-separated, empty when none).
    """
    names = tables or [*SCHEMAS, *(t for t in available if t not in SCHEMAS)]
    rows = []
    for name in names:
        present = set(available.get(name) or ())
        canonical = list(SCHEMAS[name].columns) if name in SCHEMAS else sorted(present)
        rows.append({"table": name, "present": bool(present),
                     "fields": sum(c in present for c in canonical),
                     "absent_fields": ", ".join(c for c in canonical if c not in present),
                     "extra": ", ".join(sorted(present - set(canonical)))})
    return pd.DataFrame(rows, columns=["table", "present", "fields", "absent_fields", "extra"])


def missingness(frame: pd.DataFrame, table: str | None = None, present: set[str] | None = None) -> pd.DataFrame:
    """Empty values per column: ``table, column, n, missing, missing_share, status``.

    Parameters
    ----------
    frame : DataFrame
    table : str, optional
        The table's name, for the ``table`` column.
    present : set of str, optional
        The fields the archive has for this table (``availability(archive)[table]``). A column
        not in it is ``status = "absent"`` with ``missing`` NA and ``missing_share`` NaN: the
        export never had it, which is not the same as 100 % of its values missing. ``None``:
        every column is present.

    Examples
    --------
    >>> missingness(pd.DataFrame({"a": [1, None]}))[["column", "n", "missing"]].values.tolist()
    [['a', 2, 1]]
    """
    n = len(frame)
    absent = np.array([present is not None and column not in present for column in frame.columns], dtype=bool)
    missing = pd.array(frame.isna().sum().to_numpy(), dtype="Int64")
    missing[absent] = pd.NA
    return pd.DataFrame({
        "table": table, "column": list(frame.columns), "n": n, "missing": missing,
        "missing_share": [np.nan if a else _rate(int(m), n) for m, a in zip(missing, absent)],
        "status": np.where(absent, "absent", "present"),
    })


def duplicate_keys(frame: pd.DataFrame, key: str, table: str | None = None) -> pd.DataFrame:
    """Rows whose key repeats in the archive (ingest removes them, so this should be 0).

    Returns
    -------
    DataFrame
        ``table, key, n, rows_with_repeated_key`` (NA when the frame has no such column).
    """
    dup = int(frame[key].dropna().duplicated(keep=False).sum()) if key in frame else pd.NA
    return pd.DataFrame([{"table": table, "key": key, "n": len(frame), "rows_with_repeated_key": dup}])


def survey_response(tickets: pd.DataFrame, surveys: pd.DataFrame, by: str | None = None,
                    available: Mapping[str, set[str]] | None = None) -> pd.DataFrame:
    """Share of tickets with at least one survey answer (online reviews do not count).

    Parameters
    ----------
    tickets, surveys : DataFrame
        Archived tickets and surveys (``ticket_id``, ``source``).
    by : str, optional
        A ticket column to break the rate down by (e.g. ``channel``); empty values form a
        "(missing)" group.
    available : mapping of table to set of field names, optional
        The archive's availability: no surveys table, or surveys without ``ticket_id``, makes the
        rate not measured (with that reason).

    Returns
    -------
    DataFrame
        ``[by], tickets, surveyed, response_rate, status, note``: ``status`` is "measured" or
        "not measured" (``response_rate`` NaN; ``note`` says why: no surveys table, no survey
        answers, no tickets), never a 0 % response rate for an archive without surveys.
    """
    reason = _survey_reason(tickets, surveys, available)
    answered = set(surveys.loc[surveys["source"] == "survey", "ticket_id"].dropna()) \
        if {"source", "ticket_id"} <= set(surveys.columns) else set()
    flag = tickets["ticket_id"].isin(answered)
    if by is None:
        out = pd.DataFrame([{"tickets": len(tickets), "surveyed": int(flag.sum())}])
    else:
        groups = tickets[by].astype(object).where(tickets[by].notna(), "(missing)")
        out = flag.groupby(groups.rename(by), observed=True).agg(tickets="size", surveyed="sum").reset_index()
        out["surveyed"] = out["surveyed"].astype("int64")
    out["response_rate"] = [np.nan if reason else _rate(s, n) for s, n in zip(out["surveyed"], out["tickets"])]
    out["status"] = ["not measured" if reason or n == 0 else "measured" for n in out["tickets"]]
    out["note"] = [reason or ("no tickets" if n == 0 else "") for n in out["tickets"]]
    return out


def _survey_reason(tickets: pd.DataFrame, surveys: pd.DataFrame, available: Mapping[str, set[str]] | None) -> str:
    if available is not None:
        fields = set(available.get("surveys") or ())
        if not fields:
            return "no surveys table in the archive"
        if "ticket_id" not in fields:
            return "the surveys have no ticket_id field"
    if not {"source", "ticket_id"} <= set(surveys.columns) or not (surveys["source"] == "survey").any():
        return "no survey answers"
    return ""


def linkage(frame: pd.DataFrame, ticket_ids: pd.Series, table: str, present: set[str] | None = None) -> pd.DataFrame:
    """How many rows that name a ticket point to a ticket in the archive.

    Parameters
    ----------
    frame : DataFrame
        The rows of one table (it may be empty: an absent table).
    ticket_ids : Series
        Every ticket id of the archive.
    table : str
    present : set of str, optional
        The fields the archive has for this table (``availability(archive)[table]``): an empty
        set is an absent table, one without ``ticket_id`` cannot be linked.

    Returns
    -------
    DataFrame
        ``table, rows, with_ticket_id, linked, linkage_rate, status, note`` (rate over rows that
        name a ticket; ``status`` "measured" or "not measured" with the reason in ``note``).
    """
    if present is not None and not present:
        reason = f"no {table} table in the archive"
    elif (present is not None and "ticket_id" not in present) or "ticket_id" not in frame:
        reason = f"the {table} have no ticket_id field"
    else:
        reason = ""
    if reason:
        named = linked = pd.Series(False, index=frame.index)
    else:
        named = frame["ticket_id"].notna() & (frame["ticket_id"].astype(str) != "")
        linked = named & frame["ticket_id"].isin(set(ticket_ids))
    if not reason and not len(frame):
        reason = "no rows"
    elif not reason and not named.any():
        reason = "no row names a ticket"
    return pd.DataFrame([{"table": table, "rows": len(frame), "with_ticket_id": int(named.sum()),
                          "linked": int(linked.sum()),
                          "linkage_rate": np.nan if reason else _rate(int(linked.sum()), int(named.sum())),
                          "status": "not measured" if reason else "measured", "note": reason}])


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
    # tickets without a channel (an export without one) are counted, not dropped
    channel = tickets["channel"].astype(object).where(tickets["channel"].notna(), "(missing)")
    counts = tickets.groupby([week.rename("week"), channel.rename("channel")]).size()
    full = counts.unstack("channel", fill_value=0).stack()
    return full.rename("tickets").reset_index()
