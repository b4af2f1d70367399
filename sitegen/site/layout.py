"""Where things live in the built site. Every output path and link is derived here.

Page URLs depend on suite and date only, so a night regenerated from bad to good keeps
its URL. All links in the site are relative, so it works from any sub-path.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from sitegen.model import Report

INDEX = "index.html"
REPORTS_JSON = "reports.json"
STATIC_DIR = "static"
PDFJS_DIR = "static/pdfjs"
PAGES_DIR = "nights"
PDF_DIR = "pdf"
ARCHIVE_DIR = "archive"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def is_inside(path: Path, folder: Path) -> bool:
    """True when `path` is `folder` or below it (both already absolute and resolved)."""
    return path == folder or folder in path.parents


def slug(text: str) -> str:
    """A URL- and file-system-safe form of a suite name ('' stays '')."""
    cleaned = _UNSAFE.sub("-", text).strip("-.")
    return cleaned or ("_" if text else "")


def page_path(report: Report, duplicate_of_same_night: bool = False) -> str:
    """Path of a report's viewer page, e.g. `nights/cluster-a/2021-07-09.html`.

    When one suite has two PDFs for the same date, the second and later ones (in source
    order) get the status appended so both stay reachable.
    """
    stem = report.date.isoformat()
    if duplicate_of_same_night:
        stem += "-" + slug(report.status) + "-" + slug(posixpath.basename(report.source).rsplit(".", 1)[0])[-8:]
    folder = posixpath.join(PAGES_DIR, slug(report.suite)) if report.suite else PAGES_DIR
    return posixpath.join(folder, stem + ".html")


def newest_first(reports: list[Report]) -> list[Report]:
    """Site order: newest night first; within a night by suite, then by file name (stable and total)."""
    by_suite = sorted(reports, key=lambda r: (r.suite, r.source))
    return sorted(by_suite, key=lambda r: r.date, reverse=True)


def page_paths(reports: list[Report]) -> dict[str, str]:
    """Viewer page path for every report, keyed by its source path; stable under status changes."""
    seen: set[tuple[str, str]] = set()
    paths: dict[str, str] = {}
    for report in sorted(reports, key=lambda r: r.source):
        night = (slug(report.suite), report.date.isoformat())
        paths[report.source] = page_path(report, duplicate_of_same_night=night in seen)
        seen.add(night)
    return paths


def pdf_path(report: Report) -> str:
    """Path of the published PDF, mirroring its place in the reports folder."""
    parts = [slug(p) if i < report.source.count("/") else p for i, p in enumerate(report.source.split("/"))]
    # The file name itself matched the report-name regex, so it is already safe.
    return posixpath.join(PDF_DIR, *parts)


def archive_path(year: int, month: int) -> str:
    """Path of a month's archive page, e.g. `archive/2021-07.html`."""
    return posixpath.join(ARCHIVE_DIR, f"{year:04d}-{month:02d}.html")


def relative(from_page: str, to_path: str) -> str:
    """A relative link from one output file to another (both relative to the site root)."""
    return posixpath.relpath(to_path, posixpath.dirname(from_page) or ".")
