"""Row accounting: every row a run reads ends written, skipped or quarantined, each with a reason, and
the invariant *read = written + skipped + quarantined* is checked before anything is published."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from airflow.sdk.exceptions import AirflowFailException


class AccountingError(AirflowFailException):
    """Rows went missing: the counts of a dataset do not add up (the task fails without retrying)."""


@dataclass
class DatasetLedger:
    """Counts of one dataset's rows, by outcome and reason."""

    read: int = 0
    written: int = 0
    skipped: Counter = field(default_factory=Counter)
    quarantined: Counter = field(default_factory=Counter)
    corrected: Counter = field(default_factory=Counter)

    def skip(self, reason: str, count: int) -> None:
        if count:
            self.skipped[reason] += int(count)

    def correct(self, reason: str, count: int) -> None:
        """Record values fixed by a documented rule (the row itself is still written)."""
        if count:
            self.corrected[reason] += int(count)

    def quarantine(self, reasons: pd.Series) -> None:
        """Record quarantined rows from their reason column (one reason string per row)."""
        for reason, count in reasons.value_counts(sort=False).items():
            self.quarantined[str(reason)] += int(count)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    def check(self, dataset: str) -> None:
        """Raise :class:`AccountingError` unless read = written + skipped + quarantined."""
        accounted = self.written + self.skipped_total + self.quarantined_total
        if accounted != self.read:
            raise AccountingError(
                f"{dataset}: read {self.read} rows but accounted for {accounted} "
                f"(written {self.written}, skipped {self.skipped_total}, "
                f"quarantined {self.quarantined_total})"
            )

    def reason_counts(self) -> Counter:
        """Quarantined rows per single reason: a row failing several rules (``"A; B"``) counts for each."""
        counts: Counter = Counter()
        for joined, count in self.quarantined.items():
            for reason in joined.split("; "):
                counts[reason] += count
        return counts

    def quarantine_excess(
        self, max_share: float | None, max_share_per_reason: Mapping[str, float]
    ) -> list[str]:
        """Why too large a share of the rows read was quarantined: in all (above ``max_share``; ``None``:
        no ceiling) or for one reason (above the ceiling of the longest prefix of
        ``max_share_per_reason`` it starts with; ``""`` matches every reason). Empty when within."""
        if not self.read:
            return []
        problems = []
        if max_share is not None and self.quarantined_total > max_share * self.read:
            problems.append(_excess(self.quarantined_total, self.read, max_share))
        for reason, count in sorted(self.reason_counts().items(), key=lambda item: (-item[1], item[0])):
            prefixes = [prefix for prefix in max_share_per_reason if reason.startswith(prefix)]
            if prefixes and count > (ceiling := max_share_per_reason[max(prefixes, key=len)]) * self.read:
                problems.append(_excess(count, self.read, ceiling, f" for '{reason}'"))
        return problems

    def to_dict(self) -> dict:
        return {
            "read": self.read,
            "written": self.written,
            "skipped": dict(sorted(self.skipped.items())),
            "quarantined": dict(sorted(self.quarantined.items())),
            "corrected": dict(sorted(self.corrected.items())),
        }

    @classmethod
    def from_dict(cls, data: dict) -> DatasetLedger:
        return cls(
            read=data["read"],
            written=data["written"],
            skipped=Counter(data["skipped"]),
            quarantined=Counter(data["quarantined"]),
            corrected=Counter(data["corrected"]),
        )


def _excess(count: int, read: int, ceiling: float, why: str = "") -> str:
    return f"{count} of {read} rows ({count / read:.1%}) quarantined{why}, at most {ceiling:.1%} allowed"
