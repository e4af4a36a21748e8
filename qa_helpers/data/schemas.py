"""Canonical tables, declared once as pandera schemas (DESIGN.md §4).

The schema is the single place where a column's type and whether it may be empty are
written down. Allowed values (channels, categories, priorities, ...) are not fixed here: they
come from ``value_sets`` in ``sources.yml`` (:data:`DEFAULT_VALUE_SETS` when it has none), and
:func:`build_schemas` writes them into the checks. Ingest parses raw text into these types and
then checks each column the way pandera would; failing rows go to quarantine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING

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


def _text(nullable: bool = False, **kwargs) -> pa.Column:
    import pandera.pandas as pa

    return pa.Column(str, nullable=nullable, **kwargs)


def _one_of(values: list[str], nullable: bool = False) -> pa.Column:
    import pandera.pandas as pa

    return pa.Column(str, pa.Check.isin(values), nullable=nullable)


def _score(low: int, high: int, nullable: bool = False) -> pa.Column:
    import pandera.pandas as pa

    return pa.Column("Int64", pa.Check.in_range(low, high), nullable=nullable)


def _seconds() -> pa.Column:
    import pandera.pandas as pa

    return pa.Column("Float64", pa.Check.ge(0), nullable=False)


def build_schemas(value_sets: dict[str, list[str]] | None = None) -> dict[str, pa.DataFrameSchema]:
    """The canonical tables, with the allowed values of ``value_sets`` (defaults for the sets not given).

    A value set applies to the column of the same name in every table (``category`` of tickets
    and of complaints alike).
    """
    import pandera.pandas as pa

    sets = {**DEFAULT_VALUE_SETS, **(value_sets or {})}

    def one_of(name: str, nullable: bool = False) -> pa.Column:
        return _one_of(list(sets[name]), nullable=nullable)

    return {
        "agents": pa.DataFrameSchema({
            "agent_id": _text(),
            "team": _text(checks=pa.Check.str_matches(SAFE_NAME)),
            "department": _text(checks=pa.Check.str_matches(SAFE_NAME)),
            "hire_date": pa.Column(TIME, nullable=True),
            "role": _one_of(ROLES),
        }, name="agents"),
        "tickets": pa.DataFrameSchema({
            "ticket_id": _text(),
            "created_at": pa.Column(TIME, nullable=False),
            "channel": one_of("channel"),
            "agent_id": _text(),
            "customer_id": _text(),
            "customer_name": _text(nullable=True),
            "customer_type": one_of("customer_type"),
            "category": one_of("category"),
            "priority": one_of("priority", nullable=True),
            "first_response_s": _seconds(),
            "handle_s": _seconds(),
            "resolved_at": pa.Column(TIME, nullable=True),
            "contacts_to_resolve": pa.Column("Int64", pa.Check.ge(1), nullable=True),
            "first_contact_resolved": pa.Column("boolean", nullable=False),
            "reopened": pa.Column("boolean", nullable=False),
            "remark": _text(nullable=True),
            # the team on the ticket row (a roster link fills it where empty): an agent may work in several teams
            "team": _text(nullable=True, checks=pa.Check.str_matches(SAFE_NAME)),
            "department": _text(nullable=True, checks=pa.Check.str_matches(SAFE_NAME)),
        }, name="tickets"),
        "surveys": pa.DataFrameSchema({
            "survey_id": _text(),
            "ticket_id": _text(nullable=True),
            "answered_at": pa.Column(TIME, nullable=False),
            "csat": _score(1, 5),
            "nps": _score(0, 10, nullable=True),
            "comment": _text(nullable=True),
            "source": _one_of(SURVEY_SOURCES),
            **{item: _score(1, 5, nullable=True) for item in SURVEY_ITEMS},
        }, name="surveys"),
        "complaints": pa.DataFrameSchema({
            "complaint_id": _text(),
            "ticket_id": _text(nullable=True),
            "received_at": pa.Column(TIME, nullable=False),
            "first_response_at": pa.Column(TIME, nullable=True),
            "closed_at": pa.Column(TIME, nullable=True),
            "severity": _score(1, 4),
            "category": one_of("category", nullable=True),
            "cause_dimension": one_of("cause_dimension", nullable=True),
            "text": _text(nullable=True),
        }, name="complaints"),
        "field_visits": pa.DataFrameSchema({
            "visit_id": _text(),
            "ticket_id": _text(),
            "engineer_id": _text(),
            "promised_at": pa.Column(TIME, nullable=False),
            "arrived_at": pa.Column(TIME, nullable=True),
            "rework_required": pa.Column("boolean", nullable=True),
        }, name="field_visits"),
        "qa_reviews": pa.DataFrameSchema({
            "review_id": _text(),
            "ticket_id": _text(),
            "agent_id": _text(),
            "reviewer_id": _text(),
            "reviewed_at": pa.Column(TIME, nullable=False),
            **{item: _score(1, 5, nullable=True) for item in RUBRIC_ITEMS},
            "critical_fail": pa.Column("boolean", nullable=False),
            "process_compliant": pa.Column("boolean", nullable=True),
            "calibration": pa.Column("boolean", nullable=False),
        }, name="qa_reviews"),
    }


class _DefaultSchemas(Mapping):
    """:func:`build_schemas` with the default value sets, built on first use (so is pandera imported)."""

    @cached_property
    def _built(self) -> dict[str, pa.DataFrameSchema]:
        return build_schemas()

    def __getitem__(self, table: str) -> pa.DataFrameSchema:
        return self._built[table]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built)

    def __len__(self) -> int:
        return len(self._built)


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


def parse_kind(table: str, column: str) -> str:
    """How raw text for ``table.column`` is parsed: str, int, float, bool or datetime."""
    dtype = str(SCHEMAS[table].columns[column].dtype)
    if dtype.startswith("datetime64"):
        return "datetime"
    return {"Int64": "int", "Float64": "float", "boolean": "bool"}.get(dtype, "str")


def required_columns(table: str) -> list[str]:
    """Columns that may not be empty: a raw export must carry them."""
    return [name for name, col in SCHEMAS[table].columns.items() if not col.nullable]
