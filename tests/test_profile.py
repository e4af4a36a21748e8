"""`qakit map`'s engine: profiling a foreign export and drafting its source mapping."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from qa_helpers.config import kit_root, load_sources
from qa_helpers.data import archive as qa_archive
from qa_helpers.data.draft import draft_mapping, map_export
from qa_helpers.data.foreign import write_call_log, write_helpdesk_export, write_ticket_export_hours
from qa_helpers.data.ingest import ingest
from qa_helpers.data.profile import PROFILE_COLUMNS, csat_scale, format_profile, header_unit, profile_export
from qa_helpers.data.schemas import SAFE_NAME


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory):
    path = tmp_path_factory.mktemp("helpdesk") / "zendesk_tickets_2025.csv"
    return path, write_helpdesk_export(path)


@pytest.fixture(scope="module")
def call_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("calls") / "call_log_2025H1.csv"
    return path, write_call_log(path)


@pytest.fixture(scope="module")
def hours_export(tmp_path_factory):
    path = tmp_path_factory.mktemp("hours") / "freshdesk_tickets_2025H1.csv"
    return path, write_ticket_export_hours(path)


def _by_column(profile: pd.DataFrame) -> pd.DataFrame:
    return profile.set_index("column")


def test_fixtures_are_deterministic(tmp_path):
    for writer in (write_helpdesk_export, write_call_log, write_ticket_export_hours):
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


@pytest.mark.parametrize("fixture", ["helpdesk", "call_log", "hours_export"])
def test_a_draft_ingests_its_export_as_is(fixture, request, tmp_path):
    """Config alone: the unedited draft is accepted and accounts for every row."""
    path, _ = request.getfixturevalue(fixture)
    map_export(path, out=tmp_path / "config" / "sources.yml")
    report = ingest(path.parent, tmp_path / "archive", config=tmp_path / "config", key=b"k", check=True)
    for table, entry in report["sources"].items():
        assert entry["raw"] == entry["archived"] + entry["quarantined"], table
        assert entry["archived"] > 0.8 * entry["raw"] or table == "tickets" and fixture == "call_log"


def test_draft_for_the_hours_export(hours_export):
    """An export shape the kit has no ready mapping for: Freshdesk-like, hours, a worded CSAT scale."""
    path, facts = hours_export
    doc, text = _draft(path)
    tickets = doc["sources"]["tickets"]
    columns = tickets["columns"]
    for raw, field in {"Ticket ID": "ticket_id", "Created time": "created_at", "Source": "channel",
                       "Group": "team", "Agent": "agent_id", "Email": "customer_id", "Full name": "customer_name",
                       "First response time (in hrs)": "first_response_s", "Type": "category",
                       "Priority": "priority", "Customer interactions": "contacts_to_resolve",
                       "Internal note": "remark"}.items():
        assert columns.get(raw) == field, raw
    assert "Contact ID" not in columns  # a customer number repeats: never the ticket key
    assert tickets["units"] == {"first_response_s": "hours"}
    assert tickets["datetime_formats"] == ["%d-%m-%Y %H:%M:%S"]
    assert 'ts("Resolved time")' in tickets["derived"]["resolved_at"]
    channel = tickets["values"]["channel"]
    assert channel["Portal"] == channel["Feedback Widget"] == "self_service"
    assert [channel[v] for v in ("Email", "Phone", "Chat", "Twitter")] == ["email", "phone", "chat", "social"]
    assert set(channel.values()) <= set(doc["value_sets"]["channel"])
    teams = tickets["values"]["team"]
    assert set(facts["groups"]) - set(teams) <= {g for g in facts["groups"] if re.fullmatch(SAFE_NAME, g)}
    assert all(re.fullmatch(SAFE_NAME, name) for name in teams.values()) and teams["Tier 1 Support"] == "Tier-1-Support"
    assert tickets["pseudonymise"] == ["customer_id"] and tickets["customer_names"] == "customer_name"
    assert tickets["mask_pii"] == ["remark"]
    assert set(tickets["allow_empty"]) == {"agent_id", "first_response_s"}  # the new, unassigned tickets
    assert "handle_s" in tickets["absent"] and "Resolution time (in hrs)" in text  # suggested, not mapped
    surveys = doc["sources"]["surveys"]
    assert surveys["from_source"] == "tickets"
    assert surveys["columns"] == {"Ticket ID": ["survey_id", "ticket_id"], "Survey results": "csat"}
    assert surveys["values"]["csat"] == {"Extremely satisfied": 5, "Satisfied": 4, "Neutral": 3, "Not satisfied": 2,
                                         "Extremely dissatisfied": 1}
    assert "Survey results" in surveys["rows_where"]


def test_the_unedited_hours_draft_ingests_its_export(hours_export, tmp_path):
    """Written to a config folder as it is, the draft archives the export: every row accounted for, the
    planted defects quarantined under their rule, durations in seconds, no customer e-mail or name."""
    path, facts = hours_export
    config = tmp_path / "config"
    map_export(path, out=config / "sources.yml")
    report = ingest(path.parent, tmp_path / "archive", config=config, key=b"k")
    tickets, surveys = report["sources"]["tickets"], report["sources"]["surveys"]
    for entry in (tickets, surveys):
        assert entry["raw"] == entry["archived"] + entry["quarantined"]
        assert entry["archived"] >= 0.95 * entry["raw"]
    assert tickets["raw"] == facts["rows"] and surveys["raw"] == facts["rated"]
    assert tickets["by_rule"] == {"time_order": 2, "duplicate_row": 2} and surveys["by_rule"] == {"duplicate_row": 1}
    archived = qa_archive.load("tickets", archive=tmp_path / "archive")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False).drop_duplicates("Ticket ID").set_index("Ticket ID")
    hours = pd.to_numeric(raw.loc[archived["ticket_id"], "First response time (in hrs)"], errors="coerce")
    assert np.allclose(archived["first_response_s"].to_numpy(dtype=float), hours.to_numpy() * 3600, equal_nan=True)
    assert archived["team"].str.fullmatch(SAFE_NAME).all() and archived["team"].nunique() == len(facts["groups"])
    assert set(archived["channel"]) == {"email", "self_service", "phone", "chat", "social"}
    assert archived["customer_id"].str.fullmatch(r"C[0-9a-f]{16}").all()
    assert archived["customer_id"].nunique() == len(facts["emails"])
    assert archived["resolved_at"].notna().sum() > 0.8 * len(archived)
    rated = qa_archive.load("surveys", archive=tmp_path / "archive")
    assert set(rated["csat"]) == {1, 2, 3, 4, 5}
    blob = "\n".join(frame.astype("string").fillna("").agg(" | ".join, axis=1).str.cat(sep="\n").lower()
                     for frame in (archived, rated))
    secrets = set(facts["emails"]) | {p["token"] for p in facts["pii"]}
    assert not [s for s in secrets if s.lower() in blob]
    assert not [n for n in facts["names"] if re.search(rf"\b{re.escape(n.lower())}\b", blob)]


@pytest.mark.parametrize("answers, scores", [
    (["Extremely satisfied", "Satisfied", "Neutral", "Not satisfied", "Extremely dissatisfied"], [5, 4, 3, 2, 1]),
    (["Very satisfied", "Somewhat satisfied", "Neither satisfied nor dissatisfied", "Somewhat dissatisfied",
      "Very dissatisfied"], [5, 4, 3, 2, 1]),
    (["Good", "Bad", "Offered", "Unoffered"], [5, 1, None, None]),
    (["Happy", "Neutral", "Unhappy"], [5, 3, 1]),
    (["Awesome", "Just Okay", "Not Good"], [5, 3, 1]),
    (["5 - Excellent", "4 - Good", "3 - Average", "2 - Poor", "1 - Terrible"], [5, 4, 3, 2, 1]),
    (["★★★★★", "★★★", "★"], [5, 3, 1]),
    (["非常满意", "满意", "一般", "不满意", "非常不满意"], [5, 4, 3, 2, 1]),
    (["Billing", "Technical issue"], [None, None]),
    (["Yes", "No"], [None, None]),
])
def test_worded_satisfaction_scales(answers, scores):
    scale = csat_scale(answers)
    assert [scale.get(a) for a in answers] == scores


def test_numeric_scores_and_the_key_from_values(tmp_path):
    """A 1-10 satisfaction score is rescaled to 1-5, a 0-10 one is NPS; without an id header the key is
    the most id-like unique column, never a repeating customer number."""
    path = tmp_path / "export.csv"
    path.write_text("Customer no,Reference,Opened,Satisfaction,Likely to recommend,Survey feedback\n" + "".join(
        f"{100 + i % 7},R-{9000 + i},2025-02-{i % 28 + 1:02d} 09:00,{i % 10 + 1},{i % 11},"
        f"{['Happy', 'Neutral', 'Unhappy'][i % 3]}\n" for i in range(60)), encoding="utf-8")
    cols = _by_column(profile_export(path))
    assert cols.loc["Reference", "guess"] == "ticket_id" and cols.loc["Customer no", "guess"] == "customer_id"
    assert cols.loc["Satisfaction", "guess"] == "csat" and cols.loc["Likely to recommend", "guess"] == "nps"
    doc, _ = _draft(path)
    surveys = doc["sources"]["surveys"]
    assert surveys["values"]["csat"] == {str(v): s for v, s in zip(range(1, 11), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])}
    assert surveys["columns"]["Likely to recommend"] == "nps"


def test_a_worded_scale_without_a_score_header_is_csat(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Ticket ID,Created at,How did we do\n" + "".join(
        f"T{i},2025-02-{i % 28 + 1:02d} 09:00,{['Happy', 'Neutral', 'Unhappy', ''][i % 4]}\n" for i in range(40)),
        encoding="utf-8")
    surveys = yaml.safe_load(draft_mapping(path))["sources"]["surveys"]
    assert surveys["columns"]["How did we do"] == "csat"
    assert surveys["values"]["csat"] == {"Happy": 5, "Neutral": 3, "Unhappy": 1}


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


def test_the_draft_starts_from_a_config_folders_value_sets(helpdesk):
    """With the value sets of a config folder, values already allowed there are kept as they are."""
    path, _ = helpdesk
    doc = yaml.safe_load(draft_mapping(path, config=kit_root() / "config" / "mappings" / "helpdesk"))
    assert doc["value_sets"]["priority"] == ["urgent", "high", "normal", "low"]
    priority = doc["sources"]["tickets"]["values"]["priority"]
    assert {"Urgent": "urgent", "Normal": "normal", "High": "high", "Low": "low"}.items() <= priority.items()
