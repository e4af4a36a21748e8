"""PII masking patterns and pseudonyms on hand-written text."""

from __future__ import annotations

import pandas as pd
import pytest

from qa_helpers.data.privacy import (DEFAULT_PII_LOCALES, ID_TOKEN, PII_LOCALES, NameMasker, mask_text,
                                     name_variants, pii_locales, pseudonymise)

ALL_LOCALES = list(PII_LOCALES)


def masked(text: str, *maskers: NameMasker, locales=DEFAULT_PII_LOCALES) -> str:
    return mask_text(pd.Series([text]), *maskers, locales=locales).iloc[0]


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


# ------------------------------------------------------------------ locales

def test_locales_known_and_default():
    assert PII_LOCALES == ("cn", "intl", "us", "eu")
    assert DEFAULT_PII_LOCALES == ("cn", "intl")
    assert pii_locales(None) == DEFAULT_PII_LOCALES
    assert pii_locales("US") == ("us",)  # one name as a string, any case
    assert pii_locales([" eu", "cn", "cn"]) == ("cn", "eu")


@pytest.mark.parametrize("locales", [["cn", "fr"], "uk", ["CN", "mars", "xx"]])
def test_unknown_locale_is_refused_naming_the_known_ones(locales):
    with pytest.raises(ValueError, match=r"unknown PII locale.*known locales: cn, intl, us, eu"):
        mask_text(pd.Series(["x"]), locales=locales)


def test_unknown_locale_is_refused_even_for_empty_text():
    with pytest.raises(ValueError, match="'fr'"):
        mask_text(pd.Series([None, ""], dtype="str"), locales=["fr"])


@pytest.mark.parametrize("text, expected", [
    ("call +1 (555) 123-4567 today", "call [PHONE] today"),
    ("+44 20 7946 0958", "[PHONE]"),
    ("+44 (0)20 7946 0958", "[PHONE]"),
    ("Tel. +49 30 1234567.", "Tel. [PHONE]."),
    ("+49 30/1234567", "[PHONE]"),
    ("00 33 1 23 45 67 89", "[PHONE]"),
    ("0044 20 7946 0958", "[PHONE]"),
    ("+15551234567", "[PHONE]"),
    ("+33.1.23.45.67.89", "[PHONE]"),
    ("请回电+86 10 6234 5678", "请回电[PHONE]"),
    ("0086 13812345678", "[PHONE]"),               # cn alone left "0086 [PHONE]"
    ("+44 20 7946 0958 2025-03-04", "[PHONE] 2025-03-04"),  # stops within 15 digits
    ("电话＋４４ ２０ ７９４６ ０９５８", "电话[PHONE]"),  # full-width, read as ASCII under cn
])
def test_international_numbers_are_masked_by_default(text, expected):
    assert masked(text) == expected
    assert masked(text.translate(str.maketrans("＋４２０７９６５８", "+42079658")), locales="intl") == expected


@pytest.mark.parametrize("text", ["555-123-4567", "(555) 123-4567", "(555)123-4567", "555.123.4567", "555 123 4567",
                                  "1-800-555-0199", "1 (800) 555-0199", "1.800.555.0199"])
def test_north_american_numbers_are_masked_under_us(text):
    assert masked(f"call {text} now", locales=["us"]) == "call [PHONE] now"
    assert masked(f"请拨{text}", locales=ALL_LOCALES) == "请拨[PHONE]"
    assert masked(text) == text  # not a default locale: without a country code they look like other numbers


@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB29 NWBK 6016 1331 9268 19",
                                  "GB29NWBK60161331926819", "FR14 2004 1010 0505 0001 3M02 606"])
@pytest.mark.parametrize("locales", [["eu"], ["intl"], DEFAULT_PII_LOCALES, ALL_LOCALES])
def test_ibans_are_masked_under_eu_and_intl(iban, locales):
    assert masked(f"IBAN {iban} please", locales=locales) == "IBAN [IBAN] please"


def test_iban_ends_where_its_checksum_holds():
    assert masked("DE89370400440532013000 BANK", locales=["eu"]) == "[IBAN] BANK"
    assert masked("GB29 NWBK 6016 1331 9268 18", locales=["eu"]) == "GB29 NWBK 6016 1331 9268 18"  # bad checksum
    assert masked("DE89 3704 0044 0532 0130 00", locales=["cn"]) == "DE89 [BANK_CARD]"  # no IBAN under cn alone


# Things that look like numbers but are not PII: left as they are under every locale.
NOT_PII = [
    "2025-03-04 10:22:33", "2025-03-04T10:22:33+08:00", "2025/03/04 10:22", "2025.03.04", "10:22:33",
    "工单TK0000123", "TK-2025-000123", "ticket #20250304", "INC0012345",
    "¥1,234.50", "$1,299.00", "+1,234.50", "€ 1.234,50", "amount 1234.50 EUR", "共 12 345 678 元",
    "订单号12345678", "order 1234567", "order 123456", "order 00123456", "SKU 0049301234567",
    "评分 5 分", "1+1=2", "C++ 11 2023", "IP 192.168.100.1", "v1.2.3", "555-1234", "5551234567",
]


@pytest.mark.parametrize("text", NOT_PII)
@pytest.mark.parametrize("locales", [DEFAULT_PII_LOCALES, ALL_LOCALES, ["us"], ["intl"]])
def test_dates_ids_amounts_and_order_numbers_are_not_masked(text, locales):
    assert masked(text, locales=locales) == text
    sentence = f"客户于 {text} 来电 {text}."
    assert masked(sentence, locales=locales) == sentence


def test_locales_switch_patterns_on_and_off():
    text = "手机13812345678，座机010-62345678，身份证11010519690823238X，伦敦+44 20 7946 0958，纽约(555) 123-4567"
    assert masked(text, locales=["cn"]) == "手机[PHONE]，座机[PHONE]，身份证[ID_NUMBER]，伦敦+44 20 7946 0958，纽约(555) 123-4567"
    # Without cn an ID number is no ID number, but its first 16 digits still read as a card number.
    assert masked(text, locales=["intl"]) == ("手机13812345678，座机010-62345678，身份证[BANK_CARD]X，"
                                              "伦敦[PHONE]，纽约(555) 123-4567")
    assert masked(text, locales=["us"]) == ("手机13812345678，座机010-62345678，身份证[BANK_CARD]X，"
                                            "伦敦+44 20 7946 0958，纽约[PHONE]")
    assert masked(text, locales=ALL_LOCALES) == "手机[PHONE]，座机[PHONE]，身份证[ID_NUMBER]，伦敦[PHONE]，纽约[PHONE]"


def test_email_and_cards_whatever_the_locale():
    text = "mail zhang.wei@example.com card 6222 1583 1402 8688 834"
    for locales in (["cn"], ["intl"], ["us"], ["eu"]):
        assert masked(text, locales=locales) == "mail [EMAIL] card [BANK_CARD]"
    assert masked(text, locales=[]) == "mail [EMAIL] card 6222 1583 1402 8688 834"  # no locale: e-mail only


def test_full_width_is_read_as_ascii_only_under_cn():
    text = "手机１３８１２３４５６７８"
    assert masked(text, locales=["cn"]) == "手机[PHONE]"
    assert masked(text, locales=["intl", "us"]) == text


def test_missing_values_stay_missing_with_any_locale():
    out = mask_text(pd.Series(["+44 20 7946 0958", None, ""], dtype="str"), locales=ALL_LOCALES)
    assert out.iloc[0] == "[PHONE]" and pd.isna(out.iloc[1]) and out.iloc[2] == ""


# ------------------------------------------------------------------ names in a cased script

SMITH = NameMasker(["John Smith", "王伟", "Smith, Mary", "Jean-Luc Picard", "Hans Müller", "Kelly O'Brien"])


@pytest.mark.parametrize("text", ["John Smith", "JOHN SMITH", "john smith", "jOhN sMiTh", "Smith, John", "SMITH, JOHN",
                                  "Smith,John", "Smith John", "SMITH JOHN", "J. Smith", "j. SMITH"])
def test_full_names_match_in_any_case_and_order(text):
    assert SMITH(f"Spoke with {text} today") == "Spoke with [NAME] today"
    assert SMITH(f"客户{text}来电") == "客户[NAME]来电"


@pytest.mark.parametrize("text, expected", [
    ("MARY SMITH, again", "[NAME], again"),              # stored as "Smith, Mary"
    ("M. Smith wrote", "[NAME] wrote"),
    ("Picard, Jean-Luc.", "[NAME]."),
    ("HANS MÜLLER / müller, hans", "[NAME] / [NAME]"),
    ("kelly o\u2019brien, O'BRIEN KELLY", "[NAME], [NAME]"),
    ("John Smith's order", "[NAME]'s order"),
    ("我是王伟，John Smith的朋友", "我是[NAME]，[NAME]的朋友"),
])
def test_full_name_variants(text, expected):
    assert SMITH(text) == expected


@pytest.mark.parametrize("text", [
    "John called", "Mr Smith called", "JOHN", "smith",       # a first or last name alone
    "John Smithson", "Johnson", "xjohn smith", "john smith2",  # not whole words
    "J Smith", "John  Smith",                               # an initial needs its dot; one space between words
])
def test_single_names_and_parts_of_words_are_not_masked(text):
    assert SMITH(text) == text


def test_chinese_names_and_single_words_stay_exact():
    masker = NameMasker(["王伟", "Madonna", "CUST-0001234"])
    assert masker("王伟 Madonna CUST-0001234") == "[NAME] [NAME] [NAME]"
    assert masker("MADONNA madonna cust-0001234") == "MADONNA madonna cust-0001234"


def test_variants_can_be_turned_off():
    masker = NameMasker(["John Smith"], variants=False)
    assert masker("John Smith, JOHN SMITH, Smith, John") == "[NAME], JOHN SMITH, Smith, John"


def test_names_from_arrow_and_added_later():
    import pyarrow as pa

    masker = NameMasker(pa.chunked_array([["John Smith", "王伟"], ["Mr X"]]))
    masker.add(["Anna Kowalski"])
    assert masker("JOHN SMITH, 王伟, Mr X, kowalski, anna") == "[NAME], [NAME], [NAME], [NAME]"
    assert NameMasker() is not None and not NameMasker() and NameMasker(["Anna Kowalski"])


def test_name_variants():
    assert name_variants("John Smith") == {"john smith", "smith john", "smith, john", "smith,john", "j. smith",
                                           "john, smith", "john,smith", "s. john"}
    assert name_variants("Smith, John") == {"john smith", "smith john", "smith, john", "smith,john", "j. smith"}
    assert {"mary ann smith", "smith, mary ann", "m. smith", "ann smith, mary"} <= name_variants("Mary Ann Smith")
    for single in ("John", "王伟", "王 伟", "CUST 0001234", "J S", "Jo", ""):
        assert name_variants(single) == set()


def test_names_and_numbers_together():
    text = "Please call JOHN SMITH on +1 (555) 123-4567 or smith.john@example.com"
    out = mask_text(pd.Series([text]), SMITH)
    assert out.iloc[0] == "Please call [NAME] on [PHONE] or [EMAIL]"
