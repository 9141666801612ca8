"""Latency histograms for rollups: fixed log-scale buckets, so histograms of any rows add up column by column
(in SQL, across replicas) and a percentile can be read from the sum.

Bucket i < LAST holds latencies below 2^(i/2) ms (and at least the previous bound); the last bucket holds the
rest. Neighbouring bounds differ by a factor of sqrt(2), so a percentile read from the buckets (interpolated
geometrically inside its bucket) is within about 20% of the exact value."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

# 2^(40/2) ms = 1,048,576 ms (~17 minutes) is the last bound; slower requests share the overflow bucket.
BOUND_COUNT = 41
BOUNDS_MS: tuple[float, ...] = tuple(2 ** (i / 2) for i in range(BOUND_COUNT))
BUCKET_COUNT = BOUND_COUNT + 1
COLUMNS: tuple[str, ...] = tuple(f"lat_{i:02d}" for i in range(BUCKET_COUNT))


def bucket_of(latency_ms: float) -> int:
    """The bucket index of one latency (negative or NaN values count as 0 ms)."""
    if not latency_ms > 0:
        return 0
    return bisect.bisect_right(BOUNDS_MS, latency_ms)


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) of a histogram, or None when it is empty."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count <= 0:
            continue
        if seen + count >= rank:
            low = BOUNDS_MS[index - 1] if index > 0 else 0.0
            high = BOUNDS_MS[index] if index < BOUND_COUNT else BOUNDS_MS[-1] * math.sqrt(2)
            share = (rank - seen) / count
            if low <= 0:
                return high * share
            return float(low * (high / low) ** share)
        seen += count
    return BOUNDS_MS[-1]
