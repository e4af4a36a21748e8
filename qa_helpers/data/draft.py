"""Draft the source mapping of a foreign export: the second half of ``qakit map FILE``.

:func:`draft_mapping` turns the profile of an export (:mod:`qa_helpers.data.profile`: each column's
type, formats, unit, PII and the canonical field it probably feeds) into a commented ``sources.yml``
draft in the syntax of ``config/sources.yml``: renames, units, value maps (coded fields, satisfaction
scales, path-safe team names), date formats, privacy settings, extra columns to keep, and the
canonical fields it could not find (``absent``). A ticket export with a satisfaction rating on the
row also gets a ``surveys`` source carved out of it. :func:`map_export` writes the draft.

The draft is meant to ingest unedited (every field mapped or ``absent``); its guesses are marked
TODO with their confidence, for a person to check.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from qa_helpers.config import config_file
from qa_helpers.data.archive import sql_text
from qa_helpers.data.profile import (CODED_FIELDS, FALSE_TOKENS, MIN_CONFIDENCE, Column, Export, csat_scale,
                                     norm_header, present_values, profile_columns, read_export, score_range)
from qa_helpers.data.schemas import (DEFAULT_VALUE_SETS, KEY_FIELDS, SAFE_NAME, SCHEMAS, SURVEY_SOURCES, TIME_COLUMNS,
                                     id_column, parse_kind)

IDENTITY_WORDS = re.compile(r"organi[sz]ation|company|account|employer|address|street|zip|postcode|公司|地址")
CALL_WORDS = re.compile(r"\bcall\b|talk|ring|caller|\bani\b|\bivr\b|queue wait|通话")
VALUE_GUESSES: dict[str, list[tuple[str, str]]] = {  # field -> (keyword in the lower-case raw value, canonical)
    "channel": [("whatsapp", "chat"), ("web form", "self_service"), ("help center", "self_service"),
                ("helpcenter", "self_service"),
                ("portal", "self_service"), ("self", "self_service"), ("mobile", "self_service"),
                ("feedback", "self_service"), ("forum", "self_service"), ("community", "self_service"),
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
                 ("other", "other"), ("operator", "other"), ("misc", "other"), ("其他", "other"),
                 ("problem", "fault_repair"), ("feature", "other")],
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
UPDATED_WORDS = re.compile(r"updated|modified|last activity|更新时间")
STATUS_WORDS = re.compile(r"\bstatus\b|状态")
SOLVED_WORDS = re.compile(r"solved|resolved|closed|已解决|已关闭")


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
    text = " ".join(pd.unique(pd.concat([present_values(export.frame[c.name]).head(2000) for c in columns
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
    allow_empty: tuple[list[str], str] | None = None                          # (fields, comment)
    pseudonymise: list[str] = field(default_factory=list)
    customer_names: str | None = None
    mask_pii: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    link: str | None = None

    def fed(self) -> set[str]:
        return ({f for fs in self.columns.values() for f, _ in fs} | set(self.derived) | set(self.constants))

    def add_column(self, raw: str, name: str, comment: str = "") -> None:
        self.columns.setdefault(raw, []).append((name, comment))


def _why(col: Column) -> str:
    """The comment of a guessed rename: its confidence, and the runner-up column when there was one."""
    return f"confidence {col.confidence:.2f}" + (f"; TODO: or {col.alternative}" if col.alternative else "")


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
        comment = _why(col)
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
        elif name == "csat":
            _csat(src, col, carve)
        elif name == "contacts_to_resolve" and col.type == "int" and col.range.startswith("0 "):
            src.derived[name] = (f"nullif(num({_col(col.name)}), 0)", f"{_why(col)}; a count of 0 read as unknown")
        else:
            src.add_column(col.name, name, _why(col))
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
    # a duration or an assignee is empty on tickets nobody has worked yet: real rows, archived (empty on a
    # solved ticket, it is a defect, quarantined)
    raws = {n: raw for raw, fs in src.columns.items() for n, _ in fs}
    allowed = [n for n in sparse if (n.endswith("_s") or n == "agent_id") and _unworked(export, raws[n], columns)]
    if allowed:
        src.allow_empty = (allowed, "TODO: " + ", ".join(f"{n} is empty in {sparse[n]:.1%} of rows" for n in allowed)
                           + ", all of them unsolved tickets: archived with the field empty")
    if set(sparse) - set(allowed):
        src.suggestions.append(
            f"allow_empty: [{', '.join(sparse)}]   # TODO: "
            + ", ".join(f"{n} is empty in {share:.1%} of rows" for n, share in sparse.items() if n not in allowed)
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


def _status(columns: list[Column]) -> Column | None:
    return next((c for c in columns if STATUS_WORDS.search(c.name.lower()) and c.values), None)


def _unworked(export: Export, raw: str, columns: list[Column]) -> bool:
    """Whether every row with ``raw`` empty is a ticket its status says is not solved yet."""
    status = _status(columns)
    if status is None:
        return False
    values = export.frame[raw]
    empty = ~values.index.isin(present_values(values).index)
    return not export.frame.loc[empty, status.name].str.lower().str.contains(SOLVED_WORDS.pattern).any()


def _csat(src: _Source, col: Column, carve: bool) -> None:
    """Map a satisfaction score to 1-5: a worded or numbered scale through a value map, a 1-7 or 1-10
    score rescaled; in a ticket export only the answered rows are surveys."""
    src.add_column(col.name, "csat", _why(col))
    if col.type == "int":
        scale = score_range(col)
        if scale and scale[0] == 1 and scale[1] > 5:
            high = scale[1]
            rescaled = {v: int(1 + (v - 1) * 4 / (high - 1) + 0.5) for v in range(1, high + 1)}
            src.values["csat"] = [(str(v), str(s), f"TODO: a 1-{high} score rescaled to 1-5" if v == 1 else "")
                                  for v, s in rescaled.items()]
        if carve:
            src.rows_where = (f"num({_col(col.name)}) IS NOT NULL", "only the rows with a score")
        return
    answers = csat_scale(col.values)
    if not answers:
        src.notes.append(f"TODO: the answers in {col.name!r} are not a scale the draft knows: map each to 1-5 under "
                         "values: {csat: ...}")
        return
    levels = len(set(answers.values()))
    what = ("a two-point scale: top-2-box CSAT is the share of the good answer" if levels == 2
            else f"a {levels}-level scale")
    ordered = sorted(answers.items(), key=lambda a: -a[1])
    src.values["csat"] = [(v, str(s), f"TODO: {what}" if i == 0 else "") for i, (v, s) in enumerate(ordered)]
    others = [v for v in col.values if v not in answers]
    src.rows_where = (f"txt({_col(col.name)}) IN ({', '.join(sql_text(v) for v, _ in ordered)})",
                      "only rated rows" + (f": {', '.join(others)} are not answers" if others else ""))


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
        share = col.counts[col.values.index(value)] / max(col.filled, 1)
        if guess is None and (fixed or share < 0.01):
            # a rare unknown value is as likely a defect as a code: quarantined until it is mapped
            entries.append((value, value, f"TODO: no guess; map to one of {', '.join(allowed)} (or add it to value_sets)"))
            continue
        if guess is None:  # a common one is a code of this export: kept as its own value
            # "3 Orders" (an IVR menu) -> orders
            code = re.sub(r"[^0-9a-z]+", "_", re.sub(r"^\d+\W+", "", value.strip().lower())).strip("_") or "unknown"
            if code not in allowed:
                src.value_sets.setdefault(name, []).append(code)
                allowed.append(code)
            entries.append((value, code, f"TODO: no guess ({share:.0%} of rows); {code!r} added to value_sets.{name}, "
                                         f"or map it to one of {', '.join(DEFAULT_VALUE_SETS.get(name, allowed))}"))
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
    status = _status(columns)
    org = next((c for c in leftovers if re.search(r"organi[sz]ation|company|公司", c.name.lower())), None)
    if "customer_type" not in fed and org is not None:
        src.derived["customer_type"] = (
            f"CASE WHEN txt({_col(org.name)}) IS NULL THEN 'individual' ELSE 'enterprise' END",
            f"TODO: guessed: a row with an {org.name!r} is a business customer")
    if "channel" not in fed and any(CALL_WORDS.search(c.name.lower()) for c in columns):
        src.constants["channel"] = ("phone", "TODO: the export looks like a call log: every row a phone contact")
    replies = next((c for c in columns if re.search(r"\brepl(?:y|ies)\b|agent (?:interactions|responses|messages)",
                                                    norm_header(c.name)) and c.type == "int"
                    and "reply time" not in norm_header(c.name)), None)
    solved = [v for v in (status.values if status else []) if SOLVED_WORDS.search(v.lower())]
    if "first_contact_resolved" not in fed and status is not None and replies is not None and solved:
        src.suggestions.append(
            "derived: {first_contact_resolved: "
            + _expr(f"coalesce(txt({_col(status.name)}) IN ({', '.join(sql_text(v) for v in solved)}) AND "
                    f"num({_col(replies.name)}) <= 1, false)")
            + "}   # one-touch resolution, if that is your definition")
    elapsed = next((c for c in leftovers if c.type in ("int", "float") and not c.decimal_comma
                    and re.search(r"resolution time|time to resol", norm_header(c.name))), None)
    if "handle_s" not in fed and elapsed is not None:
        factor = {"minutes": " * 60", "hours": " * 3600", "days": " * 86400"}.get(elapsed.unit or "", "")
        src.suggestions.append(f"derived: {{handle_s: {_expr(f'num({_col(elapsed.name)}){factor}')}}}   # TODO: "
                               f"{elapsed.name!r} is the time to resolve, not work time: as handle time only for want "
                               "of better (the resolution KPIs read resolved_at already)")
    if "resolved_at" in fed and status is not None and solved:
        raw = next(r for r, fs in src.columns.items() if any(f == "resolved_at" for f, _ in fs))
        if by_header[raw].type == "datetime":
            src.columns.pop(raw)
            src.derived["resolved_at"] = (
                f"CASE WHEN txt({_col(status.name)}) IN ({', '.join(sql_text(v) for v in solved)}) "
                f"THEN ts({_col(raw)}) END", "TODO: resolved only while the status says so (a reopened ticket is not)")
    abandoned = next((c for c in columns if re.search(r"abandon", c.name.lower()) and c.type == "bool"), None)
    if abandoned is not None:
        no = next((v for v in abandoned.values if v.lower() in FALSE_TOKENS), "N")
        src.suggestions.append(f"rows_where: {_expr(f'txt({_col(abandoned.name)}) = {sql_text(no)}')}"
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
        name = re.sub(r"[^a-z0-9]+", "_", norm_header(col.name).encode("ascii", "ignore").decode()).strip("_")[:40]
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
    if src.allow_empty:
        out.append(f"    allow_empty: [{', '.join(src.allow_empty[0])}]   # {src.allow_empty[1]}")
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
    key = id_column(table)
    time_column = TIME_COLUMNS.get(table)
    src.rules = ["duplicate_row: {}", f"duplicate_id: {{key: {key}}}"]
    times = [c for c in (time_column, "resolved_at") if c and c in fed]
    if times:
        src.rules.append(f"out_of_range_time: {{columns: [{', '.join(times)}]}}")
    if table == "tickets" and "resolved_at" in fed:
        src.rules.append("time_order: {earlier: created_at, later: [resolved_at]}")


def _value_sets(config: str | Path | None) -> dict[str, list[str]]:
    """The kit's value sets, widened or replaced by those of a config folder's sources.yml."""
    sets = {k: list(v) for k, v in DEFAULT_VALUE_SETS.items()}
    path = config_file("sources.yml", config) if config is not None else None
    if path is not None and path.is_file():
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        sets |= {str(k): [str(v) for v in vs] for k, vs in (doc.get("value_sets") or {}).items() if isinstance(vs, list)}
    return sets


def draft_mapping(path: str | Path, table: str = "tickets", encoding: str | None = None,
                  delimiter: str | None = None, sheet: str | None = None, config: str | Path | None = None) -> str:
    """A draft ``sources.yml`` for one export: valid YAML in the kit's mapping syntax, with comments.

    It holds the renames the profile guessed (:func:`~qa_helpers.data.profile.profile_export`: header
    synonyms weighed by how the values fit), each with its confidence and a close runner-up, units
    read from the header words (``First reply time in minutes`` → ``units: {first_response_s:
    minutes}``), ``duration()`` for ``mm:ss`` columns, value maps for the coded columns' values
    outside the kit's value sets (a guess; a common unknown value is added to ``value_sets`` as its
    own code, a rare one maps to itself marked TODO and is quarantined), path-safe team names, the
    date formats found, ``pseudonymise`` / ``customer_names`` / ``mask_pii`` for id, name and
    free-text columns, ``allow_empty`` for durations and assignees empty only on unsolved tickets,
    ``keep`` for useful leftover text columns, and ``absent`` with a comment block naming every
    canonical field it could not find. A ticket export with a satisfaction score on the row also
    gets a ``surveys`` source carved out of it, its scale (Good / Bad, a five-level worded scale,
    1-5, 1-10) mapped to 1-5 (:func:`~qa_helpers.data.profile.csat_scale`).

    Parameters
    ----------
    path : path-like
        The export.
    table : str
        The canonical table the export feeds (``tickets`` by default).
    encoding, delimiter, sheet : str, optional
        Override what is detected.
    config : path-like, optional
        A config folder (or its ``sources.yml``) whose ``value_sets`` the value maps start from
        (default: the kit's sets).

    Returns
    -------
    str
        The YAML text (it parses; fields it could not place are marked TODO).
    """
    if table not in SCHEMAS:
        raise ValueError(f"unknown table {table!r}; tables are {', '.join(SCHEMAS)}")
    tables = (table, "surveys") if table == "tickets" else (table,)
    export = read_export(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    columns = profile_columns(export, tables)
    value_sets = _value_sets(config)
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


def map_export(path: str | Path, table: str = "tickets", out: str | Path | None = None,
               config: str | Path | None = None, **options) -> str:
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
        ``encoding``, ``delimiter``, ``sheet``, ``config`` as for :func:`draft_mapping`.

    Returns
    -------
    str
        The draft YAML text.
    """
    text = draft_mapping(path, table=table, config=config, **options)
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return text