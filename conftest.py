"""Test-session set-up shared by tests/ and the nbval run over notebooks/.

A small sample is generated and ingested once per session; ``$QAKIT_ARCHIVE`` points at it
so notebooks run with their default parameters (as nbval runs them) find data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

TEST_KEY = b"qakit-test-key-7f3a9c"
SMALL_TICKETS = 6000
SMALL_SEED = 11


def pytest_configure(config) -> None:
    if hasattr(config, "workerinput"):  # pragma: no cover - xdist worker reuses the controller's data
        return
    from qa_helpers.data.ingest import ingest
    from qa_helpers.data.sample import generate

    base = Path(tempfile.mkdtemp(prefix="qakit-test-"))
    generate(base / "raw", seed=SMALL_SEED, n_tickets=SMALL_TICKETS)
    os.environ["QAKIT_KEY_FILE"] = str(base / "pseudonym.key")
    ingest(base / "raw", base / "archive", key=TEST_KEY)
    os.environ["QAKIT_ARCHIVE"] = str(base / "archive")
    os.environ["QAKIT_REPORTS"] = str(base / "reports")  # notebooks run on their own write here, not in reports/
    config.qakit_base = base
    config.qakit_key = TEST_KEY


def pytest_unconfigure(config) -> None:
    base = getattr(config, "qakit_base", None)
    if base is not None:
        shutil.rmtree(base, ignore_errors=True)
