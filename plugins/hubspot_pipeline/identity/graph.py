"""Connected components of the identifier graph (contacts linked by a shared identifier), vectorised."""

from __future__ import annotations

import numpy as np


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


def star_edges(positions: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining every position to the first position holding the same code (one star per code)."""
    order = np.lexsort((positions, codes))
    positions, codes = positions[order], codes[order]
    starts = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.empty(0, bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(codes)), 0)) if len(codes) else starts
    hub = positions[first]
    return hub[~starts], positions[~starts]
