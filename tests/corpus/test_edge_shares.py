"""Edge shares through both DAGs (``dag.test()`` against the fakesnow emulator): an empty share, and shares
whose schema changed (a table dropped, a column renamed). Nothing may be published; a schema change fails
the first task that reads, without retrying, naming what is missing."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.share_schema import create_share, database_file
from tests.corpus.catalogue import EXPORT_DATE, SHARE_SIZE, table
from tests.corpus.dag_runs import CONFIG, HOOK, PERSONALIZE, both_dags, run_dag, serving

_RUN_NUMBERS = itertools.count()


@pytest.fixture(scope="module")
def dags(airflow_db):
    return both_dags()


@pytest.fixture(scope="module")
def clean_share(tmp_path_factory):
    """A small clean generated share, copied by each test that changes its schema."""
    share_dir = tmp_path_factory.mktemp("clean-share")
    generate_share(share_dir, **SHARE_SIZE, end_date=EXPORT_DATE, dirty_share=0)
    return database_file(share_dir)


def _share_with(clean_file, tmp_path, *statements: str):
    share_dir = tmp_path / "share"
    share_dir.mkdir()
    shutil.copy(clean_file, database_file(share_dir))
    with duckdb.connect(str(database_file(share_dir))) as connection:
        for statement in statements:
            connection.execute(statement)
    return share_dir


def _run(dag, share_dir, objects, capfd):
    """Run ``dag`` on the share in ``share_dir``; return the run's state, its task states and try numbers,
    and what the run printed (task logs, exceptions included)."""
    logical_date = datetime(2024, 7, 1, tzinfo=UTC) + timedelta(minutes=next(_RUN_NUMBERS))
    capfd.readouterr()
    with serving(share_dir, objects):
        dag_run = run_dag(dag, logical_date)
    tasks = {ti.task_id: (str(ti.state), ti.try_number) for ti in dag_run.get_task_instances()}
    printed = capfd.readouterr()
    return str(dag_run.state), tasks, printed.out + printed.err


def _published(objects) -> list[str]:
    """Every object written outside the staging bucket."""
    staging = objects / CONFIG.storage.staging_bucket
    return sorted(
        str(path.relative_to(objects))
        for path in objects.rglob("*")
        if path.is_file() and staging not in path.parents
    )


@pytest.mark.parametrize(
    ("dag_id", "statement", "missing"),
    [
        (PERSONALIZE, f"DROP TABLE {table('OBJECTS_PRODUCTS')}", "OBJECTS_PRODUCTS (share.database"),
        (
            PERSONALIZE,
            f"ALTER TABLE {table('OBJECTS_PRODUCTS')} RENAME PROPERTY_CATEGORY_LEVEL_1 TO PROPERTY_CATEGORY",
            "OBJECTS_PRODUCTS.PROPERTY_CATEGORY_LEVEL_1 (properties.products.category_level_1",
        ),
        (HOOK, f"DROP TABLE {table('OBJECTS_DEALS')}", "OBJECTS_DEALS (share.database"),
        (
            HOOK,
            f"ALTER TABLE {table('OBJECTS_COMPANIES')} RENAME PROPERTY_CREATEDATE TO PROPERTY_CREATED",
            "OBJECTS_COMPANIES.PROPERTY_CREATEDATE (properties.companies.createdate",
        ),
    ],
    ids=[
        "personalize-missing-table",
        "personalize-renamed-column",
        "hook-missing-table",
        "hook-renamed-column",
    ],
)
def test_a_schema_change_fails_the_first_reading_task_at_once_naming_what_is_missing(
    dags, clean_share, tmp_path, capfd, dag_id, statement, missing
):
    share_dir = _share_with(clean_share, tmp_path, statement)
    state, tasks, logged = _run(dags[dag_id], share_dir, tmp_path / "objects", capfd)
    assert state == "failed"
    assert tasks["extract"] == ("failed", 1), tasks  # failed on its first try, no retry
    assert "ShareSchemaError" in logged and missing in logged  # the table or column, and the key to set
    assert _published(tmp_path / "objects") == []


@pytest.mark.parametrize("dag_id", [PERSONALIZE, HOOK])
def test_an_optional_property_the_share_lacks_reads_empty_and_the_manifest_says_so(
    dags, clean_share, tmp_path, capfd, dag_id
):
    share_dir = _share_with(
        clean_share,
        tmp_path,
        f"ALTER TABLE {table('OBJECTS_CONTACTS')} DROP COLUMN PROPERTY_AGE",
        f"ALTER TABLE {table('OBJECTS_COMPANIES')} DROP COLUMN PROPERTY_EXTERNAL_ID",
    )
    state, tasks, logged = _run(dags[dag_id], share_dir, tmp_path / "objects", capfd)
    assert state == "success", (tasks, logged[-3000:])
    manifests = [path for path in (tmp_path / "objects").rglob("manifest.json")]
    empty = json.loads(manifests[0].read_text())["empty_fields"]
    # each export names the fields it uses: Personalize the users' ages, Hook the accounts' external ids
    expected = {
        PERSONALIZE: {"properties.contacts.age": "OBJECTS_CONTACTS has no column PROPERTY_AGE"},
        HOOK: {"properties.companies.external_id": "OBJECTS_COMPANIES has no column PROPERTY_EXTERNAL_ID"},
    }
    assert empty == expected[dag_id]
    report = manifests[0].with_name("report.md").read_text()
    ((key, reason),) = expected[dag_id].items()
    assert f"`{key}`: {reason}" in report


def test_an_empty_share_fails_personalize_below_its_minimums_and_publishes_nothing(dags, tmp_path, capfd):
    share_dir = tmp_path / "share"
    create_share(share_dir)  # every table, no rows
    state, tasks, logged = _run(dags[PERSONALIZE], share_dir, tmp_path / "objects", capfd)
    assert state == "failed"
    failed = [task_id for task_id, (task_state, _) in tasks.items() if task_state == "failed"]
    assert len(failed) == 1 and tasks[failed[0]][1] == 1, tasks  # one task failed, on its first try
    assert tasks["publish"][0] == "upstream_failed", tasks
    assert re.search(r"interactions: .*at least 1000", logged), logged[-3000:]
    assert _published(tmp_path / "objects") == []


def test_an_empty_share_gives_hook_a_header_only_file(dags, tmp_path, capfd):
    share_dir = tmp_path / "share"
    create_share(share_dir)
    state, tasks, logged = _run(dags[HOOK], share_dir, tmp_path / "objects", capfd)
    assert state == "success", tasks
    bucket = tmp_path / "objects" / CONFIG.hook.bucket
    columns = ["account_id", "metric_date", *(metric.name for metric in CONFIG.hook.metrics)]
    assert (bucket / f"hook_export_{EXPORT_DATE:%Y%m%d}.csv").read_text() == ",".join(columns) + "\n"
