"""Fault injection for the crash tests: die at a named point of ingest or of a batch run.

``$QAKIT_FAULT`` names a point (``ingest:switched``) or a point and the time it is reached
(``batch:recorded@3``: the third notebook recorded). Reaching it kills the process with
SIGKILL — no ``finally``, no ``atexit``, exactly what a power cut or ``kill -9`` does — so the
tests can check what a real crash at that point leaves behind. Unset, the hook costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

FAULT_ENV = "QAKIT_FAULT"
_reached: Counter = Counter()


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL if ``$QAKIT_FAULT`` names this point (and this time)."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    point, _, times = wanted.partition("@")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(times or 1):
        os.kill(os.getpid(), signal.SIGKILL)


TAG_ENV = "QAKIT_FAULT_TAG"  # set on a process under test; its children inherit it, so survivors can be found


def archive_state(archive: os.PathLike, known: dict[str, str]) -> str:
    """Which archive a folder holds after a crash: the name in ``known`` whose fingerprint it has.

    The files are re-hashed in full (the fingerprint ingest records) and every table is loaded and
    counted against the report, so a mix of two archives, a missing file or a table that does not
    load is caught.

    Parameters
    ----------
    archive : path-like
        The archive link (or folder).
    known : dict
        Name (``old``, ``new``) -> fingerprint of each archive the folder may legitimately hold.

    Returns
    -------
    str
        A name from ``known``; ``mixed`` (files that do not hash to the report's fingerprint or
        tables whose row counts differ from it); ``unknown`` (consistent, but neither); or
        ``refused: <message>`` when the archive does not load.
    """
    from pathlib import Path

    from qa_helpers.data.archive import TABLES, archive_path, ingest_report, load
    from qa_helpers.data.ingest import fingerprint
    from qa_helpers.errors import QAKitError

    try:
        current = archive_path(archive)
        report = ingest_report(current)
        rows = {table: len(load(table, archive=current)) for table in TABLES}
    except (QAKitError, OSError) as exc:
        return f"refused: {exc}"
    actual = fingerprint(Path(current))
    if actual != report["fingerprint"] or any(rows[t] != entry["archived"] for t, entry in report["sources"].items()):
        return "mixed"
    return next((name for name, value in known.items() if value == actual), "unknown")


def leftovers(archive: os.PathLike) -> list[str]:
    """What a crashed ingest may leave beside the archive: generation folders other than the
    current one, and swap links."""
    from pathlib import Path

    from qa_helpers.data.archive import generation_pattern

    archive = Path(archive)
    current = archive.resolve() if archive.is_symlink() else None
    pattern = generation_pattern(archive)
    return sorted(p.name for p in archive.parent.iterdir()
                  if pattern.match(p.name) and (p.is_symlink() or p.resolve() != current))


def tagged_processes(tag: str) -> list:
    """Live processes (psutil) whose environment carries ``QAKIT_FAULT_TAG=tag``: a process under
    test and everything it started, which must not outlive it."""
    import psutil

    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(TAG_ENV) == tag and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def manifest_problems(period_dir: os.PathLike) -> list[str]:
    """Ways a period's manifest disagrees with the files: an entry ``ok`` or ``skipped`` whose
    outputs are missing or not the bytes it recorded, or half-written files left in the folder."""
    import json
    from pathlib import Path

    from qa_helpers.run.execute import file_hash

    period_dir = Path(period_dir)
    manifest = json.loads((period_dir / "manifest.json").read_text(encoding="utf-8"))
    problems = []
    for entry in manifest["entries"]:
        if entry["status"] not in ("ok", "skipped"):
            continue
        for kind, digest in (entry.get("sha256") or {}).items():
            path = period_dir / entry["outputs"][kind]
            if not path.is_file() or file_hash(path) != digest:
                problems.append(f"{entry['team']}/{entry['notebook']}: {kind} is not the file recorded")
    problems += [f"half-written file {p.relative_to(period_dir)}" for p in period_dir.rglob(".*.partial*")]
    return problems
