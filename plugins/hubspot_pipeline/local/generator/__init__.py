"""Deterministic synthetic HubSpot share: B2C shoppers and B2B accounts, with a share of dirty values.

Every random draw comes from a numpy Generator seeded with ``seed`` and the table's name (for events, also
the chunk number), so a seed gives the same share on every run and machine; nothing depends on the clock:
history ends on ``end_date``. Tables are built column by column with numpy and pyarrow and bulk-inserted
into DuckDB; events are built in chunks of ``EVENT_CHUNK_ROWS``, so tens of millions of them fit in memory.

One module per table family: ``crm`` (companies, contacts and their links), ``catalogue`` (products),
``deals`` (deals, line items and their associations) and ``events``, the last two drawing from the
``portal`` written before them; they build on ``columns`` (the window, random streams, column helpers) and
``dirt`` (the dirty values: a ``dirty_share`` of each table's rows, ``dirty_share=0`` for a clean share).
``rows`` yields the tables in the order they are written. :func:`generate_share` writes them as the share
the tutorial's portal would have (typed, or ``all_text``); :func:`generate_minimal_portal_share`
(``minimal_portal``) as a minimal real portal's, with other names, fewer properties and association types.
"""

from __future__ import annotations

import os
from datetime import date

from hubspot_pipeline.local.generator.minimal_portal import generate_minimal_portal_share
from hubspot_pipeline.local.generator.rows import DEFAULT_END_DATE, share_rows
from hubspot_pipeline.local.share_schema import (
    DEFAULT_DATABASE,
    DEFAULT_EVENT_TABLE,
    DEFAULT_SCHEMA,
    rebuilt_share,
)

__all__ = ["DEFAULT_END_DATE", "generate_minimal_portal_share", "generate_share"]


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
    all_text: bool = False,
) -> dict[str, int]:
    """Write a synthetic share to ``<db_path>/<database>.db``, replacing the file; return the rows per table.

    ``deals`` defaults to half the number of contacts. There are ``days * events_per_day`` events, the last
    on ``end_date``. The same arguments always give the same tables. Property columns are typed as in the
    real share, or all VARCHAR with ``all_text`` (then with every kind of dirty value); with
    ``dirty_share=0`` both hold the same records and values.
    """
    with rebuilt_share(db_path, database, schema, event_table, all_text=all_text) as loader:
        for table, rows in share_rows(
            loader.tables,
            event_table,
            seed=seed,
            contacts=contacts,
            companies=companies,
            products=products,
            deals=deals,
            days=days,
            events_per_day=events_per_day,
            end_date=end_date,
            dirty_share=dirty_share,
        ):
            loader.append(table, rows)
        return dict(loader.row_counts)
