"""Audience bundles: one team lead's reports, and nothing of any other unit.

A period's ``reports/<period>/`` folder holds every unit's reports, so sharing it shares every
team's agent-level figures. :func:`make_bundle` copies only the chosen units' rendered reports
(HTML) and writes an index that lists only them; the notebooks and logs the reports were made
from stay behind (they carry the run's parameters and paths, and nothing a reader needs).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from qa_helpers.errors import UnitError

MANIFEST = "manifest.json"


def make_bundle(period: str, units: list[str], out: str | os.PathLike, reports: str | os.PathLike = "reports",
                archive: str | os.PathLike | None = None) -> Path:
    """Copy the rendered reports of ``units`` for ``period`` into ``out`` with their own index.

    Parameters
    ----------
    period : str
        The period as run (``2025-Q4``).
    units : list of str
        The units the audience may see: a team lead's team, or a department head's department
        and its teams.
    out : path-like
        The bundle folder: must not exist yet, or be empty, so that nothing from an earlier
        bundle is shared by mistake.
    reports : path-like
        The ``--out`` folder of ``qakit run`` (default ``reports``).
    archive : path-like, optional
        The archive the reports were made from (for the index's grouping of units).

    Returns
    -------
    Path
        The bundle's ``index.html``.

    Raises
    ------
    UnitError
        For a unit that has no report in the period, or an ``out`` folder that is not empty.
    """
    from qa_helpers.data.archive import archive_path
    from qa_helpers.periods import parse_period
    from qa_helpers.report.index import write_index

    label = parse_period(period).label
    period_dir = Path(reports) / label
    manifest_path = period_dir / MANIFEST
    if not manifest_path.is_file():
        raise UnitError(f"no reports for {label} in {reports} (no {MANIFEST}): run `qakit run --period {label}` first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    wanted = list(dict.fromkeys(u.strip() for u in units if u.strip()))
    missing = [u for u in wanted if u not in manifest["units"]]
    if not wanted or missing:
        raise UnitError(f"no reports for unit(s) {missing or wanted} in {period_dir}; it has {manifest['units']}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UnitError(f"the bundle folder {out} is not empty: give a new folder, so that nothing else is shared")
    target = out / label
    target.mkdir(parents=True, exist_ok=True)
    entries = []
    for entry in manifest["entries"]:
        if entry["team"] not in wanted:
            continue
        html = (entry.get("outputs") or {}).get("html")
        kept = dict(entry, outputs={"html": html} if html else {})
        if html and (period_dir / html).is_file():
            (target / html).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(period_dir / html, target / html)
        entries.append(kept)
    shared = dict(manifest, units=wanted, entries=entries,
                  failed=[f for f in manifest.get("failed", []) if f.split("/", 1)[0] in wanted])
    return write_index(shared, target, archive_path(archive))
