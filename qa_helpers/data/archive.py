"""Reading the validated archive: one table, one unit of analysis, one period.

The archive is parquet, one folder per table and one file per calendar month
(``tickets/month=2025-03/part-0.parquet``), rows team by team inside each file and in time order
within a team. A read for one team and one quarter opens three files and decodes little more than
that team's rows: the row groups and pages of other teams are skipped by their statistics.

The archive folder (``data/archive``) is a symbolic link to its current *generation*, a
sibling folder ``data/.archive.gen-000007`` that ingest wrote in full before switching the
link to it in one atomic rename: a reader sees the old archive or the new one, never a mix.
:func:`archive_path` resolves the link once, so one reader keeps reading one generation, and
checks the generation's files against the list its ``ingest_report.json`` records.
Archives written before generations (a plain folder) still load.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from qa_helpers.config import DUCKDB_THREADS_ENV, REPORT_DUCKDB_THREADS, project_root
from qa_helpers.data import storage  # an s3:// archive (object storage); imports nothing heavy for a local one
from qa_helpers.errors import ArchiveError, UnitError
from qa_helpers.periods import Period, parse_period
from qa_helpers.data.schemas import SAFE_NAME, TIME_COLUMNS

ALL = "ALL"
ARCHIVE_ENV = "QAKIT_ARCHIVE"
TABLES = ["agents", *TIME_COLUMNS]


GENERATION_MARKER = ".qakit-generation"  # in every folder ingest makes: what it may clean up after a crash


def generation_folder(archive: Path, number: int) -> Path:
    """Where generation ``number`` of the archive ``archive`` lives: a hidden sibling folder."""
    return archive.parent / f".{archive.name}.gen-{number:06d}"


def generation_pattern(archive: Path) -> re.Pattern:
    """Names of the archive's generation folders (``gen``) and of its swap links (``link``)."""
    return re.compile(rf"^\.{re.escape(archive.name)}\.(?:gen-(?P<gen>\d{{6}})|link-(?P<link>\d+))$")


def archive_files(folder: Path) -> dict[str, int]:
    """Every parquet file of an archive folder (tables and quarantine): relative path -> size in bytes.

    Recorded in ``ingest_report.json`` and compared on every :func:`archive_path`: a stat per file,
    cheap for the largest archive, where re-hashing the bytes would cost seconds per load.
    """
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            if name.endswith(".parquet"):
                path = Path(root) / name
                files[path.relative_to(folder).as_posix()] = path.stat().st_size
    return dict(sorted(files.items()))


_verified: set[tuple[str, int]] = set()  # generations whose files matched, by path and report mtime


def _check_files(path: Path, shown: Path, report_file: Path) -> None:
    """Refuse a generation whose files differ from its report's list; once per process and generation
    (ingest never changes a generation once it is current, so a match stays a match)."""
    stamp = (str(path), report_file.stat().st_mtime_ns)
    if stamp in _verified:
        return
    expected = json.loads(report_file.read_text(encoding="utf-8")).get("files")
    if expected is None:  # an archive from before generations: it recorded no file list
        return
    found = archive_files(path)
    missing = sorted(set(expected) - set(found))
    changed = sorted(f for f in set(expected) & set(found) if expected[f] != found[f])
    extra = sorted(set(found) - set(expected))
    if missing or changed or extra:
        problems = "; ".join(f"{label} {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
                             for label, names in (("missing", missing), ("changed", changed), ("unexpected", extra))
                             if names)
        raise ArchiveError(f"archive {shown} does not match its ingest_report.json ({problems}): it was altered "
                           f"after ingest; re-run `qakit ingest --archive {shown}`")
    _verified.add(stamp)


def archive_location(archive: str | os.PathLike | None = None) -> Path:
    """Where the archive is named: the argument, ``$QAKIT_ARCHIVE``, or ``<project>/data/archive``.

    The name itself (the link), not its current generation: what sits beside it (the pseudonym key,
    the access log, the lock) belongs to the archive whatever generation is current.
    """
    if archive:
        return storage.location(archive) if storage.is_remote(archive) else Path(archive)
    if os.environ.get(ARCHIVE_ENV):
        name = os.environ[ARCHIVE_ENV]
        return storage.location(name) if storage.is_remote(name) else Path(name)
    return project_root() / "data" / "archive"


def archive_path(archive: str | os.PathLike | None = None) -> Path:
    """Resolve the archive: the argument, ``$QAKIT_ARCHIVE``, or ``<project>/data/archive``.

    An empty string counts as not given, so a notebook parameter ``archive = ""`` means
    "the default archive". The archive link is resolved to its current generation folder,
    which is returned, so that every later read by the caller sees that same generation even
    if an ingest switches the link meanwhile.

    Raises
    ------
    ArchiveError
        When there is no archive, or its files do not match the list its ingest report records.
    """
    path = archive_location(archive)
    if storage.is_remote(path):  # object storage: the generation its pointer names, checked the same way
        return storage.current(path)
    current = path.resolve() if path.is_symlink() else path
    report_file = current / "ingest_report.json"
    if not report_file.is_file():
        raise ArchiveError(f"no archive at {path}: run `qakit ingest --raw <exports> --archive {path}` "
                           "(or `make demo` for the sample) first")
    _check_files(current, path, report_file)
    return current


def ingest_report(archive: str | os.PathLike | None = None) -> dict:
    """The ingest report written with the archive (row accounting per source, its file list)."""
    if storage.is_remote(archive_location(archive)):
        return storage.report(archive_path(archive))
    return json.loads((archive_path(archive) / "ingest_report.json").read_text(encoding="utf-8"))


def quarantine_batch_file(generation: Path, table: str, batch: int) -> Path:
    """Where an append (batch ``batch``) writes the rows of ``table`` it quarantined: a file of its own,
    so that the earlier batches' quarantine is linked, never rewritten."""
    return generation / "quarantine" / f"{table}.batch-{batch:06d}.parquet"


def quarantine_files(generation: Path, table: str) -> list[Path]:
    """The quarantine files of one table of a generation, in batch order: the ingest's
    ``<table>.parquet``, then each append's ``<table>.batch-NNNNNN.parquet`` (from the report's file
    list, which :func:`archive_path` checked against the folder; an archive without that list has the
    ingest's file only)."""
    listed = ingest_report(generation).get("files")
    pattern = re.compile(rf"quarantine/{re.escape(table)}(?:\.batch-\d{{6}})?\.parquet")
    first = f"quarantine/{table}.parquet"
    names = [name for name in listed if pattern.fullmatch(name)] if listed is not None else []
    names = names or [first]  # none listed: the ingest's name, so that a reader says which file is missing
    return [generation / name for name in sorted(names, key=lambda name: (name != first, name))]


def quarantine(table: str, archive: str | os.PathLike | None = None) -> pd.DataFrame:
    """Rows of one source that ingest rejected, every batch's: file, row, rule, column, detail, raw record.

    The ``record`` column holds raw values, PII included: summarise it, never display it.
    """
    parts = [pd.read_parquet(storage.native(path)) for path in quarantine_files(archive_path(archive), table)]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


@lru_cache(maxsize=8)
def _agents(path: str, stamp: float) -> pd.DataFrame:
    return pd.read_parquet(f"{path}/agents" if storage.is_remote(path) else Path(path) / "agents")


def agents(archive: str | os.PathLike | None = None) -> pd.DataFrame:
    """The roster: agent_id, team, department, hire_date, role."""
    folder = archive_path(archive) / "agents"
    return _agents(str(folder.parent), (folder / "part-0.parquet").stat().st_mtime).copy()


def availability(archive: str | os.PathLike | None = None) -> dict[str, set[str]]:
    """Per table, the fields the archive really has: canonical fields a source fed, link columns
    it filled and extra columns it kept. An absent table maps to an empty set.

    Archives written before fields could be absent count every column they hold as present.
    """
    path = archive_path(archive)
    report = ingest_report(path)
    if "availability" in report:
        return {table: set(entry["fields"]) | set(entry.get("extra", [])) if entry["present"] else set()
                for table, entry in report["availability"].items()}
    return {table: set(ds.dataset(path / table, format="parquet", partitioning="hive").schema.names) - {"month"}
            if table in report["sources"] else set() for table in TABLES}


def units(archive: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every unit of analysis: each team, each department (its teams' rollup) and ``ALL``.

    Teams come from the roster and from the tickets' own ``team`` column (an export with the team
    on the ticket row needs no roster); a team with no department has no department rollup.

    Returns
    -------
    DataFrame
        ``unit``, ``kind`` (team / department / all), ``department``, ``teams`` (list).
    """
    path = archive_path(archive)
    return _units(str(path), (path / "ingest_report.json").stat().st_mtime).copy()


@lru_cache(maxsize=8)
def _units(folder: str, stamp: float) -> pd.DataFrame:
    """:func:`units` of one generation (immutable once current): built once per process (issue 17)."""
    path = storage.location(folder) if storage.is_remote(folder) else Path(folder)
    report = ingest_report(path)
    if "units" in report:
        pairs = pd.DataFrame(report["units"], columns=["team", "department"])
    else:
        pairs = agents(path)[["team", "department"]]
    pairs = pairs.drop_duplicates("team").sort_values(["department", "team"], na_position="last")
    rows = [{"unit": team, "kind": "team", "department": None if pd.isna(dept) else dept, "teams": [team]}
            for team, dept in pairs.itertuples(index=False)]
    for dept, members in pairs.dropna(subset=["department"]).groupby("department")["team"]:
        rows.append({"unit": dept, "kind": "department", "department": dept, "teams": sorted(members.unique())})
    rows.append({"unit": ALL, "kind": "all", "department": None, "teams": sorted(pairs["team"].unique())})
    return pd.DataFrame(rows, columns=["unit", "kind", "department", "teams"])


def resolve_unit(unit: str, archive: str | os.PathLike | None = None) -> list[str] | None:
    """The teams a unit covers, or ``None`` for ``ALL`` (which also keeps rows no team owns).

    Raises
    ------
    UnitError
        For an unknown or unsafe name, listing the valid units.
    """
    import re

    if not isinstance(unit, str) or not (unit == ALL or re.match(SAFE_NAME, unit)):
        raise UnitError(f"{unit!r} is not a valid unit name (letters, digits, '-', '_' and '.' only)")
    if unit == ALL:
        return None
    path = archive_path(archive)
    teams = _unit_teams(str(path), (path / "ingest_report.json").stat().st_mtime)
    if unit not in teams:
        raise UnitError(f"unknown team or department {unit!r}; valid units: {', '.join(teams)}")
    return list(teams[unit])


@lru_cache(maxsize=8)
def _unit_teams(folder: str, stamp: float) -> dict[str, tuple[str, ...]]:
    """Each unit's teams, in :func:`units` order (a notebook resolves its unit about 80 times)."""
    return {unit: tuple(teams) for unit, teams in _units(folder, stamp)[["unit", "teams"]].itertuples(index=False)}


def load(table: str, team: str = ALL, period: str | Period | None = None, *,
         archive: str | os.PathLike | None = None, columns: list[str] | None = None,
         where: dict[str, object] | None = None) -> pd.DataFrame:
    """Load one archived table for one unit of analysis and one period.

    Parameters
    ----------
    table : str
        ``tickets``, ``surveys``, ``complaints``, ``field_visits``, ``qa_reviews`` or ``agents``.
    team : str, default "ALL"
        A team, a department (all its teams) or ``ALL`` (everything, including rows not
        linked to any team, such as unlinked online reviews).
    period : str or Period, optional
        ``2025``, ``2025-Q1``, ``2025-03`` or ``2025-W10``; rows whose time column falls in
        it. ``None`` loads every period.
    archive : path-like, optional
        The archive folder (see :func:`archive_path`).
    columns : list of str, optional
        Only these columns (plus nothing else) — less to read.
    where : dict, optional
        Keep rows whose column equals a value or is in a list of values, e.g.
        ``{"status": ["solved", "closed"], "region": "EMEA"}`` (any archived column, extra
        dimensions included).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> tickets = load("tickets", team="HL-A", period="2025-Q1")  # doctest: +SKIP
    >>> solved = load("tickets", where={"status": ["solved", "closed"]})  # doctest: +SKIP
    """
    if table not in TABLES:
        raise ArchiveError(f"unknown table {table!r}; tables are {', '.join(TABLES)}")
    path = archive_path(archive)
    teams = resolve_unit(team, path)
    if table == "agents":
        frame = agents(path)
        return frame if teams is None else frame[frame["team"].isin(teams)].reset_index(drop=True)
    period = parse_period(period) if isinstance(period, str) else period
    source, filesystem = storage.arrow_source(path / table)
    dataset = ds.dataset(source, filesystem=filesystem, format="parquet", partitioning="hive")
    condition = None
    if teams is not None:
        condition = ds.field("team").isin(teams)
    if period is not None:
        time = ds.field(TIME_COLUMNS[table])
        in_period = ds.field("month").isin(period.months) & (time >= pa.scalar(period.start.to_datetime64(), pa.timestamp("us"))) \
            & (time < pa.scalar(period.end.to_datetime64(), pa.timestamp("us")))
        condition = in_period if condition is None else condition & in_period
    for column, wanted_values in (where or {}).items():
        if column not in dataset.schema.names:
            raise ArchiveError(f"cannot filter {table} on {column!r}: no such column; columns are "
                               f"{', '.join(n for n in dataset.schema.names if n != 'month')}")
        values = list(wanted_values) if isinstance(wanted_values, (list, tuple, set)) else [wanted_values]
        match = ds.field(column).isin(values)
        condition = match if condition is None else condition & match
    wanted = None if columns is None else list(columns)
    key = (str(path), table, team, None if period is None else period.label, None if wanted is None else tuple(wanted),
           repr(sorted((where or {}).items(), key=lambda item: item[0])))
    cached = _READS.get(key)
    if cached is not None:
        return cached.copy()
    frame = dataset.to_table(columns=wanted, filter=condition).to_pandas()
    if "month" in frame.columns:
        frame = frame.drop(columns="month")
    frame = frame.reset_index(drop=True)
    _READS.put(key, frame)
    return frame.copy() if _READS.limit else frame


class _ReadCache:
    """Recent :func:`load` results of this process, for batch kernels (issue 17).

    A batch worker's warm kernel runs notebook after notebook, and notebooks of one unit read the
    same rows again and again. With ``$QAKIT_READ_CACHE_MB`` set (``qakit run`` sets it for its
    kernels) the results are kept up to that many MB, least recently used first out; callers get
    copies. Keys include the generation folder, which ingest never changes once it is current,
    so a cached read is never stale. Off (0) elsewhere: an interactive session reads afresh.
    """

    def __init__(self) -> None:
        from collections import OrderedDict

        self.frames: OrderedDict = OrderedDict()
        self.bytes = 0
        try:
            self.limit = int(float(os.environ.get("QAKIT_READ_CACHE_MB", "0")) * 2**20)
        except ValueError:
            self.limit = 0

    def get(self, key):
        frame = self.frames.get(key)
        if frame is not None:
            self.frames.move_to_end(key)
        return frame

    def put(self, key, frame: pd.DataFrame) -> None:
        size = int(frame.memory_usage(index=True, deep=False).sum())
        if not self.limit or size > self.limit // 4:
            return
        self.frames[key] = frame
        self.bytes += size
        while self.bytes > self.limit:
            _, old = self.frames.popitem(last=False)
            self.bytes -= int(old.memory_usage(index=True, deep=False).sum())


_READS = _ReadCache()


def recall(key: tuple) -> pd.DataFrame | None:
    """A result kept by :func:`keep` under ``key`` in this batch kernel (a copy), or ``None``.

    For results computed from archive scans only (e.g. a unit's KPI table over :func:`scan_sql` sources):
    keys name the generation's files, which never change, so a kept result is never stale. Off, like
    :func:`load`'s cache, unless ``$QAKIT_READ_CACHE_MB`` is set."""
    frame = _READS.get(key)
    return None if frame is None else frame.copy()


def keep(key: tuple, frame: pd.DataFrame) -> None:
    """Keep a result of archive scans for :func:`recall` (nothing when the cache is off)."""
    if _READS.limit:
        _READS.put(key, frame.copy())


_CONNECTIONS = itertools.count()


def analysis_threads() -> int:
    """The threads of a report's DuckDB: ``$QAKIT_DUCKDB_THREADS`` when set (a batch sets it for its
    kernels side by side: their share of the cores, at most two), else two, or one on a one-core machine."""
    try:
        return max(1, int(os.environ[DUCKDB_THREADS_ENV]))
    except (KeyError, ValueError):
        return min(REPORT_DUCKDB_THREADS, os.cpu_count() or 1)


def analysis_connection(archive: str | os.PathLike | None = None):
    """A DuckDB connection for aggregating archive scans (:func:`scan_sql`) inside a report: two threads
    (fewer in a batch's kernels side by side: :func:`analysis_threads`) and a 1 GB memory cap, so a notebook
    stays within budget even on a year of every team. With an ``s3://`` archive, DuckDB reads it through s3fs."""
    import duckdb

    # DuckDB spills past the cap into ./.tmp by default: the notebooks' folder, where a killed kernel would
    # leave its files; a folder of its own under the system's temp, which DuckDB creates and removes itself
    spill = Path(tempfile.gettempdir()) / f"qakit-duckdb-{os.getpid()}-{next(_CONNECTIONS)}"
    connection = duckdb.connect(config={"threads": analysis_threads(), "memory_limit": "1GB",
                                        "temp_directory": str(spill)})
    return connection if archive is None else storage.register(connection, archive)


_DATABASE: dict[int, Any] = {}  # process id -> its analysis connection (a forked child makes its own)
_OPENING = threading.Lock()


def analysis_cursor(archive: str | os.PathLike | None = None):
    """A connection of its own to this process's one analysis database (:func:`analysis_connection`).

    Frames it registers and tables it makes temporary are its own, as on a new connection, but it
    opens in under a millisecond where a new database takes about 17 ms: a batch kernel opens one
    per notebook (issue 17).
    """
    with _OPENING:  # two threads asking first make one database
        database = _DATABASE.get(os.getpid())
        if database is None:
            _DATABASE.clear()
            database = _DATABASE[os.getpid()] = analysis_connection()
    cursor = database.cursor()
    return cursor if archive is None else storage.register(cursor, archive)


def sql_text(value: object) -> str:
    """A SQL string literal (quotes doubled): paths, team names and codes are data, never SQL."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_list(values: Iterable[object]) -> str:
    """Values as the items of a SQL list or ``IN (...)``: ``'a', 'b'``; paths as POSIX text."""
    return ", ".join(sql_text(v.as_posix() if isinstance(v, PurePath) else v) for v in values)


def team_condition(teams: list[str] | None) -> str:
    """SQL: the rows of a unit's teams (from :func:`resolve_unit`); every row for ``None`` (``ALL``)."""
    if teams is None:
        return "true"
    return f"team IN ({sql_list(teams)})" if teams else "false"


def is_scan(source: object) -> bool:
    """Whether ``source`` is a read of archive files as :func:`scan_sql` writes it. A generation's files
    never change, so a result computed from such a source may be kept; a table or view a caller named
    may change under the same name."""
    return (isinstance(source, str) and source.startswith("(SELECT ") and source.endswith(")")
            and " FROM read_parquet([" in source)


def whole_months(period: Period) -> bool:
    """Whether a period is whole calendar months (a month, quarter or year; a week is not)."""
    first = pd.Timestamp(f"{period.months[0]}-01")
    return period.start == first and period.end == pd.Timestamp(f"{period.months[-1]}-01") + pd.offsets.MonthBegin(1)


def scan_sql(table: str, team: str = ALL, period: str | Period | None = None, *,
             archive: str | os.PathLike | None = None, columns: list[str] | None = None) -> str:
    """A DuckDB subquery over one archived table for one unit and period, for aggregating without
    loading rows into pandas.

    Only the period's month files are opened (a quarter reads three files per table); the unit's
    teams and, for a period that is not whole months (a week), its bounds are filters DuckDB pushes
    into the parquet scan. Pass the result wherever a table is expected, e.g.
    ``kpi_table({"tickets": scan_sql("tickets", "HL-A", "2025-Q1")})`` or
    ``duckdb.sql(f"SELECT count(*) FROM {scan_sql('surveys')}")``.

    Parameters
    ----------
    table, team, period, archive, columns
        As for :func:`load` (``columns``: only these, less to read).

    Returns
    -------
    str
        ``(SELECT ... FROM read_parquet([...]) WHERE ...)``, with the archive's column names and
        types (``month`` left out); no rows when the period has no files.
    """
    if table not in TABLES:
        raise ArchiveError(f"unknown table {table!r}; tables are {', '.join(TABLES)}")
    path = archive_path(archive)
    teams = resolve_unit(team, path)
    folder = path / table
    if table == "agents":
        files = sorted(folder.glob("*.parquet"))
    else:
        period = parse_period(str(period)) if isinstance(period, (str, int)) and not isinstance(period, bool) else period
        partitions = sorted(folder.glob("month=*/*.parquet"))
        wanted_months = None if period is None else {f"month={m}" for m in period.months}
        files = [f for f in partitions if wanted_months is None or f.parent.name in wanted_months]
    every = sorted(folder.glob("**/*.parquet"))
    if not every:
        raise ArchiveError(f"the archive {path} has no {table} files")
    select = "*" if columns is None else ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    conditions = []
    if not files:  # the period has no month files: the table's schema, no rows
        files, conditions = every[:1], ["false"]
    if teams is not None:
        conditions.append(team_condition(teams))
    # a month file holds exactly the rows of its month (ingest and append split by the time column), so a
    # period of whole months is its files: testing each row's time cost a fifth of a scan (issue 17)
    if period is not None and table != "agents" and not whole_months(period):
        time = '"' + TIME_COLUMNS[table] + '"'
        conditions.append(f"{time} >= TIMESTAMP {sql_text(period.start.strftime('%Y-%m-%d %H:%M:%S'))} AND "
                          f"{time} < TIMESTAMP {sql_text(period.end.strftime('%Y-%m-%d %H:%M:%S'))}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"(SELECT {select} FROM read_parquet([{sql_list(files)}], hive_partitioning = false){where})"


def source_columns(connection, source: str) -> list[str]:
    """The column names of a table source (a scan from :func:`scan_sql`, a registered frame, any SQL), in order.

    A scan (:func:`is_scan`) reads files of one archive generation, never rewritten once current, so its
    columns are read from the files once per process; a KPI table asks for them once per table (issue 17).
    """
    known = _SCAN_COLUMNS.get(source)
    if known is None:
        known = tuple(connection.sql(f"SELECT * FROM {source} LIMIT 0").columns)
        if is_scan(source):
            with _SCAN_COLUMNS_LOCK:  # a report's background thread asks too
                if len(_SCAN_COLUMNS) >= SCANS_KEPT:
                    _SCAN_COLUMNS.pop(next(iter(_SCAN_COLUMNS)), None)
                _SCAN_COLUMNS[source] = known
    return list(known)


_SCAN_COLUMNS: dict[str, tuple[str, ...]] = {}  # the latest SCANS_KEPT scans asked about -> their columns
_SCAN_COLUMNS_LOCK = threading.Lock()
SCANS_KEPT = 4096
