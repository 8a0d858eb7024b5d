"""The Hook export's settings (``hook:`` of the configuration): bucket, key layout and file names, file
format, schedule, ACL and the metric definitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class HookConfig:
    """The Hook export: bucket, key layout, file format and the metric definitions
    (``metrics`` is a tuple of :class:`hubspot_pipeline.hook.metrics.MetricDefinition`)."""

    bucket: str
    region: str
    key_prefix: str
    runs_prefix: str
    file_format: str
    schedule: str
    acl: str | None
    max_range_days: int
    metrics_file: Path
    account_id_column: str
    won_stages: tuple[str, ...]
    metrics: tuple

    asset_name = "hook/exports"  # the Airflow Asset the published files update (URI: files_uri)

    @property
    def files_uri(self) -> str:
        """The S3 URI of the folder holding the data files (the Airflow Asset the DAG updates)."""
        return f"s3://{self.bucket}/{self.key_prefix + '/' if self.key_prefix else ''}"

    def data_key(self, metric_date: date) -> str:
        """Key of the file for ``metric_date``: ``<key_prefix>/hook_export_YYYYMMDD.<csv|jsonl>``."""
        name = f"hook_export_{metric_date:%Y%m%d}.{self.file_format}"
        return f"{self.key_prefix}/{name}" if self.key_prefix else name
