"""Find fault windows in the metric itself (dips below a rolling median) when the night has no chaos source."""

from __future__ import annotations

import datetime as dt
import logging

from sitegen import limits
from sitegen.nightly.metrics.series import rolling_median
from sitegen.nightly.records import ChaosWindow, Series

log = logging.getLogger(__name__)


def detect_dips(
    series: Series,
    *,
    drop_fraction: float = 0.5,
    baseline_minutes: float = 5,
    min_baseline_points: int = 3,
) -> list[ChaosWindow]:
    """Windows where the metric falls below `drop_fraction` of the median of the preceding minutes.

    A dip starts at the first point below the threshold and ends at the first point back above it; gaps
    inside a dip extend it. Values inside a dip are kept out of the baseline so a long outage does not
    become its own reference.
    """
    pts = series.points
    if not pts:
        return []
    window_s = baseline_minutes * 60
    windows: list[ChaosWindow] = []
    in_dip_at: float | None = None
    dip_base = 0.0
    baselines = _clean_baselines(pts, window_s, drop_fraction, min_baseline_points)
    for (t, v), base in zip(pts, baselines, strict=True):
        if in_dip_at is None:
            if base is not None and v is not None and v < drop_fraction * base:
                in_dip_at, dip_base = t, base
        elif v is not None and v >= drop_fraction * dip_base:
            windows.append(_detected(in_dip_at, t, series))
            in_dip_at = None
    if in_dip_at is not None:
        windows.append(ChaosWindow(start=_utc(in_dip_at), end=None, name="dip", kind="detected", source=series.source))
    if len(windows) > limits.CHAOS_WINDOWS:
        # A metric that flaps every sample is data, not a usage error: measure the first ones and say so.
        log.warning(
            "%s: %d dips detected, more than the limit of %d fault windows a night (see docs/limits.md); the first %d are measured",
            series.source, len(windows), limits.CHAOS_WINDOWS, limits.CHAOS_WINDOWS,
        )
        windows = windows[: limits.CHAOS_WINDOWS]
    for i, w in enumerate(windows, 1):
        w.name = f"dip {i}"
    return windows


def _clean_baselines(pts, window_s, fraction, min_points) -> list[float | None]:
    """Rolling medians over the points that are not themselves in a dip (two passes keep it simple)."""
    first = rolling_median(pts, window_s)
    cleaned = [(t, v if v is None or b is None or v >= fraction * b else None) for (t, v), b in zip(pts, first, strict=True)]
    second = rolling_median(cleaned, window_s)
    counts = _rolling_count(cleaned, window_s)
    return [b if n >= min_points else None for b, n in zip(second, counts, strict=True)]


def _rolling_count(pts, window_s) -> list[int]:
    out = []
    lo = 0
    good = [0]
    for _, v in pts:
        good.append(good[-1] + (v is not None))
    for i, (t, _) in enumerate(pts):
        while pts[lo][0] < t - window_s:
            lo += 1
        out.append(good[i] - good[lo])
    return out


def _utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def _detected(start: float, end: float, series: Series) -> ChaosWindow:
    return ChaosWindow(start=_utc(start), end=_utc(end), name="dip", kind="detected", source=series.source)
