"""Candidate Personalize rows from share rows: mappings, deals, ledger entries."""

from __future__ import annotations

from datetime import date

import pandas as pd

from hubspot_pipeline.config import IdentityConfig, load_config
from hubspot_pipeline.identity.users import resolve_users
from hubspot_pipeline.personalize.transform import (
    ExportWindow,
    build_items,
    build_users,
    custom_event_interactions,
    deal_interactions,
    drop_duplicate_rows,
)
from hubspot_pipeline.quality.ledger import DatasetLedger

CONFIG = load_config().personalize
WINDOW = ExportWindow.for_date(date(2024, 2, 13), CONFIG)
CONTACTS = pd.DataFrame(
    {
        "CONTACT_ID": [11, 12, 13],
        "EXTERNAL_ID": ["u-1", " ", "null"],
        "EMAIL": ["a@example.com", None, "c@example.com"],
        "VISITOR_ID": [None, None, None],
        "AGE": ["31", "abc", "200"],
        "GENDER": ["M", "F\n", None],
    }
)
USER_IDS = resolve_users(CONTACTS, IdentityConfig()).members.set_index("CONTACT_ID")["USER_ID"]


def test_user_ids_fall_back_to_the_hubspot_record_id_and_ignore_placeholders():
    assert USER_IDS.to_dict() == {"11": "u-1", "12": "hubspot-12", "13": "hubspot-13"}


def test_users_keep_no_pii_and_unusable_ages_become_empty():
    ledger = DatasetLedger()
    users = build_users(CONTACTS, resolve_users(CONTACTS, load_config().identity), ledger)
    assert users.columns.tolist() == ["_CONTACT_ID", "USER_ID", "AGE", "GENDER"]
    assert users["AGE"].tolist() == [31, pd.NA, pd.NA]
    assert users["GENDER"].tolist() == ["M", "F", pd.NA]
    assert ledger.read == 3
    assert sum(ledger.corrected.values()) == 2


def test_custom_events_map_types_and_skip_types_mapped_to_null():
    events = pd.DataFrame(
        {
            "EVENT_ID": ["e1", "e2", "e3", "e4"],
            "CONTACT_ID": [11, 12, 99, 11],
            "OCCURRED_EPOCH": [1706000000, 1706000001, 1706000002, 1706000003],
            "EVENT_TYPE": ["View", "Wishlist", "Purchase", "Hidden"],
            "ITEM_ID": ["i1", "i2", "i3", "i4"],
            "ITEM_PRICE": ["9.5", "x", None, "1"],
        }
    )
    config = load_config(override={"personalize": {"event_types": {"Hidden": None}}}).personalize
    ledger = DatasetLedger()
    rows = custom_event_interactions(events, USER_IDS, config, ledger)
    assert rows["EVENT_TYPE"].tolist() == ["View", "Wishlist", "Purchase"]  # Wishlist: unmapped, kept for GX
    assert rows["USER_ID"].tolist() == ["u-1", "hubspot-12", pd.NA]  # contact 99 is unknown
    assert rows["EVENT_VALUE"].tolist() == [9.5, pd.NA, pd.NA]
    assert rows["_SOURCE_ID"].tolist() == ["event:e1", "event:e2", "event:e3"]
    assert ledger.read == 4 and ledger.skipped == {"event type mapped to null (not exported)": 1}
    assert ledger.corrected == {"EVENT_VALUE: not a number, left empty": 1}


def test_deals_become_cart_and_purchase_rows_per_line_item():
    deal_rows = pd.DataFrame(
        {
            "DEAL_ID": [1, 1, 2, 3, 4],
            "LINE_ITEM_ID": [10.0, 11.0, 20.0, None, 40.0],
            "CONTACT_ID": [11.0, 11.0, 12.0, 11.0, 11.0],
            "DEAL_STAGE": ["57441673", "57441673", "57441672", "57441672", "57441672"],
            "CREATEDATE": [
                "2024-01-01T00:00:00Z",
                "2024-01-01T00:00:00Z",
                "1704153600000",
                "2024-01-01",
                "2030-01-01",
            ],
            "CLOSEDATE": ["2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z", None, None, None],
            "PRODUCT_ID": ["100", "101", "100", None, "100"],
            "ITEM_ID": ["i1", "i2", "i1", None, "i1"],
            "UNIT_PRICE": ["10", "20", "10", None, "10"],
        }
    )
    ledger = DatasetLedger()
    rows = deal_interactions(deal_rows, USER_IDS, CONFIG, WINDOW, ledger)
    summary = rows[["_SOURCE_ID", "USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP"]].values.tolist()
    assert summary == [
        ["deal:1/line_item:10/cart", "u-1", "i1", "AddToCart", 1704067200],
        ["deal:1/line_item:11/cart", "u-1", "i2", "AddToCart", 1704067200],
        ["deal:2/line_item:20/cart", "hubspot-12", "i1", "AddToCart", 1704153600],
        ["deal:1/line_item:10/purchase", "u-1", "i1", "Purchase", 1704153600],
        ["deal:1/line_item:11/purchase", "u-1", "i2", "Purchase", 1704153600],
    ]
    assert ledger.read == 7
    assert ledger.skipped == {"deal has no line items": 1, "deal date after the export date": 1}


def test_items_come_from_the_catalogue_with_typed_columns():
    products = pd.DataFrame(
        {
            "PRODUCT_ID": [1, 2],
            "EXTERNAL_ID": ["sku-1", None],
            "PRICE": ["12.5", "abc"],
            "CATEGORY_L1": ["furniture", "jewelry"],
            "CATEGORY_L2": ["chairs", None],
            "DESCRIPTION": ['A "comfy",\nchair', None],
            "GENDER": [None, "F"],
            "PROMOTED": ["True", ""],
            "CREATEDATE": [None, "2024-01-01T00:00:00Z"],
            "UPDATED_EPOCH": [1700000000, 1700000001],
        }
    )
    ledger = DatasetLedger()
    items = build_items(products, ledger)
    assert items["ITEM_ID"].tolist() == ["sku-1", pd.NA]
    assert items["PRICE"].tolist() == [12.5, pd.NA]
    assert items["PRODUCT_DESCRIPTION"].tolist() == ['A "comfy", chair', pd.NA]
    assert items["PROMOTED"].tolist() == [True, False]
    assert items["CREATION_TIMESTAMP"].tolist() == [1700000000, 1704067200]
    assert ledger.corrected["CREATION_TIMESTAMP: no create date, used the last update time"] == 1


def test_a_product_with_invalid_optional_values_keeps_its_row_without_them():
    products = pd.DataFrame(
        {
            "PRODUCT_ID": [1],
            "EXTERNAL_ID": ["sku-1"],
            "PRICE": ["12.5"],
            "CATEGORY_L1": ["furniture"],
            "CATEGORY_L2": ["c" * 1001],
            "DESCRIPTION": ["d" * 20_001],
            "GENDER": ["g" * 1001],
            "PROMOTED": ["yes"],
            "CREATEDATE": ["2024-01-01T00:00:00Z"],
            "UPDATED_EPOCH": [1700000000],
        }
    )
    ledger = DatasetLedger()
    item = build_items(products, ledger).iloc[0]
    assert (item["ITEM_ID"], item["CATEGORY_L1"]) == ("sku-1", "furniture")
    assert pd.isna(item["CATEGORY_L2"]) and pd.isna(item["GENDER"])
    assert item["PRODUCT_DESCRIPTION"] == "d" * 20_000
    assert ledger.corrected == {
        "CATEGORY_L2: longer than 1000 characters, left empty": 1,
        "PRODUCT_DESCRIPTION: longer than 20000 characters, truncated": 1,
        "GENDER: longer than 1000 characters, left empty": 1,
    }


def test_negative_event_and_line_item_prices_leave_event_value_empty():
    events = pd.DataFrame(
        {
            "EVENT_ID": ["e1", "e2"],
            "CONTACT_ID": [11, 11],
            "OCCURRED_EPOCH": [1706000000, 1706000001],
            "EVENT_TYPE": ["View", "View"],
            "ITEM_ID": ["i1", "i2"],
            "ITEM_PRICE": ["-1", "0"],
        }
    )
    deal_rows = pd.DataFrame(
        {
            "DEAL_ID": [1],
            "LINE_ITEM_ID": [10.0],
            "CONTACT_ID": [11.0],
            "DEAL_STAGE": ["57441673"],  # closed won: a cart and a purchase row
            "CREATEDATE": ["2024-01-01T00:00:00Z"],
            "CLOSEDATE": ["2024-01-02T00:00:00Z"],
            "PRODUCT_ID": ["100"],
            "ITEM_ID": ["i1"],
            "UNIT_PRICE": ["-5"],
        }
    )
    ledger = DatasetLedger()
    rows = pd.concat(
        [
            custom_event_interactions(events, USER_IDS, CONFIG, ledger),
            deal_interactions(deal_rows, USER_IDS, CONFIG, WINDOW, ledger),
        ]
    )
    assert rows["EVENT_VALUE"].tolist() == [pd.NA, 0.0, pd.NA, pd.NA]
    assert ledger.read == len(rows) == 4
    assert ledger.corrected == {"EVENT_VALUE: below 0, left empty": 3}


def test_duplicates_keep_the_first_and_empty_keys_are_never_duplicates():
    frame = pd.DataFrame({"_SOURCE_ID": ["a", "a", None, None, "b"]})
    ledger = DatasetLedger(read=5)
    kept = drop_duplicate_rows(frame, ["_SOURCE_ID"], "duplicate event id", ledger)
    assert kept["_SOURCE_ID"].fillna("<empty>").tolist() == ["a", "<empty>", "<empty>", "b"]
    assert ledger.skipped == {"duplicate event id": 1}
