"""requirements.txt is what a deployment adds to its Airflow 3.3 image (Astro, MWAA and Cloud Composer all
install it on top of their own Airflow): in the tested environment, which has Airflow, pip must find
nothing to change, and the file names neither Airflow nor a development tool. requirements-dev.txt adds
those, and constraints.txt pins exactly what that environment holds.

The dry runs ask pip's resolver (``pip install --dry-run --report``), which may read PyPI's index: a few
seconds each."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

RUNTIME = ROOT / "requirements.txt"
LOCAL = ROOT / "requirements-local.txt"
DEVELOPMENT = ROOT / "requirements-dev.txt"
CONSTRAINTS = ROOT / "constraints.txt"
TESTED_AIRFLOW = "3.3.2"
# what only development and the tests need: none of it may reach a deployment's image
DEVELOPMENT_ONLY = {
    "apache-airflow",
    "apache-airflow-core",
    "apache-airflow-task-sdk",
    "fakesnow",
    "moto",
    "pytest",
    "selenium",
    "ruff",
    "psycopg2-binary",
    "asyncpg",
}


def _lines(path: Path) -> list[str]:
    """The file's requirement and option lines, without comments and blank lines."""
    lines = (line.split(" #", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _requirements(path: Path) -> dict[str, Requirement]:
    """The requirements a file names itself (``-r`` includes are not followed), by canonical name."""
    named = [Requirement(line) for line in _lines(path) if not line.startswith("-")]
    return {canonicalize_name(requirement.name): requirement for requirement in named}


def _would_install(tmp_path: Path, *arguments: str) -> list[str]:
    """``name==version`` of every distribution pip would install or replace for ``arguments`` here."""
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check"]
    result = subprocess.run(
        [*command, "--report", str(report), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"pip could not resolve {' '.join(arguments)}:\n{result.stderr[-3000:]}"
    installs = json.loads(report.read_text())["install"]
    return sorted(f"{item['metadata']['name']}=={item['metadata']['version']}" for item in installs)


@pytest.fixture(scope="module")
def tested_environment() -> None:
    """The dry runs mean something only where Airflow is installed, as on a deployment's image."""
    assert version("apache-airflow") == TESTED_AIRFLOW, "run in the tested venv (scripts/bootstrap.sh)"


def test_requirements_txt_changes_nothing_in_the_tested_environment(tested_environment, tmp_path):
    would = _would_install(tmp_path, "-r", str(RUNTIME))
    assert would == [], (
        "pip, installing requirements.txt on top of the tested environment (Airflow "
        f"{TESTED_AIRFLOW} and its own pins), would install or replace {would}: a range in requirements.txt "
        "excludes the tested version (constraints.txt), or a new requirement is missing from the lock "
        "(scripts/lock.sh, then scripts/test.sh)"
    )


def test_requirements_txt_names_no_airflow_and_no_development_tool():
    assert [line for line in _lines(RUNTIME) if line.startswith("-")] == [], "no includes or pip options"
    runtime = _requirements(RUNTIME)
    assert set(runtime) >= {
        "apache-airflow-providers-amazon",
        "apache-airflow-providers-snowflake",
        "great-expectations",
        "pandas",
        "pyarrow",
        "duckdb",
    }
    assert set(runtime) & DEVELOPMENT_ONLY == set()
    for name, requirement in runtime.items():
        operators = {specifier.operator for specifier in requirement.specifier}
        assert operators == {">=", "<"}, f"{name}: a range from the tested version, not {requirement}"
        assert not requirement.extras, f"{name}: an extra can pull in what the image does not have"


def test_the_development_file_adds_airflow_the_local_share_and_the_tools():
    lines = _lines(DEVELOPMENT)
    assert {"-r requirements.txt", "-r requirements-local.txt"} <= set(lines)
    development = _requirements(DEVELOPMENT)
    assert str(development["apache-airflow"].specifier) == f"=={TESTED_AIRFLOW}"
    assert set(development) | set(_requirements(LOCAL)) >= DEVELOPMENT_ONLY - {
        "apache-airflow-core",
        "apache-airflow-task-sdk",
    }
    assert "server" in _requirements(LOCAL)["fakesnow"].extras
    assert {"server", "s3"} <= development["moto"].extras


def test_constraints_pin_exactly_the_tested_environment(tested_environment, tmp_path):
    pins = dict(line.split("==", 1) for line in _lines(CONSTRAINTS))
    assert all(pins.values()), "every line of constraints.txt is name==version"
    pinned = {canonicalize_name(name): value for name, value in pins.items()}
    assert pinned["apache-airflow"] == TESTED_AIRFLOW
    for path in (RUNTIME, LOCAL, DEVELOPMENT):
        for name, requirement in _requirements(path).items():
            assert name in pinned, f"{name} ({path.name}) is not in constraints.txt: run scripts/lock.sh"
            assert requirement.specifier.contains(pinned[name]), f"{path.name}: {requirement}, {pinned[name]}"
            assert version(name) == pinned[name], f"{name} installed is not the locked {pinned[name]}"
    assert not {"pip", "hubspot-airflow-exports"} & set(pinned)
    would = _would_install(tmp_path, "-r", str(DEVELOPMENT), "-c", str(CONSTRAINTS))
    assert would == [], f"the tested environment is not constraints.txt: pip would install {would}"
