"""Percentiles for benchmark reports."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (``p`` in 0..100), as numpy's default."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float], digits: int = 1) -> dict[str, float | None]:
    """``{"p50": .., "p95": ..}`` (None for no values), as the reports print them."""
    if not values:
        return {"p50": None, "p95": None}
    return {"p50": round(percentile(values, 50), digits), "p95": round(percentile(values, 95), digits)}
