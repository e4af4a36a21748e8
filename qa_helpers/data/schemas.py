"""Canonical tables, declared once (:data:`FIELDS`) and checked as pandera schemas (DESIGN.md §4).

:data:`FIELDS` is the single place where a column's type, whether it may be empty and its check
are written down; :func:`build_schemas` turns it into pandera schemas. Allowed values (channels,
categories, priorities, ...) are not fixed here: they come from ``value_sets`` in ``sources.yml``
(:data:`DEFAULT_VALUE_SETS` when it has none), and :func:`build_schemas` writes them into the checks.
Ingest parses raw text into these types and then checks each column the way pandera would; failing
rows go to quarantine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # pandera takes ~0.6 s to import; a notebook that checks no rows never needs it
    import pandera.pandas as pa

# Value sets a sources.yml without `value_sets:` gets (the kit's sample uses them).
DEFAULT_VALUE_SETS: dict[str, list[str]] = {
    "channel": ["phone", "chat", "email", "social", "onsite"],
    "category": ["billing_dispute", "fault_repair", "consultation", "installation", "other"],
    "customer_type": ["enterprise", "individual"],
    "priority": ["high", "medium", "low"],
    "cause_dimension": ["people", "process", "tools", "environment"],
}
SURVEY_SOURCES = ["survey", "review"]  # fixed: CSAT counts surveys, never online reviews
ROLES = ["agent", "engineer"]
RUBRIC_ITEMS = ["voice_quality", "courtesy", "problem_solving", "proactiveness", "compliance"]
# Survey sub-scores (issue 15, h-survey): a multi-item questionnaire's items, 1-5. Optional fields: a
# source that neither maps nor lists them has them absent (all null), so existing mappings keep working.
SURVEY_ITEMS = ["q_speed", "q_attitude", "q_resolution", "q_professionalism"]
OPTIONAL_FIELDS = {"surveys": SURVEY_ITEMS}
# Team and department names become folder names in reports/: keep them path-safe.
SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

TIME = "datetime64[us]"
# The column that places a row in a period (and in a month partition of the archive).
TIME_COLUMNS = {
    "tickets": "created_at",
    "surveys": "answered_at",
    "complaints": "received_at",
    "field_visits": "promised_at",
    "qa_reviews": "reviewed_at",
}
ANALYSIS_TABLES = tuple(TIME_COLUMNS)  # every table but the roster
# Times of one row that happen in this order: a later one before an earlier one is quarantined
# (time_order), whatever the source's mapping lists.
TIME_SEQUENCES = {
    "tickets": ["created_at", "resolved_at"],
    "complaints": ["received_at", "first_response_at", "closed_at"],
}
# Times that cannot come before the linked ticket was created (before_linked). Complaints are left
# out: a complaint may be logged as a ticket only after it was received.
AFTER_TICKET = {
    "surveys": ["answered_at"],
    "field_visits": ["promised_at", "arrived_at"],
    "qa_reviews": ["reviewed_at"],
}


class Field(NamedTuple):
    """One canonical column: its pandas dtype, whether it may be empty, and its check.

    ``check`` is ``None`` or a pandera ``Check`` constructor's name and arguments, e.g.
    ``("in_range", 1, 5)``; ``("isin", name)`` takes the allowed values from the value set ``name``.
    """

    dtype: str
    nullable: bool = False
    check: tuple | None = None


def _text(nullable: bool = False, matches: str | None = None) -> Field:
    return Field("str", nullable, None if matches is None else ("str_matches", matches))


def _one_of(values: str | list[str], nullable: bool = False) -> Field:
    return Field("str", nullable, ("isin", values))


def _score(low: int, high: int, nullable: bool = False) -> Field:
    return Field("Int64", nullable, ("in_range", low, high))


def _time(nullable: bool = False) -> Field:
    return Field(TIME, nullable)


def _flag(nullable: bool = False) -> Field:
    return Field("boolean", nullable)


# The canonical tables, column by column in archive order: plain data, so that listing a table's
# fields (every report does) costs no pandera import (~0.6 s); :func:`build_schemas` makes the schemas.
FIELDS: dict[str, dict[str, Field]] = {
    "agents": {
        "agent_id": _text(),
        "team": _text(matches=SAFE_NAME),
        "department": _text(matches=SAFE_NAME),
        "hire_date": _time(nullable=True),
        "role": _one_of(ROLES),
    },
    "tickets": {
        "ticket_id": _text(),
        "created_at": _time(),
        "channel": _one_of("channel"),
        "agent_id": _text(),
        "customer_id": _text(),
        "customer_name": _text(nullable=True),
        "customer_type": _one_of("customer_type"),
        "category": _one_of("category"),
        "priority": _one_of("priority", nullable=True),
        "first_response_s": Field("Float64", False, ("ge", 0)),
        "handle_s": Field("Float64", False, ("ge", 0)),
        "resolved_at": _time(nullable=True),
        "contacts_to_resolve": Field("Int64", True, ("ge", 1)),
        "first_contact_resolved": _flag(),
        "reopened": _flag(),
        "remark": _text(nullable=True),
        # the team on the ticket row (a roster link fills it where empty): an agent may work in several teams
        "team": _text(nullable=True, matches=SAFE_NAME),
        "department": _text(nullable=True, matches=SAFE_NAME),
    },
    "surveys": {
        "survey_id": _text(),
        "ticket_id": _text(nullable=True),
        "answered_at": _time(),
        "csat": _score(1, 5),
        "nps": _score(0, 10, nullable=True),
        "comment": _text(nullable=True),
        "source": _one_of(SURVEY_SOURCES),
        **{item: _score(1, 5, nullable=True) for item in SURVEY_ITEMS},
    },
    "complaints": {
        "complaint_id": _text(),
        "ticket_id": _text(nullable=True),
        "received_at": _time(),
        "first_response_at": _time(nullable=True),
        "closed_at": _time(nullable=True),
        "severity": _score(1, 4),
        "category": _one_of("category", nullable=True),
        "cause_dimension": _one_of("cause_dimension", nullable=True),
        "text": _text(nullable=True),
    },
    "field_visits": {
        "visit_id": _text(),
        "ticket_id": _text(),
        "engineer_id": _text(),
        "promised_at": _time(),
        "arrived_at": _time(nullable=True),
        "rework_required": _flag(nullable=True),
    },
    "qa_reviews": {
        "review_id": _text(),
        "ticket_id": _text(),
        "agent_id": _text(),
        "reviewer_id": _text(),
        "reviewed_at": _time(),
        **{item: _score(1, 5, nullable=True) for item in RUBRIC_ITEMS},
        "critical_fail": _flag(),
        "process_compliant": _flag(nullable=True),
        "calibration": _flag(),
    },
}


def field_names(table: str) -> list[str]:
    """The canonical fields of ``table``, in archive order (no pandera import)."""
    return list(FIELDS[table])


def build_schemas(value_sets: dict[str, list[str]] | None = None) -> dict[str, pa.DataFrameSchema]:
    """The canonical tables (:data:`FIELDS`) as pandera schemas, with the allowed values of
    ``value_sets`` (defaults for the sets not given).

    A value set applies to the column of the same name in every table (``category`` of tickets
    and of complaints alike).
    """
    import pandera.pandas as pa

    sets = {**DEFAULT_VALUE_SETS, **(value_sets or {})}

    def column(field: Field) -> pa.Column:
        checks = None
        if field.check is not None:
            kind, *args = field.check
            if kind == "isin":
                args = [list(sets[args[0]]) if isinstance(args[0], str) else list(args[0])]
            checks = getattr(pa.Check, kind)(*args)
        return pa.Column(str if field.dtype == "str" else field.dtype, checks, nullable=field.nullable)

    return {table: pa.DataFrameSchema({name: column(field) for name, field in fields.items()}, name=table)
            for table, fields in FIELDS.items()}


class _DefaultSchemas(Mapping):
    """:func:`build_schemas` with the default value sets, built on first use (so is pandera imported)."""

    @cached_property
    def _built(self) -> dict[str, pa.DataFrameSchema]:
        return build_schemas()

    def __getitem__(self, table: str) -> pa.DataFrameSchema:
        return self._built[table]

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)


SCHEMAS: Mapping[str, pa.DataFrameSchema] = _DefaultSchemas()

# Columns every archived table carries besides its own fields, taken from the table it links to
# (null when there is no link): loads filter on team, and notebooks break down by the others.
LINK_COLUMNS = {
    "agents": [],
    "tickets": [],
    "surveys": ["team", "department", "agent_id", "channel", "customer_type", "category"],
    "complaints": ["team", "department", "agent_id", "channel", "customer_type"],
    "field_visits": ["team", "department", "channel"],
    "qa_reviews": ["team", "department"],
}

# Fields a source can never declare absent: each table's id and time column (and the score of a survey).
KEY_FIELDS = {
    "agents": ["agent_id"],
    "tickets": ["ticket_id", "created_at"],
    "surveys": ["survey_id", "answered_at", "csat"],
    "complaints": ["complaint_id", "received_at"],
    "field_visits": ["visit_id", "promised_at"],
    "qa_reviews": ["review_id", "reviewed_at"],
}


def id_column(table: str) -> str:
    """The column that identifies a row of ``table`` (its first field: ``ticket_id``, ``agent_id``, ...)."""
    return next(iter(SCHEMAS[table].columns))


def parse_kind(table: str, column: str) -> str:
    """How raw text for ``table.column`` is parsed: str, int, float, bool or datetime."""
    dtype = FIELDS[table][column].dtype
    if dtype.startswith("datetime64"):
        return "datetime"
    return {"Int64": "int", "Float64": "float", "boolean": "bool"}.get(dtype, "str")


def required_columns(table: str) -> list[str]:
    """Columns that may not be empty: a raw export must carry them."""
    return [name for name, field in FIELDS[table].items() if not field.nullable]
