"""One run of the Personalize export: what ``plan_run`` fixes (the export date, the staging prefix, the
datasets, dry run), and the run every task rebuilds from it, with its staging and published stores."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from hubspot_pipeline.config import PersonalizeConfig, PipelineConfig, load_config
from hubspot_pipeline.personalize.chunks import ChunkPlan, part_key
from hubspot_pipeline.personalize.files import json_bytes
from hubspot_pipeline.personalize.transform import (
    ExportWindow,
)
from hubspot_pipeline.quality.ledger import DatasetLedger
from hubspot_pipeline.storage import ObjectStore, object_store

DAG_ID = "personalize_training_export"


DATASET_ORDER = ("items", "users", "interactions")


@dataclass(frozen=True)
class ExportRun:
    """One run of the export: the configuration, the date exported, and the run's staging prefix."""

    config: PipelineConfig
    export_date: date
    run_key: str
    datasets: tuple[str, ...] = DATASET_ORDER
    dry_run: bool = False
    republish_older: bool = False

    @property
    def staging(self) -> ObjectStore:
        storage = self.config.storage
        return object_store(storage, storage.staging_bucket, self.config.personalize_s3_conn_id)

    @property
    def personalize(self) -> ObjectStore:
        return object_store(
            self.config.storage, self.config.personalize.bucket, self.config.personalize_s3_conn_id
        )

    @property
    def window(self) -> ExportWindow:
        return ExportWindow.for_date(self.export_date, self.config.personalize)

    def staging_key(self, name: str) -> str:
        return f"{self.config.storage.staging_prefix}/{DAG_ID}/{self.run_key}/{name}"

    def save_ledgers(self, ledgers: dict[str, DatasetLedger], task: str) -> None:
        """Stage the ledgers as ``task`` left them: each task reads the previous task's and writes its
        own, so a retried task starts again from the same counts instead of counting twice."""
        document = {name: ledger.to_dict() for name, ledger in ledgers.items()}
        key = self.staging_key(f"ledgers_after_{task}.json")
        self.staging.put_bytes(key, json_bytes(document), "application/json")

    def load_ledgers(self, task: str) -> dict[str, DatasetLedger]:
        """The ledgers as ``task`` (``prepare`` or ``validate``) left them."""
        document = json.loads(self.staging.get_bytes(self.staging_key(f"ledgers_after_{task}.json")))
        return {name: DatasetLedger.from_dict(data) for name, data in document.items()}

    def load_plan(self) -> ChunkPlan:
        """The chunks the extract task cut the interactions into."""
        return ChunkPlan.from_dict(json.loads(self.staging.get_bytes(self.staging_key("chunks.json"))))


def export_date_for(requested: str | None, data_interval_start: datetime | None, now: datetime) -> date:
    """The date a run exports: the ``export_date`` param, else the start of the run's data interval
    (scheduled and backfill runs), else yesterday (a manual run without a logical date)."""
    if requested:
        return date.fromisoformat(requested)
    if data_interval_start is not None:
        return data_interval_start.astimezone(UTC).date()
    return (now.astimezone(UTC) - timedelta(days=1)).date()


def run_key_for(export_date: date, run_id: str) -> str:
    """A staging prefix unique to the run: the export date and the run id made path-safe."""
    return f"{export_date.isoformat()}/{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}"


def plan_run(context: Mapping[str, Any], now: datetime) -> dict:
    """What every task of a run is handed, from the ``plan_run`` task's context: the export date
    (:func:`export_date_for`), the run's staging prefix, the datasets to publish, whether it is a dry run
    and whether it may replace live data of a newer date."""
    params = context["params"]
    export_date = export_date_for(params.get("export_date"), context.get("data_interval_start"), now)
    return {
        "export_date": export_date.isoformat(),
        "run_key": run_key_for(export_date, context["run_id"]),
        "datasets": list(params["datasets"]),
        "dry_run": bool(params["dry_run"]),
        "republish_older": bool(params.get("republish_older", False)),
    }


def load_run(
    export_date: str,
    run_key: str,
    datasets: list[str] | None = None,
    dry_run: bool = False,
    republish_older: bool = False,
) -> ExportRun:
    """Rebuild the run inside a task, with the configuration as the Airflow Variable overrides it.

    ``datasets`` limits which dataset files are published (all are still validated, since interactions
    may only name published items); ``dry_run`` validates and reports but publishes nothing;
    ``republish_older`` lets an older date replace the live data (:func:`live_date`).
    """
    chosen = tuple(name for name in DATASET_ORDER if name in (datasets or DATASET_ORDER))
    if unknown := set(datasets or ()) - set(DATASET_ORDER):
        raise ValueError(f"unknown datasets {sorted(unknown)}: choose from {list(DATASET_ORDER)}")
    config = load_config(use_airflow_variable=True)
    day = date.fromisoformat(export_date)
    return ExportRun(config, day, run_key, chosen or DATASET_ORDER, dry_run, republish_older)


def live_date(store: ObjectStore, config: PersonalizeConfig) -> date | None:
    """The export date live under ``train/<dataset_group>/`` (``live_key``), None before the first."""
    if config.live_key not in store.list_keys(config.live_key):
        return None
    return date.fromisoformat(json.loads(store.get_bytes(config.live_key))["export_date"])


def not_live_reason(run: ExportRun, live: date | None) -> str | None:
    """Why the run must not replace the live data (an older date without ``republish_older``), or None."""
    if live is None or run.export_date >= live or run.republish_older:
        return None
    return f"not published live: {live.isoformat()} is newer; set republish_older to replace it"


def part_frames(run: ExportRun, prefix: str, plan: ChunkPlan) -> Iterator[pd.DataFrame]:
    for chunk in range(plan.count):
        yield run.staging.get_frame(part_key(run.staging_key(prefix), chunk))


def staged_frames(run: ExportRun, stage: str, name: str, plan: ChunkPlan) -> Iterator[pd.DataFrame]:
    """A dataset's staged frames under ``stage`` (``final`` or ``quarantine``): its one file, or the
    interactions' chunks in order."""
    if name == "interactions":
        yield from part_frames(run, f"{stage}/interactions", plan)
    else:
        yield run.staging.get_frame(run.staging_key(f"{stage}/{name}.parquet"))
