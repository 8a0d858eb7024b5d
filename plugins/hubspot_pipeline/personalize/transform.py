"""Personalize datasets from the share's rows: candidate interactions, items and users.

Candidates carry the dataset's columns, typed, plus context columns (names starting with ``_``) that
say where each row came from; those go to the quarantine file when a row is rejected and never reach a
published CSV. Rows dropped on purpose are recorded in the dataset's :class:`DatasetLedger` with a reason,
and so are values corrected (an invalid optional value is emptied, not the row rejected).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.config import PersonalizeConfig
from hubspot_pipeline.formatting import clean_identifier, clean_text, to_boolean, to_epoch_seconds, to_number
from hubspot_pipeline.identity.users import UserResolution
from hubspot_pipeline.personalize.datasets import INTERACTIONS, ITEMS, USERS, Dataset
from hubspot_pipeline.personalize.rules import void_invalid_values
from hubspot_pipeline.quality.ledger import DatasetLedger

MAX_AGE = 120
NOT_EXPORTED = "event type mapped to null (not exported)"
CART_LEVEL_WITHOUT_ITEM = "cart-level event without an item (event_types_without_items)"
VALUE_NOT_A_NUMBER = "EVENT_VALUE: not a number, left empty"
REPEATED_EVENT_ID = "duplicate event id"


@dataclass(frozen=True)
class ExportWindow:
    """Interactions exported by a run: from ``start`` (None: all history) up to, excluding, ``end``."""

    start: datetime | None
    end: datetime
    earliest: datetime

    @classmethod
    def for_date(cls, export_date: date, config: PersonalizeConfig) -> ExportWindow:
        """The window of the export for ``export_date``: everything up to the end of that day (UTC)."""
        end = datetime.combine(export_date + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        start = end - timedelta(days=config.lookback_days) if config.lookback_days else None
        earliest = datetime.combine(config.earliest_timestamp, datetime.min.time(), tzinfo=UTC)
        return cls(start=start, end=end, earliest=max(earliest, start) if start else earliest)

    def epoch_bounds(self) -> tuple[int, int]:
        """Inclusive epoch-second bounds of a valid interaction timestamp."""
        return int(self.earliest.timestamp()), int(self.end.timestamp()) - 1

    def query_parameters(self) -> dict:
        """Bind parameters of the event queries for the whole window (events without a time included)."""
        naive = {"window_start": self.start, "window_end": self.end}
        bounds = {key: value.replace(tzinfo=None) if value else None for key, value in naive.items()}
        return {**bounds, "undated": True}


def _candidates(
    dataset: Dataset, columns: dict[str, pd.Series], context: dict[str, pd.Series], ledger: DatasetLedger
) -> pd.DataFrame:
    """The candidate rows: ``context`` columns (prefixed ``_``), then the dataset's ``columns`` in order,
    with invalid optional values emptied (:func:`~hubspot_pipeline.personalize.rules.void_invalid_values`)."""
    ordered = {name: columns[name] for name in dataset.column_names}
    frame = pd.DataFrame({**{f"_{name}": values for name, values in context.items()}, **ordered})
    return void_invalid_values(frame, dataset, ledger)


def _categorical(values: pd.Series) -> pd.Series:
    return clean_text(values)


def build_items(products: pd.DataFrame, ledger: DatasetLedger) -> pd.DataFrame:
    """Candidate items: one per catalogue product, with the product's external id as ``ITEM_ID``."""
    ledger.read += len(products)
    price = to_number(products["PRICE"])
    ledger.correct(
        "PRICE: not a number, rejected as missing", int((price.isna() & products["PRICE"].notna()).sum())
    )
    promoted, unrecognised = to_boolean(products["PROMOTED"])
    ledger.correct("PROMOTED: unrecognised value read as false", int(unrecognised.sum()))
    created = to_epoch_seconds(products["CREATEDATE"])
    updated = pd.to_numeric(products["UPDATED_EPOCH"], errors="coerce").astype("Int64")
    ledger.correct("CREATION_TIMESTAMP: no create date, used the last update time", int(created.isna().sum()))
    return _candidates(
        ITEMS,
        {
            "ITEM_ID": clean_identifier(products["EXTERNAL_ID"]),
            "PRICE": price,
            "CATEGORY_L1": _categorical(products["CATEGORY_L1"]),
            "CATEGORY_L2": _categorical(products["CATEGORY_L2"]),
            "PRODUCT_DESCRIPTION": clean_text(products["DESCRIPTION"]),
            "GENDER": _categorical(products["GENDER"]),
            "PROMOTED": promoted,
            "CREATION_TIMESTAMP": created.fillna(updated),
        },
        {"PRODUCT_ID": clean_identifier(products["PRODUCT_ID"]), "RAW_PRICE": products["PRICE"]},
        ledger,
    )


def build_users(contacts: pd.DataFrame, resolution: UserResolution, ledger: DatasetLedger) -> pd.DataFrame:
    """Candidate users: one per resolved user (:func:`~hubspot_pipeline.identity.users.resolve_users` on
    ``contacts``), with the values of the user's recipient contact, falling back to its other contacts where
    the recipient has none. ``contacts`` may hold raw text or the typed attributes of the same rows; merged
    contacts and rows without a record id are skipped with their reason."""
    ledger.read += len(contacts)
    for reason, count in resolution.dropped().items():
        ledger.skip(reason, count)
    users = resolution.merge_values(contacts, ["AGE", "GENDER"])
    age = to_number(users["AGE"])
    unusable_age = (
        (age.isna() & clean_text(users["AGE"]).notna()) | (age < 0) | (age > MAX_AGE) | (age % 1 != 0)
    )
    unusable_age = unusable_age.fillna(False).astype(bool)
    ledger.correct(f"AGE: not a whole number from 0 to {MAX_AGE}, left empty", int(unusable_age.sum()))
    return _candidates(
        USERS,
        {
            "USER_ID": users["USER_ID"],
            "AGE": age.mask(unusable_age).astype("Int64"),
            "GENDER": _categorical(users["GENDER"]),
        },
        {"CONTACT_ID": users["CONTACT_ID"]},
        ledger,
    )


def distinct_codes(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each value's position among the distinct values, and the distinct values (null last, once)."""
    codes, uniques = pd.factorize(values)
    distinct = pd.Series(uniques).reindex(range(len(uniques) + 1))
    return np.where(codes < 0, len(uniques), codes), distinct


def by_value(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform`` (value by value, like :func:`clean_text`) run once per distinct value and spread back
    to the rows: an event chunk names the same contacts, items and types many times."""
    codes, distinct = distinct_codes(values)
    return transform(distinct).take(codes).set_axis(values.index)


def _event_values(raw: pd.Series, ledger: DatasetLedger) -> pd.Series:
    values = by_value(raw, to_number)
    not_a_number = values.isna() & by_value(raw, clean_text).notna()
    ledger.correct(VALUE_NOT_A_NUMBER, int(not_a_number.sum()))
    return values


def custom_event_interactions(
    events: pd.DataFrame, user_ids: pd.Series, config: PersonalizeConfig, ledger: DatasetLedger
) -> pd.DataFrame:
    """Candidate interactions from custom events, event types mapped through the configuration.

    A type mapped to null, and a cart-level type without an item, are skipped; an unmapped type keeps its
    HubSpot name, which validation rejects.
    """
    ledger.read += len(events)
    raw_type = by_value(events["EVENT_TYPE"], clean_text)
    mapped_type = raw_type.map(config.event_types)
    item_ids = by_value(events["ITEM_ID"], clean_identifier)
    not_exported = raw_type.isin([source for source, target in config.event_types.items() if target is None])
    ledger.skip(NOT_EXPORTED, int(not_exported.sum()))
    cart_level = raw_type.isin(config.event_types_without_items) & item_ids.isna()
    cart_level = cart_level.fillna(False).astype(bool) & ~not_exported
    ledger.skip(CART_LEVEL_WITHOUT_ITEM, int(cart_level.sum()))
    exported = ~(not_exported | cart_level).to_numpy()
    events = events[exported]
    contact_ids = by_value(events["CONTACT_ID"], clean_identifier)
    return _candidates(
        INTERACTIONS,
        {
            "USER_ID": by_value(contact_ids, lambda ids: ids.map(user_ids)),
            "ITEM_ID": item_ids[exported],
            "TIMESTAMP": pd.to_numeric(events["OCCURRED_EPOCH"], errors="coerce").astype("Int64"),
            "EVENT_TYPE": mapped_type[exported].fillna(raw_type[exported]),
            "EVENT_VALUE": _event_values(events["ITEM_PRICE"], ledger),
        },
        {
            "SOURCE_ID": "event:" + clean_identifier(events["EVENT_ID"]),
            "CONTACT_ID": contact_ids,
            "RAW_EVENT_TYPE": raw_type[exported],
        },
        ledger,
    )


def deal_line_item_ids(deal_rows: pd.DataFrame) -> pd.Series:
    """The source id of a deal line item: ``deal:<deal id>/line_item:<line item id>`` (never the deal id
    alone, which repeats for every line item of a deal)."""
    deal_ids = clean_identifier(deal_rows["DEAL_ID"]).fillna("<missing>")
    return (
        "deal:" + deal_ids + "/line_item:" + clean_identifier(deal_rows["LINE_ITEM_ID"]).fillna("<missing>")
    )


def deal_interactions(
    deal_rows: pd.DataFrame,
    user_ids: pd.Series,
    config: PersonalizeConfig,
    window: ExportWindow,
    ledger: DatasetLedger,
) -> pd.DataFrame:
    """Candidate interactions from deal line items: add-to-cart stage → AddToCart at the create date,
    closed-won stage → Purchase at the close date (and AddToCart at the create date, if configured).

    Deal rows without a line item, and interactions outside the export window, are skipped.
    """
    deals = config.deals
    stage = clean_identifier(deal_rows["DEAL_STAGE"])
    won = stage.isin(deals.closed_won_stages)
    in_cart = stage.isin(deals.add_to_cart_stages) | (won & deals.closed_won_implies_add_to_cart)
    base = pd.DataFrame(
        {
            "SOURCE_ID": deal_line_item_ids(deal_rows),
            "CONTACT_ID": clean_identifier(deal_rows["CONTACT_ID"]),
            "ITEM_ID": clean_identifier(deal_rows["ITEM_ID"]),
            "HAS_LINE_ITEM": deal_rows["LINE_ITEM_ID"].notna().to_numpy(),
            "EVENT_VALUE": _event_values(deal_rows["UNIT_PRICE"], ledger),
        }
    )
    carts = base[in_cart.to_numpy()].assign(
        EVENT_TYPE=deals.add_to_cart_event_type,
        TIMESTAMP=to_epoch_seconds(deal_rows["CREATEDATE"])[in_cart].to_numpy(),
        SOURCE_ID=lambda frame: frame["SOURCE_ID"] + "/cart",
    )
    purchases = base[won.to_numpy()].assign(
        EVENT_TYPE=deals.purchase_event_type,
        TIMESTAMP=to_epoch_seconds(deal_rows["CLOSEDATE"])[won].to_numpy(),
        SOURCE_ID=lambda frame: frame["SOURCE_ID"] + "/purchase",
    )
    expanded = pd.concat([carts, purchases], ignore_index=True)
    ledger.read += len(expanded)
    ledger.skip("deal has no line items", int((~expanded["HAS_LINE_ITEM"]).sum()))
    expanded = expanded[expanded["HAS_LINE_ITEM"]]
    timestamps = expanded["TIMESTAMP"].astype("Int64")
    window_start, window_end = window.start, window.end
    after_window = (timestamps >= int(window_end.timestamp())).fillna(False).astype(bool)
    ledger.skip("deal date after the export date", int(after_window.sum()))
    before_window = pd.Series(False, index=expanded.index)
    if window_start is not None:
        before_window = (timestamps < int(window_start.timestamp())).fillna(False).astype(bool)
        ledger.skip("deal date before the lookback window", int(before_window.sum()))
    expanded = expanded[~(after_window | before_window)]
    return _candidates(
        INTERACTIONS,
        {
            "USER_ID": expanded["CONTACT_ID"].map(user_ids),
            "ITEM_ID": expanded["ITEM_ID"],
            "TIMESTAMP": expanded["TIMESTAMP"].astype("Int64"),
            "EVENT_TYPE": expanded["EVENT_TYPE"].astype("string"),
            "EVENT_VALUE": expanded["EVENT_VALUE"],
        },
        {
            "SOURCE_ID": expanded["SOURCE_ID"],
            "CONTACT_ID": expanded["CONTACT_ID"],
            "RAW_EVENT_TYPE": expanded["EVENT_TYPE"].astype("string"),
        },
        ledger,
    ).reset_index(drop=True)


def repeated_key_reason(dataset: Dataset) -> str:
    """The skip reason of a row whose unique key an earlier row in output order has."""
    return f"duplicate of another row with the same {', '.join(dataset.unique_key)}"


def drop_duplicate_rows(
    frame: pd.DataFrame, key: list[str], reason: str, ledger: DatasetLedger
) -> pd.DataFrame:
    """Keep the first row of each ``key`` (rows must already be in a deterministic order); rows with an
    empty key value are never duplicates of each other."""
    duplicated = frame.duplicated(subset=key, keep="first") & frame[key].notna().all(axis=1)
    ledger.skip(reason, int(duplicated.sum()))
    return frame[~duplicated].reset_index(drop=True)


def sort_for_output(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """The published row order: by the dataset's unique key, then every other column (stable across runs)."""
    order = list(dataset.unique_key) + [name for name in frame.columns if name not in dataset.unique_key]
    return sorted_rows(frame, order)


def sorted_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` ordered by ``columns`` (ascending, nulls last, ties kept in their order), sorted by Arrow:
    several times faster than pandas on text columns."""
    table = pa.Table.from_pandas(frame[columns], preserve_index=False)
    keys = [(name, "ascending") for name in columns]
    indices = pc.sort_indices(table, sort_keys=keys, null_placement="at_end").to_numpy()
    return frame.take(indices).reset_index(drop=True)
