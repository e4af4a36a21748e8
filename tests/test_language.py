"""Reports in Chinese are Chinese: no Latin-script word a reader sees, outside names, codes and units.

The notebooks run once for one team with ``language="zh"`` (as ``qakit run --language zh`` runs
them); every rendered page's visible text (code, styles, scripts and hidden elements left out) is
searched for Latin-script words that are not on the allow-list below.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

from qa_helpers.report.texts import NARRATIVE
from qa_helpers.run.batch import run_batch
from qa_helpers.run.execute import notebook_steps

# Words a Chinese reader is expected to see in Latin script: KPI and method codes (defined in the
# reports' notes), units, and the sample's ids. Team and agent ids are matched by pattern.
ALLOWED = {
    "CSAT", "NPS", "FCR", "SLA", "AHT", "KPI", "QA", "IQS", "ICC", "DiD", "MDE", "CI", "ALL", "XmR", "Holm", "BH",
    "Fleiss", "Cohen", "Bonferroni", "SHA-256", "m", "p", "n", "k", "s", "h", "min", "pp", "d", "σ", "Q1", "Q2", "Q3", "Q4", "Why", "CSV", "HTML",
    "hotline", "field",  # department names come from the roster, as written there
}
ID_PATTERNS = re.compile(r"^(?:[A-Z]{2}-[A-Z0-9]+|A\d{3,}|R\d+|W\d{1,2}|ACT-?\d+|[A-Z]\d+)$")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’-]*")
STEPS = list(notebook_steps())  # every report


class VisibleText(HTMLParser):
    """The text a browser shows: everything outside <style>, <script>, <head>, hidden elements and code
    (and outside text users wrote, marked ``verbatim``)."""

    SKIP = {"style", "script", "head", "title"}
    VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []   # per open element: whether it hides its content
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attributes = dict(attrs)
        style = (attributes.get("style") or "").replace(" ", "")
        classes = (attributes.get("class") or "").split()
        hidden = (tag in self.SKIP or "hidden" in attributes or "display:none" in style
                  or "jp-CodeMirrorEditor" in classes or "verbatim" in classes)
        self.stack.append(hidden)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not any(self.stack):
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(parser.parts)


def latin_words(text: str) -> list[str]:
    """Latin-script words in ``text`` that are not names, codes or units."""
    return sorted({w for w in LATIN_WORD.findall(text)
                   if w not in ALLOWED and not ID_PATTERNS.match(w) and not re.fullmatch(r"\d*[A-Z]?\d+", w)})


def test_the_checker_finds_english_and_spares_codes():
    page = ("<html><head><title>Notebook</title><style>.x{color:red}</style></head><body>"
            "<p>客户满意度 CSAT 86.2 % (n = 1 234), 班组 HL-B, 客服 A0034</p><script>var x = 1;</script>"
            "<div style='display: none'>hidden English</div><p>Meets target</p></body></html>")
    assert latin_words(visible_text(page)) == ["Meets", "target"]


@pytest.fixture(scope="module")
def chinese_reports(archive, tmp_path_factory) -> dict[str, Path]:
    """The notebooks for one team, as `qakit run --language zh` runs them, and the period's index."""
    out = tmp_path_factory.mktemp("zh")
    manifest = run_batch("2025-Q3", teams="HL-B", notebooks=",".join(STEPS), out=out, archive=archive, jobs=2,
                         progress=False, language="zh")
    assert manifest["failed"] == [] and manifest["language"] == "zh"
    return {**{step: out / "2025-Q3" / "HL-B" / f"{step}.html" for step in STEPS}, "index": out / "2025-Q3" / "index.html"}


def test_the_chinese_index_is_chinese(chinese_reports):
    page = chinese_reports["index"].read_text(encoding="utf-8")
    assert latin_words(visible_text(page)) == []
    assert "<html lang='zh-CN'>" in page and "服务质量报告" in page


@pytest.mark.parametrize("step", STEPS)
def test_chinese_reports_have_no_english_words(chinese_reports, step):
    words = latin_words(visible_text(chinese_reports[step].read_text(encoding="utf-8")))
    assert words == [], f"{step}: English left in the zh report: {words}"


@pytest.mark.parametrize("step", STEPS)
def test_reports_show_no_internals(chinese_reports, step):
    """No True/False, snake_case names or NaN shown to a reader."""
    text = visible_text(chinese_reports[step].read_text(encoding="utf-8"))
    assert not re.findall(r"\b(?:True|False|nan|NaN|None)\b", text), step
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b", text), step


def test_every_text_has_both_languages_with_the_same_placeholders():
    from string import Formatter

    from qa_helpers.report.texts import NARRATIVE

    for key, (english, chinese) in NARRATIVE.items():
        assert english and chinese, key
        names = [{name for _, name, _, _ in Formatter().parse(text) if name} for text in (english, chinese)]
        assert names[0] == names[1], key
        assert latin_words(re.sub(r"\{\w+\}", "", chinese)) == [], key


def test_values_said_are_escaped_and_user_text_is_marked():
    from qa_helpers.report.texts import Verbatim, say

    line = say("monitoring.chart_not_drawn", "en", kpi="<b>CSAT</b>", reason="x")
    assert "<b>" not in line and "&lt;b&gt;" in line
    marked = say("standards.rule_alert", "zh", kpi="满意度", word="低于", value="85.0%", group="班组", min_n=30,
                 source=Verbatim(" — seed 000"))
    assert '<span class="verbatim"> — seed 000</span>' in marked
    assert latin_words(visible_text(f"<p>{marked}</p>")) == []


def test_tables_show_marks_whole_numbers_and_words():
    import pandas as pd

    from qa_helpers.report.labels import table

    frame = pd.DataFrame({"weeks_with_data": [2038.0, 5.0], "balanced": [True, False], "share": [0.85, 0.5]})
    page = table(frame, "en", percent=["share"]).to_html()
    text = visible_text(page)
    assert "2,038" in text and "2,038.0" not in text
    assert "✓" in text and "✗" in text and "True" not in text
    assert "85.0%" in text and "0.85" not in text
    assert "Weeks with data" in text and "weeks_with_data" not in text  # a header without a catalogue entry, in words


def test_reasons_are_translated():
    from qa_helpers.report.texts import reason

    assert reason("no complaints table in the archive", "zh") == "档案中没有投诉表"
    assert reason("scored over 70 of 100 points: 2 indicators not measured", "zh") == "按 100 分中的 70 分计分：2 项指标未测量"
    assert reason("no complaints table in the archive", "en") == "no complaints table in the archive"


def _bold_runs_that_do_not_flank(text: str) -> list[str]:
    """``**`` runs CommonMark cannot read as the opening or closing of bold (e.g. ``。**各``: a closing
    run after punctuation must be followed by a space or punctuation), so the marks show as written."""
    def punct(ch: str) -> bool:
        return unicodedata.category(ch)[0] in "PS"

    found = []
    for line in text.split("\n"):
        for k, m in enumerate(re.finditer(r"\*\*", line)):
            before = line[m.start() - 1] if m.start() else " "
            after = line[m.end()] if m.end() < len(line) else " "
            opens = not after.isspace() and (not punct(after) or before.isspace() or punct(before))
            closes = not before.isspace() and (not punct(before) or after.isspace() or punct(after))
            if not (opens if k % 2 == 0 else closes):
                found.append(line[max(0, m.start() - 6):m.end() + 6])
    return found


def test_bold_marks_render_next_to_chinese_punctuation():
    assert _bold_runs_that_do_not_flank("**原始满意度。**其余") == ["原始满意度。**其余"]
    bad = {key: _bold_runs_that_do_not_flank(zh) for key, (en, zh) in NARRATIVE.items()
           if _bold_runs_that_do_not_flank(en) or _bold_runs_that_do_not_flank(zh)}
    assert bad == {}


def test_before_after_charts_speak_chinese():
    """Titles, bars, legend and axis units of the before/after charts are in the reader's language."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from qa_helpers.report import plots

    rng = np.random.default_rng(1)
    obs = pd.DataFrame({"window": ["before"] * 50 + ["after"] * 50, "value": rng.lognormal(5, 1, 100)})
    weeks = pd.date_range("2025-05-05", periods=8, freq="7D")
    weekly = pd.DataFrame({"week": list(weeks) * 2, "team": ["HL-B"] * 8 + ["HL-C"] * 8,
                           "value": rng.normal(5, 0.2, 16), "n": 30, "role": ["treated"] * 8 + ["control"] * 8})
    fig, (left, right) = plt.subplots(1, 2)
    plots.plot_windows(obs, "duration", "aht_s", ax=left, language="zh")
    plots.plot_interrupted_series(weekly, "2025-06-02", "aht_s", "duration", ax=right, language="zh")
    shown = [left.get_title(), left.get_ylabel(), right.get_title(), right.get_ylabel(),
             *[tick.get_text() for tick in left.get_xticklabels()], *[x.get_text() for x in right.texts],
             *[x.get_text() for x in right.get_legend().get_texts()]]
    plt.close(fig)
    assert latin_words(" ".join(shown)) == [], shown
