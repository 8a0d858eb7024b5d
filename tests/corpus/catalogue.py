"""The bad-input corpus: named kinds of bad records in every source table of the share, each with how it is
made bad and what the pipeline must do with it, and a builder that writes them into a small clean share.

Every kind adds its own records (ids outside the generated ranges, events at their own second of the
export date) so its outcome can be found in the outputs: a published row, a quarantined row with its
reason, its line in the identity log, the Hook row of a company of its own, or a skip/correction count in
a ledger (``test_corpus`` checks the counts several kinds share against the sum the catalogue declares).
Treatments follow the rules documented in the README ("Rules, in the order they apply", "What happens to
bad input") and ``hubspot_pipeline/identity/``.

Invalid UTF-8 cannot be in a share: Snowflake's and DuckDB's VARCHAR both reject it on write (see
``test_invalid_utf8_cannot_enter_a_share``). What a share can hold is text that was decoded with
replacement, i.e. U+FFFD; that kind is ``product_text_replacement_character``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.share_schema import (
    DEFAULT_DATABASE,
    DEFAULT_EVENT_TABLE,
    DEFAULT_SCHEMA,
    OBJECT_ID_BASES,
    database_file,
)

EXPORT_DATE = date(2024, 6, 30)  # the generated history's last day; every corpus event happens on it
SHARE_SIZE = {"contacts": 300, "companies": 30, "products": 60, "days": 30, "events_per_day": 100}
TEMPLATE_CONTACT = OBJECT_ID_BASES["OBJECTS_CONTACTS"] + 1  # generated rows the corpus points at
TEMPLATE_PRODUCT = OBJECT_ID_BASES["OBJECTS_PRODUCTS"] + 1
UNKNOWN_CONTACT = OBJECT_ID_BASES["OBJECTS_CONTACTS"] + 999_999_999
UNKNOWN_COMPANY = OBJECT_ID_BASES["OBJECTS_COMPANIES"] + 999_999_999
UNKNOWN_LINE_ITEM = OBJECT_ID_BASES["OBJECTS_LINE_ITEMS"] + 999_999_999
ECOMMERCE, CART_STAGE, WON_STAGE = "ecommerce", "57441672", "57441673"
OVERLONG_ID = "corpus-" + "x" * 300
OVERLONG_CATEGORY = "c" * 1001
SYSTEM_COLUMNS = frozenset({"OBJECTID", "OBJECTTYPEID", "UPDATEDAT", "INGESTEDAT"})


def table(name: str) -> str:
    """A share table's name as DuckDB sees the fakesnow database file."""
    return f"{DEFAULT_DATABASE}.{DEFAULT_SCHEMA}.{name}"


def corpus_id(object_table: str, number: int) -> int:
    """The record id of the corpus's ``number``-th record of ``object_table`` (above generated ids)."""
    return OBJECT_ID_BASES[object_table] + 900_000_000 + number


def event_epoch(number: int) -> int:
    """Epoch seconds of the corpus's ``number``-th event: 10:00 UTC on the export date plus ``number`` s."""
    return int(datetime(2024, 6, 30, 10, tzinfo=UTC).timestamp()) + number


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S}'"
    return "'" + str(value).replace("'", "''") + "'"


def insert(table_name: str, **values: object) -> str:
    """``INSERT … BY NAME`` of one row; columns not given stay NULL."""
    columns = ", ".join(f"{_literal(value)} AS {name}" for name, value in values.items())
    return f"INSERT INTO {table(table_name)} BY NAME SELECT {columns}"  # noqa: S608 (test data, literals)


def _properties(values: dict[str, object]) -> dict[str, object]:
    """Column names for ``values``: system columns as given, the rest as ``PROPERTY_<name>``."""
    return {name if name in SYSTEM_COLUMNS else f"PROPERTY_{name}": value for name, value in values.items()}


def product(number: int, **properties: object) -> list[str]:
    """A corpus product: a copy of the template product with its own id, external id and ``properties``."""
    values = _properties(
        {"OBJECTID": corpus_id("OBJECTS_PRODUCTS", number), "EXTERNAL_ID": f"corpus-p-{number}"}
    )
    values.update(_properties(properties))
    replaced = ", ".join(f"{_literal(value)} AS {name}" for name, value in values.items())
    return [
        f"INSERT INTO {table('OBJECTS_PRODUCTS')} SELECT * REPLACE ({replaced}) "  # noqa: S608
        f"FROM {table('OBJECTS_PRODUCTS')} WHERE OBJECTID = {TEMPLATE_PRODUCT}"
    ]


def contact(number: int, **properties: object) -> list[str]:
    """A corpus contact, no e-mail or visitor id unless given (so it merges with nobody)."""
    values = {
        "OBJECTID": corpus_id("OBJECTS_CONTACTS", number),
        "OBJECTTYPEID": "0-1",
        "UPDATEDAT": datetime(2024, 6, 1),
        "PROPERTY_EXTERNAL_ID": f"corpus-c-{number}",
        "PROPERTY_CREATEDATE": "2024-06-01T00:00:00Z",
    }
    values.update(_properties(properties))
    return [insert("OBJECTS_CONTACTS", **values)]


def company(number: int, **properties: object) -> list[str]:
    values = {
        "OBJECTID": corpus_id("OBJECTS_COMPANIES", number),
        "OBJECTTYPEID": "0-2",
        "PROPERTY_NAME": f"Corpus {number}",
        "PROPERTY_CREATEDATE": "2024-01-01T00:00:00Z",
    }
    values.update(_properties(properties))
    return [insert("OBJECTS_COMPANIES", **values)]


def deal(
    number: int,
    *,
    stage: str = WON_STAGE,
    pipeline: str = ECOMMERCE,
    line_item: dict | None = None,
    contact_id: int | None = TEMPLATE_CONTACT,
    company_id: int | None = None,
    line_item_link: int | None | str = "own",
    **properties: object,
) -> list[str]:
    """A corpus deal (won in the ecommerce pipeline by default) of the template contact (``contact_id``)
    and of ``company_id`` if given, with one line item of the template product unless ``line_item`` is
    None; ``line_item_link`` overrides the line item id of the line item → deal association (None: a NULL
    id)."""
    deal_id = corpus_id("OBJECTS_DEALS", number)
    values = {
        "OBJECTID": deal_id,
        "OBJECTTYPEID": "0-3",
        "PROPERTY_DEALNAME": f"Corpus deal {number}",
        "PROPERTY_PIPELINE": pipeline,
        "PROPERTY_DEALSTAGE": stage,
        "PROPERTY_AMOUNT": "100",
        "PROPERTY_CREATEDATE": "2024-06-01T00:00:00Z",
        "PROPERTY_CLOSEDATE": "2024-06-02T00:00:00Z",
    }
    values.update(_properties(properties))
    statements = [insert("OBJECTS_DEALS", **values)]
    if contact_id is not None:
        statements.append(
            insert(
                "ASSOCIATIONS_DEALS_TO_CONTACTS",
                DEAL_OBJECTID=values["OBJECTID"],
                CONTACT_OBJECTID=contact_id,
            )
        )
    if company_id is not None:
        statements.append(
            insert("ASSOCIATIONS_DEALS_TO_COMPANIES", DEAL_OBJECTID=deal_id, COMPANY_OBJECTID=company_id)
        )
    if line_item is not None:
        item_id = corpus_id("OBJECTS_LINE_ITEMS", number)
        item = {
            "OBJECTID": item_id,
            "OBJECTTYPEID": "0-8",
            "PROPERTY_HS_PRODUCT_ID": str(TEMPLATE_PRODUCT),
            "PROPERTY_PRICE": "10",
            "PROPERTY_QUANTITY": "1",
        }
        item.update({f"PROPERTY_{key}": value for key, value in line_item.items()})
        statements.append(insert("OBJECTS_LINE_ITEMS", **item))
    if line_item is not None or line_item_link != "own":
        link = corpus_id("OBJECTS_LINE_ITEMS", number) if line_item_link == "own" else line_item_link
        statements.append(
            insert(
                "ASSOCIATIONS_LINE_ITEMS_TO_DEALS", LINE_ITEM_OBJECTID=link, DEAL_OBJECTID=values["OBJECTID"]
            )
        )
    return statements


def deal_source(number: int, event: str) -> str:
    """The ``_SOURCE_ID`` of a corpus deal's line-item interaction (``event``: ``cart`` or ``purchase``)."""
    deal_id, item_id = corpus_id("OBJECTS_DEALS", number), corpus_id("OBJECTS_LINE_ITEMS", number)
    return f"deal:{deal_id}/line_item:{item_id}/{event}"


def event(number: int, *, event_id: str | None | bool = True, **columns: object) -> list[str]:
    """A corpus View event of the template contact on the template product at :func:`event_epoch`."""
    values = {
        "ID": f"corpus-e-{number}" if event_id is True else event_id,
        "OBJECTID": TEMPLATE_CONTACT,
        "EVENTTYPEID": "6-1234567",
        "OCCURREDAT": datetime.fromtimestamp(event_epoch(number), UTC).replace(tzinfo=None),
        "PROPERTY_EVENT_TYPE": "View",
        "PROPERTY_ITEM_PRICE": "10",
    }
    values.update(columns)
    item = values.pop("PROPERTY_ITEM_ID", "template")
    statement = insert(DEFAULT_EVENT_TABLE, **values)
    if item == "template":  # the template product's external id, whatever the generator made it
        external_id = (
            f"(SELECT PROPERTY_EXTERNAL_ID FROM {table('OBJECTS_PRODUCTS')} "  # noqa: S608
            f"WHERE OBJECTID = {TEMPLATE_PRODUCT}) AS PROPERTY_ITEM_ID"
        )
        return [statement.replace(" SELECT ", f" SELECT {external_id}, ", 1)]
    return [insert(DEFAULT_EVENT_TABLE, **values, PROPERTY_ITEM_ID=item)]


# ------------------------------------------------------------------------------------ outcomes and checks


@dataclass
class Outcome:
    """What the two DAG runs left: Personalize's published CSVs, quarantine files and manifest, and Hook's
    file of the export date and manifest. Every CSV is read as text (empty cells are ``""``)."""

    published: dict[str, pd.DataFrame]
    quarantine: dict[str, pd.DataFrame]
    ledgers: dict[str, dict]
    identity_log: pd.DataFrame
    hook_rows: pd.DataFrame
    hook_ledgers: dict[str, dict]


Check = Callable[[Outcome], list[str]]


def written(dataset: str, match: dict[str, object], expected: dict[str, str] | None = None) -> Check:
    """Exactly one published row of ``dataset`` matches ``match``, with the ``expected`` values."""

    def check(outcome: Outcome) -> list[str]:
        rows = _matching(outcome.published[dataset], match)
        if len(rows) != 1:
            return [f"{dataset}.csv: {len(rows)} rows match {match}, expected 1"]
        row = rows.iloc[0]
        return [
            f"{dataset}.csv {match}: {column} is {row[column]!r}, expected {value!r}"
            for column, value in (expected or {}).items()
            if row[column] != value
        ]

    return check


def not_written(dataset: str, match: dict[str, object]) -> Check:
    def check(outcome: Outcome) -> list[str]:
        rows = _matching(outcome.published[dataset], match)
        return [f"{dataset}.csv: {len(rows)} rows match {match}, expected none"] if len(rows) else []

    return check


def quarantined(dataset: str, match: dict[str, object], reason: str) -> Check:
    """Exactly one quarantined row of ``dataset`` matches ``match``, its reason containing ``reason``."""

    def check(outcome: Outcome) -> list[str]:
        frame = outcome.quarantine.get(dataset, pd.DataFrame(columns=list(match)))
        rows = _matching(frame, match)
        if len(rows) != 1:
            return [f"quarantine/{dataset}.csv: {len(rows)} rows match {match}, expected 1"]
        found = rows.iloc[0]["QUARANTINE_REASON"]
        return (
            []
            if reason in found
            else [f"quarantine/{dataset}.csv {match}: reason {found!r} lacks {reason!r}"]
        )

    return check


def not_quarantined(dataset: str, match: dict[str, object]) -> Check:
    def check(outcome: Outcome) -> list[str]:
        frame = outcome.quarantine.get(dataset)
        rows = _matching(frame, match) if frame is not None else []
        return (
            [f"quarantine/{dataset}.csv: {len(rows)} rows match {match}, expected none"] if len(rows) else []
        )

    return check


@dataclass(frozen=True)
class Counted:
    """The manifest ledger of ``dataset`` counts at least ``rows`` rows ``outcome_kind`` (skipped,
    quarantined, corrected) for ``reason`` (Hook's manifest when ``hook``): the kind's own records' rows,
    which :func:`catalogue_counts` adds up over the catalogue."""

    dataset: str
    outcome_kind: str
    reason: str
    rows: int = 1
    hook: bool = False

    @property
    def key(self) -> tuple[str, str, str, str]:
        return ("Hook" if self.hook else "Personalize", self.dataset, self.outcome_kind, self.reason)

    def __call__(self, outcome: Outcome) -> list[str]:
        ledgers = outcome.hook_ledgers if self.hook else outcome.ledgers
        found = ledgers[self.dataset][self.outcome_kind].get(self.reason, 0)
        return [] if found >= self.rows else [f"ledger {self.key} = {found}, expected >= {self.rows}"]


def counted(dataset: str, outcome_kind: str, reason: str, rows: int = 1, *, hook: bool = False) -> Counted:
    """A :class:`Counted` check (Hook's manifest when ``hook``)."""
    return Counted(dataset, outcome_kind, reason, rows, hook)


def hook_row(account_id: int, expected: dict[str, str] | None = None) -> Check:
    """The Hook file of the export date has one row for ``account_id`` with the ``expected`` values."""
    return _hook(written, account_id, expected)


def no_hook_row(account_id: int) -> Check:
    return _hook(not_written, account_id)


def identity_logged(record: str, log: str, reason: str = "", column: str = "record") -> Check:
    """The identity log has ``record`` (in ``column``; e.g. ``event:<id>``) as ``log`` (e.g.
    ``incoming.event.error``), its reason containing ``reason``."""

    def check(outcome: Outcome) -> list[str]:
        rows = outcome.identity_log[outcome.identity_log[column] == record]
        logs = sorted(set(rows["log"]))
        if logs != [log]:
            return [f"identity_log.csv: {record} logged as {logs}, expected [{log!r}]"]
        found = sorted(set(rows["reason"]))
        return [] if all(reason in each for each in found) else [f"identity_log.csv: {record}: {found}"]

    return check


def _hook(make: Callable, account_id: int, *args) -> Check:
    inner = make("hook", {"account_id": str(account_id)}, *args)

    def check(outcome: Outcome) -> list[str]:
        return inner(Outcome({"hook": outcome.hook_rows}, {}, {}, pd.DataFrame(), pd.DataFrame(), {}))

    return check


def _matching(frame: pd.DataFrame, match: dict[str, object]) -> pd.DataFrame:
    selected = pd.Series(True, index=frame.index)
    for column, value in match.items():
        selected &= frame[column] == str(value)
    return frame[selected]


@dataclass(frozen=True)
class BadKind:
    """One kind of bad record: the table it is in, how it is bad, the treatment the pipeline must give it
    (``corrected: <rule>``, ``quarantined: <reason>`` or ``skipped: <reason>``), the SQL that adds it to a
    share and the checks that find its outcome."""

    name: str
    table: str
    how: str
    treatment: str
    statements: list[str]
    checks: list[Check] = field(default_factory=list)


P, C, CO, D, L, A, E = (
    "OBJECTS_PRODUCTS",
    "OBJECTS_CONTACTS",
    "OBJECTS_COMPANIES",
    "OBJECTS_DEALS",
    "OBJECTS_LINE_ITEMS",
    "ASSOCIATIONS",
    "EVENTS",
)


def _item(number: int) -> dict:
    return {"ITEM_ID": f"corpus-p-{number}"}


def _product_id(number: int) -> dict:
    return {"_PRODUCT_ID": corpus_id(P, number)}


def _user(number: int) -> dict:
    return {"USER_ID": f"corpus-c-{number}"}


def _at(number: int, event_type: str = "View") -> dict:
    return {"TIMESTAMP": event_epoch(number), "EVENT_TYPE": event_type}


def _event_source(number: int) -> dict:
    return {"_SOURCE_ID": f"event:corpus-e-{number}"}


def _hubspot_user(object_table: str, number: int) -> dict:
    return {"USER_ID": f"hubspot-{corpus_id(object_table, number)}"}


def _deal_read_without_line_item(number: int | None, log: str = "incoming.event.success") -> list[Check]:
    """The deal's row was read (its identity log line names no line item) and none of its interactions
    was quarantined (the skip keeps them out of validation)."""
    deal_id = "<missing>" if number is None else corpus_id(D, number)
    source = f"deal:{deal_id}/line_item:<missing>"
    interactions = [{"_SOURCE_ID": f"{source}/{event}"} for event in ("cart", "purchase")]
    return [identity_logged(source, log), *(not_quarantined("interactions", match) for match in interactions)]


def _won_sales_deal(number: int, company_number: int, **properties: object) -> list[str]:
    """A deal won in the sales pipeline (Hook counts it, Personalize does not read it) of a corpus company
    of its own, with no contact."""
    deal_statements = deal(
        number,
        pipeline="default",
        stage="closedwon",
        contact_id=None,
        company_id=corpus_id(CO, company_number),
        **properties,
    )
    return company(company_number) + deal_statements


AGE_LEFT_EMPTY = "AGE: not a whole number from 0 to 120, left empty"
WON_FOR_NOTHING = {"total_deals_won": "1", "total_revenue_won": "0.00"}


def _epoch(moment: str) -> str:
    return str(int(pd.Timestamp(moment).timestamp()))


CATALOGUE: tuple[BadKind, ...] = (
    # --- products → items ------------------------------------------------------------------------------
    BadKind(
        "product_external_id_null",
        P,
        "PROPERTY_EXTERNAL_ID is NULL (a product without an external id)",
        "quarantined: ITEM_ID: missing",
        product(1, EXTERNAL_ID=None),
        [quarantined("items", _product_id(1), "ITEM_ID: missing")],
    ),
    BadKind(
        "product_external_id_blank",
        P,
        "PROPERTY_EXTERNAL_ID is spaces and a tab",
        "quarantined: ITEM_ID: missing (trimmed to empty)",
        product(2, EXTERNAL_ID=" \t "),
        [quarantined("items", _product_id(2), "ITEM_ID: missing")],
    ),
    BadKind(
        "product_external_id_overlong",
        P,
        "PROPERTY_EXTERNAL_ID of 307 characters",
        "quarantined: ITEM_ID: longer than 256 characters",
        product(3, EXTERNAL_ID=OVERLONG_ID),
        [quarantined("items", _product_id(3), "ITEM_ID: longer than 256 characters")],
    ),
    BadKind(
        "product_category_overlong",
        P,
        "PROPERTY_CATEGORY_LEVEL_1 of 1,001 characters",
        "quarantined: CATEGORY_L1: longer than 1000 characters",
        product(4, CATEGORY_LEVEL_1=OVERLONG_CATEGORY),
        [quarantined("items", _product_id(4), "CATEGORY_L1: longer than 1000 characters")],
    ),
    BadKind(
        "product_category_l2_overlong",
        P,
        "PROPERTY_CATEGORY_LEVEL_2 of 1,001 characters (optional), and a View of the product",
        "corrected: CATEGORY_L2 left empty; the product and its interaction are written",
        product(23, CATEGORY_LEVEL_2=OVERLONG_CATEGORY) + event(21, PROPERTY_ITEM_ID="corpus-p-23"),
        [
            written("items", _item(23), {"CATEGORY_L2": ""}),
            written("interactions", {**_at(21), **_item(23)}),
            not_quarantined("items", _product_id(23)),
            counted("items", "corrected", "CATEGORY_L2: longer than 1000 characters, left empty"),
        ],
    ),
    BadKind(
        "product_gender_overlong",
        P,
        "PROPERTY_GENDER of 1,001 characters (optional)",
        "corrected: GENDER left empty",
        product(24, GENDER=OVERLONG_CATEGORY),
        [
            written("items", _item(24), {"GENDER": ""}),
            counted("items", "corrected", "GENDER: longer than 1000 characters, left empty"),
        ],
    ),
    BadKind(
        "product_description_overlong",
        P,
        "PROPERTY_DESCRIPTION of 20,001 characters (Personalize's textual limit is 20,000)",
        "corrected: PRODUCT_DESCRIPTION truncated to 20,000 characters, as Personalize truncates it",
        product(25, DESCRIPTION="d" * 20_001),
        [
            written("items", _item(25), {"PRODUCT_DESCRIPTION": "d" * 20_000}),
            counted("items", "corrected", "PRODUCT_DESCRIPTION: longer than 20000 characters, truncated"),
        ],
    ),
    BadKind(
        "product_price_currency",
        P,
        "PROPERTY_PRICE '$19.99' (not a number)",
        "quarantined: PRICE: missing (counted as corrected 'PRICE: not a number, rejected as missing')",
        product(5, PRICE="$19.99"),
        [
            quarantined("items", _product_id(5), "PRICE: missing"),
            counted("items", "corrected", "PRICE: not a number, rejected as missing"),
        ],
    ),
    BadKind(
        "product_price_decimal_comma",
        P,
        "PROPERTY_PRICE '12,50'",
        "quarantined: PRICE: missing",
        product(6, PRICE="12,50"),
        [
            quarantined("items", _product_id(6), "PRICE: missing"),
            counted("items", "corrected", "PRICE: not a number, rejected as missing"),
        ],
    ),
    BadKind(
        "product_price_negative",
        P,
        "PROPERTY_PRICE '-12.50'",
        "quarantined: PRICE: below 0",
        product(7, PRICE="-12.50"),
        [quarantined("items", _product_id(7), "PRICE: below 0")],
    ),
    BadKind(
        "product_price_infinite",
        P,
        "PROPERTY_PRICE 'inf'",
        "quarantined: PRICE: missing",
        product(8, PRICE="inf"),
        [
            quarantined("items", _product_id(8), "PRICE: missing"),
            counted("items", "corrected", "PRICE: not a number, rejected as missing"),
        ],
    ),
    BadKind(
        "product_createdate_epoch_seconds",
        P,
        "PROPERTY_CREATEDATE '1700000000'",
        "corrected: epoch seconds read as such",
        product(9, CREATEDATE="1700000000"),
        [written("items", _item(9), {"CREATION_TIMESTAMP": "1700000000"})],
    ),
    BadKind(
        "product_createdate_epoch_milliseconds",
        P,
        "PROPERTY_CREATEDATE '1700000000123'",
        "corrected: 13+ digits are epoch milliseconds",
        product(10, CREATEDATE="1700000000123"),
        [written("items", _item(10), {"CREATION_TIMESTAMP": "1700000000"})],
    ),
    BadKind(
        "product_createdate_iso",
        P,
        "PROPERTY_CREATEDATE '2023-11-14T22:13:20Z'",
        "corrected: ISO-8601 to epoch seconds",
        product(11, CREATEDATE="2023-11-14T22:13:20Z"),
        [written("items", _item(11), {"CREATION_TIMESTAMP": "1700000000"})],
    ),
    BadKind(
        "product_createdate_iso_offset",
        P,
        "PROPERTY_CREATEDATE '2023-11-15T00:13:20+02:00'",
        "corrected: ISO-8601 with an offset, converted to UTC",
        product(12, CREATEDATE="2023-11-15T00:13:20+02:00"),
        [written("items", _item(12), {"CREATION_TIMESTAMP": "1700000000"})],
    ),
    BadKind(
        "product_createdate_garbage",
        P,
        "PROPERTY_CREATEDATE '31/12/2023'",
        "corrected: CREATION_TIMESTAMP = the last update time",
        product(13, CREATEDATE="31/12/2023", UPDATEDAT=datetime(2024, 1, 2)),
        [
            written("items", _item(13), {"CREATION_TIMESTAMP": _epoch("2024-01-02T00:00:00Z")}),
            counted("items", "corrected", "CREATION_TIMESTAMP: no create date, used the last update time"),
        ],
    ),
    BadKind(
        "product_createdate_future",
        P,
        "PROPERTY_CREATEDATE '2100-01-01T00:00:00Z'",
        "quarantined: CREATION_TIMESTAMP: out of range",
        product(14, CREATEDATE="2100-01-01T00:00:00Z"),
        [quarantined("items", _product_id(14), "CREATION_TIMESTAMP: out of range")],
    ),
    BadKind(
        "product_text_quotes_commas_pipes_newlines",
        P,
        "PROPERTY_DESCRIPTION with quotes, commas, '|' and CR LF",
        "corrected: control characters become spaces; quotes, commas and | kept (RFC 4180 quoting)",
        product(15, DESCRIPTION='Said "hi", a|b\r\nthen left'),
        [written("items", _item(15), {"PRODUCT_DESCRIPTION": 'Said "hi", a|b  then left'})],
    ),
    BadKind(
        "product_text_control_characters",
        P,
        "PROPERTY_DESCRIPTION with \\x01, \\x07, \\x7f and U+2028",
        "corrected: control characters become spaces, then trimmed",
        product(16, DESCRIPTION="\x01start\x07mid\x7fend\u2028"),
        [written("items", _item(16), {"PRODUCT_DESCRIPTION": "start mid end"})],
    ),
    BadKind(
        "product_text_replacement_character",
        P,
        "PROPERTY_DESCRIPTION with U+FFFD (what invalid UTF-8 becomes once decoded; raw invalid bytes "
        "cannot be stored in a VARCHAR)",
        "corrected: none needed, kept as valid UTF-8 text",
        product(17, DESCRIPTION="caf\ufffd cr\u00e8me \u2615"),
        [written("items", _item(17), {"PRODUCT_DESCRIPTION": "caf\ufffd cr\u00e8me \u2615"})],
    ),
    BadKind(
        "product_promoted_unrecognised",
        P,
        "PROPERTY_PROMOTED 'maybe'",
        "corrected: unrecognised value read as false",
        product(18, PROMOTED="maybe"),
        [
            written("items", _item(18), {"PROMOTED": "false"}),
            counted("items", "corrected", "PROMOTED: unrecognised value read as false"),
        ],
    ),
    BadKind(
        "product_promoted_word",
        P,
        "PROPERTY_PROMOTED ' Yes '",
        "corrected: yes/no words to true/false",
        product(19, PROMOTED=" Yes "),
        [written("items", _item(19), {"PROMOTED": "true"})],
    ),
    BadKind(
        "product_duplicate_external_id",
        P,
        "two products with the same PROPERTY_EXTERNAL_ID",
        "skipped: duplicate of another row with the same ITEM_ID (one is published)",
        product(20, EXTERNAL_ID="corpus-p-dup") + product(21, EXTERNAL_ID="corpus-p-dup"),
        [
            written("items", {"ITEM_ID": "corpus-p-dup"}),
            counted("items", "skipped", "duplicate of another row with the same ITEM_ID"),
        ],
    ),
    BadKind(
        "product_objectid_null",
        P,
        "OBJECTID is NULL",
        "corrected: none needed, ITEM_ID is the external id",
        product(22, OBJECTID=None),
        [written("items", _item(22))],
    ),
    # --- contacts → users ------------------------------------------------------------------------------
    BadKind(
        "contact_objectid_null",
        C,
        "OBJECTID is NULL",
        "skipped: no record id",
        contact(1, OBJECTID=None),
        [
            not_written("users", _user(1)),
            identity_logged("corpus-c-1", "incoming.user.skip", "no record id", column="user_external_id"),
            counted("users", "skipped", "no record id"),
        ],
    ),
    BadKind(
        "contact_duplicate_row",
        C,
        "a contact row repeated with the same OBJECTID",
        "skipped: duplicate row of the same record id",
        contact(2) + contact(2),
        [written("users", _user(2)), counted("users", "skipped", "duplicate row of the same record id")],
    ),
    BadKind(
        "contact_external_id_overlong",
        C,
        "PROPERTY_EXTERNAL_ID of 307 characters",
        "corrected: not an identifier (over identity.max_external_id_length), USER_ID = hubspot-<record id>",
        contact(3, EXTERNAL_ID=OVERLONG_ID),
        [written("users", _hubspot_user(C, 3))],
    ),
    BadKind(
        "contact_external_id_placeholder",
        C,
        "PROPERTY_EXTERNAL_ID 'null'",
        "corrected: blocked placeholder ignored, USER_ID = hubspot-<record id>",
        contact(4, EXTERNAL_ID="null"),
        [written("users", _hubspot_user(C, 4))],
    ),
    BadKind(
        "contact_external_id_padded",
        C,
        "PROPERTY_EXTERNAL_ID with spaces and a newline around it",
        "corrected: trimmed",
        contact(5, EXTERNAL_ID="  corpus-c-5 \n"),
        [written("users", _user(5))],
    ),
    BadKind(
        "contact_email_spaces_capitals",
        C,
        "two contacts without external id, e-mails ' Corpus.Twin@Corpus-Shop.COM ' and its lower case",
        "corrected: e-mail trimmed and lower-cased, so they are one user (the older one's); the other is "
        "skipped: merged into another contact of the same user",
        contact(6, EXTERNAL_ID=None, EMAIL=" Corpus.Twin@Corpus-Shop.COM ")
        + contact(7, EXTERNAL_ID=None, EMAIL="corpus.twin@corpus-shop.com"),
        [
            written("users", _hubspot_user(C, 6)),
            not_written("users", _hubspot_user(C, 7)),
            identity_logged(
                f"contact:{corpus_id(C, 7)}", "incoming.user.success", f"into contact {corpus_id(C, 6)}"
            ),
            counted("users", "skipped", "merged into another contact of the same user"),
        ],
    ),
    BadKind(
        "contact_email_malformed",
        C,
        "PROPERTY_EMAIL 'a@@b..com', no external id",
        "corrected: not an identifier, the contact is a user of its own (hubspot-<record id>)",
        contact(8, EXTERNAL_ID=None, EMAIL="a@@b..com"),
        [written("users", _hubspot_user(C, 8))],
    ),
    BadKind(
        "contact_age_non_numeric",
        C,
        "PROPERTY_AGE 'ten'",
        "corrected: AGE left empty (the identity stage's cast to a number already nulls it, and logs it)",
        contact(9, AGE="ten"),
        [
            written("users", _user(9), {"AGE": ""}),
            identity_logged(
                f"contact:{corpus_id(C, 9)}", "incoming.user.success", "hubspot/age not a number: set to null"
            ),
        ],
    ),
    BadKind(
        "contact_age_negative",
        C,
        "PROPERTY_AGE '-1'",
        "corrected: AGE left empty",
        contact(10, AGE="-1"),
        [written("users", _user(10), {"AGE": ""}), counted("users", "corrected", AGE_LEFT_EMPTY)],
    ),
    BadKind(
        "contact_age_fraction",
        C,
        "PROPERTY_AGE '33.5'",
        "corrected: AGE left empty",
        contact(11, AGE="33.5"),
        [written("users", _user(11), {"AGE": ""}), counted("users", "corrected", AGE_LEFT_EMPTY)],
    ),
    BadKind(
        "contact_age_over_120",
        C,
        "PROPERTY_AGE '130'",
        "corrected: AGE left empty",
        contact(12, AGE="130"),
        [written("users", _user(12), {"AGE": ""}), counted("users", "corrected", AGE_LEFT_EMPTY)],
    ),
    BadKind(
        "contact_age_padded",
        C,
        "PROPERTY_AGE ' 42 '",
        "corrected: trimmed, AGE 42",
        contact(13, AGE=" 42 "),
        [written("users", _user(13), {"AGE": "42"})],
    ),
    BadKind(
        "contact_gender_overlong",
        C,
        "PROPERTY_GENDER of 1,001 characters",
        "corrected: GENDER left empty",
        contact(14, GENDER=OVERLONG_CATEGORY),
        [
            written("users", _user(14), {"GENDER": ""}),
            not_quarantined("users", {"_CONTACT_ID": corpus_id(C, 14)}),
            counted("users", "corrected", "GENDER: longer than 1000 characters, left empty"),
        ],
    ),
    BadKind(
        "contact_gender_control_characters",
        C,
        "PROPERTY_GENDER 'F\\r\\n'",
        "corrected: control characters become spaces, then trimmed",
        contact(15, GENDER="F\r\n"),
        [written("users", _user(15), {"GENDER": "F"})],
    ),
    # --- companies → Hook accounts ---------------------------------------------------------------------
    BadKind(
        "company_createdate_garbage",
        CO,
        "PROPERTY_CREATEDATE 'not a date'",
        "corrected: an account with no readable create date has a row on every date",
        company(1, CREATEDATE="not a date"),
        [hook_row(corpus_id(CO, 1))],
    ),
    BadKind(
        "company_createdate_epoch_milliseconds",
        CO,
        "PROPERTY_CREATEDATE '1700000000000'",
        "corrected: epoch milliseconds read as such (created 2023-11-14, so a row; a twin created "
        "2100-01-01 in milliseconds has none, where an unreadable date would have a row)",
        company(2, CREATEDATE="1700000000000") + company(10, CREATEDATE="4102444800000"),
        [hook_row(corpus_id(CO, 2)), no_hook_row(corpus_id(CO, 10))],
    ),
    BadKind(
        "company_createdate_future",
        CO,
        "PROPERTY_CREATEDATE '2100-01-01'",
        "skipped: not an active account before its create date (no row)",
        company(3, CREATEDATE="2100-01-01"),
        [no_hook_row(corpus_id(CO, 3))],
    ),
    BadKind(
        "company_domain_unnormalised",
        CO,
        "PROPERTY_DOMAIN 'https://www.Corpus-Domain.COM/', a contact buyer@corpus-domain.com without "
        "an association",
        "corrected: domain normalised, so the contact belongs to the company",
        company(4, DOMAIN="https://www.Corpus-Domain.COM/")
        + contact(16, EMAIL="buyer@corpus-domain.com", CREATEDATE="2024-06-30T09:00:00Z"),
        [hook_row(corpus_id(CO, 4), {"total_contacts_created": "1"})],
    ),
    BadKind(
        "company_domain_free_email",
        CO,
        "PROPERTY_DOMAIN 'gmail.com', a contact at gmail.com",
        "skipped: a free e-mail domain never claims contacts (the contact has no account)",
        company(5, DOMAIN="gmail.com")
        + contact(17, EMAIL="corpus.free@gmail.com", CREATEDATE="2024-06-30T09:00:00Z"),
        [
            hook_row(corpus_id(CO, 5), {"total_contacts_created": "0"}),
            counted("contacts", "skipped", "no account resolved for the contact", hook=True),
        ],
    ),
    BadKind(
        "company_duplicate_row",
        CO,
        "a company row repeated with the same OBJECTID",
        "corrected: one account, one row",
        company(6) + company(6),
        [hook_row(corpus_id(CO, 6))],
    ),
    # --- deals and line items → interactions (and Hook deal metrics) -----------------------------------
    BadKind(
        "deal_without_line_items",
        D,
        "a won ecommerce deal with no line item",
        "skipped: deal has no line items (its AddToCart and Purchase)",
        deal(1),
        [*_deal_read_without_line_item(1), counted("interactions", "skipped", "deal has no line items", 2)],
    ),
    BadKind(
        "deal_closedate_garbage",
        D,
        "a won deal with PROPERTY_CLOSEDATE 'yesterday'",
        "quarantined: TIMESTAMP: missing (its Purchase); Hook corrected: not counted as open or won",
        deal(2, line_item={}, CLOSEDATE="yesterday"),
        [
            quarantined("interactions", {"_SOURCE_ID": deal_source(2, "purchase")}, "TIMESTAMP: missing"),
            counted(
                "deals",
                "corrected",
                "closed without a readable close date: not counted as open or won",
                hook=True,
            ),
        ],
    ),
    BadKind(
        "deal_closedate_future",
        D,
        "a won deal closing 2100-01-01",
        "skipped: deal date after the export date (its Purchase)",
        deal(3, line_item={}, CREATEDATE="2024-06-03T00:00:00Z", CLOSEDATE="2100-01-01T00:00:00Z"),
        [
            identity_logged(f"deal:{corpus_id(D, 3)}/line_item:{corpus_id(L, 3)}", "incoming.event.success"),
            counted("interactions", "skipped", "deal date after the export date"),
            not_quarantined("interactions", {"_SOURCE_ID": deal_source(3, "purchase")}),
        ],
    ),
    BadKind(
        "deal_createdate_epoch_seconds",
        D,
        "an in-cart deal with PROPERTY_CREATEDATE '1717000000'",
        "corrected: epoch seconds",
        deal(4, stage=CART_STAGE, line_item={}, CREATEDATE="1717000000"),
        [written("interactions", {"TIMESTAMP": 1717000000, "EVENT_TYPE": "AddToCart"})],
    ),
    BadKind(
        "deal_createdate_epoch_milliseconds",
        D,
        "PROPERTY_CREATEDATE '1717000001000'",
        "corrected: epoch milliseconds",
        deal(5, stage=CART_STAGE, line_item={}, CREATEDATE="1717000001000"),
        [written("interactions", {"TIMESTAMP": 1717000001, "EVENT_TYPE": "AddToCart"})],
    ),
    BadKind(
        "deal_createdate_iso",
        D,
        "PROPERTY_CREATEDATE '2024-05-29T16:26:42Z'",
        "corrected: ISO-8601",
        deal(6, stage=CART_STAGE, line_item={}, CREATEDATE="2024-05-29T16:26:42Z"),
        [written("interactions", {"TIMESTAMP": 1717000002, "EVENT_TYPE": "AddToCart"})],
    ),
    BadKind(
        "deal_createdate_garbage",
        D,
        "an in-cart deal with PROPERTY_CREATEDATE '0000-00-00 00:00:00'",
        "quarantined: TIMESTAMP: missing; Hook corrected: create date unreadable, never counted as open",
        deal(7, stage=CART_STAGE, line_item={}, CREATEDATE="0000-00-00 00:00:00"),
        [
            quarantined("interactions", {"_SOURCE_ID": deal_source(7, "cart")}, "TIMESTAMP: missing"),
            counted("deals", "corrected", "create date unreadable: never counted as open", hook=True),
        ],
    ),
    BadKind(
        "deal_amount_non_numeric",
        D,
        "PROPERTY_AMOUNT 'N/A'",
        "corrected (Hook): amount counted as 0 (the deal's own company: one deal won, 0.00 won)",
        _won_sales_deal(8, 7, AMOUNT="N/A"),
        [hook_row(corpus_id(CO, 7), WON_FOR_NOTHING)],
    ),
    BadKind(
        "deal_amount_negative",
        D,
        "PROPERTY_AMOUNT '-999'",
        "corrected (Hook): amount counted as 0 (the deal's own company: one deal won, 0.00 won)",
        _won_sales_deal(9, 8, AMOUNT="-999"),
        [hook_row(corpus_id(CO, 8), WON_FOR_NOTHING)],
    ),
    BadKind(
        "deal_objectid_null",
        D,
        "a won ecommerce deal whose OBJECTID is NULL",
        "skipped: deal has no line items (Personalize); no company and no contact with an account (Hook)",
        deal(10, OBJECTID=None, contact_id=None),
        [
            *_deal_read_without_line_item(None, "incoming.event.skip"),
            counted("interactions", "skipped", "deal has no line items", 2),
            counted("deals", "skipped", "no company and no contact with an account", hook=True),
        ],
    ),
    BadKind(
        "deal_orphan_contact",
        A,
        "a won deal associated with a contact id that does not exist",
        "quarantined: USER_ID: missing; Hook skipped: no company and no contact with an account",
        deal(11, line_item={}, contact_id=UNKNOWN_CONTACT),
        [
            quarantined("interactions", {"_SOURCE_ID": deal_source(11, "purchase")}, "USER_ID: missing"),
            counted("deals", "skipped", "no company and no contact with an account", 2, hook=True),
        ],
    ),
    BadKind(
        "deal_orphan_company",
        A,
        "a sales deal associated only with a company id that does not exist",
        "skipped (Hook): company not in OBJECTS_COMPANIES",
        deal(12, pipeline="default", stage="closedwon", contact_id=None, company_id=UNKNOWN_COMPANY),
        [counted("deals", "skipped", "company not in OBJECTS_COMPANIES", hook=True)],
    ),
    BadKind(
        "line_item_price_non_numeric",
        L,
        "PROPERTY_PRICE 'abc' on an in-cart deal's line item",
        "corrected: EVENT_VALUE left empty",
        deal(13, stage=CART_STAGE, line_item={"PRICE": "abc"}, CREATEDATE="1717000013"),
        [
            written(
                "interactions", {"TIMESTAMP": 1717000013, "EVENT_TYPE": "AddToCart"}, {"EVENT_VALUE": ""}
            ),
            counted("interactions", "corrected", "EVENT_VALUE: not a number, left empty"),
        ],
    ),
    BadKind(
        "line_item_price_negative",
        L,
        "PROPERTY_PRICE '-5' on an in-cart deal's line item",
        "corrected: EVENT_VALUE left empty",
        deal(14, stage=CART_STAGE, line_item={"PRICE": "-5"}, CREATEDATE="1717000014"),
        [
            written(
                "interactions", {"TIMESTAMP": 1717000014, "EVENT_TYPE": "AddToCart"}, {"EVENT_VALUE": ""}
            ),
            not_quarantined("interactions", {"_SOURCE_ID": deal_source(14, "cart")}),
            counted("interactions", "corrected", "EVENT_VALUE: below 0, left empty"),
        ],
    ),
    BadKind(
        "line_item_product_unknown",
        L,
        "PROPERTY_HS_PRODUCT_ID '999999999999' (no such product)",
        "quarantined: ITEM_ID: missing",
        deal(15, stage=CART_STAGE, line_item={"HS_PRODUCT_ID": "999999999999"}),
        [quarantined("interactions", {"_SOURCE_ID": deal_source(15, "cart")}, "ITEM_ID: missing")],
    ),
    BadKind(
        "line_item_product_without_external_id",
        L,
        "PROPERTY_HS_PRODUCT_ID of product_external_id_null's product",
        "quarantined: ITEM_ID: missing",
        deal(16, stage=CART_STAGE, line_item={"HS_PRODUCT_ID": str(corpus_id(P, 1))}),
        [quarantined("interactions", {"_SOURCE_ID": deal_source(16, "cart")}, "ITEM_ID: missing")],
    ),
    BadKind(
        "line_item_orphan_association",
        A,
        "a line item → deal association to a line item that does not exist",
        "skipped: deal has no line items",
        deal(17, stage=CART_STAGE, line_item_link=UNKNOWN_LINE_ITEM),
        [*_deal_read_without_line_item(17), counted("interactions", "skipped", "deal has no line items")],
    ),
    BadKind(
        "line_item_association_null",
        A,
        "a line item → deal association with a NULL line item id",
        "skipped: deal has no line items",
        deal(18, stage=CART_STAGE, line_item_link=None),
        [*_deal_read_without_line_item(18), counted("interactions", "skipped", "deal has no line items")],
    ),
    BadKind(
        "contact_company_orphan",
        A,
        "a contact associated with a company id that does not exist, its e-mail at another company's domain",
        "corrected (Hook): the link to a missing company is ignored, so the contact belongs to its e-mail "
        "domain's company (created on the export date: one contact created there)",
        contact(18, EMAIL="buyer@corpus-orphan-link.com", CREATEDATE="2024-06-30T09:00:00Z")
        + company(9, DOMAIN="corpus-orphan-link.com")
        + [
            insert(
                "ASSOCIATIONS_CONTACTS_TO_COMPANIES",
                CONTACT_OBJECTID=corpus_id(C, 18),
                COMPANY_OBJECTID=UNKNOWN_COMPANY,
            )
        ],
        [written("users", _user(18)), hook_row(corpus_id(CO, 9), {"total_contacts_created": "1"})],
    ),
    # --- custom events → interactions (and Hook event metrics) -----------------------------------------
    BadKind(
        "event_id_null",
        E,
        "ID is NULL",
        "corrected: none needed, written (the id is not published)",
        event(1, event_id=None),
        [written("interactions", _at(1))],
    ),
    BadKind(
        "event_contact_null",
        E,
        "OBJECTID (the contact) is NULL",
        "quarantined: USER_ID: missing; Hook skipped: contact has no account",
        event(2, OBJECTID=None),
        [
            quarantined("interactions", _event_source(2), "USER_ID: missing"),
            counted("events", "skipped", "contact has no account", hook=True),
        ],
    ),
    BadKind(
        "event_contact_unknown",
        E,
        "OBJECTID of a contact that does not exist",
        "quarantined: USER_ID: missing; identity: incoming.event.error",
        event(3, OBJECTID=UNKNOWN_CONTACT),
        [
            quarantined("interactions", _event_source(3), "USER_ID: missing"),
            identity_logged("event:corpus-e-3", "incoming.event.error"),
        ],
    ),
    BadKind(
        "event_item_null",
        E,
        "PROPERTY_ITEM_ID NULL on a View",
        "quarantined: ITEM_ID: missing",
        event(4, PROPERTY_ITEM_ID=None),
        [quarantined("interactions", _event_source(4), "ITEM_ID: missing")],
    ),
    BadKind(
        "event_item_blank",
        E,
        "PROPERTY_ITEM_ID '  '",
        "quarantined: ITEM_ID: missing",
        event(5, PROPERTY_ITEM_ID="  "),
        [quarantined("interactions", _event_source(5), "ITEM_ID: missing")],
    ),
    BadKind(
        "event_item_unknown",
        E,
        "PROPERTY_ITEM_ID 'SKU-UNKNOWN' (not a published item)",
        "quarantined: ITEM_ID: not an allowed value",
        event(6, PROPERTY_ITEM_ID="SKU-UNKNOWN"),
        [quarantined("interactions", _event_source(6), "ITEM_ID: not an allowed value")],
    ),
    BadKind(
        "event_item_overlong",
        E,
        "PROPERTY_ITEM_ID of 307 characters",
        "quarantined: ITEM_ID: longer than 256 characters",
        event(7, PROPERTY_ITEM_ID=OVERLONG_ID),
        [quarantined("interactions", _event_source(7), "ITEM_ID: longer than 256 characters")],
    ),
    BadKind(
        "event_type_unmapped",
        E,
        "PROPERTY_EVENT_TYPE 'Wishlist'",
        "quarantined: EVENT_TYPE: not an allowed value",
        event(8, PROPERTY_EVENT_TYPE="Wishlist"),
        [quarantined("interactions", _event_source(8), "EVENT_TYPE: not an allowed value")],
    ),
    BadKind(
        "event_type_wrong_case",
        E,
        "PROPERTY_EVENT_TYPE 'view'",
        "quarantined: EVENT_TYPE: not an allowed value (types are case-sensitive)",
        event(9, PROPERTY_EVENT_TYPE="view"),
        [quarantined("interactions", _event_source(9), "EVENT_TYPE: not an allowed value")],
    ),
    BadKind(
        "event_type_null",
        E,
        "PROPERTY_EVENT_TYPE NULL",
        "quarantined: EVENT_TYPE: missing",
        event(10, PROPERTY_EVENT_TYPE=None),
        [quarantined("interactions", _event_source(10), "EVENT_TYPE: missing")],
    ),
    BadKind(
        "event_type_padded",
        E,
        "PROPERTY_EVENT_TYPE ' View\\n'",
        "corrected: trimmed, then mapped",
        event(11, PROPERTY_EVENT_TYPE=" View\n"),
        [written("interactions", _at(11))],
    ),
    BadKind(
        "event_cart_level_without_item",
        E,
        "a ViewCart with PROPERTY_ITEM_ID NULL",
        "skipped: cart-level event without an item (event_types_without_items)",
        event(12, PROPERTY_EVENT_TYPE="ViewCart", PROPERTY_ITEM_ID=None),
        [
            identity_logged("event:corpus-e-12", "incoming.event.success"),
            not_quarantined("interactions", _event_source(12)),
            counted(
                "interactions", "skipped", "cart-level event without an item (event_types_without_items)"
            ),
        ],
    ),
    BadKind(
        "event_duplicate",
        E,
        "an event row repeated, ID included",
        "skipped: duplicate event id",
        event(13) + event(13),
        [written("interactions", _at(13)), counted("interactions", "skipped", "duplicate event id")],
    ),
    BadKind(
        "event_duplicate_key",
        E,
        "two events with different IDs, same time, contact, item and type",
        "skipped: duplicate of another row with the same TIMESTAMP, USER_ID, ITEM_ID, EVENT_TYPE",
        event(14) + event(14, event_id="corpus-e-14-copy"),
        [
            written("interactions", _at(14)),
            counted(
                "interactions",
                "skipped",
                "duplicate of another row with the same TIMESTAMP, USER_ID, ITEM_ID, EVENT_TYPE",
            ),
        ],
    ),
    BadKind(
        "event_price_decimal_comma",
        E,
        "PROPERTY_ITEM_PRICE '12,50'",
        "corrected: EVENT_VALUE left empty",
        event(15, PROPERTY_ITEM_PRICE="12,50"),
        [
            written("interactions", _at(15), {"EVENT_VALUE": ""}),
            counted("interactions", "corrected", "EVENT_VALUE: not a number, left empty"),
        ],
    ),
    BadKind(
        "event_price_negative",
        E,
        "PROPERTY_ITEM_PRICE '-1'",
        "corrected: EVENT_VALUE left empty",
        event(16, PROPERTY_ITEM_PRICE="-1"),
        [
            written("interactions", _at(16), {"EVENT_VALUE": ""}),
            not_quarantined("interactions", _event_source(16)),
            counted("interactions", "corrected", "EVENT_VALUE: below 0, left empty"),
        ],
    ),
    BadKind(
        "event_price_padded",
        E,
        "PROPERTY_ITEM_PRICE ' 19.99 '",
        "corrected: trimmed, 19.99",
        event(17, PROPERTY_ITEM_PRICE=" 19.99 "),
        [written("interactions", _at(17), {"EVENT_VALUE": "19.99"})],
    ),
    BadKind(
        "event_occurred_1970",
        E,
        "OCCURREDAT 1970-01-01 (before earliest_timestamp)",
        "quarantined: TIMESTAMP: out of range",
        event(18, OCCURREDAT=datetime(1970, 1, 1)),
        [quarantined("interactions", _event_source(18), "TIMESTAMP: out of range")],
    ),
    BadKind(
        "event_occurred_null",
        E,
        "OCCURREDAT is NULL",
        "quarantined: TIMESTAMP: missing",
        event(20, OCCURREDAT=None),
        [quarantined("interactions", _event_source(20), "TIMESTAMP: missing")],
    ),
    BadKind(
        "event_occurred_after_export_date",
        E,
        "OCCURREDAT 2100-01-01 (after the export date)",
        "skipped: not read by this run (events up to the end of the export date; a later run exports it)",
        event(19, OCCURREDAT=datetime(2100, 1, 1)),
        [
            not_quarantined("interactions", _event_source(19)),
            not_written("interactions", {"TIMESTAMP": _epoch("2100-01-01T00:00:00Z")}),
        ],
    ),
)


def catalogue_counts() -> Counter:
    """The rows the corpus's records add to each ledger reason, as the kinds' :class:`Counted` checks
    declare them (key: :attr:`Counted.key`)."""
    counts: Counter = Counter()
    for kind in CATALOGUE:
        for check in kind.checks:
            if isinstance(check, Counted):
                counts[check.key] += check.rows
    return counts


def build_corpus_share(db_path: str | os.PathLike, *, dirty_share: float = 0.0, **size: int) -> None:
    """Generate an all-text share in ``db_path`` (every property column VARCHAR, so that it can hold every
    kind; :data:`SHARE_SIZE` unless ``size`` says otherwise; clean unless ``dirty_share``: then the
    generator's own dirty values too) and add every kind's bad records to it."""
    generate_share(
        db_path, **{**SHARE_SIZE, **size}, end_date=EXPORT_DATE, dirty_share=dirty_share, all_text=True
    )
    with duckdb.connect(str(database_file(db_path))) as connection:
        for kind in CATALOGUE:
            for statement in kind.statements:
                connection.execute(statement)
