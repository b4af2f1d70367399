"""Read a metrics CSV whose first column is the time into a Series; also lists the data rows of any small CSV."""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

from sitegen.errors import UsageError
from sitegen.nightly.metrics.series import Point, check_points, make_series, number
from sitegen.nightly.records import Series
from sitegen.nightly.times import parse_time

_TIME_COLUMNS = {"timestamp", "time", "ts", "date", "datetime", "t"}
_MAX_COLUMNS = 1000


def data_rows(lines: list[str]) -> list[tuple[int, str]]:
    """(1-based line number, line) of every line that is neither blank nor a '#' comment."""
    return [(i, line) for i, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]


def read_csv(lines: list[str], path: Path, tz: dt.tzinfo) -> Series | None:
    """A CSV with a header whose first column is the time; None when the text is not such a CSV."""
    body = data_rows(lines)
    if not body:
        return None
    first = body[0][1]
    if first.count(",") >= _MAX_COLUMNS:  # cheap to check before splitting a line of millions of commas
        if first.split(",", 1)[0].strip().lower() in _TIME_COLUMNS:
            raise UsageError(f"{path}: the CSV header has more than {_MAX_COLUMNS:,} columns")
        return None
    header = [h.strip().lower() for h in first.split(",")]
    if len(header) < 2 or header[0] not in _TIME_COLUMNS:
        return None
    value_col = next((header.index(n) for n in ("value", "qps", "ops", "tps") if n in header), 1)
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    # Every cell becomes a sample: a wide file is refused before it fills memory, not after.
    check_points(f"CSV {path}", (len(body) - 1) * (len(header) - 1))
    for line_no, line in body[1:]:
        cells = [c.strip() for c in line.split(",")]
        try:
            t = parse_time(cells[0], tz).timestamp()
        except (ValueError, OverflowError):
            raise UsageError(f"{path}:{line_no}: {cells[0]!r} is not an ISO time or epoch seconds") from None
        cells += [""] * (len(header) - len(cells))
        for i, name in enumerate(header[1:], 1):
            value = number(cells[i]) if cells[i] else None
            if cells[i] and value is None and cells[i].lower().lstrip("+-") not in {"nan", "inf", "infinity"}:
                raise UsageError(f"{path}:{line_no}: column {name!r} holds {cells[i]!r}, not a number")
            if i == value_col:
                points.append((t, value))
            else:
                extra[name].append((t, value))
    if not points:
        raise UsageError(f"{path}: the CSV has a header but no rows")
    name = header[value_col]
    return make_series(name, name if name != "value" else "", f"CSV {path.name}", points, extra)
