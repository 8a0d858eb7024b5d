"""The product catalogue: categories, names, prices and descriptions (with commas, quotes and newlines)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.local.generator.columns import (
    Window,
    below,
    concat,
    created_before,
    date_text,
    hex_ids,
    object_rows,
    padded,
    pick,
    strings,
    text,
)
from hubspot_pipeline.local.generator.dirt import Dirt


@dataclass(frozen=True)
class ProductCategory:
    """A branch of the product taxonomy: its two category levels, product nouns and typical price."""

    level_1: str
    level_2: str
    nouns: tuple[str, ...]
    median_price: float
    b2b: bool = False


# a data table, in draw order: `duplicates` pairs two runs of its rows by their shape alone (the same
# fields, as many nouns); kept on purpose
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


@dataclass(frozen=True)
class Products:
    """What later tables need from the generated products (clean values)."""

    object_ids: np.ndarray
    external_ids: pa.Array
    names: pa.Array
    prices: np.ndarray
    b2b: np.ndarray
    popularity: np.ndarray  # weight in events and carts; 0 for products not sold online


def product_rows(
    rng: np.random.Generator, size: int, window: Window, dirt: Dirt
) -> tuple[Products, pa.Table]:
    """A catalogue over :data:`PRODUCT_CATEGORIES`; B2B products are sold in sales deals, never online."""
    category = rng.integers(len(PRODUCT_CATEGORIES), size=size)
    noun_counts = np.array([len(branch.nouns) for branch in PRODUCT_CATEGORIES])
    first_noun = np.cumsum(noun_counts) - noun_counts
    noun = first_noun[category] + below(rng, noun_counts[category])
    all_nouns = [name for branch in PRODUCT_CATEGORIES for name in branch.nouns]
    names = pc.binary_join_element_wise(
        pick(rng, PRODUCT_ADJECTIVES, size),
        pick(rng, PRODUCT_COLOURS, size),
        strings(all_nouns).take(noun),
        " ",
    )
    median_prices = np.array([branch.median_price for branch in PRODUCT_CATEGORIES])[category]
    prices = np.maximum(1, np.round(median_prices * rng.lognormal(0, 0.4, size))) - 0.01
    b2b = np.array([branch.b2b for branch in PRODUCT_CATEGORIES])[category]
    external_ids = hex_ids(rng, size, dashed=True)
    created = created_before(rng, size, window, 3 * 365)
    descriptions = concat(
        pick(rng, DESCRIPTION_OPENINGS, size),
        names,
        pick(rng, DESCRIPTION_MIDDLES, size),
        pick(rng, DESCRIPTION_MATERIALS, size),
        pick(rng, DESCRIPTION_CLOSINGS, size),
    )
    columns = object_rows(
        rng,
        "OBJECTS_PRODUCTS",
        created,
        window,
        {
            "NAME": names,
            "EXTERNAL_ID": external_ids,
            "PRICE": text(prices),
            "DESCRIPTION": descriptions,
            "CATEGORY_LEVEL_1": strings([branch.level_1 for branch in PRODUCT_CATEGORIES]).take(category),
            "CATEGORY_LEVEL_2": strings([branch.level_2 for branch in PRODUCT_CATEGORIES]).take(category),
            "GENDER": pick(rng, PRODUCT_GENDERS, size, p=(0.6, 0.2, 0.2)),
            "PROMOTED": pick(rng, ("True", None, ""), size, p=(0.25, 0.65, 0.1)),
            "HS_SKU": concat("SKU-", padded(np.arange(1, size + 1), 6)),
            "CREATEDATE": date_text(rng, created),
        },
    )
    dirty = dirt.apply(rng, "OBJECTS_PRODUCTS", columns)
    # Zipf-like popularity over the products sold online whose catalogue id stayed clean: the dirt in events
    # is injected separately, so that its share stays what was asked for
    popularity = np.where(b2b, 0.0, 1.0 / (rng.permutation(size) + 1.0) ** 0.9)
    popularity[np.concatenate([dirty["external_id_empty"], dirty["external_id_overlong"]])] = 0
    if not popularity.any():
        popularity[:] = 1
    model = Products(columns["OBJECTID"].to_numpy(), external_ids, names, prices, b2b, popularity)
    return model, pa.table(columns)
