"""The share as it really is: its tables and column types from one ``INFORMATION_SCHEMA.COLUMNS`` query,
and the SQL the templates use to read each configured property whatever its type.

Templates never name a property column themselves: they call the :class:`ColumnReader` they are rendered
with (``read``), which

- reads a property as text the pipeline parses the same way whatever the column's type: text as it is,
  numbers as ``TO_VARCHAR``, timestamps (``TIMESTAMP_NTZ/LTZ/TZ``, ``DATE``) as epoch milliseconds,
  booleans as ``true`` / ``false`` (NULL stays NULL), so nothing depends on the session's output formats
  or time zone (and :meth:`ColumnReader.utc` gives a system timestamp's UTC day);
- reads an id that joins two tables as a number (a ``FLOAT`` or text id compared as text can match nothing);
- reads an optional property missing from the share (or configured as null) as NULL, and notes it; a
  property only the other export uses (``PropertyField.used_by``) reads as NULL, unchecked;
- notes every required table, system column and property missing from the share, so a task names them all
  at once (:meth:`ColumnReader.check`) before it runs any query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubspot_pipeline.config.properties import EVENT_TABLE, PROPERTY_FIELDS, SHARE_TABLES, PropertyField
from hubspot_pipeline.config.settings import ShareConfig

TIMESTAMP_TYPES = frozenset({"TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "TIMESTAMP", "DATETIME"})
NUMBER_TYPES = frozenset(
    {"NUMBER", "DECIMAL", "NUMERIC", "INT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE", "REAL"}
)
TEXT = "TEXT"
NULL_TEXT = "CAST(NULL AS VARCHAR)"
EMPTY_FIELDS_KEY = "empty_fields.json"  # a run's staged :func:`empty_fields`, from extract to publish


@dataclass(frozen=True)
class ShareColumns:
    """Each table's columns and their ``DATA_TYPE`` (upper-case names), as the share reports them; or,
    with ``assumed``, every configured column taken to exist as text (rendering without a connection)."""

    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    assumed: bool = False

    def type_of(self, table: str, column: str) -> str | None:
        """The column's type, or None when the share has no such column."""
        if self.assumed:
            return TEXT
        return self.tables.get(table, {}).get(column)

    def has_table(self, table: str) -> bool:
        return self.assumed or table in self.tables

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[Any, Any, Any]]) -> ShareColumns:
        """From ``(TABLE_NAME, COLUMN_NAME, DATA_TYPE)`` rows."""
        tables: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            tables.setdefault(str(table).upper(), {})[str(column).upper()] = str(data_type).upper()
        return cls(tables)


ASSUMED_TEXT = ShareColumns(assumed=True)


@dataclass(frozen=True)
class MissingColumn:
    """A table or column the share lacks: what it is for, and the configuration key that names it."""

    table: str
    column: str | None  # None: the table itself
    key: str
    required: bool
    used_for: str = ""

    def reason(self) -> str:
        """Why the field reads empty (an optional one) or the task cannot run (a required one)."""
        if self.column is None:
            return (
                "set to null"
                if self.key.startswith("properties.")
                else f"the share has no table {self.table}"
            )
        return f"{self.table} has no column {self.column}"

    def describe(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        return f"{where} ({self.key}{'; ' + self.used_for if self.used_for else ''})"


def quoted(name: str) -> str:
    """A name already checked as a plain identifier, quoted."""
    return f'"{name}"'


class ColumnReader:
    """The SQL reading the share's tables and properties for one rendered query (see the module)."""

    def __init__(
        self,
        share: ShareConfig,
        columns: ShareColumns,
        export: str | None = None,
        anonymous_id_columns: Mapping[str, str] | None = None,
    ):
        self.share, self.columns, self.export = share, columns, export
        self.anonymous_id_columns = dict(anonymous_id_columns or {})  # output alias → contacts column
        self.missing: dict[tuple[str, str | None, str], MissingColumn] = {}

    def table_name(self, table: str) -> str:
        return self.share.event_table if table == EVENT_TABLE else SHARE_TABLES[table].name

    def table(self, table: str) -> str:
        """The quoted, qualified name of a share table (``SHARE_TABLES`` key), its system columns checked."""
        name = self.table_name(table)
        key = "share.event_table" if table == EVENT_TABLE else "share.database / share.schema"
        if not self.columns.has_table(name):
            self._note(MissingColumn(name, None, key, True))
        else:
            for column in SHARE_TABLES[table].system_columns:
                if self.columns.type_of(name, column) is None:
                    self._note(MissingColumn(name, column, f"{key} (a HubSpot system column)", True))
        return ".".join(quoted(part) for part in (self.share.database, self.share.schema, name))

    def text(self, obj: str, field_name: str, alias: str = "") -> str:
        """A property as text: see the module docstring; NULL when absent and optional."""
        column, data_type = self._property(obj, field_name)
        if data_type is None:
            return NULL_TEXT
        return as_text(qualify(alias, column), data_type)

    def number(self, obj: str, field_name: str, alias: str = "") -> str:
        """A property that is an id of another record, as a number (NULL when it is not one)."""
        column, data_type = self._property(obj, field_name)
        if data_type is None:
            return "CAST(NULL AS NUMBER)"
        return as_number(qualify(alias, column), data_type)

    def anonymous_ids(self) -> list[tuple[str, str]]:
        """``(expression, quoted alias)`` for each anonymous-id property (``identity.anonymous_ids``): text,
        NULL when the share lacks it (they are optional). Noted only when a template reads them."""
        table = SHARE_TABLES["contacts"].name
        pairs = []
        for name, column in self.anonymous_id_columns.items():
            data_type = self.columns.type_of(table, column)
            if data_type is None:
                self._note(
                    MissingColumn(table, column, "identity.anonymous_ids", False, "an anonymous-id property")
                )
            pairs.append(
                (NULL_TEXT if data_type is None else as_text(quoted(column), data_type), quoted(name))
            )
        return pairs

    def boolean(self, table: str, column: str, alias: str = "") -> str:
        """A system column holding a boolean, as BOOLEAN whether the share types it so or as text."""
        data_type = self.columns.type_of(self.table_name(table), column) or TEXT
        expression = qualify(alias, column)
        return expression if data_type == "BOOLEAN" else f"TRY_TO_BOOLEAN(TO_VARCHAR({expression}))"

    def utc(self, table: str, column: str) -> str:
        """A system timestamp column as UTC wall-clock time (``TIMESTAMP_NTZ``), so its ``TO_DATE`` is the
        UTC day: a ``TIMESTAMP_TZ`` / ``LTZ`` column converted (Snowflake takes the day of a TZ value in
        its own offset), any other as it is."""
        data_type = self.columns.type_of(self.table_name(table), column)
        if data_type in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ"):
            return f"CAST(CONVERT_TIMEZONE('UTC', {quoted(column)}) AS TIMESTAMP_NTZ)"
        return quoted(column)

    def _property(self, obj: str, field_name: str) -> tuple[str, str | None]:
        spec: PropertyField = PROPERTY_FIELDS[(obj, field_name)]
        column = self.share.properties.get((obj, field_name))
        table = self.table_name(obj)
        if self.export is not None and self.export not in spec.used_by:  # read by the other export only
            return "", None
        if column is None:  # configured as null: the portal has no such property
            self._note(MissingColumn(table, None, spec.key, False, spec.used_for + " — set to null"))
            return "", None
        data_type = self.columns.type_of(table, column)
        if data_type is None and self.columns.has_table(table):
            self._note(MissingColumn(table, column, spec.key, spec.required, spec.used_for))
        return column, data_type

    def _note(self, missing: MissingColumn) -> None:
        self.missing.setdefault((missing.table, missing.column, missing.key), missing)

    @property
    def missing_required(self) -> list[MissingColumn]:
        return [each for each in self.missing.values() if each.required]


def qualify(alias: str, column: str) -> str:
    """``alias."COLUMN"``, or ``"COLUMN"`` without an alias."""
    return f"{alias}.{quoted(column)}" if alias else quoted(column)


def as_text(expression: str, data_type: str) -> str:
    """``expression`` (a column of ``data_type``) as the text the pipeline parses, independent of the
    session's formats: timestamps as epoch milliseconds; numbers, and booleans (``true`` / ``false``), as
    ``TO_VARCHAR`` writes them; NULL stays NULL."""
    if data_type in TIMESTAMP_TYPES:
        return f"TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, {expression}))"
    if data_type == "DATE":
        return f"TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, CAST({expression} AS TIMESTAMP_NTZ)))"
    return f"TO_VARCHAR({expression})"


def as_number(expression: str, data_type: str) -> str:
    """``expression`` (an id of another record) as a whole number: typed numbers cast, text parsed."""
    if data_type in NUMBER_TYPES:
        return f"CAST({expression} AS NUMBER(38, 0))"
    return f"TRY_TO_NUMBER(TRIM(TO_VARCHAR({expression})))"


def empty_fields(missing: Iterable[MissingColumn]) -> dict[str, str]:
    """The optional fields a run read as NULL, by configuration key (an anonymous id by its column too),
    with why: for the manifest's and the report's ``empty_fields``."""
    return {
        (each.key if each.key.startswith("properties.") else f"{each.key}: {each.column}"): each.reason()
        for each in missing
        if not each.required
    }
