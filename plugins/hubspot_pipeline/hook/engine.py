"""Hook metrics computed: the one engine that turns the share's narrow extracts into daily account rows and
file bytes, for a date range of any length (definitions: :mod:`hubspot_pipeline.hook.metrics`).

**One engine for daily runs and bulk backfills.** A daily run is a range of one day; a backfill is a range of
many days, processed in chunks (a month each). Every value is an integer (money in cents) computed from:

- a *baseline* as of the day before the chunk (all-time totals: from the share for the first chunk, carried
  over from the previous chunk's last day afterwards — the same integers either way), plus
- per-day increments inside the chunk (cumulative metrics = baseline + running sum), or
- a trailing window over per-day facts (stock metrics), built from the chunk and the ``window_days - 1``
  days before it: window sums of per-day counts, distinct contacts through merged activity intervals
  (a contact active on day *a* counts on days *a* … *a + n - 1*), open deals through +1/-1 at the days a
  deal opens and closes.

Integer arithmetic in any order gives the same result, so a date's file is byte-identical whether it was
computed alone or inside a two-year backfill.

**Accounts.** Rows are keyed by HubSpot company id (as text). Contacts and their events belong to the account
the identity stage resolves for the contact (a ``CONTACT_ID`` → ``ACCOUNT_ID`` frame); a deal belongs to its
lowest associated company, else to its lowest associated contact's account. Anything that resolves to no
company of ``OBJECTS_COMPANIES`` is skipped and counted in the run's ledger with the reason.

**Active accounts** (the rows of a date's file): every company of ``OBJECTS_COMPANIES`` created on or before
the date, every company with something counted on or before the date (a contact created, a deal created or
won, an event of a configured type), and every company whose create date is missing or unreadable. Once an
account has a row it has one in every later file; where nothing happened its values are zeros.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.config.hook_metrics import (
    ACTIVE_USERS,
    CONTACTS_CREATED,
    CUMULATIVE,
    EVENTS,
    OPEN_DEALS,
    MetricDefinition,
    MetricDefinitions,
)
from hubspot_pipeline.hook.metrics import day_date, day_number, event_set_column, event_sets, lookback_days

NEVER = np.iinfo(np.int64).max // 4  # a day number later than any real date
ALWAYS = -NEVER

# --------------------------------------------------------------------------------------------- inputs


def _days_from_text(values: pd.Series) -> pd.Series:
    """HubSpot date text (ISO-8601, or epoch seconds/milliseconds) → day numbers (UTC), null if unreadable."""
    from hubspot_pipeline.formatting import to_epoch_seconds

    if len(values) == 0:
        return pd.Series([], dtype="Int64", index=values.index)
    return to_epoch_seconds(values).floordiv(86_400).astype("Int64")


def _cents(values: pd.Series) -> pd.Series:
    from hubspot_pipeline.formatting import to_number

    amounts = to_number(values) if len(values) else pd.Series([], dtype="Float64")
    cents = (amounts * 100).round().astype("Int64")
    return cents.mask(cents < 0)


def _id_text(values: pd.Series) -> pd.Series:
    """Ids as trimmed text; numbers (HubSpot's record ids) without a trailing ``.0``."""
    from hubspot_pipeline.formatting import clean_identifier

    if pd.api.types.is_integer_dtype(values) and not isinstance(values.dtype, pd.ArrowDtype):
        return pd.Series(values.to_numpy(np.int64).astype(str), index=values.index, dtype=object)
    return clean_identifier(values).astype(object)


@dataclass
class SourceLedgers:
    """Row accounting of the metric sources (contacts, deals, events) for the run's manifest."""

    ledgers: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str):
        from hubspot_pipeline.quality.ledger import DatasetLedger

        return self.ledgers.setdefault(name, DatasetLedger())

    def to_dict(self) -> dict:
        return {name: ledger.to_dict() for name, ledger in sorted(self.ledgers.items())}


@dataclass(frozen=True)
class MetricInputs:
    """Everything but the event activity, normalised: ids as text, dates as day numbers, money in cents."""

    accounts: pd.DataFrame  # ACCOUNT_ID, CREATED_DAY
    contacts: pd.DataFrame  # CONTACT_ID, ACCOUNT_POS, CREATED_DAY (mapped contacts only)
    deals: pd.DataFrame  # ACCOUNT_POS, PIPELINE, DEAL_STAGE, IS_CLOSED, CENTS, CREATED_DAY, CLOSED_DAY
    contact_positions: pd.Series  # CONTACT_ID (text) → account position


def account_order(account_ids: pd.Series) -> pd.Series:
    """Account ids in file order: shortest first, then alphabetical (numeric order for numeric ids)."""
    ids = pd.Series(sorted(set(account_ids.dropna()), key=lambda value: (len(value), value)), dtype=object)
    return ids


def prepare_inputs(
    companies: pd.DataFrame,
    contacts: pd.DataFrame,
    deals: pd.DataFrame,
    contact_accounts: pd.DataFrame,
    ledgers: SourceLedgers,
) -> MetricInputs:
    """Normalise the extracted frames and tie contacts and deals to account positions (file row order).

    ``companies`` (``COMPANY_ID``, ``CREATEDATE``) are the accounts; ``contact_accounts`` maps
    ``CONTACT_ID`` → ``ACCOUNT_ID`` (the identity stage's resolution).
    """
    account_ids = account_order(_id_text(companies["COMPANY_ID"]))
    created = pd.Series(
        _days_from_text(companies["CREATEDATE"]).to_numpy(), index=_id_text(companies["COMPANY_ID"])
    )
    created = created[~created.index.duplicated()]
    accounts = pd.DataFrame(
        {"ACCOUNT_ID": account_ids, "CREATED_DAY": created.reindex(account_ids).to_numpy()}
    )
    position_of = pd.Series(np.arange(len(account_ids)), index=account_ids.to_numpy())

    mapping = pd.DataFrame(
        {
            "CONTACT_ID": _id_text(contact_accounts["CONTACT_ID"]),
            "ACCOUNT_ID": _id_text(contact_accounts["ACCOUNT_ID"]),
        }
    ).dropna()
    mapping = mapping.drop_duplicates("CONTACT_ID")
    contact_positions = (
        pd.Series(
            position_of.reindex(mapping["ACCOUNT_ID"]).to_numpy(), index=mapping["CONTACT_ID"].to_numpy()
        )
        .dropna()
        .astype(np.int64)
    )

    ledger = ledgers.get("contacts")
    contact_ids = _id_text(contacts["CONTACT_ID"])
    ledger.read = len(contacts)
    positions = contact_positions.reindex(contact_ids)
    mapped_to_unknown = contact_ids.isin(mapping["CONTACT_ID"]) & positions.isna().to_numpy()
    ledger.skip("account not in OBJECTS_COMPANIES", int(mapped_to_unknown.sum()))
    ledger.skip("no account resolved for the contact", int(positions.isna().sum() - mapped_to_unknown.sum()))
    kept = positions.notna().to_numpy()
    contact_days = _days_from_text(contacts["CREATEDATE"])
    ledger.correct("create date unreadable: not counted as created", int((kept & contact_days.isna()).sum()))
    ledger.written = int(kept.sum())
    contacts_frame = pd.DataFrame(
        {
            "CONTACT_ID": contact_ids[kept].to_numpy(),
            "ACCOUNT_POS": positions[kept].astype(np.int64).to_numpy(),
            "CREATED_DAY": contact_days[kept].to_numpy(),
        }
    )

    ledger = ledgers.get("deals")
    ledger.read = len(deals)
    company = position_of.reindex(_id_text(deals["COMPANY_ID"])).to_numpy()
    via_contact = contact_positions.reindex(_id_text(deals["CONTACT_ID"])).to_numpy()
    deal_position = np.where(np.isnan(company), via_contact, company)
    has_company_id = _id_text(deals["COMPANY_ID"]).notna().to_numpy()
    unresolved = np.isnan(deal_position)
    ledger.skip("company not in OBJECTS_COMPANIES", int((unresolved & has_company_id).sum()))
    ledger.skip("no company and no contact with an account", int((unresolved & ~has_company_id).sum()))
    ledger.correct("no company: account of its contact", int((~unresolved & np.isnan(company)).sum()))
    kept = ~unresolved
    cents = _cents(deals["AMOUNT"])
    created_days, closed_days = _days_from_text(deals["CREATEDATE"]), _days_from_text(deals["CLOSEDATE"])
    is_closed = deals["IS_CLOSED"].fillna(False).astype(bool).to_numpy()
    ledger.correct("amount missing, unreadable or negative: counted as 0", int((kept & cents.isna()).sum()))
    ledger.correct("create date unreadable: never counted as open", int((kept & created_days.isna()).sum()))
    ledger.correct(
        "closed without a readable close date: not counted as open or won",
        int((kept & is_closed & closed_days.isna().to_numpy()).sum()),
    )
    ledger.written = int(kept.sum())
    deals_frame = pd.DataFrame(
        {
            "ACCOUNT_POS": deal_position[kept].astype(np.int64),
            "PIPELINE": deals["PIPELINE"].astype(object).to_numpy()[kept],
            "DEAL_STAGE": deals["DEAL_STAGE"].astype(object).to_numpy()[kept],
            "IS_CLOSED": is_closed[kept],
            "CENTS": cents.fillna(0).astype(np.int64).to_numpy()[kept],
            "CREATED_DAY": created_days.to_numpy()[kept],
            "CLOSED_DAY": closed_days.to_numpy()[kept],
        }
    )
    return MetricInputs(accounts, contacts_frame, deals_frame, contact_positions)


def map_activity(activity: pd.DataFrame, inputs: MetricInputs) -> tuple[pd.DataFrame, pd.Series]:
    """Event rows (``CONTACT_ID``, ``ACTIVITY_DATE``, ``EVENTS``, ``E0``…) of contacts with an account, with
    ``ACCOUNT_POS`` and ``DAY`` added; also the unmapped rows' ``EVENTS`` per day (for the ledger)."""
    contact_ids = _id_text(activity["CONTACT_ID"])
    positions = inputs.contact_positions.reindex(contact_ids).to_numpy()
    kept = ~np.isnan(positions)
    days = _activity_days(activity["ACTIVITY_DATE"])
    skipped = pd.Series(activity["EVENTS"].to_numpy()[~kept], index=days[~kept]).groupby(level=0).sum()
    mapped = (
        activity.loc[kept]
        .drop(columns=["ACTIVITY_DATE"])
        .assign(
            CONTACT_ID=contact_ids[kept].to_numpy(),
            ACCOUNT_POS=positions[kept].astype(np.int64),
            DAY=days[kept],
        )
    )
    return mapped.reset_index(drop=True), skipped


def _activity_days(values: pd.Series) -> np.ndarray:
    """Dates (``datetime.date`` objects or datetime64) as day numbers since 1970-01-01."""
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    return np.asarray(values.to_numpy(), dtype="datetime64[D]").astype(np.int64)


# --------------------------------------------------------------------------------------------- engine


@dataclass
class ChunkValues:
    """The metric values of a chunk of consecutive days: ``values[name]`` has shape (accounts, days)."""

    first_day: int
    account_ids: np.ndarray
    values: dict[str, np.ndarray]
    present: np.ndarray  # (accounts, days) bool: the account has a row on that day

    @property
    def day_count(self) -> int:
        return self.present.shape[1]

    def dates(self) -> list[date]:
        return [day_date(self.first_day + offset) for offset in range(self.day_count)]


class MetricEngine:
    """Computes chunks of consecutive days in order, carrying all-time totals from one chunk to the next.

    ``baseline`` holds the events before the first chunk per contact (``CONTACT_ID``, ``E0``…,
    ``FIRST_DATE``); each :meth:`compute` call gets the mapped event activity of its days and of the
    ``lookback`` days before them (see :func:`map_activity`).
    """

    def __init__(
        self,
        definitions: MetricDefinitions,
        inputs: MetricInputs,
        baseline: pd.DataFrame,
        start: date,
    ):
        self.definitions = definitions
        self.metrics = definitions.metrics
        self.sets = event_sets(self.metrics)
        self.lookback = lookback_days(self.metrics)
        self.inputs = inputs
        self.account_ids = inputs.accounts["ACCOUNT_ID"].to_numpy(dtype=object)
        self.count = len(self.account_ids)
        self.next_day = day_number(start)
        self._won = self._won_deals()

        positions = inputs.contact_positions.reindex(_id_text(baseline["CONTACT_ID"])).to_numpy()
        kept = ~np.isnan(positions)
        base_positions = positions[kept].astype(np.int64)
        self.totals: dict[str, np.ndarray] = {}
        for metric in self.metrics:
            if metric.kind != CUMULATIVE:
                continue
            if metric.source == EVENTS:
                weights = baseline[event_set_column(metric, self.sets)].to_numpy(dtype=np.int64)[kept]
                self.totals[metric.name] = self._per_account(base_positions, weights)
            else:
                positions_, days, weights = self._flow_facts(metric)
                before = days < self.next_day
                self.totals[metric.name] = self._per_account(positions_[before], weights[before])
        first_event = np.full(self.count, NEVER, dtype=np.int64)
        if kept.any():
            np.minimum.at(first_event, base_positions, _activity_days(baseline["FIRST_DATE"])[kept])
        self.first_event = first_event
        self.first_static = self._first_static()

    # -- facts of the small sources, as (account position, day, weight) arrays
    def _won_deals(self) -> pd.DataFrame:
        deals = self.inputs.deals
        won = deals["DEAL_STAGE"].isin(self.definitions.won_stages) & deals["CLOSED_DAY"].notna()
        return deals[won.to_numpy()]

    def _flow_facts(self, metric: MetricDefinition) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if metric.source == CONTACTS_CREATED:
            contacts = self.inputs.contacts[self.inputs.contacts["CREATED_DAY"].notna()]
            positions = contacts["ACCOUNT_POS"].to_numpy(np.int64)
            return positions, contacts["CREATED_DAY"].to_numpy(np.int64), np.ones(len(positions), np.int64)
        deals = self._won
        if metric.pipelines is not None:
            deals = deals[deals["PIPELINE"].isin(metric.pipelines).to_numpy()]
        weights = deals["CENTS"].to_numpy(np.int64) if metric.is_money else np.ones(len(deals), np.int64)
        return deals["ACCOUNT_POS"].to_numpy(np.int64), deals["CLOSED_DAY"].to_numpy(np.int64), weights

    def _first_static(self) -> np.ndarray:
        """Per account, the first day it has a row for reasons other than events (see module docs)."""
        created = self.inputs.accounts["CREATED_DAY"]
        first = np.where(created.isna().to_numpy(), ALWAYS, created.fillna(0).to_numpy(np.int64))
        contacts = self.inputs.contacts.dropna(subset=["CREATED_DAY"])
        np.minimum.at(
            first, contacts["ACCOUNT_POS"].to_numpy(np.int64), contacts["CREATED_DAY"].to_numpy(np.int64)
        )
        deals = self.inputs.deals
        for column in ("CREATED_DAY", "CLOSED_DAY"):
            dated = deals.dropna(subset=[column])
            np.minimum.at(first, dated["ACCOUNT_POS"].to_numpy(np.int64), dated[column].to_numpy(np.int64))
        return first

    def _per_account(self, positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return (
            np.bincount(positions, weights=weights, minlength=self.count).astype(np.int64)
            if len(positions)
            else np.zeros(self.count, np.int64)
        )

    def _per_account_day(self, positions, days, weights, first_day: int, day_count: int) -> np.ndarray:
        """(accounts, day_count) sums of ``weights`` at (position, day), days outside the span dropped.

        Weights are int64 and summed with ``np.add.at``: exact for money in cents (no float rounding).
        """
        offsets = np.asarray(days, dtype=np.int64) - first_day
        inside = (offsets >= 0) & (offsets < day_count)
        grid = np.zeros(self.count * day_count, dtype=np.int64)
        np.add.at(
            grid, positions[inside] * day_count + offsets[inside], np.asarray(weights, dtype=np.int64)[inside]
        )
        return grid.reshape(self.count, day_count)

    # -- one chunk
    def compute(self, last: date, activity: pd.DataFrame) -> ChunkValues:
        """Values for the days from the day after the previous chunk (or ``start``) to ``last``."""
        first_day, last_day = self.next_day, day_number(last)
        days = last_day - first_day + 1
        span_first, span = first_day - self.lookback, days + self.lookback
        activity = activity[(activity["DAY"] >= span_first) & (activity["DAY"] <= last_day)]
        act_positions = activity["ACCOUNT_POS"].to_numpy(np.int64)
        act_days = activity["DAY"].to_numpy(np.int64)
        values: dict[str, np.ndarray] = {}
        for metric in self.metrics:
            if metric.source == ACTIVE_USERS:
                values[metric.name] = self._active_users(metric, activity, first_day, days)
                continue
            if metric.source == OPEN_DEALS:
                values[metric.name] = self._open_deals(metric, first_day, days)
                continue
            if metric.source == EVENTS:
                weights = activity[event_set_column(metric, self.sets)].to_numpy(np.int64)
                daily = self._per_account_day(act_positions, act_days, weights, span_first, span)
            else:
                daily = self._per_account_day(*self._flow_facts(metric), span_first, span)
            if metric.kind == CUMULATIVE:
                running = self.totals[metric.name][:, None] + np.cumsum(daily[:, self.lookback :], axis=1)
                self.totals[metric.name] = running[:, -1].copy()
                values[metric.name] = running
            else:
                summed = np.concatenate(
                    [np.zeros((self.count, 1), np.int64), np.cumsum(daily, axis=1)], axis=1
                )
                ends = np.arange(self.lookback + 1, span + 1)
                values[metric.name] = summed[:, ends] - summed[:, ends - metric.window_days]
        present = self._present(activity, first_day, days)
        self.next_day = last_day + 1
        return ChunkValues(first_day, self.account_ids, values, present)

    def _present(self, activity: pd.DataFrame, first_day: int, days: int) -> np.ndarray:
        in_chunk = activity[activity["DAY"] >= first_day]
        counted = (
            in_chunk[[column for column in in_chunk.columns if re.fullmatch(r"E\d+", column)]].sum(axis=1) > 0
        )
        in_chunk = in_chunk[counted.to_numpy()]
        chunk_first = np.full(self.count, NEVER, dtype=np.int64)
        np.minimum.at(
            chunk_first, in_chunk["ACCOUNT_POS"].to_numpy(np.int64), in_chunk["DAY"].to_numpy(np.int64)
        )
        first = np.minimum(np.minimum(self.first_static, self.first_event), chunk_first)
        self.first_event = np.minimum(self.first_event, chunk_first)
        return first[:, None] <= (first_day + np.arange(days))[None, :]

    def _active_users(self, metric: MetricDefinition, activity: pd.DataFrame, first_day: int, days: int):
        """Distinct contacts with an event in the trailing window: each contact's active days become
        merged intervals [a, a + n - 1]; +1/-1 at their ends, summed per account and day."""
        window = metric.window_days
        active = activity[activity[event_set_column(metric, self.sets)].to_numpy() > 0]
        active = active.sort_values(["CONTACT_ID", "DAY"], kind="stable")
        contacts = active["CONTACT_ID"].to_numpy()
        active_days = active["DAY"].to_numpy(np.int64)
        positions = active["ACCOUNT_POS"].to_numpy(np.int64)
        span_first = first_day - self.lookback
        span = days + self.lookback
        if len(active_days) == 0:
            return np.zeros((self.count, days), np.int64)
        new_contact = np.ones(len(active_days), dtype=bool)
        new_contact[1:] = contacts[1:] != contacts[:-1]
        gap = np.ones(len(active_days), dtype=bool)
        gap[1:] = (active_days[1:] - active_days[:-1]) > window
        run_start = new_contact | gap
        run_end = np.append(run_start[1:], True)  # the last active day of each run
        starts, ends = active_days[run_start], active_days[run_end] + window  # end exclusive
        start_positions = positions[run_start]
        grid = np.zeros((self.count, span + 1), dtype=np.int64)
        np.add.at(grid, (start_positions, np.clip(starts - span_first, 0, span)), 1)
        np.add.at(grid, (start_positions, np.clip(ends - span_first, 0, span)), -1)
        return np.cumsum(grid, axis=1)[:, self.lookback : self.lookback + days]

    def _open_deals(self, metric: MetricDefinition, first_day: int, days: int) -> np.ndarray:
        deals = self.inputs.deals.dropna(subset=["CREATED_DAY"])
        if metric.pipelines is not None:
            deals = deals[deals["PIPELINE"].isin(metric.pipelines).to_numpy()]
        closed = deals["IS_CLOSED"].to_numpy(bool)
        closed_day = deals["CLOSED_DAY"]
        deals = deals[~(closed & closed_day.isna().to_numpy())]  # closed, but nobody knows when
        opened = deals["CREATED_DAY"].to_numpy(np.int64)
        closes = np.where(
            deals["IS_CLOSED"].to_numpy(bool), deals["CLOSED_DAY"].fillna(NEVER).to_numpy(np.int64), NEVER
        )
        begin = np.clip(opened - first_day, 0, days)
        finish = np.clip(closes - first_day, 0, days)
        keep = begin < finish
        weights = deals["CENTS"].to_numpy(np.int64) if metric.is_money else np.ones(len(deals), np.int64)
        positions = deals["ACCOUNT_POS"].to_numpy(np.int64)
        grid = np.zeros((self.count, days + 1), dtype=np.int64)
        np.add.at(grid, (positions[keep], begin[keep]), weights[keep])
        np.add.at(grid, (positions[keep], finish[keep]), -weights[keep])
        return np.cumsum(grid, axis=1)[:, :days]


# --------------------------------------------------------------------------------------------- files


def _csv_field(value: str) -> str:
    if any(character in value for character in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _number_text(values: np.ndarray, money: bool) -> pa.Array:
    """Integers as plain digits; cents as ``units.cc`` (two decimals, no exponent, no thousands mark).
    ``values`` is flat; the result is an Arrow string array (formatted in C++, not per Python value)."""
    if not money:
        return pc.cast(pa.array(values, pa.int64()), pa.string())
    magnitude = np.abs(values)
    units = pc.cast(pa.array(magnitude // 100, pa.int64()), pa.string())
    hundredths = pc.utf8_lpad(
        pc.cast(pa.array(magnitude % 100, pa.int64()), pa.string()), width=2, padding="0"
    )
    sign = pa.array(np.where(values < 0, "-", ""), pa.string())
    return pc.binary_join_element_wise(sign, units, ".", hundredths, "")


def render_files(
    chunk: ChunkValues, definitions: MetricDefinitions, file_format: str
) -> Iterator[tuple[date, bytes, int]]:
    """One file per day of ``chunk``: (metric date, bytes, rows). CSV: RFC 4180 with ``\\n`` line ends,
    header first; JSONL: one object per line, keys in column order. Rows in account order.

    The whole chunk is formatted at once with Arrow: one text line per present (account, day), then the
    lines of each day joined into its file."""
    dates = chunk.dates()
    present = chunk.present.T.ravel()  # day-major: the rows of day 0, then day 1, …
    per_day = chunk.present.sum(axis=0)
    columns = definitions.columns
    if file_format == "csv":
        id_text = [_csv_field(value) for value in chunk.account_ids]
        date_text = [day.isoformat() for day in dates]
        header = ",".join(_csv_field(name) for name in columns) + "\n"
    else:
        keys = [json.dumps(name) + ":" for name in columns]
        id_text = ["{" + keys[0] + json.dumps(value) for value in chunk.account_ids]
        date_text = [f'{keys[1]}"{day.isoformat()}"' for day in dates]
        header = ""
    ids = pa.array(np.tile(np.array(id_text, dtype=object), len(dates))[present], pa.string())
    days = pa.array(np.repeat(np.array(date_text, dtype=object), per_day), pa.string())
    cells = [ids, days]
    for position, metric in enumerate(definitions.metrics):
        text = _number_text(chunk.values[metric.name].T.ravel()[present], metric.is_money)
        if file_format == "jsonl":
            text = pc.binary_join_element_wise(keys[position + 2], text, "")
        cells.append(text)
    lines = pc.binary_join_element_wise(*cells, ",")
    if file_format == "jsonl":
        lines = pc.binary_join_element_wise(lines, "}", "")
    offsets = pa.array(np.concatenate([[0], np.cumsum(per_day)]), pa.int32())
    bodies = pc.binary_join(pa.ListArray.from_arrays(offsets, lines), "\n").to_pylist()
    for metric_date, body, rows in zip(dates, bodies, per_day, strict=True):
        yield metric_date, (header + body + ("\n" if rows else "")).encode("utf-8"), int(rows)
