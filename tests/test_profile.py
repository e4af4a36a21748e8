"""`qakit map`'s engine: profiling a foreign export and drafting its source mapping."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from qa_helpers.config import kit_root, load_sources
from qa_helpers.data.foreign import write_call_log, write_helpdesk_export
from qa_helpers.data.ingest import ingest
from qa_helpers.data.profile import (PROFILE_COLUMNS, draft_mapping, format_profile, header_unit, map_export,
                                     profile_export)


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory):
    path = tmp_path_factory.mktemp("helpdesk") / "zendesk_tickets_2025.csv"
    return path, write_helpdesk_export(path)


@pytest.fixture(scope="module")
def call_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("calls") / "call_log_2025H1.csv"
    return path, write_call_log(path)


def _by_column(profile: pd.DataFrame) -> pd.DataFrame:
    return profile.set_index("column")


def test_fixtures_are_deterministic(tmp_path):
    for writer in (write_helpdesk_export, write_call_log):
        a, b, c = tmp_path / f"{writer.__name__}_a.csv", tmp_path / f"{writer.__name__}_b.csv", tmp_path / "c.csv"
        assert writer(a, n=300, seed=3) == {**writer(b, n=300, seed=3), "file": str(a)}
        assert a.read_bytes() == b.read_bytes()
        writer(c, n=300, seed=4)
        assert c.read_bytes() != a.read_bytes()


def test_profile_of_the_helpdesk_export(helpdesk):
    path, facts = helpdesk
    profile = profile_export(path)
    assert list(profile.columns) == PROFILE_COLUMNS
    assert list(profile["column"]) == facts["columns"]
    assert profile.attrs["delimiter"] == "," and profile.attrs["encoding"] == "utf-8"
    assert profile.attrs["rows"] == facts["rows"] and profile.attrs["header_row"] == 1
    cols = _by_column(profile)
    guesses = {"Id": "ticket_id", "Created at": "created_at", "Group": "team", "Assignee": "agent_id",
               "Requester": "customer_name", "Requester id": "customer_id", "Via": "channel",
               "Priority": "priority", "First reply time in minutes": "first_response_s",
               "Solved at": "resolved_at", "Description": "remark", "Satisfaction Score": "csat",
               "Satisfaction Comment": "comment"}
    for column, field in guesses.items():
        assert cols.loc[column, "guess"] == field, column
    assert cols.loc["Satisfaction Score", "table"] == "surveys"
    assert cols.loc["First reply time in minutes", "unit"] == "minutes"
    assert cols.loc["Total time spent (sec)", "unit"] == "seconds"
    assert cols.loc["Created at", "type"] == "datetime"
    assert cols.loc["Created at", "formats"] == "%Y-%m-%d %H:%M:%S"
    assert cols.loc["Reopens", "type"] == "int"
    assert cols.loc["Requester email", "pii"] == "email"
    assert cols.loc["Requester", "pii"] == "name"
    assert cols.loc["Description", "pii"] == "text"
    assert cols.loc["Status", "pii"] == "" and "Closed" in cols.loc["Status", "top_values"]
    assert 0 < cols.loc["Assignee", "empty"] < 0.05  # the new, unassigned tickets


def test_profile_of_the_call_log(call_log):
    path, facts = call_log
    profile = profile_export(path)
    assert profile.attrs["delimiter"] == ";" and profile.attrs["bom"]
    assert list(profile["column"]) == facts["columns"]  # the byte-order mark is not part of the first header
    cols = _by_column(profile)
    assert cols.loc["Call ID", "guess"] == "ticket_id"
    assert cols.loc["Start time", "guess"] == "created_at"
    assert cols.loc["Start time", "formats"] == "%d.%m.%Y %H:%M:%S"
    assert cols.loc["Queue", "guess"] == "team"
    assert cols.loc["Queue wait (mm:ss)", "type"] == "duration"
    assert cols.loc["Talk time", "type"] == "duration"
    assert cols.loc["Duration (min)", "formats"] == "decimal comma"
    assert cols.loc["Abandoned", "type"] == "bool"
    assert cols.loc["Caller number", "pii"] == "phone"
    assert cols.loc["Survey score", "guess"] == "csat" and cols.loc["Survey NPS", "guess"] == "nps"
    assert cols.loc["Ring time (s)", "unit"] == "seconds"
    assert (cols["guess"] != "agent_id").all()


@pytest.mark.parametrize("header, unit", [
    ("First reply time in minutes", "minutes"), ("Handle time (min)", "minutes"), ("Resolution (h)", "hours"),
    ("Wait (hours)", "hours"), ("Talk seconds", "seconds"), ("ACW (s)", "seconds"), ("Hold (sec)", "seconds"),
    ("Queue wait (mm:ss)", "clock"), ("处理时长(秒)", "seconds"), ("首次响应时长（分钟）", "minutes"),
    ("Requester's name", None), ("Status", None), ("Duration (ms)", "milliseconds"),
])
def test_units_from_header_words(header, unit):
    assert header_unit(header) == unit


def _draft(path, **kwargs) -> dict:
    text = draft_mapping(path, **kwargs)
    return yaml.safe_load(text), text


def test_draft_for_the_helpdesk_export(helpdesk, tmp_path):
    path, _ = helpdesk
    doc, text = _draft(path)
    tickets = doc["sources"]["tickets"]
    columns = tickets["columns"]
    for raw, field in {"Id": "ticket_id", "Created at": "created_at", "Group": "team", "Assignee": "agent_id",
                       "Via": "channel", "Requester id": "customer_id", "Requester": "customer_name",
                       "First reply time in minutes": "first_response_s", "Description": "remark"}.items():
        assert columns[raw] == field, raw
    assert tickets["units"] == {"first_response_s": "minutes"}
    assert tickets["delimiter"] == "," and tickets["encoding"] == "utf-8" and tickets["format"] == "csv"
    assert tickets["datetime_formats"] == ["%Y-%m-%d %H:%M:%S"]
    assert tickets["pseudonymise"] == ["customer_id"] and tickets["customer_names"] == "customer_name"
    assert tickets["mask_pii"] == ["remark"]
    assert {"Status": "status", "Region": "region"}.items() <= tickets["keep"].items()
    assert "Requester email" not in tickets["keep"] and "Organization" not in tickets["keep"]
    assert "department" in tickets["absent"] and "contacts_to_resolve" in tickets["absent"]
    assert "reopened" in tickets["derived"] and "customer_type" in tickets["derived"]
    assert tickets["values"]["channel"]["Web form"] == "self_service"
    assert "self_service" in doc["value_sets"]["channel"]
    assert tickets["values"]["category"]["Billing"] == "billing_dispute"
    assert doc["pii_locales"] == ["intl", "us"]
    # the rating on the ticket row becomes a surveys source carved out of the same export
    surveys = doc["sources"]["surveys"]
    assert surveys["from_source"] == "tickets"
    assert surveys["columns"]["Id"] == ["survey_id", "ticket_id"]
    assert surveys["columns"]["Satisfaction Score"] == "csat"
    assert surveys["values"]["csat"] == {"Good": 5, "Bad": 1}
    assert "Satisfaction Score" in surveys["rows_where"] and "Good" in surveys["rows_where"]
    # comments name what could not be found, and the draft is a mapping the kit accepts
    assert re.search(r"#\s+department\s", text) and "TODO" in text
    (tmp_path / "sources.yml").write_text(text, encoding="utf-8")
    config = load_sources(tmp_path)
    assert config.sources["tickets"].units == {"first_response_s": "minutes"}


def test_draft_for_the_call_log(call_log):
    path, _ = call_log
    doc, _ = _draft(path)
    tickets = doc["sources"]["tickets"]
    assert tickets["delimiter"] == ";"
    assert tickets["columns"]["Call ID"] == "ticket_id" and tickets["columns"]["Queue"] == "team"
    assert tickets["datetime_formats"] == ["%d.%m.%Y %H:%M:%S"]
    assert 'duration("Queue wait (mm:ss)")' in tickets["derived"]["first_response_s"]
    handle = tickets["derived"]["handle_s"]
    assert 'duration("Talk time")' in handle and '"Hold time (s)"' in handle and '"ACW (s)"' in handle
    assert '"Caller number"' in tickets["derived"]["customer_id"] and "customer_id" in tickets["pseudonymise"]
    assert tickets["constants"] == {"channel": "phone"}
    assert "agent_id" in tickets["absent"]
    assert tickets["values"]["category"]["1 Billing"] == "billing_dispute"
    assert tickets["values"]["category"]["7 Promotions"] == "7 Promotions"  # no guess: itself, marked TODO
    assert {"Direction", "Language", "Disposition"} <= set(tickets["keep"])
    surveys = doc["sources"]["surveys"]
    assert surveys["columns"]["Survey score"] == "csat" and surveys["columns"]["Survey NPS"] == "nps"
    assert surveys["rows_where"] == 'num("Survey score") IS NOT NULL'
    assert surveys["derived"]["answered_at"] == 'ts("End time")'


@pytest.mark.parametrize("fixture", ["helpdesk", "call_log"])
def test_a_draft_ingests_its_export_as_is(fixture, request, tmp_path):
    """Config alone: the unedited draft is accepted and accounts for every row."""
    path, _ = request.getfixturevalue(fixture)
    map_export(path, out=tmp_path / "config" / "sources.yml")
    report = ingest(path.parent, tmp_path / "archive", config=tmp_path / "config", key=b"k", check=True)
    for table, entry in report["sources"].items():
        assert entry["raw"] == entry["archived"] + entry["quarantined"], table
        assert entry["archived"] > 0.8 * entry["raw"] or table == "tickets" and fixture == "call_log"


def test_map_export_writes_what_it_returns(helpdesk, tmp_path):
    path, _ = helpdesk
    out = tmp_path / "nested" / "sources.yml"
    text = map_export(path, out=out)
    assert out.read_text(encoding="utf-8") == text
    assert map_export(path) == text  # deterministic, and nothing written without out


def test_header_synonyms_english_and_chinese(tmp_path):
    english = tmp_path / "export.csv"
    english.write_text("Ticket ID,Created,Team,Agent,CSAT,First response time (sec),Channel,Priority\n"
                       + "".join(f"T{i},2025-03-{i % 28 + 1:02d} 10:00,HL-A,a{i % 4},{i % 5 + 1},{30 + i},"
                                 f"{['Phone', 'Chat'][i % 2]},{['High', 'Low'][i % 2]}\n" for i in range(40)),
                       encoding="utf-8")
    doc, _ = _draft(english)
    columns = doc["sources"]["tickets"]["columns"]
    assert columns["Ticket ID"] == "ticket_id" and columns["Created"] == "created_at"
    assert columns["Team"] == "team" and columns["Agent"] == "agent_id"
    assert columns["First response time (sec)"] == "first_response_s"
    assert "units" not in doc["sources"]["tickets"]  # seconds already
    assert doc["sources"]["surveys"]["columns"]["CSAT"] == "csat"
    assert doc["sources"]["tickets"]["datetime_formats"] == ["%Y-%m-%d %H:%M"]
    chinese = tmp_path / "工单导出.csv"
    chinese.write_text("工单编号,创建时间,渠道,客服工号,问题类别,首次响应时长(分钟),备注\n"
                       + "".join(f"GD{i},2025/03/{i % 28 + 1:02d} 10:00:00,{['电话', '在线'][i % 2]},A{i % 3},"
                                 f"{['账单争议', '故障报修'][i % 2]},{i % 9},备注{i}\n" for i in range(30)),
                       encoding="gb18030")
    profile = profile_export(chinese)
    assert profile.attrs["encoding"] == "gb18030"
    doc, _ = _draft(chinese)
    tickets = doc["sources"]["tickets"]
    assert tickets["columns"]["工单编号"] == "ticket_id" and tickets["columns"]["创建时间"] == "created_at"
    assert tickets["columns"]["渠道"] == "channel" and tickets["columns"]["客服工号"] == "agent_id"
    assert tickets["units"] == {"first_response_s": "minutes"}
    assert tickets["values"]["channel"] == {"电话": "phone", "在线": "chat"}
    assert tickets["encoding"] == "gb18030" and "cn" in doc["pii_locales"]


def test_title_lines_above_the_header_and_xlsx(tmp_path):
    csv_path = tmp_path / "report.csv"
    csv_path.write_text("Call detail report\nExported 2025-07-01\n\nCall ID;Start time;Queue\n"
                        + "".join(f"{i};01.02.2025 10:{i:02d}:00;Q{i % 2}\n" for i in range(30)), encoding="utf-8")
    profile = profile_export(csv_path)
    assert profile.attrs["header_row"] == 4 and list(profile["column"]) == ["Call ID", "Start time", "Queue"]
    assert "header is on row 4" in draft_mapping(csv_path)
    book = tmp_path / "tickets.xlsx"
    frame = pd.DataFrame({"Ticket ID": [f"T{i}" for i in range(20)], "Created at": ["2025-01-02 03:04:05"] * 20,
                          "Customer e-mail": [f"user{i}@example.com" for i in range(20)]})
    with pd.ExcelWriter(book) as writer:
        frame.to_excel(writer, sheet_name="Tickets", index=False)
    profile = profile_export(book)
    assert profile.attrs["format"] == "xlsx" and profile.attrs["sheet"] == "Tickets"
    assert _by_column(profile).loc["Customer e-mail", "pii"] == "email"
    assert "user1@example.com" not in format_profile(profile)
    assert yaml.safe_load(draft_mapping(book))["sources"]["tickets"]["sheet"] == "Tickets"


def test_the_profile_never_shows_planted_pii(helpdesk, call_log):
    for path, facts in (helpdesk, call_log):
        shown = format_profile(profile_export(path)) + "\n" + draft_mapping(path)
        raw = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        secrets = {p["token"] for p in facts["pii"]}
        for column in ("Requester", "Requester email", "Requester id", "Caller number"):
            if column in raw:
                secrets |= set(raw[column]) - {"anonymous"}
        leaked = [s for s in secrets if s.lower() in shown.lower()]
        assert not leaked, leaked[:5]


def test_pii_in_frequent_free_text_is_masked(tmp_path):
    """Top values of free text are shown masked, even when the PII is in the most frequent value."""
    path = tmp_path / "notes.csv"
    rows = ["Id,Customer name,Phone,Notes"]
    for i in range(30):
        rows.append(f"{i},{['Ann Lee', 'Bob Stone', 'Cai Wen'][i % 3]},(415) 555-01{i:02d},"
                    f"\"CALL ANN LEE BACK ON (415) 555-0199 OR ann.lee@example.com\"")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    profile = profile_export(path)
    cols = _by_column(profile)
    assert cols.loc["Phone", "pii"] == "phone" and cols.loc["Customer name", "pii"] == "name"
    shown = format_profile(profile)
    for secret in ("ANN LEE", "Ann Lee", "Bob Stone", "555-0199", "ann.lee@example.com", "555-0101"):
        assert secret.lower() not in shown.lower(), secret
    assert "[PHONE]" in cols.loc["Notes", "top_values"] and "[EMAIL]" in cols.loc["Notes", "top_values"]


def test_draft_of_the_kit_sample_recovers_its_mapping(raw_dir):
    """On the kit's own Chinese exports, the draft finds the renames and value maps of config/sources.yml."""
    kit = yaml.safe_load((kit_root() / "config" / "sources.yml").read_text(encoding="utf-8"))["sources"]
    for table, file in {"tickets": "helpdesk_tickets_2025.csv", "surveys": "survey_export.xlsx",
                        "complaints": "complaints.jsonl", "agents": "agents_roster.csv"}.items():
        source = yaml.safe_load(draft_mapping(raw_dir / file, table=table))["sources"][table]
        assert source["columns"] == kit[table]["columns"], table
        for field, mapping in (kit[table].get("values") or {}).items():
            if field != "role":  # the roster's job titles have no value set to guess against
                # every value the export holds is mapped as the kit maps it
                assert source["values"][field] and source["values"][field].items() <= mapping.items(), (table, field)
    tickets = yaml.safe_load(draft_mapping(raw_dir / "helpdesk_tickets_2025.csv"))["sources"]["tickets"]
    assert tickets["encoding"] == "gb18030" and tickets["pseudonymise"] == ["customer_id"]
    assert tickets["customer_names"] == "customer_name" and tickets["mask_pii"] == ["remark"]


def test_team_names_with_spaces_get_a_safe_value_map(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("Id,Created at,Group\n" + "".join(
        f"{i},2025-01-0{i % 9 + 1} 10:00:00,{['Tier 1 Support', 'Billing', 'VIP & Key accounts'][i % 3]}\n"
        for i in range(30)), encoding="utf-8")
    tickets = yaml.safe_load(draft_mapping(path))["sources"]["tickets"]
    assert tickets["columns"]["Group"] == "team"
    assert tickets["values"]["team"] == {"Tier 1 Support": "Tier-1-Support", "VIP & Key accounts": "VIP-Key-accounts"}
