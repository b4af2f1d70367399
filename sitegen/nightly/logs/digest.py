"""The log reader's public entry points: `digest_logs` for the report, `iter_records` for tests and tools."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import multiprocessing
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from sitegen.errors import ReportError
from sitegen.nightly.logs.entries import Assembler, assemble
from sitegen.nightly.logs.formats import MAX_LINE, Context, Head, clean, parse_line
from sitegen.nightly.logs.inputs import BLOCK, Source, expand, is_gzip, iter_buffers, iter_lines, open_source
from sitegen.nightly.logs.scan import BLANK_BYTES, scan_block
from sitegen.nightly.logs.tally import COUNTED, Tally, new_tally
from sitegen.nightly.records import LEVELS, LogDigest, LogRecord

log = logging.getLogger(__name__)

PARALLEL_MIN = 96 * 1024 * 1024  # below this a second process costs more than it saves
WORKERS = 2


def iter_records(inputs: list[str], *, tz: dt.tzinfo, night: dt.date) -> Iterator[LogRecord]:
    """Every record of every input, in file order, through the simple per-line path."""
    ctx = Context(tz, night)
    for source in expand(inputs):
        with open_source(source) as fh:
            yield from assemble(iter_lines(fh), ctx, source.name)


def digest_logs(
    inputs: list[str],
    *,
    since: dt.datetime,
    until: dt.datetime,
    tz: dt.tzinfo,
    night: dt.date,
    previous_keys: set[str] | None = None,
    workers: int = WORKERS,
) -> LogDigest:
    """Read all inputs (streaming, constant memory) and summarise what the night logged at warn and above."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ReportError("the log window needs timezone-aware times")
    ctx = Context(tz, night)
    sources = expand(inputs)
    jobs = _plan(sources, ctx, workers)
    # Standard input can only be read here; files go to worker processes when there is enough to share.
    files = [job for job in jobs if not job.source.stdin]
    parts: dict[int, Tally] = {}
    if workers > 1 and len(files) > 1 and sum(j.size for j in files) >= PARALLEL_MIN:
        n = len(files)
        # fork is cheapest, but forking a process that runs threads can deadlock; then use a fork server.
        method = "fork" if threading.active_count() == 1 else "forkserver"
        with ProcessPoolExecutor(max_workers=min(workers, n), mp_context=multiprocessing.get_context(method)) as pool:
            parts = dict(zip(map(id, files), pool.map(_run_job, files, [ctx] * n, [since] * n, [until] * n), strict=True))
    per_input = [new_tally(source.name, since, until) for source in sources]
    for job in jobs:  # in input order, and the pieces of one input in file order
        part = parts.get(id(job)) or _run_job(job, ctx, since, until)
        per_input[job.index].merge(part)
    total = new_tally("", since, until)
    for tally in per_input:
        if tally.untimed:
            tally.stats.problems.append(f"{tally.untimed} counted entries had no usable time; they were counted as inside the window")
        total.merge(tally)
    total.error_times.sort()
    return LogDigest(
        since=since,
        until=until,
        inputs=[t.stats for t in per_input],
        counts={level: total.counts.get(level, 0) for level in LEVELS},
        signatures=total.book.signatures(previous_keys, tz),
        outside_window=total.outside,
        error_times=total.error_times,
    )


def digest_simple(inputs: list[str], *, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo, night: dt.date) -> list[Tally]:
    """The reference digest through the simple per-line path; the fast reader must agree with it."""
    ctx = Context(tz, night)
    out = []
    for source in expand(inputs):
        tally = new_tally(source.name, since, until)
        asm = _assembler(ctx, source.name, tally)
        with open_source(source) as fh:
            for raw in iter_lines(fh):
                asm.feed(raw)
        asm.flush()
        out.append(tally)
    return out


def _assembler(ctx: Context, name: str, tally: Tally) -> Assembler:
    """An assembler that counts the records it completes into `tally` (only fatal/error/warn are assembled)."""
    count = tally.count

    def sink(h: Head, text: str, _line_no: int) -> None:
        count(h.level, h.time, h.message, h.fields, name, text, h.epoch)

    return Assembler(ctx, tally.stats, sink, COUNTED)


@dataclass(frozen=True, slots=True)
class _Job:
    """A piece of work for one process: a whole input, or bytes [start, end) of a plain file."""

    index: int  # which input
    source: Source
    start: int = 0
    end: int | None = None
    size: int = 0


def _plan(sources: list[Source], ctx: Context, workers: int) -> list[_Job]:
    """Whole inputs, except big plain files, which are cut at record heads into one range per worker."""
    jobs = []
    for index, source in enumerate(sources):
        size = 0
        if source.path is not None:
            try:
                size = source.path.stat().st_size
                gz = is_gzip(source.path)
            except OSError:
                gz = True  # let the reading job report it
            if workers > 1 and size >= PARALLEL_MIN and not gz:
                cuts = sorted({0, size, *(_head_boundary(source, ctx, size * i // workers) for i in range(1, workers))})
                jobs.extend(_Job(index, source, a, b, b - a) for a, b in itertools.pairwise(cuts) if b > a)
                continue
        jobs.append(_Job(index, source, size=size))
    return jobs


def _run_job(job: _Job, ctx: Context, since: dt.datetime, until: dt.datetime) -> Tally:
    """Read one job; a broken input (a cut .gz, a vanished file) keeps what was read and says what went wrong."""
    source = job.source
    tally = new_tally(source.name, since, until)
    asm = _assembler(ctx, source.name, tally)
    try:
        if job.end is None:
            with open_source(source) as fh:
                _scan_stream(fh, asm, None)
        else:
            assert source.path is not None
            if job.start:
                asm.last_time = _time_before_offset(str(source.path), job.start, ctx)
            with open(source.path, "rb", buffering=0) as fh:
                fh.seek(job.start)
                _scan_stream(fh, asm, job.end - job.start)
    except (OSError, EOFError, zlib.error) as exc:
        asm.flush()
        log.warning("log input %s: %s", source.name, exc)
        tally.stats.problems.append(f"{source.name}: reading stopped after {tally.stats.lines} lines: {exc}")
    return tally


def _scan_stream(fh, asm: Assembler, limit: int | None) -> None:
    for buf, end in iter_buffers(fh, BLOCK, limit):
        scan_block(buf, end, asm)
    asm.flush()


def _head_boundary(source: Source, ctx: Context, offset: int) -> int:
    """The start of the first line at or after the line following `offset` that is a record head."""
    assert source.path is not None
    with source.path.open("rb") as fh:
        fh.seek(offset)
        _read_line(fh)  # finish the line `offset` falls in
        pos = fh.tell()
        for _ in range(100_000):
            line = _read_line(fh)
            if not line:
                return pos
            if parse_line(clean(line.rstrip(b"\n"))[0], ctx) is not None:
                return pos
            pos = fh.tell()
    return pos


def _read_line(fh) -> bytes:
    """One line, of which at most 64 KiB are kept: a file that is one huge line must not fill the memory."""
    line = fh.readline(MAX_LINE + 1)
    if line and not line.endswith(b"\n"):
        while (more := fh.readline(1 << 20)) and not more.endswith(b"\n"):
            pass
    return line


def _time_before_offset(path: str, offset: int, ctx: Context) -> dt.datetime | None:
    """The time of the last timed record head before `offset`, so a worker inherits the clock exactly."""
    span = 1 << 20
    with open(path, "rb") as fh:
        while True:
            start = max(0, offset - span)
            fh.seek(start)
            data = fh.read(offset - start)
            lines = data.split(b"\n")
            if start > 0:
                lines = lines[1:]  # maybe a partial line
            for raw in reversed(lines):
                if not raw.strip(BLANK_BYTES):  # a blank line is never a head (16 MiB of them would be parsed one by one)
                    continue
                head = parse_line(clean(raw)[0], ctx)
                if head is not None and head.time is not None:
                    return head.time
            if start == 0 or span >= 16 << 20:  # give up rather than read far back: the clock stays unknown
                return None
            span *= 4
