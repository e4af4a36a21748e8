"""Figures of the voice-of-customer step: topic Pareto, topic × channel heat map, monthly trend.

Each takes the tables of :mod:`qa_helpers.voc.analysis`, the topic labels (``topic -> label`` in the
reader's language) and an ``ax``, and returns the ``ax``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from qa_helpers.report.heatmap import heatmap
from qa_helpers.report.labels import t
from qa_helpers.report.plots import COLOURS


def _ax(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=(9, 4))[1]


def _empty(ax: Axes, language: str) -> Axes:
    ax.text(0.5, 0.5, t("voc_no_comments", language), ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def plot_topic_pareto(counts: pd.DataFrame, labels: dict[str, str], ax: Axes | None = None,
                      language: str = "en", threshold: float = 0.8) -> Axes:
    """Pareto of problem topics: mentions as bars (the vital few darker), the cumulative share of
    mentions as a line, and the 80 % line.

    Parameters
    ----------
    counts : DataFrame
        :func:`~qa_helpers.voc.analysis.topic_counts` output (problem types with mentions are drawn).
    labels : dict
        Topic name to its label in ``language``.
    ax : Axes, optional
    language : {"en", "zh"}
    threshold : float
        Cumulative share that marks the vital few.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    shown = counts[counts["problem_type"] & (counts["mentions"] > 0)]
    if shown.empty:
        return _empty(ax, language)
    cumulative = shown["mentions"].cumsum() / shown["mentions"].sum()
    vital = cumulative.shift(fill_value=0) < threshold
    names = [labels.get(n, n) for n in shown["topic"]]
    ax.bar(names, shown["mentions"], color=[COLOURS[3] if v else "0.7" for v in vital])
    for x, value in enumerate(shown["mentions"]):
        ax.annotate(f"{value:,}", (x, value), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
    ax.set_ylabel(t("voc_mentions", language))
    ax.tick_params(axis="x", labelrotation=30)
    twin = ax.twinx()
    twin.plot(names, cumulative, color="0.2", marker="o")
    twin.axhline(threshold, color="0.35", linestyle="--", linewidth=1.2)
    twin.set_ylim(0, 1.05)
    twin.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    twin.set_ylabel(f"{t('cumulative_share', language)} (%)")
    twin.grid(False)
    ax.set_title(t("voc_pareto_title", language))
    return ax


def plot_topic_heatmap(grid: pd.DataFrame, labels: dict[str, str], by: str, ax: Axes | None = None,
                       language: str = "en") -> Axes:
    """Share of comments mentioning each topic (rows) within each value of ``by`` (columns).

    Parameters
    ----------
    grid : DataFrame
        :func:`~qa_helpers.voc.analysis.topic_by` output.
    labels : dict
        Topic name to its label.
    by : str
        The breakdown column (``channel``, ``customer_type``); its values are translated.
    ax : Axes, optional
    language : {"en", "zh"}

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    if grid.empty:
        return _empty(ax, language)
    wide = grid.pivot(index="topic", columns=by, values="share")
    wide = wide.loc[[n for n in labels if n in wide.index]]
    sizes = grid.drop_duplicates(by).set_index(by)["comments"]
    wide.index = [labels[n] for n in wide.index]
    wide.columns = [f"{t(str(c), language)}\n(n={int(sizes[c]):,})" for c in wide.columns]
    heatmap(wide, ax, annot=wide.map(lambda v: f"{v:.0%}"), fmt="", cmap="Reds", linewidths=0.5,
            cbar_label=t("voc_share_of_comments", language), cbar_format=PercentFormatter(1.0, decimals=0))
    ax.set_title(t(f"voc_heat_{by}", language))
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="y", labelrotation=0)
    return ax


def plot_topic_trend(trend: pd.DataFrame, labels: dict[str, str], ax: Axes | None = None,
                     language: str = "en") -> Axes:
    """Monthly share of comments mentioning each topic, one line per topic.

    Parameters
    ----------
    trend : DataFrame
        :func:`~qa_helpers.voc.analysis.monthly` output, restricted to the topics to draw.
    labels : dict
        Topic name to its label.
    ax : Axes, optional
    language : {"en", "zh"}

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    if trend.empty:
        return _empty(ax, language)
    for i, (name, rows) in enumerate(trend.groupby("topic", sort=False)):
        rows = rows.sort_values("month")
        ax.plot(rows["month"], rows["share"], marker="o", label=labels.get(name, name),
                color=COLOURS[i % 10])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(t("voc_share_of_comments", language))
    ax.set_xlabel(t("month", language))
    ax.set_title(t("voc_trend_title", language))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax
