"""Cleaning rules: each names the rows it rejects and why; ingest quarantines them.

A rule is a function ``rule(typed, live, ctx, **params) -> Series``. ``typed`` is the
source's parsed Arrow table, ``live`` a boolean mask of the rows no earlier step rejected;
the rule returns the reason for each live row it rejects, indexed by row position (an empty
Series rejects nothing). Each rejected row so carries exactly one rule. Rules work on whole
Arrow columns and look at single rows only for the few they reject, so they cost little
even on ten million rows.
Rules are switched on, ordered and parametrised per source in ``config/sources.yml``.

A rule may name a ``prepare`` step: the part of its work that does not depend on ``live``
(hashing a column to find repeats, matching ids against PII patterns). Ingest starts the prepare
steps of all rules while it validates (:func:`prepare_rules`), on the second core; the rule then
finds the result in its context (:meth:`RuleContext.once`) instead of computing it.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa_helpers.data.columns import DISTINCT_SAMPLE, as_array, decoded, per_value, sql, take_rows
from qa_helpers.errors import ConfigError


# ---- incremental ingest (issue 17, `qakit ingest --append`): what rules see of the archive
class ArchivedRows(Protocol):
    """The rows a source already has in the archive, for rules that look across batches
    (implemented in :mod:`qa_helpers.data.append`; absent in a full ingest)."""

    def known(self, column: str, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Whether each value of ``values`` is already archived in ``column``."""

    def between(self, columns: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Archived (and earlier quarantined, ``_archived`` False) rows whose time is in
        ``[start, end]``: ``columns``, ``_key`` (the row's id) and ``_archived``."""

    def withdraw(self, keys: list, rule: str, reason: str) -> None:
        """Move archived rows (by id) to the quarantine: a later batch showed them to be bad."""
# ---- end incremental ingest


@dataclass
class RuleContext:
    """What a rule may look at besides the typed rows."""

    raw: pa.Table                      # the same rows as raw text, raw headers, plus _file and _row
    tables: dict[str, pa.Table] = field(default_factory=dict)  # tables archived earlier in this run
    valid_time_range: tuple[str, str] = ("2000-01-01", "2100-01-01")
    pii_locales: tuple[str, ...] = ("cn", "intl")
    archived: ArchivedRows | None = None  # append: the source's rows already archived (None: full ingest)
    _results: dict[tuple, Future] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def once(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, run once per ``key`` in this context: by the first caller, whichever thread
        (a rule's prepare step or the rule itself); a later caller waits for that result."""
        with self._lock:
            future = self._results.get(key)
            first = future is None
            if first:
                future = self._results[key] = Future()
        if first:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def repeated(self, typed: pa.Table, column: str) -> np.ndarray:
        """Whether each row's value in ``typed[column]`` occurs in another row (any row, live or
        not; nulls count as one value). Rows equal in a column are among these, whatever else was
        rejected since, so rules that look for repeats share this one pass (DuckDB, every core)."""
        return self.once(("repeated", column), lambda: _repeated(typed[column]))


def _repeated(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    # A 64-bit hash per row (DuckDB, every core), sorted: a hash next to an equal one is
    # repeated, and only those few are looked up. A group-by over 10 M distinct ids cost
    # 2-3x more (a hash table of 10 M entries is memory-bound). Rows of two values that
    # share a hash are among these too; the rules compare the values themselves.
    hashes = sql("hash(x)", values)
    ordered = np.sort(hashes.to_numpy())
    twice = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    return pc.is_in(hashes, value_set=pa.array(twice)).to_numpy(zero_copy_only=False)


Rule = Callable[..., pd.Series]
Prepare = Callable[..., object]  # its result is looked up through RuleContext.once, not returned
RULES: dict[str, Rule] = {}
PREPARE: dict[str, Prepare] = {}


def rule(func: Rule | None = None, *, prepare: Prepare | None = None):
    """Register a cleaning rule under its function name, with its ``prepare`` step if it has one:
    ``prepare(typed, ctx, **params)`` computes, through :meth:`RuleContext.once`, what the rule will
    look up there."""
    def register(func: Rule) -> Rule:
        RULES[func.__name__] = func
        if prepare is not None:
            PREPARE[func.__name__] = prepare
        return func
    return register(func) if func is not None else register


def prepare_rules(rules: list[tuple[str, dict]], typed: pa.Table, ctx: RuleContext, executor: Executor) -> None:
    """Start the prepare step of each rule in ``rules`` (name, params) on ``executor``.

    Nothing waits for them here: a rule waits for its own when it runs, and an error in a prepare
    step is raised there, by the rule, as if the rule had computed it.
    """
    for name, params in rules:
        if name in PREPARE:
            executor.submit(PREPARE[name], typed, ctx, **params)


def _reasons(hit: pa.Array | pa.ChunkedArray | np.ndarray, live: np.ndarray, reason) -> pd.Series:
    """Reasons for the live rows where ``hit`` is true; ``reason`` is a text or a function of positions."""
    if not isinstance(hit, np.ndarray):
        hit = _true(hit)
    positions = np.flatnonzero(hit & live)
    values = reason(positions) if callable(reason) else [reason] * len(positions)
    return pd.Series(list(values), index=positions, dtype="str")


def _true(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def first_duplicates(table: pa.Table, candidates: np.ndarray) -> pd.DataFrame:
    """Among the ``candidates`` (a mask), rows whose values in every column of ``table`` equal
    an earlier candidate's.

    Each candidate row is written as one string, every value prefixed by its length (so no two
    different rows give the same string), and the strings are compared.

    Returns
    -------
    DataFrame
        ``position`` of each repeat and ``first``, the position of the row it repeats.
    """
    positions = np.flatnonzero(candidates)
    picked = take_rows(table, positions)
    fields = []
    for column in picked.columns:
        text = pc.fill_null(decoded(column).cast(pa.string()), "")
        length = pc.if_else(decoded(column).is_valid(), pc.cast(pc.utf8_length(text), pa.string()), "-")
        fields += [length, text]
    rows = pc.binary_join_element_wise(*fields, ":") if fields else pa.array([""] * len(positions))
    codes, _ = pd.factorize(pd.Series(rows.to_numpy(zero_copy_only=False)))
    first = pd.Series(positions).groupby(codes).transform("min").to_numpy()
    repeat = positions != first
    return pd.DataFrame({"position": positions[repeat], "first": first[repeat]})


def _most_distinct(typed: pa.Table) -> str:
    return max(typed.column_names,
               key=lambda c: pc.count_distinct(decoded(typed[c].slice(0, DISTINCT_SAMPLE))).as_py())


# PII typed into an id: an id that *is*, as a whole, a phone number or a resident ID number, or
# that holds an e-mail address. Unlike masking in free text (qa_helpers.data.privacy), a match
# here quarantines a row, so the forms are anchored to the whole value: a zero-padded ticket number
# must never pass for a landline. RE2 patterns, run by Arrow over whole columns (full-width digits
# are folded by NFKC first); the few matches are then checked in Python (check digit, E.164 length).
_ID_PII = [
    (None, "[EMAIL]", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    ("cn", "[PHONE]", r"^\s*(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}\s*$"),
    ("cn", "[PHONE]", r"^\s*(?:\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2})[- ]?[0-9]{3,4}[- ]?[0-9]{4}\s*$"),
    ("cn", "[ID_NUMBER]",
     r"^\s*[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]\s*$"),
    ("intl", "[PHONE]", r"^\s*(?:\+|00[ (-]?)[1-9][0-9 ().-]{6,22}[0-9]\s*$"),
    ("us", "[PHONE]", r"^\s*(?:1[-. ]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[-. ])[0-9]{3}[-. ][0-9]{4}\s*$"),
]
# Every form above starts with a digit, "+" or "(" (after spaces), or holds an "@": one cheap pass
# finds the ids worth the patterns (none, for ids such as TK0001234).
_ID_PII_CANDIDATE = r"^\s*[0-9+(]|@"
_LEADS = np.zeros(256, dtype=bool)  # the first bytes of a candidate
_LEADS[list(b"0123456789+(")] = True
_SPACES = np.zeros(256, dtype=bool)  # RE2's \s: a value starting with one is left to the pattern
_SPACES[list(b"\t\n\f\r ")] = True


def _id_pii_candidates(text: pa.Array) -> np.ndarray:
    """Positions of the ids that :data:`_ID_PII_CANDIDATE` matches, read from each value's first byte
    (the pattern itself took 0.6 s over 10 M ticket ids, this 0.05 s); only values that start with
    white space, and columns that hold an "@" anywhere, are searched."""
    text = as_array(text)
    large = pa.types.is_large_string(text.type)
    if not (large or pa.types.is_string(text.type)) or text.buffers()[2] is None:
        return np.flatnonzero(_true(pc.match_substring_regex(text, _ID_PII_CANDIDATE)))
    width = np.dtype(np.int64 if large else np.int32)
    offsets = np.frombuffer(text.buffers()[1], width, len(text) + 1, text.offset * width.itemsize)
    data = np.frombuffer(text.buffers()[2], np.uint8)
    present = (offsets[1:] > offsets[:-1]) & text.is_valid().to_numpy(zero_copy_only=False)
    first = np.zeros(len(text), dtype=np.uint8)
    first[present] = data[offsets[:-1][present]]
    candidate = present & _LEADS[first]
    spaced = np.flatnonzero(present & _SPACES[first])
    if len(spaced):
        candidate[spaced] = _true(pc.match_substring_regex(text.take(pa.array(spaced)), _ID_PII_CANDIDATE))
    if (data == ord("@")).any():
        candidate |= _true(pc.match_substring(text, "@"))
    return np.flatnonzero(candidate)


def _resident_id_checksum(number: str) -> bool:
    """The ISO 7064 MOD 11-2 check digit of an 18-character mainland resident ID number."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(number[:17], weights))
    return "10X98765432"[total % 11] == number[17].upper()


def _confirmed(token: str, value: str, locale: str | None) -> bool:
    """What a regular expression cannot say: an ID number's check digit, an E.164 number's length."""
    if token == "[ID_NUMBER]":
        return _resident_id_checksum(value)
    if locale == "intl":
        digits = sum(c.isdigit() for c in value) - (2 if value.startswith("00") else 0)
        return 8 <= digits <= 15
    return True


def pii_in_ids(values: pa.Array | pa.ChunkedArray, locales: tuple[str, ...]) -> pa.Array:
    """For each id, the kind of PII it holds (``[EMAIL]``, ``[PHONE]``, ``[ID_NUMBER]``) or null.

    Parameters
    ----------
    values : pyarrow.Array
        Ids as text.
    locales : tuple of str
        The ``pii_locales`` of ``sources.yml``: which phone and ID forms count (e-mails always).

    Returns
    -------
    pyarrow.Array
        Text, null where the id holds no PII.
    """
    active = [(locale, token, pattern) for locale, token, pattern in _ID_PII if locale is None or locale in locales]

    def kinds(text: pa.Array) -> pa.Array:
        if not pc.all(pc.string_is_ascii(pc.fill_null(text, ""))).as_py():
            text = pc.utf8_normalize(text, "NFKC")  # full-width digits and signs, as typed on Chinese keyboards
        found = pa.nulls(len(text), pa.string())
        todo = _id_pii_candidates(text)
        for locale, token, pattern in active:
            if not len(todo):
                break
            values = text.take(pa.array(todo, pa.int64()))
            hits = _true(pc.match_substring_regex(values, pattern))
            confirmed = [_confirmed(token, v.strip(), locale) for v in values.filter(pa.array(hits)).to_pylist()]
            hit = todo[hits][confirmed] if confirmed else todo[:0]
            mask = np.zeros(len(text), dtype=bool)
            mask[hit] = True
            found = pc.replace_with_mask(found, pa.array(mask), pa.array([token] * len(hit), pa.string()))
            todo = np.setdiff1d(todo, hit, assume_unique=True)
        return found

    return decoded(per_value(values, kinds))


def _pii_kinds(typed: pa.Table, ctx: RuleContext, column: str) -> pa.Array:
    return ctx.once(("pii_in_ids", column), lambda: pii_in_ids(typed[column], ctx.pii_locales))


@rule(prepare=lambda typed, ctx, columns=(): [_pii_kinds(typed, ctx, column) for column in columns])
def pii_in_id(typed: pa.Table, live: np.ndarray, ctx: RuleContext, columns: tuple[str, ...] = ()) -> pd.Series:
    """An id that is a phone number or a resident ID number, or holds an e-mail address (someone
    typed the customer's contact into the ticket number): the row is quarantined, so the PII is
    never archived; the reason names the kind, never the value."""
    found = pd.Series(dtype="str")
    still = live.copy()
    for column in columns:
        kinds = _pii_kinds(typed, ctx, column)
        reasons = _reasons(kinds.is_valid(), still, lambda rows, column=column, kinds=kinds: [
            f"{column} holds what looks like {k}: not archived; fix the id at the source (an id that is the "
            f"customer's number belongs under pseudonymise)"
            for k in kinds.take(pa.array(rows, pa.int64())).to_pylist()])
        found = pd.concat([found, reasons])
        still[reasons.index] = False
    return found.sort_index()


@rule
def test_ticket(typed: pa.Table, live: np.ndarray, ctx: RuleContext, id_column: str = "ticket_id",
                id_prefixes: tuple[str, ...] = ("TEST",), text_columns: tuple[str, ...] = (),
                markers: tuple[str, ...] = ()) -> pd.Series:
    """Test tickets: an id with a test prefix, or a marker such as 测试工单 in a text column."""
    hit = np.zeros(typed.num_rows, dtype=bool)
    for prefix in id_prefixes:
        hit |= _true(per_value(typed[id_column], lambda v: pc.starts_with(v, prefix, ignore_case=True)))
    for column in text_columns:
        for marker in markers:
            hit |= _true(per_value(typed[column], lambda v: pc.match_substring(v, marker)))
    return _reasons(hit, live, "test ticket (id prefix or test marker)")


def _repeated_rows(typed: pa.Table, ctx: RuleContext) -> np.ndarray:
    # equal raw rows have equal parsed values: only rows repeating the most distinct one are compared
    return ctx.once(("repeated rows",), lambda: ctx.repeated(typed, _most_distinct(typed)))


@rule(prepare=lambda typed, ctx: _repeated_rows(typed, ctx))
def duplicate_row(typed: pa.Table, live: np.ndarray, ctx: RuleContext) -> pd.Series:
    """Exact duplicates: every raw field equal to an earlier row's (the first is kept)."""
    candidates = live & _repeated_rows(typed, ctx)
    repeats = first_duplicates(ctx.raw.drop_columns(["_file", "_row"]), candidates)
    rows = ctx.raw["_row"].to_numpy()
    return pd.Series([f"exact copy of row {rows[f]}" for f in repeats["first"]],
                     index=repeats["position"].to_numpy(), dtype="str")


@rule(prepare=lambda typed, ctx, key: ctx.repeated(typed, key))
def duplicate_id(typed: pa.Table, live: np.ndarray, ctx: RuleContext, key: str) -> pd.Series:
    """A second row with an id already seen, but different content (the first is kept)."""
    present = live & decoded(typed[key]).is_valid().to_numpy(zero_copy_only=False)
    repeats = first_duplicates(typed.select([key]), present & ctx.repeated(typed, key))
    positions = repeats["position"].to_numpy()
    if ctx.archived is not None:  # append: an id an earlier batch archived is a repeat too
        positions = np.union1d(positions, np.flatnonzero(present & ctx.archived.known(key, typed[key])))
    return pd.Series(f"{key} already used by an earlier row", index=positions, dtype="str")


@rule
def out_of_range_time(typed: pa.Table, live: np.ndarray, ctx: RuleContext, columns: tuple[str, ...]) -> pd.Series:
    """Timestamps outside the plausible window of ``valid_time_range`` (e.g. 1970, 2099)."""
    low, high = (pa.scalar(pd.Timestamp(t).to_datetime64(), pa.timestamp("us")) for t in ctx.valid_time_range)
    found = pd.Series(dtype="str")
    still = live.copy()
    for column in columns:
        times = typed[column]
        outside = pc.or_(pc.less(times, low), pc.greater(times, high))
        reasons = _reasons(outside, still, lambda rows: [
            f"{column} outside {ctx.valid_time_range[0]}..{ctx.valid_time_range[1]}: {pd.Timestamp(t)}"
            for t in times.take(pa.array(rows)).to_pylist()])
        found = pd.concat([found, reasons])
        still[reasons.index] = False
    return found.sort_index()


@rule
def unknown_agent(typed: pa.Table, live: np.ndarray, ctx: RuleContext, column: str = "agent_id") -> pd.Series:
    """An agent id that is not on the roster (the agents table of this ingest)."""
    if "agents" not in ctx.tables:
        raise ConfigError("rule unknown_agent needs the agents source to be ingested first")
    agents = typed[column]
    roster = decoded(ctx.tables["agents"]["agent_id"])
    unknown = per_value(agents, lambda v: pc.and_(v.is_valid(), pc.invert(pc.is_in(v, value_set=roster))))
    return _reasons(unknown, live, lambda rows: [f"{column} not on the roster: {a}"
                                                 for a in agents.take(pa.array(rows)).to_pylist()])


@rule
def review_burst(typed: pa.Table, live: np.ndarray, ctx: RuleContext, score_column: str = "csat",
                 max_score: int = 1, source_column: str = "source", source_value: str = "review",
                 window: str = "60min", min_count: int = 5, time_column: str = "answered_at") -> pd.Series:
    """Malicious bursts: ``min_count`` or more lowest-score online reviews within ``window``."""
    # decoded: a dictionary column whose map made a blank cell null cannot become a pandas Categorical
    frame = pa.table({c: decoded(typed[c]) for c in (score_column, source_column, time_column)}).to_pandas()
    frame = frame[live]
    candidates = frame[(frame[source_column] == source_value) & (frame[score_column] <= max_score)
                       & frame[time_column].notna()].sort_values(time_column, kind="stable")
    hit = np.zeros(typed.num_rows, dtype=bool)
    earlier = None
    if ctx.archived is not None and len(candidates):  # append: a burst may straddle the batches
        span = pd.Timedelta(window)
        earlier = ctx.archived.between([score_column, source_column, time_column],
                                       candidates[time_column].min() - span, candidates[time_column].max() + span)
        earlier = earlier[(earlier[source_column] == source_value) & (earlier[score_column] <= max_score)]
        candidates = pd.concat([earlier.assign(_new=False), candidates.assign(_new=True)]) \
            .sort_values(time_column, kind="stable")
    if len(candidates) >= min_count:
        times = candidates[time_column].to_numpy()
        ends = np.searchsorted(times, times + pd.Timedelta(window).to_timedelta64(), side="left")
        counts = ends - np.arange(len(times))
        marks = np.zeros(len(times) + 1, dtype=int)
        for start in np.flatnonzero(counts >= min_count):
            marks[start] += 1
            marks[ends[start]] -= 1
        in_burst = np.cumsum(marks)[:-1] > 0
        if earlier is None:
            hit[candidates.index[in_burst]] = True
        else:
            new = candidates["_new"].to_numpy(dtype=bool)
            hit[candidates.index[in_burst & new].to_numpy(dtype=np.int64)] = True
            old = candidates[in_burst & ~new & candidates["_archived"].fillna(False).to_numpy(dtype=bool)]
            if len(old) and hit.any():  # archived rows in a burst this batch completes leave the archive
                ctx.archived.withdraw(old["_key"].tolist(), "review_burst",
                                      f"{min_count}+ reviews scoring <= {max_score} within {window}")
    return _reasons(hit, live, f"{min_count}+ reviews scoring <= {max_score} within {window}")


@rule
def time_order(typed: pa.Table, live: np.ndarray, ctx: RuleContext, earlier: str,
               later: list[str] | str, tolerance: str = "0s") -> pd.Series:
    """A time that cannot come before another of the same row: resolved, closed or answered before
    the ticket or complaint was created or received (by more than ``tolerance``)."""
    slack = pa.scalar(pd.Timedelta(tolerance).to_pytimedelta(), pa.duration("us"))
    start = typed[earlier]
    found = pd.Series(dtype="str")
    still = live.copy()
    for column in [later] if isinstance(later, str) else later:
        before = pc.less(pc.add(typed[column], slack), start)
        reasons = _reasons(before, still, lambda rows, column=column: [
            f"{column} {pd.Timestamp(b)} is before {earlier} {pd.Timestamp(a)}"
            for a, b in zip(start.take(pa.array(rows)).to_pylist(), typed[column].take(pa.array(rows)).to_pylist())])
        found = pd.concat([found, reasons])
        still[reasons.index] = False
    return found.sort_index()


def _resolved_early(typed: pa.Table, ctx: RuleContext, tolerance: str) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Rows resolved before their first response; seconds from creation to resolution; first response (s)."""
    def compute() -> tuple[np.ndarray, pa.Array, pa.Array]:
        created = pc.cast(typed["created_at"], pa.int64())  # microseconds
        resolved = pc.cast(typed["resolved_at"], pa.int64())
        response = pc.cast(typed["first_response_s"], pa.float64())
        response_us = pc.cast(pc.round(pc.multiply(response, 1e6)), pa.int64())
        slack = int(pd.Timedelta(tolerance).total_seconds() * 1e6)
        early = _true(pc.less(pc.add(resolved, slack), pc.add(created, response_us)))
        return early, pc.divide(pc.cast(pc.subtract(resolved, created), pa.float64()), 1e6), response
    return ctx.once(("resolved_before_response", tolerance), compute)


@rule(prepare=lambda typed, ctx, tolerance="0s": _resolved_early(typed, ctx, tolerance))
def resolved_before_response(typed: pa.Table, live: np.ndarray, ctx: RuleContext, tolerance: str = "0s") -> pd.Series:
    """A ticket resolved before its first response (created_at + first_response_s after resolved_at)."""
    early, to_resolve, response = _resolved_early(typed, ctx, tolerance)
    return _reasons(early, live, lambda rows: [
        f"resolved {a:,.0f} s after creation, before the first response at {b:,.0f} s"
        for a, b in zip(to_resolve.take(pa.array(rows)).to_pylist(), response.take(pa.array(rows)).to_pylist())])


@rule
def unknown_link(typed: pa.Table, live: np.ndarray, ctx: RuleContext, table: str = "tickets",
                 key: str = "ticket_id") -> pd.Series:
    """A row that names a ticket (or other row) the archive does not hold, e.g. a survey whose ticket
    was quarantined: kept apart so that ticket KPIs and survey KPIs cover the same tickets. A row
    with no key at all (an online review) passes."""
    if table not in ctx.tables:
        raise ConfigError(f"rule unknown_link needs the {table} source to be ingested first")
    values = typed[key]
    known = decoded(ctx.tables[table][key])
    missing = per_value(values, lambda v: pc.and_(v.is_valid(), pc.invert(pc.is_in(v, value_set=known))))
    return _reasons(missing, live, lambda rows: [f"{key} {k} is not an archived {table[:-1]}"
                                                 for k in values.take(pa.array(rows)).to_pylist()])


@rule
def before_linked(typed: pa.Table, live: np.ndarray, ctx: RuleContext, column: str, table: str = "tickets",
                  key: str = "ticket_id", linked_column: str = "created_at", tolerance: str = "0s") -> pd.Series:
    """A row dated before the row it refers to: a survey answered, or a complaint received,
    before its ticket was created."""
    if table not in ctx.tables:
        raise ConfigError(f"rule before_linked needs the {table} source to be ingested first")
    other = ctx.tables[table]
    found = pc.index_in(decoded(typed[key]), value_set=decoded(other[key]))
    reference = other[linked_column].take(found)
    slack = pa.scalar(pd.Timedelta(tolerance).to_pytimedelta(), pa.duration("us"))
    before = pc.less(pc.add(typed[column], slack), reference)
    return _reasons(before, live, lambda rows: [
        f"{column} {pd.Timestamp(a)} is before its {table[:-1]}'s {linked_column} {pd.Timestamp(b)}"
        for a, b in zip(typed[column].take(pa.array(rows)).to_pylist(), reference.take(pa.array(rows)).to_pylist())])
