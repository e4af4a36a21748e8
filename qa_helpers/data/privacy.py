"""Pseudonymisation of customer identifiers and masking of PII in free text (DESIGN.md §8)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

KEY_ENV = "QAKIT_PSEUDONYM_KEY"
KEY_FILE_ENV = "QAKIT_KEY_FILE"

PII_LOCALES: tuple[str, ...] = ("cn", "intl", "us", "eu")
"""The locales :func:`mask_text` knows: which phone, ID and account-number forms it masks.

``cn``: mainland mobiles and landlines, resident ID numbers, full-width digits read as ASCII;
``intl``: numbers written with their country code (``+44 20 7946 0958``, ``00 33 1 23 45 67 89``)
and IBANs; ``us``: North-American numbers without it (``(555) 123-4567``, ``1-800-555-0199``);
``eu``: IBANs only (checksum verified). E-mail addresses are masked whatever the locales, and
bank-card numbers under any locale (cards are issued worldwide).
"""
DEFAULT_PII_LOCALES: tuple[str, ...] = ("cn", "intl")
PHONE_TOKEN = "[PHONE]"


def _iban(match: re.Match) -> str:
    """``[IBAN]`` for the longest head of the match whose ISO 7064 mod-97 checksum holds.

    The pattern may run on into a following upper-case word (``DE89… BANK``): the number
    then ends at an earlier space.
    """
    text = match.group()
    for end in sorted({len(text), *(i for i, c in enumerate(text) if c == " ")}, reverse=True):
        compact = text[:end].replace(" ", "")
        if 15 <= len(compact) <= 34:
            digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
            if int(digits) % 97 == 1:
                return "[IBAN]" + text[end:]
    return text


_DIGIT_RUN = re.compile(r"\d+")
_HAS_DIGIT = re.compile(r"\d")
_SEPARATOR = re.compile(r"[ ./()-]")


def _intl_phone(match: re.Match) -> str:
    """``[PHONE]`` for a number with a country code: 8 to 15 digits after ``+`` or ``00`` (E.164).

    The pattern may run on into the digits of a following number or date: the phone number
    then ends at the last digit group that keeps it within 15 digits.
    """
    text = match.group()
    dialled = text.startswith("00")  # the "00" is dialled, not part of the number
    if dialled and not _SEPARATOR.search(text, 2):
        return text  # 0049301234567 unseparated may as well be an account or order number
    if text[2 if dialled else 1:].lstrip(" (")[:1] == "0":
        return text  # a country code never starts with 0
    count, end = (-2 if dialled else 0), None
    for run in _DIGIT_RUN.finditer(text):
        count += len(run.group())
        if count > 15:
            break
        if count >= 8:
            end = run.end()
    return text if end is None else PHONE_TOKEN + text[end:]


@dataclass(frozen=True)
class PiiPattern:
    """One PII form: the locales that mask it (empty: every locale), its token and its pattern.

    ``check`` (optional) is called with each match and returns its replacement, so that what a
    regular expression cannot say (a checksum, a digit count) decides; the match is left as it
    was when it returns the matched text. ``needs`` is a string every match contains (``"@"``)
    or ``None`` for a digit: text without it is not searched at all.
    """

    locales: frozenset[str]
    token: str
    pattern: re.Pattern
    check: Callable[[re.Match], str] | None = None
    needs: str | None = None

    @property
    def replacement(self) -> str | Callable[[re.Match], str]:
        return self.check or self.token


_ALL = frozenset()
_CARD_LOCALES = frozenset(PII_LOCALES)
# Order matters: the longer, more specific numbers are masked before the shorter patterns
# could claim a piece of them; numbers with a country code before the national forms, so
# "+44 020 7946 0958" does not lose only its national part.
PII_PATTERNS: list[PiiPattern] = [
    # The look-behind starts a match only where the address can begin: without it a long run
    # of letters before an "@" was scanned again from each of its characters (90 k: 13 s).
    PiiPattern(_ALL, "[EMAIL]", re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
               needs="@"),
    # IBAN is an ISO standard used far beyond Europe: masked under "intl" too.
    PiiPattern(frozenset({"intl", "eu"}), "[IBAN]", re.compile(
        r"(?<![0-9A-Za-z])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![0-9A-Za-z])"), _iban),
    PiiPattern(frozenset({"cn"}), "[ID_NUMBER]", re.compile(
        r"(?<![0-9])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[0-9Xx](?![0-9])")),
    PiiPattern(_CARD_LOCALES, "[BANK_CARD]", re.compile(
        r"(?<![0-9])\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?![0-9])")),
    # "+" or "00", then digit groups with one to three separators between them: the groups
    # cannot split a digit run two ways, so a long run of digits cannot make the search slow.
    PiiPattern(frozenset({"intl"}), PHONE_TOKEN, re.compile(
        r"(?<![0-9A-Za-z.,+])(?:\+|00)[ (]?\d+(?:[ ./()-]{1,3}\d+){0,7}"), _intl_phone),
    PiiPattern(frozenset({"cn"}), PHONE_TOKEN, re.compile(
        r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?![0-9])")),
    PiiPattern(frozenset({"cn"}), PHONE_TOKEN, re.compile(
        r"(?<![0-9])(?:\(0\d{2,3}\)|0\d{2,3})[- ]?\d{3,4}[- ]?\d{4}(?![0-9])")),
    # North-American numbers need their separators: ten bare digits are as often an order number.
    PiiPattern(frozenset({"us"}), PHONE_TOKEN, re.compile(
        r"(?<![0-9A-Za-z+])(?<![0-9][-.])(?:1[-. ]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[-. ])\d{3}[-. ]\d{4}"
        r"(?![0-9])(?![-.][0-9])")),
]
NAME_TOKEN = "[NAME]"
ID_TOKEN = "[CUSTOMER_ID]"
# Full-width digits, letters and the signs numbers and addresses use, as typed on Chinese keyboards.
HALF_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                            **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
                            **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
                            "（": "(", "）": ")", "－": "-", "．": ".", "＠": "@", "＋": "+", "　": " "})


def pii_locales(locales: str | Iterable[str] | None = DEFAULT_PII_LOCALES) -> tuple[str, ...]:
    """The locales named, checked and in the order of :data:`PII_LOCALES`.

    Parameters
    ----------
    locales : str or iterable of str, optional
        Locale names (any case); one name may be given as a string. ``None`` means the default
        (``cn`` and ``intl``); an empty list masks e-mail addresses only.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        For a name not in :data:`PII_LOCALES`.

    Examples
    --------
    >>> pii_locales(["US", "cn"])
    ('cn', 'us')
    """
    if locales is None:
        locales = DEFAULT_PII_LOCALES
    if isinstance(locales, str):
        locales = [locales]
    names = [str(name).strip().lower() for name in locales]
    unknown = sorted(set(names) - set(PII_LOCALES))
    if unknown:
        raise ValueError(f"unknown PII locale(s) {', '.join(map(repr, unknown))}; "
                         f"known locales: {', '.join(PII_LOCALES)}")
    return tuple(name for name in PII_LOCALES if name in names)


@lru_cache(maxsize=None)
def _patterns_for(locales: tuple[str, ...]) -> list[tuple[str | None, re.Pattern, str | Callable]]:
    """(what a match needs, pattern, replacement) of the forms these locales mask, in order."""
    return [(p.needs, p.pattern, p.replacement) for p in PII_PATTERNS if not p.locales or p.locales & set(locales)]


def key_path(archive: str | os.PathLike) -> Path:
    """Where the pseudonymisation key file lives: ``$QAKIT_KEY_FILE`` or beside the archive."""
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    from qa_helpers.data import storage

    if storage.is_remote(archive):  # never in the bucket: on the machine of whoever ingests
        return storage.default_key_path(archive)
    archive = Path(archive).absolute()
    # beside the archive link, not beside the generation it points to: one key for every generation
    return archive.parent.resolve() / f"{archive.name}.pseudonym.key"


def load_key(archive: str | os.PathLike) -> bytes:
    """The secret key for pseudonyms: ``$QAKIT_PSEUDONYM_KEY``, else the key file (made once).

    The key file sits beside the archive folder, not in it, and never under ``reports/``;
    the key itself is never printed or logged.
    """
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode("utf-8")
    path = key_path(archive)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def pseudonymise(values: pd.Series | pa.Array | pa.ChunkedArray, key: bytes, prefix: str = "C"):
    """Replace identifiers by a keyed hash (HMAC-SHA256, 16 hex digits).

    The same identifier and key always give the same pseudonym, so customers can still be
    counted and followed across tables; without the key the mapping cannot be redone.
    Each distinct identifier is hashed once, by DuckDB on every core (three million distinct
    customers take a few seconds, against ten in a Python loop); the construction is RFC 2104
    HMAC written out in SQL, and a test checks it against :func:`hmac.digest`.

    Parameters
    ----------
    values : Series or pyarrow array of str
        Identifiers; missing values stay missing. A dictionary array keeps its dictionary:
        each entry is hashed.
    key : bytes
        The secret key (:func:`load_key`).
    prefix : str
        Put before the hex digits, so a pseudonym is never mistaken for a raw id.

    Returns
    -------
    Series or pyarrow array
        Same kind and length as ``values`` (a dictionary array for a dictionary array).

    Examples
    --------
    >>> pseudonymise(pd.Series(["CUST-1", "CUST-1", None]), b"k").tolist()[:2]
    ['Cfd8a3f3c86ffa160', 'Cfd8a3f3c86ffa160']
    """
    from qa_helpers.data.columns import connect

    if isinstance(values, pd.Series):
        out = pseudonymise(pa.array(values.astype("str"), pa.string()), key, prefix)
        return pd.Series(out.to_pandas(), index=values.index, dtype=values.dtype)
    if isinstance(values, pa.ChunkedArray):  # one dictionary for the whole column, not one per chunk
        values = values.combine_chunks()
    dictionary = pa.types.is_dictionary(values.type)
    encoded = values if dictionary else pc.dictionary_encode(values.cast(pa.string()))
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    uniques = pa.table({"v": encoded.dictionary})  # noqa: F841 -- read by DuckDB by name
    digests = connect().sql(
        "SELECT $prefix || left(sha256($outer || unhex(sha256($inner || encode(v)))), 16) AS p FROM uniques",
        params={"prefix": prefix, "inner": bytes(b ^ 0x36 for b in block),
                "outer": bytes(b ^ 0x5C for b in block)}).to_arrow_table().column("p").combine_chunks()
    digests = digests.cast(pa.string())
    return pa.DictionaryArray.from_arrays(encoded.indices, digests) if dictionary else digests.take(encoded.indices)


# Letters of the cased scripts customer names are written in besides Chinese (Latin with its
# accented forms, Greek, Cyrillic): their names are matched whatever the case, as whole words.
_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\u0370-\u03ff\u0400-\u04ff"
_WORD_START = re.compile(rf"(?<![0-9{_LETTERS}])[{_LETTERS}]+")
_WORD_CHAR = re.compile(rf"[0-9{_LETTERS}]")
_NAME_WORD = re.compile(rf"[{_LETTERS}]+(?:['.-][{_LETTERS}]+)*\.?")
# RE2, for Arrow: which names may be full names (a cased letter first, a space or comma later).
# Anchored, it gives up at the first character of a Chinese name: 3 M names take 0.2 s.
_MAYBE_FULL_NAME = r"^[\p{Latin}\p{Greek}\p{Cyrillic}][^\s,]*[\s,]"
_MAX_NAME_WORDS = 6


def _fold(text: str) -> str:
    """Lower case with every character kept in its place (``İ`` would lower to two code points)."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c.lower() if len(c.lower()) == 1 else c.lower()[0] for c in text)
    if not low.isascii():  # Turkish dotless i, typographic apostrophe, no-break space
        low = low.replace("\u0131", "i").replace("\u2019", "'").replace("\xa0", " ")
    return low


def name_variants(name: str) -> set[str]:
    """The lower-case ways a Latin-script full name is written: both orders, comma, initial.

    ``John Smith`` gives ``john smith``, ``smith john``, ``smith, john``, ``smith,john``,
    ``j. smith`` (and, the order of a name without a comma being unknown, ``john, smith`` and
    ``s. john``). A name with a comma (``Smith, John``) is read as last name first. Several
    words (``Mary Ann Smith``) are split at each place into given and family names. Never a
    single word: a first name alone would mask too much ordinary text.

    Returns
    -------
    set of str
        Empty when ``name`` is not a full name of at least two words in a cased script (a Chinese
        name, a single word, an id with digits): those are matched exactly.

    Examples
    --------
    >>> sorted(name_variants("Smith, John"))
    ['j. smith', 'john smith', 'smith john', 'smith, john', 'smith,john']
    """
    name = _fold(name.strip())
    parts = [p.split() for p in name.split(",")]
    words = [w for p in parts for w in p]
    if (len(parts) > 2 or not 2 <= len(words) <= _MAX_NAME_WORDS or not all(parts)
            or not all(_NAME_WORD.fullmatch(w) for w in words)
            or sum(c.isalpha() for c in name) < 4 or max(sum(c.isalpha() for c in w) for w in words) < 2):
        return set()
    if len(parts) == 2:  # "Last, First"
        splits = [(parts[1], parts[0])]
    else:
        splits = [(words[:j], words[j:]) for j in range(1, len(words))]
        splits += [(family, given) for given, family in splits]
    variants = set()
    for given, family in splits:
        g, f = " ".join(given), " ".join(family)
        variants |= {f"{g} {f}", f"{f} {g}", f"{f}, {g}", f"{f},{g}"}
        if any(sum(c.isalpha() for c in w) >= 2 for w in family):
            variants.add(f"{given[0][0]}. {f}")
    return variants


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


class NameMasker:
    """Masks known customer names in text by dictionary look-up of short substrings.

    A regular expression with tens of thousands of alternatives is slow; names are short, so
    at each place a name could begin (its first character is a known first character) the
    substrings of the names' lengths are looked up in a set: fast and exact.

    Full names in a cased script (Latin, Greek, Cyrillic; two words or more) are matched
    whatever their case and in their usual variants (:func:`name_variants`: ``JOHN SMITH``,
    ``Smith, John``, ``Smith John``, ``J. Smith``), as whole words (``John Smithson`` is not
    John Smith). The text is lower-cased and only where a word begins with the first word of
    a variant are that word's variant lengths looked up. Chinese names, single words and ids
    are matched exactly, as they are written.

    Parameters
    ----------
    names : iterable of str or pyarrow array, optional
        The names (or ids) to mask.
    token : str
        What a name is replaced by.
    variants : bool
        Whether full names in a cased script are matched in any case and in their variants;
        ``False`` matches every name exactly.
    """

    def __init__(self, names=(), token: str = NAME_TOKEN, variants: bool = True) -> None:
        self.names: set[str] = set()  # matched exactly
        self.lengths: list[int] = []
        self._firsts = ""
        self.starts = re.compile("(?!)")
        self.full_names: set[str] = set()  # lower-case variants of full names, matched as words
        self._full_lengths: dict[str, list[int]] = {}  # first word of a variant -> its lengths, longest first
        self.token = token
        self.variants = variants
        self.add(names)

    def __bool__(self) -> bool:
        return bool(self.names or self.full_names)

    def add(self, names) -> None:
        """Add names to mask (blank and one-character entries are ignored)."""
        if not isinstance(names, (pa.Array, pa.ChunkedArray)):
            names = pa.array([n for n in names if isinstance(n, str)], pa.string())
        names = pc.utf8_trim_whitespace(names)
        names = names.filter(pc.greater_equal(pc.utf8_length(names), 2))
        if self.variants:  # only names in a cased script with a space or comma can be full names
            maybe = pc.match_substring_regex(names, _MAYBE_FULL_NAME)
            full, exact = set(), []
            for name in names.filter(maybe).to_pylist():
                found = name_variants(name)
                if found:
                    full |= found
                else:  # "Mr X", an id with a space: exactly, as before
                    exact.append(name)
            self._add_full(full)
            names = pa.concat_arrays([*_chunks(names.filter(pc.invert(maybe))), pa.array(exact, names.type)])
        self.names.update(names.to_pylist())
        self.lengths = sorted({*self.lengths, *pc.unique(pc.utf8_length(names)).to_pylist()}, reverse=True)
        firsts = set(pc.unique(pc.utf8_slice_codeunits(names, 0, 1)).to_pylist()) | set(self._firsts)
        self._firsts = "".join(sorted(firsts))
        self.starts = re.compile("[" + re.escape(self._firsts) + "]" if firsts else "(?!)")

    def _add_full(self, variants: set[str]) -> None:
        new = variants - self.full_names
        self.full_names |= new
        lengths: dict[str, set[int]] = {}
        for variant in new:
            first = _WORD_START.match(variant).group()
            if len(first) == 1 and variant[1:2] == ".":
                first += "."  # an initial: looked up only where the text has "J."
            lengths.setdefault(first, set()).add(len(variant))
        for first, found in lengths.items():
            self._full_lengths[first] = sorted(found | set(self._full_lengths.get(first, ())), reverse=True)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self.full_names:  # full names first: a single-word name must not split one
            text = self._mask_full(text)
        if not self.names:
            return text
        out, done = [], 0
        for start in self.starts.finditer(text):  # only where a name can begin
            i = start.start()
            if i < done:
                continue
            for n in self.lengths:
                if text[i:i + n] in self.names:
                    out += [text[done:i], self.token]
                    done = i + n
                    break
        return "".join(out) + text[done:] if out else text

    def _mask_full(self, text: str) -> str:
        low = _fold(text)
        out, done = [], 0
        get = self._full_lengths.get
        for word in _WORD_START.finditer(low):  # only where a word begins
            i = word.start()
            if i < done:
                continue
            first = word.group()
            lengths = get(first, ())
            if len(first) == 1 and low[i + 1:i + 2] == ".":  # an initial
                lengths = [*get(first + ".", ()), *lengths]
            for n in lengths:
                if low[i:i + n] in self.full_names and not _WORD_CHAR.match(low, i + n):
                    out += [text[done:i], self.token]
                    done = i + n
                    break
        return "".join(out) + text[done:] if out else text


def mask_text(values: pd.Series, *maskers: NameMasker,
              locales: str | Iterable[str] | None = DEFAULT_PII_LOCALES) -> pd.Series:
    """Mask phone numbers, e-mails, ID, card and account numbers, and known names and ids.

    Which number forms are masked depends on ``locales`` (:data:`PII_LOCALES`). E-mail
    addresses are always masked, bank-card numbers under any locale. Under ``cn`` full-width
    digits and signs are read as their ASCII forms first, so ``１３８…`` is a phone number too.

    Parameters
    ----------
    values : Series of str
        Free text; missing values stay missing.
    *maskers : NameMasker
        Dictionaries of known strings: customer names (``[NAME]``), raw customer ids
        (``[CUSTOMER_ID]``).
    locales : str or iterable of str, optional
        ``cn``: mainland mobiles (``138 1234 5678``, ``+86 …``), landlines (``010-62345678``,
        ``(010)12345678``), resident ID numbers (``[ID_NUMBER]``); ``intl``: numbers with a
        country code, E.164 (``+1 (555) 123-4567``, ``+44 20 7946 0958``, ``00 33 1 23 45 67 89``)
        and IBANs whose checksum holds (``[IBAN]``); ``us``: North-American numbers written with
        separators (``555-123-4567``, ``(555) 123-4567``, ``555.123.4567``, ``1-800-555-0199``);
        ``eu``: IBANs only. Default ``cn`` and ``intl``.

    Returns
    -------
    Series
        The text with each PII match replaced by a token such as ``[PHONE]``.

    Raises
    ------
    ValueError
        For an unknown locale.

    Examples
    --------
    >>> mask_text(pd.Series(["请回电13812345678"])).tolist()
    ['请回电[PHONE]']
    >>> mask_text(pd.Series(["call (555) 123-4567"]), locales=["us"]).tolist()
    ['call [PHONE]']
    """
    locales = pii_locales(locales)
    patterns = _patterns_for(locales)
    half_width = "cn" in locales
    has_digit = _HAS_DIGIT.search

    def mask(value: str) -> str:
        # One pass per value, with a cheap test before each pattern: most text has no "@" and
        # much no digit at all.
        if half_width:
            value = value.translate(HALF_WIDTH)
        digit = None
        for needs, pattern, replacement in patterns:
            if needs is None:
                if digit is None:
                    digit = has_digit(value) is not None
                if not digit:
                    continue
            elif needs not in value:
                continue
            value = pattern.sub(replacement, value)
        return value

    text = values.astype("string")
    present = text.notna() & (text.str.len() > 0)
    if not present.any():
        return values
    masked = text[present].map(mask)
    for masker in maskers:
        if masker:
            masked = masked.map(masker)
    out = text.copy()
    out[present] = masked
    return out.astype(values.dtype)
