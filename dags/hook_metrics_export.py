"""
### Hook daily account-metric extracts

Reads HubSpot's Snowflake share (connection `hubspot_snowflake`) and publishes one file per metric date
to Hook's bucket through its own AWS connection `hook_s3`: `<key_prefix>/hook_export_YYYYMMDD.csv` (or
`.jsonl`) with `account_id`, `metric_date` and every metric of `include/config/hook_metrics.yaml`, in
that order, one row per active account (zeros where nothing happened).

**Tasks**: `plan_run` (the dates) → `extract` (SQL in `include/sql/share/` and `include/sql/hook/`, events
chunked by month) → `resolve_accounts` (contact → account) → `build` (one set-based computation over the
date range, one file per date, staged) → `validate` (Great Expectations: one row per account, ids present,
`metric_date` = the file's date, exact columns in order, cumulative metrics never below the day before,
stock metrics ≥ 0; a failure publishes nothing) → `publish` (files in date order, then the manifest under
`_runs/`).

**Runs**: a scheduled run (daily; weekly if `hook.schedule` says so) exports the first day of its data
interval. A manual run exports the `metric_date` param (default: yesterday). **Bulk backfill**: trigger
with `start_date` and `end_date` (UI or `airflow dags trigger hook_metrics_export --conf
'{"start_date": "2024-01-01", "end_date": "2025-12-31"}'`): the whole range is computed at once, a month
per chunk, and gives byte for byte the files daily runs would. Airflow's own backfill
(`airflow backfill create --dag-id hook_metrics_export --from-date … --to-date …`) works too: each run
touches only its own date and reruns rewrite identical bytes.

**Configuration**: the `hook` section of `include/config/pipeline.yaml`, overridable by the Airflow
Variable `hubspot_pipeline_config`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from hubspot_pipeline.config import load_config

CONFIG = load_config()
SCHEDULE = CONFIG.hook.schedule if CONFIG.hook else "0 4 * * *"
HOOK_FILES = [Asset(name="hook/exports", uri=CONFIG.hook.files_uri)] if CONFIG.hook else []

default_args = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
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
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Compute and validate, log the report, publish nothing.",
        ),
    },
)
def hook_metrics_export():
    @task(multiple_outputs=False)
    def plan_run() -> dict:
        """Fix the run's dates and staging prefix."""
        from hubspot_pipeline.hook.tasks import plan_dates, run_key_for

        context = get_current_context()
        max_range_days = load_config(use_airflow_variable=True).hook.max_range_days
        start, end = plan_dates(
            context["params"], context.get("data_interval_start"), pendulum.now("UTC"), max_range_days
        )
        params = context["params"]
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "run_key": run_key_for(start, end, context["run_id"]),
            "dry_run": bool(params.get("dry_run")),
            "file_format": params.get("file_format"),
        }

    @task(multiple_outputs=False)
    def extract(run: dict) -> dict:
        from hubspot_pipeline.hook import tasks as hook_export

        return hook_export.extract(hook_export.load_run(**run))

    @task(multiple_outputs=False)
    def resolve_accounts(run: dict) -> dict:
        from hubspot_pipeline.hook import tasks as hook_export

        return hook_export.resolve_accounts(hook_export.load_run(**run))

    @task(multiple_outputs=False)
    def build(run: dict) -> dict:
        from hubspot_pipeline.hook import tasks as hook_export

        return hook_export.build(hook_export.load_run(**run))

    @task(multiple_outputs=False)
    def validate(run: dict) -> dict:
        from hubspot_pipeline.hook import tasks as hook_export

        return hook_export.validate(hook_export.load_run(**run))

    @task(multiple_outputs=False, outlets=HOOK_FILES)
    def publish(run: dict) -> dict:
        from hubspot_pipeline.hook import tasks as hook_export

        return hook_export.publish(hook_export.load_run(**run))

    run = plan_run()
    extract(run) >> resolve_accounts(run) >> build(run) >> validate(run) >> publish(run)


hook_metrics_export()
