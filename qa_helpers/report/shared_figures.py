"""Figures that do not depend on a report's unit, built and drawn once per process.

A batch kernel runs the same notebook for unit after unit (issue 17), and some figures are the same for
every unit: the archive's quarantine by rule, the calibration panel's agreement and bias, the scorecard's
weights, the whole company's online reviews. :func:`shared_figure` builds such a figure once for equal
inputs and style, and :func:`~qa_helpers.report.context.figure_png` draws a figure it has drawn before, and
that has not changed since, only once (:func:`drawn_png`, :func:`keep_png`).
"""

from __future__ import annotations

import hashlib
import pickle
import weakref
from collections import OrderedDict
from collections.abc import Callable

import matplotlib as mpl
from matplotlib.figure import Figure

SHARED_FIGURES = 32  # kept per process, the least recently asked for dropped first
_figures: OrderedDict[bytes, Figure] = OrderedDict()
_pngs: weakref.WeakKeyDictionary[Figure, bytes] = weakref.WeakKeyDictionary()


def shared_figure(build: Callable[..., Figure], *inputs, **options) -> Figure:
    """``build(*inputs, **options)``, or the figure it returned for equal arguments, under the same
    ``rcParams``, earlier in this process.

    Arguments are equal when they pickle to the same bytes (a frame with its values, dtypes, index and
    column names), so a figure is only ever reused for the very same picture; arguments that do not
    pickle build a new figure every time.

    Parameters
    ----------
    build : callable
        Makes the finished figure from its arguments alone (nothing else may be added to the figure
        afterwards: whoever asks next gets the same figure).
    *inputs, **options
        Its arguments.

    Returns
    -------
    Figure
    """
    try:
        key = hashlib.blake2b(pickle.dumps((build.__module__, build.__qualname__, inputs, sorted(options.items()),
                                            sorted(mpl.rcParams.items())), protocol=5)).digest()
    except (pickle.PicklingError, TypeError, AttributeError):
        return build(*inputs, **options)
    figure = _figures.get(key)
    if figure is None:
        figure = _figures[key] = build(*inputs, **options)
        _pngs.setdefault(figure, b"")  # marks it as one whose picture is kept once drawn
        while len(_figures) > SHARED_FIGURES:
            _figures.popitem(last=False)
    else:
        _figures.move_to_end(key)
    return figure


def drawn_png(figure: Figure) -> bytes | None:
    """The PNG a shared figure was drawn as, when nothing in it has changed since; else None."""
    png = _pngs.get(figure)
    return png if png and not figure.stale else None


def keep_png(figure: Figure, png: bytes) -> None:
    """Remember how a shared figure was drawn (other figures are not kept)."""
    if figure in _pngs:
        _pngs[figure] = png
