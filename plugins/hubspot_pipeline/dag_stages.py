"""The two shapes of task in the DAG files: ``plan_run``, which fixes what a run does from its context, and
one task per stage of a product's ``tasks`` module, each handed that plan. The product's modules are
imported when a task runs, not when the DAG file is parsed (they bring in pandas and Great Expectations).

A publishing stage declares an ``AssetAlias``, not its Assets: it returns the Asset events of what it
really published (``asset_events``: name, uri, extra), and only those are emitted, through the alias.

A configuration error (:class:`~hubspot_pipeline.config.ConfigError`, e.g. the Variable setting a key the
DAG files read at parse time) fails the task at once: retrying cannot fix the configuration."""

from __future__ import annotations

import importlib
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

import pendulum
from airflow.sdk import Asset, AssetAlias, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config.checks import ConfigError


@contextmanager
def failing_without_retry_on_config_errors() -> Generator[None]:
    """Turn a :class:`ConfigError` into a failure without retry: retrying cannot fix the configuration."""
    try:
        yield
    except ConfigError as error:
        raise AirflowFailException(f"invalid configuration: {error}") from error


def dry_run_param(description: str) -> Param:
    """The ``dry_run`` run param both DAGs take: do everything but publish."""
    return Param(False, type="boolean", title="Dry run", description=description)


def plan_task(product: str):
    """The ``plan_run`` task: ``hubspot_pipeline.<product>.run.plan_run`` on the task's context, now."""

    @task(task_id="plan_run", multiple_outputs=False)
    def plan_run() -> dict:
        with failing_without_retry_on_config_errors():
            runs = importlib.import_module(f"hubspot_pipeline.{product}.run")
            return runs.plan_run(get_current_context(), pendulum.now("UTC"))

    return plan_run


def stage_task(product: str, stage: str, *, publishes: AssetAlias | None = None, **task_arguments: Any):
    """An Airflow task ``stage`` running ``hubspot_pipeline.<product>.tasks.<stage>`` on the run
    ``hubspot_pipeline.<product>.run.load_run`` rebuilds from the plan; with ``publishes``, the stage's
    ``asset_events`` are emitted through that alias. ``task_arguments`` go to ``@task``."""
    outlets = [publishes] if publishes else []

    @task(task_id=stage, multiple_outputs=False, outlets=outlets, **task_arguments)
    def run_stage(plan: dict) -> dict:
        with failing_without_retry_on_config_errors():
            runs = importlib.import_module(f"hubspot_pipeline.{product}.run")
            tasks = importlib.import_module(f"hubspot_pipeline.{product}.tasks")
            result = getattr(tasks, stage)(runs.load_run(**plan))
        if publishes:
            events = get_current_context()["outlet_events"][publishes]
            for event in result.get("asset_events", []):
                events.add(Asset(name=event["name"], uri=event["uri"]), extra=event["extra"])
        return result

    run_stage.__doc__ = f"Run ``hubspot_pipeline.{product}.tasks.{stage}`` on the planned run."
    return run_stage
