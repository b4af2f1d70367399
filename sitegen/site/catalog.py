"""reports.json: every report as data, for scripts and dashboards that want more than the HTML.

The bytes depend only on the reports and the config (no timestamps, fixed key order), so a clean
build and an incremental one agree byte for byte. Strings are plain JSON: escaping for HTML is the
theme's job, not this file's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from sitegen.config import Config
from sitegen.model import Report
from sitegen.site import layout

CATALOG_SCHEMA = 1  # bumped only for incompatible changes; new fields may appear at any time
CATALOG_SIGNATURES = 5  # per night: the worst few keep reports.json of 10,000 nights near 20 MB


def report_entry(
    report: Report, page: str, known_statuses: set[str], pdf: str | None = None, unpublished: str = ""
) -> dict[str, Any]:
    """One report's object in reports.json; URLs are relative to the site root."""
    return {
        "date": report.date.isoformat(),
        "suite": report.suite,
        "status": report.status,
        "status_known": report.status in known_statuses,
        "title": report.title,
        "summary": report.summary,
        "summary_source": report.summary_source,
        "page_url": page,
        "pdf_url": None if unpublished else (pdf or layout.pdf_path(report)),
        "source": report.source,
        "pages": report.pages,
        "bytes": report.bytes,
        "metrics": dict(sorted(report.metrics.items())),
        "extra": dict(sorted(report.extra.items())),
        "problems": list(report.problems),
        "unpublished": unpublished or None,  # why pdf_url is null: "PDF archived: ..." (retention) or unreadable
        "signatures": [s.to_json_obj() for s in report.signatures[:CATALOG_SIGNATURES]],  # most severe first
    }


def catalog_bytes(
    config: Config, reports: list[Report], unpublished: Mapping[str, str] | None = None, paths: layout.SitePaths | None = None
) -> bytes:
    """reports.json: schema version, site title, then the reports newest first (then by suite and file)."""
    paths = paths or layout.site_paths(reports)
    pages, pdfs, ordered = paths.pages, paths.pdfs, paths.ordered
    known = set(config.statuses)
    unpublished = unpublished or {}
    head = {"schema": CATALOG_SCHEMA, "title": config.title, "base_url": config.base_url, "count": len(ordered)}
    entries = [
        report_entry(r, pages[r.source], known, pdfs[r.source], unpublished.get(r.source, ""))
        for r in ordered
    ]
    # One report per line: readable and diffable, and json's C encoder does the work (indent= would
    # switch to its pure-Python encoder, 0.3 s at 10,000 reports on every build).
    dump = functools.partial(json.dumps, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)
    lines = ",\n  ".join(dump(entry) for entry in entries)
    text = dump(head)[:-1] + (', "reports": [\n  ' + lines + "\n ]}" if entries else ', "reports": []}')
    return (text + "\n").encode("utf-8")
