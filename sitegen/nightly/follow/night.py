"""Nights as the follower sees them: which night a line's timestamp falls in, and one night folder's record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.nightly.window import night_for, night_window

NS = 1_000_000_000
MAX_ERRORS = 20  # kept per instance and per night; the count of the rest is kept


class Nights:
    """Which night a timestamp belongs to, with the night's window in nanoseconds."""

    def __init__(self, ends_at: str, tz: str):
        self.ends_at, self.tz = ends_at, tz
        self.cache: list[tuple[int, int, dt.date]] = []

    def of(self, ns: int) -> dt.date:
        for since, until, night in self.cache:
            if since <= ns < until:
                return night
        moment = dt.datetime.fromtimestamp(ns / NS, dt.UTC)
        night = night_for(moment, ends_at=self.ends_at, tz=self.tz) + dt.timedelta(days=1)
        since, until = self.bounds(night)
        self.cache = [(since, until, night), *self.cache[:3]]
        return night

    def bounds(self, night: dt.date) -> tuple[int, int]:
        w = night_window(night, ends_at=self.ends_at, tz=self.tz)
        return int(w.since.timestamp()) * NS, int(w.until.timestamp()) * NS


@dataclass(eq=False)
class Night:
    """One night folder being written: its runs, gaps, errors and what earlier runs left in its manifest."""

    date: dt.date
    since_ns: int
    until_ns: int
    folder: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    earlier: dict[str, dict[str, Any]] = field(default_factory=dict)  # instances of earlier runs, by key
    closed: bool = False
    late_lines: int = 0
    dirty: bool = True
    written_at: float = 0.0

    def error(self, message: str) -> None:
        if message not in self.errors and len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
            self.dirty = True

