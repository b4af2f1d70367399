"""An Atom feed of the newest nights, so a team can follow bad nights in a feed reader or chat bot.

Feeds are the one place that needs absolute URLs, so the feed is written only when the config
has a `base_url`. Bytes are deterministic: `updated` comes from the newest night, not the clock.
"""

from __future__ import annotations

import datetime as dt
from html import escape  # XML's escapes too; xml.sax.saxutils would import urllib.request (20 ms a build)

from sitegen.model import Report

FEED = "feed.xml"
FEED_ENTRIES = 50


def absolute(base_url: str, path: str) -> str:
    """`path` (relative to the site root) under the site's absolute base URL."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _quoted(value: str) -> str:
    """An XML attribute value, quoted and escaped."""
    return '"' + escape(value) + '"'


def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _entry_title(report: Report, label: str) -> str:
    suite = f" · {report.suite}" if report.suite else ""
    return f"{report.date.isoformat()}{suite}: {label}"


def feed_xml(
    title: str, base_url: str, newest_first: list[Report], pages: dict[str, str], labels: dict[str, str]
) -> bytes:
    """The Atom document for the newest FEED_ENTRIES reports; `labels` maps a status to its shown label."""
    shown = newest_first[:FEED_ENTRIES]
    updated = _stamp(shown[0].date) if shown else "1970-01-01T00:00:00Z"
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <title>{escape(title)}</title>",
        f"  <id>{escape(absolute(base_url, FEED))}</id>",
        f"  <link rel=\"self\" href={_quoted(absolute(base_url, FEED))}/>",
        f"  <link rel=\"alternate\" type=\"text/html\" href={_quoted(absolute(base_url, 'index.html'))}/>",
        f"  <updated>{updated}</updated>",
        "  <author><name>sitegen</name></author>",
    ]
    for report in shown:
        url = absolute(base_url, pages[report.source])
        label = labels.get(report.status, f"unknown status {report.status}")
        lines += [
            "  <entry>",
            f"    <title>{escape(_entry_title(report, label))}</title>",
            # The page URL depends on suite and date only, so a re-run night keeps its entry id.
            f"    <id>{escape(url)}</id>",
            f"    <link rel=\"alternate\" type=\"text/html\" href={_quoted(url)}/>",
            f"    <updated>{_stamp(report.date)}</updated>",
            f"    <category term={_quoted(report.status)}/>",
            f"    <summary>{escape(report.summary or report.title)}</summary>",
            "  </entry>",
        ]
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")
