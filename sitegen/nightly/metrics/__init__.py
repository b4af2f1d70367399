"""Read the night's load metric (QPS or the like) from load-generator output, CSV or Prometheus JSON into a Series.

This module reads the file and picks the format; the parsers live in `loadtest`, `csvfile` and `promjson`, and
every one keeps NaN, Inf and missing intervals as gaps (None), never as zeros (see `series`).
"""

from __future__ import annotations

import collections
import datetime as dt
import re
from pathlib import Path

from sitegen import limits
from sitegen.errors import UsageError
from sitegen.nightly.files import read_text, text_lines
from sitegen.nightly.metrics.csvfile import read_csv
from sitegen.nightly.metrics.loadtest import LINE_PATTERNS, RELATIVE_PARSERS, pd_tso
from sitegen.nightly.metrics.promjson import parse_query_range
from sitegen.nightly.metrics.series import Point, fill_gaps, rolling_median, typical_step
from sitegen.nightly.records import Series
from sitegen.nightly.times import parse_time

__all__ = [
    "SUPPORTED",
    "Point",
    "fill_gaps",
    "load_metrics",
    "parse_query_range",
    "parse_time",
    "rolling_median",
    "typical_step",
]

SUPPORTED = (
    "sysbench 0.5 and 1.x interval lines, go-ycsb, go-tpc ([Current] lines), pd-tso-bench SEC_STAT, "
    "cockroach workload, CSV with a 'timestamp,value' header, Prometheus query_range JSON"
)

_START_HEADER = re.compile(r"^\s*(?:#|//)?\s*(?:metrics[-_ ])?start(?:ed)?(?:[-_ ](?:time|at))?\s*[:=]\s*(\S.*?)\s*$", re.IGNORECASE)
_DETECT_LINES = 5000


def load_metrics(path: Path, *, start: dt.datetime | None = None, tz: dt.tzinfo = dt.UTC, combine: str = "sum") -> Series:
    """Read a metrics file of any supported format; relative-time outputs are placed at `start` (or a header)."""
    path = Path(path)
    text = read_text(path, "metrics", limits.METRICS_BYTES)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        try:
            data = limits.loads_json(stripped)
        except limits.LimitExceeded as exc:
            raise UsageError(f"{path}: JSON {exc} (see docs/limits.md)") from None
        except ValueError as exc:
            raise UsageError(f"{path}: looks like JSON but cannot be parsed: {exc}") from None
        return parse_query_range(data, source=str(path), combine=combine)
    lines = text_lines(text)
    csv_series = read_csv(lines, path, tz)
    if csv_series is not None:
        return csv_series
    fmt = _detect(lines, path)
    if fmt is None:
        raise UsageError(f"{path}: not a recognised metrics format. Supported: {SUPPORTED}.")
    if fmt == "pd-tso-bench":
        return pd_tso(lines, path)
    if start is None:
        start = _header_start(lines, tz, path)
    if start is None:
        raise UsageError(
            f"{path}: {fmt} output gives times relative to the start of the run; "
            "pass the run's start time with --metrics-start (e.g. --metrics-start 2021-07-09T01:00:00+08:00) "
            "or put a line 'start: <ISO time>' at the top of the file"
        )
    return RELATIVE_PARSERS[fmt](lines, path, start.timestamp())


def _detect(lines: list[str], path: Path) -> str | None:
    """The format most lines match; None when no line matches any."""
    hits: collections.Counter[str] = collections.Counter()
    # The first few thousand lines decide; the whole file only when they hold no data line at all.
    head = lines[:_DETECT_LINES]
    for line in head if _any_match(head) else lines:
        for name, rx in LINE_PATTERNS.items():
            if rx.match(line):
                hits[name] += 1
                break
    if not hits:
        if any(line.startswith(("FATAL: mysql_drv_query", "ALERT: mysql_drv_query", "sysbench ")) for line in lines):
            raise UsageError(
                f"{path}: sysbench output without any interval line ('[ 10s ] thds: ...'): run sysbench with --report-interval"
            )
        return None
    return hits.most_common(1)[0][0]


def _any_match(lines: list[str]) -> bool:
    return any(rx.match(line) for line in lines for rx in LINE_PATTERNS.values())


def _header_start(lines: list[str], tz: dt.tzinfo, path: Path) -> dt.datetime | None:
    for line in lines[:50]:
        m = _START_HEADER.match(line)
        if m:
            try:
                return parse_time(m.group(1), tz)
            except ValueError:
                raise UsageError(f"{path}: start header {line.strip()!r} is not an ISO time or epoch seconds") from None
    return None
