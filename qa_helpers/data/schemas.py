"""Canonical tables, declared once as pandera schemas (DESIGN.md §4).

The schema is the single place where a column's type, whether it may be empty, and its
allowed values are written down. Ingest parses raw text into these types and then lets
pandera say which rows break which check; those rows go to quarantine.
"""

from __future__ import annotations

import pandera.pandas as pa

CHANNELS = ["phone", "chat", "email", "social", "onsite"]
CATEGORIES = ["billing_dispute", "fault_repair", "consultation", "installation", "other"]
CUSTOMER_TYPES = ["enterprise", "individual"]
PRIORITIES = ["high", "medium", "low"]
CAUSE_DIMENSIONS = ["people", "process", "tools", "environment"]
SURVEY_SOURCES = ["survey", "review"]
RUBRIC_ITEMS = ["voice_quality", "courtesy", "problem_solving", "proactiveness", "compliance"]
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


def _text(nullable: bool = False, **kwargs) -> pa.Column:
    return pa.Column(str, nullable=nullable, **kwargs)


def _one_of(values: list[str], nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.isin(values), nullable=nullable)


def _score(low: int, high: int, nullable: bool = False) -> pa.Column:
    return pa.Column("Int64", pa.Check.in_range(low, high), nullable=nullable)


def _seconds() -> pa.Column:
    return pa.Column("Float64", pa.Check.ge(0), nullable=False)


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "agents": pa.DataFrameSchema({
        "agent_id": _text(),
        "team": _text(checks=pa.Check.str_matches(SAFE_NAME)),
        "department": _text(checks=pa.Check.str_matches(SAFE_NAME)),
        "hire_date": pa.Column(TIME, nullable=True),
        "role": _one_of(["agent", "engineer"]),
    }, name="agents"),
    "tickets": pa.DataFrameSchema({
        "ticket_id": _text(),
        "created_at": pa.Column(TIME, nullable=False),
        "channel": _one_of(CHANNELS),
        "agent_id": _text(),
        "customer_id": _text(),
        "customer_name": _text(nullable=True),
        "customer_type": _one_of(CUSTOMER_TYPES),
        "category": _one_of(CATEGORIES),
        "priority": _one_of(PRIORITIES, nullable=True),
        "first_response_s": _seconds(),
        "handle_s": _seconds(),
        "resolved_at": pa.Column(TIME, nullable=True),
        "contacts_to_resolve": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "first_contact_resolved": pa.Column("boolean", nullable=False),
        "reopened": pa.Column("boolean", nullable=False),
        "remark": _text(nullable=True),
    }, name="tickets"),
    "surveys": pa.DataFrameSchema({
        "survey_id": _text(),
        "ticket_id": _text(nullable=True),
        "answered_at": pa.Column(TIME, nullable=False),
        "csat": _score(1, 5),
        "nps": _score(0, 10, nullable=True),
        "comment": _text(nullable=True),
        "source": _one_of(SURVEY_SOURCES),
    }, name="surveys"),
    "complaints": pa.DataFrameSchema({
        "complaint_id": _text(),
        "ticket_id": _text(nullable=True),
        "received_at": pa.Column(TIME, nullable=False),
        "first_response_at": pa.Column(TIME, nullable=True),
        "closed_at": pa.Column(TIME, nullable=True),
        "severity": _score(1, 4),
        "category": _one_of(CATEGORIES, nullable=True),
        "cause_dimension": _one_of(CAUSE_DIMENSIONS, nullable=True),
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


def parse_kind(table: str, column: str) -> str:
    """How raw text for ``table.column`` is parsed: str, int, float, bool or datetime."""
    dtype = str(SCHEMAS[table].columns[column].dtype)
    if dtype.startswith("datetime64"):
        return "datetime"
    return {"Int64": "int", "Float64": "float", "boolean": "bool"}.get(dtype, "str")


def required_columns(table: str) -> list[str]:
    """Columns that may not be empty: a raw export must carry them."""
    return [name for name, col in SCHEMAS[table].columns.items() if not col.nullable]
