"""Configuration files: where they live and how they are checked on load."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa_helpers.errors import ConfigError
from qa_helpers.data.schemas import SCHEMAS

FORMATS = ("csv", "xlsx", "jsonl")
SOURCE_KEYS = {
    "pattern", "format", "encoding", "sheet", "timezone", "columns", "values", "na_values",
    "datetime_formats", "pseudonymise", "customer_names", "mask_pii", "rules", "link",
}


CONFIG_ENV = "QAKIT_CONFIG"
CONFIG_FILES = ("sources.yml", "standards.yml", "actions.yml", "panel_scores.csv")


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
    """The file ``name`` of the config folder; the kit's default of that name when the folder has none.

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
    return kit_root() / "config" / name


def read_yaml(path: Path) -> Any:
    """Read a YAML file, naming the file and line in any syntax error."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


@dataclass(frozen=True)
class SourceSpec:
    """One raw export and how it maps onto a canonical table (see config/sources.yml)."""

    table: str
    pattern: str
    format: str
    columns: dict[str, str]
    encoding: str = "utf-8"
    sheet: str | None = None
    timezone: str = "Asia/Shanghai"
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    na_values: list[str] = field(default_factory=list)
    datetime_formats: list[str] = field(default_factory=lambda: ["ISO8601"])
    pseudonymise: list[str] = field(default_factory=list)
    customer_names: str | None = None
    mask_pii: list[str] = field(default_factory=list)
    rules: list[tuple[str, dict]] = field(default_factory=list)
    link: dict | None = None

    def depends_on(self) -> set[str]:
        """Tables this source links to or checks against (they must be ingested first)."""
        deps = {self.link["table"]} if self.link else set()
        if any(name == "unknown_agent" for name, _ in self.rules):
            deps.add("agents")
        return deps - {self.table}

    def raw_header(self, column: str) -> str:
        """The raw header that maps onto a canonical column."""
        for raw, canonical in self.columns.items():
            if canonical == column:
                return raw
        return column


@dataclass(frozen=True)
class SourcesConfig:
    """All sources plus the archive-wide settings."""

    path: Path
    archive_timezone: str
    valid_time_range: tuple[str, str]
    sources: dict[str, SourceSpec]


def load_sources(path: str | os.PathLike | None = None) -> SourcesConfig:
    """Load and check ``sources.yml``.

    Parameters
    ----------
    path : path-like, optional
        The file; defaults to ``sources.yml`` in :func:`config_dir`.

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
    specs = {}
    for table, entry in doc["sources"].items():
        where = f"{path}: sources.{table}"
        if table not in SCHEMAS:
            raise ConfigError(f"{where}: unknown table; known tables are {', '.join(SCHEMAS)}")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = set(entry) - SOURCE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(SOURCE_KEYS)}")
        for key in ("pattern", "format", "columns"):
            if key not in entry:
                raise ConfigError(f"{where}: missing '{key}'")
        if entry["format"] not in FORMATS:
            raise ConfigError(f"{where}.format: {entry['format']!r} is not one of {FORMATS}")
        columns = {str(k): str(v) for k, v in entry["columns"].items()}
        schema_cols = set(SCHEMAS[table].columns)
        bad = sorted(set(columns.values()) - schema_cols)
        if bad:
            raise ConfigError(f"{where}.columns: {bad} are not columns of table {table} "
                              f"({', '.join(SCHEMAS[table].columns)})")
        rules = []
        for rule in entry.get("rules", []) or []:
            if not (isinstance(rule, dict) and len(rule) == 1):
                raise ConfigError(f"{where}.rules: each rule is written as '- name: {{params}}', got {rule!r}")
            name, params = next(iter(rule.items()))
            rules.append((name, dict(params or {})))
        kwargs = {k: entry[k] for k in ("encoding", "sheet", "timezone", "na_values", "datetime_formats",
                                        "pseudonymise", "customer_names", "mask_pii", "link")
                  if k in entry}
        specs[table] = SourceSpec(table=table, pattern=entry["pattern"], format=entry["format"], columns=columns,
                                  values={c: {str(k): str(v) for k, v in m.items()}
                                          for c, m in (entry.get("values") or {}).items()},
                                  rules=rules, **kwargs)
    from qa_helpers.data.cleaning import RULES  # late import: cleaning imports this module's types

    for spec in specs.values():
        for name, _ in spec.rules:
            if name not in RULES:
                raise ConfigError(f"{path}: sources.{spec.table}.rules: unknown rule {name!r}; "
                                  f"known rules are {', '.join(RULES)}")
        if spec.link and spec.link.get("table") not in specs:
            raise ConfigError(f"{path}: sources.{spec.table}.link: table {spec.link.get('table')!r} is not a source")
    low, high = doc.get("valid_time_range", ["2000-01-01", "2100-01-01"])
    return SourcesConfig(path=path, archive_timezone=doc.get("archive_timezone", "Asia/Shanghai"),
                         valid_time_range=(str(low), str(high)), sources=_dependency_order(specs, path))


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
