"""Pseudonymisation of customer identifiers and masking of PII in free text (DESIGN.md §8)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

KEY_ENV = "QAKIT_PSEUDONYM_KEY"
KEY_FILE_ENV = "QAKIT_KEY_FILE"

# Order matters: the longer, more specific numbers are masked before the shorter patterns
# could claim a piece of them.
PII_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("[EMAIL]", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    ("[ID_NUMBER]", re.compile(r"(?<![0-9])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[0-9Xx](?![0-9])")),
    ("[BANK_CARD]", re.compile(r"(?<![0-9])\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?![0-9])")),
    ("[PHONE]", re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?![0-9])")),
    ("[PHONE]", re.compile(r"(?<![0-9])(?:\(0\d{2,3}\)|0\d{2,3})[- ]?\d{3,4}[- ]?\d{4}(?![0-9])")),
]
NAME_TOKEN = "[NAME]"
ID_TOKEN = "[CUSTOMER_ID]"
# Full-width digits, letters and the signs numbers and addresses use, as typed on Chinese keyboards.
HALF_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                            **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
                            **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
                            "（": "(", "）": ")", "－": "-", "．": ".", "＠": "@", "＋": "+", "　": " "})


def key_path(archive: str | os.PathLike) -> Path:
    """Where the pseudonymisation key file lives: ``$QAKIT_KEY_FILE`` or beside the archive."""
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    archive = Path(archive).resolve()
    return archive.parent / f"{archive.name}.pseudonym.key"


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


class NameMasker:
    """Masks known customer names in text by dictionary look-up of short substrings.

    A regular expression with tens of thousands of alternatives is slow; names are short, so
    at each place a name could begin (its first character is a known first character) the
    substrings of the names' lengths are looked up in a set: fast and exact.
    """

    def __init__(self, names=(), token: str = NAME_TOKEN) -> None:
        self.names: set[str] = set()
        self.lengths: list[int] = []
        self._firsts = ""
        self.starts = re.compile("(?!)")
        self.token = token
        self.add(names)

    def add(self, names) -> None:
        """Add names to mask (blank and one-character entries are ignored)."""
        if not isinstance(names, (pa.Array, pa.ChunkedArray)):
            names = pa.array([n for n in names if isinstance(n, str)], pa.string())
        names = pc.utf8_trim_whitespace(names)
        names = names.filter(pc.greater_equal(pc.utf8_length(names), 2))
        self.names.update(names.to_pylist())
        self.lengths = sorted({*self.lengths, *pc.unique(pc.utf8_length(names)).to_pylist()}, reverse=True)
        firsts = set(pc.unique(pc.utf8_slice_codeunits(names, 0, 1)).to_pylist()) | set(self._firsts)
        self._firsts = "".join(sorted(firsts))
        self.starts = re.compile("[" + re.escape(self._firsts) + "]" if firsts else "(?!)")

    def __call__(self, text: str) -> str:
        if not self.names or not text:
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


def mask_text(values: pd.Series, *maskers: NameMasker) -> pd.Series:
    """Mask phone numbers, e-mails, resident ID and bank-card numbers, and known names and ids.

    Full-width digits and signs are read as their ASCII forms first, so ``１３８…`` is a phone
    number too.

    Parameters
    ----------
    values : Series of str
        Free text; missing values stay missing.
    *maskers : NameMasker
        Dictionaries of known strings: customer names (``[NAME]``), raw customer ids
        (``[CUSTOMER_ID]``).

    Returns
    -------
    Series
        The text with each PII match replaced by a token such as ``[PHONE]``.

    Examples
    --------
    >>> mask_text(pd.Series(["请回电13812345678"])).tolist()
    ['请回电[PHONE]']
    """
    text = values.astype("string")
    present = text.notna() & (text.str.len() > 0)
    if not present.any():
        return values
    masked = text[present].map(lambda v: v.translate(HALF_WIDTH))
    for token, pattern in PII_PATTERNS:
        masked = masked.str.replace(pattern, token, regex=True)
    for masker in maskers:
        if masker.names:
            masked = masked.map(masker)
    out = text.copy()
    out[present] = masked
    return out.astype(values.dtype)
