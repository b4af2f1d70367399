"""Reading input files whole, gzip or not: shared by the metrics and chaos readers and the log inputs."""

from __future__ import annotations

import gzip
import logging
import stat
import zlib
from pathlib import Path

from sitegen import limits
from sitegen.errors import UsageError

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    """True for gzip data, whatever the file is called."""
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def text_lines(text: str) -> list[str]:
    """The lines of a text file: split at LF, CRLF or CR only. `str.splitlines` also splits at U+0085, U+2028
    and form feeds, which a quoted CSV field or a YAML value may hold, and the line numbers of errors would be off."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


def read_text(path: Path, what: str, limit: int) -> str:
    """The whole file as text (gunzipped when its first bytes say gzip), at most `limit` bytes after gunzip.

    UsageError naming `what`, the file and the limit when it cannot be read or is too big; a FIFO or
    device is refused rather than read (it could block or never end).
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode) and not path.is_dir():
            raise UsageError(f"{what} file {path} is not a regular file (a FIFO, socket or device); not read")
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                data = limits.read_stream_capped(fh, limit)
        else:
            data = limits.read_capped(path, limit, regular_only=True)
        return data.decode("utf-8", errors="replace").removeprefix("\ufeff")  # a BOM, as spreadsheets save CSV
    except FileNotFoundError:
        raise UsageError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{what} path is a folder, not a file: {path}") from None
    except limits.LimitExceeded as exc:
        raise UsageError(f"{what} file {path} is {exc} (see docs/limits.md)") from None
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a gzip stream with a corrupt block
        raise UsageError(f"cannot read {what} file {path}: {exc}") from None
