"""What every notebook pays before its first section (issue 17): the standards' calendar check
imports no holiday module it does not use, and opening a context freezes the imported heap."""

from __future__ import annotations

import subprocess
import sys

import holidays
import pytest

from qa_helpers.errors import ConfigError
from qa_helpers.measures import service_levels as sl


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    return out.stdout.strip().splitlines()[-1]


def test_known_countries_are_the_holidays_packages_own():
    assert sl.known_countries() == frozenset(holidays.list_supported_countries())
    assert {"CN", "CHN", "UK"} <= sl.known_countries()
    with pytest.raises(ConfigError, match="does not know 'XX'"):
        sl.calendar({"service_levels": {"calendar": {"country": "XX"}}})


def test_checking_the_calendar_imports_one_country_not_all():
    # listing the countries the package's way imports all ~250 country modules (1.5-2 s per notebook)
    loaded = _run("import sys\nfrom qa_helpers.measures import service_levels as sl\n"
                  "sl.calendar({'service_levels': {'calendar': {'country': 'CN'}}})\n"
                  "print(sum(m.startswith('holidays.countries.') for m in sys.modules))")
    assert int(loaded) < 10


def test_opening_a_context_freezes_the_heap_it_found(archive):
    frozen = _run("import gc, matplotlib\nmatplotlib.use('agg')\n"
                  "from qa_helpers.report.context import open_context\n"
                  f"open_context('ALL', '2025-Q4', {str(archive)!r})\nprint(gc.get_freeze_count())")
    assert int(frozen) > 100_000


def test_a_notebook_that_checks_no_rows_never_imports_pandera(archive):
    loaded = _run("import sys, matplotlib\nmatplotlib.use('agg')\n"
                  "from qa_helpers.report import sections\nfrom qa_helpers.report.context import open_context\n"
                  f"open_context('ALL', '2025-Q4', {str(archive)!r})\n"
                  "from qa_helpers.data.schemas import SCHEMAS\nbefore = 'pandera' in sys.modules\n"
                  "names, table = list(SCHEMAS)[:2], SCHEMAS['tickets'].name\n"
                  "print(before, 'pandera' in sys.modules, names, table)")
    assert loaded == "False True ['agents', 'tickets'] tickets"


def test_the_data_quality_report_lists_fields_without_pandera(archive):
    # the completeness and inventory sections list every table's canonical fields: that is plain data
    loaded = _run("import sys, matplotlib\nmatplotlib.use('agg')\n"
                  "from qa_helpers.report import sections\nfrom qa_helpers.report.context import open_context\n"
                  "from qa_helpers.measures import quality\n"
                  f"ctx = open_context('ALL', '2025-Q4', {str(archive)!r})\n"
                  "sections.completeness(ctx, ctx.sources())\nquality.availability_table(ctx.available)\n"
                  "print('pandera' in sys.modules)")
    assert loaded == "False"


def test_a_batch_forks_its_workers_before_papermill_and_without_the_iri_grammar():
    # rfc3987_syntax (installed with jupyterlab) costs ~3 s of CPU to import in every process that reads a
    # notebook; papermill imported before forking left workers short of ZMQ sockets, so each worker imports it
    state = _run("import sys\nfrom unittest import mock\nfrom qa_helpers.run import batch\n"
                 "seen = {}\n"
                 "def workers(*a, **k):\n"
                 "    seen['papermill'] = 'papermill' in sys.modules\n"
                 "    raise SystemExit\n"
                 "    yield\n"
                 "from types import SimpleNamespace as Job\n"
                 "with mock.patch.object(batch, 'workers_by_unit', workers):\n"
                 "    try:\n"
                 "        list(batch._run([Job(unit='HL-B'), Job(unit='HL-C')], ('2025-Q4',), 2, None))\n"
                 "    except SystemExit:\n"
                 "        pass\n"
                 "import nbformat, jsonschema, papermill\n"
                 "from qa_helpers.run import execute\n"
                 "print(sys.modules.get('rfc3987_syntax') is None, seen['papermill'], "
                 "papermill.engines.papermill_engines.get_engine(execute._engine()).__name__)")
    assert state == "True False ThrottledSaveEngine"

def test_the_kit_theme_is_seaborns_whitegrid_colorblind_notebook_theme():
    # set_style sets plain rcParams (importing seaborn costs ~1.3 s); the look stays seaborn's, to the parameter
    same = _run("import matplotlib\nmatplotlib.use('agg')\nimport matplotlib as mpl, seaborn as sns\n"
                "from qa_helpers.report import plots\n"
                "sns.set_theme(style='whitegrid', palette=plots.PALETTE, context='notebook')\n"
                "theirs, codes = dict(mpl.rcParams), dict(mpl.colors.colorConverter.colors)\n"
                "mpl.rcdefaults()\nfor c, rgb in mpl.colors.BASE_COLORS.items():\n"
                "    mpl.colors.colorConverter.colors[c] = rgb\n"
                "    mpl.colors.to_rgb(c)  # cached: set_style must not leave the old colour in the cache\n"
                "plots.set_style('en')\nours = dict(mpl.rcParams)\n"
                "print(sorted(k for k in ours if ours[k] != theirs[k]),\n"
                "      all(mpl.colors.to_rgb(c) == codes[c] for c in 'bgrmyck'),\n"
                "      list(plots.COLOURS) == sns.color_palette(plots.PALETTE))")
    # only what set_style sets on top of the theme differs, and the default colour map: seaborn's exists only
    # with seaborn imported, and no kit chart uses the default
    assert same == ("['axes.labelsize', 'axes.titlesize', 'axes.titleweight', 'axes.unicode_minus', 'figure.autolayout', "
                    "'figure.figsize', 'image.cmap', 'savefig.dpi', 'text.parse_math'] True True")


def test_what_notebook_01_imports_imports_no_statistics_or_seaborn():
    # scipy.stats (via seaborn) and statsmodels cost 1-2 s of every notebook's start; only tests and
    # seaborn's own charts import them, when they run
    loaded = _run("import sys\nimport matplotlib_inline.backend_inline\n"
                  "from qa_helpers.report import sections\n"
                  "from qa_helpers.report.context import open_context, record_summary, show\n"
                  "from qa_helpers.report.texts import say\n"
                  "print([m for m in ('scipy.stats', 'seaborn', 'statsmodels') if m in sys.modules])")
    assert loaded == "[]"


FIRST_CELL = ("import json, sys, matplotlib\nmatplotlib.use('agg')\n"
              "cells = [c for c in json.load(open({nb!r}))['cells'] if c['cell_type'] == 'code']\n"
              "exec(''.join(cells[0]['source']))\nteam, period, archive = 'ALL', '2025', {archive!r}\n"
              "exec(''.join(cells[1]['source']).replace('%matplotlib inline', ''))\n"
              "print([m for m in ('scipy.stats', 'seaborn', 'statsmodels') if m in sys.modules])")


@pytest.mark.parametrize("notebook", ["02_data_quality", "03_kpi_analysis", "04_scorecard", "05_action_plan",
                                      "07_before_after", "08_qa_calibration", "09_voice_of_customer"])
def test_a_first_cell_that_computes_no_test_imports_no_statistics(notebook, archive):
    # qa_helpers.stats and calibration once imported scipy.stats and statsmodels at their top (~1-2.5 s of CPU
    # in the first cell of 05, 07, 08, 09); now they load with the first test a cell computes. 06's first cell
    # computes one: the coaching screen's binomial test and Wilson intervals
    from pathlib import Path
    nb = Path(__file__).parents[1] / "notebooks" / f"{notebook}.ipynb"
    assert _run(FIRST_CELL.format(nb=str(nb), archive=str(archive))) == "[]"


def test_the_statistics_package_loads_each_name_on_first_use():
    loaded = _run("import sys\nfrom qa_helpers import stats\nbefore = 'scipy.stats' in sys.modules\n"
                  "from qa_helpers.stats import COLUMNS, compare\n"
                  "every = all(getattr(stats, n) is not None for n in stats.__all__)\n"
                  "print(before, 'scipy.stats' in sys.modules, compare.__module__, len(stats.__all__), every)")
    assert loaded == "False True qa_helpers.stats.comparisons 33 True"
