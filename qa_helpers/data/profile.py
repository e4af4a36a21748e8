"""Profile a foreign export: the first half of ``qakit map FILE`` (:mod:`qa_helpers.data.draft` is the second).

:func:`read_export` reads any CSV / XLSX / JSON-lines export as text and learns its file facts;
:func:`profile_export` describes each raw column: inferred type, share empty, distinct values, top
values (PII masked), date formats, units named in the header (:func:`header_unit`), likely PII,
and the canonical field it probably feeds, with a confidence. The guess comes from the header
(English and Chinese synonyms, and the kit's own sample headers) weighed by how well the values
fit the field: a table's key must be unique, a duration numeric, a satisfaction score a known
scale (:func:`csat_scale`). :func:`format_profile` prints the profile.

Nothing here prints a raw e-mail, phone number, customer name or customer id: top values of such
columns are replaced by what they are, and free text is masked before it is shown.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from qa_helpers.data.readers import decode, guess_encoding
from qa_helpers.data.schemas import SCHEMAS, id_column, parse_kind
from qa_helpers.errors import SourceError

MAX_ROWS = 200_000          # rows profiled; the rest of a larger file is only counted
TYPE_SAMPLE = 20_000        # distinct values looked at to infer a type
MIN_CONFIDENCE = 0.5        # weaker guesses are listed in the profile but not put in the draft
MAX_CODES = 60              # a column with more distinct values is not a coded field
NA_TOKENS = {"-", "--", "n/a", "na", "null", "none", "nan", "—", "#n/a", "(blank)"}
TRUE_TOKENS = {"是", "y", "yes", "true", "t", "1"}   # as ingest reads booleans
FALSE_TOKENS = {"否", "n", "no", "false", "f", "0"}
PROFILE_COLUMNS = ["column", "type", "empty", "distinct", "top_values", "formats", "range", "unit", "pii",
                   "table", "guess", "confidence"]

# ---------------------------------------------------------------- value shapes

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE_VALUE = re.compile(r"\+?[\d\s().\-]{7,24}")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
# a phone number inside text: separated groups, or a mainland mobile (profile display only: errs on masking)
PHONE_IN_TEXT = re.compile(r"(?<![\w])(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?![\w])"
                           r"|(?<!\d)1[3-9]\d{9}(?!\d)|(?<![\w])\+\d{8,15}(?!\d)")
LONG_DIGITS = re.compile(r"\d[\d\s.()-]{6,}\d")
LATIN_NAME = re.compile(r"[A-Z][a-zA-Z'’.-]+(?: [A-Z][a-zA-Z'’.-]+){1,3}|[A-Z][a-zA-Z'’-]+, [A-Z][a-zA-Z'’.-]+")
CJK_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
INT = re.compile(r"[+-]?\d+")
FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+|[+-]?\d+")
CLOCK = re.compile(r"\d{1,3}:\d{2}(?::\d{2})?")
DATE_HINT = re.compile(r"\d{1,4}[-/.年]\d{1,2}")
ISO_AWARE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
                       r"| \d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))")
DATETIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%Y%m%d %H%M%S", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日", "%d %b %Y %H:%M", "%d %b %Y", "%b %d, %Y %I:%M %p", "%b %d, %Y",
]
# formats that read the same text day-first and month-first
_SWAPPED = {f: f.replace("%d/%m", "%m/%d") for f in DATETIME_FORMATS if "%d/%m" in f}
_SWAPPED |= {v: k for k, v in _SWAPPED.items()}

# ---------------------------------------------------------------- header words

UNIT_WORDS = [  # (pattern over the lower-case header, unit); the first that matches wins
    (r"\b(?:milliseconds?|msecs?)\b|\(ms\)|毫秒", "milliseconds"),
    (r"\b(?:minutes?|mins?)\b|\(m\)|分钟", "minutes"),
    (r"\b(?:hours?|hrs?)\b|\(h\)|小时", "hours"),
    (r"\b(?:seconds?|secs?)\b|\(s\)|秒", "seconds"),
    (r"\bdays?\b|\(d\)|天数", "days"),
]
CLOCK_HEADER = re.compile(r"\b(?:h{1,2}:)?mm:ss\b")
PHONE_WORDS = re.compile(r"phone|\btel\b|telephone|mobile|\bcell\b|\bfax\b|caller|\bani\b|\bdnis\b|dialed|dialled|"
                         r"msisdn|\bnumber\b|电话|手机|号码|联系方式")
NAME_WORDS = re.compile(r"name|requester|customer|client|contact|caller|assignee|agent|owner|\buser\b|submitter|"
                        r"assigned|handled|\bby\b|reviewer|engineer|technician|"
                        r"姓名|客户|联系人|坐席|客服|处理人")
NOT_A_NAME = re.compile(r"type|segment|tier|category|status|group|level|team|queue|channel|类型|级别")
FREE_TEXT_WORDS = re.compile(r"description|comment|note|remark|subject|title|summary|body|message|feedback|"
                             r"details|备注|描述|内容|记录|标题")

# ---------------------------------------------------------------- reading

@dataclass
class Export:
    """A raw export read as text, and what was learnt about the file."""

    frame: pd.DataFrame
    facts: dict = field(default_factory=dict)


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return "xlsx"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv"


def _sniff_delimiter(sample: str) -> str:
    """The field separator: csv.Sniffer, checked against how evenly each candidate splits the lines."""
    candidates = [",", ";", "\t", "|"]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(candidates)).delimiter
    except csv.Error:
        sniffed = None
    lines = [line for line in sample.splitlines()[:50] if line.strip()]

    def evenness(delimiter: str) -> tuple[float, int]:
        counts = [len(r) for r in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            return 0.0, 0
        mode = max(set(counts), key=counts.count)
        return (counts.count(mode) / len(counts) if mode > 1 else 0.0), mode

    best = max(candidates, key=lambda d: evenness(d))
    if sniffed and evenness(sniffed)[1] > 1 and evenness(sniffed)[0] >= evenness(best)[0] - 0.05:
        return sniffed
    return best


def _header_index(records: list[list[str]]) -> int:
    """Index of the header among the first records: the first record as wide as most rows and mostly
    filled in (title lines and blank lines above a header are skipped)."""
    widths = [len(r) for r in records if any(c.strip() for c in r)]
    if not widths:
        return 0
    mode = max(set(widths), key=widths.count)
    for i, record in enumerate(records):
        filled = sum(bool(c.strip()) for c in record)
        if len(record) == mode and filled >= 0.5 * mode:
            return i
    return 0


def read_export(path: str | Path, encoding: str | None = None, delimiter: str | None = None,
                sheet: str | None = None, max_rows: int = MAX_ROWS) -> Export:
    """Read an export as text (every cell a string, empty cells ``""``) and learn its file facts.

    Parameters
    ----------
    path : path-like
        A CSV (any of ``, ; tab |``), XLSX or JSON-lines file.
    encoding, delimiter, sheet : str, optional
        Override what is detected: the encoding (:func:`~qa_helpers.data.readers.guess_encoding`),
        the delimiter (:class:`csv.Sniffer`), the workbook sheet (default: the first).
    max_rows : int
        Rows read for profiling; the file's rows are counted in any case.

    Returns
    -------
    Export
        ``frame`` and ``facts``: ``file``, ``format``, ``encoding``, ``bom``, ``delimiter``,
        ``sheet`` / ``sheets``, ``header_row`` (1-based line), ``rows``, ``columns``, ``sampled``.

    Raises
    ------
    SourceError
        When the file is empty or cannot be decoded or parsed.
    """
    path = Path(path)
    fmt = _format_of(path)
    facts: dict = {"file": path.name, "format": fmt, "encoding": None, "bom": False, "delimiter": None,
                   "sheet": None, "sheets": None, "header_row": 1, "rows": 0, "columns": 0, "sampled": False}
    if not path.is_file():
        raise SourceError("file not found", file=str(path))
    if fmt == "xlsx":
        with pd.ExcelFile(path, engine="openpyxl") as book:
            facts["sheets"] = list(book.sheet_names)
            if sheet is not None and sheet not in book.sheet_names:
                raise SourceError(f"no sheet named {sheet!r}; the workbook has {book.sheet_names}", file=str(path))
            grids = {name: pd.read_excel(book, sheet_name=name, dtype=str, header=None, na_filter=False)
                     for name in ([sheet] if sheet is not None else book.sheet_names)}
        # without a sheet named, the data sheet is the biggest (a notes sheet often comes first)
        chosen = sheet if sheet is not None else max(grids, key=lambda n: grids[n].size)
        grid = grids[chosen]
        facts["sheet"] = chosen
        grid = grid.astype(str)
        head = _header_index(grid.head(30).values.tolist())
        facts["header_row"] = head + 1
        frame = grid.iloc[head + 1:].reset_index(drop=True)
        frame.columns = _unique_headers([str(c) for c in grid.iloc[head]] if len(grid) else [])
        facts["rows"] = len(frame)
        frame = frame.head(max_rows)
    else:
        data = path.read_bytes()
        if not data.strip():
            raise SourceError("the file is empty", file=str(path), row=1)
        facts["bom"] = data.startswith(b"\xef\xbb\xbf")
        chosen = encoding or guess_encoding(data)
        if chosen is None:
            raise SourceError("the encoding is neither UTF-8 nor GB18030: give the encoding (e.g. cp1252)",
                              file=str(path))
        text = decode(data, chosen, str(path))
        facts["encoding"] = "utf-8" if chosen.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig") else chosen
        if fmt == "jsonl":
            records = []
            for line in text.splitlines():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a broken line: ingest quarantines it; the profile describes the rest
            frame = pd.DataFrame.from_records([{k: "" if v is None else str(v) for k, v in r.items()}
                                               for r in records if isinstance(r, dict)]).fillna("")
            facts["rows"] = len(frame)
            frame = frame.head(max_rows)
        else:
            sample = text[:65536].rsplit("\n", 1)[0] if len(text) > 65536 else text
            sep = delimiter or _sniff_delimiter(sample)
            facts["delimiter"] = sep
            reader = csv.reader(io.StringIO(sample), delimiter=sep)
            records, lines_before = [], [0]
            for record in reader:
                records.append(record)
                lines_before.append(reader.line_num)
                if len(records) >= 30:
                    break
            head = _header_index(records)
            header_line = lines_before[head] + 1
            facts["header_row"] = header_line
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                                skiprows=header_line - 1, on_bad_lines="skip", engine="python" if len(sep) > 1
                                else "c")
            frame.columns = _unique_headers([str(c).strip() for c in frame.columns])
            facts["rows"] = len(frame)
            frame = frame.head(max_rows)
    facts["sampled"] = facts["rows"] > len(frame)
    facts["columns"] = len(frame.columns)
    return Export(frame.astype(str), facts)


def _unique_headers(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        name = name or "unnamed"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}.{seen[name] - 1}")
    return out


# ---------------------------------------------------------------- per-column inference

def norm_header(header: str) -> str:
    """A header in the form synonyms are written: lower case, units and punctuation removed."""
    text = header.translate(str.maketrans("（）：，", "():,")).strip().lower()
    text = re.sub(r"\((?:in )?[^()]*\)|\[[^\[\]]*\]", " ", text)  # "(min)", "(s)", "[sec]"
    text = re.sub(r"\bin (?:minutes|seconds|hours|days|milliseconds)\b|\b(?:h{1,2}:)?mm:ss\b", " ", text)
    text = re.sub(r"[_\-./#:,?]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def header_unit(header: str) -> str | None:
    """The time unit a header names (``minutes`` for "First reply time in minutes"), or None."""
    lowered = header.translate(str.maketrans("（）", "()")).lower()
    if CLOCK_HEADER.search(lowered):
        return "clock"
    for pattern, unit in UNIT_WORDS:
        if re.search(pattern, lowered):
            return unit
    return None


def present_values(values: pd.Series) -> pd.Series:
    stripped = values.str.strip()
    return stripped[(stripped != "") & ~stripped.str.lower().isin(NA_TOKENS)]


def _datetime_formats(uniques: pd.Series) -> tuple[list[str], float, bool]:
    """Formats that read the values (fewest first), the share read, and whether day/month is ambiguous."""
    if uniques.str.fullmatch(ISO_AWARE.pattern).mean() > 0.95 and uniques.str.contains(r"T|Z$|[+-]\d{2}:?\d{2}$").any():
        return ["ISO8601"], 1.0, False
    todo = uniques
    chosen: list[str] = []
    ambiguous = False
    while len(todo):
        scores = {}
        for fmt in DATETIME_FORMATS:
            if fmt in chosen:
                continue
            parsed = pd.to_datetime(todo, format=fmt, errors="coerce")
            scores[fmt] = parsed.notna().to_numpy()
        if not scores:
            break
        best = max(scores, key=lambda f: scores[f].sum())
        if scores[best].sum() == 0:
            break
        swapped = _SWAPPED.get(best)
        if swapped in scores and scores[swapped].sum() == scores[best].sum():
            ambiguous = True
        chosen.append(best)
        todo = todo[~scores[best]]
        if len(chosen) >= 3:
            break
    share = 1 - len(todo) / len(uniques)
    return chosen, share, ambiguous


@dataclass
class Column:
    """What is known about one raw column."""

    name: str
    type: str = "text"
    empty: float = 1.0
    distinct: int = 0
    top: list[tuple[str, int]] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    ambiguous: bool = False
    decimal_comma: bool = False
    range: str = ""
    unit: str | None = None
    pii: str = ""
    free_text: bool = False
    values: list[str] = field(default_factory=list)   # distinct values of a coded column (for value maps)
    counts: list[int] = field(default_factory=list)   # and how often each occurs
    filled: int = 0                                   # rows with a value
    top_raw: list[str] = field(default_factory=list)  # a few raw values, never shown: for shape checks
    table: str = ""
    guess: str = ""
    confidence: float = 0.0
    alternative: str = ""                             # the runner-up column for the same field


def _infer(name: str, raw: pd.Series) -> Column:
    col = Column(name)
    values = present_values(raw.astype(str))
    col.empty = round(1 - len(values) / len(raw), 4) if len(raw) else 1.0
    col.filled = len(values)
    col.unit = header_unit(name)
    if values.empty:
        return col
    counts = values.value_counts()
    col.distinct = int(len(counts))
    col.top = [(str(v), int(n)) for v, n in counts.head(3).items()]
    col.top_raw = [str(v) for v in counts.index[:50]]
    uniques = pd.Series(counts.index[:TYPE_SAMPLE], dtype=str)
    lowered = set(uniques.str.lower())
    if lowered <= TRUE_TOKENS | FALSE_TOKENS and not uniques.str.fullmatch(r"\d+").all():
        col.type = "bool"
    elif uniques.str.fullmatch(INT.pattern).all():
        col.type = "int"
    elif uniques.str.fullmatch(FLOAT.pattern).all():
        col.type = "float"
    elif uniques.str.fullmatch(DECIMAL_COMMA.pattern).all() and uniques.str.contains(",").any():
        col.type, col.decimal_comma = "float", True
        col.formats = ["decimal comma"]
    elif uniques.str.fullmatch(CLOCK.pattern).all() and (col.unit == "clock" or _clock_is_duration(uniques, name)):
        col.type = "duration"
        col.formats = sorted({"h:mm:ss" if v.count(":") == 2 else "mm:ss" for v in uniques.head(200)})
    elif uniques.str.contains(DATE_HINT.pattern).mean() > 0.9:
        formats, share, ambiguous = _datetime_formats(uniques.head(5000))
        if share >= 0.9:
            col.type, col.formats, col.ambiguous = "datetime", formats, ambiguous
    if col.type in ("int", "float") and not col.decimal_comma:
        numbers = pd.to_numeric(values, errors="coerce")
        col.range = f"{_short(numbers.min())} .. {_short(numbers.max())}"
    elif col.type == "datetime" and col.formats != ["ISO8601"]:
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        for fmt in col.formats:
            parsed = parsed.fillna(pd.to_datetime(values, format=fmt, errors="coerce"))
        col.range = f"{parsed.min():%Y-%m-%d} .. {parsed.max():%Y-%m-%d}" if parsed.notna().any() else ""
    if col.type == "text":
        col.free_text = bool(FREE_TEXT_WORDS.search(name.lower())) or (
            values.str.len().mean() >= 25 and col.distinct >= 0.2 * len(values))
    if col.distinct <= MAX_CODES and col.type in ("text", "bool", "int"):
        col.values, col.counts = [str(v) for v in counts.index], [int(n) for n in counts]
    col.pii = _pii(name, values, uniques, col)
    return col


def _clock_is_duration(uniques: pd.Series, name: str) -> bool:
    """``12:34`` is a duration rather than a time of day when the header says so or a part exceeds 23."""
    if re.search(r"time|wait|duration|talk|hold|handle|acw|ring|时长", name.lower()):
        return True
    return bool((uniques.str.split(":").str[0].astype(int) > 23).any())


def _short(number: float) -> str:
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,.2f}"


def _pii(name: str, values: pd.Series, uniques: pd.Series, col: Column) -> str:
    """``email``, ``phone``, ``name``, ``text`` (free text that may hold PII) or ``""``."""
    header = name.lower()
    sample = uniques.head(5000)
    if col.type in ("datetime", "bool", "duration") or (col.type == "float" and not PHONE_WORDS.search(header)):
        return ""
    if sample.str.fullmatch(EMAIL.pattern).mean() >= 0.5:
        return "email"
    digits = sample.str.count(r"\d")
    with_digits = sample[digits > 0]
    if len(with_digits) >= 0.5 * len(sample):
        shaped = with_digits.str.fullmatch(PHONE_VALUE.pattern) & with_digits.str.count(r"\d").between(7, 15)
        formatted = with_digits.str.contains(r"[+()\s-]") | with_digits.str.fullmatch(r"\d{1,4}(?:\.\d{2,4}){2,}")
        if shaped.mean() >= 0.8 and (PHONE_WORDS.search(header) or (formatted & shaped).mean() >= 0.5):
            if PHONE_WORDS.search(header) or not with_digits.str.fullmatch(PLAIN_NUMBER.pattern).mean() > 0.5:
                return "phone"
    if col.type == "text" and not col.free_text and not NOT_A_NAME.search(header):
        latin = sample.str.fullmatch(LATIN_NAME.pattern)
        names = (latin | sample.str.fullmatch(CJK_NAME.pattern)).mean()
        # a name header with name-shaped values, or values that all look like "First Last" (a column of
        # company names is then masked too, which costs nothing; two to four Chinese characters are as
        # often a category as a name, so those need the header)
        if (NAME_WORDS.search(header) and names >= 0.6 and col.distinct >= 2) or (latin.mean() >= 0.9
                                                                                 and col.distinct >= 5):
            return "name"
    if col.free_text:
        return "text"
    return ""


# ---------------------------------------------------------------- field guessing

# Canonical field -> header synonyms (normalised: lower case, units and punctuation removed), with a
# weight when the word is a weaker hint. The kit's own sources.yml adds its (Chinese) headers.
SYNONYMS: dict[str, dict[str, list]] = {
    "tickets": {
        "ticket_id": ["ticket id", "ticket", "id", "ticket number", "ticket no", "case id", "case number", "call id",
                      ("contact id", 0.75), "interaction id", "conversation id", "request id", "工单编号", "工单号", "工单id",
                      ("编号", 0.7), ("number", 0.6), ("uniqueid", 0.8)],
        "created_at": ["created at", "created", "creation date", "creation time", "created date", "date created",
                       "created time", "opened", "opened at", "open date", "start time", "call start", "start",
                       "received at", "call date", "created on", "创建时间", "建单时间", "受理时间", "开始时间", ("date", 0.6),
                       ("time", 0.55)],
        "channel": ["channel", "via", "medium", "media", "media type", "media name", "contact channel",
                    "contact type", "渠道", "来源渠道", ("source", 0.7)],
        "agent_id": ["assignee", "agent", "agent id", "agent name", "agent no", "owner", "handled by", "handler",
                     "客服工号", "坐席工号", "坐席", "处理人", ("user", 0.6), ("assigned to", 0.9)],
        "customer_id": ["requester id", "customer id", "customer number", "client id", "account id", "account number",
                        "customer no", "客户编号", "客户id", ("caller number", 0.75), ("caller", 0.6), ("ani", 0.7),
                        ("caller id", 0.75), ("from number", 0.6), ("customer", 0.55), ("contact id", 0.75),
                        # an e-mail identifies a customer across systems, but an explicit id is better
                        *[(w, 0.85) for w in ("email", "e mail", "email address", "requester email",
                                              "customer email", "contact email", "client email")]],
        "customer_name": ["requester", "requester name", "customer name", "client name", "contact name", "caller name",
                          "客户姓名", "姓名", "客户名称", ("full name", 0.9),
                          ("name", 0.7)],
        "customer_type": ["customer type", "customer segment", "segment", "account type", "client type", "客户类型",
                          ("tier", 0.6)],
        "category": ["category", "issue category", "problem category", "ticket category", "contact reason",
                     "call reason", "reason", "topic", "issue type", "ivr option", "ivr menu", "问题类别", "类别",
                     "问题类型", "业务类型", ("ticket type", 0.6), ("type", 0.55), ("disposition", 0.5)],
        "priority": ["priority", "urgency", "优先级", ("severity", 0.6)],
        "first_response_s": ["first reply time", "first response time", "time to first reply",
                             "time to first response", "first reply", "first response", "frt", "speed of answer",
                             "asa", "queue wait", "queue time", "time to answer", "answer time", "首次响应时长",
                             "首响时长", "首次响应", ("wait time", 0.6)],
        "handle_s": ["handle time", "handling time", "aht", "average handle time", "total time spent", "time spent",
                     "work time", "time tracked", "time logged", "处理时长", ("talk time", 0.6), ("通话时长", 0.6),
                     ("duration", 0.5)],
        "resolved_at": ["solved at", "resolved at", "resolution date", "resolution time stamp", "solved", "resolved",
                        "resolved date", "solved date", "resolved time", "solved time", "解决时间", "结单时间",
                        ("closed at", 0.8), ("关闭时间", 0.8),
                        ("closed time", 0.8), ("end time", 0.6), ("call end", 0.6)],
        "contacts_to_resolve": ["contacts to resolve", "number of contacts", "contact count", "contacts", "联系次数",
                                ("customer interactions", 0.8), ("customer replies", 0.7), ("interactions", 0.6)],
        "first_contact_resolved": ["first contact resolution", "first contact resolved", "fcr",
                                   "resolved on first contact", "first call resolution", "one touch", "是否首次解决",
                                   "一次解决"],
        "reopened": ["reopened", "reopens", "reopen count", "times reopened", "是否重开", "重开次数"],
        "remark": ["description", "notes", "note", "remark", "remarks", "comments", "comment", "body", "details",
                   "internal note", "agent notes", "备注", "描述", "处理记录"],
        "team": ["group", "team", "queue", "skill", "skill name", "assigned group", "support group", "班组", "队列",
                 "技能组", ("queue name", 0.9),
                 ("mailbox", 0.8), ("inbox", 0.8)],
        "department": ["department", "division", "business unit", "部门"],
    },
    "surveys": {
        "survey_id": ["survey id", "response id", "rating id", "问卷编号"],
        "answered_at": ["rated at", "rating date", "survey date", "answered at", "submitted at", "responded at",
                        "response date", "提交时间", "评价时间"],
        "csat": ["satisfaction score", "satisfaction", "satisfaction rating", "csat", "csat score", "survey score",
                 "rating", "survey results", "survey result", "survey response", "survey rating",
                 "customer satisfaction", "csat rating", "satisfaction survey", "满意度评分", "满意度", ("score", 0.6),
                 ("survey", 0.7)],
        "nps": ["nps", "nps score", "likelihood to recommend", "recommend", "survey nps", "推荐意愿"],
        "comment": ["satisfaction comment", "survey comment", "feedback", "rating comment", "评价内容",
                    ("comment", 0.55)],
    },
}
CODED_FIELDS = {"channel", "category", "priority", "customer_type", "cause_dimension", "source"}
# Satisfaction answers written as words: a polarity (satisfied / dissatisfied), a strength (very,
# extremely) and a neutral middle. Rows that were never answered are not ratings.
NOT_ANSWERS = {"offered", "unoffered", "not offered", "not rated", "unrated", "no rating", "no response", "pending",
               "sent", "skipped", "not answered", "no answer", "未评价", "未回复"}
NEUTRAL_WORDS = re.compile(r"neutral|okay|\bok\b|average|\bfair\b|neither|so-so|\bmeh\b|mixed|一般|中评|😐")
GOOD_WORDS = re.compile(r"satisf|happy|good|great|excellent|awesome|amazing|positive|thumbs up|helpful|pleased|"
                        r"满意|好|😀|😃|😊|🙂|👍")
BAD_WORDS = re.compile(r"\bbad\b|poor|terrible|awful|horrible|negative|thumbs down|差|😞|🙁|😠|😡|👎")
STRONG_WORDS = re.compile(r"extremely|\bvery\b|highly|completely|totally|really|absolutely|excellent|awesome|amazing|"
                          r"terrible|awful|horrible|非常|很|特别")
NEGATION = re.compile(r"\bnot\b|\bun|\bdis|\bnever\b|\bno\b|不")


def _polarity(value: str) -> int | None:
    """-2..2 for a worded rating (``Extremely dissatisfied`` = -2, ``Neutral`` = 0), None if it is not one."""
    text = value.strip().lower()
    strength = 2 if STRONG_WORDS.search(text) else 1
    if NEUTRAL_WORDS.search(text):
        return 0
    if BAD_WORDS.search(text):
        return -strength
    if GOOD_WORDS.search(text):
        return -strength if NEGATION.search(text) else strength
    return None


def csat_scale(values: list[str]) -> dict[str, int]:
    """The 1-5 score of each answer of a worded or numbered satisfaction scale, or ``{}`` when the values are not one.

    ``Good`` / ``Bad`` -> 5 / 1; ``Happy`` / ``Neutral`` / ``Unhappy`` -> 5 / 3 / 1; a five-level
    scale (``Extremely satisfied`` .. ``Extremely dissatisfied``) -> 5 .. 1; ``4 - Satisfied`` or
    ``★★★★`` -> 4. Non-answers (``Offered``, ``Not rated``) are left out of the map.
    """
    answers = [v for v in values if v.strip().lower() not in NOT_ANSWERS]
    numbered = {v: int(m.group(1)) for v in answers if (m := re.match(r"\s*([1-5])\b(?!\s*[.,/]\d)", v))}
    numbered |= {v: v.count("★") + v.count("⭐") for v in answers if v not in numbered and ("★" in v or "⭐" in v)}
    if len(answers) >= 2 and len(numbered) == len(answers) and all(1 <= n <= 5 for n in numbered.values()):
        return numbered
    levels = {v: _polarity(v) for v in answers}
    known = {v: p for v, p in levels.items() if p is not None}
    if len(known) < 2 or not any(p > 0 for p in known.values()) or not any(p < 0 for p in known.values()) \
            or len(known) < 0.8 * len(answers):
        return {}
    # a side of the scale with one step only ("Good", "Unhappy") is its end: 5 or 1
    ends = {side: len({p for p in known.values() if p * side > 0}) == 1 for side in (1, -1)}
    return {v: 3 + (2 * (p > 0) - 2 * (p < 0) if p and ends[1 if p > 0 else -1] else p) for v, p in known.items()}


def score_range(col: Column) -> tuple[int, int] | None:
    """The scale of an integer score column: (1, 5), (1, 7), (1, 10) or (0, 10); None if it is none of them.

    A few keypad presses outside the scale (a 9 on a 1-5 survey) do not change it.
    """
    if col.type != "int" or not col.values:
        return None
    counts = dict(zip((int(v) for v in col.values), col.counts))
    total = sum(counts.values())

    def share(low: int, high: int) -> float:
        return sum(n for v, n in counts.items() if low <= v <= high) / total

    if share(1, 5) >= 0.97:
        return 1, 5
    if share(1, 7) >= 0.97:
        return 1, 7
    if share(0, 10) >= 0.97:
        return (0, 10) if counts.get(0) else (1, 10)
    return None


def _kit_synonyms() -> dict[str, dict[str, list]]:
    """The raw headers of the kit's own sources.yml (its sample's Chinese exports) as exact synonyms."""
    path = Path(__file__).resolve().parents[2] / "config" / "sources.yml"
    out: dict[str, dict[str, list]] = {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return out
    for table, entry in (doc.get("sources") or {}).items():
        for raw, target in ((entry or {}).get("columns") or {}).items():
            for canonical in target if isinstance(target, list) else [target]:
                out.setdefault(table, {}).setdefault(str(canonical), []).append(norm_header(str(raw)))
    return out


SCORE_WORDS = re.compile(r"score|rating|rated|survey|satisf|feedback|csat|nps|recommend|评分|满意|评价|推荐")
ID_WORDS = re.compile(r"\bid\b|number|\bno\b|\bkey\b|\bref|编号|号")


def _synonyms(tables: tuple[str, ...]) -> dict[str, dict[str, list]]:
    """Header synonyms of the fields that may be guessed. The first table is the export's own; the others
    (the surveys of a ticket export with the rating on the row) only lend the fields it lacks."""
    synonyms = {t: {f: list(s) for f, s in SYNONYMS.get(t, {}).items()} for t in tables}
    for table, fields in _kit_synonyms().items():
        if table in synonyms:
            for name, raws in fields.items():
                synonyms[table].setdefault(name, []).extend(raws)
    for table in tables:  # every canonical name is a synonym of itself ("ticket_id", "Ticket Id")
        for name in SCHEMAS[table].columns:
            synonyms[table].setdefault(name, []).append(name.replace("_", " "))
    own = set(SCHEMAS[tables[0]].columns)
    for table in tables[1:]:  # "Source" of a ticket export is its channel, not survey-or-review
        synonyms[table] = {f: w for f, w in synonyms[table].items() if f not in own and f != "source"}
    return synonyms


def _header_score(header: str, words: list) -> float:
    """How well a normalised header matches a field's synonyms: 0.95 for an exact synonym, less for a part."""
    best = 0.0
    for word in words:
        word, weight = (word, 1.0) if isinstance(word, str) else word
        if header == word:
            best = max(best, 0.95 * weight)
        elif len(word) >= 2 and re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", header):
            best = max(best, (0.5 + 0.35 * len(word) / max(len(header), 1)) * weight)
    return best


def _guess_fields(columns: list[Column], tables: tuple[str, ...]) -> None:
    """Give each column the canonical field it most likely feeds (each field at most once, each column once).

    Header synonyms weighed by the fit of the values decide first, the best score winning; only then
    do value shapes alone place what is left: a worded satisfaction scale, a 0-10 score, and the
    table's key from the most id-like unique column.
    """
    synonyms = _synonyms(tables)
    scored = []
    for col in columns:
        header = norm_header(col.name)
        for table in tables:
            for name, words in synonyms[table].items():
                score = _header_score(header, words)
                if score:
                    scored.append((round(score * _fits(col, table, name, tables[0]), 3), col.name, table, name))
    taken: dict[tuple[str, str], Column] = {}
    by_name = {c.name: c for c in columns}
    for score, column, table, name in sorted(scored, key=lambda s: (-s[0], s[1])):
        col = by_name[column]
        if col.guess or (table, name) in taken or score < 0.3:
            continue
        col.table, col.guess, col.confidence = table, name, score
        taken[table, name] = col
    for score, column, table, name in sorted(scored, key=lambda s: (-s[0], s[1])):
        winner = taken.get((table, name))
        if (winner is not None and not winner.alternative and not by_name[column].guess
                and score >= max(MIN_CONFIDENCE, winner.confidence - 0.2)):
            winner.alternative = f"{column!r} ({score:.2f})"  # a close runner-up, named in the draft
    _guess_from_values(columns, tables, taken)


def _guess_from_values(columns: list[Column], tables: tuple[str, ...], taken: dict) -> None:
    free = [c for c in columns if not c.guess]

    def place(col: Column | None, table: str, name: str, confidence: float) -> None:
        if col is not None and (table, name) not in taken and table in tables:
            col.table, col.guess, col.confidence = table, name, confidence
            taken[table, name] = col
            free.remove(col)

    scored = [c for c in free if SCORE_WORDS.search(c.name.lower())]
    worded = next((c for c in free if c.type == "text" and (scale := csat_scale(c.values)) and (
        c in scored or not any(v[:1].isdigit() for v in scale))), None)
    place(worded, "surveys", "csat", 0.6)
    place(next((c for c in scored if score_range(c) == (1, 5)), None), "surveys", "csat", 0.55)
    place(next((c for c in scored if score_range(c) == (0, 10)), None), "surveys", "nps", 0.55)
    key = id_column(tables[0])
    ids = [c for c in free if c.type in ("int", "text") and not c.pii and not c.free_text and c.filled >= 10
           and c.distinct >= 0.95 * c.filled and all(re.fullmatch(r"[\w#./:-]{1,40}", v) for v in c.top_raw)]
    ids.sort(key=lambda c: not ID_WORDS.search(norm_header(c.name)))  # an id-like header first, else file order
    if ids:
        place(ids[0], tables[0], key, 0.6 if ID_WORDS.search(norm_header(ids[0].name)) else 0.5)


def _fits(col: Column, table: str, name: str, primary: str) -> float:
    """How well a column's values fit a field's type (1 = fits, lower = a poor fit)."""
    kind = parse_kind(table, name) if name in SCHEMAS[table].columns else "str"
    if table == primary and name == id_column(table):
        # the table's key: unique but for a few duplicate rows (a customer number repeats)
        return 1.0 if col.filled and col.distinct >= 0.8 * col.filled else 0.3
    if kind == "datetime":
        return 1.0 if col.type == "datetime" else 0.2
    if name.endswith("_s"):
        return 1.0 if col.type in ("int", "float", "duration") else 0.2
    if name in ("csat", "nps"):
        scale = score_range(col)
        if col.type == "int":  # a 0-10 score is a recommendation (NPS), 1-5 a satisfaction score
            best, other = ((1, 5), [(1, 7), (1, 10)]) if name == "csat" else ((0, 10), [(1, 10)])
            return 1.0 if scale == best else 0.8 if scale in other else 0.3
        return 0.9 if name == "csat" and csat_scale(col.values) else 0.2
    if kind == "int":
        return 1.0 if col.type == "int" else 0.3
    if kind == "bool":
        return 1.0 if col.type == "bool" else 0.8 if col.type == "int" else 0.3
    if name in ("customer_name",):
        return 1.0 if col.pii == "name" else 0.3
    if name in CODED_FIELDS or name in ("team", "department"):
        return 1.0 if col.values and col.pii not in ("email", "phone", "name") else 0.4
    if name in ("remark", "comment"):
        return 1.0 if col.free_text else 0.6
    if name == "customer_id" and col.pii == "name":
        return 0.6
    if name.endswith("_id") and col.pii == "email" and name not in ("agent_id", "customer_id"):
        return 0.6
    return 1.0


# ---------------------------------------------------------------- masking what is shown

class _Masker:
    """Masks PII in values shown by the profile, erring on the side of masking."""

    def __init__(self, names: list[str]) -> None:
        from qa_helpers.data.privacy import NameMasker

        self.names = NameMasker(names)

    def __call__(self, text: str) -> str:
        from qa_helpers.data.privacy import PII_LOCALES, mask_text

        masked = mask_text(pd.Series([text], dtype="str"), self.names, locales=PII_LOCALES).iloc[0]
        masked = EMAIL.sub("[EMAIL]", str(masked))
        masked = PHONE_IN_TEXT.sub("[PHONE]", masked)
        return LONG_DIGITS.sub("[NUMBER]", masked)


def _long_number(value: str, col: Column) -> str:
    """A number of nine digits or more could be a phone or account number: not shown."""
    if col.type in ("int", "float") and len(re.sub(r"\D", "", value)) >= 9:
        return "[NUMBER]"
    return value


def _shown_values(col: Column, masker: _Masker) -> str:
    if col.pii in ("email", "phone", "name") or col.guess in ("customer_id", "customer_name"):
        kind = {"email": "e-mail addresses", "phone": "phone numbers", "name": "person names"}.get(col.pii, "ids")
        return f"({col.distinct:,} distinct {kind}, not shown)"
    parts = []
    for value, n in col.top:
        # times and short numbers are shown as they are; text is masked, long numbers hidden
        shown = masker(value) if col.type == "text" else _long_number(value, col)
        shown = shown.replace("\n", " ")
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        parts.append(f"{shown} ({n:,})")
    return "; ".join(parts)


# ---------------------------------------------------------------- profile

def profile_columns(export: Export, tables: tuple[str, ...] = ("tickets", "surveys")) -> list[Column]:
    columns = [_infer(name, export.frame[name]) for name in export.frame.columns]
    _guess_fields(columns, tables)
    return columns


def profile_export(path: str | Path, encoding: str | None = None, delimiter: str | None = None,
                   sheet: str | None = None, tables: tuple[str, ...] = ("tickets", "surveys")) -> pd.DataFrame:
    """Describe each raw column of an export, and the file (in ``DataFrame.attrs``).

    Parameters
    ----------
    path : path-like
        The export (CSV, XLSX or JSON lines).
    encoding, delimiter, sheet : str, optional
        Override the detected encoding, delimiter or (XLSX) sheet.
    tables : tuple of str
        Canonical tables whose fields are guessed (default tickets and surveys: a ticket export
        often carries its satisfaction rating on the row).

    Returns
    -------
    DataFrame
        One row per raw column, in file order: ``column``, ``type`` (int, float, datetime, bool,
        duration for ``mm:ss`` / ``h:mm:ss``, text), ``empty`` (share), ``distinct``, ``top_values``
        (PII masked), ``formats`` (date formats, clock or decimal-comma notation), ``range``,
        ``unit`` (from the header words), ``pii`` (email, phone, name, text), ``table``, ``guess``
        (canonical field) and ``confidence`` (0-1). ``attrs`` holds the file facts of
        :func:`read_export` (file, format, encoding, delimiter, header_row, rows, ...).

    Examples
    --------
    >>> profile = profile_export("zendesk_tickets.csv")            # doctest: +SKIP
    >>> profile.attrs["delimiter"], profile.loc[0, "guess"]        # doctest: +SKIP
    (',', 'ticket_id')
    """
    export = read_export(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    columns = profile_columns(export, tables)
    masker = _Masker(_names_in(export, columns))
    rows = [{
        "column": c.name, "type": c.type, "empty": c.empty, "distinct": c.distinct,
        "top_values": _shown_values(c, masker),
        "formats": ", ".join(c.formats) + (" (day/month ambiguous)" if c.ambiguous else ""),
        "range": "" if c.pii or c.guess in ("customer_id", "customer_name") or "[NUMBER]" in _long_number(
            c.range.split(" .. ")[-1], c) else c.range,
        "unit": "" if c.unit in (None, "clock") else c.unit, "pii": c.pii, "table": c.table, "guess": c.guess,
        "confidence": round(c.confidence, 2),
    } for c in columns]
    frame = pd.DataFrame(rows, columns=PROFILE_COLUMNS)
    frame.attrs.update(export.facts)
    return frame


def _names_in(export: Export, columns: list[Column]) -> list[str]:
    """Person names found in name columns: they are masked wherever the profile shows text."""
    names: list[str] = []
    for col in columns:
        if col.pii == "name":
            names += list(pd.unique(present_values(export.frame[col.name])))
    return names


def format_profile(profile: pd.DataFrame) -> str:
    """The profile as text for a terminal: the file facts, then one line per column."""
    facts = profile.attrs
    head = [f"{facts.get('file')}: {facts.get('format')}"
            + (f", encoding {facts['encoding']}{' with BOM' if facts.get('bom') else ''}" if facts.get("encoding") else "")
            + (f", delimiter {facts['delimiter']!r}" if facts.get("delimiter") else "")
            + (f", sheet {facts['sheet']!r} of {facts['sheets']}" if facts.get("sheet") else "")
            + f", header on row {facts.get('header_row')}, {facts.get('rows', 0):,} rows"
            + (" (profiled the first rows)" if facts.get("sampled") else "")
            + f", {facts.get('columns', 0)} columns"]
    shown = profile.assign(empty=(profile["empty"] * 100).round(1).astype(str) + "%")
    with pd.option_context("display.max_colwidth", 60, "display.width", 250, "display.max_columns", None):
        return "\n".join(head) + "\n" + shown.to_string(index=False)

