"""The events' lines of the identity log (``incoming.event.*``) and the run's identity summary."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from hubspot_pipeline.identity.log import EVENT, IncomingLog
from hubspot_pipeline.identity.users import UserResolution, resolve_events
from hubspot_pipeline.personalize.transform import (
    distinct_codes,
)


def event_log_lines(records: pd.Series, contact_ids: pd.Series, users: UserResolution) -> pd.DataFrame:
    """:func:`resolve_events` lines for ``records``, resolved once per contact
    (an event's outcome depends only on its contact) and spread back to the records."""
    codes, contacts = distinct_codes(contact_ids)
    per_contact = resolve_events(contacts.index.astype(str).to_series(), contacts, users)
    lines = per_contact.take(codes).reset_index(drop=True)
    lines["record"] = records.astype(lines["record"].dtype).to_numpy()
    return lines


def event_log_counts(records: int, event_log: pd.DataFrame) -> dict:
    """``incoming.event.*`` counts of one part of the events, checked to account for every record."""
    incoming = IncomingLog()
    incoming.add(EVENT, records, event_log)
    incoming.check()
    return incoming.to_dict()


def merge_incoming(summary: dict, part: dict) -> dict:
    """Add one part's ``incoming.*`` counts, records read and reasons to a run's identity summary."""
    merged = {**summary, "records_in": dict(Counter(summary["records_in"]) + Counter(part["records_in"]))}
    for name, count in part.items():
        if name.startswith("incoming."):
            merged[name] = merged.get(name, 0) + count
    reasons = {log_name: dict(counts) for log_name, counts in summary["reasons"].items()}
    for log_name, counts in part["reasons"].items():
        reasons[log_name] = dict(Counter(reasons.get(log_name, {})) + Counter(counts))
    merged["reasons"] = dict(sorted(reasons.items()))
    return merged
