"""Read raw exports (CSV, XLSX, JSON lines) into all-text frames, loudly and losslessly.

Every reader returns a :class:`RawFrame`: the rows as text under their raw headers, the
row number of each in its file (the header is row 1), and the rows that could not be
split into fields at all. Problems that make a whole file unusable raise
:class:`~qa_helpers.errors.SourceError` naming the file, row and column.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from openpyxl.utils.exceptions import InvalidFileException

from qa_helpers.data.columns import as_array, decoded
from qa_helpers.errors import SourceError

CANDIDATE_ENCODINGS = ("utf-8", "gb18030")
REPEATS_SAMPLE_BYTES = 1 << 20  # the start of a file looked at to decide which columns repeat few values
REPEATS_MIN_ROWS = 1000  # fewer rows than this (in that start, or in a column to decode): repeats are not looked for


@dataclass
class RawFrame:
    """Rows of one raw file as text.

    Attributes
    ----------
    rows : pyarrow.Table
        One text column per raw header (empty string for an empty cell; a dictionary array
        where a CSV column repeats few values in the file's start), plus ``_file``
        and ``_row`` (the row number in the file; the header is row 1). Arrow, not pandas:
        ten million rows pass through ingest without a copy per step.
    unparseable : DataFrame
        Rows that could not be split into the header's fields: ``_file``, ``_row``,
        ``detail``, ``record`` (the raw text).
    warnings : list of str
        Things worth telling the user that lose no data.
    sha256 : str
        The file's SHA-256, for the ingest report.
    flagged : DataFrame
        Rows that were read but hold a value the file itself has already lost (a formula
        without a computed value, a number rounded to 15 digits): ``_file``, ``_row``,
        ``column`` (raw header, or None for the whole row), ``rule`` and ``detail``. Ingest
        quarantines them under that rule.
    """

    rows: pa.Table
    unparseable: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    sha256: str = ""
    flagged: pd.DataFrame = field(default_factory=lambda: _empty_flags())


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


def _empty_flags() -> pd.DataFrame:
    return pd.DataFrame({"_file": pd.Series(dtype=str), "_row": pd.Series(dtype="int64"),
                         "column": pd.Series(dtype=object), "rule": pd.Series(dtype=str),
                         "detail": pd.Series(dtype=str)})


def _check_unique_header(names: list[str], file: str, row: int = 1) -> None:
    """Refuse a header that names a column twice: which of the two is meant cannot be guessed."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name:
            continue  # a column without a header cannot be mapped; its cells are not read
        if name in seen:
            raise SourceError(f"the header names this column twice (fields {seen[name]} and {position}); "
                              "rename one of them in the export", file=file, row=row, column=name)
        seen[name] = position


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
            lines += int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))  # twice bytes.count's speed
    return digest.hexdigest(), lines


def _check_not_empty(path: Path) -> None:
    """Raise unless the file has a byte that is not white space (reads up to the first such byte)."""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            if _CONTENT.search(block):
                return
    raise SourceError("the file is empty: expected a header row and data rows", file=str(path), row=1)


def _header(path: Path, encoding: str, delimiter: str = ",") -> list[str]:
    """The column names of the first line; a name given twice is refused."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        while b"\n" not in head and (more := fh.read(1 << 16)):
            head += more
    line = head.split(b"\n", 1)[0]
    text = decode(line, encoding, str(path)).rstrip("\r")
    try:
        names = next(csv.reader([text], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration) as exc:
        raise SourceError(f"the header row cannot be read ({exc})", file=str(path), row=1) from None
    _check_unique_header([name.strip() for name in names], str(path))
    return names


def _cut_inside_quotes(path: Path, encoding: str, delimiter: str, first_line: int, line_feeds: int) -> str | None:
    """The text of the record starting on ``first_line`` (the file's last) if it ends inside a
    quoted field: the export stopped before the closing quote, so its last value is cut short.
    ``None`` when the record is complete.

    Only the tail of the file is read: the bytes after the line feed that ends line ``first_line - 1``.
    """
    skip = first_line - 1  # line feeds before the record
    tail_feeds = line_feeds - skip
    with open(path, "rb") as fh:
        size = fh.seek(0, io.SEEK_END)
        block = 1 << 16
        while True:
            start = max(0, size - block)
            fh.seek(start)
            data = fh.read()
            if data.count(b"\n") > tail_feeds or start == 0:
                break
            block *= 4
    data = b"\n".join(data.split(b"\n")[-(tail_feeds + 1):])  # the record's own lines
    text = decode(data, encoding, str(path))
    try:
        list(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True))
    except csv.Error:
        return text
    return None


def read_csv(path: Path, encoding: str, delimiter: str = ",") -> RawFrame:
    """Read a delimited text export; rows with the wrong number of fields are set aside.

    pyarrow reads the file straight from disk, decoding it block by block while other blocks
    are parsed (a GB18030 file is split into fields first, and only its non-ASCII fields are
    decoded: see :func:`_bytewise`); a byte that does not decode is then located by a strict
    decode of the whole file, so the error names its row.
    """
    file = str(path)
    _check_not_empty(path)
    names = _header(path, encoding, delimiter)
    utf8 = encoding.lower().replace("_", "-") in _UTF8
    with open(path, "rb") as fh:
        fh.seek(-1, io.SEEK_END)
        ends_with_newline = fh.read(1) == b"\n"

    bytewise = not utf8 and _bytewise(encoding, delimiter)
    repeating = _repeating_columns(path, names, delimiter)

    def read(newlines_in_values: bool, threads: bool, raw_bytes: bool) -> tuple[pa.Table, list[tuple]]:
        bad: list[tuple] = []

        def set_aside(row) -> str:
            bad.append((row.number, row.expected_columns, row.actual_columns, row.text))
            return "skip"

        value = pa.binary() if raw_bytes else pa.string()
        kinds = {n: pa.dictionary(pa.int32(), value) if n in repeating else value for n in names}
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=threads, block_size=1 << (24 if newlines_in_values else 23),
                encoding="utf8" if utf8 or raw_bytes else encoding,
                **({"column_names": names, "skip_rows": 1} if raw_bytes else {})),
            # raw bytes: a row pyarrow cannot split stops the read (ArrowInvalid), to be read again decoded;
            # a handler would be handed the row as UTF-8 text, which a GB18030 row is not
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines_in_values,
                                             invalid_row_handler=None if raw_bytes else set_aside),
            convert_options=pacsv.ConvertOptions(column_types=kinds,
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        return table, bad

    def parse(newlines_in_values: bool) -> tuple[pa.Table, list[tuple], bool]:
        """The rows, the rows set aside, and whether the rows are still raw bytes (binary columns)."""
        if bytewise:  # split the raw bytes into fields; the fields are decoded once the split is final
            try:
                return *read(newlines_in_values, True, raw_bytes=True), True
            except pa.ArrowInvalid:  # a row that cannot be split: read again, decoding as pyarrow goes
                pass
        for threads in (True, False):  # only a single-threaded pass numbers the rows set aside
            table, bad = read(newlines_in_values, threads, raw_bytes=False)
            if not bad:
                break
        return table, sorted(bad), False

    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing releases the GIL: it runs while pyarrow parses
        scanned = pool.submit(scan, path)
        try:
            # The fast split assumes no value holds a line break; as many line feeds as records (and
            # the header) proves it, else the file is read again, splitting blocks only between quotes.
            table, bad, raw_bytes = parse(newlines_in_values=False)
            sha256, line_feeds = scanned.result()
            spans_lines = line_feeds != table.num_rows + len(bad) + (1 if ends_with_newline else 0)
            if spans_lines:
                table, bad, raw_bytes = parse(newlines_in_values=True)
            table = _one_chunk_each(table, encoding if raw_bytes else None)
        except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
            decode(path.read_bytes(), encoding, file)  # raises, naming the row, when the bytes are at fault
            raise SourceError(f"cannot be parsed as CSV: {exc}", file=file) from None
    numbers, bad_numbers = _line_numbers(table, bad, spans_lines)
    bad = [(line, *rest) for line, (_, *rest) in zip(bad_numbers, bad)]
    last = max([*numbers[-1:].tolist(), *bad_numbers], default=1)
    if not ends_with_newline and len(numbers) and numbers[-1] > max(bad_numbers, default=0):
        # pyarrow accepts a quoted field that the end of the file cuts short: its text would be
        # archived truncated, so the row is set aside like any other that cannot be split
        cut = _cut_inside_quotes(path, encoding, delimiter, int(numbers[-1]), line_feeds)
        if cut is not None:
            bad.append((int(numbers[-1]), None, None, cut))
            table, numbers = table.slice(0, table.num_rows - 1), numbers[:-1]
    rows = _with_position(table, path.name, numbers)
    unparseable = pd.DataFrame({
        "_file": path.name,
        "_row": pd.array([b[0] for b in bad], dtype="int64"),
        "detail": ["the file ends inside a quoted field: its last value is cut short (truncated export?)"
                   if b[1] is None else
                   f"{b[2]} fields where the header has {b[1]}" + (" (truncated line?)" if b[2] < b[1] else "")
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


# In GB18030 (and its subsets GBK and GB2312) every byte of a multi-byte character is 0x81 or
# above, a digit, or 0x40 and above: a delimiter, quote or line break below 0x40 is never part of
# a character. Such a file is split into fields on its raw bytes, and only the fields that are not
# plain ASCII are decoded; pyarrow's own decoding of the whole file (Python's codec, block by
# block, under the GIL) cost most of the read.
_BYTEWISE_ENCODINGS = {"gb18030", "gbk", "gb2312"}


def _bytewise(encoding: str, delimiter: str) -> bool:
    """Whether a file in ``encoding`` can be split into fields on ``delimiter`` before decoding."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name in _BYTEWISE_ENCODINGS and ord(delimiter) < 0x40 and not delimiter.isdigit()


def _repeating_columns(path: Path, names: list[str], delimiter: str) -> set[str]:
    """The columns whose values repeat few times in the start of the file (channel, team, yes/no:
    at most one distinct value in 20), to be read as dictionaries.

    pyarrow then builds each block's dictionary while it splits the block into fields, on every
    core, and every later step works on each distinct value once
    (:func:`qa_helpers.data.columns.per_value`). Only speed depends on the choice: a column that
    repeats less further on is still read whole. A start that cannot be split into fields (a row
    with too few fields, a quoted field cut by the sample's end) chooses none.
    """
    with open(path, "rb") as fh:
        head = fh.read(REPEATS_SAMPLE_BYTES)
    head = head[:head.rfind(b"\n") + 1]
    try:
        sample = pacsv.read_csv(io.BytesIO(head), read_options=pacsv.ReadOptions(
            column_names=names, skip_rows=1, use_threads=False, encoding="utf8"),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.binary() for n in names}))
    except (pa.ArrowInvalid, ValueError):
        return set()
    if sample.num_rows < REPEATS_MIN_ROWS:
        return set()
    return {name for name in names if pc.count_distinct(sample[name]).as_py() <= sample.num_rows // 20}


def _one_chunk_each(table: pa.Table, encoding: str | None = None) -> pa.Table:
    """Each column as one array (a dictionary column with one dictionary), not one per block as read;
    raw bytes decoded from ``encoding`` when it is given (:func:`_decode_column`).

    Joined once here, on every core: Arrow joins a column's blocks again whenever rows are picked
    from it (a take) and wherever a step asks for one array, and at 10 M rows that was a quarter of
    the memory an ingest touched.
    """
    def one(column: pa.ChunkedArray) -> pa.Array:
        column = as_array(column)
        return _decode_column(column, encoding) if encoding else column

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # Arrow's kernels release the GIL
        columns = list(pool.map(one, table.columns))
    return pa.table(dict(zip(table.column_names, columns)))


def _decode_column(values: pa.Array, encoding: str) -> pa.Array:
    """Raw bytes as text: ASCII values kept as they are, without a copy; the others decoded strictly
    (a byte that does not decode raises UnicodeDecodeError); of a dictionary, and of a column whose
    values repeat (to at most half as many distinct values), only the distinct values."""
    if pa.types.is_dictionary(values.type):
        return pa.DictionaryArray.from_arrays(values.indices, _decode_column(values.dictionary, encoding), safe=False)
    text = values.view(pa.string())
    plain = pc.string_is_ascii(text)
    if pc.all(plain).as_py() is not False:
        return text
    if len(values) >= REPEATS_MIN_ROWS:
        # Python's codec decodes under the GIL (a second on 10 M names); hashing the bytes costs a
        # fifth of that, and a column whose values repeat (customer names) is decoded once per value
        encoded = pc.dictionary_encode(values)
        if 2 * len(encoded.dictionary) <= len(values):
            return _decode_column(encoded, encoding)
    others = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    if len(others) == len(values):
        return _decode_values(values, encoding)
    decoded = _decode_values(values.take(pa.array(others, pa.int64())), encoding)
    return pc.replace_with_mask(text, pc.invert(plain), decoded)


def _decode_values(values: pa.Array, encoding: str) -> pa.Array:
    """Binary values (no nulls) decoded from ``encoding`` into a text array: in one call of the
    codec over all values joined by line feeds, the line feeds then located in the UTF-8 result
    (a value holding a line feed itself: one by one)."""
    count = len(values)
    joined = pc.binary_join_element_wise(values, b"", b"\n")  # each value followed by a line feed
    offsets = np.frombuffer(joined.buffers()[1], np.int32, count + 1, joined.offset * 4)
    data = memoryview(joined.buffers()[2])[offsets[0]:offsets[-1]] if count else b""
    utf8 = np.frombuffer(str(data, encoding).encode("utf-8"), np.uint8)
    ends = np.flatnonzero(utf8 == 10)
    if len(ends) != count:  # a value with a line feed of its own
        return pa.array([value.decode(encoding) for value in values.to_pylist()], pa.string())
    starts = np.empty(count + 1, np.int64)
    starts[0] = 0
    starts[1:] = ends - np.arange(count)  # where each value ends once the line feeds are removed
    kind, width = (pa.string(), np.int32) if starts[-1] < 2**31 else (pa.large_string(), np.int64)
    out = pa.Array.from_buffers(kind, count, [None, pa.py_buffer(starts.astype(width)),
                                             pa.py_buffer(utf8[utf8 != 10])])
    return out.cast(pa.string())


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
        column = decoded(column)
        if pc.any(pc.match_substring(column, "\n")).as_py():
            breaks[~set_aside] += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    starts = 2 + np.arange(total, dtype=np.int64) + np.cumsum(breaks) - breaks
    return starts[~set_aside], starts[set_aside].tolist()


# Excel keeps 15 significant digits of a number: a longer id typed as a number is already rounded.
EXCEL_DIGITS_LIMIT = 1e15


def _cell_text(value) -> str:
    """A cell's value as the text a user sees typed in it (pandas' read_excel conventions)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(path: Path, sheet: str | None) -> RawFrame:
    """Read one sheet of a workbook; any other sheets are named in a warning and ignored.

    Cells are read with openpyxl, so that what a workbook hides is seen: a formula is read as
    the value Excel cached for it, and a formula without a cached value (a workbook written by
    a program, never opened in Excel) flags its row ``formula_without_value``; a number of 16
    or more digits flags its row ``lost_precision`` (Excel stores 15 significant digits, so such
    an id is already rounded). Blank rows hold no record and are skipped, with a note; row
    numbers are the sheet's own.
    """
    file = str(path)
    _check_not_empty(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, InvalidFileException) as exc:
        raise SourceError(f"not a readable XLSX workbook ({exc})", file=file) from None
    try:
        sheets = book.sheetnames
        if sheet is None:
            if len(sheets) != 1:
                raise SourceError(f"the workbook has {len(sheets)} sheets {sheets}; name the data sheet with "
                                  "'sheet:' in the source mapping", file=file)
            sheet = sheets[0]
        if sheet not in sheets:
            raise SourceError(f"no sheet named {sheet!r}; the workbook has {sheets}", file=file)
        cells = enumerate(book[sheet].iter_rows(min_row=1, values_only=False), start=1)
        # the header is the first row with a filled cell (blank rows above it, e.g. for a title, are skipped)
        header_row, header = next(((n, row) for n, row in cells if any(c.value is not None for c in row)), (1, ()))
        names = [_cell_text(c.value).strip() for c in header]
        while names and not names[-1]:
            names.pop()
        names = [name or f"Unnamed: {index}" for index, name in enumerate(names)]  # as pandas names them
        if not names:
            raise SourceError(f"sheet {sheet!r} is empty: expected a header row", file=file, row=1)
        _check_unique_header(names, file, header_row)
        width = len(names)
        columns: list[list[str]] = [[] for _ in range(width)]
        numbers, flagged, formulas, blank = [], [], [], 0
        for number, row in cells:
            values = [c.value for c in row[:width]]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                blank += 1
                continue
            values += [None] * (width - len(values))
            numbers.append(number)
            for index, (cell, value) in enumerate(zip(row[:width], values)):
                kind = getattr(cell, "data_type", None)
                if kind == "f":
                    formulas.append((number, index, value))
                    value = None
                elif kind == "n" and value is not None and abs(value) >= EXCEL_DIGITS_LIMIT:
                    flagged.append((number, names[index], "lost_precision",
                                    f"{names[index]}: the number {value!r} has more than 15 digits, which Excel "
                                    "does not keep: the value is already rounded; export this column as text"))
                columns[index].append(_cell_text(value))
            extra = [c.value for c in row[width:] if c.value is not None]
            if extra:
                flagged.append((number, None, "unparseable_row",
                                f"{width + len(extra)} filled cells where the header has {width}"))
    finally:
        book.close()
    if formulas:
        cached = _cached_values(path, sheet, {(n, i) for n, i, _ in formulas})
        position = {n: p for p, n in enumerate(numbers)}
        for number, index, formula in formulas:
            value = cached.get((number, index))
            if value is None:
                flagged.append((number, names[index], "formula_without_value",
                                f"{names[index]}: the cell holds the formula {formula!r} and no value computed "
                                "by Excel; open and save the workbook in Excel, or export values"))
            else:
                columns[index][position[number]] = _cell_text(value)
    rows = pa.table({name: pa.array(values, pa.string()) for name, values in zip(names, columns)})
    warnings = [f"{path.name}: ignored sheet(s) {[s for s in sheets if s != sheet]}"] if len(sheets) > 1 else []
    if not numbers:
        warnings.append(f"{path.name}: sheet {sheet!r} has a header only, no data rows")
    if blank:
        warnings.append(f"{path.name}: {blank:,} blank row(s) skipped (no cell filled)")
    cached_formulas = len(formulas) - sum(1 for f in flagged if f[2] == "formula_without_value")
    if cached_formulas:
        warnings.append(f"{path.name}: {cached_formulas:,} formula cell(s) read as the value Excel cached for them")
    flags = pd.DataFrame({"_file": path.name, "_row": pd.array([f[0] for f in flagged], dtype="int64"),
                          "column": [f[1] for f in flagged], "rule": [f[2] for f in flagged],
                          "detail": [f[3] for f in flagged]}) if flagged else _empty_flags()
    return RawFrame(_with_position(rows, path.name, np.asarray(numbers, dtype=np.int64)), _empty_unparseable(),
                    warnings, scan(path)[0], flags)


def _cached_values(path: Path, sheet: str, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], object]:
    """The values Excel cached for the formula cells ``wanted`` ((row, column index) pairs)."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        last = max(n for n, _ in wanted)
        found = {}
        for number, row in enumerate(book[sheet].iter_rows(min_row=1, max_row=last, values_only=True), start=1):
            for index, value in enumerate(row):
                if (number, index) in wanted:
                    found[(number, index)] = value
        return found
    finally:
        book.close()


def _unique_keys(pairs: list[tuple[str, object]], file: str, row: int) -> dict:
    """A JSON object's fields; a key given twice is refused (JSON parsers silently keep one of them)."""
    record = dict(pairs)
    if len(record) < len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise SourceError("the record names this key twice; which value is meant cannot be guessed: fix the export",
                          file=file, row=row, column=twice)
    return record


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
            record = json.loads(line, object_pairs_hook=lambda pairs, number=number: _unique_keys(pairs, file, number))
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
