"""The tables of HubSpot's Snowflake share as we emulate them, and how to (re)create and bulk-load them.

Every ``PROPERTY_*`` column is VARCHAR: HubSpot property values are loosely typed, and the local share must be
able to hold the dirty values the pipeline has to survive. System columns carry their Snowflake types.
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

_OBJECT_SYSTEM_COLUMNS: Columns = (
    ("OBJECTID", "NUMBER"),
    ("OBJECTTYPEID", "VARCHAR"),
    ("UPDATEDAT", "TIMESTAMP_NTZ"),
    ("INGESTEDAT", "TIMESTAMP_NTZ"),
)


def _object_columns(*properties: str) -> Columns:
    return _OBJECT_SYSTEM_COLUMNS + tuple((f"PROPERTY_{name}", "VARCHAR") for name in properties)


def _id_columns(*names: str) -> Columns:
    return tuple((name, "NUMBER") for name in names)


TABLES: dict[str, Columns] = {
    "OBJECTS_CONTACTS": _object_columns(
        "EMAIL",
        "EXTERNAL_ID",
        "FIRSTNAME",
        "LASTNAME",
        "PHONE",
        "AGE",
        "GENDER",
        "CREATEDATE",
        "LIFECYCLESTAGE",
        "HS_ANALYTICS_SOURCE",
        "VISITOR_ID",
    ),
    "OBJECTS_COMPANIES": _object_columns(
        "NAME",
        "DOMAIN",
        "EXTERNAL_ID",
        "INDUSTRY",
        "NUMBEROFEMPLOYEES",
        "CREATEDATE",
    ),
    "OBJECTS_PRODUCTS": _object_columns(
        "NAME",
        "EXTERNAL_ID",
        "PRICE",
        "DESCRIPTION",
        "CATEGORY_LEVEL_1",
        "CATEGORY_LEVEL_2",
        "GENDER",
        "PROMOTED",
        "HS_SKU",
        "CREATEDATE",
    ),
    "OBJECTS_DEALS": _object_columns(
        "DEALNAME",
        "PIPELINE",
        "DEALSTAGE",
        "AMOUNT",
        "CREATEDATE",
        "CLOSEDATE",
        "CART_DISCOUNT",
    ),
    "OBJECTS_LINE_ITEMS": _object_columns(
        "NAME",
        "HS_PRODUCT_ID",
        "PRICE",
        "QUANTITY",
        "AMOUNT",
        "CREATEDATE",
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
    ("PROPERTY_EVENT_TYPE", "VARCHAR"),
    ("PROPERTY_ITEM_ID", "VARCHAR"),
    ("PROPERTY_USER_ID", "VARCHAR"),
    ("PROPERTY_ITEM_PRICE", "VARCHAR"),
    ("PROPERTY_ITEM_DISCOUNT", "VARCHAR"),
    ("PROPERTY_ITEM_NAME", "VARCHAR"),
)


def share_tables(event_table: str = DEFAULT_EVENT_TABLE) -> dict[str, Columns]:
    """Every table of the share, the custom event table under its configured name included."""
    return {**TABLES, event_table: EVENT_COLUMNS}


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


def pipeline_tables() -> dict[str, pa.Table]:
    """Rows of ``PIPELINES`` and ``PIPELINE_STAGES``: HubSpot's default sales pipeline and the tutorial's."""
    pipelines = pa.Table.from_pylist(
        [
            {
                "PIPELINEID": pipeline_id,
                "OBJECTTYPEID": OBJECT_TYPE_IDS["OBJECTS_DEALS"],
                "LABEL": label,
                "DISPLAYORDER": order,
            }
            for order, (pipeline_id, label) in enumerate(DEAL_PIPELINES.items())
        ]
    )
    stages = pa.Table.from_pylist(
        [
            {
                "PIPELINEID": pipeline_id,
                "STAGEID": stage.stage_id,
                "LABEL": stage.label,
                "DISPLAYORDER": order,
                "ISCLOSED": stage.is_closed,
                "PROBABILITY": stage.probability,
            }
            for pipeline_id, pipeline_stages in DEAL_STAGES.items()
            for order, stage in enumerate(pipeline_stages)
        ]
    )
    return {"PIPELINES": pipelines, "PIPELINE_STAGES": stages}


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
) -> None:
    """(Re)create the share's tables, empty, in ``database.schema``.

    ``target`` is an open Snowflake (or fakesnow) connection, or a fakesnow ``db_path`` directory, where the
    database lives in ``<target>/<database>.db``. Existing share tables are replaced; other tables are kept.
    """
    if isinstance(target, str | os.PathLike):
        with _fakesnow(target, database, schema) as (connection, _):
            create_share(connection, database, schema, event_table)
        return
    cursor = target.cursor()
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {qualified_name(database)}")
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified_name(database, schema)}")
    for table, columns in share_tables(event_table).items():
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


class ShareLoader:
    """Bulk-appends Arrow tables or DataFrames to the share's tables and counts the rows it wrote."""

    def __init__(self, duck_connection: Any, database: str, schema: str, tables: dict[str, Columns]):
        self._duck = duck_connection
        self._database = database
        self._schema = schema
        self._tables = tables
        self.row_counts = dict.fromkeys(tables, 0)

    def append(self, table: str, rows: pa.Table | Any) -> None:
        """Insert ``rows``, an Arrow table or a DataFrame with exactly the table's columns, into ``table``."""
        names = [name for name, _ in self._tables[table]]
        given = rows.column_names if isinstance(rows, pa.Table) else list(rows.columns)
        if set(given) != set(names):
            raise ValueError(
                f"{table}: columns differ from the share's, missing {sorted(set(names) - set(given))}, "
                f"unexpected {sorted(set(given) - set(names))}"
            )
        relation = (
            self._duck.from_arrow(rows.select(names))
            if isinstance(rows, pa.Table)
            else self._duck.from_df(rows[names])
        )
        relation.insert_into(qualified_name(self._database, self._schema, table))
        self.row_counts[table] += len(rows)


@contextmanager
def rebuilt_share(
    db_path: str | os.PathLike,
    database: str = DEFAULT_DATABASE,
    schema: str = DEFAULT_SCHEMA,
    event_table: str = DEFAULT_EVENT_TABLE,
) -> Generator[ShareLoader]:
    """Delete ``database``'s file, create the empty share in a new one and yield a loader for its tables.

    The file is closed (and so unlocked) when the block ends; the pipeline tables are filled already.
    """
    remove_database(db_path, database)
    with _fakesnow(db_path, database, schema) as (connection, duck_connection):
        create_share(connection, database, schema, event_table)
        loader = ShareLoader(duck_connection, database, schema, share_tables(event_table))
        for table, rows in pipeline_tables().items():
            loader.append(table, rows)
        yield loader
