"""Words in free text: segmentation, automatic keywords and a dissatisfaction signal.

Chinese is segmented with jieba (its bundled dictionary and IDF table: nothing is downloaded),
English with a plain word pattern; jieba's tables are read from a DuckDB file built from them once
(:func:`_lookup`), only for the words a report segments. Everything here runs on masked text: mask tokens such as
``[PHONE]`` or ``[NAME]`` are removed before segmenting, so they never become a keyword.

The dissatisfaction signal is a rule-based lexicon the kit ships in ``config/topics.yml``
(``sentiment:``), with negation handling: "满意" is positive, "不满意" negative, "不差" neutral.
No model is trained or downloaded; the README gives its agreement with the planted tone and with
the CSAT score of the same survey on the sample.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from qa_helpers.config import config_file, read_yaml
from qa_helpers.errors import ConfigError
from qa_helpers.voc.topics import keep_bounded, kept_for, topic_mentions

MASK_TOKEN = re.compile(r"\[[A-Z][A-Z_]*\]")
ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
CJK = re.compile(r"[\u3400-\u9fff]")
SIGNALS = ("dissatisfied", "neutral", "satisfied")
CACHE_ENV = "QAKIT_CACHE"


def _cache_file() -> str | None:
    """Where jieba keeps its parsed dictionary (about 9 MB; loads in 0.5 s instead of 1.2 s): the
    folder named by ``$QAKIT_CACHE``, else the temporary folder; ``None`` (no cache) when not writable."""
    folder = Path(os.environ.get(CACHE_ENV) or tempfile.gettempdir())
    if not (folder.is_dir() and os.access(folder, os.W_OK)):
        return None
    return str(folder / f"qakit-jieba-{os.getuid() if hasattr(os, 'getuid') else 0}.cache")


def config_locales(config: str | os.PathLike | None = None) -> tuple[str, ...]:
    """The ``pii_locales`` of the config folder's ``sources.yml`` (the kit's default when it has none):
    free text shown in a report is masked again with the same number forms ingest masked.

    Parameters
    ----------
    config : path-like, optional
        The config folder (or its ``sources.yml``).

    Returns
    -------
    tuple of str
    """
    from qa_helpers.data.privacy import DEFAULT_PII_LOCALES, pii_locales

    named = Path(config) if config else None
    file = named if named is not None and (named.is_file() or named.suffix) else config_file("sources.yml", config)
    # only this key, read as load_sources reads it: checking the whole file builds the table schemas
    # (importing pandera, about 1 s), which the run's preflight has done and a report never needs
    doc = read_yaml(file) if file.is_file() else None
    if not isinstance(doc, dict) or "pii_locales" not in doc:
        return DEFAULT_PII_LOCALES
    try:
        return pii_locales(doc["pii_locales"])
    except ValueError as exc:
        raise ConfigError(f"{file}: pii_locales: {exc}") from None


@lru_cache(maxsize=1)
def tokenizer():
    """jieba's tokenizer with its whole dictionary, initialised once and quietly (no start-up lines in a
    report): what :func:`_build_lookup` reads once per installation of jieba; segmenting uses :func:`_words`.

    Returns
    -------
    jieba.Tokenizer
        With jieba's bundled dictionary; its cache is a per-user file (see :func:`_cache_file`).
    """
    import jieba

    jieba.setLogLevel(logging.CRITICAL)  # "Building prefix dict...", or a cache it could not write
    tok = jieba.Tokenizer()
    cache = _cache_file()
    if cache is None:
        tok.tmp_dir = None
        tok.cache_file = os.devnull  # nothing to read there: built in memory, the failed dump not logged
    else:
        tok.cache_file = cache
    tok.initialize()
    return tok


LOOKUP_VERSION = 2  # bump when the lookup's tables change (2: jieba's word-tag table)


def _lookup_file() -> str | None:
    """Where the kit keeps jieba's tables as a DuckDB file (:func:`_lookup`), beside jieba's cache."""
    cache = _cache_file()
    return None if cache is None else cache[: -len(".cache")] + f"-lookup{LOOKUP_VERSION}.duckdb"


def _jieba_signature() -> str:
    """jieba's version and its bundled dictionary and IDF files (size, time): a lookup built from others is stale."""
    import jieba

    folder = Path(jieba.__file__).parent
    files = [folder / jieba.DEFAULT_DICT_NAME, folder / "analyse" / "idf.txt"]
    return " ".join([jieba.__version__, *(f"{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)])


def _build_lookup(target: str | None):
    """jieba's prefix dictionary, IDF table and keyword stop words, as jieba itself loaded them, written to
    a DuckDB file at ``target`` (in memory when ``None``): paid once per installation of jieba."""
    import duckdb
    import jieba.analyse

    tok, tfidf = tokenizer(), jieba.analyse.default_tfidf
    temporary = None
    if target is not None:
        try:  # a name no other process (nor a build killed earlier) holds; DuckDB creates the file itself
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target) or ".", suffix=".tmp")
            os.close(handle)
            os.unlink(temporary)
        except OSError:
            return _build_lookup(None)
    try:
        return _write_lookup(duckdb.connect(temporary or ":memory:"), tok, tfidf, temporary, target)
    except (OSError, duckdb.Error):
        if temporary is None:
            raise
        for leftover in (temporary, f"{temporary}.wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        return _build_lookup(None)  # a full disk, a folder gone: this process keeps the tables in memory


def _write_lookup(con, tok, tfidf, temporary: str | None, target: str | None):
    """Writes the tables through ``con`` (at ``temporary``, then moved to ``target``, or in memory)."""
    import duckdb

    freq = pd.DataFrame({"word": list(tok.FREQ), "freq": np.fromiter(tok.FREQ.values(), dtype="int64")})
    idf = pd.DataFrame({"word": list(tfidf.idf_freq), "idf": np.fromiter(tfidf.idf_freq.values(), dtype="float64")})
    tags = _posseg().dt.word_tag_tab  # the default tagger's table, as importing jieba.posseg parses it
    tag = pd.DataFrame({"word": list(tags), "tag": list(tags.values())}, dtype=object)
    con.execute("CREATE TABLE freq AS SELECT * FROM freq")
    con.execute("CREATE TABLE idf AS SELECT * FROM idf")
    con.execute("CREATE TABLE tag AS SELECT * FROM tag")
    con.execute("CREATE TABLE meta AS SELECT ? AS signature, ?::BIGINT AS total, ?::DOUBLE AS median_idf, "
                "?::INTEGER AS longest, ?::VARCHAR[] AS stop_words",
                [_jieba_signature(), tok.total, tfidf.median_idf, max(map(len, tok.FREQ)), sorted(tfidf.stop_words)])
    if temporary is None:
        return con
    con.close()
    os.replace(temporary, target)
    return duckdb.connect(target, read_only=True)


@lru_cache(maxsize=1)
def _lookup():
    """jieba's tables as a read-only DuckDB connection (:func:`_build_lookup`), built when missing or stale.

    A report segments a few thousand distinct texts: looking up only their substrings here replaces
    parsing jieba's 500,000-word dictionary (about 1 s), its IDF table and its stop words (0.5 s more)."""
    import duckdb

    file = _lookup_file()
    if file is not None and os.path.isfile(file):
        try:
            con = duckdb.connect(file, read_only=True)
            if con.execute("SELECT signature FROM meta").fetchone()[0] == _jieba_signature():
                return con
            con.close()
        except duckdb.Error:  # a file another version wrote: built again
            pass
    return _build_lookup(file)


@lru_cache(maxsize=1)
def _meta() -> dict:
    names = ["total", "median_idf", "longest", "stop_words"]
    return dict(zip(names, _lookup().execute(f"SELECT {', '.join(names)} FROM meta").fetchone()))


@lru_cache(maxsize=1)
def _words():
    """A jieba tokenizer whose prefix dictionary holds only the entries :func:`_ensure` looked up: jieba
    consults its dictionary only for substrings of the block it cuts, so a block whose substrings were
    looked up is cut exactly as with the whole dictionary (``tests/test_voc.py`` checks it)."""
    import jieba

    jieba.setLogLevel(logging.CRITICAL)
    tok = jieba.Tokenizer()
    tok.FREQ, tok.total, tok.initialized = {}, _meta()["total"], True
    tok.looked_up = set()  # the strings whose substrings are in FREQ (when in jieba's dictionary)
    return tok


LOOKUP_CHUNK = 500_000  # substrings per lookup query: memory stays bounded however long the texts


def _ensure(strings) -> None:
    """Looks up every substring (up to jieba's longest word) of the strings not looked up yet, in queries of
    at most ``LOOKUP_CHUNK`` substrings."""
    tok = _words()
    new = {s for s in strings if s and s not in tok.looked_up}
    if not new:
        return
    longest = _meta()["longest"]
    con = _lookup().cursor()
    wanted: set[str] = set()
    for number, text in enumerate(new, 1):
        wanted.update(text[i:j] for i in range(len(text)) for j in range(i + 1, min(len(text), i + longest) + 1))
        if len(wanted) >= LOOKUP_CHUNK or number == len(new):
            con.register("wanted", pd.DataFrame({"word": list(wanted)}))
            tok.FREQ.update(con.execute("SELECT word, freq FROM freq SEMI JOIN wanted USING (word)").fetchall())
            con.unregister("wanted")
            wanted.clear()
    if len(tok.looked_up) > CUT_CACHE_BLOCKS:  # bounded as the cut blocks are (FREQ by jieba's dictionary)
        tok.looked_up.clear()
    tok.looked_up |= new


def _han_blocks(texts) -> set[str]:
    """The blocks jieba cuts with its dictionary (CJK, letters and digits) of each text, mask tokens blanked."""
    import jieba

    return {block for text_ in texts for block in jieba.re_han_default.split(MASK_TOKEN.sub(" ", text_ or ""))
            if block and jieba.re_han_default.match(block)}


def prepare(texts) -> None:
    """Looks up, in one query, what jieba's dictionary says about the texts' words before they are
    segmented one by one (else one query per new block)."""
    _ensure(_han_blocks(texts))


# bounded: a warm batch kernel lives through many reports, and real comments, unlike the sample's
# recurring sentences, are mostly distinct (a year of them would otherwise stay in memory)
CUT_CACHE_BLOCKS = 1 << 16


@lru_cache(maxsize=CUT_CACHE_BLOCKS)
def _cut_block(block: str) -> tuple[str, ...]:
    _ensure(_han_blocks([block]))
    return tuple(_words().cut(block))


def segment(text: str) -> list[str]:
    """jieba's segmentation of one text with mask tokens blanked, as ``tokenizer().cut`` gives it.

    jieba cuts each run of CJK characters, letters and digits (its ``re_han_default`` blocks) on its
    own, so the text is split the same way and each distinct block is cut once per process: comments
    are made of a few hundred recurring sentences, and a report segments the same ones for the signal,
    the reviews and the keywords.

    Parameters
    ----------
    text : str
        Masked free text.

    Returns
    -------
    list of str
        The words, spaces and punctuation included.
    """
    import jieba

    clean = MASK_TOKEN.sub(" ", text or "")
    return [word for block in jieba.re_han_default.split(clean) if block for word in _cut_block(block)]


def tokens(text: str) -> list[str]:
    """Words of one text: jieba's segmentation for Chinese, lower-case words for English, no
    punctuation, spaces or mask tokens.

    Parameters
    ----------
    text : str
        Masked free text.

    Returns
    -------
    list of str
    """
    out = []
    for word in segment(text):
        word = word.strip()
        if not word:
            continue
        if CJK.search(word):
            out.append(word)
        elif ENGLISH_WORD.fullmatch(word):
            out.append(word.lower())
    return out


# ------------------------------------------------------------------ lexicon


def load_lexicon(path: str | os.PathLike | None = None) -> dict[str, set[str]]:
    """The sentiment lexicon and stop words of the topic dictionary file.

    Parameters
    ----------
    path : path-like, optional
        ``topics.yml`` or a config folder holding one (as :func:`~qa_helpers.voc.topics.load_topics`).

    Returns
    -------
    dict
        ``negative, positive, negators, degree, stop_words``: sets of words (zh and en together,
        English lower-case).

    Raises
    ------
    ConfigError
        Naming the file and the list at fault.
    """
    file = Path(path) if path and not Path(path).is_dir() else config_file("topics.yml", path)
    doc = read_yaml(file) or {}
    sentiment = doc.get("sentiment") or {}
    if not isinstance(sentiment, dict):
        raise ConfigError(f"{file}: sentiment: expected a mapping of word lists")
    out = {}
    for name, where in [(n, f"sentiment.{n}") for n in ("negative", "positive", "negators", "degree")] + [
            ("stop_words", "stop_words")]:
        lists = (doc.get("stop_words") if name == "stop_words" else sentiment.get(name)) or {}
        if not isinstance(lists, dict) or set(lists) - {"zh", "en"}:
            raise ConfigError(f"{file}: {where}: expected {{zh: [...], en: [...]}}")
        words = set()
        for lang, values in lists.items():
            if not isinstance(values, list) or not all(isinstance(w, str) and w.strip() for w in values):
                raise ConfigError(f"{file}: {where}.{lang}: expected a list of words")
            words |= {w.strip().lower() for w in values}
        out[name] = words
    if not (out["negative"] and out["positive"]):
        raise ConfigError(f"{file}: sentiment: needs negative and positive words")
    return out


def _polarity(words: list[str], lexicon: dict[str, set[str]]) -> int:
    """Positive minus negative words; a word within two tokens after a negator (degree words allowed
    between) counts reversed if positive and not at all if negative."""
    score = 0
    for i, word in enumerate(words):
        sign = 1 if word in lexicon["positive"] else -1 if word in lexicon["negative"] else 0
        if not sign:
            continue
        before = [w for w in words[max(0, i - 3):i] if w not in lexicon["degree"]][-2:]
        if any(w in lexicon["negators"] for w in before):
            sign = -1 if sign > 0 else 0
        score += sign
    return score


POLARITY_TEXTS = 1 << 17  # distinct texts whose polarity a process keeps per lexicon
_POLARITY: dict[tuple, dict[str, int]] = {}  # lexicon -> text -> :func:`_polarity` of its tokens


def _lexicon_key(lexicon: dict[str, set[str]]) -> tuple:
    """What :func:`_polarity` reads of a lexicon."""
    return tuple(frozenset(lexicon[name]) for name in ("positive", "negative", "negators", "degree"))


def dissatisfaction(texts: pd.Series, topics: pd.DataFrame, lexicon: dict[str, set[str]],
                    mentions: pd.DataFrame | None = None) -> pd.DataFrame:
    """A rule-based dissatisfaction signal for each text.

    Parameters
    ----------
    texts : Series of str
        Masked free text (null or empty for none).
    topics : DataFrame
        From :func:`~qa_helpers.voc.topics.load_topics`: a problem-type mention counts as one
        negative word, a praise mention (a topic that is not a problem type) as one positive word.
    lexicon : dict
        From :func:`load_lexicon`.
    mentions : DataFrame, optional
        ``topic_mentions(texts, topics)`` when already known (the texts were tagged:
        :func:`~qa_helpers.voc.analysis.topic_columns`), aligned with ``texts``; else matched here.

    Returns
    -------
    DataFrame
        Same index as ``texts``: ``score`` (int; positive minus negative) and ``signal``
        (``dissatisfied`` below 0, ``satisfied`` above, ``neutral`` at 0 or without text).
    """
    text = texts.astype("string").fillna("")
    mentions = topic_mentions(text, topics) if mentions is None else mentions.loc[texts.index]
    problem = mentions[topics.topic[topics.problem_type].tolist()].sum(axis=1)
    praise = mentions[topics.topic[~topics.problem_type].tolist()].sum(axis=1)
    # built as int64: ``map`` over an empty string Series keeps the string dtype
    codes, distinct = pd.factorize(text)  # each distinct text is segmented once (per process: :data:`_POLARITY`)
    known = kept_for(_POLARITY, _lexicon_key(lexicon))
    new = [t for t in distinct if t not in known]
    if new:
        prepare(new)
    fresh = {t: _polarity(tokens(t), lexicon) if t else 0 for t in new}
    polarity = np.array([fresh[t] if t in fresh else known[t] for t in distinct], dtype="int64")
    keep_bounded(known, fresh, POLARITY_TEXTS)  # bounded, as the cut blocks are
    words = pd.Series(polarity[codes] if len(codes) else polarity[:0], index=text.index, dtype="int64")
    score = (words + praise - problem).astype(int)
    signal = pd.Series("neutral", index=texts.index, dtype=object)
    signal[score < 0], signal[score > 0] = "dissatisfied", "satisfied"
    return pd.DataFrame({"score": score, "signal": signal}, index=texts.index)


# ------------------------------------------------------------------ automatic keywords


def _idf(words: list[str]) -> dict[str, float]:
    """jieba's IDF (``jieba.analyse.default_tfidf.idf_freq``) of the words its table holds, from :func:`_lookup`."""
    con = _lookup().cursor()
    con.register("wanted", pd.DataFrame({"word": words}, dtype=object))
    return dict(con.execute("SELECT word, idf FROM idf SEMI JOIN wanted USING (word)").fetchall())


def _weighted_tags(repeats: pd.Series, top: int) -> list[str]:
    """jieba's TF-IDF top words (``TFIDF.extract_tags``: its bundled IDF table and stop words, from
    :func:`_lookup`) of the texts joined by new lines, each distinct text segmented once and weighted by how
    often it occurs (``repeats``: text -> count, in order of first occurrence): the same words in the same
    order as extracting from the joined texts, without segmenting a repeated text again (jieba segments
    each line on its own)."""
    meta = _meta()
    stop_words = set(meta["stop_words"])
    prepare(repeats.index)
    freq: dict[str, float] = {}
    for text_, n in repeats.items():
        for word in segment(text_):
            if len(word.strip()) < 2 or word.lower() in stop_words:
                continue
            freq[word] = freq.get(word, 0.0) + float(n)
    total = sum(freq.values())
    idf = _idf(list(freq))
    for word in freq:
        freq[word] *= idf.get(word, meta["median_idf"]) / total
    return sorted(freq, key=freq.__getitem__, reverse=True)[:top]


def _posseg():
    """``jieba.posseg``, imported without parsing jieba's dictionary for its default tagger's word-tag table
    (0.3 s, where a report tags a few dozen words: :func:`_tagger` reads theirs from :func:`_lookup`).

    Importing the module builds that tagger (``jieba.posseg.dt``), which parses the table at once; here it
    is built on an empty table, and ``dt`` reads the real one the first time anything asks for it, so
    ``jieba.posseg`` works as ever for any other caller. Already imported: as it is. The patch of
    ``jieba.Tokenizer`` lasts for the import only; it must run in the notebook's thread, never in a
    :mod:`qa_helpers.report.background` job (a tokenizer initialised meanwhile would read an empty table)."""
    import io
    import sys

    import jieba

    if "jieba.posseg" in sys.modules:
        return sys.modules["jieba.posseg"]
    real = jieba.Tokenizer.get_dict_file
    jieba.Tokenizer.get_dict_file = lambda self: io.BytesIO(b"")
    try:
        import jieba.posseg as posseg
    finally:
        jieba.Tokenizer.get_dict_file = real

    class _TableOnFirstUse(posseg.POSTokenizer):
        def __getattr__(self, name):
            if name == "word_tag_tab":  # not parsed yet: parsed now, as POSTokenizer(jieba.dt) would have
                self.load_word_tag(self.tokenizer.get_dict_file())
                return self.__dict__["word_tag_tab"]
            return super().__getattr__(name)

    del posseg.dt.word_tag_tab
    posseg.dt.__class__ = _TableOnFirstUse
    return posseg


@lru_cache(maxsize=1)
def _tagger():
    """jieba's part-of-speech tagger on the kit's tokenizer (:func:`_words`: only the words looked up) with
    only the word tags looked up (:func:`_ensure_tags`), so :func:`_names_a_person` looks a word up first:
    the tagger consults its dictionary and tag table only for substrings of the text it cuts. The tags
    are those of jieba's default tagger (the same bundled dictionary), read from :func:`_lookup`: parsing
    its 350,000 lines cost about 0.3 s, twice that when ``POSTokenizer(tokenizer())`` parsed them again."""
    tagger = object.__new__(_posseg().POSTokenizer)
    tagger.tokenizer, tagger.word_tag_tab = _words(), {}
    tagger.looked_up = set()  # the strings whose substrings' tags are in word_tag_tab (when jieba has one)
    return tagger


def _ensure_tags(strings) -> None:
    """Looks up, in one query, the word tags of every substring of the strings not looked up yet."""
    tagger = _tagger()
    new = {s for s in strings if s and s not in tagger.looked_up}
    if not new:
        return
    wanted = {text_[i:j] for text_ in new for i in range(len(text_)) for j in range(i + 1, len(text_) + 1)}
    con = _lookup().cursor()
    con.register("wanted", pd.DataFrame({"word": list(wanted)}, dtype=object))
    tagger.word_tag_tab.update(con.execute("SELECT word, tag FROM tag SEMI JOIN wanted USING (word)").fetchall())
    con.unregister("wanted")
    tagger.looked_up |= new


def _names_a_person(word: str) -> bool:
    """Whether jieba's part-of-speech tagger reads the word, or a part of it, as a person's name (``nr``,
    ``nrfg``, ``nrt``: 小王, 张伟, 张伟帮). Tagged word by word (the candidates only: cheap); it errs
    towards names (卡顿 reads as a transliterated one), as a report must not show one."""
    _ensure([word])  # the tagger cuts within the word: its substrings are all it consults
    _ensure_tags([word])
    return any(pair.flag.startswith("nr") for pair in _tagger().cut(word))


def missed_keywords(texts: pd.Series, topics: pd.DataFrame, lexicon: dict[str, set[str]],
                    top: int = 10, min_texts: int = 3, locales=None, mentions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Words that stand out in the texts no topic of the dictionary matched (jieba TF-IDF).

    Candidates are jieba's top TF-IDF words over those texts (its bundled IDF table), English words
    of three letters or more, minus stop words, sentiment words, words jieba tags as person names,
    any word the PII masking would change, and any word that is, or is part of, a dictionary keyword;
    each is kept when at least ``min_texts`` texts contain it.

    Parameters
    ----------
    texts : Series of str
        Masked free text.
    topics : DataFrame
        From :func:`~qa_helpers.voc.topics.load_topics`.
    lexicon : dict
        From :func:`load_lexicon` (stop words and sentiment words are left out).
    top : int
        At most this many keywords.
    min_texts : int
        Fewest texts a keyword must appear in.
    locales : str or iterable of str, optional
        The config's ``pii_locales`` (:func:`config_locales`); the kit's default without.
    mentions : DataFrame, optional
        As for :func:`dissatisfaction`: the texts' topics when already known.

    Returns
    -------
    DataFrame
        ``keyword, texts, share`` (of the unmatched texts), most frequent first; ``attrs["unmatched"]``
        holds how many texts matched no topic.
    """
    text = texts.astype("string").dropna()
    text = text[text.str.strip() != ""]
    found = topic_mentions(text, topics) if mentions is None else mentions.loc[text.index]
    unmatched = text[~found.any(axis=1).to_numpy()] if len(text) else text
    columns = ["keyword", "texts", "share"]
    if unmatched.empty:
        out = pd.DataFrame(columns=columns)
        out.attrs["unmatched"] = 0
        return out
    known = {w.lower() for words in topics.keywords_zh.tolist() + topics.keywords_en.tolist() for w in words}
    skip = lexicon["stop_words"] | lexicon["negative"] | lexicon["positive"] | lexicon["negators"] | lexicon["degree"]
    from qa_helpers.data.privacy import DEFAULT_PII_LOCALES, mask_text

    codes, distinct = pd.factorize(unmatched)  # each distinct text is segmented once, counted as often as it occurs
    repeats = pd.Series(np.bincount(codes, minlength=len(distinct)), index=pd.Index(distinct, dtype=object))
    prepare(repeats.index)
    counts = Counter()  # texts containing each word, counted once per text
    for text_, n in repeats.items():
        for word in set(tokens(text_)):
            counts[word] += int(n)
    candidates = [w.lower() for w in _weighted_tags(repeats, 5 * top) if w.lower() not in skip]
    candidates += sorted({w for w in counts if ENGLISH_WORD.fullmatch(w) and len(w) >= 3})
    _ensure(candidates)  # what the tagger consults for every candidate, in one query each
    _ensure_tags(candidates)

    def kept(word: str) -> bool:
        return (word not in skip and not word.isdigit() and len(word) >= 2
                and not any(word in k or k in word for k in known) and not _names_a_person(word))

    words = pd.Series(list(dict.fromkeys(w for w in candidates if kept(w))), dtype=object)
    masked = mask_text(words, locales=DEFAULT_PII_LOCALES if locales is None else locales) if len(words) else words
    rows = []
    for word in words[masked == words]:  # a word the masking would change is not shown
        count = counts[word]
        if count >= min_texts:
            rows.append({"keyword": word, "texts": count, "share": count / len(unmatched)})
    out = pd.DataFrame(rows, columns=columns)
    out = out.sort_values(["texts", "keyword"], ascending=[False, True], kind="stable").head(top).reset_index(drop=True)
    out.attrs["unmatched"] = len(unmatched)
    return out
