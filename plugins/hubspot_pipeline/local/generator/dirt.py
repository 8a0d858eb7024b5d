"""The dirty values of the generated share: the kinds each table gets, and how they are written in.

In each table a ``dirty_share`` of the rows is spread evenly over the table's dirty kinds (at least one row
per kind whenever ``dirty_share > 0``); ``dirty_share=0`` gives a clean share. The kinds are those of
:data:`DIRTY_KINDS` that the share's columns can hold (:meth:`Dirt.kinds`): in a typed share no text that is
no number lands in a ``NUMBER`` column, no garbage date in a ``TIMESTAMP_NTZ`` one; the all-text share gets
every kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.local.share_schema import Columns, typed_values

NON_NUMERIC = ("abc", "N/A", "12,50", "$19.99", "ten")
NEGATIVE = ("-1", "-12.50", "-999")
GARBAGE_DATES = ("not a date", "2024-02-30T10:00:00Z", "31/12/2023", "0000-00-00 00:00:00", "yesterday")
NASTY_TEXT = (
    'Deluxe "Pro", 2-pack',
    "Line one\nLine two",
    "Crème brûlée ☕ – 日本語",
    'Said "hi",\r\nthen left',
)
EMPTY_IDS = ("", None)
OVERLONG_ID = "overlong-" + "0123456789abcdef" * 18
OVERLONG_CATEGORY = "category" + " very-long-category-name" * 44
UNKNOWN_ITEM_IDS = ("00000000-0000-4000-8000-000000000000", "discontinued-item-7", "SKU-UNKNOWN")
UNKNOWN_EVENT_TYPES = ("view", "Wishlist", "Refund", "", "PURCHASE")
OUT_OF_RANGE_TIMES = {"occurredat_1970": datetime(1970, 1, 1), "occurredat_2100": datetime(2100, 1, 1, 12)}


@dataclass(frozen=True)
class DirtyKind:
    """One kind of dirty value: the column it lands in and the values written there, in turn."""

    name: str
    column: str
    values: tuple


DUPLICATE_EVENT = "duplicate_event"  # a whole event row repeated, ID included; not a column value
EVENTS = "EVENTS"  # key of the event table in DIRTY_KINDS, whatever its configured name


def _not_numbers(stem: str, column: str) -> tuple[DirtyKind, DirtyKind]:
    """``<stem>_non_numeric`` and ``<stem>_negative``: text that is no number, and negative numbers."""
    non_numeric = DirtyKind(f"{stem}_non_numeric", column, NON_NUMERIC)
    return non_numeric, DirtyKind(f"{stem}_negative", column, NEGATIVE)


# kinds that several tables have, in the same column
EXTERNAL_ID_EMPTY = DirtyKind("external_id_empty", "PROPERTY_EXTERNAL_ID", EMPTY_IDS)
EXTERNAL_ID_OVERLONG = DirtyKind("external_id_overlong", "PROPERTY_EXTERNAL_ID", (OVERLONG_ID,))
NAME_NASTY = DirtyKind("name_nasty", "PROPERTY_NAME", NASTY_TEXT)
CREATEDATE_GARBAGE = DirtyKind("createdate_garbage", "PROPERTY_CREATEDATE", GARBAGE_DATES)

# per table; the order counts: the dirty rows are dealt out over the kinds in turn (a new order, a new share)
DIRTY_KINDS: dict[str, tuple[DirtyKind, ...]] = {
    "OBJECTS_COMPANIES": (
        *_not_numbers("employees", "PROPERTY_NUMBEROFEMPLOYEES"),
        DirtyKind("domain_unnormalised", "PROPERTY_DOMAIN", ("https://www.Example.com/", " EXAMPLE.com ")),
        EXTERNAL_ID_EMPTY,
        NAME_NASTY,
        CREATEDATE_GARBAGE,
    ),
    "OBJECTS_CONTACTS": (
        *_not_numbers("age", "PROPERTY_AGE"),
        EXTERNAL_ID_EMPTY,
        EXTERNAL_ID_OVERLONG,
        DirtyKind(
            "email_malformed", "PROPERTY_EMAIL", ("not-an-email", " Mixed.Case@Gmail.COM ", "a@@b..com")
        ),
        DirtyKind("firstname_nasty", "PROPERTY_FIRSTNAME", NASTY_TEXT),
        CREATEDATE_GARBAGE,
    ),
    "OBJECTS_PRODUCTS": (
        *_not_numbers("price", "PROPERTY_PRICE"),
        EXTERNAL_ID_EMPTY,
        EXTERNAL_ID_OVERLONG,
        DirtyKind("category_overlong", "PROPERTY_CATEGORY_LEVEL_2", (OVERLONG_CATEGORY,)),
        NAME_NASTY,
        CREATEDATE_GARBAGE,
    ),
    "OBJECTS_DEALS": (
        *_not_numbers("amount", "PROPERTY_AMOUNT"),
        CREATEDATE_GARBAGE,
        DirtyKind("closedate_garbage", "PROPERTY_CLOSEDATE", GARBAGE_DATES),
        DirtyKind("dealname_nasty", "PROPERTY_DEALNAME", NASTY_TEXT),
    ),
    "OBJECTS_LINE_ITEMS": (
        *_not_numbers("quantity", "PROPERTY_QUANTITY"),
        DirtyKind("price_non_numeric", "PROPERTY_PRICE", NON_NUMERIC),
        DirtyKind("product_id_unknown", "PROPERTY_HS_PRODUCT_ID", ("999999999999",)),
        DirtyKind("product_id_empty", "PROPERTY_HS_PRODUCT_ID", EMPTY_IDS),
    ),
    EVENTS: (
        DirtyKind(DUPLICATE_EVENT, "ID", ()),
        DirtyKind("item_id_empty", "PROPERTY_ITEM_ID", EMPTY_IDS),
        DirtyKind("item_id_unknown", "PROPERTY_ITEM_ID", UNKNOWN_ITEM_IDS),
        DirtyKind("item_id_overlong", "PROPERTY_ITEM_ID", (OVERLONG_ID,)),
        DirtyKind("user_id_empty", "PROPERTY_USER_ID", EMPTY_IDS),
        DirtyKind("event_type_unknown", "PROPERTY_EVENT_TYPE", UNKNOWN_EVENT_TYPES),
        *_not_numbers("price", "PROPERTY_ITEM_PRICE"),
        DirtyKind("item_name_nasty", "PROPERTY_ITEM_NAME", NASTY_TEXT),
        *(DirtyKind(name, "OCCURREDAT", (moment,)) for name, moment in OUT_OF_RANGE_TIMES.items()),
    ),
}


def _dirty_rows(
    rng: np.random.Generator, size: int, share: float, kinds: Sequence[DirtyKind]
) -> dict[str, np.ndarray]:
    """Disjoint, sorted row numbers per dirty kind: ``share`` of ``size`` rows, at least one per kind."""
    if share <= 0 or size == 0:
        return {kind.name: np.empty(0, dtype=np.int64) for kind in kinds}
    rows = rng.choice(size, size=min(size, max(len(kinds), round(size * share))), replace=False)
    return {kind.name: np.sort(rows[position :: len(kinds)]) for position, kind in enumerate(kinds)}


def make_dirty(
    rng: np.random.Generator, columns: dict[str, pa.Array], share: float, kinds: Sequence[DirtyKind]
) -> dict[str, np.ndarray]:
    """Overwrite ``share`` of the rows of ``columns`` (in place) with dirty values; return rows per kind."""
    rows_by_kind = _dirty_rows(rng, len(columns["OBJECTID"]), share, kinds)
    for kind in kinds:
        rows = rows_by_kind[kind.name]
        if not kind.values or not len(rows):
            continue
        values = columns[kind.column]
        mask = np.zeros(len(values), dtype=bool)
        mask[rows] = True
        replacements = pa.array(kind.values, values.type).take(np.arange(len(rows)) % len(kind.values))
        columns[kind.column] = pc.replace_with_mask(values, pa.array(mask), replacements)
    return rows_by_kind


def _holds(value: object, sql_type: str) -> bool:
    """Whether a column of ``sql_type`` can hold ``value`` (text is parsed as :class:`ShareLoader` does)."""
    try:
        typed_values(pa.array([value]), sql_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


@dataclass(frozen=True)
class Dirt:
    """The dirty values a generated share gets: ``share`` of each table's rows, of the kinds its columns hold.

    ``tables`` are the share's columns per table, the event table under the key :data:`EVENTS`.
    """

    share: float
    tables: Mapping[str, Columns]

    def kinds(self, table: str) -> tuple[DirtyKind, ...]:
        """``table``'s kinds of :data:`DIRTY_KINDS`, each with only the values its column can hold; a kind
        left with none, or whose column the table lacks, is dropped (a whole-row kind is always kept)."""
        types = dict(self.tables[table])
        kinds = []
        for kind in DIRTY_KINDS[table]:
            if kind.column not in types:
                continue
            values = tuple(value for value in kind.values if _holds(value, types[kind.column]))
            if values or not kind.values:
                kinds.append(DirtyKind(kind.name, kind.column, values))
        return tuple(kinds)

    def apply(
        self, rng: np.random.Generator, table: str, columns: dict[str, pa.Array]
    ) -> dict[str, np.ndarray]:
        """:func:`make_dirty` with ``table``'s :meth:`kinds`: rows per kind (none for a dropped kind)."""
        rows = make_dirty(rng, columns, self.share, self.kinds(table))
        return {kind.name: rows.get(kind.name, np.empty(0, dtype=np.int64)) for kind in DIRTY_KINDS[table]}
