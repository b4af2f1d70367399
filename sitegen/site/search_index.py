"""The search index: every night as compact JSON for the index page's search and filters and for compare.html.

The browser fetches it only when a filter or the search box is first used, so the index page stays
light. Each night carries what its card shows (already worded and formatted here, so a card drawn
by search.js reads exactly like one the server drew) plus its signatures, for text search and for
compare. Small sites get one file; past SHARD_NIGHTS the nights go into shards filled from the oldest
night on, so a new night rewrites only the newest shard and the manifest, and a shard whose nights did
not change is not even worked out. A signature's words are
stored once per file, as they repeat from night to night.
The bytes depend only on the reports and the config: a clean and an incremental build agree.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sitegen.model import Report
from sitegen.site import layout
from sitegen.site.extract import collapse
from sitegen.site.render import format_size

SEARCH_SCHEMA = 1
SHARD_NIGHTS = 1_000  # nights in one file: about 0.5-0.9 MB with a night's worst signatures; more make shards
SUBTITLE_CHARS = 120  # as card.html clips the subtitle
NO_SUITE = "~"  # the URL value of the suite filter for reports outside any suite ('~' is never a folder_name slug)


@dataclass(frozen=True)
class Chip:
    """A filter chip: the URL value, its label and how many nights it has (before other filters)."""

    value: str
    label: str
    count: int
    id: str  # a safe element id: never derived from the value's text


@dataclass(frozen=True)
class SearchForm:
    """What the index page needs to draw the search form before the index is fetched."""

    index_url: str  # relative to the site root (the index page sits there)
    statuses: tuple[Chip, ...]
    suites: tuple[Chip, ...]


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _number(value: Any) -> Any:
    """A metric as JSON can carry it: finite numbers stay, anything else becomes None."""
    kind = type(value)
    return value if kind is int or (kind is float and math.isfinite(value)) else None


def night_entry(report: Report, card: Any, summary_length: int) -> dict[str, Any]:
    """One night: short keys, empty fields left out. `card` is the render.Card the index page would draw."""
    entry: dict[str, Any] = {"d": report.date.isoformat(), "s": card.suite_index, "t": report.status, "u": card.page_url}
    if card.pdf_url:
        entry["p"] = card.pdf_url
    elif card.archived:
        entry["x"] = ["pdf-missing pdf-archived", "PDF archived", card.unpublished]
    else:
        entry["x"] = ["pdf-missing", f"PDF not published: {card.unpublished}", ""]
    if report.summary:
        entry["h"] = report.summary
        clipped = collapse(report.summary, summary_length)
        if clipped != report.summary:
            entry["c"] = clipped
        if card.unavailable:
            entry["a"] = 1
    if card.subtitle:
        entry["i"] = collapse(card.subtitle, SUBTITLE_CHARS)
    if card.fired:
        entry["r"] = [[rule.rule, rule.text] for rule in card.fired]
    chips = card.all_metrics
    if chips:
        # key, label, shown value, rule fired ("" if none), the raw number (compare computes deltas from it)
        entry["m"] = [[c.key, c.label, c.value, c.fired, _number(report.metrics.get(c.key))] for c in chips]
    if report.signatures:
        # A signature's words are in its file's table once (they repeat night after night); a night lists
        # (its row in that table, count, new), most severe first as summary.json has them. See `_file`.
        entry["g"] = [((sig.key, sig.kind or sig.level, sig.message or sig.pattern, sig.component), sig.count, 1 if sig.new else 0)
                      for sig in report.signatures]
    if card.problems:
        entry["q"] = list(card.problems)
    entry["f"] = (f"{report.pages} page{'s' if report.pages != 1 else ''} · " if report.pages else "") + format_size(report.bytes)
    return entry


def _file(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One file: the signature table (key, kind, message, component) and its nights, signatures as table rows."""
    rows: dict[tuple[str, str, str, str], int] = {}
    nights = []
    for entry in entries:
        sigs = entry.pop("g", None)
        if sigs:
            entry["g"] = [[rows.setdefault(row, len(rows)), count, new] for row, count, new in sigs]
        nights.append(entry)
    return {"sigs": [list(row) for row in rows], "nights": nights}


def _chunks(count: int, limit: int) -> list[range]:
    """Positions (newest first) of the nights in each file, `limit` to a file counted from the oldest night.

    Counted from the oldest, a new night changes only the newest file; and which nights share a file
    is known without working out a single entry, so an unchanged file is never worked out again.
    """
    out = []
    end = count
    while end > 0:
        start = max(0, end - limit)
        out.append(range(start, end))
        end = start
    return out  # oldest file first


def search_parts(
    header: dict[str, Any],
    reports: list[Report],
    card: Callable[[Report], Any],
    summary_length: int,
    limit: int | None = None,
    tokens: list[bytes] | None = None,
) -> list[tuple[str, bytes, Callable[[], bytes]]]:
    """The search index as (path, key, draw) triples: each file is drawn only if its key changed.

    `reports` come newest first; `card(report)` gives the card the index page would draw for it, and
    `tokens`, one per report, a digest of everything its entry is made of (the caller's). With at
    most `limit` nights (SHARD_NIGHTS) there is one file, `search/index.json`; beyond, that file is
    a manifest of shards of `limit` nights each, filled from the oldest night on. Each file is
    {"sigs": [[key, kind, message, component], ...], "nights": [...]}; a night's "g" lists
    [row in sigs, count, new].
    """
    limit = SHARD_NIGHTS if limit is None else limit
    tokens = tokens if tokens is not None else [repr(r).encode() for r in reports]
    head = _dumps(header) + b"%d" % summary_length

    def entries(members: range) -> list[dict[str, Any]]:
        return [night_entry(reports[i], card(reports[i]), summary_length) for i in members]

    def key(members: range) -> bytes:
        return hashlib.blake2b(head + b"".join(tokens[i] for i in members), digest_size=20).digest()

    doc = {"schema": SEARCH_SCHEMA, **header, "count": len(reports)}
    everything = range(len(reports))
    if len(reports) <= limit:

        def whole() -> bytes:
            return _dumps({**doc, **_file(entries(everything))}) + b"\n"

        return [(layout.SEARCH_INDEX, key(everything), whole)]
    parts: list[tuple[str, bytes, Callable[[], bytes]]] = []
    manifest = []
    seen: dict[str, int] = {}
    for members in _chunks(len(reports), limit):  # oldest first, so a name never moves to other nights
        first, last = reports[members[-1]].date.isoformat(), reports[members[0]].date.isoformat()
        seen[first] = seen.get(first, 0) + 1
        path = posixpath.join(layout.SEARCH_DIR, first if seen[first] == 1 else f"{first}-{seen[first]}") + ".json"
        parts.append((path, key(members), functools.partial(lambda m: _dumps(_file(entries(m))) + b"\n", members)))
        manifest.append({"url": path, "count": len(members), "from": first, "to": last})
    manifest.reverse()  # the newest shard first
    index = _dumps({**doc, "shards": manifest}) + b"\n"
    parts.append((layout.SEARCH_INDEX, hashlib.blake2b(index, digest_size=20).digest(), lambda: index))
    return parts


def index_header(suites: list[str], statuses: Mapping[str, Any], summary_length: int) -> dict[str, Any]:
    """What every night refers to: the suites by position and the status words' label, class and icon."""
    return {
        "summary_length": summary_length,
        "suites": suites,
        "statuses": {w: [s.label, s.css_class, s.icon, 1 if s.needs_look else 0] for w, s in statuses.items()},
    }


def search_form(reports: list[Report], statuses: Mapping[str, Any], suites: list[str]) -> SearchForm:
    """The chips with their all-time counts (search.js recounts them as filters combine)."""
    by_status: dict[str, int] = {}
    by_suite: dict[str, int] = {}
    for report in reports:
        by_status[report.status] = by_status.get(report.status, 0) + 1
        by_suite[report.suite] = by_suite.get(report.suite, 0) + 1
    status_chips = [Chip(w, s.label, by_status.get(w, 0), f"status-{i}") for i, (w, s) in enumerate(statuses.items())]
    unknown = sorted(w for w in by_status if w not in statuses)
    status_chips += [Chip(w, f"Unknown status: {w}", by_status[w], f"status-u{i}") for i, w in enumerate(unknown)]
    suite_chips = [Chip(s or NO_SUITE, s or "(no suite)", by_suite.get(s, 0), f"suite-{i}") for i, s in enumerate(suites)]
    return SearchForm(
        index_url=layout.SEARCH_INDEX,
        statuses=tuple(status_chips),
        suites=tuple(suite_chips),
    )
