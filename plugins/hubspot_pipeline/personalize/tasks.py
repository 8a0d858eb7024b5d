"""The Personalize training export, one function per DAG task: extract → prepare → validate → publish.

Tasks hand data to each other through Parquet files in the staging bucket, under a prefix unique to
the run, so each task can be retried on its own and works on any worker. Nothing reaches the
Personalize bucket before every dataset has passed validation; there the data files go first, then the
run's manifest (outside ``train/``), then ``config.json``, the stack's trigger."""

from __future__ import annotations

import json
import logging
import tempfile
from functools import partial
from itertools import chain
from pathlib import Path

import pandas as pd
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config import PersonalizeConfig
from hubspot_pipeline.config.properties import PERSONALIZE
from hubspot_pipeline.formatting import clean_identifier, clean_text
from hubspot_pipeline.identity.identifiers import hash_key
from hubspot_pipeline.identity.log import EVENT
from hubspot_pipeline.identity.resolve import identify
from hubspot_pipeline.personalize.checks import RECOMMENDERS_KEY, validate_datasets
from hubspot_pipeline.personalize.chunks import part_key, plan_chunks, release_memory
from hubspot_pipeline.personalize.datasets import DATASETS
from hubspot_pipeline.personalize.files import (
    assemble_file,
    csv_bytes,
    csv_parts,
    dataset_csv,
    json_bytes,
    mlops_config,
)
from hubspot_pipeline.personalize.identity_log import event_log_counts, event_log_lines, merge_incoming
from hubspot_pipeline.personalize.report import run_report
from hubspot_pipeline.personalize.run import (
    DATASET_ORDER,
    ExportRun,
    live_date,
    not_live_reason,
    part_frames,
    staged_frames,
)
from hubspot_pipeline.personalize.transform import (
    build_items,
    build_users,
    deal_interactions,
    deal_line_item_ids,
)
from hubspot_pipeline.personalize.unload import (
    unload_from_warehouse,
    user_map_table,
)
from hubspot_pipeline.quality import report
from hubspot_pipeline.quality.ledger import DatasetLedger
from hubspot_pipeline.share.columns import EMPTY_FIELDS_KEY, empty_fields
from hubspot_pipeline.share.session import share_session

log = logging.getLogger(__name__)


SOURCE_QUERIES = {  # staged whole; the events are streamed in chunks (the queries both products read)
    "contacts": "share/contacts.sql",
    "products": "share/products.sql",
    "deal_line_items": "share/deals.sql",
}


# columns of those queries that only the Hook export uses, not staged: the contact columns besides the
# identifiers are the users' attributes (AGE, GENDER)
HOOK_ONLY_COLUMNS = {"contacts": ["CREATEDATE"]}


EVENTS_QUERY = "personalize/custom_events.sql"
EVENT_QUERIES = ("personalize/event_days.sql", "personalize/duplicate_events.sql", EVENTS_QUERY)


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
    aliases = run.config.identity.anonymous_id_columns
    counts = {}
    with share_session(run.config.share, run.config.snowflake_conn_id, PERSONALIZE) as query:
        queries = [
            (template, aliases, variables.get(source, {})) for source, template in SOURCE_QUERIES.items()
        ]
        empty = query.check([*queries, *((template, None, {}) for template in EVENT_QUERIES)])
        run.staging.put_bytes(
            run.staging_key(EMPTY_FIELDS_KEY), json_bytes(empty_fields(empty)), "application/json"
        )
        for source, template in SOURCE_QUERIES.items():
            frame = query(template, parameters[source], aliases=aliases, **variables.get(source, {}))
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
    identity = identify(sources["contacts"], None, run.config.identity, hash_key(run.config.identity))
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

    deal_log = event_log_lines(deal_line_item_ids(deal_rows), deal_rows["CONTACT_ID"], users)
    summary = merge_incoming(identity.summary(), event_log_counts(len(deal_rows), deal_log))
    run.staging.put_frame(
        run.staging_key("identity/head.parquet"), pd.concat([identity.incoming.frame(), deal_log])
    )
    if not personalize.unload.enabled:  # else the warehouse logs the events (validate)
        for chunk in range(run.load_plan().count):
            events = run.staging.get_frame(part_key(run.staging_key("source/custom_events"), chunk))
            records = "event:" + clean_identifier(events["EVENT_ID"])
            event_log = event_log_lines(records, events["CONTACT_ID"], users)
            summary = merge_incoming(summary, event_log_counts(len(events), event_log))
            run.staging.put_frame(part_key(run.staging_key("identity/events"), chunk), event_log)
            release_memory()
    run.save_ledgers(ledgers, "prepare")
    log.info("identity: %s", json.dumps(summary, sort_keys=True))
    run.staging.put_bytes(run.staging_key("identity/summary.json"), json_bytes(summary), "application/json")
    return {name: ledger.to_dict() for name, ledger in ledgers.items()}


def validate(run: ExportRun) -> dict:
    """Validate candidates with Great Expectations: quarantine failing rows, drop duplicates, then check
    the datasets as a whole (uniqueness, Personalize's minimums). Raises before anything is published.

    Items are validated first: interactions may only name items that are published. Interactions are
    validated chunk by chunk; the minimums are checked on their tallies.
    """
    with report.staging_data_docs(run.staging, run.staging_key("data_docs/"), "Personalize export"):
        return validate_datasets(run)


def publish(run: ExportRun) -> dict:
    """Publish the validated datasets: data files, quarantine files, identity log, report and manifest,
    then the live date and ``config.json``, and return the Asset events of the datasets published live.
    A dry run only logs the report. A date older than the live one (without ``republish_older``) writes
    its datasets under its run's folder instead, and neither the live date nor ``config.json``.

    Streamed files (interactions, their quarantine file, the identity log) are assembled chunk by chunk
    in a local temporary file and uploaded whole, so readers never see part of one.
    """
    personalize = run.config.personalize
    store, ledgers, plan = run.personalize, run.load_ledgers("validate"), run.load_plan()
    in_warehouse = personalize.unload.enabled  # the warehouse holds the interactions
    runs = personalize.run_prefix(run.export_date)
    not_live = not_live_reason(run, live_date(store, personalize))
    train = f"{runs}/train" if not_live else personalize.train_prefix
    manifest: dict = {"export_date": run.export_date.isoformat(), "dataset_group": personalize.dataset_group}
    if not_live:
        manifest["not_live"] = not_live
        log.warning("%s: the datasets go to %s/", not_live, train)
    with tempfile.TemporaryDirectory(prefix="personalize-publish-") as work:
        files, data_files, artefacts = {}, [], []
        for name in run.datasets:
            key = f"{train}/{name}.csv"
            if in_warehouse and name == "interactions":  # unloaded below, after the worker's files
                files[name] = {"key": key, "rows": ledgers[name].written, "sha256": None}
                if ledgers[name].quarantined_total:
                    files[name]["quarantine_key"] = f"{runs}/quarantine/{name}.csv"
                continue
            data = csv_parts(
                staged_frames(run, "final", name, plan), partial(dataset_csv, dataset=DATASETS[name])
            )
            path, sha256 = assemble_file(Path(work) / f"{name}.csv", data)
            data_files.append((key, path, "text/csv"))
            files[name] = {"key": key, "rows": ledgers[name].written, "sha256": sha256}
            if ledgers[name].quarantined_total:
                files[name]["quarantine_key"] = f"{runs}/quarantine/{name}.csv"
                path, _ = assemble_file(
                    Path(work) / f"{name}.quarantine.csv",
                    csv_parts(staged_frames(run, "quarantine", name, plan), csv_bytes),
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
            identity_log = chain(identity_log, part_frames(run, "identity/events", plan))
        path, _ = assemble_file(Path(work) / "identity_log.csv", csv_parts(identity_log, csv_bytes))
        artefacts.append((identity_key, path, "text/csv"))
        objects = report.staged_data_docs(run.staging, run.staging_key("data_docs/"), f"{runs}/data_docs/")
        manifest["data_docs_key"] = f"{runs}/data_docs/index.html"
        manifest["files"] = files
        manifest["ledgers"] = {name: ledger.to_dict() for name, ledger in ledgers.items()}
        manifest["identity"] = {**identity, "log_key": identity_key}
        if empty := json.loads(run.staging.get_bytes(run.staging_key(EMPTY_FIELDS_KEY))):
            manifest["empty_fields"] = empty  # optional properties the portal lacks: read as NULL
        if left_out := json.loads(run.staging.get_bytes(run.staging_key(RECOMMENDERS_KEY))):
            manifest["recommenders_left_out"] = left_out  # they cannot train (validate says why)
        if in_warehouse:  # before the manifest, which records what the warehouse wrote
            quarantined = ledgers["interactions"].quarantined_total
            unload_from_warehouse(run, store, files.get("interactions"), quarantined, event_log, Path(work))
        expectations = json.loads(run.staging.get_bytes(run.staging_key("expectations.json")))
        report_text = run_report(manifest, expectations, dry_run=run.dry_run)
        log.info("run report:\n%s", report_text)
        manifest["report_key"] = f"{runs}/report.md"
        objects.append((manifest["report_key"], report_text.encode("utf-8"), "text/markdown"))
        manifest_key, config_key = f"{runs}/manifest.json", f"{personalize.train_prefix}/config.json"
        objects.append((manifest_key, json_bytes(manifest), "application/json"))
        if not not_live:  # the live date, then the stack's trigger
            live = json_bytes({"export_date": manifest["export_date"]})
            objects.append((personalize.live_key, live, "application/json"))
            config = json_bytes(mlops_config(personalize, list(DATASET_ORDER), left_out))
            objects.append((config_key, config, "application/json"))
        if not run.dry_run:  # in order: data files, run artefacts, then the manifest and config.json
            for key, path, content_type in data_files + artefacts:
                store.put_file(key, path, content_type)
        report.put_objects(store, objects, dry_run=run.dry_run)
    run.staging.delete_prefix(run.staging_key(""))
    return {
        "dry_run": run.dry_run,
        "files": {name: store.uri(entry["key"]) for name, entry in files.items()},
        "manifest": store.uri(manifest_key),
        "config": None if not_live else store.uri(config_key),
        "ledgers": manifest["ledgers"],
        "asset_events": [] if run.dry_run or not_live else dataset_events(personalize, manifest),
    }


def dataset_events(config: PersonalizeConfig, manifest: dict) -> list[dict]:
    """The Asset events of the datasets a run published live, with its export date and their rows."""
    return [
        {
            "name": config.asset_name(name),
            "uri": config.dataset_uri(name),
            "extra": {"export_date": manifest["export_date"], "rows": entry["rows"]},
        }
        for name, entry in manifest["files"].items()
    ]
