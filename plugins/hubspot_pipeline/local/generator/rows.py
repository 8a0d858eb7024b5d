"""The generated tables in the order they are written: each family draws from the portal written before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pyarrow as pa

from hubspot_pipeline.local.generator.catalogue import product_rows
from hubspot_pipeline.local.generator.columns import Window, random_stream
from hubspot_pipeline.local.generator.crm import company_rows, contact_rows
from hubspot_pipeline.local.generator.deals import deal_tables
from hubspot_pipeline.local.generator.dirt import EVENTS, Dirt
from hubspot_pipeline.local.generator.events import event_rows
from hubspot_pipeline.local.generator.portal import Portal
from hubspot_pipeline.local.share_schema import Columns

DEFAULT_END_DATE = date(2024, 6, 30)
EVENT_CHUNK_ROWS = 1_000_000


def share_rows(
    tables: dict[str, Columns],
    event_table: str,
    *,
    seed: int,
    contacts: int,
    companies: int,
    products: int,
    deals: int | None,
    days: int,
    events_per_day: int,
    end_date: date,
    dirty_share: float,
) -> Iterator[tuple[str, pa.Table]]:
    """``(table, rows)`` of a synthetic share with the given sizes (see ``generate_share``), events in chunks
    of :data:`EVENT_CHUNK_ROWS`; the dirty values are those the share's ``tables`` can hold."""
    if min(contacts, products, days) < 1 or min(companies, events_per_day) < 0 or (deals or 0) < 0:
        raise ValueError("contacts, products and days must be positive, the other sizes not negative")
    if not 0 <= dirty_share <= 1:
        raise ValueError(f"dirty_share={dirty_share} is not between 0 and 1")
    window = Window.ending(end_date, days)
    dirt = Dirt(dirty_share, {**tables, EVENTS: tables[event_table]})
    company_model, rows = company_rows(random_stream(seed, "companies"), companies, window, dirt)
    yield "OBJECTS_COMPANIES", rows
    contact_model, rows, memberships = contact_rows(
        random_stream(seed, "contacts"), contacts, company_model, window, dirt
    )
    yield "OBJECTS_CONTACTS", rows
    yield "ASSOCIATIONS_CONTACTS_TO_COMPANIES", memberships
    product_model, rows = product_rows(random_stream(seed, "products"), products, window, dirt)
    yield "OBJECTS_PRODUCTS", rows
    portal = Portal(window, company_model, contact_model, product_model)
    deal_count = contacts // 2 if deals is None else deals
    yield from deal_tables(random_stream(seed, "deals"), deal_count, portal, dirt).items()
    total_events = days * events_per_day
    for chunk, start in enumerate(range(0, total_events, EVENT_CHUNK_ROWS)):
        size = min(EVENT_CHUNK_ROWS, total_events - start)
        yield event_table, event_rows(random_stream(seed, "events", chunk), size, portal, dirt)
