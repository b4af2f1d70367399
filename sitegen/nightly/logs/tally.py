"""Counting records into a digest: window filter, level counts, signatures, per-input stats. Mergeable."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sitegen.nightly.logs.signatures import Book, message_of
from sitegen.nightly.records import LEVELS, InputStats

COUNTED = frozenset(LEVELS)


@dataclass(slots=True)
class Tally:
    """What a reader (one input, or one byte range of it) found; workers return these and they merge."""

    since: float
    until: float
    stats: InputStats
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    outside: int = 0
    untimed: int = 0
    error_times: list[tuple[float, str]] = field(default_factory=list)
    book: Book = field(default_factory=Book)
    # One shared (second, level) tuple per second: a night of millions of errors then costs 8 bytes each.
    _stamps: dict[tuple[int, str], tuple[float, str]] = field(default_factory=dict, repr=False)

    def count(
        self,
        level: str,
        time: dt.datetime | None,
        message: str,
        fields: dict[str, str] | None,
        source: str,
        text: str,
        epoch: float | None = None,
    ) -> None:
        """Count a fatal/error/warn record against the window (other levels are ignored here).

        `epoch` is `time.timestamp()` when the caller already has it (it costs as much as parsing the stamp).
        """
        if level not in COUNTED:
            return
        when = epoch if epoch is not None else time.timestamp() if time is not None else None
        if when is None:
            self.untimed += 1  # no clock to judge by: kept, so a panic is never lost
        elif not (self.since <= when < self.until):
            self.outside += 1
            return
        self.counts[level] += 1
        self.book.add(level, message_of(message, fields) if fields else message, when, source, text)
        if level != "warn" and when is not None:
            key = (int(when), level)
            stamp = self._stamps.get(key)
            if stamp is None:
                stamp = self._stamps[key] = (float(key[0]), level)
            self.error_times.append(stamp)

    def merge(self, other: Tally) -> None:
        s, o = self.stats, other.stats
        s.lines += o.lines
        s.records += o.records
        s.truncated_lines += o.truncated_lines
        for fmt, n in o.formats.items():
            s.formats[fmt] = s.formats.get(fmt, 0) + n
        s.problems.extend(p for p in o.problems if p not in s.problems)
        for level, n in other.counts.items():
            self.counts[level] = self.counts.get(level, 0) + n
        self.outside += other.outside
        self.untimed += other.untimed
        self.error_times.extend(other.error_times)
        self.book.merge(other.book)


def new_tally(name: str, since: dt.datetime, until: dt.datetime) -> Tally:
    return Tally(since.timestamp(), until.timestamp(), InputStats(path=name))
