"""Users: contacts resolved by identifier (external id > e-mail > anonymous ids), the recipient of each
merge, ``USER_ID``, and events resolved to their contact's user (rules: :mod:`hubspot_pipeline.identity`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.config import IdentityConfig
from hubspot_pipeline.identity.graph import connected_components, star_edges
from hubspot_pipeline.identity.identifiers import (
    EMAIL,
    EXTERNAL_ID,
    KINDS,
    TEXT,
    clean,
    email_domain,
    email_problems,
    hmac_prefix,
    normalise_email,
    usable_identifier,
)
from hubspot_pipeline.identity.log import (
    DUPLICATE_ROW,
    ERROR,
    EVENT,
    EVENT_WITHOUT_CONTACT,
    MERGED,
    NO_RECORD_ID,
    REPOINTED_FROM,
    SKIP,
    SUCCESS,
    UNKNOWN_CONTACT,
    USER,
    join_notes,
    log_frame,
    sparse_note,
)

HUBSPOT_USER_PREFIX = "hubspot-"
IDENTITY_COLUMNS = ("CONTACT_ID", "EXTERNAL_ID", "EMAIL")


def deduplicated_rows(frame: pd.DataFrame, ids: pd.Series) -> pd.Series:
    """Mask of rows that repeat an earlier row's id; which copy is kept depends only on the rows' values."""
    repeated = ids.duplicated(keep=False) & ids.notna()
    duplicate = pd.Series(False, index=ids.index)
    if repeated.any():
        subset = frame[repeated.to_numpy()].astype("string").assign(_ID=ids[repeated])
        ordered = subset.sort_values(["_ID", *frame.columns], kind="stable", na_position="last")
        drop = ordered.index[ordered["_ID"].duplicated(keep="first").to_numpy()]
        duplicate[drop] = True
    return duplicate


def rank_order(ids: pd.Series, has_external_id: np.ndarray) -> np.ndarray:
    """Positions sorted by (has an external id first, numeric id, id as text)."""
    text = pa.array(ids.astype(TEXT))
    digits = pc.if_else(
        pc.match_substring_regex(text, r"^-?[0-9]{1,15}$"), text, pa.scalar(None, pa.string())
    )
    numeric = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False).astype(float)
    numeric[np.isnan(numeric)] = np.inf
    order = np.lexsort([numeric, ~has_external_id])
    ranked = numeric[order]
    if np.isinf(ranked).any() or (ranked[1:] == ranked[:-1]).any():  # ties: the text decides
        order = np.lexsort([pd.factorize(ids, sort=True)[0], numeric, ~has_external_id])
    return order


def _codes(values: pd.Series, kept: np.ndarray, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of identifier values (-1: none) over the kept rows, and the mask of values shared by more
    than ``limit`` rows, whose codes are set to -1."""
    codes = pd.factorize(values)[0]
    codes[~kept] = -1
    present = codes >= 0
    if limit is None or not present.any():
        return codes, np.zeros(len(codes), dtype=bool)
    counts = np.bincount(codes[present])
    common = present & (counts[np.maximum(codes, 0)] > limit)
    codes[common] = -1
    return codes, common


@dataclass(frozen=True)
class UserResolution:
    """Contacts resolved into users.

    ``members``: one row per resolved contact, in rank order (a user's recipient first): ``ROW`` (position in
    the input), ``CONTACT_ID``, ``USER_ID``, ``RECIPIENT_ID`` (record id of the user's recipient),
    ``MERGED_VIA`` (strongest identifier kind shared with another contact of the user; null when alone),
    ``EMAIL_DOMAIN`` (of a usable e-mail). ``log``: one ``incoming.user.*`` line per input row.
    """

    members: pd.DataFrame
    log: pd.DataFrame
    records_in: int

    @property
    def user_ids(self) -> pd.Series:
        """``USER_ID`` by ``CONTACT_ID`` (every resolved contact, merged ones included)."""
        return self.members.set_index("CONTACT_ID")["USER_ID"]

    @property
    def merges(self) -> pd.DataFrame:
        """The merges: each merged contact, its recipient, its user and the identifier kind joining them."""
        merged = self.members[self.members["CONTACT_ID"] != self.members["RECIPIENT_ID"]]
        return merged[["CONTACT_ID", "RECIPIENT_ID", "USER_ID", "MERGED_VIA"]].reset_index(drop=True)

    def dropped(self) -> dict[str, int]:
        """Input rows that are not a user's recipient, by reason (merged, or skipped)."""
        reasons = Counter({MERGED: len(self.merges)})
        skipped = self.log[self.log["log"] == f"incoming.{USER}.{SKIP}"]["reason"].value_counts()
        reasons.update({str(reason): int(count) for reason, count in skipped.items()})
        return {reason: count for reason, count in sorted(reasons.items()) if count}

    def merge_values(self, frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
        """One row per user (``USER_ID``, the recipient's ``CONTACT_ID``, then ``columns``), in rank order:
        the recipient's values, falling back to the user's other contacts (rank order) where it has none.

        ``frame`` is the frame that was resolved (rows are matched by position); empty text counts as missing.
        """
        columns = list(columns)
        rows = frame.iloc[self.members["ROW"].to_numpy()][columns].reset_index(drop=True)
        for name in columns:
            kind = rows[name].dtype
            typed = pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)
            if not (typed or pd.api.types.is_datetime64_any_dtype(kind)):
                rows[name] = clean(rows[name])
        rows.insert(0, "USER_ID", self.members["USER_ID"].to_numpy())
        merged = rows.groupby("USER_ID", sort=False, dropna=False).first()
        recipients = self.members.drop_duplicates("USER_ID").set_index("USER_ID")["RECIPIENT_ID"]
        merged.insert(0, "CONTACT_ID", recipients.reindex(merged.index).to_numpy())
        return merged.reset_index()


def resolve_users(
    contacts: pd.DataFrame,
    config: IdentityConfig,
    *,
    hash_key: bytes | None = None,
    cast_errors: pd.DataFrame | None = None,
) -> UserResolution:
    """Resolve contacts (``CONTACT_ID``, ``EXTERNAL_ID``, ``EMAIL`` and the alias columns) into users.

    ``hash_key`` keys the log's hashes of e-mails and anonymous ids (:func:`~.identifiers.hash_key`);
    without it the log holds none (the Hook export publishes no log). ``cast_errors`` (from
    :func:`~.attributes.format_attributes`, keyed by ``CONTACT_ID``) adds the attributes that failed to
    cast to each contact's log line.
    """
    contacts = contacts.reset_index(drop=True)
    index = contacts.index
    contact_ids = clean(contacts["CONTACT_ID"])
    aliases = list(config.anonymous_ids)
    if missing_columns := [name for name in (*IDENTITY_COLUMNS, *aliases) if name not in contacts.columns]:
        raise ValueError(f"contacts lack identifier columns {missing_columns} (identity.anonymous_ids?)")

    external = usable_identifier(contacts["EXTERNAL_ID"], config.blocked_values)
    too_long = (external.str.len() > config.max_external_id_length).fillna(False).astype(bool)
    external = external.mask(too_long)
    emails = normalise_email(contacts["EMAIL"])
    problems = email_problems(emails, config)
    usable_email = emails.mask(problems.notna())
    anonymous = {name: usable_identifier(contacts[name], config.blocked_values) for name in aliases}

    missing = contact_ids.isna()
    duplicate = deduplicated_rows(contacts[[c for c in contacts.columns if c != "CONTACT_ID"]], contact_ids)
    kept = ~(missing | duplicate)
    kept_mask = kept.to_numpy()
    limit = config.max_contacts_per_identifier
    common_notes, all_codes = [], []
    for kind, values in [(EXTERNAL_ID, external), (EMAIL, usable_email), *anonymous.items()]:
        codes, common = _codes(values, kept_mask, limit)
        all_codes.append(codes)
        common_notes.append((common, f"{kind} shared by over {limit} contacts: ignored"))
        if common.any():
            values[common] = pd.NA

    kept_rows = np.flatnonzero(kept_mask)
    has_external = all_codes[0][kept_rows] >= 0
    rows = kept_rows[rank_order(contact_ids.iloc[kept_rows].reset_index(drop=True), has_external)]
    size, anchors = len(rows), int(has_external.sum())
    positions = np.arange(size)

    # 1. contacts with the same external id are one user: label = the first (lowest-ranked) of them
    labels = np.arange(size, dtype=np.int64)
    external_codes = all_codes[0][rows[:anchors]]
    if anchors:
        first = np.full(external_codes.max() + 1, size, dtype=np.int64)
        np.minimum.at(first, external_codes, positions[:anchors])
        labels[:anchors] = first[external_codes]

    # identifier pairs (position, code, kind) for e-mails and anonymous ids, codes unique across kinds
    pair_positions, pair_codes, pair_kinds, offset = [], [], [], 0
    for kind_index, codes in [(1, all_codes[1]), *((2, each) for each in all_codes[2:])]:
        codes = codes[rows]
        present = codes >= 0
        pair_positions.append(positions[present])
        pair_codes.append(codes[present] + offset)
        pair_kinds.append(np.full(int(present.sum()), kind_index, dtype=np.int8))
        offset += int(codes.max()) + 1 if present.any() else 0
    pair_positions = np.concatenate(pair_positions)
    pair_codes = np.concatenate(pair_codes)
    pair_kinds = np.concatenate(pair_kinds)

    # 2. mergeable contacts sharing identifiers, through chains: connected components
    mergeable = pair_positions >= anchors
    components = connected_components(size, *star_edges(pair_positions[mergeable], pair_codes[mergeable]))
    labels[anchors:] = components[anchors:]

    # 3. clusters join the one external-id user they share their strongest kind of identifier with
    conflicts = pd.Series(dtype=TEXT)
    if anchors and mergeable.any():
        held_by_anchors = pd.DataFrame(
            {"code": pair_codes[~mergeable], "anchor": labels[pair_positions[~mergeable]]}
        )
        held_by_clusters = pd.DataFrame(
            {
                "code": pair_codes[mergeable],
                "cluster": components[pair_positions[mergeable]],
                "kind": pair_kinds[mergeable],
            }
        )
        links = held_by_clusters.merge(held_by_anchors, on="code")[["cluster", "anchor", "kind"]]
        links = links.drop_duplicates()
        links = links[links["kind"] == links.groupby("cluster")["kind"].transform("min")]
        candidates = links.groupby("cluster").agg(anchors=("anchor", "nunique"), anchor=("anchor", "min"))
        joined = candidates[candidates["anchors"] == 1]
        target = np.full(size, -1, dtype=np.int64)
        target[joined.index.to_numpy()] = joined["anchor"].to_numpy()
        cluster_of = components[anchors:]
        labels[anchors:] = np.where(target[cluster_of] >= 0, target[cluster_of], cluster_of)
        conflicted = candidates[candidates["anchors"] > 1]
        kind_of = links.drop_duplicates("cluster").set_index("cluster")["kind"]
        conflicts = (
            "not merged: shares an "
            + pd.Series(np.array(KINDS)[kind_of.reindex(conflicted.index).to_numpy()], index=conflicted.index)
            + " with "
            + conflicted["anchors"].astype("string")
            + " users that have different external ids"
        ).astype("string")

    # USER_ID: the recipient's external id, else hubspot-<recipient record id> (Arrow takes, no objects)
    id_array = pa.array(contact_ids.astype(TEXT))
    base = pa.array(external.fillna(HUBSPOT_USER_PREFIX + contact_ids).astype(TEXT))
    ranked_ids = pc.take(id_array, rows)
    user_ids, recipients = pc.take(base, rows[labels]), pc.take(id_array, rows[labels])

    # how each contact is joined to its user: the strongest identifier kind it shares with another member
    shared = pd.DataFrame(
        {
            "position": np.concatenate([positions[:anchors], pair_positions]),
            "code": np.concatenate([external_codes, pair_codes + external_codes.max(initial=-1) + 1]),
            "kind": np.concatenate([np.zeros(anchors, np.int8), pair_kinds]),
        }
    )
    shared["group"] = labels[shared["position"].to_numpy()]
    shared = shared[shared.groupby(["group", "code"])["position"].transform("size") > 1]
    via_kind = np.full(size, -1, dtype=np.int64)
    strongest = shared.groupby("position")["kind"].min()
    via_kind[strongest.index.to_numpy()] = strongest.to_numpy()
    via_kind[via_kind < 0] = len(KINDS)
    via = pd.Series(pc.take(pa.array([*KINDS, None], pa.string()), via_kind), dtype=TEXT)

    members = pd.DataFrame(
        {
            "ROW": rows,
            "CONTACT_ID": pd.Series(ranked_ids, dtype=TEXT),
            "USER_ID": pd.Series(user_ids, dtype=TEXT),
            "RECIPIENT_ID": pd.Series(recipients, dtype=TEXT),
            "MERGED_VIA": via,
            "EMAIL_DOMAIN": email_domain(usable_email.iloc[rows]).reset_index(drop=True),
        }
    )

    # the log: one line per input row (notes built only where they apply)
    size_in = len(contacts)
    position_of_row = np.full(size_in, -1, dtype=np.int64)
    position_of_row[rows] = positions
    merged_at = labels != positions
    group_sizes = np.bincount(labels, minlength=size)
    leading = ~merged_at & (group_sizes > 1)
    merged_positions, leading_positions = np.flatnonzero(merged_at), np.flatnonzero(leading)
    merged_text = (
        "merged into contact "
        + members["RECIPIENT_ID"].iloc[merged_positions]
        + " via "
        + via.iloc[merged_positions].fillna("?")
    )
    conflict_notes = np.full(size_in, None, dtype=object)
    if len(conflicts):
        in_conflict = np.flatnonzero(np.isin(components, conflicts.index.to_numpy()) & (positions >= anchors))
        conflict_notes[rows[in_conflict]] = conflicts.reindex(components[in_conflict]).to_numpy(dtype=object)
    cast_notes = np.full(size_in, None, dtype=object)
    if cast_errors is not None and len(cast_errors):
        errors = cast_errors.assign(KEY=clean(cast_errors["KEY"]))
        by_key = (errors["ATTRIBUTE"] + " " + errors["REASON"]).groupby(errors["KEY"]).agg("; ".join)
        with_errors = np.flatnonzero((contact_ids.isin(by_key.index) & kept).to_numpy())
        cast_notes[with_errors] = by_key.reindex(contact_ids.iloc[with_errors]).to_numpy(dtype=object)
    status = pd.Series(SUCCESS, index=index, dtype=TEXT)
    status[(missing | duplicate).to_numpy()] = SKIP
    reason = join_notes(
        size_in,
        (missing, NO_RECORD_ID),
        (duplicate, DUPLICATE_ROW),
        sparse_note(size_in, rows[merged_positions], merged_text.to_numpy(dtype=object)),
        sparse_note(
            size_in,
            rows[leading_positions],
            "recipient of "
            + (group_sizes[leading_positions] - 1).astype(str).astype(object)
            + " merged contact(s)",
        ),
        conflict_notes,
        (too_long & kept, f"external id longer than {config.max_external_id_length}: ignored"),
        problems.where(kept),
        *common_notes,
        cast_notes,
    )
    hashes = {}
    if hash_key is not None:
        anonymous = [hmac_prefix(name.lower() + ":" + clean(contacts[name]), hash_key) for name in aliases]
        hashes = {
            "user_email_hmac": hmac_prefix(emails, hash_key),
            "user_anonymous_ids_hmac": join_notes(size_in, *anonymous),
        }
    log = log_frame(
        USER,
        status,
        {
            "record": "contact:" + contact_ids.fillna("(no record id)"),
            "contact_id": contact_ids,
            "user_id": pd.Series(
                pc.take(user_ids, pa.array(position_of_row, mask=position_of_row < 0)), dtype=TEXT
            ),
            "user_external_id": external,
            **hashes,
            "reason": reason,
        },
    )
    return UserResolution(members=members, log=log, records_in=len(contacts))


def resolve_events(records: pd.Series, contact_ids: pd.Series, resolution: UserResolution) -> pd.DataFrame:
    """``incoming.event.*`` lines for events (``records``: their ids) re-pointed through their contact:
    success with the contact's resolved ``USER_ID``; skip without a contact; error for an unknown contact."""
    records, contact_ids = (
        records.reset_index(drop=True),
        clean(contact_ids).reset_index(drop=True),
    )
    members = resolution.members.set_index("CONTACT_ID")
    user_ids = contact_ids.map(members["USER_ID"]).astype("string")
    recipients = contact_ids.map(members["RECIPIENT_ID"]).astype("string")
    status = pd.Series(SUCCESS, index=records.index, dtype=TEXT)
    status[contact_ids.isna().to_numpy()] = SKIP
    unknown = (contact_ids.notna() & user_ids.isna()).to_numpy()
    status[unknown] = ERROR
    repointed = (recipients != contact_ids).fillna(False)
    reason = join_notes(
        len(records),
        (contact_ids.isna(), EVENT_WITHOUT_CONTACT),
        (unknown, UNKNOWN_CONTACT),
        (REPOINTED_FROM + contact_ids).where(repointed),
    )
    return log_frame(
        EVENT, status, {"record": records, "contact_id": contact_ids, "user_id": user_ids, "reason": reason}
    )
