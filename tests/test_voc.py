"""Voice of the customer: topics, keywords and the dissatisfaction signal on masked text.

Hand-built texts check the rules (negation, exclusions, mask tokens, the two-proportion test); the
generated sample checks recovery of what was planted (each comment's topics and tone are in
``truth.json`` under ``voc``) and that no planted PII token reaches a topic, keyword or snippet.
"""

from __future__ import annotations

import os

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_helpers.data import archive as qa_archive
from qa_helpers.errors import ConfigError
from qa_helpers.voc import analysis, text
from qa_helpers.voc.topics import load_topics, topic_mentions


@pytest.fixture(scope="module")
def topics() -> pd.DataFrame:
    return load_topics()


@pytest.fixture(scope="module")
def lexicon() -> dict:
    return text.load_lexicon()


@pytest.fixture(scope="module")
def sample_texts(archive, topics):
    """Every survey comment and review of the test archive, and its complaint texts, tagged."""
    tickets = qa_archive.load("tickets", archive=archive, columns=["ticket_id", "channel", "customer_type", "agent_id"])
    surveys = analysis.tag(analysis.survey_comments(qa_archive.load("surveys", archive=archive), tickets, source=None),
                           topics)
    complaints = analysis.tag(analysis.complaint_texts(qa_archive.load("complaints", archive=archive), tickets), topics)
    return surveys, complaints


# ------------------------------------------------------------------ rules, on hand-built text


def test_a_denied_keyword_is_not_the_topic(topics):
    found = topic_mentions(pd.Series(["很不满意", "非常满意", "处理不及时", "Not helpful at all"]), topics)
    assert found["praise"].tolist() == [False, True, False, False]


def test_the_signal_reads_negation(topics, lexicon):
    texts = pd.Series(["很不满意。", "非常满意，谢谢", "不差", "太失望了", "The agent was not helpful", "", None])
    got = text.dissatisfaction(texts, topics, lexicon)["signal"].tolist()
    assert got == ["dissatisfied", "satisfied", "neutral", "dissatisfied", "dissatisfied", "neutral", "neutral"]


def test_the_signal_of_no_texts_is_an_empty_table(topics, lexicon):
    """A unit with no comments (a tickets-only archive) must not fail on an empty string column."""
    got = text.dissatisfaction(pd.Series([], dtype="string"), topics, lexicon)
    assert got.empty and got["score"].dtype == "int64"


def test_mask_tokens_are_not_words():
    words = text.tokens("请回电[PHONE]，我是[NAME]，套餐不对. Call ME")
    assert "套餐" in words and "call" in words and "me" in words
    assert not {"PHONE", "NAME", "phone", "name", "[", "]", "，", "."} & set(words)


def test_keywords_find_what_the_dictionary_lacks(topics, lexicon):
    texts = pd.Series(["套餐变更一直没生效[PHONE]"] * 4 + ["换套餐手续太繁琐"] * 3 + ["客服态度很差"] * 5 + ["[EMAIL]"] * 6)
    found = text.missed_keywords(texts, topics, lexicon, min_texts=3)
    assert found["keyword"].iloc[0] == "套餐" and found["texts"].iloc[0] == 7
    assert found.attrs["unmatched"] == 13  # the five attitude comments matched a topic
    assert not found["keyword"].str.contains("phone|email|态度", case=False).any()


def test_a_fall_in_a_topic_is_tested_clustered_and_holm_adjusted(topics):
    rng = np.random.default_rng(3)
    rows = []
    for window, share in (("before", 0.35), ("after", 0.08)):
        for i in range(300):
            rows.append({"text_id": f"{window}{i}", "time": pd.Timestamp("2025-01-01"), "agent_id": f"A{i % 15}",
                         "text": "问题还是不行" if rng.random() < share else "服务很好", "window": window})
    frame = analysis.tag(pd.DataFrame(rows), topics)
    before, after = frame[frame.window == "before"], frame[frame.window == "after"]
    changes = analysis.topic_changes(after, before, topics).set_index("topic")
    row = changes.loc["not_resolved"]
    assert row["verdict"] == "improved" and row["change"] < -0.15 and row["ci_high"] < 0
    assert row["p_adj"] >= row["p"] and "agent_id-clustered" in row["method"]
    assert changes.loc["praise", "verdict"] == "improved"  # praise rose: better when it rises
    same = analysis.topic_changes(before, before, topics).set_index("topic")
    assert not same["verdict"].isin(["improved", "worsened"]).any()


def test_snippets_are_short_and_masked_again(topics):
    frame = analysis.tag(pd.DataFrame({"text_id": ["a"], "text": ["请回电13912345678，问题还是不行，" + "很久" * 40]}), topics)
    shown = analysis.snippets(frame, topics, width=30)
    assert len(shown) == 1 and len(shown["snippet"].iloc[0]) == 30
    assert "13912345678" not in shown["snippet"].iloc[0] and "[PHONE]" in shown["snippet"].iloc[0]


def test_a_bad_lexicon_names_the_file_and_list(tmp_path):
    (tmp_path / "topics.yml").write_text("sentiment:\n  negative: {zh: [差]}\n  positive: {zh: 好}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"topics\.yml: sentiment\.positive\.zh"):
        text.load_lexicon(tmp_path)


def test_jieba_cache_goes_where_it_can_be_written(tmp_path, monkeypatch):
    monkeypatch.setenv(text.CACHE_ENV, str(tmp_path))
    assert text._cache_file().startswith(str(tmp_path))
    monkeypatch.setenv(text.CACHE_ENV, str(tmp_path / "missing"))
    assert text._cache_file() is None


# ------------------------------------------------------------------ the planted sample


def test_topics_planted_in_the_sample_are_recovered(sample_texts, truth, topics):
    surveys, complaints = sample_texts
    got = analysis.recovery(surveys, truth["voc"]["surveys"], topics).set_index("topic")
    assert got.loc["all", "planted"] > 300
    assert got.loc["all", "precision"] >= 0.8 and got.loc["all", "recall"] >= 0.8
    for pain in truth["voc"]["pain_point_order"]:
        assert got.loc[pain, "recall"] >= 0.7 and got.loc[pain, "precision"] >= 0.8, pain
    assert got.loc["all", "recall"] < 1.0  # paraphrases the dictionary lacks were planted too
    on_complaints = analysis.recovery(complaints, truth["voc"]["complaints"], topics).set_index("topic")
    assert on_complaints.loc["all", "precision"] >= 0.8 and on_complaints.loc["all", "recall"] >= 0.8


def test_pain_points_come_out_in_the_planted_order(sample_texts, truth, topics):
    surveys, _ = sample_texts
    counts = analysis.topic_counts(surveys[surveys.source == "survey"], topics).set_index("topic")["mentions"]
    planted = pd.Series(0, index=truth["voc"]["pain_point_order"])
    for teams in truth["voc"]["counts"].values():
        for team, by_topic in teams.items():
            if team != "online review":
                planted += pd.Series(by_topic).reindex(planted.index).fillna(0)
    assert list(planted.sort_values(ascending=False).index) == truth["voc"]["pain_point_order"]
    assert list(counts[planted.index].sort_values(ascending=False).index) == truth["voc"]["pain_point_order"]


def test_the_signal_recovers_the_planted_tone_and_the_csat(sample_texts, truth, topics, lexicon):
    surveys, _ = sample_texts
    signal = text.dissatisfaction(surveys["text"], topics, lexicon)["signal"]
    tone = surveys["text_id"].map(truth["voc"]["tone"])
    planted = tone.notna()
    by_tone = analysis.signal_agreement(signal[planted], tone[planted] == "negative").iloc[0]
    by_csat = analysis.signal_agreement(signal, surveys["csat"] <= 3).iloc[0]
    assert by_tone["agreement"] >= 0.9 and by_tone["recall"] >= 0.8 and by_tone["neutral"] < 0.2
    assert by_csat["agreement"] >= 0.85


def test_the_unlisted_theme_surfaces_as_a_keyword(sample_texts, truth, topics, lexicon):
    surveys, _ = sample_texts
    found = text.missed_keywords(surveys["text"], topics, lexicon, top=15)
    assert truth["voc"]["unlisted_keyword"] in set(found["keyword"])


def test_no_planted_pii_reaches_a_topic_keyword_or_snippet(sample_texts, truth, topics, lexicon, raw_dir):
    surveys, complaints = sample_texts
    tokens = [p["token"] for p in truth["pii"] if p["source"] in ("surveys", "complaints")]
    assert len(tokens) > 10
    shown = []
    for frame in (surveys, complaints):
        shown += [str(t) for ts in frame["topics"] for t in ts]
        shown += text.missed_keywords(frame["text"], topics, lexicon, top=200, min_texts=1)["keyword"].tolist()
        shown += analysis.snippets(frame, topics, per_topic=10_000, width=10_000)["snippet"].tolist()
    everything = "\n".join(shown)
    assert everything and not [t for t in tokens if t in everything]
    # the check can fail: on the raw export (before masking) the same snippets carry the tokens
    raw = pd.read_excel(raw_dir / "survey_export.xlsx", sheet_name="问卷结果", dtype=str)
    unmasked = analysis.tag(pd.DataFrame({"text_id": raw["问卷编号"], "text": raw["评价内容"].fillna("")}), topics)
    leaked = "\n".join(analysis.snippets(unmasked, topics, per_topic=10_000, width=10_000)["snippet"])
    assert [t for t in tokens if t in leaked]


# ------------------------------------------------------------------ review fixes (h-fixpv)


def test_comments_naming_no_agent_are_kept_as_their_own_clusters(topics):
    rows = []
    for window, hits in (("before", 30), ("after", 5)):
        for i in range(100):
            rows.append({"text_id": f"{window}{i}", "time": pd.Timestamp("2025-01-01"), "window": window,
                         "agent_id": f"A{i % 10}" if i < 10 else None,
                         "text": "问题还是不行" if i % 100 >= 100 - hits else "服务很好"})
    frame = analysis.tag(pd.DataFrame(rows), topics)
    changes = analysis.topic_changes(frame[frame.window == "after"], frame[frame.window == "before"], topics)
    row = changes.set_index("topic").loc["not_resolved"]
    assert (row["n_before"], row["n_after"]) == (100, 100)  # not only the 10 comments that name an agent
    assert row["share_before"] == pytest.approx(0.30) and row["verdict"] == "improved"


def test_a_missing_csat_is_left_out_of_the_signal_agreement(archive, topics, lexicon):
    from qa_helpers.report.context import open_context
    from qa_helpers.voc import sections

    current = analysis.tag(pd.DataFrame({"text_id": list("abcd"), "text": ["很不满意", "很不满意", "非常满意", "非常满意"],
                                         "csat": [np.nan, 1, 5, np.nan]}), topics)
    data = sections.VocData(topics=topics, lexicon=lexicon, labels={}, current=current, previous=current.iloc[:0],
                            year=current, reviews=current.iloc[:0], complaints=current.iloc[:0])
    said = str(sections.signal_section(open_context("ALL", "2025-Q4", archive), data)[1])
    assert "(2 comments)" in said and "in 100 %" in said  # not 4 comments, 75 % agreeing
    bare = analysis.signal_agreement(pd.Series(["dissatisfied", "satisfied"]), pd.Series([pd.NA, False], dtype="boolean"))
    assert bare.loc[0, "n"] == 1 and bare.loc[0, "agreement"] == 1.0


@pytest.mark.parametrize("whose", ["ALL", "a team"])
def test_each_kind_of_text_is_its_own_sample_read_in_two_scans_per_table(archive, whose, monkeypatch):
    from qa_helpers.report.context import Context, open_context
    from qa_helpers.voc import sections

    teams = sorted(set(qa_archive.load("surveys", archive=archive, columns=["team"])["team"].dropna()))
    unit = "ALL" if whose == "ALL" else teams[0]
    ctx = open_context(unit, "2025-Q4", archive)
    queries, real = [], Context.query
    monkeypatch.setattr(Context, "query", lambda self, sql, **t: queries.append(sql) or real(self, sql, **t))
    data = sections.load(ctx, max_texts=20)
    # survey comments and reviews: one count and one read; complaints: count, read (the unit's teams with
    # comments only when an action names none)
    assert len(queries) == 4 and "comments" in data.sampled and (whose != "ALL" or len(data.sampled) == 3)
    monkeypatch.setattr(Context, "query", real)

    def own_sample(table, scan_unit, source, column, key):  # the kind alone, as a scan of its own rows draws it
        scan = qa_archive.scan_sql(table, scan_unit, "2025-Q4", archive=archive)
        where = (f"source = '{source}' AND " if source else "") + f"{column} IS NOT NULL AND {column} <> ''"
        total = int(ctx.query(f"SELECT count(*) FROM {scan} WHERE {where}").iloc[0, 0])
        share = f"hash({key} || '#17') % 1000000 < {int(round(20 / total * 1_000_000))}" if total > 20 else "true"
        rows = ctx.query(f"SELECT {key}, {column} FROM {scan} WHERE {where} AND {share}")
        return total, rows.loc[rows[column].str.strip() != "", key].tolist()

    for kind, got, args in [("comments", data.current, ("surveys", unit, "survey", "comment", "survey_id")),
                            ("reviews", data.reviews, ("surveys", "ALL", "review", "comment", "survey_id")),
                            ("complaints", data.complaints, ("complaints", unit, None, "text", "complaint_id"))]:
        total, ids = own_sample(*args)
        assert data.sampled.get(kind) == (total if total > 20 else None) and got["text_id"].tolist() == ids, kind
        assert 5 < len(ids) < 60 or total <= 20, (kind, len(ids))
    assert whose == "ALL" or set(data.everything["team"]) == {unit}


def test_the_signal_is_computed_once_per_notebook(archive, monkeypatch):
    from qa_helpers.report.context import open_context
    from qa_helpers.voc import sections

    calls, real = [], text.dissatisfaction
    monkeypatch.setattr(text, "dissatisfaction", lambda texts, *a, **k: calls.append(len(texts)) or real(texts, *a, **k))
    ctx = open_context("ALL", "2025-Q4", archive)
    data = sections.load(ctx)
    sections.headline(ctx, data)
    sections.signal_section(ctx, data)
    assert calls == [len(data.current)] and len(data.current) > 0


def test_keywords_leave_out_person_names_and_mask_with_the_config_locales(topics, lexicon, tmp_path):
    texts = pd.Series(["小王说套餐变更一直没生效"] * 4 + ["张伟说套餐不对"] * 3 + ["call 555-123-4567 about 555-123-4567"] * 3)
    found = text.missed_keywords(texts, topics, lexicon, min_texts=3, top=30)
    assert "套餐" in set(found["keyword"]) and not {"小王", "张伟"} & set(found["keyword"])
    frame = analysis.tag(pd.DataFrame({"text_id": ["a"], "text": ["问题还是不行 call 555-123-4567"]}), topics)
    assert "555-123-4567" in analysis.snippets(frame, topics, width=200)["snippet"].iloc[0]  # not a cn/intl form
    assert "555-123-4567" not in analysis.snippets(frame, topics, width=200, locales=("us",))["snippet"].iloc[0]
    (tmp_path / "sources.yml").write_text("pii_locales: [us]\nsources: {}\n", encoding="utf-8")
    (tmp_path / "bare").mkdir()
    assert text.config_locales(tmp_path) == ("us",) and text.config_locales(tmp_path / "bare") == ("cn", "intl")


def test_config_locales_read_one_key_without_building_the_schemas(tmp_path):
    import subprocess
    import sys

    (tmp_path / "sources.yml").write_text("pii_locales: [cn, klingon]\nsources: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="pii_locales"):
        text.config_locales(tmp_path)
    code = ("import sys; from qa_helpers.voc import text; assert text.config_locales() == ('cn', 'intl'); "
            "assert 'pandera' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_keywords_read_jiebas_tables_from_the_lookup_and_tag_as_a_tagger_of_their_own():
    import jieba.analyse
    import jieba.posseg

    # IDF, its median and the stop words are jieba's own, read from the lookup instead of parsed
    tfidf = jieba.analyse.default_tfidf
    words = ["套餐", "变更", "生效", "宽带", "不在表里的词", "the", "service"]
    assert text._idf(words) == {w: tfidf.idf_freq[w] for w in words if w in tfidf.idf_freq}
    assert text._meta()["median_idf"] == tfidf.median_idf and set(text._meta()["stop_words"]) == tfidf.stop_words
    # the word tags are jieba's default tagger's, read from the lookup for the words tagged, not parsed
    own = jieba.posseg.POSTokenizer(text.tokenizer())
    for word in ("小王", "张伟帮", "卡顿", "套餐", "变更", "service", "3.5G套餐"):
        assert text._names_a_person(word) == any(p.flag.startswith("nr") for p in own.cut(word))
        assert [tuple(p) for p in text._tagger().cut(word)] == [tuple(p) for p in own.cut(word)]
    assert text._tagger().word_tag_tab.items() <= own.word_tag_tab.items() and len(text._tagger().word_tag_tab) < 100


def test_keywords_do_not_parse_jiebas_tag_table_and_jieba_posseg_still_reads_it():
    import subprocess
    import sys

    code = ("import sys, pandas as pd; from qa_helpers.voc import text; from qa_helpers.voc.topics import load_topics; "
            "found = text.missed_keywords(pd.Series(['小王说套餐变更一直没生效'] * 4), load_topics(), text.load_lexicon()); "
            "assert list(found['keyword']) == ['变更', '套餐', '生效'], found; "
            "import jieba.posseg; assert 'word_tag_tab' not in vars(jieba.posseg.dt); "
            "tags = jieba.posseg.POSTokenizer(jieba.Tokenizer()).word_tag_tab; "
            "assert jieba.posseg.dt.word_tag_tab == tags and len(tags) > 300000; "
            "assert [tuple(p) for p in jieba.posseg.cut('小王说套餐变更')] == [('小王', 'nr'), ('说', 'v'), ('套餐', 'n'), ('变更', 'v')]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_lookup_holds_jiebas_dictionary_and_is_built_again_when_stale(tmp_path, monkeypatch):
    tok = text.tokenizer()
    con = text._lookup()
    assert con.execute("SELECT count(*), sum(freq) FROM freq").fetchone() == (len(tok.FREQ), sum(tok.FREQ.values()))
    assert text._meta()["total"] == tok.total and text._meta()["longest"] == max(map(len, tok.FREQ))
    # the partial dictionary holds jieba's entries for the substrings looked up, and nothing else
    text.prepare(["宽带断网好几天了", "[NAME]说套餐变更没生效"])
    assert text._words().FREQ and all(tok.FREQ[w] == f for w, f in text._words().FREQ.items())
    assert "宽带" in text._words().FREQ and "NAME" not in "".join(text._words().FREQ)
    # a lookup written for another jieba (or its files) is replaced, atomically, where the cache goes
    monkeypatch.setenv(text.CACHE_ENV, str(tmp_path))
    text._build_lookup(text._lookup_file()).close()
    monkeypatch.setattr(text, "_jieba_signature", lambda: "another jieba")
    text._lookup.cache_clear()
    try:
        fresh = text._lookup()
        assert fresh.execute("SELECT signature FROM meta").fetchone()[0] == "another jieba"
        assert [f.name for f in tmp_path.iterdir()] == [Path(text._lookup_file()).name]
        fresh.close()
    finally:
        text._lookup.cache_clear()


def test_a_lookup_build_left_half_done_or_an_unwritable_folder_does_not_stop_segmenting(tmp_path, monkeypatch):
    import duckdb

    monkeypatch.setenv(text.CACHE_ENV, str(tmp_path))
    target = text._lookup_file()
    # a build killed halfway left its file under the name a pid-based build would take again
    with duckdb.connect(f"{target}.{os.getpid()}.tmp") as leftover:
        leftover.execute("CREATE TABLE freq AS SELECT 'x' AS word, 1 AS freq")
    text._build_lookup(target).close()
    with duckdb.connect(target, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM freq").fetchone()[0] == len(text.tokenizer().FREQ)
    # a folder the lookup cannot be written to: the tables are kept in memory instead
    monkeypatch.setattr(text, "_write_lookup", lambda con, tok, tfidf, temporary, target, real=text._write_lookup:
                        (_ for _ in ()).throw(OSError("disk full")) if temporary else real(con, tok, tfidf, None, None))
    in_memory = text._build_lookup(str(tmp_path / "elsewhere.duckdb"))
    assert in_memory.execute("SELECT count(*) FROM freq").fetchone()[0] == len(text.tokenizer().FREQ)
    planted = Path(f"{target}.{os.getpid()}.tmp").name
    assert sorted(f.name for f in tmp_path.iterdir() if f.name != planted) == [Path(target).name]


def test_substrings_are_looked_up_in_bounded_chunks(monkeypatch):
    blocks = ["宽带断网好几天了", "套餐变更一直没生效", "客服迟迟不回复很不满意"]
    tok = text.tokenizer()
    text._words.cache_clear()
    monkeypatch.setattr(text, "LOOKUP_CHUNK", 7)  # a query every few substrings
    text._ensure(blocks)
    looked = dict(text._words().FREQ)
    text._words.cache_clear()
    monkeypatch.setattr(text, "LOOKUP_CHUNK", 10**9)
    text._ensure(blocks)
    assert looked == text._words().FREQ and all(tok.FREQ[w] == f for w, f in looked.items()) and looked
    text._words.cache_clear()


def test_keyword_counts_do_not_scan_every_text_per_candidate(topics, lexicon, monkeypatch):
    texts = pd.Series(["套餐变更一直没生效"] * 4 + ["换套餐手续太繁琐"] * 3)
    scans = []
    real_map = pd.Series.map
    monkeypatch.setattr(pd.Series, "map", lambda self, *a, **k: scans.append(len(self)) or real_map(self, *a, **k))
    found = text.missed_keywords(texts, topics, lexicon, min_texts=3)
    assert found.set_index("keyword").loc["套餐", "texts"] == 7
    assert len(scans) <= 2  # one tokenising pass (and the masking), not one pass per candidate word


def test_segmenting_block_by_block_is_jiebas_segmentation_and_cuts_a_block_once(sample_texts):
    surveys, complaints = sample_texts
    examples = ["处理完没有回访。希望改进。", "座机[PHONE]联系宽带断网好几天了，问题到现在还没解决", "Great service, thanks. Thank you!",
                "客服迟迟不回复。很不满意。  Very slow!!", "3.5G套餐-变更 50%的费用#1 a+b", "", "[NAME]", "，。!?"]
    for one in [*examples, *pd.concat([surveys["text"], complaints["text"]]).dropna().unique()[:3000]]:
        assert text.segment(one) == list(text.tokenizer().cut(text.MASK_TOKEN.sub(" ", one)))
    text._cut_block.cache_clear()
    text.segment("很不满意。很不满意。很不满意。")
    assert text._cut_block.cache_info().misses == 2  # "很不满意" and "。", each cut once


def test_tagged_texts_are_not_matched_again_for_the_signal_and_keywords(sample_texts, topics, lexicon, monkeypatch):
    surveys = sample_texts[0].iloc[:3000]
    signal = text.dissatisfaction(surveys["text"], topics, lexicon)
    keywords = text.missed_keywords(surveys["text"], topics, lexicon)
    monkeypatch.setattr(text, "topic_mentions", lambda *a, **k: pytest.fail("matched again"))
    known = analysis.topic_columns(surveys, topics)
    pd.testing.assert_frame_equal(text.dissatisfaction(surveys["text"], topics, lexicon, known), signal)
    again = text.missed_keywords(surveys["text"], topics, lexicon, mentions=known)
    pd.testing.assert_frame_equal(again, keywords)
    assert again.attrs == keywords.attrs


@pytest.mark.parametrize("old, new, words", [
    ("topics:", "topic_list:", "non-empty 'topics' mapping"),
    ("    zh: [满意,", "    zh: 满意\n    zz: [满意,", "sentiment.positive"),
])
def test_preflight_checks_the_topic_dictionary_and_lexicon(tmp_path, old, new, words):
    from qa_helpers.config import project_root
    from qa_helpers.preflight import check_config

    check_config(tmp_path)  # no topics.yml: the kit's own, which is good
    body = (project_root() / "config" / "topics.yml").read_text(encoding="utf-8").replace(old, new, 1)
    (tmp_path / "topics.yml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        check_config(tmp_path)


# ------------------------------------------------------------------ what a process keeps is what it would compute


def test_matches_and_polarity_kept_per_text_are_those_computed_afresh(sample_texts, topics, lexicon, monkeypatch):
    from qa_helpers.voc import topics as topics_module

    texts = pd.concat([sample_texts[0]["text"], sample_texts[1]["text"]], ignore_index=True).iloc[:4000]
    topic_mentions(texts.iloc[:1500], topics)  # part of the texts kept, part not
    text.dissatisfaction(texts.iloc[:1500], topics, lexicon)
    kept, kept_signal = topic_mentions(texts, topics), text.dissatisfaction(texts, topics, lexicon)
    monkeypatch.setattr(topics_module, "_MATCHED", {})
    monkeypatch.setattr(text, "_POLARITY", {})
    pd.testing.assert_frame_equal(kept, topic_mentions(texts, topics))
    pd.testing.assert_frame_equal(kept_signal, text.dissatisfaction(texts, topics, lexicon))
    monkeypatch.setattr(topics_module, "MATCHED_TEXTS", 10)  # bounded: forgets, still right
    pd.testing.assert_frame_equal(kept, topic_mentions(texts, topics))
    assert len(topics_module._MATCHED[topics_module._dictionary_key(topics)]) <= len(texts.unique())


def test_a_full_cache_forgets_without_losing_what_the_call_needs(sample_texts, topics, lexicon, monkeypatch):
    # a second call of texts partly seen, partly new, arriving when the kept texts reach the bound
    from qa_helpers.voc import topics as topics_module

    texts = pd.Series(sample_texts[0]["text"].dropna().unique()[:40], dtype="string")
    first, second = texts.iloc[:20], texts.iloc[10:]
    fresh_mentions, fresh_signal = topic_mentions(second, topics), text.dissatisfaction(second, topics, lexicon)
    for bound in (4, 25):
        monkeypatch.setattr(topics_module, "_MATCHED", {})
        monkeypatch.setattr(text, "_POLARITY", {})
        monkeypatch.setattr(topics_module, "MATCHED_TEXTS", bound)
        monkeypatch.setattr(text, "POLARITY_TEXTS", bound)
        topic_mentions(first, topics), text.dissatisfaction(first, topics, lexicon)
        pd.testing.assert_frame_equal(topic_mentions(second, topics), fresh_mentions)
        pd.testing.assert_frame_equal(text.dissatisfaction(second, topics, lexicon), fresh_signal)
        assert len(topics_module._MATCHED[topics_module._dictionary_key(topics)]) <= bound
        assert len(text._POLARITY[text._lexicon_key(lexicon)]) <= bound


def test_topic_tests_on_cluster_codes_are_the_tests_on_agent_ids(sample_texts, topics):
    from qa_helpers import stats

    surveys = sample_texts[0]
    half = len(surveys) // 2
    before, after = surveys.iloc[:half], surveys.iloc[half:]
    changes = analysis.topic_changes(after, before, topics).set_index("topic")
    both = pd.concat([before.assign(window="before"), after.assign(window="after")], ignore_index=True)
    agents = both["agent_id"].astype(object).where(both["agent_id"].notna(), "text " + both["text_id"].astype(str))
    for name in changes.index:
        frame = pd.DataFrame({"window": both["window"], "agent_id": agents, "value": both[f"topic_{name}"].astype(float)})
        problem = bool(topics.set_index("topic").loc[name, "problem_type"])
        own = stats.compare(frame, name, "proportion", direction="decrease" if problem else "increase").iloc[0]
        # the CI is Holm's (at the family's adjusted level): the rest is the test's own
        for column, mine in [("p", "p"), ("effect", "change"), ("before", "share_before"), ("method", "method")]:
            assert own[column] == changes.loc[name, mine] or (pd.isna(own[column]) and pd.isna(changes.loc[name, mine]))
    assert changes["method"].str.contains("agent_id-clustered").any()


def test_reviews_kept_by_a_batch_kernel_are_the_rows_a_fresh_read_gives(archive, monkeypatch):
    from qa_helpers.report.context import Context, open_context
    from qa_helpers.voc import sections

    teams = sorted(set(qa_archive.load("surveys", archive=archive, columns=["team"])["team"].dropna()))[:2]
    fresh = sections.load(open_context(teams[1], "2025-Q4", archive), max_texts=20)
    monkeypatch.setenv("QAKIT_READ_CACHE_MB", "64")
    monkeypatch.setattr(qa_archive, "_READS", qa_archive._ReadCache())
    sections.load(open_context(teams[0], "2025-Q4", archive), max_texts=20)
    queries, real = [], Context.query
    monkeypatch.setattr(Context, "query", lambda self, sql, **t: queries.append(sql) or real(self, sql, **t))
    kept = sections.load(open_context(teams[1], "2025-Q4", archive), max_texts=20)
    reads = [q for q in queries if "_kind" in q]
    assert len(reads) == 2 and not any("source = 'review'" in q for q in reads)  # comments, complaints
    for name in ("current", "previous", "year", "everything", "reviews", "complaints"):
        pd.testing.assert_frame_equal(getattr(kept, name), getattr(fresh, name), obj=name)
    assert kept.sampled == fresh.sampled and "reviews" in kept.sampled


def test_results_kept_for_two_dictionaries_at_most(sample_texts, topics, monkeypatch):
    from qa_helpers.voc import topics as topics_module

    monkeypatch.setattr(topics_module, "_MATCHED", {})
    texts = pd.Series(sample_texts[0]["text"].dropna().unique()[:5], dtype="string")
    for n in range(4):  # four config folders' dictionaries, one after the other
        topic_mentions(texts, topics.iloc[: len(topics) - n])
    assert len(topics_module._MATCHED) == 2
