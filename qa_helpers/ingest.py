"""Ingest: raw exports -> validated, cleaned, pseudonymised parquet archive + quarantine.

One entry point, :func:`ingest`. For each source in ``config/sources.yml`` (in file
order, so that a table can link to one ingested before it):

1. read every matching raw file as text (:mod:`qa_helpers.readers`);
2. check the header carries every required column; rename to canonical names;
3. parse text into the schema's types: a value that cannot be read is ``malformed_value``;
4. validate with the pandera schema: an empty required value is ``missing_required``,
   any other failed check ``invalid_value``;
5. apply the source's cleaning rules in order (:mod:`qa_helpers.cleaning`);
6. pseudonymise customer ids, mask PII in free text, drop customer names, link team and
   other columns from earlier tables, and write one parquet file per calendar month.

Every row rejected at any step lands in ``<archive>/quarantine/<table>.parquet`` with its
rule, the column at fault, a detail and the raw record, so ``raw = archived +
quarantined`` per source, always. ``<archive>/ingest_report.json`` holds the counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from . import cleaning
from .config import SourcesConfig, SourceSpec, load_sources
from .errors import SourceError
from .privacy import ID_TOKEN, NameMasker, load_key, mask_text, pseudonymise
from .readers import RawFrame, guess_encoding, read_raw
from .schemas import SCHEMAS, TIME_COLUMNS, parse_kind, required_columns

TRUE_TOKENS = {"是", "y", "yes", "true", "t", "1"}
FALSE_TOKENS = {"否", "n", "no", "false", "f", "0"}
OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
ROW_GROUP = 131_072
EMPTY_MONTH = "0000-00"  # the partition that holds only the schema of a table with no rows
# Precedence of the steps, for reports: a row gets the first rule that rejects it.
STEP_RULES = ["unparseable_row", "malformed_value", "missing_required", "invalid_value"]


@dataclass
class Quarantine:
    """Rows rejected so far for one source, one entry per rejected raw row."""

    parts: list[pd.DataFrame] = field(default_factory=list)

    def add(self, raw: pd.DataFrame, rows: pd.Index, rule: str, column: pd.Series | str | None,
            detail: pd.Series | str) -> None:
        if len(rows) == 0:
            return
        picked = raw.loc[rows]
        part = pd.DataFrame({
            "file": picked["_file"].to_numpy(),
            "row": picked["_row"].to_numpy(),
            "rule": rule,
            "column": column.loc[rows].to_numpy() if isinstance(column, pd.Series) else column,
            "detail": detail.loc[rows].astype(str).to_numpy() if isinstance(detail, pd.Series) else detail,
            "record": [json.dumps(r, ensure_ascii=False) for r in
                       picked.drop(columns=["_file", "_row"]).to_dict("records")],
        })
        self.parts.append(part)

    def add_unparseable(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.parts.append(pd.DataFrame({
                "file": frame["_file"].to_numpy(), "row": frame["_row"].to_numpy(), "rule": "unparseable_row",
                "column": None, "detail": frame["detail"].to_numpy(),
                "record": [json.dumps({"line": r}, ensure_ascii=False) for r in frame["record"]],
            }))

    def frame(self) -> pd.DataFrame:
        columns = ["file", "row", "rule", "column", "detail", "record"]
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else str) for c in columns})
        out = pd.concat(self.parts, ignore_index=True)
        out["column"] = out["column"].astype("string")
        return out.sort_values(["file", "row"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- reading and mapping

def _files(spec: SourceSpec, raw_dir: Path) -> list[Path]:
    files = sorted(p for p in raw_dir.glob(spec.pattern) if p.is_file())
    if not files:
        raise SourceError(f"no file matches the pattern {spec.pattern!r} of source {spec.table!r}",
                          file=str(raw_dir / spec.pattern))
    return files


def _check_header(spec: SourceSpec, path: Path, frame: RawFrame) -> list[str]:
    """Raise on a missing required column; return the optional columns that are missing."""
    headers = [c for c in frame.rows.columns if not c.startswith("_")]
    present = set(headers)
    required = set(required_columns(spec.table))
    missing_required = [raw for raw, canon in spec.columns.items() if canon in required and raw not in present]
    if missing_required:
        hint = ""
        if spec.format != "xlsx" and not (present & set(spec.columns)):
            guess = guess_encoding(path.read_bytes())
            if guess and guess.replace("_", "-").lower() != spec.encoding.replace("_", "-").lower():
                hint = (f"; no expected header was found at all: the file looks like {guess}, "
                        f"not {spec.encoding} as the source mapping says")
        raise SourceError(
            f"required column missing (maps to {spec.columns[missing_required[0]]!r}); "
            f"the header has {headers}{hint}", file=str(path), row=1, column=missing_required[0])
    return [raw for raw in spec.columns if raw not in present]


def read_source(spec: SourceSpec, raw_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read all files of a source: raw text rows, unparseable rows, and what was read."""
    frames, bad, info = [], [], {"files": [], "warnings": [], "ignored_columns": set()}
    for path in _files(spec, raw_dir):
        frame = read_raw(path, spec.format, spec.encoding, spec.sheet)
        missing_optional = _check_header(spec, path, frame)
        for raw in missing_optional:
            frame.rows[raw] = ""
            frame.warnings.append(f"{path.name}: optional column {raw!r} absent; left empty")
        info["ignored_columns"] |= {c for c in frame.rows.columns if not c.startswith("_")} - set(spec.columns)
        info["warnings"] += frame.warnings
        info["files"].append({"name": path.name, "rows": len(frame.rows) + len(frame.unparseable),
                              "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        frames.append(frame.rows[[*spec.columns, "_file", "_row"]])
        bad.append(frame.unparseable)
    raw = pd.concat(frames, ignore_index=True)
    info["ignored_columns"] = sorted(info["ignored_columns"])
    return raw, pd.concat(bad, ignore_index=True), info


# ---------------------------------------------------------------- parsing

def _parse_datetime(text: pd.Series, spec: SourceSpec, archive_tz: str) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    todo = text.notna()
    for fmt in spec.datetime_formats:
        if not todo.any():
            break
        chunk = text[todo]
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
    return out


def _localise(times: pd.Series, source_tz: str, archive_tz: str) -> pd.Series:
    times = times.astype("datetime64[us]")
    if source_tz == archive_tz or times.empty:
        return times
    return times.dt.tz_localize(source_tz, ambiguous="NaT", nonexistent="NaT") \
        .dt.tz_convert(archive_tz).dt.tz_localize(None)


def parse_column(text: pd.Series, kind: str, spec: SourceSpec, column: str, archive_tz: str) -> pd.Series:
    """Turn a text column (``<NA>`` for empty) into the schema type; unreadable values become NA."""
    if kind == "str":
        mapping = spec.values.get(column)
        return (text.replace(mapping) if mapping else text).astype("str")
    if kind in ("int", "float"):
        # only text that looks like a number is cast (in Arrow); the rest becomes NA, then malformed
        looks = text.str.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?").fillna(False).astype(bool)
        numbers = pd.Series(np.nan, index=text.index)
        numbers[looks.to_numpy()] = text[looks.to_numpy()].astype("float64")
        if kind == "int":
            whole = numbers.notna() & (numbers % 1 == 0)
            return numbers.where(whole).astype("Int64")
        return numbers.astype("Float64")
    if kind == "bool":
        lowered = text.str.lower()
        return pd.Series(np.select([lowered.isin(TRUE_TOKENS), lowered.isin(FALSE_TOKENS)], [True, False], None),
                         index=text.index).astype("boolean")
    if kind == "datetime":
        return _parse_datetime(text, spec, archive_tz)
    raise ValueError(kind)


def parse_frame(raw: pd.DataFrame, spec: SourceSpec, archive_tz: str) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Parse raw text into the table's schema types.

    Returns
    -------
    typed : DataFrame
        One column per schema column, in schema order.
    bad_column, detail : Series
        For rows with a value that could not be read: the first such column and why.
    """
    schema = SCHEMAS[spec.table]
    raw_of = {canon: raw_col for raw_col, canon in spec.columns.items()}
    na_tokens = {"", *spec.na_values}
    typed = {}
    bad_column = pd.Series(pd.NA, index=raw.index, dtype="string")
    detail = pd.Series(pd.NA, index=raw.index, dtype="string")
    for column in schema.columns:
        kind = parse_kind(spec.table, column)
        if column not in raw_of:
            text = pd.Series(None, index=raw.index, dtype="str")
        else:
            text = raw[raw_of[column]].str.strip()  # stays Arrow-backed: no round trip through Python objects
            text = text.mask(text.isin(na_tokens))
        values = parse_column(text, kind, spec, column, archive_tz)
        typed[column] = values
        unreadable = text.notna() & values.isna() & bad_column.isna()
        if unreadable.any():
            bad_column[unreadable] = raw_of[column]
            detail[unreadable] = f"{raw_of[column]} ({column}): cannot read " + \
                text[unreadable].map(repr) + f" as {kind}"
    return pd.DataFrame(typed, index=raw.index), bad_column, detail


def validate(typed: pd.DataFrame, spec: SourceSpec) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Run the pandera schema; per failing row the rule, raw column and detail of its first failure."""
    rule = pd.Series(pd.NA, index=typed.index, dtype="string")
    column = rule.copy()
    detail = rule.copy()
    try:
        SCHEMAS[spec.table].validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        row_cases = cases[cases["index"].notna()]
        if len(row_cases) < len(cases):  # a column-level failure is a bug in parsing, not in the data
            raise
        order = {c: i for i, c in enumerate(SCHEMAS[spec.table].columns)}
        row_cases = row_cases.assign(_order=row_cases["column"].map(order)) \
            .sort_values(["index", "_order"], kind="stable").drop_duplicates("index")
        idx = pd.Index(row_cases["index"].astype("int64"))
        is_null = (row_cases["check"] == "not_nullable").to_numpy()
        rule[idx] = np.where(is_null, "missing_required", "invalid_value")
        column[idx] = [spec.raw_header(c) for c in row_cases["column"]]
        detail[idx] = [f"{spec.raw_header(c)} ({c}): " + ("empty" if n else f"{v!r} fails {chk}")
                       for c, n, v, chk in zip(row_cases["column"], is_null, row_cases["failure_case"],
                                               row_cases["check"])]
    return rule, column, detail


# ---------------------------------------------------------------- one source

def ingest_source(spec: SourceSpec, raw_dir: Path, config: SourcesConfig, tables: dict[str, pd.DataFrame],
                  key: bytes, names: NameMasker, ids: NameMasker) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Ingest one source: the archived rows, the quarantine, and the report entry.

    A source that lists customer names (or pseudonymises ids) adds them to ``names`` (``ids``)
    before its own text is masked, so later sources mask them too.
    """
    raw, unparseable, info = read_source(spec, raw_dir)
    if spec.customer_names:
        names.add(raw[spec.raw_header(spec.customer_names)].astype(str).str.strip().unique())
    for column_name in spec.pseudonymise:  # a raw id typed into free text is masked like a name
        ids.add(raw[spec.raw_header(column_name)].astype(str).str.strip().unique())
    quarantine = Quarantine()
    quarantine.add_unparseable(unparseable)

    typed, bad_column, detail = parse_frame(raw, spec, config.archive_timezone)
    malformed = bad_column.notna()
    quarantine.add(raw, raw.index[malformed], "malformed_value", bad_column, detail)
    alive = ~malformed

    rule, column, detail = validate(typed[alive], spec)
    for name in ("missing_required", "invalid_value"):
        hit = rule.index[rule == name]
        quarantine.add(raw, hit, name, column, detail)
    alive[rule.index[rule.notna()]] = False

    ctx = cleaning.RuleContext(raw=raw, tables=tables, valid_time_range=config.valid_time_range)
    for name, params in spec.rules:
        reasons = cleaning.RULES[name](typed, typed.index[alive.to_numpy()], ctx, **params)
        hit = reasons.index[reasons.notna()]
        quarantine.add(raw, hit, name, None, reasons)
        alive[hit] = False

    kept = typed[alive].copy()
    for column_name in spec.pseudonymise:
        kept[column_name] = pseudonymise(kept[column_name], key)
    for column_name in spec.mask_pii:
        kept[column_name] = mask_text(kept[column_name], names, ids)
    if spec.customer_names:
        kept = kept.drop(columns=[spec.customer_names])
    if spec.link:
        other = tables[spec.link["table"]]
        on, extra = spec.link["key"], [c for c in spec.link["columns"] if c not in kept.columns]
        lookup = other[[on, *extra]].drop_duplicates(on)
        kept = kept.merge(lookup, on=on, how="left", validate="many_to_one")
    kept = kept.reset_index(drop=True)

    q = quarantine.frame()
    by_rule = q["rule"].value_counts().to_dict()
    order = STEP_RULES + [n for n, _ in spec.rules]
    entry = {
        "files": info["files"],
        "raw": int(len(raw) + len(unparseable)),
        "archived": int(len(kept)),
        "quarantined": int(len(q)),
        "by_rule": {r: int(by_rule[r]) for r in order if r in by_rule},
        "warnings": info["warnings"],
        "ignored_columns": info["ignored_columns"],
    }
    assert entry["raw"] == entry["archived"] + entry["quarantined"], f"row accounting broken for {spec.table}"
    return kept, q, entry


# ---------------------------------------------------------------- writing

def _write_table(frame: pd.DataFrame, folder: Path, time_column: str | None, id_column: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if time_column is None:
        sort_by = [c for c in ("team", id_column) if c in frame.columns]
        table = pa_arrow.Table.from_pandas(frame.sort_values(sort_by, kind="stable"), preserve_index=False)
        pq.write_table(table, folder / "part-0.parquet", row_group_size=ROW_GROUP)
        return
    # Sort once by month, then team and time: each month is one contiguous, zero-copy slice.
    month = frame[time_column].dt.strftime("%Y-%m")
    order = pd.DataFrame({"month": month, **{c: frame[c] for c in ("team", time_column, id_column)
                                             if c in frame.columns}})
    order = order.sort_values(list(order.columns), kind="stable", na_position="last")
    table = pa_arrow.Table.from_pandas(frame.take(order.index.to_numpy()), preserve_index=False)
    months = order["month"].to_numpy()
    if not len(months):  # no rows: still leave the schema, so loads return an empty table, not an error
        (folder / f"month={EMPTY_MONTH}").mkdir()
        pq.write_table(table, folder / f"month={EMPTY_MONTH}" / "part-0.parquet")
        return
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    for start, end in zip(starts, [*starts[1:], len(months)]):
        target = folder / f"month={months[start]}"
        target.mkdir()
        pq.write_table(table.slice(start, end - start), target / "part-0.parquet", row_group_size=ROW_GROUP)


def fingerprint(folder: Path) -> str:
    """A hash over every archived parquet file's path and bytes: same archive, same fingerprint."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.parquet")):
        if "quarantine" in path.relative_to(folder).parts:
            continue
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ingest(raw_dir: str | os.PathLike, archive_dir: str | os.PathLike, config: str | os.PathLike | None = None,
           key: bytes | None = None, tables: list[str] | None = None) -> dict:
    """Ingest every source of the mapping from ``raw_dir`` into ``archive_dir``.

    Parameters
    ----------
    raw_dir : path-like
        Folder with the raw exports (never modified).
    archive_dir : path-like
        Folder for the archive; replaced as a whole only once every source has ingested.
    config : path-like, optional
        The source mapping (default ``config/sources.yml``).
    key : bytes, optional
        The pseudonymisation key (default: :func:`qa_helpers.privacy.load_key`).
    tables : list of str, optional
        Only these sources (and the ones they depend on); default every source.

    Returns
    -------
    dict
        The ingest report, also written to ``<archive>/ingest_report.json``.

    Raises
    ------
    SourceError
        When a raw file cannot be read at all; nothing is written then.
    """
    raw_dir, archive_dir = Path(raw_dir), Path(archive_dir)
    _check_archive_target(raw_dir, archive_dir)
    sources = load_sources(config)
    selected = _with_dependencies(sources, tables)
    key = key if key is not None else load_key(archive_dir)
    archive_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{archive_dir.name}-", dir=archive_dir.parent))
    try:
        tables: dict[str, pd.DataFrame] = {}
        report: dict = {"archive_timezone": sources.archive_timezone, "sources": {}}
        names, ids = NameMasker(), NameMasker(token=ID_TOKEN)
        for table, spec in selected.items():
            kept, quarantined, entry = ingest_source(spec, raw_dir, sources, tables, key, names, ids)
            tables[table] = kept
            id_column = next(iter(SCHEMAS[table].columns))
            _write_table(kept, staging / table, TIME_COLUMNS.get(table), id_column)
            (staging / "quarantine").mkdir(exist_ok=True)
            quarantined.to_parquet(staging / "quarantine" / f"{table}.parquet", index=False)
            report["sources"][table] = entry
        _carry_over(archive_dir, staging, report, keep=set(sources.sources) - set(selected))
        report["fingerprint"] = fingerprint(staging)
        (staging / "ingest_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        if archive_dir.exists():
            shutil.rmtree(archive_dir)
        staging.rename(archive_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _check_archive_target(raw_dir: Path, archive_dir: Path) -> None:
    """Refuse a target that ingest's replace-the-folder step could destroy by mistake."""
    if raw_dir.resolve().is_relative_to(archive_dir.resolve()):
        raise SourceError("the archive folder contains the raw exports; replacing it would delete them: "
                          "choose another --archive", file=str(archive_dir))
    if archive_dir.exists() and any(archive_dir.iterdir()) and not (archive_dir / "ingest_report.json").exists():
        raise SourceError("the folder exists and is not an archive (no ingest_report.json); ingest replaces its "
                          "target, so give a new or an archive folder", file=str(archive_dir))


def _carry_over(old: Path, staging: Path, report: dict, keep: set[str]) -> None:
    """With --tables, keep the other tables of the existing archive as they were."""
    old_report = old / "ingest_report.json"
    if not keep or not old_report.exists():
        return
    previous = json.loads(old_report.read_text(encoding="utf-8"))["sources"]
    for table in sorted(keep & set(previous)):
        shutil.copytree(old / table, staging / table)
        (staging / "quarantine").mkdir(exist_ok=True)
        shutil.copy2(old / "quarantine" / f"{table}.parquet", staging / "quarantine" / f"{table}.parquet")
        report["sources"][table] = previous[table]


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
