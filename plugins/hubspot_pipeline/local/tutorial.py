"""HubSpot's tutorial sample CSVs, loaded where the Snowflake share holds them after the tutorial's imports.

The tutorial ("Custom ML Recommendation Engine with HubSpot and AWS") imports ``items.csv`` as products,
``email.csv`` as contacts, the five custom-event-interactions sets as completions of the "E-Commerce
Interactions" event, the checkout-pending deals (one line item each) and then updates the matching deals to
"Checkout Completed". Text is read and written as is: descriptions keep their commas and quotes. Property
columns are typed as in the real share (the sample's text parsed: prices as numbers, ``PROMOTED`` ``True`` as
TRUE and empty as NULL), or all VARCHAR with ``all_text``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from hubspot_pipeline.local.share_schema import (
    CHECKOUT_COMPLETED_STAGE_ID,
    CHECKOUT_PENDING_STAGE_ID,
    DEFAULT_DATABASE,
    DEFAULT_EVENT_TABLE,
    DEFAULT_SCHEMA,
    ECOMMERCE_EVENT_TYPE_ID,
    ECOMMERCE_PIPELINE_ID,
    OBJECT_TYPE_IDS,
    object_ids,
    rebuilt_share,
)

# the sample ships inside the package (MIT, see its LICENSE and README.md), found next to this module so
# that a deployment shipping plugins/ has it too
TUTORIAL_SAMPLE_DIR = Path(__file__).resolve().parent / "tutorial_sample"
ITEMS_FILE = "items.csv"
USERS_FILE = "email.csv"
EVENT_FILES = tuple(f"custom-event-interactions-set-{number}.csv" for number in range(1, 6))
PENDING_DEALS_FILE = "deals-added-to-cart_checkoutPending.csv"
COMPLETED_DEALS_FILE = "deals-purchased_checkoutCompleted.csv"
# a completed checkout updates the pending deal of the same contact for the same item
DEAL_MATCH_KEY = ["Contact ID", "ITEM_ID"]


def load_tutorial_sample(
    sample_dir: str | os.PathLike,
    db_path: str | os.PathLike,
    *,
    database: str = DEFAULT_DATABASE,
    schema: str = DEFAULT_SCHEMA,
    event_table: str = DEFAULT_EVENT_TABLE,
    all_text: bool = False,
) -> dict[str, int]:
    """Write the tutorial sample to ``<db_path>/<database>.db``, replacing the file; return rows per table.
    Property columns are typed, or all VARCHAR with ``all_text``."""
    sample = Path(sample_dir)
    items, users = _read(sample / ITEMS_FILE), _read(sample / USERS_FILE)
    events = pd.concat(
        [_read(sample / name).assign(SET=str(number)) for number, name in enumerate(EVENT_FILES, start=1)],
        ignore_index=True,
    )
    pending, completed = _read(sample / PENDING_DEALS_FILE), _read(sample / COMPLETED_DEALS_FILE)
    # the tutorial imports products and contacts before it imports their history
    imported_at = _from_epoch_seconds(events["TIMESTAMP"]).min().floor("D") - pd.Timedelta(days=1)
    contact_ids = _contact_ids(users, [events, pending, completed])
    products = _products(items, imported_at)
    product_ids = pd.Series(products["OBJECTID"].to_numpy(), index=items["ITEM_ID"])
    with rebuilt_share(db_path, database, schema, event_table, all_text=all_text) as loader:
        loader.append("OBJECTS_PRODUCTS", products)
        loader.append("OBJECTS_CONTACTS", _contacts(users, contact_ids, imported_at))
        loader.append(event_table, _events(events))
        for table, rows in _deals(pending, completed, product_ids).items():
            loader.append(table, rows)
        return dict(loader.row_counts)


def _read(path: Path) -> pd.DataFrame:
    """A sample CSV with every value as text, exactly as written (empty stays empty, never NaN)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _from_epoch_seconds(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("int64"), unit="s")


def _iso(moments: pd.Series) -> pd.Series:
    """HubSpot-style ISO-8601 property text, e.g. ``2023-12-01T21:35:38.000Z``."""
    return moments.dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _system_columns(table: str, object_ids: pd.Series, changed_at: pd.Series | pd.Timestamp) -> dict:
    """``OBJECTID``, ``OBJECTTYPEID`` and, from ``changed_at``, ``UPDATEDAT`` and ``INGESTEDAT``."""
    return {
        "OBJECTID": object_ids.to_numpy(),
        "OBJECTTYPEID": OBJECT_TYPE_IDS[table],
        "UPDATEDAT": changed_at,
        "INGESTEDAT": changed_at,
    }


def _sequential_ids(table: str, count: int) -> pd.Series:
    return pd.Series(object_ids(table, count))


def _contact_ids(users: pd.DataFrame, frames: list[pd.DataFrame]) -> pd.Series:
    """Contact record id per ``USER_ID``: the ``Contact ID`` the tutorial's files give for it, else a new id
    above all of those (in ``email.csv`` order)."""
    known = pd.concat([frame[["USER_ID", "Contact ID"]] for frame in frames]).drop_duplicates()
    conflicting = known[known["USER_ID"].duplicated(keep=False)]
    if not conflicting.empty:
        raise ValueError(
            f"users with more than one Contact ID: {sorted(conflicting['USER_ID'].unique())[:10]}"
        )
    known_ids = known.set_index("USER_ID")["Contact ID"].astype("int64")
    ids = users["USER_ID"].map(known_ids).to_numpy(dtype="float64", copy=True)
    unknown = np.isnan(ids)
    ids[unknown] = known_ids.max() + np.arange(1, unknown.sum() + 1)
    return pd.Series(ids.astype("int64"), index=users["USER_ID"])


def _products(items: pd.DataFrame, imported_at: pd.Timestamp) -> pd.DataFrame:
    """``items.csv`` as imported: ``ITEM_ID`` is the external id; ``PROMOTED`` stays ``True`` or empty."""
    return pd.DataFrame(
        {
            **_system_columns(
                "OBJECTS_PRODUCTS", _sequential_ids("OBJECTS_PRODUCTS", len(items)), imported_at
            ),
            "PROPERTY_NAME": items["PRODUCT_NAME"],
            "PROPERTY_EXTERNAL_ID": items["ITEM_ID"],
            "PROPERTY_PRICE": items["PRICE"],
            "PROPERTY_DESCRIPTION": items["PRODUCT_DESCRIPTION"],
            "PROPERTY_CATEGORY_LEVEL_1": items["CATEGORY_L1"],
            "PROPERTY_CATEGORY_LEVEL_2": items["CATEGORY_L2"],
            "PROPERTY_GENDER": items["GENDER"],
            "PROPERTY_PROMOTED": items["PROMOTED"],
            "PROPERTY_HS_SKU": None,
            "PROPERTY_CREATEDATE": _iso(pd.Series(imported_at, index=items.index)),
        }
    )


def _contacts(users: pd.DataFrame, contact_ids: pd.Series, imported_at: pd.Timestamp) -> pd.DataFrame:
    """``email.csv`` as imported: ``USER_ID`` becomes the external id; imports count as offline sources."""
    return pd.DataFrame(
        {
            **_system_columns("OBJECTS_CONTACTS", users["USER_ID"].map(contact_ids), imported_at),
            "PROPERTY_EMAIL": users["EMAIL"],
            "PROPERTY_EXTERNAL_ID": users["USER_ID"],
            "PROPERTY_FIRSTNAME": users["FIRSTNAME"],
            "PROPERTY_LASTNAME": users["LASTNAME"],
            "PROPERTY_PHONE": None,
            "PROPERTY_AGE": users["AGE"],
            "PROPERTY_GENDER": users["GENDER"],
            "PROPERTY_CREATEDATE": _iso(pd.Series(imported_at, index=users.index)),
            "PROPERTY_LIFECYCLESTAGE": "lead",
            "PROPERTY_HS_ANALYTICS_SOURCE": "OFFLINE",
            "PROPERTY_VISITOR_ID": None,
        }
    )


def _events(events: pd.DataFrame) -> pd.DataFrame:
    """Event completions, one per CSV row: ``ID`` is ``tutorial-<set>-<row>``, the contact ``Contact ID``."""
    row_in_set = (events.groupby("SET").cumcount() + 1).astype(str).str.zfill(4)
    return pd.DataFrame(
        {
            "ID": "tutorial-" + events["SET"] + "-" + row_in_set,
            "OBJECTID": events["Contact ID"].astype("int64"),
            "EVENTTYPEID": ECOMMERCE_EVENT_TYPE_ID,
            "OCCURREDAT": _from_epoch_seconds(events["TIMESTAMP"]),
            "PROPERTY_EVENT_TYPE": events["EVENT_TYPE"],
            "PROPERTY_ITEM_ID": events["ITEM_ID"],
            "PROPERTY_USER_ID": events["USER_ID"],
            "PROPERTY_ITEM_PRICE": events["ITEM_PRICE"],
            "PROPERTY_ITEM_DISCOUNT": events["DISCOUNT"],
            "PROPERTY_ITEM_NAME": events["ITEM_PRODUCT_NAME"],
        }
    )


def _deals(pending: pd.DataFrame, completed: pd.DataFrame, product_ids: pd.Series) -> dict[str, pd.DataFrame]:
    """Deals with one line item each, and their associations.

    Every pending row is a deal in "Checkout Pending"; a completed row matching a pending deal (same contact,
    same item) moves that deal to "Checkout Completed" with the completed row's time as close date, as the
    tutorial's update import does. Completed rows without a match become deals created and closed at once.
    """
    pending_keys = pending[DEAL_MATCH_KEY].reset_index(names="PENDING_ROW").drop_duplicates(DEAL_MATCH_KEY)
    completed_keys = completed[[*DEAL_MATCH_KEY, "TIMESTAMP"]].reset_index(names="COMPLETED_ROW")
    matches = completed_keys.drop_duplicates(DEAL_MATCH_KEY).merge(pending_keys, on=DEAL_MATCH_KEY)
    closed_at = pending.index.to_series().map(
        pd.Series(_from_epoch_seconds(matches["TIMESTAMP"]).to_numpy(), index=matches["PENDING_ROW"])
    )
    unmatched = completed.drop(index=matches["COMPLETED_ROW"])
    new_closed_at = _from_epoch_seconds(unmatched["TIMESTAMP"])
    carts = pd.concat(
        [
            pending.assign(CREATED_AT=_from_epoch_seconds(pending["TIMESTAMP"]), CLOSED_AT=closed_at),
            unmatched.assign(
                CREATED_AT=new_closed_at,
                CLOSED_AT=new_closed_at,
                **{
                    "Deal Name": unmatched["ITEM_PRODUCT_NAME"] + " Cart",
                    "Quantity": "1",
                    "Deal Amount": unmatched["ITEM_PRICE"],
                },
            ),
        ],
        ignore_index=True,
    )
    deal_ids = _sequential_ids("OBJECTS_DEALS", len(carts))
    line_item_ids = _sequential_ids("OBJECTS_LINE_ITEMS", len(carts))
    is_closed = carts["CLOSED_AT"].notna()
    created = _iso(carts["CREATED_AT"])
    deals = pd.DataFrame(
        {
            **_system_columns("OBJECTS_DEALS", deal_ids, carts["CLOSED_AT"].fillna(carts["CREATED_AT"])),
            "PROPERTY_DEALNAME": carts["Deal Name"],
            "PROPERTY_PIPELINE": ECOMMERCE_PIPELINE_ID,
            "PROPERTY_DEALSTAGE": np.where(is_closed, CHECKOUT_COMPLETED_STAGE_ID, CHECKOUT_PENDING_STAGE_ID),
            "PROPERTY_AMOUNT": carts["Deal Amount"],
            "PROPERTY_CREATEDATE": created,
            "PROPERTY_CLOSEDATE": _iso(carts["CLOSED_AT"]),
            "PROPERTY_CART_DISCOUNT": carts["DISCOUNT"],
        }
    )
    line_items = pd.DataFrame(
        {
            **_system_columns("OBJECTS_LINE_ITEMS", line_item_ids, carts["CREATED_AT"]),
            "PROPERTY_NAME": carts["ITEM_PRODUCT_NAME"],
            "PROPERTY_HS_PRODUCT_ID": carts["ITEM_ID"].map(product_ids.astype(str)),
            "PROPERTY_PRICE": carts["ITEM_PRICE"],
            "PROPERTY_QUANTITY": carts["Quantity"],
            "PROPERTY_AMOUNT": carts["Deal Amount"],
            "PROPERTY_CREATEDATE": created,
        }
    )
    return {
        "OBJECTS_DEALS": deals,
        "OBJECTS_LINE_ITEMS": line_items,
        "ASSOCIATIONS_DEALS_TO_CONTACTS": pd.DataFrame(
            {"DEAL_OBJECTID": deal_ids, "CONTACT_OBJECTID": carts["Contact ID"].astype("int64")}
        ),
        "ASSOCIATIONS_LINE_ITEMS_TO_DEALS": pd.DataFrame(
            {"LINE_ITEM_OBJECTID": line_item_ids, "DEAL_OBJECTID": deal_ids}
        ),
    }
