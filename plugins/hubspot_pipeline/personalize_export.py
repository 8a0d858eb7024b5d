"""The Personalize training export, one function per DAG task: extract → prepare → validate → publish.

Tasks hand data to each other through Parquet files in the staging bucket, under a prefix unique to
the run, so each task can be retried on its own and works on any worker. Nothing reaches the
Personalize bucket before every dataset has passed validation; there the data files go first, then the
run's manifest (outside ``train/``), then ``config.json``, the stack's trigger.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from hubspot_pipeline import report
from hubspot_pipeline.config import PipelineConfig, load_config
from hubspot_pipeline.datasets import DATASETS
from hubspot_pipeline.formatting import clean_identifier
from hubspot_pipeline.identity import identify
from hubspot_pipeline.ledger import DatasetLedger
from hubspot_pipeline.personalize import (
    ExportWindow,
    build_items,
    build_users,
    custom_event_interactions,
    deal_interactions,
    deal_line_item_ids,
    drop_duplicate_rows,
    sort_for_output,
)
from hubspot_pipeline.personalize_files import dataset_csv, json_bytes, mlops_config
from hubspot_pipeline.storage import ObjectStore, object_store
from hubspot_pipeline.warehouse import query_share

log = logging.getLogger(__name__)

DAG_ID = "personalize_training_export"
SOURCE_QUERIES = {
    "contacts": "personalize/contacts.sql",
    "products": "personalize/products.sql",
    "custom_events": "personalize/custom_events.sql",
    "deal_line_items": "personalize/deal_line_items.sql",
}
DATASET_ORDER = ("items", "users", "interactions")


@dataclass(frozen=True)
class ExportRun:
    """One run of the export: the configuration, the date exported, and the run's staging prefix."""

    config: PipelineConfig
    export_date: date
    run_key: str
    datasets: tuple[str, ...] = DATASET_ORDER
    dry_run: bool = False

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

    def save_ledgers(self, ledgers: dict[str, DatasetLedger]) -> None:
        document = {name: ledger.to_dict() for name, ledger in ledgers.items()}
        self.staging.put_bytes(self.staging_key("ledgers.json"), json_bytes(document), "application/json")

    def load_ledgers(self) -> dict[str, DatasetLedger]:
        document = json.loads(self.staging.get_bytes(self.staging_key("ledgers.json")))
        return {name: DatasetLedger.from_dict(data) for name, data in document.items()}


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


def load_run(
    export_date: str, run_key: str, datasets: list[str] | None = None, dry_run: bool = False
) -> ExportRun:
    """Rebuild the run inside a task, with the configuration as the Airflow Variable overrides it.

    ``datasets`` limits which dataset files are published (all are still validated, since interactions
    may only name published items); ``dry_run`` validates and reports but publishes nothing.
    """
    chosen = tuple(name for name in DATASET_ORDER if name in (datasets or DATASET_ORDER))
    if unknown := set(datasets or ()) - set(DATASET_ORDER):
        raise ValueError(f"unknown datasets {sorted(unknown)}: choose from {list(DATASET_ORDER)}")
    config = load_config(use_airflow_variable=True)
    return ExportRun(config, date.fromisoformat(export_date), run_key, chosen or DATASET_ORDER, dry_run)


def extract(run: ExportRun) -> dict[str, int]:
    """Run the share queries and stage their results; return rows read per source."""
    personalize = run.config.personalize
    parameters = {
        "contacts": {},
        "products": {},
        "custom_events": run.window.query_parameters(),
        "deal_line_items": {
            "pipelines": personalize.deals.pipelines,
            "stages": personalize.deals.add_to_cart_stages + personalize.deals.closed_won_stages,
        },
    }
    counts = {}
    for source, template in SOURCE_QUERIES.items():
        frame = query_share(
            template,
            run.config.share,
            run.config.snowflake_conn_id,
            parameters[source],
            aliases=run.config.identity.anonymous_id_columns,
        )
        run.staging.put_frame(run.staging_key(f"source/{source}.parquet"), frame)
        counts[source] = len(frame)
        log.info("extracted %s rows from %s", len(frame), source)
    return counts


def prepare(run: ExportRun) -> dict[str, dict]:
    """Cast, map and identify the extracted rows into candidate dataset rows (staged)."""
    sources = {
        name: run.staging.get_frame(run.staging_key(f"source/{name}.parquet")) for name in SOURCE_QUERIES
    }
    ledgers = {name: DatasetLedger() for name in DATASETS}
    identity = identify(sources["contacts"], _identity_events(sources), run.config.identity)
    user_ids = identity.users.user_ids
    personalize = run.config.personalize
    candidates = {
        "items": build_items(sources["products"], ledgers["items"]),
        "users": build_users(identity.attributes.by_column(), identity.users, ledgers["users"]),
        "interactions": pd.concat(
            [
                custom_event_interactions(
                    sources["custom_events"], user_ids, personalize, ledgers["interactions"]
                ),
                deal_interactions(
                    sources["deal_line_items"], user_ids, personalize, run.window, ledgers["interactions"]
                ),
            ],
            ignore_index=True,
        ),
    }
    for name, frame in candidates.items():
        run.staging.put_frame(run.staging_key(f"candidates/{name}.parquet"), frame)
    run.save_ledgers(ledgers)
    summary = identity.summary()
    log.info("identity: %s", json.dumps(summary, sort_keys=True))
    run.staging.put_frame(run.staging_key("identity/log.parquet"), identity.incoming.frame())
    run.staging.put_bytes(run.staging_key("identity/summary.json"), json_bytes(summary), "application/json")
    return {name: ledger.to_dict() for name, ledger in ledgers.items()}


def _identity_events(sources: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every event the interactions come from (custom events, deal line items) as ``RECORD_ID`` and
    ``CONTACT_ID``, for the identity stage's accounting."""
    events, deals = sources["custom_events"], sources["deal_line_items"]
    deal_records = deal_line_item_ids(deals)
    return pd.DataFrame(
        {
            "RECORD_ID": pd.concat(["event:" + clean_identifier(events["EVENT_ID"]), deal_records]),
            "CONTACT_ID": pd.concat(
                [clean_identifier(events["CONTACT_ID"]), clean_identifier(deals["CONTACT_ID"])]
            ),
        }
    ).reset_index(drop=True)


def row_rules(run: ExportRun, published_items: set[str] | None) -> tuple[dict, dict]:
    """Per dataset, the allowed values and value bounds its rows are validated against."""
    personalize, window_bounds = run.config.personalize, run.window.epoch_bounds()
    allowed_values: dict[str, dict] = {"interactions": {"EVENT_TYPE": personalize.personalize_event_types}}
    if personalize.require_known_items and published_items is not None:
        allowed_values["interactions"]["ITEM_ID"] = published_items
    value_bounds = {
        "interactions": {"TIMESTAMP": window_bounds},
        "items": {"CREATION_TIMESTAMP": (0, window_bounds[1])},
    }
    return allowed_values, value_bounds


def validate(run: ExportRun) -> dict:
    """Validate candidates with Great Expectations: quarantine failing rows, drop duplicates, then check
    the datasets as a whole (uniqueness, Personalize's minimums). Raises before anything is published.

    Items are validated first: interactions may only name items that are published.
    """
    with report.staging_data_docs(run.staging, run.staging_key("data_docs/"), "Personalize export"):
        return _validate_datasets(run)


def _validate_datasets(run: ExportRun) -> dict:
    from hubspot_pipeline.validation import check_publishable, quarantine_invalid_rows

    ledgers = run.load_ledgers()
    personalize = run.config.personalize
    results: dict[str, list] = {}
    finals: dict[str, pd.DataFrame] = {}
    for name in DATASET_ORDER:
        dataset, ledger = DATASETS[name], ledgers[name]
        candidates = run.staging.get_frame(run.staging_key(f"candidates/{name}.parquet"))
        if name == "interactions":
            candidates = candidates.sort_values("_SOURCE_ID", kind="stable")
            candidates = drop_duplicate_rows(candidates, ["_SOURCE_ID"], "duplicate event id", ledger)
        published_items = set(finals["items"]["ITEM_ID"]) if "items" in finals else None
        allowed_values, value_bounds = row_rules(run, published_items)
        checked = quarantine_invalid_rows(
            candidates, dataset, allowed_values=allowed_values.get(name), value_bounds=value_bounds.get(name)
        )
        ledger.quarantine(checked.quarantined["QUARANTINE_REASON"])
        key = list(dataset.unique_key)
        kept = drop_duplicate_rows(
            sort_for_output(checked.kept, dataset),
            key,
            f"duplicate of another row with the same {', '.join(key)}",
            ledger,
        )
        ledger.written = len(kept)
        ledger.check(name)
        finals[name] = kept
        results[name] = [summary.to_dict() for summary in checked.results]
        run.staging.put_frame(run.staging_key(f"final/{name}.parquet"), kept)
        run.staging.put_frame(run.staging_key(f"quarantine/{name}.parquet"), checked.quarantined)
    allowed_values, value_bounds = row_rules(run, set(finals["items"]["ITEM_ID"]))
    publishable = check_publishable(
        {name: frame[DATASETS[name].column_names] for name, frame in finals.items()},
        min_interactions=personalize.min_interactions,
        min_users_with_two=personalize.min_users_with_two_interactions,
        required_event_types=personalize.required_event_types,
        allowed_values=allowed_values,
        value_bounds=value_bounds,
    )
    results["publishable"] = [summary.to_dict() for summary in publishable]
    run.save_ledgers(ledgers)
    run.staging.put_bytes(run.staging_key("expectations.json"), json_bytes(results), "application/json")
    return {"ledgers": {name: ledger.to_dict() for name, ledger in ledgers.items()}, "expectations": results}


def _quarantine_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def publish(run: ExportRun) -> dict:
    """Publish the validated datasets: data files, quarantine files, identity log, report and manifest,
    then ``config.json``. A dry run only logs the report."""
    personalize = run.config.personalize
    store, ledgers = run.personalize, run.load_ledgers()
    train, runs = personalize.train_prefix, personalize.run_prefix(run.export_date)
    manifest: dict = {"export_date": run.export_date.isoformat(), "dataset_group": personalize.dataset_group}
    outputs: list[tuple[str, bytes, str]] = []  # in publishing order: data, run artefacts, manifest, config
    artefacts: list[tuple[str, bytes, str]] = []
    files = {}
    for name in run.datasets:
        data = dataset_csv(run.staging.get_frame(run.staging_key(f"final/{name}.parquet")), DATASETS[name])
        key = f"{train}/{name}.csv"
        outputs.append((key, data, "text/csv"))
        files[name] = {"key": key, "rows": ledgers[name].written, "sha256": hashlib.sha256(data).hexdigest()}
        quarantined = run.staging.get_frame(run.staging_key(f"quarantine/{name}.parquet"))
        if len(quarantined):
            files[name]["quarantine_key"] = f"{runs}/quarantine/{name}.csv"
            artefacts.append((files[name]["quarantine_key"], _quarantine_csv(quarantined), "text/csv"))
    identity_key = f"{runs}/identity_log.csv"
    identity_log = run.staging.get_frame(run.staging_key("identity/log.parquet"))
    artefacts.append((identity_key, _quarantine_csv(identity_log), "text/csv"))
    artefacts += report.staged_data_docs(run.staging, run.staging_key("data_docs/"), f"{runs}/data_docs/")
    manifest["data_docs_key"] = f"{runs}/data_docs/index.html"
    manifest["files"] = files
    manifest["ledgers"] = {name: ledger.to_dict() for name, ledger in ledgers.items()}
    manifest["identity"] = {
        **json.loads(run.staging.get_bytes(run.staging_key("identity/summary.json"))),
        "log_key": identity_key,
    }
    expectations = json.loads(run.staging.get_bytes(run.staging_key("expectations.json")))
    report_text = run_report(manifest, expectations, dry_run=run.dry_run)
    log.info("run report:\n%s", report_text)
    manifest["report_key"] = f"{runs}/report.md"
    artefacts.append((manifest["report_key"], report_text.encode("utf-8"), "text/markdown"))
    outputs += artefacts
    manifest_key = f"{runs}/manifest.json"
    outputs.append((manifest_key, json_bytes(manifest), "application/json"))
    config_key = f"{train}/config.json"
    outputs.append(
        (config_key, json_bytes(mlops_config(personalize, list(DATASET_ORDER))), "application/json")
    )
    report.put_objects(store, outputs, dry_run=run.dry_run)
    run.staging.delete_prefix(run.staging_key(""))
    return {
        "dry_run": run.dry_run,
        "files": {name: store.uri(entry["key"]) for name, entry in files.items()},
        "manifest": store.uri(manifest_key),
        "config": store.uri(config_key),
        "ledgers": manifest["ledgers"],
    }


def run_report(manifest: dict, expectations: dict, *, dry_run: bool = False) -> str:
    """A short human-readable report of the run (Markdown): rows per dataset with the top reasons,
    identity counts, Great Expectations results, and the published keys with checksums."""
    identity = manifest.get("identity", {})
    lines = [
        f"# Personalize export {manifest['export_date']} ({manifest['dataset_group']})",
        "",
        report.published_line(dry_run, "config.json"),
        "",
        *report.ledger_lines(manifest["ledgers"]),
        "",
        f"Identity (`incoming.*`; {identity.get('merged_contacts', 0)} contacts merged):",
        "",
        *[f"- `{name}`: {count}" for name, count in sorted(identity.items()) if name.startswith("incoming.")],
        *report.expectation_lines(expectations, manifest["data_docs_key"]),
        *report.file_lines(
            [(entry["key"], entry["rows"], entry["sha256"]) for entry in manifest["files"].values()]
        ),
    ]
    return "\n".join(lines) + "\n"
