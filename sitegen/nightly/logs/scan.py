"""The fast reader: one byte regex per block skips the runs of INFO/DEBUG lines; only the rest is parsed.

Why it is exact: a line matched by `_RUN` (a unified record head with an INFO/DEBUG/TRACE level,
maybe behind a kubectl timestamp; or a klog `I` line) is certainly a record head that is not counted, so the only thing
to know about it is that it exists. Every other line (fatal/error/warn heads, other formats, stack
frames, blank lines) is parsed one by one with the same `parse_line` the simple path uses, in file
order. So a continuation line mentioning ERROR under an INFO record is parsed, found to be a
continuation, and never counted. A block holding a line over 64 KiB goes through the simple per-line path
(the truncation has to be counted line by line).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sitegen.nightly.logs.entries import _Builder
from sitegen.nightly.logs.formats import MAX_LINE, Context, Head, clean, heads_in_line, parse_line
from sitegen.nightly.logs.tally import COUNTED, Tally

log = logging.getLogger(__name__)

# The stamp is checked loosely (shape, not digits) because that is 40 % cheaper; `formats.UNIFIED`
# accepts exactly the same loose stamp, so a skipped line is still certainly a record head.
_TS = rb"\[\d{4}/[0-9/: .+-]{25}\] \[(?:INFO|DEBUG|TRACE)\]"
_KUBECTL = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) "
_TAIL = rb" [^\n]*\n"  # lines ending right after the level are simply parsed instead
# A run of uncounted unified heads; the leading newline ends the line before the run.
_RUN = re.compile(rb"\n(?:" + _TS + _TAIL + rb")+")
_RUN_AT_START = re.compile(rb"(?:" + _TS + _TAIL + rb")+")
_RUN_K = re.compile(rb"\n(?:" + _KUBECTL + _TS + _TAIL + rb")+")
_RUN_K_AT_START = re.compile(rb"(?:" + _KUBECTL + _TS + _TAIL + rb")+")
_KUBECTL_START = re.compile(_KUBECTL)
# klog INFO heads (kubelet, controllers): every line `formats.KLOG` reads as an info record.
_KLOG_I = rb"I\d{4} \d\d:\d\d:\d\d\.\d{6}[ \t]+\d+ [^:\] \n]+:\d+\]"
_RUN_KLOG = re.compile(rb"\n(?:" + _KLOG_I + _TAIL + rb")+")
_RUN_KLOG_AT_START = re.compile(rb"(?:" + _KLOG_I + _TAIL + rb")+")
_KLOG_START = re.compile(rb"[IWEF]\d{4} \d\d:")
_WINDOW = MAX_LINE // 2
_SLICE = 1 << 20


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
    if _has_long_line(buf, end):
        _simple_block(bytes(buf[:end]), ctx, source, tally, state)
        return
    # The block's first line says which kind of run to skip; lines of any other kind are simply parsed.
    if _KUBECTL_START.match(buf, 0, end):
        run, run0, skipped_fmt = _RUN_K, _RUN_K_AT_START, "unified"
    elif _KLOG_START.match(buf, 0, end):
        run, run0, skipped_fmt = _RUN_KLOG, _RUN_KLOG_AT_START, "klog"
    else:
        run, run0, skipped_fmt = _RUN, _RUN_AT_START, "unified"
    walk = _Walk(buf, ctx, source, tally, state)
    pos = 0
    m0 = run0.match(buf, 0, end)
    if m0:
        walk.run(m0.end())
        pos = m0.end()
    for m in run.finditer(buf, pos, end):
        if m.start() + 1 > pos:
            walk.lines(pos, m.start() + 1)
        walk.run(m.end())
        pos = m.end()
    if pos < end:
        walk.lines(pos, end)

    stats = tally.stats
    lines = buf.count(b"\n", 0, end) + (1 if end and buf[end - 1] != 0x0A else 0)
    stats.lines += lines
    skipped = lines - walk.parsed
    if skipped:
        stats.records += skipped
        stats.formats[skipped_fmt] = stats.formats.get(skipped_fmt, 0) + skipped
    walk.close()


class _Walk:
    """Goes through a block in file order: skipped runs and parsed lines, assembling the counted records.

    Lines are handled as they are met, so memory holds one gap of lines at a time, never a whole block.
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

    def lines(self, start: int, stop: int) -> None:
        # A block of nothing but parsed lines is taken 1 MB at a time, to keep the split lists small.
        while stop - start > _SLICE:
            cut = self.buf.rfind(b"\n", start, start + _SLICE) + 1
            if cut <= start:
                break
            self._lines(start, cut)
            start = cut
        self._lines(start, stop)

    def _lines(self, start: int, stop: int) -> None:
        buf = self.buf
        raws = buf[start:stop].split(b"\n")
        if buf[stop - 1] == 0x0A:
            raws.pop()
        self.parsed += len(raws)
        for raw in raws:
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
    tally.count(h.level, h.time, h.message, h.fields, source, builder.text())


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
