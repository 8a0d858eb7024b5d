"""Format: share property columns become typed attributes, following Hull's ingestion rules.

- **Names** are lower-cased; ``.`` and ``$`` are not allowed and are dropped (Hull ignores them silently); the
  share's ``PROPERTY_`` prefix is dropped and attributes are grouped by source with ``/``:
  ``PROPERTY_LIFECYCLESTAGE`` becomes ``hubspot/lifecyclestage``. A name that already has a group
  (``salesforce/rating``) keeps it. Two columns that end with the same name are a configuration error.
- **Dates**: a name ending in ``_at`` or ``_date`` is a date, read from ISO-8601 text or Unix epoch seconds or
  milliseconds (:func:`hubspot_pipeline.formatting.to_epoch_seconds`) into a UTC timestamp.
- **Other types** come from the first value: ``true``/``false`` (any case) makes a boolean, a number makes a
  number, anything else a string. "First" is the first non-empty value in row order or, when ``order_by`` is
  given, at the lowest ``order_by`` (the record id), so the type does not depend on the order rows arrive in.
  ``types`` pins a type by attribute name (HubSpot's ``createdate`` is a date whose name doesn't say so).
- **Casting**: a value that can't be cast to its attribute's type becomes null and is **reported** in
  :attr:`FormattedAttributes.errors` (record key, attribute, type, reason). The value itself is never copied
  into the report: it may be personal data typed into the wrong field. Empty text is null, not an error.

Everything is vectorised per column (pandas); there is no loop over rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from hubspot_pipeline.formatting import clean_identifier, clean_text, to_epoch_seconds, to_number

SOURCE = "hubspot"
DATE, NUMBER, BOOLEAN, STRING = "date", "number", "boolean", "string"
TYPES = (DATE, NUMBER, BOOLEAN, STRING)
BOOLEAN_TRUE = frozenset({"true", "yes", "y", "t", "1"})
BOOLEAN_FALSE = frozenset({"false", "no", "n", "f", "0"})
CAST_FAILURES = {
    DATE: "not an ISO-8601 date or Unix timestamp",
    NUMBER: "not a number",
    BOOLEAN: "not a boolean",
}
ERROR_COLUMNS = ["KEY", "ATTRIBUTE", "TYPE", "REASON"]
_NOT_ALLOWED = re.compile(r"[.$]")
_DATE_SUFFIX = re.compile(r"(_at|_date)$")


class AttributeFormatError(ValueError):
    """Two columns map to the same attribute name, or a pinned type is unknown."""


def attribute_name(column: str, source: str | None = SOURCE) -> str:
    """``PROPERTY_LIFECYCLESTAGE`` → ``hubspot/lifecyclestage``: lower-cased, ``.``/``$`` dropped, grouped by
    ``source`` (no group when ``source`` is None or the name already has one)."""
    name = _NOT_ALLOWED.sub("", str(column).strip().lower())
    name = name.removeprefix("property_")
    if not name:
        raise AttributeFormatError(f"column {column!r} leaves an empty attribute name")
    return name if source is None or "/" in name else f"{source}/{name}"


def is_date_name(name: str) -> bool:
    """Hull types an attribute whose name ends in ``_at`` or ``_date`` as a date."""
    return bool(_DATE_SUFFIX.search(name.rsplit("/", 1)[-1]))


def _first_value(values: pd.Series, order: pd.Series | None) -> object:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.dropna().iloc[0] if values.notna().any() else None
    text = clean_text(values)
    if order is not None:
        text = text.iloc[order.argsort(kind="stable").to_numpy()]
    present = text.dropna()
    return present.iloc[0] if len(present) else None


def detect_type(name: str, values: pd.Series, order: pd.Series | None = None) -> str:
    """The attribute's type: date by name, else from the first non-empty value (string if there is none)."""
    if is_date_name(name):
        return DATE
    if pd.api.types.is_bool_dtype(values):
        return BOOLEAN
    if pd.api.types.is_numeric_dtype(values):
        return NUMBER
    first = _first_value(values, order)
    if first is None:
        return STRING
    if str(first).lower() in ("true", "false"):
        return BOOLEAN
    if pd.notna(to_number(pd.Series([first])).iloc[0]):
        return NUMBER
    return STRING


def cast(values: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """Cast ``values`` to ``kind``; return the typed values and a mask of values that failed to cast."""
    if kind not in TYPES:
        raise AttributeFormatError(f"unknown attribute type {kind!r} (one of {', '.join(TYPES)})")
    if kind == STRING:
        typed = clean_text(values)
        return typed, pd.Series(False, index=values.index)
    if kind == BOOLEAN and pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), pd.Series(False, index=values.index)
    present = clean_text(values).notna()
    if kind == NUMBER:
        typed = to_number(values)
    elif kind == BOOLEAN:
        words = clean_text(values).str.lower()
        typed = pd.Series(pd.NA, index=values.index, dtype="boolean")
        typed[words.isin(BOOLEAN_TRUE).fillna(False).to_numpy(bool)] = True
        typed[words.isin(BOOLEAN_FALSE).fillna(False).to_numpy(bool)] = False
    else:
        typed = pd.to_datetime(to_epoch_seconds(values), unit="s", utc=True)
    failed = (present & typed.isna()).fillna(False).astype(bool)
    return typed, failed


@dataclass(frozen=True)
class FormattedAttributes:
    """Typed attributes of a set of records: ``values`` (the key column, then one column per attribute, rows
    as in the input), ``types`` (attribute name → type), ``errors`` (one row per value that failed to cast,
    ``KEY`` being the record's key as text) and ``columns`` (attribute name → the input column)."""

    values: pd.DataFrame
    types: dict[str, str]
    errors: pd.DataFrame
    columns: dict[str, str]

    def by_column(self) -> pd.DataFrame:
        """``values`` under the input's column names (for code written against the share's columns)."""
        return self.values.rename(columns=self.columns)

    def error_counts(self) -> dict[str, int]:
        """Failed casts per attribute, sorted by name."""
        return {
            str(name): int(count) for name, count in sorted(self.errors["ATTRIBUTE"].value_counts().items())
        }


def format_attributes(
    frame: pd.DataFrame,
    columns: Iterable[str],
    *,
    key: str,
    source: str | None = SOURCE,
    types: Mapping[str, str] | None = None,
    order_by: str | None = None,
) -> FormattedAttributes:
    """Format ``columns`` of ``frame`` into typed attributes, keyed by the ``key`` column.

    ``types`` pins types by attribute name (e.g. ``{"hubspot/createdate": "date"}``); ``order_by`` names the
    column that decides which value is "first" for type detection (default: row order).
    """
    pinned = dict(types or {})
    order = pd.to_numeric(frame[order_by], errors="coerce") if order_by else None
    values = {key: frame[key]}
    schema: dict[str, str] = {}
    errors = []
    sources: dict[str, str] = {}
    for column in columns:
        name = attribute_name(column, source)
        if name in sources:
            raise AttributeFormatError(
                f"columns {sources[name]!r} and {column!r} are both attribute {name!r}"
            )
        sources[name] = column
        kind = pinned.get(name) or detect_type(name, frame[column], order)
        typed, failed = cast(frame[column], kind)
        values[name], schema[name] = typed, kind
        if failed.any():
            errors.append(
                pd.DataFrame(
                    {
                        "KEY": clean_identifier(frame[key])[failed.to_numpy()].to_numpy(),
                        "ATTRIBUTE": name,
                        "TYPE": kind,
                        "REASON": f"{CAST_FAILURES[kind]}: set to null",
                    }
                )
            )
    error_frame = (
        pd.concat(errors, ignore_index=True) if errors else pd.DataFrame({name: [] for name in ERROR_COLUMNS})
    )
    return FormattedAttributes(pd.DataFrame(values, index=frame.index), schema, error_frame, sources)
