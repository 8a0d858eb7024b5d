"""Personalize's validation rules, run by :mod:`hubspot_pipeline.quality.validation`: row rules derived from
the dataset columns (quarantine with a reason), referential checks (interactions name published items), the
dataset-level checks (columns, unique key) and Personalize's minimums on the interactions' tallies."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hubspot_pipeline.personalize.datasets import INTERACTIONS, Dataset
from hubspot_pipeline.personalize.settings import RECOMMENDER_REQUIREMENTS
from hubspot_pipeline.quality.ledger import DatasetLedger

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation
from hubspot_pipeline.quality.validation import (
    CONTEXT_COLUMN_PREFIX,
    COUNTS_RESULT_FORMAT,
    QUARANTINE_REASON,
    ROW_INDEX_RESULT_FORMAT,
    DatasetValidationError,
    ExpectationSummary,
    RowValidation,
    blocks_quarantine,
    ephemeral_batch_definition,
    expectation_meta,
    quarantine_reasons,
    run_expectations,
    summarise,
)

AllowedValues = Mapping[str, Collection[str]]
ValueBounds = Mapping[str, tuple[int, int]]
# quarantine_invalid_rows and check_dataset take the same rule keywords on purpose: one mapping of rules
# per dataset (personalize.checks.row_rules) is checked row by row, then on the rows to publish.


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
    results = run_expectations(
        ephemeral_batch_definition(),
        rows[[name for name in rows.columns if not name.startswith(CONTEXT_COLUMN_PREFIX)]],
        suite_name or f"{dataset.name}_rows",
        expectations,
        ROW_INDEX_RESULT_FORMAT,
    )
    summaries = [summarise(dataset.name, result, len(rows)) for result in results]
    blocking = [
        summary for summary, result in zip(summaries, results, strict=True) if blocks_quarantine(result)
    ]
    if blocking:
        raise DatasetValidationError(blocking)

    rule_failures = [
        (
            dataset.column_names.index(expectation_meta(result)["reason"].split(":")[0]),
            expectation_meta(result)["reason"],
            indices,
        )
        for result in results
        if "reason" in expectation_meta(result)
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
    reason_by_row = quarantine_reasons([(reason, failing) for _, reason, failing in rule_failures], len(rows))
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
    results = run_expectations(
        ephemeral_batch_definition(), frame, suite_name or dataset.name, expectations, COUNTS_RESULT_FORMAT
    )
    return [summarise(dataset.name, result, len(frame)) for result in results] + [
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
    batch_definition = ephemeral_batch_definition()
    per_type = tallies.per_event_type.rename_axis("EVENT_TYPE").reset_index(name="INTERACTIONS")
    results = run_expectations(
        batch_definition,
        per_type,
        "interactions_minimums",
        _interaction_minimum_expectations(min_interactions, required_event_types),
        COUNTS_RESULT_FORMAT,
    )
    summaries = [summarise(INTERACTIONS.name, result, tallies.rows) for result in results]
    users_with_two = tallies.per_user[tallies.per_user >= 2]
    users_with_two = users_with_two.rename_axis("USER_ID").reset_index(name="INTERACTIONS")
    results = run_expectations(
        batch_definition,
        users_with_two,
        "interactions_users_with_two",
        [_users_with_two_expectation(min_users_with_two)],
        COUNTS_RESULT_FORMAT,
    )
    return summaries + [summarise(INTERACTIONS.name, result, len(users_with_two)) for result in results]


def recommender_shortfalls(tallies: InteractionTallies, recommenders: Collection[str]) -> dict[str, str]:
    """Each of ``recommenders`` whose requirement (``RECOMMENDER_REQUIREMENTS``) the interactions' tallies
    do not meet, with why: ``{recommender: "120 Purchase interactions, needs at least 1000"}``."""
    shortfalls = {}
    for recommender in recommenders:
        missing = [
            f"{found} {event_type} interactions, needs at least {needed}"
            for event_type, needed in RECOMMENDER_REQUIREMENTS[recommender].items()
            if (found := int(tallies.per_event_type.get(event_type, 0))) < needed
        ]
        if missing:
            shortfalls[recommender] = "; ".join(missing)
    return shortfalls


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


def optional_value_rules(dataset: Dataset) -> list[RowRule]:
    """The rules of ``dataset``'s nullable columns (too long, below the minimum): a value failing one is
    corrected by :func:`void_invalid_values`, so only a broken required value quarantines a row."""
    return [rule for rule in row_rules_of(dataset) if dataset.column(rule.column).nullable]


_FAILS = {
    "too_long": lambda values, arguments: values.str.len() > arguments["max_value"],
    "below": lambda values, arguments: values < arguments["min_value"],
}


def truncates(rule: RowRule, dataset: Dataset) -> bool:
    """Whether an optional value failing ``rule`` is truncated (a textual column too long, as Personalize
    truncates it) rather than emptied."""
    return rule.check == "too_long" and dataset.column(rule.column).textual


def correction_reason(rule: RowRule, dataset: Dataset) -> str:
    """The ledger's reason for an optional value failing ``rule``: the rule's, and what was done."""
    return f"{rule.reason}, {'truncated' if truncates(rule, dataset) else 'left empty'}"


def void_invalid_values(frame: pd.DataFrame, dataset: Dataset, ledger: DatasetLedger) -> pd.DataFrame:
    """``frame`` with each optional value failing its rule (:func:`optional_value_rules`) emptied, or
    truncated for a textual column (as Personalize truncates it), counted in ``ledger`` as corrected with
    :func:`correction_reason` (``"CATEGORY_L2: longer than 1000 characters, left empty"``); the row is
    kept."""
    corrected = {}
    for rule in optional_value_rules(dataset):
        values = frame[rule.column]
        failing = _FAILS[rule.check](values, rule.arguments).fillna(False).astype(bool)
        ledger.correct(correction_reason(rule, dataset), int(failing.sum()))
        if truncates(rule, dataset):
            corrected[rule.column] = values.str.slice(0, rule.arguments["max_value"])
        else:
            corrected[rule.column] = values.mask(failing)
    return frame.assign(**corrected)


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
