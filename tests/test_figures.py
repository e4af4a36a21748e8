"""Figures reach a report as one PNG each, drawn once at the figure's own size."""

from __future__ import annotations

import base64
import io
import struct

import pytest

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from qa_helpers.report import plots  # noqa: E402
from qa_helpers.report.context import show  # noqa: E402


def _png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def test_a_shown_figure_is_one_png_drawn_once_and_closed():
    InteractiveShell.instance()
    plots.set_style("en")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.barh(["Chat", "E-mail"], [0.83, 0.91])
    ax.set_title("CSAT (top-2-box) by channel")
    draws = []
    fig.canvas.mpl_connect("draw_event", draws.append)
    with capture_output() as shown:
        show("Some text", fig)
    images = [o.data["image/png"] for o in shown.outputs if "image/png" in o.data]
    assert len(images) == 1
    # the layout's own margins, not a second draw to crop them: the PNG is the figure's size
    assert _png_size(base64.b64decode(images[0])) == (900, 450)
    assert len(draws) == 1
    assert not plt.fignum_exists(fig.number)  # the inline backend will not show it again


def test_the_kits_heat_maps_and_scatter_import_no_seaborn():
    import subprocess
    import sys

    code = ("import sys, matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt, pandas as pd\n"
            "from qa_helpers.report import plots\n"
            "grid = pd.DataFrame([[0.5, 0.7], [0.9, 0.6]], index=['a', 'b'], columns=['x', 'y'])\n"
            "plots.plot_heatmap(grid, 'FCR', ax=plt.subplots()[1])\n"
            "weeks = pd.to_datetime(['2025-01-06', '2025-01-13'])\n"
            "plots.plot_channel_coverage(pd.DataFrame({'week': weeks, 'channel': 'chat', 'tickets': [3, 4]}), "
            "ax=plt.subplots()[1])\n"
            "cross = pd.DataFrame({'csat': [0.9, 0.7], 'fcr': [0.8, 0.6], 'quadrant': ['both at target', "
            "'both below target']})\n"
            "ax = plots.plot_agent_cross(cross, 'csat', 'fcr', 0.8, 0.7, ax=plt.subplots()[1])\n"
            "print([m for m in ('seaborn', 'scipy.stats') if m in sys.modules], len(ax.collections))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] 2"


def _busy_figure(language: str):
    """Subplots with long labels, a rotated axis, labels on top, a twin axis, an offset text ("1e6")
    under a title, a colour bar and a suptitle."""
    import numpy as np
    from matplotlib.ticker import PercentFormatter

    plots.set_style(language)
    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    names = (["客户满意度", "一次解决率", "渠道覆盖率", "平均处理时长（分钟）", "工单量", "投诉"] if language == "zh" else
             ["Customer satisfaction", "First-contact resolution", "Channel coverage", "Average handle time (min)",
              "Tickets", "Complaints"])
    weeks = np.arange(52)
    for i, ax in enumerate(axes.flat):
        ax.plot(weeks, np.sin(weeks / (i + 2)) * 10 ** i, label=names[i])
        ax.set_title(names[i])
        ax.set_ylabel(names[-1 - i])
        ax.legend(loc="upper left")
    axes[0, 2].plot(weeks, 3e6 + weeks * 1e5)  # the y axis shows "1e6" where the title would be
    axes[0, 2].set_title("")
    axes[0, 2].set_title(names[2], loc="left")
    axes[1, 0].tick_params(axis="x", labelrotation=90)
    axes[1, 0].lines[0].set_ydata(weeks * 1e-6)  # "1e-5" where its left title would be
    axes[1, 0].relim()
    axes[1, 0].autoscale_view()
    axes[1, 0].set_title("")
    axes[1, 0].set_title(names[3], loc="left")
    axes[1, 1].xaxis.tick_top()
    for ax in (axes[0, 0], axes[0, 1]):  # formatters that never show an offset: these titles are not measured for
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    twin = axes[1, 2].twinx()
    twin.plot(weeks, weeks / 52, color="0.5")
    twin.yaxis.set_major_formatter(PercentFormatter(1.0))
    fig.colorbar(axes[0, 1].imshow(np.arange(12).reshape(3, 4)), ax=axes[0, 1])
    fig.suptitle("Quarterly overview")
    return fig


def _pixels(png: bytes) -> tuple:
    """What a PNG shows, and the dpi and software it names (an opaque picture the kit writes as RGB is
    compared as the RGBA that matplotlib writes)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    return image.size, image.convert("RGBA").tobytes(), image.info.get("dpi"), image.info.get("Software")


@pytest.mark.parametrize("facecolor", ["white", "none"])
def test_an_opaque_figure_is_an_rgb_png_and_a_transparent_one_keeps_its_alpha(facecolor):
    from PIL import Image
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from qa_helpers.report.context import figure_png

    def build():
        fig, ax = plt.subplots(figsize=(4, 3), facecolor=facecolor)
        ax.bar(["a", "b"], [3, 5], color="#1f77b4", alpha=0.6)
        ax.set_title("A title")
        return fig

    reference, fig = build(), build()
    buffer = io.BytesIO()
    FigureCanvasAgg(reference).print_png(buffer)
    shown = figure_png(fig)
    plt.close(reference)
    plt.close(fig)
    assert Image.open(io.BytesIO(shown)).mode == ("RGB" if facecolor == "white" else "RGBA")
    assert _pixels(shown) == _pixels(buffer.getvalue())


def _zlib_level(png: bytes) -> int:
    """The compression class in the first IDAT chunk's zlib header (FLEVEL: 0 fastest ... 3 best)."""
    at = 8
    while True:
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"IDAT":
            return png[at + 9] >> 6
        at += 12 + length


def test_a_figure_is_measured_once_and_looks_the_same():
    from matplotlib import _tight_layout
    from matplotlib.axis import Axis
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from qa_helpers.report.context import figure_png

    calls = {"layout": 0, "axis": 0}
    measure_layout, measure_axis = _tight_layout._auto_adjust_subplotpars, Axis.get_tightbbox

    def layout(*args, **kwargs):
        calls["layout"] += 1
        return measure_layout(*args, **kwargs)

    def axis(*args, **kwargs):
        calls["axis"] += 1
        return measure_axis(*args, **kwargs)

    def counted(draw) -> tuple[bytes, dict]:
        calls.update(layout=0, axis=0)
        _tight_layout._auto_adjust_subplotpars, Axis.get_tightbbox = layout, axis
        try:
            return draw(), dict(calls)
        finally:
            _tight_layout._auto_adjust_subplotpars, Axis.get_tightbbox = measure_layout, measure_axis

    def matplotlibs_own(fig) -> bytes:
        buffer = io.BytesIO()
        FigureCanvasAgg(fig).print_png(buffer)
        return buffer.getvalue()

    for language in ("en", "zh"):
        reference = _busy_figure(language)
        expected, theirs = counted(lambda: matplotlibs_own(reference))
        plt.close(reference)
        fig = _busy_figure(language)
        png, ours = counted(lambda: figure_png(fig))
        plt.close(fig)
        assert _pixels(png) == _pixels(expected)  # the same picture; the kit encodes it at a lower zlib level
        assert (_zlib_level(expected), _zlib_level(png)) == (2, 1)  # zlib's "default" and "fast" classes
        assert (theirs["layout"], ours["layout"]) == (2, 1)  # one tight-layout pass, not two
        assert ours["axis"] < theirs["axis"] * 0.8  # titles that stay at the top are not measured for
    plots.set_style("en")


def _texts_figure(language: str, size: float):
    """The same strings at two sizes, rotated, multi-line, not antialiased, with a mathtext-looking
    "$" and (in zh) Chinese next to Latin fallback glyphs."""
    plots.set_style(language)
    fig, ax = plt.subplots(figsize=(6, 3))
    words = ["一次解决率 FCR", "客户满意度"] if language == "zh" else ["First-contact resolution", "Agent $A12"]
    ax.bar(words, [0.8, 0.6])
    ax.set_title(words[0], fontsize=size)
    ax.text(0.2, 0.3, words[0], fontsize=size * 0.7, rotation=33)
    ax.text(0.5, 0.5, f"{words[1]}\n{words[0]}", fontsize=size, rotation=90)
    ax.text(0.1, 0.1, words[1], antialiased=False, fontweight="bold")
    ax.tick_params(axis="x", labelrotation=45)
    return fig


def test_text_is_shaped_once_and_drawn_as_matplotlib_draws_it():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from qa_helpers.report import layout
    from qa_helpers.report.context import figure_png

    def matplotlibs_own(fig) -> bytes:
        layout.measure_once(fig)  # the same layout: only the text drawing differs
        buffer = io.BytesIO()
        FigureCanvasAgg(fig).print_png(buffer)
        return buffer.getvalue()

    for language in ("en", "zh"):
        for size in (13, 9):
            expected = _pixels(matplotlibs_own(_texts_figure(language, size)))
            first = _pixels(figure_png(_texts_figure(language, size)))
            shaped = len(layout._SHAPED)
            again = _pixels(figure_png(_texts_figure(language, size)))  # every string shaped already
            assert first == expected and again == expected, (language, size)
            assert len(layout._SHAPED) == shaped
        plt.close("all")
    plots.set_style("en")
    if layout._GLYPH_BY_GLYPH:
        assert shaped > 0


def test_new_ticks_are_copies_of_one_built_in_the_draw_with_their_own_parts():
    from matplotlib.axis import Axis

    from qa_helpers.report.context import figure_png

    built = {"n": 0}
    build = Axis._get_tick

    def counted(self, major):
        built["n"] += 1
        return build(self, major)

    Axis._get_tick = counted
    try:
        fig = _busy_figure("en")
        figure_png(fig)
    finally:
        Axis._get_tick = build
    axes = [axis for ax in fig.axes for axis in ax._axis_map.values()]
    ticks = [tick for axis in axes for tick in [*axis.majorTicks, *axis.minorTicks]]
    # each axis' first major and minor tick, and one of each built in the draw to be copied
    assert len(ticks) > 100 and built["n"] <= 4 * len(axes)
    first, other = fig.axes[0].xaxis.majorTicks[1:3]
    assert first.label1 is not other.label1 and first.gridline is not other.gridline
    assert first.label1.get_text() != other.label1.get_text()
    other.label1.set_fontsize(30)
    other.tick1line.sticky_edges.x.append(1.0)
    seen = []
    other.label1.add_callback(lambda artist: seen.append(artist))
    first.label1.set_color("red")  # fires only its own callbacks
    assert first.label1.get_fontsize() != 30 and seen == []
    assert first.tick1line.sticky_edges.x == []
    # nothing of the draw's is left on the axes: a later draw is matplotlib's own
    left = {"_get_tick", "_update_ticks", "_tick_models", "_ticks_kept"}
    assert not any(left & set(vars(axis)) for axis in axes)
    plt.close(fig)


def _styled_first_labels():
    """The gallery's idiom: the labels that exist styled (rotation mode among them), more ticks drawn."""
    fig, ax = plt.subplots(figsize=(6, 3), layout="tight")
    ax.plot([0, 1], [0, 1])
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")
    ax.set_xlim(0, 40)
    return fig


def _first_ticks_under_other_rc():
    """Axes made under other rcParams than the draw's: ticks made in the draw follow the draw's."""
    with plt.rc_context({"lines.antialiased": False, "axes.grid": True, "text.parse_math": True}):
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [0, 3])
        ax.xaxis.set_major_formatter(lambda x, pos: f"${x:.1f}$")
    return fig


def _shared_locator_moved_apart():
    """An axes with margins of its own sharing x with one the layout narrows: the shared locator counts
    ticks from the narrowed axes' length."""
    fig, ax = plt.subplots(figsize=(3, 3), layout="tight")
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("a long y label\nover two lines", fontsize=30)
    grid = fig.add_gridspec(1, 1, left=0.45, right=0.9, bottom=0.6, top=0.9)
    other = fig.add_subplot(grid[0], sharex=ax)
    other.plot([0, 1], [1, 0])
    fig.align_xlabels([ax, other])
    return fig


def _polar():
    """A polar axis' ticks change translations of their own in place: matplotlib's ticks throughout."""
    fig = plt.figure()
    fig.add_subplot(projection="polar").plot([0, 1, 2], [1, 2, 3])
    return fig


@pytest.mark.parametrize("build", [_styled_first_labels, _first_ticks_under_other_rc, _shared_locator_moved_apart,
                                   _polar])
def test_figures_with_styled_shared_or_polar_ticks_look_as_matplotlib_draws_them(build):
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from qa_helpers.report.context import figure_png

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tight layout's warning about the axes it cannot fit
        reference = build()
        buffer = io.BytesIO()
        FigureCanvasAgg(reference).print_png(buffer)
        fig = build()
        shown = figure_png(fig)
    plt.close(reference)
    plt.close(fig)
    plots.set_style("en")
    assert _pixels(shown) == _pixels(buffer.getvalue())


@pytest.mark.parametrize("low, high, whole", [(15, 17, True), (20, 90, True), (600, 900, False)])
def test_a_seconds_axis_never_shows_one_label_twice(low, high, whole):
    """A median response between 15 and 17 s was labelled "15 s, 16 s, 16 s, 16 s, 17 s" (ticks every
    0.5 s, shown without decimals): seconds under two minutes get whole-number ticks."""
    import numpy as np
    import pandas as pd

    weekly = pd.DataFrame({"week": pd.date_range("2025-10-06", periods=13, freq="W-MON"),
                           "value": np.linspace(low, high, 13), "n": 100})
    fig, ax = plt.subplots()
    try:
        plots.plot_kpi_trend(weekly, "median_first_response_s", "seconds", ax=ax)
        fig.canvas.draw()
        labels = [tick.get_text() for tick in ax.get_yticklabels()]
        assert len(labels) >= 3 and len(set(labels)) == len(labels)
        assert all(float(v).is_integer() for v in ax.get_yticks()) or not whole
    finally:
        plt.close(fig)


def _counted_draws(fig) -> list:
    draws = []
    fig.canvas.mpl_connect("draw_event", draws.append)
    return draws


def _bars(frame, language: str):
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.barh(list(frame["name"]), list(frame["value"]))
    ax.set_title("Weights" if language == "en" else "权重")
    return fig


def test_a_shared_figure_is_built_and_drawn_once_for_equal_inputs_and_style():
    import pandas as pd

    from qa_helpers.report.context import figure_png
    from qa_helpers.report.shared_figures import shared_figure

    plots.set_style("en")
    frame = pd.DataFrame({"name": ["a", "b"], "value": [1.0, 2.0]})
    fig = shared_figure(_bars, frame, "en")
    draws = _counted_draws(fig)
    first = figure_png(fig)
    plt.close(fig)  # as show() closes it
    again = shared_figure(_bars, frame.copy(), "en")  # equal values, another frame
    assert again is fig and figure_png(again) == first and len(draws) == 1
    # another value, language, dtype or style: another figure
    assert shared_figure(_bars, frame.assign(value=[1.0, 2.5]), "en") is not fig
    assert shared_figure(_bars, frame, "zh") is not fig
    assert shared_figure(_bars, frame.astype({"value": "float32"}), "en") is not fig
    with plt.rc_context({"font.size": 20}):
        assert shared_figure(_bars, frame, "en") is not fig
    # a shared figure changed after it was drawn is drawn again
    fig.axes[0].set_title("Changed")
    assert figure_png(fig) != first and len(draws) == 2
    plt.close("all")


def test_figures_not_shared_are_drawn_every_time_and_unpicklable_inputs_build_anew():
    import pandas as pd

    from qa_helpers.report.context import figure_png
    from qa_helpers.report.shared_figures import shared_figure

    plots.set_style("en")
    fig = _bars(pd.DataFrame({"name": ["a"], "value": [1.0]}), "en")
    draws = _counted_draws(fig)
    figure_png(fig)
    figure_png(fig)
    assert len(draws) == 2

    def build(_unpicklable, language):
        return _bars(pd.DataFrame({"name": ["a"], "value": [1.0]}), language)

    assert shared_figure(build, lambda: None, "en") is not shared_figure(build, lambda: None, "en")
    plt.close("all")
