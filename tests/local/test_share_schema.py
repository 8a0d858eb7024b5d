"""The share's table layout: created through fakesnow with the right names and types, recreated cleanly."""

from __future__ import annotations

import pyarrow as pa
import pytest

from hubspot_pipeline.local.share_schema import (
    CHECKOUT_COMPLETED_STAGE_ID,
    CHECKOUT_PENDING_STAGE_ID,
    ECOMMERCE_PIPELINE_ID,
    EVENT_COLUMNS,
    TABLES,
    create_share,
    rebuilt_share,
)

DUCKDB_TYPES = {"NUMBER": "BIGINT", "VARCHAR": "VARCHAR", "TIMESTAMP_NTZ": "TIMESTAMP", "BOOLEAN": "BOOLEAN"}


def test_create_share_makes_every_table_with_its_columns_and_types(tmp_path, read_share):
    create_share(tmp_path, "MY_DB", "MY_SCHEMA", "EVENTS_MY_EVENT")

    columns = read_share(
        tmp_path,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = 'MY_DB' AND table_schema = 'MY_SCHEMA' ORDER BY table_name, ordinal_position",
        database="MY_DB",
        schema="MY_SCHEMA",
    )

    expected = {**TABLES, "EVENTS_MY_EVENT": EVENT_COLUMNS}
    assert set(columns["table_name"]) == set(expected)
    for table, table_columns in expected.items():
        found = columns[columns["table_name"] == table]
        assert list(found["column_name"]) == [name for name, _ in table_columns]
        assert list(found["data_type"]) == [DUCKDB_TYPES[sql_type] for _, sql_type in table_columns]
    properties = columns[columns["column_name"].str.startswith("PROPERTY_")]
    assert set(properties["data_type"]) == {"VARCHAR"}


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
