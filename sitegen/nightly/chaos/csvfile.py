"""Read fault windows from a CSV of 'start,end[,name[,kind]]' lines, with or without a header."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sitegen.errors import UsageError
from sitegen.nightly.files import text_lines
from sitegen.nightly.metrics.csvfile import data_rows
from sitegen.nightly.records import ChaosWindow
from sitegen.nightly.times import parse_time


def read_csv(text: str, path: Path, tz: dt.tzinfo) -> list[ChaosWindow] | None:
    """Windows from 'start,end[,name[,kind]]' lines; None when the text is not such a CSV."""
    rows = data_rows(text_lines(text))
    if not rows:
        raise UsageError(f"{path}: the chaos file is empty")
    header = [c.strip().lower() for c in rows[0][1].split(",")]
    has_header = header[:1] == ["start"]
    if not has_header:
        cells = rows[0][1].split(",")
        if len(cells) < 2 or "{" in rows[0][1] or (":" not in cells[0] and not cells[0].strip().replace(".", "").isdigit()):
            return None
        try:
            parse_time(cells[0], tz)
        except ValueError:
            return None
        header = ["start", "end", "name", "kind"]
    else:
        rows = rows[1:]
    out: list[ChaosWindow] = []
    for line_no, line in rows:
        cells = dict(zip(header, (c.strip() for c in line.split(",")), strict=False))
        try:
            start = parse_time(cells.get("start", ""), tz)
            end = parse_time(cells["end"], tz) if cells.get("end") else None
        except (ValueError, OverflowError):
            raise UsageError(f"{path}:{line_no}: {line.strip()!r} is not 'start,end' with ISO times or epoch seconds") from None
        if end is not None and end < start:
            raise UsageError(f"{path}:{line_no}: the window ends before it starts")
        name, kind = cells.get("name", ""), cells.get("kind", "") or "csv"
        out.append(ChaosWindow(start=start, end=end, name=name, kind=kind, source=str(path)))
    return out
