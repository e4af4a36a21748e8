"""Reporting periods written as ``2025``, ``2025-Q1``, ``2025-03`` or ``2025-W10``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from qa_helpers.errors import PeriodError

# [0-9], not \d: \d also matches full-width and Arabic-Indic digits, which would become folder names
_FORMS = {
    "year": re.compile(r"^([0-9]{4})$"),
    "quarter": re.compile(r"^([0-9]{4})-Q([1-4])$"),
    "month": re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$"),
    "week": re.compile(r"^([0-9]{4})-W(0[1-9]|[1-4][0-9]|5[0-3])$"),
}
# pandas timestamps end in 2262; the previous and next periods must fit too
FIRST_YEAR, LAST_YEAR = 1900, 2199
PERIOD_HELP = "a period is written 2025, 2025-Q1, 2025-03 or 2025-W10 (ISO week), in ASCII digits"


@dataclass(frozen=True)
class Period:
    """A half-open time window ``[start, end)`` with the label it was parsed from.

    Examples
    --------
    >>> p = parse_period("2025-Q1")
    >>> p.start, p.end
    (Timestamp('2025-01-01 00:00:00'), Timestamp('2025-04-01 00:00:00'))
    """

    label: str
    kind: str
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def months(self) -> list[str]:
        """Calendar months (``YYYY-MM``) the period touches: the archive's partitions."""
        last = self.end - pd.Timedelta(microseconds=1)
        return [str(p) for p in pd.period_range(self.start, last, freq="M")]

    def previous(self) -> "Period":
        """The period of the same kind just before this one."""
        if self.kind == "year":
            return parse_period(str(self.start.year - 1))
        if self.kind == "quarter":
            q = pd.Period(self.start, freq="Q") - 1
            return parse_period(f"{q.year}-Q{q.quarter}")
        if self.kind == "month":
            m = pd.Period(self.start, freq="M") - 1
            return parse_period(str(m))
        prev = self.start - pd.Timedelta(days=7)
        iso = prev.isocalendar()
        return parse_period(f"{iso.year}-W{iso.week:02d}")

    def next(self) -> "Period":
        """The period of the same kind just after this one."""
        if self.kind == "year":
            return parse_period(str(self.start.year + 1))
        if self.kind == "quarter":
            q = pd.Period(self.start, freq="Q") + 1
            return parse_period(f"{q.year}-Q{q.quarter}")
        if self.kind == "month":
            return parse_period(str(pd.Period(self.start, freq="M") + 1))
        iso = self.end.isocalendar()
        return parse_period(f"{iso.year}-W{iso.week:02d}")

    def contains(self, times: pd.Series) -> pd.Series:
        """Boolean mask of the timestamps that fall inside the period."""
        return (times >= self.start) & (times < self.end)

    def __str__(self) -> str:
        return self.label


def parse_period(text: str) -> Period:
    """Parse a period label.

    Parameters
    ----------
    text : str
        ``2025`` (year), ``2025-Q1`` (quarter), ``2025-03`` (month) or ``2025-W10`` (ISO week).

    Returns
    -------
    Period

    Raises
    ------
    PeriodError
        When the text is none of those forms (digits must be ASCII), with the accepted forms in the
        message, or its year is outside 1900-2199.
    """
    if not isinstance(text, str):
        raise PeriodError(f"period must be text, got {type(text).__name__}; {PERIOD_HELP}")
    label = text.strip()
    for kind, pattern in _FORMS.items():
        match = pattern.match(label)
        if not match:
            continue
        year = int(match.group(1))
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise PeriodError(f"{label!r}: the year must be between {FIRST_YEAR} and {LAST_YEAR}")
        if kind == "year":
            start = pd.Timestamp(year=year, month=1, day=1)
            end = pd.Timestamp(year=year + 1, month=1, day=1)
        elif kind == "quarter":
            q = int(match.group(2))
            start = pd.Timestamp(year=year, month=3 * q - 2, day=1)
            end = start + pd.DateOffset(months=3)
        elif kind == "month":
            start = pd.Timestamp(year=year, month=int(match.group(2)), day=1)
            end = start + pd.DateOffset(months=1)
        else:
            week = int(match.group(2))
            try:
                start = pd.Timestamp.fromisocalendar(year, week, 1)
            except ValueError:
                raise PeriodError(f"{label!r}: {year} has no ISO week {week}") from None
            end = start + pd.Timedelta(days=7)
        return Period(label=label, kind=kind, start=pd.Timestamp(start), end=pd.Timestamp(end))
    raise PeriodError(f"{text!r} is not a period: {PERIOD_HELP}")
