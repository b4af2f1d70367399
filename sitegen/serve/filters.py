"""Which file events matter to the dev loop, and when a PDF is complete enough to publish."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

# Editors write these next to the file being edited; vim also probes with a file named 4913.
_TEMP_SUFFIXES = (".swp", ".swo", ".swx", ".swpx", "~", ".tmp", ".part", ".crdownload")
_TEMP_NAMES = {"4913"}
_EOF_MARKER = b"%%EOF"
_TAIL_BYTES = 2048


def is_temp_name(name: str) -> bool:
    """True for editor swap/backup files and hidden files (rsync and scp write hidden temp names)."""
    lowered = name.lower()
    return name.startswith(".") or lowered.endswith(_TEMP_SUFFIXES) or name in _TEMP_NAMES


def is_pdf(path: Path) -> bool:
    return path.suffix.lower() == ".pdf"


def pdf_state(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of a file, or None when it is gone or unreadable."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def pdf_parses(path: Path) -> bool:
    """True when the file ends with a %%EOF trailer and pypdf can read its cross-reference table.

    The trailer check is cheap and catches a copy still in flight; pypdf catches a file
    cut exactly after an earlier %%EOF of an incrementally updated PDF.
    """
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - _TAIL_BYTES))
            if _EOF_MARKER not in fh.read():
                return False
            fh.seek(0)
            from pypdf import PdfReader

            PdfReader(fh)
    except Exception as exc:  # any parse failure means "not (yet) a whole PDF"
        log.debug("%s does not parse yet: %s", path, exc)
        return False
    return True
