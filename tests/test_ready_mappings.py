"""The ready mappings of config/mappings/ ingest the foreign exports they are written for, by config alone."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from qa_helpers.config import kit_root, load_sources
from qa_helpers.data import archive as qa_archive
from qa_helpers.data.foreign import write_call_log, write_helpdesk_export
from qa_helpers.data.ingest import fingerprint, ingest

MAPPINGS = kit_root() / "config" / "mappings"
# the rule each planted kind of defect must be quarantined under (None: a real-life row that is archived)
RULE_OF = {
    "blank_id": "missing_required",
    "unknown_priority": "invalid_value",
    "unknown_ivr_option": "invalid_value",
    "survey_out_of_range": "invalid_value",
    "solved_before_created": "time_order",
    "ends_before_start": "time_order",
    "duplicate_row": "duplicate_row",
    "new_unassigned": None,
}
SHAPES = {
    "helpdesk": (write_helpdesk_export, "zendesk_tickets_2025.csv"),
    "call_log": (write_call_log, "call_log_2025H1.csv"),
}


@pytest.fixture(scope="module", params=sorted(SHAPES))
def ingested(request, tmp_path_factory):
    """(shape, facts of the generated export, raw dir, archive dir, ingest report) per ready mapping."""
    shape = request.param
    writer, name = SHAPES[shape]
    base = tmp_path_factory.mktemp(shape)
    facts = writer(base / "raw" / name)
    report = ingest(base / "raw", base / "archive", config=MAPPINGS / shape, key=b"k")
    return shape, facts, base / "raw", base / "archive", report


def _expected(planted: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, count in planted.items():
        if RULE_OF[kind] and count:
            out[RULE_OF[kind]] = out.get(RULE_OF[kind], 0) + count
    return out


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_ready_mapping_loads_with_readme(shape):
    config = load_sources(MAPPINGS / shape)
    assert set(config.sources) == {"tickets", "surveys"}
    assert config.sources["surveys"].from_source == "tickets"
    assert config.sources["surveys"].rows_where
    assert "us" in config.pii_locales and "intl" in config.pii_locales
    readme = (MAPPINGS / shape / "README.md").read_text(encoding="utf-8")
    assert "Columns it needs" in readme


def test_raw_equals_archived_plus_quarantined(ingested):
    shape, facts, _, archive, report = ingested
    for table, entry in report["sources"].items():
        assert entry["raw"] == entry["archived"] + entry["quarantined"], table
        assert sum(entry["by_rule"].values()) == entry["quarantined"], table
        assert len(qa_archive.load(table, archive=archive)) == entry["archived"], table
        assert len(qa_archive.quarantine(table, archive=archive)) == entry["quarantined"], table
    tickets_raw = facts["rows"] if shape == "helpdesk" else facts["answered"]  # abandoned calls are not contacts
    assert report["sources"]["tickets"]["raw"] == tickets_raw
    assert report["sources"]["surveys"]["raw"] == facts["rated" if shape == "helpdesk" else "surveyed"]


def test_planted_defects_are_quarantined_under_their_rule(ingested):
    _, facts, _, archive, report = ingested
    for table in ("tickets", "surveys"):
        assert report["sources"][table]["by_rule"] == _expected(facts["planted"][table]), table
    q = qa_archive.quarantine("tickets", archive=archive)
    invalid = q[q["rule"] == "invalid_value"]
    assert invalid["column"].isin(["Priority", "IVR option"]).all()
    assert invalid["detail"].str.contains("Critical|7 Promotions").all()
    assert q.loc[q["rule"] == "missing_required", "column"].isin(["Id", "Call ID"]).all()
    assert q.loc[q["rule"] == "time_order", "detail"].str.contains("is before created_at").all()


def test_surveys_are_carved_out_of_the_tickets(ingested):
    shape, _, _, archive, _ = ingested
    tickets = qa_archive.load("tickets", archive=archive)
    surveys = qa_archive.load("surveys", archive=archive)
    assert len(surveys) > 100
    assert surveys["ticket_id"].isin(tickets["ticket_id"]).all()
    assert (surveys["survey_id"] == surveys["ticket_id"]).all()
    assert set(surveys["source"]) == {"survey"}
    assert surveys["csat"].between(1, 5).all()
    if shape == "helpdesk":
        assert set(surveys["csat"]) == {1, 5}  # Good / Bad
        assert surveys["nps"].isna().all()
    else:
        assert surveys["nps"].dropna().between(0, 10).all() and surveys["nps"].notna().any()
    # the team comes with the link to the ticket
    teams = surveys.merge(tickets[["ticket_id", "team"]], on="ticket_id", suffixes=("", "_ticket"))
    assert (teams["team"] == teams["team_ticket"]).all()


def test_no_planted_pii_in_the_archive(ingested):
    shape, facts, raw_dir, archive, _ = ingested
    raw = _read_raw(shape, raw_dir)
    secrets = {p["token"] for p in facts["pii"]}
    if shape == "helpdesk":
        secrets |= set(raw["Requester email"]) | set(raw["Requester id"])
        names = set(raw["Requester"])
    else:
        secrets |= {n for n in raw["Caller number"] if n != "anonymous"}
        names = set()
    for table in ("tickets", "surveys"):
        frame = qa_archive.load(table, archive=archive)
        assert "customer_name" not in frame or frame["customer_name"].isna().all()
        text = frame.select_dtypes(exclude=["number", "datetime", "bool", "boolean"]).astype("string")
        blob = "\n".join(text.fillna("").agg(" | ".join, axis=1))
        lowered = blob.lower()
        leaked = [s for s in secrets if s and s.lower() in lowered]
        assert not leaked, leaked[:5]
        leaked_names = [n for n in names if re.search(rf"\b{re.escape(n.lower())}\b", lowered)]
        assert not leaked_names, leaked_names[:5]
    tickets = qa_archive.load("tickets", archive=archive)
    assert tickets["customer_id"].str.fullmatch(r"C[0-9a-f]{16}").all()
    remarks = tickets["remark"].dropna()
    assert remarks.str.contains(r"\[PHONE\]").any() and remarks.str.contains(r"\[EMAIL\]").any()
    if shape == "helpdesk":
        assert remarks.str.contains(r"\[NAME\]").any()


def _read_raw(shape: str, raw_dir) -> pd.DataFrame:
    _, name = SHAPES[shape]
    sep = "," if shape == "helpdesk" else ";"
    return pd.read_csv(raw_dir / name, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_fields_are_converted_and_derived(ingested):
    shape, facts, raw_dir, archive, _ = ingested
    raw = _read_raw(shape, raw_dir)
    tickets = qa_archive.load("tickets", archive=archive)
    if shape == "helpdesk":
        rows = tickets.merge(raw.drop_duplicates("Id"), left_on="ticket_id", right_on="Id")
        replied = rows["First reply time in minutes"] != ""
        assert (rows.loc[replied, "first_response_s"] == rows.loc[replied, "First reply time in minutes"]
                .astype(float) * 60).all()
        assert (rows["reopened"] == (rows["Reopens"].astype(int) > 0)).all()
        assert (rows["customer_type"] == rows["Organization"].ne("").map({True: "enterprise", False: "individual"})).all()
        open_again = rows["Status"].isin(["Open", "Pending", "Hold"]) & rows["Solved at"].ne("")
        assert open_again.any() and rows.loc[open_again, "resolved_at"].isna().all()
        # the team is the group on the row: an assignee working in two groups is in two teams
        assert set(tickets["team"].dropna()) == set(facts["groups"])
        two = tickets[tickets["agent_id"].isin(facts["agents_in_two_groups"])].groupby("agent_id")["team"].nunique()
        assert (two == 2).all() and len(two) == len(facts["agents_in_two_groups"])
        # new tickets nobody picked up are archived, not rejected
        new = tickets[tickets["status"] == "new"]
        assert len(new) == facts["new_tickets"] and new["agent_id"].isna().all()
        assert set(tickets["status"]) <= {"new", "open", "pending", "hold", "solved", "closed"}
        assert set(tickets["channel"]) <= {"phone", "chat", "email", "social", "self_service"}
        assert "self_service" in set(tickets["channel"])
        assert set(tickets["priority"].dropna()) <= {"urgent", "high", "normal", "low"}
    else:
        rows = tickets.merge(raw.drop_duplicates("Call ID"), left_on="ticket_id", right_on="Call ID")
        wait = rows["Queue wait (mm:ss)"].str.split(":", expand=True).astype(int)
        assert (rows["first_response_s"] == wait[0] * 60 + wait[1] + rows["Ring time (s)"].astype(int)).all()
        talk = rows["Talk time"].str.split(":", expand=True).astype(int)
        expected = talk[0] * 3600 + talk[1] * 60 + talk[2] + rows["Hold time (s)"].astype(int) + rows["ACW (s)"].astype(int)
        assert (rows["handle_s"] == expected).all()
        assert set(tickets["channel"]) == {"phone"}
        assert tickets["agent_id"].isna().all()
        assert set(tickets["team"]) == set(facts["queues"])
        # one customer however the number is written; a withheld number is a customer of its own
        assert tickets["customer_id"].nunique() < len(tickets)
        withheld = rows[rows["Caller number"] == "anonymous"]
        assert withheld["customer_id"].is_unique
        assert set(tickets["direction"]) == {"Inbound", "Outbound"}


def test_availability_and_absent_tables(ingested):
    shape, _, _, archive, report = ingested
    available = qa_archive.availability(archive)
    for table in ("complaints", "field_visits", "qa_reviews", "agents"):
        assert available[table] == set()
        assert qa_archive.load(table, archive=archive).empty
    tickets = report["availability"]["tickets"]
    assert "department" in tickets["absent_fields"]
    if shape == "helpdesk":
        assert {"status", "region", "ticket_type"} <= set(tickets["extra"])
        assert "agent_id" in tickets["fields"]
    else:
        assert "agent_id" in tickets["absent_fields"] and "reopened" in tickets["absent_fields"]
        assert {"direction", "language", "disposition"} <= set(tickets["extra"])


def test_reingest_gives_the_same_archive(ingested, tmp_path):
    shape, _, raw_dir, archive, _ = ingested
    ingest(raw_dir, tmp_path / "again", config=MAPPINGS / shape, key=b"k")
    assert fingerprint(tmp_path / "again") == fingerprint(archive)
