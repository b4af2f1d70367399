"""Normalise log messages into patterns and group them into signatures with a key stable across nights.

The key is a hash of level + pattern only (no paths, no run-specific data), so the next night can
compare it with the keys stored in the previous PDF's summary.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from sitegen.nightly.records import Signature

MAX_PATTERN = 240  # long messages (SQL, JSON payloads) are cut before hashing so near-duplicates group
MAX_SOURCES = 20
MAX_SAMPLE = 4000
MAX_GROUPS = 5000  # beyond this, new patterns of a level share one "other messages" signature: memory stays flat
OTHER = "<other messages: more than 5000 distinct patterns>"
MAX_CACHED = 512  # longer messages are normalised each time rather than kept as cache keys

# Messages are cut into tokens (quoted strings, or runs between separators); only tokens holding a
# digit or "://" are looked at further. A regex tried at every position of every message was 20x slower.
_TIME = re.compile(r"\d{4}[-/]\d\d[-/]\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z| ?[+-]\d\d:?\d\d)?")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[^\s,;()\[\]{}<>="\']+')
_WS = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_NUM = re.compile(r"(?<![0-9A-Za-z<])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![0-9A-Za-z])|\d+")
_TOKEN_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"[a-z][a-z0-9+.-]*://\S*"), "<url>"),
    (re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?"), "<addr>"),
    (re.compile(r"(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?::\d+)?"), "<addr>"),
    (re.compile(r"[A-Za-z]+:\d{4}"), ""),  # an error code such as [kv:9007] or [tikv:9005]: kept as written
    (re.compile(r"[\w-]+(?:\.[\w-]+)*:\d{2,5}"), "<addr>"),
    (re.compile(r"0x[0-9a-fA-F]+"), "<hex>"),
    (re.compile(r"(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}"), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?(?:ns|us|µs|μs|ms|s|m|h)(?:\d+(?:\.\d+)?(?:ns|us|µs|μs|ms|s|m))*"), "<dur>"),
    (re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-[a-z0-9]{5}"), "<pod>"),
]
_TRAIL = ".:!?"

# What makes a signature a panic or a crash, whatever level it was logged at: the word panic, a Go goroutine dump
# or runtime fatal error, a Rust backtrace, a Java frame, a Python traceback. (zap's `stacktrace` field on every
# controller error is not a crash and does not count.)
_PANIC_RE = re.compile(
    r"\bpanic(?:ked|s)?\b|^goroutine \d+ \[|^fatal error: |\bSIGSEGV\b|^stack backtrace:"
    r"|^\s+at [\w$.]+\.[\w$<>]+\(|^Traceback \(most recent call last\):",
    re.IGNORECASE | re.MULTILINE,
)


def is_panic(pattern: str, sample: str) -> bool:
    """Whether a signature is a panic or carries a crash stack trace."""
    return bool(_PANIC_RE.search(pattern) or _PANIC_RE.search(sample))


def _token(m: re.Match[str]) -> str:
    tok = m.group()
    first = tok[0]
    if first == '"':
        return '"<str>"'
    if first == "'":
        return "'<str>'"
    if "://" in tok:
        return "<url>"
    if not _DIGIT.search(tok):
        return tok
    core = tok.rstrip(_TRAIL)
    tail = tok[len(core) :]
    for rx, repl in _TOKEN_RULES:
        if rx.fullmatch(core):
            return (repl or core) + tail
    return _NUM.sub("<n>", core) + tail


def normalise(message: str) -> str:
    """The message with numbers, ids, hex, addresses, durations and quoted keys replaced by placeholders."""
    text = _TIME.sub("<time>", message.strip())
    text = _TOKEN.sub(_token, text)
    return _WS.sub(" ", text)[:MAX_PATTERN]


def signature_key(level: str, pattern: str) -> str:
    """A short stable hash of level and pattern: same input, same key, on any machine and any run."""
    return hashlib.sha1(f"{level}\x1f{pattern}".encode()).hexdigest()[:12]


def message_of(message: str, fields: dict[str, str] | None) -> str:
    """The text a signature is made from: the message, plus the error field where the format has one."""
    if fields:
        err = fields.get("error") or fields.get("err")
        if err:
            first = err.split("\n", 1)[0]
            return f"{message} error={first[:200]}" if message else first[:200]
    return message


@dataclass(slots=True)
class Group:
    """A signature being counted; picklable so worker processes can send it back."""

    pattern: str
    level: str
    count: int = 0
    first: float | None = None
    last: float | None = None
    sources: list[str] = field(default_factory=list)
    sample: str = ""
    message: str = ""  # the sample's message, and where it came from
    origin: str = ""


class Book:
    """Accumulates signatures; `merge` combines books from several workers or inputs."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self._cache: dict[tuple[str, str], tuple[str, str]] = {}

    def add(self, level: str, message: str, when: float | None, source: str, sample: str) -> None:
        cached = self._cache.get((level, message))
        if cached is None:
            pattern = normalise(message)
            cached = (signature_key(level, pattern), pattern)
            if len(message) <= MAX_CACHED:
                if len(self._cache) >= 50_000:
                    self._cache.clear()
                self._cache[(level, message)] = cached
        key, pattern = cached
        g = self.groups.get(key)
        if g is None:
            if len(self.groups) >= MAX_GROUPS:
                key, pattern = signature_key(level, OTHER), OTHER
                g = self.groups.get(key)
            if g is None:
                g = self.groups[key] = Group(pattern, level, sample=_cut(sample), message=message[:MAX_SAMPLE], origin=source)
        g.count += 1
        if when is not None:
            if g.first is None or when < g.first:
                if g.first is not None:
                    # The earliest occurrence is the one worth showing.
                    g.sample, g.message, g.origin = _cut(sample), message[:MAX_SAMPLE], source
                g.first = when
            if g.last is None or when > g.last:
                g.last = when
        if source not in g.sources and len(g.sources) < MAX_SOURCES:
            g.sources.append(source)

    def merge(self, other: Book) -> None:
        for key, o in other.groups.items():
            g = self.groups.get(key)
            if g is None:
                self.groups[key] = Group(o.pattern, o.level, o.count, o.first, o.last, list(o.sources), o.sample, o.message, o.origin)
                continue
            g.count += o.count
            if o.first is not None and (g.first is None or o.first < g.first):
                g.first = o.first
                g.sample, g.message, g.origin = o.sample, o.message, o.origin  # the earliest occurrence is the one worth showing
            if o.last is not None and (g.last is None or o.last > g.last):
                g.last = o.last
            for s in o.sources:
                if s not in g.sources and len(g.sources) < MAX_SOURCES:
                    g.sources.append(s)

    def __getstate__(self) -> dict:
        return {"groups": self.groups}

    def __setstate__(self, state: dict) -> None:
        self.groups = state["groups"]
        self._cache = {}

    def signatures(self, previous_keys: set[str] | None, tz: dt.tzinfo) -> list[Signature]:
        """Ranked (Signature.rank: fatal, panic, error, warn; NEW first; then count); NEW when a previous set lacks the key."""
        out = []
        for key, g in self.groups.items():
            out.append(
                Signature(
                    key=key,
                    pattern=g.pattern,
                    level=g.level,
                    count=g.count,
                    first_seen=_dt(g.first, tz),
                    last_seen=_dt(g.last, tz),
                    sources=sorted(g.sources),
                    sample=g.sample,
                    new=previous_keys is not None and key not in previous_keys,
                    panic=is_panic(g.pattern, g.sample),
                    message=g.message,
                    origin=g.origin,
                )
            )
        out.sort(key=Signature.rank)
        return out


def _cut(sample: str) -> str:
    return sample if len(sample) <= MAX_SAMPLE else sample[:MAX_SAMPLE] + " …[sample cut]"


def _dt(value: float | None, tz: dt.tzinfo) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, tz)
