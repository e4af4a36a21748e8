"""Service levels by severity and customer type (seed 003), on calendar or working-time clocks.

Seed 003's service process sets time limits on complaints: a first response within 24 h, first
handling within 48 h, an intake confirmation within 2 working days, a resolution rate of 95 % or
more, and different rules for incident severity levels 1-4 and for customer types (VIP). The limits,
their clocks and targets are in ``standards.yml`` under ``service_levels``.

A limit is kept either in calendar hours (``unit: hours``) or in working time (``unit: working_hours``
or ``working_days``): working time counts only the working hours of working days of the configured
calendar (weekdays, public holidays from the ``holidays`` package including China's make-up working
days, explicit extra holidays and working days). The working-time duration is computed in DuckDB from
a day calendar (one row per day with the number of working days before it), so no row is looped over::

    working(t0, t1) = (workdays before day(t1) - workdays before day(t0)) x hours per day
                      - worked(t0) + worked(t1)

where ``worked(t)`` is the working time of ``t``'s own day up to ``t`` (0 on a day off).

Every figure is aggregated in DuckDB over the archive's rows; nothing loads a whole table into pandas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, time
from typing import Mapping

import duckdb
import numpy as np
import pandas as pd

from qa_helpers.data import archive as qa_archive
from qa_helpers.data.repeat_index import IndexRows
from qa_helpers.errors import ConfigError

SEVERITIES = (1, 2, 3, 4)
MEASURES = ("response", "confirmation", "first_handling")
# which end time each measure reads on a complaint (the start is always received_at)
MEASURE_END = {"response": "first_response_at", "confirmation": "first_response_at", "first_handling": "closed_at"}
UNITS = ("hours", "working_hours", "working_days")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

DEFAULT_CALENDAR = {"country": "CN", "working_hours": ["09:00", "18:00"],
                    "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "public_holidays": True,
                    "extra_holidays": [], "extra_working_days": []}


# ================================================================ configuration

@dataclass(frozen=True)
class Calendar:
    """Working hours, working weekdays and the days that differ from them."""

    start_s: int                   # seconds after midnight the working day starts
    end_s: int                     # and ends
    weekdays: frozenset[int]       # 0 = Monday
    country: str | None            # public holidays (and make-up working days) of this country
    extra_holidays: frozenset[date]
    extra_working_days: frozenset[date]

    @property
    def day_s(self) -> int:
        """Working seconds in one working day."""
        return self.end_s - self.start_s


def _clock(where: str, text) -> int:
    """Seconds after midnight of a time of day written ``HH:MM``.

    YAML 1.1 reads an unquoted ``17:30`` as the sexagesimal integer 1050 (17 x 60 + 30): an integer
    from 0 to 1439 is taken as those minutes after midnight (``08:30`` stays a string, leading zero).
    """
    if isinstance(text, int) and not isinstance(text, bool) and 0 <= text < 24 * 60:
        return text * 60
    if not isinstance(text, str) or not re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
        raise ConfigError(f"{where}: give a time of day as HH:MM in quotes, e.g. '17:30', got {text!r}")
    try:
        parsed = time.fromisoformat(text.strip().zfill(5))
    except ValueError:
        raise ConfigError(f"{where}: give a time of day as HH:MM in quotes, e.g. '17:30', got {text!r}") from None
    return parsed.hour * 3600 + parsed.minute * 60


def _mapping(where: str, value, example: str) -> Mapping:
    """``value`` when it is a mapping (``None`` counts as empty), else a ConfigError naming the key."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: give a mapping, e.g. {example}, got {value!r}")
    return value


def _days(where: str, values) -> frozenset[date]:
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"{where}: give a list of dates (YYYY-MM-DD), got {values!r}")
    out = set()
    for i, value in enumerate(values):
        try:
            out.add(pd.Timestamp(str(value)).date())
        except ValueError:
            raise ConfigError(f"{where}[{i}]: not a date (YYYY-MM-DD): {value!r}") from None
    return frozenset(out)


@lru_cache(maxsize=1)
def known_countries() -> frozenset[str]:
    """Country codes the ``holidays`` package knows (aliases included), from its registry.

    ``holidays.list_supported_countries()`` gives the same codes but imports every country's module
    to list their subdivisions (1.5-2 s), and every notebook checks its standards' calendar.
    """
    from holidays.registry import EntityLoader

    return frozenset(EntityLoader.get_country_codes(include_aliases=True))


def calendar(standards: Mapping | None = None, where: str = "standards.yml") -> Calendar:
    """The working calendar of ``service_levels.calendar`` (China's defaults where a key is absent).

    Parameters
    ----------
    standards : dict, optional
        The raw standards (``Standards.raw``).
    where : str
        How to name the file in an error.

    Returns
    -------
    Calendar

    Raises
    ------
    ConfigError
        Naming the key: a time that is not HH:MM, an end before the start, an unknown weekday, a date
        that is not a date, a country the ``holidays`` package does not know.
    """
    key = f"{where}: service_levels.calendar"
    block = _mapping(f"{where}: service_levels", (standards or {}).get("service_levels"), "{limits: ...}")
    spec = {**DEFAULT_CALENDAR, **_mapping(key, block.get("calendar"), "{working_hours: ['09:00', '18:00']}")}
    hours = spec["working_hours"]
    if not isinstance(hours, (list, tuple)) or len(hours) != 2:
        raise ConfigError(f"{key}.working_hours: give [start, end], e.g. ['09:00', '18:00'], got {hours!r}")
    start, end = _clock(f"{key}.working_hours", hours[0]), _clock(f"{key}.working_hours", hours[1])
    if end <= start:
        raise ConfigError(f"{key}.working_hours: the end {hours[1]} must come after the start {hours[0]}")
    unknown = [d for d in spec["weekdays"] or [] if d not in WEEKDAYS]
    if unknown or not spec["weekdays"]:
        raise ConfigError(f"{key}.weekdays: give days from {', '.join(WEEKDAYS)}, got {spec['weekdays']!r}")
    country = spec.get("country") if spec.get("public_holidays", True) else None
    if country is not None:
        if country not in known_countries():
            raise ConfigError(f"{key}.country: the holidays package does not know {country!r}")
    return Calendar(start, end, frozenset(WEEKDAYS.index(d) for d in spec["weekdays"]), country,
                    _days(f"{key}.extra_holidays", spec.get("extra_holidays") or []),
                    _days(f"{key}.extra_working_days", spec.get("extra_working_days") or []))


def calendar_days(cal: Calendar, first: date, last: date) -> pd.DataFrame:
    """One row per day from ``first`` to ``last``: whether it is a working day, and the working days before it.

    A weekday is a working day unless it is a public holiday (``holidays`` package) or an extra
    holiday; a weekend day is one if the country makes it up (调休: ``weekend_workdays``) or it is
    listed as an extra working day.

    Returns
    -------
    DataFrame
        ``day`` (date), ``working`` (bool), ``before`` (working days from ``first`` up to the day, the day
        excluded).
    """
    days = pd.date_range(first, last, freq="D")
    working = np.isin(days.day_of_week, sorted(cal.weekdays))
    if cal.country is not None:
        import holidays

        public = holidays.country_holidays(cal.country, years=range(first.year, last.year + 1))
        off = set(public)
        made_up = set(getattr(public, "weekend_workdays", set()))
        working &= ~np.isin(days.date, list(off))
        working |= np.isin(days.date, list(made_up))
    working &= ~np.isin(days.date, list(cal.extra_holidays))
    working |= np.isin(days.date, list(cal.extra_working_days))
    before = np.concatenate([[0], np.cumsum(working)[:-1]]).astype("int64")
    return pd.DataFrame({"day": days.date, "working": working, "before": before})


def _limit_hours(where: str, value, cal_day_h: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: must be a positive number, got {value!r}")
    return float(value) * (cal_day_h if unit == "working_days" else 1.0)


@dataclass(frozen=True)
class Limit:
    """One measure's limits: hours per severity (working hours when ``working``), per customer type, target."""

    measure: str
    unit: str
    value: dict[int, float]               # as written, per severity (hours or working days)
    hours: dict[int, float]               # in hours of its clock
    by_customer_type: dict[str, float]    # own limits of these customer types, hours of its clock
    customer_type_value: dict[str, float]  # the same, as written
    target: float
    source: str

    @property
    def working(self) -> bool:
        return self.unit != "hours"


def limits(standards: Mapping | None = None, where: str = "standards.yml") -> dict[str, Limit]:
    """The service-level limits of ``service_levels.limits``, checked.

    Returns
    -------
    dict of measure name to Limit
        ``response``, ``confirmation``, ``first_handling`` when configured.

    Raises
    ------
    ConfigError
        Naming the key: an unknown measure or unit, a limit that is not a positive number, a severity
        outside 1-4, a target outside (0, 1].
    """
    block = _mapping(f"{where}: service_levels", (standards or {}).get("service_levels"), "{limits: ...}")
    cal = calendar(standards, where)
    out = {}
    for name, spec in _mapping(f"{where}: service_levels.limits", block.get("limits"),
                               "{response: {limit: 24, unit: hours}}").items():
        key = f"{where}: service_levels.limits.{name}"
        if name not in MEASURES:
            raise ConfigError(f"{key}: unknown measure; measures are {', '.join(MEASURES)}")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{key}: give a mapping, e.g. {{limit: 24, unit: hours, target: 0.95}}, got {spec!r}")
        unit = spec.get("unit", "hours")
        if unit not in UNITS:
            raise ConfigError(f"{key}.unit: must be one of {', '.join(UNITS)}, got {unit!r}")
        raw = spec.get("limit")
        if isinstance(raw, dict):
            bad = [s for s in raw if s not in SEVERITIES]
            if bad or set(raw) != set(SEVERITIES):
                raise ConfigError(f"{key}.limit: give a limit for each severity 1-4, e.g. {{1: 2, 2: 4, 3: 24, 4: 24}}, "
                                  f"got {raw!r}")
            value = {int(s): raw[s] for s in SEVERITIES}
        else:
            value = dict.fromkeys(SEVERITIES, raw)
        hours = {s: _limit_hours(f"{key}.limit", v, cal.day_s / 3600, unit) for s, v in value.items()}
        written = {str(t): v for t, v in _mapping(f"{key}.by_customer_type", spec.get("by_customer_type"),
                                                  "{vip: 12}").items()}
        types = {t: _limit_hours(f"{key}.by_customer_type.{t}", v, cal.day_s / 3600, unit) for t, v in written.items()}
        target = spec.get("target", 0.95)
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
            raise ConfigError(f"{key}.target: a share in (0, 1], got {target!r}")
        out[name] = Limit(name, unit, value, hours, types, written, float(target), str(spec.get("source", "")))
    return out


def _rate_spec(standards: Mapping | None, name: str, where: str, days: bool = True) -> dict:
    key = f"{where}: service_levels.{name}"
    block = _mapping(f"{where}: service_levels", (standards or {}).get("service_levels"), "{limits: ...}")
    spec = _mapping(key, block.get(name), "{target: 0.95}")
    target = spec.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1):
        raise ConfigError(f"{key}.target: a share in (0, 1], got {target!r}")
    if days and "days" in spec and (isinstance(spec["days"], bool) or not isinstance(spec["days"], (int, float))
                                    or spec["days"] <= 0):
        raise ConfigError(f"{key}.days: a positive number of days, got {spec['days']!r}")
    return spec


def check(doc: Mapping, path) -> None:
    """Check the ``service_levels`` block of a standards document (:func:`validate_standards` calls it)."""
    if not doc.get("service_levels"):
        return
    if not isinstance(doc["service_levels"], dict):
        raise ConfigError(f"{path}: service_levels must be a mapping")
    limits(doc, str(path))
    least = doc["service_levels"].get("min_n", 5)
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        raise ConfigError(f"{path}: service_levels.min_n: a whole number of at least 1, got {least!r}")
    for name in ("resolution_rate", "repeat_complaint", "repeat_contact"):
        _rate_spec(doc, name, str(path))


# ================================================================ working time in DuckDB

def _register_calendar(con: duckdb.DuckDBPyConnection, cal: Calendar, first, last) -> None:
    first = (pd.Timestamp(first) if pd.notna(first) else pd.Timestamp("2000-01-01")).date()
    last = (pd.Timestamp(last) if pd.notna(last) else pd.Timestamp(first)).date()
    con.register("svc_calendar", calendar_days(cal, first, max(first, last)))


def _worked_sql(column: str, alias: str, cal: Calendar) -> str:
    """Working seconds of ``column``'s own day before it (0 on a day off)."""
    since_midnight = f"epoch({column} - date_trunc('day', {column}))"
    return (f"(CASE WHEN {alias}.working THEN least(greatest({since_midnight} - {cal.start_s}, 0), {cal.day_s}) "
            f"ELSE 0 END)")


def working_seconds_sql(start: str, end: str, cal: Calendar, start_alias: str = "c0", end_alias: str = "c1") -> str:
    """SQL for the working seconds between ``start`` and ``end`` (rows joined to ``svc_calendar`` twice)."""
    return (f"(({end_alias}.before - {start_alias}.before) * {cal.day_s} "
            f"- {_worked_sql(start, start_alias, cal)} + {_worked_sql(end, end_alias, cal)})")


def working_seconds(frame: pd.DataFrame, start: str, end: str, cal: Calendar,
                    connection: duckdb.DuckDBPyConnection | None = None) -> pd.Series:
    """Working seconds from ``start`` to ``end`` on each row of ``frame`` (NaN where ``end`` is missing).

    Parameters
    ----------
    frame : DataFrame
        With the two timestamp columns (local time).
    start, end : str
        Column names.
    cal : Calendar
        From :func:`calendar`.
    connection : DuckDB connection, optional

    Returns
    -------
    Series
        Seconds, in the frame's row order.

    Examples
    --------
    >>> cal = calendar({})   # 09:00-18:00, Monday to Friday, China's public holidays
    >>> f = pd.DataFrame({"a": pd.to_datetime(["2025-10-17 17:00", "2025-09-26 17:00"]),
    ...                   "b": pd.to_datetime(["2025-10-20 10:00", "2025-09-29 10:00"])})
    >>> (working_seconds(f, "a", "b", cal) / 3600).tolist()   # Friday 17:00 to Monday 10:00; Sunday 28 Sep worked
    [2.0, 11.0]
    """
    con = connection or duckdb.connect()
    con.register("svc_rows", frame[[start, end]].assign(__row=np.arange(len(frame))))
    first, last = con.execute(f"SELECT min(CAST({start} AS DATE)), max(CAST({end} AS DATE)) FROM svc_rows").fetchall()[0]
    _register_calendar(con, cal, first, last)
    sql = (f"SELECT r.__row, {working_seconds_sql('r.' + start, 'r.' + end, cal)} AS s FROM svc_rows r "
           f"LEFT JOIN svc_calendar c0 ON c0.day = CAST(r.{start} AS DATE) "
           f"LEFT JOIN svc_calendar c1 ON c1.day = CAST(r.{end} AS DATE) ORDER BY r.__row")
    return pd.Series(con.sql(sql).df()["s"].astype("float64").to_numpy(), index=frame.index, name="working_s")


# ================================================================ the complaints' clocks

def _source(con: duckdb.DuckDBPyConnection, name: str, table) -> str | None:
    if table is None:
        return None
    if isinstance(table, pd.DataFrame):
        con.register(f"svc_{name}", table)
        return f"svc_{name}"
    return str(table)


def _columns(con, source: str | None) -> set[str]:
    return set(qa_archive.source_columns(con, source)) if source else set()


def data_end(complaints, connection: duckdb.DuckDBPyConnection | None = None) -> pd.Timestamp | None:
    """The latest receipt, first response or closing time in ``complaints`` (a DataFrame or DuckDB source).

    What the data knows of ends there: a complaint still open at that time may yet be answered in time.
    """
    con = connection or duckdb.connect()
    source = _source(con, "end_complaints", complaints)
    if source is None:
        return None
    ends = [c for c in ("received_at", "first_response_at", "closed_at") if c in _columns(con, source)]
    if not ends:
        return None
    got = con.execute(f"SELECT max(greatest({', '.join(ends)})) FROM {source}").fetchall()[0][0]
    return None if got is None else pd.Timestamp(got)


def complaint_clocks(tables: Mapping[str, pd.DataFrame | str], standards: Mapping | None = None,
                     connection: duckdb.DuckDBPyConnection | None = None, as_of=None) -> str:
    """Make the DuckDB temporary table ``svc_clocks``: one row per complaint with its clocks; return its name.

    Columns: ``complaint_id, severity, customer_type, received_at, out_of_hours`` and, for
    each of ``response`` (to the first response) and ``handling`` (to closing), ``*_h`` (calendar hours) and
    ``*_wh`` (working hours), plus ``closed``, and ``elapsed_h`` / ``elapsed_wh``: the time from receipt to
    ``as_of``, the end of the data (default: :func:`data_end` of the complaints given). The customer type is
    the complaint's own (ingest copies the linked ticket's), else the linked ticket's; a complaint without
    one has none.

    Over archive scans (:func:`qa_helpers.data.archive.scan_sql`: files that never change) the table is
    made once per connection for the same sources, calendar and ``as_of``: the service-level, resolution
    and arrival tables of a notebook all read it, and each build reads the period's complaints and joins
    the calendar four times (issue 17). What it was made from is kept beside it in the connection
    (``svc_clocks_key``), so a new connection starts afresh; other sources rebuild it every time.
    """
    con = connection
    cal = calendar(standards)
    given = [tables.get("complaints"), tables.get("tickets")]
    complaints = _source(con, "complaints", tables.get("complaints"))
    tickets = _source(con, "tickets", tables.get("tickets"))
    as_of = data_end(complaints, con) if as_of is None else pd.Timestamp(as_of)
    as_of_sql = "CAST(NULL AS TIMESTAMP)" if as_of is None else f"TIMESTAMP '{as_of:%Y-%m-%d %H:%M:%S.%f}'"
    # only reads of archive files say what the table was made from: a registered DataFrame, or a table the
    # caller named, keeps its name whatever its rows (an absent table is the kit's empty one)
    from qa_helpers.data.archive import is_scan

    key = repr((complaints, tickets, cal, as_of_sql)) if all(t is None or is_scan(t) for t in given) else None
    if key is not None and _clocks_key(con) == key:
        return "svc_clocks"
    ccols = _columns(con, complaints)
    tcols = _columns(con, tickets)
    first, last = con.execute(f"SELECT min(CAST(received_at AS DATE)), "
                              f"max(CAST(greatest(received_at, first_response_at, closed_at, {as_of_sql}) AS DATE)) "
                              f"FROM {complaints}").fetchall()[0]
    _register_calendar(con, cal, first, last)
    # the archive copies the linked ticket's customer type onto the complaint; else look it up
    ctype, join = "NULL", ""
    if "customer_type" in ccols:
        ctype = "c.customer_type"
    elif tickets and {"ticket_id", "customer_type"} <= tcols:
        ctype, join = "t.customer_type", f"LEFT JOIN {tickets} t ON t.ticket_id = c.ticket_id"
    work = {name: working_seconds_sql("c.received_at", f"c.{column}", cal, "c0", alias)
            for name, column, alias in (("response", "first_response_at", "c1"), ("handling", "closed_at", "c2"))}
    elapsed = working_seconds_sql("c.received_at", as_of_sql, cal, "c0", "c3")
    # a table, not a view: the callers aggregate it three to nine times, and a view would read the complaints
    # and join the calendar four times on each (issue 17); one row per complaint is small beside the tickets
    con.sql(f"""
        CREATE OR REPLACE TEMP TABLE svc_clocks AS
        SELECT c.complaint_id, CAST(c.severity AS INTEGER) AS severity,
               CAST({ctype} AS VARCHAR) AS customer_type, c.received_at,
               NOT coalesce(c0.working AND epoch(c.received_at - date_trunc('day', c.received_at))
                            BETWEEN {cal.start_s} AND {cal.end_s - 1}, false) AS out_of_hours,
               epoch(c.first_response_at - c.received_at) / 3600 AS response_h,
               {work['response']} / 3600 AS response_wh,
               epoch(c.closed_at - c.received_at) / 3600 AS handling_h,
               {work['handling']} / 3600 AS handling_wh,
               c.closed_at IS NOT NULL AS closed,
               epoch({as_of_sql} - c.received_at) / 3600 AS elapsed_h,
               {elapsed} / 3600 AS elapsed_wh
        FROM {complaints} c {join}
        LEFT JOIN svc_calendar c0 ON c0.day = CAST(c.received_at AS DATE)
        LEFT JOIN svc_calendar c1 ON c1.day = CAST(c.first_response_at AS DATE)
        LEFT JOIN svc_calendar c2 ON c2.day = CAST(c.closed_at AS DATE)
        LEFT JOIN svc_calendar c3 ON c3.day = CAST({as_of_sql} AS DATE)""")
    con.execute("CREATE OR REPLACE TEMP TABLE svc_clocks_key AS SELECT CAST(? AS VARCHAR) AS made_from", [key])
    return "svc_clocks"


def _clocks_key(con: duckdb.DuckDBPyConnection) -> str | None:
    """What this connection's ``svc_clocks`` was made from (``None``: not made, or from DataFrames)."""
    try:
        got = con.execute("SELECT made_from FROM svc_clocks_key").fetchall()
    except duckdb.CatalogException:
        return None
    return got[0][0] if got else None


def _limit_case(limit: Limit, by_type: bool = False) -> str:
    """SQL: the complaint's limit in hours: its severity's; ``by_type``: its customer type's where one is set."""
    whens = " ".join(f"WHEN {s} THEN {h}" for s, h in limit.hours.items())
    by_severity = f"(CASE severity {whens} END)"
    if not by_type or not limit.by_customer_type:
        return by_severity
    types = " ".join(f"WHEN '{t.replace(chr(39), chr(39) * 2)}' THEN {h}" for t, h in limit.by_customer_type.items())
    return f"coalesce(CASE customer_type {types} END, {by_severity})"


def _clock_column(limit: Limit) -> str:
    return ("response" if MEASURE_END[limit.measure] == "first_response_at" else "handling") + (
        "_wh" if limit.working else "_h")


def _within_sql(limit: Limit, by_type: bool = False) -> str:
    # no response (or not closed) yet counts as not within, once the deadline has passed (see _pending_sql)
    return f"coalesce({_clock_column(limit)} <= {_limit_case(limit, by_type)}, false)"


def _pending_sql(limit: Limit | None, by_type: bool = False, clock: str | None = None) -> str:
    """SQL: the complaint is not yet due: no end time yet and its deadline falls after the data end.

    Such a complaint may still be answered (closed) in time, so it is left out of n rather than
    counted as a miss.
    """
    if limit is None:
        return "false"
    clock = clock or _clock_column(limit)
    elapsed = "elapsed_wh" if limit.working else "elapsed_h"
    return f"coalesce({clock} IS NULL AND {elapsed} < {_limit_case(limit, by_type)}, false)"


def min_n(standards: Mapping | None = None) -> int:
    """``service_levels.min_n`` (5): a group with fewer complaints is too few to judge."""
    return int(((standards or {}).get("service_levels") or {}).get("min_n", 5))


def verdict(share: float, target: float, n: int, least: int = 1) -> str:
    """``meets``, ``misses``, ``too_few`` (0 < n < ``least``) or ``no_data`` (n = 0): a share against its target."""
    if n == 0 or share != share:
        return "no_data"
    if n < least:
        return "too_few"
    return "meets" if share >= target - 1e-12 else "misses"


def service_level_table(tables: Mapping[str, pd.DataFrame | str], standards: Mapping | None = None,
                        connection: duckdb.DuckDBPyConnection | None = None,
                        measures: list[str] | tuple[str, ...] | None = None, as_of=None) -> pd.DataFrame:
    """Share of complaints within each service-level limit, per severity and per customer type.

    A complaint not answered (closed) yet whose deadline falls after the end of the data (``as_of``)
    is not yet due: it is left out of n and counted in ``not_yet_due``; once its deadline has passed
    without an answer it counts as a miss.

    Parameters
    ----------
    tables : mapping of table name to DataFrame or DuckDB source
        ``complaints`` (and ``tickets``, for the customer type) of the unit and period.
    standards : dict, optional
        The raw standards with ``service_levels.limits`` (and the calendar).
    connection : DuckDB connection, optional
    measures : list of str, optional
        Only these measures (default: every configured one); leave out those whose end time the
        archive lacks (``first_response_at`` for response and confirmation, ``closed_at`` for first
        handling), or every complaint would count as late.
    as_of : timestamp, optional
        The end of the data: the latest time the archive knows of (default: the latest receipt, first
        response or closing time among the complaints given, :func:`data_end`).

    Returns
    -------
    DataFrame
        One row per measure and group: ``measure, group_by`` (``severity``, ``customer_type`` or
        ``all``), ``group`` (1-4, a customer type, or ``all``), ``limit_value, unit`` (as configured:
        severity rows are judged against their severity's limit; customer-type rows against the type's
        own limit where one is set (``limit_value``), else each complaint's severity limit (NaN); the
        ``all`` row against the severity limits),
        ``within, n, share, target, gap_points`` (share − target, in percentage points),
        ``verdict`` (``meets`` / ``misses``; ``too_few`` under ``service_levels.min_n`` complaints, 5;
        ``no_data``), ``not_yet_due`` (open complaints left out of n). A group with no complaints has n = 0
        and NaN.

    Examples
    --------
    >>> c = pd.DataFrame({"complaint_id": ["a", "b"], "ticket_id": [None, None], "severity": [1, 1],
    ...     "received_at": pd.to_datetime(["2025-10-09 10:00", "2025-10-09 10:00"]),
    ...     "first_response_at": pd.to_datetime(["2025-10-09 11:00", "2025-10-09 15:00"]),
    ...     "closed_at": pd.to_datetime([None, None])})
    >>> std = {"service_levels": {"min_n": 1, "limits": {"response": {"limit": 2, "target": 0.95}}}}
    >>> r = service_level_table({"complaints": c}, std)
    >>> row = r.query("group_by == 'severity' and group == 1").iloc[0]
    >>> float(row["share"]), int(row["n"]), round(float(row["gap_points"]), 1), row["verdict"]
    (0.5, 2, -45.0, 'misses')
    """
    con = connection or duckdb.connect()
    lims = {name: limit for name, limit in limits(standards).items() if measures is None or name in measures}
    columns = ["measure", "group_by", "group", "limit_value", "unit", "within", "n", "share", "target",
               "gap_points", "verdict", "not_yet_due"]
    if tables.get("complaints") is None or not lims:
        return pd.DataFrame(columns=columns)
    view = complaint_clocks(tables, standards, con, as_of)
    frames = []
    for limit in lims.values():
        for group_by in ("severity", "customer_type", "all"):
            within = _within_sql(limit, by_type=group_by == "customer_type")
            pending = _pending_sql(limit, by_type=group_by == "customer_type")
            key = "'all'" if group_by == "all" else group_by
            where = "" if group_by == "all" else f"WHERE {group_by} IS NOT NULL"
            counts = con.execute(f"SELECT {key} AS grp, count(*) FILTER (WHERE {within}) AS within, "
                                 f"count(*) FILTER (WHERE NOT {pending}) AS n, count(*) FILTER (WHERE {pending}) AS due "
                                 f"FROM {view} {where} GROUP BY ALL").df()
            groups = (list(SEVERITIES) if group_by == "severity" else
                      sorted(set(counts["grp"]) | set(limit.by_customer_type)) if group_by == "customer_type" else ["all"])
            got = {g: (w, n, d) for g, w, n, d in zip(counts["grp"], counts["within"], counts["n"], counts["due"])}
            counts = pd.DataFrame({"within": [got.get(g, (0, 0, 0))[0] for g in groups],
                                   "n": [got.get(g, (0, 0, 0))[1] for g in groups],
                                   "due": [got.get(g, (0, 0, 0))[2] for g in groups]})
            value = ([limit.value[s] for s in groups] if group_by == "severity" else
                     [limit.customer_type_value.get(g, np.nan) for g in groups]
                     if group_by == "customer_type" else [np.nan])
            frames.append(pd.DataFrame({"measure": limit.measure, "group_by": group_by, "group": groups,
                                        "limit_value": value, "unit": limit.unit,
                                        "within": counts["within"].fillna(0).astype("int64"),
                                        "n": counts["n"].fillna(0).astype("int64"), "target": limit.target,
                                        "not_yet_due": counts["due"].fillna(0).astype("int64")}))
    out = pd.concat(frames, ignore_index=True)
    out["share"] = (out["within"] / out["n"].where(out["n"] > 0)).astype("float64")
    out["gap_points"] = (out["share"] - out["target"]) * 100
    out["verdict"] = [verdict(s, t, n, min_n(standards)) for s, t, n in zip(out["share"], out["target"], out["n"])]
    return out[columns]


def resolution_table(tables: Mapping[str, pd.DataFrame | str], standards: Mapping | None = None,
                     connection: duckdb.DuckDBPyConnection | None = None, as_of=None) -> pd.DataFrame:
    """Resolution rate and resolution time of complaints, per severity and overall.

    Resolution rate = complaints closed / complaints received (in the period given) and due; resolution
    time = the median time from receipt to closing over closed complaints, in calendar and in working
    hours. A complaint still open whose first-handling deadline (``service_levels.limits.first_handling``)
    falls after the end of the data (``as_of``, as in :func:`service_level_table`) is not yet due: left out
    of n and counted in ``not_yet_due`` (without a first-handling limit every complaint counts).

    Returns
    -------
    DataFrame
        ``group`` (1-4 or ``all``), ``n, closed, rate, target, gap_points, verdict, median_h,
        median_working_h`` (NaN without closed complaints), ``not_yet_due``.
    """
    con = connection or duckdb.connect()
    spec = _rate_spec(standards, "resolution_rate", "standards.yml", days=False)
    target = float(spec.get("target", 0.95))
    columns = ["group", "n", "closed", "rate", "target", "gap_points", "verdict", "median_h", "median_working_h",
               "not_yet_due"]
    if tables.get("complaints") is None:
        return pd.DataFrame(columns=columns)
    view = complaint_clocks(tables, standards, con, as_of)
    pending = _pending_sql(limits(standards).get("first_handling"), clock="handling_h")
    sql = (f"SELECT {{key}} AS grp, count(*) FILTER (WHERE NOT {pending}) AS n, "
           f"count(*) FILTER (WHERE {pending}) AS not_yet_due, count(*) FILTER (WHERE closed) AS closed, "
           f"median(handling_h) FILTER (WHERE closed) AS median_h, "
           f"median(handling_wh) FILTER (WHERE closed) AS median_working_h FROM {view} GROUP BY ALL")
    by = con.execute(sql.format(key="severity")).df()
    overall = con.execute(sql.format(key="'all'")).df()
    out = pd.DataFrame({"grp": [*SEVERITIES, "all"]}).merge(pd.concat([by, overall]), on="grp", how="left")
    out = out.rename(columns={"grp": "group"})
    out["n"] = out["n"].fillna(0).astype("int64")
    out["closed"] = out["closed"].fillna(0).astype("int64")
    out["not_yet_due"] = out["not_yet_due"].fillna(0).astype("int64")
    out["rate"] = (out["closed"] / out["n"].where(out["n"] > 0)).astype("float64")
    out["target"] = target
    out["gap_points"] = (out["rate"] - target) * 100
    out["verdict"] = [verdict(r, target, n, min_n(standards)) for r, n in zip(out["rate"], out["n"])]
    return out[columns]


def arrival_effect(tables: Mapping[str, pd.DataFrame | str], standards: Mapping | None = None,
                   connection: duckdb.DuckDBPyConnection | None = None, as_of=None) -> pd.DataFrame:
    """Response times of complaints received in working time against those received outside it.

    ``as_of`` (the end of the data, as for :func:`complaint_clocks`) does not change these figures; given the
    same as the other service tables', they share one :func:`complaint_clocks` table.

    Returns
    -------
    DataFrame
        ``arrival`` (``in_hours`` / ``out_of_hours``: a weekend, a holiday, or outside the working
        hours), ``n, median_response_h, median_response_working_h, within_24h`` (share answered within
        24 calendar hours; no answer counts as late).
    """
    con = connection or duckdb.connect()
    columns = ["arrival", "n", "median_response_h", "median_response_working_h", "within_24h"]
    if tables.get("complaints") is None:
        return pd.DataFrame(columns=columns)
    view = complaint_clocks(tables, standards, con, as_of)
    got = con.execute(f"SELECT CASE WHEN out_of_hours THEN 'out_of_hours' ELSE 'in_hours' END AS arrival, "
                      f"count(*) AS n, median(response_h) AS median_response_h, "
                      f"median(response_wh) AS median_response_working_h, "
                      f"avg(CAST(coalesce(response_h <= 24, false) AS DOUBLE)) AS within_24h "
                      f"FROM {view} GROUP BY ALL").df()
    out = pd.DataFrame({"arrival": ["in_hours", "out_of_hours"]}).merge(got, on="arrival", how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    return out[columns]


# ================================================================ repeats

def repeat_rates(tables: Mapping[str, pd.DataFrame | str], standards: Mapping | None = None,
                 connection: duckdb.DuckDBPyConnection | None = None,
                 history: Mapping[str, pd.DataFrame | str] | None = None,
                 contact_index: IndexRows | None = None) -> pd.DataFrame:
    """Repeat-complaint and repeat-contact rates (seed 000), by the pseudonymised customer id.

    - repeat complaint: a complaint whose customer (through its ticket) complained before, within
      ``service_levels.repeat_complaint.days`` (30) of the earlier complaint; rate = such complaints /
      complaints linked to a customer.
    - repeat contact: a ticket whose customer had a ticket resolved within the
      ``service_levels.repeat_contact.days`` (7) before it was created; rate = such tickets / tickets.

    Parameters
    ----------
    tables : mapping
        The period's ``complaints`` and ``tickets``.
    history : mapping, optional
        Earlier rows to look back into (e.g. the previous period's tables), so that the first days of
        the period are judged too; the rates count only the rows of ``tables``.
    contact_index : IndexRows, optional
        The period's rows of the archive's repeat-contact index
        (:func:`qa_helpers.data.repeat_index.index_source`) for the same tickets as ``tables``: when the
        window is within its horizon, the repeat contacts are counted from it instead of joined (its
        look-back is the archive's, not ``history``).

    Returns
    -------
    DataFrame
        ``measure`` (``repeat_complaint`` / ``repeat_contact``), ``days, repeats, n, rate, target,
        verdict`` (lower is better: ``meets`` when the rate is at or below the target).
    """
    con = connection or duckdb.connect()
    tickets = _source(con, "tickets", tables.get("tickets"))
    complaints = _source(con, "complaints", tables.get("complaints"))
    past_t = _source(con, "past_tickets", (history or {}).get("tickets"))
    past_c = _source(con, "past_complaints", (history or {}).get("complaints"))
    tcols = _columns(con, tickets)
    specs = {}
    for measure, default_days, default_target in (("repeat_complaint", 30, 0.05), ("repeat_contact", 7, 0.15)):
        spec = _rate_spec(standards, measure, "standards.yml")
        days = float(spec.get("days", default_days))
        specs[measure] = days, float(spec.get("target", default_target)), f"INTERVAL {int(days * 86400)} SECOND"
    linkable = bool(tickets) and {"customer_id", "ticket_id", "created_at"} <= tcols
    indexed = (contact_index is not None and linkable and "resolved_at" in tcols
               and specs["repeat_contact"][0] <= contact_index.horizon_days)
    keyed = linkable and _keyed_tickets(con, tickets, past_t, "resolved_at" in tcols,
                                        [c for c in (complaints, past_c) if c], specs["repeat_contact"][2],
                                        named_only=indexed)
    try:
        rows = [_indexed_contacts(con, days, target, contact_index.source, tickets)
                if measure == "repeat_contact" and indexed
                else _repeat_rate(con, measure, days, target, window, keyed, tcols, complaints, past_c)
                for measure, (days, target, window) in specs.items()]
    finally:
        if keyed == KEYED_TICKETS:  # 0.3 GB for a year of 10 M tickets: not kept past the rates, however they end
            con.sql(f"DROP TABLE IF EXISTS {keyed}")
    return pd.DataFrame(rows, columns=["measure", "days", "repeats", "n", "rate", "target", "verdict"])


def _repeat_rate(con: duckdb.DuckDBPyConnection, measure: str, days: float, target: float, window: str,
                 keyed: str | bool, tcols: set[str], complaints: str | None, past_c: str | None) -> dict:
    """One row of :func:`repeat_rates`."""
    repeats = n = 0
    if keyed and measure == "repeat_complaint" and complaints:
        all_complaints = f"(SELECT complaint_id, ticket_id, received_at FROM {complaints}" + (
            f" UNION ALL SELECT complaint_id, ticket_id, received_at FROM {past_c})" if past_c else ")")
        repeats, n = con.execute(f"""
            WITH linked AS (SELECT DISTINCT c.complaint_id, c.received_at, t.customer
                            FROM {all_complaints} c JOIN {keyed} t ON t.ticket = {_ID_KEY.format("c.ticket_id")}),
                 mine AS (SELECT l.* FROM linked l JOIN {complaints} p USING (complaint_id))
            SELECT count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM linked e WHERE e.customer = m.customer
                       AND e.complaint_id <> m.complaint_id
                       AND (e.received_at < m.received_at OR (e.received_at = m.received_at
                                                               AND e.complaint_id < m.complaint_id))
                       AND e.received_at >= m.received_at - {window})),
                   count(*)
            FROM mine m""").fetchall()[0]
    elif keyed and measure == "repeat_contact" and "resolved_at" in tcols:
        repeats, n = _repeat_contacts(con, keyed, window)
    return _rate_row(measure, days, target, repeats, n)


def _rate_row(measure: str, days: float, target: float, repeats: int, n: int) -> dict:
    rate = repeats / n if n else np.nan
    return {"measure": measure, "days": days, "repeats": int(repeats), "n": int(n), "rate": rate,
            "target": target, "verdict": "no_data" if not n else "meets" if rate <= target + 1e-12 else "misses"}


def _indexed_contacts(con: duckdb.DuckDBPyConnection, days: float, target: float, index: str,
                      tickets: str) -> dict:
    """The repeat-contact row of :func:`repeat_rates` counted from the archive's index: its tickets whose
    gap is within the window, among the period's tickets with a customer."""
    repeats = con.execute(f"SELECT count(*) FROM {index} WHERE gap_s <= {int(days * 86400)}").fetchall()[0][0]
    n = con.execute(f"SELECT count(*) FROM {tickets} WHERE customer_id IS NOT NULL").fetchall()[0][0]
    return _rate_row("repeat_contact", days, target, repeats, n)


def _keyed_tickets(con: duckdb.DuckDBPyConnection, tickets: str, past: str | None, resolved: bool,
                   complaints: list[str], contact_window: str, named_only: bool = False) -> str | bool:
    """The tickets both repeat rates read, customers and tickets keyed by :data:`_ID_KEY`: the period's
    tickets with a customer (``mine``) and the look-back's that either rate can reach (resolved within the
    contact window before the period's first ticket, or named by a complaint).

    Copied into the temporary table :data:`KEYED_TICKETS` when the period has at most ``REPEAT_COPY_ROWS``
    tickets, so that the ids are decoded and hashed once, not by each span and rate (issue 17: a year of
    10 M tickets is 0.3 GB of such rows, and both rates took 2.4 s from it against 3.6 s from the archive's
    files); otherwise a query over the sources, which :func:`_repeat_contacts` reads in spans.

    ``named_only``: only the tickets complaints name (the repeat contacts are counted from the archive's
    index), ``False`` when there are no complaints.
    """
    end = "resolved_at" if resolved else "CAST(NULL AS TIMESTAMP) AS resolved_at"
    keys = f"{_ID_KEY.format('customer_id')} AS customer, {_ID_KEY.format('ticket_id')} AS ticket, created_at"
    named = " UNION ALL ".join(f"SELECT CAST(ticket_id AS VARCHAR) FROM {c}" for c in complaints)
    if named_only and not named:
        return False
    only = f" AND CAST(ticket_id AS VARCHAR) IN ({named})" if named_only else ""
    rows = f"SELECT {keys}, {end}, true AS mine FROM {tickets} WHERE customer_id IS NOT NULL{only}"
    if past:
        reach = [f"resolved_at >= (SELECT min(created_at) FROM {tickets}) - {contact_window}"] * (not named_only) + (
            [f"CAST(ticket_id AS VARCHAR) IN ({named})"] if named else [])
        rows += (f" UNION ALL SELECT {keys}, resolved_at, false FROM {past} "
                 f"WHERE customer_id IS NOT NULL AND ({' OR '.join(reach)})")
    if con.execute(f"SELECT count(*) FROM {tickets}").fetchall()[0][0] > REPEAT_COPY_ROWS:
        return f"({rows})"
    con.sql(f"CREATE OR REPLACE TEMP TABLE {KEYED_TICKETS} AS {rows}")
    return KEYED_TICKETS


# an id as the 64-bit hash of its text (ids are text: a frame's categorical or numeric id hashes as the archive's
# would), a missing id staying missing (so that it equals nothing, as the id itself would)
_ID_KEY = "CASE WHEN {0} IS NOT NULL THEN hash(CAST({0} AS VARCHAR)) END"
KEYED_TICKETS = "svc_repeat_tickets"
REPEAT_COPY_ROWS = 12_000_000  # the most period tickets copied into memory for the repeat rates (0.4 GB at most)
# tickets per semi join: a year of 10 M tickets joins in two spans (a 0.85 GB peak alone); at 2 M (five spans)
# it took the same CPU but 2-3 s more wall, each span's join running on one core longer (issue 17)
REPEAT_SPAN_ROWS = 5_000_000


def _repeat_contacts(con: duckdb.DuckDBPyConnection, keyed: str, window: str,
                     chunk_rows: int | None = None) -> tuple[int, int]:
    """Repeat contacts among the ``mine`` rows of ``keyed`` (:func:`_keyed_tickets`, looking back into all
    its rows) and the tickets with a customer.

    A semi join on the customer checks the time window. Customers and tickets are compared by 64-bit
    hashes of their ids (:data:`_ID_KEY`), so that the join moves fixed-width integers instead of strings
    (issue 17: 3.2-3.8 s -> 2.6-2.8 s for a year of 10 M tickets read from the archive). Two different
    ids share a hash with a probability of about n²/2⁶⁵, 3 × 10⁻⁷ for 3 M customers, and a shared hash
    changes the count only when the two customers' tickets also fall within the window of each other.

    Over a year of 10 M tickets one hash table outgrows the connection's memory cap and spills to disk
    (issue 17), so the tickets are split into spans of creation time holding about ``chunk_rows``
    (default ``REPEAT_SPAN_ROWS``) each: a ticket of a span can only be a repeat of a resolution between
    the span's start less the window and its end, so each span joins only those. Tickets without a
    creation time match nothing in any span, as in one join.
    """
    n, first, last = con.execute(f"SELECT count(*), min(created_at), max(created_at) FROM {keyed} "
                                 f"WHERE mine").fetchall()[0]
    if not n or first is None:
        return 0, int(n)
    spans = max(1, min(-(-int(n) // (chunk_rows or REPEAT_SPAN_ROWS)), 366))
    step = (pd.Timestamp(last) - pd.Timestamp(first)) / spans
    edges = [f"TIMESTAMP '{pd.Timestamp(first) + step * i:%Y-%m-%d %H:%M:%S.%f}'" for i in range(1, spans)]
    repeats = 0
    for i in range(spans):
        start, end = (edges[i - 1] if i else None), (edges[i] if i < spans - 1 else None)
        mine = [f"m.created_at >= {start}"] * bool(start) + [f"m.created_at < {end}"] * bool(end)
        theirs = [f"resolved_at >= {start} - {window}"] * bool(start) + [f"resolved_at <= {end}"] * bool(end)
        repeats += con.execute(f"""
            SELECT count(*) FROM {keyed} m
            SEMI JOIN (SELECT customer, ticket, resolved_at FROM {keyed}
                       WHERE {' AND '.join(["resolved_at IS NOT NULL", *theirs])}) e
            ON e.customer = m.customer AND e.ticket <> m.ticket
               AND e.resolved_at <= m.created_at AND e.resolved_at >= m.created_at - {window}
            WHERE {' AND '.join(["m.mine", *mine])}""").fetchall()[0][0]
    return int(repeats), int(n)


# ================================================================ weekly (monitoring)

def weekly_service_levels(tables: Mapping[str, pd.DataFrame | str], standards: Mapping | None = None,
                          measure: str = "response",
                          connection: duckdb.DuckDBPyConnection | None = None, as_of=None) -> pd.DataFrame:
    """Share of complaints within ``measure``'s limit per week (of receipt) and severity.

    Complaints not yet due at the end of the data (``as_of``) are left out of n, as in
    :func:`service_level_table`.

    Returns
    -------
    DataFrame
        ``week`` (Monday, timestamp), ``severity, within, n, share, target, verdict, not_yet_due``.
    """
    con = connection or duckdb.connect()
    lims = limits(standards)
    columns = ["week", "severity", "within", "n", "share", "target", "verdict", "not_yet_due"]
    if tables.get("complaints") is None or measure not in lims:
        return pd.DataFrame(columns=columns)
    limit = lims[measure]
    view = complaint_clocks(tables, standards, con, as_of)
    pending = _pending_sql(limit)
    out = con.execute(f"SELECT CAST(date_trunc('week', received_at) AS TIMESTAMP) AS week, severity, "
                      f"count(*) FILTER (WHERE {_within_sql(limit)}) AS within, count(*) FILTER (WHERE NOT {pending}) AS n, "
                      f"count(*) FILTER (WHERE {pending}) AS not_yet_due "
                      f"FROM {view} GROUP BY ALL ORDER BY week, severity").df()
    out["within"] = out["within"].astype("int64")
    out["n"] = out["n"].astype("int64")
    out["not_yet_due"] = out["not_yet_due"].astype("int64")
    out["share"] = (out["within"] / out["n"].where(out["n"] > 0)).astype("float64")
    out["target"] = limit.target
    out["verdict"] = [verdict(s, limit.target, n, min_n(standards)) for s, n in zip(out["share"], out["n"])]
    return out[columns]
