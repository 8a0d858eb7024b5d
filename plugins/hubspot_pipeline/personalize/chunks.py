"""Streaming the interactions in chunks of time: a chunk is a range of whole days of the export window.

Chunks are cut where the warehouse's per-day event counts reach ``chunk_rows``, so a worker holds one chunk
at a time however long the history is. Because ``TIMESTAMP`` leads the interactions' unique key and their
output order, rows that could collide on the key always share a chunk, and chunks written one after the
other in time order are byte for byte the file a single chunk would give.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from hubspot_pipeline.personalize.transform import (
    ExportWindow,
)


@dataclass(frozen=True)
class ChunkPlan:
    """Chunk ``i`` holds timestamps from ``boundaries[i - 1]`` (inclusive) to ``boundaries[i]`` (exclusive),
    in epoch seconds; the first chunk is open below and the last ends with the export window."""

    boundaries: tuple[int, ...]
    chunk_rows: int

    @property
    def count(self) -> int:
        return len(self.boundaries) + 1

    def ranges(self, window: ExportWindow) -> list[tuple[datetime | None, datetime]]:
        """Per chunk, the ``OCCURREDAT`` range to query (naive UTC datetimes, as the share stores them)."""
        starts: list[datetime | None] = [window.start, *map(_utc, self.boundaries)]
        ends = [*map(_utc, self.boundaries), window.end]
        return [
            (start.replace(tzinfo=None) if start else None, end.replace(tzinfo=None))
            for start, end in zip(starts, ends, strict=True)
        ]

    def chunk_of(self, timestamps: pd.Series) -> np.ndarray:
        """The chunk of each epoch-second timestamp; rows without one go to the last chunk."""
        values = pd.to_numeric(timestamps, errors="coerce").astype("Float64")
        positions = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), values.fillna(0), "right")
        return np.where(values.isna().to_numpy(), self.count - 1, positions)

    def to_dict(self) -> dict:
        return {"boundaries": list(self.boundaries), "chunk_rows": self.chunk_rows}

    @classmethod
    def from_dict(cls, data: dict) -> ChunkPlan:
        return cls(tuple(data["boundaries"]), data["chunk_rows"])


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def plan_chunks(events_per_day: pd.DataFrame, chunk_rows: int) -> ChunkPlan:
    """Cut the window into chunks of whole days holding about ``chunk_rows`` events each (at least one
    day: a single day busier than ``chunk_rows`` is one chunk). ``events_per_day``: ``EVENT_DAY``,
    ``EVENTS`` (more rows per day are added up)."""
    per_day = events_per_day.groupby("EVENT_DAY", sort=True)["EVENTS"].sum()
    boundaries, in_chunk = [], 0
    for day, events in per_day.items():
        if in_chunk and in_chunk + int(events) > chunk_rows:
            boundaries.append(_day_start(day))
            in_chunk = 0
        in_chunk += int(events)
    return ChunkPlan(tuple(boundaries), chunk_rows)


def _day_start(day: date | datetime | pd.Timestamp) -> int:
    start = pd.Timestamp(day).normalize()
    return int((start.tz_localize(None) - pd.Timestamp(0)) // timedelta(seconds=1))


def part_key(prefix: str, chunk: int) -> str:
    """The staging key of one chunk's part of a streamed dataset."""
    return f"{prefix}/part-{chunk:05d}.parquet"


def release_memory() -> None:
    """Hand a finished chunk's memory back to the system: Arrow's allocator otherwise keeps it cached,
    and the peak grows with the number of chunks instead of staying at one chunk's worth."""
    gc.collect()
    pa.default_memory_pool().release_unused()
