"""``hubspot_preflight`` through Airflow (``dag.test()``) against the generated local share: it succeeds and
returns the suggested override; a blocking problem fails its ``report`` task, naming the key, after both
checks ran."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag

from hubspot_pipeline.config import load_config
from hubspot_pipeline.local.quickstart import snowflake_connection
from tests.conftest import ROOT

CONFIG = load_config()


@pytest.fixture(scope="module")
def dag(airflow_db):
    return DagBag(dag_folder=str(ROOT / "dags")).get_dag("hubspot_preflight")


def _run(dag, monkeypatch, emulator, minute: int):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(emulator, CONFIG.share))
    dag_run = dag.test(logical_date=datetime(2024, 6, 30, 12, minute, tzinfo=UTC))
    return dag_run, {ti.task_id: ti for ti in dag_run.get_task_instances()}


def test_the_dag_passes_and_returns_the_suggestion(dag, emulator, pipeline_override, monkeypatch):
    dag_run, instances = _run(dag, monkeypatch, emulator, 0)
    assert str(dag_run.state) == "success"
    returned = instances["report"].xcom_pull(task_ids="report")
    assert (
        load_config(override=yaml.safe_load(returned["yaml"])).personalize.deals == CONFIG.personalize.deals
    )


def test_a_blocking_problem_fails_the_run_naming_it(dag, emulator, pipeline_override, monkeypatch, capsys):
    pipeline_override({"properties": {"deals": {"amount": "deal_value"}}})
    capsys.readouterr()
    dag_run, instances = _run(dag, monkeypatch, emulator, 1)
    assert str(dag_run.state) == "failed"
    states = {task_id: str(ti.state) for task_id, ti in instances.items()}
    assert states == {"check_share": "success", "check_buckets": "success", "report": "failed"}
    assert instances["report"].try_number == 1  # no retry: the configuration must change
    printed = capsys.readouterr().out
    assert "1 blocking problem(s)" in printed
    assert "properties.deals.amount: OBJECTS_DEALS has no column PROPERTY_DEAL_VALUE" in printed
