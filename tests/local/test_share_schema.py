"""The share's table layout: created through fakesnow with the right names and types (typed as HubSpot types
properties, or all-text), text parsed into typed columns, recreated cleanly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest

from hubspot_pipeline.local.share_schema import (
    BOOL,
    CHECKOUT_COMPLETED_STAGE_ID,
    CHECKOUT_PENDING_STAGE_ID,
    DATETIME,
    ECOMMERCE_PIPELINE_ID,
    FLOAT,
    MONEY,
    TEXT,
    create_share,
    rebuilt_share,
    share_tables,
    typed_values,
)

# a declared type -> (DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE) in fakesnow's INFORMATION_SCHEMA.COLUMNS
SNOWFLAKE_TYPES = {
    "NUMBER": ("NUMBER", 38, 0),
    MONEY: ("NUMBER", 38, 2),
    FLOAT: ("FLOAT", None, None),
    TEXT: ("TEXT", None, None),
    DATETIME: ("TIMESTAMP_NTZ", None, None),
    BOOL: ("BOOLEAN", None, None),
}
# how HubSpot types the properties the pipeline reads, by property type
EXPECTED_PROPERTY_TYPES = {
    ("OBJECTS_PRODUCTS", "PROPERTY_PRICE"): MONEY,
    ("OBJECTS_PRODUCTS", "PROPERTY_PROMOTED"): BOOL,
    ("OBJECTS_PRODUCTS", "PROPERTY_CREATEDATE"): DATETIME,
    ("OBJECTS_PRODUCTS", "PROPERTY_EXTERNAL_ID"): TEXT,
    ("OBJECTS_CONTACTS", "PROPERTY_AGE"): FLOAT,
    ("OBJECTS_CONTACTS", "PROPERTY_GENDER"): TEXT,
    ("OBJECTS_CONTACTS", "PROPERTY_EMAIL"): TEXT,
    ("OBJECTS_DEALS", "PROPERTY_AMOUNT"): MONEY,
    ("OBJECTS_DEALS", "PROPERTY_CLOSEDATE"): DATETIME,
    ("OBJECTS_DEALS", "PROPERTY_PIPELINE"): TEXT,
    ("OBJECTS_DEALS", "PROPERTY_DEALSTAGE"): TEXT,
    ("OBJECTS_LINE_ITEMS", "PROPERTY_HS_PRODUCT_ID"): FLOAT,
    ("OBJECTS_LINE_ITEMS", "PROPERTY_QUANTITY"): FLOAT,
    ("EVENTS_MY_EVENT", "PROPERTY_ITEM_PRICE"): FLOAT,
}


@pytest.mark.parametrize("all_text", [False, True], ids=["typed", "all-text"])
def test_create_share_makes_every_table_with_its_columns_and_types(tmp_path, share_columns, all_text):
    create_share(tmp_path, "MY_DB", "MY_SCHEMA", "EVENTS_MY_EVENT", all_text=all_text)

    columns = share_columns(tmp_path, "MY_DB", "MY_SCHEMA")

    expected = share_tables("EVENTS_MY_EVENT", all_text=all_text)
    assert set(columns["table_name"]) == set(expected)
    for table, table_columns in expected.items():
        found = columns[columns["table_name"] == table]
        assert list(found["column_name"]) == [name for name, _ in table_columns]
        found_types = [
            (data_type, None if pd.isna(precision) else precision, None if pd.isna(scale) else scale)
            for data_type, precision, scale in found[
                ["data_type", "numeric_precision", "numeric_scale"]
            ].values
        ]
        assert found_types == [SNOWFLAKE_TYPES[sql_type] for _, sql_type in table_columns], table
    property_types = {
        (table, column): sql_type
        for table, table_columns in expected.items()
        for column, sql_type in table_columns
        if column.startswith("PROPERTY_")
    }
    if all_text:
        assert set(property_types.values()) == {TEXT}
    else:
        assert {key: property_types[key] for key in EXPECTED_PROPERTY_TYPES} == EXPECTED_PROPERTY_TYPES


def test_typed_values_parse_hubspot_property_text():
    moments = typed_values(
        pa.array(
            ["2024-01-02T03:04:05Z", "2024-01-02 03:04:05", "1704164645000", "2023-12-01T21:35:38.000Z", ""]
        ),
        DATETIME,
    )
    assert moments.to_pylist() == [datetime(2024, 1, 2, 3, 4, 5)] * 3 + [
        datetime(2023, 12, 1, 21, 35, 38),
        None,
    ]
    assert typed_values(pa.array(["19.99", "-12.50", None]), MONEY).to_pylist() == [
        Decimal("19.99"),
        Decimal("-12.50"),
        None,
    ]
    assert typed_values(pa.array(["50000000001", ""]), FLOAT).to_pylist() == [50000000001.0, None]
    assert typed_values(pa.array(["True", "true", "false", ""]), BOOL).to_pylist() == [
        True,
        True,
        False,
        None,
    ]
    assert typed_values(pa.array(["", "x"]), TEXT).to_pylist() == ["", "x"]
    with pytest.raises(pa.ArrowInvalid):
        typed_values(pa.array(["not a date"]), DATETIME)
    with pytest.raises(pa.ArrowInvalid):
        typed_values(pa.array(["$19.99"]), MONEY)


def test_rebuilding_replaces_the_data_instead_of_appending(tmp_path, read_share):
    for _ in range(2):
        with rebuilt_share(tmp_path) as loader:
            loader.append(
                "ASSOCIATIONS_DEALS_TO_CONTACTS", pa.table({"DEAL_OBJECTID": [1], "CONTACT_OBJECTID": [2]})
            )

    assert read_share(tmp_path, "SELECT COUNT(*) AS n FROM ASSOCIATIONS_DEALS_TO_CONTACTS")["n"][0] == 1
    assert read_share(tmp_path, "SELECT COUNT(*) AS n FROM PIPELINES")["n"][0] == 2


def test_pipelines_hold_the_tutorial_stages_and_the_default_sales_pipeline(tmp_path, read_share):
    with rebuilt_share(tmp_path):
        pass

    stages = read_share(tmp_path, "SELECT * FROM PIPELINE_STAGES")
    ecommerce = stages[stages["PIPELINEID"] == ECOMMERCE_PIPELINE_ID].set_index("STAGEID")
    assert ecommerce.loc[CHECKOUT_PENDING_STAGE_ID, "LABEL"] == "Checkout Pending"
    assert not ecommerce.loc[CHECKOUT_PENDING_STAGE_ID, "ISCLOSED"]
    assert ecommerce.loc[CHECKOUT_COMPLETED_STAGE_ID, "LABEL"] == "Checkout Completed"
    assert ecommerce.loc[CHECKOUT_COMPLETED_STAGE_ID, "ISCLOSED"]
    assert {"appointmentscheduled", "qualifiedtobuy", "contractsent", "closedwon", "closedlost"} <= set(
        stages.loc[stages["PIPELINEID"] == "default", "STAGEID"]
    )


def test_loading_rows_with_other_columns_than_the_table_fails(tmp_path):
    with (
        rebuilt_share(tmp_path) as loader,
        pytest.raises(ValueError, match="missing \\['CONTACT_OBJECTID'\\]"),
    ):
        loader.append("ASSOCIATIONS_DEALS_TO_CONTACTS", pa.table({"DEAL_OBJECTID": [1], "CONTACT": [2]}))
