"""Plot style and the kit's charts. Each chart function takes its data and an ``ax`` and returns the ``ax``."""

from __future__ import annotations

import logging
import warnings
from functools import lru_cache

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from qa_helpers.measures.rootcause import DIMENSIONS
from qa_helpers.report.heatmap import heatmap
from qa_helpers.report.labels import t

PALETTE = "colorblind"
# seaborn's "colorblind" palette as constants: importing seaborn imports scipy.stats (about 1.3 s of a
# notebook's start), so it is imported only by the charts that draw with it
COLOURS = tuple(mpl.colors.to_rgb(c) for c in ("#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC", "#CA9161",
                                               "#FBAFE4", "#949494", "#ECE133", "#56B4E9"))
# what sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook") sets (tests/test_startup.py
# holds the two equal), and its colour codes: "b", "g", "r", ... in the palette's colours, "k" a soft black.
# All but "image.cmap": seaborn's "rocket" exists only once seaborn is imported, and every kit chart that maps
# colours names its own map
THEME = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.facecolor": "white", "axes.grid": True,
    "axes.labelcolor": ".15", "axes.labelsize": 12, "axes.linewidth": 1.25, "axes.spines.bottom": True,
    "axes.spines.left": True, "axes.spines.right": True, "axes.spines.top": True, "axes.titlesize": 12,
    "axes.prop_cycle": cycler("color", COLOURS), "figure.facecolor": "white", "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 12, "grid.color": ".8", "grid.linestyle": "-", "grid.linewidth": 1,
    "legend.fontsize": 11, "legend.title_fontsize": 12, "lines.linewidth": 1.5, "lines.markersize": 6,
    "lines.solid_capstyle": "round", "patch.edgecolor": "w", "patch.force_edgecolor": True, "patch.linewidth": 1,
    "text.color": ".15", "xtick.bottom": False, "xtick.color": ".15", "xtick.direction": "out",
    "xtick.labelsize": 11, "xtick.major.size": 6, "xtick.major.width": 1.25, "xtick.minor.size": 4,
    "xtick.minor.width": 1, "xtick.top": False, "ytick.color": ".15", "ytick.direction": "out",
    "ytick.labelsize": 11, "ytick.left": False, "ytick.major.size": 6, "ytick.major.width": 1.25,
    "ytick.minor.size": 4, "ytick.minor.width": 1, "ytick.right": False,
}
COLOUR_CODES = dict(zip("bgrmyck", [COLOURS[i] for i in (0, 2, 3, 4, 8, 9)] + [(0.1, 0.1, 0.1)]))
# The bundled CJK font has one weight; matplotlib would log a line per bold title drawn in it.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei",
                "Microsoft YaHei", "PingFang SC")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """A font family that draws Chinese: the kit's bundled Noto Sans CJK, else one the system has."""
    try:
        import noto_cjk_sans_otc

        font_manager.fontManager.addfont(str(noto_cjk_sans_otc.FONT_PATH))
    except (ImportError, OSError, RuntimeError):
        pass
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def set_style(language: str = "en") -> str:
    """One look for every notebook; returns the language the labels will actually use.

    Readable at report size, white grid, colour-blind palette, no mathtext. For ``zh`` a CJK font is put
    first so Chinese renders as text, never as empty boxes; with no CJK font available it
    warns and falls back to English labels.
    """
    plt.rcParams.update(THEME)
    for code, rgb in COLOUR_CODES.items():  # one by one: setting an item clears the conversion cache, update() does not
        mpl.colors.colorConverter.colors[code] = rgb
    plt.rcParams.update({
        "figure.figsize": (9, 4.5), "figure.dpi": 100, "savefig.dpi": 100,
        "axes.titlesize": 13, "axes.titleweight": "bold", "axes.labelsize": 11,
        "figure.autolayout": True, "axes.unicode_minus": False,
        # labels carry names from the exports: "$" in an agent id or category is drawn as written,
        # not parsed as mathtext (which would garble it, or fail the figure on an odd number of "$")
        "text.parse_math": False,
    })
    if language not in ("en", "zh"):
        raise ValueError(f"language must be 'en' or 'zh', got {language!r}")
    if language == "zh":
        family = cjk_font()
        if family is None:
            warnings.warn("no CJK font found (install the kit's dependencies, or fonts-noto-cjk): "
                          "labels fall back to English", stacklevel=2)
            return "en"
        # the theme resets fonts, so this comes after it
        plt.rcParams["font.sans-serif"] = [family, *plt.rcParams["font.sans-serif"]]
        plt.rcParams["font.family"] = "sans-serif"
    return language


def format_value(value: float, unit: str) -> str:
    """A KPI value as people read it: 87.5 %, 32 s, 20.6 min, 12.3 ‰, 45 points."""
    if value is None or pd.isna(value):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "seconds":  # in the unit a reader thinks in: 45 s, 20.6 min, 26.0 h
        return (f"{value / 3600:.1f} h" if abs(value) >= 3600 else f"{value / 60:.1f} min" if abs(value) >= 120
                else f"{value:.0f} s")
    if unit == "per_1000":
        return f"{value:.1f} ‰"
    if unit == "points":
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def _axis_formatter(unit: str) -> FuncFormatter | PercentFormatter:
    if unit == "share":
        return PercentFormatter(1.0, decimals=0)
    return FuncFormatter(lambda v, _: format_value(v, unit))


def _value_axis(axis, unit: str) -> None:
    """A value axis labelled in ``unit`` (call it once the data are drawn). Points, and seconds under two
    minutes, are shown without decimals, so they get whole-number ticks: a median response between 15 and
    17 s showed "16 s" at 15.5 and at 16."""
    axis.set_major_formatter(_axis_formatter(unit))
    if unit == "points" or (unit == "seconds" and max(abs(v) for v in axis.get_data_interval()) < 120):
        axis.set_major_locator(MaxNLocator(nbins="auto", integer=True))


def _unit_label(unit: str, language: str) -> str:
    return {"share": "%", "seconds": "s", "per_1000": "‰", "points": "NPS", "score": "1-5",
            "tickets": t("count", language)}.get(unit, unit)


def _ax(ax: Axes | None) -> Axes:
    """The axes to draw on: the one given, else the current one."""
    return ax if ax is not None else plt.gca()


def _empty(ax: Axes, text: str) -> Axes:
    """An axes that says there is nothing to draw, instead of an empty frame."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def plot_quarantine_reasons(reasons: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Horizontal bars: quarantined rows by source and rule (from ``quality.quarantine_reasons``)."""
    ax = _ax(ax)
    if reasons.empty:
        return _empty(ax, t("none_quarantined", language))
    data = reasons.assign(label=reasons["source"] + " · " + reasons["rule"].map(lambda r: t(f"rule.{r}", language)))
    data = data.sort_values("rows")
    ax.barh(data["label"], data["rows"], color=COLOURS[3])
    for y, value in enumerate(data["rows"]):
        ax.annotate(f"{value:,}", (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_title(t("quarantine_title", language))
    ax.set_xlabel(t("quarantined_rows", language))
    ax.set_ylabel("")
    ax.margins(x=0.12)
    return ax


def plot_missingness(missing: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Share of empty values per column, for the columns that have any (from ``quality.missingness``)."""
    ax = _ax(ax)
    data = missing[missing["missing"] > 0].sort_values("missing_share")
    if data.empty:
        return _empty(ax, t("no_empty_values", language))
    labels = data["table"] + "." + data["column"] if data["table"].notna().all() else data["column"]
    ax.barh(labels, data["missing_share"], color=COLOURS[0])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(t("missing_title", language))
    ax.set_xlabel(t("missing_share", language))
    ax.set_ylabel("")
    return ax


def plot_channel_coverage(coverage: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Heat map of tickets per week and channel (from ``quality.channel_coverage``): gaps show as pale cells."""
    ax = _ax(ax)
    if coverage.empty:
        return _empty(ax, t("no_tickets", language))
    grid = coverage.pivot(index="channel", columns="week", values="tickets").fillna(0)
    grid.index = [t(channel, language) for channel in grid.index]
    grid.columns = [pd.Timestamp(c).strftime("%m-%d") for c in grid.columns]
    heatmap(grid, ax, cmap="Blues", linewidths=0.5, cbar_label=t("tickets_count", language))
    ax.set_title(t("coverage_title", language))
    ax.set_xlabel(t("week_starting", language))
    ax.set_ylabel(t("channel", language))
    ax.tick_params(axis="x", labelrotation=90)
    ax.tick_params(axis="y", labelrotation=0)
    return ax


def plot_kpi_trend(weekly: pd.DataFrame, kpi: str, unit: str, target: float | None = None,
                   ax: Axes | None = None, language: str = "en", min_n: int = 1) -> Axes:
    """Weekly values of one KPI with its target line; weeks with fewer than ``min_n`` observations are left out.

    ``weekly`` has ``week, value, n`` (one KPI of ``kpi_table(..., by=["week"])``).
    """
    ax = _ax(ax)
    data = weekly[weekly["n"] >= min_n].sort_values("week")
    ax.plot(data["week"], data["value"], marker="o", markersize=4, label=t(kpi, language))
    if target is not None:
        ax.axhline(target, color="0.35", linestyle="--", linewidth=1.2,
                   label=f"{t('target', language)} {format_value(target, unit)}")
    _value_axis(ax.yaxis, unit)
    ax.set_title(f"{t(kpi, language)}: {t('weekly_trend', language).lower() if language == 'en' else t('weekly_trend', language)}")
    ax.set_xlabel(t("week", language))
    ax.set_ylabel(f"{t(kpi, language)} ({_unit_label(unit, language)})")
    ax.legend(loc="best", fontsize=9)
    ax.tick_params(axis="x", labelrotation=30)
    return ax


def plot_breakdown(values: pd.DataFrame, by: str, kpi: str, unit: str, target: float | None = None,
                   ax: Axes | None = None, language: str = "en") -> Axes:
    """Horizontal bars of one KPI by a breakdown, with n beside each bar and the target line."""
    ax = _ax(ax)
    data = values.dropna(subset=["value"]).sort_values("value")
    labels = [t(str(v), language) for v in data[by]]
    ax.barh(labels, data["value"], color=COLOURS[0])
    for y, (value, n) in enumerate(zip(data["value"], data["n"])):
        ax.annotate(f"{format_value(value, unit)}  (n={n:,})", (value, y), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=9)
    if target is not None:
        ax.axvline(target, color="0.35", linestyle="--", linewidth=1.2)
    _value_axis(ax.xaxis, unit)
    ax.margins(x=0.25)
    ax.set_title(t("by_title", language).format(kpi=t(kpi, language), by=t(by, language).lower()
                                                 if language == "en" else t(by, language)))
    ax.set_xlabel(f"{t(kpi, language)} ({_unit_label(unit, language)})")
    ax.set_ylabel("")
    return ax


def plot_pareto(table: pd.DataFrame, ax: Axes | None = None, language: str = "en", threshold: float = 0.8) -> Axes:
    """Pareto chart: counts as bars (vital few darker), cumulative share as a line, and the 80 % line."""
    ax = _ax(ax)
    colours = [COLOURS[3] if v else "0.7" for v in table["vital_few"]]
    labels = [t(c, language) for c in table["category"]]
    ax.bar(labels, table["count"], color=colours)
    ax.set_ylabel(t("problem_tickets", language))
    twin = ax.twinx()
    twin.plot(labels, table["cumulative_share"], color="0.2", marker="o")
    twin.axhline(threshold, color="0.35", linestyle="--", linewidth=1.2)
    twin.annotate(f"{threshold:.0%}", (len(labels) - 0.5, threshold), xytext=(0, 3), textcoords="offset points",
                  ha="right", fontsize=9)
    twin.set_ylim(0, 1.05)
    twin.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    twin.set_ylabel(f"{t('cumulative_share', language)} (%)")
    twin.grid(False)
    ax.set_title(t("pareto_title", language))
    ax.set_xlabel(t("category", language))
    return ax


def plot_fishbone_tally(tally: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Complaints per cause dimension (the fishbone's bones), stacked by category."""
    ax = _ax(ax)
    grid = tally.pivot_table(index="cause_dimension", columns="category", values="complaints",
                             aggfunc="sum", fill_value=0)
    grid = grid.reindex(list(DIMENSIONS)).fillna(0)
    grid = grid.drop(columns=[c for c in grid.columns if str(c) == "nan"], errors="ignore")
    left = np.zeros(len(grid))
    labels = [t(d, language) for d in grid.index]
    for i, category in enumerate(grid.columns):
        ax.barh(labels, grid[category], left=left, label=t(str(category), language),
                color=COLOURS[i % 10])
        left += grid[category].to_numpy()
    for y, total in enumerate(left):
        ax.annotate(f"{int(total)}", (total, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.margins(x=0.1)
    ax.set_title(t("fishbone_title", language))
    ax.set_xlabel(t("complaints", language))
    ax.legend(title=t("category", language), fontsize=8, title_fontsize=9, loc="lower right")
    return ax


def plot_agent_cross(cross: pd.DataFrame, x: str, y: str, x_target: float, y_target: float,
                     ax: Axes | None = None, language: str = "en") -> Axes:
    """Scatter of agents on two KPIs with target lines: the seed's CSAT × resolution cross-analysis.

    Each quadrant has its own colour in every report (on target green, both short vermilion)."""
    ax = _ax(ax)
    placed = cross[cross["quadrant"] != "too few"]
    if placed.empty:
        return _empty(ax, t("no_agent_placed", language))
    colours = {"both at target": COLOURS[2], f"{x} below target": COLOURS[1], f"{y} below target": COLOURS[0],
               "both below target": COLOURS[3]}
    for quadrant, colour in colours.items():
        agents = placed[placed["quadrant"] == quadrant]
        if len(agents):
            ax.scatter(agents[x], agents[y], s=50, color=colour, edgecolor="white", linewidth=0.6,
                       label=t(quadrant, language))
    ax.axvline(x_target, color="0.35", linestyle="--", linewidth=1)
    ax.axhline(y_target, color="0.35", linestyle="--", linewidth=1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(f"{t(x, language)} (%)")
    ax.set_ylabel(f"{t(y, language)} (%)")
    ax.set_title(t("cross_title", language))
    ax.legend(title=t("quadrant", language), fontsize=8, title_fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def plot_heatmap(grid: pd.DataFrame, title: str, unit: str = "share", ax: Axes | None = None,
                 language: str = "en") -> Axes:
    """Annotated heat map of a KPI over two breakdowns (rows × columns of ``grid``)."""
    ax = _ax(ax)
    shown = grid.copy()
    shown.index = [t(str(i), language) for i in shown.index]
    shown.columns = [t(str(c), language) for c in shown.columns]
    heatmap(shown, ax, annot=shown.map(lambda v: format_value(v, unit)), fmt="", cmap="RdYlGn", linewidths=0.5,
            cbar_label=_unit_label(unit, language), cbar_format=_axis_formatter(unit))
    ax.set_title(title)
    ax.tick_params(axis="y", labelrotation=0)
    return ax


def plot_scorecard(card: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Points scored per indicator against its weight; flagged indicators in the warning colour."""
    ax = _ax(ax)
    data = card.iloc[::-1]
    labels = [t(i, language) for i in data["indicator"]]
    ax.barh(labels, data["weight"], color="0.88", label=t("weight", language))
    colours = [COLOURS[3] if rc else COLOURS[2] for rc in data["root_cause"]]
    ax.barh(labels, data["score"].fillna(0), height=0.5, color=colours, label=t("score", language))
    for y, (score, weight, ok) in enumerate(zip(data["score"], data["weight"], data["applicable"])):
        text = f"{score:.2f} / {weight:g}" if ok else ("n/a" if language == "en" else "不适用")
        ax.annotate(text, (max(weight, 0 if pd.isna(score) else score), y), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=9)
    ax.margins(x=0.18)
    ax.set_xlabel(t("points", language))
    ax.set_title(t("scorecard_title", language))
    ax.legend(loc="lower right", fontsize=9)
    return ax


def plot_windows(obs: pd.DataFrame, kind: str, kpi: str, ax: Axes | None = None, language: str = "en") -> Axes:
    """Before against after for one metric: shares as bars with n, durations as log-scale boxes.

    ``obs`` has ``window`` (before/after) and ``value``.
    """
    ax = _ax(ax)
    data = obs[obs["window"].isin(["before", "after"])]
    order = ["before", "after"]
    if kind in ("proportion", "rate"):
        summary = data.groupby("window")["value"].agg(["mean", "size"]).reindex(order)
        scale = 1000 if kind == "rate" else 1
        ax.bar([t(w, language) for w in order], summary["mean"] * scale,
               color=[COLOURS[7], COLOURS[0]])
        for x, (mean, n) in enumerate(zip(summary["mean"], summary["size"])):
            label = f"{mean:.1%}" if kind == "proportion" else f"{mean * 1000:.1f} ‰"
            ax.annotate(f"{label}\n(n={n:,})", (x, mean * scale), xytext=(0, 3), textcoords="offset points",
                        ha="center", fontsize=9)
        if kind == "proportion":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.margins(y=0.2)
        ax.set_ylabel(f"{t(kpi, language)} ({'%' if kind == 'proportion' else '‰'})")
    else:
        import seaborn as sns

        sns.boxplot(data=data.assign(window=data["window"].map(lambda w: t(w, language))), x="window", y="value",
                    order=[t(w, language) for w in order], ax=ax, color=COLOURS[0], showfliers=False,
                    vert=None)  # seaborn 0.13 passes vert=True to Axes.bxp, deprecated in Matplotlib 3.11
        if kind == "duration":
            ax.set_yscale("log")
            ax.set_ylabel(f"{t(kpi, language)} ({t('unit_log_seconds', language)})")
        else:
            ax.set_ylabel(t(kpi, language))
    ax.set_xlabel("")
    ax.set_title(t("chart_before_after", language).format(kpi=t(kpi, language)))
    return ax


def plot_interrupted_series(weekly: pd.DataFrame, start, kpi: str, kind: str, ax: Axes | None = None,
                            language: str = "en") -> Axes:
    """Weekly series of the treated and control teams with the start line.

    The treated series gets a straight line fitted on each side of the start (display only;
    the test itself is the segmented regression in the results table). ``weekly`` has
    ``week, team, value, n, role``.
    """
    ax = _ax(ax)
    start = pd.Timestamp(start)
    colours = {"treated": COLOURS[0], "control": "0.55"}
    for (team, role), series in weekly.groupby(["team", "role"]):
        series = series.sort_values("week")
        values = np.exp(series["value"]) if kind == "duration" else series["value"]
        ax.plot(series["week"], values, marker="o", markersize=3, linewidth=1.2 if role == "treated" else 1,
                color=colours[role], label=f"{team} ({t('role_' + role, language)})", alpha=1 if role == "treated" else 0.8)
        if role == "treated":
            for side in (series["week"] < start, series["week"] >= start):
                part = series[side]
                if len(part) >= 2:
                    x = (part["week"] - start).dt.days.to_numpy(float)
                    slope, intercept = np.polyfit(x, part["value"].to_numpy(float), 1)
                    fit = intercept + slope * x
                    ax.plot(part["week"], np.exp(fit) if kind == "duration" else fit, color=colours[role],
                            linestyle="--", linewidth=2)
    ax.axvline(start, color=COLOURS[3], linewidth=1.5)
    ax.annotate(t("chart_start", language), (start, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                textcoords="offset points", color=COLOURS[3], fontsize=9)
    if kind == "proportion":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        unit = "%"
    elif kind == "duration":
        unit = t("unit_weekly_geomean", language)
    elif kind == "rate":
        unit = "‰"
    else:
        unit = t("unit_score", language)
    ax.set_ylabel(f"{t(kpi, language)} ({unit})")
    ax.set_xlabel(t("week", language))
    ax.set_title(t("chart_weekly_treated", language).format(kpi=t(kpi, language)))
    ax.legend(fontsize=8, loc="best")
    ax.tick_params(axis="x", labelrotation=30)
    return ax

