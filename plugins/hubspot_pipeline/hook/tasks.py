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

import dataclasses
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config import HookConfig, IdentityConfig, PipelineConfig, load_config
from hubspot_pipeline.config.hook_metrics import CUMULATIVE, METRIC_DATE, STOCK, MetricDefinitions
from hubspot_pipeline.hook.engine import (
    MetricEngine,
    SourceLedgers,
    map_activity,
    prepare_inputs,
    render_files,
)
from hubspot_pipeline.hook.metrics import day_number, event_sets, lookback_days, month_chunks
from hubspot_pipeline.personalize.files import json_bytes
from hubspot_pipeline.quality import report
from hubspot_pipeline.share.session import render_sql, share_session
from hubspot_pipeline.storage import ObjectStore, S3ObjectStore, object_store

log = logging.getLogger(__name__)

DAG_ID = "hook_metrics_export"
VALIDATION_DAYS = 183  # dates validated per Great Expectations run (≈ 1M rows for 5,000 accounts)
CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


class HookValidationError(AirflowFailException):
    """A Hook file failed validation: nothing of the run is published (the task fails without retrying)."""


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


# --------------------------------------------------------------------------------------------- extract


def render_hook_sql(template_name: str, run: HookRun, **variables) -> str:
    """Render ``include/sql/hook/<template_name>`` (the event queries; the other tables are read by the
    queries of ``include/sql/share/``): quoted share identifiers, plus structural variables (counts and
    flags, never values)."""
    return render_sql(f"hook/{template_name}", run.config.share, **variables)


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
    with share_session(run.config.share, run.config.snowflake_conn_id) as query:
        for name, (template, parameters, template_variables) in queries.items():
            frame = query(template, parameters, aliases, **template_variables)
            run.staging.put_frame(run.staging_key(f"source/{name}.parquet"), frame)
            counts[name] = len(frame)
            log.info("extracted %s rows: %s", len(frame), name)
    return counts


# --------------------------------------------------------------------------------------------- accounts


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


# --------------------------------------------------------------------------------------------- build


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


# --------------------------------------------------------------------------------------------- validate


def read_hook_file(data: bytes, file_format: str, account: str) -> tuple[list[str], pd.DataFrame]:
    """A Hook file's column names (as written) and rows: the account id and ``metric_date`` as text, the
    metrics as numbers (a value that isn't a number becomes null, and fails validation)."""
    if file_format == "csv":
        text = {account: object, METRIC_DATE: object}
        frame = pd.read_csv(io.BytesIO(data), dtype=text, keep_default_na=False, na_values=[""])
        columns = list(frame.columns)
    else:
        lines = data.decode("utf-8").splitlines()
        columns = list(json.loads(lines[0])) if lines else []
        frame = (
            pd.read_json(io.BytesIO(data), lines=True, dtype=False)
            if lines
            else pd.DataFrame(columns=columns)
        )
        frame = frame.astype({name: str for name in (account, METRIC_DATE) if name in frame.columns})
    for name in columns:
        if name not in (account, METRIC_DATE) and frame[name].dtype.kind not in "iuf":
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return columns, frame


def _read_files(
    files: list[tuple[date, bytes]], definitions: MetricDefinitions, file_format: str
) -> tuple[pd.DataFrame, list[int], pd.DataFrame]:
    """The rows of ``files`` as one frame in file order (data columns, then ``_file_date``), the row count
    of each file, and one row per file with its header."""
    account = definitions.account_id_column
    headers, split = [], []
    for metric_date, data in files:
        header, _, body = data.partition(b"\n")
        split.append((metric_date, header, body if not body or body.endswith(b"\n") else body + b"\n"))
    same_header = len({header for _, header, _ in split}) == 1
    if file_format == "csv" and split and same_header and not any(b'"' in body for _, _, body in split):
        # one parse for all files (no quoted field can hide a line break): the fast path
        columns, rows = read_hook_file(
            split[0][1] + b"\n" + b"".join(body for *_, body in split), "csv", account
        )
        counts = [body.count(b"\n") for *_, body in split]
        headers = [{"_file_date": day.isoformat(), "HEADER": header.decode()} for day, header, _ in split]
        rows = rows.reindex(columns=definitions.columns)
        rows["_file_date"] = np.repeat([day.isoformat() for day, *_ in split], counts)
        return rows, counts, pd.DataFrame(headers)
    frames = []
    for metric_date, data in files:
        columns, frame = read_hook_file(data, file_format, account)
        headers.append({"_file_date": metric_date.isoformat(), "HEADER": ",".join(columns)})
        frames.append(frame.reindex(columns=definitions.columns).assign(_file_date=metric_date.isoformat()))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=definitions.columns)
    return rows, [len(frame) for frame in frames], pd.DataFrame(headers)


def validation_frame(
    files: list[tuple[date, bytes]], definitions: MetricDefinitions, file_format: str, previous: bytes | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of consecutive files as one frame (with ``_file_date`` and, per cumulative metric, its
    change since the previous day, ``_increase_<name>``, null where the account had no row the day
    before), and one row per file with its header. ``previous`` is the file of the day before the first
    (already published), if any."""
    account = definitions.account_id_column
    cumulative = [metric.name for metric in definitions.metrics if metric.kind == CUMULATIVE]
    rows, counts, headers = _read_files(files, definitions, file_format)
    # the day before's values per account, file after file (an account without a row that day: null);
    # the previous published file, if any, goes first
    earlier_ids, earlier_values = np.empty(0, dtype=object), np.empty((0, len(cumulative)))
    if previous is not None:
        _, earlier = read_hook_file(previous, file_format, account)
        if account in earlier.columns and set(cumulative) <= set(earlier.columns):
            earlier_ids = earlier[account].to_numpy(dtype=object)
            earlier_values = earlier[cumulative].to_numpy(dtype=float)
    codes, uniques = pd.factorize(np.concatenate([earlier_ids, rows[account].to_numpy(dtype=object)]))
    values = np.vstack([earlier_values, rows[cumulative].to_numpy(dtype=float)])
    increases = np.full(values.shape, np.nan)
    row_of_code = np.full(len(uniques) + 1, -1)  # code -1 (a missing id) lands on the last slot
    offsets = np.cumsum([0, len(earlier_ids), *counts])
    for first, last in zip(offsets[:-1], offsets[1:], strict=True):
        before = row_of_code[codes[first:last]]
        found = np.flatnonzero(before >= 0)
        increases[first + found] = values[first + found] - values[before[found]]
        row_of_code[:] = -1
        row_of_code[codes[first:last]] = np.arange(first, last)
    increases = increases[len(earlier_ids) :]
    for column, name in enumerate(cumulative):
        rows[f"_increase_{name}"] = increases[:, column]
    return rows, headers


def file_expectations(definitions: MetricDefinitions, context: list[str]) -> tuple[list, list]:
    """GX expectations for the rows of Hook files (data columns, then the ``context`` columns added by
    :func:`validation_frame`) and for their headers."""
    import great_expectations.expectations as gxe

    account = definitions.account_id_column
    expected_header = ",".join(definitions.columns)
    row_rules = [
        gxe.ExpectTableColumnsToMatchOrderedList(
            column_list=definitions.columns + context,
            meta={"failure": "hook: columns are {observed_value}, expected " + expected_header},
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column=account, meta={"failure": "hook: {unexpected_count} rows without an account id"}
        ),
        gxe.ExpectColumnValueLengthsToBeBetween(
            column=account,
            min_value=1,
            meta={"failure": "hook: {unexpected_count} rows with an empty account id"},
        ),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=[account, METRIC_DATE],
            meta={"failure": "hook: {unexpected_count} rows repeat an account on the same date"},
        ),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A=METRIC_DATE,
            column_B="_file_date",
            meta={"failure": "hook: {unexpected_count} rows whose metric_date is not the file's date"},
        ),
    ]
    for metric in definitions.metrics:
        row_rules.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=metric.name, meta={"failure": f"hook: {{unexpected_count}} rows without {metric.name}"}
            )
        )
        if metric.kind == STOCK:
            row_rules.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=metric.name,
                    min_value=0,
                    meta={"failure": f"hook: {{unexpected_count}} rows with a negative {metric.name}"},
                )
            )
        else:
            row_rules.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f"_increase_{metric.name}",
                    min_value=0,
                    meta={
                        "failure": f"hook: {{unexpected_count}} rows where the cumulative {metric.name} "
                        "decreased from the previous day"
                    },
                )
            )
    header_rules = [
        gxe.ExpectColumnValuesToBeInSet(
            column="HEADER",
            value_set=[expected_header],
            meta={"failure": "hook: {unexpected_count} files whose columns differ from " + expected_header},
        )
    ]
    return row_rules, header_rules


def check_files(
    files: list[tuple[date, bytes]], definitions: MetricDefinitions, file_format: str, previous: bytes | None
) -> list[dict]:
    """Validate consecutive Hook files with Great Expectations; raise :class:`HookValidationError` listing
    every failed check, else return the expectation summaries."""
    from hubspot_pipeline.quality.validation import DatasetValidationError, validate_frame

    rows, headers = validation_frame(files, definitions, file_format, previous)
    data_columns = definitions.columns
    context = [name for name in rows.columns if name not in data_columns]
    row_rules, header_rules = file_expectations(definitions, context)
    summaries = []
    try:
        summaries += validate_frame(rows[data_columns + context], "hook_rows", row_rules, "hook")
        summaries += validate_frame(headers, "hook_headers", header_rules, "hook")
    except DatasetValidationError as failed:
        raise HookValidationError(str(failed)) from None
    return [summary.to_dict() for summary in summaries]


def previous_published(run: HookRun) -> bytes | None:
    """The published file of the day before the run's first date, if Hook's bucket has it (and Hook's
    credentials may read it: if not, the first date is only checked against nothing, with a warning)."""
    key = run.hook.data_key(run.start - timedelta(days=1))
    try:
        return run.bucket.get_bytes(key) if key in run.bucket.list_keys(key) else None
    except Exception as error:  # e.g. AccessDenied: Hook's key pair may be write-only
        log.warning("could not read %s (%s): the first date is not compared with it", key, error)
        return None


def validate(run: HookRun) -> dict:
    """Validate every staged file of the run (half a year of files per GX run); raise before publishing.
    Data Docs pages of the validations are staged for the run's report."""
    with report.staging_data_docs(run.staging, run.staging_key("data_docs/"), "Hook export"):
        result = _validate_files(run)
    expectations = {"files": result["expectations"]}
    run.staging.put_bytes(run.staging_key("expectations.json"), json_bytes(expectations), "application/json")
    return result


def _validate_files(run: HookRun) -> dict:
    previous = previous_published(run)
    summaries: list[dict] = []
    dates = run.dates
    for group in range(0, len(dates), VALIDATION_DAYS):
        days = dates[group : group + VALIDATION_DAYS]
        files = [(day, run.staging.get_bytes(run.staged_file_key(day))) for day in days]
        summaries = check_files(files, run.definitions, run.hook.file_format, previous)
        previous = files[-1][1]
    return {"dates": len(run.dates), "expectations": summaries}


# --------------------------------------------------------------------------------------------- publish


def publish(run: HookRun) -> dict:
    """Copy the validated files to Hook's bucket in date order, then the run's report, Data Docs and
    manifest (under ``runs_prefix``). A dry run only logs the report."""
    store, hook = run.bucket, run.hook
    ledgers = json.loads(run.staging.get_bytes(run.staging_key("ledgers.json")))
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
        "ledgers": ledgers,
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
    }


def hook_report(manifest: dict, expectations: dict, *, dry_run: bool = False) -> str:
    """The run's human-readable report (Markdown): rows per source, validation, files and checksums."""
    lines = [
        f"# Hook export {manifest['start_date']} .. {manifest['end_date']} ({manifest['file_format']})",
        "",
        report.published_line(dry_run, "manifest.json"),
        "",
        *report.ledger_lines(manifest["ledgers"]),
        *report.expectation_lines(expectations, manifest["data_docs_key"]),
        *report.file_lines([(entry["key"], None, entry["sha256"]) for entry in manifest["files"].values()]),
    ]
    return "\n".join(lines) + "\n"
