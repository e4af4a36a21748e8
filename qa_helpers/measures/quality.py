"""Data-quality figures (step 2 of the loop): accounting, quarantine, missingness, linkage.

Every function takes DataFrames (or the ingest report) and returns a tidy DataFrame in
which each rate carries the count it was computed from. Tables and fields may be absent from
an archive (the export had none): given the archive's availability
(``qa_helpers.data.archive.availability``), figures that need them say "absent" or
"not measured" instead of showing 100 % missing or a 0 % rate.
"""

from __future__ import annotations

import itertools
from typing import Mapping

import duckdb
import numpy as np
import pandas as pd

from qa_helpers.data.archive import sql_list
from qa_helpers.data.schemas import FIELDS, field_names

Source = pd.DataFrame | str  # rows as a DataFrame, or a DuckDB subquery (``Context.source``) that loads none

_KNOWN_VIEWS = itertools.count()
# view of :func:`known_tickets` -> DuckDB source -> (rows, rows naming a ticket, linked), counted in its one pass
_LINKED: dict[str, dict[str, tuple[int, int, int]]] = {}


def _missingness_frame(table: str, columns: list[str], n: int, counts: np.ndarray, present) -> pd.DataFrame:
    """The missingness rows of one table from its row count and per-column empty counts; a column the
    archive's availability lacks is "absent" (no count), not 100 % missing."""
    absent = np.array([present is not None and column not in present for column in columns], dtype=bool)
    missing = pd.array(counts, dtype="Int64")
    missing[absent] = pd.NA
    return pd.DataFrame({
        "table": table, "column": columns, "n": n, "missing": missing,
        "missing_share": [np.nan if a else _rate(int(m), n) for m, a in zip(missing, absent)],
        "status": np.where(absent, "absent", "present"),
    })


def _rate(numerator: int, n: int) -> float:
    return numerator / n if n else np.nan


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _relation(con: duckdb.DuckDBPyConnection, source: Source, name: str) -> str:
    """``source`` as something DuckDB can select from: a DataFrame is registered under ``name``."""
    if isinstance(source, pd.DataFrame):
        con.register(name, source)
        return name
    return source


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> DuckDB type of a relation, in its order (no row is read)."""
    described = con.sql(f"SELECT * FROM {relation} LIMIT 0")
    return {name: str(kind) for name, kind in zip(described.columns, described.types)}


def row_count(source: Source, connection: duckdb.DuckDBPyConnection | None = None,
              files: list[str] | None = None) -> int:
    """How many rows a table (DataFrame or DuckDB source) has, counted where it lies; given ``files``
    whose rows are exactly the source's, from their parquet footers."""
    if isinstance(source, pd.DataFrame):
        return len(source)
    con = connection or duckdb.connect()
    if files:
        return int(con.execute(f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata([{sql_list(files)}])")
                   .fetchall()[0][0])
    return int(con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0])


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
    names = tables or [*FIELDS, *(t for t in available if t not in FIELDS)]
    rows = []
    for name in names:
        present = set(available.get(name) or ())
        canonical = field_names(name) if name in FIELDS else sorted(present)
        rows.append({"table": name, "present": bool(present),
                     "fields": sum(c in present for c in canonical),
                     "absent_fields": ", ".join(c for c in canonical if c not in present),
                     "extra": ", ".join(sorted(present - set(canonical)))})
    return pd.DataFrame(rows, columns=["table", "present", "fields", "absent_fields", "extra"])


def missingness(frame: Source, table: str | None = None, present: set[str] | None = None,
                connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Empty values per column: ``table, column, n, missing, missing_share, status``.

    Parameters
    ----------
    frame : DataFrame or str
        The rows, or a DuckDB source (``Context.source``): then the counts are taken in DuckDB,
        one scan, and no row is loaded. A float NaN counts as empty either way.
    table : str, optional
        The table's name, for the ``table`` column.
    present : set of str, optional
        The fields the archive has for this table (``availability(archive)[table]``). A column
        not in it is ``status = "absent"`` with ``missing`` NA and ``missing_share`` NaN: the
        export never had it, which is not the same as 100 % of its values missing. ``None``:
        every column is present.
    connection : DuckDB connection, optional
        Where a DuckDB source is read (default: a new in-memory one).

    Examples
    --------
    >>> missingness(pd.DataFrame({"a": [1, None]}))[["column", "n", "missing"]].values.tolist()
    [['a', 2, 1]]
    """
    if isinstance(frame, pd.DataFrame):
        n, columns, counts = len(frame), list(frame.columns), frame.isna().sum().to_numpy()
    else:
        con = connection or duckdb.connect()
        kinds = _columns(con, frame)
        columns = list(kinds)
        empty = [f"count(*) FILTER (WHERE {_ident(c)} IS NULL"
                 + (f" OR isnan({_ident(c)}))" if kinds[c] in ("DOUBLE", "FLOAT") else ")") for c in columns]
        found = con.execute(f"SELECT count(*), {', '.join(empty) or '0'} FROM {frame}").fetchall()[0]
        n, counts = int(found[0]), np.array(found[1:len(columns) + 1], dtype="int64")
    return _missingness_frame(table, columns, n, counts, present)


def missingness_of_files(files: list[str], table: str | None = None, present: set[str] | None = None,
                         columns: list[str] | None = None,
                         connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame | None:
    """:func:`missingness` of every row of some parquet files, from their footers: the null counts the
    writer recorded per column chunk, read without decoding a value. A float column's NaN values are
    not nulls in the footer: those columns alone are scanned for them.

    Parameters
    ----------
    files : list of str
        Parquet files whose rows are exactly the rows to describe (e.g. the month files of a whole
        year for every team).
    table, present
        As for :func:`missingness`.
    columns : list of str, optional
        The columns to describe, in order (default: the files' columns).
    connection : DuckDB connection, optional

    Returns
    -------
    DataFrame or None
        As :func:`missingness`; ``None`` when a file has no null count for a column (the caller then
        counts by scanning).
    """
    con = connection or duckdb.connect()
    listing = sql_list(files)
    kinds = _columns(con, f"read_parquet([{listing}])")
    columns = list(kinds) if columns is None else list(columns)
    # every column chunk's null count, and its row group's rows: a column's rows add up to the files' rows
    stats = con.execute(f"SELECT path_in_schema, sum(stats_null_count), count(*) FILTER (WHERE stats_null_count IS NULL), "
                        f"sum(row_group_num_rows) FROM parquet_metadata([{listing}]) GROUP BY 1").fetchall()
    nulls = {name: (total, unknown) for name, total, unknown, _ in stats}
    if any(c not in nulls or nulls[c][1] for c in columns):
        return None
    n = max((int(rows or 0) for *_, rows in stats), default=0)
    floats = [c for c in columns if kinds.get(c) in ("DOUBLE", "FLOAT")]
    nans = dict(zip(floats, con.execute(f"SELECT {', '.join(f'count(*) FILTER (WHERE isnan({_ident(c)}))' for c in floats)} "
                                        f"FROM read_parquet([{listing}])").fetchall()[0])) if floats else {}
    counts = np.array([int(nulls[c][0] or 0) + int(nans.get(c) or 0) for c in columns], dtype="int64")
    return _missingness_frame(table, columns, n, counts, present)


def duplicate_keys(frame: Source, key: str, table: str | None = None,
                   connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Rows whose key repeats in the archive (ingest removes them, so this should be 0).

    Parameters
    ----------
    frame : DataFrame or str
        The rows, or a DuckDB source (counted in DuckDB, no row loaded).
    key : str
    table : str, optional
    connection : DuckDB connection, optional

    Returns
    -------
    DataFrame
        ``table, key, n, rows_with_repeated_key`` (NA when the frame has no such column).
    """
    if isinstance(frame, pd.DataFrame):
        n = len(frame)
        dup = int(frame[key].dropna().duplicated(keep=False).sum()) if key in frame else pd.NA
    else:
        con = connection or duckdb.connect()
        if key in _columns(con, frame):
            # no two 64-bit hashes of the keys equal: no key repeats (the usual case). The hashes are sorted
            # in numpy, a third of the CPU of DuckDB's distinct count on 10 M keys (issue 17); equal
            # neighbours (a repeat, or a hash collision) make it count exactly
            column = _ident(key)
            found = con.sql(f"SELECT CASE WHEN {column} IS NULL THEN NULL ELSE hash({column}) END AS h "
                            f"FROM {frame}").fetchnumpy()["h"]
            n, hashes = len(found), _sorted_hashes(found)
            dup = 0 if not np.any(hashes[1:] == hashes[:-1]) else int(con.execute(
                f"SELECT coalesce(sum(c), 0) FROM (SELECT count(*) AS c FROM {frame} WHERE {column} IS NOT NULL "
                f"GROUP BY {column} HAVING count(*) > 1)").fetchall()[0][0])
        else:
            n, dup = row_count(frame, con), pd.NA
    return pd.DataFrame([{"table": table, "key": key, "n": n, "rows_with_repeated_key": dup}])


def _sorted_hashes(found: np.ndarray) -> np.ndarray:
    """The non-null values of a fetched hash column, sorted: in place when none is null (no mask to
    build and invert, no copy of 10 M hashes to filter and another to sort, issue 17)."""
    if isinstance(found, np.ma.MaskedArray) and np.ma.is_masked(found):
        hashes = found.compressed()  # a copy already: sorted in place
    else:
        hashes = np.ma.getdata(found)
        hashes = hashes if hashes.flags.writeable else hashes.copy()
    hashes.sort()
    return hashes


def survey_response(tickets: Source, surveys: Source, by: str | None = None,
                    available: Mapping[str, set[str]] | None = None,
                    connection: duckdb.DuckDBPyConnection | None = None,
                    weekly: str | None = None) -> pd.DataFrame:
    """Share of tickets with at least one survey answer (online reviews do not count).

    Parameters
    ----------
    tickets, surveys : DataFrame or str
        Archived tickets and surveys (``ticket_id``, ``source``), as rows or as DuckDB sources
        (``Context.source``): the tickets are then matched to the answers by a join in DuckDB and
        only the counts come back.
    by : str, optional
        A ticket column to break the rate down by (e.g. ``channel``); empty values form a
        "(missing)" group.
    available : mapping of table to set of field names, optional
        The archive's availability: no surveys table, or surveys without ``ticket_id``, makes the
        rate not measured (with that reason).
    connection : DuckDB connection, optional
        Where the join runs (default: a new in-memory one).
    weekly : str, optional
        A ticket time column: the counts are broken down by its ISO week too (``week``, its Monday),
        as :func:`channel_coverage` counts them, so one pass over the tickets gives both (issue 17);
        :func:`summed_response` adds the weeks up again and :func:`coverage_from_counts` makes the
        coverage. Empty ``by`` values stay empty (NaN) in this breakdown.

    Returns
    -------
    DataFrame
        ``[week], [by], tickets, surveyed, response_rate, status, note``: ``status`` is "measured" or
        "not measured" (``response_rate`` NaN; ``note`` says why: no surveys table, no survey
        answers, no tickets), never a 0 % response rate for an archive without surveys.
    """
    con = connection or duckdb.connect()
    t_rel, s_rel = _relation(con, tickets, "quality_tickets"), _relation(con, surveys, "quality_surveys")
    survey_columns = set(_columns(con, s_rel))
    has_answers = {"source", "ticket_id"} <= survey_columns and bool(
        con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {s_rel} WHERE source = 'survey' LIMIT 1)").fetchall()[0][0])
    reason = _survey_reason(available, has_answers)
    # a mark join on the answers (no distinct pass over them first, issue 17): a ticket counts once
    # however many answers name it, as in a join with the distinct answered ids
    answered = (f"(SELECT ticket_id FROM {s_rel} WHERE source = 'survey' AND ticket_id IS NOT NULL)"
                if {"source", "ticket_id"} <= survey_columns else "(SELECT NULL::VARCHAR AS ticket_id WHERE false)")
    groups = ({} if weekly is None else {"week": f"date_trunc('week', {_ident(weekly)})"}) | \
        ({} if by is None else {by: _ident(by)})
    named = "".join(f"{_ident(name)}, " for name in groups)
    query = (f"SELECT {named}count(*) AS tickets, count(*) FILTER (WHERE surveyed) AS surveyed "
             f"FROM (SELECT {''.join(f'{e} AS {_ident(n)}, ' for n, e in groups.items())}"
             f"ticket_id IN {answered} AS surveyed FROM {t_rel})"
             + ("" if not groups else f" GROUP BY {', '.join(str(i + 1) for i in range(len(groups)))}"))
    out = con.execute(query).df()
    if weekly is not None:
        return response_from_counts(out.sort_values(["week", *([by] if by else [])], kind="stable")
                                    .reset_index(drop=True), reason)
    return response_from_counts(out, reason) if by is None else summed_response(out, by, reason)


def summed_response(counts: pd.DataFrame, by: str, reason: str = "") -> pd.DataFrame:
    """:func:`survey_response` ``by`` a column from finer counts (e.g. its weekly breakdown): tickets and
    surveyed summed per value, empty values as one "(missing)" group, in the order of the values.

    Parameters
    ----------
    counts : DataFrame
        ``by``, ``tickets`` and ``surveyed`` (other columns are summed over).
    by : str
    reason : str
        Why the rate is not measured (empty when it is).

    Returns
    -------
    DataFrame
        ``by, tickets, surveyed, response_rate, status, note``.
    """
    keys = counts[by].astype(object).where(counts[by].notna(), "(missing)")
    out = (counts[["tickets", "surveyed"]].groupby(keys.rename(by), sort=False).sum().reset_index()
           .sort_values(by, kind="stable").reset_index(drop=True))
    return response_from_counts(out, reason)


def response_from_counts(counts: pd.DataFrame, reason: str = "") -> pd.DataFrame:
    """:func:`survey_response`'s table from its counts (``[by], tickets, surveyed``), e.g. the overall
    rate summed from the rate by channel.

    Parameters
    ----------
    counts : DataFrame
        ``tickets`` and ``surveyed`` per row.
    reason : str
        Why the rate is not measured (empty when it is).

    Returns
    -------
    DataFrame
        ``counts`` with ``response_rate, status, note``.
    """
    out = counts.copy()
    out["tickets"], out["surveyed"] = out["tickets"].astype("int64"), out["surveyed"].astype("int64")
    out["response_rate"] = [np.nan if reason else _rate(s, n) for s, n in zip(out["surveyed"], out["tickets"])]
    out["status"] = ["not measured" if reason or n == 0 else "measured" for n in out["tickets"]]
    out["note"] = [reason or ("no tickets" if n == 0 else "") for n in out["tickets"]]
    return out


def _survey_reason(available: Mapping[str, set[str]] | None, has_answers: bool) -> str:
    if available is not None:
        fields = set(available.get("surveys") or ())
        if not fields:
            return "no surveys table in the archive"
        if "ticket_id" not in fields:
            return "the surveys have no ticket_id field"
    if not has_answers:
        return "no survey answers"
    return ""


def linkage(frame: Source, ticket_ids: pd.Series | str, table: str, present: set[str] | None = None,
            connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """How many rows that name a ticket point to a ticket in the archive.

    Parameters
    ----------
    frame : DataFrame or str
        The rows of one table (it may be empty: an absent table), or a DuckDB source.
    ticket_ids : Series or str
        Every ticket id of the archive, or a DuckDB source with a ``ticket_id`` column (then the
        rows are matched by a semi-join in DuckDB and only the counts come back).
    table : str
    present : set of str, optional
        The fields the archive has for this table (``availability(archive)[table]``): an empty
        set is an absent table, one without ``ticket_id`` cannot be linked.
    connection : DuckDB connection, optional

    Returns
    -------
    DataFrame
        ``table, rows, with_ticket_id, linked, linkage_rate, status, note`` (rate over rows that
        name a ticket; ``status`` "measured" or "not measured" with the reason in ``note``).
    """
    in_sql = isinstance(frame, str) or isinstance(ticket_ids, str)
    con = (connection or duckdb.connect()) if in_sql else None
    columns = set(_columns(con, _relation(con, frame, "quality_linked"))) if in_sql else set(frame.columns)
    if present is not None and not present:
        reason = f"no {table} table in the archive"
    elif (present is not None and "ticket_id" not in present) or "ticket_id" not in columns:
        reason = f"the {table} have no ticket_id field"
    else:
        reason = ""
    counted = _LINKED.get(ticket_ids, {}) if isinstance(ticket_ids, str) and isinstance(frame, str) else {}
    if in_sql and not reason and frame in counted:
        rows, named, linked = counted[frame]
    elif in_sql:
        rows, named, linked = _linkage_counts(con, frame, ticket_ids, bool(reason))
    elif reason:
        rows, named, linked = len(frame), 0, 0
    else:
        names = frame["ticket_id"].notna() & (frame["ticket_id"].astype(str) != "")
        rows, named, linked = len(frame), int(names.sum()), int((names & frame["ticket_id"].isin(set(ticket_ids))).sum())
    if not reason and not rows:
        reason = "no rows"
    elif not reason and not named:
        reason = "no row names a ticket"
    return pd.DataFrame([{"table": table, "rows": rows, "with_ticket_id": named, "linked": linked,
                          "linkage_rate": np.nan if reason else _rate(linked, named),
                          "status": "not measured" if reason else "measured", "note": reason}])


def known_tickets(tables: Mapping[str, Source], ticket_ids: pd.Series | str,
                  connection: duckdb.DuckDBPyConnection | None = None) -> str:
    """Every ticket id of the archive as a DuckDB view, with the :func:`linkage` counts of each of
    ``tables`` taken against it already: one pass over ``ticket_ids`` for several tables.

    Parameters
    ----------
    tables : mapping of name to DataFrame or str
        The rows to link (tables without a ``ticket_id`` column are skipped). The counts of those
        given as DuckDB sources are kept for :func:`linkage` on the same connection.
    ticket_ids : Series or str
        Every ticket id of the archive (or a DuckDB source with a ``ticket_id`` column).
    connection : DuckDB connection
        Where the view is made (default: a new in-memory one; pass the one linkage uses).

    Returns
    -------
    str
        The view's name (one ``ticket_id`` column): :func:`linkage` against it is linkage against
        every ticket id, and for a table of ``tables`` reads nothing again.
    """
    con = connection or duckdb.connect()
    name = f"quality_known_tickets_{next(_KNOWN_VIEWS)}"
    ids = _relation(con, ticket_ids.rename("ticket_id").to_frame() if isinstance(ticket_ids, pd.Series) else ticket_ids,
                    f"{name}_ids")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT CAST(ticket_id AS VARCHAR) AS ticket_id FROM {ids}")
    linked = [(i, frame) for i, frame in enumerate(tables.values())
              if isinstance(frame, str) and "ticket_id" in _columns(con, frame)]
    counts: dict[str, tuple[int, int, int]] = {frame: (0, 0, 0) for _, frame in linked}
    if linked:
        # every table's rows probe one hash of the archive's ids (issue 17): no pass over the named
        # ids to intersect them first, and no table builds its own
        named = " UNION ALL ".join(f"SELECT {i} AS part, CAST(ticket_id AS VARCHAR) AS ticket_id FROM {frame}"
                                   for i, frame in linked)
        found = con.execute(f"""
            SELECT part, count(*), count(*) FILTER (WHERE named), count(*) FILTER (WHERE named AND known)
            FROM (SELECT part, ticket_id IS NOT NULL AND ticket_id <> '' AS named,
                         ticket_id IN (SELECT ticket_id FROM {name}) AS known FROM ({named}))
            GROUP BY part""").fetchall()
        by_part = {part: (int(rows), int(with_id), int(known)) for part, rows, with_id, known in found}
        counts.update({frame: by_part.get(i, (0, 0, 0)) for i, frame in linked})
    _LINKED[name] = counts
    return name


def _linkage_counts(con: duckdb.DuckDBPyConnection, frame: Source, ticket_ids: pd.Series | str,
                    unlinkable: bool) -> tuple[int, int, int]:
    """Rows, rows naming a ticket and rows whose ticket is in ``ticket_ids``, counted in DuckDB."""
    rel = _relation(con, frame, "quality_linked")
    if unlinkable:
        return row_count(rel, con), 0, 0
    ids = _relation(con, ticket_ids.rename("ticket_id").to_frame() if isinstance(ticket_ids, pd.Series)
                    else ticket_ids, "quality_ticket_ids")
    named = "ticket_id IS NOT NULL AND CAST(ticket_id AS VARCHAR) <> ''"
    found = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE {named}), count(*) FILTER (WHERE {named} AND known)
        FROM (SELECT ticket_id, CAST(ticket_id AS VARCHAR) IN (SELECT CAST(ticket_id AS VARCHAR) FROM {ids}) AS known
              FROM {rel})""").fetchall()[0]
    return int(found[0]), int(found[1]), int(found[2])


def channel_coverage(tickets: Source, time_column: str = "created_at",
                     connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Tickets per ISO week (its Monday) and channel, with zero where a channel had none.

    Parameters
    ----------
    tickets : DataFrame or str
        The unit's tickets, or a DuckDB source (counted in DuckDB, no row loaded).
    time_column : str
    connection : DuckDB connection, optional

    Returns
    -------
    DataFrame
        Tidy: ``week, channel, tickets``.
    """
    if isinstance(tickets, pd.DataFrame):
        if tickets.empty:
            return pd.DataFrame(columns=["week", "channel", "tickets"])
        week = tickets[time_column].dt.to_period("W-SUN").dt.start_time
        # tickets without a channel (an export without one) are counted, not dropped
        channel = tickets["channel"].astype(object).where(tickets["channel"].notna(), "(missing)")
        counts = tickets.groupby([week.rename("week"), channel.rename("channel")]).size()
    else:
        con = connection or duckdb.connect()
        return coverage_from_counts(con.execute(f"SELECT date_trunc('week', {_ident(time_column)}) AS week, channel, "
                                                f"count(*) AS tickets FROM {tickets} GROUP BY 1, 2").df())
    full = counts.unstack("channel", fill_value=0).stack()
    return full.rename("tickets").reset_index()


def coverage_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`channel_coverage` from ticket counts per week and channel (``week, channel, tickets``, e.g.
    :func:`survey_response` ``weekly``): an empty channel is "(missing)", a week without a channel's
    tickets 0."""
    if counts.empty:
        return pd.DataFrame(columns=["week", "channel", "tickets"])
    channel = counts["channel"].astype(object).where(counts["channel"].notna(), "(missing)").astype(str)
    summed = counts.groupby([counts["week"].rename("week"), channel.rename("channel")])["tickets"].sum()
    full = summed.astype("int64").sort_index().unstack("channel", fill_value=0).stack()
    return full.rename("tickets").reset_index()
