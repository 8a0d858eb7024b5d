"""The queries in include/sql/share/ and include/sql/personalize/ through the Snowflake connector against the
fakesnow emulator serving a generated dirty share (and none of the tutorial's query flaws)."""

from __future__ import annotations

from datetime import datetime

import pytest

from hubspot_pipeline.config import load_config
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.generator import DEFAULT_END_DATE, generate_share
from hubspot_pipeline.local.quickstart import snowflake_connection
from hubspot_pipeline.personalize.transform import ExportWindow
from hubspot_pipeline.share.session import ShareSchemaError, render_sql
from tests.conftest import query_share, sql_frame

CONFIG = load_config()
SHARE = CONFIG.share
CONN_ID = CONFIG.snowflake_conn_id
DEALS = CONFIG.personalize.deals
DEAL_PARAMETERS = {"pipelines": DEALS.pipelines, "stages": DEALS.add_to_cart_stages + DEALS.closed_won_stages}


@pytest.fixture(scope="module")
def share(tmp_path_factory):
    share_dir = tmp_path_factory.mktemp("sql-share")
    generate_share(share_dir, contacts=400, products=80, days=30, events_per_day=100, dirty_share=0.05)
    with running_emulator(share_dir) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def connection(share, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(share, SHARE))


def scalar(sql: str, parameters: dict | None = None):
    return sql_frame(CONN_ID, sql, parameters).iloc[0, 0]


def table(name: str) -> str:
    return f'"{SHARE.database}"."{SHARE.schema}"."{name}"'


def test_identifiers_are_quoted_and_upper_cased():
    lower = load_config(override={"share": {"database": "hub_23826378_db", "schema": "v2_daily"}}).share
    sql = render_sql("share/contacts.sql", lower)
    assert '"HUB_23826378_DB"."V2_DAILY"."OBJECTS_CONTACTS"' in sql
    assert len(query_share("share/contacts.sql", lower, CONN_ID, {})) == scalar(
        f"SELECT COUNT(*) FROM {table('OBJECTS_CONTACTS')}"
    )


def test_contacts_and_products_return_every_row():
    contacts = query_share("share/contacts.sql", SHARE, CONN_ID, {})
    assert len(contacts) == scalar(f"SELECT COUNT(*) FROM {table('OBJECTS_CONTACTS')}") == 400
    products = query_share("share/products.sql", SHARE, CONN_ID, {})
    assert len(products) == scalar(f"SELECT COUNT(*) FROM {table('OBJECTS_PRODUCTS')}") == 80
    assert products["PRODUCT_ID"].is_unique  # items come from the catalogue, not from events


def test_custom_events_use_the_event_id_and_respect_the_window():
    window = ExportWindow.for_date(DEFAULT_END_DATE, CONFIG.personalize)
    events = query_share("personalize/custom_events.sql", SHARE, CONN_ID, window.query_parameters())
    expected = scalar(
        f"SELECT COUNT(*) FROM {table(SHARE.event_table)} WHERE OCCURREDAT < %(end)s",
        {"end": window.query_parameters()["window_end"]},
    )
    assert len(events) == expected > 2000
    distinct_ids = scalar(
        f"SELECT COUNT(DISTINCT ID) FROM {table(SHARE.event_table)} WHERE OCCURREDAT < %(end)s",
        {"end": window.query_parameters()["window_end"]},
    )
    assert events["EVENT_ID"].nunique() == distinct_ids  # the events' own ids (flaw 1: not the contact's)
    per_contact = events.groupby("CONTACT_ID")["EVENT_ID"].nunique()
    assert (per_contact > 1).any()  # a contact's events keep distinct ids
    start = datetime(2024, 6, 20)
    recent = query_share(
        "personalize/custom_events.sql",
        SHARE,
        CONN_ID,
        {"window_start": start, "window_end": datetime(2024, 7, 1), "undated": False},
    )
    assert 0 < len(recent) < len(events)
    assert recent["OCCURRED_EPOCH"].min() >= int(start.timestamp()) - 7200


def test_deal_line_items_filter_pipelines_and_stages_and_keep_deals_without_items():
    rows = query_share("share/deals.sql", SHARE, CONN_ID, DEAL_PARAMETERS, line_items=True)
    assert set(rows["DEAL_STAGE"]) <= set(DEAL_PARAMETERS["stages"])  # flaw 3: stages and pipeline filtered
    other_pipeline_deals = scalar(
        f"SELECT COUNT(*) FROM {table('OBJECTS_DEALS')} WHERE PROPERTY_PIPELINE NOT IN (%(pipelines)s)",
        {"pipelines": DEALS.pipelines},
    )
    assert other_pipeline_deals > 0
    ecommerce_deal_ids = set(
        sql_frame(
            CONN_ID,
            f"SELECT OBJECTID FROM {table('OBJECTS_DEALS')} WHERE PROPERTY_PIPELINE IN (%(pipelines)s) "
            "AND PROPERTY_DEALSTAGE IN (%(stages)s)",
            DEAL_PARAMETERS,
        )["OBJECTID"]
    )
    assert set(rows["DEAL_ID"]) == {str(deal_id) for deal_id in ecommerce_deal_ids}  # ids as text
    with_items = rows.dropna(subset=["LINE_ITEM_ID"])
    assert not with_items.duplicated(["DEAL_ID", "LINE_ITEM_ID"]).any()  # one row per line item (flaw 1)
    assert with_items.groupby("DEAL_ID").size().max() > 1  # deals with several line items
    assert with_items["ITEM_ID"].notna().mean() > 0.9  # the product's external id, through the line item


def test_deals_without_line_items_are_every_deal_once():
    deals = query_share("share/deals.sql", SHARE, CONN_ID, {}, line_items=False)
    assert len(deals) == scalar(f"SELECT COUNT(*) FROM {table('OBJECTS_DEALS')}") > 0
    assert deals["DEAL_ID"].is_unique and "LINE_ITEM_ID" not in deals.columns
    assert deals["COMPANY_ID"].notna().any() and deals["IS_CLOSED"].any()


def test_a_missing_table_fails_fast_naming_it():
    broken = load_config(override={"share": {"event_table": "EVENTS_RENAMED_BY_HUBSPOT"}}).share
    with pytest.raises(ShareSchemaError, match="EVENTS_RENAMED_BY_HUBSPOT"):
        query_share(
            "personalize/custom_events.sql",
            broken,
            CONN_ID,
            {"window_start": None, "window_end": datetime(2024, 7, 1), "undated": True},
        )
