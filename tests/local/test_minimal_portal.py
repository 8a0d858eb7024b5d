"""The minimal portal's share: its own names, only default and tutorial properties, other pipelines and event
types, association types repeating pairs; deterministic; and the configuration override it needs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from hubspot_pipeline.config import load_config
from hubspot_pipeline.local.generator import generate_minimal_portal_share
from hubspot_pipeline.local.generator.minimal_portal import (
    ASSOCIATION_TYPE_COLUMN,
    ASSOCIATION_TYPE_IDS,
    CART_STAGE_ID,
    MINIMAL_PORTAL_DATABASE,
    MINIMAL_PORTAL_EVENT_TABLE,
    MINIMAL_PORTAL_EVENT_TYPES,
    MINIMAL_PORTAL_SCHEMA,
    ONLINE_STORE_PIPELINE_ID,
    PAID_STAGE_ID,
    minimal_portal_tables,
)
from hubspot_pipeline.local.share_schema import DEFAULT_EVENT_TABLE, SALES_PIPELINE_ID

OVERRIDE_FILE = Path(__file__).resolve().parents[1] / "share" / "minimal_portal.yaml"
PORTAL = {"database": MINIMAL_PORTAL_DATABASE, "schema": MINIMAL_PORTAL_SCHEMA}


@pytest.fixture(scope="module")
def portal_share(tmp_path_factory) -> Path:
    db_path = tmp_path_factory.mktemp("minimal_portal")
    generate_minimal_portal_share(db_path)
    return db_path


@pytest.fixture(scope="module")
def read_portal(portal_share, read_share):
    """``read_portal(sql, parameters)``: ``sql`` run on the minimal portal's share."""
    return lambda sql, parameters=None: read_share(portal_share, sql, parameters, **PORTAL)


def test_tables_and_columns_are_the_minimal_portals(portal_share, share_columns):
    columns = share_columns(portal_share, MINIMAL_PORTAL_DATABASE, MINIMAL_PORTAL_SCHEMA)
    tables = minimal_portal_tables()

    found = {table: list(rows["column_name"]) for table, rows in columns.groupby("table_name")}
    assert found == {table: [name for name, _ in table_columns] for table, table_columns in tables.items()}
    assert MINIMAL_PORTAL_EVENT_TABLE in found and DEFAULT_EVENT_TABLE not in found
    assert "PROPERTY_EXTERNAL_ID" not in found["OBJECTS_COMPANIES"]
    assert not {"PROPERTY_VISITOR_ID", "PROPERTY_GENDER"} & set(found["OBJECTS_CONTACTS"])
    assert {"PROPERTY_EXTERNAL_ID", "PROPERTY_AGE"} <= set(found["OBJECTS_CONTACTS"])
    assert {"PROPERTY_EXTERNAL_ID", "PROPERTY_CATEGORY_LEVEL_1", "PROPERTY_CATEGORY_LEVEL_2"} <= set(
        found["OBJECTS_PRODUCTS"]
    )
    types = columns.set_index(["table_name", "column_name"])["data_type"]
    for table in ASSOCIATION_TYPE_IDS:
        assert types[(table, ASSOCIATION_TYPE_COLUMN)] == "NUMBER"
    assert types[("OBJECTS_PRODUCTS", "PROPERTY_PROMOTED")] == "BOOLEAN"
    assert types[("OBJECTS_LINE_ITEMS", "PROPERTY_HS_PRODUCT_ID")] == "FLOAT"
    assert types[("OBJECTS_DEALS", "PROPERTY_CLOSEDATE")] == "TIMESTAMP_NTZ"


def test_company_associations_repeat_each_pair_once_per_association_type(read_portal):
    for table, pair in (
        ("ASSOCIATIONS_CONTACTS_TO_COMPANIES", "CONTACT_OBJECTID, COMPANY_OBJECTID"),
        ("ASSOCIATIONS_DEALS_TO_COMPANIES", "DEAL_OBJECTID, COMPANY_OBJECTID"),
    ):
        pairs = read_portal(
            f"SELECT {pair}, COUNT(*) AS n, COUNT(DISTINCT {ASSOCIATION_TYPE_COLUMN}) AS types "
            f"FROM {table} GROUP BY ALL"
        )
        assert len(pairs) > 0, table
        assert (pairs["n"] == 2).all() and (pairs["types"] == 2).all(), table
        type_ids = read_portal(f"SELECT DISTINCT {ASSOCIATION_TYPE_COLUMN} AS t FROM {table}")["t"]
        assert set(type_ids) == set(ASSOCIATION_TYPE_IDS[table])
    for table in ("ASSOCIATIONS_DEALS_TO_CONTACTS", "ASSOCIATIONS_LINE_ITEMS_TO_DEALS"):
        type_ids = read_portal(f"SELECT DISTINCT {ASSOCIATION_TYPE_COLUMN} AS t FROM {table}")["t"]
        assert set(type_ids) == set(ASSOCIATION_TYPE_IDS[table]) and len(type_ids) == 1


def test_deals_sit_in_the_portals_pipelines(read_portal):
    pipelines = read_portal("SELECT PIPELINEID, LABEL FROM PIPELINES")
    assert dict(zip(pipelines["PIPELINEID"], pipelines["LABEL"], strict=True)) == {
        SALES_PIPELINE_ID: "Sales Pipeline",
        ONLINE_STORE_PIPELINE_ID: "Online Store",
    }
    stages = read_portal(
        "SELECT STAGEID, LABEL, ISCLOSED FROM PIPELINE_STAGES WHERE PIPELINEID = ? ORDER BY DISPLAYORDER",
        [ONLINE_STORE_PIPELINE_ID],
    )
    assert stages.to_dict("records") == [
        {"STAGEID": CART_STAGE_ID, "LABEL": "Cart", "ISCLOSED": False},
        {"STAGEID": PAID_STAGE_ID, "LABEL": "Paid", "ISCLOSED": True},
    ]
    deals = read_portal("SELECT DISTINCT PROPERTY_PIPELINE AS p, PROPERTY_DEALSTAGE AS s FROM OBJECTS_DEALS")
    assert set(deals["p"]) == {SALES_PIPELINE_ID, ONLINE_STORE_PIPELINE_ID}
    assert set(deals.loc[deals["p"] == ONLINE_STORE_PIPELINE_ID, "s"]) == {CART_STAGE_ID, PAID_STAGE_ID}


def test_events_meet_personalizes_minimums_under_the_portals_event_types(read_portal):
    types = read_portal(
        f"SELECT PROPERTY_EVENT_TYPE AS t, COUNT(*) AS n FROM {MINIMAL_PORTAL_EVENT_TABLE} GROUP BY t"
    ).set_index("t")["n"]
    assert set(types.index) == set(MINIMAL_PORTAL_EVENT_TYPES.values())
    assert types.sum() >= 1_000 and types[MINIMAL_PORTAL_EVENT_TYPES["View"]] >= 1_000
    assert 0 < types[MINIMAL_PORTAL_EVENT_TYPES["Purchase"]] < 1_000  # the purchase recommenders are left out
    users = read_portal(f"SELECT OBJECTID, COUNT(*) AS n FROM {MINIMAL_PORTAL_EVENT_TABLE} GROUP BY OBJECTID")
    assert (users["n"] >= 2).sum() >= 25


def test_the_same_seed_gives_the_same_share(portal_share, tmp_path, read_share):
    generate_minimal_portal_share(tmp_path)

    for table in minimal_portal_tables():
        query = f"SELECT * FROM {table} ORDER BY ALL"
        pd.testing.assert_frame_equal(
            read_share(portal_share, query, **PORTAL), read_share(tmp_path, query, **PORTAL), obj=table
        )


def test_the_override_file_configures_the_minimal_portal():
    override = yaml.safe_load(OVERRIDE_FILE.read_text(encoding="utf-8"))
    config = load_config(override=override)

    assert (config.share.database, config.share.schema, config.share.event_table) == (
        MINIMAL_PORTAL_DATABASE,
        MINIMAL_PORTAL_SCHEMA,
        MINIMAL_PORTAL_EVENT_TABLE,
    )
    deals = config.personalize.deals
    assert deals.pipelines == (ONLINE_STORE_PIPELINE_ID,)
    assert (deals.add_to_cart_stages, deals.closed_won_stages) == ((CART_STAGE_ID,), (PAID_STAGE_ID,))
    event_types = config.personalize.event_types
    assert {name: event_types[name] for name in MINIMAL_PORTAL_EVENT_TYPES.values()} == {
        portal_name: name for name, portal_name in MINIMAL_PORTAL_EVENT_TYPES.items()
    }
    assert set(config.personalize.event_types_without_items) == {
        MINIMAL_PORTAL_EVENT_TYPES["ViewCart"],
        MINIMAL_PORTAL_EVENT_TYPES["StartCheckout"],
    }
    assert config.identity.anonymous_ids == ()
