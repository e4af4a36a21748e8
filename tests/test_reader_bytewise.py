"""The GB18030 CSV reader splits raw bytes into fields and decodes only non-ASCII fields (issue 17):
it must read exactly what pyarrow's own decoding of the whole file reads, and fail the same way."""

from __future__ import annotations

import pyarrow as pa
import pytest

from qa_helpers.data import readers
from qa_helpers.errors import SourceError


def _both(path, encoding="gb18030", delimiter=","):
    fast = readers.read_csv(path, encoding, delimiter)
    original = readers._bytewise
    readers._bytewise = lambda *_: False
    try:
        slow = readers.read_csv(path, encoding, delimiter)
    finally:
        readers._bytewise = original
    return fast, slow


def _plain(table: pa.Table) -> dict:
    return {name: table[name].to_pylist() for name in table.column_names}


def test_bytewise_reads_what_decoding_reads(tmp_path):
    rows = ["工单编号,渠道,客户姓名,创建时间,备注,联系人"]
    for i in range(2500):  # enough rows for the channel to be read as a dictionary
        channel = ["电话", "在线", "邮件"][i % 3]
        created = f"2025年1月{i % 28 + 1}日" if i % 500 == 7 else f"2025/01/{i % 28 + 1:02d} 10:00:00"
        remark = '"第一行\n第二行, 带逗号"' if i == 42 else ("客户王小明来电 13812345678" if i % 100 == 3 else "")
        contact = "Li Lei" if i % 7 == 0 else f"联系人{i % 400}"  # repeats, but too many to be read as a dictionary
        rows.append(f"TK{i:06d},{channel},顾客{i},{created},{remark},{contact}")
    path = tmp_path / "tickets.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode("gb18030"))
    fast, slow = _both(path)
    assert readers._bytewise("gb18030", ",")
    assert pa.types.is_dictionary(fast.rows["渠道"].type)  # few distinct Chinese values: decoded once each
    assert pa.types.is_dictionary(fast.rows["联系人"].type)  # repeating values: decoded once each too
    assert not pa.types.is_dictionary(fast.rows["客户姓名"].type)  # every value distinct: decoded one by one
    assert _plain(fast.rows) == _plain(slow.rows)
    assert fast.rows["备注"][42].as_py() == "第一行\n第二行, 带逗号"
    assert fast.rows["_row"].to_pylist()[42:44] == [44, 46]  # row 44 spans two lines
    assert fast.rows["创建时间"][7].as_py() == "2025年1月8日"
    assert fast.sha256 == slow.sha256 and fast.warnings == slow.warnings


def test_bytewise_falls_back_for_rows_it_cannot_split(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_bytes("编号,渠道\nA1,电话\nA2,在线,多余\nA3,邮件\n".encode("gb18030"))
    fast, slow = _both(path)
    assert _plain(fast.rows) == _plain(slow.rows) == {"编号": ["A1", "A3"], "渠道": ["电话", "邮件"],
                                                      "_file": ["tickets.csv"] * 2, "_row": [2, 4]}
    assert fast.unparseable["_row"].tolist() == [3]
    assert fast.unparseable["record"].tolist() == ["A2,在线,多余"]


def test_bytewise_undecodable_byte_names_the_row(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_bytes("编号,渠道\nA1,电话\n".encode("gb18030") + b"A2,\x81\xff\n")
    with pytest.raises(SourceError) as error:
        readers.read_csv(path, "gb18030")
    assert error.value.row == 3 and "cannot be decoded as gb18030" in str(error.value)


def test_bytewise_only_for_safe_encodings_and_delimiters():
    assert readers._bytewise("GBK", ";") and readers._bytewise("gb2312", "\t")
    assert not readers._bytewise("gb18030", "|")  # 0x7C can be the second byte of a GBK character
    assert not readers._bytewise("utf-16", ",") and not readers._bytewise("no-such-codec", ",")
