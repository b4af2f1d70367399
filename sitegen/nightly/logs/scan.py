"""The fast reader: one byte regex per block finds the lines that are not INFO/DEBUG heads; only those are parsed.

Why it is exact: a line matched by `_SKIP_AT_START` (a unified record head with an INFO/DEBUG/TRACE level,
maybe behind a kubectl timestamp; or a klog `I` line) is certainly a record head that is not counted, so the only thing
to know about it is that it exists. `_ODD` finds every other line (fatal/error/warn heads, other formats, stack
frames, blank lines) with one negative lookahead per newline; each is parsed with the same `parse_line` the simple
path uses, in file order. So a continuation line mentioning ERROR under an INFO record is parsed, found to be a
continuation, and never counted. A block holding a line over 64 KiB goes through the simple per-line path
(the truncation has to be counted line by line)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from sitegen.nightly.logs.entries import _Builder
from sitegen.nightly.logs.formats import MAX_LINE, Context, Head, clean, heads_in_line, parse_line
from sitegen.nightly.logs.tally import COUNTED, Tally

log = logging.getLogger(__name__)

# The stamp is checked loosely (shape, not digits) because that is 40 % cheaper; `formats.UNIFIED`
# accepts exactly the same loose stamp, so a skipped line is still certainly a record head.
_TS = rb"\[\d{4}/[0-9/: .+-]{25}\] \[(?:INFO|DEBUG|TRACE)\]"
_KUBECTL = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) "
# Each `_ODD*` pattern finds the lines *not* to skip: a newline not followed by an uncounted head, plus the rest of
# that line. One lookahead per line costs 20 % less than matching runs of skipped lines (no repeat state per line).
# The space after the level is required: a line ending right after the level is parsed instead.
_ODD = re.compile(rb"\n(?!" + _TS + rb" )[^\n]*")
_SKIP_AT_START = re.compile(_TS + rb" ")
_YEAR = re.compile(rb"(?:^|\n)\[(\d{4})/")
_ODD_K = re.compile(rb"\n(?!" + _KUBECTL + _TS + rb" )[^\n]*")
_SKIP_K_AT_START = re.compile(_KUBECTL + _TS + rb" ")
_KUBECTL_START = re.compile(_KUBECTL)
# klog INFO heads (kubelet, controllers): every line `formats.KLOG` reads as an info record.
_KLOG_I = rb"I\d{4} \d\d:\d\d:\d\d\.\d{6}[ \t]+\d+ [^:\] \n]+:\d+\]"
_ODD_KLOG = re.compile(rb"\n(?!" + _KLOG_I + rb" )[^\n]*")
_SKIP_KLOG_AT_START = re.compile(_KLOG_I + rb" ")
_KLOG_START = re.compile(rb"[IWEF]\d{4} \d\d:")
_WINDOW = MAX_LINE // 2


@dataclass(slots=True)
class ScanState:
    """What carries from one block to the next within one input (or one byte range of it)."""

    open: _Builder | None = None  # the counted record whose continuation lines may go on in the next block
    last_time: dt.datetime | None = None  # the last record time seen, inherited by records without a clock


def _has_long_line(buf: bytes | bytearray, end: int) -> bool:
    # A line longer than 64 KiB spans a whole aligned 32 KiB window without a newline.
    return any(buf.find(b"\n", i, i + _WINDOW) < 0 for i in range(0, max(end - _WINDOW, 0), _WINDOW))


def scan_block(buf: bytes | bytearray, end: int, ctx: Context, source: str, tally: Tally, state: ScanState) -> None:
    """Count the whole lines in buf[:end] into `tally`, carrying the open record and the clock in `state`."""
    if not end:
        return
    if _has_long_line(buf, end):
        _simple_block(bytes(buf[:end]), ctx, source, tally, state)
        return
    # The block's first line says which kind of head to skip; lines of any other kind are simply parsed.
    if _KUBECTL_START.match(buf, 0, end):
        odd, skip0, skipped_fmt = _ODD_K, _SKIP_K_AT_START, "unified"
    elif _KLOG_START.match(buf, 0, end):
        odd, skip0, skipped_fmt = _ODD_KLOG, _SKIP_KLOG_AT_START, "klog"
    else:
        odd, skip0, skipped_fmt = _ODD, _SKIP_AT_START, "unified"
        if year := _YEAR.search(buf, 0, min(end, _WINDOW)):
            odd = _odd_in_year(year.group(1))
    walk = _Walk(buf, ctx, source, tally, state)
    line, run = walk.line, walk.run
    # A line is skipped only when it is whole: the last line of a block without its newline is parsed.
    last = end if buf[end - 1] == 0x0A else buf.rfind(b"\n", 0, end) + 1
    pos = 0  # where the next line not yet handled starts
    if last and not skip0.match(buf, 0, end):
        pos = buf.find(b"\n", 0, end) + 1
        line(buf[: pos - 1])
    for m in odd.finditer(buf, 0, end):
        start = m.start() + 1
        if start >= last:
            break
        if start > pos:  # a run of skipped heads lies between
            run(start)
        stop = m.end()
        line(buf[start:stop])
        pos = stop + 1
    if last < end:
        if last > pos:
            run(last)
        line(buf[last:end])
    elif pos < end:
        run(end)

    stats = tally.stats
    lines = buf.count(b"\n", 0, end) + (1 if end and buf[end - 1] != 0x0A else 0)
    stats.lines += lines
    skipped = lines - walk.parsed
    if skipped:
        stats.records += skipped
        stats.formats[skipped_fmt] = stats.formats.get(skipped_fmt, 0) + skipped
    walk.close()


@lru_cache(maxsize=8)
def _odd_in_year(year: bytes) -> re.Pattern[bytes]:
    """`_ODD` with the block's year written out: 10 % cheaper; heads of another year are simply parsed."""
    return re.compile(rb"\n(?!" + _TS.replace(rb"\d{4}", re.escape(year), 1) + rb" )[^\n]*")


class _Walk:
    """Goes through a block in file order: skipped runs and parsed lines, assembling the counted records.

    Lines are handled one at a time as they are met, so memory never holds a list of a block's lines.
    """

    __slots__ = ("buf", "ctx", "cur", "last_run_end", "last_time", "parsed", "source", "state", "tally")

    def __init__(self, buf: bytes | bytearray, ctx: Context, source: str, tally: Tally, state: ScanState):
        self.buf, self.ctx, self.source, self.tally, self.state = buf, ctx, source, tally, state
        self.cur = state.open
        self.last_time = state.last_time
        self.last_run_end = -1  # the clock of a skipped run is read only when a record without a clock needs it
        self.parsed = 0

    def run(self, end: int) -> None:
        """A run of skipped heads ends at `end`: it closes the record being assembled."""
        if self.cur is not None:
            _finish(self.cur, self.source, self.tally)
            self.cur = None
        self.last_run_end = end

    def line(self, raw: bytes | bytearray) -> None:
        """One parsed line (without its newline), in file order."""
        self.parsed += 1
        text, _ = clean(raw)
        if '}{"' in text:
            for piece, head in heads_in_line(text, self.ctx):
                self.piece(piece, head)
        else:
            self.piece(text, parse_line(text, self.ctx))

    def piece(self, text: str, head: Head | None) -> None:
        if head is None:
            if self.cur is not None:
                self.cur.add(text)
            return
        stats = self.tally.stats
        stats.records += 1
        stats.formats[head.fmt] = stats.formats.get(head.fmt, 0) + 1
        if self.cur is not None:
            _finish(self.cur, self.source, self.tally)
            self.cur = None
        if head.time is None:
            if self.last_run_end >= 0:
                self.last_time = _last_line_time(self.buf, self.last_run_end, self.ctx) or self.last_time
                self.last_run_end = -1
            head.time = self.last_time
        else:
            self.last_time = head.time
            self.last_run_end = -1
        if head.level in COUNTED:
            self.cur = _Builder(head, text, 0)

    def close(self) -> None:
        if self.last_run_end >= 0:
            self.last_time = _last_line_time(self.buf, self.last_run_end, self.ctx) or self.last_time
        self.state.open = self.cur
        self.state.last_time = self.last_time


def _last_line_time(buf: bytes | bytearray, run_end: int, ctx: Context) -> dt.datetime | None:
    """The time on the last line of a skipped run (which ends at `run_end`, after its newline)."""
    start = buf.rfind(b"\n", 0, run_end - 1) + 1
    head = parse_line(clean(bytes(buf[start : run_end - 1]))[0], ctx)
    return head.time if head is not None else None


def _finish(builder: _Builder, source: str, tally: Tally) -> None:
    h = builder.head
    tally.count(h.level, h.time, h.message, h.fields, source, builder.text(), h.epoch)


def _simple_block(block: bytes, ctx: Context, source: str, tally: Tally, state: ScanState) -> None:
    """The per-line path for one block (same rules as `entries.assemble`), continuing the open record."""
    lines = block.split(b"\n")
    if block.endswith(b"\n"):
        lines.pop()
    stats = tally.stats
    formats = stats.formats
    for raw in lines:
        stats.lines += 1
        text, truncated = clean(raw)
        stats.truncated_lines += truncated
        for piece, head in heads_in_line(text, ctx):
            if head is None:
                if state.open is not None:
                    state.open.add(piece)
                continue
            if state.open is not None:
                _finish(state.open, source, tally)
                state.open = None
            if head.time is None:
                head.time = state.last_time
            else:
                state.last_time = head.time
            stats.records += 1
            formats[head.fmt] = formats.get(head.fmt, 0) + 1
            if head.level in COUNTED:
                state.open = _Builder(head, piece, 0)


def finish(state: ScanState, source: str, tally: Tally) -> None:
    """Count the record still open at the end of an input."""
    if state.open is not None:
        _finish(state.open, source, tally)
        state.open = None
