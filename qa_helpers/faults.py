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
