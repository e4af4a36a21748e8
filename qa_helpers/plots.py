"""Plot style and the kit's charts. Each chart function takes its data and an ``ax`` and returns the ``ax``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

PALETTE = "colorblind"


def set_style() -> None:
    """One look for every notebook: readable at report size, white grid, colour-blind palette."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    plt.rcParams.update({
        "figure.figsize": (9, 4.5), "figure.dpi": 100, "savefig.dpi": 100,
        "axes.titlesize": 13, "axes.titleweight": "bold", "axes.labelsize": 11,
        "figure.autolayout": True,
    })


def _ax(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.gca()


def plot_quarantine_reasons(reasons: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars: quarantined rows by source and rule (from ``quality.quarantine_reasons``)."""
    ax = _ax(ax)
    if reasons.empty:
        ax.text(0.5, 0.5, "No rows were quarantined", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    data = reasons.assign(label=reasons["source"] + " · " + reasons["rule"]).sort_values("rows")
    ax.barh(data["label"], data["rows"], color=sns.color_palette(PALETTE)[3])
    for y, value in enumerate(data["rows"]):
        ax.annotate(f"{value:,}", (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_title("Quarantined rows by source and rule")
    ax.set_xlabel("Rows quarantined (count)")
    ax.set_ylabel("")
    ax.margins(x=0.12)
    return ax


def plot_missingness(missing: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Share of empty values per column, for the columns that have any (from ``quality.missingness``)."""
    ax = _ax(ax)
    data = missing[missing["missing"] > 0].sort_values("missing_share")
    if data.empty:
        ax.text(0.5, 0.5, "No empty values", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    labels = data["table"] + "." + data["column"] if data["table"].notna().all() else data["column"]
    ax.barh(labels, data["missing_share"], color=sns.color_palette(PALETTE)[0])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Empty values by column (columns with any)")
    ax.set_xlabel("Share of rows empty (%)")
    ax.set_ylabel("")
    return ax


def plot_channel_coverage(coverage: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Heat map of tickets per week and channel (from ``quality.channel_coverage``): gaps show as pale cells."""
    ax = _ax(ax)
    if coverage.empty:
        ax.text(0.5, 0.5, "No tickets in this period", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    grid = coverage.pivot(index="channel", columns="week", values="tickets").fillna(0)
    grid.columns = [pd.Timestamp(c).strftime("%m-%d") for c in grid.columns]
    sns.heatmap(grid, ax=ax, cmap="Blues", linewidths=0.5, cbar_kws={"label": "Tickets (count)"})
    ax.set_title("Tickets per week and channel")
    ax.set_xlabel("Week starting (month-day)")
    ax.set_ylabel("Channel")
    ax.tick_params(axis="x", labelrotation=90)
    ax.tick_params(axis="y", labelrotation=0)
    return ax
