"""Named exceptions: every error the kit raises on purpose is one of these."""

from __future__ import annotations


class QAKitError(Exception):
    """Base class for errors the kit reports to the user."""


class ConfigError(QAKitError):
    """A configuration file (sources, standards, actions) is malformed."""


class PeriodError(QAKitError, ValueError):
    """A period string such as ``2025-Q1`` cannot be understood."""


class UnitError(QAKitError, ValueError):
    """A team / department / ``ALL`` name is unknown or unsafe."""


class OutputError(QAKitError):
    """A folder or file the kit must write (``--out``, the archive, the key file) cannot be written."""


class ArchiveError(QAKitError):
    """The validated archive is missing or incomplete."""


class SourceError(QAKitError):
    """A raw export cannot be read at all.

    Row-level problems never raise: those rows go to quarantine. This error is for
    problems that make the whole file unusable, and it always names the file and,
    where they are known, the row (1-based line in the file) and the column.
    """

    def __init__(self, message: str, *, file: str, row: int | None = None,
                 column: str | None = None) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = [f"file {file}"]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


# issue 14 (coaching and training registers) ------------------------------------------------
class RegisterError(ConfigError):
    """A register the QA team keeps (``config/coaching.csv``, ``config/training.csv``,
    ``config/mystery_shopping.csv``) has a bad row.

    The message names the file, the row (its line in the file, the header being line 1) and the column.
    """

    def __init__(self, message: str, *, file: str, row: int | None = None, column: str | None = None) -> None:
        self.file, self.row, self.column = file, row, column
        where = [f"file {file}"] + ([f"row {row}"] if row is not None else []) + \
                ([f"column {column!r}"] if column is not None else [])
        super().__init__(f"{', '.join(where)}: {message}")


class LockedError(QAKitError):
    """Another process (a batch run, an ingest) is working on the same folder right now."""
