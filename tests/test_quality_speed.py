"""The faster paths of measures.quality give the numbers of the plain ones (issue 17)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from qa_helpers.measures import quality


def _old_sorted(found: np.ndarray) -> np.ndarray:
    return np.sort(np.ma.getdata(found)[~np.ma.getmaskarray(found)])


@pytest.mark.parametrize("found", [
    np.array([5, 3, 9, 3], dtype="uint64"),
    np.ma.masked_array(np.array([5, 0, 9, 3], dtype="uint64"), mask=[False, True, False, False]),
    np.ma.masked_array(np.array([5, 1, 2], dtype="uint64"), mask=False),
    np.array([], dtype="uint64"),
])
def test_sorted_hashes_are_the_sorted_non_null_values(found):
    expected = _old_sorted(found.copy())
    got = quality._sorted_hashes(found)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_sorted_hashes_copies_a_read_only_array():
    found = np.array([3, 1, 2], dtype="uint64")
    found.flags.writeable = False
    assert quality._sorted_hashes(found).tolist() == [1, 2, 3] and found.tolist() == [3, 1, 2]


@pytest.mark.parametrize("keys", [
    ["a", "b", "c"], ["a", "b", "a", None, None, "c", "c", "c"], [None, None], [], ["x", "", "", "y"],
])
def test_duplicate_keys_in_duckdb_match_pandas(keys):
    frame = pd.DataFrame({"k": pd.Series(keys, dtype=object)})
    con = duckdb.connect()
    con.register("keys_frame", frame)
    got = quality.duplicate_keys("(SELECT * FROM keys_frame)", "k", "t", connection=con)
    expected = quality.duplicate_keys(frame, "k", "t")
    assert int(got["n"][0]) == int(expected["n"][0])
    assert int(got["rows_with_repeated_key"][0]) == int(expected["rows_with_repeated_key"][0])


def test_known_tickets_links_text_and_integer_ids():
    con = duckdb.connect()
    con.execute("CREATE TABLE ids AS SELECT * FROM (VALUES (1), (2), (3)) t(ticket_id)")
    con.execute("CREATE TABLE s AS SELECT * FROM (VALUES ('1'), ('4'), (''), (NULL)) t(ticket_id)")
    con.execute("CREATE TABLE v AS SELECT * FROM (VALUES (2), (2), (5)) t(ticket_id)")
    known = quality.known_tickets({"surveys": "(SELECT * FROM s)", "field_visits": "(SELECT * FROM v)"},
                                  "(SELECT * FROM ids)", connection=con)
    rows = [quality.linkage(f"(SELECT * FROM {t})", known, name, connection=con).iloc[0]
            for t, name in (("s", "surveys"), ("v", "field_visits"))]
    assert [(r["rows"], r["with_ticket_id"], r["linked"]) for r in rows] == [(4, 2, 1), (3, 3, 2)]
    direct = quality.linkage("(SELECT * FROM s)", "(SELECT * FROM ids)", "surveys", connection=con).iloc[0]
    assert (direct["rows"], direct["with_ticket_id"], direct["linked"]) == (4, 2, 1)
