"""Bad raw input: a clear error naming file, row and column, or the rows quarantined with a reason.

Each test copies the small generated sample, damages one export the way real exports get
damaged, and ingests it with the kit's own source mapping.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from qa_helpers.cli import main
from qa_helpers.errors import SourceError
from qa_helpers.data.ingest import ingest
from qa_helpers.config import config_dir

TICKETS = "helpdesk_tickets_2025.csv"


@pytest.fixture
def raw(raw_dir, tmp_path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(raw_dir, target)
    return target


def _ingest(raw: Path, tmp_path: Path, config: Path | None = None) -> dict:
    return ingest(raw, tmp_path / "archive", config=config, key=b"k")


def _quarantine(tmp_path: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(tmp_path / "archive" / "quarantine" / f"{table}.parquet")


def _rewrite_tickets(raw: Path, edit) -> None:
    """Edit the tickets export as text lines (GB18030 in and out)."""
    path = raw / TICKETS
    lines = path.read_text(encoding="gb18030").split("\n")
    path.write_text("\n".join(edit(lines)), encoding="gb18030")


def test_wrong_encoding_is_named_with_the_likely_one(raw, tmp_path):
    # the helpdesk suddenly exports UTF-8 while the mapping says GB18030
    text = (raw / TICKETS).read_text(encoding="gb18030")
    (raw / TICKETS).write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as err:
        _ingest(raw, tmp_path)
    message = str(err.value)
    assert TICKETS in message and "row 1" in message and "looks like utf-8" in message
    assert not (tmp_path / "archive").exists()  # nothing half-written


def test_undecodable_bytes_name_the_row(raw, tmp_path):
    # roster saved as GB18030 while the mapping says UTF-8: the first Chinese byte fails
    text = (raw / "agents_roster.csv").read_text(encoding="utf-8-sig")
    (raw / "agents_roster.csv").write_bytes(text.encode("gb18030"))
    with pytest.raises(SourceError) as err:
        _ingest(raw, tmp_path)
    assert err.value.file.endswith("agents_roster.csv")
    assert err.value.row == 1
    assert "cannot be decoded as utf-8" in str(err.value) and "gb18030" in str(err.value)


def test_unknown_encoding_name_in_the_mapping(raw, tmp_path):
    config = yaml.safe_load((config_dir() / "sources.yml").read_text(encoding="utf-8"))
    config["sources"]["field_visits"]["encoding"] = "klingon-8"
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SourceError, match="unknown encoding 'klingon-8'"):
        _ingest(raw, tmp_path, config=path)


def test_missing_required_column(raw, tmp_path):
    frame = pd.read_csv(raw / TICKETS, encoding="gb18030", dtype=str, keep_default_na=False)
    frame.drop(columns=["客服工号"]).to_csv(raw / TICKETS, index=False, encoding="gb18030")
    with pytest.raises(SourceError) as err:
        _ingest(raw, tmp_path)
    assert err.value.column == "客服工号" and err.value.row == 1 and err.value.file.endswith(TICKETS)
    assert "agent_id" in str(err.value)


def test_wrong_types_are_quarantined_with_column_and_value(raw, tmp_path):
    frame = pd.read_csv(raw / TICKETS, encoding="gb18030", dtype=str, keep_default_na=False)
    clean_before = _ingest(raw, tmp_path)["sources"]["tickets"]["archived"]
    target = frame.index[frame["工单编号"].str.startswith("TK")][5]
    frame.loc[target, "首次响应时长(秒)"] = "abc"
    frame.to_csv(raw / TICKETS, index=False, encoding="gb18030")
    report = _ingest(raw, tmp_path)
    q = _quarantine(tmp_path, "tickets")
    hit = q[q["row"] == target + 2]
    assert hit["rule"].tolist() == ["malformed_value"]
    assert hit["column"].tolist() == ["首次响应时长(秒)"]
    assert "'abc'" in hit["detail"].iloc[0]
    assert report["sources"]["tickets"]["archived"] == clean_before - 1


def test_empty_file(raw, tmp_path):
    (raw / "field_visits.csv").write_bytes(b"")
    with pytest.raises(SourceError, match="empty") as err:
        _ingest(raw, tmp_path)
    assert err.value.file.endswith("field_visits.csv")


def test_header_only_file_is_ingested_as_zero_rows_with_a_note(raw, tmp_path):
    header = (raw / "field_visits.csv").read_text(encoding="utf-8").splitlines()[0]
    (raw / "field_visits.csv").write_text(header + "\n", encoding="utf-8")
    entry = _ingest(raw, tmp_path)["sources"]["field_visits"]
    assert (entry["raw"], entry["archived"], entry["quarantined"]) == (0, 0, 0)
    assert any("header only" in w for w in entry["warnings"])


def test_xlsx_extra_sheets_are_ignored_with_a_note(report):
    assert any("ignored sheet" in w and "填写说明" in w for w in report["sources"]["surveys"]["warnings"])


def test_xlsx_without_the_mapped_sheet(raw, tmp_path):
    frame = pd.read_excel(raw / "survey_export.xlsx", sheet_name="问卷结果", dtype=str)
    with pd.ExcelWriter(raw / "survey_export.xlsx") as writer:
        frame.to_excel(writer, sheet_name="Sheet1", index=False)
    with pytest.raises(SourceError, match="no sheet named '问卷结果'.*Sheet1"):
        _ingest(raw, tmp_path)


def test_mixed_date_formats(raw, tmp_path, archive):
    """Formats the mapping lists are all read; an ambiguous day/month form is quarantined."""
    archived = set(pd.read_parquet(archive / "tickets", columns=["ticket_id"])["ticket_id"])
    lines = (raw / TICKETS).read_text(encoding="gb18030").split("\n")
    clean = [i for i in range(1, 50) if lines[i].split(",")[0] in archived][:2]
    iso_row, ambiguous_row = clean
    fields = lines[iso_row].split(",")
    stamp = pd.Timestamp(fields[1].replace("/", "-"))
    lines[iso_row] = ",".join([fields[0], stamp.strftime("%Y-%m-%d %H:%M"), *fields[2:]])
    fields = lines[ambiguous_row].split(",")
    lines[ambiguous_row] = ",".join([fields[0], "04/03/2025 10:00", *fields[2:]])
    (raw / TICKETS).write_text("\n".join(lines), encoding="gb18030")
    _ingest(raw, tmp_path)
    q = _quarantine(tmp_path, "tickets")
    assert iso_row + 1 not in set(q["row"])
    hit = q[q["row"] == ambiguous_row + 1]
    assert hit["rule"].tolist() == ["malformed_value"] and "04/03/2025" in hit["detail"].iloc[0]
    tickets = pd.read_parquet(tmp_path / "archive" / "tickets").set_index("ticket_id")
    assert tickets.loc[lines[iso_row].split(",")[0], "created_at"] == stamp.floor("min")


def test_utf8_byte_order_mark_is_accepted(raw, tmp_path, report):
    assert (raw / "agents_roster.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # the sample has one
    text = (raw / "field_visits.csv").read_text(encoding="utf-8")
    (raw / "field_visits.csv").write_text("\ufeff" + text, encoding="utf-8")
    entry = _ingest(raw, tmp_path)["sources"]
    assert entry["agents"]["archived"] == report["sources"]["agents"]["archived"]
    assert entry["field_visits"]["archived"] == report["sources"]["field_visits"]["archived"]


def test_truncated_last_line_is_quarantined(raw, tmp_path):
    data = (raw / TICKETS).read_bytes().rstrip(b"\n")
    last_row = data.count(b"\n") + 1
    cut = data[: data.rfind(b",", 0, len(data) - 40)]  # the export stopped mid-row
    (raw / TICKETS).write_bytes(cut)
    entry = _ingest(raw, tmp_path)["sources"]["tickets"]
    q = _quarantine(tmp_path, "tickets")
    hit = q[q["row"] == last_row]
    assert hit["rule"].tolist() == ["unparseable_row"]
    assert "truncated" in hit["detail"].iloc[0]
    assert entry["raw"] == entry["archived"] + entry["quarantined"]
    assert any("does not end with a line break" in w for w in entry["warnings"])


def test_row_with_extra_fields_is_quarantined(raw, tmp_path):
    _rewrite_tickets(raw, lambda lines: [*lines[:10], lines[10] + ",surplus", *lines[11:]])
    q = _quarantine(tmp_path, "tickets") if _ingest(raw, tmp_path) else None
    hit = q[q["row"] == 11]
    assert hit["rule"].tolist() == ["unparseable_row"]
    assert "17 fields where the header has 16" in hit["detail"].iloc[0]


def test_broken_json_line_is_quarantined(raw, tmp_path):
    path = raw / "complaints.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1][:25]
    path.write_text("\n".join(lines), encoding="utf-8")
    entry = _ingest(raw, tmp_path)["sources"]["complaints"]
    q = _quarantine(tmp_path, "complaints")
    hit = q[q["row"] == len(lines)]
    assert hit["rule"].tolist() == ["unparseable_row"] and "not valid JSON" in hit["detail"].iloc[0]
    assert entry["raw"] == entry["archived"] + entry["quarantined"]


def test_cli_prints_one_clear_error_and_exits_2(raw, tmp_path, capsys):
    (raw / "field_visits.csv").write_bytes(b"")
    code = main(["ingest", "--raw", str(raw), "--archive", str(tmp_path / "archive")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("qakit ingest: error: file ") and "field_visits.csv" in err
    assert "Traceback" not in err


def test_missing_source_file_is_named(raw, tmp_path):
    (raw / "qa_reviews.csv").unlink()
    with pytest.raises(SourceError, match="no file matches the pattern 'qa_reviews\\*.csv'"):
        _ingest(raw, tmp_path)


def test_quarantined_record_keeps_the_raw_values(raw, tmp_path):
    frame = pd.read_csv(raw / TICKETS, encoding="gb18030", dtype=str, keep_default_na=False)
    frame.loc[3, "渠道"] = "信鸽"
    frame.to_csv(raw / TICKETS, index=False, encoding="gb18030")
    _ingest(raw, tmp_path)
    q = _quarantine(tmp_path, "tickets")
    hit = q[q["row"] == 5]
    assert hit["rule"].tolist() == ["invalid_value"] and hit["column"].tolist() == ["渠道"]
    assert json.loads(hit["record"].iloc[0])["渠道"] == "信鸽"


def test_header_only_table_still_loads_as_empty(raw, tmp_path):
    from qa_helpers.data.archive import load

    header = (raw / "field_visits.csv").read_text(encoding="utf-8").splitlines()[0]
    (raw / "field_visits.csv").write_text(header + "\n", encoding="utf-8")
    _ingest(raw, tmp_path)
    for unit in ("ALL", "FS-1"):
        visits = load("field_visits", unit, "2025-Q3", archive=tmp_path / "archive")
        assert visits.empty and {"visit_id", "team", "arrived_at"} <= set(visits.columns)


def test_json_line_separator_inside_a_string_is_not_a_new_record(raw, tmp_path, report):
    path = raw / "complaints.jsonl"
    lines = path.read_text(encoding="utf-8").split("\n")
    record = json.loads(lines[0])
    record["content"] = "第一行\u2028第二行"
    lines[0] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines), encoding="utf-8")
    entry = _ingest(raw, tmp_path)["sources"]["complaints"]
    assert entry["raw"] == report["sources"]["complaints"]["raw"]
    assert "unparseable_row" not in entry["by_rule"]


def test_archive_target_that_is_not_an_archive_is_refused(raw, tmp_path):
    other = tmp_path / "documents"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    with pytest.raises(SourceError, match="not an archive"):
        ingest(raw, other, key=b"k")
    assert (other / "keep.txt").exists()
    with pytest.raises(SourceError, match="contains the raw exports"):
        ingest(raw, raw.parent, key=b"k")
    assert any(raw.iterdir())


def test_row_numbers_are_lines_in_the_file_when_a_field_spans_lines(raw, tmp_path):
    """A quoted remark with line breaks makes one record of several lines; the rows after it are
    still reported at the line an editor shows them on."""
    def edit(lines):
        fields = lines[5].split(",")
        fields[-1] = '"第一行\n第二行\n第三行"'  # the remark of the record on line 6 now spans lines 6-8
        bad = lines[20] + ",surplus"             # its original line 21 is line 23 in the new file
        broken = lines[30].split(",")
        broken[2] = "信鸽"                        # an unknown channel on original line 31, now 33
        return [*lines[:5], ",".join(fields), *lines[6:20], bad, *lines[21:30], ",".join(broken), *lines[31:]]

    _rewrite_tickets(raw, edit)
    entry = _ingest(raw, tmp_path)["sources"]["tickets"]
    q = _quarantine(tmp_path, "tickets")
    text = (raw / TICKETS).read_text(encoding="gb18030").split("\n")
    assert q.loc[q["row"] == 23, "rule"].tolist() == ["unparseable_row"] and text[22].endswith(",surplus")
    invalid = q[q["row"] == 33]
    assert invalid["rule"].tolist() == ["invalid_value"] and "信鸽" in text[32]
    assert json.loads(invalid["record"].iloc[0])["渠道"] == "信鸽"
    assert entry["raw"] == entry["archived"] + entry["quarantined"]


def test_spaces_around_numbers_and_times_are_not_errors(raw, tmp_path, archive):
    clean = set(pd.read_parquet(archive / "tickets", columns=["ticket_id"])["ticket_id"])
    lines = (raw / TICKETS).read_text(encoding="gb18030").split("\n")
    at = next(i for i in range(1, len(lines)) if lines[i].split(",")[0] in clean)  # a row ingest archives
    original = lines[at].split(",")

    def edit(lines):
        fields = list(original)
        fields[1] = "\u3000" + fields[1] + "\t"   # created_at with a full-width space and a tab
        fields[9] = " " + fields[9] + " "          # first response in seconds
        return [*lines[:at], ",".join(fields), *lines[at + 1:]]

    _rewrite_tickets(raw, edit)
    _ingest(raw, tmp_path)
    tickets = pd.read_parquet(tmp_path / "archive" / "tickets")
    row = tickets[tickets["ticket_id"] == original[0]]
    assert row["created_at"].iloc[0] == pd.Timestamp(original[1].replace("/", "-"))
    assert row["first_response_s"].iloc[0] == float(original[9])
