"""Deals and their line items: e-commerce carts and B2B sales deals, associated to contacts and companies.

The deals sit in the pipelines and stages of :data:`~hubspot_pipeline.local.share_schema.DEAL_STAGES`, whose
rows the share is created with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.local.generator.columns import (
    MS_PER_DAY,
    MS_PER_HOUR,
    below,
    concat,
    created_before,
    date_text,
    null_where,
    object_rows,
    pick,
    strings,
    text,
    weighted,
)
from hubspot_pipeline.local.generator.dirt import Dirt
from hubspot_pipeline.local.generator.portal import Portal
from hubspot_pipeline.local.share_schema import (
    CHECKOUT_COMPLETED_STAGE_ID,
    CHECKOUT_PENDING_STAGE_ID,
    DEAL_STAGES,
    ECOMMERCE_PIPELINE_ID,
    SALES_PIPELINE_ID,
)

B2B_DEAL_KINDS = ("New Business", "Renewal", "Expansion", "Pilot")
B2B_STAGE_P = (0.15, 0.15, 0.1, 0.08, 0.07, 0.25, 0.2)  # in DEAL_STAGES[SALES_PIPELINE_ID] order


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


def _line_items(
    rng: np.random.Generator,
    deal_count: int,
    counts: Sequence[int],
    count_p: Sequence[float],
    product_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(deal position, product position) per line item; a deal has one of ``counts`` items (``count_p``)."""
    item_deal = np.repeat(np.arange(deal_count), rng.choice(counts, size=deal_count, p=count_p))
    return item_deal, weighted(rng, product_weights, len(item_deal))


def _carts(rng: np.random.Generator, size: int, portal: Portal) -> DealDraft:
    """E-commerce checkouts of consumers: pending, or completed a few hours after the cart was created."""
    contacts, products, window = portal.contacts, portal.products, portal.window
    consumer_activity = np.where(contacts.company < 0, contacts.activity, 0)
    contact = weighted(rng, consumer_activity if consumer_activity.any() else contacts.activity, size)
    created = window.start + rng.integers(0, window.end - window.start, size)
    completed = rng.random(size) < 0.55
    checkout_time = rng.exponential(3 * MS_PER_HOUR, size).astype(np.int64)
    item_deal, item_product = _line_items(rng, size, (1, 2, 3), (0.7, 0.2, 0.1), products.popularity)
    first_item = np.searchsorted(item_deal, np.arange(size))
    return DealDraft(
        pipelines=pa.repeat(ECOMMERCE_PIPELINE_ID, size),
        stage_ids=pc.if_else(pa.array(completed), CHECKOUT_COMPLETED_STAGE_ID, CHECKOUT_PENDING_STAGE_ID),
        created_ms=created,
        closed_ms=np.where(completed, np.minimum(created + checkout_time, window.end - 1), -1),
        names=concat(products.names.take(item_product[first_item]), " Cart"),
        cart_discounts=pick(rng, ("Yes", "No"), size, p=(0.3, 0.7)),
        item_deal=item_deal,
        item_product=item_product,
        item_quantity=rng.choice((1, 2, 3), size=len(item_deal), p=(0.8, 0.15, 0.05)),
        contact_deal=np.arange(size),
        contact=contact,
        company_deal=np.empty(0, np.int64),
        company=np.empty(0, np.int64),
    )


def _sales_deals(rng: np.random.Generator, size: int, portal: Portal) -> DealDraft:
    """B2B deals in HubSpot's default sales pipeline: one company, up to two of its contacts, B2B products.

    A fifth have no line items (and so no amount), 5% no company association; open deals mostly carry an
    expected close date, possibly after the window.
    """
    contacts, companies, products, window = portal.contacts, portal.companies, portal.products, portal.window
    company = weighted(rng, companies.weights, size)
    # a deal's contacts are drawn from its company's business contacts, when it has any
    by_company = np.argsort(contacts.company, kind="stable")
    group_sizes = np.bincount(contacts.company[contacts.company >= 0], minlength=len(companies.object_ids))
    group_starts = np.searchsorted(contacts.company[by_company], np.arange(len(companies.object_ids)))
    contact_deal = np.repeat(np.arange(size), rng.choice((1, 2), size=size, p=(0.7, 0.3)))
    contact_deal = contact_deal[group_sizes[company[contact_deal]] > 0]
    deal_company = company[contact_deal]
    pick_in_group = below(rng, group_sizes[deal_company])
    stages = DEAL_STAGES[SALES_PIPELINE_ID]
    stage = rng.choice(len(stages), size=size, p=B2B_STAGE_P)
    created = created_before(rng, size, window, 365)
    won_or_lost = np.minimum(created + rng.integers(7, 120, size) * MS_PER_DAY, window.end - 1)
    expected = np.where(rng.random(size) < 0.7, created + rng.integers(30, 180, size) * MS_PER_DAY, -1)
    item_deal, item_product = _line_items(rng, size, (0, 1, 2, 3), (0.2, 0.4, 0.25, 0.15), products.b2b * 1.0)
    company_deal = np.flatnonzero(rng.random(size) < 0.95)
    return DealDraft(
        pipelines=pa.repeat(SALES_PIPELINE_ID, size),
        stage_ids=strings([each.stage_id for each in stages]).take(stage),
        created_ms=created,
        closed_ms=np.where(np.array([each.is_closed for each in stages])[stage], won_or_lost, expected),
        names=pc.binary_join_element_wise(
            companies.names.take(company), pick(rng, B2B_DEAL_KINDS, size), " – "
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


def _deal_draft(rng: np.random.Generator, size: int, portal: Portal) -> DealDraft:
    """E-commerce carts, plus 30% sales deals when there are companies and B2B products."""
    companies, products = portal.companies, portal.products
    sales_count = (
        int((rng.random(size) < 0.3).sum()) if len(companies.object_ids) and products.b2b.any() else 0
    )
    drafts = [_carts(rng, size - sales_count, portal)]
    if sales_count:
        drafts.append(_sales_deals(rng, sales_count, portal))
    return _merged(drafts)


def deal_tables(rng: np.random.Generator, size: int, portal: Portal, dirt: Dirt) -> dict[str, pa.Table]:
    """``size`` deals (``OBJECTS_DEALS``), their ``OBJECTS_LINE_ITEMS`` and their associations."""
    contacts, companies, products, window = portal.contacts, portal.companies, portal.products, portal.window
    draft = _deal_draft(rng, size, portal)
    item_amounts = np.round(products.prices[draft.item_product] * draft.item_quantity, 2)
    deal_amounts = np.round(np.bincount(draft.item_deal, weights=item_amounts, minlength=size), 2)
    has_items = np.bincount(draft.item_deal, minlength=size) > 0
    # a deal last changed when it closed, unless its close date is only expected (in the future)
    closed_by_now = (draft.closed_ms >= 0) & (draft.closed_ms < window.end)
    deal_columns = object_rows(
        rng,
        "OBJECTS_DEALS",
        np.where(closed_by_now, np.maximum(draft.created_ms, draft.closed_ms), draft.created_ms),
        window,
        {
            "DEALNAME": draft.names,
            "PIPELINE": draft.pipelines,
            "DEALSTAGE": draft.stage_ids,
            "AMOUNT": null_where(text(deal_amounts), ~has_items),
            "CREATEDATE": date_text(rng, draft.created_ms),
            "CLOSEDATE": null_where(date_text(rng, np.maximum(draft.closed_ms, 0)), draft.closed_ms < 0),
            "CART_DISCOUNT": draft.cart_discounts,
        },
    )
    item_created = draft.created_ms[draft.item_deal]
    item_columns = object_rows(
        rng,
        "OBJECTS_LINE_ITEMS",
        item_created,
        window,
        {
            "NAME": products.names.take(draft.item_product),
            "HS_PRODUCT_ID": text(products.object_ids[draft.item_product]),
            "PRICE": text(products.prices[draft.item_product]),
            "QUANTITY": text(draft.item_quantity),
            "AMOUNT": text(item_amounts),
            "CREATEDATE": date_text(rng, item_created),
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
    dirt.apply(rng, "OBJECTS_DEALS", deal_columns)
    dirt.apply(rng, "OBJECTS_LINE_ITEMS", item_columns)
    return {
        "OBJECTS_DEALS": pa.table(deal_columns),
        "OBJECTS_LINE_ITEMS": pa.table(item_columns),
        **associations,
    }
