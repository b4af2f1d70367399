"""Assemble physical lines into log records: continuation lines (stacks, panics, wraps) join the record above.

One `Assembler` does this for every path, so the rules live once: the simple per-line reader (`iter_records`,
`digest.digest_simple`, and blocks holding over-long lines) feeds it every line; the fast block scanner
(`scan`) feeds it only the lines it has to parse and tells it where it skipped a run of uncounted heads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator

from sitegen.nightly.logs.formats import Context, Head, clean, heads_in_line, parse_line
from sitegen.nightly.records import InputStats, LogRecord

log = logging.getLogger(__name__)

MAX_ENTRY_LINES = 200  # a goroutine dump can be 100k lines; the report needs its head, memory must stay flat
MAX_ENTRY_CHARS = 64 * 1024
ENTRY_CUT_MARK = "…[entry cut: {n} more lines]"

# Where a finished record goes: its head, its whole text, and the line number of its head (0 when not counted).
Sink = Callable[[Head, str, int], None]
# The time a run of skipped heads buf[start:end] leaves behind, as the scanner reads it from its block.
RunClock = Callable[[int, int], "dt.datetime | None"]


class _Open:
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


class Assembler:
    """Lines in, records out to `sink`, for one input (or one byte range of it), across any number of blocks.

    Counts lines, truncated lines, records and formats into `stats`. Only records whose level is in `keep`
    (every record when None) are assembled and sent; the others still end the record above and set the clock.
    A record without a clock of its own (raw stderr: a Go panic) happened right after the record above it,
    so it takes the last time seen.
    """

    __slots__ = ("ctx", "cur", "keep", "last_time", "pending", "run_clock", "sink", "stats")

    def __init__(self, ctx: Context, stats: InputStats, sink: Sink, keep: frozenset[str] | None = None):
        self.ctx, self.stats, self.sink, self.keep = ctx, stats, sink, keep
        self.cur: _Open | None = None
        self.last_time: dt.datetime | None = None
        # The last skipped run, whose clock is read (with `run_clock`, set by the scanner per block) only if a
        # record without a clock needs it.
        self.pending: tuple[int, int] | None = None
        self.run_clock: RunClock | None = None

    def feed(self, raw: bytes) -> None:
        """One physical line (without its newline) of the simple path: counted, cleaned, assembled."""
        stats = self.stats
        stats.lines += 1
        text, truncated = clean(raw)
        if truncated:
            stats.truncated_lines += 1
        self.text(text, stats.lines)

    def parsed(self, raw: bytes | bytearray) -> None:
        """A line the fast scanner could not skip (it counts lines itself; its lines have no numbers)."""
        self.text(clean(raw)[0], 0)

    def text(self, text: str, line_no: int) -> None:
        if '}{"' in text:
            for piece, head in heads_in_line(text, self.ctx):
                self.piece(piece, head, line_no)
        else:
            self.piece(text, parse_line(text, self.ctx), line_no)

    def piece(self, text: str, head: Head | None, line_no: int) -> None:
        if head is None:
            if self.cur is not None:
                self.cur.add(text)
            return
        if self.cur is not None:
            self.flush()
        stats = self.stats
        stats.records += 1
        stats.formats[head.fmt] = stats.formats.get(head.fmt, 0) + 1
        if head.time is None:
            head.time = self.clock()
        else:
            self.last_time = head.time
            self.pending = None
        if self.keep is None or head.level in self.keep:
            self.cur = _Open(head, text, line_no)

    def blank_lines(self, count: int) -> None:
        """`count` empty lines from the fast scanner (it counts lines itself): as many `parsed(b"")` calls would do,
        each an empty continuation of the record being assembled, if there is one."""
        cur = self.cur
        while cur is not None and count:
            if cur.dropped:  # full: every further line is only counted as cut
                cur.dropped += count
                return
            cur.add("")
            count -= 1

    def skipped(self, start: int, end: int) -> None:
        """The scanner skipped a run of uncounted heads, bytes [start, end) of its block (counted with
        `count_skipped`): the record above is complete, and the clock is the run's (`run_clock`)."""
        if self.cur is not None:
            self.flush()
        self.pending = (start, end)

    def count_skipped(self, records: int, fmt: str) -> None:
        self.stats.records += records
        self.stats.formats[fmt] = self.stats.formats.get(fmt, 0) + records

    def clock(self) -> dt.datetime | None:
        """The last time seen, reading a skipped run's clock first if one is pending."""
        if self.pending is not None:
            assert self.run_clock is not None
            self.last_time = self.run_clock(*self.pending) or self.last_time
            self.pending = None
        return self.last_time

    def flush(self) -> None:
        """Send the record being assembled, if any (at the end of an input, or when the next record starts)."""
        cur = self.cur
        if cur is not None:
            self.cur = None
            self.sink(cur.head, cur.text(), cur.line_no)


def assemble(lines: Iterable[bytes], ctx: Context, source: str, stats: InputStats | None = None) -> Iterator[LogRecord]:
    """Yield records from raw physical lines; lines before the first record head belong to no record."""
    out: list[LogRecord] = []

    def sink(h: Head, text: str, line_no: int) -> None:
        out.append(LogRecord(h.time, h.level, h.message, source, h.fmt, text, line_no, h.fields or None))

    asm = Assembler(ctx, stats if stats is not None else InputStats(source), sink)
    for raw in lines:
        asm.feed(raw)
        if out:
            yield from out
            out.clear()
    asm.flush()
    yield from out
