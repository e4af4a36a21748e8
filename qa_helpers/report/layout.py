"""Drawing a figure with less measuring: what matplotlib measures twice, or for nothing.

Measuring ticks and their labels is most of what a kit figure costs to draw (issue 17). The
functions here change nothing in the picture: ``tests/test_figures.py`` compares the PNG bytes
with matplotlib's own drawing.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.ticker import ScalarFormatter


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
    for ax in figure.axes:
        twins = {*ax.get_shared_x_axes().get_siblings(ax), *ax.get_shared_y_axes().get_siblings(ax)}
        if not ax.child_axes and all(_title_stays(a) for a in twins):
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

    True when no x tick label or axis label is on top, and the y axis has no offset text: its
    formatter never shows one, or a plain number formatter over an interval that holds 0 (no
    offset) and stays under 1e5 (no "1e6" however far the ticks reach past it).
    """
    on_top = ax.xaxis.get_visible() and (ax.xaxis.get_tick_params().get("labeltop", False)
                                         or ax.xaxis.get_label_position() == "top")
    if on_top or not ax.yaxis.get_visible():
        return not on_top
    if not isinstance(ax.yaxis.get_major_formatter(), ScalarFormatter):
        return True
    low, high = sorted(ax.yaxis.get_view_interval())
    return low <= 0 <= high and max(-low, high) < 1e5
