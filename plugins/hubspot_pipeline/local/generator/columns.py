"""Building blocks of the generated columns: the history window, random streams and Arrow helpers.

Each table family draws from its own stream (:func:`random_stream`) and builds its columns column by column
with numpy and pyarrow; :func:`object_rows` adds the system columns every ``OBJECTS_*`` table carries.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.local.share_schema import OBJECT_TYPE_IDS, object_ids

MS_PER_DAY = 86_400_000
MS_PER_HOUR = 3_600_000


@dataclass(frozen=True)
class Window:
    """The generated history in epoch milliseconds, from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: int
    end: int

    @classmethod
    def ending(cls, end_date: date, days: int) -> Window:
        end = int(pd.Timestamp(end_date + timedelta(days=1)).value // 1_000_000)
        return cls(start=end - days * MS_PER_DAY, end=end)

    @property
    def days(self) -> int:
        return (self.end - self.start) // MS_PER_DAY


def random_stream(seed: int, stream: str, *extra: int) -> np.random.Generator:
    """An independent random stream per table (and chunk): one table's size doesn't change the others."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), *extra])


def strings(values: Sequence[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


def pick(
    rng: np.random.Generator, options: Sequence[str | None], size: int, p: Sequence[float] | None = None
) -> pa.Array:
    """``size`` values drawn from ``options``, with probabilities ``p``."""
    return strings(options).take(rng.choice(len(options), size=size, p=p))


def display_and_slug(pairs: Sequence[tuple[str, str]], positions: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """The display forms and the slugs (e-mail and domain forms) of ``pairs`` at ``positions``."""
    return tuple(strings([pair[side] for pair in pairs]).take(positions) for side in (0, 1))


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, "")


def text(numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(numbers), pa.string())


def padded(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(text(numbers), width=width, padding="0")


def null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def copy_rows(values: pa.Array | pa.Table, targets: np.ndarray, sources: np.ndarray) -> pa.Array | pa.Table:
    """``values`` with the rows at ``targets`` replaced by those at ``sources``."""
    index = np.arange(len(values))
    index[targets] = sources
    return values.take(index)


def weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` positions drawn with probability proportional to ``weights``."""
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def below(rng: np.random.Generator, limits: np.ndarray) -> np.ndarray:
    """A random integer in ``[0, limit)`` for each of ``limits``."""
    return (rng.random(len(limits)) * limits).astype(np.int64)


def others(rng: np.random.Generator, size: int, rows: np.ndarray) -> np.ndarray:
    """One random row number per entry of ``rows``, never one of ``rows`` (unless there is no other row)."""
    keep = np.ones(size, dtype=bool)
    keep[rows] = False
    candidates = np.flatnonzero(keep)
    return candidates[rng.integers(len(candidates), size=len(rows))] if len(candidates) else rows


def hex_ids(rng: np.random.Generator, size: int, *, dashed: bool) -> pa.Array:
    """Random 128-bit ids as 32 hex digits, or as UUID-style ``8-4-4-4-12`` text when ``dashed``."""
    digits = np.frombuffer(rng.bytes(16 * size).hex().encode(), dtype=np.uint8).reshape(size, 32)
    if dashed:
        groups = np.split(digits, [8, 12, 16, 20], axis=1)
        dash = np.full((size, 1), ord("-"), dtype=np.uint8)
        digits = np.hstack([part for group in groups for part in (group, dash)][:-1])
    return pa.array(np.ascontiguousarray(digits).view(f"S{digits.shape[1]}").ravel()).cast(pa.string())


def timestamps(epoch_ms: np.ndarray) -> pa.Array:
    return pa.array(epoch_ms.astype("datetime64[ms]"))


def date_text(rng: np.random.Generator, epoch_ms: np.ndarray) -> pa.Array:
    """Dates as HubSpot property text: mostly ISO-8601 (``T…Z`` and space styles), some epoch milliseconds."""
    moments = timestamps(epoch_ms)
    return pc.choose(
        pa.array(rng.choice(3, size=len(epoch_ms), p=(0.6, 0.25, 0.15))),
        pc.strftime(moments, format="%Y-%m-%dT%H:%M:%SZ"),
        pc.strftime(moments, format="%Y-%m-%d %H:%M:%S"),
        text(epoch_ms),
    )


def created_before(rng: np.random.Generator, size: int, window: Window, max_age_days: int) -> np.ndarray:
    """Creation times spread over the ``max_age_days`` before the window's end."""
    return window.end - 1 - rng.integers(0, max_age_days * MS_PER_DAY, size)


def object_rows(
    rng: np.random.Generator,
    table: str,
    changed_ms: np.ndarray,
    window: Window,
    properties: dict[str, pa.Array],
) -> dict[str, pa.Array]:
    """An ``OBJECTS_*`` table's columns: system columns, then ``properties`` (``PROPERTY_`` prefix added).

    ``UPDATEDAT`` falls between the record's last known change and the window's end, ``INGESTEDAT`` up to six
    hours later.
    """
    size = len(changed_ms)
    last_change = np.minimum(changed_ms, window.end - 1)
    updated = last_change + (rng.random(size) * (window.end - last_change)).astype(np.int64)
    ingested = np.minimum(updated + rng.integers(0, 6 * MS_PER_HOUR, size), window.end - 1)
    return {
        "OBJECTID": pa.array(object_ids(table, size)),
        "OBJECTTYPEID": pa.repeat(OBJECT_TYPE_IDS[table], size),
        "UPDATEDAT": timestamps(updated),
        "INGESTEDAT": timestamps(ingested),
        **{f"PROPERTY_{name}": values for name, values in properties.items()},
    }
