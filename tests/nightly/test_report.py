"""`sitegen report` end to end through the real CLI entry point: inputs in, one PDF out, exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from sitegen.cli import main
from sitegen.model import Summary
from tests.nightly.pixels import pdf_text

UTC = dt.UTC
T0 = dt.datetime(2021, 7, 8, 6, 0, tzinfo=UTC)  # start of night 2021-07-09
DIPS_H = (2, 8, 14, 20)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y/%m/%d %H:%M:%S.000 +00:00")


def write_log(path: Path, entries: list[tuple[dt.datetime, str, str]], extra: str = "") -> Path:
    """A TiDB unified-format log from (time, LEVEL, message) entries."""
    lines = [f'[{_stamp(t)}] [{level}] [main.go:1] ["{msg}"]' for t, level, msg in entries]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture
def night(tmp_path: Path) -> dict[str, Path]:
    """A night's logs (errors every 10 min, a CJK message, a panic), a QPS CSV that dips at 4 injections, and their windows."""
    entries = []
    for i in range(0, 86400, 600):
        t = T0 + dt.timedelta(seconds=i)
        entries.append((t, "ERROR", f"region 调度失败: 副本不足 region_id={i}"))
        entries.append((t, "WARN", f"store {i % 5} is disconnected"))
    entries.append((T0 + dt.timedelta(hours=6), "FATAL", "panic: runtime error: index out of range"))
    logs = write_log(tmp_path / "tidb.log", entries, extra="goroutine 1 [running]:\nmain.main()\n")
    qps = tmp_path / "qps.csv"
    rows = ["timestamp,qps"]
    for i in range(0, 86400, 10):
        t = T0.timestamp() + i
        value = 1000.0
        for h in DIPS_H:
            start = T0.timestamp() + h * 3600
            if start <= t < start + 300:
                value = 80.0
            elif start + 300 <= t < start + 400:
                value = 80 + 920 * (t - start - 300) / 100
        rows.append(f"{int(t)},{value}")
    qps.write_text("\n".join(rows) + "\n")
    chaos = tmp_path / "chaos.csv"
    spans = [(T0 + dt.timedelta(hours=h), T0 + dt.timedelta(hours=h, minutes=5)) for h in DIPS_H]
    chaos.write_text("start,end\n" + "".join(f"{a.isoformat()},{b.isoformat()}\n" for a, b in spans))
    return {"logs": logs, "metrics": qps, "chaos": chaos, "reports": tmp_path / "reports"}


def run(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def summary_of(pdf: Path) -> dict:
    obj = json.loads(PdfReader(str(pdf)).attachments["summary.json"][0])
    Summary.from_json_obj(obj)
    return obj


def test_a_full_night_writes_the_pdf_and_prints_its_path_last(capsys, night):
    code, out, _ = run(
        capsys, "--night", "2021-07-09", "--logs", night["logs"], "--metrics", night["metrics"], "--chaos", night["chaos"],
        "--suite", "cluster-a", "--reports", night["reports"],
    )
    assert code == 0
    pdf = Path(out[-1])
    assert pdf == (night["reports"] / "cluster-a" / "report-2021-07-09-bad.pdf").resolve()
    assert [p.name for p in pdf.parent.iterdir()] == [pdf.name]  # no temp file left behind
    text = " ".join(pdf_text(pdf).split())
    assert "fatal > 0 1 FIRED" in text and "errors > 100 144 FIRED" in text
    assert "region 调度失败: 副本不足" in text
    assert "4 injection(s); worst time to recover" in text
    obj = summary_of(pdf)
    assert obj["status"] == "bad" and obj["suite"] == "cluster-a" and obj["date"] == "2021-07-09"
    assert obj["metrics"]["errors"] == 144 and obj["metrics"]["fatal"] == 1 and obj["metrics"]["injections"] == 4
    assert obj["metrics"]["max_drop_pct"] == pytest.approx(92.0)
    assert obj["headline"] == out[0]
    assert {r["rule"] for r in obj["rules_fired"]} >= {"fatal > 0", "errors > 100"}


def test_only_the_night_gives_a_report_saying_what_was_missing(capsys, tmp_path):
    code, out, _ = run(capsys, "--night", "2021-07-09", "--reports", tmp_path / "reports")
    assert code == 0
    pdf = Path(out[-1])
    assert pdf.name == "report-2021-07-09-good.pdf"
    text = " ".join(pdf_text(pdf).split())
    assert "no logs given" in text and "no metrics given" in text
    assert "note: no logs given" in out and "note: no metrics given" in out


def test_an_invalid_rule_is_exit_2_before_any_work(capsys, night, tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n  - fatal > 0\n  - errors >> 100\n  - eror > 1\n")
    code, out, err = run(
        capsys, "--night", "2021-07-09", "--logs", night["logs"], "--reports", night["reports"], "--rules", rules
    )
    assert code == 2
    assert out == []
    assert "rules[1]" in err and "'errors >> 100' is not 'metric OP number'" in err
    assert "unknown metric 'eror'" in err
    assert not night["reports"].exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--night", "2021-02-30"], "--night '2021-02-30': expected a date as YYYY-MM-DD"),
        (["--night", "2021-07-09", "--prometheus", "http://127.0.0.1:9"], "--prometheus and --query go together"),
        (["--night", "2021-07-09", "--metrics", "missing.csv"], "--metrics missing.csv: no such file"),
        (["--night", "2021-07-09", "--since", "2021-07-09T07:00", "--until", "2021-07-09T06:00"], "the time window is empty"),
        (["--night", "2021-07-09", "--suite", "../escape"], "a suite is one folder name"),
    ],
)
def test_unusable_arguments_exit_2_with_nothing_written(capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *args, "--reports", tmp_path / "reports")
    assert code == 2
    assert message in err
    assert out == [] and not (tmp_path / "reports").exists()


def test_a_bad_config_is_exit_2(capsys, tmp_path):
    config = tmp_path / "sitegen.yml"
    config.write_text("report:\n  timezone: Mars/Olympus\n  night_ends_at: '25:00'\n")
    code, _, err = run(capsys, "--night", "2021-07-09", "--config", config)
    assert code == 2
    assert "config key 'report.timezone'" in err and "config key 'report.night_ends_at'" in err


def test_rerunning_a_night_replaces_its_report_even_with_the_other_status(capsys, night, tmp_path):
    base = ["--night", "2021-07-09", "--logs", night["logs"], "--reports", night["reports"]]
    code, out, _ = run(capsys, *base)
    assert code == 0 and Path(out[-1]).name == "report-2021-07-09-bad.pdf"
    first = Path(out[-1]).read_bytes()
    # The same night again: same bytes (creation date is the night), and it says what it replaced.
    code, out, _ = run(capsys, *base)
    assert Path(out[-1]).read_bytes() == first
    assert "replaced the earlier report-2021-07-09-bad.pdf" in out
    lenient = tmp_path / "lenient.yml"
    lenient.write_text("rules: ['fatal > 5']\n")
    code, out, _ = run(capsys, *base, "--rules", lenient)
    assert code == 0
    assert sorted(p.name for p in night["reports"].iterdir()) == ["report-2021-07-09-good.pdf"]
    assert f"replaced {(night['reports'] / 'report-2021-07-09-bad.pdf').resolve()}" in out
    assert Path(out[-1]).name == "report-2021-07-09-good.pdf"


def test_signatures_not_seen_the_previous_night_are_new(capsys, tmp_path):
    reports = tmp_path / "reports"
    old = T0 - dt.timedelta(hours=12)  # inside night 2021-07-08
    write_log(tmp_path / "d1.log", [(old, "ERROR", "txn 42 conflict on key 7"), (old, "ERROR", "region 5 not leader")])
    code, _, _ = run(capsys, "--night", "2021-07-08", "--logs", tmp_path / "d1.log", "--reports", reports, "--suite", "s")
    assert code == 0
    new = T0 + dt.timedelta(hours=3)
    write_log(
        tmp_path / "d2.log",
        [
            (new, "ERROR", "txn 43 conflict on key 9"),
            (new, "ERROR", "raft 预写日志损坏 at index 99"),
            (new, "ERROR", "region 8 not leader"),
        ],
    )
    code, out, _ = run(capsys, "--night", "2021-07-09", "--logs", tmp_path / "d2.log", "--reports", reports, "--suite", "s")
    assert code == 0
    pdf = Path(out[-1])
    obj = summary_of(pdf)
    flags = {s["pattern"]: s["new"] for s in obj["signatures"]}
    assert sum(flags.values()) == 1
    assert next(p for p, is_new in flags.items() if is_new).startswith("raft 预写日志损坏")
    assert obj["metrics"]["new_signatures"] == 1
    rows = [line for line in pdf_text(pdf).splitlines() if "NEW" in line]
    assert rows, "the NEW mark is missing from the PDF"
    assert any("raft 预写日志损坏" in line for line in rows)


def test_the_night_window_decides_which_entries_count(capsys, tmp_path):
    entries = [
        (T0 - dt.timedelta(seconds=1), "ERROR", "too early"),
        (T0, "ERROR", "first inside"),
        (T0 + dt.timedelta(hours=23, minutes=59, seconds=59), "ERROR", "last inside"),
        (T0 + dt.timedelta(hours=24, seconds=1), "ERROR", "too late"),
    ]
    write_log(tmp_path / "edge.log", entries)
    code, out, _ = run(capsys, "--night", "2021-07-09", "--logs", tmp_path / "edge.log", "--reports", tmp_path / "r")
    assert code == 0
    obj = summary_of(Path(out[-1]))
    assert obj["metrics"]["errors"] == 2
    assert sorted(s["pattern"] for s in obj["signatures"]) == ["first inside", "last inside"]
    # --since/--until move the window: now only the early entry counts.
    code, out, _ = run(
        capsys, "--night", "2021-07-09", "--logs", tmp_path / "edge.log", "--reports", tmp_path / "r",
        "--since", "2021-07-08T05:00:00Z", "--until", "2021-07-08T06:00:00+00:00",
    )
    obj = summary_of(Path(out[-1]))
    assert [s["pattern"] for s in obj["signatures"]] == ["too early"]


def test_an_unreachable_prometheus_still_gives_the_night_its_report(capsys, night):
    import socket

    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, _ = run(
        capsys, "--night", "2021-07-09", "--logs", night["logs"], "--reports", night["reports"],
        "--prometheus", f"http://127.0.0.1:{port}", "--query", "sum(rate(tidb_server_query_total[1m]))",
    )
    assert code == 0
    assert any(line.startswith("note: metrics unavailable: cannot reach Prometheus") for line in out)
    text = " ".join(pdf_text(Path(out[-1])).split())
    assert "metrics unavailable: cannot reach Prometheus" in text
    assert summary_of(Path(out[-1]))["status"] == "bad"  # the log rules still judged the night


@pytest.mark.parametrize(
    ("start", "end"),
    [("01:00:00", "01:00:20"), ("01:00:20", "01:00:50"), ("01:00:30", "01:01:00")],
    ids=["ends-on-a-gap", "starts-on-a-gap", "starts-on-an-empty-cell"],
)
def test_a_chaos_window_meeting_a_gap_in_the_metric_still_gives_the_report(capsys, tmp_path, start, end):
    """qps_iso.csv has a NaN, an empty cell and +Inf: a window starting or ending on such a point is charted."""
    windows = tmp_path / "w.csv"
    windows.write_text(f"start,end,name,kind\n2021-07-09T{start}+08:00,2021-07-09T{end}+08:00,kill,PodChaos\n")
    metrics = Path(__file__).resolve().parents[1] / "data" / "metrics" / "qps_iso.csv"
    code, out, err = run(capsys, "--night", "2021-07-09", "--metrics", metrics, "--chaos", windows, "--reports", tmp_path / "r")
    assert code == 0, err
    assert "internal error" not in err
    pdf = Path(out[-1])
    assert pdf.is_file() and pdf.name.startswith("report-2021-07-09-")
    assert summary_of(pdf)["injections"][0]["start"] == f"2021-07-09T{start}+08:00"


def test_injections_with_no_data_before_them_read_not_measured_not_not_recovered(capsys, tmp_path):
    """A 30 s sysbench run before nine windows: nothing to measure them against, so none "did not recover"."""
    data = Path(__file__).resolve().parents[1] / "data"
    code, out, err = run(
        capsys, "--night", "2021-07-09", "--metrics", data / "metrics" / "sysbench_1.1_with_start_header.log",
        "--chaos", data / "chaos" / "schedules_multi.yaml", "--reports", tmp_path / "r",
    )
    assert code == 0, err
    pdf = Path(out[-1])
    text = " ".join(pdf_text(pdf).split())
    assert "no injection could be measured" in text
    assert text.count("n/a") >= 9 + 4  # each row of the injections table, and the four rules, which had no data
    assert "not recovered" not in text  # the tile's title is "Not recovered"; no row or dot says it
    assert "No injection had data before it to measure against" in text
    assert summary_of(pdf)["metrics"]["unrecovered"] == 0


def test_logs_that_all_lie_outside_the_night_do_not_read_as_a_clean_night(capsys, tmp_path):
    """A FATAL and an ERROR a month after the night: the report says they were left out, not just "no errors"."""
    later = T0 + dt.timedelta(days=31)
    write_log(tmp_path / "august.log", [(later, "FATAL", "panic: boom"), (later, "ERROR", "region unavailable")])
    code, out, err = run(capsys, "--night", "2021-07-09", "--logs", tmp_path / "august.log", "--reports", tmp_path / "r")
    assert code == 0, err
    obj = summary_of(Path(out[-1]))
    assert obj["metrics"]["errors"] == 0 and obj["metrics"]["fatal"] == 0
    assert "no errors logged in the night's window" in obj["headline"].lower()
    assert any("all 2 warn/error entries of the logs lie outside the night's window" in n for n in obj["notes"])
    text = " ".join(pdf_text(Path(out[-1])).split())
    assert "all 2 warn/error entries of the logs lie outside the night's window and were left out" in text
