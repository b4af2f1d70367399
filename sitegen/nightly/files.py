"""Reading input files whole, gzip or not: shared by the metrics and chaos readers and the log inputs."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

from sitegen.errors import UsageError

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    """True for gzip data, whatever the file is called."""
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def read_text(path: Path, what: str) -> str:
    """The whole file as text (gunzipped when its first bytes say gzip); UsageError naming `what` when it cannot be read."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
                return fh.read()
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise UsageError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{what} path is a folder, not a file: {path}") from None
    except (OSError, EOFError) as exc:
        raise UsageError(f"cannot read {what} file {path}: {exc}") from None
