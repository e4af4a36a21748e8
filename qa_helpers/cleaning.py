"""Cleaning rules: each names the rows it rejects and why; ingest quarantines them.

A rule is a function ``rule(typed, rows, ctx, **params) -> Series`` returning, for each of
the ``rows`` (index labels of ``typed`` no earlier step rejected), a short reason (the row is
rejected) or ``<NA>`` (the row is kept); each rejected row so carries exactly one rule. A rule
reads only the columns it needs (``typed.loc[rows, [...]]``): copying every column of ten
million rows once per rule would cost more than the rules themselves.
Rules are switched on, ordered and parametrised per source in ``config/sources.yml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ConfigError


@dataclass
class RuleContext:
    """What a rule may look at besides the typed rows."""

    raw: pd.DataFrame                      # the same rows as raw text, raw headers
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # tables archived earlier in this run
    valid_time_range: tuple[str, str] = ("2000-01-01", "2100-01-01")


Rule = Callable[..., pd.Series]
RULES: dict[str, Rule] = {}


def rule(func: Rule) -> Rule:
    """Register a cleaning rule under its function name."""
    RULES[func.__name__] = func
    return func


def _reasons(mask: pd.Series | np.ndarray, index: pd.Index, reason: str | pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=index, dtype="string")
    mask = np.asarray(mask, dtype=bool)
    if isinstance(reason, pd.Series):
        out[mask] = reason[mask].astype("string")
    else:
        out[mask] = reason
    return out


@rule
def test_ticket(typed: pd.DataFrame, rows: pd.Index, ctx: RuleContext, id_column: str = "ticket_id",
                id_prefixes: tuple[str, ...] = ("TEST",), text_columns: tuple[str, ...] = (),
                markers: tuple[str, ...] = ()) -> pd.Series:
    """Test tickets: an id with a test prefix, or a marker such as 测试工单 in a text column."""
    typed = typed.loc[rows, [id_column, *text_columns]]
    ids = typed[id_column].astype("string").fillna("")
    hit = ids.str.upper().str.startswith(tuple(p.upper() for p in id_prefixes))
    for column in text_columns:
        text = typed[column].astype("string").fillna("")
        for marker in markers:
            hit |= text.str.contains(marker, regex=False)
    return _reasons(hit, typed.index, "test ticket (id prefix or test marker)")


@rule
def duplicate_row(typed: pd.DataFrame, rows: pd.Index, ctx: RuleContext) -> pd.Series:
    """Exact duplicates: every raw field equal to an earlier row's (the first is kept)."""
    if len(rows) == 0:
        return _reasons(np.zeros(0, dtype=bool), rows, "")
    columns = [c for c in ctx.raw.columns if c not in ("_file", "_row")]
    # One string per row, fields joined by a control character that exports do not contain;
    # pyarrow factorizes that in one pass, then flagged rows are compared field by field.
    fields = [pa.array(ctx.raw[c].astype(str)).cast(pa.large_string()) for c in columns]
    joined = pc.binary_join_element_wise(*fields, pa.scalar("\x1f", pa.large_string()))
    live = ctx.raw.index.get_indexer(rows)
    codes, _ = pd.factorize(pd.Series(joined.take(pa.array(live))))
    positions = np.arange(len(codes))
    first = np.full(codes.max() + 1, len(codes))
    np.minimum.at(first, codes, positions)
    dup = first[codes] != positions
    if dup.any():
        flagged, originals = positions[dup], first[codes[dup]]
        copies = ctx.raw.loc[rows[flagged], columns].to_numpy()
        same = (copies == ctx.raw.loc[rows[originals], columns].to_numpy()).all(axis=1)
        dup[flagged[~same]] = False
        originals = originals[same]
    detail = pd.Series("", index=rows)
    if dup.any():
        detail[dup] = "exact copy of row " + ctx.raw.loc[rows[originals], "_row"].astype(str).to_numpy()
    return _reasons(dup, rows, detail)


@rule
def duplicate_id(typed: pd.DataFrame, rows: pd.Index, ctx: RuleContext, key: str) -> pd.Series:
    """A second row with an id already seen, but different content (the first is kept)."""
    ids = typed.loc[rows, key]
    dup = ids.notna() & ids.duplicated(keep="first")
    return _reasons(dup, rows, f"{key} already used by an earlier row")


@rule
def out_of_range_time(typed: pd.DataFrame, rows: pd.Index, ctx: RuleContext, columns: tuple[str, ...]) -> pd.Series:
    """Timestamps outside the plausible window of ``valid_time_range`` (e.g. 1970, 2099)."""
    low, high = (pd.Timestamp(t) for t in ctx.valid_time_range)
    typed = typed.loc[rows, list(columns)]
    out = pd.Series(pd.NA, index=rows, dtype="string")
    for column in columns:
        times = typed[column]
        bad = times.notna() & ((times < low) | (times > high)) & out.isna()
        out[bad] = f"{column} outside {ctx.valid_time_range[0]}..{ctx.valid_time_range[1]}: " + \
            times[bad].astype(str)
    return out


@rule
def unknown_agent(typed: pd.DataFrame, rows: pd.Index, ctx: RuleContext, column: str = "agent_id") -> pd.Series:
    """An agent id that is not on the roster (the agents table of this ingest)."""
    if "agents" not in ctx.tables:
        raise ConfigError("rule unknown_agent needs the agents source to be ingested first")
    known = set(ctx.tables["agents"]["agent_id"])
    agents = typed.loc[rows, column]
    bad = agents.notna() & ~agents.isin(known)
    return _reasons(bad, rows, f"{column} not on the roster: " + agents.astype(str))


@rule
def review_burst(typed: pd.DataFrame, rows: pd.Index, ctx: RuleContext, score_column: str = "csat",
                 max_score: int = 1, source_column: str = "source", source_value: str = "review",
                 window: str = "60min", min_count: int = 5, time_column: str = "answered_at") -> pd.Series:
    """Malicious bursts: ``min_count`` or more lowest-score online reviews within ``window``."""
    typed = typed.loc[rows, [score_column, source_column, time_column]]
    candidates = typed[(typed[source_column] == source_value) & (typed[score_column] <= max_score)
                       & typed[time_column].notna()].sort_values(time_column, kind="stable")
    hit = pd.Series(False, index=typed.index)
    if len(candidates) >= min_count:
        times = candidates[time_column].to_numpy()
        ends = np.searchsorted(times, times + pd.Timedelta(window).to_timedelta64(), side="left")
        counts = ends - np.arange(len(times))
        marks = np.zeros(len(times) + 1, dtype=int)
        for start in np.flatnonzero(counts >= min_count):
            marks[start] += 1
            marks[ends[start]] -= 1
        in_burst = np.cumsum(marks)[:-1] > 0
        hit[candidates.index[in_burst]] = True
    return _reasons(hit, typed.index, f"{min_count}+ reviews scoring <= {max_score} within {window}")
