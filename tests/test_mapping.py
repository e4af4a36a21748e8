"""The declarative source mapping: every feature of sources.yml on a small foreign export."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from qa_helpers.config import load_sources
from qa_helpers.data import archive as qa_archive
from qa_helpers.data.ingest import ingest
from qa_helpers.errors import ConfigError

KEY = b"mapping-test-key"

EXPORT = """\
Id;Created at;Solved at;Group;Assignee;Requester;Requester email;Channel;Status;Priority;First reply (min);Resolution (h);Talk;Replies;Reopens;Satisfaction;Comment
1;2025-10-01 09:00:00;2025-10-01 12:00:00;Support EU;ann;JOHN SMITH;john@x.com;Email;Solved;Normal;15;3;0:05:30;1;0;Good;call me at +1 (555) 123-4567, John Smith
2;2025-10-02 10:00:00;;Support EU;bob;Mary Jones;m@y.com;Web Widget;Open;High;;;;2;0;Offered;
3;2025-10-03 11:00:00;2025-10-03 10:00:00;Billing;ann;Li Wei;l@z.com;Self-Service;Closed;Low;5;1;1:00;3;1;Bad;slow
4;2025-10-04 11:00:00;2025-10-05 10:00:00;Billing;ann;Li Wei;l@z.com;Phone;Closed;Urgent;5;23;2:10;1;0;Good;ok
5;2025-10-04 12:00:00;2025-10-04 12:01:00;Billing;cy;Ann Lee;a@z.com;Phone;Closed;Low;30;0.1;1:00;1;0;;
6;2025-10-05 12:00:00;2025-10-05 13:00:00;Billing;cy;Ann Lee;a@z.com;Fax;Closed;Low;1;1;1:00;1;0;Bad;
"""

SOURCES = {
    "archive_timezone": "Europe/Berlin",
    "valid_time_range": ["2020-01-01", "2030-12-31"],
    "pii_locales": ["intl", "us"],
    "value_sets": {"channel": ["phone", "chat", "email", "web", "self_service"],
                   "priority": ["low", "normal", "high", "urgent"],
                   "status": ["new", "open", "pending", "hold", "solved", "closed"]},
    "sources": {
        "tickets": {
            "pattern": "tickets*.csv", "format": "csv", "delimiter": ";",
            "datetime_formats": ["%Y-%m-%d %H:%M:%S"],
            "columns": {"Id": "ticket_id", "Created at": "created_at", "Solved at": "resolved_at", "Group": "team",
                        "Assignee": "agent_id", "Requester email": "customer_id", "Requester": "customer_name",
                        "Channel": "channel", "Priority": "priority", "First reply (min)": "first_response_s",
                        "Replies": "contacts_to_resolve"},
            "units": {"first_response_s": "minutes"},
            "values": {"channel": {"Email": "email", "Web Widget": "web", "Self-Service": "self_service",
                                   "Phone": "phone"},
                       "priority": {"Low": "low", "Normal": "normal", "High": "high", "Urgent": "urgent"},
                       "team": {"Support EU": "support_eu", "Billing": "billing"},
                       "status": {"Solved": "solved", "Open": "open", "Closed": "closed"}},
            "derived": {"handle_s": 'duration("Talk")',
                        "first_contact_resolved": "\"Status\" IN ('Solved', 'Closed') AND num(\"Replies\") <= 1",
                        "reopened": 'num("Reopens") > 0', "remark": 'txt("Comment")'},
            "constants": {"department": "support"},
            "absent": ["customer_type", "category"],
            "allow_empty": ["first_response_s", "handle_s"],
            "keep": {"Status": "status", "Resolution (h)": "resolution_hours"},
            "pseudonymise": ["customer_id"], "customer_names": "customer_name", "mask_pii": ["remark"],
            "rules": [{"duplicate_id": {"key": "ticket_id"}},
                      {"time_order": {"earlier": "created_at", "later": ["resolved_at"]}},
                      {"resolved_before_response": {}}],
        },
        "surveys": {
            "from_source": "tickets",
            "rows_where": "\"Satisfaction\" IN ('Good', 'Bad')",
            "columns": {"Id": ["survey_id", "ticket_id"], "Satisfaction": "csat", "Comment": "comment"},
            "derived": {"answered_at": 'ts("Solved at")'},
            "constants": {"source": "survey"},
            "values": {"csat": {"Good": "5", "Bad": "1"}},
            "absent": ["nps"],
            "mask_pii": ["comment"],
            "rules": [{"unknown_link": {"table": "tickets", "key": "ticket_id"}}],
            "link": {"table": "tickets", "key": "ticket_id",
                     "columns": ["team", "department", "agent_id", "channel", "customer_type", "category"]},
        },
    },
}


def _setup(tmp_path: Path, sources: dict | None = None, export: str = EXPORT) -> tuple[Path, Path, Path]:
    raw, config = tmp_path / "raw", tmp_path / "config"
    raw.mkdir()
    config.mkdir()
    (raw / "tickets.csv").write_text(export, encoding="utf-8")
    (config / "sources.yml").write_text(yaml.safe_dump(sources or SOURCES, allow_unicode=True), encoding="utf-8")
    return raw, config, tmp_path / "archive"


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    raw, config, archive = _setup(tmp_path_factory.mktemp("foreign"))
    report = ingest(raw, archive, config=config, key=KEY)
    return archive, report


def test_row_accounting_and_rules(foreign):
    archive, report = foreign
    tickets = report["sources"]["tickets"]
    assert tickets["raw"] == 6 == tickets["archived"] + tickets["quarantined"]
    quarantine = qa_archive.quarantine("tickets", archive).set_index("row")
    # row numbers are the lines an editor shows (header = line 1)
    assert quarantine.loc[4, "rule"] == "time_order"  # ticket 3: solved before created
    assert "resolved_at" in quarantine.loc[4, "detail"]
    assert quarantine.loc[6, "rule"] == "resolved_before_response"  # 1 min to solve, 30 min to first reply
    assert quarantine.loc[7, "rule"] == "invalid_value"  # Fax: no channel of the value set
    assert "value_sets.channel" in quarantine.loc[7, "detail"] and "'Fax'" in quarantine.loc[7, "detail"]
    surveys = report["sources"]["surveys"]
    assert surveys["raw"] == 4 == surveys["archived"] + surveys["quarantined"]  # Good/Bad rows only
    assert surveys["by_rule"] == {"unknown_link": 2}  # the surveys of tickets 3 and 6 follow their tickets


def test_mapped_values(foreign):
    archive, _ = foreign
    tickets = qa_archive.load("tickets", archive=archive).set_index("ticket_id")
    assert tickets.loc["1", "first_response_s"] == 15 * 60  # units: minutes
    assert tickets.loc["1", "handle_s"] == 5 * 60 + 30  # duration("mm:ss")
    assert pd.isna(tickets.loc["2", "first_response_s"])  # allow_empty: an open ticket, not yet answered
    assert tickets.loc["1", "channel"] == "email" and tickets.loc["2", "channel"] == "web"
    assert tickets.loc["1", "first_contact_resolved"] and not tickets.loc["2", "first_contact_resolved"]
    assert not tickets["reopened"].any()
    assert set(tickets["department"]) == {"support"}  # constant
    assert tickets.loc["4", "team"] == "billing"  # team from the row, no roster
    assert tickets["customer_type"].isna().all()  # absent
    assert tickets.loc["1", "status"] == "solved" and tickets.loc["1", "resolution_hours"] == "3"  # kept
    assert "customer_name" not in tickets.columns
    assert tickets.loc["1", "customer_id"] != "john@x.com"
    assert "555" not in tickets.loc["1", "remark"] and "John" not in tickets.loc["1", "remark"]
    surveys = qa_archive.load("surveys", archive=archive).set_index("survey_id")
    assert surveys.loc["1", "csat"] == 5 and surveys.loc["1", "ticket_id"] == "1"  # one raw column, two fields
    assert surveys.loc["4", "team"] == "billing"  # linked from the ticket
    assert surveys.loc["1", "answered_at"] == pd.Timestamp("2025-10-01 12:00:00")


def test_units_availability_and_filters(foreign):
    archive, _ = foreign
    units = qa_archive.units(archive)
    assert set(units["unit"]) == {"billing", "support_eu", "support", "ALL"}
    available = qa_archive.availability(archive)
    assert available["complaints"] == set() and available["agents"] == set()
    assert "customer_type" not in available["tickets"] and "status" in available["tickets"]
    assert "first_response_s" in available["tickets"]
    complaints = qa_archive.load("complaints", team="billing", period="2025-Q4", archive=archive)
    assert complaints.empty and "received_at" in complaints.columns  # an absent table loads empty
    closed = qa_archive.load("tickets", archive=archive, where={"status": ["closed"]})
    assert closed["ticket_id"].tolist() == ["4"]
    with pytest.raises(Exception, match="no such column"):
        qa_archive.load("tickets", archive=archive, where={"region": "EU"})


def test_report_says_timezone_and_availability(foreign):
    _, report = foreign
    assert report["sources"]["tickets"]["timezone"] == "Europe/Berlin"
    assert not report["sources"]["tickets"]["timezone_stated"]
    assert any("default_timezone" in w for w in report["sources"]["tickets"]["warnings"])
    assert report["availability"]["field_visits"]["present"] is False


def test_check_writes_nothing(tmp_path):
    raw, config, archive = _setup(tmp_path)
    report = ingest(raw, archive, config=config, key=KEY, check=True)
    assert not archive.exists()
    assert report["check"] and report["sources"]["tickets"]["quarantined"] == 3
    example = report["sources"]["tickets"]["examples"]["invalid_value"][0]
    assert example["row"] == 7 and example["column"] == "Channel"


def _with(tickets: dict) -> dict:
    doc = json.loads(json.dumps(SOURCES))
    doc["sources"]["tickets"].update(tickets)
    return doc


def test_unmapped_field_is_refused_up_front(tmp_path):
    doc = _with({})
    doc["sources"]["tickets"]["absent"] = ["customer_type"]  # category now neither mapped nor absent
    raw, config, archive = _setup(tmp_path, doc)
    with pytest.raises(ConfigError, match=r"\['category'\] are neither mapped nor declared absent"):
        load_sources(config)


@pytest.mark.parametrize("expression, message", [
    ('(SELECT 1)', "'SELECT' is not allowed"),
    ("read_csv('/etc/passwd')", "'read_csv' is not allowed"),
    ('num("Talk"); DROP TABLE x', "';' is not allowed"),
])
def test_expressions_are_row_expressions_only(tmp_path, expression, message):
    raw, config, archive = _setup(tmp_path, _with({"derived": {**SOURCES["sources"]["tickets"]["derived"],
                                                                "handle_s": expression}}))
    with pytest.raises(ConfigError, match=message):
        load_sources(config)


def test_expression_error_names_its_key(tmp_path):
    raw, config, archive = _setup(tmp_path, _with({"derived": {**SOURCES["sources"]["tickets"]["derived"],
                                                                "handle_s": 'nosuchfunction("Talk")'}}))
    with pytest.raises(ConfigError, match="sources.tickets.derived.handle_s"):
        ingest(raw, archive, config=config, key=KEY)
    assert not archive.exists()


def test_no_file_access_from_expressions(tmp_path):
    # a function that reads files is refused by DuckDB itself even if it slipped past the word list
    (tmp_path / "secret.txt").write_text("x")
    derived = {**SOURCES["sources"]["tickets"]["derived"], "remark": f"txt(getenv('HOME'))"}
    raw, config, archive = _setup(tmp_path, _with({"derived": derived}))
    with pytest.raises(ConfigError, match="sources.tickets.derived.remark"):
        ingest(raw, archive, config=config, key=KEY)


def test_missing_referenced_column_is_named(tmp_path):
    raw, config, archive = _setup(tmp_path, _with({"derived": {**SOURCES["sources"]["tickets"]["derived"],
                                                                "handle_s": 'duration("Talk time")'}}))
    from qa_helpers.errors import SourceError

    with pytest.raises(SourceError, match="Talk time"):
        ingest(raw, archive, config=config, key=KEY)


def test_key_fields_cannot_be_absent(tmp_path):
    doc = _with({"absent": ["customer_type", "category", "created_at"]})
    del doc["sources"]["tickets"]["columns"]["Created at"]
    raw, config, archive = _setup(tmp_path, doc)
    with pytest.raises(ConfigError, match="cannot be absent"):
        load_sources(config)


def test_a_source_with_every_row_rejected_stops_ingest(tmp_path):
    from qa_helpers.errors import SourceError

    doc = _with({})
    doc["value_sets"]["channel"] = ["carrier_pigeon"]
    raw, config, archive = _setup(tmp_path, doc)
    with pytest.raises(SourceError, match="every one of the 6 rows of source 'tickets'.*invalid_value"):
        ingest(raw, archive, config=config, key=KEY)
    assert not archive.exists()
