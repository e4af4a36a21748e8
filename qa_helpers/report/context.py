"""What every notebook starts from: its unit, period, archive, standards and language, checked once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qa_helpers.data import archive as qa_archive
from qa_helpers.run.execute import SUMMARY_MIME
from qa_helpers.periods import Period, parse_period
from qa_helpers.report.plots import set_style
from qa_helpers.data.schemas import ANALYSIS_TABLES
from qa_helpers.measures.standards import Standards, load_standards


@dataclass
class Context:
    """A notebook's parameters, validated, plus loaders bound to them."""

    unit: str
    period: Period
    archive: Path
    teams: list[str] | None
    standards: Standards
    language: str

    def load(self, table: str, period: Period | str | None = None, **kwargs) -> pd.DataFrame:
        """One table for this unit, for this period (or another one)."""
        return qa_archive.load(table, self.unit, period or self.period, archive=self.archive, **kwargs)

    def tables(self, period: Period | str | None = None) -> dict[str, pd.DataFrame]:
        """Every analysis table for this unit and period (or another one)."""
        return {name: self.load(name, period) for name in ANALYSIS_TABLES}

    def targets(self) -> pd.DataFrame:
        """KPI targets in force for this unit (team overrides applied)."""
        return self.standards.targets(self.unit)

    def heading(self) -> str:
        """A one-line Markdown heading naming the unit and the period's dates."""
        last = self.period.end - pd.Timedelta(days=1)
        if self.language == "zh":
            return f"**单位：** {self.unit} &nbsp;·&nbsp; **期间：** {self.period} ({self.period.start:%Y-%m-%d} 至 {last:%Y-%m-%d})"
        return (f"**Unit:** {self.unit} &nbsp;·&nbsp; **Period:** {self.period} "
                f"({self.period.start:%Y-%m-%d} to {last:%Y-%m-%d})")


def open_context(team: str, period: str, archive: str | os.PathLike = "", language: str = "en",
                 standards: str | os.PathLike = "") -> Context:
    """Validate a notebook's parameters and set the plot style.

    Parameters
    ----------
    team : str
        A team, a department or ``ALL``.
    period : str
        ``2025``, ``2025-Q1``, ``2025-03`` or ``2025-W10``.
    archive : path-like
        The archive; empty means ``$QAKIT_ARCHIVE`` or ``data/archive``.
    language : {"en", "zh"}
        Labels and headers; falls back to ``en`` (with a warning) when no CJK font exists.
    standards : path-like
        The standards file; empty means ``config/standards.yml``.

    Returns
    -------
    Context
    """
    the_period = parse_period(period)
    path = qa_archive.archive_path(archive)
    teams = qa_archive.resolve_unit(team, path)
    used_language = set_style(language)
    return Context(unit=team, period=the_period, archive=path, teams=teams,
                   standards=load_standards(standards or None), language=used_language)


def record_summary(**figures) -> None:
    """Leave headline figures in the notebook's output for the batch index (invisible in HTML).

    Values must be JSON-serialisable numbers or strings; NaN becomes null.
    """
    from IPython.display import display

    clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in figures.items()}
    display({SUMMARY_MIME: clean, "text/plain": ""}, raw=True)
