"""One run of the Hook export: what ``plan_run`` fixes (the metric dates, the staging prefix, dry run, the
file format), and the run every task rebuilds from it, with its stores and keys, and the previous period
its first date is checked against (:func:`previous_period`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config import HookConfig, PipelineConfig, load_config
from hubspot_pipeline.config.hook_metrics import MetricDefinitions
from hubspot_pipeline.storage import ObjectStore, S3ObjectStore, object_store

DAG_ID = "hook_metrics_export"


VALIDATION_DAYS = 183  # dates validated per Great Expectations run (≈ 1M rows for 5,000 accounts)


CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


@dataclass(frozen=True)
class HookRun:
    """One run of the export: the configuration, the dates covered and the run's staging prefix."""

    config: PipelineConfig
    start: date
    end: date
    run_key: str
    dry_run: bool = False

    @property
    def hook(self) -> HookConfig:
        if self.config.hook is None:
            raise AirflowFailException("the configuration has no `hook` section")
        return self.config.hook

    @property
    def definitions(self) -> MetricDefinitions:
        hook = self.hook
        return MetricDefinitions(hook.account_id_column, hook.won_stages, hook.metrics)

    @property
    def staging(self) -> ObjectStore:
        """Our own staging bucket, through our own connection: ``hook_s3`` holds Hook's credentials,
        which only ever write to Hook's bucket."""
        storage = self.config.storage
        return object_store(storage, storage.staging_bucket, self.config.personalize_s3_conn_id)

    @property
    def bucket(self) -> ObjectStore:
        """Hook's bucket through Hook's own connection ``hook_s3``, in ``hook.region``."""
        storage, hook = self.config.storage, self.hook
        store = object_store(storage, hook.bucket, self.config.hook_s3_conn_id, acl=hook.acl)
        if isinstance(store, S3ObjectStore):
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            store.hook = S3Hook(aws_conn_id=self.config.hook_s3_conn_id, region_name=hook.region)
        return store

    @property
    def previous_date(self) -> date:
        """The date whose published file the run's first date is checked against (cumulative metrics never
        decrease): the previous period of ``hook.schedule`` (:func:`previous_period`). Every later date of
        a bulk range is checked against the date before it in the range."""
        return previous_period(self.hook.schedule, self.start)

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]

    def staging_key(self, name: str) -> str:
        return f"{self.config.storage.staging_prefix}/{DAG_ID}/{self.run_key}/{name}"

    def staged_file_key(self, metric_date: date) -> str:
        return self.staging_key(f"files/{self.hook.data_key(metric_date).rsplit('/', 1)[-1]}")

    @property
    def run_folder(self) -> str:
        """Where the run's manifest, report and Data Docs go: never a key Hook reads as data."""
        return f"{self.hook.runs_prefix}/{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def manifest_key(self) -> str:
        return f"{self.run_folder}/manifest.json"


def previous_period(schedule: str, day: date) -> date:
    """The previous period of ``day`` under the cron ``schedule`` (UTC): the date that the schedule's last
    run before ``day`` exported. A scheduled run exports its data interval's first day, which is a fire
    time of the cron, so this is the date of the cron's last fire time before ``day`` begins: the day
    before for a daily schedule (or one firing several times a day), one week earlier for a weekly one,
    the previous Monday for a Tuesday of ``0 4 * * 1,4``. A date off the schedule (a manual run of a
    Wednesday on a weekly Monday schedule) gets the last scheduled date before it."""
    from croniter import croniter

    fire_time = croniter(schedule, datetime.combine(day, time(), tzinfo=UTC)).get_prev(datetime)
    return fire_time.astimezone(UTC).date()


def plan_dates(
    params: dict, data_interval_start: datetime | None, now: datetime, max_range_days: int
) -> tuple[date, date]:
    """The run's first and last metric date: the ``start_date``/``end_date`` params (bulk mode, both
    needed), else the ``metric_date`` param, else the start of the data interval (scheduled and backfill
    runs), else yesterday (a manual run without a logical date)."""
    start, end, single = (params.get(name) for name in ("start_date", "end_date", "metric_date"))
    if start or end:
        if not (start and end):
            raise AirflowFailException("bulk mode needs both start_date and end_date")
        if single:
            raise AirflowFailException("set either metric_date or start_date/end_date, not both")
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    elif single:
        first = last = date.fromisoformat(single)
    elif data_interval_start is not None:
        first = last = data_interval_start.astimezone(UTC).date()
    else:
        first = last = (now.astimezone(UTC) - timedelta(days=1)).date()
    if last < first:
        raise AirflowFailException(f"end_date {last} is before start_date {first}")
    if (last - first).days + 1 > max_range_days:
        raise AirflowFailException(
            f"{first}..{last} is longer than {max_range_days} days (hook.max_range_days): split the backfill"
        )
    return first, last


def run_key_for(start: date, end: date, run_id: str) -> str:
    """A staging prefix unique to the run: the dates and the run id made path-safe."""
    return f"{start.isoformat()}_{end.isoformat()}/{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}"


def plan_run(context: Mapping[str, Any], now: datetime) -> dict:
    """What every task of a run is handed, from the ``plan_run`` task's context: the dates
    (:func:`plan_dates`), the run's staging prefix, whether it is a dry run, the file format asked for."""
    params = context["params"]
    max_range_days = load_config(use_airflow_variable=True).hook.max_range_days
    start, end = plan_dates(params, context.get("data_interval_start"), now, max_range_days)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "run_key": run_key_for(start, end, context["run_id"]),
        "dry_run": bool(params.get("dry_run")),
        "file_format": params.get("file_format"),
    }


def load_run(
    start: str, end: str, run_key: str, dry_run: bool = False, file_format: str | None = None
) -> HookRun:
    """Rebuild the run inside a task, with the configuration as the Airflow Variable overrides it;
    ``file_format`` (csv or jsonl) overrides the configured one, ``dry_run`` publishes nothing."""
    config = load_config(use_airflow_variable=True)
    if file_format and config.hook is not None:
        if file_format not in CONTENT_TYPES:
            raise AirflowFailException(f"file_format={file_format!r} must be one of {sorted(CONTENT_TYPES)}")
        config = dataclasses.replace(config, hook=dataclasses.replace(config.hook, file_format=file_format))
    return HookRun(config, date.fromisoformat(start), date.fromisoformat(end), run_key, dry_run)
