"""Deterministic synthetic HubSpot share: B2C shoppers and B2B accounts, with a share of dirty values.

Every random draw comes from a numpy Generator seeded with ``seed`` and the table's name (for events, also
the chunk number), so a seed gives the same share on every run and machine; nothing depends on the clock:
history ends on ``end_date``. Tables are built column by column with numpy and pyarrow and bulk-inserted
into DuckDB; events are built in chunks of ``EVENT_CHUNK_ROWS``, so tens of millions of them fit in memory.

One module per table family: ``crm`` (companies, contacts and their links), ``catalogue`` (products),
``deals`` (deals, line items and their associations) and ``events``, the last two drawing from the
``portal`` written before them; they build on ``columns`` (the window, random streams, column helpers) and
``dirt`` (the dirty values: a ``dirty_share`` of each table's rows, ``dirty_share=0`` for a clean share).
This module writes the tables in order: :func:`generate_share`.
"""

from __future__ import annotations

import os
from datetime import date

from hubspot_pipeline.local.generator.catalogue import product_rows
from hubspot_pipeline.local.generator.columns import Window, random_stream
from hubspot_pipeline.local.generator.crm import company_rows, contact_rows
from hubspot_pipeline.local.generator.deals import deal_tables
from hubspot_pipeline.local.generator.events import event_rows
from hubspot_pipeline.local.generator.portal import Portal
from hubspot_pipeline.local.share_schema import (
    DEFAULT_DATABASE,
    DEFAULT_EVENT_TABLE,
    DEFAULT_SCHEMA,
    rebuilt_share,
)

DEFAULT_END_DATE = date(2024, 6, 30)
EVENT_CHUNK_ROWS = 1_000_000


def generate_share(
    db_path: str | os.PathLike,
    *,
    database: str = DEFAULT_DATABASE,
    schema: str = DEFAULT_SCHEMA,
    event_table: str = DEFAULT_EVENT_TABLE,
    seed: int = 42,
    contacts: int = 2_000,
    companies: int = 200,
    products: int = 300,
    deals: int | None = None,
    days: int = 90,
    events_per_day: int = 300,
    end_date: date = DEFAULT_END_DATE,
    dirty_share: float = 0.02,
) -> dict[str, int]:
    """Write a synthetic share to ``<db_path>/<database>.db``, replacing the file; return the rows per table.

    ``deals`` defaults to half the number of contacts. There are ``days * events_per_day`` events, the last
    on ``end_date``. The same arguments always give the same tables.
    """
    if min(contacts, products, days) < 1 or min(companies, events_per_day) < 0 or (deals or 0) < 0:
        raise ValueError("contacts, products and days must be positive, the other sizes not negative")
    if not 0 <= dirty_share <= 1:
        raise ValueError(f"dirty_share={dirty_share} is not between 0 and 1")
    window = Window.ending(end_date, days)
    with rebuilt_share(db_path, database, schema, event_table) as loader:
        company_model, rows = company_rows(random_stream(seed, "companies"), companies, window, dirty_share)
        loader.append("OBJECTS_COMPANIES", rows)
        contact_model, rows, memberships = contact_rows(
            random_stream(seed, "contacts"), contacts, company_model, window, dirty_share
        )
        loader.append("OBJECTS_CONTACTS", rows)
        loader.append("ASSOCIATIONS_CONTACTS_TO_COMPANIES", memberships)
        product_model, rows = product_rows(random_stream(seed, "products"), products, window, dirty_share)
        loader.append("OBJECTS_PRODUCTS", rows)
        portal = Portal(window, company_model, contact_model, product_model)
        deal_count = contacts // 2 if deals is None else deals
        for table, rows in deal_tables(random_stream(seed, "deals"), deal_count, portal, dirty_share).items():
            loader.append(table, rows)
        total_events = days * events_per_day
        for chunk, start in enumerate(range(0, total_events, EVENT_CHUNK_ROWS)):
            size = min(EVENT_CHUNK_ROWS, total_events - start)
            chunk_rng = random_stream(seed, "events", chunk)
            loader.append(event_table, event_rows(chunk_rng, size, portal, dirty_share))
        return dict(loader.row_counts)
