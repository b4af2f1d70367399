"""Per-line detection: levels, times and zones, prefixes, damage (ANSI, CR, bad UTF-8, huge lines)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sitegen.nightly.logs.formats import MAX_LINE, Context, clean, heads_in_line, norm_level, parse_line

UTC = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")
CTX = Context(SHANGHAI, dt.date(2021, 7, 9))


@pytest.mark.parametrize(
    ("word", "level"),
    [
        ("FATAL", "fatal"), ("panic", "fatal"), ("CRIT", "fatal"), ("DPANIC", "fatal"), ("critical", "fatal"),
        ("ERROR", "error"), ("erro", "error"), ("err", "error"), ("E", "error"),
        ("WARN", "warn"), ("warning", "warn"), ("W", "warn"),
        ("INFO", "info"), ("DEBUG", "debug"), ("TRCE", "debug"), ("chatty", ""),
    ],
)  # fmt: skip
def test_levels_are_normalised(word: str, level: str) -> None:
    assert norm_level(word) == level


def test_unified_line_honours_its_offset() -> None:
    head = parse_line('[2021/07/09 17:32:48.123 -03:30] [WARN] [a.go:1] ["clock \\"offset\\""] [error="x y"]', CTX)
    assert head is not None and head.fmt == "unified" and head.level == "warn"
    assert head.message == 'clock "offset"' and head.fields == {"error": "x y"}
    assert head.time == dt.datetime(2021, 7, 9, 21, 2, 48, 123000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("line", "fmt", "level", "when"),
    [
        ("2017/09/25 11:41:16.855 operators.go:186: [error] boom", "legacy", "error", dt.datetime(2017, 9, 25, 11, 41, 16, 855000)),
        ("2019/05/30 06:10:40.684 ERRO util.rs:366: PD failed", "legacy", "error", dt.datetime(2019, 5, 30, 6, 10, 40, 684000)),
        ("2016-09-19 17:02:13,672 store.rs:1352 - ERROR - handle", "legacy", "error", dt.datetime(2016, 9, 19, 17, 2, 13, 672000)),
        ("WARNING: 2019/03/04 21:11:23 Failed to dial", "grpc", "warn", dt.datetime(2019, 3, 4, 21, 11, 23)),
        ("2023/07/18 15:45:36 Registering 2 clients", "golog", "", dt.datetime(2023, 7, 18, 15, 45, 36)),
    ],
)
def test_zone_less_formats_use_the_configured_zone(line: str, fmt: str, level: str, when: dt.datetime) -> None:
    head = parse_line(line, CTX)
    assert head is not None and (head.fmt, head.level) == (fmt, level)
    assert head.time == when.replace(tzinfo=SHANGHAI)


def test_zap_console_iso_and_epoch() -> None:
    iso = parse_line("2022-11-07T07:17:55.931Z\tERROR\tcontroller\tpipeline/pipeline.go:78\tfailed\t{\"a\": 1}", CTX)
    assert iso is not None and (iso.level, iso.message) == ("error", "failed")
    assert iso.time == dt.datetime(2022, 11, 7, 7, 17, 55, 931000, tzinfo=dt.UTC)
    epoch = parse_line("1.6450422241589699e+09  WARN    setup   slow start", CTX)
    assert epoch is not None and epoch.level == "warn" and epoch.time is not None
    assert epoch.time.replace(microsecond=0) == dt.datetime(2022, 2, 16, 20, 10, 24, tzinfo=dt.UTC)


def test_json_nanosecond_iso_and_ms_epoch() -> None:
    ns = parse_line('{"level":"error","ts":"2021-07-09T01:02:03.123456789+08:00","msg":"m"}', CTX)
    assert ns is not None and ns.time == dt.datetime(2021, 7, 9, 1, 2, 3, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    ms = parse_line('{"level":"warn","ts":1625763723000.5,"message":"m"}', CTX)
    assert ms is not None and ms.time is not None
    assert ms.time.replace(microsecond=0) == dt.datetime(2021, 7, 8, 17, 2, 3, tzinfo=dt.UTC)


def test_glued_json_objects_are_two_records() -> None:
    pieces = heads_in_line('tail of a cut one"}{"level":"error","msg":"a"}{"level":"warn","msg":"b"}', CTX)
    assert [h.level if h else None for _, h in pieces] == [None, "error", "warn"]


def test_kubectl_timestamp_prefix() -> None:
    head = parse_line("2021-07-09T01:00:00.123456789Z [2021/07/09 09:00:00.120 +08:00] [ERROR] [a.go:1] [boom]", CTX)
    assert head is not None and head.fmt == "unified" and head.message == "boom"
    plain = parse_line("2021-07-09T01:00:00.5Z panic: oh no", CTX)
    assert plain is not None and plain.level == "fatal" and plain.time == dt.datetime(2021, 7, 9, 1, 0, 0, 500000, tzinfo=dt.UTC)
    assert parse_line("2021-07-09T01:00:00.5Z \tmain.go:12 +0x1d", CTX) is None  # a stack frame stays a continuation


def test_klog_without_year_near_new_year() -> None:
    new_year = Context(UTC, dt.date(2022, 1, 1))
    late = parse_line("W1231 23:59:59.000001       1 a.go:1] late", new_year)
    early = parse_line("E0101 00:00:01.000001       1 a.go:1] early", new_year)
    assert late is not None and late.time is not None and late.time.year == 2021
    assert early is not None and early.time is not None and early.time.year == 2022
    summer = parse_line("I0709 10:00:00.000001       1 a.go:1] \"structured\" key=\"v\"", CTX)
    assert summer is not None and summer.message == "structured"
    assert summer.time == dt.datetime(2021, 7, 9, 10, 0, 0, 1, tzinfo=SHANGHAI)


def test_logfmt_logrus_and_plain() -> None:
    lf = parse_line('level=error ts=2019-11-18T14:41:44.057Z caller=x.go:1 msg="append failed" err="bad \\"x\\""', CTX)
    assert lf is not None and (lf.fmt, lf.level, lf.message, lf.fields) == ("logfmt", "error", "append failed", {"err": 'bad "x"'})
    lr = parse_line('time="2018-07-04T03:16:06Z" level=warning msg="slow" ', CTX)
    assert lr is not None and (lr.fmt, lr.level) == ("logrus", "warn")
    tty = parse_line("ERRO[0524] append failed err=x", CTX)
    assert tty is not None and (tty.level, tty.time) == ("error", None)
    plain = parse_line("ERROR: disk full", CTX)
    assert plain is not None and (plain.fmt, plain.level, plain.message) == ("plain", "error", "disk full")
    assert parse_line("an error happened somewhere in prose", CTX) is None
    assert parse_line("\tgithub.com/x/y.go:12 +0x1d", CTX) is None


def test_clean_strips_ansi_and_cr_and_replaces_bad_utf8() -> None:
    text, cut = clean(b"\x1b[31mERROR\x1b[0m spinner\rdone \xff\r")
    assert (text, cut) == ("ERROR spinnerdone \ufffd", False)
    text, _ = clean("\ufffd[4;35;1mINFO\ufffd[0m x".encode())
    assert text == "INFO x"


def test_clean_truncates_huge_lines_with_a_marker() -> None:
    text, cut = clean(b"E" * (MAX_LINE + 5))
    assert cut and text.endswith("[line truncated]") and text.startswith("E" * 100)
    assert len(text) < MAX_LINE + 40


@pytest.mark.parametrize(
    "line",
    [
        '{"level":"error","ts":1' + "0" * 400 + ',"msg":"absurd epoch"}',
        '{"level":"error","a":' + "[" * 5000 + "]" * 5000 + "}",
        '{"level":"error","ts":NaN,"msg":"nan"}',
        "E1399 25:61:61.000000       1 a.go:1] impossible date",
        "[2021/13/45 99:99:99.999 +99:99] [ERROR] [a.go:1] [damaged stamp]",
    ],
)
def test_absurd_lines_never_raise(line: str) -> None:
    head = parse_line(line, CTX)
    # Each still reads as an error record, only without a clock (it then borrows the one above it).
    assert head is not None and head.level == "error" and head.time is None
