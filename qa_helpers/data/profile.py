"""Profile a foreign export and draft its source mapping: the engine of ``qakit map FILE``.

:func:`profile_export` reads any CSV / XLSX / JSON-lines export as text and describes each raw
column: inferred type, share empty, distinct values, top values (PII masked), date formats, units
named in the header, likely PII, and the canonical field it probably feeds. :func:`draft_mapping`
turns that into a commented ``sources.yml`` draft in the syntax of ``config/sources.yml``:
renames, units, value maps, date formats, privacy settings, extra columns to keep, and the
canonical fields it could not find (``absent``). :func:`map_export` writes the draft.

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
from qa_helpers.data.schemas import (DEFAULT_VALUE_SETS, KEY_FIELDS, SAFE_NAME, SCHEMAS, SURVEY_SOURCES, TIME_COLUMNS,
                                     parse_kind)
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
IDENTITY_WORDS = re.compile(r"organi[sz]ation|company|account|employer|address|street|zip|postcode|公司|地址")
CALL_WORDS = re.compile(r"\bcall\b|talk|ring|caller|\bani\b|\bivr\b|queue wait|通话")

# Canonical field -> header synonyms (normalised: lower case, units and punctuation removed), with a
# weight when the word is a weaker hint. The kit's own sources.yml adds its (Chinese) headers.
SYNONYMS: dict[str, dict[str, list]] = {
    "tickets": {
        "ticket_id": ["ticket id", "ticket", "id", "ticket number", "ticket no", "case id", "case number", "call id",
                      "contact id", "interaction id", "conversation id", "request id", "工单编号", "工单号", "工单id",
                      ("编号", 0.7), ("number", 0.6), ("uniqueid", 0.8)],
        "created_at": ["created at", "created", "creation date", "creation time", "created date", "date created",
                       "created time", "opened", "opened at", "open date", "start time", "call start", "start",
                       "received at", "call date", "创建时间", "建单时间", "受理时间", "开始时间", ("date", 0.6),
                       ("time", 0.55)],
        "channel": ["channel", "via", "medium", "media", "media type", "media name", "contact channel",
                    "contact type", "渠道", "来源渠道", ("source", 0.7)],
        "agent_id": ["assignee", "agent", "agent id", "agent name", "agent no", "owner", "handled by", "handler",
                     "客服工号", "坐席工号", "坐席", "处理人", ("user", 0.6), ("assigned to", 0.9)],
        "customer_id": ["requester id", "customer id", "customer number", "client id", "account id", "account number",
                        "customer no", "客户编号", "客户id", ("caller number", 0.75), ("caller", 0.6), ("ani", 0.7),
                        ("caller id", 0.75), ("from number", 0.6), ("customer", 0.55)],
        "customer_name": ["requester", "requester name", "customer name", "client name", "contact name", "caller name",
                          "客户姓名", "姓名", "客户名称", ("name", 0.7)],
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
                     "work time", "处理时长", ("talk time", 0.6), ("通话时长", 0.6), ("duration", 0.5)],
        "resolved_at": ["solved at", "resolved at", "resolution date", "resolution time stamp", "solved", "resolved",
                        "resolved date", "solved date", "解决时间", "结单时间", ("closed at", 0.8), ("关闭时间", 0.8),
                        ("end time", 0.6), ("call end", 0.6)],
        "contacts_to_resolve": ["contacts to resolve", "number of contacts", "contact count", "contacts", "联系次数"],
        "first_contact_resolved": ["first contact resolution", "first contact resolved", "fcr",
                                   "resolved on first contact", "first call resolution", "one touch", "是否首次解决",
                                   "一次解决"],
        "reopened": ["reopened", "reopens", "reopen count", "times reopened", "是否重开", "重开次数"],
        "remark": ["description", "notes", "note", "remark", "remarks", "comments", "comment", "body", "details",
                   "internal note", "agent notes", "备注", "描述", "处理记录"],
        "team": ["group", "team", "queue", "skill", "skill name", "assigned group", "support group", "班组", "队列",
                 "技能组", ("queue name", 0.9)],
        "department": ["department", "division", "business unit", "部门"],
    },
    "surveys": {
        "survey_id": ["survey id", "response id", "rating id", "问卷编号"],
        "answered_at": ["rated at", "rating date", "survey date", "answered at", "submitted at", "responded at",
                        "response date", "提交时间", "评价时间"],
        "csat": ["satisfaction score", "satisfaction", "satisfaction rating", "csat", "csat score", "survey score",
                 "rating", "满意度评分", "满意度", ("score", 0.6)],
        "nps": ["nps", "nps score", "likelihood to recommend", "recommend", "survey nps", "推荐意愿"],
        "comment": ["satisfaction comment", "survey comment", "feedback", "rating comment", "评价内容",
                    ("comment", 0.55)],
    },
}
CODED_FIELDS = {"channel", "category", "priority", "customer_type", "cause_dimension", "source"}
VALUE_GUESSES: dict[str, list[tuple[str, str]]] = {  # field -> (keyword in the lower-case raw value, canonical)
    "channel": [("web form", "self_service"), ("help center", "self_service"), ("helpcenter", "self_service"),
                ("portal", "self_service"), ("self", "self_service"), ("mobile", "self_service"),
                ("api", "self_service"), ("app", "self_service"),
                ("phone", "phone"), ("voice", "phone"), ("call", "phone"), ("voicemail", "phone"), ("电话", "phone"),
                ("热线", "phone"), ("chat", "chat"), ("widget", "chat"), ("messag", "chat"), ("whatsapp", "chat"),
                ("在线", "chat"), ("e-mail", "email"), ("email", "email"), ("mail", "email"), ("邮件", "email"),
                ("twitter", "social"), ("facebook", "social"), ("instagram", "social"), ("social", "social"),
                ("weibo", "social"), ("社交", "social"), ("微博", "social"), ("onsite", "onsite"),
                ("on-site", "onsite"), ("field", "onsite"), ("visit", "onsite"), ("上门", "onsite")],
    "category": [("bill", "billing_dispute"), ("invoice", "billing_dispute"), ("payment", "billing_dispute"),
                 ("refund", "billing_dispute"), ("charge", "billing_dispute"), ("账单", "billing_dispute"),
                 ("technical", "fault_repair"), ("fault", "fault_repair"), ("outage", "fault_repair"),
                 ("repair", "fault_repair"), ("error", "fault_repair"), ("bug", "fault_repair"),
                 ("incident", "fault_repair"), ("故障", "fault_repair"), ("install", "installation"),
                 ("setup", "installation"), ("set up", "installation"), ("activation", "installation"),
                 ("onboard", "installation"), ("new connection", "installation"), ("开通", "installation"),
                 ("安装", "installation"), ("question", "consultation"), ("how-to", "consultation"),
                 ("how to", "consultation"), ("info", "consultation"), ("inquiry", "consultation"),
                 ("enquiry", "consultation"), ("consult", "consultation"), ("咨询", "consultation"),
                 ("other", "other"), ("operator", "other"), ("misc", "other"), ("其他", "other")],
    "priority": [("urgent", "high"), ("critical", "high"), ("p1", "high"), ("high", "high"), ("高", "high"),
                 ("normal", "medium"), ("medium", "medium"), ("p2", "medium"), ("中", "medium"), ("low", "low"),
                 ("p3", "low"), ("低", "low")],
    "customer_type": [("enterprise", "enterprise"), ("business", "enterprise"), ("company", "enterprise"),
                      ("corporate", "enterprise"), ("b2b", "enterprise"), ("企业", "enterprise"),
                      ("individual", "individual"), ("consumer", "individual"), ("private", "individual"),
                      ("personal", "individual"), ("b2c", "individual"), ("个人", "individual")],
    "cause_dimension": [("人员", "people"), ("people", "people"), ("staff", "people"), ("human", "people"),
                        ("流程", "process"), ("process", "process"), ("procedure", "process"), ("工具", "tools"),
                        ("tool", "tools"), ("system", "tools"), ("环境", "environment"), ("environment", "environment"),
                        ("external", "environment")],
    "source": [("survey", "survey"), ("questionnaire", "survey"), ("ivr", "survey"), ("问卷", "survey"),
               ("回访", "survey"), ("review", "review"), ("online", "review"), ("app store", "review"),
               ("评价", "review"), ("点评", "review")],
}
FIXED_SETS = {"source": list(SURVEY_SOURCES)}  # allowed values no config can widen
CSAT_WORDS = {"good": 5, "bad": 1, "satisfied": 5, "dissatisfied": 1, "满意": 5, "不满意": 1,
              "positive": 5, "negative": 1, "thumbs up": 5, "thumbs down": 1}
UPDATED_WORDS = re.compile(r"updated|modified|last activity|更新时间")


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
                out.setdefault(table, {}).setdefault(str(canonical), []).append(_norm(str(raw)))
    return out


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

def _norm(header: str) -> str:
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


def _present(values: pd.Series) -> pd.Series:
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
    top_raw: list[str] = field(default_factory=list)  # a few raw values, never shown: for shape checks
    table: str = ""
    guess: str = ""
    confidence: float = 0.0


def _infer(name: str, raw: pd.Series) -> Column:
    col = Column(name)
    values = _present(raw.astype(str))
    col.empty = round(1 - len(values) / len(raw), 4) if len(raw) else 1.0
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
        col.values = [str(v) for v in counts.index]
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


def _guess_fields(columns: list[Column], tables: tuple[str, ...]) -> None:
    """Give each column the canonical field it most likely feeds (each field at most once)."""
    synonyms = {t: {f: list(s) for f, s in SYNONYMS.get(t, {}).items()} for t in tables}
    for table, fields in _kit_synonyms().items():
        if table in synonyms:
            for name, raws in fields.items():
                synonyms[table].setdefault(name, []).extend(raws)
    for table in tables:  # every canonical name is a synonym of itself ("ticket_id", "Ticket Id")
        for name in SCHEMAS[table].columns:
            synonyms[table].setdefault(name, []).append(name.replace("_", " "))
    scored = []
    for col in columns:
        header = _norm(col.name)
        for table in tables:
            for name, words in synonyms[table].items():
                best = 0.0
                for word in words:
                    word, weight = (word, 1.0) if isinstance(word, str) else word
                    if header == word:
                        score = 0.95 * weight
                    elif re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", header) and len(word) >= 2:
                        score = (0.5 + 0.35 * len(word) / max(len(header), 1)) * weight
                    else:
                        continue
                    best = max(best, score)
                if best:
                    scored.append((round(best * _fits(col, table, name), 3), col.name, table, name))
    taken_cols: set[str] = set()
    taken_fields: set[tuple[str, str]] = set()
    by_name = {c.name: c for c in columns}
    for score, column, table, name in sorted(scored, key=lambda s: (-s[0], s[1])):
        if column in taken_cols or (table, name) in taken_fields or score < 0.3:
            continue
        col = by_name[column]
        col.table, col.guess, col.confidence = table, name, score
        taken_cols.add(column)
        taken_fields.add((table, name))


def _fits(col: Column, table: str, name: str) -> float:
    """How well a column's values fit a field's type (1 = fits, lower = a poor fit)."""
    kind = parse_kind(table, name) if name in SCHEMAS[table].columns else "str"
    if kind == "datetime":
        return 1.0 if col.type == "datetime" else 0.2
    if name.endswith("_s"):
        return 1.0 if col.type in ("int", "float", "duration") else 0.2
    if name in ("csat", "nps"):
        if col.type == "int":
            return 1.0
        return 0.9 if name == "csat" and {v.lower() for v in col.values} & set(CSAT_WORDS) else 0.2
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
    if name.endswith("_id") and col.pii in ("email", "name") and name != "agent_id":
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

        try:
            masked = mask_text(pd.Series([text], dtype="str"), self.names, locales=PII_LOCALES).iloc[0]
        except TypeError:  # an older mask_text without locales
            masked = mask_text(pd.Series([text], dtype="str"), self.names).iloc[0]
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

def _profile(export: Export, tables: tuple[str, ...] = ("tickets", "surveys")) -> list[Column]:
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
    columns = _profile(export, tables)
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
            names += list(pd.unique(_present(export.frame[col.name])))
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
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        return "\n".join(head) + "\n" + shown.to_string(index=False)


# ---------------------------------------------------------------- the draft mapping

_PLAIN = re.compile(r"[A-Za-z_\u4e00-\u9fff][\w \u4e00-\u9fff()'’.+-]*")
_RESERVED = {"yes", "no", "true", "false", "on", "off", "null", "y", "n", "~"}


def _q(text: str) -> str:
    """A YAML scalar for ``text``: plain when that reads back the same, else double-quoted."""
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and text == text.strip():
        return text
    return json.dumps(text, ensure_ascii=False)


def _expr(text: str) -> str:
    """A DuckDB expression as a single-quoted YAML scalar (its quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _col(raw: str) -> str:
    """A raw header as DuckDB names it in an expression."""
    return '"' + raw.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _pattern(name: str) -> str:
    """A glob for the export's later files: name parts holding digits (dates, periods) become ``*``."""
    stem, dot, suffix = name.rpartition(".")
    stem = stem if dot else name
    parts = re.split(r"([_\- .])", stem)
    generic = "".join("*" if re.search(r"\d", part) else part for part in parts)
    generic = re.sub(r"\*(?:[_\- .]\*)+", "*", generic)
    return f"{generic}.{suffix}" if dot else generic


def _value_guess(field_name: str, value: str, allowed: list[str]) -> str | None:
    lowered = value.strip().lower()
    if lowered in allowed:
        return lowered
    for word, canonical in VALUE_GUESSES.get(field_name, []):
        if word in lowered:
            return canonical
    return None


def _locales(columns: list[Column], export: Export) -> list[str]:
    """PII locales from the phone numbers seen: North-American shapes -> us, mainland mobiles -> cn."""
    text = " ".join(pd.unique(pd.concat([_present(export.frame[c.name]).head(2000) for c in columns
                                         if c.pii in ("phone", "text")] or [pd.Series([], dtype=str)])))
    found = ["intl"]
    if re.search(r"(?<![\d+])1[3-9]\d{9}(?!\d)|\+86|[\u4e00-\u9fff]", text) or any(
            re.search(r"[\u4e00-\u9fff]", c.name) for c in columns):
        found.insert(0, "cn")
    if re.search(r"\(\d{3}\) ?\d{3}-\d{4}|(?<!\d)\d{3}[-.]\d{3}[-.]\d{4}(?!\d)|\+1[ -]?\d{3}", text):
        found.append("us")
    return found


def _timezone(locales: list[str]) -> str:
    return "Asia/Shanghai" if "cn" in locales else "America/New_York" if "us" in locales else "UTC"


@dataclass
class _Source:
    """The parts of one drafted source, written out by :func:`_write_source`."""

    table: str
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)   # raw -> [(field, comment)]
    units: dict[str, str] = field(default_factory=dict)
    derived: dict[str, tuple[str, str]] = field(default_factory=dict)         # field -> (expression, comment)
    constants: dict[str, tuple[str, str]] = field(default_factory=dict)
    values: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # field -> [(raw, canon, comment)]
    value_sets: dict[str, list[str]] = field(default_factory=dict)           # additions to the kit's sets
    keep: dict[str, str] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    missing_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)                            # comment lines before the source
    suggestions: list[str] = field(default_factory=list)                      # commented-out keys
    rows_where: tuple[str, str] | None = None
    pseudonymise: list[str] = field(default_factory=list)
    customer_names: str | None = None
    mask_pii: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    link: str | None = None

    def fed(self) -> set[str]:
        return ({f for fs in self.columns.values() for f, _ in fs} | set(self.derived) | set(self.constants))

    def add_column(self, raw: str, name: str, comment: str = "") -> None:
        self.columns.setdefault(raw, []).append((name, comment))


def _duration(src: _Source, col: Column, name: str) -> None:
    """Map a duration column: straight, with its unit, or through an expression for clock and decimal-comma text."""
    if col.type == "duration":
        src.derived[name] = (f"duration({_col(col.name)})", f"{'/'.join(col.formats)} read as seconds")
    elif col.decimal_comma:
        factor = {"minutes": " * 60", "hours": " * 3600", "days": " * 86400", "milliseconds": " / 1000"}.get(
            col.unit or "", "")
        src.derived[name] = (f"num(replace(txt({_col(col.name)}), ',', '.')){factor}",
                             f"decimal comma{', ' + col.unit if col.unit else ''}; TODO check the unit")
    else:
        comment = f"confidence {col.confidence:.2f}"
        if col.unit in (None, "clock"):
            comment += "; TODO: the header names no unit, seconds assumed (else add it under units:)"
        src.add_column(col.name, name, comment)
        if col.unit not in (None, "clock", "seconds"):
            src.units[name] = col.unit


def _plan_source(table: str, columns: list[Column], export: Export, value_sets: dict[str, list[str]],
                 carve: bool = False) -> _Source:
    """Decide the mapping of one table from the guessed columns."""
    src = _Source(table)
    schema = SCHEMAS[table]
    mine = {c.guess: c for c in columns if c.table == table and c.guess and c.confidence >= MIN_CONFIDENCE}
    if carve:  # surveys carved out of a ticket export: the ticket id is the survey's id too
        ticket = next((c for c in columns if c.table == "tickets" and c.guess == "ticket_id"), None)
        if ticket is not None and "survey_id" not in mine:
            src.add_column(ticket.name, "survey_id", "one rating per ticket")
            src.add_column(ticket.name, "ticket_id")
    ticket_key = next((c for c in columns if c.table == "tickets" and c.guess == "ticket_id"), None)
    for name, col in mine.items():
        if name == "customer_id" and col.pii == "phone":
            src.derived[name] = (_phone_key(col, ticket_key), "TODO: the phone number is the customer key: its digits, "
                                 "so every way of writing it is one customer; a withheld number is a customer per row")
        elif name.endswith("_s"):
            _duration(src, col, name)
        elif parse_kind(table, name) == "bool" and col.type == "int":
            src.derived[name] = (f"coalesce(num({_col(col.name)}) > 0, false)", f"a count in {col.name!r}: more than 0")
        elif name == "csat" and col.type != "int":
            src.add_column(col.name, name, f"confidence {col.confidence:.2f}")
            words = [v for v in col.values if v.lower() in CSAT_WORDS]
            src.values["csat"] = [(v, str(CSAT_WORDS[v.lower()]), "TODO: a two-point scale, top-2-box = the good ones")
                                  for v in words]
            src.rows_where = (f"txt({_col(col.name)}) IN ({', '.join(_sql_text(v) for v in words)})",
                              "only rated rows: " + ", ".join(v for v in col.values if v not in words)
                              + " are not answers" if len(words) < len(col.values) else "only rated rows")
        else:
            src.add_column(col.name, name, f"confidence {col.confidence:.2f}")
        if name == "csat" and col.type == "int" and carve:
            src.rows_where = (f"num({_col(col.name)}) IS NOT NULL", "only the rows with a score")
        if name in CODED_FIELDS and (name in value_sets or name in FIXED_SETS):
            _value_map(src, name, col, value_sets)
        if name in ("team", "department"):
            unsafe = [v for v in col.values if not re.fullmatch(SAFE_NAME, v)]
            if unsafe:  # team names become folder names under reports/
                src.values[name] = [(v, _slug(v), "TODO: a team name is a folder name: letters, digits, _ . - only")
                                    for v in unsafe]
    by_header = {c.name: c for c in columns}
    if table == "tickets":
        _handle_parts(src, columns)
        _ticket_suggestions(src, columns, src.fed(), by_header)
    required = [n for n, c in schema.columns.items() if not c.nullable and n not in KEY_FIELDS[table]]
    sparse = {n: by_header[raw].empty for raw, fs in src.columns.items() for n, _ in fs
              if n in required and by_header[raw].empty > 0}
    if sparse:
        src.suggestions.append(
            f"allow_empty: [{', '.join(sparse)}]   # TODO: "
            + ", ".join(f"{n} is empty in {share:.1%} of rows" for n, share in sparse.items())
            + ": such rows are quarantined (missing_required) unless allowed here")
    if table == "surveys":
        if "answered_at" not in src.fed():
            base = next((c for c in columns if c.type == "datetime" and UPDATED_WORDS.search(c.name.lower())), None)
            base = base or next((c for c in columns if c.table == "tickets" and c.guess == "resolved_at"), None)
            base = base or next((c for c in columns if c.table == "tickets" and c.guess == "created_at"), None)
            if base is not None:
                src.derived["answered_at"] = (f"ts({_col(base.name)})",
                                              "TODO: the export has no answer time; the nearest stamp")
        if "source" not in src.fed():
            src.constants["source"] = ("survey", "every row is a survey answer (not an online review)")
    fed = src.fed()
    for name, column in schema.columns.items():
        if name in fed or name == "customer_name" and table != "tickets":
            continue
        if name in ("team", "department") and table != "tickets":
            continue
        if name in KEY_FIELDS[table]:
            src.missing_keys.append(name)
        else:
            src.absent.append(name)
    # free text and privacy
    for raw, fields in src.columns.items():
        for name, _ in fields:
            if name == "customer_id" or (name.endswith("_id") and by_header.get(raw) is not None
                                         and by_header[raw].pii in ("email", "phone") and name != "ticket_id"):
                src.pseudonymise.append(name)
            if name == "customer_name":
                src.customer_names = name
            if name in ("remark", "comment", "text"):
                src.mask_pii.append(name)
    if "customer_id" in src.derived:
        src.pseudonymise.append("customer_id")
    return src


def _slug(value: str) -> str:
    """A path-safe name for a team: ``Tier 1 Support`` -> ``Tier-1-Support``."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", value.strip()).strip("-.")
    return (slug if slug and slug[0].isalnum() else f"team-{slug}")[:64] or "team"


def _phone_key(col: Column, ticket_key: Column | None) -> str:
    """An expression: the digits of a phone number (the last ten for North-American numbers), or an
    unknown customer of its own per row when the number is withheld."""
    digits = f"regexp_replace(txt({_col(col.name)}), '[^0-9]', '', 'g')"
    if any(re.fullmatch(r"\+?1?[\s(.-]*[2-9]\d{2}[\s).-]*\d{3}[\s.-]*\d{4}", v) for v in col.top_raw):
        digits = f"right({digits}, 10)"
    fallback = f"'withheld-' || txt({_col(ticket_key.name)})" if ticket_key is not None else "NULL"
    return f"coalesce(nullif({digits}, ''), {fallback})"


def _term(col: Column) -> str:
    """A duration column as seconds in an expression (empty counts as 0)."""
    if col.type == "duration":
        return f"coalesce(duration({_col(col.name)}), 0)"
    factor = {"minutes": " * 60", "hours": " * 3600", "milliseconds": " / 1000", "days": " * 86400"}.get(col.unit or "", "")
    return f"coalesce(num({_col(col.name)}){factor}, 0)"


def _handle_parts(src: _Source, columns: list[Column]) -> None:
    """Handle time from a call log's parts: talk, plus hold and after-call work when the export has them."""
    talk = next((c for c in columns if c.guess == "handle_s" and re.search(r"talk|通话", c.name.lower())), None)
    if talk is None:
        return
    parts = [c for c in columns if not c.guess and c.type in ("int", "float", "duration") and not c.decimal_comma
             and re.search(r"\bhold\b|\bacw\b|after[- ]?call|wrap|保持|话后", c.name.lower())]
    if not parts:
        return
    src.columns.pop(talk.name, None)
    src.derived["handle_s"] = (" + ".join(_term(c) for c in [talk, *parts]),
                               "handle time = talk + hold + after-call work; TODO check the parts")


def _value_map(src: _Source, name: str, col: Column, value_sets: dict[str, list[str]]) -> None:
    fixed = name not in value_sets
    allowed = list(FIXED_SETS[name]) if fixed else value_sets[name]
    entries = []
    for value in col.values:
        if value in allowed:
            continue
        guess = _value_guess(name, value, allowed)
        if guess is None:
            entries.append((value, value, f"TODO: no guess; map to one of {', '.join(allowed)} (or add it to value_sets)"))
            continue
        if guess not in allowed and not fixed:
            src.value_sets.setdefault(name, []).append(guess)
            allowed.append(guess)
            entries.append((value, guess, f"TODO: guessed; {guess!r} added to value_sets.{name}"))
        else:
            exact = value.strip().lower() == guess
            entries.append((value, guess, "" if exact else "TODO: guessed"))
    if entries:
        src.values[name] = entries


def _ticket_suggestions(src: _Source, columns: list[Column], fed: set[str], by_header: dict[str, Column]) -> None:
    """Derived fields and comments for what a ticket export usually says in other words."""
    leftovers = [c for c in columns if not c.guess or c.confidence < MIN_CONFIDENCE]
    status = next((c for c in columns if re.search(r"\bstatus\b|状态", c.name.lower()) and c.values), None)
    org = next((c for c in leftovers if re.search(r"organi[sz]ation|company|公司", c.name.lower())), None)
    if "customer_type" not in fed and org is not None:
        src.derived["customer_type"] = (
            f"CASE WHEN txt({_col(org.name)}) IS NULL THEN 'individual' ELSE 'enterprise' END",
            f"TODO: guessed: a row with an {org.name!r} is a business customer")
    if "channel" not in fed and any(CALL_WORDS.search(c.name.lower()) for c in columns):
        src.constants["channel"] = ("phone", "TODO: the export looks like a call log: every row a phone contact")
    replies = next((c for c in columns if re.search(r"\brepl(?:y|ies)\b", _norm(c.name)) and c.type == "int"
                    and "reply time" not in _norm(c.name)), None)
    solved = [v for v in (status.values if status else []) if re.search(r"solved|resolved|closed|已解决|已关闭", v.lower())]
    if "first_contact_resolved" not in fed and status is not None and replies is not None and solved:
        src.suggestions.append(
            "derived: {first_contact_resolved: "
            + _expr(f"coalesce(txt({_col(status.name)}) IN ({', '.join(_sql_text(v) for v in solved)}) AND "
                    f"num({_col(replies.name)}) <= 1, false)")
            + "}   # one-touch resolution, if that is your definition")
    if "resolved_at" in fed and status is not None and solved:
        raw = next(r for r, fs in src.columns.items() if any(f == "resolved_at" for f, _ in fs))
        if by_header[raw].type == "datetime":
            src.columns.pop(raw)
            src.derived["resolved_at"] = (
                f"CASE WHEN txt({_col(status.name)}) IN ({', '.join(_sql_text(v) for v in solved)}) "
                f"THEN ts({_col(raw)}) END", "TODO: resolved only while the status says so (a reopened ticket is not)")
    abandoned = next((c for c in columns if re.search(r"abandon", c.name.lower()) and c.type == "bool"), None)
    if abandoned is not None:
        no = next((v for v in abandoned.values if v.lower() in FALSE_TOKENS), "N")
        src.suggestions.append(f"rows_where: {_expr(f'txt({_col(abandoned.name)}) = {_sql_text(no)}')}"
                               "   # keep abandoned contacts out of the tickets?")
    for col in columns:
        if col.type == "datetime" and col.ambiguous:
            src.notes.append(f"TODO: {col.name!r} reads both day-first and month-first; check datetime_formats")


def _keep_candidates(columns: list[Column], used: set[str]) -> dict[str, str]:
    keep = {}
    names: set[str] = set(SCHEMAS["tickets"].columns) | set(SCHEMAS["surveys"].columns) | {"month"}
    for col in columns:
        if col.name in used or (col.guess and col.confidence >= MIN_CONFIDENCE) or col.pii or col.free_text:
            continue
        if col.type not in ("text", "bool") or not col.values or col.distinct < 2:
            continue
        if IDENTITY_WORDS.search(col.name.lower()):
            continue  # who the customer is, not a dimension to break down by
        name = re.sub(r"[^a-z0-9]+", "_", _norm(col.name).encode("ascii", "ignore").decode()).strip("_")[:40]
        if not name or not name[0].isalpha():
            name = f"extra_{len(keep) + 1}"
        while name in names:
            name = f"{name}_raw"
        names.add(name)
        keep[col.name] = name
    return keep


FIELD_HELP = {
    "ticket_id": "the ticket's id", "created_at": "when the ticket was created", "channel": "phone, chat, email, ...",
    "agent_id": "who handled it", "customer_id": "who the customer is (pseudonymised)",
    "customer_name": "customer names, only to mask them in free text", "customer_type": "enterprise / individual",
    "category": "what the contact was about", "priority": "the ticket's priority",
    "first_response_s": "seconds to the first response", "handle_s": "seconds of handling (AHT)",
    "resolved_at": "when it was resolved (resolution time, SLA)", "contacts_to_resolve": "contacts it took",
    "first_contact_resolved": "resolved at the first contact (FCR)", "reopened": "reopened after resolution",
    "remark": "free text", "team": "the team on the row", "department": "the team's department",
    "survey_id": "the answer's id", "answered_at": "when the survey was answered", "csat": "score 1-5",
    "nps": "0-10 recommendation", "comment": "free text of the answer", "source": "survey or review",
}


def _write_source(src: _Source, export: Export, columns: list[Column], locales: list[str],
                  base: str | None) -> list[str]:
    facts = export.facts
    out = [f"  {src.table}:"]
    out += [f"    # {note}" for note in src.notes]
    if base:
        out.append(f"    from_source: {base}")
    else:
        out.append(f"    pattern: {_q(_pattern(facts['file']))}       # TODO: the file name(s) of this export in the raw folder")
        out.append(f"    format: {facts['format']}")
        if facts["format"] == "xlsx":
            out.append(f"    sheet: {_q(facts['sheet'])}")
        else:
            out.append(f"    encoding: {facts['encoding']}" + ("       # a byte-order mark is fine" if facts["bom"] else ""))
        if facts["format"] == "csv":
            out.append(f"    delimiter: {json.dumps(facts['delimiter'])}")
        if facts.get("header_row", 1) != 1:
            out.append(f"    # TODO: the header is on row {facts['header_row']}: ingest reads it from row 1, so delete the "
                       f"{facts['header_row'] - 1} line(s) above it first")
        out.append(f"    timezone: {_timezone(locales)}        # TODO: the zone the export's times are written in")
    if src.rows_where:
        out.append(f"    rows_where: {_expr(src.rows_where[0])}   # {src.rows_where[1]}")
    out.append("    columns:")
    width = max([len(_q(r)) for r in src.columns] or [0]) + 2
    for raw, fields in src.columns.items():
        targets = [f for f, _ in fields]
        comment = "; ".join(c for _, c in fields if c)
        value = targets[0] if len(targets) == 1 else "[" + ", ".join(targets) + "]"
        out.append(f"      {(_q(raw) + ':').ljust(width)} {value}" + (f"   # {comment}" if comment else ""))
    if not src.columns:
        out[-1] = "    columns: {}"
    if src.units:
        out.append("    units: {" + ", ".join(f"{k}: {v}" for k, v in src.units.items()) + "}   # from the header words")
    if src.derived:
        out.append("    derived:")
        for name, (expression, comment) in src.derived.items():
            out.append(f"      {name}: {_expr(expression)}" + (f"   # {comment}" if comment else ""))
    if src.constants:
        out.append("    constants:")
        for name, (value, comment) in src.constants.items():
            out.append(f"      {name}: {_q(value)}" + (f"   # {comment}" if comment else ""))
    if src.values:
        out.append("    values:")
        for name, entries in src.values.items():
            out.append(f"      {name}:")
            for raw, canonical, comment in entries:
                out.append(f"        {_q(raw)}: {_q(canonical) if name != 'csat' else canonical}"
                           + (f"   # {comment}" if comment else ""))
    if not base:
        formats = list(dict.fromkeys(f for c in columns if c.type == "datetime" for f in c.formats))
        if formats:
            out.append("    datetime_formats: [" + ", ".join(json.dumps(f) for f in formats) + "]")
    if src.pseudonymise:
        out.append(f"    pseudonymise: [{', '.join(dict.fromkeys(src.pseudonymise))}]   # keyed hashes, never the raw ids")
    if src.customer_names:
        out.append(f"    customer_names: {src.customer_names}   # masks these names in free text; never archived")
    if src.mask_pii:
        out.append(f"    mask_pii: [{', '.join(src.mask_pii)}]   # phone numbers, e-mails, ids and names masked")
    if src.keep:
        out.append("    keep:   # extra columns archived as text dimensions (break reports down by them)")
        for raw, name in src.keep.items():
            out.append(f"      {_q(raw)}: {name}")
    if src.missing_keys:
        out.append(f"    # REQUIRED and not found: {', '.join(src.missing_keys)} — map a raw column to each under "
                   "columns: (or derived:), or the mapping is refused")
    if src.absent:
        out.append("    # Not found in this export; stored as empty columns, and every KPI that needs them is")
        out.append("    # reported \"not measured\". Map any you do have under columns: / derived: / constants:")
        for name in src.absent:
            out.append(f"    #   {name:<24} {FIELD_HELP.get(name, '')}")
        out.append(f"    absent: [{', '.join(src.absent)}]")
    for line in src.suggestions:
        out.append(f"    # {line}")
    out.append("    rules:")
    out += [f"      - {rule}" for rule in src.rules]
    if src.link:
        out.append(f"    link: {src.link}")
    return out


def _rules(src: _Source) -> None:
    table = src.table
    fed = src.fed()
    key = next(iter(SCHEMAS[table].columns))
    time_column = TIME_COLUMNS.get(table)
    src.rules = ["duplicate_row: {}", f"duplicate_id: {{key: {key}}}"]
    times = [c for c in (time_column, "resolved_at") if c and c in fed]
    if times:
        src.rules.append(f"out_of_range_time: {{columns: [{', '.join(times)}]}}")
    if table == "tickets" and "resolved_at" in fed:
        src.rules.append("time_order: {earlier: created_at, later: [resolved_at]}")


def draft_mapping(path: str | Path, table: str = "tickets", encoding: str | None = None,
                  delimiter: str | None = None, sheet: str | None = None) -> str:
    """A draft ``sources.yml`` for one export: valid YAML in the kit's mapping syntax, with comments.

    It holds the renames it could guess (English and Chinese header synonyms, and the kit's own
    sample headers), units read from the header words (``First reply time in minutes`` →
    ``units: {first_response_s: minutes}``), ``duration()`` for ``mm:ss`` columns, value maps for
    the coded columns' values outside the kit's value sets (a guess, or the value itself marked
    TODO), the date formats found, ``pseudonymise`` / ``customer_names`` / ``mask_pii`` for
    id, name and free-text columns, ``keep`` for useful leftover text columns, and ``absent``
    with a comment block naming every canonical field it could not find. A ticket export with a
    satisfaction score on the row also gets a ``surveys`` source carved out of it.

    Parameters
    ----------
    path : path-like
        The export.
    table : str
        The canonical table the export feeds (``tickets`` by default).
    encoding, delimiter, sheet : str, optional
        Override what is detected.

    Returns
    -------
    str
        The YAML text (it parses; fields it could not place are marked TODO).
    """
    if table not in SCHEMAS:
        raise ValueError(f"unknown table {table!r}; tables are {', '.join(SCHEMAS)}")
    tables = (table, "surveys") if table == "tickets" else (table,)
    export = read_export(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    columns = _profile(export, tables)
    value_sets = {k: list(v) for k, v in DEFAULT_VALUE_SETS.items()}
    locales = _locales(columns, export)
    sources = [_plan_source(table, columns, export, value_sets)]
    csat = next((c for c in columns if c.table == "surveys" and c.guess == "csat"
                 and c.confidence >= MIN_CONFIDENCE), None)
    if table == "tickets" and csat is not None:
        sources.append(_plan_source("surveys", columns, export, value_sets, carve=True))
    used = {raw for s in sources for raw in s.columns}   # a column an expression reads may still be kept
    sources[0].keep = _keep_candidates(columns, used)
    for src in sources:
        _rules(src)
    if len(sources) > 1:
        sources[1].rules.append("unknown_link: {table: tickets, key: ticket_id}")
        sources[1].link = "{table: tickets, key: ticket_id, columns: [team, department, agent_id, channel, customer_type, category]}"
    text = _document(export, columns, sources, value_sets, locales)
    yaml.safe_load(text)  # a draft that does not parse is a bug here, not the user's problem
    return text


def _document(export: Export, columns: list[Column], sources: list[_Source], value_sets: dict[str, list[str]],
              locales: list[str]) -> str:
    facts = export.facts
    ignored = [c.name for c in columns if c.name not in {r for s in sources for r in s.columns}
               and c.name not in sources[0].keep
               and not any(_col(c.name) in e for s in sources for e, _ in s.derived.values())
               and not any(s.rows_where and _col(c.name) in s.rows_where[0] for s in sources)]
    time_range = next((c.range for c in columns if c.guess == TIME_COLUMNS.get(sources[0].table) and c.range), "")
    lines = [
        f"# Draft source mapping for {facts['file']}, written by `qakit map` from {facts['rows']:,} rows "
        f"and {facts['columns']} columns",
        f"# ({facts['format']}" + (f", {facts['encoding']}" if facts.get("encoding") else "")
        + (f", delimiter {facts['delimiter']!r}" if facts.get("delimiter") else "")
        + f", header on row {facts['header_row']}).",
        "# Check every line marked TODO and each guess's confidence, then save this file as sources.yml in",
        "# a config folder and ingest with --config <that folder>. Syntax: see the kit's config/sources.yml.",
        f"archive_timezone: {_timezone(locales)}       # TODO: the zone archived times are written in",
        f"default_timezone: {_timezone(locales)}",
        'valid_time_range: ["2020-01-01", "2030-12-31"]' + (f"   # the export spans {time_range}" if time_range else ""),
        f"pii_locales: [{', '.join(locales)}]             # phone number forms seen in the export",
        "value_sets:",
    ]
    for name, allowed in value_sets.items():
        added = [v for s in sources for v in s.value_sets.get(name, [])]
        lines.append(f"  {name}: [{', '.join(allowed)}]" + (f"   # TODO: added {', '.join(added)}" if added else ""))
    lines.append("sources:")
    for i, src in enumerate(sources):
        if i:
            lines.append("")
            lines.append("  # The satisfaction score is on the ticket row: the rated rows of the same export are the surveys.")
        lines += _write_source(src, export, columns, locales, base=sources[0].table if i else None)
    if ignored:
        lines.append("")
        lines.append("# Columns not used (dropped at ingest): " + ", ".join(ignored))
    return "\n".join(lines) + "\n"


def map_export(path: str | Path, table: str = "tickets", out: str | Path | None = None, **options) -> str:
    """Draft the source mapping of an export (:func:`draft_mapping`) and write it to ``out`` if given.

    Parameters
    ----------
    path : path-like
        The export.
    table : str
        The canonical table it feeds.
    out : path-like, optional
        Where to write the draft (its folder is created); an existing file is replaced.
    **options
        ``encoding``, ``delimiter``, ``sheet`` as for :func:`read_export`.

    Returns
    -------
    str
        The draft YAML text.
    """
    text = draft_mapping(path, table=table, **options)
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return text
