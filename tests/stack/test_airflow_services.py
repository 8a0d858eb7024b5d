"""Both DAGs on real Airflow services (api-server, scheduler, dag-processor, LocalExecutor), triggered
through the public REST API (``/api/v2``) with params, as a user would from outside; then the published
files are checked."""

from __future__ import annotations

import csv
import io
import json

import pytest

from hubspot_pipeline.config import load_config
from tests.personalize.output_rules import check_training_folder
from tests.stack.conftest import LAST_DAY

PERSONALIZE_DAG = "personalize_training_export"
HOOK_DAG = "hook_metrics_export"
DATE = LAST_DAY.isoformat()
CONFIG = load_config()


@pytest.fixture(scope="module")
def runs(airflow_stack, manual_runs) -> dict[str, dict]:
    """Both DAGs triggered side by side for ``DATE`` (the stack's ``manual_runs``, whose last date it is):
    each run as the API reports it, with ``diagnostics`` (task states and logs, services' logs) unless it
    succeeded."""
    for dag_id in (PERSONALIZE_DAG, HOOK_DAG):
        assert airflow_stack.api("GET", f"/dags/{dag_id}")["is_paused"] is False
    return manual_runs[LAST_DAY]["runs"]


def _task_states(airflow_stack, run: dict) -> dict[str, str]:
    path = f"/dags/{run['dag_id']}/dagRuns/{run['dag_run_id']}/taskInstances"
    return {ti["task_id"]: ti["state"] for ti in airflow_stack.api("GET", path)["task_instances"]}


def test_personalize_export_triggered_over_rest_with_params(airflow_stack, runs):
    run = runs[PERSONALIZE_DAG]
    assert run["final"] == "success", run["diagnostics"]
    assert run["run_type"] == "manual" and run["conf"] == {"export_date": DATE, "republish_older": True}
    assert _task_states(airflow_stack, run) == dict.fromkeys(
        ("plan_run", "extract", "prepare", "validate", "publish"), "success"
    )
    bucket = airflow_stack.objects / CONFIG.personalize.bucket
    group = CONFIG.personalize.dataset_group
    train = bucket / "train" / group
    assert sorted(path.name for path in train.iterdir()) == [
        "config.json",
        "interactions.csv",
        "items.csv",
        "users.csv",
    ]
    assert check_training_folder(train) == []
    assert json.loads((train / "config.json").read_text())["datasetGroup"]["serviceConfig"]["name"] == group
    manifest = json.loads((bucket / "runs" / group / DATE / "manifest.json").read_text())
    ledger = manifest["ledgers"]["interactions"]
    assert ledger["written"] > 1000
    assert ledger["read"] == ledger["written"] + sum(ledger["skipped"].values()) + sum(
        ledger["quarantined"].values()
    )


def test_hook_export_triggered_over_rest_with_params(airflow_stack, runs):
    run = runs[HOOK_DAG]
    assert run["final"] == "success", run["diagnostics"]
    assert run["run_type"] == "manual" and run["conf"] == {"metric_date": DATE}
    assert set(_task_states(airflow_stack, run).values()) == {"success"}
    bucket = airflow_stack.objects / CONFIG.hook.bucket
    prefix = CONFIG.hook.key_prefix.strip("/")
    data_file = (bucket / prefix if prefix else bucket) / f"hook_export_{DATE.replace('-', '')}.csv"
    rows = list(csv.DictReader(io.StringIO(data_file.read_text(encoding="utf-8"))))
    assert rows and list(rows[0])[:2] == ["account_id", "metric_date"]
    assert {row["metric_date"] for row in rows} == {DATE}
    assert len({row["account_id"] for row in rows}) == len(rows)  # one row per account
