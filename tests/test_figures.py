"""Figures reach a report as one PNG each, drawn once at the figure's own size."""

from __future__ import annotations

import base64
import io
import struct

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
    """Two rows of subplots with long labels, a rotated axis, a colour bar and a suptitle."""
    import numpy as np

    plots.set_style(language)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    names = (["客户满意度", "一次解决率", "渠道覆盖率", "平均处理时长（分钟）"] if language == "zh" else
             ["Customer satisfaction", "First-contact resolution", "Channel coverage", "Average handle time (min)"])
    for i, ax in enumerate(axes.flat):
        ax.plot(np.arange(52), np.sin(np.arange(52) / (i + 2)) * 10 ** i, label=names[i])
        ax.set_title(names[i])
        ax.set_ylabel(names[-1 - i])
        ax.legend(loc="upper left")
    axes[1, 0].tick_params(axis="x", labelrotation=90)
    fig.colorbar(axes[1, 1].imshow(np.arange(12).reshape(3, 4)), ax=axes[1, 1])
    fig.suptitle("Quarterly overview")
    return fig


def test_a_figure_is_laid_out_in_one_pass_and_looks_the_same():
    from matplotlib import _tight_layout
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from qa_helpers.report.context import figure_png

    passes = []
    measure = _tight_layout._auto_adjust_subplotpars

    def counted(*args, **kwargs):
        passes.append(1)
        return measure(*args, **kwargs)

    for language in ("en", "zh"):
        reference = _busy_figure(language)
        buffer = io.BytesIO()
        FigureCanvasAgg(reference).print_png(buffer)  # matplotlib's own two-pass tight layout
        plt.close(reference)
        fig = _busy_figure(language)
        _tight_layout._auto_adjust_subplotpars = counted
        try:
            png = figure_png(fig)
        finally:
            _tight_layout._auto_adjust_subplotpars = measure
        plt.close(fig)
        assert png == buffer.getvalue()
    assert len(passes) == 2  # one measuring pass a figure, not two
    plots.set_style("en")
