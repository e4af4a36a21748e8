"""Read raw exports (CSV, XLSX, JSON lines) into all-text frames, loudly and losslessly.

Every reader returns a :class:`RawFrame`: the rows as text under their raw headers, the
row number of each in its file (the header is row 1), and the rows that could not be
split into fields at all. Problems that make a whole file unusable raise
:class:`~qa_helpers.errors.SourceError` naming the file, row and column.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from qa_helpers.errors import SourceError

CANDIDATE_ENCODINGS = ("utf-8", "gb18030")


@dataclass
class RawFrame:
    """Rows of one raw file as text.

    Attributes
    ----------
    rows : pyarrow.Table
        One text column per raw header (empty string for an empty cell), plus ``_file``
        and ``_row`` (the row number in the file; the header is row 1). Arrow, not pandas:
        ten million rows pass through ingest without a copy per step.
    unparseable : DataFrame
        Rows that could not be split into the header's fields: ``_file``, ``_row``,
        ``detail``, ``record`` (the raw text).
    warnings : list of str
        Things worth telling the user that lose no data.
    sha256 : str
        The file's SHA-256, for the ingest report.
    """

    rows: pa.Table
    unparseable: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    sha256: str = ""


def _with_position(rows: pa.Table, file: str, numbers: np.ndarray) -> pa.Table:
    """Text columns under stripped headers, plus the file name and each row's number in it."""
    rows = rows.rename_columns([str(c).strip() for c in rows.column_names])
    files = pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(numbers), dtype=np.int32)), pa.array([file]))
    return rows.append_column("_file", files).append_column("_row", pa.array(numbers, pa.int64()))


def _from_pandas(rows: pd.DataFrame, file: str, numbers) -> pa.Table:
    table = pa.Table.from_pandas(rows.astype(str), preserve_index=False)
    return _with_position(table.cast(pa.schema([(n, pa.string()) for n in table.column_names])), file,
                          np.asarray(numbers, dtype=np.int64))


def _empty_unparseable() -> pd.DataFrame:
    return pd.DataFrame({"_file": pd.Series(dtype=str), "_row": pd.Series(dtype="int64"),
                         "detail": pd.Series(dtype=str), "record": pd.Series(dtype=str)})


def guess_encoding(data: bytes) -> str | None:
    """The first candidate encoding (UTF-8, GB18030) that decodes the start of ``data``."""
    head = data[:65536]
    for encoding in CANDIDATE_ENCODINGS:
        try:
            head.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a character cut at the sample's end is not a failure
                continue
        return encoding
    return None


def decode(data: bytes, encoding: str, file: str) -> str:
    """Decode bytes strictly, naming the row of the first byte that does not decode."""
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = data.decode(codec)
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r} in the source mapping", file=file) from None
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        guess = guess_encoding(data)
        hint = f"; the file looks like {guess}: set 'encoding: {guess}' for this source" if guess and guess != encoding else ""
        raise SourceError(f"byte {exc.start} cannot be decoded as {encoding}{hint}", file=file, row=row) from None
    return text.lstrip("\ufeff")


_CONTENT = re.compile(rb"[^\s\xef\xbb\xbf]")
_UTF8 = ("utf-8", "utf8", "utf-8-sig")


def scan(path: Path) -> tuple[str, int]:
    """The file's SHA-256 and its number of line feeds, in one pass of 16 MB blocks."""
    digest, lines = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            digest.update(block)
            lines += block.count(b"\n")
    return digest.hexdigest(), lines


def _check_not_empty(path: Path) -> None:
    """Raise unless the file has a byte that is not white space (reads up to the first such byte)."""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            if _CONTENT.search(block):
                return
    raise SourceError("the file is empty: expected a header row and data rows", file=str(path), row=1)


def _header(path: Path, encoding: str, delimiter: str = ",") -> list[str]:
    """The column names of the first line."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        while b"\n" not in head and (more := fh.read(1 << 16)):
            head += more
    line = head.split(b"\n", 1)[0]
    text = decode(line, encoding, str(path)).rstrip("\r")
    try:
        return list(pd.read_csv(io.StringIO(text), nrows=0, dtype=str, sep=delimiter).columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"the header row cannot be read ({exc})", file=str(path), row=1) from None


def read_csv(path: Path, encoding: str, delimiter: str = ",") -> RawFrame:
    """Read a delimited text export; rows with the wrong number of fields are set aside.

    pyarrow reads the file straight from disk, decoding it block by block while other blocks
    are parsed; a byte that does not decode is then located by a strict decode of the whole
    file, so the error names its row.
    """
    file = str(path)
    _check_not_empty(path)
    names = _header(path, encoding, delimiter)
    utf8 = encoding.lower().replace("_", "-") in _UTF8
    with open(path, "rb") as fh:
        fh.seek(-1, io.SEEK_END)
        ends_with_newline = fh.read(1) == b"\n"

    def parse(newlines_in_values: bool) -> tuple[pa.Table, list[tuple]]:
        for threads in (True, False):  # only a single-threaded pass numbers the rows set aside
            bad: list[tuple] = []

            def set_aside(row) -> str:
                bad.append((row.number, row.expected_columns, row.actual_columns, row.text))
                return "skip"

            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(use_threads=threads, block_size=1 << (24 if newlines_in_values else 23),
                                               encoding="utf8" if utf8 else encoding),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines_in_values,
                                                 invalid_row_handler=set_aside),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
            if not bad:
                break
        return table, sorted(bad)

    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing releases the GIL: it runs while pyarrow parses
        scanned = pool.submit(scan, path)
        try:
            # The fast split assumes no value holds a line break; as many line feeds as records (and
            # the header) proves it, else the file is read again, splitting blocks only between quotes.
            table, bad = parse(newlines_in_values=False)
            sha256, line_feeds = scanned.result()
            spans_lines = line_feeds != table.num_rows + len(bad) + (1 if ends_with_newline else 0)
            if spans_lines:
                table, bad = parse(newlines_in_values=True)
        except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
            decode(path.read_bytes(), encoding, file)  # raises, naming the row, when the bytes are at fault
            raise SourceError(f"cannot be parsed as CSV: {exc}", file=file) from None
    numbers, bad_numbers = _line_numbers(table, bad, spans_lines)
    bad = [(line, *rest) for line, (_, *rest) in zip(bad_numbers, bad)]
    rows = _with_position(table, path.name, numbers)
    last = max([*numbers[-1:].tolist(), *bad_numbers], default=1)
    unparseable = pd.DataFrame({
        "_file": path.name,
        "_row": pd.array([b[0] for b in bad], dtype="int64"),
        "detail": [f"{b[2]} fields where the header has {b[1]}" + (" (truncated line?)" if b[2] < b[1] else "")
                   for b in bad],
        "record": [b[3] for b in bad],
    }) if bad else _empty_unparseable()
    warnings = []
    if rows.num_rows == 0 and unparseable.empty:
        warnings.append(f"{path.name}: header only, no data rows")
    if not ends_with_newline:
        warnings.append(f"{path.name}: does not end with a line break; its last row (row {last}) "
                        "was checked field by field like every other")
    return RawFrame(rows, unparseable, warnings, sha256)


def _line_numbers(table: pa.Table, bad: list[tuple], spans_lines: bool) -> tuple[np.ndarray, list[int]]:
    """The line each record starts on (the header is line 1), for the rows read and for the rows
    set aside (``bad``: pyarrow's record number and the raw text), counting line breaks inside
    quoted fields, so a row number is the line an editor shows."""
    total = table.num_rows + len(bad)
    breaks = np.zeros(total, dtype=np.int64)
    set_aside = np.zeros(total, dtype=bool)
    set_aside[[b[0] - 2 for b in bad]] = True  # pyarrow counts records, the header being record 1
    breaks[set_aside] = [b[3].count("\n") for b in bad]
    for column in table.columns if spans_lines else []:
        if pc.any(pc.match_substring(column, "\n")).as_py():
            breaks[~set_aside] += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    starts = 2 + np.arange(total, dtype=np.int64) + np.cumsum(breaks) - breaks
    return starts[~set_aside], starts[set_aside].tolist()


def read_xlsx(path: Path, sheet: str | None) -> RawFrame:
    """Read one sheet of a workbook; any other sheets are named in a warning and ignored."""
    file = str(path)
    _check_not_empty(path)
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            sheets = book.sheet_names
            if sheet is None:
                if len(sheets) != 1:
                    raise SourceError(f"the workbook has {len(sheets)} sheets {sheets}; name the data sheet with "
                                      "'sheet:' in the source mapping", file=file)
                sheet = sheets[0]
            if sheet not in sheets:
                raise SourceError(f"no sheet named {sheet!r}; the workbook has {sheets}", file=file)
            rows = pd.read_excel(book, sheet_name=sheet, dtype=str, na_filter=False)
    except (zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise SourceError(f"not a readable XLSX workbook ({exc})", file=file) from None
    rows.columns = [str(c).strip() for c in rows.columns]
    if len(rows.columns) == 0:
        raise SourceError(f"sheet {sheet!r} is empty: expected a header row", file=file, row=1)
    warnings = [f"{path.name}: ignored sheet(s) {[s for s in sheets if s != sheet]}"] if len(sheets) > 1 else []
    if rows.empty:
        warnings.append(f"{path.name}: sheet {sheet!r} has a header only, no data rows")
    return RawFrame(_from_pandas(rows, path.name, range(2, len(rows) + 2)), _empty_unparseable(), warnings,
                    scan(path)[0])


def read_jsonl(path: Path, encoding: str) -> RawFrame:
    """Read JSON lines: one object per line; a line that is not a JSON object is set aside."""
    file = str(path)
    _check_not_empty(path)
    text = decode(path.read_bytes(), encoding, file)
    records, numbers, bad = [], [], []
    # split on line feeds only: U+2028 and friends are legal inside JSON strings
    for number, line in enumerate((part.rstrip("\r") for part in text.split("\n")), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((number, f"not valid JSON ({exc.msg} at character {exc.pos})", line))
            continue
        if not isinstance(record, dict):
            bad.append((number, f"expected a JSON object, got {type(record).__name__}", line))
            continue
        records.append({k: "" if v is None else str(v) for k, v in record.items()})
        numbers.append(number)
    rows = pd.DataFrame.from_records(records).fillna("") if records else pd.DataFrame()
    unparseable = pd.DataFrame({"_file": path.name, "_row": pd.array([b[0] for b in bad], dtype="int64"),
                                "detail": [b[1] for b in bad], "record": [b[2] for b in bad]}) \
        if bad else _empty_unparseable()
    warnings = [] if records or bad else [f"{path.name}: no records"]
    return RawFrame(_from_pandas(rows, path.name, numbers), unparseable, warnings, scan(path)[0])


def read_raw(path: Path, fmt: str, encoding: str = "utf-8", sheet: str | None = None,
             delimiter: str = ",") -> RawFrame:
    """Read one raw file in the given format (``csv``, ``xlsx`` or ``jsonl``)."""
    if fmt == "csv":
        if not (isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in "\"\r\n"):
            raise SourceError(f"delimiter {delimiter!r} must be one character (not a quote or line break)",
                              file=str(path))
        return read_csv(path, encoding, delimiter)
    if fmt == "xlsx":
        return read_xlsx(path, sheet)
    if fmt == "jsonl":
        return read_jsonl(path, encoding)
    raise SourceError(f"unknown format {fmt!r}", file=str(path))
