"""Build ChaosWindows from Kubernetes times and Apply/Recover sequences, shared by the object and event readers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sitegen.nightly.records import ChaosWindow
from sitegen.nightly.times import parse_time


def as_datetime(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """A Kubernetes timestamp as an aware datetime; None when it is empty or unreadable."""
    if value in (None, "", "<nil>", "null"):
        return None
    if isinstance(value, dt.datetime):  # YAML decodes unquoted timestamps itself
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        return parse_time(str(value), tz)
    except ValueError:
        return None


def make_window(start: dt.datetime, duration: float | None, name: str, kind: str, source: str) -> ChaosWindow:
    """A window from its start and duration in seconds; open-ended when the duration is unknown."""
    end = start + dt.timedelta(seconds=duration) if duration else None
    return ChaosWindow(start=start, end=end, name=name, kind=kind, source=source)


def pair_events(events, duration, name, kind, source) -> list[ChaosWindow]:
    """Apply opens a window when nothing is injected; it closes when the last target recovers (or TimeUp)."""
    windows: list[ChaosWindow] = []
    active: set[str] = set()
    start: dt.datetime | None = None
    for when, op, target in events:
        if op == "Apply":
            if not active:
                start = when
            active.add(target)
        elif op in ("Recover", "TimeUp") and start is not None:
            active.discard(target)
            if op == "TimeUp":
                active.clear()
            if not active:
                windows.append(ChaosWindow(start=start, end=when, name=name, kind=kind, source=source))
                start = None
    if start is not None:
        windows.append(make_window(start, duration, name, kind, source))
    return windows
