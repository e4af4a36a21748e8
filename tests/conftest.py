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
