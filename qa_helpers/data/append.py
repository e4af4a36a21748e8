"""Incremental ingest (``qakit ingest --append``): add new exports to an existing archive.

A department exports every week; re-ingesting years of history to add one week costs time
proportional to the archive. :func:`append` ingests only the new exports, with the same
mapping, rules, pseudonym key and PII masking as :func:`qa_helpers.data.ingest.ingest`, and
writes a new archive *generation* in which only the month files that receive rows are
rewritten: every other file is hard-linked from the current generation (copied where a link
cannot be made), so the cost follows the new week, not the archive. The switch is the same
atomic link rename as a full ingest; the previous generation is kept until the next write, so a
reader that resolved the archive before the append still reads it whole.

Rules that look across rows see the archive:

* ``duplicate_id``: an id already archived is a duplicate (quarantined, as in a full ingest,
  where the earlier row wins);
* ``review_burst``: archived reviews (and the earlier batches' quarantined burst reviews) near
  the new ones count; archived reviews in a burst the new rows complete move to the quarantine;
* links and ``unknown_link`` / ``before_linked`` / ``unknown_agent`` see the archived tickets the
  new rows name and the archived roster.

What a full ingest of all exports together would do differently: an exact copy of an archived
row is quarantined as ``duplicate_id`` (the raw text of archived rows is not kept, so
``duplicate_row`` cannot compare it); customer names are learned from the new batch only (names
are never archived), so a name known only from an older export is not masked by name in the
new batch's free text (phone numbers, e-mails and ID numbers are masked as always).

``ingest_report.json`` accumulates: per source the totals, and a ``batches`` list with each
batch's files (name, rows, SHA-256) and its own ``raw = archived + quarantined``. Each batch's
quarantined rows go to a file of their own (``quarantine/<table>.batch-NNNNNN.parquet``; the
earlier batches' files are linked), and the archive fingerprint is built from the per-file hashes
the report keeps (``sha256``), so an append hashes only the files it wrote. A raw file
whose content an earlier batch ingested is refused (:class:`~qa_helpers.errors.SourceError`,
exit status 2): appending it again could only duplicate rows, so the user is told at once
rather than finding every row quarantined as a duplicate.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qa_helpers.config import SourcesConfig, SourceSpec, load_sources
from qa_helpers.data import repeat_index
from qa_helpers.data.archive import archive_files, archive_path, quarantine_batch_file, quarantine_files, sql_list
from qa_helpers.data.columns import archive_text_storage, connect, decoded, ingest_memory_pool, take_rows
from qa_helpers.data.ingest import (ARCHIVE_TABLES, EMPTY_MONTH, _availability, _check_archive_target,
                                    _commit_generation,
                                    _clean_debris, _files, _new_generation, _remove_generation, archive_order,
                                    archive_schema, file_hashes, fingerprint, ingest_source,
                                    parse_table,
                                    read_source, source_schema, write_archive_file)
from qa_helpers.data.privacy import ID_TOKEN, NameMasker, load_key
from qa_helpers.data.schemas import TIME_COLUMNS, id_column
from qa_helpers.errors import ArchiveError, SourceError
from qa_helpers.locks import folder_lock

QUARANTINE_COLUMNS = ["file", "row", "rule", "column", "detail", "record"]


def _parquet_list(files: list[Path]) -> str:
    return f"[{sql_list(files)}]"


def _month_files(folder: Path) -> dict[str, Path]:
    """``YYYY-MM`` -> the month's parquet file, for one table folder of a generation."""
    return {p.parent.name.removeprefix("month="): p for p in sorted(folder.glob("month=*/*.parquet"))}


class ArchiveView:
    """What the rules of one source see of the current generation (see
    :class:`qa_helpers.data.cleaning.ArchivedRows`): ids already archived, rows near a time, and the
    archived rows a new batch shows to be bad (withdrawn to the quarantine).

    Parameters
    ----------
    generation : Path
        The current generation folder (read only).
    spec : SourceSpec
        The source.
    config : SourcesConfig
        The mapping (to read back quarantined raw records).
    con : duckdb connection, optional
        The connection to query with (one per append: opening one costs tens of milliseconds).
    """

    def __init__(self, generation: Path, spec: SourceSpec, config: SourcesConfig, con=None) -> None:
        self.generation, self.spec, self.config = generation, spec, config
        self.con = con if con is not None else connect()
        self.table = spec.table
        self.withdrawn: list[tuple[object, str, str, str | None]] = []  # id, rule, reason, month archived in
        self._month_of: dict = {}  # id -> month of the archived rows :meth:`between` returned

    def _files(self) -> list[Path]:
        return sorted((self.generation / self.table).glob("**/*.parquet"))

    def known(self, column: str, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Whether each value is already archived in ``column`` (one DuckDB scan of that column only;
        the new values' range is a filter the parquet statistics prune months with)."""
        values = decoded(values)
        wanted = pc.unique(values.drop_null())
        if pa.types.is_string(wanted.type):
            wanted = wanted.filter(pc.greater(pc.utf8_length(wanted), 0))
        if not len(wanted) or not self._files():
            return np.zeros(len(values), dtype=bool)
        probe = pa.table({"v": wanted})  # noqa: F841 -- read by DuckDB by name
        bounds = pc.min_max(wanted)
        name = '"' + column.replace('"', '""') + '"'
        found = self.con.sql(
            f"SELECT DISTINCT {name} AS v FROM read_parquet({_parquet_list(self._files())}, hive_partitioning = false) "
            f"WHERE {name} BETWEEN $lo AND $hi AND {name} IN (SELECT v FROM probe)",
            params={"lo": bounds["min"].as_py(), "hi": bounds["max"].as_py()}).to_arrow_table()["v"]
        return pc.fill_null(pc.is_in(values, value_set=found.combine_chunks().cast(values.type)),
                            False).to_numpy(zero_copy_only=False)

    def between(self, columns: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Archived rows, and earlier batches' quarantined ``review_burst`` rows, timed in [start, end]."""
        time_column = TIME_COLUMNS[self.table]
        months = pd.period_range(start.to_period("M"), end.to_period("M"), freq="M").strftime("%Y-%m")
        by_month = _month_files(self.generation / self.table)
        files = [by_month[m] for m in months if m in by_month]
        wanted = list(dict.fromkeys([*columns, time_column]))
        parts = []
        if files:
            select = ", ".join('"' + c.replace('"', '""') + '"' for c in wanted)
            frame = self.con.sql(
                f"SELECT {select}, \"{id_column(self.table)}\" AS _key FROM read_parquet({_parquet_list(files)}, "
                f"hive_partitioning = false) WHERE \"{time_column}\" BETWEEN $lo AND $hi",
                params={"lo": start.to_pydatetime(), "hi": end.to_pydatetime()}).df()
            self._month_of.update(zip(frame["_key"], frame[time_column].dt.strftime("%Y-%m")))
            parts.append(frame.assign(_archived=True))
        earlier = self._quarantined_bursts(wanted, start, end)
        if len(earlier):
            earlier = earlier[(earlier[time_column] >= start) & (earlier[time_column] <= end)]
            parts.append(earlier.assign(_key=None, _archived=False))
        if not parts:
            return pd.DataFrame(columns=[*wanted, "_key", "_archived"])
        return pd.concat(parts, ignore_index=True).sort_values(time_column, kind="stable").reset_index(drop=True)

    def _quarantined_bursts(self, columns: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Rows quarantined as review bursts by earlier batches, parsed again from their raw records.

        Where every date format of the source starts with the year-first date, records whose raw date
        lies more than two days (any time-zone shift) outside [start, end] are left out before parsing:
        the quarantine grows with every batch, the window does not. The caller filters exactly.
        """
        paths = [p for p in quarantine_files(self.generation, self.table) if p.exists()]
        if not paths:
            return pd.DataFrame(columns=columns)
        where, params = "rule = 'review_burst'", {}
        if all(f == "ISO8601" or f.startswith(("%Y-%m-%d", "%Y/%m/%d")) for f in self.spec.datetime_formats):
            header = self.spec.raw_header(TIME_COLUMNS[self.table])
            where += (" AND (day IS NULL OR day BETWEEN $lo AND $hi)")
            params = {"path": '$."' + header.replace("\\", "\\\\").replace('"', '\\"') + '"',
                      "lo": (start - pd.Timedelta(days=2)).date(), "hi": (end + pd.Timedelta(days=2)).date()}
        day = ("TRY_CAST(replace(regexp_extract(json_extract_string(record, $path), "
               "'^\\s*(\\d{4}[-/]\\d{1,2}[-/]\\d{1,2})', 1), '/', '-') AS DATE)") if params else "NULL"
        records = self.con.sql(f"SELECT record FROM (SELECT record, rule, {day} AS day FROM "
                               f"read_parquet({_parquet_list(paths)}, union_by_name = true)) WHERE {where}",
                               params=params or None).fetchnumpy()["record"]
        records = [json.loads(r) for r in records if r]
        if not records:
            return pd.DataFrame(columns=columns)
        raw_columns = self.spec.raw_columns()
        raw = pa.table({**{c: pa.array([None if r.get(c) is None else str(r.get(c)) for r in records], pa.string())
                           for c in raw_columns},
                        "_file": pa.array(["(quarantine)"] * len(records)),
                        "_row": pa.array(np.arange(len(records), dtype=np.int64))})
        typed, _ = parse_table(raw, self.spec, self.config.archive_timezone, source_schema(self.spec, self.config))
        return pa.table({c: decoded(typed[c]) for c in columns}).to_pandas()

    def withdraw(self, keys: list, rule: str, reason: str) -> None:
        """Record archived rows (by id) that a rule now rejects; :func:`append` moves them (rewriting
        only the months they are archived in)."""
        self.withdrawn += [(k, rule, reason, self._month_of.get(k)) for k in keys]


# ---------------------------------------------------------------- the batch


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batches(report: dict) -> list[dict]:
    """The report's batches; an archive from a full ingest is batch 1, with its files and counts."""
    if "batches" in report:
        return report["batches"]
    return [{"batch": 1, "kind": "ingest", "sources": {
        table: {k: copy.deepcopy(entry[k]) for k in ("files", "raw", "archived", "quarantined", "by_rule")}
        for table, entry in report["sources"].items()}}]


def _new_files(batches: list[dict], found: dict[str, list[Path]]) -> tuple[dict[str, list[Path]], dict, list]:
    """The new raw files, their SHA-256, and the files skipped because an earlier batch ingested
    the same content (e.g. an unchanged roster sent with every weekly export).

    Raises
    ------
    SourceError
        When every file was ingested before: the whole batch is a re-append.
    """
    seen = {f["sha256"]: (b["batch"], f["name"]) for b in batches for e in b["sources"].values()
            for f in e["files"] if f.get("sha256")}
    hashes, fresh, skipped = {}, {}, []
    for table, paths in found.items():
        for path in paths:
            digest = hashes.get(str(path)) or _sha256(path)
            hashes[str(path)] = digest
            if digest in seen:
                skipped.append((path, *seen[digest]))
            else:
                fresh.setdefault(table, []).append(path)
    if not fresh:
        path, batch, name = skipped[0]
        raise SourceError(f"every file here was already ingested (this one in batch {batch}, as {name!r}, same "
                          "content); appending them again would only duplicate their rows: nothing was written",
                          file=str(path))
    return fresh, hashes, skipped


def _batch_sources(config: SourcesConfig, raw_dir: Path) -> dict[str, list[Path]]:
    """The files of each source the new exports feed (a source with no matching file adds nothing)."""
    found = {}
    for table, spec in config.sources.items():
        try:
            found[table] = _files(spec, raw_dir)
        except SourceError:
            continue
    if not found:
        raise SourceError("no file matches the pattern of any source in sources.yml: nothing to append",
                          file=str(raw_dir))
    return found


def _plain(table: pa.Table, source: str) -> pa.Table:
    """A table with its dictionaries decoded, typed as the archive writes it."""
    return table.cast(archive_schema(table, source))


def _linked_rows(generation: Path, table: str, key: str, values: pa.Array, columns: list[str], con) -> pa.Table:
    """Archived rows of ``table`` whose ``key`` is one of ``values`` (the rows new rows link to)."""
    files = sorted((generation / table).glob("**/*.parquet"))
    wanted = pc.unique(values.drop_null())
    wanted = wanted.filter(pc.greater(pc.utf8_length(wanted), 0))  # an empty key (an online review) names nothing
    select = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    if not files or not len(wanted):
        schema = pq.read_schema(files[0]) if files else None
        if schema is None:
            raise ArchiveError(f"the archive {generation} has no {table} files")
        return schema.empty_table().select(columns)
    probe = pa.table({"v": wanted})  # noqa: F841 -- read by DuckDB by name
    bounds = pc.min_max(wanted)
    name = '"' + key.replace('"', '""') + '"'
    return con.sql(
        f"SELECT {select} FROM read_parquet({_parquet_list(files)}, hive_partitioning = false) "
        f"WHERE {name} BETWEEN $lo AND $hi AND {name} IN (SELECT v FROM probe)",
        params={"lo": bounds["min"].as_py(), "hi": bounds["max"].as_py()}).to_arrow_table()


def _context_table(dep: str, spec: SourceSpec, config: SourcesConfig, raw_dir: Path, generation: Path,
                   new: dict[str, pa.Table], files: dict, con) -> pa.Table:
    """What source ``spec`` links and checks against in table ``dep``: the batch's new rows and the
    archived rows its keys name (the whole roster for ``agents``)."""
    if dep == "agents":
        old = pq.read_table(generation / "agents")
    else:
        keys = {spec.link["key"]} if spec.link and spec.link["table"] == dep else set()
        keys |= {params.get("key", "ticket_id") for name, params in spec.rules
                 if name in ("before_linked", "unknown_link") and params.get("table", "tickets") == dep}
        raw, _, _ = read_source(spec, raw_dir, source_schema(spec, config), files)  # cached for the ingest
        needed = set(keys) | set(spec.link["columns"] if spec.link and spec.link["table"] == dep else [])
        needed |= {params.get("linked_column", "created_at") for name, params in spec.rules if name == "before_linked"}
        columns = [c for c in pq.read_schema(next((generation / dep).glob("**/*.parquet"))).names if c in needed]
        parts = []
        for key in sorted(keys):
            values = pc.utf8_trim_whitespace(decoded(raw[spec.raw_header(key)]).cast(pa.string()))
            parts.append(_linked_rows(generation, dep, key, values, columns, con))
        old = pa.concat_tables(parts)
    if dep in new and new[dep].num_rows:
        fresh = _plain(new[dep], dep).select(old.column_names)
        return pa.concat_tables([old.cast(fresh.schema), fresh])
    return old


def _ingest_batch(config: SourcesConfig, found: dict[str, list[Path]], raw_dir: Path, generation: Path,
                  key: bytes) -> tuple[dict, dict, dict, dict]:
    """Ingest the new exports' sources in mapping order, rules and links seeing the archive.

    Returns the kept rows, the quarantines, the report entries and the withdrawals per source.
    """
    kept, quarantined, entries, withdrawn = {}, {}, {}, {}
    names, ids = NameMasker(), NameMasker(token=ID_TOKEN)
    files: dict = {}
    con = connect()
    for table, spec in config.sources.items():
        if table not in found:
            continue
        tables = {dep: _context_table(dep, spec, config, raw_dir, generation, kept, files, con)
                  for dep in sorted(spec.depends_on())}
        view = ArchiveView(generation, spec, config, con)
        kept[table], quarantined[table], entries[table] = ingest_source(
            spec, raw_dir, config, tables, key, names, ids, files, archived=view)
        if view.withdrawn:
            withdrawn[table] = view.withdrawn
    return kept, quarantined, entries, withdrawn


# ---------------------------------------------------------------- the new generation


def _link(source: Path, target: Path) -> None:
    """Hard-link a file of the current generation into the new one (a copy across file systems)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _months_of(times: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.strftime(times, "%Y-%m").to_numpy(zero_copy_only=False).astype(str)


def _write_months(old: Path, new: Path, table: str, rows: pa.Table | None,
                  withdraw: dict) -> tuple[list[str], pa.Table]:
    """Write one table of the new generation: affected months merged and rewritten, the rest linked.

    ``withdraw`` maps the ids of archived rows to remove to the month they are archived in (``None``:
    unknown, every month is searched).

    Returns the months rewritten and the withdrawn archived rows (as archived).
    """
    time_column, id_name = TIME_COLUMNS[table], id_column(table)
    by_month = _month_files(old / table)
    new_rows = _plain(rows, table) if rows is not None and rows.num_rows else None
    months = _months_of(new_rows[time_column]) if new_rows is not None else np.array([], dtype=str)
    affected = set(months.tolist())
    removed = []
    if withdraw:
        keys = pa.array(sorted(withdraw, key=str))
        where = set(withdraw.values())
        for month, path in by_month.items():
            if None not in where and month not in where:
                continue
            ids = pq.read_table(path, columns=[id_name])[id_name]
            if pc.any(pc.is_in(ids, value_set=keys.cast(ids.type))).as_py():
                affected.add(month)
    for month, path in by_month.items():
        if month not in affected and not (month == EMPTY_MONTH and affected):
            _link(path, new / table / path.parent.name / path.name)
    for month in sorted(affected):
        parts = []
        if month in by_month:
            current = pq.read_table(by_month[month])
            current = current.drop_columns([c for c in ("month",) if c in current.column_names])
            if withdraw:
                gone = pc.is_in(current[id_name], value_set=pa.array(sorted(withdraw, key=str)).cast(
                    current.schema.field(id_name).type))
                removed.append(current.filter(gone))
                current = current.filter(pc.invert(gone))
            parts.append(current)
        if new_rows is not None:
            fresh = new_rows.filter(pa.array(months == month))
            parts.append(fresh.select(parts[0].column_names).cast(parts[0].schema) if parts else fresh)
        merged = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        order = archive_order(merged, time_column)
        if order is not None:
            merged = take_rows(merged, order)
        write_archive_file(merged, new / table / f"month={month}" / "part-0.parquet", table)
    if not any((new / table).glob("**/*.parquet")) and EMPTY_MONTH in by_month:
        _link(by_month[EMPTY_MONTH], new / table / f"month={EMPTY_MONTH}" / "part-0.parquet")
    return sorted(affected), pa.concat_tables(removed) if removed else None


def _update_repeat_index(old: Path, staging: Path, report: dict, rewritten: list[str]) -> None:
    """The new generation's repeat-contact index: the old one's months before the first month whose tickets
    were rewritten linked, that month and the later ones built again (a ticket's gap depends only on tickets
    created before it); built whole when the old generation had no current index."""
    if not repeat_index.current(report):
        repeat_index.build(staging)
        return
    changed = sorted(m for m in rewritten if m != EMPTY_MONTH)
    for path in sorted((old / repeat_index.INDEX).glob("month=*/*.parquet")):
        month = path.parent.name.removeprefix("month=")
        if not changed or (month < changed[0] and month != EMPTY_MONTH):
            _link(path, staging / repeat_index.INDEX / path.parent.name / path.name)
    if changed:
        repeat_index.build(staging, since=changed[0])


def _write_roster(old: Path, new: Path, rows: pa.Table | None) -> bool:
    """The roster of the new generation: the archived one, plus the batch's new agents."""
    source = old / "agents" / "part-0.parquet"
    if rows is None or not rows.num_rows:
        _link(source, new / "agents" / "part-0.parquet")
        return False
    current = pq.read_table(source)
    fresh = _plain(rows, "agents")
    merged = pa.concat_tables([current.select(fresh.column_names).cast(fresh.schema), fresh])
    sort_by = [(c, "ascending") for c in ("team", id_column("agents")) if c in merged.column_names]
    write_archive_file(merged.take(pc.sort_indices(merged, sort_keys=sort_by)), new / "agents" / "part-0.parquet",
                       "agents")
    return True


def _write_quarantine(old: Path, new: Path, table: str, number: int, batch: pd.DataFrame | None,
                      withdrawn: pd.DataFrame | None) -> None:
    """The table's quarantine: every earlier batch's files linked, this batch's rejected rows (and the
    archived rows it withdrew) in a file of their own, written only when there are any."""
    for source in quarantine_files(old, table):
        if source.exists():
            _link(source, new / source.relative_to(old))
    extra = [f[QUARANTINE_COLUMNS] for f in (batch, withdrawn) if f is not None and len(f)]
    if extra:
        frame = pd.concat(extra, ignore_index=True).astype({"row": "int64", "column": "string"})
        target = quarantine_batch_file(new, table, number)
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(target, index=False)  # as ingest writes its quarantine


def _withdrawn_frame(rows: pa.Table, reasons: list[tuple[object, str, str, str | None]], id_column: str,
                     batch: int) -> pd.DataFrame:
    """Quarantine rows for archived rows a later batch rejected (their archived, masked values as the record)."""
    why = {key: (rule, reason) for key, rule, reason, _ in reasons}
    records = [json.dumps(r, ensure_ascii=False, default=str) for r in rows.to_pylist()]
    ids = rows[id_column].to_pylist()
    return pd.DataFrame({"file": f"(archive, withdrawn by batch {batch})", "row": np.zeros(len(ids), dtype=np.int64),
                         "rule": [why[i][0] for i in ids], "column": pd.Series([None] * len(ids), dtype="string"),
                         "detail": [f"{why[i][1]} (archived earlier; the burst continues in batch {batch})"
                                    for i in ids], "record": records})


def _units(report: dict, kept: dict[str, pa.Table]) -> list[dict]:
    """The archive's units, and any team (with its department) the new roster or tickets bring."""
    pairs = {(u["team"], u["department"]) for u in report.get("units", [])}
    for table in ("agents", "tickets"):
        if table in kept and kept[table].num_rows and "team" in kept[table].column_names:
            frame = pa.table({c: decoded(kept[table][c]) for c in ("team", "department")}).to_pandas()
            frame = frame.dropna(subset=["team"]).drop_duplicates()
            pairs |= {(t, None if pd.isna(d) else d) for t, d in frame.itertuples(index=False)}
    ordered = sorted(pairs, key=lambda p: (p[1] is None, p[1] or "", p[0]))
    return [{"team": team, "department": department} for team, department in ordered]


def append(raw_dir: str | os.PathLike, archive_dir: str | os.PathLike, config: str | os.PathLike | None = None,
           key: bytes | None = None) -> dict:
    """Add new exports to an existing archive, rewriting only the months they touch.

    Parameters
    ----------
    raw_dir : path-like
        Folder with the new exports (never modified); a source with no file there adds nothing.
    archive_dir : path-like
        An archive written by :func:`qa_helpers.data.ingest.ingest` (its link).
    config : path-like, optional
        The config folder or its ``sources.yml``: the same mapping as the archive's.
    key : bytes, optional
        The pseudonymisation key (default: the archive's key file, so pseudonyms stay stable).

    Returns
    -------
    dict
        The accumulated ingest report, also written to ``<archive>/ingest_report.json``; its
        ``batches[-1]`` accounts for this batch.

    Raises
    ------
    ArchiveError
        When there is no archive to append to.
    SourceError
        When no file matches a source, a file cannot be read, or a file was already ingested.
    LockedError
        When another ingest is writing the same archive.
    """
    raw_dir, archive_dir = Path(raw_dir), Path(archive_dir)
    config = load_sources(config)
    if not (archive_dir / "ingest_report.json").is_file():
        raise ArchiveError(f"no archive at {archive_dir} to append to: run `qakit ingest --raw <exports> "
                           f"--archive {archive_dir}` first")
    _check_archive_target(raw_dir, archive_dir)
    key = key if key is not None else load_key(archive_dir)
    with ingest_memory_pool(), archive_text_storage(), \
            folder_lock(archive_dir.parent / f".{archive_dir.name}.lock", f"archive {archive_dir}"):
        _clean_debris(archive_dir)
        old = archive_path(archive_dir)
        report = json.loads((old / "ingest_report.json").read_text(encoding="utf-8"))
        batches = _batches(report)
        found, hashes, skipped = _new_files(batches, _batch_sources(config, raw_dir))
        number = max(b["batch"] for b in batches) + 1
        batch_dir = archive_dir.parent / f".{archive_dir.name}.append-{os.getpid()}"
        shutil.rmtree(batch_dir, ignore_errors=True)
        batch_dir.mkdir()
        try:  # the new files only, under their own names: what ingest's readers see
            for paths in found.values():
                for path in paths:
                    if not (batch_dir / path.name).exists():
                        os.symlink(path.resolve(), batch_dir / path.name)
            kept, quarantined, entries, withdrawn = _ingest_batch(config, found, batch_dir, old, key)
        except SourceError as exc:  # name the user's file, not its link in the batch folder
            message = str(exc).split(": ", 1)[1] if ": " in str(exc) else str(exc)
            file = str(raw_dir / Path(exc.file).name) if Path(exc.file).parent == batch_dir else exc.file
            message = message.removeprefix(f"row {exc.row}, ").removeprefix(f"column {exc.column!r}, ")
            raise SourceError(message.replace(str(batch_dir), str(raw_dir)), file=file, row=exc.row,
                              column=exc.column) from None
        finally:
            shutil.rmtree(batch_dir, ignore_errors=True)
        staging = _new_generation(archive_dir)
        try:
            report = _write_generation(old, staging, report, batches, number, hashes, config,
                                       kept, quarantined, entries, withdrawn)
            report["batches"][-1]["skipped"] = [{"name": p.name, "as": n, "batch": b} for p, b, n in skipped]
            _commit_generation(archive_dir, staging, report)
        except BaseException:
            _remove_generation(staging)
            raise
    return report


def _write_generation(old: Path, staging: Path, report: dict, batches: list[dict], number: int,
                      hashes: dict[str, str], config: SourcesConfig, kept: dict, quarantined: dict, entries: dict,
                      withdrawn: dict) -> dict:
    """Write the new generation (linked and rewritten files) and its accumulated report."""
    batch = {"batch": number, "kind": "append", "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             "sources": {}}
    report = copy.deepcopy(report)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # the parquet reader and writer release the GIL
        written = {table: pool.submit(_write_months, old, staging, table, kept.get(table),
                                      {k: m for k, _, _, m in withdrawn.get(table, [])})
                   for table in ARCHIVE_TABLES if table != "agents"}
        _write_roster(old, staging, kept.get("agents"))
        written = {table: future.result() for table, future in written.items()}
    _update_repeat_index(old, staging, report, written["tickets"][0])
    for table in ARCHIVE_TABLES:
        removed = None
        if table in written:
            rewritten, removed = written[table]
            if table in entries:
                entries[table]["months_rewritten"] = rewritten
        out = _withdrawn_frame(removed, withdrawn[table], id_column(table), number) \
            if removed is not None and removed.num_rows else None
        _write_quarantine(old, staging, table, number, quarantined.get(table), out)
        if table not in entries and out is None:
            continue
        entry = entries.get(table) or {"files": [], "raw": 0, "archived": 0, "quarantined": 0, "by_rule": {},
                                       "warnings": []}
        for f in entry["files"]:
            f["sha256"] = next((h for p, h in hashes.items() if Path(p).name == f["name"]), f.get("sha256", ""))
        summary = {k: entry[k] for k in ("files", "raw", "archived", "quarantined", "by_rule", "months_rewritten")
                   if k in entry}
        if out is not None:
            summary["withdrawn"] = {"rows": len(out), "rule": out["rule"].iloc[0]}
        batch["sources"][table] = summary
        total = report["sources"].setdefault(table, {"files": [], "raw": 0, "archived": 0, "quarantined": 0,
                                                     "by_rule": {}, "warnings": [], "ignored_columns": []})
        total["files"] = total["files"] + entry["files"]
        for k in ("raw", "archived", "quarantined"):
            total[k] += entry[k]
        for rule, n in entry["by_rule"].items():
            total["by_rule"][rule] = total["by_rule"].get(rule, 0) + n
        if out is not None:
            total["archived"] -= len(out)
            total["quarantined"] += len(out)
            total["by_rule"][out["rule"].iloc[0]] = total["by_rule"].get(out["rule"].iloc[0], 0) + len(out)
        total["warnings"] = list(dict.fromkeys(total.get("warnings", []) + entry.get("warnings", [])))
        assert total["raw"] == total["archived"] + total["quarantined"], f"row accounting broken for {table}"
    report["batches"] = batches + [batch]
    report["availability"] = _availability(config, report)
    report["units"] = _units(report, kept)
    report["sha256"] = file_hashes(staging, previous=old, known=report.get("sha256"))  # the written files only
    report["repeat_index"] = repeat_index.index_record(report["sha256"])
    report["fingerprint"] = fingerprint(staging, report["sha256"])
    report["files"] = archive_files(staging)
    return report


# ---------------------------------------------------------------- carving exports by time


def carve(raw_dir: str | os.PathLike, out_dir: str | os.PathLike, start: str, end: str, *, inside: bool = True,
          config: str | os.PathLike | None = None, tables: list[str] | None = None) -> dict[str, int]:
    """Copy raw exports keeping only the rows whose time falls in ``[start, end)`` (or, with
    ``inside=False``, every other row): a week cut out of a year's export, to try ``--append``
    and to test and benchmark it.

    Rows are read with the kit's readers and written back in the source's format, encoding and
    sheet; a row's time is its source's time column as written (date part, ``/`` or ``-``), so a
    row whose time cannot be read stays outside. Rows the reader cannot split are left out.

    Parameters
    ----------
    raw_dir, out_dir : path-like
        The exports and the folder for the carved copies (same file names).
    start, end : str
        ``YYYY-MM-DD`` bounds.
    inside : bool
        Keep the rows in the window (default) or the rows outside it.
    config : path-like, optional
        The config folder or its ``sources.yml``.
    tables : list of str, optional
        Only these sources (default every source with a file).

    Returns
    -------
    dict
        File name -> rows written.
    """
    from qa_helpers.data.readers import read_raw

    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = load_sources(config)
    written = {}
    for table, paths in _batch_sources(sources, raw_dir).items():
        spec = sources.sources[table]
        if tables is not None and table not in tables:
            continue
        for path in paths:
            rows = read_raw(path, spec.format, spec.encoding, spec.sheet, spec.delimiter).rows
            rows = rows.drop_columns(["_file", "_row"])
            if table in TIME_COLUMNS:
                text = pc.utf8_slice_codeunits(decoded(rows[spec.raw_header(
                    TIME_COLUMNS[table])]).cast(pa.string()), 0, 10)
                day = pc.replace_substring(pc.utf8_trim_whitespace(text), "/", "-")
                hit = pc.fill_null(pc.and_(pc.greater_equal(day, start), pc.less(day, end)), False)
                rows = rows.filter(hit if inside else pc.invert(hit))
            frame = pa.table({c: decoded(rows[c]).cast(pa.string()) for c in rows.column_names}).to_pandas()
            target = out_dir / path.name
            if frame.empty:  # an export with no rows in the window is not written
                continue
            if spec.format == "csv":
                frame.to_csv(target, index=False, encoding=spec.encoding, sep=spec.delimiter)
            elif spec.format == "jsonl":
                target.write_text("".join(json.dumps({k: v for k, v in r.items() if v != ""}, ensure_ascii=False)
                                          + "\n" for r in frame.to_dict("records")), encoding=spec.encoding)
            else:
                frame.to_excel(target, index=False, sheet_name=spec.sheet or "Sheet1")
            written[path.name] = len(frame)
    return written
