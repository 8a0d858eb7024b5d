"""The share read by its real column types (hubspot_pipeline.share.columns), through the Snowflake connector
against fakesnow: the same instant, number or flag reads the same whatever the column's type; optional
properties a portal lacks read as NULL and are named; missing required ones fail at once, all named."""

from __future__ import annotations

import json
import warnings
from contextlib import closing
from dataclasses import replace
from datetime import datetime

import fakesnow
import pandas as pd
import pytest
import snowflake.connector

from hubspot_pipeline.config import ConfigError, load_config
from hubspot_pipeline.config.properties import HOOK, PERSONALIZE
from hubspot_pipeline.formatting import to_boolean, to_epoch_seconds
from hubspot_pipeline.local.share_schema import FAKESNOW_ARROW_WARNING, create_share, qualified_name
from hubspot_pipeline.share.columns import as_number, as_text, empty_fields
from hubspot_pipeline.share.session import ShareHook, ShareSchemaError, ShareSession

CONFIG = load_config()
SHARE = CONFIG.share
INSTANT = 1_704_164_645  # 2024-01-02 03:04:05 UTC


@pytest.fixture
def connection():
    """A fakesnow connection (in process) holding the default share's tables, empty."""
    with warnings.catch_warnings(), fakesnow.patch():
        warnings.filterwarnings("ignore", message=FAKESNOW_ARROW_WARNING, category=UserWarning)
        with closing(snowflake.connector.connect(database=SHARE.database, schema=SHARE.schema)) as conn:
            create_share(conn, SHARE.database, SHARE.schema, SHARE.event_table)
            yield conn


def run(connection, sql: str) -> list[tuple]:
    with closing(connection.cursor()) as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_a_timestamp_reads_as_the_same_instant_whatever_the_column_type(connection):
    run(
        connection,
        "CREATE TABLE TYPED (NTZ TIMESTAMP_NTZ, LTZ TIMESTAMP_LTZ, TZ TIMESTAMP_TZ, DAY DATE, ISO VARCHAR, "
        "EPOCH_MS VARCHAR)",
    )
    run(
        connection,
        "INSERT INTO TYPED VALUES ('2024-01-02 03:04:05', '2024-01-02 03:04:05', "
        "'2024-01-02 05:04:05+02:00', '2024-01-02', '2024-01-02T03:04:05Z', '1704164645000')",
    )
    types = {
        "NTZ": "TIMESTAMP_NTZ",
        "LTZ": "TIMESTAMP_LTZ",
        "TZ": "TIMESTAMP_TZ",
        "DAY": "DATE",
        "ISO": "TEXT",
        "EPOCH_MS": "TEXT",
    }
    expressions = ", ".join(as_text(f'"{column}"', data_type) for column, data_type in types.items())
    texts = run(connection, f"SELECT {expressions} FROM TYPED")[0]
    seconds = dict(zip(types, to_epoch_seconds(pd.Series(texts, dtype=object)), strict=True))
    assert seconds == {**dict.fromkeys(types, INSTANT), "DAY": INSTANT - 3 * 3600 - 4 * 60 - 5}


def test_numbers_and_flags_read_as_the_text_of_the_same_value(connection):
    run(connection, "CREATE TABLE TYPED (N NUMBER(38, 2), F FLOAT, B BOOLEAN, NT VARCHAR, BT VARCHAR)")
    run(connection, "INSERT INTO TYPED VALUES (19.99, 19.99, TRUE, '19.99', 'true')")
    row = run(
        connection,
        "SELECT "
        + ", ".join(
            as_text(f'"{column}"', data_type)
            for column, data_type in (("N", "NUMBER"), ("F", "FLOAT"), ("B", "BOOLEAN"), ("NT", "TEXT"))
        )
        + f", {as_text('BT', 'TEXT')} FROM TYPED",
    )[0]
    assert [float(value) for value in (*row[:2], row[3])] == [19.99] * 3
    flags, unrecognised = to_boolean(pd.Series([row[2], row[4]]))
    assert flags.tolist() == [True, True] and not unrecognised.any()


def test_an_id_joins_as_a_number_whatever_its_type(connection):
    run(connection, "CREATE TABLE IDS (ID NUMBER, AS_FLOAT FLOAT, AS_TEXT VARCHAR)")
    run(connection, "INSERT INTO IDS VALUES (50000000001, 50000000001, ' 50000000001 ')")
    matches = run(
        connection,
        f"SELECT {as_number('AS_FLOAT', 'FLOAT')} = ID, {as_number('AS_TEXT', 'TEXT')} = ID, "
        "TO_VARCHAR(AS_FLOAT) = TO_VARCHAR(ID) FROM IDS",
    )[0]
    assert matches[:2] == (True, True)
    assert matches[2] is False  # the trap: a FLOAT id compared as text matches nothing


def _retype(connection, table: str, column: str, sql_type: str) -> None:
    name = qualified_name(SHARE.database, SHARE.schema, table)
    run(connection, f"ALTER TABLE {name} DROP COLUMN {column}")
    run(connection, f"ALTER TABLE {name} ADD COLUMN {column} {sql_type}")


def test_line_items_with_float_product_ids_find_their_products(connection):
    _retype(connection, "OBJECTS_LINE_ITEMS", "PROPERTY_HS_PRODUCT_ID", "FLOAT")
    table = lambda name: qualified_name(SHARE.database, SHARE.schema, name)  # noqa: E731
    run(
        connection,
        f"INSERT INTO {table('OBJECTS_PRODUCTS')} (OBJECTID, PROPERTY_EXTERNAL_ID) VALUES (7, 'sku-7')",
    )
    run(
        connection,
        f"INSERT INTO {table('OBJECTS_DEALS')} (OBJECTID, PROPERTY_PIPELINE, PROPERTY_DEALSTAGE) "
        "VALUES (1, 'ecommerce', '57441673')",
    )
    run(
        connection,
        f"INSERT INTO {table('OBJECTS_LINE_ITEMS')} (OBJECTID, PROPERTY_HS_PRODUCT_ID) VALUES (3, 7.0)",
    )
    # the same pair listed twice (once per association type) must not repeat the line item
    run(connection, f"INSERT INTO {table('ASSOCIATIONS_LINE_ITEMS_TO_DEALS')} VALUES (3, 1), (3, 1)")
    session = ShareSession(connection, SHARE)
    rows = session("share/deals.sql", {"pipelines": ["ecommerce"], "stages": ["57441673"]}, line_items=True)
    assert rows[["LINE_ITEM_ID", "PRODUCT_ID", "ITEM_ID"]].values.tolist() == [["3", "7", "sku-7"]]


def test_optional_properties_the_share_lacks_read_as_null_and_are_named(connection):
    run(
        connection,
        f"ALTER TABLE {qualified_name(SHARE.database, SHARE.schema, 'OBJECTS_COMPANIES')} "
        "DROP COLUMN PROPERTY_EXTERNAL_ID",
    )
    run(
        connection,
        f"INSERT INTO {qualified_name(SHARE.database, SHARE.schema, 'OBJECTS_COMPANIES')} "
        "(OBJECTID, PROPERTY_DOMAIN) VALUES (1, 'acme.com')",
    )
    share = replace(SHARE, properties={**SHARE.properties, ("products", "gender"): None})
    session = ShareSession(connection, share)
    companies = session("share/companies.sql", {})
    assert companies["EXTERNAL_ID"].isna().all() and companies["DOMAIN"].tolist() == ["acme.com"]
    aliases = {"VISITOR_ID": "PROPERTY_VISITOR_ID", "AMPLITUDE_ID": "PROPERTY_AMPLITUDE_ID"}
    missing = session.check(
        [
            ("share/companies.sql", None, {}),
            ("share/products.sql", None, {}),
            ("share/contacts.sql", aliases, {}),
        ]
    )
    assert empty_fields(missing) == {
        "properties.companies.external_id": "OBJECTS_COMPANIES has no column PROPERTY_EXTERNAL_ID",
        "properties.products.gender": "set to null",
        "identity.anonymous_ids: PROPERTY_AMPLITUDE_ID": (
            "OBJECTS_CONTACTS has no column PROPERTY_AMPLITUDE_ID"
        ),
    }


def test_every_missing_required_column_and_table_is_named_with_its_key_before_any_query(connection):
    _retype(connection, "OBJECTS_CONTACTS", "PROPERTY_EMAIL", "VARCHAR")  # still there: not reported
    run(
        connection,
        f"ALTER TABLE {qualified_name(SHARE.database, SHARE.schema, 'OBJECTS_DEALS')} "
        "DROP COLUMN PROPERTY_AMOUNT",
    )
    run(connection, f"DROP TABLE {qualified_name(SHARE.database, SHARE.schema, 'PIPELINE_STAGES')}")
    share = replace(SHARE, properties={**SHARE.properties, ("events", "item_id"): "PROPERTY_PRODUCT_SKU"})
    session = ShareSession(connection, share)
    with pytest.raises(ShareSchemaError) as failure:
        session.check(
            [("share/deals.sql", None, {"line_items": False}), ("personalize/custom_events.sql", None, {})]
        )
    message = str(failure.value)
    assert "OBJECTS_DEALS.PROPERTY_AMOUNT (properties.deals.amount" in message
    assert f"{share.event_table}.PROPERTY_PRODUCT_SKU (properties.events.item_id" in message
    assert "PIPELINE_STAGES (share.database / share.schema" in message
    assert "PROPERTY_EMAIL" not in message and "3 table(s) or column(s)" in message


def test_a_required_property_cannot_be_null_and_unknown_keys_are_refused_naming_the_nearest():
    with pytest.raises(ConfigError, match=r"properties\.deals\.amount is required"):
        load_config(override={"properties": {"deals": {"amount": None}}})
    with pytest.raises(
        ConfigError, match=r"products\.extrnal_id \(did you mean properties\.products\.external_id"
    ):
        load_config(override={"properties": {"products": {"extrnal_id": "hs_sku"}}})
    with pytest.raises(ConfigError, match=r"properties\.products\.sku \(valid here: external_id, price, "):
        load_config(override={"properties": {"products": {"sku": "hs_sku"}}})
    with pytest.raises(ConfigError, match=r"hook\.scheduel \(did you mean hook\.schedule\?\)"):
        load_config(override={"hook": {"scheduel": "0 4 * * 1"}})
    # mappings of the user's own names take any key
    assert (
        load_config(override={"personalize": {"event_types": {"Wishlist": None}}}).personalize.event_types[
            "Wishlist"
        ]
        is None
    )


def test_a_null_boolean_stays_null(connection):
    run(connection, "CREATE TABLE FLAGS (B BOOLEAN)")
    run(connection, "INSERT INTO FLAGS VALUES (TRUE), (FALSE), (NULL)")
    assert run(connection, f"SELECT {as_text('B', 'BOOLEAN')} FROM FLAGS") == [("true",), ("false",), (None,)]


def test_sessions_run_in_utc_whatever_the_connection_sets(monkeypatch):
    extra = {"account": "a", "session_parameters": {"TIMEZONE": "America/New_York", "QUERY_TAG": "etl"}}
    connection = {"conn_type": "snowflake", "login": "u", "password": "p", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_SHARE_TZ_TEST", json.dumps(connection))
    parameters = ShareHook(snowflake_conn_id="share_tz_test")._get_conn_params()
    assert parameters["session_parameters"] == {"TIMEZONE": "UTC", "QUERY_TAG": "etl"}


def test_event_days_are_utc_days_for_an_offset_timestamp_column(connection):
    _retype(connection, SHARE.event_table, "OCCURREDAT", "TIMESTAMP_TZ")
    events = qualified_name(SHARE.database, SHARE.schema, SHARE.event_table)
    run(
        connection,
        f"INSERT INTO {events} (ID, OBJECTID, OCCURREDAT, PROPERTY_EVENT_TYPE) "
        "VALUES ('e1', 1, '2024-01-02 01:00:00+05:00', 'View')",  # 2024-01-01 20:00 UTC
    )
    session = ShareSession(connection, SHARE)
    sql = session.render("personalize/event_days.sql")
    assert "CONVERT_TIMEZONE('UTC', \"OCCURREDAT\")" in sql  # Snowflake's day of a TZ value is its own
    parameters = {"window_start": None, "window_end": datetime(2025, 1, 1), "undated": False}
    days = session("personalize/event_days.sql", parameters)
    assert days["EVENT_DAY"].astype(str).tolist() == ["2024-01-01"]


def test_each_export_needs_and_names_only_the_properties_it_uses(connection):
    for column in ("PROPERTY_CREATEDATE", "PROPERTY_AGE"):
        run(
            connection,
            f"ALTER TABLE {qualified_name(SHARE.database, SHARE.schema, 'OBJECTS_CONTACTS')} "
            f"DROP COLUMN {column}",
        )
    run(
        connection,
        f"ALTER TABLE {qualified_name(SHARE.database, SHARE.schema, 'PIPELINE_STAGES')} DROP COLUMN LABEL",
    )  # only preflight reads stage labels
    contacts_and_deals = [("share/contacts.sql", None, {}), ("share/deals.sql", None, {"line_items": True})]
    personalize = ShareSession(connection, SHARE, PERSONALIZE).check(contacts_and_deals)
    assert empty_fields(personalize) == {
        "properties.contacts.age": "OBJECTS_CONTACTS has no column PROPERTY_AGE"
    }
    with pytest.raises(ShareSchemaError, match=r"PROPERTY_CREATEDATE \(properties\.contacts\.createdate"):
        ShareSession(connection, SHARE, HOOK).check(contacts_and_deals)
