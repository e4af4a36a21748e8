"""What customers write, counted: topic mentions per unit and period, by channel, customer type and
month, their change against the previous period or around an action, snippets and recovery.

Every function takes and returns DataFrames and runs on masked text (the archive masks free text
at ingest; :func:`snippets` masks again before showing anything). A comment may mention several
topics: a topic's *share* is the share of comments that mention it, so shares do not add to 100 %.
Changes are two-proportion tests from :mod:`qa_helpers.stats` (Newcombe CI + score test on
Rao–Scott effective counts, clustered by agent, as the before/after step tests a share), with
Holm's adjustment across the topics of one comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_helpers import stats
from qa_helpers.data.privacy import DEFAULT_PII_LOCALES, mask_text
from qa_helpers.voc.topics import topic_mentions

COMMENT_COLUMNS = ["text_id", "time", "text", "source", "team", "agent_id", "channel", "customer_type", "csat"]
CHANGE_COLUMNS = ["topic", "share_before", "share_after", "change", "ci_low", "ci_high", "p", "p_adj",
                  "n_before", "n_after", "verdict", "method"]


def survey_comments(surveys: pd.DataFrame, tickets: pd.DataFrame | None = None,
                    source: str | None = "survey") -> pd.DataFrame:
    """The answers that carry a comment, with what the ticket says about them.

    Parameters
    ----------
    surveys : DataFrame
        Archived survey answers (``survey_id, ticket_id, answered_at, csat, comment, source`` ...).
    tickets : DataFrame, optional
        Archived tickets: ``channel``, ``customer_type`` and ``agent_id`` are joined on ``ticket_id``.
    source : {"survey", "review"} or None
        Which answers: surveys (the default), online reviews, or both (``None``).

    Returns
    -------
    DataFrame
        :data:`COMMENT_COLUMNS`, one row per non-empty comment; missing breakdowns are null.
    """
    frame = surveys
    if source is not None and "source" in frame:
        frame = frame[frame["source"] == source]
    text = frame["comment"].astype("string") if "comment" in frame else pd.Series(dtype="string")
    frame = frame[text.fillna("").str.strip() != ""]
    out = pd.DataFrame({"text_id": frame["survey_id"], "time": frame["answered_at"], "text": frame["comment"],
                        "source": frame.get("source", pd.Series("survey", index=frame.index)),
                        "team": frame.get("team", pd.Series(None, index=frame.index, dtype=object)),
                        "csat": frame.get("csat")})
    linked = (tickets.drop_duplicates("ticket_id").set_index("ticket_id")
              if tickets is not None and "ticket_id" in frame and len(tickets) else None)
    for column in ("agent_id", "channel", "customer_type"):
        if linked is not None and column in linked:
            out[column] = frame["ticket_id"].map(linked[column])
        else:
            out[column] = None
    return out[COMMENT_COLUMNS].reset_index(drop=True)


def complaint_texts(complaints: pd.DataFrame, tickets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Complaint texts in the shape of :func:`survey_comments` (``source`` = ``complaint``, no CSAT)."""
    frame = complaints[complaints["text"].astype("string").fillna("").str.strip() != ""]
    as_survey = pd.DataFrame({"survey_id": frame["complaint_id"], "ticket_id": frame.get("ticket_id"),
                              "answered_at": frame["received_at"], "comment": frame["text"], "source": "complaint",
                              "team": frame.get("team"), "csat": np.nan})
    return survey_comments(as_survey, tickets, source=None)


def tag(comments: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """Comments with one boolean column per topic of the dictionary (``topic_<name>``).

    Parameters
    ----------
    comments : DataFrame
        From :func:`survey_comments` or :func:`complaint_texts`.
    topics : DataFrame
        From :func:`~qa_helpers.voc.topics.load_topics`.

    Returns
    -------
    DataFrame
        ``comments`` plus ``topic_<name>`` columns and ``topics`` (the list of topics mentioned).
    """
    found = topic_mentions(comments["text"], topics)
    out = comments.copy()
    for name in topics.topic:
        out[f"topic_{name}"] = found[name].to_numpy()
    names = np.asarray(topics.topic, dtype=object)
    # each distinct row of mentions picks its names once (a numpy pick per row cost 5 µs, 0.1 s a report),
    # the rows told apart by one number each (sorting the rows themselves cost as much again)
    rows = found.to_numpy(dtype=bool)
    if rows.shape[1] <= 62:
        keys = rows.astype(np.int64) @ (np.int64(1) << np.arange(rows.shape[1], dtype=np.int64))
        _, first, which = np.unique(keys, return_index=True, return_inverse=True)
        patterns = rows[first]
    else:
        patterns, which = np.unique(rows, axis=0, return_inverse=True)
    picked = [list(names[row]) for row in patterns]
    out["topics"] = [list(picked[i]) for i in which.reshape(-1)] if len(found) else []
    return out


def topic_columns(tagged: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """The topics each tagged text mentions, as :func:`~qa_helpers.voc.topics.topic_mentions` gave them to
    :func:`tag`: one boolean column per topic, the index of ``tagged`` (nothing is matched again)."""
    return pd.DataFrame({name: tagged[f"topic_{name}"] for name in topics.topic}, index=tagged.index)


def topic_counts(tagged: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """Mentions per topic, most mentioned first.

    Parameters
    ----------
    tagged : DataFrame
        From :func:`tag`.
    topics : DataFrame
        The dictionary.

    Returns
    -------
    DataFrame
        ``topic, problem_type, mentions, comments`` (all comments), ``share`` (mentions / comments),
        ``rank`` among problem types (1 = most mentioned; none for other topics).
    """
    wide = topic_columns(tagged, topics)
    out = pd.DataFrame({"topic": topics.topic.to_numpy(), "problem_type": topics.problem_type.to_numpy(),
                        "mentions": wide.sum().reindex(topics.topic).fillna(0).astype(int).to_numpy()})
    out["comments"] = len(tagged)
    out["share"] = out["mentions"] / len(tagged) if len(tagged) else np.nan
    out = out.sort_values(["mentions", "topic"], ascending=[False, True], kind="stable").reset_index(drop=True)
    ranked = out["problem_type"] & (out["mentions"] > 0)
    out["rank"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out.loc[ranked, "rank"] = np.arange(1, ranked.sum() + 1)
    return out


def topic_by(tagged: pd.DataFrame, topics: pd.DataFrame, by: str) -> pd.DataFrame:
    """Mentions and shares per topic within each value of a breakdown (channel, customer type, month).

    Returns
    -------
    DataFrame
        ``<by>, topic, mentions, comments, share`` (share of that group's comments); rows without
        the breakdown are left out.
    """
    known = tagged[tagged[by].notna()]
    if known.empty:
        return pd.DataFrame(columns=[by, "topic", "mentions", "comments", "share"])
    wide = topic_columns(known, topics)
    mentions = wide.groupby(known[by]).sum().rename_axis(by).reset_index().melt(
        id_vars=by, var_name="topic", value_name="mentions")
    comments = known.groupby(by).size().rename("comments").reset_index()
    out = mentions.merge(comments, on=by)
    out["mentions"] = out["mentions"].astype(int)
    out["share"] = out["mentions"] / out["comments"]
    return out[[by, "topic", "mentions", "comments", "share"]]


def monthly(tagged: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """:func:`topic_by` per calendar month (``month`` as the month's first day)."""
    return topic_by(tagged.assign(month=tagged["time"].dt.to_period("M").dt.start_time), topics, "month")


def _compare_topics(data: pd.DataFrame, topics: pd.DataFrame, window: str, alpha: float,
                    family: str, min_mentions: int = 1) -> pd.DataFrame:
    """One two-proportion test per topic (share of comments mentioning it, ``after`` vs ``before``),
    clustered by agent when the comments name agents (a comment naming none is its own cluster: kept,
    never dropped), Holm-adjusted across the topics."""
    cluster = "agent_id" if data["agent_id"].notna().any() else None
    # only what the test reads: a copy of every text and topic column per topic was most of its time
    used = data[[window, "agent_id"]]
    if cluster is not None:
        alone = "text " + data["text_id"].astype(str)
        agents = data["agent_id"].astype(object).where(data["agent_id"].notna(), alone)
        # as integer codes in order of first appearance: the test groups the rows by them exactly as by the
        # ids (it numbers clusters by first appearance too), without hashing every id again for every topic
        used = pd.DataFrame({window: data[window].to_numpy(dtype=object), "agent_id": pd.factorize(agents)[0]},
                            index=data.index)
    rows, names = [], []
    for topic in topics.itertuples(index=False):
        values = data[f"topic_{topic.topic}"].astype(float)
        if values.sum() < min_mentions:
            continue
        direction = "decrease" if topic.problem_type else "increase"
        frame = used.assign(value=values)
        rows.append(stats.compare(frame, topic.topic, "proportion", window=window, value="value", cluster=cluster,
                                  direction=direction, alpha=alpha))
        names.append(topic.topic)
    if not rows:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    result = stats.adjust_family(rows, family) if len(rows) > 1 else rows[0]
    out = pd.DataFrame({"topic": result["metric"], "share_before": result["before"], "share_after": result["after"],
                        "change": result["effect"], "ci_low": result["ci_low"], "ci_high": result["ci_high"],
                        "p": result["p"], "p_adj": result["p_adj"], "n_before": result["n_before"],
                        "n_after": result["n_after"], "verdict": result["verdict"], "method": result["method"]})
    return out.sort_values("p_adj", kind="stable", na_position="last").reset_index(drop=True)


def _tested(tagged: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """The columns :func:`_compare_topics` reads (not the texts and topic lists, copied for nothing)."""
    return tagged[[c for c in ["text_id", "agent_id", *(f"topic_{name}" for name in topics.topic)] if c in tagged]]


def topic_changes(current: pd.DataFrame, previous: pd.DataFrame, topics: pd.DataFrame,
                  alpha: float = 0.05, family: str = "previous period") -> pd.DataFrame:
    """Each topic's share of comments this period against the previous one, tested.

    Parameters
    ----------
    current, previous : DataFrame
        :func:`tag` output for the two periods.
    topics : DataFrame
        The dictionary; problem types are better when they fall, praise when it rises.
    alpha : float
        Family-wise significance level (Holm across the topics).
    family : str
        Name of the family of tests.

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, one row per topic mentioned in either period, smallest adjusted p first:
        shares, change (percentage points as a fraction), its CI, p, Holm-adjusted p, sizes, the
        verdict of :mod:`qa_helpers.stats` (``improved`` / ``worsened`` / ...) and the method.
    """
    if previous.empty or current.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    both = pd.concat([_tested(previous, topics).assign(_window="before"), _tested(current, topics).assign(_window="after")],
                     ignore_index=True)
    return _compare_topics(both, topics, "_window", alpha, family)


def topic_before_after(tagged: pd.DataFrame, topics: pd.DataFrame, start, weeks_before: int = 8,
                       weeks_after: int = 8, alpha: float = 0.05, family: str = "action") -> pd.DataFrame:
    """Each topic's share of comments in the whole weeks before an action's start against the weeks after.

    Parameters
    ----------
    tagged : DataFrame
        :func:`tag` output covering both windows (the unit's comments).
    topics : DataFrame
        The dictionary.
    start : str or Timestamp
        The action's start.
    weeks_before, weeks_after : int
        Window lengths in whole weeks (:func:`qa_helpers.stats.week_windows`).
    alpha : float
        Family-wise significance level (Holm across the topics).
    family : str
        Name of the family (the action id).

    Returns
    -------
    DataFrame
        As :func:`topic_changes`.
    """
    windows = stats.week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after)
    labelled = _tested(tagged, topics).assign(_window=stats.label_windows(tagged["time"], windows))
    labelled = labelled[labelled["_window"].isin(["before", "after"])]
    if labelled["_window"].nunique() < 2:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return _compare_topics(labelled, topics, "_window", alpha, family)


def snippets(tagged: pd.DataFrame, topics: pd.DataFrame, per_topic: int = 2, width: int = 40,
             seed: int = 0, locales=None) -> pd.DataFrame:
    """A few short example comments per topic, masked again before they are shown.

    Parameters
    ----------
    tagged : DataFrame
        From :func:`tag`.
    topics : DataFrame
        The dictionary (topics in its order).
    per_topic : int
        Examples per topic (a random, reproducible pick, among the comments that fit ``width`` when
        there are enough of them).
    width : int
        Longest snippet in characters; longer text is cut with an ellipsis.
    seed : int
        Seed of the pick.
    locales : str or iterable of str, optional
        The config's ``pii_locales`` (``sources.yml``) for the masking; the kit's default without.

    Returns
    -------
    DataFrame
        ``topic, snippet``: text as written after masking, unescaped (the report escapes it).
    """
    picks = []
    for name in topics.topic:
        hits = tagged[tagged[f"topic_{name}"]]
        if hits.empty:
            continue
        short = hits[hits["text"].astype(str).str.len() <= width]
        pool = short if len(short) >= per_topic else hits  # short comments first: they read whole
        picks.append((name, pool.sample(min(per_topic, len(pool)), random_state=seed)["text"].astype(str)))
    rows = []
    if picks:  # masked in one call (text by text, as one call per topic did)
        masked = iter(mask_text(pd.concat([picked for _, picked in picks], ignore_index=True),
                                locales=DEFAULT_PII_LOCALES if locales is None else locales))
        for name, picked in picks:
            for text in (next(masked) for _ in range(len(picked))):
                text = " ".join(str(text).split())
                rows.append({"topic": name, "snippet": text if len(text) <= width else text[:width - 1] + "…"})
    return pd.DataFrame(rows, columns=["topic", "snippet"])


def recovery(tagged: pd.DataFrame, planted: dict[str, list[str]], topics: pd.DataFrame) -> pd.DataFrame:
    """Precision and recall of the topics found against planted ones (the sample's truth).

    Parameters
    ----------
    tagged : DataFrame
        From :func:`tag`, its ``text_id`` the keys of ``planted``.
    planted : dict
        ``text_id -> list of topics`` (topics outside the dictionary are ignored).
    topics : DataFrame
        The dictionary.

    Returns
    -------
    DataFrame
        ``topic, planted, found, correct, precision, recall`` per topic and a final ``all`` row
        (micro-averaged over text × topic pairs), over the texts present in both.
    """
    known = set(topics.topic)
    scored = tagged[tagged["text_id"].isin(planted.keys())]
    truth = scored["text_id"].map(lambda i: set(planted[i]) & known)
    rows = []
    for name in list(topics.topic) + ["all"]:
        if name == "all":
            p = sum(len(t) for t in truth)
            f = sum(len(t) for t in scored["topics"])
            c = sum(len(set(a) & b) for a, b in zip(scored["topics"], truth))
        else:
            found = scored[f"topic_{name}"].to_numpy()
            wanted = truth.map(lambda t: name in t).to_numpy(dtype=bool)
            p, f, c = int(wanted.sum()), int(found.sum()), int((found & wanted).sum())
        rows.append({"topic": name, "planted": p, "found": f, "correct": c,
                     "precision": c / f if f else np.nan, "recall": c / p if p else np.nan})
    return pd.DataFrame(rows)


def signal_agreement(signal: pd.Series, dissatisfied: pd.Series) -> pd.DataFrame:
    """How often the text signal agrees with a yes/no dissatisfaction (planted tone, CSAT ≤ 3).

    Parameters
    ----------
    signal : Series
        ``dissatisfied`` / ``neutral`` / ``satisfied`` from :func:`~qa_helpers.voc.text.dissatisfaction`.
    dissatisfied : Series of bool
        The reference, aligned with ``signal``; a missing value (no CSAT given) leaves the text out.

    Returns
    -------
    DataFrame
        One row: ``n`` (texts with a non-neutral signal), ``agreement`` (share where the signal says
        what the reference says), ``neutral`` (share of all texts left neutral), ``recall``
        (dissatisfied texts the signal flags) and ``precision``.
    """
    known = dissatisfied.notna().to_numpy()
    signal, dissatisfied = signal[known], dissatisfied[known]
    decided = signal != "neutral"
    says = signal == "dissatisfied"
    ref = dissatisfied.astype(bool)
    n = int(decided.sum())
    flagged, wanted = int(says.sum()), int(ref.sum())
    return pd.DataFrame([{
        "n": n, "agreement": float((says[decided] == ref[decided]).mean()) if n else np.nan,
        "neutral": float((~decided).mean()) if len(signal) else np.nan,
        "recall": float((says & ref).sum() / wanted) if wanted else np.nan,
        "precision": float((says & ref).sum() / flagged) if flagged else np.nan}])
