from __future__ import annotations

import json
from pathlib import Path

import pytest



@pytest.fixture(scope="session")
def base(pytestconfig) -> Path:
    return pytestconfig.qakit_base


@pytest.fixture(scope="session")
def raw_dir(base) -> Path:
    return base / "raw"


@pytest.fixture(scope="session")
def archive(base) -> Path:
    return base / "archive"


@pytest.fixture(scope="session")
def truth(raw_dir) -> dict:
    return json.loads((raw_dir / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def report(archive) -> dict:
    return json.loads((archive / "ingest_report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def key(pytestconfig) -> bytes:
    return pytestconfig.qakit_key


@pytest.fixture(scope="session")
def full_sample(tmp_path_factory):
    """The demo-size sample (80 000 tickets, seed 7): enough data for planted effects to be found.

    Returns (archive path, truth).
    """
    from qa_helpers.data.ingest import ingest
    from qa_helpers.data.sample import generate

    base = tmp_path_factory.mktemp("full")
    truth = generate(base / "raw", seed=7, n_tickets=80_000)
    ingest(base / "raw", base / "archive", key=b"full-sample-key")
    return base / "archive", truth
