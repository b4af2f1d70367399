"""Retention: which nights' PDFs the published site drops, by config `retention: {max_nights, max_bytes}`.

A night is a date (across suites, as GitHub Pages' size budget counts them). The newest nights are
kept whole; once a limit is reached every older night's PDFs are left out of the site, and their
cards stay with the summary, marked "PDF archived". Pure: it decides, the writer never copies
those PDFs, and the reports folder is never touched.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

from sitegen.model import Report

ARCHIVED = "PDF archived"  # how the reason starts: the card shows it as it is, not as "not published"


def is_archived(reason: str) -> bool:
    """True for a reason given by retention (the PDF exists but the site no longer carries it)."""
    return reason.startswith(ARCHIVED)


def archived(
    reports: list[Report], max_nights: int | None, max_bytes: int | None, skip: Mapping[str, str] | None = None
) -> dict[str, str]:
    """{source: reason} for every report whose PDF retention leaves out of the site.

    `skip` holds the sources already unpublished for another reason: they cost nothing and keep that reason.
    A night whose PDFs do not fit in what `max_bytes` leaves is archived whole, with every older one, so
    the published nights are always the newest ones without holes.
    """
    skip = skip or {}
    by_date: dict[dt.date, list[Report]] = defaultdict(list)
    for report in reports:
        if report.source not in skip:
            by_date[report.date].append(report)
    out: dict[str, str] = {}
    kept = spent = 0
    full = ""
    for date in sorted(by_date, reverse=True):
        night = by_date[date]
        cost = sum(r.bytes for r in night)
        if not full and max_nights is not None and kept >= max_nights:
            full = f"{ARCHIVED}: the site keeps the newest {max_nights} night(s) (retention: max_nights)"
        if not full and max_bytes is not None and spent + cost > max_bytes:
            full = f"{ARCHIVED}: the site keeps at most {_bytes_text(max_bytes)} of PDFs (retention: max_bytes)"
        if full:
            out.update((r.source, full) for r in night)
            continue
        kept += 1
        spent += cost
    return out


def _bytes_text(n: int) -> str:
    """A byte count in the units `max_bytes` is written in (KB, MB, GB are powers of 1000), exact below 1 MB."""
    if n < 1_000_000:
        return f"{n:,} bytes"
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"
