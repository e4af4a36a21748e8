"""The period's index page: a unit × step grid, grouped by department, with headline figures.

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

HEADLINES = [("grade", "Grade"), ("score", "Score"), ("csat", "CSAT"), ("fcr", "FCR"), ("open_alerts", "Open alerts")]
STATUS_STYLE = {"ok": "ok", "skipped": "skipped", "failed": "failed", "no data": "nodata", "pending": "pending"}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC",sans-serif;margin:2rem;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem}
.meta{color:#555;font-size:.85rem} table{border-collapse:collapse;margin-top:.5rem}
th,td{border:1px solid #ddd;padding:.35rem .6rem;font-size:.9rem;text-align:center}
th{background:#f4f4f4} td.unit{text-align:left;font-weight:600} tr.rollup td{background:#fafafa}
a.ok{color:#11663a} a.skipped{color:#555} a.failed{color:#b00020;font-weight:700}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.75rem}
.badge.ok{background:#e3f4ea}.badge.skipped{background:#eee}.badge.failed{background:#fde2e6}
.badge.nodata{background:#fff4d6}.badge.pending{background:#e6eefc} td.nodata{color:#7a5a00;font-style:italic}
.small{color:#666;font-size:.75rem}
"""


def _fmt(key: str, value) -> str:
    if value is None:
        return "–"
    if key in ("csat", "fcr") and isinstance(value, (int, float)):
        return f"{value:.1%}"
    if key == "score" and isinstance(value, (int, float)):
        return f"{value:.1f}"
    if key == "grade":
        return html.escape(str(value).replace("_", " "))  # grade names come from standards.yml
    return html.escape(str(value))


def _cell(entry: dict | None, fingerprint: str | None) -> str:
    if entry is None:
        return "<td class='small'>–</td>"
    status = entry["status"]
    outputs = entry.get("outputs") or {}
    target = outputs.get("html") or outputs.get("ipynb")
    if status == "failed" and outputs.get("html"):
        target = f"{outputs['html']}#papermill-error-cell"
    label = f"<span class='badge {STATUS_STYLE[status]}'>{status}</span>"
    link = f"<a class='{STATUS_STYLE[status]}' href='{html.escape(target)}'>{label}</a>" if target else label
    title = html.escape(entry.get("error") or "")
    if status in ("no data", "pending"):  # not run: no duration to show
        return f"<td title='{title}'>{link}</td>"
    # an entry merged from an earlier run may come from an earlier archive: say so beside it
    older = " · older archive" if entry.get("archive_fingerprint") != fingerprint else ""
    return f"<td title='{title}'>{link}<br><span class='small'>{entry['duration_s']:.1f} s{older}</span></td>"


def write_index(manifest: dict, period_dir: Path, archive: Path) -> Path:
    """Write ``index.html`` for a period from its manifest; returns its path."""
    steps = manifest["notebooks"]
    by_unit: dict[str, dict[str, dict]] = {}
    for entry in manifest["entries"]:
        by_unit.setdefault(entry["team"], {})[entry["notebook"]] = entry
    table = units(archive).set_index("unit")
    # a unit of an earlier run that this archive no longer has keeps its row, under a group of its own
    gone = [u for u in manifest["units"] if u not in table.index]
    if gone:
        table = pd.concat([table, pd.DataFrame({"kind": "team", "department": "Not in the current archive"},
                                               index=pd.Index(gone, name="unit"))])
    groups: dict[str, list[str]] = {}
    # company first, then departments; in each, the rollup before its teams
    ordered = sorted(manifest["units"], key=lambda u: (u != ALL, u in gone, str(table.loc[u, "department"]),
                                                        table.loc[u, "kind"] != "department", u))
    for unit in ordered:
        department = table.loc[unit, "department"]
        group = "Company" if unit == ALL else "Teams" if pd.isna(department) else str(department)
        groups.setdefault(group, []).append(unit)
    counts = {s: sum(e["status"] == s for e in manifest["entries"]) for s in STATUS_STYLE}
    head = "".join(f"<th>{h}</th>" for _, h in HEADLINES) + "".join(f"<th>{html.escape(s)}</th>" for s in steps)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>qa-kit {manifest['period']}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Service quality reports · {html.escape(manifest['period'])}</h1>",
             f"<p class='meta'>{counts['ok']} ok · {counts['failed']} failed · {counts['skipped']} skipped (unchanged) · "
             + (f"{counts['no data']} no data (no tickets in the period) · " if counts["no data"] else "")
             + (f"{counts['pending']} pending (not run yet: an interrupted run; `--resume` runs them) · "
                if counts["pending"] else "") +
             f"kit {html.escape(str(manifest['kit_version']))} · archive {str(manifest['archive_fingerprint'])[:12]}"
             + (f" · config {html.escape(str(manifest['config_dir']))}" if manifest.get("config_dir") else "")
             + (f" · commit {manifest['git_commit'][:10]}" if manifest.get("git_commit") else "") + "</p>"]
    failed = [f"{e['team']}/{e['notebook']}" for e in manifest["entries"] if e["status"] == "failed"]
    if failed:
        parts.append("<p class='meta'>Failed: " + ", ".join(html.escape(f) for f in failed)
                     + " — the link opens the failing cell.</p>")
    for group, members in groups.items():
        parts.append(f"<h2>{html.escape(group)}</h2><table><tr><th>Unit</th>{head}</tr>")
        for unit in members:
            entries = by_unit.get(unit, {})
            summary: dict = {}
            for step in steps:
                summary.update((entries.get(step) or {}).get("summary") or {})
            kind = "rollup" if unit == ALL or table.loc[unit, "kind"] == "department" else ""
            label = "ALL (whole company)" if unit == ALL else (f"{unit} (all its teams)" if kind else unit)
            if entries and all(e["status"] == "no data" for e in entries.values()):
                cells = f"<td class='nodata' colspan='{len(HEADLINES)}'>no data: no tickets in {html.escape(manifest['period'])}</td>"
            else:
                cells = "".join(f"<td>{_fmt(k, summary.get(k))}</td>" for k, _ in HEADLINES)
            cells += "".join(_cell(entries.get(step), manifest["archive_fingerprint"]) for step in steps)
            parts.append(f"<tr class='{kind}'><td class='unit'>{html.escape(label)}</td>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    path = period_dir / "index.html"
    partial = period_dir / ".index.partial.html"
    partial.write_text("\n".join(parts), encoding="utf-8")
    os.replace(partial, path)  # a reader, or a crash, finds the old page or the new one, whole
    return path
