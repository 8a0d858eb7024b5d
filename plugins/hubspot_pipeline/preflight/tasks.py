"""The ``hubspot_preflight`` DAG's tasks: the share's checks and the bucket probes, then the report, which
the task log shows and which fails the run, naming each blocking problem. They hand over plain JSON."""

from __future__ import annotations

import logging

from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config import PipelineConfig, load_config
from hubspot_pipeline.dag_stages import failing_without_retry_on_config_errors
from hubspot_pipeline.preflight import assess, probe_buckets, read_share

log = logging.getLogger(__name__)


class PreflightBlocked(AirflowFailException):
    """Preflight found what would fail an export run (retrying cannot help)."""


def task_config() -> PipelineConfig:
    """The configuration as the export tasks read it (the Airflow Variable included)."""
    with failing_without_retry_on_config_errors():
        return load_config(use_airflow_variable=True)


def check_share() -> dict:
    """What the share holds (:func:`~hubspot_pipeline.preflight.read_share`)."""
    return read_share(task_config())


def check_buckets() -> list[dict]:
    """A probe object written and deleted in each bucket (:func:`~.buckets.probe_buckets`)."""
    return probe_buckets(task_config())


def report(share: dict, buckets: list[dict]) -> dict:
    """Log the report; fail naming each blocking problem, else return the suggested override and its
    YAML."""
    result = assess(task_config(), share, buckets)
    log.info("preflight report:\n%s", result.report_text)
    if result.blocking:
        problems = "\n".join(f"- {each}" for each in result.blocking)
        raise PreflightBlocked(f"{len(result.blocking)} blocking problem(s):\n{problems}")
    return {"suggested_override": result.suggested_override, "yaml": result.yaml}
