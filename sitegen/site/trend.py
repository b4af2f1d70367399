"""A suite's trend as static SVG geometry: one small panel per metric over the recent nights, bad nights marked.

Plain data for the template (path strings, bands, formatted labels): no chart library, nothing in the browser.
The x axis is calendar days, so a night without a report is a break in the line, never a silent join.
Panels use `preserveAspectRatio="none"` and non-scaling strokes, so they stretch to any width; every label is
HTML beside the SVG, readable at phone width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sitegen.model import format_metric
from sitegen.site.history import Night

TREND_NIGHTS = 90  # nights the trend looks back over
# The numbers that say whether recovery is getting slower or errors are creeping up, each drawn where present.
SERIES = (("errors", "errors"), ("worst_ttr_s", "worst time to recover"), ("min_qps", "min QPS"))
HEIGHT = 100  # viewBox height of a panel; the top 8 units stay free so the highest point is not cut


@dataclass(frozen=True)
class Panel:
    key: str
    label: str
    path: str  # SVG path data: one sub-path per run of consecutive nights that have the metric
    top: str  # the value at the top of the panel (formatted), the bottom is 0
    latest: str  # the newest night's value, or '' when it has none
    low: str
    high: str
    points: int  # nights that have the metric


@dataclass(frozen=True)
class Band:
    x: int
    width: int


@dataclass(frozen=True)
class Trend:
    nights: tuple[Night, ...]  # oldest first
    days: int  # viewBox width: one unit per calendar day from the first night to the last
    bands: tuple[Band, ...]  # the bad nights
    panels: tuple[Panel, ...]
    marks: tuple[tuple[int, Night], ...]  # (x, night) for the status strip under the panels


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def nice_ceiling(value: float) -> float:
    """The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^n) at or above `value`, at least 1: a top a reader can read."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _coord(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def trend(nights: list[Night], limit: int = TREND_NIGHTS) -> Trend | None:
    """The trend of a suite's newest `limit` nights (`nights` newest first), or None when there are none."""
    recent = list(reversed(nights[:limit]))
    if not recent:
        return None
    start = recent[0].date
    x_of = {night.date: (night.date - start).days for night in recent}
    days = x_of[recent[-1].date] + 1
    panels = []
    for key, label in SERIES:
        values = [(x_of[n.date], _number(n.report.metrics.get(key))) for n in recent]
        present = [v for _, v in values if v is not None]
        if not present:
            continue
        top = nice_ceiling(max(present))
        parts, previous = [], None
        for x, value in values:
            if value is None:
                previous = None
                continue
            y = _coord(HEIGHT - value / top * (HEIGHT - 8))
            # A new sub-path after a missing night or metric; a lone point is a zero-length line (a dot, round caps).
            if previous is None or x != previous + 1:
                parts.append(f"M{_coord(x + 0.5)} {y}h0")
            else:
                parts.append(f"L{_coord(x + 0.5)} {y}")
            previous = x
        latest = _number(recent[-1].report.metrics.get(key))
        panels.append(
            Panel(
                key=key,
                label=label,
                path="".join(parts),
                top=format_metric(key, top),
                latest=format_metric(key, latest) if latest is not None else "",
                low=format_metric(key, min(present)),
                high=format_metric(key, max(present)),
                points=len(present),
            )
        )
    bands = tuple(Band(x_of[n.date], 1) for n in recent if n.needs_look)
    marks = tuple((x_of[n.date], n) for n in recent)
    return Trend(nights=tuple(recent), days=days, bands=bands, panels=tuple(panels), marks=marks)
