"""Ingest: raw exports -> validated, cleaned, pseudonymised parquet archive + quarantine.

One entry point, :func:`ingest`. For each source in ``config/sources.yml`` (in file
order, so that a table can link to one ingested before it):

1. read every matching raw file as text (:mod:`qa_helpers.data.readers`);
2. check the header carries every required column; rename to canonical names;
3. parse text into the schema's types: a value that cannot be read is ``malformed_value``;
4. check the pandera schema: an empty required value is ``missing_required``, any other
   failed check ``invalid_value``;
5. apply the source's cleaning rules in order (:mod:`qa_helpers.data.cleaning`);
6. pseudonymise customer ids, mask PII in free text, drop customer names, link team and
   other columns from earlier tables, and write one parquet file per calendar month, rows
   team by team and in time order within a team (:func:`archive_order`).

Every row rejected at any step lands in ``<archive>/quarantine/<table>.parquet`` (an append
adds ``<table>.batch-NNNNNN.parquet``: read them all with
:func:`qa_helpers.data.archive.quarantine`) with its rule, the column at fault, a detail and the raw
record, so ``raw = archived + quarantined`` per source, always. ``<archive>/ingest_report.json``
holds the counts, the file list and each archived file's SHA-256 (the fingerprint is built from them).

Rows stay in Arrow from reader to writer, and each step works on whole columns: ten million
rows never pass through Python one by one, and no step copies the table to drop the rows an
earlier one rejected (rejections are a mask until the one row selection before writing).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qa_helpers.data import cleaning, repeat_index
from qa_helpers.data.archive import (GENERATION_MARKER, archive_files, archive_path, generation_folder,
                                     generation_pattern, quarantine_files)
from qa_helpers.data.columns import (archive_text_storage, as_array, connect, decoded, ingest_memory_pool, per_value,
                                    sql, take_rows)
from qa_helpers.config import UNITS, SourcesConfig, SourceSpec, load_sources
from qa_helpers.errors import ConfigError, SourceError
from qa_helpers.faults import fault_point
from qa_helpers.locks import folder_lock
from qa_helpers.data.privacy import ID_TOKEN, NameMasker, load_key, mask_text, pseudonymise
from qa_helpers.data.readers import RawFrame, guess_encoding, read_raw
from qa_helpers.data.schemas import LINK_COLUMNS, SCHEMAS, TIME_COLUMNS, id_column, parse_kind

TRUE_TOKENS = {"是", "y", "yes", "true", "t", "1"}
FALSE_TOKENS = {"否", "n", "no", "false", "f", "0"}
OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
ROW_GROUP = 131_072
# how rows sit in a month file (:func:`archive_order`), recorded in ingest_report.json: an archive ingested
# before it (no "layout") holds its months in time order, and an append rewrites only the months it touches
ARCHIVE_LAYOUT = "team by team, time order within a team; a repeat-contact index"
ARCHIVE_TABLES = ("agents", *TIME_COLUMNS)
EMPTY_MONTH = "0000-00"  # the partition that holds only the schema of a table with no rows
NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
ARROW_TYPES = {"str": pa_arrow.string(), "int": pa_arrow.int64(), "float": pa_arrow.float64(),
               "bool": pa_arrow.bool_(), "datetime": pa_arrow.timestamp("us")}
PANDAS_TYPES = {"str": "str", "int": "Int64", "float": "Float64", "bool": "boolean", "datetime": "datetime64[us]"}
# Precedence of the steps, for reports: a row gets the first rule that rejects it.
STEP_RULES = ["unparseable_row", "formula_without_value", "lost_precision", "malformed_value", "missing_required",
              "invalid_value"]


@dataclass
class Quarantine:
    """Rows rejected so far for one source, one entry per rejected raw row.

    Rejections are collected as row positions; the raw records are picked and written as JSON
    once, in :meth:`frame`.
    """

    raw: pa_arrow.Table
    parts: list[pd.DataFrame] = field(default_factory=list)
    unparseable: list[pd.DataFrame] = field(default_factory=list)

    def add(self, positions: np.ndarray, rule: str, column: str | np.ndarray | None,
            detail: str | np.ndarray) -> None:
        """Quarantine the raw rows at ``positions`` under ``rule``, with the column at fault and why."""
        if len(positions):
            self.parts.append(pd.DataFrame({"position": np.asarray(positions, dtype=np.int64), "rule": rule,
                                            "column": column, "detail": detail}))

    def add_unparseable(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.unparseable.append(pd.DataFrame({
                "file": frame["_file"].to_numpy(), "row": frame["_row"].to_numpy(), "rule": "unparseable_row",
                "column": None, "detail": frame["detail"].to_numpy(),
                "record": [json.dumps({"line": r}, ensure_ascii=False) for r in frame["record"]],
            }))

    def frame(self) -> pd.DataFrame:
        columns = ["file", "row", "rule", "column", "detail", "record"]
        parts = list(self.unparseable)
        if self.parts:
            rejected = pd.concat(self.parts, ignore_index=True)
            picked = take_rows(self.raw, rejected["position"].to_numpy())
            # text straight from Arrow: a list of Python strings would be made and turned back into Arrow
            # (pandas 3), holding the interpreter lock while ingest orders and links the kept rows
            parts.append(pd.DataFrame({"file": decoded(picked["_file"]).to_pandas(), "row": picked["_row"].to_numpy(),
                                       "rule": rejected["rule"], "column": rejected["column"],
                                       "detail": rejected["detail"],
                                       "record": _json_records(picked.drop_columns(["_file", "_row"])).to_pandas()}))
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else str) for c in columns})
        out = pd.concat(parts, ignore_index=True)[columns]
        out["column"] = out["column"].astype("string")
        out["row"] = out["row"].astype("int64")
        return out.sort_values(["file", "row"], kind="stable").reset_index(drop=True)


def _json_records(table: pa_arrow.Table) -> pa_arrow.Array:
    """Each row as a JSON object of its raw fields (written by DuckDB: fast, UTF-8 kept as is)."""
    rows = table  # noqa: F841 -- read by DuckDB by name
    fields = ", ".join("'" + name.replace("'", "''") + "': \"" + name.replace('"', '""') + '"'
                       for name in table.column_names)
    return as_array(connect().sql(f"SELECT to_json({{{fields}}})::VARCHAR AS record FROM rows").to_arrow_table()
                    .column("record"))


# ---------------------------------------------------------------- reading and mapping

def _files(spec: SourceSpec, raw_dir: Path) -> list[Path]:
    files = sorted(p for p in raw_dir.glob(spec.pattern) if p.is_file())
    if not files:
        raise SourceError(f"no file matches the pattern {spec.pattern!r} of source {spec.table!r}",
                          file=str(raw_dir / spec.pattern))
    return files


def _check_header(spec: SourceSpec, path: Path, frame: RawFrame, schema: pa.DataFrameSchema) -> list[str]:
    """Raise on a missing required or referenced column; return the optional columns that are missing."""
    headers = [c for c in frame.rows.column_names if not c.startswith("_")]
    present = set(headers)
    required = {name for name, col in schema.columns.items() if not col.nullable}
    missing_required = [raw for raw, fields in spec.columns.items()
                        if required & set(fields) and raw not in present]
    missing_required += [raw for raw in spec.referenced_columns() if raw not in present]
    if missing_required:
        hint = ""
        if spec.format != "xlsx" and not (present & set(spec.raw_columns())):
            guess = guess_encoding(path.read_bytes())
            if guess and guess.replace("_", "-").lower() != spec.encoding.replace("_", "-").lower():
                hint = (f"; no expected header was found at all: the file looks like {guess}, "
                        f"not {spec.encoding} as the source mapping says")
        raw = missing_required[0]
        role = (f"maps to {', '.join(repr(f) for f in spec.columns[raw])}" if raw in spec.columns
                else "named in an expression of derived / rows_where")
        raise SourceError(f"required column missing ({role}); the header has {headers}{hint}",
                          file=str(path), row=1, column=raw)
    return [raw for raw in spec.raw_columns() if raw not in present]


def read_source(spec: SourceSpec, raw_dir: Path, schema: pa.DataFrameSchema | None = None,
                files: dict | None = None) -> tuple[pa_arrow.Table, pd.DataFrame, dict]:
    """Read all files of a source: raw text rows (Arrow), unparseable rows, and what was read.

    ``files`` caches what was read per file, so a source carved out of another export
    (``from_source``) does not read it twice.
    """
    schema = schema if schema is not None else SCHEMAS[spec.table]
    frames, bad, info = [], [], {"files": [], "warnings": [], "ignored_columns": set(), "flagged": []}
    for path in _files(spec, raw_dir):
        cache_key = (path, spec.format, spec.encoding, spec.sheet, spec.delimiter)
        frame = files.get(cache_key) if files is not None else None
        if frame is None:
            frame = read_raw(path, spec.format, spec.encoding, spec.sheet, spec.delimiter)
            if files is not None:
                files[cache_key] = frame
        rows = frame.rows
        warnings = list(frame.warnings)
        for raw in _check_header(spec, path, frame, schema):
            rows = rows.append_column(raw, pa_arrow.array([""] * rows.num_rows, pa_arrow.string()))
            warnings.append(f"{path.name}: optional column {raw!r} absent; left empty")
        info["ignored_columns"] |= {c for c in rows.column_names if not c.startswith("_")} - set(spec.raw_columns())
        rows = rows.select([*spec.raw_columns(), "_file", "_row"])
        unparseable = frame.unparseable
        if spec.rows_where:
            keep = _rows_where(spec, rows)
            if spec.from_source and len(unparseable):
                warnings.append(f"{path.name}: {len(unparseable)} row(s) that cannot be split into fields are "
                                f"quarantined with source {spec.from_source!r}, not here")
                unparseable = unparseable.iloc[0:0]
            warnings.append(f"{path.name}: {int(keep.sum()):,} of {rows.num_rows:,} rows belong to this source "
                            f"(rows_where: {spec.rows_where})")
            rows = rows.filter(pa_arrow.array(keep))
        info["warnings"] += warnings
        flagged = frame.flagged
        info["flagged"].append(flagged[flagged["column"].isna() | flagged["column"].isin(spec.raw_columns())])
        info["files"].append({"name": path.name, "rows": rows.num_rows + len(unparseable), "sha256": frame.sha256})
        frames.append(rows)
        bad.append(unparseable)
    mixed = {name for name in frames[0].column_names if len({frame.schema.field(name).type for frame in frames}) > 1}
    if mixed:  # a column read as a dictionary from some files only
        frames = [pa_arrow.table({name: decoded(frame[name]) if name in mixed else frame[name]
                                  for name in frame.column_names}) for frame in frames]
    raw = pa_arrow.concat_tables(frames).unify_dictionaries() if len(frames) > 1 else frames[0]
    info["ignored_columns"] = sorted(info["ignored_columns"])
    info["flagged"] = pd.concat(info["flagged"], ignore_index=True)
    return raw, pd.concat(bad, ignore_index=True), info


# ---------------------------------------------------------------- expressions over raw columns

KINDS_SQL = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "datetime": "TIMESTAMP"}


def expression_connection(spec: SourceSpec, rows: pa_arrow.Table):
    """A DuckDB connection for a source's expressions: no file or network access, and the macros
    ``num(x)``, ``txt(x)``, ``ts(x)`` (the source's date formats) and ``duration(x)``
    (``hh:mm:ss``, ``mm:ss`` or a plain number, in the unit written). ``rows`` is the table
    the expressions read, registered as ``rows``."""
    con = connect()
    con.register("rows", rows)
    formats = [f for f in spec.datetime_formats if f != "ISO8601"]
    tries = [f"try_strptime(txt(x), '{f.replace(chr(39), chr(39) * 2)}')" for f in formats]
    if "ISO8601" in spec.datetime_formats or not tries:
        tries.append("TRY_CAST(txt(x) AS TIMESTAMP)")
    con.execute("CREATE MACRO txt(x) AS nullif(trim(CAST(x AS VARCHAR)), '')")
    con.execute(f"CREATE MACRO num(x) AS CASE WHEN regexp_full_match(txt(x), '{NUMBER}') "
                "THEN TRY_CAST(txt(x) AS DOUBLE) END")
    con.execute(f"CREATE MACRO ts(x) AS CAST(coalesce({', '.join(tries)}) AS TIMESTAMP)")
    # hh:mm:ss or mm:ss as seconds; any other text read as a number (in whatever unit it is written)
    con.execute("CREATE MACRO clock_part(x, i) AS TRY_CAST(string_split(txt(x), ':')[i] AS DOUBLE)")
    con.execute("CREATE MACRO duration(x) AS CASE "
                "WHEN regexp_full_match(txt(x), '\\d+:\\d{1,2}') THEN clock_part(x, 1) * 60 + clock_part(x, 2) "
                "WHEN regexp_full_match(txt(x), '\\d+:\\d{1,2}:\\d{1,2}') "
                "THEN clock_part(x, 1) * 3600 + clock_part(x, 2) * 60 + clock_part(x, 3) ELSE num(x) END")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _evaluate(spec: SourceSpec, raw: pa_arrow.Table, expressions: dict[str, str], kinds: dict[str, str],
              key: str) -> dict[str, pa_arrow.Array]:
    """Evaluate named row expressions over the raw text columns; an expression DuckDB refuses is a
    ConfigError naming ``sources.<table>.<key>.<name>``."""
    columns = [c for c in spec.referenced_columns() if c in raw.column_names]
    rows = pa_arrow.table({c: decoded(raw[c]) for c in columns}) if columns else pa_arrow.table({"_row": raw["_row"]})
    con = expression_connection(spec, rows)
    out = {}
    for name, expression in expressions.items():
        try:
            result = con.sql(f"SELECT TRY_CAST(({expression}) AS {KINDS_SQL[kinds[name]]}) AS v FROM rows")
            out[name] = as_array(result.to_arrow_table()["v"])
        except Exception as exc:  # duckdb raises many error classes; each is a config error here
            message = str(exc).split("\n")[0]
            raise ConfigError(f"sources.{spec.table}.{key}.{name}: DuckDB cannot evaluate {expression!r}: "
                              f"{message}. Raw columns are text: name them in double quotes and read them with "
                              "num(...), ts(...), duration(...) or txt(...)") from None
    return out


def _rows_where(spec: SourceSpec, raw: pa_arrow.Table) -> np.ndarray:
    """Which raw rows belong to the source (``rows_where``)."""
    values = _evaluate(spec, raw, {"rows_where": spec.rows_where}, {"rows_where": "bool"}, "rows_where")
    return pc.fill_null(values["rows_where"], False).to_numpy(zero_copy_only=False)


# ---------------------------------------------------------------- parsing

def _text(values: pa_arrow.Array, na_tokens: list[str]) -> pa_arrow.Array:
    """Raw text stripped; empty and no-value tokens become null."""
    text = pc.utf8_trim_whitespace(values)
    empty = pc.is_in(text, value_set=pa_arrow.array(na_tokens, pa_arrow.string()))
    if not pc.any(empty).as_py():
        return text
    return pc.if_else(empty, pa_arrow.scalar(None, pa_arrow.string()), text)


def _parse_datetime(text: pa_arrow.Array, spec: SourceSpec, archive_tz: str) -> pa_arrow.Array:
    """Try each of the source's formats in turn; ISO 8601 text may carry an offset or Z."""
    if "ISO8601" not in spec.datetime_formats and spec.timezone == archive_tz:
        tries = ", ".join(f"try_strptime(x, $f{i})" for i in range(len(spec.datetime_formats)))
        formats = {f"f{i}": f for i, f in enumerate(spec.datetime_formats)}
        return per_value(text, lambda v: sql(f"CAST(coalesce({tries}) AS TIMESTAMP)", v, **formats)
                         .cast(pa_arrow.timestamp("us")))
    # Offsets and time-zone conversion: pandas; such exports are small (JSON lines from an API).
    series = pd.Series(decoded(text).to_pandas(), dtype="str")
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    todo = series.notna()
    for fmt in spec.datetime_formats:
        if not todo.any():
            break
        chunk = series[todo]
        if fmt == "ISO8601":
            has_offset = chunk.str.contains(OFFSET)
            aware = pd.to_datetime(chunk[has_offset], format="ISO8601", utc=True, errors="coerce")
            aware = aware.dt.tz_convert(archive_tz).dt.tz_localize(None)
            naive = _localise(pd.to_datetime(chunk[~has_offset], format="ISO8601", errors="coerce"),
                              spec.timezone, archive_tz)
            parsed = pd.concat([aware, naive]).reindex(chunk.index)
        else:
            parsed = _localise(pd.to_datetime(chunk, format=fmt, errors="coerce"), spec.timezone, archive_tz)
        ok = parsed.notna()
        out[ok[ok].index] = parsed[ok].astype("datetime64[us]")
        todo[ok[ok].index] = False
    return pa_arrow.array(out.to_numpy(), pa_arrow.timestamp("us"), mask=out.isna().to_numpy())


def _localise(times: pd.Series, source_tz: str, archive_tz: str) -> pd.Series:
    times = times.astype("datetime64[us]")
    if source_tz == archive_tz or times.empty:
        return times
    return times.dt.tz_localize(source_tz, ambiguous="NaT", nonexistent="NaT") \
        .dt.tz_convert(archive_tz).dt.tz_localize(None)


def _mapped(text: pa_arrow.Array, mapping: dict[str, str] | None) -> pa_arrow.Array:
    """Raw values replaced by the source's value map (values not in the map are kept)."""
    if not mapping:
        return text
    return per_value(text, lambda v: pc.coalesce(
        pa_arrow.array(list(mapping.values()), pa_arrow.string()).take(
            pc.index_in(v, value_set=pa_arrow.array(list(mapping), pa_arrow.string()))), v))


def parse_column(text: pa_arrow.Array, kind: str, spec: SourceSpec, column: str, archive_tz: str) -> pa_arrow.Array:
    """Turn a text column (null for empty) into the schema type; unreadable values become null."""
    if kind == "str":
        return _mapped(text, spec.values.get(column))
    if kind in ("int", "float"):
        # only text that looks like a number is cast; the rest becomes null, then malformed
        number = f"CASE WHEN regexp_full_match(x, '{NUMBER}') THEN TRY_CAST(x AS DOUBLE) END"
        if kind == "int":
            number = (f"CASE WHEN ({number}) = floor({number}) AND abs({number}) < 9.0e18 "
                      f"THEN CAST({number} AS BIGINT) END")
        return per_value(text, lambda v: sql(number, v), share=0.5)  # durations and counts repeat
    if kind == "bool":
        def as_bool(v: pa_arrow.Array) -> pa_arrow.Array:
            lowered = pc.utf8_lower(v)
            return pc.if_else(pc.is_in(lowered, value_set=pa_arrow.array(sorted(TRUE_TOKENS))), True,
                              pc.if_else(pc.is_in(lowered, value_set=pa_arrow.array(sorted(FALSE_TOKENS))),
                                         False, pa_arrow.scalar(None, pa_arrow.bool_())))
        return per_value(text, as_bool)
    if kind == "datetime":
        return _parse_datetime(text, spec, archive_tz)
    raise ValueError(kind)


def parse_table(raw: pa_arrow.Table, spec: SourceSpec, archive_tz: str,
                schema: pa.DataFrameSchema | None = None) -> tuple[pa_arrow.Table, pd.DataFrame]:
    """Parse raw text into the table's schema types.

    A field comes from its raw column (then converted from its declared unit), from a constant,
    from a ``derived`` expression, or is absent (all null). Extra columns listed under ``keep``
    follow the schema's columns as text.

    Returns
    -------
    typed : pyarrow.Table
        One column per schema column, in schema order, then the extra columns.
    malformed : DataFrame
        For each row with a value that could not be read: its ``position``, the first such
        raw ``column`` and a ``detail``.
    """
    schema = schema if schema is not None else SCHEMAS[spec.table]
    raw_of = {**spec.raw_of, **{extra: raw_col for raw_col, extra in spec.keep.items()}}
    na_tokens = sorted({"", *spec.na_values})
    kinds = {name: parse_kind(spec.table, name) if name in SCHEMAS[spec.table].columns else "str"
             for name in schema.columns}
    derived = _evaluate(spec, raw, spec.derived, kinds, "derived") if spec.derived else {}

    def parse(column: str) -> tuple[np.ndarray | None, pa_arrow.Array, pa_arrow.Array | None]:
        """Whether each row has a value, the parsed values, and the trimmed text (None: see raw)."""
        present, values, text = parse_value(column)
        if column in spec.units:
            values = pc.multiply(values, UNITS[spec.units[column]])
        return present, values, text

    def parse_value(column: str) -> tuple[np.ndarray | None, pa_arrow.Array, pa_arrow.Array | None]:
        kind = kinds[column]
        if column in spec.constants:
            one = parse_column(pa_arrow.array([spec.constants[column]]), kind, spec, column, archive_tz)
            if one.null_count:
                raise ConfigError(f"sources.{spec.table}.constants.{column}: cannot read "
                                  f"{spec.constants[column]!r} as {kind}")
            return None, pa_arrow.DictionaryArray.from_arrays(
                pa_arrow.array(np.zeros(raw.num_rows, dtype=np.int32)), one) if kind == "str" else \
                one.take(pa_arrow.array(np.zeros(raw.num_rows, dtype=np.int64))), None
        if column in derived:
            values = derived[column]
            if kind == "str":
                values = parse_column(values, kind, spec, column, archive_tz)
            elif kind == "datetime" and spec.timezone != archive_tz:
                local = _localise(pd.Series(values.to_pandas(), dtype="datetime64[us]"), spec.timezone, archive_tz)
                values = pa_arrow.array(local.to_numpy(), pa_arrow.timestamp("us"), mask=local.isna().to_numpy())
            return None, values, None
        if column not in raw_of:
            return None, pa_arrow.nulls(raw.num_rows, ARROW_TYPES[kind]), None
        source = raw[raw_of[column]]
        if kind in ("str", "bool") or spec.na_values or column in spec.values:
            text = per_value(source, lambda v: _text(v, na_tokens))
            if kind != "str" and column in spec.values:  # e.g. a CSAT of "Good" / "Bad" mapped to 5 / 1
                text = _mapped(text, spec.values[column])
            return text.is_valid().to_numpy(zero_copy_only=False), parse_column(text, kind, spec, column,
                                                                                archive_tz), text
        # Numbers and times are parsed straight from the raw text: only the cells that fail
        # (empty ones, or ones with spaces around the value) are trimmed and tried again.
        values = parse_column(source, kind, spec, column, archive_tz)
        present = np.ones(raw.num_rows, dtype=bool)
        retry = np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))
        if len(retry):
            text = _text(decoded(source.take(pa_arrow.array(retry))), na_tokens)
            present[retry] = text.is_valid().to_numpy(zero_copy_only=False)
            again = parse_column(text, kind, spec, column, archive_tz)
            if again.null_count < len(again):
                fixed = np.zeros(raw.num_rows, dtype=bool)
                fixed[retry] = again.is_valid().to_numpy(zero_copy_only=False)
                values = pc.replace_with_mask(values, pa_arrow.array(fixed), again.drop_null())
        return present, values, None

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # Arrow and DuckDB release the GIL
        parsed = dict(zip(schema.columns, pool.map(parse, list(schema.columns))))
    typed, found = {}, []
    seen = np.zeros(raw.num_rows, dtype=bool)
    for column, (present, values, text) in parsed.items():
        typed[column] = values
        if present is None:
            continue
        unreadable = present & values.is_null().to_numpy(zero_copy_only=False) & ~seen
        if unreadable.any():
            positions = np.flatnonzero(unreadable)
            seen[positions] = True
            picked = pa_arrow.array(positions)
            shown = (text.take(picked) if text is not None else
                     pc.utf8_trim_whitespace(decoded(raw[raw_of[column]].take(picked)))).to_pylist()
            kind = kinds[column]
            found.append(pd.DataFrame({"position": positions, "column": raw_of[column],
                                       "detail": [f"{raw_of[column]} ({column}): cannot read {t!r} as {kind}"
                                                  for t in shown]}))
    malformed = pd.concat(found, ignore_index=True) if found else \
        pd.DataFrame({"position": pd.Series(dtype="int64"), "column": pd.Series(dtype="str"),
                      "detail": pd.Series(dtype="str")})
    return pa_arrow.table(typed), malformed


# ---------------------------------------------------------------- validation

def _failing(values: pa_arrow.Array, check: pa.Check, where: str) -> pa_arrow.Array:
    """Where a value fails a pandera check of the schema, evaluated in Arrow (null never fails)."""
    stats = check.statistics
    if check.name == "isin":
        return per_value(values, lambda v: pc.and_(v.is_valid(), pc.invert(
            pc.is_in(v, value_set=pa_arrow.array(stats["allowed_values"])))))
    if check.name == "str_matches":
        return per_value(values, lambda v: pc.invert(pc.match_substring_regex(v, stats["pattern"])))
    if check.name == "greater_than_or_equal_to":
        return pc.less(values, stats["min_value"])
    if check.name == "in_range":
        low = (pc.less if stats.get("include_min", True) else pc.less_equal)(values, stats["min_value"])
        high = (pc.greater if stats.get("include_max", True) else pc.greater_equal)(values, stats["max_value"])
        return pc.or_(low, high)
    raise NotImplementedError(f"ingest has no Arrow form of the check {check.name!r} on {where}; "
                              "add one in qa_helpers.data.ingest._failing")


def source_schema(spec: SourceSpec, config: SourcesConfig) -> pa.DataFrameSchema:
    """The schema one source is held to: its table's, with this config's value sets, its absent
    fields allowed to be empty, and its extra columns (text; checked against a value set of the
    same name when there is one)."""
    base = config.schemas[spec.table]
    columns = {name: pa.Column(column.dtype, column.checks, nullable=True)
               if name in spec.absent or name in spec.allow_empty else column
               for name, column in base.columns.items()}
    for extra in spec.keep.values():
        allowed = config.value_sets.get(extra)
        columns[extra] = pa.Column(str, pa.Check.isin(allowed) if allowed else None, nullable=True)
    return pa.DataFrameSchema(columns, name=base.name)


def validate(typed: pa_arrow.Table, live: np.ndarray, spec: SourceSpec,
             schema: pa.DataFrameSchema | None = None) -> pd.DataFrame:
    """Check the live rows against the source's pandera schema: empty required values and failed checks.

    The schema in :mod:`qa_helpers.data.schemas` is the one declaration of the rules; here each
    check is evaluated on whole Arrow columns (pandera itself would cost seconds per million
    rows), and a test holds the two to the same verdict row by row.

    Returns
    -------
    DataFrame
        Per failing live row, its first failure in schema order: ``position``, ``rule``
        (``missing_required`` or ``invalid_value``), raw ``column`` and ``detail``.
    """
    found = []
    still = live.copy()
    schema = schema if schema is not None else SCHEMAS[spec.table]
    for name, column in schema.columns.items():
        values = as_array(typed[name])
        raw = spec.raw_header(name) if name not in spec.keep.values() else \
            next(r for r, extra in spec.keep.items() if extra == name)
        if not column.nullable:
            empty = np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False) & still)
            still[empty] = False
            how = f"derived: {spec.derived[name]}" if name in spec.derived else "empty"
            found.append(pd.DataFrame({"position": empty, "rule": "missing_required", "column": raw,
                                       "detail": f"{raw} ({name}): {how}"}))
        for check in column.checks:
            failing = pc.fill_null(_failing(values, check, f"{spec.table}.{name}"), False)
            bad = np.flatnonzero(failing.to_numpy(zero_copy_only=False) & still)
            still[bad] = False
            shown = values.take(pa_arrow.array(bad, pa_arrow.int64())).to_pylist()
            found.append(pd.DataFrame({"position": bad, "rule": "invalid_value", "column": raw,
                                       "detail": [_invalid_detail(spec, raw, name, check, v) for v in shown]}))
    return pd.concat(found, ignore_index=True).astype({"position": "int64"}).sort_values("position")


def _invalid_detail(spec: SourceSpec, raw: str, name: str, check: pa.Check, value) -> str:
    """Why a value failed, and for a value outside a set, the config key that would admit it."""
    if check.name != "isin":
        return f"{raw} ({name}): {value!r} fails {check.error}"
    allowed = ", ".join(map(str, check.statistics["allowed_values"]))
    return (f"{raw} ({name}): {value!r} is not an allowed value ({allowed}); map it under "
            f"sources.{spec.table}.values.{name} or add it to value_sets.{name} in sources.yml")


# ---------------------------------------------------------------- one source

def ingest_source(spec: SourceSpec, raw_dir: Path, config: SourcesConfig, tables: dict[str, pa_arrow.Table],
                  key: bytes, names: NameMasker, ids: NameMasker,
                  files: dict | None = None, archived=None) -> tuple[pa_arrow.Table, pd.DataFrame, dict]:
    """Ingest one source: the archived rows (in archive order), the quarantine, and the report entry.

    A source that lists customer names (or pseudonymises ids) adds them to ``names`` (``ids``)
    before its own text is masked, so later sources mask them too. ``archived`` (append hook,
    :mod:`qa_helpers.data.append`): the rows already archived, for the rules that look across
    batches (:class:`qa_helpers.data.cleaning.ArchivedRows`); ``None`` in a full ingest.
    """
    schema = source_schema(spec, config)
    raw, unparseable, info = read_source(spec, raw_dir, schema, files)

    def learn_names() -> None:
        if spec.customer_names:
            names.add(_distinct_text(raw[spec.raw_header(spec.customer_names)]))

    def pseudonyms(values: pa_arrow.ChunkedArray) -> pa_arrow.DictionaryArray:
        encoded = pc.dictionary_encode(as_array(values).cast(pa_arrow.string()))
        ids.add(encoded.dictionary)  # a raw id typed into free text is masked like a name
        return pseudonymise(encoded, key)  # a dictionary: the row selection below moves only its indices

    # Work that does not wait for validation runs beside it, on the second core: the rules' prepare
    # steps, then what the rules never look at (names to mask, pseudonyms). Arrow and DuckDB release
    # the GIL.
    with ThreadPoolExecutor(max_workers=1) as background:
        learned = background.submit(learn_names)
        quarantine = Quarantine(raw)
        quarantine.add_unparseable(unparseable)
        live = np.ones(raw.num_rows, dtype=bool)
        for rule_name, group in _flagged_positions(raw, info["flagged"]).groupby("rule", sort=False):
            quarantine.add(group["position"].to_numpy(), rule_name, group["column"].to_numpy(), group["detail"].to_numpy())
            live[group["position"].to_numpy()] = False

        typed, malformed = parse_table(raw, spec, config.archive_timezone, schema)
        ctx = cleaning.RuleContext(raw=raw, tables=tables, valid_time_range=config.valid_time_range,
                                   pii_locales=config.pii_locales, archived=archived)  # archived: append hook
        cleaning.prepare_rules(spec.rules, typed, ctx, background)  # beside validation; the rules need them first
        pseudonymised = {column_name: background.submit(pseudonyms, typed[column_name])
                         for column_name in spec.pseudonymise}
        malformed = malformed[live[malformed["position"].to_numpy()]]
        quarantine.add(malformed["position"].to_numpy(), "malformed_value", malformed["column"].to_numpy(),
                       malformed["detail"].to_numpy())
        live[malformed["position"].to_numpy()] = False

        failures = validate(typed, live, spec, schema)
        for name in ("missing_required", "invalid_value"):
            hit = failures[failures["rule"] == name]
            quarantine.add(hit["position"].to_numpy(), name, hit["column"].to_numpy(), hit["detail"].to_numpy())
        live[failures["position"].to_numpy()] = False

        for name, params in spec.rules:
            reasons = cleaning.RULES[name](typed, live, ctx, **params)
            positions = reasons.index.to_numpy(dtype=np.int64)
            assert live[positions].all(), f"rule {name} rejected a row an earlier step had rejected"
            quarantine.add(positions, name, None, reasons.to_numpy())
            live[positions] = False

        # the rejected rows' raw records as JSON, beside the linking, ordering and masking of the kept ones
        quarantined = background.submit(quarantine.frame)
        time_column = TIME_COLUMNS.get(spec.table)

        def linked_and_ordered(rows: pa_arrow.Table) -> tuple[pa_arrow.Table, np.ndarray | None]:
            """Linked for every row, so the archive order (team by team) is known before the one gather."""
            if spec.link:
                rows = _linked(rows, tables[spec.link["table"]], spec.link["key"], spec.link["columns"])
            return rows, archive_order(rows, time_column) if time_column else None

        # while the pseudonyms are still being made, unless the link reads or writes a column they replace
        early = not spec.link or not {spec.link["key"], *spec.link["columns"]} & {*spec.pseudonymise,
                                                                                 spec.customer_names}
        if early:
            typed, order = linked_and_ordered(typed)
        if spec.customer_names:
            typed = typed.drop_columns([spec.customer_names])
        for column_name, future in pseudonymised.items():
            typed = _replace(typed, column_name, future.result())
        learned.result()
        if not early:
            typed, order = linked_and_ordered(typed)
        kept = take_rows(typed, _archive_order(order, live))
        for column_name in spec.mask_pii:
            kept = _replace(kept, column_name, per_value(kept[column_name], lambda v: _masked(v, names, ids,
                                                                                       locales=config.pii_locales)))
        kept = _with_unit_columns(kept, spec.table)

    q = quarantined.result()
    by_rule = q["rule"].value_counts().to_dict()
    order = STEP_RULES + [n for n, _ in spec.rules]
    entry = {
        "files": info["files"],
        "raw": int(raw.num_rows + len(unparseable)),
        "archived": int(kept.num_rows),
        "quarantined": int(len(q)),
        "by_rule": {r: int(by_rule[r]) for r in order if r in by_rule},
        "warnings": info["warnings"],
        "ignored_columns": info["ignored_columns"],
        "timezone": spec.timezone,
        "timezone_stated": spec.timezone_stated,
    }
    if not config.valid_time_range_stated:
        entry["warnings"].append(f"times checked against {config.valid_time_range[0]}..{config.valid_time_range[1]} "
                                 "(the default; state valid_time_range in sources.yml)")
    if not spec.timezone_stated:
        entry["warnings"].append(f"naive timestamps read as {spec.timezone} (default_timezone; "
                                 f"state 'timezone:' for source {spec.table} if that is wrong)")
    assert entry["raw"] == entry["archived"] + entry["quarantined"], f"row accounting broken for {spec.table}"
    return kept, q, entry


def _flagged_positions(raw: pa_arrow.Table, flagged: pd.DataFrame) -> pd.DataFrame:
    """The reader's flagged rows (file, row) as positions in ``raw``, the first flag of each row only."""
    if flagged.empty:
        return flagged.assign(position=pd.Series(dtype="int64"))
    where = pd.DataFrame({"_file": pd.Series(decoded(raw["_file"]).to_pandas(), dtype=str),
                          "_row": raw["_row"].to_numpy(), "position": np.arange(raw.num_rows)})
    found = flagged.drop_duplicates(["_file", "_row"]).merge(where, on=["_file", "_row"])
    return found.sort_values("position")


def _distinct_text(values: pa_arrow.ChunkedArray) -> pa_arrow.Array:
    frame = pa_arrow.table({"x": values})  # noqa: F841 -- read by DuckDB by name
    return connect().sql("SELECT DISTINCT x FROM frame").to_arrow_table()["x"]


def _with_unit_columns(table: pa_arrow.Table, name: str) -> pa_arrow.Table:
    """Add the link columns (team, department, ...) a table lacks, as nulls: every table can be
    loaded for a unit, also when its source links to nothing."""
    for column in LINK_COLUMNS[name]:
        if column not in table.column_names:
            table = table.append_column(column, pa_arrow.nulls(table.num_rows, pa_arrow.string()))
    return table


def empty_table(name: str) -> pa_arrow.Table:
    """A table with no rows and every canonical and link column: what an absent table is archived as."""
    schema = SCHEMAS[name]
    table = pa_arrow.table({column: pa_arrow.array([], ARROW_TYPES[parse_kind(name, column)])
                            for column in schema.columns})
    return _with_unit_columns(table, name)


def _replace(table: pa_arrow.Table, column: str, values) -> pa_arrow.Table:
    return table.set_column(table.column_names.index(column), column, values)


def _linked(rows: pa_arrow.Table, other: pa_arrow.Table, on: str, columns: list[str]) -> pa_arrow.Table:
    """``columns`` of ``other`` joined to ``rows`` on ``on`` (the first match: many rows to one; a null key
    matches a null key); where a row has a value of its own, it wins (an agent may work in several teams).
    Every row is linked, rejected or not: the archive order needs the team before the rows are picked.

    A joined column is a dictionary over ``other``'s column (over its dictionary, when it has one), so
    gathering the rows later moves only indices, and no copy of ``other``'s column is made.
    """
    keys, known = rows[on], decoded(other[on])
    found = as_array(per_value(keys, lambda v: pc.index_in(v, value_set=known)))
    if keys.null_count:  # a dictionary holds no null entry for null keys: look null up once
        null_at = pc.index_in(pa_arrow.nulls(1, known.type), value_set=known)[0]
        if null_at.is_valid:
            found = pc.if_else(as_array(keys).is_null(), null_at, found)
    found = as_array(found).cast(pa_arrow.int32())
    for column_name in columns:
        source = as_array(other[column_name])
        linked = pa_arrow.DictionaryArray.from_arrays(source.indices.take(found), source.dictionary) \
            if pa_arrow.types.is_dictionary(source.type) else pa_arrow.DictionaryArray.from_arrays(found, source)
        if column_name not in rows.column_names:
            rows = rows.append_column(column_name, linked)
            continue
        own = as_array(rows[column_name])
        if own.null_count < len(own):
            linked = pc.coalesce(decoded(own).cast(linked.type.value_type), decoded(linked))
        rows = _replace(rows, column_name, linked)
    return rows


def _masked(values: pa_arrow.Array, *maskers: NameMasker,
            locales: tuple[str, ...] = ("cn", "intl")) -> pa_arrow.Array:
    """PII masked in the non-empty values of a free-text column; the rest is not touched."""
    values = decoded(values)
    present = pc.fill_null(pc.greater(pc.utf8_length(values), 0), False)
    positions = np.flatnonzero(present.to_numpy(zero_copy_only=False))
    if len(positions) == 0:
        return values
    masked = mask_text(pd.Series(values.take(pa_arrow.array(positions)).to_pylist(), dtype="str"), *maskers,
                       locales=locales)
    return pc.replace_with_mask(values, present, pa_arrow.array(masked.tolist(), pa_arrow.string()))


def _stable_order(times: np.ndarray) -> np.ndarray | None:
    """Positions of ``times`` in a stable sort, or ``None`` when they are sorted already."""
    if len(times) and (np.diff(times) >= 0).all():
        return None
    return np.argsort(times, kind="stable")


def _times(values: pa_arrow.ChunkedArray | pa_arrow.Array) -> np.ndarray:
    """Timestamps as int64 in their unit (the archive's: microseconds), null as 0 (a rejected row's: where it
    sorts is moot)."""
    return pc.fill_null(values, 0).to_numpy().view("int64")


def _archive_order(order: np.ndarray | None, live: np.ndarray) -> np.ndarray:
    """Positions of the kept rows in archive order, from the :func:`archive_order` of every row (``None``: as
    they are). Taken before the rules have decided which rows stay: a stable order of all rows, less the
    rejected ones, is the kept rows' order."""
    return np.flatnonzero(live) if order is None else order[live[order]]


# ---------------------------------------------------------------- writing

def _pandas_schema(table: str, columns: list[str]) -> dict:
    """The pandas metadata of a table's columns, so loads restore Int64, Float64 and boolean."""
    dtypes = {}
    for name in columns:
        owner = next((t for t in (table, *SCHEMAS) if name in SCHEMAS[t].columns), None)
        dtypes[name] = PANDAS_TYPES[parse_kind(owner, name)] if owner else "str"  # extra columns are text
    empty = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})
    return pa_arrow.Schema.from_pandas(empty, preserve_index=False).metadata


def archive_schema(table: pa_arrow.Table, source: str) -> pa_arrow.Schema:
    """The schema ``table`` is written with: dictionaries as plain text, pandas dtypes in the metadata."""
    return pa_arrow.schema([(f.name, f.type.value_type if pa_arrow.types.is_dictionary(f.type) else f.type)
                            for f in table.schema], metadata=_pandas_schema(source, table.column_names))


def dictionary_columns(schema: pa_arrow.Schema, id_column: str) -> list[str]:
    """Columns written with parquet dictionaries: every text column but the table's own id (codes, teams,
    agents and customers repeat; the writer falls back to plain pages where a column's values do not).

    Fixed by the archive schema, not by how a reader happened to hold a column, so the same rows give the
    same bytes however they were batched: an archive grown by ``--append`` equals a full ingest.
    """
    return [f.name for f in schema if f.name != id_column
            and (pa_arrow.types.is_string(f.type) or pa_arrow.types.is_large_string(f.type))]


def _team_rank(team: pa_arrow.Array | pa_arrow.ChunkedArray) -> np.ndarray:
    """Each row's team as its rank among the distinct team texts (0 first), rows without a team after them,
    so an integer sort orders teams; 16 bits where they fit."""
    team = as_array(team)
    if pa_arrow.types.is_dictionary(team.type) and len(team.dictionary) <= len(team):
        # a reader's or a link's dictionary: rank its entries, not the rows (unless there are more entries,
        # as when the rows are linked to the teams of a longer table)
        entries, codes = decoded(team.dictionary).cast(pa_arrow.string()), team.indices
    else:
        encoded = pc.dictionary_encode(decoded(team).cast(pa_arrow.string()))
        entries, codes = encoded.dictionary, encoded.indices
    # dense: a dictionary may hold one text twice (values trimmed or mapped after it was built), and rows of
    # one team must get one rank whatever entry they point to; a null entry ranks with the rows without a team
    rank = pc.rank(entries, sort_keys="ascending", tiebreaker="dense").to_numpy() - 1
    missing = int(pc.count_distinct(entries, mode="only_valid").as_py())
    rank[entries.is_null().to_numpy(zero_copy_only=False)] = missing
    rank = np.append(rank, missing)
    key = rank[codes.cast(pa_arrow.int64()).fill_null(len(entries)).to_numpy()]
    return key.astype(np.int16 if missing < 2**15 else np.int64)


def archive_order(rows: pa_arrow.Table, time_column: str) -> np.ndarray | None:
    """Positions of rows in archive order, or ``None`` when they are in it already.

    Archive order is month by month, within a month team by team (teams in text order, rows without a team
    last), and within a team time order, equal times in the order the rows came (export order; an append's
    new rows after the archived ones). A team's rows are then neighbouring row groups and pages of the month
    file, whose statistics let a scan for one team skip the others' (issue 17: one team's queries over a
    quarter of the 10 M archive took 2.5 s instead of 3.5 s). Clustered, the team, department and agent
    columns also compress: a month of 0.8 M tickets is a fifth smaller.

    An ingest orders all its kept rows at once and gathers them once; an append, one month's archived and
    new rows.
    """
    if not rows.num_rows:
        return None
    times = _times(rows[time_column])
    unit = f"datetime64[{getattr(rows.schema.field(time_column).type, 'unit', 'us')}]"
    order = _stable_order(times)
    in_time_order = times if order is None else times[order]
    # month by month: in time order a month's rows are one run, so each row's month is a run number
    first, last = in_time_order[[0, -1]].view(unit).astype("datetime64[M]")
    months = np.arange(first, last + 2)  # each month's start, and the end of the last
    counts = np.diff(np.searchsorted(in_time_order, months.astype(unit).astype(np.int64)))
    counts = counts[counts > 0]  # numbered among the months that have rows: the keys stay few
    key = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    if "team" in rows.column_names:
        team = _team_rank(rows["team"])
        key = key * (int(team.max()) + 1) + (team if order is None else team[order])
    top = int(key.max())
    if top == 0:  # one month, one team: time order is archive order
        return order
    # a stable sort of the rows in time order by (month, team): Arrow counts the few keys (numpy's radix
    # sort of 10 M 16-bit keys took three times as long)
    key = key.astype(np.int16 if top < 2**15 else np.int64)
    by_key = pc.sort_indices(pa_arrow.array(key)).to_numpy().view(np.int64)  # uint64: a difference would wrap
    order = by_key if order is None else order[by_key]
    return None if (np.diff(order) > 0).all() else order


def write_archive_file(rows: pa_arrow.Table, target: Path, source: str) -> None:
    """One archive file of ``source``'s rows as they are, written the one way ingest and append both write:
    columns held as dictionaries here (channel, team, ...) as plain text, the pandas metadata restoring
    nullable dtypes on load, parquet dictionaries as :func:`dictionary_columns` says."""
    target.parent.mkdir(parents=True, exist_ok=True)
    plain = archive_schema(rows, source)
    pq.write_table(rows.cast(plain), target, row_group_size=ROW_GROUP,
                   use_dictionary=dictionary_columns(plain, id_column(source)))


def _write_table(table: pa_arrow.Table, folder: Path, source: str) -> None:
    """One parquet file per month of rows in archive order (:func:`archive_order`), or one file for the roster
    (:func:`write_archive_file`)."""
    folder.mkdir(parents=True, exist_ok=True)
    time_column = TIME_COLUMNS.get(source)
    if time_column is None:
        sort_by = [(c, "ascending") for c in ("team", id_column(source)) if c in table.column_names]
        write_archive_file(table.take(pc.sort_indices(table, sort_keys=sort_by)), folder / "part-0.parquet", source)
        return
    if table.num_rows == 0:  # no rows: still leave the schema, so loads return an empty table, not an error
        (folder / f"month={EMPTY_MONTH}").mkdir()
        write_archive_file(table, folder / f"month={EMPTY_MONTH}" / "part-0.parquet", source)
        return
    stamps = table[time_column]
    months = pc.add(pc.multiply(pc.year(stamps), 100), pc.month(stamps)).to_numpy()
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    parts = []
    for start, end in zip(starts, [*starts[1:], len(months)]):
        target = folder / f"month={months[start] // 100:04d}-{months[start] % 100:02d}"
        target.mkdir()
        parts.append((table.slice(start, end - start), target / "part-0.parquet"))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # the parquet writer releases the GIL
        list(pool.map(lambda part: write_archive_file(*part, source), parts))


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def file_hashes(folder: Path, previous: Path | None = None, known: dict[str, str] | None = None) -> dict[str, str]:
    """SHA-256 of every archived parquet file (the quarantine left out), by relative path.

    A file that is a hard link of the same path in ``previous`` (a generation whose report recorded
    ``known``) keeps its recorded hash without being read: archive files are never changed in place, so
    an append or a purge hashes only the files it wrote. A file altered after its hash was recorded
    is still caught by :func:`fingerprint` without ``hashes``, which reads every byte.
    """
    known = known or {}
    hashes = {}
    for relative in archive_files(folder):
        if relative.startswith("quarantine/"):
            continue
        path = folder / relative
        if relative in known and previous is not None and (previous / relative).exists() \
                and os.path.samefile(path, previous / relative):
            hashes[relative] = known[relative]
        else:
            hashes[relative] = _file_sha256(path)
    return hashes


def fingerprint(folder: Path, hashes: dict[str, str] | None = None) -> str:
    """A hash over every archived parquet file's path and SHA-256: same archive, same fingerprint.

    With ``hashes`` (from :func:`file_hashes`, as the report records them) no file is read; without,
    every file is read and hashed, which is how an archive is verified.
    """
    hashes = hashes if hashes is not None else file_hashes(folder)
    digest = hashlib.sha256()
    for relative in sorted(hashes):
        digest.update(relative.encode())
        digest.update(bytes.fromhex(hashes[relative]))
    return digest.hexdigest()


def _commit_generation(archive_dir: Path, staging: Path, report: dict) -> None:
    """Write the staged generation's report, then make it current in one atomic switch (ingest and append)."""
    (staging / "ingest_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    fault_point("ingest:staged")
    _switch(archive_dir, staging)


def ingest(raw_dir: str | os.PathLike, archive_dir: str | os.PathLike, config: str | os.PathLike | None = None,
           key: bytes | None = None, tables: list[str] | None = None, check: bool = False) -> dict:
    """Ingest every source of the mapping from ``raw_dir`` into ``archive_dir``.

    The new archive is written in full to a new generation folder beside the archive, then
    made current in one atomic rename of the archive link (see :mod:`qa_helpers.data.archive`);
    a crash at any moment leaves the old archive or the new one, whole. Generations and swap
    links left by a crashed ingest are removed at the start of the next one, under a lock that
    refuses a second ingest into the same archive meanwhile.

    Parameters
    ----------
    raw_dir : path-like
        Folder with the raw exports (never modified).
    archive_dir : path-like
        The archive (link); replaced as a whole only once every source has ingested.
    config : path-like, optional
        The config folder or its ``sources.yml`` (default: see :func:`qa_helpers.config.config_dir`).
    key : bytes, optional
        The pseudonymisation key (default: :func:`qa_helpers.data.privacy.load_key`).
    tables : list of str, optional
        Only these sources (and the ones they depend on); default every source.
    check : bool
        A dry run: read, map, validate and clean every source, write nothing, and return the
        report with up to three ``examples`` (file, row, column, detail) per rule.

    Returns
    -------
    dict
        The ingest report, also written to ``<archive>/ingest_report.json``.

    Raises
    ------
    SourceError
        When a raw file cannot be read at all; nothing is written then.
    LockedError
        When another ingest is writing the same archive.
    """
    from qa_helpers.data import storage

    if storage.is_remote(archive_dir) and not check:  # s3://: built in a local folder, uploaded, pointer last
        return storage.ingest(raw_dir, archive_dir, config=config, key=key, tables=tables)
    with ingest_memory_pool(), archive_text_storage():
        return _ingest(Path(raw_dir), Path(archive_dir), config, key, tables, check)


def _ingest(raw_dir: Path, archive_dir: Path, config: str | os.PathLike | None, key: bytes | None,
            tables: list[str] | None, check: bool) -> dict:
    """:func:`ingest` into a local folder."""
    sources = load_sources(config)
    selected = _with_dependencies(sources, tables)
    if check:
        return _ingest_tables(selected, raw_dir, sources, key if key is not None else b"check-only", None)[0]
    _check_archive_target(raw_dir, archive_dir)
    key = key if key is not None else load_key(archive_dir)
    archive_dir.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(archive_dir.parent / f".{archive_dir.name}.lock", f"archive {archive_dir}"):
        _clean_debris(archive_dir)
        staging = _new_generation(archive_dir)
        try:
            report, kept = _ingest_tables(selected, raw_dir, sources, key, staging)
            _carry_over(archive_dir, staging, report, keep=set(sources.sources) - set(selected))
            for table in ARCHIVE_TABLES:  # an absent table is archived empty, so every load finds its columns
                if table not in report["sources"]:
                    _write_table(empty_table(table), staging / table, table)
            repeat_index.build(staging, tickets=kept.get("tickets"))
            report["availability"] = _availability(sources, report)
            with ThreadPoolExecutor(max_workers=1) as background:  # hashing releases the GIL: beside DuckDB
                hashed = background.submit(file_hashes, staging)
                report["units"] = _units(staging)
                report["sha256"] = hashed.result()
            report["repeat_index"] = repeat_index.index_record(report["sha256"])
            report["fingerprint"] = fingerprint(staging, report["sha256"])
            report["files"] = archive_files(staging)
            _commit_generation(archive_dir, staging, report)
        except BaseException:
            _remove_generation(staging)
            raise
        _clean_debris(archive_dir)
    return report


def _ingest_tables(selected: dict[str, SourceSpec], raw_dir: Path, sources: SourcesConfig, key: bytes,
                   staging: Path | None) -> tuple[dict, dict[str, pa_arrow.Table]]:
    """Ingest the selected sources in order; write each to ``staging`` (``None``: a check, nothing written)."""
    tables: dict[str, pa_arrow.Table] = {}
    report: dict = {"archive_timezone": sources.archive_timezone, "default_timezone": sources.default_timezone,
                    "layout": ARCHIVE_LAYOUT, "sources": {}}
    if staging is None:
        report["check"] = True
    names, ids = NameMasker(), NameMasker(token=ID_TOKEN)
    files: dict = {}
    for table, spec in selected.items():
        kept, quarantined, entry = ingest_source(spec, raw_dir, sources, tables, key, names, ids, files)
        tables[table] = kept
        if staging is not None and entry["raw"] and not entry["archived"]:
            top = quarantined["rule"].value_counts().index[0]
            first = quarantined[quarantined["rule"] == top].iloc[0]
            raise SourceError(f"every one of the {entry['raw']:,} rows of source {table!r} would be quarantined, "
                              f"most as {top} ({first['detail']}); nothing was written: fix the mapping in "
                              "sources.yml (`qakit ingest --check` shows what each rule rejects)",
                              file=str(first["file"]), row=int(first["row"]),
                              column=None if pd.isna(first["column"]) else str(first["column"]))
        if staging is None:
            entry["examples"] = {rule: group[["file", "row", "column", "detail"]].head(3).to_dict("records")
                                 for rule, group in quarantined.groupby("rule", sort=False)}
        else:
            _write_table(kept, staging / table, table)
            (staging / "quarantine").mkdir(exist_ok=True)
            quarantined.to_parquet(staging / "quarantine" / f"{table}.parquet", index=False)
        report["sources"][table] = entry
    return report, tables


def _availability(sources: SourcesConfig, report: dict) -> dict:
    """Per table: whether a source fed it, its present and absent canonical fields, its extra columns."""
    out = {}
    for table in ARCHIVE_TABLES:
        spec = sources.sources.get(table)
        if table not in report["sources"]:
            out[table] = {"present": False, "fields": [], "absent_fields": list(SCHEMAS[table].columns), "extra": []}
            continue
        canonical = [c for c in SCHEMAS[table].columns if c != "customer_name"]
        linked = set((spec.link or {}).get("columns") or []) if spec else set()
        absent = set(spec.absent) if spec else set()
        if spec and "team" in absent and "team" in linked:
            absent -= {"team"}
        out[table] = {
            "present": True,
            "fields": [c for c in canonical if c not in absent] + [c for c in LINK_COLUMNS[table] if c in linked],
            "absent_fields": [c for c in canonical if c in absent]
                             + [c for c in LINK_COLUMNS[table] if c not in linked],
            "extra": list(spec.keep.values()) if spec else [],
        }
    return out


def _units(staging: Path) -> list[dict]:
    """Every (team, department) pair of the roster and of the tickets: the units of analysis."""
    roster, tickets = staging / "agents", staging / "tickets"  # noqa: F841 -- read by DuckDB by name
    parts = [f"SELECT DISTINCT team, department FROM read_parquet('{str(folder).replace(chr(39), chr(39) * 2)}/**/*.parquet') "
             "WHERE team IS NOT NULL"
             for folder in (roster, tickets) if any(folder.rglob("*.parquet"))]
    if not parts:
        return []
    pairs = connect().execute(" UNION ".join(parts) + " ORDER BY department NULLS LAST, team").fetchall()
    return [{"team": team, "department": department} for team, department in pairs]


def _check_archive_target(raw_dir: Path, archive_dir: Path) -> None:
    """Refuse a target that ingest's replace step could destroy by mistake."""
    if raw_dir.resolve().is_relative_to(archive_dir.resolve()):
        raise SourceError("the archive folder contains the raw exports; replacing it would delete them: "
                          "choose another --archive", file=str(archive_dir))
    if archive_dir.is_symlink() and not archive_dir.exists():
        return  # a link to a generation someone deleted: nothing left to protect, the new one replaces it
    if archive_dir.exists() and any(archive_dir.iterdir()) and not (archive_dir / "ingest_report.json").exists():
        raise SourceError("the folder exists and is not an archive (no ingest_report.json); ingest replaces its "
                          "target, so give a new or an archive folder", file=str(archive_dir))


def _new_generation(archive_dir: Path) -> Path:
    """Make the next generation folder, marked as the kit's, for ingest to write into."""
    pattern = generation_pattern(archive_dir)
    numbers = [int(m["gen"]) for m in map(pattern.match, os.listdir(archive_dir.parent)) if m and m["gen"]]
    folder = generation_folder(archive_dir, max(numbers, default=0) + 1)
    folder.mkdir()
    (folder / GENERATION_MARKER).write_text(json.dumps({"archive": archive_dir.name}), encoding="utf-8")
    return folder


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_cwd, rename_exchange = -100, 2
    return libc.renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), rename_exchange) == 0


def _switch(archive_dir: Path, generation: Path) -> None:
    """Make ``generation`` the archive: replace the archive link with one to it, atomically.

    An archive of the old layout (a plain folder) is exchanged with the new link in one step;
    it is left, marked, under the link's name, and removed with the other debris.
    """
    link = archive_dir.parent / f".{archive_dir.name}.link-{os.getpid()}"
    if link.is_symlink():
        link.unlink()
    os.symlink(generation.name, link)  # relative: the archive moves with its parent folder
    fault_point("ingest:linked")
    if archive_dir.is_symlink() or not archive_dir.exists():
        os.replace(link, archive_dir)
        fault_point("ingest:switched")
        return
    (archive_dir / GENERATION_MARKER).write_text(json.dumps({"archive": archive_dir.name, "legacy": True}),
                                                 encoding="utf-8")
    if _exchange(link, archive_dir):
        fault_point("ingest:switched")
    else:  # no atomic exchange here: the old folder moves aside, then the link takes its place
        os.rename(archive_dir, generation_folder(archive_dir, 0))
        os.replace(link, archive_dir)


def _remove_generation(folder: Path) -> None:
    """Delete a generation folder, its marker last, so that a crash midway leaves it recognisable."""
    for child in sorted(folder.iterdir()):
        if child.name == GENERATION_MARKER:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
        fault_point("ingest:cleanup")
    (folder / GENERATION_MARKER).unlink(missing_ok=True)
    folder.rmdir()


def _clean_debris(archive_dir: Path) -> None:
    """Remove what crashed ingests left beside the archive: every generation but the current one,
    swap links, and the staging folders of earlier kit versions. Only folders the kit made are
    touched: matched by name and carrying the kit's marker (or, for old staging, only the kit's files).
    """
    parent = archive_dir.parent
    if not archive_dir.exists() and not archive_dir.is_symlink() and (generation_folder(archive_dir, 0)
                                                                      / GENERATION_MARKER).exists():
        os.rename(generation_folder(archive_dir, 0), archive_dir)  # a crash while moving an old-layout archive aside
        (archive_dir / GENERATION_MARKER).unlink()
    # the current generation, and any other a link points to (an archive link renamed by hand)
    pattern = generation_pattern(archive_dir)
    in_use = {(parent / name).resolve() for name in os.listdir(parent)
              if (parent / name).is_symlink() and not pattern.match(name)}
    for name in sorted(os.listdir(parent)):
        path = parent / name
        match = pattern.match(name)
        if match and path.is_symlink():
            path.unlink()  # a swap link that never replaced the archive
        elif match and path.resolve() not in in_use and path.is_dir() and ((path / GENERATION_MARKER).exists()
                                                                          or not any(path.iterdir())):
            _remove_generation(path)
        elif re.fullmatch(rf"\.{re.escape(archive_dir.name)}-[a-z0-9_]{{8}}", name) and path.is_dir() and \
                {p.name for p in path.iterdir()} <= {*ARCHIVE_TABLES, "quarantine", "ingest_report.json"}:
            shutil.rmtree(path)  # staging of a kit version before generations (tempfile.mkdtemp's names)
    if archive_dir.is_dir() and not archive_dir.is_symlink():
        (archive_dir / GENERATION_MARKER).unlink(missing_ok=True)  # a crash before exchanging an old-layout archive


def _carry_over(old: Path, staging: Path, report: dict, keep: set[str]) -> None:
    """With --tables, keep the other tables of the existing archive as they were."""
    old_report = old / "ingest_report.json"
    if not keep or not old_report.exists():
        return
    old = archive_path(old)  # the current generation, checked against its file list
    old_report = json.loads((old / "ingest_report.json").read_text(encoding="utf-8"))
    previous, purged = old_report["sources"], old_report.get("purged", {})
    for table in sorted(keep & set(previous)):
        shutil.copytree(old / table, staging / table)
        (staging / "quarantine").mkdir(exist_ok=True)
        target = staging / "quarantine" / f"{table}.parquet"
        kept = quarantine_files(old, table)
        if len(kept) == 1:
            shutil.copy2(kept[0], target)
        else:  # the new archive starts its batches afresh: the appends' quarantine files become the ingest's one
            pq.write_table(pa_arrow.concat_tables([pq.read_table(p) for p in kept], promote_options="permissive"),
                           target)
        report["sources"][table] = previous[table]
        if table in purged:  # the kept table is still without its purged months
            report.setdefault("purged", {})[table] = purged[table]


def _with_dependencies(sources: SourcesConfig, tables: list[str] | None) -> dict[str, SourceSpec]:
    if tables is None:
        return sources.sources
    unknown = sorted(set(tables) - set(sources.sources))
    if unknown:
        raise SourceError(f"unknown source(s) {unknown}; sources are {', '.join(sources.sources)}",
                          file=str(sources.path))
    wanted = set(tables)
    while True:
        more = set().union(*(sources.sources[t].depends_on() for t in wanted)) - wanted
        if not more:
            break
        wanted |= more
    return {t: s for t, s in sources.sources.items() if t in wanted}


def report_table(report: dict) -> pd.DataFrame:
    """The ingest report as one row per source: raw, archived, quarantined and counts by rule."""
    rows = []
    for table, entry in report["sources"].items():
        rows.append({"source": table, "files": len(entry["files"]), "raw": entry["raw"],
                     "archived": entry["archived"], "quarantined": entry["quarantined"],
                     **entry["by_rule"]})
    frame = pd.DataFrame(rows).fillna(0)
    return frame.astype({c: "int64" for c in frame.columns if c != "source"})
