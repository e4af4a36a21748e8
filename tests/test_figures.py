"""Figures reach a report as one PNG each, drawn once at the figure's own size."""

from __future__ import annotations

import base64
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


def test_the_heat_map_draws_seaborns_cells_labels_and_annotations():
    # plots.heatmap stands in for seaborn's heatmap (which imports scipy.stats and draws the figure once
    # more); seaborn, the reference, draws the same colours, text colours, tick labels and colour bar label
    import numpy as np
    import pandas as pd
    import seaborn as sns

    grid = pd.DataFrame([[0.91, 0.42, np.nan, 0.66], [0.55, 0.73, 0.48, 0.99], [0.61, 0.5, 0.8, 0.45]],
                        index=["Phone", "Chat", "E-mail"], columns=["billing", "repair", "consulting", "install"])
    annotations = grid.map(lambda v: f"{v:.0%}")

    def drawn(ax):
        mesh = ax.collections[0]
        mesh.update_scalarmappable()
        cells = np.ma.getmaskarray(mesh.get_array()).ravel()
        return (mesh.get_facecolors()[~cells].round(6).tolist(), [(t.get_text(), t.get_color()) for t in ax.texts],
                [t.get_text() for t in ax.get_xticklabels()], [t.get_text() for t in ax.get_yticklabels()],
                ax.figure.axes[-1].get_ylabel(), ax.get_ylim())

    ours, theirs = plt.subplots()[1], plt.subplots()[1]
    plots.heatmap(grid, ours, "RdYlGn", "share (%)", annotations=annotations)
    sns.heatmap(grid, ax=theirs, cmap="RdYlGn", annot=annotations, fmt="", linewidths=0.5, cbar_kws={"label": "share (%)"})
    assert drawn(ours) == drawn(theirs)
    assert sum(text.get_color() == "w" for text in ours.texts) >= 2  # both text colours are exercised
    plt.close("all")


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
