"""The Hook export, one function per DAG task: plan → extract → resolve_accounts → build → validate → publish.

A run covers a date range: one day for a scheduled or manual daily run, many for a bulk backfill (the
``start_date``/``end_date`` params). Both go through the same code (:mod:`hubspot_pipeline.hook.engine`),
so a date's file has the same bytes whichever way it was made. Tasks hand data to each other through the
staging bucket under a prefix unique to the run; nothing reaches Hook's bucket until every file of the
range has passed validation. Publishing writes the data files in date order, then the run's manifest under
``<runs_prefix>/`` (a prefix Hook's ingestion doesn't read). If publishing stops halfway (an S3 error), the
files written so far are complete and valid, and a retry rewrites them all with the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, time, timedelta

import pandas as pd

from hubspot_pipeline.config import IdentityConfig
from hubspot_pipeline.config.properties import HOOK
from hubspot_pipeline.hook.checks import validate_files
from hubspot_pipeline.hook.engine import (
    MetricEngine,
    SourceLedgers,
    map_activity,
    prepare_inputs,
    render_files,
)
from hubspot_pipeline.hook.metrics import day_number, event_sets, lookback_days, month_chunks
from hubspot_pipeline.hook.run import CONTENT_TYPES, HookRun
from hubspot_pipeline.hook.settings import HookConfig
from hubspot_pipeline.personalize.files import json_bytes
from hubspot_pipeline.quality import report
from hubspot_pipeline.share.columns import EMPTY_FIELDS_KEY, empty_fields
from hubspot_pipeline.share.session import share_session

log = logging.getLogger(__name__)


def _event_query(run: HookRun) -> tuple[dict, dict]:
    """Template variables and bound parameters shared by the event queries."""
    sets = event_sets(run.hook.metrics)
    filter_types = None not in sets
    parameters = {f"event_set_{n}": types for n, types in enumerate(sets) if types is not None}
    if filter_types:
        parameters["event_types"] = tuple(sorted({name for types in sets for name in types}))
    return {"event_sets": [types is not None for types in sets], "filter_types": filter_types}, parameters


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def activity_parts(run: HookRun) -> list[tuple[date, date]]:
    """The event-activity extracts of a run: the lookback days before ``start`` (trailing windows), then
    one per month of the range."""
    parts = []
    lookback = lookback_days(run.hook.metrics)
    if lookback:
        parts.append((run.start - timedelta(days=lookback), run.start - timedelta(days=1)))
    return parts + month_chunks(run.start, run.end)


def extract(run: HookRun) -> dict[str, int]:
    """Run the share queries (events chunked by month) and stage the results; return rows per extract.

    A share whose tables or columns changed fails here at once (:class:`ShareSchemaError`, no retry)."""
    variables, event_parameters = _event_query(run)
    aliases = run.config.identity.anonymous_id_columns
    queries: dict[str, tuple[str, dict, dict]] = {  # name: (template, bound parameters, template variables)
        # the queries both products read (include/sql/share/), each table once: contacts and companies feed
        # both the identity stage (resolve_accounts) and the metrics (build)
        "companies": ("share/companies.sql", {}, {}),
        "contacts": ("share/contacts.sql", {}, {}),
        "contact_companies": ("share/contact_companies.sql", {}, {}),
        "deals": ("share/deals.sql", {}, {"line_items": False}),
        "event_totals": (
            "hook/event_totals.sql",
            {**event_parameters, "day_end": _midnight(run.start)},
            variables,
        ),
    }
    for first, last in activity_parts(run):
        parameters = {
            **event_parameters,
            "day_start": _midnight(first),
            "day_end": _midnight(last + timedelta(1)),
        }
        queries[f"activity/{first.isoformat()}"] = ("hook/event_activity.sql", parameters, variables)
    counts = {}
    with share_session(run.config.share, run.config.snowflake_conn_id, HOOK) as query:
        empty = query.check([(template, aliases, variables) for template, _, variables in queries.values()])
        run.staging.put_bytes(
            run.staging_key(EMPTY_FIELDS_KEY), json_bytes(empty_fields(empty)), "application/json"
        )
        for name, (template, parameters, template_variables) in queries.items():
            frame = query(template, parameters, aliases, **template_variables)
            run.staging.put_frame(run.staging_key(f"source/{name}.parquet"), frame)
            counts[name] = len(frame)
            log.info("extracted %s rows: %s", len(frame), name)
    return counts


def contact_accounts(
    contacts: pd.DataFrame, companies: pd.DataFrame, links: pd.DataFrame, config: IdentityConfig
) -> pd.DataFrame:
    """Each contact's account (``CONTACT_ID`` → ``ACCOUNT_ID``, the HubSpot company id) as the identity
    stage resolves it: contacts become users (:func:`resolve_users`), a user's
    account is its explicit company association first, else its e-mail domain's company (never a free
    e-mail provider's), and every contact of a user gets the user's account.

    ``contacts`` and ``companies`` (as ``share/contacts.sql`` and ``share/companies.sql`` read them) are
    cut to their identifiers, in this order: two rows of one record id are told apart by the other
    columns, in column order."""
    from hubspot_pipeline.identity.accounts import resolve_accounts as resolve_user_accounts
    from hubspot_pipeline.identity.users import resolve_users

    contacts = contacts[["CONTACT_ID", *config.anonymous_ids, "EXTERNAL_ID", "EMAIL"]]
    companies = companies[["COMPANY_ID", "EXTERNAL_ID", "DOMAIN"]]
    accounts = resolve_user_accounts(resolve_users(contacts, config), companies, links, config)
    mapping = accounts.contact_accounts[["CONTACT_ID", "COMPANY_ID"]].rename(
        columns={"COMPANY_ID": "ACCOUNT_ID"}
    )
    return mapping.dropna().astype(object).reset_index(drop=True)


def resolve_accounts(run: HookRun) -> dict[str, int]:
    """Map every contact to its account (``CONTACT_ID`` → ``ACCOUNT_ID``) and stage the mapping."""
    sources = {
        name: run.staging.get_frame(run.staging_key(f"source/{name}.parquet"))
        for name in ("contacts", "companies", "contact_companies")
    }
    mapping = contact_accounts(
        sources["contacts"], sources["companies"], sources["contact_companies"], run.config.identity
    )
    run.staging.put_frame(run.staging_key("contact_accounts.parquet"), mapping)
    return {"contacts": len(sources["contacts"]), "contacts_with_account": len(mapping)}


def compute_files(run: HookRun, sources, ledgers: SourceLedgers, file_format: str | None = None):
    """Yield (metric date, file bytes, rows) for every date of the run, in order, filling ``ledgers``.

    ``sources(name)`` returns a staged extract (``companies``, ``contacts``, ``deals``,
    ``contact_accounts``, ``event_totals``, ``activity/<first date>``). Shared by the DAG, tests and the
    benchmark.
    """
    definitions = run.definitions
    inputs = prepare_inputs(
        sources("companies"), sources("contacts"), sources("deals"), sources("contact_accounts"), ledgers
    )
    engine = MetricEngine(definitions, inputs, sources("event_totals"), run.start)
    events_ledger = ledgers.get("events")
    lookback = lookback_days(definitions.metrics)
    recent = None  # the mapped activity of the last `lookback` days before the next chunk
    first_day = day_number(run.start)
    for first, last in activity_parts(run):
        activity, skipped = map_activity(sources(f"activity/{first.isoformat()}"), inputs)
        written = int(activity.loc[activity["DAY"] >= first_day, "EVENTS"].sum())
        unmapped = int(skipped[skipped.index >= first_day].sum())
        events_ledger.read += written + unmapped
        events_ledger.written += written
        events_ledger.skip("contact has no account", unmapped)
        window = activity if recent is None else pd.concat([recent, activity], ignore_index=True)
        recent = window[window["DAY"] > day_number(last) - lookback]
        if last >= run.start:  # the lookback part before the range only feeds trailing windows
            chunk = engine.compute(last, window)
            yield from render_files(chunk, definitions, file_format or run.hook.file_format)


def build(run: HookRun) -> dict:
    """Compute every date's file and stage it (with the ledgers); return the rows per date."""

    def sources(name: str) -> pd.DataFrame:
        key = "contact_accounts.parquet" if name == "contact_accounts" else f"source/{name}.parquet"
        return run.staging.get_frame(run.staging_key(key))

    rows = {}
    content_type = CONTENT_TYPES[run.hook.file_format]
    ledgers = SourceLedgers()
    for metric_date, data, count in compute_files(run, sources, ledgers):
        run.staging.put_bytes(run.staged_file_key(metric_date), data, content_type)
        rows[metric_date.isoformat()] = count
    for name, ledger in ledgers.ledgers.items():
        ledger.check(name)
    run.staging.put_bytes(run.staging_key("ledgers.json"), json_bytes(ledgers.to_dict()), "application/json")
    return {"rows": rows, "ledgers": ledgers.to_dict()}


def validate(run: HookRun) -> dict:
    """Validate every staged file of the run (half a year of files per GX run); raise before publishing.
    Data Docs pages of the validations are staged for the run's report."""
    with report.staging_data_docs(run.staging, run.staging_key("data_docs/"), "Hook export"):
        result = validate_files(run)
    expectations = {"files": result["expectations"]}
    run.staging.put_bytes(run.staging_key("expectations.json"), json_bytes(expectations), "application/json")
    previous_check = json_bytes(result["previous_period_check"])
    run.staging.put_bytes(run.staging_key("previous_period_check.json"), previous_check, "application/json")
    return result


def publish(run: HookRun) -> dict:
    """Copy the validated files to Hook's bucket in date order, then the run's report, Data Docs and
    manifest (under ``runs_prefix``), and return the Asset event of the files. A dry run only logs the
    report (no event)."""
    store, hook = run.bucket, run.hook
    ledgers = json.loads(run.staging.get_bytes(run.staging_key("ledgers.json")))
    previous_check = json.loads(run.staging.get_bytes(run.staging_key("previous_period_check.json")))
    outputs: list[tuple[str, bytes, str]] = []
    files = {}
    for metric_date in run.dates:
        data = run.staging.get_bytes(run.staged_file_key(metric_date))
        key = hook.data_key(metric_date)
        outputs.append((key, data, CONTENT_TYPES[hook.file_format]))
        files[metric_date.isoformat()] = {"key": key, "sha256": hashlib.sha256(data).hexdigest()}
    outputs += report.staged_data_docs(
        run.staging, run.staging_key("data_docs/"), f"{run.run_folder}/data_docs/"
    )
    manifest = {
        "start_date": run.start.isoformat(),
        "end_date": run.end.isoformat(),
        "file_format": hook.file_format,
        "columns": run.definitions.columns,
        "files": files,
        # what the first date's never-decreases check was compared with, or why it was skipped
        "previous_period_check": previous_check,
        "ledgers": ledgers,
        # optional properties the portal lacks, read as NULL
        "empty_fields": json.loads(run.staging.get_bytes(run.staging_key(EMPTY_FIELDS_KEY))),
        "report_key": f"{run.run_folder}/report.md",
        "data_docs_key": f"{run.run_folder}/data_docs/index.html",
    }
    expectations = json.loads(run.staging.get_bytes(run.staging_key("expectations.json")))
    report_text = hook_report(manifest, expectations, dry_run=run.dry_run)
    log.info("run report:\n%s", report_text)
    outputs.append((manifest["report_key"], report_text.encode("utf-8"), "text/markdown"))
    outputs.append((run.manifest_key, json_bytes(manifest), "application/json"))
    report.put_objects(store, outputs, dry_run=run.dry_run)
    run.staging.delete_prefix(run.staging_key(""))
    return {
        "dry_run": run.dry_run,
        "files": len(files),
        "first": store.uri(hook.data_key(run.start)),
        "last": store.uri(hook.data_key(run.end)),
        "manifest": store.uri(run.manifest_key),
        "ledgers": ledgers,
        "asset_events": [] if run.dry_run else [files_event(hook, manifest)],
    }


def files_event(hook: HookConfig, manifest: dict) -> dict:
    """The Asset event of a published run: the dates and how many files."""
    extra = {key: manifest[key] for key in ("start_date", "end_date")} | {"files": len(manifest["files"])}
    return {"name": hook.asset_name, "uri": hook.files_uri, "extra": extra}


def hook_report(manifest: dict, expectations: dict, *, dry_run: bool = False) -> str:
    """The run's human-readable report (Markdown): rows per source, validation (with the previous period's
    check), files and checksums."""
    lines = [
        f"# Hook export {manifest['start_date']} .. {manifest['end_date']} ({manifest['file_format']})",
        "",
        report.published_line(dry_run, "manifest.json"),
        "",
        *report.ledger_lines(manifest["ledgers"]),
        *report.empty_field_lines(manifest["empty_fields"]),
        *report.expectation_lines(expectations, manifest["data_docs_key"]),
        *previous_period_lines(manifest["start_date"], manifest["previous_period_check"]),
        *report.file_lines([(entry["key"], None, entry["sha256"]) for entry in manifest["files"].values()]),
    ]
    return "\n".join(lines) + "\n"


def previous_period_lines(first_date: str, check: dict) -> list[str]:
    """What the first date's never-decreases check was compared with, or, plainly, that it was skipped
    and why (``check`` is :func:`hubspot_pipeline.hook.checks.previous_published`'s)."""
    previous = f"`{check['key']}` (the previous period, {check['date']})"
    if check["status"] == "compared":
        return [f"- Cumulative metrics of {first_date} compared with {previous}: none decreased."]
    return [
        "",
        f"**Skipped: the never-decreases check of {first_date} against {previous}** "
        f"({check['reason']}): {check['detail']}. The cumulative metrics of {first_date} were not compared "
        "with any earlier file.",
    ]
