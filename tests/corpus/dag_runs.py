"""Running both DAGs through ``dag.test()`` on a local share: the emulator, the connection and the object
folder (set for the block only), and each DAG's complete conf for the corpus's export date."""

from __future__ import annotations

import json
from collections.abc import Generator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from hubspot_pipeline.config import deep_merge, load_config
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.quickstart import snowflake_connection
from tests.conftest import ROOT
from tests.corpus.catalogue import EXPORT_DATE

CONFIG = load_config()
PERSONALIZE, HOOK = "personalize_training_export", "hook_metrics_export"
# every param given: dag.test() keeps a previous run's params on the DAG object
DAG_CONF = {
    PERSONALIZE: {
        "export_date": EXPORT_DATE.isoformat(),
        "datasets": ["interactions", "items", "users"],
        "dry_run": False,
    },
    HOOK: {
        "metric_date": EXPORT_DATE.isoformat(),
        "start_date": None,
        "end_date": None,
        "file_format": None,
        "dry_run": False,
    },
}


def both_dags() -> dict:
    """The two DAGs by id, parsed from ``dags/``."""
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    return {dag_id: bag.get_dag(dag_id) for dag_id in DAG_CONF}


@contextmanager
def serving(share_dir: Path, objects: Path, settings: dict | None = None) -> Generator[None]:
    """The share in ``share_dir`` served by the emulator, the pipeline writing its objects to ``objects``;
    ``settings`` (task-only keys, e.g. another portal's share names and mappings) go into the Airflow
    Variable with the object folder."""
    override = deep_merge(settings or {}, {"storage": {"local_root": str(objects)}})
    share = load_config(override=override).share
    with running_emulator(share_dir) as emulator, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(emulator, share))
        patch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps(override))
        yield


def run_dag(dag, logical_date: datetime):
    """One run of ``dag`` with its corpus conf (a unique ``logical_date`` per run of a DAG)."""
    return dag.test(logical_date=logical_date, run_conf=DAG_CONF[dag.dag_id])
