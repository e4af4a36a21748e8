"""The period's index page: per unit, the headline KPIs coloured against target, the change since the
previous period, the grade with the targets met, open alerts and coaching cases, and a link to every
report, grouped by department; in the batch's language.

Everything on the page comes from the manifest (status, duration, links) and the small
summaries the notebooks recorded — nothing is recomputed here. The manifest holds every run
of the period (a partial run merges into it), so the page always shows every report.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from qa_helpers.data.archive import ALL, units
from qa_helpers.report.labels import t

# KPIs shown with their target colour and change (recorded by the KPI notebook), and their units
KPI_COLUMNS = (("csat", "share"), ("fcr", "share"), ("response_on_time", "share"))
AMBER = 0.05  # a KPI short of its target by less than 5 % of the target is amber, not red
STATUS_STYLE = {"ok": "ok", "skipped": "skipped", "failed": "failed", "no data": "nodata", "pending": "pending"}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#222;
     max-width:1400px}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:1.6rem}
.meta{color:#555;font-size:.85rem} .legend span{padding:0 .4rem;border-radius:.3rem;margin-right:.3rem}
table{border-collapse:collapse;margin-top:.5rem;width:100%;table-layout:auto}
th,td{border:1px solid #ddd;padding:.3rem .45rem;font-size:.85rem;text-align:center;vertical-align:top}
th{background:#f4f4f4;font-weight:600} td.unit{text-align:left;font-weight:600;white-space:nowrap}
tr.rollup td.unit{background:#f7f7f7}
td.green,.legend .green{background:#e3f4ea} td.amber,.legend .amber{background:#fff1d6}
td.red,.legend .red{background:#fde2e6}
.small{color:#555;font-size:.72rem;display:block;white-space:nowrap}
td.reports{text-align:left;font-size:.78rem;line-height:1.6;min-width:8rem;max-width:18rem}
td.reports a{margin-right:.45rem;white-space:nowrap;text-decoration:none}
a.ok{color:#11663a} a.skipped{color:#555} a.failed{color:#b00020;font-weight:700}
span.nodata,span.pending{color:#7a5a00;font-style:italic;margin-right:.45rem} td.nodata{color:#7a5a00;font-style:italic}
@media (max-width:1100px){body{margin:.6rem} th,td{padding:.25rem .3rem;font-size:.78rem} .small{font-size:.68rem;white-space:normal} td.unit{white-space:normal}}
"""


def rag(value: float | None, target: float | None, better: str | None) -> str:
    """``green`` at or beyond target, ``amber`` short by less than 5 % of the target, ``red`` further
    off; empty when there is no value or no target."""
    if value is None or target is None or pd.isna(value) or pd.isna(target):
        return ""
    shortfall = (target - value) if better != "lower" else (value - target)
    if shortfall <= 0:
        return "green"
    return "amber" if shortfall < AMBER * abs(target) else "red"


def _change(value: float | None, previous: float | None, unit: str) -> str:
    """The change since the previous period: "+1.2 pp" for shares, "+3.5" for scores; empty when unknown."""
    if value is None or previous is None:
        return ""
    delta = (value - previous) * (100 if unit == "share" else 1)
    text = f"{delta:+.1f}".replace("-", "−")
    return text + (" pp" if unit == "share" else "")


def _kpi_cell(summary: dict, name: str, unit: str, language: str) -> str:
    from qa_helpers.report.plots import format_value

    value = summary.get(name)
    if value is None:
        return "<td>–</td>"
    colour = rag(value, summary.get(f"{name}_target"), summary.get(f"{name}_better"))
    target = summary.get(f"{name}_target")
    title = f"{t('target', language)} {format_value(target, unit)}" if target is not None else ""
    change = _change(value, summary.get(f"{name}_previous"), unit)
    n = summary.get(f"{name}_n")
    benchmark = summary.get(f"{name}_benchmark")  # a competitor / industry figure (benchmarks.yml), beside it
    details = " · ".join(part for part in (change, f"n = {n:,}" if n else "",
                                           f"{t(summary.get(f'{name}_benchmark_kind') or 'benchmark', language)} "
                                           f"{format_value(benchmark, unit)}" if benchmark is not None else "") if part)
    return (f"<td class='{colour}' title='{html.escape(title)}'>{html.escape(format_value(value, unit))}"
            + (f"<span class='small'>{html.escape(details)}</span>" if details else "") + "</td>")


def _grade_cell(summary: dict, language: str) -> str:
    grade = summary.get("grade")
    if not grade:
        return "<td>–</td>"
    met, judged = summary.get("targets_met"), summary.get("targets_judged")
    score = summary.get("score")
    change = _change(score, summary.get("score_previous"), "points")
    colour = {"excellent": "green", "good": "green", "pass": "amber"}.get(str(grade), "red")
    lines = [(f"{score:.1f}" + (f" ({change})" if change else "")) if score is not None else "",
             f"{met} / {judged} {t('targets_met_short', language)}" if judged else ""]
    return (f"<td class='{colour}'>{html.escape(t(str(grade), language))}"
            + "".join(f"<span class='small'>{html.escape(line)}</span>" for line in lines if line) + "</td>")


def _alerts_cell(summary: dict, language: str) -> str:
    if "open_alerts" not in summary:
        return "<td>–</td>"
    opened = summary["open_alerts"]
    kinds = " · ".join(f"{t(kind, language)} {summary.get(f'{kind}_alerts', 0)}"
                       for kind in ("chronic", "recurring", "new") if summary.get(f"{kind}_alerts"))
    colour = "green" if not opened else "red" if summary.get("high_severity_alerts") else "amber"
    return (f"<td class='{colour}'>{opened} / {summary.get('alerts', opened)}"
            + (f"<span class='small'>{html.escape(kinds)}</span>" if kinds else "") + "</td>")


def _coaching_cell(summary: dict, language: str) -> str:
    if "coaching_cases" not in summary:
        return "<td>–</td>"
    teams = summary.get("teams_below_target") or 0
    return (f"<td>{summary['coaching_cases']}"
            + (f"<span class='small'>{html.escape(t('team-level', language))}: {teams}</span>" if teams else "")
            + "</td>")


def _reports_cell(entries: dict[str, dict], steps: list[str], language: str, fingerprint: str | None) -> str:
    links = []
    for step in steps:
        entry = entries.get(step)
        name = html.escape(t(f"step.{step}", language))
        if entry is None:
            continue
        status = entry["status"]
        outputs = entry.get("outputs") or {}
        target = outputs.get("html") or outputs.get("ipynb")
        if status == "failed" and outputs.get("html"):
            target = f"{outputs['html']}#papermill-error-cell"
        ran = status not in ("no data", "pending")  # not run: no duration to show
        # an entry merged from an earlier run may come from an earlier archive: say so beside it
        older = ran and entry.get("archive_fingerprint") != fingerprint
        hint = html.escape(t(f"run.{status}", language) + (f", {entry['duration_s']:.1f} s" if ran else "")
                           + (f", {t('older_archive', language)}" if older else "")
                           + (f": {entry['error']}" if entry.get("error") else ""))
        name += "*" if older else ""
        links.append(f"<a class='{STATUS_STYLE[status]}' href='{html.escape(target)}' title='{hint}'>{name}</a>"
                     if target else f"<span class='{STATUS_STYLE[status]}' title='{hint}'>{name}</span>")
    return f"<td class='reports'>{' '.join(links)}</td>"


def write_index(manifest: dict, period_dir: Path, archive: Path) -> Path:
    """Write ``index.html`` for a period from its manifest (in its ``language``); returns its path."""
    language = manifest.get("language") or "en"
    steps = manifest["notebooks"]
    by_unit: dict[str, dict[str, dict]] = {}
    for entry in manifest["entries"]:
        by_unit.setdefault(entry["team"], {})[entry["notebook"]] = entry
    table = units(archive).set_index("unit")
    # a unit of an earlier run that this archive no longer has keeps its row, under a group of its own
    gone = [u for u in manifest["units"] if u not in table.index]
    if gone:
        table = pd.concat([table, pd.DataFrame({"kind": "team", "department": t("gone_units", language)},
                                               index=pd.Index(gone, name="unit"))])
    groups: dict[str, list[str]] = {}
    # company first, then departments; in each, the rollup before its teams
    ordered = sorted(manifest["units"], key=lambda u: (u != ALL, u in gone, str(table.loc[u, "department"]),
                                                        table.loc[u, "kind"] != "department", u))
    for unit in ordered:
        department = table.loc[unit, "department"]
        group = t("company", language) if unit == ALL else t("teams", language) if pd.isna(department) else str(department)
        groups.setdefault(group, []).append(unit)
    counts = {s: sum(e["status"] == s for e in manifest["entries"]) for s in STATUS_STYLE}
    heads = [t("unit", language), t("grade_and_targets", language), *(t(name, language) for name, _ in KPI_COLUMNS),
             t("open_alerts", language), t("coaching_cases", language), t("reports", language)]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    period = html.escape(manifest["period"])
    parts = [f"<!DOCTYPE html><html lang='{'zh-CN' if language == 'zh' else 'en'}'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>{html.escape(t('index_title', language))} · {period}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(t('index_title', language))} · {period}</h1>",
             f"<p class='meta'>{counts['ok']} {t('run.ok', language)} · {counts['failed']} {t('run.failed', language)} · "
             f"{counts['skipped']} {t('run.skipped', language)} · "
             + (f"{counts['no data']} {t('run.no data', language)} · " if counts["no data"] else "")
             + (f"{counts['pending']} {t('run.pending', language)} · " if counts["pending"] else "")
             + f"{t('kit', language)} {html.escape(str(manifest['kit_version']))} · "
             f"{t('archive', language)} <code class='verbatim'>{html.escape(str(manifest['archive_fingerprint'])[:12])}</code>"
             + (f" · {t('config', language)} <span class='verbatim'>{html.escape(str(manifest['config_dir']))}</span>"
                if manifest.get("config_dir") else "")
             + (f" · {t('commit', language)} <code class='verbatim'>{html.escape(manifest['git_commit'][:10])}</code>"
                if manifest.get("git_commit") else "") + "</p>",
             f"<p class='meta legend'><span class='green'>{t('legend.green', language)}</span>"
             f"<span class='amber'>{t('legend.amber', language)}</span><span class='red'>{t('legend.red', language)}</span>"
             f" {html.escape(t('legend.change', language))}</p>"]
    failed = [f"{e['team']}/{e['notebook']}" for e in manifest["entries"] if e["status"] == "failed"]
    if failed:
        parts.append(f"<p class='meta'>{t('run.failed', language)}: " + ", ".join(html.escape(f) for f in failed)
                     + f" — {t('legend.failing_cell', language)}</p>")
    for group, members in groups.items():
        parts.append(f"<h2>{html.escape(group)}</h2><table><tr>{head}</tr>")
        for unit in members:
            entries = by_unit.get(unit, {})
            summary: dict = {}
            for step in steps:
                summary.update((entries.get(step) or {}).get("summary") or {})
            kind = "rollup" if unit == ALL or table.loc[unit, "kind"] == "department" else ""
            label = (t("whole_company", language) if unit == ALL else
                     t("rollup_of", language).format(unit=unit) if kind else unit)
            if entries and all(e["status"] == "no data" for e in entries.values()):
                cells = (f"<td class='nodata' colspan='{len(KPI_COLUMNS) + 3}'>"
                         f"{html.escape(t('no_data_row', language).format(period=manifest['period']))}</td>")
            else:
                cells = (_grade_cell(summary, language)
                         + "".join(_kpi_cell(summary, name, unit_of, language) for name, unit_of in KPI_COLUMNS)
                         + _alerts_cell(summary, language) + _coaching_cell(summary, language))
            cells += _reports_cell(entries, steps, language, manifest["archive_fingerprint"])
            parts.append(f"<tr class='{kind}'><td class='unit'>{html.escape(label)}</td>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    path = period_dir / "index.html"
    partial = period_dir / ".index.partial.html"
    partial.write_text("\n".join(parts), encoding="utf-8")
    os.replace(partial, path)  # a reader, or a crash, finds the old page or the new one, whole
    return path
