"""The extraction cache: versioned JSON lines beside (never inside) the output, so a rebuild opens only changed PDFs.

An entry is keyed by the PDF's absolute path and stamped with its (size, mtime_ns). The first line
says which extractor, pypdf and extraction settings the entries are for; when those change the
whole file is dropped. A build that read a few new PDFs appends their lines instead of writing the
file again (the whole file is 8.6 MB at 10,000 reports; writing it was a tenth of a one-new build),
and a later line for the same path wins. The file is rewritten, compacted, once the lines nobody
reads (superseded, removed reports, torn by a killed build) pass a quarter of the live ones.
A cache that cannot be read is an empty cache plus a warning, never a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from sitegen.site.extract import Extracted

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 2: JSON lines, appended to; 1 was one JSON object, written whole every time
# Dead lines a cache may carry before it is rewritten: this many, plus a quarter of its live entries.
COMPACT_SLACK = 64


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
    """Extraction results by PDF path, valid while the file's size and mtime_ns are unchanged."""

    def __init__(self, file: Path, stamp: str, entries: dict[str, list[Any]] | None = None, dead: int = 0):
        self.file = file
        self.stamp = stamp
        self._entries: dict[str, list[Any]] = entries or {}
        self._used: set[str] = set()
        self._new: dict[str, list[Any]] = {}  # put since the load: appended by save()
        self._dead = dead  # lines in the file that no get() will see (superseded or unreadable)
        self._rewrite = False  # the file is for another stamp or damaged: save() writes it whole

    @classmethod
    def load(cls, cache_dir: Path, reports_dir: Path, stamp: str) -> tuple[ExtractCache, list[str]]:
        """The cache for this reports folder, and a warning if an existing cache could not be read."""
        file = cache_dir / f"extract-{folder_key(reports_dir)}.jsonl"
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return cls(file, stamp), []
        except OSError as exc:
            return cls(file, stamp), [f"{file}: extraction cache cannot be read ({exc.strerror}); every PDF is read again"]
        head, _, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
            if not (isinstance(header, dict) and isinstance(header.get("format"), int) and isinstance(header.get("stamp"), str)):
                raise ValueError("not a sitegen cache")
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            reason = " ".join(str(exc).split())[:120]
            cache = cls(file, stamp)
            cache._rewrite = True
            return cache, [f"{file}: extraction cache is damaged ({reason}); every PDF is read again"]
        if header["format"] != CACHE_FORMAT or header["stamp"] != stamp:
            log.debug("cache %s is for another extractor or config; starting afresh", file)
            cache = cls(file, stamp)
            cache._rewrite = True
            return cache, []
        entries, dead = _entries(body)
        cache = cls(file, stamp, entries, dead)
        # A line torn by a killed build has no newline: a line appended to it would be torn too.
        cache._rewrite = not raw.endswith(b"\n")
        return cache, []

    def get(self, path: Path, size: int, mtime_ns: int) -> Extracted | None:
        """The cached result for this exact file version, or None."""
        key = str(path)
        entry = self._entries.get(key)
        self._used.add(key)
        if entry is None or entry[0] != size or entry[1] != mtime_ns:
            return None
        try:
            return Extracted.from_json_obj(entry[2])
        except (TypeError, KeyError, AttributeError):  # an entry from a hand-edited or half-compatible cache
            return None

    def put(self, path: Path, size: int, mtime_ns: int, extracted: Extracted) -> None:
        key = str(path)
        if key in self._entries:
            self._dead += 1  # its line in the file is superseded by the one save() appends
        self._entries[key] = self._new[key] = [size, mtime_ns, extracted.to_json_obj()]
        self._used.add(key)

    def save(self) -> list[str]:
        """Append what this build read, or rewrite the file when it carries too much nobody reads; returns warnings."""
        stale = len(self._entries.keys() - self._used)  # removed or renamed reports
        live = len(self._entries) - stale
        try:
            if self._rewrite or not self.file.exists() or self._dead + stale > COMPACT_SLACK + live // 4:
                kept = {key: self._entries[key] for key in sorted(self._used)}
                write_atomic(self.file, self._header() + b"".join(_line(key, entry) for key, entry in kept.items()))
                self._entries, self._dead, self._rewrite = kept, 0, False
                if self.file.suffix == ".jsonl":  # the whole-object cache of sitegen before format 2 goes
                    with contextlib.suppress(OSError):
                        self.file.with_suffix(".json").unlink()
            elif self._new:
                with open(self.file, "ab") as fh:  # one write: a killed build tears at most the last line
                    fh.write(b"".join(_line(key, entry) for key, entry in self._new.items()))
        except OSError as exc:
            return [f"{self.file}: extraction cache cannot be written ({exc.strerror}); the next build reads every PDF again"]
        self._new = {}
        return []

    def _header(self) -> bytes:
        return json.dumps({"format": CACHE_FORMAT, "stamp": self.stamp}).encode() + b"\n"


def _line(key: str, entry: list[Any]) -> bytes:
    return json.dumps([key, *entry], separators=(",", ":"), allow_nan=False).encode() + b"\n"


def _entries(body: bytes) -> tuple[dict[str, list[Any]], int]:
    """{path: [size, mtime_ns, extracted]} from the lines after the header, and how many lines are dead.

    One decode of all lines as a JSON array (a JSON string cannot hold a raw newline, so the lines are
    the array's items); only when that fails, because a killed build tore the last line or the file
    was edited, line by line, skipping what cannot be read.
    """
    lines = body.rstrip(b"\n")
    try:
        rows = json.loads(b"[" + lines.replace(b"\n", b",") + b"]") if lines else []
        torn = 0
    except (ValueError, RecursionError):
        rows, torn = [], 0
        for line in lines.split(b"\n"):
            try:
                rows.append(json.loads(line))
            except (ValueError, RecursionError):
                torn += 1
    entries: dict[str, list[Any]] = {}
    for row in rows:
        if (
            isinstance(row, list) and len(row) == 4 and isinstance(row[0], str)
            and isinstance(row[1], int) and isinstance(row[2], int) and isinstance(row[3], dict)
        ):
            entries[row[0]] = row[1:]
    return entries, len(rows) + torn - len(entries)
