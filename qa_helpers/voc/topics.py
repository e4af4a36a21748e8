"""The topic dictionary: what customers write about, and the problem type of a complaint.

One dictionary (``config/topics.yml``) serves both the voice-of-customer step (mentions per topic)
and root-cause analysis (each complaint's problem type and responsible department), so a
"slow response" complaint and a "slow response" survey comment are the same thing.
Matching runs on masked text only: the archive masks free text at ingest.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from qa_helpers.config import config_file, read_yaml
from qa_helpers.errors import ConfigError

TOPIC_COLUMNS = ["topic", "label_en", "label_zh", "problem_type", "department", "keywords_zh", "keywords_en",
                 "categories", "exclude"]
UNCLASSIFIED = "unclassified"
TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def load_topics(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and check the topic dictionary.

    Parameters
    ----------
    path : path-like, optional
        ``topics.yml``, or a config folder holding one; defaults to the config folder's (the kit's
        own dictionary when the folder has none).

    Returns
    -------
    DataFrame
        One row per topic in file order: ``topic, label_en, label_zh, problem_type (bool),
        department, keywords_zh (list), keywords_en (list), categories (list), exclude (list)``
        (phrases that contain a keyword but deny it, zh and en together).

    Raises
    ------
    ConfigError
        Naming the file, the topic and the field at fault.
    """
    file = Path(path) if path and not Path(path).is_dir() else config_file("topics.yml", path)
    doc = read_yaml(file)
    if not isinstance(doc, dict) or not isinstance(doc.get("topics"), dict) or not doc["topics"]:
        raise ConfigError(f"{file}: expected a mapping with a non-empty 'topics' mapping")
    rows = []
    for name, item in doc["topics"].items():
        where = f"{file}: topics.{name}"
        if not isinstance(name, str) or not TOPIC_NAME.match(name):
            raise ConfigError(f"{where}: a topic name is lower-case letters, digits and _ (at most 40)")
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping")
        label = item.get("label")
        if not isinstance(label, dict) or not all(isinstance(label.get(k), str) and label[k] for k in ("en", "zh")):
            raise ConfigError(f"{where}.label: expected {{en: ..., zh: ...}}")
        keywords = item.get("keywords") or {}
        if not isinstance(keywords, dict) or set(keywords) - {"zh", "en"}:
            raise ConfigError(f"{where}.keywords: expected {{zh: [...], en: [...]}}")
        lists = {}
        for lang in ("zh", "en"):
            words = keywords.get(lang) or []
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                raise ConfigError(f"{where}.keywords.{lang}: expected a list of words")
            lists[lang] = [w.strip() for w in words]
        exclude = item.get("exclude") or {}
        if not isinstance(exclude, dict) or set(exclude) - {"zh", "en"} or not all(
                isinstance(v, list) and all(isinstance(w, str) and w.strip() for w in v) for v in exclude.values()):
            raise ConfigError(f"{where}.exclude: expected {{zh: [...], en: [...]}} lists of phrases")
        categories = item.get("categories") or []
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise ConfigError(f"{where}.categories: expected a list of categories")
        problem_type = item.get("problem_type", False)
        if not isinstance(problem_type, bool):
            raise ConfigError(f"{where}.problem_type: expected true or false")
        if not (lists["zh"] or lists["en"] or categories):
            raise ConfigError(f"{where}: a topic needs keywords or categories")
        rows.append({"topic": name, "label_en": label["en"], "label_zh": label["zh"], "problem_type": problem_type,
                     "department": item.get("department") if problem_type else None,
                     "keywords_zh": lists["zh"], "keywords_en": lists["en"], "categories": categories,
                     "exclude": [w.strip() for lang in ("zh", "en") for w in exclude.get(lang) or []]})
    return pd.DataFrame(rows, columns=TOPIC_COLUMNS)


def _pattern(topic: pd.Series) -> str | None:
    words = [re.escape(w) for w in topic.keywords_zh] + [rf"\b{re.escape(w)}\b" for w in topic.keywords_en]
    return "|".join(words) if words else None


def topic_mentions(texts: pd.Series, topics: pd.DataFrame) -> pd.DataFrame:
    """Which topics each text mentions.

    Parameters
    ----------
    texts : Series of str
        Masked free text (null for no text).
    topics : DataFrame
        From :func:`load_topics`.

    Returns
    -------
    DataFrame
        Same index as ``texts``, one boolean column per topic (dictionary order).
    """
    # each distinct text is matched once (comments repeat a lot: a million answers hold far fewer texts),
    # and once per process for a dictionary: a report tags the same recurring sentences in several frames,
    # and a batch kernel tags them again for every unit (:data:`_MATCHED`)
    codes, distinct = pd.factorize(texts.astype("string").fillna(""))
    names = list(topics.topic)
    known = kept_for(_MATCHED, _dictionary_key(topics))
    new = [t for t in dict.fromkeys(distinct) if t not in known]
    fresh = dict(zip(new, _match(pd.Series(new, dtype="string"), topics))) if new else {}
    rows = np.array([fresh[t] if t in fresh else known[t] for t in distinct],
                    dtype=bool).reshape(len(distinct), len(names))
    keep_bounded(known, fresh, MATCHED_TEXTS)
    found = rows[codes] if len(codes) else np.zeros((0, len(names)), dtype=bool)
    return pd.DataFrame({name: found[:, i] for i, name in enumerate(names)}, index=texts.index, columns=names)


MATCHED_TEXTS = 1 << 17  # distinct texts whose matches a process keeps per dictionary
_MATCHED: dict[tuple, dict[str, np.ndarray]] = {}  # dictionary -> text -> its row of topic matches


def kept_for(kept: dict, key: tuple) -> dict:
    """The per-process results kept for one dictionary (or lexicon): those of the two last used stay, so
    per-team config folders in one batch kernel do not pile up."""
    known = kept.pop(key, None)
    while len(kept) >= 2:
        kept.pop(next(iter(kept)))
    kept[key] = {} if known is None else known
    return kept[key]


def keep_bounded(known: dict, fresh: dict, bound: int) -> None:
    """Add ``fresh`` to the per-process ``known`` results, starting afresh when they would pass
    ``bound`` (real comments, unlike the sample's, are mostly distinct); a call's own results were
    taken before, so nothing it needs is dropped."""
    if len(known) + len(fresh) > bound:
        known.clear()
    if len(fresh) <= bound:
        known.update(fresh)


def _dictionary_key(topics: pd.DataFrame) -> tuple:
    """What matching reads of a dictionary: each topic's name, keywords and denying phrases."""
    return tuple((t.topic, tuple(t.keywords_zh), tuple(t.keywords_en), tuple(getattr(t, "exclude", None) or []))
                 for t in topics.itertuples(index=False))


def _match(text: pd.Series, topics: pd.DataFrame) -> np.ndarray:
    """Which topics each of the texts (distinct, no nulls) mentions: one row of booleans per text."""
    out = np.zeros((len(text), len(topics)), dtype=bool)
    for i, topic in enumerate(topics.itertuples(index=False)):
        pattern = _pattern(topic)
        denied = getattr(topic, "exclude", None) or []
        # a phrase that denies a keyword ("不满意" for "满意") is blanked before matching
        seen = (text.str.replace("|".join(re.escape(w) for w in sorted(denied, key=len, reverse=True)), " ",
                                 case=False, regex=True) if denied else text)
        if pattern:
            out[:, i] = seen.str.contains(pattern, case=False, regex=True).fillna(False).astype(bool).to_numpy()
    return out


def problem_types(texts: pd.Series, categories: pd.Series | None, topics: pd.DataFrame,
                  mapped: pd.Series | None = None) -> pd.DataFrame:
    """Each complaint's problem type and responsible department.

    A mapped value (a ``problem_type`` column in the export) wins; otherwise the first problem type
    in dictionary order whose keywords the text contains; otherwise the first whose ``categories``
    list the complaint's category; otherwise ``unclassified``.

    Parameters
    ----------
    texts : Series of str
        Masked complaint text.
    categories : Series of str, optional
        The complaint's (or its ticket's) category, aligned with ``texts``.
    topics : DataFrame
        From :func:`load_topics`.
    mapped : Series of str, optional
        Problem types recorded in the data; they must be problem types of the dictionary.

    Returns
    -------
    DataFrame
        Same index as ``texts``: ``problem_type, department, assigned_by`` (``data``, ``text``,
        ``category`` or ``none``).

    Raises
    ------
    ConfigError
        When a mapped value is not a problem type of the dictionary.
    """
    types = topics[topics.problem_type]
    department = dict(zip(types.topic, types.department))
    chosen = pd.Series(UNCLASSIFIED, index=texts.index, dtype=object)
    how = pd.Series("none", index=texts.index, dtype=object)
    mentions = topic_mentions(texts, types)
    by_text = mentions.any(axis=1)
    if len(types):
        first = mentions.to_numpy().argmax(axis=1)
        chosen[by_text] = np.asarray(types.topic)[first][by_text.to_numpy()]
        how[by_text] = "text"
    if categories is not None:
        # reversed, so that the first problem type listing a category wins
        category_map = {c: t for t, cats in zip(types.topic[::-1], types.categories[::-1]) for c in cats}
        by_category = ~by_text & categories.map(category_map).notna()
        chosen[by_category] = categories[by_category].map(category_map)
        how[by_category] = "category"
    if mapped is not None:
        given = mapped.notna() & (mapped.astype("string").str.strip() != "")
        unknown = sorted(set(mapped[given]) - set(types.topic))
        if unknown:
            raise ConfigError(f"problem_type: {unknown[0]!r} is not a problem type of the topic dictionary")
        chosen[given] = mapped[given]
        how[given] = "data"
    return pd.DataFrame({"problem_type": chosen, "department": chosen.map(department), "assigned_by": how},
                        index=texts.index)
