"""pyproject.toml and environment.yml declare the same dependencies with the same lower bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NAMED_BY_CLIENT = {"jupyterlab", "pandas", "matplotlib", "seaborn", "statsmodels", "papermill", "nbval"}


def _parse(spec: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[A-Za-z0-9_,\-]+\])?\s*(>=\s*[0-9.]+)?", spec)  # [extras] allowed
    return match.group(1).lower().replace("_", "-"), (match.group(2) or "").replace(" ", "")


def test_environment_and_pyproject_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = dict(_parse(s) for s in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pip_deps.update(_parse(s) for s in extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs = [s for s in env["dependencies"] if isinstance(s, str) and s != "pip"]
    specs += [s for d in env["dependencies"] if isinstance(d, dict) for s in d.get("pip", [])]
    conda_deps = dict(_parse(s) for s in specs)
    conda_deps.pop("python")
    assert conda_deps == pip_deps
    assert all(bound for bound in pip_deps.values()), "every dependency pins a lower bound"
    assert NAMED_BY_CLIENT <= set(pip_deps)


def test_console_script_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["qakit"] == "qa_helpers.cli:main"
