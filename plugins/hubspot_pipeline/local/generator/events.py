"""Custom events: the e-commerce interactions of shopping sessions, one chunk of rows a call."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hubspot_pipeline.local.generator.columns import (
    MS_PER_DAY,
    copy_rows,
    hex_ids,
    null_where,
    others,
    pick,
    strings,
    text,
    timestamps,
    weighted,
)
from hubspot_pipeline.local.generator.dirt import DUPLICATE_EVENT, EVENTS, Dirt
from hubspot_pipeline.local.generator.portal import Portal
from hubspot_pipeline.local.share_schema import ECOMMERCE_EVENT_TYPE_ID

FUNNEL = ("View", "AddToCart", "ViewCart", "StartCheckout", "Purchase")
# probability that a shopping session stops after 1, 2, ... len(FUNNEL) steps of the funnel
SESSION_DEPTH_P = (0.62, 0.14, 0.08, 0.06, 0.10)


def event_rows(rng: np.random.Generator, size: int, portal: Portal, dirt: Dirt) -> pa.Table:
    """``size`` custom events from shopping sessions that walk the :data:`FUNNEL` on one product.

    Sessions stop early (so ``View`` dominates), are busier towards the end of the window and at weekends,
    and a quarter of the cart-level events (``ViewCart``, ``StartCheckout``) carry no item.
    """
    contacts, products, window = portal.contacts, portal.products, portal.window
    depth = rng.choice(np.arange(1, len(FUNNEL) + 1), size=size, p=SESSION_DEPTH_P)
    session = np.repeat(np.arange(size), depth)[:size]
    first_event = np.cumsum(depth) - depth
    step = np.arange(size) - first_event[session]
    session_count = int(session[-1]) + 1 if size else 0
    contact = weighted(rng, contacts.activity, session_count)
    product = weighted(rng, products.popularity, session_count)
    weekend = (window.start // MS_PER_DAY + np.arange(window.days) + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    day = weighted(rng, 1 + 0.5 * np.arange(window.days) / window.days + 0.3 * weekend, session_count)
    session_start = (
        window.start + day * MS_PER_DAY + (rng.beta(2.5, 1.8, session_count) * MS_PER_DAY).astype(np.int64)
    )
    elapsed = np.cumsum(np.where(step == 0, 0, rng.exponential(90_000, size).astype(np.int64)))
    occurred = np.minimum(session_start[session] + elapsed - elapsed[first_event[session]], window.end - 1)
    event_product, event_contact = product[session], contact[session]
    cart_level = (step == FUNNEL.index("ViewCart")) | (step == FUNNEL.index("StartCheckout"))
    itemless = cart_level & (rng.random(size) < 0.25)
    columns = {
        "ID": hex_ids(rng, size, dashed=True),
        "OBJECTID": pa.array(contacts.object_ids[event_contact]),
        "EVENTTYPEID": pa.repeat(ECOMMERCE_EVENT_TYPE_ID, size),
        "OCCURREDAT": timestamps(occurred),
        "PROPERTY_EVENT_TYPE": strings(FUNNEL).take(step),
        "PROPERTY_ITEM_ID": null_where(products.external_ids.take(event_product), itemless),
        "PROPERTY_USER_ID": contacts.external_ids.take(event_contact),
        "PROPERTY_ITEM_PRICE": null_where(text(products.prices[event_product]), itemless),
        "PROPERTY_ITEM_DISCOUNT": pick(rng, ("Yes", "No"), size, p=(0.3, 0.7)),
        "PROPERTY_ITEM_NAME": null_where(products.names.take(event_product), itemless),
    }
    duplicates = dirt.apply(rng, EVENTS, columns)[DUPLICATE_EVENT]
    return copy_rows(pa.table(columns), duplicates, others(rng, size, duplicates))
