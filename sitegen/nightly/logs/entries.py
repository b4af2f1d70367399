"""Assemble physical lines into log records: continuation lines (stacks, panics, wraps) join the record above.

This is the simple per-line path: obviously correct, used for small inputs, for blocks the fast scanner
declines, and by the tests as the reference the fast path must agree with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sitegen.nightly.logs.formats import Context, Head, clean, heads_in_line
from sitegen.nightly.records import LogRecord

log = logging.getLogger(__name__)

MAX_ENTRY_LINES = 200  # a goroutine dump can be 100k lines; the report needs its head, memory must stay flat
MAX_ENTRY_CHARS = 64 * 1024
ENTRY_CUT_MARK = "…[entry cut: {n} more lines]"


@dataclass(slots=True)
class LineStats:
    """What the reader saw of one input besides its records."""

    lines: int = 0
    truncated: int = 0
    formats: dict[str, int] = field(default_factory=dict)


class _Builder:
    """One record being assembled; bounded in size whatever the number of continuation lines."""

    __slots__ = ("chars", "dropped", "head", "line_no", "parts")

    def __init__(self, head: Head, text: str, line_no: int):
        self.head = head
        self.parts = [text]
        self.chars = len(text)
        self.dropped = 0
        self.line_no = line_no

    def add(self, text: str) -> None:
        if len(self.parts) < MAX_ENTRY_LINES and self.chars < MAX_ENTRY_CHARS:
            self.parts.append(text)
            self.chars += len(text) + 1
        else:
            self.dropped += 1

    def text(self) -> str:
        if self.dropped:
            return "\n".join([*self.parts, ENTRY_CUT_MARK.format(n=self.dropped)])
        return self.parts[0] if len(self.parts) == 1 else "\n".join(self.parts)

    def record(self, source: str) -> LogRecord:
        h = self.head
        return LogRecord(h.time, h.level, h.message, source, h.fmt, self.text(), self.line_no, h.fields or None)


def assemble(lines: Iterable[bytes], ctx: Context, source: str, stats: LineStats | None = None) -> Iterator[LogRecord]:
    """Yield records from raw physical lines; lines before the first record head belong to no record."""
    stats = stats if stats is not None else LineStats()
    current: _Builder | None = None
    last_time = None
    for raw in lines:
        stats.lines += 1
        text, truncated = clean(raw)
        if truncated:
            stats.truncated += 1
        for piece, head in heads_in_line(text, ctx):
            if head is None:
                if current is not None:
                    current.add(piece)
                continue
            if current is not None:
                yield current.record(source)
            if head.time is None:
                # Raw stderr (a Go panic, a logrus TTY line) has no clock: it happened right after the record above.
                head.time = last_time
            else:
                last_time = head.time
            stats.formats[head.fmt] = stats.formats.get(head.fmt, 0) + 1
            current = _Builder(head, piece, stats.lines)
    if current is not None:
        yield current.record(source)
