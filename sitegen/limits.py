"""Every input is bounded: the limits, and the stdlib readers that enforce them (docs/limits.md lists them all).

A limit hit is a `LimitExceeded` (a ValueError) whose message names the limit; the caller adds the file
name and decides what it costs: a warning and a card in the site builder, exit 2 in `sitegen report`.
Stdlib only, so the file-name contract in `model` can use it too.
"""

from __future__ import annotations

import json
import os
import re
import reprlib
import stat
from pathlib import Path
from typing import Any

KB = 1024
MB = 1024 * KB

# --- the site builder -----------------------------------------------------------------------
PDF_READ_BYTES = 128 * MB  # larger PDFs are published, but not opened for their summary (pypdf holds the whole file)
PDF_READ_SECONDS = 30.0  # reading one PDF's summary takes about 1 ms; one that takes this long is published unread
PDF_REPAIR_BYTES = 16 * MB  # larger PDFs without an end-of-file marker are not repaired (pypdf takes minutes)
SUMMARY_BYTES = 1 * MB  # the summary.json attachment
PAGE_COUNT = 1_000_000  # a larger /Count is not believed
NAME_BYTES = 120  # one path segment the site writes (file systems allow 255; temp-file prefixes need room)
THEME_FILES = 5_000  # files in a theme folder (the default theme has about 40): `theme: /` must not read the disk

# --- files read whole (config, rules, chaos, metrics) ----------------------------------------
CONFIG_BYTES = 1 * MB  # sitegen.yml and a --rules file
CHAOS_BYTES = 64 * MB  # a chaos source, after gunzip
METRICS_BYTES = 64 * MB  # a metrics file, after gunzip (a day of 1 s sysbench lines is about 17 MB)
JSON_DEPTH = 64  # nesting of arrays and objects in any JSON input
YAML_DEPTH = 64  # nesting of sequences and mappings in any YAML input
YAML_ALIASES = 1_000  # alias (*name) uses in one YAML text
YAML_ALIAS_NODES = 100_000  # nodes aliases may add in total (a "billion laughs" adds 10^9)

# --- what one night may hold ------------------------------------------------------------------
METRIC_POINTS = 2_000_000  # samples of one metrics file, extra columns included (a day at 1 s is 86,400 each)
CHAOS_WINDOWS = 100_000  # fault windows in one night ("@every 1s" all night is 86,400; "@every 500ms" is refused)
SCHEDULE_FIRINGS = 200_000  # firings of one schedule looked at while placing it in the night
WORKFLOW_STEPS = 10_000  # templates one workflow may place (children fanning out multiply them)
SCHEDULE_LOOKBACK_DAYS = 7  # a scheduled window begun this long before the night is still found
DURATION_DAYS = 366  # the longest duration or deadline a chaos object may give
FIRST_YEAR, LAST_YEAR = 1970, 9998  # nights and times sitegen accepts
WINDOW_DAYS = 31  # the longest --since/--until span one night's report reads
PROMETHEUS_BYTES = 64 * MB  # one query_range answer (a day at 15 s steps is about 0.5 MB per series)
LOG_GZIP_RATIO = 200  # a .gz log is read up to this many times its size (logs compress 10-30x; a bomb 1,000x)
LOG_GZIP_FLOOR_BYTES = 256 * MB  # ... or up to this much, whichever is more

# --- what one report draws (the rest is counted and said, never silently dropped) ------------
REPORT_INJECTION_ROWS = 200  # rows of the injections table; "... and N more injections" after them
SUMMARY_INJECTIONS = 1_000  # injections listed in summary.json (metrics.injections counts them all); about 200 KB
REPORT_INSTANCE_ROWS = 200  # followed container instances listed in the appendix
REPORT_GAP_ROWS = 50  # gaps of the followed logs listed in the appendix
CHART_BANDS = 200  # shaded chaos bands on the chart: closer windows are merged into one band beyond it
CHART_MARKERS = 400  # recovery markers (dots) on the chart: the ones that never recovered first


class LimitExceeded(ValueError):
    """An input is larger or deeper than a documented limit; the message names the limit."""


def size_text(n: int) -> str:
    """A byte count as people write limits: 1 MB, 256 MB, 2.0 GB, 980 KB."""
    if n >= 1024 * MB:
        return f"{n / (1024 * MB):.1f} GB"
    if n >= MB:
        return f"{n / MB:.1f} MB".replace(".0 MB", " MB")
    if n >= KB:
        return f"{n / KB:.0f} KB"
    return f"{n} B"


_SIZE_RE = re.compile(r"^\s*([0-9]{1,15}(?:\.[0-9]{1,6})?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE | re.ASCII)


def parse_size(value: int | str) -> int:
    """A size as people write it in a config: 900000000, "900 MB", "1 GB", "512 MiB" (KB/MB/GB are powers of 1000).

    ValueError naming the accepted forms for anything else (a negative or fractional byte count included).
    """
    if isinstance(value, bool):
        raise ValueError("must be a size such as 900 MB or a number of bytes")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be a size such as 900 MB, 1 GB or 512 MiB, or a number of bytes")
    number, unit = match[1], (match[2] or "b").lower()
    power = "bkmgt".index(unit[0])  # b = 0, k = 1, ...
    scale = (1024 if "i" in unit else 1000) ** power
    from decimal import Decimal  # exact: "1.1 GB" is 1,100,000,000 bytes, not 1,100,000,000.0000002

    return int(Decimal(number) * scale)


def read_capped(path: Path, limit: int, *, regular_only: bool = False) -> bytes:
    """At most `limit` bytes of a file; LimitExceeded when it holds more (read never goes past limit + 1).

    With `regular_only`, a FIFO, socket or device raises LimitExceeded at once instead of blocking.
    OSError passes through for the caller to word.
    """
    # Checked before opening: opening a FIFO for reading blocks until something writes to it.
    if regular_only and not stat.S_ISREG(os.stat(path).st_mode):
        raise LimitExceeded("not a regular file (a FIFO, socket or device), not read")
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise LimitExceeded(f"larger than the {size_text(limit)} limit")
    return data


def read_stream_capped(fh: Any, limit: int) -> bytes:
    """At most `limit` bytes from an open (maybe decompressing) stream; LimitExceeded beyond."""
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise LimitExceeded(f"larger than the {size_text(limit)} limit")
    return data


def depth(obj: Any) -> int:
    """Nesting depth of decoded JSON/YAML data (a scalar is 0, [] is 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 0)]
    seen: set[int] = set()
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:  # a YAML alias shares a node: its depth was counted already
                continue
            seen.add(id(value))
            level += 1
            deepest = max(deepest, level)
            stack.extend((v, level) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _no_constant(name: str) -> None:
    # NaN and Infinity are not JSON; Python accepts them, browsers would not.
    return None


def loads_json(data: str | bytes, *, max_depth: int = JSON_DEPTH, constants: bool = False) -> Any:
    """json.loads bounded in depth; ValueError (LimitExceeded for a limit) with a reason a user can read.

    NaN/Infinity become None unless `constants`; integers beyond Python's 4,300-digit limit are a ValueError.
    """
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("not UTF-8 text") from None
    try:
        obj = json.loads(data) if constants else json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise LimitExceeded(f"nested deeper than the limit of {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ValueError(f"not usable JSON ({' '.join(str(exc).split())[:120]})") from None
    if depth(obj) > max_depth:
        raise LimitExceeded(f"nested deeper than the limit of {max_depth} levels")
    return obj


def short_text(value: Any, limit: int = 200) -> str:
    """A string from a file as one short printable line (other values as `short_repr`), for messages."""
    if not isinstance(value, str):
        return short_repr(value, limit)
    text = value[: limit + 1]
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_repr(value: Any, limit: int = 80) -> str:
    """repr() cut to `limit` characters without building the whole text of a huge or shared structure."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, dict | list | tuple | set):
        r = reprlib.Repr()
        r.maxlevel, r.maxdict, r.maxlist, r.maxstring, r.maxother = 3, 4, 6, 40, 40
        try:
            text = r.repr(value)
        except ValueError:  # an integer beyond Python's digit limit somewhere inside
            text = f"a {type(value).__name__} of {len(value)} item(s)"
    else:
        text = repr(value) if not isinstance(value, str) or len(value) <= limit else repr(value[:limit])
    return text if len(text) <= limit else text[: limit - 1] + "…"
