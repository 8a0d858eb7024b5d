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
with byte-identical content. A run (backfill, rerun, manual) of a date older than the one live under
`train/` (`runs/<dataset_group>/live.json`) leaves the live data alone: its datasets go under
`runs/<dataset_group>/<date>/train/`, no `config.json`, as its report says; the `republish_older` param
makes it replace the live data. Publish tasks never run two at once, backfills included
(`max_active_tis_per_dag=1`).

**Assets**: `publish` emits, through the alias `personalize/<dataset_group>/published`, one Asset event per
dataset it published live (`personalize/<dataset_group>/<dataset>`, URI
`s3://<bucket>/train/<dataset_group>/<dataset>.csv`; extra: `export_date`, `rows`): none on a dry run or
for a date not published live, only the chosen datasets on a rerun. Schedule downstream DAGs on those Assets.

**Configuration**: `include/config/pipeline.yaml` and the deploy-time file named by
`HUBSPOT_PIPELINE_CONFIG` (dataset group and schedule: read here, when the file is parsed); the
Airflow Variable `hubspot_pipeline_config` overrides only what tasks alone read.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetAlias, Param, dag
from airflow.timetables.interval import CronDataIntervalTimetable

from hubspot_pipeline.config import load_config
from hubspot_pipeline.dag_stages import dry_run_param, plan_task, stage_task

PERSONALIZE = load_config().personalize
PUBLISHED = AssetAlias(f"personalize/{PERSONALIZE.dataset_group}/published")

default_args = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,  # Airflow 3.3: the multiplier of each next delay (True means 1.0)
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
            description="Rerun only some datasets (all are validated); config.json too if it goes live.",
        ),
        "dry_run": dry_run_param("Validate and report (in the publish task's log), publish nothing."),
        "republish_older": Param(
            False,
            type="boolean",
            title="Republish an older date",
            description="Replace the live training data even if its export date is newer than this run's.",
        ),
    },
)
def personalize_training_export():
    run = plan_task("personalize")()
    extract = stage_task("personalize", "extract")
    prepare = stage_task("personalize", "prepare")
    validate = stage_task("personalize", "validate")
    publish = stage_task("personalize", "publish", publishes=PUBLISHED, max_active_tis_per_dag=1)
    extract(run) >> prepare(run) >> validate(run) >> publish(run)


personalize_training_export()
