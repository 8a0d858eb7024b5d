"""The tables of HubSpot's Snowflake share as we emulate them, and how to (re)create and bulk-load them.

``PROPERTY_*`` columns are typed as the real share types them, by HubSpot property type: number properties
``NUMBER(38, 2)`` (money) or ``FLOAT`` (other numbers, ids of other records included), datetime properties
``TIMESTAMP_NTZ``, bool properties ``BOOLEAN``, text and enumerations ``VARCHAR``. The all-text variant
(``all_text=True``) makes every ``PROPERTY_*`` column VARCHAR, able to hold any dirty value the pipeline has
to survive. System columns carry their Snowflake types in both. The generators build property values as
text; :class:`ShareLoader` parses text into typed columns (:func:`typed_values`), so both variants hold the
same clean values.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.config import sql_identifier

# fakesnow 0.12 with DuckDB 2 warns on every statement it runs; the extra copy is harmless here
FAKESNOW_ARROW_WARNING = "Arrow output on a DB-API result makes an extra copy"

DEFAULT_DATABASE = "HUB_23826378_DB"
DEFAULT_SCHEMA = "V2_DAILY"
DEFAULT_EVENT_TABLE = "EVENTS_AWS_E_COMMERCE_INTERACTIONS"
ECOMMERCE_EVENT_TYPE_ID = "6-1234567"

OBJECT_TYPE_IDS = {
    "OBJECTS_CONTACTS": "0-1",
    "OBJECTS_COMPANIES": "0-2",
    "OBJECTS_DEALS": "0-3",
    "OBJECTS_PRODUCTS": "0-7",
    "OBJECTS_LINE_ITEMS": "0-8",
}

# first OBJECTID - 1 of each object type in local shares: disjoint ranges, so that an id joined against the
# wrong object type matches nothing
OBJECT_ID_BASES = {
    "OBJECTS_CONTACTS": 10_000_000_000,
    "OBJECTS_COMPANIES": 20_000_000_000,
    "OBJECTS_DEALS": 30_000_000_000,
    "OBJECTS_LINE_ITEMS": 40_000_000_000,
    "OBJECTS_PRODUCTS": 50_000_000_000,
}


def object_ids(table: str, count: int) -> np.ndarray:
    """The ``OBJECTID`` of ``count`` records of ``table`` in a local share: 1, 2, ... above its base."""
    return OBJECT_ID_BASES[table] + np.arange(1, count + 1)


Columns = tuple[tuple[str, str], ...]

# Snowflake types of HubSpot properties, by property type
TEXT = "VARCHAR"  # string, enumeration, phone number
MONEY = "NUMBER(38, 2)"  # number: amounts and prices
FLOAT = "FLOAT"  # number: counts, ages, quantities, ids of other records (as text they would match nothing)
DATETIME = "TIMESTAMP_NTZ"  # datetime, in UTC
BOOL = "BOOLEAN"  # bool (single checkbox)
# the Arrow type a text value is parsed into, per column type other than text
ARROW_TYPES = {
    "NUMBER": pa.int64(),
    MONEY: pa.decimal128(38, 2),
    FLOAT: pa.float64(),
    DATETIME: pa.timestamp("ms"),  # epoch-millisecond text is cast to it as is
    BOOL: pa.bool_(),
}

_OBJECT_SYSTEM_COLUMNS: Columns = (
    ("OBJECTID", "NUMBER"),
    ("OBJECTTYPEID", "VARCHAR"),
    ("UPDATEDAT", "TIMESTAMP_NTZ"),
    ("INGESTEDAT", "TIMESTAMP_NTZ"),
)


def _object_columns(*properties: tuple[str, str]) -> Columns:
    """The system columns, then a ``PROPERTY_<name>`` column per ``(name, type)``."""
    return _OBJECT_SYSTEM_COLUMNS + tuple((f"PROPERTY_{name}", sql_type) for name, sql_type in properties)


def _id_columns(*names: str) -> Columns:
    return tuple((name, "NUMBER") for name in names)


TABLES: dict[str, Columns] = {
    "OBJECTS_CONTACTS": _object_columns(
        ("EMAIL", TEXT),
        ("EXTERNAL_ID", TEXT),
        ("FIRSTNAME", TEXT),
        ("LASTNAME", TEXT),
        ("PHONE", TEXT),
        ("AGE", FLOAT),
        ("GENDER", TEXT),
        ("CREATEDATE", DATETIME),
        ("LIFECYCLESTAGE", TEXT),
        ("HS_ANALYTICS_SOURCE", TEXT),
        ("VISITOR_ID", TEXT),
    ),
    "OBJECTS_COMPANIES": _object_columns(
        ("NAME", TEXT),
        ("DOMAIN", TEXT),
        ("EXTERNAL_ID", TEXT),
        ("INDUSTRY", TEXT),
        ("NUMBEROFEMPLOYEES", FLOAT),
        ("CREATEDATE", DATETIME),
    ),
    "OBJECTS_PRODUCTS": _object_columns(
        ("NAME", TEXT),
        ("EXTERNAL_ID", TEXT),
        ("PRICE", MONEY),
        ("DESCRIPTION", TEXT),
        ("CATEGORY_LEVEL_1", TEXT),
        ("CATEGORY_LEVEL_2", TEXT),
        ("GENDER", TEXT),
        ("PROMOTED", BOOL),
        ("HS_SKU", TEXT),
        ("CREATEDATE", DATETIME),
    ),
    "OBJECTS_DEALS": _object_columns(
        ("DEALNAME", TEXT),
        ("PIPELINE", TEXT),
        ("DEALSTAGE", TEXT),
        ("AMOUNT", MONEY),
        ("CREATEDATE", DATETIME),
        ("CLOSEDATE", DATETIME),
        ("CART_DISCOUNT", TEXT),
    ),
    "OBJECTS_LINE_ITEMS": _object_columns(
        ("NAME", TEXT),
        ("HS_PRODUCT_ID", FLOAT),
        ("PRICE", MONEY),
        ("QUANTITY", FLOAT),
        ("AMOUNT", MONEY),
        ("CREATEDATE", DATETIME),
    ),
    "ASSOCIATIONS_CONTACTS_TO_COMPANIES": _id_columns("CONTACT_OBJECTID", "COMPANY_OBJECTID"),
    "ASSOCIATIONS_DEALS_TO_CONTACTS": _id_columns("DEAL_OBJECTID", "CONTACT_OBJECTID"),
    "ASSOCIATIONS_DEALS_TO_COMPANIES": _id_columns("DEAL_OBJECTID", "COMPANY_OBJECTID"),
    "ASSOCIATIONS_LINE_ITEMS_TO_DEALS": _id_columns("LINE_ITEM_OBJECTID", "DEAL_OBJECTID"),
    "PIPELINES": (
        ("PIPELINEID", "VARCHAR"),
        ("OBJECTTYPEID", "VARCHAR"),
        ("LABEL", "VARCHAR"),
        ("DISPLAYORDER", "NUMBER"),
    ),
    "PIPELINE_STAGES": (
        ("PIPELINEID", "VARCHAR"),
        ("STAGEID", "VARCHAR"),
        ("LABEL", "VARCHAR"),
        ("DISPLAYORDER", "NUMBER"),
        ("ISCLOSED", "BOOLEAN"),
        ("PROBABILITY", "VARCHAR"),
    ),
}

EVENT_COLUMNS: Columns = (
    ("ID", "VARCHAR"),
    ("OBJECTID", "NUMBER"),
    ("EVENTTYPEID", "VARCHAR"),
    ("OCCURREDAT", "TIMESTAMP_NTZ"),
    ("PROPERTY_EVENT_TYPE", TEXT),
    ("PROPERTY_ITEM_ID", TEXT),
    ("PROPERTY_USER_ID", TEXT),
    ("PROPERTY_ITEM_PRICE", FLOAT),
    ("PROPERTY_ITEM_DISCOUNT", TEXT),
    ("PROPERTY_ITEM_NAME", TEXT),
)


def as_all_text(columns: Columns) -> Columns:
    """``columns`` with every ``PROPERTY_*`` column VARCHAR."""
    return tuple((name, TEXT if name.startswith("PROPERTY_") else sql_type) for name, sql_type in columns)


def share_tables(event_table: str = DEFAULT_EVENT_TABLE, *, all_text: bool = False) -> dict[str, Columns]:
    """Every table of the share, the custom event table under its configured name included; with
    ``all_text``, every ``PROPERTY_*`` column VARCHAR."""
    tables = {**TABLES, event_table: EVENT_COLUMNS}
    return {table: as_all_text(columns) for table, columns in tables.items()} if all_text else tables


@dataclass(frozen=True)
class DealStage:
    """One deal stage of a pipeline (a row of ``PIPELINE_STAGES``, without its pipeline and position)."""

    stage_id: str
    label: str
    is_closed: bool
    probability: str


ECOMMERCE_PIPELINE_ID = "ecommerce"
CHECKOUT_PENDING_STAGE_ID = "57441672"
CHECKOUT_COMPLETED_STAGE_ID = "57441673"
SALES_PIPELINE_ID = "default"

DEAL_PIPELINES = {SALES_PIPELINE_ID: "Sales Pipeline", ECOMMERCE_PIPELINE_ID: "eCommerce"}
DEAL_STAGES: dict[str, tuple[DealStage, ...]] = {
    SALES_PIPELINE_ID: (
        DealStage("appointmentscheduled", "Appointment Scheduled", False, "0.2"),
        DealStage("qualifiedtobuy", "Qualified To Buy", False, "0.4"),
        DealStage("presentationscheduled", "Presentation Scheduled", False, "0.6"),
        DealStage("decisionmakerboughtin", "Decision Maker Bought-In", False, "0.8"),
        DealStage("contractsent", "Contract Sent", False, "0.9"),
        DealStage("closedwon", "Closed Won", True, "1.0"),
        DealStage("closedlost", "Closed Lost", True, "0.0"),
    ),
    ECOMMERCE_PIPELINE_ID: (
        DealStage(CHECKOUT_PENDING_STAGE_ID, "Checkout Pending", False, "0.5"),
        DealStage(CHECKOUT_COMPLETED_STAGE_ID, "Checkout Completed", True, "1.0"),
    ),
}


def pipeline_tables(
    pipelines: dict[str, str] = DEAL_PIPELINES, stages: dict[str, tuple[DealStage, ...]] = DEAL_STAGES
) -> dict[str, pa.Table]:
    """Rows of ``PIPELINES`` and ``PIPELINE_STAGES`` for ``pipelines`` (id: label) and their ``stages``; by
    default HubSpot's default sales pipeline and the tutorial's."""
    pipeline_rows = pa.Table.from_pylist(
        [
            {
                "PIPELINEID": pipeline_id,
                "OBJECTTYPEID": OBJECT_TYPE_IDS["OBJECTS_DEALS"],
                "LABEL": label,
                "DISPLAYORDER": order,
            }
            for order, (pipeline_id, label) in enumerate(pipelines.items())
        ]
    )
    stage_rows = pa.Table.from_pylist(
        [
            {
                "PIPELINEID": pipeline_id,
                "STAGEID": stage.stage_id,
                "LABEL": stage.label,
                "DISPLAYORDER": order,
                "ISCLOSED": stage.is_closed,
                "PROBABILITY": stage.probability,
            }
            for pipeline_id, pipeline_stages in stages.items()
            for order, stage in enumerate(pipeline_stages)
        ]
    )
    return {"PIPELINES": pipeline_rows, "PIPELINE_STAGES": stage_rows}


class Connection(Protocol):
    """The part of a DB-API connection (snowflake.connector or fakesnow) that ``create_share`` uses."""

    def cursor(self) -> Any: ...


def qualified_name(*names: str) -> str:
    """``"A"."B"."C"`` from plain identifiers, validated and upper-cased (how Snowflake stores them)."""
    return ".".join(f'"{sql_identifier(name, "identifier")}"' for name in names)


def create_table_sql(database: str, schema: str, table: str, columns: Columns) -> str:
    """``CREATE OR REPLACE TABLE`` for one share table, in Snowflake SQL."""
    column_sql = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
    return f"CREATE OR REPLACE TABLE {qualified_name(database, schema, table)} ({column_sql})"


def create_share(
    target: Connection | str | os.PathLike,
    database: str = DEFAULT_DATABASE,
    schema: str = DEFAULT_SCHEMA,
    event_table: str = DEFAULT_EVENT_TABLE,
    *,
    all_text: bool = False,
    tables: dict[str, Columns] | None = None,
) -> None:
    """(Re)create the share's tables, empty, in ``database.schema``.

    ``target`` is an open Snowflake (or fakesnow) connection, or a fakesnow ``db_path`` directory, where the
    database lives in ``<target>/<database>.db``. The tables are ``tables`` if given, else
    :func:`share_tables` (``event_table``, ``all_text``). Existing share tables are replaced; other tables
    are kept.
    """
    tables = share_tables(event_table, all_text=all_text) if tables is None else tables
    if isinstance(target, str | os.PathLike):
        with _fakesnow(target, database, schema) as (connection, _):
            create_share(connection, database, schema, tables=tables)
        return
    cursor = target.cursor()
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {qualified_name(database)}")
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified_name(database, schema)}")
    for table, columns in tables.items():
        cursor.execute(create_table_sql(database, schema, table, columns))


def database_file(db_path: str | os.PathLike, database: str = DEFAULT_DATABASE) -> Path:
    """The DuckDB file in which fakesnow keeps ``database`` under ``db_path``."""
    return Path(db_path) / f"{database.upper()}.db"


def remove_database(db_path: str | os.PathLike, database: str = DEFAULT_DATABASE) -> None:
    """Delete ``database``'s DuckDB file and write-ahead log, if any, so it can be rebuilt from scratch."""
    data_file = database_file(db_path, database)
    for path in (data_file, data_file.with_name(data_file.name + ".wal")):
        path.unlink(missing_ok=True)


@contextmanager
def _fakesnow(db_path: str | os.PathLike, database: str, schema: str) -> Generator[tuple[Any, Any]]:
    """A fakesnow connection to ``database.schema`` in ``db_path`` and its DuckDB connection; closes both."""
    from fakesnow.instance import FakeSnow

    Path(db_path).mkdir(parents=True, exist_ok=True)
    fake_snow = FakeSnow(db_path=str(db_path))
    try:
        with warnings.catch_warnings(), fake_snow.connect(database, schema) as connection:
            warnings.filterwarnings("ignore", message=FAKESNOW_ARROW_WARNING, category=UserWarning)
            yield connection, fake_snow.duck_conn
    finally:
        fake_snow.duck_conn.close()


def _timestamps_from_text(values: pa.Array) -> pa.Array:
    """HubSpot datetime text (ISO-8601 in UTC, ``T…Z`` or space style, or epoch milliseconds), parsed."""
    empty = pa.scalar(None, pa.string())
    epoch = pc.match_substring_regex(values, r"^-?[0-9]+$")
    from_epoch = pc.cast(pc.cast(pc.if_else(epoch, values, empty), pa.int64()), ARROW_TYPES[DATETIME])
    iso = pc.replace_substring_regex(pc.if_else(epoch, empty, values), r"Z$", "")
    return pc.if_else(epoch, from_epoch, pc.cast(iso, ARROW_TYPES[DATETIME]))


def typed_values(values: pa.Array, sql_type: str) -> pa.Array:
    """``values`` as a column of ``sql_type`` holds them: text is parsed (empty text is NULL, as HubSpot
    stores an unset property), other arrays are kept. Text the type cannot hold raises ``ArrowInvalid``."""
    if sql_type == TEXT or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values.cast(pa.string()))
    if sql_type == DATETIME:
        return _timestamps_from_text(values)
    return pc.cast(values, ARROW_TYPES[sql_type])


class ShareLoader:
    """Bulk-appends Arrow tables or DataFrames to the share's tables and counts the rows it wrote."""

    def __init__(self, duck_connection: Any, database: str, schema: str, tables: dict[str, Columns]):
        self._duck = duck_connection
        self._database = database
        self._schema = schema
        self.tables = tables
        self.row_counts = dict.fromkeys(tables, 0)

    def append(self, table: str, rows: pa.Table | Any) -> None:
        """Insert ``rows``, an Arrow table or a DataFrame with exactly the table's columns, into ``table``;
        text in typed columns is parsed (:func:`typed_values`)."""
        columns = self.tables[table]
        given = rows.column_names if isinstance(rows, pa.Table) else list(rows.columns)
        names = [name for name, _ in columns]
        if set(given) != set(names):
            raise ValueError(
                f"{table}: columns differ from the share's, missing {sorted(set(names) - set(given))}, "
                f"unexpected {sorted(set(given) - set(names))}"
            )
        arrow_rows = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows, preserve_index=False)
        typed = pa.table(
            {name: typed_values(arrow_rows[name].combine_chunks(), sql_type) for name, sql_type in columns}
        )
        self._duck.from_arrow(typed).insert_into(qualified_name(self._database, self._schema, table))
        self.row_counts[table] += len(rows)


@contextmanager
def rebuilt_database(
    db_path: str | os.PathLike,
    database: str,
    schema: str,
    tables: dict[str, Columns],
    pipelines: dict[str, pa.Table],
) -> Generator[ShareLoader]:
    """Delete ``database``'s file, create ``tables`` empty in a new one and yield a loader for them.

    ``pipelines`` (rows per table, see :func:`pipeline_tables`) are loaded first. The file is closed (and so
    unlocked) when the block ends.
    """
    remove_database(db_path, database)
    with _fakesnow(db_path, database, schema) as (connection, duck_connection):
        create_share(connection, database, schema, tables=tables)
        loader = ShareLoader(duck_connection, database, schema, tables)
        for table, rows in pipelines.items():
            loader.append(table, rows)
        yield loader


@contextmanager
def rebuilt_share(
    db_path: str | os.PathLike,
    database: str = DEFAULT_DATABASE,
    schema: str = DEFAULT_SCHEMA,
    event_table: str = DEFAULT_EVENT_TABLE,
    *,
    all_text: bool = False,
) -> Generator[ShareLoader]:
    """:func:`rebuilt_database` of the share's tables (:func:`share_tables`), the pipeline tables filled
    with HubSpot's default sales pipeline and the tutorial's."""
    tables = share_tables(event_table, all_text=all_text)
    with rebuilt_database(db_path, database, schema, tables, pipeline_tables()) as loader:
        yield loader
