"""Hull's attribute formatting: names, types from the name or the first value, casts that fail."""

from __future__ import annotations

import pandas as pd
import pytest

from hubspot_pipeline.identity.attributes import (
    AttributeFormatError,
    attribute_name,
    cast,
    detect_type,
    format_attributes,
)


def test_names_are_lower_cased_grouped_by_source_and_drop_dots_and_dollars():
    assert attribute_name("PROPERTY_LIFECYCLESTAGE") == "hubspot/lifecyclestage"
    assert attribute_name("Deal.Amount$") == "hubspot/dealamount"
    assert attribute_name("salesforce/Rating") == "salesforce/rating"  # already grouped: kept
    assert attribute_name("AGE", source=None) == "age"


def test_two_columns_with_the_same_attribute_name_are_an_error():
    frame = pd.DataFrame({"ID": [1], "A.B": ["x"], "AB": ["y"]})
    with pytest.raises(AttributeFormatError, match="hubspot/ab"):
        format_attributes(frame, ["A.B", "AB"], key="ID")


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("hubspot/signed_up_at", ["abc"], "date"),  # the name decides, whatever the values
        ("hubspot/renewal_date", [None], "date"),
        ("hubspot/newsletter", ["True", "no"], "boolean"),
        ("hubspot/age", ["31", "abc"], "number"),
        ("hubspot/gender", ["M", "31"], "string"),
        ("hubspot/empty", [None, ""], "string"),
    ],
)
def test_type_comes_from_the_name_then_from_the_first_value(name, values, expected):
    assert detect_type(name, pd.Series(values, dtype=object)) == expected


def test_the_first_value_is_the_one_with_the_lowest_key_whatever_the_row_order():
    frame = pd.DataFrame({"ID": [3, 1, 2], "SCORE": ["high", "12", None]})
    formatted = format_attributes(frame, ["SCORE"], key="ID", order_by="ID")
    assert formatted.types == {"hubspot/score": "number"}  # ID 1's "12", not row 0's "high"
    assert formatted.values["hubspot/score"].tolist() == [pd.NA, 12.0, pd.NA]


def test_dates_read_iso_8601_and_unix_seconds_and_milliseconds():
    values = pd.Series(["2024-01-01T00:00:00Z", "1704067200", "1704067200000", "2024-01-01 00:00:00"])
    typed, failed = cast(values, "date")
    assert typed.tolist() == [pd.Timestamp("2024-01-01", tz="UTC")] * 4
    assert not failed.any()


def test_a_value_that_fails_to_cast_is_null_and_reported_without_the_value():
    frame = pd.DataFrame(
        {
            "CONTACT_ID": [11, 12, 13, 14],
            "AGE": ["31", "abc", "", None],
            "CLOSED_AT": ["2024-02-30T10:00:00Z", "1704067200", "31/12/2023", None],
            "VIP": ["true", "maybe", "FALSE", None],
        }
    )
    formatted = format_attributes(frame, ["AGE", "CLOSED_AT", "VIP"], key="CONTACT_ID")
    assert formatted.types == {"hubspot/age": "number", "hubspot/closed_at": "date", "hubspot/vip": "boolean"}
    assert formatted.values["hubspot/age"].tolist() == [31.0, pd.NA, pd.NA, pd.NA]  # "" is empty, no error
    assert formatted.values["hubspot/vip"].tolist() == [True, pd.NA, False, pd.NA]
    assert formatted.errors.to_dict("records") == [
        {"KEY": "12", "ATTRIBUTE": "hubspot/age", "TYPE": "number", "REASON": "not a number: set to null"},
        {
            "KEY": "11",
            "ATTRIBUTE": "hubspot/closed_at",
            "TYPE": "date",
            "REASON": "not an ISO-8601 date or Unix timestamp: set to null",
        },
        {
            "KEY": "13",
            "ATTRIBUTE": "hubspot/closed_at",
            "TYPE": "date",
            "REASON": "not an ISO-8601 date or Unix timestamp: set to null",
        },
        {"KEY": "12", "ATTRIBUTE": "hubspot/vip", "TYPE": "boolean", "REASON": "not a boolean: set to null"},
    ]
    assert formatted.error_counts() == {"hubspot/age": 1, "hubspot/closed_at": 2, "hubspot/vip": 1}


def test_pinned_types_override_detection_and_columns_map_back():
    frame = pd.DataFrame({"CONTACT_ID": [1, 2], "CREATEDATE": ["1704067200000", "soon"], "AGE": ["x", "40"]})
    formatted = format_attributes(
        frame,
        ["CREATEDATE", "AGE"],
        key="CONTACT_ID",
        types={"hubspot/createdate": "date", "hubspot/age": "number"},
    )
    assert formatted.types == {"hubspot/createdate": "date", "hubspot/age": "number"}
    by_column = formatted.by_column()
    assert by_column.columns.tolist() == ["CONTACT_ID", "CREATEDATE", "AGE"]
    assert by_column["AGE"].tolist() == [pd.NA, 40.0]
    assert formatted.error_counts() == {"hubspot/age": 1, "hubspot/createdate": 1}
