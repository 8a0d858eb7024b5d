"""A share shaped like a minimal real portal, unlike the tutorial's in every way a portal may differ.

What :func:`generate_minimal_portal_share` writes, beside the generated share of the same seed and sizes:

- other names: database :data:`MINIMAL_PORTAL_DATABASE`, schema :data:`MINIMAL_PORTAL_SCHEMA` (the live
  one), event table :data:`MINIMAL_PORTAL_EVENT_TABLE`;
- only HubSpot's default properties plus the tutorial's custom ones (products: External ID, Category Level
  1 and 2, Gender, Promoted; contacts: External ID, Age; deals: Cart Discount; nothing on companies): no
  company ``PROPERTY_EXTERNAL_ID``, no contact ``PROPERTY_VISITOR_ID`` or ``PROPERTY_GENDER``
  (:data:`ABSENT_PROPERTIES`). The tutorial's custom properties keep the internal names its queries use;
- the cart pipeline is ``12345678`` "Online Store" with stages ``98765001`` "Cart" and ``98765002`` "Paid",
  beside HubSpot's default sales pipeline; event types have the store's own names
  (:data:`MINIMAL_PORTAL_EVENT_TYPES`);
- association tables carry ``ASSOCIATIONTYPEID``, a pair once per association type: contact and deal to
  company pairs twice (primary and unlabeled), so a query that does not deduplicate pairs repeats rows;
- typed property columns, clean unless ``dirty_share`` says otherwise (then only dirt the types can hold).

``tests/share/minimal_portal.yaml`` is the configuration override this portal needs.
"""

from __future__ import annotations

import os
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.local.generator.rows import DEFAULT_END_DATE, share_rows
from hubspot_pipeline.local.share_schema import (
    CHECKOUT_COMPLETED_STAGE_ID,
    CHECKOUT_PENDING_STAGE_ID,
    DEAL_STAGES,
    ECOMMERCE_PIPELINE_ID,
    SALES_PIPELINE_ID,
    Columns,
    DealStage,
    pipeline_tables,
    rebuilt_database,
    share_tables,
)

MINIMAL_PORTAL_DATABASE = "HUB_99887766_DB"
MINIMAL_PORTAL_SCHEMA = "V2_LIVE"
MINIMAL_PORTAL_EVENT_TABLE = "EVENTS_SHOP_INTERACTIONS"

ONLINE_STORE_PIPELINE_ID = "12345678"
CART_STAGE_ID = "98765001"
PAID_STAGE_ID = "98765002"
MINIMAL_PORTAL_PIPELINES = {SALES_PIPELINE_ID: "Sales Pipeline", ONLINE_STORE_PIPELINE_ID: "Online Store"}
MINIMAL_PORTAL_STAGES = {
    SALES_PIPELINE_ID: DEAL_STAGES[SALES_PIPELINE_ID],
    ONLINE_STORE_PIPELINE_ID: (
        DealStage(CART_STAGE_ID, "Cart", False, "0.5"),
        DealStage(PAID_STAGE_ID, "Paid", True, "1.0"),
    ),
}
# the generated share's event type -> this portal's
MINIMAL_PORTAL_EVENT_TYPES = {
    "View": "product_viewed",
    "AddToCart": "added_to_cart",
    "ViewCart": "cart_viewed",
    "StartCheckout": "checkout_started",
    "Purchase": "order_completed",
}
# (table, column) -> {the generated share's value: this portal's}
RENAMED_VALUES = {
    ("OBJECTS_DEALS", "PROPERTY_PIPELINE"): {ECOMMERCE_PIPELINE_ID: ONLINE_STORE_PIPELINE_ID},
    ("OBJECTS_DEALS", "PROPERTY_DEALSTAGE"): {
        CHECKOUT_PENDING_STAGE_ID: CART_STAGE_ID,
        CHECKOUT_COMPLETED_STAGE_ID: PAID_STAGE_ID,
    },
    (MINIMAL_PORTAL_EVENT_TABLE, "PROPERTY_EVENT_TYPE"): MINIMAL_PORTAL_EVENT_TYPES,
}
# properties of the generated share that are neither HubSpot defaults nor created by the tutorial
ABSENT_PROPERTIES = {"OBJECTS_COMPANIES": ("EXTERNAL_ID",), "OBJECTS_CONTACTS": ("GENDER", "VISITOR_ID")}

ASSOCIATION_TYPE_COLUMN = "ASSOCIATIONTYPEID"
PRIMARY_CONTACT_TO_COMPANY, UNLABELED_CONTACT_TO_COMPANY = 1, 279
PRIMARY_DEAL_TO_COMPANY, UNLABELED_DEAL_TO_COMPANY = 5, 341
DEAL_TO_CONTACT, LINE_ITEM_TO_DEAL = 3, 20
# HubSpot's association type ids (v4 associations) each pair is written with, one row per type
ASSOCIATION_TYPE_IDS = {
    "ASSOCIATIONS_CONTACTS_TO_COMPANIES": (PRIMARY_CONTACT_TO_COMPANY, UNLABELED_CONTACT_TO_COMPANY),
    "ASSOCIATIONS_DEALS_TO_CONTACTS": (DEAL_TO_CONTACT,),
    "ASSOCIATIONS_DEALS_TO_COMPANIES": (PRIMARY_DEAL_TO_COMPANY, UNLABELED_DEAL_TO_COMPANY),
    "ASSOCIATIONS_LINE_ITEMS_TO_DEALS": (LINE_ITEM_TO_DEAL,),
}


def minimal_portal_tables() -> dict[str, Columns]:
    """The minimal portal's tables: the typed share's without :data:`ABSENT_PROPERTIES`, associations with
    their type."""
    tables = {}
    for table, columns in share_tables(MINIMAL_PORTAL_EVENT_TABLE).items():
        absent = {f"PROPERTY_{name}" for name in ABSENT_PROPERTIES.get(table, ())}
        kept = tuple(column for column in columns if column[0] not in absent)
        association_type = ((ASSOCIATION_TYPE_COLUMN, "NUMBER"),) if table in ASSOCIATION_TYPE_IDS else ()
        tables[table] = kept + association_type
    return tables


def _renamed(values: pa.Array, renames: dict[str, str]) -> pa.Array:
    """``values`` with each key of ``renames`` replaced by its value; other values kept."""
    positions = pc.index_in(values, value_set=pa.array(list(renames)))
    return pc.if_else(pc.is_null(positions), values, pa.array(list(renames.values())).take(positions))


def _portal_rows(table: str, rows: pa.Table, tables: dict[str, Columns]) -> pa.Table:
    """Generated ``rows`` of ``table`` as the minimal portal holds them."""
    rows = rows.select([name for name, _ in tables[table] if name != ASSOCIATION_TYPE_COLUMN])
    for (renamed_table, column), renames in RENAMED_VALUES.items():
        if renamed_table == table:
            position = rows.schema.get_field_index(column)
            rows = rows.set_column(position, column, _renamed(rows[column].combine_chunks(), renames))
    if table not in ASSOCIATION_TYPE_IDS:
        return rows
    return pa.concat_tables(
        rows.append_column(ASSOCIATION_TYPE_COLUMN, pa.repeat(pa.scalar(type_id, pa.int64()), len(rows)))
        for type_id in ASSOCIATION_TYPE_IDS[table]
    )


def generate_minimal_portal_share(
    db_path: str | os.PathLike,
    *,
    seed: int = 42,
    contacts: int = 300,
    companies: int = 30,
    products: int = 60,
    days: int = 30,
    events_per_day: int = 80,
    end_date: date = DEFAULT_END_DATE,
    dirty_share: float = 0.0,
) -> dict[str, int]:
    """Write the minimal portal's share to ``<db_path>/<MINIMAL_PORTAL_DATABASE>.db``, replacing the file;
    return the rows per table. The default sizes pass Personalize's minimums and have at least 1,000 views,
    but fewer than 1,000 purchases (the purchase recommenders are left out). Deterministic, as
    ``generate_share``."""
    tables = minimal_portal_tables()
    pipelines = pipeline_tables(MINIMAL_PORTAL_PIPELINES, MINIMAL_PORTAL_STAGES)
    with rebuilt_database(
        db_path, MINIMAL_PORTAL_DATABASE, MINIMAL_PORTAL_SCHEMA, tables, pipelines
    ) as loader:
        for table, rows in share_rows(
            tables,
            MINIMAL_PORTAL_EVENT_TABLE,
            seed=seed,
            contacts=contacts,
            companies=companies,
            products=products,
            deals=None,
            days=days,
            events_per_day=events_per_day,
            end_date=end_date,
            dirty_share=dirty_share,
        ):
            loader.append(table, _portal_rows(table, rows, tables))
        return dict(loader.row_counts)
