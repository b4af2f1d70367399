"""Each log-format parser, line by line and as whole files: a log is data, so nothing may raise at all."""

from __future__ import annotations

import datetime as dt
import gzip
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from sitegen.nightly.logs import digest_logs
from sitegen.nightly.logs.formats import Context, clean, heads_in_line, parse_line
from tests.fuzz import fuzz, lines

CTX = Context(ZoneInfo("Asia/Shanghai"), dt.date(2021, 7, 9))
UTC = dt.UTC
# The heads and pieces of every format sitegen reads (docs/log-formats.md), to be cut and mixed.
FRAGMENTS = [
    '[2021/07/09 01:00:00.000 +08:00] [ERROR] [x.go:1] ["boom"] [err="a b"]',
    "[2021/07/09 01:00:00.000 +08:00] [INFO] ",
    "[2021/13/45 99:99:99.999 +99:99] [FATAL] ",
    "2021-07-09T01:00:00.123456789Z ",
    "E0709 01:00:00.000000       1 reflector.go:138] ",
    "W0709 ",
    "F0709 25:61",
    '{"level":"error","ts":1625763600.5,"msg":"x","caller":"a.go:1"}',
    '{"level":',
    '{"ts":1e400,"level":"warn"}',
    '{"time":"9999-12-31T23:59:59-23:59","level":"error"}',
    "[" * 50,
    "{" * 50,
    'time="2021-07-09T01:00:00Z" level=error msg="x y"',
    "level=warn msg=",
    "ts=99999999999999999999 level=error",
    "panic: runtime error: index out of range",
    "goroutine 1 [running]:",
    "\tmain.go:12 +0x1d",
    "2021/07/09 01:00:00 [error] x",
    "[mysql] 2021/07/09 01:00:00 packets.go:36: unexpected EOF",
    "\x1b[31mERROR\x1b[0m",
    "\ufeff",
    "\xff\xfe",
    "\r",
]


@fuzz
@given(lines(FRAGMENTS, max_size=6))
def test_one_line_parses_or_is_none(text):
    head = parse_line(text, CTX)
    assert head is None or isinstance(head.message, str)
    assert isinstance(heads_in_line(text, CTX), list)


@fuzz
@given(st.binary(max_size=300))
def test_any_bytes_clean_to_text(raw):
    text, damaged = clean(raw)
    assert isinstance(text, str) and isinstance(damaged, bool)


@fuzz
@given(st.one_of(lines(FRAGMENTS, max_size=40).map(str.encode), st.binary(max_size=2000)), st.booleans())
def test_a_whole_log_file_digests(data, gzipped):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pod-0" / "app.log"
        path.parent.mkdir()
        path.write_bytes(gzip.compress(data) if gzipped else data)
        digest = digest_logs(
            [tmp],
            since=dt.datetime(2021, 7, 8, 6, tzinfo=UTC),
            until=dt.datetime(2021, 7, 9, 6, tzinfo=UTC),
            tz=UTC,
            night=dt.date(2021, 7, 9),
            workers=1,
        )
    assert all(count >= 0 for count in digest.counts.values())
