"""Configuration files: where they live and how they are checked on load."""

from __future__ import annotations

import copy
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from qa_helpers.errors import ConfigError
from qa_helpers.data.schemas import (AFTER_TICKET, ANALYSIS_TABLES, KEY_FIELDS, OPTIONAL_FIELDS, TIME_SEQUENCES, build_schemas,
                                     parse_kind)

FORMATS = ("csv", "xlsx", "jsonl")
SOURCE_KEYS = {
    "pattern", "format", "encoding", "sheet", "timezone", "columns", "values", "na_values",
    "datetime_formats", "pseudonymise", "customer_names", "mask_pii", "rules", "link",
    "delimiter", "units", "constants", "derived", "absent", "keep", "from_source", "rows_where", "allow_empty",
}
TOP_KEYS = {"archive_timezone", "default_timezone", "valid_time_range", "pii_locales", "value_sets", "sources",
            "retention"}


CONFIG_ENV = "QAKIT_CONFIG"
REPORTS_ENV = "QAKIT_REPORTS"
DUCKDB_THREADS_ENV = "QAKIT_DUCKDB_THREADS"  # a report's DuckDB threads; a batch sets it for kernels side by side
REPORT_DUCKDB_THREADS = 2  # the most a report's DuckDB takes of its own (its 1 GB memory budget)
CONFIG_FILES = ("sources.yml", "standards.yml", "actions.yml", "panel_scores.csv",
                "coaching.csv", "training.csv",  # the QA team's registers (issue 14), both optional
                "benchmarks.yml", "mystery_shopping.csv",  # benchmarks and mystery shopping (issue 15), both optional
                "root_causes.yml", "case_reviews.yml")  # root cause (issue 14 part 4), both optional
SHARED_DEFAULTS = {"standards.yml", "topics.yml"}


def kit_root() -> Path:
    """The kit's own checkout: the folder holding its ``notebooks/`` and default ``config/``."""
    return Path(__file__).resolve().parent.parent


def project_root() -> Path:
    """The user's project: the nearest folder from the cwd upwards that holds ``config/sources.yml``,
    else the kit's checkout. Only the default archive (``data/archive``) is looked up here."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "config" / "sources.yml").is_file():
            return folder
    return kit_root()


def reports_dir() -> Path:
    """Where a notebook run on its own (not by ``qakit run``) writes its files: ``$QAKIT_REPORTS``,
    else ``<project>/reports``; ``qakit run`` gives each notebook its own folder under ``--out``."""
    return Path(os.environ[REPORTS_ENV]) if os.environ.get(REPORTS_ENV) else project_root() / "reports"


def config_dir(path: str | os.PathLike | None = None) -> Path:
    """Resolve the config folder: the argument, ``$QAKIT_CONFIG``, or ``<project>/config``.

    A path to a file (an old-style ``--config sources.yml``) means the folder that holds it.
    """
    chosen = Path(path) if path else Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None
    if chosen is None:
        return project_root() / "config"
    if chosen.is_file():
        return chosen.parent
    if not chosen.is_dir():
        raise ConfigError(f"{chosen}: config folder not found")
    return chosen


def config_file(name: str, config: str | os.PathLike | None = None, *, required: bool = False) -> Path:
    """The file ``name`` of the config folder; for ``standards.yml``, the kit's default when the folder has none.

    A folder without ``actions.yml`` or ``panel_scores.csv`` has none (the path returned does not
    exist, and the loaders treat that as an empty register / no panel scores).

    Parameters
    ----------
    name : str
        ``sources.yml``, ``standards.yml``, ``actions.yml`` or ``panel_scores.csv``.
    config : path-like, optional
        The config folder (see :func:`config_dir`); a path to a file of that name is used as is.
    required : bool
        Refuse to fall back to the kit's default (a source mapping is never borrowed from the sample).

    Raises
    ------
    ConfigError
        When ``required`` and the folder has no such file.
    """
    if config and Path(config).is_file() and Path(config).name == name:
        return Path(config)
    folder = config_dir(config)
    if (folder / name).is_file() or required:
        if not (folder / name).is_file():
            raise ConfigError(f"{folder / name}: file not found (the config folder must hold {name})")
        return folder / name
    # Only the standards have a default worth borrowing; the kit's action register and panel
    # scores describe its sample's teams, so a folder without them has none.
    return kit_root() / "config" / name if name in SHARED_DEFAULTS else folder / name


def read_yaml(path: Path) -> Any:
    """Read a YAML file, naming the file and line in any syntax error.

    Parsed with libyaml when PyYAML has it (several times faster); a file libyaml rejects is parsed
    again by the pure-Python parser, so the error names the same line and problem either way. A batch
    kernel's notebooks read the same config files about 40 times per unit: a text parsed before
    is not parsed again; each caller gets its own copy.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        key = hashlib.sha256(text.encode("utf-8")).digest()
        if key not in _PARSED:
            try:
                parsed = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except yaml.YAMLError:
                parsed = yaml.safe_load(text)
            if len(_PARSED) >= PARSED_TEXTS:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[key] = parsed
        return copy.deepcopy(_PARSED[key])
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


PARSED_TEXTS = 64
_PARSED: dict[bytes, Any] = {}  # by the text's sha256


def register_entries(path: str | os.PathLike | None, name: str, key: str) -> tuple[Path, list | None]:
    """The entries of a YAML register (``actions.yml``, ``root_causes.yml``...): the list under ``key``.

    ``path`` is the file, or a config folder holding ``name`` (the config folder's by default).
    Returns the file and its list, or ``None`` when there is no register: no file, an empty file or
    ``key: []``/``key:`` with nothing under it.

    Raises
    ------
    ConfigError
        When the file is not a mapping with a ``key`` list.
    """
    file = Path(path) if path and not Path(path).is_dir() else config_file(name, path)
    if not file.is_file():
        return file, None
    doc = read_yaml(file)
    if doc is None or (isinstance(doc, dict) and doc.get(key) is None):
        return file, None
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise ConfigError(f"{file}: expected a mapping with a {key!r} list")
    return file, doc[key] or None


@dataclass(frozen=True)
class SourceSpec:
    """One raw export and how it maps onto a canonical table (see config/sources.yml).

    ``columns`` maps each raw header to the canonical field(s) it feeds; ``derived`` computes a
    field from a DuckDB expression over the raw columns; ``constants`` gives a field one value
    for every row; ``absent`` lists the fields the export does not have; ``keep`` archives extra
    raw columns as text dimensions.
    """

    table: str
    pattern: str
    format: str
    columns: dict[str, tuple[str, ...]]
    encoding: str = "utf-8"
    sheet: str | None = None
    delimiter: str = ","
    timezone: str = "Asia/Shanghai"
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    na_values: list[str] = field(default_factory=list)
    datetime_formats: list[str] = field(default_factory=lambda: ["ISO8601"])
    pseudonymise: list[str] = field(default_factory=list)
    customer_names: str | None = None
    mask_pii: list[str] = field(default_factory=list)
    rules: list[tuple[str, dict]] = field(default_factory=list)
    link: dict | None = None
    units: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    allow_empty: tuple[str, ...] = ()
    keep: dict[str, str] = field(default_factory=dict)
    from_source: str | None = None
    rows_where: str | None = None
    timezone_stated: bool = True

    def depends_on(self) -> set[str]:
        """Tables this source links to or checks against (they must be ingested first)."""
        deps = {self.link["table"]} if self.link else set()
        for name, params in self.rules:
            if name == "unknown_agent":
                deps.add("agents")
            if name in ("before_linked", "unknown_link"):
                deps.add(params.get("table", "tickets"))
        return deps - {self.table}

    @property
    def raw_of(self) -> dict[str, str]:
        """Canonical field -> the raw header that feeds it (for fields taken from a raw column)."""
        return {canonical: raw for raw, fields in self.columns.items() for canonical in fields}

    def raw_header(self, column: str) -> str:
        """The raw header that maps onto a canonical column (or the column's own name)."""
        return self.raw_of.get(column, column)

    def referenced_columns(self) -> list[str]:
        """Raw headers that ``derived`` and ``rows_where`` expressions name (written in double quotes)."""
        names = []
        for expression in [*self.derived.values(), *([self.rows_where] if self.rows_where else [])]:
            names += [n.replace('""', '"') for n in QUOTED.findall(expression)]
        return list(dict.fromkeys(names))

    def raw_columns(self) -> list[str]:
        """Every raw header this source reads."""
        return list(dict.fromkeys([*self.columns, *self.keep, *self.referenced_columns()]))


@dataclass(frozen=True)
class SourcesConfig:
    """All sources plus the archive-wide settings."""

    path: Path
    archive_timezone: str
    valid_time_range: tuple[str, str]
    sources: dict[str, SourceSpec]
    default_timezone: str = "Asia/Shanghai"
    value_sets: dict[str, list[str]] = field(default_factory=dict)
    pii_locales: tuple[str, ...] = ("cn", "intl")
    retention: dict[str, int] = field(default_factory=dict)  # table (or default) -> years kept
    valid_time_range_stated: bool = True

    @property
    def schemas(self) -> dict:
        """The canonical schemas with this config's value sets."""
        return build_schemas(self.value_sets)


QUOTED = re.compile(r'"((?:[^"]|"")+)"')
UNITS = {"milliseconds": 0.001, "seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
EXTRA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Words that would turn a row expression into a query or a statement.
FORBIDDEN_SQL = re.compile(r"(;|\b(select|from|copy|attach|install|load|pragma|create|insert|update|delete|drop|"
                           r"alter|call|export|import|set|read_\w+|glob)\b)", re.IGNORECASE)


def _expression(where: str, text: Any) -> str:
    """A DuckDB row expression from the config, refused when it could be more than that."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: expected an expression (text), got {text!r}")
    outside_quotes = re.sub(r"'(?:[^']|'')*'", "''", QUOTED.sub('""', text))
    bad = FORBIDDEN_SQL.search(outside_quotes)
    if bad:
        raise ConfigError(f"{where}: {bad.group(0)!r} is not allowed in an expression: write a value computed "
                          "from the row's raw columns, e.g. num(\"Minutes\") * 60")
    return text


def _names(where: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a field name or a list of field names, got {value!r}")


def _source_spec(table: str, entry: dict, where: str, doc: dict, schema_cols: list[str]) -> SourceSpec:
    unknown = set(entry) - SOURCE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(SOURCE_KEYS)}")
    base = doc["sources"].get(entry["from_source"]) if entry.get("from_source") else None
    if entry.get("from_source") and not isinstance(base, dict):
        raise ConfigError(f"{where}.from_source: {entry['from_source']!r} is not a source of this file")
    # a source carved out of another export reads that export's files the same way
    inherited = {k: base[k] for k in ("pattern", "format", "encoding", "sheet", "delimiter", "timezone",
                                      "na_values", "datetime_formats") if base and k in base}
    entry = {**inherited, **entry}
    for key in ("pattern", "format"):
        if key not in entry:
            raise ConfigError(f"{where}: missing '{key}'")
    if entry["format"] not in FORMATS:
        raise ConfigError(f"{where}.format: {entry['format']!r} is not one of {FORMATS}")
    columns = {str(raw): tuple(_names(f"{where}.columns.{raw}", target))
               for raw, target in (entry.get("columns") or {}).items()}
    derived = {str(k): _expression(f"{where}.derived.{k}", v) for k, v in (entry.get("derived") or {}).items()}
    constants = {str(k): str(v) for k, v in (entry.get("constants") or {}).items()}
    absent = tuple(_names(f"{where}.absent", entry.get("absent") or []))
    linked = set((entry.get("link") or {}).get("columns") or [])
    keep = entry.get("keep") or {}
    keep = {str(k): str(k).strip().lower().replace(" ", "_") for k in keep} if isinstance(keep, list) else \
        {str(k): str(v) for k, v in keep.items()}

    fed: dict[str, str] = {}
    for how, names in [("columns", [f for fs in columns.values() for f in fs]), ("derived", derived),
                       ("constants", constants), ("absent", absent)]:
        for name in names:
            if name not in schema_cols:
                raise ConfigError(f"{where}.{how}: {name!r} is not a field of table {table} "
                                  f"({', '.join(schema_cols)})")
            if name in fed:
                raise ConfigError(f"{where}.{how}: {name!r} is already given under {fed[name]}; give each field once")
            fed[name] = how
    allow_empty = tuple(_names(f"{where}.allow_empty", entry.get("allow_empty") or []))
    keys = [k for k in KEY_FIELDS[table] if fed.get(k) == "absent" or k in allow_empty]
    if keys:
        raise ConfigError(f"{where}: {keys} cannot be absent or empty: every {table} row needs them")
    unknown_fields = [f for f in allow_empty if f not in schema_cols]
    if unknown_fields:
        raise ConfigError(f"{where}.allow_empty: {unknown_fields} are not fields of table {table}")
    # optional fields (survey sub-scores) a source does not mention are absent, not an error
    optional = [c for c in OPTIONAL_FIELDS.get(table, ()) if c not in fed and c not in linked]
    absent = (*absent, *optional)
    fed.update(dict.fromkeys(optional, "absent"))
    missing = [c for c in schema_cols if c not in fed and c not in linked]
    if missing:
        raise ConfigError(f"{where}: field(s) {missing} are neither mapped nor declared absent: map each under "
                          "'columns' (raw header: field), 'derived' or 'constants', or list it under 'absent' "
                          "(`qakit map FILE` drafts this)")
    for name, unit in (entry.get("units") or {}).items():
        if unit not in UNITS:
            raise ConfigError(f"{where}.units.{name}: {unit!r} is not one of {', '.join(UNITS)}")
        if not (fed.get(name) == "columns" and name.endswith("_s")):
            raise ConfigError(f"{where}.units.{name}: units apply to durations taken from a raw column "
                              "(fields ending in _s, listed under 'columns')")
    for raw, name in keep.items():
        if not EXTRA_NAME.match(name) or name in schema_cols or name in linked or name == "month":
            raise ConfigError(f"{where}.keep.{raw}: {name!r} cannot name an extra column: use lower-case letters, "
                              "digits and _, and no canonical field name")
    rules = []
    for rule in entry.get("rules", []) or []:
        if not (isinstance(rule, dict) and len(rule) == 1):
            raise ConfigError(f"{where}.rules: each rule is written as '- name: {{params}}', got {rule!r}")
        name, params = next(iter(rule.items()))
        rules.append((name, dict(params or {})))
    rules = standing_rules(table, rules, present=[c for c in schema_cols if fed.get(c) in ("columns", "derived", "constants")],
                           pseudonymised=list(entry.get("pseudonymise") or []),
                           tickets="tickets" in (doc.get("sources") or {}))
    kwargs = {k: entry[k] for k in ("encoding", "sheet", "delimiter", "na_values", "datetime_formats",
                                    "pseudonymise", "customer_names", "mask_pii", "link", "from_source")
              if k in entry}
    rows_where = _expression(f"{where}.rows_where", entry["rows_where"]) if entry.get("rows_where") else None
    default_tz = doc.get("default_timezone", doc.get("archive_timezone", "Asia/Shanghai"))
    return SourceSpec(table=table, pattern=entry["pattern"], format=entry["format"], columns=columns,
                      values={c: {str(k): str(v) for k, v in m.items()} for c, m in (entry.get("values") or {}).items()},
                      rules=rules, units=dict(entry.get("units") or {}), constants=constants, derived=derived,
                      absent=absent, allow_empty=allow_empty, keep=keep, rows_where=rows_where, timezone=entry.get("timezone", default_tz),
                      timezone_stated="timezone" in entry, **kwargs)


# Rules that remove rows before any other may look at them; the standing time checks come after these.
_FIRST_RULES = ("pii_in_id", "test_ticket", "duplicate_row", "duplicate_id")


def standing_rules(table: str, rules: list[tuple[str, dict]], present: list[str],
                   pseudonymised: list[str], tickets: bool = True) -> list[tuple[str, dict]]:
    """The source's rules with the checks every source gets whether or not its mapping lists them.

    * ``pii_in_id`` first, over every id column (``*_id``) that is not pseudonymised: a phone
      number, e-mail or ID number typed into an id is never archived (nor named in a later
      rule's detail);
    * ``out_of_range_time`` over every timestamp of an analysis table (the roster's hire dates
      may precede the window);
    * ``time_order`` over each pair of :data:`~qa_helpers.data.schemas.TIME_SEQUENCES` (a
      complaint answered or closed before it was received, a ticket resolved before it was created);
    * ``before_linked`` for each time of :data:`~qa_helpers.data.schemas.AFTER_TICKET` when the source
      maps ``ticket_id`` and the config has a tickets source (a survey answered, a visit made or a
      review written before its ticket existed).

    A rule the mapping lists is extended to the columns it leaves out; a standing range check the
    mapping does not list comes after its duplicate rules (a copy is still named a copy), and a
    standing order check after its time checks.

    Parameters
    ----------
    table : str
        The canonical table.
    rules : list of (name, params)
        The mapping's rules, in order.
    present : list of str
        The table's fields the source provides (not ``absent``).
    pseudonymised : list of str
        Fields replaced by pseudonyms (customer ids): those are not checked for PII.
    tickets : bool
        Whether the config has a tickets source (the reference of ``before_linked``).

    Returns
    -------
    list of (name, params)
    """
    rules = [(name, dict(params)) for name, params in rules]
    ids = [c for c in present if c.endswith("_id") and c not in pseudonymised]
    times = [c for c in present if parse_kind(table, c) == "datetime"] if table in ANALYSIS_TABLES else []
    sequence = [c for c in TIME_SEQUENCES.get(table, []) if c in present]
    pairs = [(a, b) for i, a in enumerate(sequence) for b in sequence[i + 1:]]
    linked = [c for c in AFTER_TICKET.get(table, []) if c in present] if tickets and "ticket_id" in present else []
    for name, params in rules:
        if name == "before_linked" and params.get("table", "tickets") == "tickets":
            linked = [c for c in linked if c != params.get("column")]
        if name == "pii_in_id":
            params["columns"] = [*params.get("columns", []), *(c for c in ids if c not in params.get("columns", []))]
            ids = []
        if name == "out_of_range_time":
            listed = list(params.get("columns", []))
            params["columns"] = [*listed, *(c for c in times if c not in listed)]
            times = []
        if name == "time_order":
            later = params.get("later", [])
            covered = {(params.get("earlier"), b) for b in ([later] if isinstance(later, str) else later)}
            pairs = [pair for pair in pairs if pair not in covered]
    after = max((i + 1 for i, (name, _) in enumerate(rules) if name in _FIRST_RULES), default=0)
    if times:
        rules.insert(after, ("out_of_range_time", {"columns": times}))
    orders = [("time_order", {"earlier": earlier, "later": [b for a, b in pairs if a == earlier]})
              for earlier in dict.fromkeys(a for a, _ in pairs)]
    after = max((i + 1 for i, (name, _) in enumerate(rules) if name in ("out_of_range_time", "time_order")),
                default=after)
    rules = rules[:after] + orders + rules[after:]
    after += len(orders)
    rules[after:after] = [("before_linked", {"column": c, "table": "tickets", "key": "ticket_id",
                                             "linked_column": "created_at"}) for c in linked]
    return ([("pii_in_id", {"columns": ids})] if ids else []) + rules


def load_sources(path: str | os.PathLike | None = None) -> SourcesConfig:
    """Load and check ``sources.yml``.

    Parameters
    ----------
    path : path-like, optional
        The file, or a config folder holding it; defaults to ``sources.yml`` in :func:`config_dir`.

    Returns
    -------
    SourcesConfig

    Raises
    ------
    ConfigError
        Naming the source and key at fault.
    """
    path = config_file("sources.yml", path, required=True) if not (path and Path(path).is_file()) else Path(path)
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), dict):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' section")
    unknown = set(doc) - TOP_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}")
    value_sets = doc.get("value_sets") or {}
    if not (isinstance(value_sets, dict) and all(isinstance(v, list) and v for v in value_sets.values())):
        raise ConfigError(f"{path}: value_sets: expected a mapping of field name to a non-empty list of values")
    value_sets = {str(k): [str(v) for v in vs] for k, vs in value_sets.items()}
    from qa_helpers.data.privacy import pii_locales  # late import: privacy imports data helpers

    try:
        locales = pii_locales(doc["pii_locales"] if "pii_locales" in doc else ("cn", "intl"))
    except ValueError as exc:
        raise ConfigError(f"{path}: pii_locales: {exc}") from None
    schemas = build_schemas(value_sets)
    specs = {}
    for table, entry in doc["sources"].items():
        where = f"{path}: sources.{table}"
        if table not in schemas:
            raise ConfigError(f"{where}: unknown table; known tables are {', '.join(schemas)}")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        specs[table] = _source_spec(table, entry, where, doc, list(schemas[table].columns))
    from qa_helpers.data.cleaning import RULES  # late import: cleaning imports this module's types
    from qa_helpers.data.governance import parse_retention

    for spec in specs.values():
        for name, _ in spec.rules:
            if name not in RULES:
                raise ConfigError(f"{path}: sources.{spec.table}.rules: unknown rule {name!r}; "
                                  f"known rules are {', '.join(RULES)}")
        if spec.link and spec.link.get("table") not in specs:
            raise ConfigError(f"{path}: sources.{spec.table}.link: table {spec.link.get('table')!r} is not a source")
    # Without a stated window, times from 2000 to the end of next year pass: a year like 2099 or
    # 1970 is a placeholder or a typo, never an event this kit reports on.
    low, high = doc.get("valid_time_range", ["2000-01-01", f"{date.today().year + 1}-12-31"])
    archive_tz = doc.get("archive_timezone", "Asia/Shanghai")
    return SourcesConfig(path=path, archive_timezone=archive_tz, valid_time_range=(str(low), str(high)),
                         sources=_dependency_order(specs, path),
                         default_timezone=doc.get("default_timezone", archive_tz), value_sets=value_sets,
                         pii_locales=locales, valid_time_range_stated="valid_time_range" in doc, retention=parse_retention(doc.get("retention"), str(path)))


def _dependency_order(specs: dict[str, SourceSpec], path: Path) -> dict[str, SourceSpec]:
    """Sources ordered so that every table comes after the tables it links to or checks against."""
    ordered: dict[str, SourceSpec] = {}
    while len(ordered) < len(specs):
        ready = [t for t, s in specs.items() if t not in ordered and s.depends_on() <= set(ordered)]
        if not ready:
            stuck = sorted(set(specs) - set(ordered))
            raise ConfigError(f"{path}: sources {stuck} link to each other in a circle, or to a missing source")
        ordered[ready[0]] = specs[ready[0]]  # one at a time: the file's order wherever dependencies allow
    return ordered
