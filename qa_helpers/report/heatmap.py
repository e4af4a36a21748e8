"""An annotated heat map drawn with matplotlib alone, the way ``seaborn.heatmap`` draws one.

Importing seaborn imports ``scipy.stats`` (about 1.3 s of a notebook's cold start); a kit chart needs
only its heat map, which is a ``pcolormesh`` with labels, a colour bar and cell annotations. This
draws the same figure: the same cells, colours, white cell borders, annotation colours (dark on light
cells, white on dark ones), tick labels (thinned when they would crowd, rotated when they overlap),
hidden spines and a colour bar without outline (``tests/test_heatmap.py`` holds the two alike).
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.ticker import Formatter

from qa_helpers.report.layout import lay_out_axes, lay_out_in_one_pass


def _luminance(rgba: np.ndarray) -> np.ndarray:
    """W3C relative luminance of RGBA colours (what decides an annotation's colour)."""
    rgb = np.asarray(rgba, dtype=float)[:, :3]
    rgb = np.where(rgb <= .03928, rgb / 12.92, ((rgb + .055) / 1.055) ** 2.4)
    return rgb.dot([.2126, .7152, .0722])


def _spaced_ticks(ax: Axes, labels: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre ticks, every k-th label when all of them would not fit the axes at the tick font size."""
    inches = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted())
    size = [inches.width, inches.height][axis]
    tick, = [ax.xaxis, ax.yaxis][axis].set_ticks([0])
    room = int(size // (tick.label1.get_size() / 72))
    if room < 1:
        return np.array([]), np.array([])
    every = len(labels) // room + 1
    return np.arange(0, len(labels), every) + .5, labels[::every]


def _overlap(labels: list) -> bool:
    if not labels:
        return False
    boxes = [label.get_window_extent() for label in labels]
    return max(box.count_overlaps(boxes) for box in boxes) > 1


def heatmap(grid: pd.DataFrame, ax: Axes, *, cmap: str, vmin: float | None = None, vmax: float | None = None,
            annot: bool | pd.DataFrame = False, fmt: str = ".2g", linewidths: float = 0.0,
            cbar_label: str = "", cbar_format: Formatter | str | None = None) -> QuadMesh:
    """Draw ``grid`` as an annotated heat map on ``ax`` (rows top to bottom, as in the table).

    Parameters
    ----------
    grid : DataFrame
        The values; NaN cells are left blank. Its index labels the rows, its columns the columns,
        and their names (when set) the axes.
    ax : Axes
        Where to draw; the colour bar takes room from it.
    cmap : str
        A matplotlib colour map name.
    vmin, vmax : float, optional
        The colour scale's ends; the grid's smallest and largest values when not given.
    annot : bool or DataFrame, default False
        True writes each cell's value formatted by ``fmt``; a frame shaped like ``grid`` gives the
        text of each cell (formatted by ``fmt``, ``""`` for as is).
    fmt : str, default ``".2g"``
        Format spec of the annotations.
    linewidths : float, default 0
        Width of the white lines between cells.
    cbar_label : str
        The colour bar's label.
    cbar_format : Formatter or str, optional
        The colour bar's tick format.

    Returns
    -------
    QuadMesh
        The cells.
    """
    values = grid.to_numpy(dtype=float)
    cells = np.ma.masked_where(np.isnan(values), values)
    vmin = np.nanmin(values) if vmin is None else vmin
    vmax = np.nanmax(values) if vmax is None else vmax
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    mesh = ax.pcolormesh(cells, cmap=mpl.colormaps[cmap], vmin=vmin, vmax=vmax, linewidths=linewidths,
                         edgecolor="white")
    ax.set(xlim=(0, values.shape[1]), ylim=(0, values.shape[0]))
    ax.invert_yaxis()
    bar = ax.figure.colorbar(mesh, None, ax, label=cbar_label, format=cbar_format)
    bar.outline.set_linewidth(0)
    xticks, xlabels = _spaced_ticks(ax, np.asarray(grid.columns.values), 0)
    yticks, ylabels = _spaced_ticks(ax, np.asarray(grid.index.values), 1)
    ax.set(xticks=xticks, yticks=yticks)
    xtl = ax.set_xticklabels(xlabels)
    ytl = ax.set_yticklabels(ylabels, rotation="vertical", va="center")
    # whether labels overlap needs their extents where the draw will put them: the layout, without drawing
    lay_out_in_one_pass(ax.figure)
    lay_out_axes(ax.figure)
    if _overlap(xtl):
        for label in xtl:
            label.set_rotation("vertical")
    if _overlap(ytl):
        for label in ytl:
            label.set_rotation("horizontal")
    ax.set(xlabel=grid.columns.name or "", ylabel=grid.index.name or "")
    if annot is not False:
        texts = values if annot is True else np.asarray(annot)
        mesh.update_scalarmappable()
        dark = _luminance(mesh.get_facecolors()) > .408
        shown = ~np.ma.getmaskarray(mesh.get_array()).ravel()
        rows, cols = np.divmod(np.arange(values.size), values.shape[1])
        for i in np.flatnonzero(shown):
            ax.text(cols[i] + .5, rows[i] + .5, ("{:" + fmt + "}").format(texts.flat[i]),
                    color=".15" if dark[i] else "w", ha="center", va="center")
    return mesh
