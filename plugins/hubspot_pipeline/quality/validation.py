"""Great Expectations validation of the Personalize frames: row-level rules that quarantine bad records, and
the dataset-level checks that decide whether a set of frames may be published.

Every rule runs as a GX expectation on an ephemeral context; pandas only maps GX's unexpected row indices back
to rows and derives the per-user count frame. GX is imported inside the functions (it takes ~5-10 s), so this
module is cheap to import at DAG-parse time.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Generator, Iterable, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace
from itertools import compress
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.personalize.datasets import DATASETS, INTERACTIONS, Dataset

if TYPE_CHECKING:
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.expectations import Expectation

QUARANTINE_REASON = "QUARANTINE_REASON"
CONTEXT_COLUMN_PREFIX = "_"

# COMPLETE is the only format whose unexpected_index_list holds every failing row (the others stop at
# partial_unexpected_count); the failing values and the pandas "index query" string are not needed.
_ROW_INDEX_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}
_COUNTS_RESULT_FORMAT = {"result_format": "BASIC", "return_unexpected_index_query": False}

AllowedValues = Mapping[str, Collection[str]]
ValueBounds = Mapping[str, tuple[int, int]]


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


def quarantine_invalid_rows(
    frame: pd.DataFrame,
    dataset: Dataset,
    *,
    allowed_values: AllowedValues | None = None,
    value_bounds: ValueBounds | None = None,
    known_values: AllowedValues | None = None,
    suite_name: str | None = None,
) -> RowValidation:
    """Split ``frame`` into rows passing every row-level rule of ``dataset`` and quarantined rows.

    Rules come from the column definitions (non-null, maximum length, minimum value) plus ``allowed_values``
    ({column: allowed strings}) and ``value_bounds`` ({column: (min, max)}), all run by GX, and
    ``known_values`` ({column: the values another dataset publishes}, see :func:`referential_failures`).
    Columns starting with ``_`` are context: kept in both outputs but not validated. Quarantined rows get a
    ``QUARANTINE_REASON`` such as ``"USER_ID: missing; ITEM_ID: longer than 256 characters"``.
    ``suite_name`` names the GX suite (and its Data Docs page; default ``<dataset>_rows``). Raises
    ``DatasetValidationError`` when the data columns are not exactly the dataset's columns in order, or a
    rule could not be evaluated.
    """
    rows = frame.reset_index(drop=True)
    expectations = [_columns_expectation(dataset), *_row_expectations(dataset, allowed_values, value_bounds)]
    results = _validate(
        _ephemeral_batch_definition(),
        rows[[name for name in rows.columns if not name.startswith(CONTEXT_COLUMN_PREFIX)]],
        suite_name or f"{dataset.name}_rows",
        expectations,
        _ROW_INDEX_RESULT_FORMAT,
    )
    summaries = [_summarise(dataset.name, result, len(rows)) for result in results]
    blocking = [
        summary for summary, result in zip(summaries, results, strict=True) if _blocks_quarantine(result)
    ]
    if blocking:
        raise DatasetValidationError(blocking)

    rule_failures = [
        (dataset.column_names.index(_meta(result)["reason"].split(":")[0]), _meta(result)["reason"], indices)
        for result in results
        if "reason" in _meta(result)
        for indices in [np.asarray(result.result["unexpected_index_list"], dtype=np.int64)]
    ]
    referential = referential_failures(rows, dataset, known_values)
    rule_failures += [
        (dataset.column_names.index(column), reason, failing) for column, reason, failing in referential
    ]
    summaries += [
        _referential_summary(dataset, column, reason, failing, len(rows))
        for column, reason, failing in referential
    ]
    rule_failures.sort(key=lambda failure: failure[0])  # stable: a column's rules keep their order
    reason_by_row = _quarantine_reasons(
        [(reason, failing) for _, reason, failing in rule_failures], len(rows)
    )
    failing = np.zeros(len(rows), dtype=bool)
    failing[reason_by_row.index.to_numpy()] = True
    quarantined = rows[failing].reset_index(drop=True)
    quarantined[QUARANTINE_REASON] = reason_by_row.to_numpy()
    return RowValidation(
        kept=rows[~failing].reset_index(drop=True), quarantined=quarantined, results=summaries
    )


def referential_failures(
    frame: pd.DataFrame, dataset: Dataset, known_values: AllowedValues | None
) -> list[tuple[str, str, np.ndarray]]:
    """Referential checks, one per ``known_values`` column: positions of rows whose value is not among the
    values another dataset publishes (interactions naming unpublished items), as (column, reason,
    positions). A hash lookup rather than a GX expectation: a catalogue-sized value set in an
    expectation's configuration is serialised again for every metric GX computes (seconds per chunk)."""
    failures = []
    for column, values in (known_values or {}).items():
        present = frame[column].notna().to_numpy()
        known = frame[column].isin(values).to_numpy()
        failures.append((column, f"{column}: not an allowed value", np.flatnonzero(present & ~known)))
    if unknown := sorted(set(known_values or ()) - set(dataset.column_names)):
        raise ValueError(f"{dataset.name} has no columns {unknown}")
    return failures


def _referential_summary(
    dataset: Dataset, column: str, reason: str, failing: np.ndarray, row_count: int
) -> ExpectationSummary:
    return rule_summary(dataset, "referential_check", column, reason, len(failing), row_count)


def rule_summary(
    dataset: Dataset, expectation_type: str, column: str, reason: str, failing: int, row_count: int
) -> ExpectationSummary:
    """The summary of a row rule checked outside GX (a hash lookup, the warehouse): ``failing`` of
    ``row_count`` rows fail it."""
    return ExpectationSummary(
        dataset=dataset.name,
        expectation_type=expectation_type,
        column=column,
        success=not failing,
        element_count=row_count,
        unexpected_count=failing,
        problem=f"{dataset.name}: {failing} of {row_count} rows fail '{reason}'" if failing else None,
    )


def check_publishable(
    frames: Mapping[str, pd.DataFrame],
    *,
    min_interactions: int = 1000,
    min_users_with_two: int = 25,
    required_event_types: Collection[str] = ("View", "Purchase"),
    allowed_values: Mapping[str, AllowedValues] | None = None,
    value_bounds: Mapping[str, ValueBounds] | None = None,
) -> list[ExpectationSummary]:
    """Run every dataset-level check on the frames about to be published and return their summaries.

    ``frames`` maps dataset names to frames exactly as they will be written (``interactions`` is required,
    ``items`` and ``users`` are checked when present): :func:`check_dataset` on each, and for interactions
    :func:`check_interaction_minimums` on their counts. All checks run; if any fails,
    ``DatasetValidationError`` lists all failures.
    """
    if INTERACTIONS.name not in frames:
        raise ValueError("check_publishable needs an 'interactions' frame")
    unknown = sorted(set(frames) - set(DATASETS))
    if unknown:
        raise ValueError(f"unknown dataset names {unknown}, expected some of {sorted(DATASETS)}")
    allowed_values = allowed_values or {}
    value_bounds = value_bounds or {}
    summaries: list[ExpectationSummary] = []
    for dataset in (dataset for name, dataset in DATASETS.items() if name in frames):
        frame = frames[dataset.name]
        summaries += check_dataset(
            frame,
            dataset,
            allowed_values=allowed_values.get(dataset.name),
            value_bounds=value_bounds.get(dataset.name),
        )
        if dataset is INTERACTIONS:
            tallies = InteractionTallies()
            tallies.add(frame)
            summaries += check_interaction_minimums(
                tallies,
                min_interactions=min_interactions,
                min_users_with_two=min_users_with_two,
                required_event_types=required_event_types,
            )
    raise_on_failures(summaries)
    return summaries


def check_dataset(
    frame: pd.DataFrame,
    dataset: Dataset,
    *,
    allowed_values: AllowedValues | None = None,
    value_bounds: ValueBounds | None = None,
    known_values: AllowedValues | None = None,
    suite_name: str | None = None,
) -> list[ExpectationSummary]:
    """Check rows about to be written: columns equal the dataset's in order, the unique key is unique and
    every row-level rule passes (referential checks included). ``frame`` is a whole dataset, or one chunk
    of streamed interactions (a chunk holds every row that could share its key). Returns the summaries;
    failures are not raised."""
    expectations = [
        _columns_expectation(dataset),
        _unique_key_expectation(dataset),
        *_row_expectations(dataset, allowed_values, value_bounds),
    ]
    results = _validate(
        _ephemeral_batch_definition(), frame, suite_name or dataset.name, expectations, _COUNTS_RESULT_FORMAT
    )
    return [_summarise(dataset.name, result, len(frame)) for result in results] + [
        _referential_summary(dataset, column, reason, failing, len(frame))
        for column, reason, failing in referential_failures(frame, dataset, known_values)
    ]


@dataclass
class InteractionTallies:
    """What Personalize's minimums need from published interactions, added up chunk by chunk: rows per
    EVENT_TYPE and per USER_ID (bounded by the number of users, not by the history)."""

    per_event_type: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    per_user: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))

    def add(self, interactions: pd.DataFrame) -> None:
        for name, column in (("per_event_type", "EVENT_TYPE"), ("per_user", "USER_ID")):
            if column in interactions.columns:
                counts = interactions[column].value_counts().astype("int64")
                setattr(self, name, getattr(self, name).add(counts, fill_value=0).astype("int64"))

    @property
    def rows(self) -> int:
        return int(self.per_event_type.sum())


def check_interaction_minimums(
    tallies: InteractionTallies,
    *,
    min_interactions: int = 1000,
    min_users_with_two: int = 25,
    required_event_types: Collection[str] = ("View", "Purchase"),
) -> list[ExpectationSummary]:
    """Personalize's minimums, checked by GX on the interactions' tallies: ``min_interactions`` rows,
    ``min_users_with_two`` users with at least two interactions, an EVENT_TYPE for each of
    ``required_event_types``. Returns the summaries; failures are not raised."""
    batch_definition = _ephemeral_batch_definition()
    per_type = tallies.per_event_type.rename_axis("EVENT_TYPE").reset_index(name="INTERACTIONS")
    results = _validate(
        batch_definition,
        per_type,
        "interactions_minimums",
        _interaction_minimum_expectations(min_interactions, required_event_types),
        _COUNTS_RESULT_FORMAT,
    )
    summaries = [_summarise(INTERACTIONS.name, result, tallies.rows) for result in results]
    users_with_two = tallies.per_user[tallies.per_user >= 2]
    users_with_two = users_with_two.rename_axis("USER_ID").reset_index(name="INTERACTIONS")
    results = _validate(
        batch_definition,
        users_with_two,
        "interactions_users_with_two",
        [_users_with_two_expectation(min_users_with_two)],
        _COUNTS_RESULT_FORMAT,
    )
    return summaries + [_summarise(INTERACTIONS.name, result, len(users_with_two)) for result in results]


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
    results = _validate(_ephemeral_batch_definition(), frame, suite_name, expectations, _COUNTS_RESULT_FORMAT)
    summaries = [_summarise(dataset_name, result, len(frame)) for result in results]
    raise_on_failures(summaries)
    return summaries


def _ephemeral_batch_definition() -> BatchDefinition:
    """A fresh ephemeral GX context, quiet, with one pandas whole-dataframe batch definition."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("personalize_frames").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def _validate(
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
    return sorted(validation.results, key=lambda result: _meta(result)["position"])


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


def _columns_expectation(dataset: Dataset) -> Expectation:
    import great_expectations.expectations as gxe

    expected = ", ".join(dataset.column_names)
    return gxe.ExpectTableColumnsToMatchOrderedList(
        column_list=dataset.column_names,
        meta={
            "failure": f"{dataset.name}: columns are {{observed_value}}, expected {expected} in this order"
        },
    )


@dataclass(frozen=True)
class RowRule:
    """One row-level rule of a dataset: the column, what it checks (``missing``, ``too_long``, ``below``,
    ``not_allowed``, ``out_of_range``; ``unknown``: not among the values another dataset publishes),
    its bounds or values, and the quarantine reason of a row failing it. Null values pass every rule but
    ``missing``. GX runs them on the worker; in the warehouse-unload mode the same list becomes SQL."""

    column: str
    check: str
    reason: str
    arguments: dict[str, Any] = field(default_factory=dict)


def row_rules_of(
    dataset: Dataset,
    allowed_values: AllowedValues | None = None,
    value_bounds: ValueBounds | None = None,
    known_values: AllowedValues | None = None,
) -> list[RowRule]:
    """The row-level rules of ``dataset`` in the order reasons are joined: by column, and within a column
    missing, too long, below the minimum, not allowed, out of range, unknown."""
    allowed_values, value_bounds, known_values = allowed_values or {}, value_bounds or {}, known_values or {}
    named = set(allowed_values) | set(value_bounds) | set(known_values)
    if unknown := sorted(named - set(dataset.column_names)):
        raise ValueError(f"{dataset.name} has no columns {unknown}")
    rules: list[RowRule] = []
    for column in dataset.columns:
        name = column.name
        if not column.nullable:
            rules.append(RowRule(name, "missing", f"{name}: missing"))
        if column.max_length is not None:
            too_long = f"{name}: longer than {column.max_length} characters"
            rules.append(RowRule(name, "too_long", too_long, {"max_value": column.max_length}))
        if column.min_value is not None:
            below = f"{name}: below {column.min_value:g}"
            rules.append(RowRule(name, "below", below, {"min_value": column.min_value}))
        if name in allowed_values:
            values = sorted(allowed_values[name])
            rules.append(RowRule(name, "not_allowed", f"{name}: not an allowed value", {"value_set": values}))
        if name in value_bounds:
            low, high = value_bounds[name]
            bounds = {"min_value": low, "max_value": high}
            rules.append(RowRule(name, "out_of_range", f"{name}: out of range", bounds))
        if name in known_values:
            rules.append(RowRule(name, "unknown", f"{name}: not an allowed value"))
    return rules


def _row_expectations(
    dataset: Dataset, allowed_values: AllowedValues | None, value_bounds: ValueBounds | None
) -> list[Expectation]:
    """One expectation per row-level rule, in column order; each carries its quarantine reason in ``meta``."""
    import great_expectations.expectations as gxe

    expectation_types = {
        "missing": gxe.ExpectColumnValuesToNotBeNull,
        "too_long": gxe.ExpectColumnValueLengthsToBeBetween,
        "below": gxe.ExpectColumnValuesToBeBetween,
        "not_allowed": gxe.ExpectColumnValuesToBeInSet,
        "out_of_range": gxe.ExpectColumnValuesToBeBetween,
    }
    return [
        _row_rule(dataset.name, rule.column, expectation_types[rule.check], rule.reason, **rule.arguments)
        for rule in row_rules_of(dataset, allowed_values, value_bounds)
    ]


def _row_rule(
    dataset_name: str, column: str, expectation_type: type[Expectation], reason: str, **kwargs: Any
) -> Expectation:
    """A row-level expectation on ``column`` whose meta says why a failing row is quarantined."""
    failure = f"{dataset_name}: {{unexpected_count}} of {{element_count}} rows fail '{reason}'"
    return expectation_type(column=column, meta={"reason": reason, "failure": failure}, **kwargs)


def _unique_key_expectation(dataset: Dataset) -> Expectation:
    import great_expectations.expectations as gxe

    key = ", ".join(dataset.unique_key)
    meta = {"failure": f"{dataset.name}: {{unexpected_count}} rows share their ({key}) with another row"}
    if len(dataset.unique_key) == 1:
        return gxe.ExpectColumnValuesToBeUnique(column=dataset.unique_key[0], meta=meta)
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(dataset.unique_key), meta=meta)


def _interaction_minimum_expectations(
    min_interactions: int, required_event_types: Collection[str]
) -> list[Expectation]:
    import great_expectations.expectations as gxe

    too_few_rows = f"interactions: {{observed_value}} rows, Personalize needs at least {min_interactions}"
    missing_events = (
        f"interactions: no {{missing_values}} events, Personalize needs {', '.join(required_event_types)}"
    )
    return [
        gxe.ExpectColumnSumToBeBetween(
            column="INTERACTIONS", min_value=min_interactions, meta={"failure": too_few_rows}
        ),
        gxe.ExpectColumnDistinctValuesToContainSet(
            column="EVENT_TYPE", value_set=list(required_event_types), meta={"failure": missing_events}
        ),
    ]


def _users_with_two_expectation(min_users_with_two: int) -> Expectation:
    import great_expectations.expectations as gxe

    return gxe.ExpectTableRowCountToBeBetween(
        min_value=min_users_with_two,
        meta={
            "failure": f"interactions: {{observed_value}} users with at least 2 interactions, "
            f"Personalize needs at least {min_users_with_two}"
        },
    )


def _meta(result: ExpectationValidationResult) -> dict[str, Any]:
    return result.expectation_config.meta


def _exception_messages(result: ExpectationValidationResult) -> list[str]:
    """GX's exception_info is flat for one exception, or keyed by metric when metrics failed to resolve."""
    info = result.exception_info or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    return [entry["exception_message"] for entry in entries if entry.get("raised_exception")]


def _blocks_quarantine(result: ExpectationValidationResult) -> bool:
    """A table-level failure, or a rule GX could not evaluate: rows can't be split on that."""
    return bool(_exception_messages(result)) or (not result.success and "reason" not in _meta(result))


def _summarise(dataset_name: str, result: ExpectationValidationResult, row_count: int) -> ExpectationSummary:
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


def _quarantine_reasons(rule_failures: list[tuple[str, np.ndarray]], row_count: int) -> pd.Series:
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
