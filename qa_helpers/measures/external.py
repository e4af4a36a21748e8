"""Third-party sources (issue 15, part 5): competitor / industry benchmarks and mystery shopping.

Both are optional files in the config folder:

``benchmarks.yml``
    ``benchmarks:`` a list of ``{kpi, value, kind: competitor|industry, year, source}`` (seed 002:
    competitor CSAT 88.2, handling within 1.2 minutes), shown beside the unit's own KPI
    (:func:`benchmark_table`); and ``mystery_shopping: {target, source}``, the share of rubric
    items a mystery-shopper visit must meet.
``mystery_shopping.csv``
    One row per visit: ``visit_id, date, team, channel, shopper``, one column per rubric item of
    :data:`RUBRIC` (1 met, 0 not met, empty: not applicable) and ``comment``. Seed 000 step 2
    names mystery shoppers as a third-party check; its step-1 standards are the rubric.

A malformed entry stops with one line naming the file, the row (the line in the file, or the
entry's position in the list) and the column (:class:`~qa_helpers.errors.ConfigError` /
:class:`~qa_helpers.errors.RegisterError`, exit status 2 on the command line).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from qa_helpers.config import read_yaml
from qa_helpers.data.schemas import DEFAULT_VALUE_SETS, SAFE_NAME
from qa_helpers.errors import ConfigError, RegisterError
from qa_helpers.measures.intervals import wilson_interval
from qa_helpers.measures.kpis import KPIS

KINDS = ("competitor", "industry")
# Seed 000 step 1's service standards, as a mystery shopper checks them on one visit.
RUBRIC = {
    "ms_answered_in_time": "seed 000: phone answered within three rings, online first reply within 10 s",
    "ms_standard_greeting": "seed 000: the standard greeting is used",
    "ms_plain_language": "seed 000: no jargon, the customer understands",
    "ms_problem_resolved": "seed 000: the problem is resolved",
    "ms_follow_up": "seed 000: a follow-up confirms the resolution",
}
VISIT_COLUMNS = ["visit_id", "date", "team", "channel", "shopper", *RUBRIC, "comment"]
DEFAULT_TARGET = 0.90
BENCHMARK_COLUMNS = ["kpi", "value", "kind", "year", "source"]
MIN_BENCHMARK_N = 30  # a KPI that is not a share is compared with its benchmark only on this many observations


# ---------------------------------------------------------------- benchmarks

def _benchmarks_doc(path: str | os.PathLike | None) -> dict:
    if not path or not Path(path).is_file():
        return {}
    doc = read_yaml(Path(path)) or {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected keys 'benchmarks' and 'mystery_shopping', got a {type(doc).__name__}")
    unknown = [k for k in doc if k not in ("benchmarks", "mystery_shopping")]
    if unknown:
        raise ConfigError(f"{path}: {unknown[0]}: unknown key; keys are benchmarks, mystery_shopping")
    return doc


def load_benchmarks(path: str | os.PathLike | None) -> pd.DataFrame:
    """Benchmarks from ``benchmarks.yml`` (none when the file does not exist).

    Parameters
    ----------
    path : path-like or None
        The file.

    Returns
    -------
    DataFrame
        ``kpi, value, kind, year, source``, one row per entry.

    Raises
    ------
    ConfigError
        Naming the file, the entry and the key: an unknown KPI, a value that is not a number, a kind
        other than competitor / industry, a year that is not a whole number, a missing source.
    """
    doc = _benchmarks_doc(path)
    entries = doc.get("benchmarks") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: benchmarks: expected a list of entries")
    rows = []
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: benchmarks entry {i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected {{kpi, value, kind, year, source}}, got {entry!r}")
        missing = [k for k in BENCHMARK_COLUMNS if entry.get(k) in (None, "")]
        if missing:
            raise ConfigError(f"{where}: '{missing[0]}' is missing")
        extra = [k for k in entry if k not in BENCHMARK_COLUMNS]
        if extra:
            raise ConfigError(f"{where}: '{extra[0]}': unknown key; keys are {', '.join(BENCHMARK_COLUMNS)}")
        if entry["kpi"] not in KPIS:
            raise ConfigError(f"{where}: 'kpi': unknown KPI {entry['kpi']!r}; known KPIs: {', '.join(KPIS)}")
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise ConfigError(f"{where}: 'value': {value!r} is not a number (shares as 0-1, durations in seconds)")
        if KPIS[entry["kpi"]].unit == "share" and not 0 <= value <= 1:
            raise ConfigError(f"{where}: 'value': {value!r} is a share and must be between 0 and 1 (88.2 % is 0.882)")
        if entry["kind"] not in KINDS:
            raise ConfigError(f"{where}: 'kind': {entry['kind']!r} is not one of {', '.join(KINDS)}")
        if isinstance(entry["year"], bool) or not isinstance(entry["year"], int) or not 1900 <= entry["year"] <= 2199:
            raise ConfigError(f"{where}: 'year': {entry['year']!r} is not a year")
        rows.append({"kpi": entry["kpi"], "value": float(value), "kind": entry["kind"], "year": int(entry["year"]),
                     "source": str(entry["source"])})
    return pd.DataFrame(rows, columns=BENCHMARK_COLUMNS)


def mystery_target(path: str | os.PathLike | None) -> tuple[float, str]:
    """The share of rubric items a mystery-shopping visit must meet, and where it comes from."""
    section = _benchmarks_doc(path).get("mystery_shopping") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: mystery_shopping: expected {{target, source}}")
    target = section.get("target", DEFAULT_TARGET)
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
        raise ConfigError(f"{path}: mystery_shopping: 'target': {target!r} must be a share above 0 and at most 1")
    return float(target), str(section.get("source", "kit default"))


def benchmark_table(values: pd.DataFrame, benchmarks: pd.DataFrame, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The unit's KPIs beside each benchmark.

    Parameters
    ----------
    values : DataFrame
        ``kpi, value, n`` (``kpi_table`` of the unit and period).
    benchmarks : DataFrame
        :func:`load_benchmarks`.
    targets : DataFrame, optional
        ``kpi, target, direction``: which way is better (else higher).

    Returns
    -------
    DataFrame
        ``kpi, actual, n, benchmark, kind, year, source, gap, standing, ahead``: ``gap`` = actual −
        benchmark (in the KPI's unit); ``standing`` is ``ahead``, ``behind`` or ``can't tell`` (by the
        KPI's direction), ``no value`` without a figure. A share is judged on its 95 % Wilson interval
        (ahead when the whole interval is at or past the benchmark, behind when it is wholly short of
        it); any other KPI on its value, but only with :data:`MIN_BENCHMARK_N` observations or more.
        ``ahead``: True ahead, False behind, None otherwise.
    """
    columns = ["kpi", "actual", "n", "benchmark", "kind", "year", "source", "gap", "standing", "ahead"]
    if benchmarks.empty:
        return pd.DataFrame(columns=columns)
    own = values.set_index("kpi")
    direction = (targets.set_index("kpi")["direction"] if targets is not None and "direction" in targets
                 else pd.Series(dtype=object))
    rows = []
    for b in benchmarks.itertuples(index=False):
        actual = float(own["value"].get(b.kpi, np.nan)) if b.kpi in own.index else np.nan
        n = int(own["n"].get(b.kpi, 0)) if b.kpi in own.index else 0
        gap = actual - b.value
        lower = str(direction.get(b.kpi, "higher")) == "lower"
        if not np.isfinite(actual) or n <= 0:
            standing = "no value"
        else:
            if KPIS[b.kpi].unit == "share":
                (low,), (high,) = wilson_interval([round(actual * n)], [n], 0.95)
            else:  # no spread to judge by: the value itself, on enough observations
                low = high = actual if n >= MIN_BENCHMARK_N else np.nan
            better, worse = (high <= b.value, low > b.value) if lower else (low >= b.value, high < b.value)
            standing = "ahead" if better else "behind" if worse else "can't tell"
        rows.append({"kpi": b.kpi, "actual": actual, "n": n, "benchmark": b.value, "kind": b.kind, "year": b.year,
                     "source": b.source, "gap": gap, "standing": standing,
                     "ahead": {"ahead": True, "behind": False}.get(standing)})
    return pd.DataFrame(rows, columns=columns)


def benchmark_summary(table: pd.DataFrame) -> dict:
    """The index page's figures: ``<kpi>_benchmark`` and ``<kpi>_benchmark_kind`` (the competitor's
    figure when a KPI has both kinds)."""
    out: dict = {}
    for row in table.sort_values("kind", kind="stable").itertuples(index=False):  # competitor before industry
        out.setdefault(f"{row.kpi}_benchmark", float(row.benchmark))
        out.setdefault(f"{row.kpi}_benchmark_kind", str(row.kind))
    return out


# ---------------------------------------------------------------- mystery shopping

def load_mystery_shopping(path: str | os.PathLike | None, channels: list[str] | None = None) -> pd.DataFrame:
    """The mystery-shopping register (empty when the file does not exist).

    Parameters
    ----------
    path : path-like or None
        ``mystery_shopping.csv``, read as the QA registers are (:mod:`qa_helpers.people.registers`:
        UTF-8 with or without BOM, or GB18030 as Excel saves it; dates 2025-04-28 or 2025/4/28).
    channels : list of str, optional
        Allowed channels (the sources' value set; the kit's default channels otherwise).

    Returns
    -------
    DataFrame
        :data:`VISIT_COLUMNS`, ``date`` as a timestamp, rubric items as 1.0 / 0.0 / NaN.

    Raises
    ------
    RegisterError
        One line naming the file, the row (its line in the file) and the column: a missing column,
        an empty or repeated visit id, a date that is not one, a team name that is not
        path-safe, an unknown channel, an item score other than 1, 0 or empty, a visit with no
        item scored.
    """
    if not path or not Path(path).is_file():
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in RUBRIC else "object") for c in VISIT_COLUMNS})
    from qa_helpers.people.registers import _dates, _line, _read, _unique

    file, path = str(path), Path(path)
    raw = _read(path)
    for column in VISIT_COLUMNS:
        if column not in raw.columns:
            raise RegisterError(f"missing column; the register's columns are {', '.join(VISIT_COLUMNS)}",
                                file=file, row=1, column=column)
    out = raw[VISIT_COLUMNS].copy()  # the index is the row's place in the file: _line gives its line
    empty = out.index[out["visit_id"] == ""]
    if len(empty):
        raise RegisterError("empty visit id", file=file, row=_line(empty[0]), column="visit_id")
    _unique(out, path, ["visit_id"], "visit id")
    out["date"] = _dates(out, path, "date")
    allowed = channels or DEFAULT_VALUE_SETS["channel"]
    for index, record in zip(out.index, out.to_dict("records")):
        i = _line(index)
        if not re.match(SAFE_NAME, record["team"]):
            raise RegisterError(f"{record['team']!r} is not a team name (letters, digits, _ . -)", file=file, row=i,
                                column="team")
        if record["channel"] not in allowed:
            raise RegisterError(f"{record['channel']!r} is not a channel; channels are {', '.join(allowed)}",
                                file=file, row=i, column="channel")
        scored = 0
        for item in RUBRIC:
            value = record[item]
            if value not in ("", "0", "1"):
                raise RegisterError(f"{value!r}: a rubric item is 1 (met), 0 (not met) or empty (not applicable)",
                                    file=file, row=i, column=item)
            scored += value != ""
        if not scored:
            raise RegisterError("no rubric item scored", file=file, row=i, column=next(iter(RUBRIC)))
    for item in RUBRIC:
        out[item] = pd.to_numeric(out[item].replace("", np.nan)).astype("float64")
    return out.reset_index(drop=True)


def mystery_scores(visits: pd.DataFrame, target: float = DEFAULT_TARGET) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mystery-shopping visits scored against the rubric.

    Parameters
    ----------
    visits : DataFrame
        :func:`load_mystery_shopping`, already limited to the unit and period.
    target : float
        The share of applicable rubric items a visit must meet.

    Returns
    -------
    (DataFrame, DataFrame)
        Per team: ``team, visits, score, visits_meeting_target, met`` (``score``: mean of the visits'
        shares of applicable items met; ``met``: the score reaches the target); per rubric item:
        ``rubric_item, visits, met_share`` (visits where it applied).
    """
    items = list(RUBRIC)
    if visits.empty:
        return (pd.DataFrame(columns=["team", "visits", "score", "visits_meeting_target", "met"]),
                pd.DataFrame(columns=["rubric_item", "visits", "met_share"]))
    share = visits[items].mean(axis=1, skipna=True)
    scored = visits.assign(visit_score=share, meets=share >= target)
    teams = scored.groupby("team", sort=True).agg(visits=("visit_id", "count"), score=("visit_score", "mean"),
                                                  visits_meeting_target=("meets", "sum")).reset_index()
    teams["met"] = teams["score"] >= target
    per_item = pd.DataFrame({"rubric_item": items, "visits": [int(visits[i].notna().sum()) for i in items],
                             "met_share": [visits[i].mean() for i in items]})
    return teams, per_item


# ---------------------------------------------------------------- report sections (notebook 04)

def unit_benchmarks(ctx) -> pd.DataFrame:
    """The unit's KPIs of the period beside the config folder's benchmarks (:func:`benchmark_table`)."""
    benchmarks = load_benchmarks(ctx.files.get("benchmarks.yml"))
    if benchmarks.empty:
        return benchmark_table(pd.DataFrame(columns=["kpi", "value", "n"]), benchmarks)
    values = ctx.kpi_table(kpis=sorted(set(benchmarks["kpi"])))
    return benchmark_table(values, benchmarks, ctx.targets())


def _gap(gap: float, unit: str) -> str:
    """A gap to a benchmark as people read it: +1.2 pp for shares, else in the KPI's unit with its sign."""
    from qa_helpers.report.plots import format_value

    if not np.isfinite(gap):
        return "–"
    text = f"{100 * gap:+.1f} pp" if unit == "share" else ("+" if gap >= 0 else "") + format_value(gap, unit)
    return text.replace("-", "−")


def benchmark_view(ctx, table: pd.DataFrame) -> list:
    """One line per benchmark in words, and the table: the unit's figure, the benchmark, the gap, source."""
    from qa_helpers.report.labels import t, table as styled_table
    from qa_helpers.report.plots import format_value
    from qa_helpers.report.texts import say

    if table.empty:
        return [say("external.no_benchmarks", ctx.language)]
    units = [KPIS[k].unit for k in table["kpi"]]
    shown = table.assign(
        actual=[format_value(v, u) for v, u in zip(table["actual"], units)],
        benchmark=[format_value(v, u) for v, u in zip(table["benchmark"], units)],
        gap=[_gap(g, u) for g, u in zip(table["gap"], units)],
        kind=[t(k, ctx.language) for k in table["kind"]], year=table["year"].astype(str))
    shown = shown.rename(columns={"kind": "benchmark_kind", "source": "benchmark_source"})
    standing = table["standing"].value_counts()
    return [say("external.benchmark_headline", ctx.language, ahead=int(standing.get("ahead", 0)),
                behind=int(standing.get("behind", 0)), unclear=int(standing.get("can't tell", 0)),
                judged=int(table["standing"].ne("no value").sum()), minimum=MIN_BENCHMARK_N),
            styled_table(shown[["kpi", "actual", "n", "benchmark", "gap", "benchmark_kind", "year", "benchmark_source"]],
                         ctx.language, values=["kpi"], verbatim=["benchmark_source"])]


def config_channels(config: str | os.PathLike | None) -> list[str] | None:
    """The channels the config folder's sources allow (``value_sets.channel``); None (the kit's default
    channels) when the folder's sources cannot be read."""
    from qa_helpers.config import config_file, load_sources

    try:
        return list(load_sources(config_file("sources.yml", config)).value_sets.get("channel", [])) or None
    except ConfigError:
        return None


def unit_visits(ctx) -> pd.DataFrame:
    """The register's mystery-shopping visits of this unit and period."""
    visits = load_mystery_shopping(ctx.files.get("mystery_shopping.csv"), config_channels(ctx.config))
    keep = (visits["date"] >= ctx.period.start) & (visits["date"] < ctx.period.end) if len(visits) else []
    if len(visits) and ctx.teams is not None:
        keep &= visits["team"].isin(ctx.teams)
    return visits[keep].reset_index(drop=True) if len(visits) else visits


def _score_and_target(score: float, target: float) -> tuple[str, str]:
    """The score and the target as whole percentages, with more decimals (up to three) while a miss
    would otherwise read as equal to the target (89.6 % is not "90 % … below the target of 90 %")."""
    for digits in range(0, 4):
        shown = f"{score:.{digits}%}", f"{target:.{digits}%}"
        if score >= target or shown[0] != shown[1]:
            return shown
    return shown


def mystery_view(ctx) -> list:
    """Mystery shopping of the unit and period: the headline against the target, per team and per rubric item."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    path = ctx.files.get("mystery_shopping.csv")
    if not path or not Path(path).is_file():
        return [say("external.no_register", ctx.language)]
    visits = unit_visits(ctx)
    if visits.empty:
        return [say("external.no_visits", ctx.language, period=str(ctx.period))]
    target, _ = mystery_target(ctx.files.get("benchmarks.yml"))
    teams, items = mystery_scores(visits, target)
    overall = float(visits[list(RUBRIC)].mean(axis=1, skipna=True).mean())
    weakest = items.dropna(subset=["met_share"]).sort_values("met_share", kind="stable").iloc[0]
    key = "external.mystery_met" if overall >= target else "external.mystery_missed"
    score, target_text = _score_and_target(overall, target)
    return [say(key, ctx.language, visits=len(visits), score=score, target=target_text,
                item=t(weakest["rubric_item"], ctx.language), item_share=f"{weakest['met_share']:.0%}"),
            table(teams.rename(columns={"score": "mystery_score"}), ctx.language, percent=["mystery_score"]),
            table(items, ctx.language, values=["rubric_item"], percent=["met_share"])]
