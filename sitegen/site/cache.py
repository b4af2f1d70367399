"""The extraction cache: versioned JSON lines beside (never inside) the output, so a rebuild opens only changed PDFs.

An entry is keyed by the PDF's absolute path and stamped with its (size, mtime_ns, inode). Its line holds what
every build needs of every report (`Cached`: the summary's own date, status and suite, the problems, the signature
keys) apart from the full result, which is decoded only for the reports whose cards a build draws; a check over
the line tells one torn or edited by hand, which is then read again from its PDF. The first line
says which extractor, pypdf and extraction settings the entries are for; when those change the
whole file is dropped. A build that read a few new PDFs appends their lines instead of writing the
file again (the whole file is 8.6 MB at 10,000 reports; writing it was a tenth of a one-new build),
and a later line for the same path wins. The file is rewritten, compacted, once the lines nobody
reads (superseded, removed reports, torn by a killed build) pass a quarter of the live ones.
A cache that cannot be read is an empty cache plus a warning, never a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from sitegen.site.extract import Extracted

log = logging.getLogger(__name__)

# A cached result's JSON: bytes once put, a view into the loaded file before (so loading copies nothing).
Result = bytes | memoryview
# A file's (size, mtime_ns, inode): the inode tells a new file renamed over the old one (the nightly job's way of
# writing) from the old one, even when it has the same size and its mtime was set back (`cp -p`, `tar`, `rsync -t`).
Stamp = tuple[int, int, int]
# 5: the light fields and a check on each line; 4: the inode in the stamp; 3: results as rows (Extracted.to_row);
# 2: as objects; 1: one JSON object
CACHE_FORMAT = 5
# Dead lines a cache may carry before it is rewritten: this many, plus a quarter of its live entries.
COMPACT_SLACK = 64


class Cached(NamedTuple):
    """A cached extraction: what a build reads of every report, and the full result, decoded by `load()`.

    A one-new build at 10,000 reports draws the cards of about a hundred; turning every cached row back into
    objects (30,000 signatures among them) was a sixth of it. A tuple: the cheapest object to make, 10,000 times.
    """

    summary_date: str | None
    summary_status: str | None
    summary_suite: str | None
    problems: tuple[str, ...]
    signature_keys: tuple[str, ...]  # every signature's key, in order (Report.signature_keys)
    result: Result  # Extracted.to_row() as JSON

    def load(self) -> Extracted:
        """The full result. The line's check matched, so it is a row this cache wrote from an Extracted."""
        return Extracted.from_row(json.loads(bytes(self.result)))


def _light(extracted: Extracted) -> list[Any]:
    """Cached's fields but the result, as a line's head carries them."""
    x = extracted
    return [x.summary_date, x.summary_status, x.summary_suite, list(x.problems), [sig.key for sig in x.signatures]]


# An entry: the file's stamp, the light fields, the result's JSON, and the line as signed (head, tab, result) with
# its check. Views into the loaded file, or bytes for an entry put since.
Entry = tuple[Stamp, list[Any], Result, Result, bytes]


def _check(signed: Result) -> bytes:
    return hashlib.blake2b(signed, digest_size=8).hexdigest().encode()


def folder_key(path: Path) -> str:
    """A short stable name for a folder, so several sites can share one cache folder."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file via a temp file in the same folder and a rename: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class ExtractCache:
    """Extraction results by PDF path, valid while the file's Stamp is unchanged.

    Each entry keeps its result as the JSON bytes of its line, decoded only when a build asks for it:
    decoded all at once, 10,000 entries took 70 MB more memory than their 8.6 MB of text.
    """

    def __init__(self, file: Path, stamp: str, entries: dict[str, Entry] | None = None, dead: int = 0):
        self.file = file
        self.stamp = stamp
        self._entries: dict[str, Entry] = entries or {}  # by path
        self._used: set[str] = set()
        self._new: list[str] = []  # paths put since the load: their lines are appended by save()
        self._dead = dead  # lines in the file that no get() will see (superseded or unreadable)
        self._rewrite = False  # the file is for another stamp, damaged or torn: save() writes it whole
        self._loaded: tuple[int, int] | None = None  # (inode, size) of the file as read: appended to only while it is that

    @classmethod
    def load(cls, cache_dir: Path, reports_dir: Path, stamp: str) -> tuple[ExtractCache, list[str]]:
        """The cache for this reports folder, and a warning if an existing cache could not be read."""
        file = cache_dir / f"extract-{folder_key(reports_dir)}.jsonl"
        try:
            with open(file, "rb") as fh:
                loaded = os.fstat(fh.fileno())
                raw = fh.read()
        except FileNotFoundError:
            return cls(file, stamp), []
        except OSError as exc:
            return cls(file, stamp), [f"{file}: extraction cache cannot be read ({exc.strerror}); every PDF is read again"]
        head, _, _ = raw[:4096].partition(b"\n")
        cache = cls(file, stamp)
        cache._rewrite = True
        try:
            header = json.loads(head)
            if not (isinstance(header, dict) and isinstance(header.get("format"), int) and isinstance(header.get("stamp"), str)):
                raise ValueError("not a sitegen cache")
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            reason = " ".join(str(exc).split())[:120]
            return cache, [f"{file}: extraction cache is damaged ({reason}); every PDF is read again"]
        if header["format"] != CACHE_FORMAT or header["stamp"] != stamp:
            log.debug("cache %s is for another extractor or config; starting afresh", file)
            return cache, []
        cache._entries, cache._dead = _entries(raw, len(head) + 1)
        # A line torn by a killed build has no newline: a line appended to it would be torn too.
        cache._rewrite = not raw.endswith(b"\n")
        cache._loaded = (loaded.st_ino, len(raw))
        return cache, []

    def get(self, path: Path, stamp: Stamp) -> Cached | None:
        """The cached result for this exact file version, or None (also for a line that fails its check)."""
        key = str(path)
        entry = self._entries.get(key)
        self._used.add(key)
        if entry is None or entry[0] != stamp:
            return None
        _stamp, light, result, signed, check = entry
        if _check(signed) != check:  # torn or edited by hand: read from its PDF again
            return None
        date, status, suite, problems, keys = light
        return Cached(date, status, suite, tuple(problems), tuple(keys), result)

    def put(self, path: Path, stamp: Stamp, extracted: Extracted) -> None:
        key = str(path)
        if key in self._entries:
            self._dead += 1  # its line in the file is superseded by the one save() appends
        light = _light(extracted)
        result = json.dumps(extracted.to_row(), separators=(",", ":"), allow_nan=False).encode()
        signed = json.dumps([key, *stamp, light], separators=(",", ":")).encode() + b"\t" + result
        self._entries[key] = (stamp, light, result, signed, _check(signed))
        self._new.append(key)
        self._used.add(key)

    def save(self) -> list[str]:
        """Append what this build read, or rewrite the file when it carries too much nobody reads; returns warnings."""
        stale = len(self._entries.keys() - self._used)  # removed or renamed reports
        live = len(self._entries) - stale
        compact = self._rewrite or self._dead + stale > COMPACT_SLACK + live // 4
        if not compact and not self._new:
            return []
        try:
            # Two sites built from one reports folder share this file, and their builds do not exclude each other
            # (the build lock is per output): a save appends only to the very file it loaded, under this lock.
            with locked(self.file.with_name(self.file.name + ".lock")):
                if compact or not self._append():
                    self._compact()
        except OSError as exc:
            return [f"{self.file}: extraction cache cannot be written ({exc.strerror}); the next build reads every PDF again"]
        self._new = []
        return []

    def _append(self) -> bool:
        """Append the lines put since the load; False when the file is no longer the one loaded (or cannot be appended to)."""
        try:
            # Not open(..., "ab"): that would create a missing file, which a reader would take for a damaged one.
            with open(os.open(self.file, os.O_WRONLY | os.O_APPEND), "wb") as fh:
                st = os.fstat(fh.fileno())
                if self._loaded is None or (st.st_ino, st.st_size) != self._loaded:
                    return False  # rewritten by another build (perhaps for another stamp) or appended to since
                data = b"".join(_line(self._entries[key]) for key in dict.fromkeys(self._new))
                fh.write(data)  # one write: a killed build tears at most the last line
        except OSError:
            return False  # a file we may not write to in a folder we may: the rewrite replaces it
        self._loaded = (st.st_ino, st.st_size + len(data))
        return True

    def _compact(self) -> None:
        """Write the entries this build used, and only those, as a new file."""
        kept = {key: self._entries[key] for key in sorted(self._used) if key in self._entries}
        data = self._header() + b"".join(_line(entry) for entry in kept.values())
        write_atomic(self.file, data)
        self._entries, self._dead, self._rewrite = kept, 0, False
        self._loaded = (os.stat(self.file).st_ino, len(data))
        if self.file.suffix == ".jsonl":  # the whole-object cache of sitegen before format 2 goes
            with contextlib.suppress(OSError):
                self.file.with_suffix(".json").unlink()

    def _header(self) -> bytes:
        return json.dumps({"format": CACHE_FORMAT, "stamp": self.stamp}).encode() + b"\n"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive flock on `path` (made if missing) for the block, waiting for any holder; dropped if the process dies.

    Raises OSError, before the block runs, when the lock file cannot be opened.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _line(entry: Entry) -> bytes:
    """`[path, size, mtime_ns, inode, light]`, a tab, the result's JSON, a tab, the check: JSON text never holds a raw tab
    or newline."""
    return bytes(entry[3]) + b"\t" + entry[4] + b"\n"


def _entries(raw: bytes, start: int) -> tuple[dict[str, Entry], int]:
    """{path: entry} from the lines of `raw` after `start`, and how many lines are dead.

    The heads of all lines are decoded in one go, as one JSON array; only when that fails (a file
    edited by hand) line by line. The results stay views into `raw`, not copies, until a build loads one;
    the checks are tested by get(), for the entries a build asks for.
    """
    view = memoryview(raw)
    heads: list[bytes] = []
    lines: list[tuple[Result, Result, bytes]] = []  # (result, signed, check)
    dead = 0
    end = len(raw)
    while start < end:
        stop = raw.find(b"\n", start)
        stop = end if stop < 0 else stop
        tab = raw.find(b"\t", start, stop)
        last = raw.rfind(b"\t", start, stop)
        if tab < 0 or last == tab:
            dead += 1
        else:
            heads.append(raw[start:tab])
            lines.append((view[tab + 1 : last], view[start:last], raw[last + 1 : stop]))
        start = stop + 1
    try:
        decoded: list[Any] = json.loads(b"[" + b",".join(heads) + b"]")
    except (ValueError, RecursionError):
        decoded = []
    if len(decoded) != len(heads):  # it did not parse, or an edited head holds a comma at its top level
        decoded = [_decoded(head) for head in heads]
    entries: dict[str, Entry] = {}
    for head, (result, signed, check) in zip(decoded, lines, strict=True):
        # Only the key and stamp are needed here; the rest of a head is trusted once get() has tested the line's check.
        if isinstance(head, list) and len(head) == 5 and isinstance(head[0], str) and all(type(n) is int for n in head[1:4]):
            dead += head[0] in entries
            entries[head[0]] = ((head[1], head[2], head[3]), head[4], result, signed, check)
        else:
            dead += 1
    return entries, dead


def _decoded(head: bytes) -> Any:
    try:
        return json.loads(head)
    except (ValueError, RecursionError):
        return None
