"""The ``incoming.{user|account|event}.{success|skip|error}`` log: one line per record with its
identifiers and reason, and the check that every record read is accounted for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hubspot_pipeline.identity.identifiers import TEXT
from hubspot_pipeline.quality.ledger import AccountingError

USER, ACCOUNT, EVENT = "user", "account", "event"
ENTITIES = (USER, ACCOUNT, EVENT)
SUCCESS, SKIP, ERROR = "success", "skip", "error"
STATUSES = (SUCCESS, SKIP, ERROR)
LOG_COLUMNS = [
    "log",
    "record",
    "contact_id",
    "user_id",
    "user_external_id",
    "user_email_hmac",
    "user_anonymous_ids_hmac",
    "account_id",
    "account_external_id",
    "account_domain",
    "reason",
]
NO_RECORD_ID = "no record id"
EVENT_WITHOUT_CONTACT = "event has no contact"
UNKNOWN_CONTACT = "contact not among the resolved contacts"
REPOINTED_FROM = "re-pointed from merged contact "
DUPLICATE_ROW = "duplicate row of the same record id"
MERGED = "merged into another contact of the same user"
Note = pd.Series | np.ndarray | tuple[pd.Series | np.ndarray, str]


def sparse_note(size: int, rows: np.ndarray, values: np.ndarray | str) -> np.ndarray:
    """An object array of ``size`` Nones with ``values`` at ``rows``."""
    array = np.full(size, None, dtype=object)
    array[rows] = values
    return array


def join_notes(size: int, *notes: Note) -> pd.Series:
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


def log_frame(entity: str, status: pd.Series, columns: Mapping[str, pd.Series]) -> pd.DataFrame:
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
