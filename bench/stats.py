"""Percentiles and medians, without numpy."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], p: float) -> float:
    """Return the p-th percentile (0-100) with linear interpolation; NaN if empty."""
    if not values:
        return math.nan
    data = sorted(values)
    if len(data) == 1:
        return float(data[0])
    rank = (len(data) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Return n, p50, p90, p99, p99.9 and max of `values`."""
    return {
        'n': len(values),
        'p50': percentile(values, 50),
        'p90': percentile(values, 90),
        'p99': percentile(values, 99),
        'p999': percentile(values, 99.9),
        'max': max(values) if values else math.nan,
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def print_report(report: dict, table: str, json_path: str | None = None) -> None:
    """A by-hand bench's output: the table, the report as JSON, and a copy to a file."""
    print(table)
    print(json.dumps(report, indent=2))
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2))
