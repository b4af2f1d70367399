"""Shape parsed samples into a Series: gaps for missing intervals, the reporting step, and rolling medians.

A gap (None) is never a zero: a zero is an outage and a gap is a hole in the measurement.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import logging
import math
from collections.abc import Iterable

from sitegen import limits
from sitegen.errors import UsageError
from sitegen.model import clean_text
from sitegen.nightly.records import Series

log = logging.getLogger(__name__)

Point = tuple[float, float | None]


def number(text: str) -> float | None:
    """A float, or None for NaN/Inf: those are gaps in the measurement, not values."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def typical_step(times: list[float]) -> float | None:
    """The most common spacing between samples (the smallest on a tie): the reporting interval."""
    diffs = collections.Counter(round(b - a, 3) for a, b in itertools.pairwise(times) if b > a)
    if not diffs:
        return None
    best = max(diffs.values())
    return min(d for d, n in diffs.items() if n == best)


def fill_gaps(points: list[Point], step: float | None = None) -> list[Point]:
    """Insert None at every missing reporting interval so a hole in the data shows as a gap."""
    if len(points) < 3 and step is None:
        return points
    times = [t for t, _ in points]
    step = step or typical_step(times)
    if not step:
        return points
    return _apply_gaps(points, _gap_plan(times, step))


def _gap_plan(times: list[float], step: float) -> list[tuple[int, list[float]]]:
    """(index, missing times to insert before it) for every hole longer than 1.5 reporting intervals."""
    limit = 1.5 * step
    plan: list[tuple[int, list[float]]] = []
    # A stray far-off sample must not blow up memory: the gaps drawn stay within the points limit.
    budget = min(10 * len(times) + 100_000, max(limits.METRIC_POINTS - len(times), 0))
    for i in range(1, len(times)):
        prev, t = times[i - 1], times[i]
        if t - prev > limit:
            missing = round((t - prev) / step) - 1
            if missing > budget:
                plan.append((i, [(prev + t) / 2]))
            else:
                budget -= missing
                plan.append((i, [prev + k * step for k in range(1, missing + 1)]))
    return plan


def _apply_gaps(points: list[Point], plan: list[tuple[int, list[float]]]) -> list[Point]:
    if not plan:
        return points
    out: list[Point] = []
    last = 0
    for index, missing in plan:
        out.extend(points[last:index])
        out.extend((t, None) for t in missing)
        last = index
    out.extend(points[last:])
    return out


def check_points(source: str, count: int) -> None:
    """UsageError once a series holds more samples (its value and extra columns together) than limits.METRIC_POINTS."""
    if count > limits.METRIC_POINTS:
        raise UsageError(
            f"{source}: more than {limits.METRIC_POINTS:,} samples (values and extra columns together), "
            "the limit for one night's metrics (see docs/limits.md); downsample it, e.g. a coarser Prometheus step"
        )


def make_series(name: str, unit: str, source: str, points: list[Point], extra: dict[str, list[Point]]) -> Series:
    """A Series with its points sorted and every missing interval, in the value and the extras, filled as a gap."""
    check_points(source, len(points) + sum(len(v) for v in extra.values()))
    times = [t for t, _ in points]
    if any(b < a for a, b in itertools.pairwise(times)):
        points = sorted(points, key=lambda p: p[0])
        times = [t for t, _ in points]
    step = typical_step(times)
    plan = _gap_plan(times, step) if step else []
    filled = _apply_gaps(points, plan)
    extras = {}
    for key, values in extra.items():
        # Extras sampled with the main value share its holes; others get their own.
        same = len(values) == len(points) and all(a[0] == b for a, b in zip(values, times, strict=True))
        extras[key] = _apply_gaps(values, plan) if same else fill_gaps(sorted(values, key=lambda p: p[0]), step)
    log.debug("%s: %d points (%d gaps)", source, len(filled), sum(v is None for _, v in filled))
    # Column names and file names come from the input: they reach the chart's SVG, the PDF and summary.json.
    extras = {clean_text(key): values for key, values in extras.items()}
    return Series(name=clean_text(name), points=filled, unit=clean_text(unit), source=clean_text(source), extra=extras)


def rolling_median(points: Iterable[Point], window_s: float) -> list[float | None]:
    """The median of the non-gap values in the `window_s` seconds before each point (exclusive)."""
    pts = list(points)
    out: list[float | None] = []
    window: collections.deque[Point] = collections.deque()
    ordered: list[float] = []
    i = 0
    for t, _ in pts:
        while i < len(pts) and pts[i][0] < t:
            if pts[i][1] is not None:
                window.append(pts[i])
                bisect.insort(ordered, pts[i][1])
            i += 1
        while window and window[0][0] < t - window_s:
            old = window.popleft()[1]
            del ordered[bisect.bisect_left(ordered, old)]
        out.append(_median_sorted(ordered))
    return out


def _median_sorted(values: list[float]) -> float | None:
    n = len(values)
    if not n:
        return None
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
