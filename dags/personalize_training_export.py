"""
### Personalize training export

Reads HubSpot's Snowflake share (connection `hubspot_snowflake`) and publishes Amazon Personalize
training data for the "Maintaining Personalized Experiences with ML" stack:
`train/<dataset_group>/{interactions,items,users}.csv`, then `config.json` (the stack's trigger).

**Tasks**: `extract` (SQL in `include/sql/share/` and `include/sql/personalize/`; the warehouse counts
events per day, which fails a share that cannot reach Personalize's minimums early and cuts the events into
chunks of `personalize.chunk_rows`) → `prepare` (stable user ids, items, users, deal interactions, identity
log) → `validate` (per chunk: event types mapped, Great Expectations quarantines bad rows with a reason,
duplicates dropped; then Personalize's minimums on the chunks' tallies; a failure here publishes nothing) →
`publish` (data files, manifest under `runs/<dataset_group>/<date>/`, then `config.json`). Memory is bounded
by the chunk size, not by the history.

**Runs**: a scheduled run exports everything up to the end of its data interval's first day; a run
triggered from the UI exports the `export_date` param (default: yesterday). Reruns rewrite the same keys
with byte-identical content.

**Assets**: `publish` updates one Airflow Asset per dataset (`personalize/<dataset_group>/<dataset>`,
URI `s3://<bucket>/train/<dataset_group>/<dataset>.csv`): schedule downstream DAGs on them.

**Configuration**: `include/config/pipeline.yaml` and the deploy-time file named by
`HUBSPOT_PIPELINE_CONFIG` (bucket, dataset group and schedule: read here, when the file is parsed); the
Airflow Variable `hubspot_pipeline_config` overrides only what tasks alone read.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag
from airflow.timetables.interval import CronDataIntervalTimetable

from hubspot_pipeline.config import load_config
from hubspot_pipeline.dag_stages import dry_run_param, plan_task, stage_task

PERSONALIZE = load_config().personalize
PUBLISHED_DATASETS = [
    Asset(name=f"personalize/{PERSONALIZE.dataset_group}/{name}", uri=PERSONALIZE.dataset_uri(name))
    for name in ("interactions", "items", "users")
]

default_args = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
}


@dag(
    dag_id="personalize_training_export",
    schedule=CronDataIntervalTimetable(PERSONALIZE.schedule, timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["hubspot", "personalize"],
    doc_md=__doc__,
    params={
        "export_date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Export date",
            description="Export the data as of the end of this day (UTC). Empty: the run's date.",
        ),
        "datasets": Param(
            ["interactions", "items", "users"],
            type="array",
            items={"type": "string", "enum": ["interactions", "items", "users"]},
            minItems=1,
            uniqueItems=True,
            title="Datasets to publish",
            description="Rerun only some datasets; all are still validated. config.json is always written.",
        ),
        "dry_run": dry_run_param("Validate and report (in the publish task's log), publish nothing."),
    },
)
def personalize_training_export():
    run = plan_task("personalize")()
    extract = stage_task("personalize", "extract")
    prepare = stage_task("personalize", "prepare")
    validate = stage_task("personalize", "validate")
    publish = stage_task("personalize", "publish", outlets=PUBLISHED_DATASETS)
    extract(run) >> prepare(run) >> validate(run) >> publish(run)


personalize_training_export()
