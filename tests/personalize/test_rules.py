"""Row quarantine and publishability checks, run through real Great Expectations on small frames."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubspot_pipeline.personalize.datasets import DATASETS, INTERACTIONS, ITEMS, USERS, Dataset
from hubspot_pipeline.personalize.rules import (
    InteractionTallies,
    check_dataset,
    check_interaction_minimums,
    optional_value_rules,
    quarantine_invalid_rows,
    void_invalid_values,
)
from hubspot_pipeline.quality.ledger import DatasetLedger
from hubspot_pipeline.quality.validation import QUARANTINE_REASON, DatasetValidationError, raise_on_failures

START = 1_700_000_000
VALID_ROW = {
    "interactions": {
        "USER_ID": "hubspot-1",
        "ITEM_ID": "sku-1",
        "TIMESTAMP": START,
        "EVENT_TYPE": "View",
        "EVENT_VALUE": 12.5,
    },
    "items": {
        "ITEM_ID": "sku-1",
        "PRICE": 12.5,
        "CATEGORY_L1": "shoes",
        "CATEGORY_L2": None,
        "PRODUCT_DESCRIPTION": "A shoe",
        "GENDER": None,
        "PROMOTED": False,
        "CREATION_TIMESTAMP": START,
    },
    "users": {"USER_ID": "hubspot-1", "AGE": 40, "GENDER": "F"},
}
TYPED = {"string": "str", "long": "Int64", "int": "Int64", "float": "Float64", "boolean": "boolean"}
EVENT_TYPES = {"View", "Purchase"}


def check_publishable(
    frames: Mapping[str, pd.DataFrame],
    *,
    min_interactions: int = 1000,
    min_users_with_two: int = 25,
    required_event_types: Collection[str] = ("View", "Purchase"),
    allowed_values: Mapping[str, Mapping] | None = None,
    value_bounds: Mapping[str, Mapping] | None = None,
) -> list:
    """Every dataset-level check ``validate`` runs, on whole frames: the summaries, raising on a failure.

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
    summaries: list = []
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


def candidates(dataset: Dataset, *changes: dict, index: list[int] | None = None) -> pd.DataFrame:
    """Typed rows, each a valid row with ``changes`` applied, led by a ``_SOURCE`` context column."""
    rows = [
        {"_SOURCE": f"row-{number}", **VALID_ROW[dataset.name], **change}
        for number, change in enumerate(changes)
    ]
    frame = pd.DataFrame(rows, columns=["_SOURCE", *dataset.column_names], index=index)
    return frame.astype({column.name: TYPED[column.avro_type] for column in dataset.columns})


def generated_interactions(repeat_users: int = 50, single_users: int = 0, rows: int = 1000) -> pd.DataFrame:
    """Valid interactions: ``single_users`` users with one event, ``repeat_users`` sharing the other rows."""
    rng = np.random.default_rng(20240601)
    repeat_rows = rows - single_users
    user_ids = [f"hubspot-{n % repeat_users}" for n in range(repeat_rows)] + [
        f"single-{n}" for n in range(single_users)
    ]
    return pd.DataFrame(
        {
            "USER_ID": pd.array(rng.permutation(user_ids), dtype="str"),
            "ITEM_ID": pd.array([f"sku-{n}" for n in rng.integers(0, 40, rows)], dtype="str"),
            "TIMESTAMP": pd.array(START + 60 * rng.permutation(rows), dtype="Int64"),
            "EVENT_TYPE": pd.array(rng.choice(["View", "View", "Purchase"], rows), dtype="str"),
            "EVENT_VALUE": pd.array(rng.uniform(0, 500, rows).round(2), dtype="Float64"),
        }
    )


def publishable(dataset: Dataset, *changes: dict) -> pd.DataFrame:
    return candidates(dataset, *changes).drop(columns="_SOURCE")


def failure_message(frames: dict[str, pd.DataFrame], **limits) -> str:
    with pytest.raises(DatasetValidationError) as raised:
        check_publishable(frames, **limits)
    return str(raised.value)


def test_module_imports_without_great_expectations():
    probe = "import sys, hubspot_pipeline.quality.validation; print('great_expectations' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "plugins")}
    imported = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert imported.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("dataset", "bad", "reason"),
    [
        (INTERACTIONS, {"USER_ID": None}, "USER_ID: missing"),
        (INTERACTIONS, {"ITEM_ID": "x" * 257}, "ITEM_ID: longer than 256 characters"),
        (INTERACTIONS, {"TIMESTAMP": None}, "TIMESTAMP: missing"),
        (INTERACTIONS, {"TIMESTAMP": START - 1}, "TIMESTAMP: out of range"),
        (INTERACTIONS, {"EVENT_TYPE": "Click"}, "EVENT_TYPE: not an allowed value"),
        (INTERACTIONS, {"EVENT_VALUE": -0.01}, "EVENT_VALUE: below 0"),
        (ITEMS, {"PRICE": -1.0}, "PRICE: below 0"),
        (ITEMS, {"CATEGORY_L1": None}, "CATEGORY_L1: missing"),
        (ITEMS, {"CATEGORY_L2": "c" * 1001}, "CATEGORY_L2: longer than 1000 characters"),
        (ITEMS, {"PROMOTED": None}, "PROMOTED: missing"),
        (ITEMS, {"CREATION_TIMESTAMP": START + 86_401}, "CREATION_TIMESTAMP: out of range"),
        (USERS, {"AGE": -3}, "AGE: below 0"),
    ],
)
def test_each_row_rule_quarantines_only_the_failing_row(dataset, bad, reason):
    bounds = {
        "interactions": {"TIMESTAMP": (START, START + 86_400)},
        "items": {"CREATION_TIMESTAMP": (0, START + 86_400)},
    }
    allowed = {"interactions": {"EVENT_TYPE": EVENT_TYPES}}
    frame = candidates(dataset, {}, bad, {}, index=[30, 10, 20])

    checked = quarantine_invalid_rows(
        frame, dataset, allowed_values=allowed.get(dataset.name), value_bounds=bounds.get(dataset.name)
    )

    assert checked.kept["_SOURCE"].tolist() == ["row-0", "row-2"]
    assert checked.kept.index.tolist() == [0, 1]
    assert checked.quarantined[["_SOURCE", QUARANTINE_REASON]].to_dict("records") == [
        {"_SOURCE": "row-1", QUARANTINE_REASON: reason}
    ]
    assert list(checked.quarantined.columns) == [*frame.columns, QUARANTINE_REASON]


def test_values_at_the_limits_and_empty_nullable_columns_are_kept():
    frame = candidates(
        INTERACTIONS,
        {"ITEM_ID": "x" * 256, "EVENT_VALUE": None},
        {"EVENT_VALUE": 0.0, "TIMESTAMP": START + 86_400, "EVENT_TYPE": "Purchase"},
    )
    checked = quarantine_invalid_rows(
        frame,
        INTERACTIONS,
        allowed_values={"EVENT_TYPE": EVENT_TYPES},
        value_bounds={"TIMESTAMP": (START, START + 86_400)},
    )
    assert len(checked.kept) == 2
    assert checked.quarantined.empty


def test_the_optional_value_rules_are_those_of_the_nullable_columns():
    rules = {name: optional_value_rules(dataset) for name, dataset in DATASETS.items()}
    assert {name: [(rule.column, rule.check) for rule in each] for name, each in rules.items()} == {
        "interactions": [("EVENT_VALUE", "below")],
        "items": [("CATEGORY_L2", "too_long"), ("PRODUCT_DESCRIPTION", "too_long"), ("GENDER", "too_long")],
        "users": [("AGE", "below"), ("GENDER", "too_long")],
    }


@pytest.mark.parametrize(
    ("dataset", "bad", "reason"),
    [
        (INTERACTIONS, {"EVENT_VALUE": -0.01}, "EVENT_VALUE: below 0"),
        (ITEMS, {"CATEGORY_L2": "c" * 1001}, "CATEGORY_L2: longer than 1000 characters"),
        (ITEMS, {"GENDER": "g" * 1001}, "GENDER: longer than 1000 characters"),
        (USERS, {"AGE": -3}, "AGE: below 0"),
        (USERS, {"GENDER": "g" * 1001}, "GENDER: longer than 1000 characters"),
    ],
)
def test_an_invalid_optional_value_is_emptied_and_counted_and_its_row_kept(dataset, bad, reason):
    frame = candidates(dataset, {}, bad, {"_SOURCE": "at-the-limit", **_at_the_limit(dataset, bad)})
    ledger = DatasetLedger()

    voided = void_invalid_values(frame, dataset, ledger)

    (column,) = bad
    assert voided[column].isna().tolist() == [pd.isna(VALID_ROW[dataset.name][column]), True, False]
    assert voided.drop(columns=column).equals(frame.drop(columns=column))
    assert ledger.corrected == {f"{reason}, left empty": 1}
    assert quarantine_invalid_rows(voided, dataset).quarantined.empty


def _at_the_limit(dataset: Dataset, bad: dict) -> dict:
    """The value of ``bad``'s column at its rule's limit: the longest or the smallest one allowed."""
    ((name, value),) = bad.items()
    column = dataset.column(name)
    return {name: value[: column.max_length] if column.max_length else column.min_value}


def test_an_overlong_description_is_truncated_as_personalize_does():
    frame = candidates(ITEMS, {"PRODUCT_DESCRIPTION": "d" * 20_000 + "tail"})
    ledger = DatasetLedger()
    voided = void_invalid_values(frame, ITEMS, ledger)
    assert voided["PRODUCT_DESCRIPTION"].tolist() == ["d" * 20_000]
    assert ledger.corrected == {"PRODUCT_DESCRIPTION: longer than 20000 characters, truncated": 1}


def test_only_the_broken_required_value_quarantines_a_row_with_an_invalid_optional_one_too():
    frame = candidates(ITEMS, {"ITEM_ID": None, "CATEGORY_L2": "c" * 1001})
    ledger = DatasetLedger()
    checked = quarantine_invalid_rows(void_invalid_values(frame, ITEMS, ledger), ITEMS)
    assert checked.quarantined[QUARANTINE_REASON].tolist() == ["ITEM_ID: missing"]
    assert ledger.corrected == {"CATEGORY_L2: longer than 1000 characters, left empty": 1}


def test_a_row_failing_two_rules_gets_both_reasons_in_column_order():
    frame = candidates(INTERACTIONS, {"EVENT_VALUE": -1.0, "USER_ID": None}, {})
    checked = quarantine_invalid_rows(frame, INTERACTIONS)
    assert checked.quarantined[QUARANTINE_REASON].tolist() == ["USER_ID: missing; EVENT_VALUE: below 0"]
    assert checked.kept["_SOURCE"].tolist() == ["row-1"]


def test_every_failing_row_is_quarantined_beyond_gx_partial_lists():
    frame = candidates(INTERACTIONS, *({"USER_ID": None} if n % 2 else {} for n in range(100)))
    checked = quarantine_invalid_rows(frame, INTERACTIONS)
    assert checked.quarantined["_SOURCE"].tolist() == [f"row-{n}" for n in range(1, 100, 2)]
    assert checked.kept["_SOURCE"].tolist() == [f"row-{n}" for n in range(0, 100, 2)]


def test_results_summarise_each_expectation_and_serialise_to_json():
    checked = quarantine_invalid_rows(candidates(INTERACTIONS, {"USER_ID": None}, {}), INTERACTIONS)
    by_rule = {(summary.expectation_type, summary.column): summary for summary in checked.results}

    missing_user = by_rule[("expect_column_values_to_not_be_null", "USER_ID")]
    assert (missing_user.success, missing_user.unexpected_count, missing_user.element_count) == (False, 1, 2)
    assert missing_user.problem == "interactions: 1 of 2 rows fail 'USER_ID: missing'"
    assert by_rule[("expect_table_columns_to_match_ordered_list", None)].success
    as_dicts = [summary.to_dict() for summary in checked.results]
    assert json.loads(json.dumps(as_dicts)) == as_dicts


def test_same_frame_gives_the_same_result():
    frame = candidates(INTERACTIONS, {"USER_ID": None}, {"EVENT_VALUE": -2.0}, {}, {"ITEM_ID": "y" * 300})
    first, second = (quarantine_invalid_rows(frame, INTERACTIONS) for _ in range(2))
    pd.testing.assert_frame_equal(first.kept, second.kept)
    pd.testing.assert_frame_equal(first.quarantined, second.quarantined)
    assert first.results == second.results


def test_empty_frame_keeps_nothing_and_quarantines_nothing():
    checked = quarantine_invalid_rows(candidates(INTERACTIONS), INTERACTIONS)
    assert checked.kept.empty
    assert checked.quarantined.empty
    assert list(checked.quarantined.columns) == ["_SOURCE", *INTERACTIONS.column_names, QUARANTINE_REASON]
    assert all(summary.success for summary in checked.results)


@pytest.mark.parametrize(
    "reshape",
    [
        pytest.param(lambda frame: frame.assign(EXTRA="surprise"), id="extra column"),
        pytest.param(
            lambda frame: frame[["_SOURCE", "ITEM_ID", "USER_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"]],
            id="order",
        ),
        pytest.param(lambda frame: frame.drop(columns="EVENT_VALUE"), id="missing column"),
    ],
)
def test_data_columns_other_than_the_dataset_columns_in_order_fail_the_dataset(reshape):
    with pytest.raises(DatasetValidationError) as raised:
        quarantine_invalid_rows(reshape(candidates(INTERACTIONS, {})), INTERACTIONS)
    assert str(raised.value).startswith("interactions: columns are ")
    assert "expected USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, EVENT_VALUE in this order" in str(raised.value)


def test_a_rule_gx_cannot_evaluate_fails_the_dataset():
    items = candidates(ITEMS, {}).astype({"PRICE": object})
    items.loc[0, "PRICE"] = "free"
    with pytest.raises(
        DatasetValidationError, match="expect_column_values_to_be_between on PRICE could not run"
    ):
        quarantine_invalid_rows(items, ITEMS)


def test_rules_for_unknown_columns_are_refused():
    with pytest.raises(ValueError, match="PRICE"):
        quarantine_invalid_rows(candidates(INTERACTIONS, {}), INTERACTIONS, value_bounds={"PRICE": (0, 1)})


@pytest.fixture(scope="module")
def valid_frames() -> dict[str, pd.DataFrame]:
    interactions = generated_interactions()
    items = publishable(ITEMS, *({"ITEM_ID": f"sku-{n}"} for n in range(40)))
    users = publishable(USERS, *({"USER_ID": f"hubspot-{n}"} for n in range(50)))
    return {"interactions": interactions, "items": items, "users": users}


def test_valid_generated_frames_are_publishable(valid_frames):
    summaries = check_publishable(
        valid_frames,
        allowed_values={"interactions": {"EVENT_TYPE": EVENT_TYPES}},
        value_bounds={"interactions": {"TIMESTAMP": (START, START + 86_400)}},
    )
    assert all(summary.success for summary in summaries)
    assert {summary.dataset for summary in summaries} == set(DATASETS)
    checked = {summary.expectation_type for summary in summaries}
    assert {
        "expect_table_row_count_to_be_between",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_unique",
        "expect_column_distinct_values_to_contain_set",
        "expect_column_values_to_be_in_set",
    } <= checked


def test_999_interactions_are_too_few():
    message = failure_message({"interactions": generated_interactions(rows=999)})
    assert message == "interactions: 999 rows, Personalize needs at least 1000"


def test_24_users_with_two_interactions_are_too_few():
    message = failure_message({"interactions": generated_interactions(repeat_users=24, single_users=40)})
    assert message == "interactions: 24 users with at least 2 interactions, Personalize needs at least 25"


def test_minimums_follow_the_limits_given():
    interactions = generated_interactions(rows=500, repeat_users=10)
    assert check_publishable({"interactions": interactions}, min_interactions=500, min_users_with_two=10)


def test_duplicate_interaction_fails(valid_frames):
    interactions = valid_frames["interactions"]
    duplicated = pd.concat([interactions, interactions.iloc[[7]]], ignore_index=True)
    message = failure_message({**valid_frames, "interactions": duplicated})
    key = ", ".join(INTERACTIONS.unique_key)
    assert message == f"interactions: 2 rows share their ({key}) with another row"


def test_duplicate_item_id_fails(valid_frames):
    items = valid_frames["items"]
    duplicated = pd.concat([items, items.iloc[[3]].assign(PRICE=99.0)], ignore_index=True)
    message = failure_message({**valid_frames, "items": duplicated})
    assert message == "items: 2 rows share their (ITEM_ID) with another row"


def test_missing_purchase_events_fail():
    interactions = generated_interactions().assign(EVENT_TYPE="View")
    assert (
        failure_message({"interactions": interactions})
        == "interactions: no Purchase events, Personalize needs View, Purchase"
    )


def test_rows_that_should_have_been_quarantined_fail(valid_frames):
    users = valid_frames["users"].copy()
    users.loc[4, "AGE"] = -1
    message = failure_message({**valid_frames, "users": users})
    assert message == "users: 1 of 50 rows fail 'AGE: below 0'"


def test_every_failed_check_is_reported_at_once(valid_frames):
    interactions = generated_interactions(rows=999).assign(EVENT_TYPE="View")
    items = valid_frames["items"][["PRICE", "ITEM_ID", *ITEMS.column_names[2:]]]
    with pytest.raises(DatasetValidationError) as raised:
        check_publishable({"interactions": interactions, "items": items})
    assert str(raised.value).splitlines() == [
        "interactions: 999 rows, Personalize needs at least 1000",
        "interactions: no Purchase events, Personalize needs View, Purchase",
        "items: columns are PRICE, ITEM_ID, CATEGORY_L1, CATEGORY_L2, PRODUCT_DESCRIPTION, GENDER, PROMOTED, "
        "CREATION_TIMESTAMP, expected ITEM_ID, PRICE, CATEGORY_L1, CATEGORY_L2, PRODUCT_DESCRIPTION, GENDER, "
        "PROMOTED, CREATION_TIMESTAMP in this order",
    ]
    assert len(raised.value.failures) == 3


def test_interactions_are_required(valid_frames):
    with pytest.raises(ValueError, match="interactions"):
        check_publishable({"items": valid_frames["items"]})


def test_validation_error_survives_pickling():
    with pytest.raises(DatasetValidationError) as raised:
        check_publishable({"interactions": generated_interactions(rows=999)})
    restored = pickle.loads(pickle.dumps(raised.value))
    assert restored.summaries == raised.value.summaries
    assert str(restored) == str(raised.value)
