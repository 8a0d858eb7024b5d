"""The validate task's checks of the Hook files, run by Great Expectations before anything is published:
one row per account and date, ids present, ``metric_date`` equal to the file's date, the exact columns in
order, cumulative metrics never below the previous day's published file, stock metrics ≥ 0."""

from __future__ import annotations

import io
import json
import logging
from datetime import date, timedelta

import numpy as np
import pandas as pd
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config.hook_metrics import CUMULATIVE, METRIC_DATE, STOCK, MetricDefinitions
from hubspot_pipeline.hook.run import VALIDATION_DAYS, HookRun

log = logging.getLogger(__name__)


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
    change since the previous day, ``_increase_<name>``, null where the account had no row the day
    before), and one row per file with its header. ``previous`` is the file of the day before the first
    (already published), if any."""
    account = definitions.account_id_column
    cumulative = [metric.name for metric in definitions.metrics if metric.kind == CUMULATIVE]
    rows, counts, headers = read_files(files, definitions, file_format)
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


def validate_files(run: HookRun) -> dict:
    previous = previous_published(run)
    summaries: list[dict] = []
    dates = run.dates
    for group in range(0, len(dates), VALIDATION_DAYS):
        days = dates[group : group + VALIDATION_DAYS]
        files = [(day, run.staging.get_bytes(run.staged_file_key(day))) for day in days]
        summaries = check_files(files, run.definitions, run.hook.file_format, previous)
        previous = files[-1][1]
    return {"dates": len(run.dates), "expectations": summaries}
