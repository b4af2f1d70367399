"""Where things live in the built site. Every output path and link is derived here.

Page URLs depend on suite and date only, so a night regenerated from bad to good keeps
its URL. All links in the site are relative, so it works from any sub-path.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from sitegen import limits
from sitegen.model import Report

INDEX = "index.html"
REPORTS_JSON = "reports.json"
STATIC_DIR = "static"
PDFJS_DIR = "static/pdfjs"
PAGES_DIR = "nights"
PDF_DIR = "pdf"
ARCHIVE_DIR = "archive"
SUITES_DIR = "suites"  # one page per suite: `suites/SUITE/index.html`
SEARCH_DIR = "search"
SEARCH_INDEX = "search/index.json"  # every night, or a manifest of shards (site/search_index.py)
COMPARE = "compare.html"
LIST_DIR = "page"  # the no-JS list of every night, page by page

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Folder names that could be mistaken for a page or PDF beside them (`nights/2021-07-09.html/`).
_FILE_LIKE = (".html", ".htm", ".pdf", ".json", ".xml")
# `~` is URL- and file-safe but never in a slug, so a derived (hashed) name can never equal a plain one.
_DERIVED = "~"
_HASH = 10  # hex digits of the short stable hash in a derived name (40 bits)


def is_inside(path: Path, folder: Path) -> bool:
    """True when `path` is `folder` or below it (both already absolute and resolved)."""
    return path == folder or folder in path.parents


def slug(text: str) -> str:
    """A URL- and file-system-safe form of a suite name ('' stays ''); lossy, see `folder_name`."""
    cleaned = _UNSAFE.sub("-", text).strip("-.")
    return cleaned or ("_" if text else "")


def short_hash(text: str, digits: int = _HASH) -> str:
    """A short stable hash of a name: the same on every machine and in every build."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:digits]


def _cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (slugs are ASCII, so this is a plain cut)."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


@functools.lru_cache(maxsize=4096)
def folder_name(name: str) -> str:
    """The output folder for a suite (or deeper) folder name: itself when safe, else slug~hash.

    Injective: a name kept as is is a slug, which holds no `~`; any other name gets the hash of its
    exact text, so `a b` and `a-b` (both slug to `a-b`) land in `a-b~HASH` and `a-b`. Bounded to
    limits.NAME_BYTES, and never ending like a file (`2021-07-09.html`), so a folder cannot take
    the place of a page or PDF beside it.
    """
    plain = slug(name)
    if plain == name and len(name.encode()) <= limits.NAME_BYTES and not name.lower().endswith(_FILE_LIKE):
        return name
    return _cut(plain, limits.NAME_BYTES - _HASH - 1) + _DERIVED + short_hash(name)


def page_path(report: Report, duplicate_of_same_night: bool = False) -> str:
    """Path of a report's viewer page when no other report clashes with it, e.g. `nights/cluster-a/2021-07-09.html`.

    When one suite has two PDFs for the same date, the second and later ones (in source
    order) get the status appended so both stay reachable. `page_paths` settles clashes.
    """
    stem = report.date.isoformat()
    if duplicate_of_same_night:
        stem += "-" + slug(report.status) + "-" + slug(posixpath.basename(report.source).rsplit(".", 1)[0])[-8:]
    if len((stem + ".html").encode()) > limits.NAME_BYTES:
        stem = report.date.isoformat() + _DERIVED + short_hash(report.source)
    # Plain joins: every build derives thousands of these, and posixpath.join showed in profiles.
    folder = f"{PAGES_DIR}/{folder_name(report.suite)}" if report.suite else PAGES_DIR
    return f"{folder}/{stem}.html"


def newest_first(reports: list[Report]) -> list[Report]:
    """Site order: newest night first; within a night by suite, then by file name (stable and total)."""
    by_suite = sorted(reports, key=lambda r: (r.suite, r.source))
    return sorted(by_suite, key=lambda r: r.date, reverse=True)


def _parents(key: str) -> list[str]:
    """'a/b/c.html' -> ['a', 'a/b']."""
    out, cut = [], key.find("/")
    while cut != -1:
        out.append(key[:cut])
        cut = key.find("/", cut + 1)
    return out


class _Claims:
    """Output paths taken so far, compared as a case-insensitive file system would (macOS, Windows)."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.dirs: set[str] = set()

    def free(self, path: str) -> bool:
        key = path.casefold()
        if key in self.files or key in self.dirs:
            return False
        parent = key.rpartition("/")[0]
        # A known folder has no file among its own parents (that was checked when it was made).
        return parent in self.dirs or not any(p in self.files for p in _parents(key))

    def take(self, path: str) -> str:
        key = path.casefold()
        self.files.add(key)
        parent = key.rpartition("/")[0]
        if parent and parent not in self.dirs:
            self.dirs.update(_parents(key))
        return path


def _settle(claims: _Claims, wanted: str, source: str, suffix: str) -> str:
    """`wanted` if nobody has it yet, else the same folder with a name made unique by the source's hash."""
    if claims.free(wanted):
        return claims.take(wanted)
    folder, name = posixpath.split(wanted)
    stem = name[: -len(suffix)] if name.lower().endswith(suffix) else name
    for digits in (_HASH, 16, 64):
        tail = _DERIVED + short_hash(source, digits) + suffix
        candidate = posixpath.join(folder, _cut(stem, limits.NAME_BYTES - len(tail)) + tail)
        if claims.free(candidate):
            return claims.take(candidate)
    raise AssertionError(f"no free output path for {source!r}")  # would need a SHA-256 collision


def page_paths(reports: list[Report]) -> dict[str, str]:
    """Viewer page path for every report, keyed by its source path; stable under status changes, never shared."""
    seen: set[tuple[str, str]] = set()
    claims = _Claims()
    paths: dict[str, str] = {}
    wanted = {}
    for report in sorted(reports, key=lambda r: r.source):
        night = (folder_name(report.suite), report.date.isoformat())
        wanted[report.source] = page_path(report, duplicate_of_same_night=night in seen)
        seen.add(night)
    for source in sorted(wanted, key=lambda s: _priority(wanted[s], s)):
        paths[source] = _settle(claims, wanted[source], source, ".html")
    return paths


def _priority(wanted: str, source: str) -> tuple[bool, str]:
    # Where two paths differ only in case, the all-lower-case one (`.pdf` beside `.PDF`) keeps its name.
    return wanted != wanted.lower(), source


def pdf_path(report: Report) -> str:
    """Path of the published PDF when no other report clashes with it: its place in the reports folder.

    Folders become `folder_name`s; a file name longer than limits.NAME_BYTES is shortened with a hash.
    A site's paths come from `pdf_paths`, which also settles clashes (`.pdf` beside `.PDF`).
    """
    *folders, name = report.source.split("/")
    if len(name.encode()) > limits.NAME_BYTES:
        tail = _DERIVED + short_hash(report.source) + ".pdf"
        name = _cut(f"report-{report.date.isoformat()}-{report.status}", limits.NAME_BYTES - len(tail)) + tail
    return "/".join([PDF_DIR, *(folder_name(f) for f in folders), name])


def pdf_paths(reports: list[Report]) -> dict[str, str]:
    """Published PDF path for every report, keyed by source: never shared, even on a case-insensitive disk."""
    claims = _Claims()
    wanted = {r.source: pdf_path(r) for r in reports}
    return {s: _settle(claims, wanted[s], s, ".pdf") for s in sorted(wanted, key=lambda s: _priority(wanted[s], s))}


@dataclass(frozen=True)
class SitePaths:
    """Where each report goes, worked out once per build and shared by the catalog, the pages and the writer."""

    pages: dict[str, str]  # source -> viewer page
    pdfs: dict[str, str]  # source -> published PDF
    ordered: list[Report]  # newest first (see newest_first)
    # (source, unpublished) -> token: the catalog and the pages ask for every report's, so each is made once. Kept by
    # source, so one SitePaths serves one list of reports (site_paths makes a new one per build).
    _tokens: dict[tuple[str, str], bytes] = field(default_factory=dict, compare=False, repr=False)

    def token(self, report: Report, unpublished: str) -> bytes:
        """A digest of everything a report's card and catalog line are made of: the report, where its page and PDF
        are, and why its PDF is not published ('' when it is). Page keys and reused reports.json lines build on it."""
        known = self._tokens.get((report.source, unpublished))
        if known is None:
            inputs = repr((report.digest(), self.pages[report.source], self.pdfs[report.source], unpublished))
            known = self._tokens[report.source, unpublished] = hashlib.blake2b(inputs.encode(), digest_size=16).digest()
        return known


def site_paths(reports: list[Report]) -> SitePaths:
    return SitePaths(page_paths(reports), pdf_paths(reports), newest_first(reports))


def archive_path(year: int, month: int) -> str:
    """Path of a month's archive page, e.g. `archive/2021-07.html`."""
    return posixpath.join(ARCHIVE_DIR, f"{year:04d}-{month:02d}.html")


def list_page_path(number: int) -> str:
    """Path of one page of the no-JS list of nights, e.g. `page/2.html`; page 1 holds the oldest nights."""
    return f"{LIST_DIR}/{number}.html"


# The suite of the PDFs that sit directly in the reports folder: `~` is in no folder_name, so no suite can take it.
_NO_SUITE = _DERIVED + "root"


def suite_paths(suites: list[str]) -> dict[str, str]:
    """Suite -> its page, e.g. `suites/cluster-a/index.html`: never shared, even on a case-insensitive disk."""
    claims = _Claims()
    wanted = {s: f"{SUITES_DIR}/{folder_name(s) if s else _NO_SUITE}/index.html" for s in suites}
    out = {}
    for suite in sorted(wanted, key=lambda s: (wanted[s] != wanted[s].lower(), s)):
        path = wanted[suite]
        if not claims.free(path):  # `A` beside `a`: the second one's folder gets the hash of its exact name
            name = _cut(slug(suite), limits.NAME_BYTES - _HASH - 1) + _DERIVED + short_hash(suite)
            path = f"{SUITES_DIR}/{name}/index.html"
        out[suite] = claims.take(path)
    return out


def suite_year_path(suite_page: str, year: int) -> str:
    """The calendar of one earlier year, beside its suite's page: `suites/cluster-a/2019.html`."""
    return f"{posixpath.dirname(suite_page)}/{year:04d}.html"


def relative(from_page: str, to_path: str) -> str:
    """A relative link from one output file to another (both relative to the site root)."""
    return posixpath.relpath(to_path, posixpath.dirname(from_page) or ".")
