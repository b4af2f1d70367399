"""Extract stage: read each report PDF's summary, page count and metadata.

The report wing's own PDFs are read by `quickpdf` (the plain shape fpdf2 writes, no pypdf needed); every other
PDF by pypdf. Order: the summary.json attachment, else /Title and /Subject, else the text of page 1. A PDF that
cannot be read still yields a result ("summary unavailable: REASON") so its night keeps its card.
Results are plain JSON-able values so the cache can store them and worker processes can return them.
Every string read from the file passes `model.clean_text` here, so later stages never see a control
character or a lone surrogate.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import logging
import math
import os
import re
import signal
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sitegen import limits
from sitegen.model import SUMMARY_ATTACHMENT, SignatureSummary, Summary, clean_text
from sitegen.procs import cores, die_with_parent

log = logging.getLogger(__name__)

# Bump when what extract() returns for the same file changes; the cache is dropped with it.
EXTRACTOR_VERSION = 5  # 2: clean_text; 3: bounded summary.json and size; 4: signatures; 5: /Info read only when needed
# The site shows a night's worst few signatures; summary.json lists them most severe first.
SITE_SIGNATURES = 20
# Below this many uncached PDFs, starting worker processes costs more than it saves. Measured on
# the 2-core box with 3-page PDFs: ~0.8-1.1 ms per PDF in one process, 0.2-0.3 s to start and feed
# two workers, so the pool wins from a few hundred files on.
POOL_THRESHOLD = 400
POOL_CHUNK = 64  # PDFs handed to a worker at a time, at most (see extract_many)
_SNIFF = 1024


_VERSION_LINE = re.compile(rb'^__version__ = "([0-9A-Za-z.+-]{1,40})"$', re.MULTILINE)


@functools.cache
def pypdf_version() -> str:
    """pypdf's version without importing pypdf or importlib.metadata, which every build would pay for.

    Importing importlib.metadata takes 10-75 ms, and a whole no-change build about 0.2 s; pypdf keeps its
    version in `pypdf/_version.py`, found without running pypdf. Any other layout asks the metadata.
    """
    try:
        spec = importlib.util.find_spec("pypdf")
        if spec is not None and spec.origin:
            with open(Path(spec.origin).with_name("_version.py"), "rb") as fh:
                found = _VERSION_LINE.search(fh.read(4096))
            if found:
                return found.group(1).decode()
    except (OSError, ImportError, ValueError):
        pass
    from importlib import metadata

    try:
        return metadata.version("pypdf")
    except metadata.PackageNotFoundError:
        return "?"


@dataclass(frozen=True)
class Extracted:
    """What one PDF says about itself; `problems` are human-readable reasons, empty when all went well."""

    title: str = ""
    summary: str = ""
    summary_source: str = "none"  # attachment | metadata | text | none
    pages: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    summary_date: str | None = None  # what summary.json claims, checked against the file name later
    summary_status: str | None = None
    summary_suite: str | None = None
    problems: tuple[str, ...] = ()
    signatures: tuple[SignatureSummary, ...] = ()

    def to_row(self) -> list[Any]:
        """The fields in declaration order, signatures as rows: the cache's line and a worker's answer.

        A list rather than an object with named keys: at 10,000 reports the cache is 43 % smaller and
        decodes in half the time (the key names were most of each line), and every build decodes all of it.
        """
        return [
            self.title, self.summary, self.summary_source, self.pages, dict(self.metrics), dict(self.extra),
            self.summary_date, self.summary_status, self.summary_suite, list(self.problems),
            [s.to_row() for s in self.signatures],
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> Extracted:
        """The inverse of to_row; ValueError or TypeError when `row` is not one (a torn or hand-edited cache line),
        so that such a line is read again from its PDF rather than reaching a card."""
        title, summary, source, pages, metrics, extra, date, status, suite, problems, signatures = row
        if not (
            all(type(t) is str for t in (title, summary, source, *problems))
            and all(c is None or type(c) is str for c in (date, status, suite))
            and (pages is None or type(pages) is int)
            and type(metrics) is dict
            and all(type(v) in (int, float) and math.isfinite(v) for v in metrics.values())
            and type(extra) is dict
            and type(problems) is list
            and type(signatures) is list
        ):
            raise TypeError("a field of the wrong type")
        # Cleaned as extract() cleaned them, in case the line was edited: cheap for clean text (isprintable first).
        return cls(
            clean_text(title), clean_text(summary), source, pages, metrics, _safe_json(extra) if extra else extra,
            date, status, suite, tuple(map(clean_text, problems)), tuple(map(SignatureSummary.from_row, signatures)),
        )


def unavailable(reason: str, pages: int | None = None) -> Extracted:
    """The result for a PDF whose summary cannot be read: the card still shows, saying why."""
    return Extracted(summary=f"summary unavailable: {reason}", pages=pages, problems=(reason,))


def collapse(text: str, limit: int) -> str:
    """Whitespace collapsed and cut to about `limit` characters at a word boundary, marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip(" ,.;:") + "…"


def _sniff(head: bytes) -> str | None:
    """A reason the file is not a PDF at all, judged from its first bytes; None when it looks like one."""
    if not head:
        return "empty file (0 bytes)"
    if b"%PDF-" in head:
        return None
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")) or b"<html" in lowered:
        return "not a PDF: the file is HTML (a web page saved with a .pdf name?)"
    return "not a PDF: the file does not start with a %PDF header"


def _looks_truncated(data: bytes) -> bool:
    return b"%%EOF" not in data[-_SNIFF:]


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs and warns about every repairable oddity; those are not the user's business here."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _detail(exc: BaseException) -> str:
    """An exception as one short line (its text may quote bytes from the file)."""
    return " ".join(clean_text(str(exc)).split())[:200] or type(exc).__name__


def _text(value: Any) -> str:
    """A /Title or /Subject as one cleaned line."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = _undecoded_text(bytes(value))
    return " ".join(clean_text(str(value)).split())


def _undecoded_text(raw: bytes) -> str:
    """A PDF text string pypdf left as bytes because some byte is not PDFDocEncoding (a NUL is enough).

    Its str() would guess UTF-16 first and turn `imagemagick-lzw\\x00` into CJK; read it as the PDF
    spec says instead (BOM, else PDFDocEncoding byte by byte), so only the unknown bytes become U+FFFD.
    """
    from pypdf.generic import decode_pdfdocencoding

    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", "replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", "replace")
    out = []
    for byte in raw:
        try:
            out.append(decode_pdfdocencoding(bytes((byte,))))
        except UnicodeDecodeError:
            out.append("\ufffd")
    return "".join(out)


def _safe_json(value: Any) -> Any:
    """A JSON value that reports.json can always hold: strings and keys cleaned at any depth, and
    non-finite numbers (1e400 parses as inf) replaced by null."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {clean_text(str(k)): _safe_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe_json(v) for v in value]
    return value


def _safe_summary(summary: Summary) -> Summary:
    """summary.json as read, with every string cleaned (metric keys included) and only finite metrics."""
    return replace(
        summary,
        date=clean_text(summary.date),
        status=clean_text(summary.status),
        suite=clean_text(summary.suite) if summary.suite is not None else None,
        title=clean_text(summary.title),
        headline=clean_text(summary.headline),
        metrics={clean_text(k): v for k, v in summary.metrics.items() if math.isfinite(v)},
        extra=_safe_json(summary.extra),
    )


def extract(path: Path, size: int, summary_length: int) -> Extracted:
    """Read one PDF; never raises for a bad file, it returns an `unavailable` result naming the reason."""
    if size > limits.PDF_READ_BYTES:
        return _too_big(size)
    try:
        with path.open("rb") as fh:
            reason = _sniff(fh.read(_SNIFF))  # a web page saved as .pdf is not read whole
            if reason:
                return unavailable(reason)
            fh.seek(0)
            data = fh.read(limits.PDF_READ_BYTES + 1)  # read once, for the checks and both readers
            if len(data) > limits.PDF_READ_BYTES:  # it grew since the scan
                return _too_big(os.fstat(fh.fileno()).st_size)
    except OSError as exc:
        return unavailable(f"cannot read the file ({exc.strerror})")
    if len(data) > limits.PDF_REPAIR_BYTES and _looks_truncated(data):
        # pypdf looks for a missing end marker line by line from the end: 40 s for 250 MB of nothing.
        return unavailable(
            f"truncated PDF (no end-of-file marker); not repaired, as the file is larger than "
            f"{limits.size_text(limits.PDF_REPAIR_BYTES)}"
        )
    quick = _read_quickly(data, summary_length)
    if quick is not None:
        return quick
    try:
        with _quiet_pypdf():
            return _extract_pdf(data, summary_length)
    except Exception as exc:  # pypdf raises many types on hostile input; any of them means "unreadable PDF"
        aes = _needs_aes(exc)
        if aes is not None:
            return aes
        detail = _detail(exc)
        if _looks_truncated(data):
            return unavailable(f"truncated PDF (no end-of-file marker): {detail}")
        return unavailable(f"corrupt PDF: {detail}")


def _too_big(size: int) -> Extracted:
    # The whole file is read into memory, and a 2 GB sparse file took pypdf minutes: publish it unread.
    return unavailable(
        f"the file is {limits.size_text(size)}, larger than the {limits.size_text(limits.PDF_READ_BYTES)} "
        "sitegen reads for a summary (the PDF is still published)"
    )


def _needs_aes(exc: BaseException) -> Extracted | None:
    """The card for an AES-encrypted PDF when pypdf lacks the optional `cryptography` package, else None.

    sitegen does not ship that compiled package for this rare case: pdf.js decrypts in the browser,
    so only the summary is lost, and the card says how to get it back.
    """
    if "cryptography" not in str(exc):
        return None
    return unavailable(
        "encrypted PDF (AES): reading its summary needs the Python package 'cryptography' "
        "(pip install cryptography); the PDF is still published and the viewer opens it"
    )


def _read_quickly(data: bytes, summary_length: int) -> Extracted | None:
    """The result without pypdf, for a PDF of the simple shape (quickpdf) whose summary.json gives the title and
    the card text; None for any other, which pypdf reads. The same result as _extract_pdf's (a test holds them equal)."""
    from sitegen.site import quickpdf  # here: its patterns cost 10 ms to compile, and most builds read no PDF

    found = quickpdf.read(data)
    if found is None:
        return None
    try:
        summary = _safe_summary(Summary.from_json_bytes(found.summary))
    except ValueError:  # pypdf's path says why it is ignored
        return None
    if not (summary.title.strip() and summary.headline.strip()):
        return None  # the card needs the /Info dictionary or the text of page 1
    return _result(summary.title.strip(), summary.headline, "attachment", found.pages, summary, [], summary_length)


def _extract_pdf(data: bytes, summary_length: int) -> Extracted:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")  # many PDFs are "encrypted" with an empty user password
        except Exception as exc:  # e.g. an algorithm this pypdf cannot do without an optional package
            return _needs_aes(exc) or unavailable(f"encrypted PDF (cannot decrypt: {_detail(exc)})")
        if not opened:
            return unavailable("encrypted PDF (a password is needed to open it)")
    pages = _page_count(reader)
    problems: list[str] = []

    summary: Summary | None = None
    try:
        found = reader.attachments.get(SUMMARY_ATTACHMENT)
    except Exception as exc:  # a broken name tree should not hide the metadata and text
        found = None
        problems.append(f"attachments cannot be read: {_detail(exc)}")
    if found:
        try:
            summary = _safe_summary(Summary.from_json_bytes(found[0]))
        except ValueError as exc:
            problems.append(f"{SUMMARY_ATTACHMENT} attachment ignored: {exc}")

    meta_title = meta_subject = ""
    if not (summary and summary.title.strip() and summary.headline.strip()):  # else the /Info dictionary is not needed
        try:
            meta = reader.metadata or {}
            meta_title, meta_subject = _text(meta.get("/Title")), _text(meta.get("/Subject"))
        except Exception as exc:  # a broken /Info dictionary: the attachment or the text may still do
            problems.append(f"metadata cannot be read: {_detail(exc)}")

    title = (summary.title.strip() if summary else "") or meta_title
    # The card text: the first of headline, /Subject, page-1 text, /Title that says anything.
    text = summary.headline if summary else ""
    source = "attachment"
    if not text.strip():
        text, source = meta_subject, "metadata"
    if not text.strip() and pages:
        try:
            text, source = clean_text(reader.pages[0].extract_text()), "text"
        except Exception as exc:  # fonts or content streams pypdf cannot decode
            problems.append(f"page 1 text cannot be read: {_detail(exc)}")
    if not text.strip():
        text, source = meta_title, ("metadata" if meta_title else "none")
    if summary is not None:
        source = "attachment"  # it gave the title, date, status and metrics even without a headline
    return _result(title, text, source, pages, summary, problems, summary_length)


def _result(
    title: str, text: str, source: str, pages: int, summary: Summary | None, problems: list[str], summary_length: int
) -> Extracted:
    return Extracted(
        title=collapse(title, summary_length),
        summary=collapse(text, summary_length),
        summary_source=source,
        pages=pages,
        metrics=dict(summary.metrics) if summary else {},
        extra=dict(summary.extra) if summary else {},
        summary_date=summary.date if summary else None,
        summary_status=summary.status if summary else None,
        summary_suite=summary.suite if summary else None,
        problems=tuple(problems),
        signatures=tuple((summary.signatures or ())[:SITE_SIGNATURES]) if summary else (),
    )


def _page_count(reader: Any) -> int:
    """The page tree's /Count: one object read, where len(reader.pages) parses every page (half the time)."""
    try:
        count = reader.trailer["/Root"].get_object()["/Pages"].get_object()["/Count"]
        if isinstance(count, int) and 0 <= count <= limits.PAGE_COUNT:
            return int(count)
    except (KeyError, AttributeError, TypeError):
        pass
    count = len(reader.pages)
    if count > limits.PAGE_COUNT:
        raise ValueError(f"the page tree claims {count} pages, more than the limit of {limits.PAGE_COUNT:,}")
    return count


class _TookTooLong(BaseException):
    """Raised by the timer inside pypdf; a BaseException so that extract()'s `except Exception` lets it through."""


def _on_timer(signum: int, frame: Any) -> None:
    raise _TookTooLong


def _extract_job(job: tuple[str, int, int]) -> list[Any]:
    """One PDF, bounded in time where a timer can be set (the main thread of the CLI or of a pool worker)."""
    path, size, summary_length = job
    seconds = limits.PDF_READ_SECONDS
    if threading.current_thread() is not threading.main_thread():  # the dev server's build thread: no timers there
        return extract(Path(path), size, summary_length).to_row()
    previous = signal.signal(signal.SIGALRM, _on_timer)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return extract(Path(path), size, summary_length).to_row()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _TookTooLong:
        return unavailable(f"reading it took longer than {seconds:g} s, the limit per PDF (the PDF is still published)").to_row()
    finally:
        signal.signal(signal.SIGALRM, previous)


def extract_many(jobs: list[tuple[Path, int]], summary_length: int) -> list[Extracted]:
    """Extract (path, size) pairs in order, on every core when there are enough of them to pay for processes."""
    payload = [(str(path), size, summary_length) for path, size in jobs]
    count = cores()
    if len(jobs) < POOL_THRESHOLD or count < 2:
        return [Extracted.from_row(_extract_job(job)) for job in payload]
    # Imported here: most builds read a few PDFs or none, and these imports cost a build 20 ms.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import pypdf  # noqa: F401 - imported once here, not once per forked worker

    parent: int | None = os.getpid()  # the workers' parent, as they will check it
    if threading.active_count() == 1:
        context = multiprocessing.get_context("fork")  # cheapest: workers inherit pypdf already imported
    else:
        parent = None  # the forkserver is their parent; it ends when this process does
        # A threaded caller (the dev server) must not fork: a lock held by another thread would stay locked.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sitegen.site.extract", "pypdf"])
    # Small chunks: the pool ends when its slowest worker does, and a chunk of 1,250 PDFs (a quarter of a worker's
    # share at 10,000) left one core idle for up to 0.7 s at the end; 64 is about 35 ms of work (bench/RESULTS.md).
    chunk = max(1, min(POOL_CHUNK, math.ceil(len(payload) / (count * 4))))
    # Workers end with this process, even when it is killed (they would hold the build lock otherwise).
    with ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=die_with_parent, initargs=(parent,)) as pool:
        results = list(pool.map(_extract_job, payload, chunksize=chunk))
    return [Extracted.from_row(row) for row in results]
