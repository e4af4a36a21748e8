"""Archive governance (seed 003, chapter 7): retention, approved purges and the access log.

* **Retention**: ``retention:`` in ``sources.yml`` gives the years each table is kept (seed 003:
  three years, up to five in special cases). A month of a table is *due* once the retention
  period has run from the end of that month.
* **Purge**: :func:`purge` lists what is due; it removes it only with an approval (a name or a
  ticket of whoever approved the destruction: "approve first, destroy after"), and every purge,
  listed or done, is an audit record in the access log.
* **Access log**: ``<archive>.access.log`` beside the archive (not inside it, so that an ingest,
  which replaces the archive folder, never loses it; never under ``reports/``): one JSON object
  per line, appended, never rewritten — who (user, host), when (UTC), which command with which
  parameters, on which archive (path and fingerprint), and how it ended. The kit never trims it:
  seed 003 asks for the log to be kept five years at least.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pyarrow.parquet as pq

from qa_helpers.errors import ArchiveError, ConfigError, QAKitError

REPORT = "ingest_report.json"
LOG_SUFFIX = ".access.log"
DEFAULT_RETENTION_YEARS = 3
PARTITION = "month="
EMPTY_PARTITION = "month=0000-00"
GENERATION_NAME = re.compile(r"^\..+\.gen-\d{6}$")  # qa_helpers.data.archive.generation_folder's names


def access_log_path(archive: str | os.PathLike) -> Path:
    """Where an archive's access log lives: ``<archive>.access.log``, beside the folder."""
    archive = Path(archive)
    return archive.parent / (archive.name + LOG_SUFFIX)


def _archive_fingerprint(archive: Path) -> str | None:
    """The fingerprint ingest recorded (read from the report, not recomputed: ten million rows
    would cost seconds per command)."""
    try:
        return json.loads((archive / REPORT).read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError):
        return None


def log_access(archive: str | os.PathLike, command: str, parameters: dict[str, Any], status: str,
               detail: str | None = None) -> dict:
    """Append one record to the archive's access log and return it.

    Parameters
    ----------
    archive : path-like
        The archive the command read or wrote.
    command : str
        The command (``ingest``, ``run``, ``alerts``, ``purge``, ``bundle``).
    parameters : dict
        Its parameters (JSON-serialisable; paths as text).
    status : str
        ``ok``, ``failed`` (the command ran and reported failures) or ``error``.
    detail : str, optional
        The error message, or what a purge removed and who approved it.

    Returns
    -------
    dict
        The record written.
    """
    archive = Path(archive)
    record = {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "command": command,
        "parameters": parameters,
        "archive": str(archive.resolve()),
        "fingerprint": _archive_fingerprint(archive),
        "status": status,
    }
    if detail:
        record["detail"] = detail
    path = access_log_path(archive)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    # O_APPEND: concurrent writers (batch runs, schedulers) each add whole lines, none overwrites
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return record


def read_access_log(archive: str | os.PathLike) -> pd.DataFrame:
    """The archive's access log as a table, one row per record (empty when nothing was logged)."""
    path = access_log_path(archive)
    columns = ["time", "user", "host", "command", "parameters", "archive", "fingerprint", "status", "detail"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return pd.DataFrame.from_records(records).reindex(columns=columns)


# Commands whose archive is logged, and where each finds it in its arguments.
LOGGED_COMMANDS = ("ingest", "run", "alerts", "purge", "bundle")


def record_command(args, run: Callable[[Any], int]) -> int:
    """Run a CLI command and log it in the access log of the archive it touches.

    ``ingest --check`` writes nothing and needs no archive: it is not logged; nor are ``sample``
    and ``map``, which never touch an archive. A command that raises is logged with status
    ``error`` and the exception goes on to the CLI's error handling.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (``command`` and its options).
    run : callable
        The command's function, called with ``args``; returns the exit status.

    Returns
    -------
    int
        The command's exit status.
    """
    archive = _logged_archive(args)
    if archive is None:
        return run(args)
    parameters = {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in sorted(vars(args).items())
                  if k not in ("func", "command") and not callable(v)}
    try:
        code = run(args)
    except BaseException as exc:
        try:
            log_access(archive, args.command, parameters, "error", str(exc).splitlines()[0] if str(exc) else
                       type(exc).__name__)
        except OSError:
            pass  # the command failed because nothing can be written there: its own error says so
        raise
    if args.command != "purge":  # a purge writes its own audit record, with what it removed
        log_access(archive, args.command, parameters, "ok" if code == 0 else "failed")
    return code


def _logged_archive(args) -> Path | None:
    if getattr(args, "command", None) not in LOGGED_COMMANDS:
        return None
    from qa_helpers.data import storage

    if storage.is_remote(getattr(args, "archive", None) or os.environ.get("QAKIT_ARCHIVE", "")):
        return None  # object storage: the bucket's own access logging records reads and writes
    if args.command == "ingest":
        return None if args.check or not args.archive else Path(args.archive)
    from qa_helpers.data.archive import archive_location, archive_path

    try:
        archive_path(getattr(args, "archive", None))  # an archive that loads: one worth a log line
        return archive_location(getattr(args, "archive", None))
    except ArchiveError:
        return None  # no archive yet: the command itself reports that


# ---------------------------------------------------------------- retention and purge

def retention_years(config: str | os.PathLike | None = None) -> dict[str, int]:
    """Years each archived table is kept, from ``retention:`` in ``sources.yml``.

    A table not listed gets ``retention.default``, else :data:`DEFAULT_RETENTION_YEARS` (seed 003:
    three years; five in special cases).
    """
    from qa_helpers.config import load_sources
    from qa_helpers.data.schemas import ANALYSIS_TABLES

    policy = load_sources(config).retention
    default = policy.get("default", DEFAULT_RETENTION_YEARS)
    return {table: policy.get(table, default) for table in ANALYSIS_TABLES}


def due_for_purge(archive: str | os.PathLike, as_of: str | dt.date | None = None,
                  config: str | os.PathLike | None = None) -> pd.DataFrame:
    """The archived months whose retention period has run out.

    Parameters
    ----------
    archive : path-like
        The archive folder.
    as_of : str or date, optional
        The day to judge on (default today, UTC).
    config : path-like, optional
        The config folder or ``sources.yml`` holding ``retention:``.

    Returns
    -------
    DataFrame
        One row per due month: ``table``, ``month``, ``rows``, ``years`` (the retention),
        ``due_since`` (the first day it could be destroyed) and ``path`` (relative to the archive).
    """
    archive = Path(archive)
    if not (archive / REPORT).is_file():
        raise ArchiveError(f"no archive at {archive} (no {REPORT})")
    day = pd.Timestamp(as_of or dt.datetime.now(dt.timezone.utc).date()).normalize()
    rows = []
    for table, years in retention_years(config).items():
        folder = archive / table
        for part in sorted(folder.glob(f"{PARTITION}*")) if folder.is_dir() else []:
            if part.name == EMPTY_PARTITION:
                continue
            month = pd.Period(part.name[len(PARTITION):], freq="M")
            due_since = (month + 1).start_time + pd.DateOffset(years=years)
            if day >= due_since:
                count = sum(pq.ParquetFile(f).metadata.num_rows for f in part.glob("*.parquet"))
                rows.append({"table": table, "month": str(month), "rows": count, "years": years,
                             "due_since": due_since.date().isoformat(), "path": str(part.relative_to(archive))})
    return pd.DataFrame(rows, columns=["table", "month", "rows", "years", "due_since", "path"])


def purge(archive: str | os.PathLike, as_of: str | dt.date | None = None, approve: str | None = None,
          config: str | os.PathLike | None = None, parameters: dict | None = None) -> pd.DataFrame:
    """List the months due for destruction; with ``approve``, destroy them.

    Every call appends an audit record to the access log: a listing (``approve`` not given)
    records what was due; a purge records what was removed, the row counts and the approval.

    Parameters
    ----------
    archive : path-like
        The archive folder.
    as_of : str or date, optional
        The day to judge on (default today).
    approve : str, optional
        Who approved the destruction, or the ticket that did (``"Li Wei / CHG-1042"``). Without
        it nothing is removed.
    config : path-like, optional
        The config folder or ``sources.yml`` holding ``retention:``.
    parameters : dict, optional
        The command line's parameters, for the audit record.

    Returns
    -------
    DataFrame
        The due months (see :func:`due_for_purge`), with ``removed`` True when they were destroyed.
    """
    from qa_helpers.data import storage

    if storage.is_remote(archive):
        raise ArchiveError(f"qakit purge works on a local archive folder; for {archive} ingest the exports "
                           "without the months due (or delete them and re-ingest)")
    archive = Path(archive)
    if GENERATION_NAME.match(archive.name):
        raise QAKitError(f"{archive} is one generation of an archive: purge the archive itself (its link)")
    if approve is not None and not str(approve).strip():
        raise QAKitError("--approve needs the name or ticket of whoever approved the destruction")
    due = due_for_purge(archive, as_of, config)
    params = parameters if parameters is not None else {"as_of": str(as_of) if as_of else None,
                                                         "approve": approve, "config": str(config) if config else None}
    summary = ", ".join(f"{r.table} {r.month} ({r.rows} rows)" for r in due.itertuples()) or "nothing due"
    if approve is None or due.empty:
        log_access(archive, "purge", params, "ok", f"listed: {summary}")
        return due.assign(removed=False)
    before = _archive_fingerprint(archive)
    remove_partitions(archive, due)
    log_access(archive, "purge", params, "ok", f"removed, approved by {approve}: {summary}; "
                                               f"archive fingerprint before: {before}")
    return due.assign(removed=True)


def remove_partitions(archive: Path, due: pd.DataFrame) -> None:
    """Destroy the month folders in ``due``: a new archive generation without them, switched in atomically.

    The new generation holds hard links to every file that stays (parquet files are never changed
    in place, so nothing is copied), the months in ``due`` left out, and a rewritten
    ``ingest_report.json``: each removed month under ``purged`` (table -> month -> rows), the file
    list and the fingerprint recomputed (from the recorded hashes of the files that stay, none
    re-read). It becomes the archive in the same atomic link switch an ingest uses, under the same
    lock, so a crash leaves the archive before or after the purge, never between; the old
    generation, and with it the purged files, is then deleted. A table left with no month keeps an
    empty partition, so loading it still returns its columns.
    """
    from qa_helpers.data import repeat_index
    from qa_helpers.data.archive import GENERATION_MARKER, archive_files, archive_path
    from qa_helpers.data.ingest import (_clean_debris, _new_generation, _remove_generation, _switch,
                                        file_hashes, fingerprint)
    from qa_helpers.locks import folder_lock

    with folder_lock(archive.parent / f".{archive.name}.lock", f"archive {archive}"):
        current = archive_path(archive)
        removed = {Path(row.path) for row in due.itertuples()}
        generation = _new_generation(archive)
        try:
            shutil.copytree(current, generation, copy_function=_link_or_copy, dirs_exist_ok=True,
                            ignore=lambda folder, names: [n for n in names if n == GENERATION_MARKER
                                                          or Path(folder, n).relative_to(current) in removed])
            report = json.loads((generation / REPORT).read_text(encoding="utf-8"))
            for row in due.itertuples():
                report.setdefault("purged", {}).setdefault(row.table, {})[row.month] = int(row.rows)
                if not any((generation / row.table).glob(f"{PARTITION}*")):
                    schema = next((current / row.path).glob("*.parquet"))
                    (generation / row.table / EMPTY_PARTITION).mkdir()
                    pq.write_table(pq.read_schema(schema).empty_table(),
                                   generation / row.table / EMPTY_PARTITION / "part-0.parquet")
            (generation / REPORT).unlink()  # a hard link to the old generation's report: never write through it
            if "tickets" in set(due["table"]) and "repeat_index" in report:  # it held the purged tickets' times
                shutil.rmtree(generation / repeat_index.INDEX, ignore_errors=True)
                repeat_index.build(generation)
            report["sha256"] = file_hashes(generation, previous=current, known=report.get("sha256"))
            if "repeat_index" in report:
                report["repeat_index"] = repeat_index.index_record(report["sha256"])
            report["fingerprint"] = fingerprint(generation, report["sha256"])
            report["files"] = archive_files(generation)
            (generation / REPORT).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
            _switch(archive, generation)
        except BaseException:
            _remove_generation(generation)
            raise
        _clean_debris(archive)


def _link_or_copy(source: str, target: str) -> None:
    """A hard link (parquet files are never changed in place), or a copy where the file system has none."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def parse_retention(value: Any, where: str) -> dict[str, int]:
    """Check the ``retention:`` section of ``sources.yml``: table (or ``default``) -> whole years >= 1."""
    from qa_helpers.data.schemas import ANALYSIS_TABLES

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: retention: expected a mapping of table name to years")
    out = {}
    for table, years in value.items():
        if table != "default" and table not in ANALYSIS_TABLES:
            raise ConfigError(f"{where}: retention.{table}: not a table with times; use one of "
                              f"{', '.join(ANALYSIS_TABLES)} or default")
        if isinstance(years, bool) or not isinstance(years, int) or years < 1:
            raise ConfigError(f"{where}: retention.{table}: {years!r} is not a whole number of years (1 or more)")
        out[str(table)] = years
    return out
