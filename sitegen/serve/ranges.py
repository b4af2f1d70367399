"""Parse an HTTP Range header (RFC 9110), single ranges only, which is all pdf.js asks for."""

from __future__ import annotations

import re

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


# More digits than any file size has; a longer number is "beyond the end" (int() refuses 4,300+ digits).
_DIGITS = 18
_HUGE = 10**_DIGITS


def _position(digits: str) -> int:
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= _DIGITS else _HUGE


class Unsatisfiable(Exception):
    """The range lies outside the file: answer 416."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive byte positions, or None to send the whole file.

    Multi-range and malformed headers are ignored (a full 200 response is allowed by the RFC).
    """
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix range: the last N bytes
        length = _position(last_s)
        if length == 0 or size == 0:
            raise Unsatisfiable(header)
        return max(0, size - length), size - 1
    first = _position(first_s)
    last = _position(last_s) if last_s else size - 1
    if last_s and last < first:
        return None  # syntactically invalid: ignore the header
    if first >= size:
        raise Unsatisfiable(header)
    return first, min(last, size - 1)
