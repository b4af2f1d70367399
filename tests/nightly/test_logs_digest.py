"""digest_logs end to end: inputs (stdin, .gz, globs, folders), the window, signatures, and fast == simple."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import random
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitegen.errors import UsageError
from sitegen.nightly.logs import digest, digest_logs, iter_records, skips
from sitegen.nightly.logs.digest import digest_simple
from sitegen.nightly.logs.entries import Assembler
from sitegen.nightly.logs.formats import MAX_LINE

BENCH = Path(__file__).resolve().parents[2] / "bench"
HAVE_RE2 = skips._re2 is not None
ENGINES = ["re", pytest.param("re2", marks=pytest.mark.skipif(not HAVE_RE2, reason="google-re2 is not installed"))]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest):
    """The fast reader with each line classifier: RE2 when it is installed, and `re` (its fallback)."""
    skips.use_re2(request.param == "re2")
    assert skips.engine() == request.param
    yield request.param
    skips.use_re2(True)

UTC = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = dt.date(2021, 7, 9)
# Night 2021-07-09 with night_ends_at 06:00 in Asia/Shanghai.
SINCE = dt.datetime(2021, 7, 8, 6, 0, tzinfo=SHANGHAI)
UNTIL = dt.datetime(2021, 7, 9, 6, 0, tzinfo=SHANGHAI)


def _digest(inputs: list[str], **kw):
    args = {"since": SINCE, "until": UNTIL, "tz": SHANGHAI, "night": NIGHT} | kw
    return digest_logs(inputs, **args)


def _line(stamp: str, level: str, msg: str, *fields: str) -> str:
    return f'[{stamp} +08:00] [{level}] [x.go:1] ["{msg}"]' + "".join(f" [{f}]" for f in fields) + "\n"


def test_window_is_exact_at_both_ends(tmp_path: Path) -> None:
    log = tmp_path / "w.log"
    log.write_text(
        _line("2021/07/08 05:59:59.999", "ERROR", "just before")
        + _line("2021/07/08 06:00:00.000", "ERROR", "first instant")
        + _line("2021/07/09 05:59:59.999", "WARN", "last instant")
        + _line("2021/07/09 06:00:00.000", "ERROR", "just after")
        # the same instant as 06:00 Shanghai written in UTC: outside (the end is exclusive)
        + "[2021/07/08 22:00:00.000 +00:00] [FATAL] [x.go:1] [\"utc spelling\"]\n"
        + "[2021/07/08 21:59:59.000 +00:00] [FATAL] [x.go:1] [\"utc inside\"]\n"
    )
    d = _digest([str(log)])
    assert d.counts == {"fatal": 1, "error": 1, "warn": 1}
    assert d.outside_window == 3
    assert sorted(s.pattern for s in d.signatures) == ["first instant", "last instant", "utc inside"]
    assert [level for _, level in d.error_times] == ["error", "fatal"]
    assert d.error_times[0][0] == SINCE.timestamp()


def test_zone_less_times_use_the_configured_zone(tmp_path: Path) -> None:
    log = tmp_path / "legacy.log"
    # 05:30 with no zone: inside the night in Shanghai, but 05:30 UTC is 13:30 Shanghai on 07-09, outside.
    log.write_text("2021/07/09 05:30:00.000 kv.rs:10: [ERROR] send raft msg fail\n")
    assert _digest([str(log)]).counts["error"] == 1
    assert _digest([str(log)], tz=UTC).outside_window == 1


def test_klog_across_new_year(tmp_path: Path) -> None:
    log = tmp_path / "klog.log"
    log.write_text(
        "E1231 23:59:58.000001       1 a.go:1] late in the old year\n"
        "E0101 00:00:01.000001       1 a.go:2] early in the new\n"
    )
    since = dt.datetime(2021, 12, 31, 6, 0, tzinfo=UTC)
    until = dt.datetime(2022, 1, 1, 6, 0, tzinfo=UTC)
    d = digest_logs([str(log)], since=since, until=until, tz=UTC, night=dt.date(2022, 1, 1))
    assert d.counts["error"] == 2 and d.outside_window == 0
    first = min(s.first_seen for s in d.signatures if s.first_seen)
    assert first == dt.datetime(2021, 12, 31, 23, 59, 58, 1, tzinfo=UTC)


def test_signatures_normalise_group_and_mark_new(tmp_path: Path) -> None:
    log = tmp_path / "sig.log"
    log.write_text(
        _line("2021/07/08 10:00:00.000", "ERROR", "send keepalive message fail", "target-store-id=31", "error=EOF")
        + _line("2021/07/08 10:00:01.000", "ERROR", "send keepalive message fail", "target-store-id=7", "error=EOF")
        + _line("2021/07/08 10:00:02.000", "WARN", "region 2112 became leader at term 27 after 314.17ms")
        + _line("2021/07/08 10:00:03.000", "WARN", "region 93 became leader at term 4 after 2s")
        + _line("2021/07/08 10:00:04.000", "ERROR", "dial tcp 10.0.1.5:20160 failed for key 0x7f9182d3a97e store \\\"tikv-1\\\"")
        + _line("2021/07/08 10:00:05.000", "ERROR", "dial tcp 10.0.9.9:2379 failed for key 0xc00aef store \\\"tikv-2\\\"")
        + _line("2021/07/08 10:00:06.000", "ERROR", "raft id 27ecc6d4a68d02f lost leader 2c93ddd62e188857 at http://pd-0.pd:2379/x")
        + _line("2021/07/08 10:00:07.000", "ERROR", "raft id 3da436621ab53dd7 lost leader 6ab1c2d3e4f50617 at http://pd-1.pd:2379/y")
    )
    d = _digest([str(log)])
    patterns = {s.pattern: s for s in d.signatures}
    assert set(patterns) == {
        "send keepalive message fail error=EOF",
        "region <n> became leader at term <n> after <dur>",
        'dial tcp <addr> failed for key <hex> store "<str>"',
        "raft id <hex> lost leader <hex> at <url>",
    }
    assert all(s.count == 2 for s in d.signatures)
    keepalive = patterns["send keepalive message fail error=EOF"]
    assert keepalive.first_seen == dt.datetime(2021, 7, 8, 10, 0, tzinfo=SHANGHAI)
    assert keepalive.last_seen == dt.datetime(2021, 7, 8, 10, 0, 1, tzinfo=SHANGHAI)
    # A file given by its absolute path is named without this machine's folders, as files inside a folder are.
    assert keepalive.sources == [log.name] and "target-store-id=31" in keepalive.sample
    assert not any(s.new for s in d.signatures)  # no previous night given: nothing is NEW

    again = _digest([str(log)], previous_keys={keepalive.key})
    assert {s.pattern for s in again.signatures if s.new} == set(patterns) - {keepalive.pattern}
    # The key depends on level + pattern only: the same messages elsewhere give the same keys.
    other = tmp_path / "elsewhere" / "copy.log"
    other.parent.mkdir()
    other.write_bytes(log.read_bytes())
    assert {s.key for s in _digest([str(other)]).signatures} == {s.key for s in d.signatures}


def test_most_frequent_signature_first(tmp_path: Path) -> None:
    log = tmp_path / "f.log"
    log.write_text(
        _line("2021/07/08 10:00:00.000", "WARN", "rare")
        + "".join(_line(f"2021/07/08 10:00:0{i}.000", "ERROR", f"often {i}") for i in range(3))
    )
    assert [s.count for s in _digest([str(log)]).signatures] == [3, 1]


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _line("2021/07/08 10:00:00.000", "ERROR", "from a pipe").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    d = _digest(["-"])
    assert d.counts["error"] == 1 and d.inputs[0].path == "standard input"
    assert d.signatures[0].sources == ["standard input"]  # the headline's "in ...", not "in -"


def test_gzip_glob_and_folder(tmp_path: Path) -> None:
    (tmp_path / "pods" / "tidb").mkdir(parents=True)
    text = _line("2021/07/08 10:00:00.000", "ERROR", "compressed")
    with gzip.open(tmp_path / "pods" / "tidb" / "tidb-0.log.gz", "wt") as fh:
        fh.write(text)
    (tmp_path / "pods" / "pd-0.log").write_text(_line("2021/07/08 10:00:00.000", "WARN", "plain"))
    by_folder = _digest([str(tmp_path / "pods")])
    assert by_folder.counts == {"fatal": 0, "error": 1, "warn": 1}
    assert [Path(i.path).name for i in by_folder.inputs] == ["pd-0.log", "tidb-0.log.gz"]
    by_glob = _digest([str(tmp_path / "pods" / "**" / "*.gz")])
    assert by_glob.counts["error"] == 1 and len(by_glob.inputs) == 1


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nothing-\*\.log: no file matches this pattern"):
        _digest([str(tmp_path / "nothing-*.log")])
    with pytest.raises(UsageError, match="no such file or folder"):
        _digest([str(tmp_path / "absent.log")])


def test_huge_line_is_truncated_with_a_marker(tmp_path: Path) -> None:
    log = tmp_path / "huge.log"
    big = "x" * (MAX_LINE * 3)
    log.write_text(_line("2021/07/08 10:00:00.000", "ERROR", big) + _line("2021/07/08 10:00:01.000", "WARN", "after"))
    d = _digest([str(log)])
    assert d.inputs[0].truncated_lines == 1 and d.inputs[0].lines == 2
    assert d.counts == {"fatal": 0, "error": 1, "warn": 1}
    sample = next(s.sample for s in d.signatures if s.level == "error")
    assert sample.endswith("[sample cut]") and len(sample) < 10_000
    (first, _) = iter_records([str(log)], tz=SHANGHAI, night=NIGHT)
    assert first.text.endswith("[line truncated]") and MAX_LINE < len(first.text) < MAX_LINE + 100


def test_invalid_utf8_and_crlf_do_not_stop_the_night(tmp_path: Path) -> None:
    log = tmp_path / "bad.log"
    log.write_bytes(
        b'[2021/07/08 10:00:00.000 +08:00] [ERROR] [x.go:1] ["bad \xff\xfe bytes"]\r\n'
        b"\x1b[31m[2021/07/08 10:00:01.000 +08:00] [WARN] [x.go:1] [\"coloured\"]\x1b[0m\r\n"
        b"\x00\x01\x02 binary junk\n"
    )
    d = _digest([str(log)])
    assert d.counts == {"fatal": 0, "error": 1, "warn": 1}
    assert {s.pattern for s in d.signatures} == {"bad \ufffd\ufffd bytes", "coloured"}


def _mixed_log(rng: random.Random, lines: int) -> bytes:
    """A seeded mix of every shape the fast path must get right, in long runs and short bursts."""
    out: list[str] = []
    t = dt.datetime(2021, 7, 8, 5, 50)
    while len(out) < lines:
        t += dt.timedelta(seconds=rng.randrange(1, 30))
        stamp = t.strftime("%Y/%m/%d %H:%M:%S.") + f"{rng.randrange(1000):03d}"
        roll = rng.random()
        if roll < 0.70:
            out.append(_line(stamp, rng.choice(["INFO", "INFO", "DEBUG"]), f"region {rng.randrange(999)} changed"))
        elif roll < 0.78:
            out.append(_line(stamp, rng.choice(["WARN", "ERROR", "FATAL"]), f"store {rng.randrange(9)} down", "error=EOF"))
        elif roll < 0.81:
            out.append(_line(stamp, "INFO", "config dump") + "    log-level: [ERROR] is not used\n\tat [WARN] too\n")
        elif roll < 0.84:
            out.append("panic: runtime error: index out of range\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:12 +0x1d\n")
        elif roll < 0.87:
            out.append(f"2021-07-08T{t:%H:%M:%S}.123456789Z " + _line(stamp, rng.choice(["INFO", "ERROR"]), "kubectl prefixed"))
        elif roll < 0.89:
            out.append(f"E{t:%m%d %H:%M:%S}.000001       1 a.go:9] klog error {rng.randrange(99)}\n")
        elif roll < 0.91:
            out.append(f'{{"level":"warn","ts":{t.replace(tzinfo=SHANGHAI).timestamp()},"msg":"json warn"}}\n')
        elif roll < 0.92:
            out.append(_line(stamp, "ERROR", "wide " + "y" * rng.choice([100, MAX_LINE + 10])))
        elif roll < 0.93:
            out.append('{"level":"error","ts":1625700000,"msg":"glued a"}{"level":"info","ts":1625700001,"msg":"glued b"}\n')
        elif roll < 0.95:
            out.append(f"[{stamp} +08:00] [ERROR] [x.go:1] [\"crlf and \\u00e9\"]\r\n")
        else:
            out.append("plain continuation line with ERROR inside\n")
    return "".join(out).encode() + b"\xff\xfe tail without newline"


def _same(fast, simple) -> None:
    """The fast digest of one input equals the simple path's tally of it, field by field."""
    (stats,) = fast.inputs
    assert (stats.lines, stats.records, stats.formats, stats.truncated_lines) == (
        simple.stats.lines, simple.stats.records, simple.stats.formats, simple.stats.truncated_lines,
    )
    assert fast.counts == simple.counts and fast.outside_window == simple.outside
    assert fast.error_times == sorted(simple.error_times)
    want = {k: (g.count, g.first, g.last, g.sample, sorted(g.sources)) for k, g in simple.book.groups.items()}
    got = {s.key: (s.count, s.first_seen and s.first_seen.timestamp(), s.last_seen and s.last_seen.timestamp(), s.sample, s.sources)
           for s in fast.signatures}
    assert got == want


def test_fast_path_agrees_with_simple_path_on_every_sample(samples: Path, engine: str) -> None:
    folders = ("01*", "02*", "03*", "07*")
    files = [p for f in folders for p in samples.glob(f"{f}/**/*") if p.is_file() and p.name != "SOURCES.txt"]
    assert len(files) > 60
    since, until = dt.datetime(2000, 1, 1, tzinfo=UTC), dt.datetime(2030, 1, 1, tzinfo=UTC)
    for path in files:
        fast = digest_logs([str(path)], since=since, until=until, tz=UTC, night=NIGHT, workers=1)
        (simple,) = digest_simple([str(path)], since=since, until=until, tz=UTC, night=NIGHT)
        _same(fast, simple)


@pytest.mark.parametrize("block", [4096, 65536, 1 << 20])
def test_fast_path_agrees_on_a_generated_mixed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, engine: str) -> None:
    log = tmp_path / "mixed.log"
    log.write_bytes(_mixed_log(random.Random(block), 6000))
    monkeypatch.setattr(digest, "BLOCK", block)  # small blocks put block edges inside multi-line records
    fast = _digest([str(log)], workers=1)
    (simple,) = digest_simple([str(log)], since=SINCE, until=UNTIL, tz=SHANGHAI, night=NIGHT)
    _same(fast, simple)
    assert fast.counts["error"] > 100 and fast.outside_window > 0 and fast.inputs[0].truncated_lines > 0


_INFO = _line("2021/07/08 07:00:00.002", "INFO", "i")
_EDGE_CASES = {
    "info head without its newline at the end": _line("2021/07/08 07:00:00.001", "ERROR", "e") + _INFO.rstrip("\n"),
    "only an info head without its newline": _INFO.rstrip("\n"),
    "error head without its newline after infos": _INFO * 3 + _line("2021/07/08 07:00:00.003", "WARN", "w").rstrip("\n"),
    "continuations first, blank lines, a level with nothing after it": "\n\ngoroutine 1 [running]:\n"
    + _line("2021/07/08 07:00:00.001", "ERROR", "e") + "\n\tat x.go:1\n[2021/07/08 07:00:00.002 +08:00] [INFO]\nafter a bare head\n"
    + _line("2021/07/08 07:00:00.003", "INFO", "i") * 2 + "panic: boom\n\n" + _line("2021/07/08 07:00:00.004", "INFO", "i") * 4,
    "the year turns inside a block": _line("2020/12/31 23:59:59.999", "INFO", "old") * 3
    + _line("2021/01/01 00:00:00.000", "INFO", "new") * 3
    + _line("2021/01/01 00:00:00.001", "ERROR", "e"),
    "damaged stamps": "[2021/07/08 07:0x:00.001 +08:00] [INFO] [x.go:1] [\"letter in stamp\"]\n"
    + _line("2021/07/08 07:00:00.001", "FATAL", "f") + "[2021/07/08 07::0:00-001 +08:00] [INFO] [x.go:1] [\"odd but loose\"]\n"
    + _line("2021/07/08 07:00:00.002", "INFO", "i"),
    # A stamp of the loose shape but no real time (month 13): a panic below takes the last *usable* time.
    "a run of skipped heads ends on an invalid stamp": _line("2021/07/08 07:00:00.001", "ERROR", "e")
    + _line("2021/07/08 07:30:00.000", "INFO", "i") * 2 + "[2021/13/08 07:31:00.000 +08:00] [INFO] [x.go:1] [\"bad month\"]\n"
    + "panic: boom\n\tat x.go:1\n" + _line("2021/07/08 07:40:00.000", "INFO", "i")
    + "[2021/13/08 07:41:00.000 +08:00] [DEBUG] [x.go:1] [\"bad month\"]\n" + "panic: again\n",
    "kubectl timestamps before unified heads": "".join(
        f"2021-07-08T07:00:0{i}.{i}Z " + _line(f"2021/07/08 07:00:0{i}.000", level, f"k {i}")
        for i, level in enumerate(["INFO", "INFO", "ERROR", "DEBUG", "INFO", "WARN", "INFO"])
    )
    + "2021-07-08T07:00:09+0800 " + _line("2021/07/08 07:00:09.000", "INFO", "zone without colon")
    + "panic: after kubectl\n",
    "klog heads": "I0708 07:00:00.000001       1 a.go:1] i\nE0708 07:00:01.000001       1 a.go:2] e\n"
    + "I0708 07:00:02.000001\t1 a.go:3] tab\nI0708 07:00:03.000001       1 a.go:4]\n\tat frame\n"
    + "I1308 07:00:04.000001       1 a.go:5] month 13\npanic: in klog\n",
}


@pytest.mark.parametrize("block", [64, 150, 4096])
@pytest.mark.parametrize("case", sorted(_EDGE_CASES))
def test_fast_path_agrees_at_line_and_block_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, block: int, engine: str
) -> None:
    log = tmp_path / "edge.log"
    log.write_text(_EDGE_CASES[case])
    monkeypatch.setattr(digest, "BLOCK", block)
    fast = _digest([str(log)], workers=1)
    (simple,) = digest_simple([str(log)], since=SINCE, until=UNTIL, tz=SHANGHAI, night=NIGHT)
    _same(fast, simple)
    assert fast.inputs[0].records == simple.stats.records > 0


@pytest.mark.parametrize("block", [4096, 65536])
def test_runs_of_empty_lines_agree_with_the_simple_path_and_take_no_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, engine: str
) -> None:
    """Empty lines inside a record (more than it keeps), between records, around INFO heads and at the ends."""
    rng = random.Random(block)
    parts = ["\n" * 3]
    for i in range(400):
        level = rng.choice(["ERROR", "INFO", "WARN", "FATAL"])
        parts.append(_line(f"2021/07/08 07:{i // 60:02d}:{i % 60:02d}.000", level, f"m {i % 7}"))
        parts.append(rng.choice(["\n", "\r\n", " \t\n", "\t\r\n"]) * rng.choice([0, 1, 2, 199, 200, 201, 1000]))
        if rng.random() < 0.3:
            parts.append("goroutine 1 [running]:\n\n  main.go:1\n \n\tstack.go:2\n  \r\n")
    log = tmp_path / "blank.log"
    log.write_text("".join(parts) + "\n" * 5 + "tail")
    monkeypatch.setattr(digest, "BLOCK", block)
    fast = _digest([str(log)], workers=1)
    (simple,) = digest_simple([str(log)], since=SINCE, until=UNTIL, tz=SHANGHAI, night=NIGHT)
    _same(fast, simple)
    assert fast.counts["error"] > 50 and any("entry cut" in s.sample for s in fast.signatures)
    monkeypatch.setattr(digest, "PARALLEL_MIN", 0)
    _same(_digest([str(log)], workers=2), simple)  # the second worker's clock is read back across blank lines
    # 32 MiB of blank lines, half of them CRLF: a few steps per block, not a parse per line (it took minutes).
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"\n" * (16 << 20) + b"\r\n" * (8 << 20))
    monkeypatch.setattr(digest, "BLOCK", 16 << 20)
    lines_parsed = []
    parsed = Assembler.parsed
    monkeypatch.setattr(Assembler, "parsed", lambda self, raw: lines_parsed.append(raw) or parsed(self, raw))
    monkeypatch.setattr(digest, "PARALLEL_MIN", 1 << 40)
    assert _digest([str(empty)], workers=1).inputs[0].lines == 24 << 20
    assert len(lines_parsed) < 10


def test_two_workers_agree_with_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    log = tmp_path / "split.log"
    log.write_bytes(_mixed_log(random.Random(3), 4000))
    monkeypatch.setattr(digest, "PARALLEL_MIN", 0)
    monkeypatch.setattr(digest, "BLOCK", 8192)
    split = _digest([str(log)], workers=2)
    (simple,) = digest_simple([str(log)], since=SINCE, until=UNTIL, tz=SHANGHAI, night=NIGHT)
    _same(split, simple)


def test_cut_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    text = "".join(_line(f"2021/07/08 10:00:{i:02d}.000", "ERROR", f"n {i}") for i in range(50)) * 40
    whole = gzip.compress(text.encode())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    d = _digest([str(cut)])
    (stats,) = d.inputs
    assert 0 < d.counts["error"] < 2000 and stats.lines > 0
    assert len(stats.problems) == 1 and "reading stopped after" in stats.problems[0]


def test_folder_names_inputs_by_their_path_inside_it(tmp_path: Path) -> None:
    out = tmp_path / "collected"
    (out / "tidb-0").mkdir(parents=True)
    (out / "tidb-0" / "tidb.log").write_text(_line("2021/07/08 10:00:00.000", "ERROR", "x"))
    (out / "manifest.json").write_text('{"level":"error","msg":"not a log"}\n')
    d = _digest([str(out)])
    assert [i.path for i in d.inputs] == ["tidb-0/tidb.log"]
    assert d.signatures[0].sources == ["tidb-0/tidb.log"]


def test_many_inputs_shared_between_workers_give_the_same_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        (tmp_path / f"pod-{i}.log").write_bytes(_mixed_log(random.Random(10 + i), 1500))
    with gzip.open(tmp_path / "pod-3.log.gz", "wb") as fh:
        fh.write(_mixed_log(random.Random(13), 1500))
    one = _digest([str(tmp_path)], workers=1)
    monkeypatch.setattr(digest, "PARALLEL_MIN", 0)
    two = _digest([str(tmp_path)], workers=2)
    assert [i.path for i in two.inputs] == ["pod-0.log", "pod-1.log", "pod-2.log", "pod-3.log.gz"]
    assert two.inputs == one.inputs and two.counts == one.counts and two.error_times == one.error_times
    assert two.signatures == one.signatures and two.outside_window == one.outside_window


def test_fast_path_agrees_on_a_klog_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    rng = random.Random(5)
    lines = []
    for i in range(4000):
        t = dt.datetime(2021, 7, 8, 22, 0) + dt.timedelta(seconds=i * 7)
        code = rng.choices("IIIIIIIIWE", k=1)[0]
        lines.append(f"{code}{t:%m%d %H:%M:%S}.{i:06d}    1304 kubelet.go:{i % 900}] pod {rng.randrange(50)} synced\n")
        if rng.random() < 0.02:
            lines.append("goroutine 1 [running]:\nmain.main()\n\t/src/main.go:12 +0x1d\n")
        if rng.random() < 0.01:
            lines.append("I0708 bad klog line without the rest\n")
    log = tmp_path / "kubelet.log"
    log.write_text("".join(lines))
    monkeypatch.setattr(digest, "BLOCK", 16384)
    fast = _digest([str(log)], workers=1)
    (simple,) = digest_simple([str(log)], since=SINCE, until=UNTIL, tz=SHANGHAI, night=NIGHT)
    _same(fast, simple)
    assert fast.inputs[0].formats["klog"] >= 4000 and fast.counts["error"] > 100


def test_error_words_under_an_info_record_are_not_counted(tmp_path: Path) -> None:
    log = tmp_path / "info.log"
    log.write_text(
        _line("2021/07/08 10:00:00.000", "INFO", "Welcome to TiKV")
        + "    last run ended with [ERROR] store 4 unreachable\n"
        + '\tlog-level = "ERROR" [WARN] [FATAL]\n'
        + _line("2021/07/08 10:00:01.000", "WARN", "real warning")
    )
    d = _digest([str(log)])
    assert d.counts == {"fatal": 0, "error": 0, "warn": 1}
    assert d.inputs[0].records == 2
    first = next(iter_records([str(log)], tz=SHANGHAI, night=NIGHT))
    assert first.level == "info" and first.text.count("\n") == 2


def test_signature_key_is_pinned() -> None:
    # The next night compares keys read from this night's summary.json, possibly written by an older
    # sitegen on another machine: changing how keys are made would mark every signature NEW once.
    from sitegen.nightly.logs.signatures import signature_key

    assert signature_key("error", "send keepalive message fail error=EOF") == "1c77ca589488"


def test_parallel_reading_with_threads_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    for i in range(2):
        (tmp_path / f"pod-{i}.log").write_bytes(_mixed_log(random.Random(20 + i), 800))
    one = _digest([str(tmp_path)], workers=1)
    monkeypatch.setattr(digest, "PARALLEL_MIN", 0)
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait)
    waiter.start()  # as in `sitegen serve`: with a thread running, the workers come from a fork server
    try:
        two = _digest([str(tmp_path)], workers=2)
    finally:
        stop.set()
        waiter.join()
    assert two.inputs == one.inputs and two.signatures == one.signatures


def test_distinct_patterns_are_capped_so_memory_stays_flat(tmp_path: Path) -> None:
    from sitegen.nightly.logs.signatures import MAX_GROUPS, OTHER

    rng = random.Random(1)
    words = {"".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=12)) for _ in range(MAX_GROUPS + 300)}
    log = tmp_path / "many.log"
    log.write_text("".join(_line("2021/07/08 10:00:00.000", "ERROR", f"unique {w}") for w in sorted(words)))
    d = _digest([str(log)], workers=1)
    assert d.counts["error"] == len(words)
    assert len(d.signatures) == MAX_GROUPS + 1
    other = next(s for s in d.signatures if s.pattern == OTHER)
    assert other.count == len(words) - MAX_GROUPS and d.signatures[0] is other


def test_a_panic_after_skipped_heads_takes_the_last_usable_time(tmp_path: Path) -> None:
    log = tmp_path / "clock.log"
    log.write_text(_EDGE_CASES["a run of skipped heads ends on an invalid stamp"])
    d = _digest([str(log)], workers=1)
    times = {s.pattern: s.first_seen for s in d.signatures}
    assert times["panic: boom"] == dt.datetime(2021, 7, 8, 7, 30, tzinfo=SHANGHAI)
    assert times["panic: again"] == dt.datetime(2021, 7, 8, 7, 40, tzinfo=SHANGHAI)


def test_without_re2_the_reader_falls_back_to_re(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(skips, "_re2", None)  # as when `import re2` fails
    skips.use_re2(True)
    try:
        assert skips.engine() == "re"
        log = tmp_path / "mixed.log"
        log.write_bytes(_mixed_log(random.Random(11), 2000))
        fast = _digest([str(log)], workers=1)
    finally:
        monkeypatch.undo()
        skips.use_re2(True)
    (simple,) = digest_simple([str(log)], since=SINCE, until=UNTIL, tz=SHANGHAI, night=NIGHT)
    _same(fast, simple)


def test_fast_path_agrees_on_the_benchmark_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """A small piece of the generated GB the benchmark reads (bench/gen_biglog.py), in two workers."""
    monkeypatch.syspath_prepend(str(BENCH))
    import gen_biglog

    log = tmp_path / "big.log"
    gen_biglog.generate(log, 3 << 20)
    monkeypatch.setattr(digest, "PARALLEL_MIN", 0)
    monkeypatch.setattr(digest, "BLOCK", 256 << 10)
    fast = digest_logs([str(log)], since=SINCE, until=UNTIL, tz=SHANGHAI, night=NIGHT, workers=2)
    (simple,) = digest_simple([str(log)], since=SINCE, until=UNTIL, tz=SHANGHAI, night=NIGHT)
    _same(fast, simple)
    assert fast.counts["fatal"] > 0 and fast.inputs[0].records < fast.inputs[0].lines
