"""The extraction cache: versioned JSON beside (never inside) the output, so a rebuild opens only changed PDFs.

An entry is keyed by the PDF's absolute path and stamped with its (size, mtime_ns). The whole
file is dropped when the extractor version, pypdf's version or the config keys extraction reads
change. A cache that cannot be read is an empty cache plus a warning, never a crash.
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

CACHE_FORMAT = 1


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

    def __init__(self, file: Path, stamp: str, entries: dict[str, list[Any]] | None = None):
        self.file = file
        self.stamp = stamp
        self._entries: dict[str, list[Any]] = entries or {}
        self._used: set[str] = set()
        self._dirty = False

    @classmethod
    def load(cls, cache_dir: Path, reports_dir: Path, stamp: str) -> tuple[ExtractCache, list[str]]:
        """The cache for this reports folder, and a warning if an existing cache could not be read."""
        file = cache_dir / f"extract-{folder_key(reports_dir)}.json"
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return cls(file, stamp), []
        except OSError as exc:
            return cls(file, stamp), [f"{file}: extraction cache cannot be read ({exc.strerror}); every PDF is read again"]
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict) or not isinstance(obj.get("entries"), dict):
                raise ValueError("not a sitegen cache")
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            reason = " ".join(str(exc).split())[:120]
            return cls(file, stamp), [f"{file}: extraction cache is damaged ({reason}); every PDF is read again"]
        if obj.get("format") != CACHE_FORMAT or obj.get("stamp") != stamp:
            log.debug("cache %s is for another extractor or config; starting afresh", file)
            cache = cls(file, stamp)
            cache._dirty = True
            return cache, []
        return cls(file, stamp, obj["entries"]), []

    def get(self, path: Path, size: int, mtime_ns: int) -> Extracted | None:
        """The cached result for this exact file version, or None."""
        key = str(path)
        entry = self._entries.get(key)
        self._used.add(key)
        if not isinstance(entry, list) or len(entry) != 3 or entry[0] != size or entry[1] != mtime_ns:
            return None
        try:
            return Extracted.from_json_obj(entry[2])
        except (TypeError, KeyError):  # an entry from a hand-edited or half-compatible cache
            return None

    def put(self, path: Path, size: int, mtime_ns: int, extracted: Extracted) -> None:
        key = str(path)
        self._entries[key] = [size, mtime_ns, extracted.to_json_obj()]
        self._used.add(key)
        self._dirty = True

    def save(self) -> list[str]:
        """Write the cache if anything changed, keeping only the entries this build used; returns warnings."""
        stale = set(self._entries) - self._used
        if not self._dirty and not stale:
            return []
        for key in stale:
            del self._entries[key]
        data = {"format": CACHE_FORMAT, "stamp": self.stamp, "entries": dict(sorted(self._entries.items()))}
        try:
            write_atomic(self.file, json.dumps(data, separators=(",", ":"), allow_nan=False).encode())
        except OSError as exc:
            return [f"{self.file}: extraction cache cannot be written ({exc.strerror}); the next build reads every PDF again"]
        self._dirty = False
        return []
