"""The contract both wings share: report file names and the summary.json schema.

Stdlib only. The site builder reads these names and summaries; the report generator
writes them. Nothing else in sitegen parses or formats a report file name.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

SUMMARY_SCHEMA = 1
SUMMARY_ATTACHMENT = "summary.json"

# Status words are lower-case identifiers so they stay safe in a file name and a URL.
_NAME_RE = re.compile(
    r"^report-(?P<date>(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))"
    r"-(?P<status>[a-z][a-z0-9_]*)\.pdf$",
    re.IGNORECASE,
)
STATUS_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# What no output format takes as text: C0 and C1 controls (tab and newline are handled apart), lone
# surrogates (UTF-8 cannot encode them) and U+FFFE/U+FFFF (not XML characters). NUL makes HTML a parse
# error and grep call the file binary; any C0 control makes feed.xml not well-formed.
_UNSAFE_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str, *, keep_newlines: bool = False) -> str:
    """Untrusted text made safe for HTML, XML, JSON and PDF; applied once, where the text enters sitegen.

    Each unsafe character becomes U+FFFD rather than nothing: a reader sees that something was there
    (`imagemagick-lzw\ufffd`), words are not silently glued together, and a name that differs only in
    a control character does not pass for another. Tabs stay (every format takes them); CR and CRLF
    become a newline, and newlines become spaces unless `keep_newlines` (log entries, page text).
    """
    if text.isprintable():  # the usual case, and 2x faster than the regex: printable excludes all of the above
        return text
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not keep_newlines and "\n" in text:
        text = text.replace("\n", " ")
    return _UNSAFE_TEXT.sub("\ufffd", text)


@dataclass(frozen=True)
class ReportName:
    """What a report's file name says: the night and its status."""

    date: dt.date
    status: str


def parse_report_name(name: str) -> ReportName | None:
    """Parse `report-YYYY-MM-DD-STATUS.pdf`; None when the name is not a report or the date is impossible."""
    match = _NAME_RE.match(name)
    if match is None:
        return None
    try:
        date = dt.date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return None
    return ReportName(date=date, status=match["status"].lower())


def report_name(date: dt.date, status: str) -> str:
    """The file name for a night's report; the inverse of parse_report_name."""
    if not STATUS_RE.match(status):
        raise ValueError(f"status {status!r} must match {STATUS_RE.pattern}")
    return f"report-{date.isoformat()}-{status}.pdf"


@dataclass(frozen=True)
class Summary:
    """The summary.json attachment (schema 1), as both wings understand it.

    `extra` keeps every key this version does not know, so nothing a newer
    report generator writes is lost on its way to reports.json.
    """

    date: str
    status: str
    title: str = ""
    headline: str = ""
    suite: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    schema: int = SUMMARY_SCHEMA

    _KNOWN = ("schema", "date", "status", "suite", "title", "headline", "metrics")

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "schema": self.schema,
            "date": self.date,
            "status": self.status,
            "suite": self.suite,
            "title": self.title,
            "headline": self.headline,
            "metrics": dict(self.metrics),
        }
        if self.suite is None:
            del obj["suite"]
        obj.update(self.extra)
        return obj

    @classmethod
    def from_json_obj(cls, obj: Any) -> Summary:
        """Validate a decoded summary.json; raises ValueError naming the first bad field."""
        if not isinstance(obj, dict):
            raise ValueError("summary.json is not a JSON object")
        schema = obj.get("schema", SUMMARY_SCHEMA)
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise ValueError("summary.json 'schema' is not an integer")
        for key in ("date", "status"):
            if not isinstance(obj.get(key), str):
                raise ValueError(f"summary.json '{key}' is missing or not a string")
        for key in ("title", "headline"):
            if not isinstance(obj.get(key, ""), str):
                raise ValueError(f"summary.json '{key}' is not a string")
        suite = obj.get("suite")
        if suite is not None and not isinstance(suite, str):
            raise ValueError("summary.json 'suite' is not a string")
        raw_metrics = obj.get("metrics", {})
        if not isinstance(raw_metrics, dict):
            raise ValueError("summary.json 'metrics' is not an object")
        metrics = {
            str(k): v
            for k, v in raw_metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        return cls(
            schema=schema,
            date=obj["date"],
            status=obj["status"],
            suite=suite,
            title=obj.get("title", ""),
            headline=obj.get("headline", ""),
            metrics=metrics,
            extra={k: v for k, v in obj.items() if k not in cls._KNOWN},
        )

    @classmethod
    def from_json_bytes(cls, payload: bytes) -> Summary:
        """Decode and validate summary.json bytes; raises ValueError with a reason a user can read."""
        try:
            obj = json.loads(payload.decode("utf-8"), parse_constant=_json_constant)
        except UnicodeDecodeError:
            raise ValueError("summary.json is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"summary.json is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_json_obj(obj)


def _json_constant(name: str) -> None:
    # NaN and Infinity are not JSON; Python accepts them, browsers would not parse reports.json.
    return None


@dataclass(frozen=True)
class Report:
    """One report as the site shows it: what the scan found plus what extraction read."""

    source: str  # path relative to the reports folder, POSIX separators
    date: dt.date
    status: str
    suite: str  # "" when the PDF sits directly in the reports folder
    title: str
    summary: str  # one short text for the card
    pages: int | None
    bytes: int
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown summary.json keys
    summary_source: str = "none"  # attachment | metadata | text | none
    problems: tuple[str, ...] = ()  # human-readable, shown on the card and in reports.json
