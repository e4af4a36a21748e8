"""PII masking patterns and pseudonyms on hand-written text."""

from __future__ import annotations

import pandas as pd
import pytest

from qa_helpers.data.privacy import ID_TOKEN, NameMasker, mask_text, pseudonymise


@pytest.mark.parametrize("text, expected", [
    ("请回电13812345678", "请回电[PHONE]"),
    ("请回电+86 138-1234-5678", "请回电[PHONE]"),
    ("手机１３８１２３４５６７８", "手机[PHONE]"),            # full-width digits
    ("座机010-62345678联系", "座机[PHONE]联系"),
    ("座机010-1234-5678", "座机[PHONE]"),
    ("座机(010)12345678", "座机[PHONE]"),
    ("座机0755 8888 9999", "座机[PHONE]"),
    ("发邮件到zhang.wei@example.com", "发邮件到[EMAIL]"),
    ("身份证号11010519690823238X", "身份证号[ID_NUMBER]"),
    ("退款到卡号6222 1583 1402 8688 834", "退款到卡号[BANK_CARD]"),
    ("退款到卡号6222158314028688", "退款到卡号[BANK_CARD]"),
    ("我是王伟，投诉", "我是[NAME]，投诉"),
    ("客户CUST-0001234来电", f"客户{ID_TOKEN}来电"),
])
def test_masks(text, expected):
    masked = mask_text(pd.Series([text]), NameMasker(["王伟"]), NameMasker(["CUST-0001234"], token=ID_TOKEN))
    assert masked.iloc[0] == expected


@pytest.mark.parametrize("text", ["工单TK0000123，时长 3600 秒", "2025-03-04 09:12:33 处理", "评分 5 分", ""])
def test_ordinary_numbers_are_left_alone(text):
    assert mask_text(pd.Series([text])).iloc[0] == text


def test_pseudonyms_keep_missing_values_missing():
    out = pseudonymise(pd.Series(["a", None, "a", "b"], dtype="str"), b"key")
    assert out.iloc[0] == out.iloc[2] != out.iloc[3]
    assert pd.isna(out.iloc[1])


@pytest.mark.parametrize("key", [b"key", b"k" * 64, b"a much longer key than one block of sha256 " * 3])
def test_pseudonyms_are_rfc2104_hmac_sha256(key):
    """The HMAC is written out in SQL; Python's own hmac module is the reference."""
    import hashlib
    import hmac

    values = ["CUST-0001234", "客户甲", "", "x" * 200]
    expected = ["C" + hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:16] for v in values]
    assert pseudonymise(pd.Series(values, dtype="str"), key).tolist() == expected


def test_dictionary_input_gives_the_same_pseudonyms():
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(["b", "a", None, "b"])
    plain = pseudonymise(values, b"key")
    encoded = pseudonymise(pc.dictionary_encode(values), b"key")
    assert pa.types.is_dictionary(encoded.type)
    assert encoded.dictionary_decode().to_pylist() == plain.to_pylist()


def test_names_mask_only_where_a_name_begins_and_longest_first():
    masker = NameMasker(["王伟", "王伟华", "李四"])
    assert masker("王伟华和李四和王伟") == "[NAME]和[NAME]和[NAME]"
    assert masker("王五") == "王五"
