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
