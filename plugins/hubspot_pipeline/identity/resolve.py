"""The identity stage as both exports run it: attributes formatted, contacts resolved into users,
their events logged."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hubspot_pipeline.config import IdentityConfig
from hubspot_pipeline.identity.attributes import FormattedAttributes, format_attributes
from hubspot_pipeline.identity.log import EVENT, USER, IncomingLog
from hubspot_pipeline.identity.users import IDENTITY_COLUMNS, UserResolution, resolve_events, resolve_users


@dataclass(frozen=True)
class Identity:
    """The identity stage of a run: formatted contact attributes, resolved users, the run's incoming log."""

    attributes: FormattedAttributes
    users: UserResolution
    incoming: IncomingLog

    def summary(self) -> dict:
        """The counts a run stores and prints: ``incoming.*``, skip/error reasons, merges, failed casts."""
        return {
            **self.incoming.to_dict(),
            "merged_contacts": len(self.users.merges),
            "attribute_errors": self.attributes.error_counts(),
        }


def contact_attribute_columns(contacts: pd.DataFrame, config: IdentityConfig) -> list[str]:
    """The contact columns that are attributes: all but the identifiers."""
    identifiers = {*IDENTITY_COLUMNS, *config.anonymous_ids}
    return [name for name in contacts.columns if name not in identifiers]


def identify(
    contacts: pd.DataFrame, events: pd.DataFrame | None, config: IdentityConfig, hash_key: bytes
) -> Identity:
    """Format the contacts' attributes, resolve contacts into users (the log's hashes keyed by
    ``hash_key``), re-point events (``RECORD_ID``, ``CONTACT_ID``; None: no events), and check that every
    contact and event ended in the log (else :class:`AccountingError`). Accounts are resolved separately
    (:func:`resolve_accounts`, then ``identity.incoming.add("account", …)``)."""
    attributes = format_attributes(
        contacts,
        contact_attribute_columns(contacts, config),
        key="CONTACT_ID",
        types=config.attribute_types,
        order_by="CONTACT_ID",
    )
    users = resolve_users(contacts, config, hash_key=hash_key, cast_errors=attributes.errors)
    incoming = IncomingLog()
    incoming.add(USER, len(contacts), users.log)
    if events is not None:
        incoming.add(EVENT, len(events), resolve_events(events["RECORD_ID"], events["CONTACT_ID"], users))
    incoming.check()
    return Identity(attributes, users, incoming)
