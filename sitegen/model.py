"""The contract both wings share: report file names and the summary.json schema.

Stdlib only. The site builder reads these names and summaries; the report generator
writes them. Nothing else in sitegen parses or formats a report file name.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sitegen import limits
from sitegen.grammar import METRICS

SUMMARY_SCHEMA = 1
SUMMARY_ATTACHMENT = "summary.json"

# Status words are lower-case identifiers so they stay safe in a file name and a URL.
_NAME_RE = re.compile(
    r"^report-(?P<date>(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))"
    r"-(?P<status>[a-z][a-z0-9_]*)\.pdf\Z",  # \Z, not $: `$` also matches before a final newline
    re.IGNORECASE,
)
STATUS_RE = re.compile(r"^[a-z][a-z0-9_]*\Z")
# A suite is one folder name under reports/: it becomes a path segment and a URL part on every host.
SUITE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def suite_problem(suite: str) -> str | None:
    """Why `suite` cannot name a suite folder the report wing writes into; None when it can ('' means none)."""
    if suite == "":
        return None
    if not SUITE_RE.match(suite) or suite in (".", ".."):
        return "a suite is one folder name of letters, digits, '.', '_' or '-', starting with a letter or digit"
    if len(suite.encode()) > limits.NAME_BYTES:
        return f"a suite name is at most {limits.NAME_BYTES} bytes"
    return None

# What no output format takes as text: C0 and C1 controls (tab and newline are handled apart), lone
# surrogates (UTF-8 cannot encode them) and U+FFFE/U+FFFF (not XML characters). NUL makes HTML a parse
# error and grep call the file binary; any C0 control makes feed.xml not well-formed. Also the bidi
# embeddings, overrides and isolates (U+202A-202E, U+2066-2069): one in a suite or title turns the rest
# of a page title or link around (`txt.exe` shown for `exe.txt`). The marks (LRM, RLM, ALM) stay: they
# only nudge neutral characters, and right-to-left text uses them.
_UNSAFE_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


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


def format_metric(key: str, value: float | None) -> str:
    """A number as both wings show it: `4,033` (qps, counts), `77.9 %` (`*_pct`), `110 s` (`*_s`), `—` when unknown.

    The one formatting rule for the PDF, the card and any display field; the data keeps the raw value.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "\u2014"
    if key.endswith("_pct"):
        return f"{value:.1f} %"
    for suffix, unit in (("_ms", "ms"), ("_s", "s")):
        if key.endswith(suffix):
            # Whole units read best; below ten a tenth still says something (2.5 s, not 2 s).
            return f"{value:,.0f} {unit}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.1f} {unit}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


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


SIGNATURE_LEVELS = ("fatal", "error", "warn")
SIGNATURE_KINDS = ("fatal", "panic", "error", "warn")  # severity classes, most severe first
MAX_SUMMARY_SIGNATURES = 1000  # summary.json keeps the first (most severe) 1,000; the PDF lists every one
MAX_SIGNATURE_TEXT = 300  # characters of a signature's message or pattern
MAX_SUMMARY_METRICS = 64  # metrics kept from a summary (sitegen's own reports write about a dozen)
MAX_METRIC_NAME = 64  # characters of a metric's name


@dataclass(frozen=True)
class SignatureSummary:
    """One log signature as summary.json carries it: what the site shows and what the next night compares (`key`)."""

    key: str  # the fingerprint: a stable hash of level and pattern, the same on any machine
    level: str  # fatal | error | warn
    count: int
    new: bool = False  # not in the previous night's report of the same suite
    kind: str = ""  # fatal | panic | error | warn: the severity class it is ranked by ("panic" covers stack traces)
    component: str = ""  # the pod (or log file) of its first occurrence, e.g. "basic-tidb-0"
    message: str = ""  # the message of its first occurrence, short and plain
    pattern: str = ""  # the normalised message the key is made from
    first_seen: str | None = None  # ISO 8601 with offset
    last_seen: str | None = None

    def to_json_obj(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "level": self.level,
            "kind": self.kind or self.level,
            "count": self.count,
            "new": self.new,
            "component": self.component,
            "message": self.message,
            "pattern": self.pattern,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }

    @classmethod
    def from_json_obj(cls, obj: Any) -> SignatureSummary | None:
        """One entry of `signatures`; None when it is not an object with a string `key` (such entries are skipped)."""
        if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
            return None
        return cls.from_row([obj.get(name) for name in SIGNATURE_ROW])

    def to_row(self) -> list[Any]:
        """The fields in SIGNATURE_ROW's order: how the extraction cache keeps a signature (no key names repeated)."""
        return [self.key, self.level, self.count, self.new, self.kind, self.component, self.message, self.pattern,
                self.first_seen, self.last_seen]

    @classmethod
    def from_row(cls, row: list[Any]) -> SignatureSummary:
        """A signature from its SIGNATURE_ROW values, each checked and cleaned as summary.json's are; ValueError if not 10."""
        # Plain code, no closures: this runs for every cached signature of every build (30,000 at 10,000 nights).
        key, level, count, new, kind, component, message, pattern, first_seen, last_seen = row
        if not isinstance(key, str):
            raise ValueError("a signature's key must be a string")
        level = _signature_text(level)
        return cls(
            key=clean_text(key),  # shown by no page, but written to reports.json and matched across nights as written
            level=level,
            count=count if type(count) is int and count >= 0 else 0,
            new=new is True,
            kind=_signature_text(kind) or level,
            component=_signature_text(component),
            message=_signature_text(message),
            pattern=_signature_text(pattern),
            first_seen=_moment(first_seen),
            last_seen=_moment(last_seen),
        )


# SignatureSummary's fields in the order of its rows (the order to_row writes and from_row reads; from_json_obj
# builds a row from an object with these keys).
SIGNATURE_ROW = ("key", "level", "count", "new", "kind", "component", "message", "pattern", "first_seen", "last_seen")


def _signature_text(value: Any) -> str:
    return clean_text(value)[:MAX_SIGNATURE_TEXT] if isinstance(value, str) else ""


def _moment(value: Any) -> str | None:
    """An ISO 8601 time as the summary wrote it, or None: another tool's summary may hold anything there."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return value


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
    # Most severe first (fatal, panic, error, warn; then NEW; then count): the first few are the night's story.
    # None when the summary does not list signatures at all (another tool's PDF), () when the night had none.
    signatures: tuple[SignatureSummary, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema: int = SUMMARY_SCHEMA

    _KNOWN = ("schema", "date", "status", "suite", "title", "headline", "metrics", "signatures")

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "schema": self.schema,
            "date": self.date,
            "status": self.status,
            "suite": self.suite,
            "title": self.title,
            "headline": self.headline,
            "metrics": dict(self.metrics),
            "signatures": [sig.to_json_obj() for sig in (self.signatures or ())[:MAX_SUMMARY_SIGNATURES]],
        }
        if self.suite is None:
            del obj["suite"]
        if self.signatures is None:
            del obj["signatures"]
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
            clean_text(k)[:MAX_METRIC_NAME]: v
            for k, v in raw_metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and _finite(v)
        }
        # Another tool's summary may hold thousands: each is a row on the night's page and a field in reports.json.
        # Those a rule can test come first, so a flood of others cannot push them out.
        kept = set(sorted(metrics, key=lambda k: k not in METRICS)[:MAX_SUMMARY_METRICS])
        metrics = {k: v for k, v in metrics.items() if k in kept}
        raw_signatures = obj.get("signatures")
        signatures = None
        if raw_signatures is not None:
            if not isinstance(raw_signatures, list):
                raise ValueError("summary.json 'signatures' is not a list")
            # A malformed entry costs only itself; the bound keeps a hostile file from costing memory.
            parsed = (SignatureSummary.from_json_obj(s) for s in raw_signatures[:MAX_SUMMARY_SIGNATURES])
            signatures = tuple(s for s in parsed if s is not None)
        return cls(
            schema=schema,
            date=obj["date"],
            status=obj["status"],
            suite=suite,
            title=obj.get("title", ""),
            headline=obj.get("headline", ""),
            metrics=metrics,
            signatures=signatures,
            extra={k: v for k, v in obj.items() if k not in cls._KNOWN},
        )

    @classmethod
    def from_json_bytes(cls, payload: bytes) -> Summary:
        """Decode and validate summary.json bytes; raises ValueError with a reason a user can read.

        Bounded (limits.SUMMARY_BYTES, limits.JSON_DEPTH): a summary too big or too deep is refused here,
        so the caller ignores it and reads the PDF's metadata instead.
        """
        if len(payload) > limits.SUMMARY_BYTES:
            size, limit = limits.size_text(len(payload)), limits.size_text(limits.SUMMARY_BYTES)
            raise limits.LimitExceeded(f"summary.json is {size}, larger than the {limit} limit")
        try:
            obj = limits.loads_json(payload)
        except ValueError as exc:
            raise type(exc)(f"summary.json is {exc}") from None
        return cls.from_json_obj(obj)


def _finite(value: int | float) -> bool:
    """A number a browser's JSON.parse keeps (10**400 is an int here, Infinity there)."""
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


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
    # Fields a deferred report loads have no plain default: that would be a class attribute, found before __getattr__.
    summary_source: str = field(default_factory=lambda: "none")  # attachment | metadata | text | none
    problems: tuple[str, ...] = ()  # human-readable, shown on the card and in reports.json
    signatures: tuple[SignatureSummary, ...] = field(default_factory=tuple)  # the first (most severe) few of summary.json's
    # A digest of everything the fields above were made from (the file's stamp, the extractor), set by the
    # builder: comparing it is much cheaper than comparing the fields. "" when unknown (then fields are compared).
    made_from: str = field(default="", compare=False)
    # Every signature's key, in order: what the history across nights compares (a deferred report has them unloaded).
    signature_keys: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signature_keys", tuple(sig.key for sig in self.signatures))

    def digest(self) -> str:
        """A short stable text that changes whenever any field of the report may have changed."""
        return self.made_from or repr(self)

    @classmethod
    def deferred(cls, load: Callable[[], dict[str, Any]], signature_keys: tuple[str, ...], **fields: Any) -> Report:
        """A report with `fields` set and the others made by `load()` ({name: value}) the first time one is read.

        The builder makes one per cached report: a build draws the cards of a few, and reads only the dates,
        statuses, suites and signature keys of the rest.
        """
        report = object.__new__(cls)
        report.__dict__.update(fields, _load=load, signature_keys=signature_keys)
        return report

    def __getattr__(self, name: str) -> Any:
        # Only called for an attribute that is not set: a deferred report's fields before their first use.
        load = self.__dict__.get("_load")
        if load is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.__dict__.update(load())  # should it raise, the report stays deferred: the next read tries again
        del self.__dict__["_load"]
        return getattr(self, name)
