"""The fast reader: one search per block finds the lines that are not INFO/DEBUG heads; only those are parsed.

Why it is exact: a line a `skips.Skip` passes over (a unified record head with an INFO/DEBUG/TRACE level, maybe
behind a kubectl timestamp; or a klog `I` line) is certainly a record head that is not counted, so the only thing
to know about it is that it exists. Every other line (fatal/error/warn heads, other formats, stack frames, blank
lines) goes to the same `entries.Assembler` the simple path uses, in file order. So a continuation line mentioning
ERROR under an INFO record is parsed, found to be a continuation, and never counted. A block holding a line over
64 KiB goes through the simple per-line path (the truncation has to be counted line by line). A run of blank
lines (nothing but spaces, tabs or CRs) is handed to the assembler as a count (`Assembler.blank_lines`): each would
be an empty continuation line, parsed to nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from functools import partial

from sitegen.nightly.logs import skips
from sitegen.nightly.logs.entries import Assembler
from sitegen.nightly.logs.formats import MAX_LINE, Context, clean, parse_line

log = logging.getLogger(__name__)

_WINDOW = MAX_LINE // 2
BLANK_BYTES = b" \t\r"  # what a line may hold and still be blank: `clean` makes such a line ""
_BLANK_RUN = re.compile(rb"(?:[" + re.escape(BLANK_BYTES) + rb"]*\n)+")  # a run of whole blank lines


def _has_long_line(buf: bytes | bytearray, end: int) -> bool:
    # A line longer than 64 KiB spans a whole aligned 32 KiB window without a newline.
    return any(buf.find(b"\n", i, i + _WINDOW) < 0 for i in range(0, max(end - _WINDOW, 0), _WINDOW))


def _skip_for(buf: bytes | bytearray, end: int) -> skips.Skip:
    """The block's first line says which kind of head to skip; lines of any other kind are simply parsed."""
    if skips.KUBECTL_START.match(buf, 0, end):
        return skips.KUBECTL
    if skips.KLOG_START.match(buf, 0, end):
        return skips.KLOG
    if year := skips.YEAR.search(buf, 0, min(end, _WINDOW)):
        return skips.unified_in_year(year.group(1))
    return skips.UNIFIED


def scan_block(buf: bytes | bytearray, end: int, asm: Assembler) -> None:
    """Feed the whole lines in buf[:end] to `asm`: parsed lines one by one, skipped runs as such."""
    if not end:
        return
    if _has_long_line(buf, end):
        block = bytes(buf[:end])
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()
        for raw in lines:
            asm.feed(raw)
        return
    skip = _skip_for(buf, end)
    parsed_line, skipped = asm.parsed, asm.skipped
    asm.run_clock = partial(_run_time, buf, asm.ctx)
    parsed = 0
    # A line is skipped only when it is whole: the last line of a block without its newline is parsed.
    last = end if buf[end - 1] == 0x0A else buf.rfind(b"\n", 0, end) + 1
    pos = 0  # where the next line not yet handled starts
    if last and not skip.at_start.match(buf, 0, end):
        pos = buf.find(b"\n", 0, end) + 1
        parsed_line(buf[: pos - 1])
        parsed += 1
    search = 0  # where the newline before the next line to look at is
    while (found := skip.next_odd(buf, search, end)) is not None:
        start, stop = found
        if start >= last:
            break
        if start > pos:  # a run of skipped heads lies between
            skipped(pos, start)
        if start == stop or buf[start] in BLANK_BYTES:
            # A blank line (nothing, or spaces, tabs and CRs, which `clean` turns into nothing), and maybe a run of
            # them: each only continues the record above (a million of them one by one took minutes), so the run
            # is handed over at once and the search goes on after it.
            blank = _BLANK_RUN.match(buf, start, last)
            if blank is not None:
                run = buf.count(b"\n", start, blank.end())
                asm.blank_lines(run)
                parsed += run
                pos = blank.end()
                search = pos - 1
                continue
        parsed_line(buf[start:stop])
        parsed += 1
        pos = stop + 1
        search = stop
    if last < end:
        if last > pos:
            skipped(pos, last)
        parsed_line(buf[last:end])
        parsed += 1
    elif pos < end:
        skipped(pos, end)
    asm.clock()  # the buffer is reused for the next block: read a pending clock now
    asm.run_clock = None
    lines = buf.count(b"\n", 0, end) + (1 if buf[end - 1] != 0x0A else 0)
    asm.stats.lines += lines
    if lines > parsed:
        asm.count_skipped(lines - parsed, skip.fmt)


def _run_time(buf: bytes | bytearray, ctx: Context, start: int, end: int) -> dt.datetime | None:
    """The time a run of skipped heads buf[start:end] (whole lines) leaves behind: its last line's, or the one
    before when that line's stamp is damaged, and so on; None when no line of the run has a usable time."""
    stop = end - 1  # the newline ending the run
    while stop > start:
        begin = buf.rfind(b"\n", start, stop) + 1 or start
        head = parse_line(clean(bytes(buf[begin:stop]))[0], ctx)
        if head is not None and head.time is not None:
            return head.time
        stop = begin - 1
    return None
