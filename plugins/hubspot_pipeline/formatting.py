"""Vectorised casting of HubSpot's loosely typed property values (text) into typed columns.

Rules (documented in the README): numbers parse as decimals, anything else is null; dates are ISO-8601
or Unix epoch seconds / milliseconds (13+ digits), anything else is null; text has control characters
(newlines, tabs, …) replaced by spaces and is trimmed, empty text is null; identifiers are trimmed.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# the characters themselves, not regex escapes: pandas then runs the replacement in Arrow (RE2, ~5x faster
# than its per-value Python fallback, which it takes for escapes RE2 does not know, like \u2028)
_CONTROL_CHARACTERS = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"
# the same pattern without NUL, for SQL text (a Snowflake string cannot hold it), and the whitespace
# str.strip removes that the pattern leaves (no-break and typographic spaces): clean_text in SQL
CONTROL_CHARACTERS_EXCEPT_NUL = "[\x01-\x1f\x7f-\x9f\u2028\u2029]"
UNICODE_SPACES = (
    "".join(
        character for character in map(chr, range(0x3001)) if character.isspace() and ord(character) > 0x9F
    )
    + " "
)
_EPOCH_MILLISECONDS_FROM = 100_000_000_000  # 13 digits: epoch seconds reach this in the year 5138

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "t"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "f", ""})


def clean_text(values: pd.Series) -> pd.Series:
    """Replace control characters by spaces and trim; empty text becomes null."""
    text = values.astype("string")
    if not _all_printable(text):  # the replacement copies every value: skip it when nothing would change
        text = text.str.replace(_CONTROL_CHARACTERS, " ", regex=True)
    text = text.str.strip()
    return text.mask(text == "")


def _all_printable(text: pd.Series) -> bool:
    """True when no value holds a non-printable character (control characters are not printable)."""
    printable = pc.utf8_is_printable(pa.chunked_array([pa.array(text.array, type=pa.large_string())]))
    return bool(pc.all(printable).as_py() is not False)


def clean_identifier(values: pd.Series) -> pd.Series:
    """Identifiers as trimmed text (numbers without a trailing ``.0``); empty becomes null."""
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    return clean_text(values)


def to_number(values: pd.Series) -> pd.Series:
    """Parse text as a float; anything that is not a number (or is infinite) becomes null."""
    numbers = pd.to_numeric(clean_text(values), errors="coerce").astype("Float64")
    return numbers.mask(numbers.isin([float("inf"), float("-inf")]))


def to_epoch_seconds(values: pd.Series) -> pd.Series:
    """Parse ISO-8601 text or Unix epoch seconds/milliseconds into epoch seconds (``Int64``)."""
    text = clean_text(values)
    is_epoch = text.str.fullmatch(r"-?\d{1,18}").fillna(False).astype(bool)
    epoch = pd.to_numeric(text.where(is_epoch), errors="coerce").astype("Float64")
    epoch = epoch.where(epoch.abs() < _EPOCH_MILLISECONDS_FROM, epoch / 1000)
    parsed = pd.to_datetime(text.where(~is_epoch), errors="coerce", utc=True, format="ISO8601")
    iso_seconds = pd.Series(pd.NA, index=text.index, dtype="Float64")
    valid = parsed.notna()
    iso_seconds[valid] = (parsed[valid] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return epoch.fillna(iso_seconds).floordiv(1).astype("Int64")


def to_boolean(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse yes/no words into booleans (null is false); return the values and a mask of unrecognised text."""
    words = values.astype("string").str.strip().str.lower().fillna("")
    recognised = words.isin(TRUE_WORDS | FALSE_WORDS)
    return words.isin(TRUE_WORDS).astype(bool), ~recognised
