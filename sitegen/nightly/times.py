"""Parse the time and duration text of load generators and Chaos Mesh, shared by the metrics and chaos readers."""

from __future__ import annotations

import datetime as dt
import re

from sitegen import limits

_GO_DURATION = re.compile(r"([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def epoch_time(value: float) -> dt.datetime | None:
    """Epoch seconds, or ms/µs when the number is too big to be seconds (DataDog's ts); None when out of range."""
    if value > 1e14:
        value /= 1e6
    elif value > 1e11:
        value /= 1e3
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_time(text: str, tz: dt.tzinfo) -> dt.datetime:
    """An ISO-8601 time (zone optional: `tz` is assumed) or epoch seconds/ms/µs, as an aware datetime."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        when = epoch_time(float(text))
        if when is None:
            raise ValueError(f"{text!r} is out of range for epoch seconds, milliseconds or microseconds")
        return when
    when = dt.datetime.fromisoformat(text)
    return in_range(when if when.tzinfo else when.replace(tzinfo=tz))


def in_range(when: dt.datetime) -> dt.datetime:
    """`when` if its year is one sitegen works with (limits.FIRST_YEAR to LAST_YEAR), else ValueError.

    Year 1 or 9999 is valid ISO, but a night or window there makes date arithmetic overflow.
    """
    if not limits.FIRST_YEAR <= when.year <= limits.LAST_YEAR:
        raise ValueError(f"{when.isoformat()} is outside the years {limits.FIRST_YEAR}-{limits.LAST_YEAR}")
    return when


def go_duration(text: str | int | float) -> float:
    """Seconds in a Go duration such as '30s', '1m30s', '400ms'; a bare number is seconds."""
    if isinstance(text, int | float):
        try:
            return float(text)
        except OverflowError:  # a YAML integer of hundreds of digits
            raise ValueError("a number too large to be a duration") from None
    text = str(text).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not _GO_DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 1m30s or 2h")
    total = sum(float(v) * _GO_UNITS[u] for v, u in _GO_PART.findall(text))
    return -total if text.startswith("-") else total
