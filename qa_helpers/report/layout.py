"""Drawing a figure with less measuring: what matplotlib measures twice, or for nothing.

Measuring ticks and their labels is most of what a kit figure costs to draw (issue 17). The
functions here change nothing in the picture: ``tests/test_figures.py`` compares the PNG bytes
with matplotlib's own drawing.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.category import StrCategoryFormatter
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.ticker import (FixedFormatter, FormatStrFormatter, FuncFormatter, LogFormatter, NullFormatter,
                               PercentFormatter, StrMethodFormatter)

# formatters whose offset text does not depend on the ticks (none is a ScalarFormatter); empty unless set
_NO_OFFSET = (FuncFormatter, PercentFormatter, StrMethodFormatter, FormatStrFormatter, FixedFormatter, NullFormatter,
              StrCategoryFormatter, LogFormatter)


def measure_once(figure: Figure) -> Figure:
    """Spare a figure, just before it is drawn, the measuring that cannot change its picture.

    Matplotlib measures more than the picture needs:

    - tight layout with the default ``rect=(0, 0, 1, 1)`` measures every axes twice: the second
      pass fits the subplots into the rectangle the first found, but the axes have not moved in
      between, so it measures the same boxes and returns the same margins. With ``rect=None`` it
      measures once.
    - before placing an axes' title, matplotlib measures its x axis (the kit's style draws no tick
      marks, which matplotlib reads as "ticks may be on top") and its y axis (an offset text such
      as "1e6" may reach the title). Where no label is on top and the y axis cannot show an
      offset, the title stays where it starts, at the top of the axes, and is not measured for.

    Returns
    -------
    Figure
        The same figure.
    """
    lay_out_in_one_pass(figure)
    aligned = getattr(figure, "_align_label_groups", {}).get("title")
    for ax in figure.axes:
        twins = {*ax.get_shared_x_axes().get_siblings(ax), *ax.get_shared_y_axes().get_siblings(ax)}
        if ax.child_axes or (aligned is not None and len(aligned.get_siblings(ax)) > 1) \
                or not all(_title_stays(a) for a in twins):
            continue
        # where matplotlib's placement starts each draw (an earlier draw may have moved a title)
        for title in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)):
            if title is not None:
                title.set_y(1.0)
        # matplotlib has no public switch for this; under another name the title is placed as before
        ax._autotitlepos = False
    return figure


def lay_out_in_one_pass(figure: Figure) -> Figure:
    """The first half of :func:`measure_once`: a whole-figure tight layout as ``rect=None``.

    Safe at any time (the margins are the same whatever is drawn later), unlike the title half,
    which holds only for the figure as it is when drawn.
    """
    engine = figure.get_layout_engine()
    if isinstance(engine, TightLayoutEngine):
        params = engine.get()
        if params["rect"] is not None and tuple(params["rect"]) == (0, 0, 1, 1):
            figure.set_layout_engine(TightLayoutEngine(**{**params, "rect": None}))
    return figure


def _title_stays(ax: Axes) -> bool:
    """Whether matplotlib's title placement would leave a title above ``ax`` where it starts.

    True when no x tick label or axis label is on top and the y axis cannot show an offset text:
    hidden, or formatted by a formatter that never shows one (percent, a function, category names,
    fixed labels, log scale). A plain number axis (``ScalarFormatter``) may show "1e6" or "1e-5"
    depending on its ticks, and a concise date axis shows its year: there matplotlib places the title.
    """
    on_top = ax.xaxis.get_visible() and (ax.xaxis.get_tick_params().get("labeltop", False)
                                         or ax.xaxis.get_label_position() == "top")
    if on_top or not ax.yaxis.get_visible():
        return not on_top
    formatter = ax.yaxis.get_major_formatter()
    return isinstance(formatter, _NO_OFFSET) and not formatter.get_offset()
