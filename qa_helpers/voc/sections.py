"""The report sections of the voice-of-customer notebook (``09_voice_of_customer``).

:func:`load` reads the unit's masked comments once (this period, the previous one, the year so far,
the weeks around each action, online reviews and complaint texts) and tags them with the topic
dictionary; each section then returns what its cell shows: a figure, a table, a line of text or a
list of them. A section whose data the archive lacks returns one plain line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import pandas as pd

from qa_helpers.data import archive as qa_archive
from qa_helpers.data.schemas import TIME_COLUMNS
from qa_helpers.periods import parse_period
from qa_helpers.report.context import Context
from qa_helpers.report.labels import t, table
from qa_helpers.report.shared_figures import shared_figure
from qa_helpers.report.texts import Said, say, verbatim
from qa_helpers.voc import analysis, plots, text
from qa_helpers.voc.topics import load_topics

MIN_COMMENTS = 20  # fewer comments than this in a group: no share is shown for it


@dataclass
class VocData:
    """A unit's tagged texts for one period and what the sections need besides."""

    topics: pd.DataFrame
    lexicon: dict
    labels: dict[str, str]
    current: pd.DataFrame
    previous: pd.DataFrame
    year: pd.DataFrame
    reviews: pd.DataFrame
    complaints: pd.DataFrame
    everything: pd.DataFrame = field(default_factory=pd.DataFrame)
    signal: pd.DataFrame | None = None      # text.dissatisfaction of ``current``, computed once in load()
    locales: tuple[str, ...] | None = None  # the config's pii_locales: snippets and keywords are masked with them
    sampled: dict[str, int] = field(default_factory=dict)  # kind -> its texts in the period, when only a sample was read
    teams: list[str] | None = None  # the unit's teams with comments, when ``everything`` is a sample (read when
    # an action names no team: :func:`_action_teams`)


def _tagged(ctx: Context, surveys: pd.DataFrame, tickets: pd.DataFrame, topics: pd.DataFrame,
            source: str = "survey") -> pd.DataFrame:
    return analysis.tag(analysis.survey_comments(surveys, tickets, source=source), topics)


MAX_TEXTS = 20_000  # texts of one kind analysed for the period; above it a seeded random sample of about this many
SAMPLE_SEED = 17     # the sample's seed: the same archive gives the same sample
LINKED = ["channel", "customer_type", "agent_id"]  # what a text's ticket tells (archived on its survey or complaint)
READ = {"surveys": ["survey_id", "ticket_id", "answered_at", "csat", "comment", "source", "team", *LINKED],
        "complaints": ["complaint_id", "ticket_id", "received_at", "text", "team", *LINKED]}  # what _texts reads


def load(ctx: Context, weeks_before: int = 8, weeks_after: int = 8, max_texts: int = MAX_TEXTS) -> VocData:
    """Every text the notebook analyses, tagged: survey comments of this period, the previous one, the
    year so far and the weeks around each action (for the unit), online reviews (the whole company:
    reviews name no team) and complaint texts of this period.

    Only those texts are read, selected in DuckDB: no ticket is loaded (a survey or complaint carries
    its ticket's channel, customer type and agent). When a kind of text (survey comments, reviews,
    complaints) has more than ``max_texts`` in the period, a seeded random sample of about that many is
    analysed (by a hash of the text's id, the same share in every window), and
    :attr:`VocData.sampled` records it so that the report says so.

    Parameters
    ----------
    ctx : Context
        The notebook's context (unit, period, archive, config folder, language).
    weeks_before, weeks_after : int
        The windows around each action's start that :func:`actions_section` compares.
    max_texts : int
        Most texts of one kind analysed for the period before sampling.

    Returns
    -------
    VocData
    """
    topics = load_topics(ctx.config)
    labels = dict(zip(topics.topic, topics[f"label_{ctx.language}" if ctx.language == "zh" else "label_en"]))
    year = parse_period(str(ctx.period.start.year))
    previous_period = ctx.period.previous()
    windows = [(min(year.start, previous_period.start), ctx.period.end), *_action_windows(ctx, weeks_before, weeks_after)]
    sampled: dict[str, int] = {}
    period = [(ctx.period.start, ctx.period.end)]
    unit = qa_archive.team_condition(ctx.teams)
    kinds = {}  # kind -> (its texts of the period, its rows read): comments and reviews share one scan
    if ctx.has("surveys", "comment"):
        kinds["comments"] = (f"source = 'survey' AND {unit}", f"source = 'survey' AND {unit} AND ({_within('surveys', windows)})")
    if ctx.has("surveys"):
        kinds["reviews"] = ("source = 'review'", f"source = 'review' AND ({_within('surveys', period)})")
    # reviews name no team: the same rows for every unit of the period, kept by a batch kernel once read
    read = _texts(ctx, "surveys", kinds, max_texts, sampled, kept=("reviews",)) if kinds else {}
    if "comments" in read:
        frame = read["comments"]
        everything = _tagged(ctx, frame, _linked(ctx, "surveys", frame), topics)
    else:
        everything = _tagged(ctx, _all_surveys(ctx), pd.DataFrame(columns=["ticket_id", *LINKED]), topics)
    current = everything[(everything["time"] >= ctx.period.start) & (everything["time"] < ctx.period.end)]
    previous = everything[(everything["time"] >= previous_period.start) & (everything["time"] < previous_period.end)]
    year_tagged = everything[(everything["time"] >= year.start) & (everything["time"] < ctx.period.end)]
    reviews = read.get("reviews", pd.DataFrame(columns=["survey_id", "answered_at", "comment", "csat", "source"]))
    if ctx.has("complaints", "text"):
        complaints = _texts(ctx, "complaints", {"complaints": (unit, f"{unit} AND ({_within('complaints', period)})")},
                            max_texts, sampled)["complaints"]
        complaint_tagged = analysis.tag(analysis.complaint_texts(complaints, _linked(ctx, "complaints", complaints)),
                                        topics)
    else:
        complaint_tagged = analysis.tag(analysis.survey_comments(reviews.iloc[:0], None, None), topics)
    lexicon = text.load_lexicon(ctx.config)
    current = current.reset_index(drop=True)
    return VocData(topics=topics, lexicon=lexicon, labels=labels,
                   current=current, previous=previous.reset_index(drop=True),
                   year=year_tagged.reset_index(drop=True),
                   reviews=_tagged(ctx, reviews, None, topics, source="review"), complaints=complaint_tagged,
                   everything=everything,
                   signal=text.dissatisfaction(current["text"], topics, lexicon,
                                               analysis.topic_columns(current, topics)),
                   locales=text.config_locales(ctx.files.get("sources.yml") or ctx.config),
                   sampled=sampled)


def _action_windows(ctx: Context, weeks_before: int, weeks_after: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """From the first day before to the last day after each action of the register covering this unit."""
    from qa_helpers import stats

    out = []
    for start in ctx.actions()["start"] if ctx.has("surveys", "comment") else []:
        weeks = stats.week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after)
        out.append((pd.Timestamp(weeks["start"].min()), pd.Timestamp(weeks["end"].max())))
    return out


def _text_filter(table: str) -> str:
    """SQL: the rows that carry a text (the exact test, stripped of spaces, follows in pandas)."""
    column = "comment" if table == "surveys" else "text"
    return f"{column} IS NOT NULL AND {column} <> ''"


def _within(table: str, windows: list[tuple[pd.Timestamp, pd.Timestamp]]) -> str:
    """SQL: the rows whose time falls in any of the windows."""
    time = TIME_COLUMNS[table]
    return " OR ".join(f"({time} >= TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' AND {time} < TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}')"
                       for start, end in windows) or "false"


def _sample_filter(table: str, fraction: float) -> str:
    """SQL: a seeded random share of the rows, by a hash of their id (none when the share is 1)."""
    if fraction >= 1:
        return "true"
    key = "survey_id" if table == "surveys" else "complaint_id"
    return f"hash({key} || '#{SAMPLE_SEED}') % 1000000 < {int(round(fraction * 1_000_000))}"


def _texts(ctx: Context, table: str, kinds: dict[str, tuple[str, str]], most: int,
           sampled: dict[str, int], kept: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """The rows of each kind of text in a table, in two scans however many kinds: one of the period's
    files counting each kind's texts in the period, one of the archive reading each kind's rows.

    ``kinds`` maps a kind to two SQL conditions over the whole company's rows: which rows are its texts
    of the period (counted), and which rows it reads. A kind with more than ``most`` texts in the period
    is read at the share ``most`` / count (:func:`_sample_filter`), and ``sampled`` records it (kind ->
    texts in the period). Rows come in the archive's order (month files in turn, team by team, in time
    order within a team): snippets pick by position. The rows of a kind in ``kept`` (one whose conditions name no unit) are
    kept by a batch kernel (:func:`~qa_helpers.data.archive.keep`, keyed by the files and conditions
    read): the next unit of the period reads only the others."""
    has_text = _text_filter(table)
    counted = ctx.query("SELECT " + ", ".join(f"count(*) FILTER (WHERE {c}) AS {k}" for k, (c, _) in kinds.items())
                        + f" FROM {{t}} WHERE {has_text}",
                        t=qa_archive.scan_sql(table, "ALL", ctx.period, archive=ctx.archive)).iloc[0]
    shares = {}
    for kind in kinds:
        total = int(counted[kind])
        shares[kind] = 1.0 if total <= most else most / total
        if total > most:
            sampled[kind] = total
    every = qa_archive.scan_sql(table, "ALL", None, archive=ctx.archive)
    present = set(qa_archive.source_columns(ctx.duckdb, every))
    # only the columns the sections read: the others (scores, sub-scores, categories) are most of the bytes
    rows = qa_archive.scan_sql(table, "ALL", None, archive=ctx.archive, columns=[c for c in READ[table] if c in present])
    which = {k: f"({reads}) AND {_sample_filter(table, shares[k])}" for k, (_, reads) in kinds.items()}
    keys = {k: ("voc texts", rows, has_text, which[k]) for k in kept if k in which}
    found = {k: frame for k, frame in ((k, qa_archive.recall(key)) for k, key in keys.items()) if frame is not None}
    wanted = [k for k in kinds if k not in found]
    if wanted:
        frame = ctx.query(f"SELECT *, CASE {' '.join(f'WHEN {which[k]} THEN {i}' for i, k in enumerate(wanted))} END "
                          f"AS _kind FROM {{t}} WHERE {has_text} AND ({' OR '.join(f'({which[k]})' for k in wanted)})",
                          t=rows)
        for i, kind in enumerate(wanted):
            found[kind] = frame[frame["_kind"] == i].drop(columns="_kind").reset_index(drop=True)
            if kind in keys:
                qa_archive.keep(keys[kind], found[kind])
    return {k: found[k] for k in kinds}


def _linked(ctx: Context, table: str, frame: pd.DataFrame) -> pd.DataFrame | None:
    """What each text's ticket tells (channel, customer type, agent), as the archive linked it at ingest."""
    if not ctx.has("tickets") or "ticket_id" not in frame:
        return None
    return frame[["ticket_id", *[c for c in LINKED if c in frame]]].dropna(subset=["ticket_id"])


def _comment_teams(ctx: Context) -> list[str]:
    """Every team with a survey comment in the unit, any period (what an action for no named team covers)."""
    rows = qa_archive.scan_sql("surveys", ctx.unit, None, archive=ctx.archive, columns=["team", "source", "comment"])
    found = ctx.query(f"SELECT DISTINCT team FROM {{t}} WHERE team IS NOT NULL AND source = 'survey' AND "
                      f"{_text_filter('surveys')}",
                      t=rows)
    return sorted(found["team"])


def _action_teams(ctx: Context, data: VocData) -> list[str]:
    """The teams an action naming none covers: the unit's teams with survey comments (any period), read
    once when the comments are a sample (:attr:`VocData.teams`), else those of the comments read."""
    if data.teams is None and "comments" in (data.sampled or {}):
        data.teams = _comment_teams(ctx)
    return data.teams if data.teams is not None else sorted(set(data.everything["team"].dropna()))


def sample_note(ctx: Context, data: VocData, kind: str) -> Said | None:
    """One line saying that a kind of text was sampled (n of N, the share), or ``None`` when all were read."""
    if kind not in (data.sampled or {}):
        return None
    total = data.sampled[kind]
    n = len({"comments": data.current, "reviews": data.reviews, "complaints": data.complaints}[kind])
    return say(f"voc.sampled_{kind}", ctx.language, n=f"{n:,}", total=f"{total:,}", share=_pct(n / total),
               seed=SAMPLE_SEED)


def _signal(data: VocData) -> pd.Series:
    """The dissatisfaction signal of this period's comments (computed in :func:`load`; here only for
    a :class:`VocData` built without it)."""
    if data.signal is None:
        data.signal = text.dissatisfaction(data.current["text"], data.topics, data.lexicon,
                                           analysis.topic_columns(data.current, data.topics))
    return data.signal["signal"]


def _all_surveys(ctx: Context) -> pd.DataFrame:
    """The unit's survey answers of every period (an action's windows may reach into other years)."""
    columns = ["survey_id", "ticket_id", "answered_at", "csat", "comment", "source", "team"]
    if not ctx.has("surveys", "comment"):
        return pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c == "answered_at" else object) for c in columns})
    return qa_archive.load("surveys", ctx.unit, None, archive=ctx.archive, where={"source": "survey"})


def _missing(ctx: Context, data: VocData) -> str | None:
    note = ctx.missing_note("surveys", "surveys.comment")
    if note:
        return note
    if data.current.empty:
        return say("voc.no_comments", ctx.language, period=str(ctx.period))
    return None


def _pct(value: float) -> str:
    return f"{value:.0%}".replace("%", " %")


def _topic_list(counts: pd.DataFrame, data: VocData, language: str, skip: int = 1, most: int = 3) -> str:
    rows = counts[counts["problem_type"] & (counts["mentions"] > 0)].iloc[skip:skip + most]
    sep = "、" if language == "zh" else ", "
    return sep.join(f"{data.labels[r.topic]} ({r.mentions:,})" for r in rows.itertuples())


# ---------------------------------------------------------------- headline


def headline(ctx: Context, data: VocData) -> list:
    """The top complaint of the period with its count, the next ones, and how many comments were dissatisfied."""
    note = _missing(ctx, data)
    if note:
        return [note]
    counts = analysis.topic_counts(data.current, data.topics)
    problems = counts[counts["problem_type"] & (counts["mentions"] > 0)]
    signal = _signal(data)
    lines = []
    if problems.empty:
        lines.append(say("voc.headline_none", ctx.language, period=str(ctx.period), comments=f"{len(data.current):,}"))
    else:
        top = problems.iloc[0]
        lines.append(say("voc.headline", ctx.language, period=str(ctx.period), topic=data.labels[top.topic],
                         mentions=f"{top.mentions:,}", comments=f"{len(data.current):,}", share=_pct(top.share)))
        if len(problems) > 1:
            lines.append(say("voc.headline_next", ctx.language, topics=_topic_list(counts, data, ctx.language)))
    lines.append(say("voc.headline_signal", ctx.language, share=_pct((signal == "dissatisfied").mean()),
                     n=f"{len(signal):,}"))
    return [*lines, sample_note(ctx, data, "comments")]


def summary(data: VocData) -> dict:
    """Figures for the batch index: comments this period and the top problem topic with its mentions."""
    counts = analysis.topic_counts(data.current, data.topics)
    problems = counts[counts["problem_type"] & (counts["mentions"] > 0)]
    top = problems.iloc[0] if len(problems) else None
    return {"voc_comments": int(len(data.current)), "voc_top_topic": None if top is None else str(top.topic),
            "voc_top_mentions": None if top is None else int(top.mentions)}


# ---------------------------------------------------------------- Pareto, heat maps, trend


def pareto_section(ctx: Context, data: VocData) -> list:
    """Pareto of problem topics this period and the table of every topic's mentions and share."""
    note = _missing(ctx, data)
    if note:
        return [note]
    counts = analysis.topic_counts(data.current, data.topics)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    plots.plot_topic_pareto(counts, data.labels, ax=ax, language=ctx.language)
    shown = counts[counts["mentions"] > 0].assign(topic=lambda d: d["topic"].map(data.labels))
    return [fig, table(shown[["rank", "topic", "mentions", "share"]].rename(columns={
        "rank": "voc_rank", "topic": "voc_topic", "mentions": "voc_mentions", "share": "voc_share_of_comments"}),
        ctx.language, percent=["voc_share_of_comments"])]


def heatmap_section(ctx: Context, data: VocData, by: str) -> list:
    """Share of comments mentioning each problem topic by channel (or customer type)."""
    note = _missing(ctx, data) or ctx.missing_note("tickets", f"tickets.{by}")
    if note:
        return [note]
    problems = data.topics[data.topics["problem_type"]]  # praise would swamp the colour scale
    grid = analysis.topic_by(data.current, problems, by)
    grid = grid[grid["comments"] >= MIN_COMMENTS]
    if grid.empty:
        return [say("voc.too_few", ctx.language, n=MIN_COMMENTS)]
    fig, ax = plt.subplots(figsize=(2.2 + 1.4 * grid[by].nunique(), 0.45 * len(problems) + 1.5))
    plots.plot_topic_heatmap(grid, data.labels, by, ax=ax, language=ctx.language)
    return [fig]


def trend_section(ctx: Context, data: VocData) -> list:
    """Monthly share of comments mentioning the top problem topics of the year so far."""
    note = _missing(ctx, data)
    if note:
        return [note]
    counts = analysis.topic_counts(data.year, data.topics)
    top = counts[counts["problem_type"] & (counts["mentions"] > 0)]["topic"].head(5).tolist()
    trend = analysis.monthly(data.year, data.topics)
    trend = trend[trend["topic"].isin(top) & (trend["comments"] >= MIN_COMMENTS)]
    trend = trend.set_index("topic").loc[[n for n in top if n in set(trend["topic"])]].reset_index()
    fig, ax = plt.subplots(figsize=(10, 4))
    plots.plot_topic_trend(trend, data.labels, ax=ax, language=ctx.language)
    return [fig, say("voc.trend_note", ctx.language, n=MIN_COMMENTS)]


# ---------------------------------------------------------------- changes


def _change_table(ctx: Context, data: VocData, changes: pd.DataFrame):
    def pp(value: float) -> str:
        return f"{value * 100:+.1f} pp"
    shown = pd.DataFrame({
        "voc_topic": changes["topic"].map(data.labels), "share_before": changes["share_before"],
        "share_after": changes["share_after"], "change": changes["change"].map(pp),
        "ba_ci": [f"{pp(lo)} … {pp(hi)}" if pd.notna(lo) else "–" for lo, hi in zip(changes["ci_low"], changes["ci_high"])],
        "p_adj": changes["p_adj"], "n_before": changes["n_before"], "n_after": changes["n_after"],
        "verdict": changes["verdict"]})
    return table(shown, ctx.language, values=["verdict"], percent=["share_before", "share_after"], precision=3)


def _moved_lines(ctx: Context, data: VocData, changes: pd.DataFrame) -> list:
    moved = changes[changes["verdict"].isin(["improved", "worsened"])]
    if moved.empty:
        return [say("voc.nothing_moved", ctx.language)]
    return [say(f"voc.moved_{r.verdict}", ctx.language, topic=data.labels[r.topic], before=_pct(r.share_before),
                after=_pct(r.share_after), p=f"{r.p_adj:.2g}") for r in moved.itertuples()]


def changes_section(ctx: Context, data: VocData, alpha: float = 0.05) -> list:
    """Each topic's share this period against the previous one, tested (Holm across the topics)."""
    note = _missing(ctx, data)
    if note:
        return [note]
    if data.previous.empty:
        return [say("voc.no_previous", ctx.language, period=str(ctx.period.previous()))]
    changes = analysis.topic_changes(data.current, data.previous, data.topics, alpha=alpha)
    return [say("voc.changes_between", ctx.language, before=str(ctx.period.previous()), after=str(ctx.period)),
            *_moved_lines(ctx, data, changes), _change_table(ctx, data, changes)]


def actions_section(ctx: Context, data: VocData, weeks_before: int = 8, weeks_after: int = 8,
                    alpha: float = 0.05) -> list:
    """For each action of the register covering this unit: which topics' shares moved between the
    whole weeks before its start and the weeks after."""
    actions = ctx.actions()
    if actions.empty:
        return [say("voc.no_actions", ctx.language)]
    if ctx.missing("surveys", "surveys.comment"):
        return [ctx.missing_note("surveys", "surveys.comment")]
    items = []
    for action in actions.itertuples(index=False):
        teams = list(action.teams) if len(action.teams) else _action_teams(ctx, data)
        unit = data.everything[data.everything["team"].isin(teams)]
        changes = analysis.topic_before_after(unit, data.topics, action.start, weeks_before, weeks_after,
                                              alpha=alpha, family=action.action_id)
        items.append(say("voc.action", ctx.language, action=verbatim(action.action_id), team=verbatim(", ".join(teams)),
                         start=f"{pd.Timestamp(action.start):%Y-%m-%d}", weeks_before=weeks_before,
                         weeks_after=weeks_after))
        if changes.empty:
            items.append(say("voc.action_no_data", ctx.language))
            continue
        items += [*_moved_lines(ctx, data, changes), _change_table(ctx, data, changes)]
    return items


# ---------------------------------------------------------------- signal, snippets, keywords


def signal_section(ctx: Context, data: VocData) -> list:
    """The text's dissatisfaction signal against the CSAT score of the same answer, this period."""
    note = _missing(ctx, data)
    if note:
        return [note]
    signal = _signal(data)
    csat = pd.to_numeric(data.current["csat"], errors="coerce")
    # no CSAT given is no reference: left out of the agreement, never counted as "not dissatisfied"
    agreement = analysis.signal_agreement(signal, (csat <= 3).astype("boolean").mask(csat.isna())).iloc[0]
    counts = signal.value_counts().reindex(list(text.SIGNALS), fill_value=0)
    shown = pd.DataFrame({"voc_signal": counts.index, "voc_comments": counts.to_numpy(),
                          "share": counts.to_numpy() / max(len(signal), 1)})
    return [table(shown, ctx.language, values=["voc_signal"], percent=["share"]),
            say("voc.signal_agreement", ctx.language, agreement=_pct(agreement["agreement"]), n=f"{int(agreement['n']):,}",
                recall=_pct(agreement["recall"]) if pd.notna(agreement["recall"]) else "–",
                neutral=_pct(agreement["neutral"]))]


def snippets_section(ctx: Context, data: VocData, per_topic: int = 2) -> list:
    """Two short example comments per topic mentioned this period (masked, shown as written)."""
    note = _missing(ctx, data)
    if note:
        return [note]
    examples = analysis.snippets(data.current, data.topics, per_topic=per_topic, locales=data.locales)
    lines = [f"- **{data.labels[r.topic]}**: {verbatim(r.snippet)}" for r in examples.itertuples()]
    return [Said("\n".join(lines))]


def keywords_section(ctx: Context, data: VocData) -> list:
    """Words frequent in the comments no topic matched: candidates for the topic dictionary."""
    note = _missing(ctx, data)
    if note:
        return [note]
    found = text.missed_keywords(data.current["text"], data.topics, data.lexicon, locales=data.locales,
                                 mentions=analysis.topic_columns(data.current, data.topics))
    unmatched = found.attrs.get("unmatched", 0)
    lead = say("voc.keywords_unmatched", ctx.language, unmatched=f"{unmatched:,}", comments=f"{len(data.current):,}")
    if found.empty:
        return [lead, say("voc.keywords_none", ctx.language)]
    lines = [f"- {verbatim(r.keyword)}: {r.texts:,} ({_pct(r.share)})" for r in found.itertuples()]
    return [lead, Said("\n".join(lines))]


# ---------------------------------------------------------------- reviews and complaints


def reviews_section(ctx: Context, data: VocData) -> list:
    """Online reviews, apart from surveys: the whole company's (reviews name no team), bursts removed at
    ingest, with their own Pareto and dissatisfaction share."""
    note = ctx.missing_note("surveys", "surveys.source")
    if note:
        return [note]
    bursts = (ctx.ingest_report().get("sources", {}).get("surveys", {}).get("by_rule", {}) or {}).get("review_burst", 0)
    lead = [say("voc.reviews_lead", ctx.language, n=f"{len(data.reviews):,}", bursts=f"{bursts:,}"),
            sample_note(ctx, data, "reviews")]
    if data.reviews.empty:
        return lead
    counts = analysis.topic_counts(data.reviews, data.topics)
    signal = text.dissatisfaction(data.reviews["text"], data.topics, data.lexicon,
                                  analysis.topic_columns(data.reviews, data.topics))["signal"]
    fig = shared_figure(_reviews_figure, counts, data.labels, ctx.language)  # reviews name no team
    top = counts[counts["problem_type"] & (counts["mentions"] > 0)]
    line = say("voc.reviews_top", ctx.language, topic=data.labels[top.iloc[0].topic], mentions=f"{top.iloc[0].mentions:,}",
               share=_pct((signal == "dissatisfied").mean())) if len(top) else None
    return [*lead, line, fig]


def _reviews_figure(counts: pd.DataFrame, labels: dict, language: str):
    fig, ax = plt.subplots(figsize=(9, 4))
    plots.plot_topic_pareto(counts, labels, ax=ax, language=language)
    ax.set_title(t("voc_reviews_title", language))
    return fig


def complaints_section(ctx: Context, data: VocData) -> list:
    """Topics of this period's complaint texts (a complaint may name a hot spot and a problem)."""
    note = ctx.missing_note("complaints", "complaints.text")
    if note:
        return [note]
    if data.complaints.empty:
        return [say("voc.no_complaints", ctx.language, period=str(ctx.period))]
    counts = analysis.topic_counts(data.complaints, data.topics)
    shown = counts[counts["problem_type"] & (counts["mentions"] > 0)].assign(topic=lambda d: d["topic"].map(data.labels))
    return [say("voc.complaints_lead", ctx.language, n=f"{len(data.complaints):,}"),
            sample_note(ctx, data, "complaints"),
            table(shown[["topic", "mentions", "share"]].rename(columns={
                "topic": "voc_topic", "mentions": "voc_mentions", "share": "voc_share_of_complaints"}),
                ctx.language, percent=["voc_share_of_complaints"])]
