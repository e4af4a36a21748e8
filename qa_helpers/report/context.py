"""What every notebook starts from: its unit, period, archive, config folder, standards and language, checked once.

A notebook opens a :class:`Context` and asks it for everything: tables, KPIs, targets, the action
register, panel scores. The context knows which tables and fields the archive holds (the ingest
report's availability), so a section whose data the archive lacks says so in one plain line
(:meth:`Context.missing_note`: "Not measured: no complaints table in the archive") instead of
drawing an empty figure, and every loader reads the one config folder the notebook was given.

The report sections the notebooks show are in :mod:`qa_helpers.report.sections`.
"""

from __future__ import annotations

import base64
import gc
import io
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from qa_helpers.config import CONFIG_FILES, config_dir, config_file
from qa_helpers.data import archive as qa_archive
from qa_helpers.data.schemas import ANALYSIS_TABLES
from qa_helpers.errors import ArchiveError
from qa_helpers.measures import analysis, kpis, scorecard as qa_scorecard
from qa_helpers.measures.kpis import TABLE_WORDS  # how a table is named in a sentence
from qa_helpers.measures.standards import Standards, load_standards
from qa_helpers.periods import Period, parse_period
from qa_helpers.report import background, plots
from qa_helpers.report.layout import TextReusingCanvas, measure_once, ticks_for_one_draw
from qa_helpers.report.safe import markdown_block, markdown_text
from qa_helpers.report.shared_figures import drawn_png, keep_png
from qa_helpers.run.execute import SUMMARY_MIME

NOT_MEASURED = {"en": "Not measured", "zh": "未测量"}
def not_measured(language: str, reason: str, lead: str | None = None) -> str:
    """The one line a section shows instead of a figure: "Not measured: no complaints table in the archive."."""
    lead = lead or NOT_MEASURED.get(language, NOT_MEASURED["en"])
    return f"{lead}{'：' if language == 'zh' else ': '}{reason}."


def empty_table(name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A table with no rows, as a load of an absent table returns it (ingest's empty table, its dtypes).

    For archives written before absent tables were archived empty.
    """
    from qa_helpers.data.ingest import archive_schema, empty_table as empty_arrow  # only old archives need it

    arrow = empty_arrow(name)
    frame = arrow.cast(archive_schema(arrow, name)).to_pandas()
    if columns is None:
        return frame
    return pd.DataFrame({column: frame[column] if column in frame else pd.Series(dtype="object")
                         for column in columns})


KEPT_KPI_TABLES = 16  # per context: a notebook asks for a handful (unit, previous period, breakdowns)


@dataclass
class Context:
    """A notebook's parameters, validated, plus loaders bound to them and to one config folder."""

    unit: str
    period: Period
    archive: Path
    teams: list[str] | None
    standards: Standards
    language: str
    config: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)     # the config files every loader reads
    available: dict[str, set[str]] = field(default_factory=dict)
    # the archive scans :meth:`source` handed out: SQL over files only, safe to key a kept result on
    scans: set[str] = field(default_factory=set, repr=False)
    # KPI tables this context computed, by :meth:`_kpi_key`: a notebook asks for the same one in several cells
    kept_kpis: dict[tuple, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------ what the archive holds

    def has(self, table: str, field: str | None = None) -> bool:
        """Whether the archive holds ``table`` (and, when given, its ``field``)."""
        fields = self.available.get(table, set())
        return bool(fields) if field is None else field in fields

    def missing(self, *needs: str) -> str | None:
        """Why something cannot be shown: the first of ``needs`` (``"table"`` or ``"table.field"``)
        the archive lacks, as a phrase; ``None`` when it has them all."""
        from qa_helpers.report.texts import reason

        for need in needs:
            name, _, column = need.partition(".")
            if not self.has(name):
                return reason(f"no {TABLE_WORDS.get(name, name)} table in the archive", self.language)
            if column and not self.has(name, column):
                return reason(f"the {TABLE_WORDS.get(name, name)} have no {column} field", self.language)
        return None

    def missing_note(self, *needs: str, what: str | None = None) -> str | None:
        """One plain line for a section the archive cannot fill ("Not measured: no complaints table
        in the archive"); ``None`` when it has what the section needs."""
        reason = self.missing(*needs)
        if reason is None:
            return None
        return not_measured(self.language, reason, what)

    # ------------------------------------------------------------ loaders

    def load(self, table: str, period: Period | str | None = None, **kwargs) -> pd.DataFrame:
        """One table for this unit, for this period (or another one); a table the archive does not
        hold comes back empty, with its canonical columns."""
        try:
            return qa_archive.load(table, self.unit, period or self.period, archive=self.archive, **kwargs)
        except (FileNotFoundError, ArchiveError):
            if self.has(table):
                raise
            return empty_table(table, kwargs.get("columns"))  # an archive from before absent tables were written

    def tables(self, period: Period | str | None = None) -> dict[str, pd.DataFrame]:
        """Every analysis table for this unit and period (or another one), as pandas rows.

        At scale prefer :meth:`sources` and :meth:`query`: they aggregate in DuckDB and load no rows.
        """
        return {name: self.load(name, period) for name in ANALYSIS_TABLES}

    def source(self, table: str, period: Period | str | None = None, columns: list[str] | None = None) -> str:
        """One table of this unit for this period (or another one) as a DuckDB subquery
        (:func:`qa_helpers.data.archive.scan_sql`): only the period's files are read, no row is loaded."""
        try:
            scan = qa_archive.scan_sql(table, self.unit, period or self.period, archive=self.archive, columns=columns)
            self.scans.add(scan)
            return scan
        except ArchiveError:
            if self.has(table):
                raise
            empty = empty_table(table, columns)  # an archive from before absent tables were written
            name = f"empty_{table}"
            self.duckdb.register(name, empty)
            return name

    def sources(self, period: Period | str | None = None) -> dict[str, str]:
        """Every analysis table of this unit and period as DuckDB subqueries (see :meth:`source`);
        pass them to :func:`qa_helpers.measures.kpis.kpi_table` or :meth:`query`."""
        return {name: self.source(name, period) for name in ANALYSIS_TABLES}

    @cached_property
    def duckdb(self):
        """This context's DuckDB connection (:func:`qa_helpers.data.archive.analysis_cursor`)."""
        return qa_archive.analysis_cursor(self.archive)

    def query(self, sql: str, **tables: str) -> pd.DataFrame:
        """Run DuckDB SQL and return the (aggregated) result as a DataFrame.

        ``{name}`` placeholders are replaced by the given sources, e.g.
        ``ctx.query("SELECT channel, count(*) AS n FROM {t} GROUP BY 1", t=ctx.source("tickets"))``.
        """
        return self.duckdb.sql(sql.format(**tables) if tables else sql).df()

    def ingest_report(self) -> dict:
        """The archive's ingest report (row accounting per source)."""
        return qa_archive.ingest_report(self.archive)

    def targets(self) -> pd.DataFrame:
        """KPI targets in force for this unit (team overrides applied)."""
        return self.standards.targets(self.unit)

    def register(self) -> pd.DataFrame:
        """The whole action register of the config folder (or of the ``actions_file`` given)."""
        from qa_helpers.improve.actions import load_actions

        return load_actions(self.files.get("actions.yml") or config_file("actions.yml", self.config))

    def actions(self, every_unit: bool = False) -> pd.DataFrame:
        """The actions of the register that cover this unit (``every_unit``: every action), leaving out
        those that name teams this archive does not have (see :meth:`actions_left_out`)."""
        from qa_helpers.improve.actions import for_teams, naming_units

        register = self.register()
        usable = register.loc[naming_units(register, self.known_units).astype(bool)].reset_index(drop=True)
        return usable if every_unit else for_teams(usable, self.teams)

    def actions_left_out(self) -> list[str]:
        """One line per registered action left out because it names teams this archive does not have."""
        from qa_helpers.improve.actions import unknown_teams

        from qa_helpers.report.texts import say

        return [say("actions.left_out", self.language, action=action, teams=", ".join(teams))
                for action, teams in unknown_teams(self.register(), self.known_units).items()]

    @cached_property
    def known_units(self) -> set[str]:
        """Every unit of the archive: its teams, departments and ``ALL``."""
        return set(qa_archive.units(self.archive)["unit"])

    def panel_scores(self) -> pd.DataFrame:
        """Panel scores (``unit, period, panel, rater, score``) from the config folder; empty when it has none."""
        return qa_scorecard.load_panel_scores(self.files.get("panel_scores.csv")
                                              or config_file("panel_scores.csv", self.config))

    # ------------------------------------------------------------ registers of the QA team (issue 14)

    def roster(self) -> pd.DataFrame:
        """Every agent of the archive (``agent_id, team, department``), whatever the unit: a register's
        agent ids are checked against the whole roster."""
        if not self.has("agents"):
            return pd.DataFrame({c: pd.Series(dtype="object") for c in ("agent_id", "team", "department")})
        return qa_archive.load("agents", archive=self.archive, columns=["agent_id", "team", "department"])

    def coaching(self) -> pd.DataFrame:
        """The coaching register of the config folder (``coaching.csv``), checked; empty (with
        ``attrs["present"]`` False) when the folder has none."""
        from qa_helpers.people.registers import load_coaching

        return load_coaching(self.files.get("coaching.csv") or config_file("coaching.csv", self.config))

    def training(self) -> pd.DataFrame:
        """The training records of the config folder (``training.csv``), checked; empty (with
        ``attrs["present"]`` False) when the folder has none."""
        from qa_helpers.people.registers import load_training

        return load_training(self.files.get("training.csv") or config_file("training.csv", self.config))

    # ------------------------------------------------------------ KPIs

    @cached_property
    def measurability(self) -> pd.DataFrame:
        """Which KPIs this archive can measure: ``kpi, measured, reason``."""
        return kpis.measurability(self.available, self.standards.raw)

    def measured(self, name: str) -> bool:
        """Whether the archive can measure KPI ``name``."""
        row = self.measurability[self.measurability["kpi"] == name]
        return bool(len(row)) and bool(row["measured"].iloc[0])

    def kpi_reason(self, name: str) -> str | None:
        """Why KPI ``name`` is not measured (``None`` when it is)."""
        row = self.measurability[self.measurability["kpi"] == name]
        if row.empty or bool(row["measured"].iloc[0]):
            return None
        from qa_helpers.report.texts import reason

        return reason(str(row["reason"].iloc[0]), self.language)

    def kpi_table(self, tables: dict[str, pd.DataFrame] | None = None, by: list[str] | tuple[str, ...] = (),
                  kpis: list[str] | None = None, period: Period | str | None = None) -> pd.DataFrame:
        """KPIs of this unit (``tables``, or the period's tables) for a breakdown, with this unit's standards;
        KPIs the archive cannot measure are NaN with n = 0."""
        from qa_helpers.measures import kpis as kpi_module  # the argument ``kpis`` hides the module

        tables = tables if tables is not None else self.sources(period)
        # a batch kernel runs the KPI and scorecard notebooks of one unit and period one after the other,
        # and both need this and the previous period's table: kept once computed over archive scans
        key = self._kpi_key(tables, by, kpis)
        found = None if key is None else self._kept_kpi_table(key, tables, by, kpis)
        if found is not None:
            return found
        # notebook 04 asks for the scorecard's KPIs, then for the benchmarked ones: only those not kept are computed
        kept = self._kept_rows(tables) if key is not None and _cuttable(by, kpis) else {}
        missing = [name for name in kpis if name not in kept] if kept else kpis  # never empty when some are kept
        values = kpi_module.kpi_table(tables, by=list(by), standards=self.standards.raw, kpis=missing,
                                      available=self.available, connection=self.duckdb)
        if kept:
            computed = {name: values.iloc[[i]] for i, name in enumerate(values["kpi"])}
            values = pd.concat([row for row in (kept.get(name, computed.get(name)) for name in kpis) if row is not None],
                               ignore_index=True)
        if key is not None:
            if len(self.kept_kpis) >= KEPT_KPI_TABLES:  # a long-lived context (an analyst's kernel) keeps the latest
                self.kept_kpis.pop(next(iter(self.kept_kpis)))
            self.kept_kpis[key] = values.copy()
            qa_archive.keep(key, values)
        return values

    def _kept_kpi_table(self, key: tuple, tables, by, kpis) -> pd.DataFrame | None:
        """A KPI table computed before (in this context, or kept by a batch kernel), or the rows of
        ``kpis`` cut from the tables kept of other KPIs (:meth:`_kept_rows`)."""
        found = self.kept_kpis.get(key)
        found = found.copy() if found is not None else qa_archive.recall(key)
        if found is not None or not _cuttable(by, kpis):
            return found
        kept = self._kept_rows(tables)
        if not set(kpis) <= set(kept):
            return None
        return pd.concat([kept[name] for name in kpis], ignore_index=True)

    def _kept_rows(self, tables) -> dict[str, pd.DataFrame]:
        """Each KPI's row (``kpi, value, n``) in the tables without breakdown kept for these sources: this
        context's, and the unit's whole table a batch kernel kept. Each KPI is computed on its own, so a row
        is the same numbers whichever KPIs were computed with it."""
        whole_key = self._kpi_key(tables, (), None)
        same = [frame for key, frame in self.kept_kpis.items() if key[:3] == whole_key[:3] and key[4:] == whole_key[4:]]
        if whole_key not in self.kept_kpis:
            whole = qa_archive.recall(whole_key)
            same += [] if whole is None else [whole]
        rows: dict[str, pd.DataFrame] = {}
        for frame in same:
            for i, name in enumerate(frame["kpi"]):
                rows.setdefault(name, frame.iloc[[i]])
        return rows

    def _kpi_key(self, tables, by, kpis) -> tuple | None:
        """What a KPI table over ``tables`` depends on, when they are all archive scans of this context
        (``None`` otherwise: a DataFrame or a hand-written query is not kept)."""
        import json

        if not all(isinstance(source, str) and source in self.scans for source in tables.values()):
            return None
        return ("kpi_table", tuple(sorted(tables.items())), tuple(by), None if kpis is None else tuple(kpis),
                json.dumps(self.standards.raw, sort_keys=True, default=str),
                tuple(sorted((name, tuple(sorted(fields))) for name, fields in self.available.items())))

    def kpi_vs_target(self, values: pd.DataFrame) -> pd.DataFrame:
        """Each KPI beside its target with ``status`` (meets target / misses target / not measured) and a ``note``."""
        return analysis.kpi_vs_target(values, self.targets(), measurability=self.measurability)

    def scorecard(self, period: Period | None = None) -> pd.DataFrame:
        """The weighted scorecard of this unit for the period (or another one), with remarks from the
        standards and the action register; indicators the archive cannot measure are marked so, not
        scored as zero."""
        the_period = period or self.period
        panel = qa_scorecard.panel_means(self.panel_scores(), self.unit, str(the_period))
        remarks = qa_scorecard.indicator_remarks(self.standards, self.unit, str(the_period), self.actions())
        values = self.kpi_table(period=the_period, kpis=qa_scorecard.scorecard_kpis(self.standards) or None)
        return qa_scorecard.scorecard(values, self.standards, self.unit, panel,
                                      measurability=self.measurability, remarks=remarks)

    # ------------------------------------------------------------ text

    def heading(self) -> str:
        """A one-line Markdown heading naming the unit and the period's dates."""
        last = self.period.end - pd.Timedelta(days=1)
        unit = markdown_text(self.unit)
        if self.language == "zh":
            return f"**单位：** {unit} &nbsp;·&nbsp; **期间：** {self.period} ({self.period.start:%Y-%m-%d} 至 {last:%Y-%m-%d})"
        return (f"**Unit:** {unit} &nbsp;·&nbsp; **Period:** {self.period} "
                f"({self.period.start:%Y-%m-%d} to {last:%Y-%m-%d})")


def _cuttable(by, kpis) -> bool:
    """Whether a KPI table is its KPIs' rows, each on its own: no breakdown (a breakdown's groups are those
    any of its tables has), KPIs named (none means all of them, as kpi_tables reads it), none repeated
    (a repeated KPI has kpi_tables' own order)."""
    return not by and bool(kpis) and len(set(kpis)) == len(kpis)


def _file(value: str | os.PathLike, name: str) -> Path:
    """An override parameter: a file as given, or a folder's file of that name."""
    path = Path(value)
    return path if path.is_file() else config_file(name, path)


def settle_heap() -> None:
    """Collect garbage once, then exempt what is left (modules, config, caches) from later collections.

    Every full collection walks every live object, and the libraries a notebook imports leave
    hundreds of thousands of them; statsmodels' ``multipletests`` alone forces a full collection
    per call (0.1-0.3 s each in a kernel that has run a few notebooks). Frozen objects are still
    freed when nothing refers to them; only a reference cycle among them outlives its use.
    """
    gc.collect()
    gc.freeze()


def python_text_columns() -> None:
    """Have pandas keep text columns (and column names) as Python strings, not pyarrow arrays.

    pandas 3 stores text in pyarrow arrays by default, which pays off on millions of rows. A report's
    frames are aggregates of a few dozen rows that DuckDB computed; on those, every column looked up by
    name, every value read and every merge goes through pyarrow's machinery (a column by name 26 against
    10 µs, a merge 3.6 against 1.8 ms), and a team's notebooks took about a tenth more CPU (issue 17).
    The dtype is the same (``str``, NaN for a missing value), so values, comparisons and results are too.
    Process-wide, like every pandas option: the report's kernel is the kit's.
    """
    pd.set_option("mode.string_storage", "python")


def open_context(team: str, period: str | int, archive: str | os.PathLike = "", language: str = "en",
                 standards: str | os.PathLike = "", config: str | os.PathLike = "",
                 actions_file: str | os.PathLike = "") -> Context:
    """Validate a notebook's parameters and set the plot style.

    Parameters
    ----------
    team : str
        A team, a department or ``ALL``.
    period : str or int
        ``2025``, ``2025-Q1``, ``2025-03`` or ``2025-W10``; a bare year may come as a number
        (``papermill -p period 2025`` passes an int).
    archive : path-like
        The archive; empty means ``$QAKIT_ARCHIVE`` or ``data/archive``.
    language : {"en", "zh"}
        Labels and headers; falls back to ``en`` (with a warning) when no CJK font exists.
    standards : path-like
        A standards file overriding the config folder's ``standards.yml``; empty means the folder's.
    config : path-like
        The config folder every loader reads (sources, standards, actions, panel scores); empty
        means ``$QAKIT_CONFIG``, else ``config/``. A file the folder lacks is the kit's default.
    actions_file : path-like
        An action register overriding the config folder's ``actions.yml``.

    Returns
    -------
    Context
    """
    background.forget()  # an earlier report's work ahead, in a warm kernel or before a re-run cell
    if isinstance(period, int) and not isinstance(period, bool):
        period = str(period)
    the_period = parse_period(period)
    path = qa_archive.archive_path(archive)
    teams = qa_archive.resolve_unit(team, path)
    folder = config_dir(config or None).resolve()
    files = {name: config_file(name, folder).resolve() for name in CONFIG_FILES}
    if standards:
        files["standards.yml"] = _file(standards, "standards.yml").resolve()
    if actions_file:
        files["actions.yml"] = _file(actions_file, "actions.yml").resolve()
    used_language = plots.set_style(language)
    settle_heap()
    python_text_columns()
    return Context(unit=team, period=the_period, archive=path, teams=teams,
                   standards=load_standards(files["standards.yml"]), language=used_language, config=folder,
                   files=files, available=qa_archive.availability(path))


def record_summary(**figures) -> None:
    """Leave headline figures in the notebook's output for the batch index (invisible in HTML).

    Values must be JSON-serialisable numbers or strings; NaN becomes null.
    """
    from IPython.display import display

    clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in figures.items()}
    display({SUMMARY_MIME: clean, "text/plain": ""}, raw=True)


def figure_png(figure: Figure) -> bytes:
    """A figure as PNG bytes at its own size, drawn once.

    The inline backend's default path (``print_figure`` with ``bbox_inches="tight"``) draws each
    figure three times over: a draw for the layout, a pass for the bounding box, the draw that
    renders. The kit's figures are laid out by ``figure.autolayout`` (tight layout), which runs
    inside the one draw that renders (measuring each axes once, :func:`~qa_helpers.report.layout.measure_once`), so the
    picture is the same with the layout's own margins; figures are about half of a small unit's
    run time. A figure of :func:`~qa_helpers.report.shared_figures.shared_figure` is drawn once, while it
    does not change.
    """
    png = drawn_png(figure)  # a figure shared between reports, drawn for an earlier one
    if png is not None:
        return png
    measure_once(figure)
    canvas = figure.canvas if isinstance(figure.canvas, TextReusingCanvas) else TextReusingCanvas(figure)
    with ticks_for_one_draw(figure):
        FigureCanvasAgg.draw(canvas)  # as print_png draws
    png = png_bytes(np.asarray(canvas.buffer_rgba()), figure.dpi)
    keep_png(figure, png)
    return png


# zlib level of the figures' PNG: a team's 26 figures encode in 0.28 s of CPU at 3 against 0.38 s at
# Pillow's default 6, and come out 0.4 % larger (flat colours compress early)
PNG_COMPRESS_LEVEL = 3


def png_bytes(rgba: np.ndarray, dpi: float) -> bytes:
    """An image (rows of RGBA bytes, top row first) as PNG, as matplotlib's ``print_png`` writes it
    (its dpi and ``Software`` text), at :data:`PNG_COMPRESS_LEVEL`; without the alpha channel when
    every pixel is opaque.

    A report figure's background is opaque: RGB is the same picture in three bytes a pixel instead of
    four: a team's figures encode in about 9 % less CPU and take 10 % fewer bytes.
    """
    from PIL import Image, PngImagePlugin

    image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), np.ascontiguousarray(rgba), "raw", "RGBA", 0, 1)
    if rgba[..., 3].min() == 255:
        image = image.convert("RGB")
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=PNG_COMPRESS_LEVEL, dpi=(dpi, dpi), pnginfo=info)
    return buffer.getvalue()


def show(*items) -> None:
    """Display report items in order: text (as Markdown, raw HTML made inert), tables, figures;
    ``None`` is skipped.

    Lists are shown item by item. A figure is closed once shown, so the inline backend does not
    show it a second time at the end of the cell.
    """
    from IPython.display import Markdown, display

    from qa_helpers.report.texts import Said

    for item in items:
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            show(*item)
            continue
        if isinstance(item, Figure):
            display({"image/png": base64.b64encode(figure_png(item)).decode("ascii"), "text/plain": repr(item)},
                    raw=True)
            plt.close(item)
            continue
        # the catalogue's sentences escaped their values already and may carry their verbatim marks
        text = item if isinstance(item, Said) else markdown_block(item) if isinstance(item, str) else None
        display(Markdown(text) if text is not None else item)
