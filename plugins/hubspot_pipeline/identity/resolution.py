"""Identity resolution: who is who, following Hull's ingestion model (format → resolve → publish, with a log
line for every record). Shared by both exports; configured in ``identity:`` of
``include/config/pipeline.yaml``.

**Identifiers** of a contact, strongest first: ``external_id`` (``EXTERNAL_ID``, trimmed), ``email``
(trimmed, lower-cased, a syntactically valid address) and ``anonymous_id`` (the alias columns
``identity.anonymous_ids``, e.g. ``VISITOR_ID``; each column is its own namespace). A value is *not* an
identifier when it is blocked (``blocked_values``; for e-mails also ``blocked_email_patterns``), when more
than ``max_contacts_per_identifier`` contacts share it (a shared inbox, a kiosk's visitor id), or, for an
external id, when it is longer than ``max_external_id_length``. The HubSpot record id (``CONTACT_ID``)
identifies the contact itself, so every contact with a record id resolves to a user; a row without one is
skipped.

**User rules** (all vectorised; no loop over rows):

1. Contacts with the same external id are one user.
2. Contacts without an external id ("mergeable", as in Hull) that share an e-mail or an anonymous id,
   directly or through a chain (A–B by e-mail, B–C by visitor id), form one cluster (connected components).
3. A cluster joins the external-id user it shares an identifier with. When it shares identifiers with
   several, the strongest kind of shared identifier decides (an e-mail beats an anonymous id); when several
   external-id users tie at that kind, the cluster joins none of them: the conflict is logged and the
   cluster stays a user of its own.
4. Contacts carrying different external ids are never merged, whatever else they share.

**Recipient** of a merge (the surviving contact): the contact ranked first by (has an external id, lowest
numeric record id, record id as text). HubSpot record ids grow with creation, so it is the oldest contact
with an external id, else the oldest contact. ``USER_ID`` is the recipient's external id, else
``hubspot-<recipient record id>``; every contact of the user, and every event of those contacts, takes it.
The result depends only on the set of rows, never on their order, and a ``USER_ID`` changes between runs
only when a user gains its first external id (anonymous traffic that signs up, as in Hull) or loses its
recipient.

**Values** of a merged user (:meth:`UserResolution.merge_values`): the recipient's where it has one, else
the first non-empty value of the other contacts in rank order ("the recipient keeps its values").

**Accounts** (:func:`resolve_accounts`): a company is an account, known by its HubSpot company id or, with
``identity.account_id: external_id``, by its external id (companies without one keep their company id).
Company domains are normalised (``https://www.Example.com/`` → ``example.com``); a free e-mail provider's
domain (:func:`free_email_domains`) is never an account claim. Companies are ranked like contacts: with an
external id first, then by lowest company id. Companies sharing a domain stay separate accounts, and the
domain's e-mail matches go to the first ranked. A user belongs to at most one account: through an explicit
contact–company association first (its contacts in rank order, then companies in rank order), and only when
it has none, through the domain of its contacts' e-mail addresses (contacts in rank order).

**Logs**: every record ends as ``incoming.{user|account|event}.{success|skip|error}`` (:class:`IncomingLog`)
with its identifiers and a reason; e-mails and anonymous ids appear only as SHA-256 prefixes of their
normalised value. *success*: the record was resolved (a merged contact too: "merged into contact … via
email"; ignored identifiers and failed casts are noted in its reason). *skip*: a row without a record id, or a
duplicate row of one record id. *error*: an event whose contact is not among the resolved contacts (no user
or account rule produces an error: a contact or company with a record id always resolves). The counts are
checked against the records read (:meth:`IncomingLog.check`), failing the run if anything went missing.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.config import IdentityConfig
from hubspot_pipeline.identity.attributes import FormattedAttributes, format_attributes
from hubspot_pipeline.quality.ledger import AccountingError

HUBSPOT_USER_PREFIX = "hubspot-"
EXTERNAL_ID, EMAIL, ANONYMOUS_ID = "external_id", "email", "anonymous_id"
KINDS = (EXTERNAL_ID, EMAIL, ANONYMOUS_ID)  # priority order: index 0 is the strongest
USER, ACCOUNT, EVENT = "user", "account", "event"
ENTITIES = (USER, ACCOUNT, EVENT)
SUCCESS, SKIP, ERROR = "success", "skip", "error"
STATUSES = (SUCCESS, SKIP, ERROR)
HASH_LENGTH = 16
FREE_EMAIL_DOMAINS_FILE = Path(__file__).resolve().parent / "data" / "free_email_domains.txt"
IDENTITY_COLUMNS = ("CONTACT_ID", "EXTERNAL_ID", "EMAIL")
LOG_COLUMNS = [
    "log",
    "record",
    "contact_id",
    "user_id",
    "user_external_id",
    "user_email_sha256",
    "user_anonymous_ids_sha256",
    "account_id",
    "account_external_id",
    "account_domain",
    "reason",
]
_EMAIL = r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+"
_CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]"  # RE2 syntax (pyarrow)
TEXT = pd.StringDtype("pyarrow")
_HOST = r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}"
NO_RECORD_ID = "no record id"
EVENT_WITHOUT_CONTACT = "event has no contact"
UNKNOWN_CONTACT = "contact not among the resolved contacts"
REPOINTED_FROM = "re-pointed from merged contact "
DUPLICATE_ROW = "duplicate row of the same record id"
MERGED = "merged into another contact of the same user"


# --- identifiers -----------------------------------------------------------------------------------------


def clean(values: pd.Series) -> pd.Series:
    """Identifiers as text, as :func:`hubspot_pipeline.formatting.clean_identifier` makes them (numbers
    without ``.0``, control characters as spaces, trimmed, empty is null), computed in Arrow."""
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    array = pa.array(values.astype(TEXT))
    array = pc.utf8_trim_whitespace(pc.replace_substring_regex(array, _CONTROL_CHARACTERS, " "))
    array = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    return pd.Series(array, index=values.index, dtype=TEXT)


def usable_identifier(values: pd.Series, blocked: Iterable[str] | None = None) -> pd.Series:
    """Trimmed identifiers with blocked placeholders (``null``, ``0``, ``anonymous``…) made null."""
    blocked = IdentityConfig().blocked_values if blocked is None else frozenset(blocked)
    identifiers = clean(values)
    return identifiers.mask(identifiers.str.lower().isin(blocked))


def normalise_email(values: pd.Series) -> pd.Series:
    """Trimmed, lower-cased e-mail addresses; empty is null (syntax is checked by :func:`email_problems`)."""
    return clean(values).str.lower()


def _fullmatch(values: pd.Series, pattern: str) -> pd.Series:
    """Whether each value matches ``pattern`` whole (RE2 syntax, in Arrow); null is False."""
    matched = pc.match_substring_regex(pa.array(values.astype(TEXT)), f"^(?:{pattern})$")
    return pd.Series(pc.fill_null(matched, False).to_numpy(zero_copy_only=False), index=values.index)


def email_problems(emails: pd.Series, config: IdentityConfig) -> pd.Series:
    """Why each normalised address is not an identifier (null: it is one): malformed, or a placeholder."""
    problems = pd.Series(pd.NA, index=emails.index, dtype=TEXT)
    present = emails.notna()
    malformed = present & ~_fullmatch(emails, _EMAIL)
    blocked = present & emails.isin(config.blocked_values)
    if config.blocked_email_patterns:
        pattern = "|".join(f"(?:{each})" for each in config.blocked_email_patterns)
        blocked |= present & _fullmatch(emails, pattern)
    problems[malformed.to_numpy(bool)] = "e-mail malformed: not used to merge"
    problems[(blocked & ~malformed).to_numpy(bool)] = "e-mail is a placeholder (blocked): not used to merge"
    return problems


def email_domain(emails: pd.Series) -> pd.Series:
    """The domain of normalised e-mail addresses (text after the last ``@``)."""
    domains = pc.replace_substring_regex(pa.array(emails.astype(TEXT)), "^.*@", "")
    return pd.Series(domains, index=emails.index, dtype=TEXT)


def normalise_domain(values: pd.Series) -> pd.Series:
    """Company domains as host names: ``https://www.Example.com/path`` → ``example.com``; invalid → null."""
    text = clean(values).str.lower()
    text = text.str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True).str.replace(r"^www\.", "", regex=True)
    text = text.str.replace(r"[/:?#].*$", "", regex=True).str.strip(".")
    return text.where(_fullmatch(text, _HOST))


@functools.cache
def _shipped_free_email_domains() -> frozenset[str]:
    lines = FREE_EMAIL_DOMAINS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def free_email_domains(extra: Iterable[str] = ()) -> frozenset[str]:
    """The shipped free e-mail provider domains (``data/free_email_domains.txt``) plus ``extra``."""
    return _shipped_free_email_domains() | {domain.strip().lower() for domain in extra}


@functools.cache
def _duckdb() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()  # in memory; opening one costs ~0.1 s, so the process keeps it


def sha256_prefix(values: pd.Series, length: int = HASH_LENGTH) -> pd.Series:
    """The first ``length`` hex digits of the SHA-256 of each value (null stays null), computed in DuckDB."""
    table = pa.table({"value": pa.array(values.astype(TEXT))})
    with _duckdb().cursor() as connection:
        hashed = connection.from_arrow(table).project(f"left(sha256(value), {int(length)}) AS h").arrow()
        return pd.Series(hashed.read_all().column(0), index=values.index, dtype=TEXT)


# --- connected components --------------------------------------------------------------------------------


def connected_components(size: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label every node ``0..size-1`` with the lowest node of its component, given edges ``left[i]–right[i]``.

    Vectorised hook-and-compress (Shiloach–Vishkin style): each round hooks the root of the higher label under
    the lower one for every edge whose ends still differ, then compresses paths by pointer jumping. Rounds
    grow with the logarithm of the components' diameter, not with the number of nodes.
    """
    labels = np.arange(size, dtype=np.int64)
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    while len(left):
        left_labels, right_labels = labels[left], labels[right]
        differ = left_labels != right_labels
        if not differ.any():
            break
        left, right = left[differ], right[differ]
        left_labels, right_labels = left_labels[differ], right_labels[differ]
        low = np.minimum(left_labels, right_labels)
        np.minimum.at(labels, left_labels, low)
        np.minimum.at(labels, right_labels, low)
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
    return labels


def _star_edges(positions: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining every position to the first position holding the same code (one star per code)."""
    order = np.lexsort((positions, codes))
    positions, codes = positions[order], codes[order]
    starts = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.empty(0, bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(codes)), 0)) if len(codes) else starts
    hub = positions[first]
    return hub[~starts], positions[~starts]


# --- notes and accounting --------------------------------------------------------------------------------


Note = pd.Series | np.ndarray | tuple[pd.Series | np.ndarray, str]


def _sparse(size: int, rows: np.ndarray, values: np.ndarray | str) -> np.ndarray:
    """An object array of ``size`` Nones with ``values`` at ``rows``."""
    array = np.full(size, None, dtype=object)
    array[rows] = values
    return array


def _join_notes(size: int, *notes: Note) -> pd.Series:
    """Per row, the ``"; "``-join of the notes that apply (null when none does). A note is ``(mask, text)``,
    or a column (Series or object array) that applies where it is not null. Only rows with a note are
    touched, so the cost follows the number of notes, not of rows."""
    joined = np.full(size, None, dtype=object)
    for note in notes:
        if isinstance(note, tuple):
            mask, text = note
            mask = mask.fillna(False) if isinstance(mask, pd.Series) else mask
            rows = np.flatnonzero(np.asarray(mask, dtype=bool))
            values = np.full(len(rows), text, dtype=object)
        elif isinstance(note, pd.Series):
            rows = np.flatnonzero(note.notna().to_numpy())
            values = note.iloc[rows].astype(object).to_numpy()
        else:
            rows = np.flatnonzero(pd.notna(note))
            values = note[rows]
        current = joined[rows]
        first = pd.isna(current)
        joined[rows[first]] = values[first]
        joined[rows[~first]] = current[~first] + "; " + values[~first]
    return pd.Series(pd.array(joined, dtype=TEXT))


def _log_frame(entity: str, status: pd.Series, columns: Mapping[str, pd.Series]) -> pd.DataFrame:
    frame = pd.DataFrame({"log": ("incoming." + entity + "." + status).astype(TEXT).reset_index(drop=True)})
    for name in LOG_COLUMNS[1:]:
        column = columns.get(name)
        if column is None:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype=TEXT)
        else:
            frame[name] = column.astype(TEXT).reset_index(drop=True)
    return frame


@dataclass
class IncomingLog:
    """Every record of a run as ``incoming.{entity}.{status}``; checks *read = success + skip + error*."""

    records_in: Counter = field(default_factory=Counter)
    frames: list[pd.DataFrame] = field(default_factory=list)

    def add(self, entity: str, records_in: int, log: pd.DataFrame) -> None:
        """Record ``records_in`` records of ``entity`` read and their log lines."""
        if entity not in ENTITIES:
            raise ValueError(f"unknown entity {entity!r}")
        self.records_in[entity] += int(records_in)
        self.frames.append(log[LOG_COLUMNS])

    def frame(self) -> pd.DataFrame:
        """All log lines, entities in order, then by outcome and record (a stable order across runs)."""
        if not self.frames:
            return pd.DataFrame({name: pd.Series(dtype=TEXT) for name in LOG_COLUMNS})
        frame = pd.concat(self.frames, ignore_index=True)
        entity = frame["log"].str.split(".").str[1].map({name: i for i, name in enumerate(ENTITIES)})
        return (
            frame.assign(_entity=entity)
            .sort_values(["_entity", "log", "record", "contact_id"], kind="stable", na_position="last")
            .drop(columns="_entity")
            .reset_index(drop=True)
        )

    def counts(self) -> dict[str, int]:
        """``incoming.<entity>.<status>`` → count, for every entity read (zeros included)."""
        observed = Counter()
        for frame in self.frames:
            observed.update({str(key): int(count) for key, count in frame["log"].value_counts().items()})
        return {
            f"incoming.{entity}.{status}": observed[f"incoming.{entity}.{status}"]
            for entity in ENTITIES
            if entity in self.records_in
            for status in STATUSES
        }

    def reasons(self) -> dict[str, dict[str, int]]:
        """Counts of skip and error reasons per ``incoming.<entity>.<status>``."""
        if not self.frames:
            return {}
        frame = pd.concat([each[["log", "reason"]] for each in self.frames], ignore_index=True)
        failed = frame[~frame["log"].str.endswith("." + SUCCESS)]
        grouped = failed.fillna({"reason": "(no reason)"}).groupby(["log", "reason"]).size()
        result: dict[str, dict[str, int]] = {}
        for (log, reason), count in sorted(grouped.items()):
            result.setdefault(str(log), {})[str(reason)] = int(count)
        return result

    def check(self) -> None:
        """Raise :class:`AccountingError` unless every entity's records read = success + skip + error."""
        counts = self.counts()
        for entity, read in sorted(self.records_in.items()):
            by_status = {status: counts[f"incoming.{entity}.{status}"] for status in STATUSES}
            if sum(by_status.values()) != read:
                detail = ", ".join(f"{status} {count}" for status, count in by_status.items())
                raise AccountingError(
                    f"identity: read {read} {entity} records but logged {sum(by_status.values())} ({detail})"
                )

    def to_dict(self) -> dict:
        return {
            "records_in": dict(sorted(self.records_in.items())),
            **self.counts(),
            "reasons": self.reasons(),
        }


# --- users -----------------------------------------------------------------------------------------------


def _deduplicated(frame: pd.DataFrame, ids: pd.Series) -> pd.Series:
    """Mask of rows that repeat an earlier row's id; which copy is kept depends only on the rows' values."""
    repeated = ids.duplicated(keep=False) & ids.notna()
    duplicate = pd.Series(False, index=ids.index)
    if repeated.any():
        subset = frame[repeated.to_numpy()].astype("string").assign(_ID=ids[repeated])
        ordered = subset.sort_values(["_ID", *frame.columns], kind="stable", na_position="last")
        drop = ordered.index[ordered["_ID"].duplicated(keep="first").to_numpy()]
        duplicate[drop] = True
    return duplicate


def _rank_order(ids: pd.Series, has_external_id: np.ndarray) -> np.ndarray:
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
    contacts: pd.DataFrame, config: IdentityConfig, *, cast_errors: pd.DataFrame | None = None
) -> UserResolution:
    """Resolve contacts (``CONTACT_ID``, ``EXTERNAL_ID``, ``EMAIL`` and the alias columns) into users.

    ``cast_errors`` (from :func:`~.attributes.format_attributes`, keyed by ``CONTACT_ID``) adds
    the attributes that failed to cast to each contact's log line.
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
    duplicate = _deduplicated(contacts[[c for c in contacts.columns if c != "CONTACT_ID"]], contact_ids)
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
    rows = kept_rows[_rank_order(contact_ids.iloc[kept_rows].reset_index(drop=True), has_external)]
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
    components = connected_components(size, *_star_edges(pair_positions[mergeable], pair_codes[mergeable]))
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
    reason = _join_notes(
        size_in,
        (missing, NO_RECORD_ID),
        (duplicate, DUPLICATE_ROW),
        _sparse(size_in, rows[merged_positions], merged_text.to_numpy(dtype=object)),
        _sparse(
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
    anonymous_hashes = [sha256_prefix(name.lower() + ":" + clean(contacts[name])) for name in aliases]
    log = _log_frame(
        USER,
        status,
        {
            "record": "contact:" + contact_ids.fillna("(no record id)"),
            "contact_id": contact_ids,
            "user_id": pd.Series(
                pc.take(user_ids, pa.array(position_of_row, mask=position_of_row < 0)), dtype=TEXT
            ),
            "user_external_id": external,
            "user_email_sha256": sha256_prefix(emails),
            "user_anonymous_ids_sha256": _join_notes(size_in, *anonymous_hashes),
            "reason": reason,
        },
    )
    return UserResolution(members=members, log=log, records_in=len(contacts))


def contact_user_ids(contacts: pd.DataFrame, config: IdentityConfig | None = None) -> pd.DataFrame:
    """Map ``CONTACT_ID`` to the resolved ``USER_ID`` for every contact with a record id (merged ones too)."""
    resolution = resolve_users(contacts, config or IdentityConfig())
    return resolution.members[["CONTACT_ID", "USER_ID"]].reset_index(drop=True)


# --- events ----------------------------------------------------------------------------------------------


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
    reason = _join_notes(
        len(records),
        (contact_ids.isna(), EVENT_WITHOUT_CONTACT),
        (unknown, UNKNOWN_CONTACT),
        (REPOINTED_FROM + contact_ids).where(repointed),
    )
    return _log_frame(
        EVENT, status, {"record": records, "contact_id": contact_ids, "user_id": user_ids, "reason": reason}
    )


# --- accounts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountResolution:
    """Companies as accounts, and each user's account.

    ``accounts``: one row per company read (``COMPANY_ID``, ``ACCOUNT_ID``, ``EXTERNAL_ID``, ``DOMAIN``, the
    normalised domain, and ``DOMAIN_OWNER``: whether e-mail domain matches go to it). ``user_accounts``: one
    row per user with an account (``USER_ID``, ``ACCOUNT_ID``, ``COMPANY_ID``, ``VIA``: ``association`` or
    ``domain``). ``log``: one ``incoming.account.*`` line per company row.
    """

    accounts: pd.DataFrame
    user_accounts: pd.DataFrame
    contact_accounts: pd.DataFrame
    log: pd.DataFrame
    records_in: int


def resolve_accounts(
    users: UserResolution,
    companies: pd.DataFrame,
    associations: pd.DataFrame,
    config: IdentityConfig,
    free_domains: frozenset[str] | None = None,
) -> AccountResolution:
    """Map each resolved user to at most one account (``COMPANY_ID``, ``EXTERNAL_ID``, ``DOMAIN`` of
    companies; ``CONTACT_ID``, ``COMPANY_ID`` of contact–company associations)."""
    free_domains = free_email_domains(config.free_email_domains) if free_domains is None else free_domains
    companies = companies.reset_index(drop=True)
    index = companies.index
    company_ids = clean(companies["COMPANY_ID"])
    missing = company_ids.isna()
    duplicate = _deduplicated(companies[[c for c in companies.columns if c != "COMPANY_ID"]], company_ids)
    kept = ~(missing | duplicate)
    external = usable_identifier(companies["EXTERNAL_ID"], config.blocked_values)
    too_long = (external.str.len() > config.max_external_id_length).fillna(False).astype(bool)
    external = external.mask(too_long)
    raw_domain = clean(companies["DOMAIN"])
    domains = normalise_domain(companies["DOMAIN"])
    invalid_domain = raw_domain.notna() & domains.isna()
    free = domains.isin(free_domains).fillna(False).astype(bool)
    claims = domains.where(kept & ~free)

    kept_rows = np.flatnonzero(kept.to_numpy())
    ranked = kept_rows[
        _rank_order(
            company_ids.iloc[kept_rows].reset_index(drop=True), external.notna().to_numpy()[kept_rows]
        )
    ]
    rank = pd.Series(np.arange(len(ranked)), index=ranked).reindex(index)
    claim_frame = pd.DataFrame({"domain": claims, "rank": rank}).dropna(subset=["domain"])
    owner_rows = claim_frame.sort_values("rank", kind="stable").drop_duplicates("domain").index
    owner = pd.Series(False, index=index)
    owner[owner_rows] = True
    owner_of_domain = pd.Series(company_ids[owner_rows].to_numpy(), index=claims[owner_rows].to_numpy())
    account_ids = company_ids
    if config.account_id == EXTERNAL_ID:
        account_ids = external.fillna(company_ids)
    accounts = (
        pd.DataFrame(
            {
                "COMPANY_ID": company_ids,
                "ACCOUNT_ID": account_ids,
                "EXTERNAL_ID": external,
                "DOMAIN": domains,
                "DOMAIN_OWNER": owner,
            }
        )
        .iloc[ranked]
        .reset_index(drop=True)
    )
    company_rank = pd.Series(np.arange(len(ranked)), index=company_ids.iloc[ranked].to_numpy())

    # users: association first (contacts in rank order, then the company's rank), else the e-mail domain
    member_rank = pd.Series(np.arange(len(users.members)), index=users.members["CONTACT_ID"].to_numpy())
    links = pd.DataFrame(
        {
            "CONTACT_ID": clean(associations["CONTACT_ID"]),
            "COMPANY_ID": clean(associations["COMPANY_ID"]),
        }
    )
    links["member"] = links["CONTACT_ID"].map(member_rank)
    links["company"] = links["COMPANY_ID"].map(company_rank)
    links = links.dropna(subset=["member", "company"])
    links["USER_ID"] = users.members["USER_ID"].to_numpy()[links["member"].astype(int).to_numpy()]
    by_association = (
        links.sort_values(["member", "company"], kind="stable")
        .drop_duplicates("USER_ID")
        .assign(VIA="association")
    )
    domain_links = users.members.assign(member=np.arange(len(users.members)))
    domain_links = domain_links[~domain_links["USER_ID"].isin(by_association["USER_ID"])]
    domain_links = domain_links.assign(COMPANY_ID=domain_links["EMAIL_DOMAIN"].map(owner_of_domain))
    domain_links = domain_links.dropna(subset=["COMPANY_ID"])
    domain_links = domain_links[~domain_links["EMAIL_DOMAIN"].isin(free_domains)]
    by_domain = (
        domain_links.sort_values("member", kind="stable").drop_duplicates("USER_ID").assign(VIA="domain")
    )
    account_of_company = accounts.set_index("COMPANY_ID")["ACCOUNT_ID"]
    user_accounts = pd.concat(
        [by_association[["USER_ID", "COMPANY_ID", "VIA"]], by_domain[["USER_ID", "COMPANY_ID", "VIA"]]],
        ignore_index=True,
    )
    user_accounts.insert(1, "ACCOUNT_ID", user_accounts["COMPANY_ID"].map(account_of_company))
    user_accounts = (
        user_accounts.astype("string").sort_values("USER_ID", kind="stable").reset_index(drop=True)
    )
    contact_accounts = users.members[["CONTACT_ID", "USER_ID"]].merge(
        user_accounts, on="USER_ID", how="inner"
    )

    status = pd.Series(SUCCESS, index=index, dtype=TEXT)
    status[(missing | duplicate).to_numpy()] = SKIP
    shared_owner = claims.map(owner_of_domain)
    reason = _join_notes(
        len(companies),
        (missing, NO_RECORD_ID),
        (duplicate, DUPLICATE_ROW),
        (kept & free, "domain is a free e-mail provider's: not an account claim"),
        (kept & invalid_domain, "domain is not a valid host name: ignored"),
        ("domain shared with company " + shared_owner.astype(TEXT) + ", which gets its e-mail matches").where(
            kept & claims.notna() & ~owner
        ),
        (kept & too_long, f"external id longer than {config.max_external_id_length}: ignored"),
        (
            kept & external.isna() & (config.account_id == EXTERNAL_ID),
            "no usable external id: account id is the company id",
        ),
    )
    log = _log_frame(
        ACCOUNT,
        status,
        {
            "record": "company:" + company_ids.fillna("(no record id)"),
            "account_id": account_ids.where(kept),
            "account_external_id": external,
            "account_domain": domains,
            "reason": reason,
        },
    )
    return AccountResolution(accounts, user_accounts, contact_accounts, log, len(companies))


# --- the stage ---------------------------------------------------------------------------------------------


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


def identify(contacts: pd.DataFrame, events: pd.DataFrame | None, config: IdentityConfig) -> Identity:
    """Format the contacts' attributes, resolve contacts into users, re-point events (``RECORD_ID``,
    ``CONTACT_ID``; None: no events), and check that every contact and event ended in the log (else
    :class:`AccountingError`). Accounts are resolved separately (:func:`resolve_accounts`, then
    ``identity.incoming.add("account", …)``)."""
    attributes = format_attributes(
        contacts,
        contact_attribute_columns(contacts, config),
        key="CONTACT_ID",
        types=config.attribute_types,
        order_by="CONTACT_ID",
    )
    users = resolve_users(contacts, config, cast_errors=attributes.errors)
    incoming = IncomingLog()
    incoming.add(USER, len(contacts), users.log)
    if events is not None:
        incoming.add(EVENT, len(events), resolve_events(events["RECORD_ID"], events["CONTACT_ID"], users))
    incoming.check()
    return Identity(attributes, users, incoming)
