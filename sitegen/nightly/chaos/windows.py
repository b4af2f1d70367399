"""Build ChaosWindows from Kubernetes times and Apply/Recover sequences, shared by the object and event readers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sitegen.nightly.records import ChaosWindow
from sitegen.nightly.times import in_range, parse_time


def as_datetime(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """A Kubernetes timestamp as an aware datetime; None when it is empty or unreadable."""
    if value in (None, "", "<nil>", "null"):
        return None
    try:
        if isinstance(value, dt.datetime):  # YAML decodes unquoted timestamps itself
            return in_range(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
        return parse_time(str(value), tz)
    except ValueError:  # unreadable, or Go's zero time 0001-01-01: unknown
        return None


def make_window(start: dt.datetime, duration: float | None, name: str, kind: str, source: str) -> ChaosWindow:
    """A window from its start and duration in seconds; open-ended when the duration is unknown."""
    end = start + dt.timedelta(seconds=duration) if duration else None
    return ChaosWindow(start=start, end=end, name=name, kind=kind, source=source)


def pair_events(events, duration, name, kind, source) -> list[ChaosWindow]:
    """Apply opens a window when nothing is injected; it closes when the last target recovers (or TimeUp).

    Each window names the targets applied during it (`ns/pod`), when the events say.
    """
    windows: list[ChaosWindow] = []
    active: set[str] = set()
    hit: list[str] = []
    start: dt.datetime | None = None
    for when, op, target in events:
        if op == "Apply":
            if not active:
                start, hit = when, []
            active.add(target)
            if target and target not in hit:
                hit.append(target)
        elif op in ("Recover", "TimeUp") and start is not None:
            active.discard(target)
            if op == "TimeUp":
                active.clear()
            if not active:
                windows.append(ChaosWindow(start=start, end=when, name=name, kind=kind, source=source, target=", ".join(hit)))
                start = None
    if start is not None:
        window = make_window(start, duration, name, kind, source)
        window.target = ", ".join(hit)
        windows.append(window)
    return windows
