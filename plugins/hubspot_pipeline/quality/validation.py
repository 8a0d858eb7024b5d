"""The Great Expectations runner both exports share: expectations run on an ephemeral context against
an in-memory frame, their results summarised (:class:`ExpectationSummary`), rows failing a rule mapped to
their quarantine reasons, failures raised as :class:`DatasetValidationError`, and the Data Docs pages of a run
collected. GX is imported inside the functions (it takes ~5-10 s), so this module is cheap to import at
DAG-parse time."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, replace
from itertools import compress
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.expectations import Expectation


QUARANTINE_REASON = "QUARANTINE_REASON"
CONTEXT_COLUMN_PREFIX = "_"


# COMPLETE is the only format whose unexpected_index_list holds every failing row (the others stop at
# partial_unexpected_count); the failing values and the pandas "index query" string are not needed.
ROW_INDEX_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}
COUNTS_RESULT_FORMAT = {"result_format": "BASIC", "return_unexpected_index_query": False}


@dataclass(frozen=True)
class ExpectationSummary:
    """The outcome of one GX expectation, in JSON-friendly types (for XCom and the run report).

    ``element_count`` is the number of rows of the validated frame; ``problem`` says in plain words what
    failed, and is None when the expectation passed.
    """

    dataset: str
    expectation_type: str
    column: str | None
    success: bool
    element_count: int
    unexpected_count: int | None
    problem: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RowValidation:
    """Rows of a candidate frame split by the row-level rules, with the GX results behind the split."""

    kept: pd.DataFrame
    quarantined: pd.DataFrame
    results: list[ExpectationSummary]


class DatasetValidationError(AirflowFailException):
    """Dataset-level checks failed: the message lists every failed check in ``summaries``.

    An ``AirflowFailException``: the task fails at once, since retrying cannot fix the data.
    """

    def __init__(self, summaries: list[ExpectationSummary]):
        self.summaries = summaries
        super().__init__("\n".join(summary.problem for summary in self.failures))

    def __reduce__(self):
        return type(self), (self.summaries,)

    @property
    def failures(self) -> list[ExpectationSummary]:
        return [summary for summary in self.summaries if not summary.success]


def raise_on_failures(summaries: list[ExpectationSummary]) -> None:
    """Raise ``DatasetValidationError`` listing every failed summary, if any failed."""
    if any(not summary.success for summary in summaries):
        raise DatasetValidationError(summaries)


def merge_summaries(chunks: Iterable[list[ExpectationSummary]]) -> list[ExpectationSummary]:
    """One summary per expectation (dataset, type, column) over the chunks it ran on: rows and unexpected
    rows added up, successful only if it succeeded on every chunk, the first problem kept."""
    merged: dict[tuple, ExpectationSummary] = {}
    for summary in (summary for chunk in chunks for summary in chunk):
        key = (summary.dataset, summary.expectation_type, summary.column)
        if (earlier := merged.get(key)) is None:
            merged[key] = summary
            continue
        counts = [
            count for count in (earlier.unexpected_count, summary.unexpected_count) if count is not None
        ]
        merged[key] = replace(
            earlier,
            success=earlier.success and summary.success,
            element_count=earlier.element_count + summary.element_count,
            unexpected_count=sum(counts) if counts else None,
            problem=earlier.problem or summary.problem,
        )
    return list(merged.values())


def validate_frame(
    frame: pd.DataFrame, suite_name: str, expectations: list[Expectation], dataset_name: str
) -> list[ExpectationSummary]:
    """Run ``expectations`` (each with a ``meta["failure"]`` message template) on the whole ``frame``;
    return their summaries, or raise ``DatasetValidationError`` listing every failure."""
    results = run_expectations(
        ephemeral_batch_definition(), frame, suite_name, expectations, COUNTS_RESULT_FORMAT
    )
    summaries = [summarise(dataset_name, result, len(frame)) for result in results]
    raise_on_failures(summaries)
    return summaries


def ephemeral_batch_definition() -> BatchDefinition:
    """A fresh ephemeral GX context, quiet, with one pandas whole-dataframe batch definition."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("personalize_frames").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def run_expectations(
    batch_definition: BatchDefinition,
    frame: pd.DataFrame,
    suite_name: str,
    expectations: list[Expectation],
    result_format: dict[str, Any],
) -> list[ExpectationValidationResult]:
    """Validate ``frame`` against a suite of ``expectations``; results come back in the order given."""
    import great_expectations as gx

    for position, expectation in enumerate(expectations):
        expectation.meta = {**(expectation.meta or {}), "position": position}
    suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": _numpy_numbers(frame)})
    validation = batch.validate(suite, result_format=result_format)
    if (data_docs := _DATA_DOCS.get()) is not None:
        data_docs.add(suite_name, validation)
    return sorted(validation.results, key=lambda result: expectation_meta(result)["position"])


def _numpy_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer and float columns as numpy floats (null: NaN), which GX compares vectorised; for
    the masked dtypes it calls a Python function per value. Row positions do not change."""
    masked = [
        name
        for name, dtype in frame.dtypes.items()
        if not isinstance(dtype, np.dtype)
        and pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
    ]
    if not masked:
        return frame
    return frame.assign(**{name: frame[name].astype("float64") for name in masked})


class DataDocs:
    """Great Expectations Data Docs: one HTML validation page per suite run while collecting."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}

    def add(self, suite_name: str, validation: Any) -> None:
        from great_expectations.render.renderer import ValidationResultsPageRenderer
        from great_expectations.render.view import DefaultJinjaPageView

        document = ValidationResultsPageRenderer().render(validation)
        self.pages[suite_name] = DefaultJinjaPageView().render(document)

    def index(self, title: str) -> str:
        """An HTML index linking every page (``<suite>.html`` beside it)."""
        links = "".join(f'<li><a href="{name}.html">{name}</a></li>' for name in sorted(self.pages))
        return f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>" + (
            f"<body><h1>{title}</h1><ul>{links}</ul></body></html>\n"
        )


_DATA_DOCS: ContextVar[DataDocs | None] = ContextVar("data_docs", default=None)


@contextmanager
def collecting_data_docs() -> Generator[DataDocs]:
    """Collect Data Docs pages of every validation run inside the ``with`` block."""
    data_docs = DataDocs()
    token = _DATA_DOCS.set(data_docs)
    try:
        yield data_docs
    finally:
        _DATA_DOCS.reset(token)


def expectation_meta(result: ExpectationValidationResult) -> dict[str, Any]:
    return result.expectation_config.meta


def _exception_messages(result: ExpectationValidationResult) -> list[str]:
    """GX's exception_info is flat for one exception, or keyed by metric when metrics failed to resolve."""
    info = result.exception_info or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    return [entry["exception_message"] for entry in entries if entry.get("raised_exception")]


def blocks_quarantine(result: ExpectationValidationResult) -> bool:
    """A table-level failure, or a rule GX could not evaluate: rows can't be split on that."""
    return bool(_exception_messages(result)) or (
        not result.success and "reason" not in expectation_meta(result)
    )


def summarise(dataset_name: str, result: ExpectationValidationResult, row_count: int) -> ExpectationSummary:
    config = result.expectation_config
    details = result.result or {}
    domain = config.get_domain_kwargs()
    column = domain.get("column") or ", ".join(domain.get("column_list", [])) or None
    unexpected_count = details.get("unexpected_count")
    errors = _exception_messages(result)
    if errors:
        problem = f"{dataset_name}: {config.type} on {column or 'the table'} could not run: {errors[0]}"
    elif result.success:
        problem = None
    else:
        observed = details.get("observed_value")
        problem = config.meta["failure"].format(
            observed_value=", ".join(observed) if isinstance(observed, list) else observed,
            unexpected_count=unexpected_count,
            element_count=row_count,
            missing_values=" or ".join(details.get("partial_missing_list", [])),
        )
    return ExpectationSummary(
        dataset=dataset_name,
        expectation_type=config.type,
        column=column,
        success=bool(result.success) and not errors,
        element_count=row_count,
        unexpected_count=None if unexpected_count is None else int(unexpected_count),
        problem=problem,
    )


def quarantine_reasons(rule_failures: list[tuple[str, np.ndarray]], row_count: int) -> pd.Series:
    """``"; "``-joined reasons (in rule order) indexed by the position of each failing row, ascending;
    ``rule_failures``: per rule, its reason and the positions of the rows failing it.

    Labels are joined once per distinct combination of failed rules, found by packing each row's rule hits
    into bytes: joining row by row, or ``np.unique(axis=0)``, takes many seconds when half of 1M rows fail.
    """
    failed = np.zeros((row_count, len(rule_failures)), dtype=bool)
    for rule, (_, positions) in enumerate(rule_failures):
        failed[positions, rule] = True
    positions = np.flatnonzero(failed.any(axis=1))
    hits = failed[positions]
    packed = np.packbits(hits, axis=1)
    combination_keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first_row, combination_of_row = np.unique(combination_keys, return_index=True, return_inverse=True)
    reasons = [reason for reason, _ in rule_failures]
    labels = np.array(["; ".join(compress(reasons, hits[row])) for row in first_row], dtype=object)
    return pd.Series(labels[combination_of_row], index=positions, dtype=object)
