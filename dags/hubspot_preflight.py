"""
### Preflight: is this portal ready for the exports?

Run it by hand (*Trigger*; it has no schedule) before the first export on a portal, and after changing
the configuration or the connections. It publishes nothing: it reads HubSpot's share through the Snowflake
connection (`connections.snowflake`) and writes then deletes one probe object in each bucket through the
AWS connections, exactly as the export tasks open them.

**Tasks**: `check_share` (the share's tables and the configured properties, with the columns the share
has instead of a missing one and their types; the deal pipelines and stages with their labels, the
configured ones marked; the event types with their counts, mapped or not; an estimate of Personalize's
minimums and of each recommender's data) and `check_buckets` (Personalize's bucket under
`runs/<dataset_group>/preflight/`, never `train/`; Hook's under `hook.runs_prefix`; staging under
`storage.staging_prefix`; with the configured server-side encryption and Hook's ACL) → `report`: the
report in its log, ending with a suggested YAML override for this portal (also the task's return value,
`yaml`). The run **fails** when something would fail an export, naming each problem: a required property
or table missing, a configured pipeline or stage that does not exist, Personalize's minimums out of
reach, a bucket that cannot be written.

The same checks from a shell: `python -m hubspot_pipeline.preflight [--yaml PATH] [--json]`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

default_args = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,  # Airflow 3.3: the multiplier of each next delay (True means 1.0)
}


@task(task_id="check_share", multiple_outputs=False)
def check_share() -> dict:
    """The share's tables, properties, pipelines, event types and the interaction estimate."""
    from hubspot_pipeline.preflight import tasks

    return tasks.check_share()


@task(task_id="check_buckets", multiple_outputs=False)
def check_buckets() -> list[dict]:
    """One probe object written and deleted in each bucket."""
    from hubspot_pipeline.preflight import tasks

    return tasks.check_buckets()


@task(task_id="report", multiple_outputs=False)
def report(share: dict, buckets: list[dict]) -> dict:
    """The report in the log; fails naming each blocking problem."""
    from hubspot_pipeline.preflight import tasks

    return tasks.report(share, buckets)


@dag(
    dag_id="hubspot_preflight",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["hubspot"],
    doc_md=__doc__,
)
def hubspot_preflight():
    report(check_share(), check_buckets())


hubspot_preflight()
