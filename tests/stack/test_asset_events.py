"""Asset events only for what was published, seen from a downstream DAG on the real scheduler.

The test writes a small consumer DAG, scheduled on the Personalize interactions Asset, into the stack's
DAGs folder. Then, for the last scheduled date: a dry run (no event), a rerun of only ``items`` (an
event for items alone), and a real publish (events for every dataset, extras with the export date and
rows). The consumer must have run exactly once, on the real publish's interactions event.
"""

from __future__ import annotations

import json
import time

import pytest

from hubspot_pipeline.config import load_config
from tests.stack.conftest import LAST_DAY

PERSONALIZE_DAG, CONSUMER_DAG = "personalize_training_export", "interactions_consumer"
PERSONALIZE = load_config().personalize
INTERACTIONS = {
    "name": PERSONALIZE.asset_name("interactions"),
    "uri": PERSONALIZE.dataset_uri("interactions"),
}
CONSUMER = f'''"""Runs whenever the Personalize interactions are published (written by test_asset_events)."""

from airflow.sdk import Asset, dag, task


@dag(dag_id={CONSUMER_DAG!r}, schedule=[Asset(name={INTERACTIONS["name"]!r}, uri={INTERACTIONS["uri"]!r})])
def interactions_consumer():
    @task
    def consume():
        pass

    consume()


interactions_consumer()
'''


def events_of(stack, run_id: str) -> dict[str, dict]:
    """The Asset events a Personalize run emitted: Asset name -> extra."""
    query = {"source_dag_id": PERSONALIZE_DAG, "source_run_id": run_id, "limit": 100}
    return {
        event["name"]: event["extra"]
        for event in stack.api("GET", "/assets/events", params=query)["asset_events"]
    }


@pytest.fixture
def consumer(airflow_stack):
    dag_file = airflow_stack.home / "dags" / f"{CONSUMER_DAG}.py"
    dag_file.write_text(CONSUMER)
    airflow_stack.wait_for_dag(CONSUMER_DAG)  # parsed, then unpaused
    yield CONSUMER_DAG
    airflow_stack.api("PATCH", f"/dags/{CONSUMER_DAG}", json={"is_paused": True})
    dag_file.unlink()


def test_a_consumer_dag_runs_after_a_real_publish_only(airflow_stack, consumer):
    began, runs = time.monotonic(), {}
    for name, conf in {
        "dry run": {"dry_run": True},
        "items only": {"datasets": ["items"]},
        "publish": {},
    }.items():
        runs[name] = airflow_stack.trigger(PERSONALIZE_DAG, {"export_date": LAST_DAY.isoformat(), **conf})
        state = airflow_stack.wait_for_run(PERSONALIZE_DAG, runs[name])
        assert state == "success", airflow_stack.diagnostics(PERSONALIZE_DAG, runs[name])
    consumed = airflow_stack.wait_for_runs(consumer, 1, timeout=120)
    seconds = time.monotonic() - began

    manifest = airflow_stack.objects / PERSONALIZE.bucket / PERSONALIZE.run_prefix(LAST_DAY) / "manifest.json"
    rows = {name: entry["rows"] for name, entry in json.loads(manifest.read_text())["files"].items()}
    expected = {
        PERSONALIZE.asset_name(name): {"export_date": LAST_DAY.isoformat(), "rows": rows[name]}
        for name in ("interactions", "items", "users")
    }
    assert events_of(airflow_stack, runs["dry run"]) == {}
    items = PERSONALIZE.asset_name("items")
    assert events_of(airflow_stack, runs["items only"]) == {items: expected[items]}
    assert events_of(airflow_stack, runs["publish"]) == expected

    assert len(consumed) == 1, consumed  # not after the dry run, not after the items rerun
    upstream = airflow_stack.api(
        "GET", f"/dags/{consumer}/dagRuns/{consumed[0]['dag_run_id']}/upstreamAssetEvents"
    )
    assert [(event["source_run_id"], event["extra"]) for event in upstream["asset_events"]] == [
        (runs["publish"], expected[INTERACTIONS["name"]])
    ]
    assert consumed[0]["state"] == "success"
    print(f"asset events: {seconds:.0f} s for a dry run, an items rerun and a publish")
