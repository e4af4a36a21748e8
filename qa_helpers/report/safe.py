"""Text a user controls, made harmless wherever the kit writes it.

Agent ids, team and category names, file and sheet names and config text come from the
exports and the config folder, and the reports are shared with managers. Each kind of output
has one function here, and every writer uses it:

- HTML: :func:`html_text` (a value in a page) and :func:`styled` (a table);
- Markdown shown in a notebook: :func:`markdown_text` (a value inside a sentence) and
  :func:`markdown_block` (a whole sentence, the last line of defence in ``show``);
- CSV opened in a spreadsheet: :func:`spreadsheet_safe` and :func:`write_csv`.

Figure labels need nothing here: figures are embedded as PNG, and :func:`qa_helpers.report.plots.set_style`
switches mathtext off so a ``$`` in a name is drawn as written.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pandas as pd
from pandas.io.formats.style import Styler

# a spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Markdown punctuation that turns inline text into emphasis, a link or image, code, a table cell or
# strike-through (a value sits inside a sentence, so line-start markers such as "-" or "1." cannot act)
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#|~])")


def html_text(value) -> str:
    """``value`` as text for an HTML page or attribute: ``<``, ``>``, ``&`` and quotes escaped.

    Examples
    --------
    >>> html_text('<img src=x onerror=alert(3)>')
    '&lt;img src=x onerror=alert(3)&gt;'
    """
    return html.escape(str(value), quote=True)


def markdown_text(value) -> str:
    """``value`` for use inside a Markdown sentence: shown exactly as written, never as markup.

    HTML is escaped (``&`` shows as ``&``) and Markdown punctuation is backslash-escaped, so an
    agent id ``*HL_A*`` is not emphasis and ``[x](javascript:...)`` is not a link.

    Examples
    --------
    >>> markdown_text("<b>HL_A</b> & co")
    '&lt;b&gt;HL\\\\_A&lt;/b&gt; &amp; co'
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(str(value), quote=False))


def markdown_block(text: str) -> str:
    """A Markdown sentence with any raw HTML made inert: every ``<`` becomes ``&lt;``.

    The kit's own Markdown uses no HTML tags (only entities such as ``&nbsp;``), so this changes
    nothing it means to show, and a tag that reached the sentence from data shows as text.
    """
    return text.replace("<", "&lt;")


def styled(frame: pd.DataFrame) -> Styler:
    """``frame.style`` with every cell, column header and index label HTML-escaped.

    Later ``.format(...)`` calls must pass ``escape="html"`` too: a new formatter replaces this one.
    """
    return (frame.style.format(escape="html")
            .format_index(escape="html", axis=0)
            .format_index(escape="html", axis=1))


def _neutralised(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells a spreadsheet will not run as formulas.

    A text cell starting with ``= + - @``, a tab or a carriage return gets a leading ``'``
    (the spreadsheet convention for "this is text"). Numbers, including negative ones, stay
    numbers; only text cells (and text column names) change.

    Examples
    --------
    >>> spreadsheet_safe(pd.DataFrame({"id": ["=1+2", "A-1"], "x": [-5, 3]}))["id"].tolist()
    ["'=1+2", 'A-1']
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype) \
                or isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object).map(_neutralised)
    return out.rename(columns=_neutralised)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` as a spreadsheet-safe CSV (UTF-8 with BOM, so Excel shows Chinese); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spreadsheet_safe(frame).to_csv(path, index=False, encoding="utf-8-sig")
    return path
