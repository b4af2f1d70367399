"""Per-line format detection: is this line the head of a log record, and if so its time, level and message.

One function, `parse_line`, knows every supported format (see docs/log-formats.md). A line that is not
a record head returns None and is treated by the caller as a continuation of the record above it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from sitegen.model import clean_text
from sitegen.nightly.times import epoch_time

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024  # longer lines are cut here and marked
TRUNCATED_MARK = " …[line truncated]"

# Level words of every format, mapped to the report's levels.
LEVELS = {
    "fatal": "fatal", "fata": "fatal", "panic": "fatal", "pani": "fatal", "dpanic": "fatal",
    "crit": "fatal", "critical": "fatal", "f": "fatal", "emerg": "fatal", "alert": "fatal",
    "error": "error", "erro": "error", "err": "error", "e": "error",
    "warn": "warn", "warning": "warn", "w": "warn",
    "info": "info", "i": "info", "inf": "info", "notice": "info",
    "debug": "debug", "debu": "debug", "debg": "debug", "trace": "debug", "trac": "debug", "trce": "debug", "d": "debug",
}  # fmt: skip
_EXACT = {**LEVELS, **{word.upper(): level for word, level in LEVELS.items()}}


def norm_level(word: str) -> str:
    """Map a level word of any format to fatal/error/warn/info/debug, or "" when unknown."""
    level = _EXACT.get(word)  # the usual spellings skip strip() and lower()
    return level if level is not None else LEVELS.get(word.strip().lower(), "")


@dataclass(slots=True)
class Context:
    """What parsing needs beyond the line: the zone for zone-less times and the night for year-less ones."""

    tz: dt.tzinfo
    night: dt.date


@dataclass(slots=True)
class Head:
    """The parsed head line of a record."""

    time: dt.datetime | None
    level: str
    message: str
    fmt: str
    fields: dict[str, str] | None = None
    epoch: float | None = None  # `time.timestamp()`, when the parser had it for free (unified stamps)


# --- cleaning ---------------------------------------------------------------------------------------

# CSI and OSC escapes, plus the form they take when the ESC byte was decoded lossily into U+FFFD.
_ANSI = re.compile(r"(?:\x1b|\ufffd)\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b")


def clean(raw: bytes) -> tuple[str, bool]:
    """Decode one physical line (without its newline): cut at 64 KiB, replace bad UTF-8, drop ANSI and CRs.

    Other control characters become U+FFFD (`model.clean_text`), after the ANSI escapes are gone.
    """
    truncated = len(raw) > MAX_LINE
    if truncated:
        raw = raw[:MAX_LINE]
    text = raw.decode("utf-8", "replace")
    if "\x1b" in text or "\ufffd[" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        text = text.replace("\r", "")
    text = clean_text(text).rstrip()
    if truncated:
        text += TRUNCATED_MARK
    return text, truncated


# --- time ---------------------------------------------------------------------------------------------

_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s*(Z|[+-]\d\d:?\d\d)?$"
)
_SLASH = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?: ([+-]\d\d:?\d\d))?$")


def _zone(text: str | None, tz: dt.tzinfo) -> dt.tzinfo:
    if not text:
        return tz
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4])
    return _fixed(sign * minutes)


@lru_cache(maxsize=64)
def _fixed(minutes: int) -> dt.tzinfo:
    return dt.UTC if minutes == 0 else dt.timezone(dt.timedelta(minutes=minutes))


def _build(groups: tuple[str | None, ...], tz: dt.tzinfo) -> dt.datetime | None:
    year, month, day, hour, minute, second, frac, zone = groups
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=_zone(zone, tz))  # type: ignore[arg-type]
    except ValueError:
        return None


def parse_time(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """Parse ISO 8601 / RFC 3339 (any fraction length) or the unified `yyyy/MM/dd HH:mm:ss.SSS ±hh:mm` layout."""
    if len(text) == 30 and text[4] == "/" and text[19] == ".":
        hit = unified_stamp(text, tz)
        if hit is not None:
            return hit[0]
    text = text.strip()
    m = _ISO.match(text) or _SLASH.match(text)
    return _build(m.groups(), tz) if m else None


def unified_stamp(text: str, tz: dt.tzinfo) -> tuple[dt.datetime, float] | None:
    """A 30-character unified stamp as (datetime, its `timestamp()`), or None when it is not a valid one."""
    key = (text, tz)
    hit = _STAMPS.get(key)
    if hit is not None:
        return hit
    sec = text[17:19]
    if text[16] == ":" and sec.isascii() and sec.isdigit() and sec < "60":
        # Errors are seldom two in one second but often in one minute: cache minutes, add the seconds.
        # A valid minute plus 0-59 s is exactly the datetime the fields give (and invalid stays None).
        minute = _unified_minute(text[:16], text[24:], tz)
        if minute is None:
            return None
        base, micros = minute[0] + _SECONDS[int(sec)], minute[1] + int(sec) * 1_000_000
    else:
        base = _unified_second(text[:19], text[24:], tz)
        if base is None:
            return None
        micros = (base - _EPOCH) // _MICRO
    if not text[20:23].isdigit():
        return None
    if len(_STAMPS) > 20_000:
        _STAMPS.clear()
    ms = int(text[20:23])
    # `base` has no microseconds, so adding them equals `replace` (which is 9x slower). The epoch is whole
    # microseconds divided once, as `datetime.timestamp()` computes it, so both give the very same float.
    hit = _STAMPS[key] = (base + _MILLIS[ms], (micros + ms * 1000) / 1_000_000)
    return hit


_STAMPS: dict[tuple[str, dt.tzinfo], tuple[dt.datetime, float]] = {}
_MILLIS = [dt.timedelta(milliseconds=ms) for ms in range(1000)]
_SECONDS = [dt.timedelta(seconds=s) for s in range(60)]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)


@lru_cache(maxsize=1024)
def _unified_minute(minute: str, zone: str, tz: dt.tzinfo) -> tuple[dt.datetime, int] | None:
    base = _unified_second(minute + ":00", zone, tz)
    return None if base is None else (base, (base - _EPOCH) // _MICRO)


@lru_cache(maxsize=4096)
def _unified_second(second: str, zone: str, tz: dt.tzinfo) -> dt.datetime | None:
    m = _SLASH.match(f"{second} {zone}")
    return _build(m.groups(), tz) if m else None


def yearless(month: int, day: int, clock: str, ctx: Context) -> dt.datetime | None:
    """A month/day/time without a year: pick the year that puts it closest to the night (New Year safe)."""
    best = None
    h, mi, rest = clock.split(":")
    sec, _, frac = rest.partition(".")
    micro = int(frac[:6].ljust(6, "0")) if frac else 0
    for year in (ctx.night.year - 1, ctx.night.year, ctx.night.year + 1):
        try:
            cand = dt.datetime(year, month, day, int(h), int(mi), int(sec), micro, tzinfo=ctx.tz)
        except ValueError:
            continue
        if best is None or abs((cand.date() - ctx.night).days) < abs((best.date() - ctx.night).days):
            best = cand
    return best


_MONTHS = {m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


# --- quoted values ------------------------------------------------------------------------------------


def unquote(value: str) -> str:
    """Decode a JSON/Go double-quoted string; fall back to the raw text when it is not valid."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        if "\\" not in value:
            return value[1:-1]
        try:
            out = json.loads(value)
            if isinstance(out, str):
                return out
        except ValueError:
            pass
        return value[1:-1].replace('\\"', '"')
    return value


# --- formats ------------------------------------------------------------------------------------------

_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"'  # unrolled: much faster than an alternation per character
# The pieces the fast reader's skip patterns (`skips`) are built from, shared so the two cannot drift apart.
# The unified stamp is checked loosely (shape, not digits): 40 % cheaper for the scanner, and a damaged 30-character
# stamp still makes a record (its time is then inherited).
UNIFIED_STAMP = r"\d{4}/[0-9/: .+-]{25}"
QUIET_UNIFIED_LEVELS = ("INFO", "DEBUG", "TRACE")  # the unified level words the fast reader may skip unparsed
# RFC 3339 as kubectl --timestamps, zap and Jenkins write it.
RFC3339_STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)"
# A klog head after its level letter: date, time, thread id, file:line]. Blanks are spaces and tabs only (not
# `\s`) and the file never holds a newline, so the same text is safe on a block of many lines.
KLOG_REST = r"(\d\d)(\d\d) (\d\d:\d\d:\d\d\.\d{6})[ \t]+(\d+) ([^:\] \n]+):(\d+)\]"

UNIFIED = re.compile(
    rf"\[?({UNIFIED_STAMP})\] +\[([A-Za-z]+)\](?: +|$)"
    r"(?:\[([^\]\[]*(?:\[[^\]]*\]\([^)]*\)[^\]\[]*)*)\] *)?"  # source; GitHub may have autolinked it as [[f.rs:1](http://f.rs:1/)]
    rf"(?:\[({_QUOTED}|[^\]]*)\])?(.*)$"
)
_ERR_FIELD = re.compile(rf'\[(err|error)=((?:{_QUOTED}|[^\]]*))\]')
LEGACY = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d{3})?) ([\w.<>-]+:\d+): \[(\w+)\] ?(.*)$")
SLOG = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3}) (INFO|WARN|ERRO|ERROR|CRIT|FATAL|DEBG|TRCE) (\S+:\d+): ?(.*)$")
TIKV2016 = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) (\S+:\d+) - (\w+) - (.*)$")
GRPC = re.compile(r"(WARNING|INFO|ERROR|FATAL): (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (.*)$")
GOLOG = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (.*)$")
KLOG = re.compile(rf"([IWEF]){KLOG_REST} ?(.*)$")
ZAP = re.compile(
    rf"({RFC3339_STAMP}|\d+\.\d+(?:e[+-]\d+)?|\d{{9,}})[\t ]+"
    r"(DEBUG|INFO|WARN|WARNING|ERROR|DPANIC|PANIC|FATAL)[\t ]+(.*)$"
)
LOGRUS_TTY = re.compile(r"(PANI|FATA|ERRO|WARN|INFO|DEBU|TRAC)\[(\d+)\] ?(.*)$")
_PAIR = re.compile(rf"([\w][\w.-]*)=({_QUOTED}|\S*)")
_LOGFMT_START = re.compile(r"[\w][\w.-]*=")
_LOGFMT_KEYS = {"level", "lvl", "msg", "ts", "time", "caller", "component"}
PLAIN = re.compile(
    r"\[?(FATAL|PANIC|CRITICAL|CRIT|ERROR|ERRO|ERR|WARNING|WARN|INFO|DEBUG|TRACE)\]?(?::|\s|$)\s*(.*)$"
)
RUNTIME = re.compile(r"(panic: |fatal error: |SIG[A-Z]+: |thread '[^']*' panicked at )(.*)$")

# Prefixes that wrap a record: markdown quoting, journald, kubectl --timestamps / Jenkins, Grafana exports.
_QUOTE_PREFIX = re.compile(r"\s*>\s?|`")
_JOURNALD = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d) (?:\S+ )?[^\s:\[]+(?:\[\d+\])?: ")
_TS_PREFIX = re.compile(rf"\[?({RFC3339_STAMP})\]? ")
_EXPORT_PREFIX = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\t ?")
_LOG_VALUE = re.compile(rf"log=({_QUOTED})\s*$")

_JSON_LEVEL = re.compile(r'"(?:level|lvl|severity)"\s*:\s*"([A-Za-z]+)"')
_JSON_TIME = re.compile(r'"(?:ts|time|timestamp|@timestamp)"\s*:\s*("[^"]*"|[\d.e+]+)')
_JSON_MSG = re.compile(r'"(?:msg|message)"\s*:\s*("(?:[^"\\]|\\.)*)')


def _unified(m: re.Match[str], ctx: Context) -> Head:
    stamp, level, _source, msg, rest = m.groups()
    fields = None
    if rest and "err" in rest:
        fm = _ERR_FIELD.search(rest)
        if fm:
            fields = {fm.group(1): unquote(fm.group(2))}
    hit = unified_stamp(stamp, ctx.tz) if len(stamp) == 30 and stamp[4] == "/" and stamp[19] == "." else None
    if hit is None:
        return Head(parse_time(stamp, ctx.tz), norm_level(level), unquote(msg or ""), "unified", fields)
    return Head(hit[0], norm_level(level), unquote(msg or ""), "unified", fields, hit[1])


def _zap_message(rest: str) -> str:
    body = rest
    brace = body.find("\t{")
    if brace < 0:
        brace = body.find(" {")
    if brace >= 0:
        body = body[:brace]
    parts = [p for p in re.split(r"\t| {2,}", body.strip()) if p]
    if len(parts) > 1:
        return parts[-1].strip()
    words = body.strip().split(" ", 1)
    # With single spaces the logger name cannot be told apart, except that it is one dotted word.
    if len(words) == 2 and "." in words[0]:
        return words[1]
    return body.strip()


def _json_head(obj: dict, ctx: Context, fallback: dt.datetime | None) -> Head | None:
    level = ""
    for key in ("level", "lvl", "severity"):
        if isinstance(obj.get(key), str):
            level = norm_level(obj[key])
            break
    when = fallback
    for key in ("ts", "time", "timestamp", "@timestamp"):
        value = obj.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            when = epoch_time(float(value)) if abs(value) < 1e20 else None
            break
        if isinstance(value, str):
            when = parse_time(value, ctx.tz) or when
            break
    msg = obj.get("msg", obj.get("message"))
    if msg is None and isinstance(obj.get("log"), str):
        # A wrapper (docker json-file, Loki/Grafana): the real line is inside "log".
        inner = obj["log"].rstrip("\n")
        head = parse_line(inner, ctx, fallback=when, depth=1)
        if head is not None:
            if not head.level and level:
                head.level = level
            head.fmt = f"json+{head.fmt}"
            return head
        if not level and not inner.startswith("["):
            return None  # a raw line (stack frame) carried in a wrapper: a continuation
        body = UNIFIED_BODY.match(inner)
        return Head(when, level, unquote(body.group(1)) if body else inner, "json")
    if not isinstance(msg, str):
        msg = "" if msg is None else str(msg)
    fields = {k: v for k, v in obj.items() if k in ("error", "err") and isinstance(v, str)}
    return Head(when, level, msg, "json", fields)


UNIFIED_BODY = re.compile(rf"\[(?:\[[^\]]*\]\([^)]*\)|[^\]])*\] *\[({_QUOTED}|[^\]]*)\]")


def _json_line(text: str, ctx: Context, fallback: dt.datetime | None) -> Head | None:
    try:
        obj, _end = _DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        obj = None
    if isinstance(obj, dict):
        return _json_head(obj, ctx, fallback)
    # Damaged JSON (cut or hard-wrapped paste): pick what can be read.
    lm, tm, mm = _JSON_LEVEL.search(text), _JSON_TIME.search(text), _JSON_MSG.search(text)
    if not (lm or tm or mm or '"log":' in text):
        return None
    when = fallback
    if tm:
        raw = tm.group(1)
        when = parse_time(raw.strip('"'), ctx.tz) if raw.startswith('"') else epoch_time(float(raw)) if _is_float(raw) else None
    msg = unquote(mm.group(1) + '"') if mm else text
    if not mm and '"log":"' in text:
        inner = text.split('"log":"', 1)[1]
        body = UNIFIED_BODY.match(inner.replace('\\"', '"'))
        msg = unquote(body.group(1)) if body else inner
    return Head(when, norm_level(lm.group(1)) if lm else "", msg, "json")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_DECODER = json.JSONDecoder()


def _logfmt(text: str, ctx: Context) -> Head | None:
    if not _LOGFMT_START.match(text):
        return None
    pairs = dict(_PAIR.findall(text))
    if len(pairs) < 2 or not (pairs.keys() & _LOGFMT_KEYS):
        return None
    level = norm_level(unquote(pairs.get("level", pairs.get("lvl", ""))))
    raw_time = unquote(pairs.get("ts", pairs.get("time", "")))
    when = parse_time(raw_time, ctx.tz) if raw_time else None
    msg = unquote(pairs.get("msg", ""))
    fields = {k: unquote(v) for k, v in pairs.items() if k in ("err", "error")}
    return Head(when, level, msg, "logrus" if text.startswith("time=") else "logfmt", fields)


def parse_line(text: str, ctx: Context, *, fallback: dt.datetime | None = None, depth: int = 0) -> Head | None:
    """The record head on this (cleaned) line, or None when the line continues the record above."""
    try:
        head = _parse_line(text, ctx, fallback, depth)
    except (ValueError, OverflowError, RecursionError, TypeError, KeyError, IndexError):
        # A line no format can make sense of is a continuation; a broken line never stops the night.
        log.debug("unparsable line kept as a continuation: %.200r", text)
        return None
    if head is not None and depth == 0 and "\\" in text:
        # JSON and Go escapes (\u0000) decode into control characters the (cleaned) line itself does not have.
        head.message = clean_text(head.message, keep_newlines=True)
        if head.fields:
            head.fields = {k: clean_text(v, keep_newlines=True) for k, v in head.fields.items()}
    return head


def _parse_line(text: str, ctx: Context, fallback: dt.datetime | None, depth: int) -> Head | None:
    if not text:
        return None
    first = text[0]
    if first.isspace():
        # Stack frames and wrapped lines: of all the formats and prefixes below only a markdown quote
        # (`  > [...`) lets a line start with a blank, so the others need not be tried.
        return _peel(text, ctx, fallback, depth) if depth < 2 and text.lstrip()[:1] == ">" else None
    # A line starting with a lower-case letter can only be logfmt or a runtime line (`panic: `): every other
    # format and prefix starts with "[", "{", a digit, an upper-case letter or a quote mark.
    lower = "a" <= first <= "z"
    if first == "[" or first.isdigit():
        m = UNIFIED.match(text)
        if m:
            return _unified(m, ctx)
    if first == "{":
        head = _json_line(text, ctx, fallback)
        if head is not None:
            return head
    if first.isdigit():
        if m := ZAP.match(text):
            stamp, level, rest = m.groups()
            when = parse_time(stamp, ctx.tz) if "-" in stamp[:5] else epoch_time(float(stamp))
            return Head(when, norm_level(level), _zap_message(rest), "zap-console")
        if m := LEGACY.match(text):
            return Head(parse_time(m.group(1), ctx.tz), norm_level(m.group(3)), m.group(4), "legacy")
        if m := SLOG.match(text):
            return Head(parse_time(m.group(1), ctx.tz), norm_level(m.group(2)), m.group(4), "legacy")
        if m := TIKV2016.match(text):
            return Head(parse_time(f"{m.group(1)}.{m.group(2)}", ctx.tz), norm_level(m.group(4)), m.group(5), "legacy")
        if m := GOLOG.match(text):
            rest = m.group(2)
            pm = PLAIN.match(rest)
            return Head(parse_time(m.group(1), ctx.tz), norm_level(pm.group(1)) if pm else "", pm.group(2) if pm else rest, "golog")
    if first in "IWEF" and (m := KLOG.match(text)):
        code, month, day, clock, _tid, _file, _line, msg = m.groups()
        when = yearless(int(month), int(day), clock, ctx)
        if msg.startswith('"'):
            qm = re.match(_QUOTED, msg)
            if qm:
                msg = unquote(qm.group(0))
        return Head(when, norm_level(code), msg, "klog")
    if not lower and (m := GRPC.match(text)):
        return Head(parse_time(m.group(2), ctx.tz), norm_level(m.group(1)), m.group(3), "grpc")
    if not lower and (m := LOGRUS_TTY.match(text)):
        # The number is seconds since the process started: no wall clock, so only the wrapper's time.
        return Head(fallback, norm_level(m.group(1)), m.group(3), "logrus")
    if head := _logfmt(text, ctx):
        head.time = head.time or fallback
        return head
    if m := RUNTIME.match(text):
        return Head(fallback, "fatal", (m.group(1) + m.group(2)).strip(), "go-runtime")
    if lower:
        return None
    if m := PLAIN.match(text):
        return Head(fallback, norm_level(m.group(1)), m.group(2), "plain")
    if depth < 2:
        return _peel(text, ctx, fallback, depth)
    return None


def _peel(text: str, ctx: Context, fallback: dt.datetime | None, depth: int) -> Head | None:
    """Strip one wrapping prefix (quote, journald, kubectl/Jenkins time, Grafana export) and parse the rest."""
    if m := _TS_PREFIX.match(text):
        return parse_line(text[m.end() :], ctx, fallback=parse_time(m.group(1), ctx.tz), depth=depth + 1)
    if m := _EXPORT_PREFIX.match(text):
        when = parse_time(m.group(1), ctx.tz)
        rest = text[m.end() :]
        if lv := _LOG_VALUE.match(rest):
            rest = unquote(lv.group(1)).rstrip("\n")
        return parse_line(rest, ctx, fallback=when, depth=depth + 1)
    if m := _JOURNALD.match(text):
        month = _MONTHS.get(m.group(1))
        when = yearless(month, int(m.group(2)), m.group(3), ctx) if month else None
        return parse_line(text[m.end() :], ctx, fallback=when, depth=depth + 1)
    if (m := _QUOTE_PREFIX.match(text)) and m.end():
        return parse_line(text[m.end() :], ctx, fallback=fallback, depth=depth + 1)
    return None


def iter_json_pieces(text: str) -> list[str]:
    """Split a line holding several JSON objects glued together (`}{`), as etcd sometimes writes them."""
    if '}{"' not in text:
        return [text]
    return [p if i == 0 else "{" + p for i, p in enumerate(text.replace('}{"', '}\x00"').split("\x00"))]


def heads_in_line(text: str, ctx: Context) -> list[tuple[str, Head | None]]:
    """The pieces of one cleaned line with their heads; more than one only for glued JSON objects."""
    if '}{"' not in text:
        return [(text, parse_line(text, ctx))]
    if not text.startswith("{"):
        head = parse_line(text, ctx)
        if head is not None:
            return [(text, head)]
    return [(piece, parse_line(piece, ctx)) for piece in iter_json_pieces(text)]
