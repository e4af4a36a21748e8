"""Drawing a figure with less work: what matplotlib builds, measures or shapes twice, or for nothing.

Building, placing and measuring ticks and their labels, and shaping and rendering their text, is most
of what a kit figure costs to draw (issue 17). Nothing here changes the picture: ``tests/test_figures.py`` compares the
pixels with matplotlib's own drawing.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
from collections.abc import Iterator

import numpy as np
from matplotlib import cbook, ft2font
from matplotlib.artist import Artist, _XYPair
from matplotlib.axes import Axes
from matplotlib.axis import Axis, Tick, XAxis, YAxis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.category import StrCategoryFormatter
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager, get_font
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.text import Text
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


@contextlib.contextmanager
def ticks_for_one_draw(figure: Figure) -> Iterator[None]:
    """Within the block (one draw of ``figure``), its ticks cost less to make and to place; the same ticks.

    On the figure's x and y axes of matplotlib's own classes (a polar axis' ticks, say, change
    transforms of their own in place, and are left to matplotlib):

    - a new tick is a copy of one tick matplotlib builds when the block first needs one
      (:func:`_copied_tick`) instead of being built afresh (three lines and two texts from the
      axis' keywords and ``rcParams``, about 1 ms; 20-60 per kit figure). Matplotlib then gives it
      the axis' first tick's properties, as it gives them to a tick it builds.
    - matplotlib places and labels an axis' ticks (``Axis._update_ticks``) about eight times per
      draw: for the tight layout's measuring, for each sibling whose labels it aligns with, for the
      spines and for the draw itself. In between, what the ticks depend on changes only where an
      axes sharing the axis' locator moves (the layout moves axes; the locator counts ticks from its
      axes' length) or where the view limits change, so the ticks are kept by both
      (:func:`_ticks_for_place_and_view`).

    Both are instance attributes of the axes, removed when the block ends: any later draw is
    matplotlib's own.
    """
    axes = _plain_axes(figure)
    for axis in axes:
        axis._get_tick = functools.partial(_copied_tick, axis)
        axis._update_ticks = functools.partial(_ticks_for_place_and_view, axis)
    try:
        yield
    finally:
        for axis in axes:
            for name in ("_get_tick", "_update_ticks", "_tick_models", "_ticks_kept"):
                vars(axis).pop(name, None)


def _plain_axes(figure: Figure) -> list[Axis]:
    """The x and y axes of the figure's axes that are of matplotlib's own classes."""
    return [axis for ax in figure.axes for axis in ax._axis_map.values() if type(axis) in (XAxis, YAxis)]


def _copied_tick(axis: Axis, major: bool) -> Tick:
    """A new tick of ``axis``, as ``Axis._get_tick`` builds it: a copy of the one built first in this draw.

    A tick built now from the axis' keywords and ``rcParams`` differs from another built now only in
    being another object; the axis' first tick (which may have been styled since it was built) is not
    copied. Each part of a copy has its own callbacks, sticky edges and font properties.
    """
    if not vars(axis).get("majorTicks" if major else "minorTicks"):  # the axis' first tick: matplotlib's
        return type(axis)._get_tick(axis, major)
    models = vars(axis).setdefault("_tick_models", {})
    if major not in models:
        models[major] = type(axis)._get_tick(axis, major)
    model = models[major]
    tick = _artist_copy(model)
    for part in ("tick1line", "tick2line", "gridline", "label1", "label2"):
        setattr(tick, part, _artist_copy(getattr(model, part)))
    return tick


def _artist_copy(artist: Artist) -> Artist:
    twin = copy.copy(artist)  # a shallow copy of its attributes (less the stale callback, see Artist.__getstate__)
    twin.stale_callback = artist.stale_callback
    twin._callbacks = cbook.CallbackRegistry(signals=["pchanged"])
    if artist._sticky_edges is not None:
        twin._sticky_edges = _XYPair(list(artist._sticky_edges.x), list(artist._sticky_edges.y))
    if isinstance(artist, Text):
        twin._fontproperties = artist._fontproperties.copy()  # changed in place by set_fontsize and the like
    return twin


def _ticks_for_place_and_view(axis: Axis) -> list[Tick]:
    """``Axis._update_ticks``, computed again only when the place of an axes sharing the axis (and its
    locator) or the view limits have changed since the last call."""
    key = (tuple(tuple(ax.bbox.bounds) for ax in axis._get_shared_axes()), tuple(axis.get_view_interval()))
    kept = vars(axis).get("_ticks_kept")
    if kept is None or kept[0] != key:
        kept = axis._ticks_kept = (key, type(axis)._update_ticks(axis))
    return list(kept[1])


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


def lay_out_axes(figure: Figure) -> Figure:
    """Place the axes as the next draw will, by the figure's layout engine, measuring text with
    :class:`TextReusingRenderer`; nothing is drawn.

    Afterwards the extents of the axes' texts (tick labels, say) are where the draw will put them, as after
    ``Figure.draw_without_rendering``, which also draws every artist with drawing switched off. It runs on
    the canvas the figure is later drawn on, so the strings measured here are not measured again there.
    """
    canvas = figure.canvas if isinstance(figure.canvas, TextReusingCanvas) else TextReusingCanvas(figure)
    canvas.get_renderer().forget_fonts()
    engine = figure.get_layout_engine()
    if engine is not None:
        engine.execute(figure)
    return figure


class TextReusingRenderer(RendererAgg):
    """Matplotlib's Agg renderer, less the text work it repeats; the same pixels.

    Matplotlib 3.11 shapes a string anew each time it draws it, looks its font up again for every
    line it measures, and renders it glyph by glyph in Python, recomputing a rotation per glyph.
    The kit's figures draw the same tick labels, legends and titles over and over (a team's 24
    figures share most of them), so this renderer keeps:

    - each string's shaped glyphs, by font, size, resolution and shaping options, for the life of
      the process (bounded);
    - each font's line metrics, for one draw (fonts follow ``rcParams``, which may change between
      draws);

    and renders a string's glyphs with one rotation. On a matplotlib without glyph-by-glyph
    drawing it draws text as matplotlib does.
    """

    def __init__(self, width: float, height: float, dpi: float) -> None:
        super().__init__(width, height, dpi)
        self._fonts: dict[tuple, ft2font.FT2Font] = {}
        self._line_metrics: dict[tuple, tuple[float | None, float | None, float | None]] = {}

    def forget_fonts(self) -> None:
        """Drop the fonts and line metrics found so far (called at the start of every draw)."""
        self._fonts.clear()
        self._line_metrics.clear()

    def _prepare_font(self, font_prop: FontProperties) -> ft2font.FT2Font:
        # matplotlib looks the font up by its properties for every string it measures or draws
        key = _font_key(font_prop)
        font = self._fonts.get(key)
        if font is None:
            font = self._fonts[key] = get_font(fontManager._find_fonts_by_props(font_prop))
        font.clear()
        font.set_size(font_prop.get_size_in_points(), self.dpi)
        return font

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        font = self._prepare_font(prop)
        key = (font, prop.get_size_in_points(), self.dpi, s, get_hinting_flag())
        extent = _MEASURED.get(key)
        if extent is None:
            if len(_MEASURED) >= SHAPED_STRINGS:
                _MEASURED.clear()
            extent = _MEASURED[key] = super().get_text_width_height_descent(s, prop, ismath)
        return extent

    def _get_font_height_metrics(self, prop: FontProperties) -> tuple[float | None, float | None, float | None]:
        # matplotlib's text layout asks a renderer for this hook first (PDF and PS answer it); the
        # computation is matplotlib's own fallback, from the font's OS/2 or hhea table
        key = _font_key(prop)
        if key not in self._line_metrics:
            self._line_metrics[key] = _line_metrics(prop, self.dpi)
        return self._line_metrics[key]

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath or not _GLYPH_BY_GLYPH:
            return super().draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
        font = self._prepare_font(prop)
        size = prop.get_size_in_points()
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        flags = get_hinting_flag()
        try:
            key = (font, size, self.dpi, s, flags, features, language)
            glyphs = _SHAPED.get(key)
        except TypeError:  # shaping options that cannot be a key: shape it every time
            key, glyphs = None, None
        if glyphs is None:
            glyphs = [(item.ft_object, item.glyph_index, item.x, item.y)
                      for item in font._layout(s, flags=flags, features=features, language=language)]
            if key is not None:
                if len(_SHAPED) >= SHAPED_STRINGS:
                    _SHAPED.clear()
                _SHAPED[key] = glyphs
        self._draw_glyphs(gc, x, y, angle, size, glyphs)

    def _draw_glyphs(self, gc, x: float, y: float, angle: float, size: float, glyphs: list[tuple]) -> None:
        # matplotlib's RendererAgg._draw_text_glyphs_and_boxes for upright, unstretched glyphs and no
        # boxes, with the rotation computed once per string instead of once per glyph
        # A glyph's bitmap depends on its pen position only through the position's fraction of a pixel
        # (FreeType places it in 1/64 px; a whole-pixel shift moves the bitmap and nothing else), so a
        # rendered glyph is kept by its fraction and placed by the whole pixels.
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        rotation = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)
        mode = RenderMode.NORMAL if gc.get_antialiased() else RenderMode.MONO
        flags = get_hinting_flag()
        top = self.height
        sized = None
        style = (size, self.dpi, flags, mode, angle)
        for font, glyph_index, dx, dy in glyphs:  # y is downwards here, dy upwards
            pen_x, pen_y = round(0x40 * (x + dx * cos - dy * sin)), round(0x40 * (top - y + dx * sin + dy * cos))
            key = (font, glyph_index, style, pen_x & 0x3f, pen_y & 0x3f)
            rendered = _RENDERED.get(key)
            if rendered is None:
                if sized is not font:
                    font.set_size(size, self.dpi)
                    sized = font
                font._set_transform(rotation, [pen_x & 0x3f, pen_y & 0x3f])
                bitmap = font._render_glyph(glyph_index, flags, mode)
                buffer = np.array(bitmap.buffer)  # the font's own buffer is reused by its next glyph
                if mode is RenderMode.MONO:
                    buffer *= 0xff
                if len(_RENDERED) >= RENDERED_GLYPHS:
                    _RENDERED.clear()
                rendered = _RENDERED[key] = (buffer, bitmap.left, bitmap.top)
            buffer, left, glyph_top = rendered
            self._renderer.draw_text_image(buffer, left + (pen_x >> 6),
                                           int(top) - glyph_top - (pen_y >> 6) + buffer.shape[0], 0, gc)


class TextReusingCanvas(FigureCanvasAgg):
    """An Agg canvas drawing with :class:`TextReusingRenderer`."""

    def get_renderer(self) -> TextReusingRenderer:
        width, height = self.get_width_height(physical=True)
        renderer = getattr(self, "_text_reusing", None)
        if renderer is None or (renderer.width, renderer.height, renderer.dpi) != (width, height, self.figure.dpi):
            renderer = self._text_reusing = TextReusingRenderer(width, height, self.figure.dpi)
        self.renderer = renderer
        return renderer

    def draw(self) -> None:
        self.get_renderer().forget_fonts()
        super().draw()


# strings shaped and measured, kept across figures; each cleared whole when full (two teams' 9 notebooks
# shape 420 distinct strings)
SHAPED_STRINGS = 20_000
_SHAPED: dict[tuple, list[tuple]] = {}
# glyphs rendered, by font, size, resolution, hinting, mode, angle and pen position within its pixel; kept across
# figures and cleared whole when full (five teams' 121 figures rendered 31,885 glyphs, 8,598 distinct)
RENDERED_GLYPHS = 50_000
_RENDERED: dict[tuple, tuple[np.ndarray, int, int]] = {}
_MEASURED: dict[tuple, tuple[float, float, float]] = {}
RenderMode = getattr(ft2font, "RenderMode", None)  # matplotlib >= 3.11, which draws glyph by glyph
_GLYPH_BY_GLYPH = RenderMode is not None and all(hasattr(ft2font.FT2Font, name)
                                                 for name in ("_layout", "_render_glyph", "_set_transform"))


def _font_key(prop: FontProperties) -> tuple:
    return (tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(), prop.get_stretch(),
            prop.get_size_in_points(), prop.get_file(), prop.get_math_fontfamily())


def _line_metrics(prop: FontProperties, dpi: float) -> tuple[float | None, float | None, float | None]:
    """Ascent, descent and line gap of ``prop``'s font in pixels, as matplotlib's ``Text`` reads them."""
    font = get_font(fontManager._find_fonts_by_props(prop))
    for table_name, gap, ascent, descent in (("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                                             ("hhea", "lineGap", "ascent", "descent")):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * prop.get_size_in_points() * dpi / 72
        return table[ascent] * scale, -table[descent] * scale, table[gap] * scale
    return None, None, None
