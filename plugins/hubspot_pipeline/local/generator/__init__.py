"""Deterministic synthetic HubSpot share: B2C shoppers and B2B accounts, with a share of dirty values.

Every random draw comes from a numpy Generator seeded with ``seed`` and the table's name (for events, also
the chunk number), so a seed gives the same share on every run and machine; nothing depends on the clock:
history ends on ``end_date``. Tables are built column by column with numpy and pyarrow and bulk-inserted
into DuckDB; events are built in chunks of ``EVENT_CHUNK_ROWS``, so tens of millions of them fit in memory.

Dirty values: in each table a ``dirty_share`` of the rows is spread evenly over the table's
:data:`DIRTY_KINDS` (at least one row per kind whenever ``dirty_share > 0``); ``dirty_share=0`` gives a
clean share.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.local.share_schema import (
    CHECKOUT_COMPLETED_STAGE_ID,
    CHECKOUT_PENDING_STAGE_ID,
    DEAL_STAGES,
    DEFAULT_DATABASE,
    DEFAULT_EVENT_TABLE,
    DEFAULT_SCHEMA,
    ECOMMERCE_EVENT_TYPE_ID,
    ECOMMERCE_PIPELINE_ID,
    OBJECT_ID_BASES,
    OBJECT_TYPE_IDS,
    SALES_PIPELINE_ID,
    rebuilt_share,
)

DEFAULT_END_DATE = date(2024, 6, 30)
EVENT_CHUNK_ROWS = 1_000_000
FUNNEL = ("View", "AddToCart", "ViewCart", "StartCheckout", "Purchase")
# probability that a shopping session stops after 1, 2, ... len(FUNNEL) steps of the funnel
SESSION_DEPTH_P = (0.62, 0.14, 0.08, 0.06, 0.10)

_MS_PER_DAY = 86_400_000
_MS_PER_HOUR = 3_600_000

# (display form, e-mail/domain form)
FIRST_NAMES = (
    ("Emma", "emma"), ("Liam", "liam"), ("Olivia", "olivia"), ("Noah", "noah"), ("Ava", "ava"),
    ("Lucas", "lucas"), ("Mia", "mia"), ("Ethan", "ethan"), ("Sofia", "sofia"), ("Mateo", "mateo"),
    ("Chloé", "chloe"), ("José", "jose"), ("Zoë", "zoe"), ("Łukasz", "lukasz"), ("Søren", "soren"),
    ("Aisha", "aisha"), ("Hiroshi", "hiroshi"), ("Priya", "priya"), ("Björn", "bjorn"),
    ("Mary-Kate", "marykate"),
)  # fmt: skip
LAST_NAMES = (
    ("Smith", "smith"), ("Johnson", "johnson"), ("García", "garcia"), ("Müller", "muller"),
    ("O'Brien", "obrien"), ("Nguyen", "nguyen"), ("Kowalski", "kowalski"), ("Rossi", "rossi"),
    ("Dubois", "dubois"), ("Tanaka", "tanaka"),
    ("Patel", "patel"), ("Andersson", "andersson"), ("van der Berg", "vanderberg"), ("Smith, Jr.", "smithjr"),
    ("Schröder", "schroder"), ("Novák", "novak"),
)  # fmt: skip
FREE_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de")
FREE_EMAIL_DOMAIN_P = (0.45, 0.15, 0.15, 0.1, 0.1, 0.05)
COMPANY_PREFIXES = (
    ("Blue Harbor", "blueharbor"), ("Northwind", "northwind"), ("Acme", "acme"), ("Globex", "globex"),
    ("Initech", "initech"), ("Nordic Fjörd", "nordicfjord"), ("Café Lumière", "cafelumiere"),
    ("Zürich Data", "zurichdata"), ("Sakura", "sakura"), ("Pioneer", "pioneer"), ("Summit", "summit"),
    ("Redwood", "redwood"), ("Atlas", "atlas"), ("Helios", "helios"), ("Evergreen", "evergreen"),
)  # fmt: skip
COMPANY_NOUNS = (
    ("Logistics", "logistics"), ("Software", "soft"), ("Analytics", "analytics"), ("Retail", "retail"),
    ("Health", "health"), ("Foods", "foods"), ("Systems", "systems"), ("Labs", "labs"), ("Media", "media"),
    ("Energy", "energy"), ("Robotics", "robotics"),
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc.", "LLC", "GmbH", "Ltd", "S.A.", "AB", "Co.", "B.V.", "K.K.")
TOP_LEVEL_DOMAINS = (".com", ".io", ".de", ".co.uk", ".fr", ".net", ".se")
INDUSTRIES = (
    "COMPUTER_SOFTWARE", "RETAIL", "HOSPITAL_HEALTH_CARE", "FOOD_BEVERAGES", "LOGISTICS_AND_SUPPLY_CHAIN",
    "MARKETING_AND_ADVERTISING", "FINANCIAL_SERVICES", "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "CONSUMER_GOODS",
)  # fmt: skip
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
)
ANALYTICS_SOURCES = (
    "ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS", "DIRECT_TRAFFIC",
    "OFFLINE",
)  # fmt: skip


@dataclass(frozen=True)
class ProductCategory:
    """A branch of the product taxonomy: its two category levels, product nouns and typical price."""

    level_1: str
    level_2: str
    nouns: tuple[str, ...]
    median_price: float
    b2b: bool = False


PRODUCT_CATEGORIES = (
    ProductCategory("furniture", "chairs", ("Office Chair", "Armchair", "Dining Chair"), 150),
    ProductCategory("furniture", "tables", ("Work Table", "Coffee Table"), 250),
    ProductCategory("apparel", "jacket", ("Rain Jacket", "Denim Jacket"), 90),
    ProductCategory("apparel", "shirt", ("Oxford Shirt", "Linen Shirt", "T-Shirt"), 35),
    ProductCategory("footwear", "sneaker", ("Running Sneaker", "Court Sneaker"), 80),
    ProductCategory("footwear", "boot", ("Chelsea Boot", "Hiking Boot"), 120),
    ProductCategory("accessories", "backpack", ("Backpack", "Travel Pack"), 90),
    ProductCategory("accessories", "watch", ("Wristwatch", "Smartwatch"), 180),
    ProductCategory("electronics", "headphones", ("Headphones", "Earbuds"), 120),
    ProductCategory("electronics", "speaker", ("Bluetooth Speaker", "Soundbar"), 150),
    ProductCategory("homedecor", "lighting", ("Floor Lamp", "Desk Lamp"), 60),
    ProductCategory("housewares", "kitchen", ("Chef's Knife", "Dutch Oven", "Espresso Cup Set"), 45),
    ProductCategory("jewelry", "necklace", ("Pendant Necklace", "Chain Necklace"), 70),
    ProductCategory("outdoors", "camping", ("Tent", "Sleeping Bag"), 130),
    ProductCategory("floral", "bouquet", ("Bouquet", "Centerpiece"), 55),
    ProductCategory("software", "subscription", ("Analytics Suite Licence", "CRM Seat"), 1200, b2b=True),
    ProductCategory(
        "services", "professional", ("Onboarding Package", "Premium Support Plan"), 3000, b2b=True
    ),
)
PRODUCT_ADJECTIVES = (
    "Sleek",
    "Classic",
    "Cozy",
    "Rustic",
    "Modern",
    "Vintage",
    "Compact",
    "Handcrafted",
    "Bold",
)
PRODUCT_COLOURS = ("Gray", "Black", "Navy", "Tan", "Olive", "Crimson", "Ivory", "Teal", "Charcoal")
PRODUCT_GENDERS = ("Any", "F", "M")
# descriptions are opening + product name + middle + material + closing; realistic text has commas,
# quotes, newlines and non-ASCII characters, so the clean catalogue already carries all of them
DESCRIPTION_OPENINGS = ("The ", "Meet the ", "Our best-selling ", "Introducing the ")
DESCRIPTION_MIDDLES = (", made from ", " is built from ", " — crafted with ", ": ")
DESCRIPTION_MATERIALS = (
    "recycled aluminium",
    "solid oak",
    "organic cotton",
    "full-grain leather",
    "crème wool",
)
DESCRIPTION_CLOSINGS = (
    ". Built to last, easy to clean, and backed by a 2-year warranty.",
    '. Customers call it "the best purchase this year."',
    ".\nFeatures:\n- lightweight\n- water-resistant",
    ". Ships in 2–3 days ✓",
)
B2B_DEAL_KINDS = ("New Business", "Renewal", "Expansion", "Pilot")
B2B_STAGE_P = (0.15, 0.15, 0.1, 0.08, 0.07, 0.25, 0.2)  # in DEAL_STAGES[SALES_PIPELINE_ID] order

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
DIRTY_KINDS: dict[str, tuple[DirtyKind, ...]] = {
    "OBJECTS_COMPANIES": (
        DirtyKind("employees_non_numeric", "PROPERTY_NUMBEROFEMPLOYEES", NON_NUMERIC),
        DirtyKind("employees_negative", "PROPERTY_NUMBEROFEMPLOYEES", NEGATIVE),
        DirtyKind("domain_unnormalised", "PROPERTY_DOMAIN", ("https://www.Example.com/", " EXAMPLE.com ")),
        DirtyKind("external_id_empty", "PROPERTY_EXTERNAL_ID", EMPTY_IDS),
        DirtyKind("name_nasty", "PROPERTY_NAME", NASTY_TEXT),
        DirtyKind("createdate_garbage", "PROPERTY_CREATEDATE", GARBAGE_DATES),
    ),
    "OBJECTS_CONTACTS": (
        DirtyKind("age_non_numeric", "PROPERTY_AGE", NON_NUMERIC),
        DirtyKind("age_negative", "PROPERTY_AGE", NEGATIVE),
        DirtyKind("external_id_empty", "PROPERTY_EXTERNAL_ID", EMPTY_IDS),
        DirtyKind("external_id_overlong", "PROPERTY_EXTERNAL_ID", (OVERLONG_ID,)),
        DirtyKind(
            "email_malformed", "PROPERTY_EMAIL", ("not-an-email", " Mixed.Case@Gmail.COM ", "a@@b..com")
        ),
        DirtyKind("firstname_nasty", "PROPERTY_FIRSTNAME", NASTY_TEXT),
        DirtyKind("createdate_garbage", "PROPERTY_CREATEDATE", GARBAGE_DATES),
    ),
    "OBJECTS_PRODUCTS": (
        DirtyKind("price_non_numeric", "PROPERTY_PRICE", NON_NUMERIC),
        DirtyKind("price_negative", "PROPERTY_PRICE", NEGATIVE),
        DirtyKind("external_id_empty", "PROPERTY_EXTERNAL_ID", EMPTY_IDS),
        DirtyKind("external_id_overlong", "PROPERTY_EXTERNAL_ID", (OVERLONG_ID,)),
        DirtyKind("category_overlong", "PROPERTY_CATEGORY_LEVEL_2", (OVERLONG_CATEGORY,)),
        DirtyKind("name_nasty", "PROPERTY_NAME", NASTY_TEXT),
        DirtyKind("createdate_garbage", "PROPERTY_CREATEDATE", GARBAGE_DATES),
    ),
    "OBJECTS_DEALS": (
        DirtyKind("amount_non_numeric", "PROPERTY_AMOUNT", NON_NUMERIC),
        DirtyKind("amount_negative", "PROPERTY_AMOUNT", NEGATIVE),
        DirtyKind("createdate_garbage", "PROPERTY_CREATEDATE", GARBAGE_DATES),
        DirtyKind("closedate_garbage", "PROPERTY_CLOSEDATE", GARBAGE_DATES),
        DirtyKind("dealname_nasty", "PROPERTY_DEALNAME", NASTY_TEXT),
    ),
    "OBJECTS_LINE_ITEMS": (
        DirtyKind("quantity_non_numeric", "PROPERTY_QUANTITY", NON_NUMERIC),
        DirtyKind("quantity_negative", "PROPERTY_QUANTITY", NEGATIVE),
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
        DirtyKind("price_non_numeric", "PROPERTY_ITEM_PRICE", NON_NUMERIC),
        DirtyKind("price_negative", "PROPERTY_ITEM_PRICE", NEGATIVE),
        DirtyKind("item_name_nasty", "PROPERTY_ITEM_NAME", NASTY_TEXT),
        *(DirtyKind(name, "OCCURREDAT", (moment,)) for name, moment in OUT_OF_RANGE_TIMES.items()),
    ),
}


@dataclass(frozen=True)
class Window:
    """The generated history in epoch milliseconds, from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: int
    end: int

    @classmethod
    def ending(cls, end_date: date, days: int) -> Window:
        end = int(pd.Timestamp(end_date + timedelta(days=1)).value // 1_000_000)
        return cls(start=end - days * _MS_PER_DAY, end=end)

    @property
    def days(self) -> int:
        return (self.end - self.start) // _MS_PER_DAY


@dataclass(frozen=True)
class Companies:
    """What later tables need from the generated companies (clean values)."""

    object_ids: np.ndarray
    names: pa.Array
    domains: pa.Array
    weights: np.ndarray  # relative size: how likely a business contact or a sales deal belongs to it


@dataclass(frozen=True)
class Contacts:
    """What later tables need from the generated contacts (clean values)."""

    object_ids: np.ndarray
    external_ids: pa.Array
    company: np.ndarray  # position in Companies for business contacts, -1 for consumers
    activity: np.ndarray  # relative number of shopping sessions


@dataclass(frozen=True)
class Products:
    """What later tables need from the generated products (clean values)."""

    object_ids: np.ndarray
    external_ids: pa.Array
    names: pa.Array
    prices: np.ndarray
    b2b: np.ndarray
    popularity: np.ndarray  # weight in events and carts; 0 for products not sold online


@dataclass(frozen=True)
class DealDraft:
    """Deals with their line items and associations, by position (object ids are assigned when written)."""

    pipelines: pa.Array
    stage_ids: pa.Array
    created_ms: np.ndarray
    closed_ms: np.ndarray  # -1: no close date
    names: pa.Array
    cart_discounts: pa.Array
    item_deal: np.ndarray
    item_product: np.ndarray
    item_quantity: np.ndarray
    contact_deal: np.ndarray
    contact: np.ndarray
    company_deal: np.ndarray
    company: np.ndarray


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
        company_model, rows = _companies(_rng(seed, "companies"), companies, window, dirty_share)
        loader.append("OBJECTS_COMPANIES", rows)
        contact_model, rows, memberships = _contacts(
            _rng(seed, "contacts"), contacts, company_model, window, dirty_share
        )
        loader.append("OBJECTS_CONTACTS", rows)
        loader.append("ASSOCIATIONS_CONTACTS_TO_COMPANIES", memberships)
        product_model, rows = _products(_rng(seed, "products"), products, window, dirty_share)
        loader.append("OBJECTS_PRODUCTS", rows)
        deal_count = contacts // 2 if deals is None else deals
        for table, rows in _deal_tables(
            _rng(seed, "deals"), deal_count, contact_model, company_model, product_model, window, dirty_share
        ).items():
            loader.append(table, rows)
        total_events = days * events_per_day
        for chunk, start in enumerate(range(0, total_events, EVENT_CHUNK_ROWS)):
            size = min(EVENT_CHUNK_ROWS, total_events - start)
            chunk_rng = _rng(seed, "events", chunk)
            loader.append(
                event_table, _events(chunk_rng, size, contact_model, product_model, window, dirty_share)
            )
        return dict(loader.row_counts)


def _rng(seed: int, stream: str, *extra: int) -> np.random.Generator:
    """An independent random stream per table (and chunk): one table's size doesn't change the others."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), *extra])


def _strings(values: Sequence[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


def _pick(
    rng: np.random.Generator, options: Sequence[str | None], size: int, p: Sequence[float] | None = None
) -> pa.Array:
    """``size`` values drawn from ``options``, with probabilities ``p``."""
    return _strings(options).take(rng.choice(len(options), size=size, p=p))


def _display_and_slug(pairs: Sequence[tuple[str, str]], positions: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """The display forms and the slugs (e-mail and domain forms) of ``pairs`` at ``positions``."""
    return tuple(_strings([pair[side] for pair in pairs]).take(positions) for side in (0, 1))


def _concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, "")


def _text(numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(numbers), pa.string())


def _padded(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_text(numbers), width=width, padding="0")


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _copy_rows(values: pa.Array | pa.Table, targets: np.ndarray, sources: np.ndarray) -> pa.Array | pa.Table:
    """``values`` with the rows at ``targets`` replaced by those at ``sources``."""
    index = np.arange(len(values))
    index[targets] = sources
    return values.take(index)


def _weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` positions drawn with probability proportional to ``weights``."""
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def _below(rng: np.random.Generator, limits: np.ndarray) -> np.ndarray:
    """A random integer in ``[0, limit)`` for each of ``limits``."""
    return (rng.random(len(limits)) * limits).astype(np.int64)


def _others(rng: np.random.Generator, size: int, rows: np.ndarray) -> np.ndarray:
    """One random row number per entry of ``rows``, never one of ``rows`` (unless there is no other row)."""
    keep = np.ones(size, dtype=bool)
    keep[rows] = False
    candidates = np.flatnonzero(keep)
    return candidates[rng.integers(len(candidates), size=len(rows))] if len(candidates) else rows


def _hex_ids(rng: np.random.Generator, size: int, *, dashed: bool) -> pa.Array:
    """Random 128-bit ids as 32 hex digits, or as UUID-style ``8-4-4-4-12`` text when ``dashed``."""
    digits = np.frombuffer(rng.bytes(16 * size).hex().encode(), dtype=np.uint8).reshape(size, 32)
    if dashed:
        groups = np.split(digits, [8, 12, 16, 20], axis=1)
        dash = np.full((size, 1), ord("-"), dtype=np.uint8)
        digits = np.hstack([part for group in groups for part in (group, dash)][:-1])
    return pa.array(np.ascontiguousarray(digits).view(f"S{digits.shape[1]}").ravel()).cast(pa.string())


def _timestamps(epoch_ms: np.ndarray) -> pa.Array:
    return pa.array(epoch_ms.astype("datetime64[ms]"))


def _date_text(rng: np.random.Generator, epoch_ms: np.ndarray) -> pa.Array:
    """Dates as HubSpot property text: mostly ISO-8601 (``T…Z`` and space styles), some epoch milliseconds."""
    moments = _timestamps(epoch_ms)
    return pc.choose(
        pa.array(rng.choice(3, size=len(epoch_ms), p=(0.6, 0.25, 0.15))),
        pc.strftime(moments, format="%Y-%m-%dT%H:%M:%SZ"),
        pc.strftime(moments, format="%Y-%m-%d %H:%M:%S"),
        _text(epoch_ms),
    )


def _created_before(rng: np.random.Generator, size: int, window: Window, max_age_days: int) -> np.ndarray:
    """Creation times spread over the ``max_age_days`` before the window's end."""
    return window.end - 1 - rng.integers(0, max_age_days * _MS_PER_DAY, size)


def _object_rows(
    rng: np.random.Generator,
    table: str,
    changed_ms: np.ndarray,
    window: Window,
    properties: dict[str, pa.Array],
) -> dict[str, pa.Array]:
    """An ``OBJECTS_*`` table's columns: system columns, then ``properties`` (``PROPERTY_`` prefix added).

    ``UPDATEDAT`` falls between the record's last known change and the window's end, ``INGESTEDAT`` up to six
    hours later.
    """
    size = len(changed_ms)
    last_change = np.minimum(changed_ms, window.end - 1)
    updated = last_change + (rng.random(size) * (window.end - last_change)).astype(np.int64)
    ingested = np.minimum(updated + rng.integers(0, 6 * _MS_PER_HOUR, size), window.end - 1)
    return {
        "OBJECTID": pa.array(OBJECT_ID_BASES[table] + np.arange(1, size + 1)),
        "OBJECTTYPEID": pa.repeat(OBJECT_TYPE_IDS[table], size),
        "UPDATEDAT": _timestamps(updated),
        "INGESTEDAT": _timestamps(ingested),
        **{f"PROPERTY_{name}": values for name, values in properties.items()},
    }


def _dirty_rows(
    rng: np.random.Generator, size: int, share: float, kinds: Sequence[DirtyKind]
) -> dict[str, np.ndarray]:
    """Disjoint, sorted row numbers per dirty kind: ``share`` of ``size`` rows, at least one per kind."""
    if share <= 0 or size == 0:
        return {kind.name: np.empty(0, dtype=np.int64) for kind in kinds}
    rows = rng.choice(size, size=min(size, max(len(kinds), round(size * share))), replace=False)
    return {kind.name: np.sort(rows[position :: len(kinds)]) for position, kind in enumerate(kinds)}


def _make_dirty(
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


def _companies(
    rng: np.random.Generator, size: int, window: Window, dirty_share: float
) -> tuple[Companies, pa.Table]:
    """B2B accounts; some share a domain with another company, some have no domain or no external id."""
    prefix, noun = rng.integers(len(COMPANY_PREFIXES), size=size), rng.integers(len(COMPANY_NOUNS), size=size)
    prefix_names, prefix_slugs = _display_and_slug(COMPANY_PREFIXES, prefix)
    noun_names, noun_slugs = _display_and_slug(COMPANY_NOUNS, noun)
    names = pc.binary_join_element_wise(prefix_names, noun_names, _pick(rng, COMPANY_SUFFIXES, size), " ")
    # companies with the same name get numbered domains, so that domains are shared only where set up below
    name_key = pd.Series(prefix * len(COMPANY_NOUNS) + noun)
    repeat = name_key.groupby(name_key).cumcount().to_numpy()
    number = pc.if_else(pa.array(repeat > 0), _text(repeat), "")
    domains = _concat(prefix_slugs, noun_slugs, number, _pick(rng, TOP_LEVEL_DOMAINS, size))
    sharing = np.flatnonzero(rng.random(size) < 0.06)
    domains = _null_where(
        _copy_rows(domains, sharing, rng.integers(size, size=len(sharing))), rng.random(size) < 0.08
    )
    employees = np.maximum(1, rng.lognormal(4, 1.5, size)).astype(np.int64)
    created = _created_before(rng, size, window, 3 * 365)
    external_ids = _concat("ACC-", _padded(np.arange(1, size + 1), 6))
    columns = _object_rows(
        rng,
        "OBJECTS_COMPANIES",
        created,
        window,
        {
            "NAME": names,
            "DOMAIN": domains,
            "EXTERNAL_ID": _null_where(external_ids, rng.random(size) < 0.45),
            "INDUSTRY": _pick(rng, INDUSTRIES, size),
            "NUMBEROFEMPLOYEES": _text(employees),
            "CREATEDATE": _date_text(rng, created),
        },
    )
    model = Companies(columns["OBJECTID"].to_numpy(), names, domains, np.sqrt(employees))
    _make_dirty(rng, columns, dirty_share, DIRTY_KINDS["OBJECTS_COMPANIES"])
    return model, pa.table(columns)


def _contacts(
    rng: np.random.Generator, size: int, companies: Companies, window: Window, dirty_share: float
) -> tuple[Contacts, pa.Table, pa.Table]:
    """Consumers and business contacts: the model, the rows and the explicit contact-to-company links.

    About a third are business contacts, mostly on their company's e-mail domain; some are associated to
    their company explicitly, the others only share its domain. About 1% duplicate another contact's name and
    e-mail: half of them also its visitor id and have no external id (the same person), half have an
    external id of their own (two people sharing an address).
    """
    company = np.full(size, -1)
    if len(companies.object_ids):
        business = np.flatnonzero(rng.random(size) < 0.35)
        company[business] = _weighted(rng, companies.weights, len(business))
    first, last = rng.integers(len(FIRST_NAMES), size=size), rng.integers(len(LAST_NAMES), size=size)
    free_domain = rng.choice(len(FREE_EMAIL_DOMAINS), size=size, p=FREE_EMAIL_DOMAIN_P)
    work_email = (company >= 0) & (rng.random(size) < 0.85)
    mailbox_number = np.arange(1, size + 1)
    visitor_ids = _null_where(_hex_ids(rng, size, dashed=False), rng.random(size) >= 0.35)
    has_external_id = rng.random(size) < np.where(company >= 0, 0.4, 0.75)

    duplicate_count = max(2, size // 100) if size >= 10 else 0
    duplicates = rng.choice(size, size=duplicate_count, replace=False)
    originals = _others(rng, size, duplicates)
    for column in (company, first, last, free_domain, work_email, mailbox_number):
        column[duplicates] = column[originals]
    same_person = slice(0, duplicate_count // 2)
    visitor_ids = _copy_rows(visitor_ids, duplicates[same_person], originals[same_person])
    has_external_id[duplicates] = True
    has_external_id[duplicates[same_person]] = False

    company_domains = (
        companies.domains.take(np.maximum(company, 0))
        if len(companies.object_ids)
        else pa.nulls(size, pa.string())
    )
    domains = pc.if_else(
        pc.and_(pa.array(work_email), pc.is_valid(company_domains)),
        company_domains,
        _strings(FREE_EMAIL_DOMAINS).take(free_domain),
    )
    first_names, first_slugs = _display_and_slug(FIRST_NAMES, first)
    last_names, last_slugs = _display_and_slug(LAST_NAMES, last)
    emails = _concat(first_slugs, ".", last_slugs, _text(mailbox_number), "@", domains)
    phones = _concat(
        "+1 ", _padded(rng.integers(200, 999, size), 3), " 555 ", _padded(rng.integers(0, 9999, size), 4)
    )
    ages = _null_where(_text(rng.integers(18, 80, size)), rng.random(size) < np.where(company >= 0, 0.8, 0.2))
    external_ids = _null_where(_concat("cust-", _padded(np.arange(1, size + 1), 7)), ~has_external_id)
    created = _created_before(rng, size, window, 2 * 365)
    columns = _object_rows(
        rng,
        "OBJECTS_CONTACTS",
        created,
        window,
        {
            "EMAIL": _null_where(emails, rng.random(size) < 0.08),
            "EXTERNAL_ID": external_ids,
            "FIRSTNAME": first_names,
            "LASTNAME": last_names,
            "PHONE": _null_where(phones, rng.random(size) < 0.5),
            "AGE": ages,
            "GENDER": _pick(rng, ("F", "M", None), size, p=(0.45, 0.45, 0.1)),
            "CREATEDATE": _date_text(rng, created),
            "LIFECYCLESTAGE": _pick(rng, LIFECYCLE_STAGES, size),
            "HS_ANALYTICS_SOURCE": _pick(rng, ANALYTICS_SOURCES, size),
            "VISITOR_ID": visitor_ids,
        },
    )
    object_ids = columns["OBJECTID"].to_numpy()
    # business contacts on a free e-mail domain can only be linked to their company explicitly
    explicit = np.flatnonzero((company >= 0) & (rng.random(size) < np.where(work_email, 0.6, 0.9)))
    memberships = pa.table(
        {
            "CONTACT_OBJECTID": pa.array(object_ids[explicit], pa.int64()),
            "COMPANY_OBJECTID": pa.array(companies.object_ids[company[explicit]], pa.int64()),
        }
    )
    activity = rng.lognormal(0, 1, size) * np.where(company >= 0, 0.25, 1.0)
    model = Contacts(object_ids, external_ids, company, activity)
    _make_dirty(rng, columns, dirty_share, DIRTY_KINDS["OBJECTS_CONTACTS"])
    return model, pa.table(columns), memberships


def _products(
    rng: np.random.Generator, size: int, window: Window, dirty_share: float
) -> tuple[Products, pa.Table]:
    """A catalogue over :data:`PRODUCT_CATEGORIES`; B2B products are sold in sales deals, never online."""
    category = rng.integers(len(PRODUCT_CATEGORIES), size=size)
    noun_counts = np.array([len(branch.nouns) for branch in PRODUCT_CATEGORIES])
    first_noun = np.cumsum(noun_counts) - noun_counts
    noun = first_noun[category] + _below(rng, noun_counts[category])
    all_nouns = [name for branch in PRODUCT_CATEGORIES for name in branch.nouns]
    names = pc.binary_join_element_wise(
        _pick(rng, PRODUCT_ADJECTIVES, size),
        _pick(rng, PRODUCT_COLOURS, size),
        _strings(all_nouns).take(noun),
        " ",
    )
    median_prices = np.array([branch.median_price for branch in PRODUCT_CATEGORIES])[category]
    prices = np.maximum(1, np.round(median_prices * rng.lognormal(0, 0.4, size))) - 0.01
    b2b = np.array([branch.b2b for branch in PRODUCT_CATEGORIES])[category]
    external_ids = _hex_ids(rng, size, dashed=True)
    created = _created_before(rng, size, window, 3 * 365)
    descriptions = _concat(
        _pick(rng, DESCRIPTION_OPENINGS, size),
        names,
        _pick(rng, DESCRIPTION_MIDDLES, size),
        _pick(rng, DESCRIPTION_MATERIALS, size),
        _pick(rng, DESCRIPTION_CLOSINGS, size),
    )
    columns = _object_rows(
        rng,
        "OBJECTS_PRODUCTS",
        created,
        window,
        {
            "NAME": names,
            "EXTERNAL_ID": external_ids,
            "PRICE": _text(prices),
            "DESCRIPTION": descriptions,
            "CATEGORY_LEVEL_1": _strings([branch.level_1 for branch in PRODUCT_CATEGORIES]).take(category),
            "CATEGORY_LEVEL_2": _strings([branch.level_2 for branch in PRODUCT_CATEGORIES]).take(category),
            "GENDER": _pick(rng, PRODUCT_GENDERS, size, p=(0.6, 0.2, 0.2)),
            "PROMOTED": _pick(rng, ("True", None, ""), size, p=(0.25, 0.65, 0.1)),
            "HS_SKU": _concat("SKU-", _padded(np.arange(1, size + 1), 6)),
            "CREATEDATE": _date_text(rng, created),
        },
    )
    dirty = _make_dirty(rng, columns, dirty_share, DIRTY_KINDS["OBJECTS_PRODUCTS"])
    # Zipf-like popularity over the products sold online whose catalogue id stayed clean: the dirt in events
    # is injected separately, so that its share stays what was asked for
    popularity = np.where(b2b, 0.0, 1.0 / (rng.permutation(size) + 1.0) ** 0.9)
    popularity[np.concatenate([dirty["external_id_empty"], dirty["external_id_overlong"]])] = 0
    if not popularity.any():
        popularity[:] = 1
    model = Products(columns["OBJECTID"].to_numpy(), external_ids, names, prices, b2b, popularity)
    return model, pa.table(columns)


def _line_items(
    rng: np.random.Generator,
    deal_count: int,
    counts: Sequence[int],
    count_p: Sequence[float],
    product_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(deal position, product position) per line item; a deal has one of ``counts`` items (``count_p``)."""
    item_deal = np.repeat(np.arange(deal_count), rng.choice(counts, size=deal_count, p=count_p))
    return item_deal, _weighted(rng, product_weights, len(item_deal))


def _carts(
    rng: np.random.Generator, size: int, contacts: Contacts, products: Products, window: Window
) -> DealDraft:
    """E-commerce checkouts of consumers: pending, or completed a few hours after the cart was created."""
    consumer_activity = np.where(contacts.company < 0, contacts.activity, 0)
    contact = _weighted(rng, consumer_activity if consumer_activity.any() else contacts.activity, size)
    created = window.start + rng.integers(0, window.end - window.start, size)
    completed = rng.random(size) < 0.55
    checkout_time = rng.exponential(3 * _MS_PER_HOUR, size).astype(np.int64)
    item_deal, item_product = _line_items(rng, size, (1, 2, 3), (0.7, 0.2, 0.1), products.popularity)
    first_item = np.searchsorted(item_deal, np.arange(size))
    return DealDraft(
        pipelines=pa.repeat(ECOMMERCE_PIPELINE_ID, size),
        stage_ids=pc.if_else(pa.array(completed), CHECKOUT_COMPLETED_STAGE_ID, CHECKOUT_PENDING_STAGE_ID),
        created_ms=created,
        closed_ms=np.where(completed, np.minimum(created + checkout_time, window.end - 1), -1),
        names=_concat(products.names.take(item_product[first_item]), " Cart"),
        cart_discounts=_pick(rng, ("Yes", "No"), size, p=(0.3, 0.7)),
        item_deal=item_deal,
        item_product=item_product,
        item_quantity=rng.choice((1, 2, 3), size=len(item_deal), p=(0.8, 0.15, 0.05)),
        contact_deal=np.arange(size),
        contact=contact,
        company_deal=np.empty(0, np.int64),
        company=np.empty(0, np.int64),
    )


def _sales_deals(
    rng: np.random.Generator,
    size: int,
    contacts: Contacts,
    companies: Companies,
    products: Products,
    window: Window,
) -> DealDraft:
    """B2B deals in HubSpot's default sales pipeline: one company, up to two of its contacts, B2B products.

    A fifth have no line items (and so no amount), 5% no company association; open deals mostly carry an
    expected close date, possibly after the window.
    """
    company = _weighted(rng, companies.weights, size)
    # a deal's contacts are drawn from its company's business contacts, when it has any
    by_company = np.argsort(contacts.company, kind="stable")
    group_sizes = np.bincount(contacts.company[contacts.company >= 0], minlength=len(companies.object_ids))
    group_starts = np.searchsorted(contacts.company[by_company], np.arange(len(companies.object_ids)))
    contact_deal = np.repeat(np.arange(size), rng.choice((1, 2), size=size, p=(0.7, 0.3)))
    contact_deal = contact_deal[group_sizes[company[contact_deal]] > 0]
    deal_company = company[contact_deal]
    pick_in_group = _below(rng, group_sizes[deal_company])
    stages = DEAL_STAGES[SALES_PIPELINE_ID]
    stage = rng.choice(len(stages), size=size, p=B2B_STAGE_P)
    created = _created_before(rng, size, window, 365)
    won_or_lost = np.minimum(created + rng.integers(7, 120, size) * _MS_PER_DAY, window.end - 1)
    expected = np.where(rng.random(size) < 0.7, created + rng.integers(30, 180, size) * _MS_PER_DAY, -1)
    item_deal, item_product = _line_items(rng, size, (0, 1, 2, 3), (0.2, 0.4, 0.25, 0.15), products.b2b * 1.0)
    company_deal = np.flatnonzero(rng.random(size) < 0.95)
    return DealDraft(
        pipelines=pa.repeat(SALES_PIPELINE_ID, size),
        stage_ids=_strings([each.stage_id for each in stages]).take(stage),
        created_ms=created,
        closed_ms=np.where(np.array([each.is_closed for each in stages])[stage], won_or_lost, expected),
        names=pc.binary_join_element_wise(
            companies.names.take(company), _pick(rng, B2B_DEAL_KINDS, size), " – "
        ),
        cart_discounts=pa.nulls(size, pa.string()),
        item_deal=item_deal,
        item_product=item_product,
        item_quantity=rng.integers(1, 50, len(item_deal)),
        contact_deal=contact_deal,
        contact=by_company[group_starts[deal_company] + pick_in_group],
        company_deal=company_deal,
        company=company[company_deal],
    )


def _merged(drafts: Sequence[DealDraft]) -> DealDraft:
    """One draft holding all of ``drafts``' deals, deal positions shifted accordingly."""
    offsets = np.cumsum([0] + [len(draft.created_ms) for draft in drafts])

    def joined(field: str, *, shift: bool = False) -> np.ndarray | pa.Array:
        parts = [getattr(draft, field) for draft in drafts]
        if isinstance(parts[0], pa.Array):
            return pa.concat_arrays(parts)
        return np.concatenate(
            [part + offset if shift else part for part, offset in zip(parts, offsets, strict=False)]
        )

    position_fields = {"item_deal", "contact_deal", "company_deal"}
    return DealDraft(
        **{field: joined(field, shift=field in position_fields) for field in DealDraft.__annotations__}
    )


def _deal_draft(
    rng: np.random.Generator,
    size: int,
    contacts: Contacts,
    companies: Companies,
    products: Products,
    window: Window,
) -> DealDraft:
    """E-commerce carts, plus 30% sales deals when there are companies and B2B products."""
    sales_count = (
        int((rng.random(size) < 0.3).sum()) if len(companies.object_ids) and products.b2b.any() else 0
    )
    drafts = [_carts(rng, size - sales_count, contacts, products, window)]
    if sales_count:
        drafts.append(_sales_deals(rng, sales_count, contacts, companies, products, window))
    return _merged(drafts)


def _deal_tables(
    rng: np.random.Generator,
    size: int,
    contacts: Contacts,
    companies: Companies,
    products: Products,
    window: Window,
    dirty_share: float,
) -> dict[str, pa.Table]:
    """``size`` deals (``OBJECTS_DEALS``), their ``OBJECTS_LINE_ITEMS`` and their associations."""
    draft = _deal_draft(rng, size, contacts, companies, products, window)
    item_amounts = np.round(products.prices[draft.item_product] * draft.item_quantity, 2)
    deal_amounts = np.round(np.bincount(draft.item_deal, weights=item_amounts, minlength=size), 2)
    has_items = np.bincount(draft.item_deal, minlength=size) > 0
    # a deal last changed when it closed, unless its close date is only expected (in the future)
    closed_by_now = (draft.closed_ms >= 0) & (draft.closed_ms < window.end)
    deal_columns = _object_rows(
        rng,
        "OBJECTS_DEALS",
        np.where(closed_by_now, np.maximum(draft.created_ms, draft.closed_ms), draft.created_ms),
        window,
        {
            "DEALNAME": draft.names,
            "PIPELINE": draft.pipelines,
            "DEALSTAGE": draft.stage_ids,
            "AMOUNT": _null_where(_text(deal_amounts), ~has_items),
            "CREATEDATE": _date_text(rng, draft.created_ms),
            "CLOSEDATE": _null_where(_date_text(rng, np.maximum(draft.closed_ms, 0)), draft.closed_ms < 0),
            "CART_DISCOUNT": draft.cart_discounts,
        },
    )
    item_created = draft.created_ms[draft.item_deal]
    item_columns = _object_rows(
        rng,
        "OBJECTS_LINE_ITEMS",
        item_created,
        window,
        {
            "NAME": products.names.take(draft.item_product),
            "HS_PRODUCT_ID": _text(products.object_ids[draft.item_product]),
            "PRICE": _text(products.prices[draft.item_product]),
            "QUANTITY": _text(draft.item_quantity),
            "AMOUNT": _text(item_amounts),
            "CREATEDATE": _date_text(rng, item_created),
        },
    )
    deal_ids = deal_columns["OBJECTID"].to_numpy()
    associations = {
        "ASSOCIATIONS_DEALS_TO_CONTACTS": pa.table(
            {
                "DEAL_OBJECTID": pa.array(deal_ids[draft.contact_deal], pa.int64()),
                "CONTACT_OBJECTID": pa.array(contacts.object_ids[draft.contact], pa.int64()),
            }
        ),
        "ASSOCIATIONS_DEALS_TO_COMPANIES": pa.table(
            {
                "DEAL_OBJECTID": pa.array(deal_ids[draft.company_deal], pa.int64()),
                "COMPANY_OBJECTID": pa.array(companies.object_ids[draft.company], pa.int64()),
            }
        ),
        "ASSOCIATIONS_LINE_ITEMS_TO_DEALS": pa.table(
            {"LINE_ITEM_OBJECTID": item_columns["OBJECTID"], "DEAL_OBJECTID": deal_ids[draft.item_deal]}
        ),
    }
    _make_dirty(rng, deal_columns, dirty_share, DIRTY_KINDS["OBJECTS_DEALS"])
    _make_dirty(rng, item_columns, dirty_share, DIRTY_KINDS["OBJECTS_LINE_ITEMS"])
    return {
        "OBJECTS_DEALS": pa.table(deal_columns),
        "OBJECTS_LINE_ITEMS": pa.table(item_columns),
        **associations,
    }


def _events(
    rng: np.random.Generator,
    size: int,
    contacts: Contacts,
    products: Products,
    window: Window,
    dirty_share: float,
) -> pa.Table:
    """``size`` custom events from shopping sessions that walk the :data:`FUNNEL` on one product.

    Sessions stop early (so ``View`` dominates), are busier towards the end of the window and at weekends,
    and a quarter of the cart-level events (``ViewCart``, ``StartCheckout``) carry no item.
    """
    depth = rng.choice(np.arange(1, len(FUNNEL) + 1), size=size, p=SESSION_DEPTH_P)
    session = np.repeat(np.arange(size), depth)[:size]
    first_event = np.cumsum(depth) - depth
    step = np.arange(size) - first_event[session]
    session_count = int(session[-1]) + 1 if size else 0
    contact = _weighted(rng, contacts.activity, session_count)
    product = _weighted(rng, products.popularity, session_count)
    weekend = (window.start // _MS_PER_DAY + np.arange(window.days) + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    day = _weighted(rng, 1 + 0.5 * np.arange(window.days) / window.days + 0.3 * weekend, session_count)
    session_start = (
        window.start + day * _MS_PER_DAY + (rng.beta(2.5, 1.8, session_count) * _MS_PER_DAY).astype(np.int64)
    )
    elapsed = np.cumsum(np.where(step == 0, 0, rng.exponential(90_000, size).astype(np.int64)))
    occurred = np.minimum(session_start[session] + elapsed - elapsed[first_event[session]], window.end - 1)
    event_product, event_contact = product[session], contact[session]
    cart_level = (step == FUNNEL.index("ViewCart")) | (step == FUNNEL.index("StartCheckout"))
    itemless = cart_level & (rng.random(size) < 0.25)
    columns = {
        "ID": _hex_ids(rng, size, dashed=True),
        "OBJECTID": pa.array(contacts.object_ids[event_contact]),
        "EVENTTYPEID": pa.repeat(ECOMMERCE_EVENT_TYPE_ID, size),
        "OCCURREDAT": _timestamps(occurred),
        "PROPERTY_EVENT_TYPE": _strings(FUNNEL).take(step),
        "PROPERTY_ITEM_ID": _null_where(products.external_ids.take(event_product), itemless),
        "PROPERTY_USER_ID": contacts.external_ids.take(event_contact),
        "PROPERTY_ITEM_PRICE": _null_where(_text(products.prices[event_product]), itemless),
        "PROPERTY_ITEM_DISCOUNT": _pick(rng, ("Yes", "No"), size, p=(0.3, 0.7)),
        "PROPERTY_ITEM_NAME": _null_where(products.names.take(event_product), itemless),
    }
    duplicates = _make_dirty(rng, columns, dirty_share, DIRTY_KINDS[EVENTS])[DUPLICATE_EVENT]
    return _copy_rows(pa.table(columns), duplicates, _others(rng, size, duplicates))
