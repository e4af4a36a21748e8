"""The archive's repeat-contact index: for every ticket that follows another of its customer's resolutions
within :data:`HORIZON_DAYS`, its creation time and the seconds since the latest such resolution.

A repeat contact (seed 000; :func:`qa_helpers.measures.service_levels.repeat_rates`) is a ticket whose
customer had another ticket resolved within the standard's window (7 days) before it was created. Judged
for a year of 10 M tickets, that is a join of every ticket with its customer's others: 2 s of a report's
wall time and 4 CPU seconds, the largest piece of the KPI analysis for ``ALL`` (issue 17). Ingest and
append write its result once into the archive generation, under ``repeat_contacts/month=YYYY-MM/``
(months of creation), and a report for ``ALL`` counts the rows whose gap is within its window instead
(0.02 s). The index holds no id, no customer and no team: only the two columns.

Which tickets it covers: every archived ticket with a customer and a creation time; a gap is looked for
among all the archive's tickets, so a ticket whose customer's earlier ticket stayed open longer than a
period is judged the same whatever the period (a report's in-place join looks back as far:
:func:`qa_helpers.report.service._history`). Tickets are never resolved before they were created
(ingest's time-order rule), so a ticket's gap depends only on tickets created before it: an append
rebuilds the index from the first month it rewrites onwards and links the months before; a purge of
ticket months rebuilds it whole.

The ingest report records the index (``repeat_index``) with a digest of the ticket files it was built
from; :func:`index_source` returns nothing when those files have changed since (a hand edit, a tool
that rewrote them) and the report falls back to the join.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from qa_helpers.data.archive import sql_list, sql_text
from qa_helpers.data.columns import connect, per_value, sql
from qa_helpers.data.schemas import TIME_COLUMNS

INDEX = "repeat_contacts"  # the index's folder in a generation
HORIZON_DAYS = 31  # the longest repeat-contact window the index answers; a longer one is joined in place
BUCKET_DAYS = 16  # the index's join meets tickets by customer and period of this many days
SCHEMA = pa.schema([("created_at", pa.timestamp("us")), ("gap_s", pa.float64())])


def tickets_digest(hashes: dict[str, str]) -> str:
    """A digest of the ticket files' SHA-256 (``ingest_report.json``'s ``sha256``), in path order."""
    digest = hashlib.sha256()
    for relative in sorted(k for k in hashes if k.startswith("tickets/")):
        digest.update(relative.encode())
        digest.update(bytes.fromhex(hashes[relative]))
    return digest.hexdigest()


def index_record(hashes: dict[str, str]) -> dict:
    """The ``repeat_index`` entry of an ingest report whose generation holds a current index."""
    return {"horizon_days": HORIZON_DAYS, "tickets": tickets_digest(hashes)}


def build(generation: Path, since: str | None = None, tickets: pa.Table | None = None) -> list[str]:
    """Write the index of ``generation``'s tickets for the months from ``since`` (``YYYY-MM``) onwards,
    every month for ``None``.

    Parameters
    ----------
    generation : Path
        A generation folder whose ``tickets/`` is written.
    since : str, optional
        The first month to index; earlier months are the caller's (an append links them first).
    tickets : pyarrow.Table, optional
        The generation's tickets already in memory (ingest's), read instead of the files.

    Returns
    -------
    list of str
        The months written.
    """
    from qa_helpers.data.ingest import EMPTY_MONTH  # ingest imports this module

    con = connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    customer = "hash(CAST(customer_id AS VARCHAR))"
    if tickets is not None:
        rows = tickets.select([c for c in ("ticket_id", "customer_id", "created_at", "resolved_at")
                              if c in tickets.column_names])
        if "customer_id" in rows.column_names and pa.types.is_dictionary(rows.schema.field("customer_id").type):
            # ingest's pseudonyms are dictionary-encoded: DuckDB casting such a column row by row took 2.6 s
            # (5 CPU seconds) for 10 M tickets; hashing each distinct pseudonym once and taking by index, 0.13 s
            rows = rows.append_column("customer_key", per_value(rows["customer_id"],
                                                                lambda entries: sql("hash(CAST(x AS VARCHAR))", entries)))
            customer = "customer_key"
        source = "rows"
    else:
        files = sorted((generation / "tickets").glob("month=*/*.parquet"))
        source = f"read_parquet([{sql_list(files)}], union_by_name = true)" if files else None
    columns = set() if source is None else {c for c, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    out = generation / INDEX
    if not {"ticket_id", "customer_id", "created_at", "resolved_at"} <= columns:
        gaps = SCHEMA.empty_table()
    else:
        start = f"TIMESTAMP '{since}-01'" if since else None
        # the months indexed, and the earlier tickets resolved within the horizon before them: two plain
        # conditions, which DuckDB checks against each row group's statistics (an OR it would not), so that
        # an append reads only the files near its months
        reach = [f" AND created_at >= {start}",
                 f" AND created_at < {start} AND resolved_at >= {start} - INTERVAL {HORIZON_DAYS} DAY"] \
            if start else [""]
        # customers as 64-bit hashes: the join moves integers, not strings (as the in-place join does); a
        # ticket is its row of the copy (the archive holds each ticket id once: duplicates are quarantined)
        keys = """SELECT {customer} AS customer,
                   CAST(created_at AS TIMESTAMP) AS created_at, CAST(resolved_at AS TIMESTAMP) AS resolved_at
            FROM {source}
            WHERE customer_id IS NOT NULL AND ticket_id IS NOT NULL AND created_at IS NOT NULL{reach}"""
        con.execute("CREATE TEMP TABLE keyed AS "
                    + " UNION ALL ".join(keys.format(customer=customer, source=source, reach=r) for r in reach))
        mine = f"WHERE created_at >= {start}" if start else ""
        # a customer's tickets meet only those resolved in the same or the last few periods of BUCKET_DAYS
        # (a ticket once per period its horizon reaches back into): a customer with 140 tickets a year has
        # 140² pairs in a plain join on the customer, here only those in nearby periods (10 M tickets of 316 k
        # customers: 2.5 s against 3.8 s; of 3.2 M customers: the same, 2.0-2.4 s against 2.1-2.5 s)
        bucket = f"(epoch({{time}}) // {BUCKET_DAYS * 86400})::BIGINT"
        gaps = con.sql(f"""
            WITH m AS (SELECT rowid AS ticket, customer, created_at, {bucket.format(time="created_at")} - back AS bucket
                       FROM keyed, range({-(-HORIZON_DAYS // BUCKET_DAYS) + 1}) AS shift(back) {mine}),
                 e AS (SELECT rowid AS ticket, customer, resolved_at, {bucket.format(time="resolved_at")} AS bucket
                       FROM keyed WHERE resolved_at IS NOT NULL)
            SELECT any_value(m.created_at) AS created_at, min(epoch(m.created_at - e.resolved_at)) AS gap_s
            FROM m JOIN e ON e.customer = m.customer AND e.bucket = m.bucket AND e.ticket <> m.ticket
                 AND e.resolved_at <= m.created_at AND e.resolved_at >= m.created_at - INTERVAL {HORIZON_DAYS} DAY
            GROUP BY m.ticket ORDER BY created_at, gap_s""").to_arrow_table().cast(SCHEMA)
    if not gaps.num_rows:
        if not any(out.glob("month=*/*.parquet")):  # no ticket repeats: the schema, so that reads find it
            _write(gaps, out / f"month={EMPTY_MONTH}" / "part-0.parquet")
        return []
    # rows in time order: each month is one slice between the month starts
    times = gaps["created_at"].to_numpy()
    months = np.arange(times[0].astype("datetime64[M]"), times[-1].astype("datetime64[M]") + 2)
    edges = np.searchsorted(times, months.astype(times.dtype))
    parts = [(str(month), start, end) for month, start, end in zip(months, edges[:-1], edges[1:]) if end > start]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # the parquet writer releases the GIL
        list(pool.map(lambda part: _write(gaps.slice(part[1], part[2] - part[1]),
                                          out / f"month={part[0]}" / "part-0.parquet"), parts))
    return [month for month, _, _ in parts]


def _write(rows: pa.Table, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # a hard link into an older generation: never write through it
    pq.write_table(rows, target)


def current(report: dict) -> bool:
    """Whether an ingest report's generation holds an index built from its present ticket files."""
    entry = report.get("repeat_index") or {}
    return bool(entry) and entry.get("tickets") == tickets_digest(report.get("sha256") or {})


class IndexRows(NamedTuple):
    """A period's rows of an archive's index: a DuckDB subquery of ``created_at, gap_s``, and the longest
    window (days) it answers."""

    source: str
    horizon_days: float


def index_source(archive: Path | str, report: dict, period) -> IndexRows | None:
    """The index rows of ``period``, or ``None`` when the archive (its ingest ``report``) has no current
    index."""
    if not current(report):
        return None
    files = sql_text(f"{archive}/{INDEX}/*/*.parquet")
    months = sql_list(period.months)
    time = TIME_COLUMNS["tickets"]
    return IndexRows(f"(SELECT created_at, gap_s FROM read_parquet({files}, hive_partitioning = true, "
                     f"hive_types_autocast = false) WHERE month IN ({months}) "
                     f"AND {time} >= TIMESTAMP '{period.start:%Y-%m-%d %H:%M:%S}' "
                     f"AND {time} < TIMESTAMP '{period.end:%Y-%m-%d %H:%M:%S}')",
                     float(report["repeat_index"]["horizon_days"]))
