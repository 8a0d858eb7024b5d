"""The synthetic share: deterministic, B2C and B2B shaped, with each kind of dirty value present (in the
all-text share; in the typed one, each kind its columns can hold), typed and all-text alike when clean."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from hubspot_pipeline.local.generator import DEFAULT_END_DATE, generate_share
from hubspot_pipeline.local.generator.dirt import DIRTY_KINDS, EVENTS, Dirt
from hubspot_pipeline.local.generator.events import FUNNEL
from hubspot_pipeline.local.share_schema import (
    BOOL,
    CHECKOUT_COMPLETED_STAGE_ID,
    CHECKOUT_PENDING_STAGE_ID,
    DATETIME,
    DEFAULT_EVENT_TABLE,
    TEXT,
    share_tables,
    typed_values,
)

SMALL = {"contacts": 120, "companies": 15, "products": 40, "days": 5, "events_per_day": 100}
EVENTS_TABLE = DEFAULT_EVENT_TABLE
KNOWN_EVENT_TYPES = ", ".join(f"'{name}'" for name in FUNNEL)
FREE_DOMAINS = "('gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'gmx.de')"


CLEAN_END_DATE = date(2023, 3, 31)


@pytest.fixture(scope="module")
def clean_share(tmp_path_factory) -> Path:
    """A small typed share without dirty values, ending on CLEAN_END_DATE."""
    db_path = tmp_path_factory.mktemp("clean_share")
    generate_share(db_path, dirty_share=0, end_date=CLEAN_END_DATE, **SMALL)
    return db_path


@pytest.fixture(scope="module")
def clean_text_share(tmp_path_factory) -> Path:
    """``clean_share`` with every property column VARCHAR."""
    db_path = tmp_path_factory.mktemp("clean_text_share")
    generate_share(db_path, dirty_share=0, end_date=CLEAN_END_DATE, all_text=True, **SMALL)
    return db_path


def _all_tables(read_share, db_path) -> dict[str, pd.DataFrame]:
    return {table: read_share(db_path, f"SELECT * FROM {table} ORDER BY ALL") for table in share_tables()}


def _count(read_share, db_path, sql: str) -> int:
    return int(read_share(db_path, f"SELECT COUNT(*) AS n FROM ({sql})")["n"][0])


@pytest.mark.parametrize("all_text", [False, True], ids=["typed", "all-text"])
def test_same_seed_gives_identical_tables_and_reseeding_replaces(tmp_path, read_share, all_text):
    first, second = tmp_path / "first", tmp_path / "second"
    counts = generate_share(first, seed=7, all_text=all_text, **SMALL)
    generate_share(second, seed=7, all_text=all_text, **SMALL)
    assert generate_share(first, seed=7, all_text=all_text, **SMALL) == counts  # same rows, not appended

    first_tables, second_tables = _all_tables(read_share, first), _all_tables(read_share, second)
    for table, rows in first_tables.items():
        assert len(rows) == counts[table]
        pd.testing.assert_frame_equal(rows, second_tables[table], obj=table)


def _parsed_text(text: pd.Series, sql_type: str) -> pd.Series:
    """All-text property values as a column of ``sql_type`` holds them, parsed by pandas (not the loader)."""
    text = text.mask(text == "")
    if sql_type == DATETIME:
        epoch = text.str.fullmatch("[0-9]+").fillna(False).astype(bool)
        parsed = pd.to_datetime(text.where(~epoch), format="ISO8601", utc=True).dt.tz_localize(None)
        parsed[epoch] = pd.to_datetime(text[epoch].astype("int64"), unit="ms")
        return parsed
    if sql_type == BOOL:
        return text.map({"True": True, "true": True, "False": False, "false": False}).astype("boolean")
    return pd.to_numeric(text)


def test_clean_typed_and_all_text_shares_hold_the_same_records_and_values(
    clean_share, clean_text_share, read_share
):
    for table, columns in share_tables().items():
        keys = ", ".join(name for name, _ in columns if not name.startswith("PROPERTY_"))
        query = f"SELECT * FROM {table} ORDER BY {keys}"
        typed, text = read_share(clean_share, query), read_share(clean_text_share, query)
        assert len(typed) > 0, table
        for name, sql_type in columns:
            if name.startswith("PROPERTY_") and sql_type != TEXT:
                text[name] = _parsed_text(text[name], sql_type)
        pd.testing.assert_frame_equal(typed, text, check_dtype=False, obj=table)


def test_another_seed_gives_other_data(tmp_path, read_share):
    generate_share(tmp_path / "a", seed=1, **SMALL)
    generate_share(tmp_path / "b", seed=2, **SMALL)

    for table in ("OBJECTS_CONTACTS", "OBJECTS_PRODUCTS", EVENTS_TABLE):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert not read_share(tmp_path / "a", query).equals(read_share(tmp_path / "b", query)), table


def test_default_size_meets_personalize_minimums(generated_share, read_share):
    users = read_share(
        generated_share,
        f"SELECT OBJECTID, COUNT(*) AS n FROM {EVENTS_TABLE} "
        f"WHERE PROPERTY_EVENT_TYPE IN ({KNOWN_EVENT_TYPES}) GROUP BY OBJECTID",
    )
    assert users["n"].sum() >= 1_000
    assert (users["n"] >= 2).sum() >= 25
    types = read_share(
        generated_share, f"SELECT PROPERTY_EVENT_TYPE AS t, COUNT(*) AS n FROM {EVENTS_TABLE} GROUP BY t"
    )
    by_type = types.set_index("t")["n"]
    assert by_type.idxmax() == "View"
    assert by_type["View"] >= 1_000 and by_type["Purchase"] >= 1_000


def test_history_ends_on_end_date(clean_share, read_share):
    query = f"SELECT MIN(OCCURREDAT) AS first, MAX(OCCURREDAT) AS last FROM {EVENTS_TABLE}"
    window = read_share(clean_share, query)
    assert window["first"][0] >= pd.Timestamp(CLEAN_END_DATE) - pd.Timedelta(days=SMALL["days"] - 1)
    assert window["last"][0] < pd.Timestamp(CLEAN_END_DATE) + pd.Timedelta(days=1)


NOT_A_NUMBER = "TRY_CAST({0} AS DOUBLE) IS NULL AND {0} IS NOT NULL"
NOT_A_DATE = "TRY_CAST({0} AS TIMESTAMP) IS NULL AND NOT regexp_matches({0}, '^[0-9]{{13}}$')"
NASTY_NAMES = "('Deluxe \"Pro\", 2-pack', 'Line one' || chr(10) || 'Line two', 'Crème brûlée ☕ – 日本語')"
# what: (table, condition on its rows); each must hold for some rows of a default run, for none of a clean one
DIRTY_CHECKS = {
    "non-numeric product price": ("OBJECTS_PRODUCTS", NOT_A_NUMBER.format("PROPERTY_PRICE")),
    "negative product price": ("OBJECTS_PRODUCTS", "TRY_CAST(PROPERTY_PRICE AS DOUBLE) < 0"),
    "non-numeric age": ("OBJECTS_CONTACTS", NOT_A_NUMBER.format("PROPERTY_AGE")),
    "negative age": ("OBJECTS_CONTACTS", "TRY_CAST(PROPERTY_AGE AS DOUBLE) < 0"),
    "non-numeric deal amount": ("OBJECTS_DEALS", NOT_A_NUMBER.format("PROPERTY_AMOUNT")),
    "negative deal amount": ("OBJECTS_DEALS", "TRY_CAST(PROPERTY_AMOUNT AS DOUBLE) < 0"),
    "non-numeric quantity": ("OBJECTS_LINE_ITEMS", NOT_A_NUMBER.format("PROPERTY_QUANTITY")),
    "non-numeric event price": (EVENTS_TABLE, NOT_A_NUMBER.format("PROPERTY_ITEM_PRICE")),
    "empty product external id": ("OBJECTS_PRODUCTS", "PROPERTY_EXTERNAL_ID = ''"),
    "empty contact external id": ("OBJECTS_CONTACTS", "PROPERTY_EXTERNAL_ID = ''"),
    "empty event item id": (EVENTS_TABLE, "PROPERTY_ITEM_ID = ''"),
    "empty event user id": (EVENTS_TABLE, "PROPERTY_USER_ID = ''"),
    "over-long product external id": ("OBJECTS_PRODUCTS", "LENGTH(PROPERTY_EXTERNAL_ID) > 256"),
    "over-long contact external id": ("OBJECTS_CONTACTS", "LENGTH(PROPERTY_EXTERNAL_ID) > 256"),
    "over-long event item id": (EVENTS_TABLE, "LENGTH(PROPERTY_ITEM_ID) > 256"),
    "over-long category": ("OBJECTS_PRODUCTS", "LENGTH(PROPERTY_CATEGORY_LEVEL_2) > 1000"),
    "duplicate event": (
        EVENTS_TABLE,
        f"ID IN (SELECT ID FROM {EVENTS_TABLE} GROUP BY ID HAVING COUNT(*) > 1)",
    ),
    "event in 1970": (EVENTS_TABLE, "YEAR(OCCURREDAT) = 1970"),
    "event in 2100": (EVENTS_TABLE, "YEAR(OCCURREDAT) = 2100"),
    "unknown event type": (EVENTS_TABLE, f"PROPERTY_EVENT_TYPE NOT IN ({KNOWN_EVENT_TYPES})"),
    "event item not in catalogue": (
        EVENTS_TABLE,
        "PROPERTY_ITEM_ID <> '' AND PROPERTY_ITEM_ID NOT IN "
        "(SELECT PROPERTY_EXTERNAL_ID FROM OBJECTS_PRODUCTS WHERE PROPERTY_EXTERNAL_ID IS NOT NULL)",
    ),
    "garbage contact create date": ("OBJECTS_CONTACTS", NOT_A_DATE.format("PROPERTY_CREATEDATE")),
    "garbage deal close date": ("OBJECTS_DEALS", NOT_A_DATE.format("PROPERTY_CLOSEDATE")),
    "line item of an unknown product": (
        "OBJECTS_LINE_ITEMS",
        "PROPERTY_HS_PRODUCT_ID NOT IN (SELECT CAST(OBJECTID AS VARCHAR) FROM OBJECTS_PRODUCTS)",
    ),
    "quote, comma, newline and unicode in a name": (
        "OBJECTS_CONTACTS",
        f"PROPERTY_FIRSTNAME IN {NASTY_NAMES}",
    ),
}


def _dirty_rows(read_share, db_path, check: str) -> int:
    table, condition = DIRTY_CHECKS[check]
    return _count(read_share, db_path, f"SELECT * FROM {table} WHERE {condition}")


@pytest.mark.parametrize("check", DIRTY_CHECKS)
def test_each_kind_of_dirty_value_is_present_in_the_all_text_share(all_text_share, read_share, check):
    assert _dirty_rows(read_share, all_text_share, check) > 0


def test_a_clean_share_has_no_dirty_values(clean_text_share, read_share):
    found = {check: _dirty_rows(read_share, clean_text_share, check) for check in DIRTY_CHECKS}
    assert found == dict.fromkeys(DIRTY_CHECKS, 0)


def _tables_by_dirt_key(all_text: bool) -> dict:
    tables = share_tables(all_text=all_text)
    return {**tables, EVENTS: tables[EVENTS_TABLE]}


def test_every_declared_dirty_kind_lands_in_its_column_of_the_all_text_share(all_text_share, read_share):
    assert Dirt(0.02, _tables_by_dirt_key(all_text=True)).kinds("OBJECTS_PRODUCTS") == tuple(
        DIRTY_KINDS["OBJECTS_PRODUCTS"]
    )
    for table, kinds in DIRTY_KINDS.items():
        for kind in kinds:
            if not kind.values:
                continue
            table_name = EVENTS_TABLE if table == EVENTS else table
            query = f"SELECT COUNT(*) AS n FROM {table_name} WHERE {kind.column} = ?"
            assert read_share(all_text_share, query, [kind.values[0]])["n"][0] > 0, f"{table}: {kind.name}"


# the kinds a typed share cannot hold: text that is no number, garbage dates
NOT_IN_A_TYPED_SHARE = {
    "OBJECTS_COMPANIES": {"employees_non_numeric", "createdate_garbage"},
    "OBJECTS_CONTACTS": {"age_non_numeric", "createdate_garbage"},
    "OBJECTS_PRODUCTS": {"price_non_numeric", "createdate_garbage"},
    "OBJECTS_DEALS": {"amount_non_numeric", "createdate_garbage", "closedate_garbage"},
    "OBJECTS_LINE_ITEMS": {"quantity_non_numeric", "price_non_numeric"},
    EVENTS: {"price_non_numeric"},
}


def test_a_typed_share_gets_the_dirty_kinds_its_columns_hold(generated_share, read_share):
    tables = _tables_by_dirt_key(all_text=False)
    dirt = Dirt(0.02, tables)
    for table, kinds in DIRTY_KINDS.items():
        kept = dirt.kinds(table)
        assert {kind.name for kind in kinds} - {kind.name for kind in kept} == NOT_IN_A_TYPED_SHARE[table]
        types = dict(tables[table])
        for kind in kept:
            values = [value for value in typed_values(pa.array(kind.values), types[kind.column]).to_pylist()]
            if not any(value is not None for value in values):
                continue
            table_name = EVENTS_TABLE if table == EVENTS else table
            query = f"SELECT COUNT(*) AS n FROM {table_name} WHERE {kind.column} = ?"
            value = next(value for value in values if value is not None)
            assert read_share(generated_share, query, [value])["n"][0] > 0, f"{table}: {kind.name}"
    negative_prices = "SELECT * FROM OBJECTS_PRODUCTS WHERE PROPERTY_PRICE < 0"
    assert _count(read_share, generated_share, negative_prices) > 0


def test_product_text_holds_commas_quotes_newlines_and_unicode_even_when_clean(clean_text_share, read_share):
    descriptions = read_share(clean_text_share, "SELECT PROPERTY_DESCRIPTION AS d FROM OBJECTS_PRODUCTS")["d"]
    for character in (",", '"', "\n", "—"):
        assert descriptions.str.contains(character, regex=False).any(), repr(character)
    promoted = read_share(
        clean_text_share, "SELECT DISTINCT COALESCE(PROPERTY_PROMOTED, 'NULL') AS p FROM OBJECTS_PRODUCTS"
    )
    assert set(promoted["p"]) == {"True", "", "NULL"}


def test_contacts_mix_consumers_and_business_identities(generated_share, read_share):
    def count(sql: str) -> int:
        return _count(read_share, generated_share, sql)

    domain = "lower(split_part(PROPERTY_EMAIL, '@', 2))"
    assert count(f"SELECT * FROM OBJECTS_CONTACTS WHERE {domain} IN {FREE_DOMAINS}") > 0
    on_company_domain = (
        f"SELECT c.OBJECTID, a.COMPANY_OBJECTID FROM OBJECTS_CONTACTS c "
        f"JOIN OBJECTS_COMPANIES co ON co.PROPERTY_DOMAIN = {domain} "
        f"LEFT JOIN ASSOCIATIONS_CONTACTS_TO_COMPANIES a ON a.CONTACT_OBJECTID = c.OBJECTID"
    )
    assert count(f"{on_company_domain} WHERE a.COMPANY_OBJECTID IS NOT NULL") > 0  # explicit association
    assert count(f"{on_company_domain} WHERE a.COMPANY_OBJECTID IS NULL") > 0  # only the e-mail domain
    # a business contact on a free e-mail address, linked to the company explicitly
    explicitly_linked = "JOIN ASSOCIATIONS_CONTACTS_TO_COMPANIES a ON a.CONTACT_OBJECTID = c.OBJECTID"
    assert count(f"SELECT * FROM OBJECTS_CONTACTS c {explicitly_linked} WHERE {domain} IN {FREE_DOMAINS}") > 0
    assert count("SELECT PROPERTY_EMAIL FROM OBJECTS_CONTACTS GROUP BY ALL HAVING COUNT(*) > 1") > 0
    assert count("SELECT * FROM OBJECTS_CONTACTS WHERE PROPERTY_EXTERNAL_ID IS NULL") > 0
    assert count("SELECT * FROM OBJECTS_CONTACTS WHERE PROPERTY_EMAIL IS NULL") > 0
    assert count("SELECT * FROM OBJECTS_CONTACTS WHERE PROPERTY_VISITOR_ID IS NOT NULL") > 0
    assert count("SELECT PROPERTY_DOMAIN FROM OBJECTS_COMPANIES GROUP BY ALL HAVING COUNT(*) > 1") > 0
    assert count("SELECT * FROM OBJECTS_COMPANIES WHERE PROPERTY_EXTERNAL_ID LIKE 'ACC-%'") > 0
    assert count("SELECT * FROM OBJECTS_COMPANIES WHERE PROPERTY_EXTERNAL_ID IS NULL") > 0


def test_deals_span_both_pipelines_with_line_items_and_associations(generated_share, read_share):
    def count(sql: str) -> int:
        return _count(read_share, generated_share, sql)

    stages = read_share(
        generated_share, "SELECT DISTINCT PROPERTY_PIPELINE AS p, PROPERTY_DEALSTAGE AS s FROM OBJECTS_DEALS"
    )
    assert set(stages.loc[stages["p"] == "ecommerce", "s"]) == {
        CHECKOUT_PENDING_STAGE_ID,
        CHECKOUT_COMPLETED_STAGE_ID,
    }
    assert {"closedwon", "closedlost", "appointmentscheduled"} <= set(
        stages.loc[stages["p"] == "default", "s"]
    )
    assert (
        count(
            "SELECT * FROM OBJECTS_DEALS d WHERE PROPERTY_PIPELINE = 'ecommerce' AND NOT EXISTS "
            "(SELECT 1 FROM ASSOCIATIONS_LINE_ITEMS_TO_DEALS a WHERE a.DEAL_OBJECTID = d.OBJECTID)"
        )
        == 0
    )
    assert (
        count(
            "SELECT * FROM OBJECTS_LINE_ITEMS l ANTI JOIN ASSOCIATIONS_LINE_ITEMS_TO_DEALS a "
            "ON a.LINE_ITEM_OBJECTID = l.OBJECTID"
        )
        == 0
    )
    assert (
        count(
            "SELECT * FROM ASSOCIATIONS_DEALS_TO_CONTACTS a ANTI JOIN OBJECTS_CONTACTS c "
            "ON c.OBJECTID = a.CONTACT_OBJECTID"
        )
        == 0
    )
    assert (
        count(
            "SELECT * FROM ASSOCIATIONS_DEALS_TO_COMPANIES a JOIN OBJECTS_DEALS d ON d.OBJECTID = "
            "a.DEAL_OBJECTID WHERE d.PROPERTY_PIPELINE = 'default'"
        )
        > 0
    )
    assert (
        count(
            "SELECT * FROM ASSOCIATIONS_DEALS_TO_COMPANIES a JOIN OBJECTS_DEALS d ON d.OBJECTID = "
            "a.DEAL_OBJECTID WHERE d.PROPERTY_PIPELINE <> 'default'"
        )
        == 0
    )
    assert (
        count(
            "SELECT * FROM OBJECTS_DEALS WHERE PROPERTY_DEALSTAGE = '57441673' AND PROPERTY_CLOSEDATE IS NULL"
        )
        == 0
    )


def test_event_times_fall_in_the_window_apart_from_the_dirty_ones(generated_share, read_share):
    window = read_share(
        generated_share,
        f"SELECT MIN(OCCURREDAT) AS first, MAX(OCCURREDAT) AS last FROM {EVENTS_TABLE} "
        "WHERE YEAR(OCCURREDAT) NOT IN (1970, 2100)",
    )
    assert window["first"][0] >= pd.Timestamp(DEFAULT_END_DATE) - pd.Timedelta(days=89)
    assert window["last"][0] < pd.Timestamp(DEFAULT_END_DATE) + pd.Timedelta(days=1)
