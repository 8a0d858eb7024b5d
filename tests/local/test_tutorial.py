"""The tutorial's sample CSVs in the share: every row where HubSpot would put it, text kept byte for byte,
numbers and booleans parsed into the typed columns."""

from __future__ import annotations

import pandas as pd
import pytest

from hubspot_pipeline.local.share_schema import (
    CHECKOUT_COMPLETED_STAGE_ID,
    CHECKOUT_PENDING_STAGE_ID,
    DEFAULT_EVENT_TABLE,
)
from hubspot_pipeline.local.tutorial import (
    COMPLETED_DEALS_FILE,
    EVENT_FILES,
    ITEMS_FILE,
    PENDING_DEALS_FILE,
    USERS_FILE,
)


def _csv(sample_dir, name: str) -> pd.DataFrame:
    return pd.read_csv(sample_dir / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def count(tutorial_share, read_share):
    """``count(sql)``: the number of rows ``sql`` returns from the tutorial share."""
    return lambda sql: int(read_share(tutorial_share, f"SELECT COUNT(*) AS n FROM ({sql})")["n"][0])


def test_every_sample_row_is_loaded(count):
    assert count("SELECT * FROM OBJECTS_PRODUCTS") == 2_465
    assert count("SELECT * FROM OBJECTS_CONTACTS") == 6_000
    assert count(f"SELECT * FROM {DEFAULT_EVENT_TABLE}") == 5_000
    assert count(f"SELECT DISTINCT ID FROM {DEFAULT_EVENT_TABLE}") == 5_000
    assert count("SELECT * FROM OBJECTS_COMPANIES") == 0


def test_every_event_belongs_to_a_contact_and_names_a_product(count):
    assert count(f"SELECT * FROM {DEFAULT_EVENT_TABLE} e ANTI JOIN OBJECTS_CONTACTS c USING (OBJECTID)") == 0
    assert (
        count(
            f"SELECT * FROM {DEFAULT_EVENT_TABLE} e ANTI JOIN OBJECTS_PRODUCTS p "
            "ON p.PROPERTY_EXTERNAL_ID = e.PROPERTY_ITEM_ID"
        )
        == 0
    )
    assert (
        count(
            f"SELECT * FROM {DEFAULT_EVENT_TABLE} e JOIN OBJECTS_CONTACTS c USING (OBJECTID) "
            "WHERE c.PROPERTY_EXTERNAL_ID <> e.PROPERTY_USER_ID"
        )
        == 0
    )


def test_contacts_take_the_record_ids_the_event_files_give(tutorial_share, tutorial_sample_dir, read_share):
    events = pd.concat([_csv(tutorial_sample_dir, name) for name in EVENT_FILES])
    given = events[["USER_ID", "Contact ID"]].drop_duplicates().astype({"Contact ID": "int64"})
    contacts = read_share(
        tutorial_share, "SELECT PROPERTY_EXTERNAL_ID AS USER_ID, OBJECTID FROM OBJECTS_CONTACTS"
    )

    merged = given.merge(contacts, on="USER_ID")
    assert len(merged) == len(given)
    assert (merged["Contact ID"] == merged["OBJECTID"]).all()
    assert contacts["OBJECTID"].is_unique


def test_product_text_is_kept_byte_for_byte(tutorial_share, tutorial_sample_dir, read_share):
    items = _csv(tutorial_sample_dir, ITEMS_FILE)
    products = read_share(
        tutorial_share,
        "SELECT PROPERTY_EXTERNAL_ID AS ITEM_ID, PROPERTY_DESCRIPTION AS PRODUCT_DESCRIPTION, "
        "PROPERTY_NAME AS PRODUCT_NAME, PROPERTY_PROMOTED AS PROMOTED, PROPERTY_PRICE AS PRICE "
        "FROM OBJECTS_PRODUCTS",
    )

    merged = items.merge(products, on="ITEM_ID", suffixes=("_csv", "_share"))
    assert len(merged) == len(items)
    for column in ("PRODUCT_DESCRIPTION", "PRODUCT_NAME"):
        assert (merged[f"{column}_csv"] == merged[f"{column}_share"]).all(), column
    # typed columns: "True" is TRUE, empty is NULL; prices are numbers
    assert set(merged["PROMOTED_csv"]) == {"True", ""}
    assert (merged["PROMOTED_share"].eq(True) == (merged["PROMOTED_csv"] == "True")).all()
    assert merged.loc[merged["PROMOTED_csv"] == "", "PROMOTED_share"].isna().all()
    assert (pd.to_numeric(merged["PRICE_csv"]) == merged["PRICE_share"]).all()
    descriptions = merged["PRODUCT_DESCRIPTION_share"]
    assert descriptions.str.contains('"', regex=False).sum() == 36
    assert descriptions.str.contains(",", regex=False).sum() == 2_069


def test_contact_properties_come_from_the_users_file(tutorial_share, tutorial_sample_dir, read_share):
    users = _csv(tutorial_sample_dir, USERS_FILE)
    contacts = read_share(
        tutorial_share,
        "SELECT PROPERTY_EXTERNAL_ID AS USER_ID, PROPERTY_AGE AS AGE, PROPERTY_GENDER AS GENDER, "
        "PROPERTY_EMAIL AS EMAIL FROM OBJECTS_CONTACTS ORDER BY OBJECTID",
    )

    merged = users.merge(contacts, on="USER_ID", suffixes=("_csv", "_share"))
    assert len(merged) == len(users)
    for column in ("GENDER", "EMAIL"):
        assert (merged[f"{column}_csv"] == merged[f"{column}_share"]).all(), column
    assert (pd.to_numeric(merged["AGE_csv"]) == merged["AGE_share"]).all()  # a FLOAT column


def test_deals_follow_the_tutorials_imports(tutorial_share, tutorial_sample_dir, read_share, count):
    pending = _csv(tutorial_sample_dir, PENDING_DEALS_FILE)
    completed = _csv(tutorial_sample_dir, COMPLETED_DEALS_FILE)
    matched = len(pending.merge(completed, on=["Contact ID", "ITEM_ID"]))
    deals = read_share(tutorial_share, "SELECT * FROM OBJECTS_DEALS")

    assert matched > 0
    assert len(deals) == len(pending) + len(completed) - matched
    assert set(deals["PROPERTY_PIPELINE"]) == {"ecommerce"}
    stages = deals["PROPERTY_DEALSTAGE"].value_counts()
    assert stages[CHECKOUT_PENDING_STAGE_ID] == len(pending) - matched
    assert stages[CHECKOUT_COMPLETED_STAGE_ID] == len(completed)
    closed = deals["PROPERTY_DEALSTAGE"] == CHECKOUT_COMPLETED_STAGE_ID
    assert deals.loc[closed, "PROPERTY_CLOSEDATE"].notna().all()
    assert deals.loc[~closed, "PROPERTY_CLOSEDATE"].isna().all()
    assert (deals.loc[closed, "PROPERTY_CLOSEDATE"] >= deals.loc[closed, "PROPERTY_CREATEDATE"]).all()

    assert count("SELECT * FROM OBJECTS_LINE_ITEMS") == len(deals)
    one_line_item_each = (
        "SELECT d.OBJECTID FROM OBJECTS_DEALS d JOIN ASSOCIATIONS_LINE_ITEMS_TO_DEALS a ON a.DEAL_OBJECTID = "
        "d.OBJECTID JOIN OBJECTS_LINE_ITEMS l ON l.OBJECTID = a.LINE_ITEM_OBJECTID "
        "JOIN OBJECTS_PRODUCTS p ON CAST(p.OBJECTID AS VARCHAR) = l.PROPERTY_HS_PRODUCT_ID"
    )
    assert count(one_line_item_each) == len(deals)
    assert count(
        "SELECT * FROM ASSOCIATIONS_DEALS_TO_CONTACTS a JOIN OBJECTS_CONTACTS c "
        "ON c.OBJECTID = a.CONTACT_OBJECTID"
    ) == len(deals)


def test_completed_deal_keeps_its_pending_creation_and_closes_at_purchase(
    tutorial_share, tutorial_sample_dir, read_share
):
    pending = _csv(tutorial_sample_dir, PENDING_DEALS_FILE)
    completed = _csv(tutorial_sample_dir, COMPLETED_DEALS_FILE)
    first_match = pending.merge(completed, on=["Contact ID", "ITEM_ID"], suffixes=("_pending", "_done")).iloc[
        0
    ]

    deals = read_share(
        tutorial_share,
        "SELECT d.* FROM OBJECTS_DEALS d JOIN ASSOCIATIONS_DEALS_TO_CONTACTS a ON a.DEAL_OBJECTID = "
        "d.OBJECTID WHERE a.CONTACT_OBJECTID = ? AND d.PROPERTY_DEALNAME = ?",
        [int(first_match["Contact ID"]), first_match["Deal Name"]],
    )
    assert len(deals) == 1
    deal = deals.iloc[0]
    assert deal["PROPERTY_DEALSTAGE"] == CHECKOUT_COMPLETED_STAGE_ID
    assert pd.Timestamp(deal["PROPERTY_CREATEDATE"]).timestamp() == int(first_match["TIMESTAMP_pending"])
    assert pd.Timestamp(deal["PROPERTY_CLOSEDATE"]).timestamp() == int(first_match["TIMESTAMP_done"])
