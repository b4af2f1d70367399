"""Turn the --logs arguments (files, folders, globs, .gz, `-`) into byte streams read in big blocks."""

from __future__ import annotations

import glob
import gzip
import logging
import os
import stat
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sitegen import limits
from sitegen.errors import UsageError, printable
from sitegen.model import clean_text
from sitegen.nightly.files import GZIP_MAGIC, is_gzip
from sitegen.nightly.logs.formats import MAX_LINE

log = logging.getLogger(__name__)

BLOCK = 16 * 1024 * 1024  # bytes per read; big enough that per-block Python overhead is nothing
STDIN_NAME = "standard input"  # how the report names `--logs -`: a headline reads "Panic in standard input: ..."
SKIPPED_NAMES = {"manifest.json"}  # what `sitegen collect` writes beside the logs


@dataclass(frozen=True, slots=True)
class Source:
    """One log stream: a file (maybe gzip-compressed) or standard input."""

    name: str  # what the report shows: the path as given/found, or STDIN_NAME
    path: Path | None  # None for stdin

    @property
    def stdin(self) -> bool:
        return self.path is None


def expand(inputs: list[str]) -> list[Source]:
    """Expand arguments to sources in a stable order; a pattern or path matching nothing is a UsageError.

    A log-store export (logcli jsonl, Elasticsearch hits) becomes one source per pod and container.
    """
    from sitegen.nightly.logs.stores import split_exports

    return split_exports(_expand(inputs))


def _expand(inputs: list[str]) -> list[Source]:
    found: list[Source] = []
    bases: list[Path | None] = []  # the folder each source is named from: the folder given, or the file's own
    seen: set[str] = set()
    missing: list[str] = []

    def add(path: Path, base: Path) -> None:
        # realpath, not Path.resolve(): a loop of links raises RuntimeError there; here opening it says what is wrong.
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            found.append(Source(str(path), path))
            bases.append(base)

    for arg in inputs:
        if arg == "-":
            if "-" not in seen:
                seen.add("-")
                found.append(Source(STDIN_NAME, None))
                bases.append(None)
            continue
        path = Path(arg)
        if path.is_dir():
            # Inside a folder a file is named by its path there ("tidb-0/tidb.log", as collect lays them out),
            # which is what the report shows and what stays the same from machine to machine.
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and name not in SKIPPED_NAMES and _regular(Path(root) / name):
                        add(Path(root) / name, path)
        elif path.is_file():
            add(path, path.parent)
        elif glob.has_magic(arg):
            matches = _glob(arg)
            files = [(Path(m), Path(m).parent) for m in matches if Path(m).is_file()]
            for m in matches:
                if Path(m).is_dir():
                    files.extend((s.path, Path(m)) for s in _expand([m]) if s.path is not None)
            if not files:
                missing.append(f"{printable(arg)}: no file matches this pattern")
            for f, base in files:
                add(f, base)
        elif path.exists():
            missing.append(f"{printable(arg)}: not a regular file or folder (a FIFO, socket or device)")
        else:
            missing.append(f"{printable(arg)}: no such file or folder")
    if missing:
        raise UsageError("--logs: " + "; ".join(missing))
    return _named(found, bases)


def _glob(pattern: str) -> list[str]:
    """The paths matching `pattern`, sorted, hidden names left out as the shell does. `**` does not enter links to
    folders (glob.glob does, and two links to `..` make it run for ever); pathlib's glob never follows them."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    base = Path(*parts[:fixed]) if fixed else Path()
    rest = parts[fixed:]
    hidden_asked = any(part.startswith(".") for part in rest)  # `logs/.*` asks for hidden names, as in the shell
    try:
        matches = list(base.glob("/".join(rest)))
    except ValueError:  # a pattern pathlib refuses (`**.log`): glob's own reading, without recursion
        return sorted(glob.glob(pattern))
    except OSError:  # an unreadable base folder: nothing matches
        return []
    return sorted(str(p) for p in matches if hidden_asked or not any(n.startswith(".") for n in p.relative_to(base).parts))


def _named(found: list[Source], bases: list[Path | None]) -> list[Source]:
    """Each file named by its path below the folder all inputs share, as `collect` lays them out (`tidb-0/tidb.log`):
    what the report shows, the same from machine to machine, never this machine's `/tmp/night-u7nwwjgr/...`."""
    folders = [os.path.abspath(b) for b in bases if b is not None]
    if not folders:
        return found
    try:
        common = os.path.commonpath(folders)
    except ValueError:  # different drives: no shared folder, so the names are the files' own
        return [s if s.path is None else Source(clean_text(s.path.name), s.path) for s in found]
    # The name reaches the PDF, summary.json (a signature's component is its folder) and the site: cleaned here.
    return [
        s if s.path is None else Source(clean_text(Path(os.path.relpath(os.path.abspath(s.path), common)).as_posix()), s.path)
        for s in found
    ]


def _regular(path: Path) -> bool:
    """False, with a warning, for a FIFO, socket or device found in a folder: reading it could block forever."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return True  # a broken link or a vanished file: opening it gives the usual clear error
    if stat.S_ISREG(mode):
        return True
    log.warning("--logs: %s is not a regular file (a FIFO, socket or device), skipped", path)
    return False


def open_source(source: Source) -> BinaryIO:
    """Open a source for binary reading, decompressing gzip transparently (also on stdin)."""
    if source.path is None:
        raw: BinaryIO = sys.stdin.buffer
        peek = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        if peek == GZIP_MAGIC:
            return _Chunked(gzip.GzipFile(fileobj=raw))  # type: ignore[return-value]
        return raw
    if is_gzip(source.path):
        bound = max(limits.LOG_GZIP_RATIO * source.path.stat().st_size, limits.LOG_GZIP_FLOOR_BYTES)
        return _Chunked(gzip.open(source.path, "rb"), bound)  # type: ignore[return-value]
    return source.path.open("rb", buffering=0)


def iter_blocks(fh: BinaryIO, size: int = BLOCK, limit: int | None = None) -> Iterator[bytes]:
    """Yield blocks of whole lines (each ends with b"\\n" except maybe the last); reads at most `limit` bytes."""
    tail = b""
    remaining = limit
    while True:
        want = size if remaining is None else min(size, remaining)
        if want <= 0:
            break
        chunk = fh.read(want)
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            # A block with no newline at all is one huge line: keep only what truncation will keep.
            if len(tail) > 2 * size:
                tail = tail[: size]
            continue
        tail = data[cut + 1 :]
        yield data[: cut + 1]
    if tail:
        yield tail


class _Chunked:
    """Reads a gzip stream step by step, so a cut file keeps everything before the cut."""

    STEP = 1 << 20

    def __init__(self, inner: gzip.GzipFile, bound: int | None = None):
        self.inner = inner
        self.bound = bound  # decompressed bytes read at most (limits.LOG_GZIP_RATIO); None for standard input
        self.given = 0

    def readinto(self, view: memoryview) -> int:
        # read1 returns what one decompression step gave, so an EOFError loses nothing already decoded.
        data = self.inner.read1(min(len(view), self.STEP))
        self._count(len(data))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self._count(len(data))
        return data

    def _count(self, n: int) -> None:
        self.given += n
        if self.bound is not None and self.given > self.bound:
            # EOFError: the readers keep what came before and name the input's problem, as for a cut file.
            raise EOFError(
                f"it expands to more than {limits.size_text(self.bound)} (over {limits.LOG_GZIP_RATIO}x its size, "
                "limit LOG_GZIP_RATIO); the rest is not read"
            )

    def __enter__(self) -> _Chunked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()


def iter_buffers(fh: BinaryIO, size: int = BLOCK, limit: int | None = None) -> Iterator[tuple[bytearray, int]]:
    """Yield (buffer, end): buffer[:end] holds whole lines. The buffer is reused, so use it before the next step.

    Reading into one reused bytearray avoids copying every block; this is where most of the bytes go.
    """
    buf = bytearray(size)
    have = 0
    remaining = limit
    while True:
        want = len(buf) - have
        if remaining is not None:
            want = min(want, remaining)
        try:
            got = fh.readinto(memoryview(buf)[have : have + want]) if want > 0 else 0
        except (OSError, EOFError, zlib.error):
            if have:
                yield buf, have  # a cut .gz: what was read still counts
            raise
        if not got:
            if have:
                yield buf, have
            return
        if remaining is not None:
            remaining -= got
        have += got
        cut = buf.rfind(b"\n", 0, have)
        if cut < 0:
            if have == len(buf):
                if len(buf) >= max(4 * size, 2 * MAX_LINE):
                    have = MAX_LINE + 1  # one enormous line: keep what truncation keeps, drop the rest
                else:
                    buf.extend(bytes(size))
            continue
        yield buf, cut + 1
        rest = have - (cut + 1)
        if rest:
            buf[:rest] = buf[cut + 1 : have]
        have = rest


def iter_lines(fh: BinaryIO) -> Iterator[bytes]:
    """Physical lines without their newline; the simple path used as the reference."""
    for block in iter_blocks(fh):
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()
        yield from lines
