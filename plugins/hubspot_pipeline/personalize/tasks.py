"""The Personalize training export, one function per DAG task: extract → prepare → validate → publish.

Tasks hand data to each other through Parquet files in the staging bucket, under a prefix unique to
the run, so each task can be retried on its own and works on any worker. Nothing reaches the
Personalize bucket before every dataset has passed validation; there the data files go first, then the
run's manifest (outside ``train/``), then ``config.json``, the stack's trigger.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config import PersonalizeConfig, PipelineConfig, load_config
from hubspot_pipeline.formatting import clean_identifier, clean_text
from hubspot_pipeline.identity.log import EVENT, IncomingLog
from hubspot_pipeline.identity.resolve import identify
from hubspot_pipeline.identity.users import UserResolution, resolve_events
from hubspot_pipeline.personalize.chunks import ChunkPlan, part_key, plan_chunks
from hubspot_pipeline.personalize.datasets import DATASETS, INTERACTIONS, Dataset
from hubspot_pipeline.personalize.files import csv_bytes, dataset_csv, json_bytes, mlops_config
from hubspot_pipeline.personalize.transform import (
    REPEATED_EVENT_ID,
    ExportWindow,
    build_items,
    build_users,
    custom_event_interactions,
    deal_interactions,
    deal_line_item_ids,
    distinct_codes,
    drop_duplicate_rows,
    repeated_key_reason,
    sort_for_output,
    sorted_rows,
)
from hubspot_pipeline.personalize.unload import (
    drop_result_table,
    unload,
    unload_targets,
    user_map_table,
)
from hubspot_pipeline.personalize.unload import validate_interactions as validate_in_warehouse
from hubspot_pipeline.quality import report
from hubspot_pipeline.quality.ledger import DatasetLedger
from hubspot_pipeline.share.session import share_session
from hubspot_pipeline.storage import ObjectStore, object_store

log = logging.getLogger(__name__)

DAG_ID = "personalize_training_export"
SOURCE_QUERIES = {  # staged whole; the events are streamed in chunks (the queries both products read)
    "contacts": "share/contacts.sql",
    "products": "share/products.sql",
    "deal_line_items": "share/deals.sql",
}
# columns of those queries that only the Hook export uses, not staged: the contact columns besides the
# identifiers are the users' attributes (AGE, GENDER)
HOOK_ONLY_COLUMNS = {"contacts": ["CREATEDATE"]}
EVENTS_QUERY = "personalize/custom_events.sql"
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
    (:func:`export_date_for`), the run's staging prefix, the datasets to publish, whether it is a dry run."""
    params = context["params"]
    export_date = export_date_for(params.get("export_date"), context.get("data_interval_start"), now)
    return {
        "export_date": export_date.isoformat(),
        "run_key": run_key_for(export_date, context["run_id"]),
        "datasets": list(params["datasets"]),
        "dry_run": bool(params["dry_run"]),
    }


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
    """Run the share queries and stage their results; return rows read per source.

    Contacts, products and deal line items are staged whole (they grow with the customer base, not with
    the history). Events are counted per day by the warehouse first: those counts fail a run that cannot
    reach Personalize's minimums before any event is read, and cut the window into chunks of
    ``personalize.chunk_rows`` events; the warehouse also finds the repeated event ids. Then each chunk is
    read and staged on its own, so the worker holds one chunk at a time.
    """
    personalize = run.config.personalize
    window = run.window.query_parameters()
    parameters = {
        "contacts": {},
        "products": {},
        "deal_line_items": {
            "pipelines": personalize.deals.pipelines,
            "stages": personalize.deals.add_to_cart_stages + personalize.deals.closed_won_stages,
        },
    }
    variables = {"deal_line_items": {"line_items": True}}  # the deals of those pipelines and stages
    counts = {}
    with share_session(run.config.share, run.config.snowflake_conn_id) as query:
        for source, template in SOURCE_QUERIES.items():
            frame = query(
                template,
                parameters[source],
                aliases=run.config.identity.anonymous_id_columns,
                **variables.get(source, {}),
            )
            frame = frame.drop(columns=HOOK_ONLY_COLUMNS.get(source, []))
            run.staging.put_frame(run.staging_key(f"source/{source}.parquet"), frame)
            counts[source] = len(frame)
            log.info("extracted %s rows from %s", len(frame), source)
        events_per_day = query("personalize/event_days.sql", window)
        check_reachable_minimums(events_per_day, counts["deal_line_items"], personalize)
        plan = plan_chunks(events_per_day, personalize.chunk_rows)
        run.staging.put_bytes(run.staging_key("chunks.json"), json_bytes(plan.to_dict()), "application/json")
        if personalize.unload.enabled:  # the warehouse reads the events itself, in validate
            counts["custom_events"] = int(events_per_day["EVENTS"].sum())
            log.info("unload mode: %s events in the window stay in the warehouse", counts["custom_events"])
            return counts
        duplicates = query("personalize/duplicate_events.sql", window)
        run.staging.put_frame(run.staging_key("source/duplicate_events.parquet"), duplicates)
        counts["custom_events"] = 0
        for chunk, (start, end) in enumerate(plan.ranges(run.window)):
            undated = chunk == plan.count - 1  # events without a time go to the last chunk
            events = query(EVENTS_QUERY, {"window_start": start, "window_end": end, "undated": undated})
            run.staging.put_frame(part_key(run.staging_key("source/custom_events"), chunk), events)
            counts["custom_events"] += len(events)
    log.info(
        "extracted %s events in %s chunks (%s event ids repeated)",
        counts["custom_events"],
        plan.count,
        len(duplicates),
    )
    return counts


def check_reachable_minimums(events_per_day: pd.DataFrame, deal_rows: int, config: PersonalizeConfig) -> None:
    """Fail before reading any event when the warehouse's counts show the minimums cannot be met: at most
    one interaction per exported event and two per deal line item (cart and purchase)."""
    event_types = clean_text(events_per_day["EVENT_TYPE"])
    exported = ~event_types.isin([name for name, target in config.event_types.items() if target is None])
    reachable = int(events_per_day.loc[exported.to_numpy(), "EVENTS"].sum()) + 2 * deal_rows
    possible_types = set(event_types[exported].map(config.event_types).dropna())
    if deal_rows:
        possible_types |= {config.deals.add_to_cart_event_type, config.deals.purchase_event_type}
    problems = []
    if reachable < config.min_interactions:
        problems.append(
            f"interactions: at most {reachable} rows in the export window (counted by the warehouse), "
            f"Personalize needs at least {config.min_interactions}"
        )
    if missing := sorted(set(config.required_event_types) - possible_types):
        problems.append(
            f"interactions: no events that map to {' or '.join(missing)} in the export window, "
            f"Personalize needs {', '.join(config.required_event_types)}"
        )
    if problems:
        raise MinimumsUnreachable("\n".join(problems))


class MinimumsUnreachable(AirflowFailException):
    """The share cannot give Personalize's minimums in this window (found by counting; no retry)."""


def prepare(run: ExportRun) -> dict[str, dict]:
    """Cast, map and identify the extracted rows: resolve contacts into users, build the candidate items,
    users and deal interactions (staged), and log every event's identity outcome, chunk by chunk. The
    event chunks become candidate interactions in ``validate``, so they are not written twice."""
    sources = {
        name: run.staging.get_frame(run.staging_key(f"source/{name}.parquet")) for name in SOURCE_QUERIES
    }
    ledgers = {name: DatasetLedger() for name in DATASETS}
    identity = identify(sources["contacts"], None, run.config.identity)
    users, personalize = identity.users, run.config.personalize
    deal_rows = sources["deal_line_items"]
    for name, frame in {
        "items": build_items(sources["products"], ledgers["items"]),
        "users": build_users(identity.attributes.by_column(), users, ledgers["users"]),
        "deal_interactions": deal_interactions(
            deal_rows, users.user_ids, personalize, run.window, ledgers["interactions"]
        ),
        "user_ids": user_map_table(users),
    }.items():
        run.staging.put_frame(run.staging_key(f"candidates/{name}.parquet"), frame)

    deal_log = _event_log(deal_line_item_ids(deal_rows), deal_rows["CONTACT_ID"], users)
    summary = merge_incoming(identity.summary(), _event_log_counts(len(deal_rows), deal_log))
    run.staging.put_frame(
        run.staging_key("identity/head.parquet"), pd.concat([identity.incoming.frame(), deal_log])
    )
    if not personalize.unload.enabled:  # else the warehouse logs the events (validate)
        for chunk in range(run.load_plan().count):
            events = run.staging.get_frame(part_key(run.staging_key("source/custom_events"), chunk))
            records = "event:" + clean_identifier(events["EVENT_ID"])
            event_log = _event_log(records, events["CONTACT_ID"], users)
            summary = merge_incoming(summary, _event_log_counts(len(events), event_log))
            run.staging.put_frame(part_key(run.staging_key("identity/events"), chunk), event_log)
            release_memory()
    run.save_ledgers(ledgers, "prepare")
    log.info("identity: %s", json.dumps(summary, sort_keys=True))
    run.staging.put_bytes(run.staging_key("identity/summary.json"), json_bytes(summary), "application/json")
    return {name: ledger.to_dict() for name, ledger in ledgers.items()}


def _event_log(records: pd.Series, contact_ids: pd.Series, users: UserResolution) -> pd.DataFrame:
    """:func:`resolve_events` lines for ``records``, resolved once per contact
    (an event's outcome depends only on its contact) and spread back to the records."""
    codes, contacts = distinct_codes(contact_ids)
    per_contact = resolve_events(contacts.index.astype(str).to_series(), contacts, users)
    lines = per_contact.take(codes).reset_index(drop=True)
    lines["record"] = records.astype(lines["record"].dtype).to_numpy()
    return lines


def release_memory() -> None:
    """Hand a finished chunk's memory back to the system: Arrow's allocator otherwise keeps it cached,
    and the peak grows with the number of chunks instead of staying at one chunk's worth."""
    gc.collect()
    pa.default_memory_pool().release_unused()


def _event_log_counts(records: int, event_log: pd.DataFrame) -> dict:
    """``incoming.event.*`` counts of one part of the events, checked to account for every record."""
    incoming = IncomingLog()
    incoming.add(EVENT, records, event_log)
    incoming.check()
    return incoming.to_dict()


def merge_incoming(summary: dict, part: dict) -> dict:
    """Add one part's ``incoming.*`` counts, records read and reasons to a run's identity summary."""
    merged = {**summary, "records_in": dict(Counter(summary["records_in"]) + Counter(part["records_in"]))}
    for name, count in part.items():
        if name.startswith("incoming."):
            merged[name] = merged.get(name, 0) + count
    reasons = {log_name: dict(counts) for log_name, counts in summary["reasons"].items()}
    for log_name, counts in part["reasons"].items():
        reasons[log_name] = dict(Counter(reasons.get(log_name, {})) + Counter(counts))
    merged["reasons"] = dict(sorted(reasons.items()))
    return merged


def row_rules(run: ExportRun, published_items: set[str] | None = None) -> dict[str, dict]:
    """Per dataset, the rules beyond its column definitions its rows are validated against (keyword
    arguments of :func:`~hubspot_pipeline.personalize.rules.quarantine_invalid_rows`): allowed values, value
    bounds, and the items interactions may name (``published_items``, when known items are required)."""
    personalize, window_bounds = run.config.personalize, run.window.epoch_bounds()
    interactions: dict[str, dict] = {
        "allowed_values": {"EVENT_TYPE": personalize.personalize_event_types},
        "value_bounds": {"TIMESTAMP": window_bounds},
    }
    if personalize.require_known_items and published_items is not None:
        interactions["known_values"] = {"ITEM_ID": published_items}
    return {
        "interactions": interactions,
        "items": {"value_bounds": {"CREATION_TIMESTAMP": (0, window_bounds[1])}},
        "users": {},
    }


def validate(run: ExportRun) -> dict:
    """Validate candidates with Great Expectations: quarantine failing rows, drop duplicates, then check
    the datasets as a whole (uniqueness, Personalize's minimums). Raises before anything is published.

    Items are validated first: interactions may only name items that are published. Interactions are
    validated chunk by chunk; the minimums are checked on their tallies.
    """
    with report.staging_data_docs(run.staging, run.staging_key("data_docs/"), "Personalize export"):
        return _validate_datasets(run)


def _validate_datasets(run: ExportRun) -> dict:
    from hubspot_pipeline.personalize.rules import check_dataset
    from hubspot_pipeline.quality.validation import DatasetValidationError, raise_on_failures

    ledgers = run.load_ledgers("prepare")
    results: dict[str, list[dict]] = {}
    publishable = []
    published_items: set[str] = set()
    for name in ("items", "users"):
        candidates = run.staging.get_frame(run.staging_key(f"candidates/{name}.parquet"))
        rules = row_rules(run)[name]
        final, quarantined, row_results = _validated_rows(candidates, DATASETS[name], ledgers[name], rules)
        run.staging.put_frame(run.staging_key(f"final/{name}.parquet"), final)
        run.staging.put_frame(run.staging_key(f"quarantine/{name}.parquet"), quarantined)
        results[name] = [summary.to_dict() for summary in row_results]
        publishable += check_dataset(final[DATASETS[name].column_names], DATASETS[name], **rules)
        if name == "items":
            published_items = set(final["ITEM_ID"])
    if run.config.personalize.unload.enabled:
        interaction_results, interaction_checks = validate_in_warehouse(
            run, ledgers["interactions"], row_rules(run, published_items)["interactions"]
        )
    else:
        interaction_results, interaction_checks = _validate_interactions(
            run, ledgers["interactions"], published_items
        )
    results["interactions"] = [summary.to_dict() for summary in interaction_results]
    publishable += interaction_checks
    for name, ledger in ledgers.items():
        ledger.check(name)
    results["publishable"] = [summary.to_dict() for summary in publishable]
    run.save_ledgers(ledgers, "validate")
    run.staging.put_bytes(run.staging_key("expectations.json"), json_bytes(results), "application/json")
    try:
        raise_on_failures(publishable)
    except DatasetValidationError:
        if run.config.personalize.unload.enabled:  # nothing will unload the warehouse's table
            drop_result_table(run)
        raise
    return {"ledgers": {name: ledger.to_dict() for name, ledger in ledgers.items()}, "expectations": results}


def _validated_rows(
    candidates: pd.DataFrame,
    dataset: Dataset,
    ledger: DatasetLedger,
    rules: dict,
    suite_name: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """Quarantine the candidates failing a row rule (GX and referential checks; ``rules`` from
    :func:`row_rules`), then keep the first row of each unique key in output order; return the rows to
    publish, the quarantined rows and the check summaries."""
    from hubspot_pipeline.personalize.rules import quarantine_invalid_rows

    checked = quarantine_invalid_rows(candidates, dataset, **rules, suite_name=suite_name)
    ledger.quarantine(checked.quarantined["QUARANTINE_REASON"])
    kept = drop_duplicate_rows(
        sort_for_output(checked.kept, dataset), list(dataset.unique_key), repeated_key_reason(dataset), ledger
    )
    ledger.written += len(kept)
    return kept, checked.quarantined, checked.results


def _validate_interactions(
    run: ExportRun, ledger: DatasetLedger, published_items: set[str]
) -> tuple[list, list]:
    """Build each chunk's candidate interactions (its events, and the deal interactions of its time range)
    and validate them (each candidate row, then the rows it will publish), then Personalize's minimums on
    the chunks' tallies; return the merged row and publishable summaries."""
    from hubspot_pipeline.personalize.rules import (
        InteractionTallies,
        check_dataset,
        check_interaction_minimums,
    )
    from hubspot_pipeline.quality.validation import merge_summaries

    personalize, plan = run.config.personalize, run.load_plan()
    rules = row_rules(run, published_items)["interactions"]
    duplicates = run.staging.get_frame(run.staging_key("source/duplicate_events.parquet"))
    first_copy = (
        pd.Series(
            pd.to_numeric(duplicates["FIRST_EPOCH"]).astype("Int64").to_numpy(),
            index="event:" + clean_identifier(duplicates["EVENT_ID"]),
        )
        .groupby(level=0)
        .min()
    )
    user_ids = run.staging.get_frame(run.staging_key("candidates/user_ids.parquet"))
    user_ids = pd.Series(user_ids["USER_ID"].to_numpy(), index=user_ids["CONTACT_ID"])
    deals = run.staging.get_frame(run.staging_key("candidates/deal_interactions.parquet"))
    deal_chunks = plan.chunk_of(deals["TIMESTAMP"])
    tallies, row_results, checks = InteractionTallies(), [], []
    for chunk in range(plan.count):
        events = run.staging.get_frame(part_key(run.staging_key("source/custom_events"), chunk))
        candidates = pd.concat(
            [
                custom_event_interactions(events, user_ids, personalize, ledger),
                deals[deal_chunks == chunk],
            ],
            ignore_index=True,
        )
        candidates = _without_repeated_events(candidates, first_copy, ledger)
        part = f"part{chunk:05d}"
        final, quarantined, summaries = _validated_rows(
            candidates, INTERACTIONS, ledger, rules, f"interactions_rows_{part}"
        )
        row_results.append(summaries)
        final = final[INTERACTIONS.column_names]
        checks.append(check_dataset(final, INTERACTIONS, **rules, suite_name=f"interactions_{part}"))
        tallies.add(final)
        run.staging.put_frame(part_key(run.staging_key("final/interactions"), chunk), final)
        first = ["TIMESTAMP", "_SOURCE_ID"]  # the same order for any chunking
        quarantined = sorted_rows(quarantined, first + [name for name in quarantined if name not in first])
        run.staging.put_frame(part_key(run.staging_key("quarantine/interactions"), chunk), quarantined)
        release_memory()
    minimums = check_interaction_minimums(
        tallies,
        min_interactions=personalize.min_interactions,
        min_users_with_two=personalize.min_users_with_two_interactions,
        required_event_types=personalize.required_event_types,
    )
    return merge_summaries(row_results), merge_summaries(checks) + minimums


def _without_repeated_events(
    candidates: pd.DataFrame, first_copy: pd.Series, ledger: DatasetLedger
) -> pd.DataFrame:
    """Skip every copy of a repeated source id but its earliest (the warehouse found the ids and the time
    of their first copy; copies at the same time keep the first in a fixed order of their values)."""
    first = candidates["_SOURCE_ID"].map(first_copy)
    # a copy without a time is never the first one (the unchunked order puts it last)
    later_copy = first.notna() & ~(candidates["TIMESTAMP"] <= first).fillna(False).astype(bool)
    ledger.skip(REPEATED_EVENT_ID, int(later_copy.sum()))
    candidates = candidates[~later_copy.to_numpy()]
    repeated = candidates["_SOURCE_ID"].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return candidates.reset_index(drop=True)
    order = ["_SOURCE_ID", "TIMESTAMP", "_CONTACT_ID", "ITEM_ID", "EVENT_TYPE", "EVENT_VALUE"]
    copies = candidates[repeated].sort_values(order, kind="stable", na_position="last")
    copies = drop_duplicate_rows(copies, ["_SOURCE_ID"], REPEATED_EVENT_ID, ledger)
    return pd.concat([candidates[~repeated], copies], ignore_index=True)


def publish(run: ExportRun) -> dict:
    """Publish the validated datasets: data files, quarantine files, identity log, report and manifest,
    then ``config.json``. A dry run only logs the report.

    Streamed files (interactions, their quarantine file, the identity log) are assembled chunk by chunk
    in a local temporary file and uploaded whole, so readers never see part of one.
    """
    personalize = run.config.personalize
    store, ledgers, plan = run.personalize, run.load_ledgers("validate"), run.load_plan()
    in_warehouse = personalize.unload.enabled  # the warehouse holds the interactions
    train, runs = personalize.train_prefix, personalize.run_prefix(run.export_date)
    manifest: dict = {"export_date": run.export_date.isoformat(), "dataset_group": personalize.dataset_group}
    with tempfile.TemporaryDirectory(prefix="personalize-publish-") as work:
        files, data_files, artefacts = {}, [], []
        for name in run.datasets:
            key = f"{train}/{name}.csv"
            if in_warehouse and name == "interactions":  # unloaded below, after the worker's files
                files[name] = {"key": key, "rows": ledgers[name].written, "sha256": None}
                if ledgers[name].quarantined_total:
                    files[name]["quarantine_key"] = f"{runs}/quarantine/{name}.csv"
                continue
            data = _csv_chunks(
                _staged_frames(run, "final", name, plan), partial(dataset_csv, dataset=DATASETS[name])
            )
            path, sha256 = _assemble(Path(work) / f"{name}.csv", data)
            data_files.append((key, path, "text/csv"))
            files[name] = {"key": key, "rows": ledgers[name].written, "sha256": sha256}
            if ledgers[name].quarantined_total:
                files[name]["quarantine_key"] = f"{runs}/quarantine/{name}.csv"
                path, _ = _assemble(
                    Path(work) / f"{name}.quarantine.csv",
                    _csv_chunks(_staged_frames(run, "quarantine", name, plan), csv_bytes),
                )
                artefacts.append((files[name]["quarantine_key"], path, "text/csv"))
        identity_key = f"{runs}/identity_log.csv"
        identity = json.loads(run.staging.get_bytes(run.staging_key("identity/summary.json")))
        # users, then deal line items, then events in time order (the same lines for any chunking)
        identity_log = [run.staging.get_frame(run.staging_key("identity/head.parquet"))]
        if in_warehouse:  # the events' lines are unloaded to a file of their own
            events_part = json.loads(run.staging.get_bytes(run.staging_key("identity/events_summary.json")))
            event_log = {"key": f"{runs}/identity_log_events.csv", "rows": events_part["records_in"][EVENT]}
            identity = {**merge_incoming(identity, events_part), "event_log_key": event_log["key"]}
        else:
            identity_log = chain(identity_log, _part_frames(run, "identity/events", plan))
        path, _ = _assemble(Path(work) / "identity_log.csv", _csv_chunks(identity_log, csv_bytes))
        artefacts.append((identity_key, path, "text/csv"))
        objects = report.staged_data_docs(run.staging, run.staging_key("data_docs/"), f"{runs}/data_docs/")
        manifest["data_docs_key"] = f"{runs}/data_docs/index.html"
        manifest["files"] = files
        manifest["ledgers"] = {name: ledger.to_dict() for name, ledger in ledgers.items()}
        manifest["identity"] = {**identity, "log_key": identity_key}
        if in_warehouse:  # before the manifest, which records what the warehouse wrote
            quarantined = ledgers["interactions"].quarantined_total
            _unload_from_warehouse(run, store, files.get("interactions"), quarantined, event_log, Path(work))
        expectations = json.loads(run.staging.get_bytes(run.staging_key("expectations.json")))
        report_text = run_report(manifest, expectations, dry_run=run.dry_run)
        log.info("run report:\n%s", report_text)
        manifest["report_key"] = f"{runs}/report.md"
        objects.append((manifest["report_key"], report_text.encode("utf-8"), "text/markdown"))
        manifest_key, config_key = f"{runs}/manifest.json", f"{train}/config.json"
        objects.append((manifest_key, json_bytes(manifest), "application/json"))
        objects.append(
            (config_key, json_bytes(mlops_config(personalize, list(DATASET_ORDER))), "application/json")
        )
        if not run.dry_run:  # in order: data files, run artefacts, then the manifest and config.json
            for key, path, content_type in data_files + artefacts:
                store.put_file(key, path, content_type)
        report.put_objects(store, objects, dry_run=run.dry_run)
    run.staging.delete_prefix(run.staging_key(""))
    return {
        "dry_run": run.dry_run,
        "files": {name: store.uri(entry["key"]) for name, entry in files.items()},
        "manifest": store.uri(manifest_key),
        "config": store.uri(config_key),
        "ledgers": manifest["ledgers"],
    }


def _unload_from_warehouse(
    run: ExportRun,
    store: ObjectStore,
    interactions: dict | None,
    quarantined: int,
    event_log: dict,
    work: Path,
) -> None:
    """Have the warehouse write the interactions file and its quarantine file (when published) and the
    events' identity log, then check it wrote every row validated (else fail before the manifest and
    ``config.json``). A dry run only drops the warehouse's table. Sets ``interactions["sha256"]`` when
    the worker wrote the file (no stage), else leaves it null."""
    if run.dry_run:
        drop_result_table(run)
        return
    data = quarantine = None
    if interactions is not None:
        data = (interactions["key"], interactions["rows"])
        if "quarantine_key" in interactions:
            quarantine = (interactions["quarantine_key"], quarantined)
    checksums = unload(
        run, store, unload_targets(data, quarantine, (event_log["key"], event_log["rows"])), work
    )
    if interactions is not None:  # the worker's stand-in knows the file's checksum, Snowflake does not say
        interactions["sha256"] = checksums[interactions["key"]]


def _assemble(path: Path, chunks: Iterable[bytes]) -> tuple[Path, str]:
    """Write ``chunks`` one after the other to ``path``; return it with the content's sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as output:
        for chunk in chunks:
            digest.update(chunk)
            output.write(chunk)
    return path, digest.hexdigest()


def _part_frames(run: ExportRun, prefix: str, plan: ChunkPlan) -> Iterator[pd.DataFrame]:
    for chunk in range(plan.count):
        yield run.staging.get_frame(part_key(run.staging_key(prefix), chunk))


def _staged_frames(run: ExportRun, stage: str, name: str, plan: ChunkPlan) -> Iterator[pd.DataFrame]:
    """A dataset's staged frames under ``stage`` (``final`` or ``quarantine``): its one file, or the
    interactions' chunks in order."""
    if name == "interactions":
        yield from _part_frames(run, f"{stage}/interactions", plan)
    else:
        yield run.staging.get_frame(run.staging_key(f"{stage}/{name}.parquet"))


def _csv_chunks(frames: Iterable[pd.DataFrame], write_csv: Callable[..., bytes]) -> Iterator[bytes]:
    """``frames`` as the consecutive parts of one CSV file: only the first carries the header."""
    for chunk, frame in enumerate(frames):
        yield write_csv(frame, header=chunk == 0)


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
