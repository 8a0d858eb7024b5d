"""Casting loosely typed HubSpot property text."""

from __future__ import annotations

import pandas as pd

from hubspot_pipeline.formatting import clean_identifier, clean_text, to_boolean, to_epoch_seconds, to_number


def test_dates_in_iso_and_epoch_seconds_and_milliseconds():
    values = pd.Series(
        [
            "2024-01-05T10:11:12Z",
            "2024-01-05 10:11:12.000",
            "1704449472000",
            "1704449472",
            "garbage",
            None,
            "",
        ]
    )
    assert to_epoch_seconds(values).tolist() == [1704449472] * 4 + [pd.NA] * 3


def test_numbers_that_are_not_numbers_become_null():
    assert to_number(pd.Series(["1.5", "abc", None, "-3", "inf", " 7 "])).tolist() == [
        1.5,
        pd.NA,
        pd.NA,
        -3.0,
        pd.NA,
        7.0,
    ]


def test_text_control_characters_become_spaces_and_quotes_commas_are_kept():
    values = pd.Series(['a\r\nb, "c"', "  ", None, "x\ty\u2028z", "naïve ✓"])
    assert clean_text(values).tolist() == ['a  b, "c"', pd.NA, pd.NA, "x y z", "naïve ✓"]


def test_booleans_and_unrecognised_words():
    values, unrecognised = to_boolean(pd.Series(["True", "", None, "maybe", "false", "YES"]))
    assert values.tolist() == [True, False, False, False, False, True]
    assert unrecognised.tolist() == [False, False, False, True, False, False]


def test_identifiers_from_float_columns_have_no_decimal_suffix():
    assert clean_identifier(pd.Series([1.0, None, 30.0])).tolist() == ["1", pd.NA, "30"]
