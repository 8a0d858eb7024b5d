"""Every DAG in dags/ follows the project's policy: imports cleanly, is documented, tagged from the
controlled vocabulary, retried, scheduled on a data-interval timetable (or manual-only, for one that
publishes nothing), and cheap to parse."""

from __future__ import annotations

import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.timetables.interval import CronDataIntervalTimetable

from tests.conftest import ROOT

ALLOWED_TAGS = {"hubspot", "personalize", "hook"}
# boto3 is not listed: the amazon provider imports it itself to normalise s3:// Asset URIs.
HEAVY_MODULES = ("pandas", "great_expectations", "snowflake.connector", "duckdb", "pyarrow")
MANUAL_ONLY = {"hubspot_preflight"}  # checks and publishes nothing: triggered by hand, never scheduled


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "personalize_training_export" in dagbag.dag_ids


def test_each_dag_follows_the_policy(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id}: doc_md missing"
        assert dag.tags and set(dag.tags) <= ALLOWED_TAGS, f"{dag_id}: tags {dag.tags}"
        if dag_id in MANUAL_ONLY:
            assert not dag.timetable.can_be_scheduled, f"{dag_id}: scheduled, though manual-only"
        else:
            assert isinstance(dag.timetable, CronDataIntervalTimetable), (
                f"{dag_id}: not a data-interval timetable"
            )
        assert dag.max_active_runs == 1, f"{dag_id}: concurrent runs would race on the same published keys"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id}: no retries"
            assert task.owner != "airflow", f"{dag_id}.{task.task_id}: owner not set"


def test_file_name_is_the_dag_id(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.fileloc.endswith(f"/{dag_id}.py")


def test_parsing_imports_no_heavy_libraries():
    script = (
        "import sys, runpy, pathlib\n"
        f"sys.path.insert(0, {str(ROOT / 'plugins')!r})\n"
        f"for path in sorted(pathlib.Path({str(ROOT / 'dags')!r}).glob('*.py')):\n"
        "    runpy.run_path(str(path))\n"
        f"print(','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip().splitlines()[-1:] in ([], [""]), f"parse-time imports: {loaded.stdout}"


def test_retry_delays_grow_as_documented(dagbag):
    """README and RELIABILITY.md promise retries with exponential backoff: each delay longer than the last."""
    import uuid
    from datetime import UTC, datetime

    from airflow.models.taskinstance import TaskInstance

    for dag_id, dag in dagbag.dags.items():
        task = dag.tasks[0]
        instance = TaskInstance(task=task, run_id="retry-delays", dag_version_id=uuid.uuid4())
        instance.end_date = datetime(2024, 1, 1, tzinfo=UTC)
        delays = []
        for try_number in (1, 2):
            instance.try_number = try_number
            delays.append(instance.next_retry_datetime() - instance.end_date)
        assert delays[0] >= task.retry_delay and delays[1] > delays[0], f"{dag_id}: retry delays {delays}"
