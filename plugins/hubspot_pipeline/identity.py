"""Stable user ids for contacts.

A contact's ``USER_ID`` is its external id (the id the store itself uses, so it matches the ids the
store's real-time event tracker sends to Personalize) and, for a contact without one, ``hubspot-<record
id>``. Blocked placeholder values never count as an external id.
"""

from __future__ import annotations

import pandas as pd

from hubspot_pipeline.formatting import clean_identifier

HUBSPOT_USER_PREFIX = "hubspot-"
BLOCKED_IDENTIFIERS = frozenset(
    {"null", "none", "nil", "undefined", "0", "-1", "anonymous", "unknown", "n/a"}
)


def usable_identifier(values: pd.Series) -> pd.Series:
    """Trimmed identifiers with blocked placeholders (``null``, ``0``, ``anonymous``…) made null."""
    identifiers = clean_identifier(values)
    return identifiers.mask(identifiers.str.lower().isin(BLOCKED_IDENTIFIERS))


def contact_user_ids(contacts: pd.DataFrame) -> pd.DataFrame:
    """Map ``CONTACT_ID`` to ``USER_ID``: the external id, else ``hubspot-<CONTACT_ID>``."""
    contact_ids = clean_identifier(contacts["CONTACT_ID"])
    user_ids = usable_identifier(contacts["EXTERNAL_ID"]).fillna(HUBSPOT_USER_PREFIX + contact_ids)
    return pd.DataFrame({"CONTACT_ID": contact_ids, "USER_ID": user_ids}).dropna(subset=["CONTACT_ID"])
