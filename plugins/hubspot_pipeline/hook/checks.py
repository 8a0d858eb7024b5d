"""The validate task's checks of the Hook files, run by Great Expectations before anything is published:
one row per account and date, ids present, ``metric_date`` equal to the file's date, the exact columns in
order, cumulative metrics never below the previous file's, stock metrics ≥ 0.

"The previous file" of a date is the date before it in the run's range, and for the run's first date the
file Hook's bucket holds for the previous period of the schedule (:attr:`HookRun.previous_date`: the day
before for a daily schedule, a week before for a weekly one). When that file cannot be read (absent on the
first run, AccessDenied for Hook's write-only keys, another error) or lacks the columns to compare, the
first date is compared with nothing, and :func:`previous_published` says why: the run's manifest and
report carry it as ``previous_period_check``."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import date

import numpy as np
import pandas as pd
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config.hook_metrics import CUMULATIVE, METRIC_DATE, STOCK, MetricDefinitions
from hubspot_pipeline.hook.run import VALIDATION_DAYS, HookRun

log = logging.getLogger(__name__)

# why the previous period's file was not compared (``previous_period_check.reason``)
ABSENT, ACCESS_DENIED, READ_ERROR, COLUMNS = "absent", "AccessDenied", "error", "columns"


class HookValidationError(AirflowFailException):
    """A Hook file failed validation: nothing of the run is published (the task fails without retrying)."""


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


def read_files(
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
    change since the previous file, ``_increase_<name>``, null where the account had no row in the
    previous file), and one row per file with its header. ``previous`` is the file the first is compared
    with (already published: the previous period's), if any."""
    account = definitions.account_id_column
    cumulative = cumulative_metrics(definitions)
    rows, counts, headers = read_files(files, definitions, file_format)
    # the previous file's values per account, file after file (an account without a row there: null);
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
                        "decreased from the previous file (the previous period's for the first date)"
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


def cumulative_metrics(definitions: MetricDefinitions) -> list[str]:
    """The names of the metrics that never decrease."""
    return [metric.name for metric in definitions.metrics if metric.kind == CUMULATIVE]


def header_columns(data: bytes, file_format: str) -> list[str]:
    """The column names of a Hook file, from its first line."""
    first = data.partition(b"\n")[0].decode("utf-8", errors="replace")
    if file_format == "csv":
        return next(csv.reader([first]), [])
    try:
        return list(json.loads(first)) if first.strip() else []
    except (json.JSONDecodeError, TypeError):
        return []


def read_failure(error: Exception, conn_id: str) -> tuple[str, str]:
    """Why a file of Hook's bucket could not be read: ``absent``, ``AccessDenied`` or ``error``, and a
    sentence saying so."""
    response = getattr(error, "response", None)  # botocore's ClientError
    code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
    if isinstance(error, FileNotFoundError) or code in ("NoSuchKey", "404", "NotFound"):
        return ABSENT, "Hook's bucket has no such file: the first run of the schedule, or never exported"
    if code in ("AccessDenied", "403", "Forbidden"):
        return ACCESS_DENIED, (
            f"the connection {conn_id} may not read Hook's bucket (Hook's keys may be write-only; S3 also "
            "answers AccessDenied for a missing file when the keys may not list the bucket)"
        )
    return READ_ERROR, f"reading it failed: {code or type(error).__name__}: {error}"


def previous_published(run: HookRun) -> tuple[bytes | None, dict]:
    """The published file of the previous period (:attr:`HookRun.previous_date`), which the run's first
    date is compared with, and what became of the check: ``{"status": "compared", "date", "key"}``, or
    ``{"status": "skipped", "reason", "date", "key", "detail"}`` when Hook's bucket has no such file
    (``absent``), Hook's connection may not read it (``AccessDenied``), reading it failed otherwise
    (``error``) or the file lacks the account id or a cumulative metric (``columns``)."""
    previous_date = run.previous_date
    key = run.hook.data_key(previous_date)
    check = {"date": previous_date.isoformat(), "key": key}
    try:
        data = run.bucket.get_bytes(key)
    except Exception as error:  # every failure is reported in the manifest, none stops the run
        reason, detail = read_failure(error, run.config.hook_s3_conn_id)
    else:
        needed = [run.definitions.account_id_column, *cumulative_metrics(run.definitions)]
        missing = [name for name in needed if name not in header_columns(data, run.hook.file_format)]
        if not missing:
            return data, {"status": "compared", **check}
        reason, detail = COLUMNS, "the file has no column " + ", ".join(missing)
    log.warning(
        "the never-decreases check of %s against the previous period was skipped: %s (%s): %s",
        run.start,
        key,
        reason,
        detail,
    )
    return None, {"status": "skipped", "reason": reason, **check, "detail": detail}


def validate_files(run: HookRun) -> dict:
    """Check every staged file of the run, half a year of files per GX run, the first against the
    previous period's published file; return the expectation summaries and ``previous_period_check``."""
    previous, previous_check = previous_published(run)
    summaries: list[dict] = []
    dates = run.dates
    for group in range(0, len(dates), VALIDATION_DAYS):
        days = dates[group : group + VALIDATION_DAYS]
        files = [(day, run.staging.get_bytes(run.staged_file_key(day))) for day in days]
        try:
            summaries = check_files(files, run.definitions, run.hook.file_format, previous)
        except HookValidationError as failed:
            if group == 0 and previous_check["status"] == "compared":
                key = previous_check["key"]
                raise HookValidationError(f"{failed}\n({run.start} was compared with {key})") from None
            raise
        previous = files[-1][1]
    return {"dates": len(run.dates), "expectations": summaries, "previous_period_check": previous_check}
