"""The topic dictionary: loading, mentions and each complaint's problem type."""

from __future__ import annotations

import pandas as pd
import pytest

from qa_helpers.errors import ConfigError
from qa_helpers.voc.topics import load_topics, problem_types, topic_mentions


@pytest.fixture(scope="module")
def topics() -> pd.DataFrame:
    return load_topics()


def test_the_kits_dictionary_has_the_seed_problem_types(topics):
    types = set(topics.topic[topics.problem_type])
    assert {"slow_response", "poor_attitude", "not_resolved", "not_proactive"} <= types
    assert topics.loc[topics.problem_type, "department"].notna().all()


def test_mentions_match_chinese_substrings_and_english_words(topics):
    texts = pd.Series(["等了很久才有人接", "Rude agent, I was transferred twice", "billing", None])
    found = topic_mentions(texts, topics)
    assert found.loc[0, "slow_response"] and not found.loc[0, "poor_attitude"]
    assert found.loc[1, "poor_attitude"] and found.loc[1, "transfers"]
    assert not found.loc[2].any(), "'billing' is not the whole word 'bill'"
    assert not found.loc[3].any()


def test_problem_type_prefers_data_then_text_then_category(topics):
    texts = pd.Series(["客服态度不好", "没有任何说明", "没有任何说明", "没有任何说明"])
    categories = pd.Series(["billing_dispute", "billing_dispute", "consultation", "fault_repair"])
    mapped = pd.Series([None, None, None, "transfers"])
    got = problem_types(texts, categories, topics, mapped=mapped)
    assert got.problem_type.tolist() == ["poor_attitude", "billing_dispute", "unclassified", "transfers"]
    assert got.assigned_by.tolist() == ["text", "category", "none", "data"]
    assert got.department.tolist()[:2] == ["customer_service", "billing"]


def test_a_mapped_value_outside_the_dictionary_is_refused(topics):
    with pytest.raises(ConfigError, match="not a problem type"):
        problem_types(pd.Series(["x"]), None, topics, mapped=pd.Series(["rudeness"]))


def test_a_malformed_dictionary_names_file_and_topic(tmp_path):
    (tmp_path / "topics.yml").write_text("topics:\n  slow:\n    label: {en: Slow}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"topics\.yml: topics\.slow\.label"):
        load_topics(tmp_path)
