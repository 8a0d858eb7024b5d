"""
### Hook daily account-metric extracts

Reads HubSpot's Snowflake share (connection `hubspot_snowflake`) and publishes one file per metric date
to Hook's bucket through its own AWS connection `hook_s3`: `<key_prefix>/hook_export_YYYYMMDD.csv` (or
`.jsonl`) with `account_id`, `metric_date` and every metric of `include/config/hook_metrics.yaml`, in
that order, one row per active account (zeros where nothing happened).

**Tasks**: `plan_run` (the dates) → `extract` (SQL in `include/sql/share/` and `include/sql/hook/`, events
chunked by month) → `resolve_accounts` (contact → account) → `build` (one set-based computation over the
date range, one file per date, staged) → `validate` (Great Expectations: one row per account, ids present,
`metric_date` = the file's date, exact columns in order, cumulative metrics never below the previous
file's: the day before in the range, and for the first date the previous period's published file (a week
before on a weekly schedule); stock metrics ≥ 0; a failure publishes nothing) → `publish` (files in date
order, then the manifest under `_runs/`, whose `previous_period_check` says whether that file was compared
or why not: absent, AccessDenied, error; then one event of the Asset `hook/exports`, URI the files'
folder, through the alias `hook/published`, extra: `start_date`, `end_date`, `files`; none on a dry run).
Publish tasks never run two at once, backfills included.

**Runs**: a scheduled run (daily; weekly if `hook.schedule` says so) exports the first day of its data
interval. A manual run exports the `metric_date` param (default: yesterday). **Bulk backfill**: trigger
with `start_date` and `end_date` (UI or `airflow dags trigger hook_metrics_export --conf
'{"start_date": "2024-01-01", "end_date": "2025-12-31"}'`): the whole range is computed at once, a month
per chunk, and gives byte for byte the files daily runs would. Airflow's own backfill
(`airflow backfill create --dag-id hook_metrics_export --from-date … --to-date …`) works too: each run
touches only its own date and reruns rewrite identical bytes.

**Configuration**: the `hook` section of `include/config/pipeline.yaml` and of the deploy-time file
named by `HUBSPOT_PIPELINE_CONFIG` (the schedule: read here, when the file is parsed); the
Airflow Variable `hubspot_pipeline_config` overrides only what tasks alone read.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetAlias, Param, dag
from airflow.timetables.interval import CronDataIntervalTimetable

from hubspot_pipeline.config import load_config
from hubspot_pipeline.dag_stages import dry_run_param, plan_task, stage_task

CONFIG = load_config()
SCHEDULE = CONFIG.hook.schedule if CONFIG.hook else "0 4 * * *"
PUBLISHED = AssetAlias("hook/published")

default_args = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,  # Airflow 3.3: the multiplier of each next delay (True means 1.0)
}


def _date_param(title: str, description: str) -> Param:
    return Param(None, type=["null", "string"], format="date", title=title, description=description)


@dag(
    dag_id="hook_metrics_export",
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["hubspot", "hook"],
    doc_md=__doc__,
    params={
        "metric_date": _date_param("Metric date", "Export this one date (UTC). Empty: the run's date."),
        "start_date": _date_param("Bulk: first date", "With end_date: export every date of the range."),
        "end_date": _date_param("Bulk: last date", "With start_date: the last date exported."),
        "file_format": Param(
            None,
            type=["null", "string"],
            enum=[None, "csv", "jsonl"],
            title="File format",
            description="csv or jsonl for this run. Empty: the configured format.",
        ),
        "dry_run": dry_run_param("Compute and validate, log the report, publish nothing."),
    },
)
def hook_metrics_export():
    run = plan_task("hook")()
    extract = stage_task("hook", "extract")
    resolve_accounts = stage_task("hook", "resolve_accounts")
    build = stage_task("hook", "build")
    validate = stage_task("hook", "validate")
    publish = stage_task("hook", "publish", publishes=PUBLISHED, max_active_tis_per_dag=1)
    extract(run) >> resolve_accounts(run) >> build(run) >> validate(run) >> publish(run)


hook_metrics_export()
