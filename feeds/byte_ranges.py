"""The distinct bytes of a file a listener fetched: sorted, merged, inclusive ranges (JSON-friendly lists).

    ranges = add_range([], 0, 99)          # [[0, 99]]
    ranges = add_range(ranges, 50, 199)    # [[0, 199]]: overlapping requests are counted once
    ranges = add_range(ranges, 200, 299)   # [[0, 299]]: adjacent ones merge too
    covered(ranges)                         # 300

A player that re-reads the first 100 KB twelve times has fetched 100 KB, not 1.2 MB (IAB v2.2: count the bytes
of the file, not the requests). The list is bounded: a client scattering more than MAX_RANGES disjoint pieces over
one file gets its further disjoint pieces ignored, which can only under-count (the conservative side).
"""

from __future__ import annotations

Ranges = list[list[int]]

MAX_RANGES = 32


def add_range(ranges: Ranges, start: int, end: int) -> Ranges:
    """``ranges`` with [start, end] merged in (a new list; the input is not changed)."""
    if end < start:
        return [list(r) for r in ranges]
    merged: Ranges = []
    placed = False
    for lo, hi in sorted(ranges):
        if hi + 1 < start:  # entirely before the new piece, not touching it
            merged.append([lo, hi])
        elif end + 1 < lo:  # entirely after it
            if not placed:
                merged.append([start, end])
                placed = True
            merged.append([lo, hi])
        else:  # overlaps or touches: grow the new piece
            start, end = min(start, lo), max(end, hi)
    if not placed:
        merged.append([start, end])
    if len(merged) > MAX_RANGES:
        return [list(r) for r in ranges]
    return merged


def covered(ranges: Ranges) -> int:
    """How many distinct bytes the ranges hold."""
    return sum(hi - lo + 1 for lo, hi in ranges)
