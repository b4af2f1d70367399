"""reports.json: every report as data, for scripts and dashboards that want more than the HTML.

The bytes depend only on the reports and the config (no timestamps, fixed key order), so a clean
build and an incremental one agree byte for byte. Strings are plain JSON: escaping for HTML is the
theme's job, not this file's.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
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
    return build_catalog(config, reports, unpublished or {}, paths or layout.site_paths(reports)).data


@dataclass(frozen=True)
class Catalog:
    """reports.json, and the token of each report's line in it, in order: what lets the next build reuse the line."""

    data: bytes
    tokens: list[str]


def build_catalog(
    config: Config, reports: list[Report], unpublished: Mapping[str, str], paths: layout.SitePaths,
    reusable: Mapping[str, bytes] | None = None, salt: str = "",
) -> Catalog:
    """reports.json, taking the line of each report whose token is in `reusable` (see `reusable_lines`) from there.

    A line is a function of its token: the report's (SitePaths.token: its digest, page and PDF paths and publish
    state), plus the whole config and `salt` (the build passes a stamp of sitegen's code), so a reused line is the one it would draw.
    """
    pages, pdfs, ordered = paths.pages, paths.pdfs, paths.ordered
    known = set(config.statuses)
    reusable = reusable or {}
    shared = repr((config.fingerprint(), salt, CATALOG_SCHEMA, CATALOG_SIGNATURES)).encode()
    head = {"schema": CATALOG_SCHEMA, "title": config.title, "base_url": config.base_url, "count": len(ordered)}
    # One report per line: readable and diffable, and json's C encoder does the work (indent= would
    # switch to its pure-Python encoder, 0.3 s at 10,000 reports on every build).
    dump = functools.partial(json.dumps, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)
    # Bytes throughout, joined once: at 10,000 reports the text is 10 MB, and every str copy of it showed in the peak RSS.
    parts = [dump(head)[:-1].encode() + (b', "reports": [' + _FIRST if ordered else b', "reports": []}')]
    tokens = []
    for r in ordered:
        reason = unpublished.get(r.source, "")
        token = hashlib.blake2b(shared + paths.token(r, reason), digest_size=16).hexdigest()
        line = reusable.get(token)
        tokens.append(token)
        parts.append(line if line is not None else dump(report_entry(r, pages[r.source], known, pdfs[r.source], reason)).encode())
        parts.append(_BETWEEN)
    if ordered:
        parts[-1] = _LAST
    parts.append(b"\n")
    return Catalog(b"".join(parts), tokens)


_FIRST, _BETWEEN, _LAST = b"\n  ", b",\n  ", b"\n ]}"  # around the report lines: one per line, JSON escapes every newline


def reusable_lines(previous: bytes | None, tokens: list[str]) -> dict[str, bytes]:
    """token -> line of a reports.json that build_catalog wrote with these `tokens`; {} when it does not fit them."""
    opening = b'"reports": [' + _FIRST
    if not previous or not tokens or not previous.endswith(_LAST + b"\n"):
        return {}
    # Split the whole file, then trim the first and last pieces: slicing out the lines first would copy them all once more.
    entries = previous.split(_BETWEEN)
    if opening not in entries[0]:
        return {}
    entries[0] = entries[0][entries[0].index(opening) + len(opening) :]
    entries[-1] = entries[-1][: -len(_LAST) - 1]
    if len(entries) != len(tokens) or not all(e.startswith(b"{") and e.endswith(b"}") for e in entries):
        return {}
    return dict(zip(tokens, entries, strict=True))
