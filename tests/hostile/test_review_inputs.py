"""The hostile-input review of 2026-12-07: each reproduction as it was reported, and what it must do now.

Links that lead back to themselves, log files that look like log-store exports, broken compressed logs, globs
through links to parent folders. Through the real CLI entry point, in process.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from pypdf import PdfReader

from sitegen.cli import main
from sitegen.errors import ExitCode
from tests.hostile.corpus import put

HEAD = "[2021/07/09 01:00:00.000 +00:00] "  # inside night 2021-07-09 (UTC)


def report(capsys, tmp_path: Path, *logs: str) -> tuple[int, dict, str]:
    """`sitegen report` of night 2021-07-09 over `logs`: exit code, summary.json, stderr."""
    code = main(["report", "--night", "2021-07-09", "--reports", str(tmp_path / "out"), "--logs", *logs])
    out, err = capsys.readouterr()
    summary = {}
    if code == 0:
        summary = json.loads(PdfReader(out.splitlines()[-1]).attachments["summary.json"][0])
    return code, summary, err


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_a_link_to_itself_in_the_reports_folder_is_a_warning_and_the_other_nights_are_built(tmp_path, capsys):
    put(tmp_path, "report-2021-07-09-good.pdf")
    os.symlink("loop", tmp_path / "reports" / "loop")
    os.symlink("report-b.pdf", tmp_path / "reports" / "report-2021-07-10-bad.pdf")
    os.symlink("report-2021-07-10-bad.pdf", tmp_path / "reports" / "report-b.pdf")
    code = main(["build", "--reports", str(tmp_path / "reports"), "--output", str(tmp_path / "public")])
    err = capsys.readouterr().err
    assert code == ExitCode.OK, err  # was: internal error: RuntimeError: Symlink loop from ...
    assert "report-2021-07-10-bad.pdf: symlink loop (the link leads back to itself), skipped" in err
    shown = [e["source"] for e in json.loads((tmp_path / "public" / "reports.json").read_text())["reports"]]
    assert shown == ["report-2021-07-09-good.pdf"]


def test_a_reports_folder_that_is_a_loop_of_links_is_an_io_error_not_a_bug(tmp_path, capsys):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    code = main(["build", "--reports", str(tmp_path / "a"), "--output", str(tmp_path / "public")])
    err = capsys.readouterr().err
    assert code in (ExitCode.USAGE, ExitCode.IO_ERROR) and "internal error" not in err
    assert "a" in err and ("loop" in err or "does not exist" in err)


def test_links_to_each_other_among_the_logs_do_not_stop_the_night(tmp_path, capsys):
    write(tmp_path / "logs" / "tidb-0" / "tidb.log", f'{HEAD}[FATAL] [main.go:1] ["boom"]\n')
    os.symlink("b.log", tmp_path / "logs" / "tidb-0" / "a.log")
    os.symlink("a.log", tmp_path / "logs" / "tidb-0" / "b.log")
    code, summary, err = report(capsys, tmp_path, str(tmp_path / "logs"))
    assert code == 0, err  # was: internal error: RuntimeError: Symlink loop from ...
    assert summary["metrics"]["fatal"] == 1


def test_a_json_log_whose_first_entry_has_a_hits_field_is_read_not_dropped(tmp_path, capsys):
    """Taken for an Elasticsearch response, its every line vanished and the night turned good."""
    log = write(
        tmp_path / "logs" / "p" / "app.log",
        '{"level":"fatal","ts":1625792400,"msg":"y","hits":{"l1":5}}\n{"level":"fatal","ts":1625792400,"msg":"z"}\n',
    )
    code, summary, err = report(capsys, tmp_path, str(log))
    assert code == 0, err
    assert summary["metrics"]["fatal"] == 2 and summary["status"] == "bad"


def test_a_unified_log_line_quoting_source_is_a_log_not_a_broken_export(tmp_path, capsys):
    log = write(tmp_path / "logs" / "tidb-0" / "tidb.log", f'{HEAD}[ERROR] [es.go:1] [query] [q=[{{"_source":1}}]]\n')
    code, summary, err = report(capsys, tmp_path, str(log))
    assert code == 0, err  # was: exit 2, "not a readable Elasticsearch export"
    assert summary["metrics"]["errors"] == 1


def test_a_first_line_nested_deeper_than_json_goes_is_a_plain_line(tmp_path, capsys):
    deep = write(tmp_path / "logs" / "p" / "deep.log", '{"a":' + "[" * 30_000 + "\n" + f'{HEAD}[ERROR] [a.go:1] ["after"]\n')
    code, summary, err = report(capsys, tmp_path, str(deep))
    assert code == 0, err  # was: internal error: RecursionError
    assert summary["metrics"]["errors"] == 1


def test_a_corrupt_gzip_log_is_a_problem_of_that_input_and_the_others_count(tmp_path, capsys):
    data = gzip.compress(f'{HEAD}[ERROR] [a.go:1] ["x"]\n'.encode() * 1000)
    write(tmp_path / "logs" / "p" / "x.log.gz", data[:20] + b"\xff" * 50 + data[70:])
    write(tmp_path / "logs" / "q" / "y.log", f'{HEAD}[FATAL] [b.go:1] ["kept"]\n')
    code, summary, err = report(capsys, tmp_path, str(tmp_path / "logs"))
    assert code == 0, err  # was: internal error: error: Error -3 while decompressing data
    assert summary["metrics"]["fatal"] == 1
    assert "p/x.log.gz" in err and "decompressing" in err


def test_a_recursive_glob_does_not_enter_links_to_parent_folders(tmp_path, capsys, monkeypatch):
    """Two links to `..` made `logs/**/*.log` run for minutes (glob.glob follows links)."""
    write(tmp_path / "logs" / "p" / "a.log", f'{HEAD}[ERROR] [a.go:1] ["once"]\n')
    write(tmp_path / "logs" / ".hidden.log", f'{HEAD}[ERROR] [a.go:1] ["hidden"]\n')
    os.symlink("..", tmp_path / "logs" / "p" / "up")
    os.symlink("..", tmp_path / "logs" / "p" / "up2")
    monkeypatch.chdir(tmp_path)
    code, summary, err = report(capsys, tmp_path, "logs/**/*.log")
    assert code == 0, err
    assert summary["metrics"]["errors"] == 1  # the one file, once; hidden names are left out as the shell does


def test_a_device_given_as_a_log_is_named_for_what_it_is(tmp_path, capsys):
    code = main(["report", "--night", "2021-07-09", "--reports", str(tmp_path / "out"), "--logs", "/dev/zero"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "/dev/zero: not a regular file or folder" in err  # was: "no such file or folder"


def test_control_characters_in_metric_columns_log_folders_and_chaos_names_never_reach_the_pdf_or_summary(tmp_path, capsys):
    unsafe = "\x1b]0;PWN\x07\u202e\x7f\x85"
    metrics = write(tmp_path / "m.csv", "".join(
        [f"timestamp,qps{unsafe}\n"] + [f"2021-07-09T00:{m:02d}:00Z,{1000 + m}\n" for m in range(30)]
    ))
    chaos = write(tmp_path / "w.csv", f"start,end,name,kind\n2021-07-09T00:10:00Z,2021-07-09T00:11:00Z,kill{unsafe},Pod{unsafe}\n")
    folder = tmp_path / "logs" / f"tikv{unsafe}-0"
    write(folder / "a.log", f'{HEAD}[ERROR] [a.go:1] ["x"]\n')
    os.mkfifo(folder / "fifo\x1b[31m.log")
    code = main(["report", "--night", "2021-07-09", "--reports", str(tmp_path / "out"), "--metrics", str(metrics),
                 "--chaos", str(chaos), "--logs", str(tmp_path / "logs")])
    out, err = capsys.readouterr()
    assert code == 0, err  # was: internal error: ParseError (the column name inside the chart's SVG)
    assert "\x1b" not in err and "\x07" not in err  # the FIFO's warning names it escaped: \x1b[31m
    assert "fifo\\x1b[31m.log is not a regular file" in err
    reader = PdfReader(out.splitlines()[-1])
    raw = reader.attachments["summary.json"][0].decode()
    summary = json.loads(raw)
    for text in [raw, *(page.extract_text() for page in reader.pages)]:
        assert not any(c in text for c in "\x1b\x07\u202e\x7f\x85"), repr(text[:200])
    assert summary["signatures"][0]["component"].startswith("tikv\ufffd")
    assert summary["injections"][0]["name"].startswith("kill\ufffd")


def test_a_summary_from_another_tool_cannot_flood_the_site_or_forge_times(tmp_path, capsys):
    from tests.hostile.corpus import SUMMARY, pdf

    flood = {f"m{i}": i for i in range(5_000)} | {"errors": 7, "bad\x1bname": 1}
    signature = {"key": "k", "level": "error", "count": 1, "message": "m",
                 "first_seen": "9999-99-99<script>\x7f", "last_seen": "2021-07-09T01:00:00+00:00"}
    put(tmp_path, "report-2021-07-09-bad.pdf", pdf(summary={**SUMMARY, "metrics": flood, "signatures": [signature]}))
    code = main(["build", "--reports", str(tmp_path / "reports"), "--output", str(tmp_path / "public")])
    assert code == 0, capsys.readouterr().err
    (entry,) = json.loads((tmp_path / "public" / "reports.json").read_text())["reports"]
    assert len(entry["metrics"]) == 64 and entry["metrics"]["errors"] == 7 and "bad\x1bname" not in entry["metrics"]
    assert all(len(name) <= 64 and name.isprintable() for name in entry["metrics"])
    (sig,) = entry["signatures"]
    assert sig.get("first_seen") is None and sig["last_seen"] == "2021-07-09T01:00:00+00:00"


def test_a_status_label_with_control_characters_is_a_config_error(tmp_path, capsys):
    cfg = write(tmp_path / "sitegen.yml", 'statuses:\n  good: {color: "#1a7f37", label: "a\\x01\\e[31mb", needs_look: false}\n'
                "  bad: {color: '#cf222e', label: Bad, needs_look: true}\n")
    assert main(["config", "--check", "--config", str(cfg)]) == ExitCode.USAGE
    assert "status 'good' label must not hold control characters" in capsys.readouterr().err


def test_csv_files_saved_with_a_byte_order_mark_are_read(tmp_path, capsys):
    """Spreadsheets save CSV with a BOM: both were refused as "not a recognised format"."""
    rows = "".join(f"2021-07-09T00:{m:02d}:00Z,{1000 + m}\n" for m in range(30))
    metrics = write(tmp_path / "m.csv", "\ufefftimestamp,qps\n" + rows)
    chaos = write(tmp_path / "w.csv", "\ufeffstart,end\n2021-07-09T00:10:00Z,2021-07-09T00:11:00Z\n")
    code = main(["report", "--night", "2021-07-09", "--reports", str(tmp_path / "out"),
                 "--metrics", str(metrics), "--chaos", str(chaos)])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(PdfReader(out.splitlines()[-1]).attachments["summary.json"][0])
    assert summary["metrics"]["injections"] == 1 and summary["metrics"]["min_qps"] == 1000


def test_a_configured_font_that_is_not_a_font_falls_back_to_the_built_in_fonts(tmp_path, capsys):
    fake = write(tmp_path / "fake.ttf", os.urandom(3000))
    cfg = write(tmp_path / "sitegen.yml", f"reports: out\nreport:\n  latin_font: {fake}\n")
    code = main(["report", "--config", str(cfg), "--night", "2021-07-09"])
    out, err = capsys.readouterr()
    assert code == 0, err  # was: internal error: TTLibError (or ValueError for /etc/passwd)
    assert f"fonts: cannot read {fake}" in err and "built-in Latin-1 fonts" in err
    assert "Nightly chaos report 2021-07-09" in PdfReader(out.splitlines()[-1]).pages[0].extract_text()


def test_a_theme_folder_that_is_a_whole_disk_or_a_crowded_folder_is_refused_by_name(tmp_path, capsys, monkeypatch):
    from sitegen import limits

    (tmp_path / "reports").mkdir()
    crowded = tmp_path / "crowded"
    for i in range(12):
        write(crowded / f"t{i}.html", "x")
    monkeypatch.setattr(limits, "THEME_FILES", 10)
    errors = {}
    for theme in (crowded, Path("/")):
        cfg = write(tmp_path / "sitegen.yml", f"reports: reports\ntheme: {theme}\n")
        code = main(["build", "--config", str(cfg)])
        errors[theme] = err = capsys.readouterr().err
        assert code == ExitCode.USAGE, err  # `theme: /` read the whole disk, then exit 74 on /proc
        assert f"theme folder {theme}" in err and "internal error" not in err
    assert f"theme folder {crowded} holds more than 10 files (limit THEME_FILES)" in errors[crowded]
    assert not (tmp_path / "public").exists()


def test_a_cache_folder_the_scan_would_see_in_the_reports_folder_is_refused(tmp_path, capsys):
    put(tmp_path, "report-2021-07-09-good.pdf")
    for cache in ("reports", "reports/cache"):
        cfg = write(tmp_path / "sitegen.yml", f"reports: reports\ncache_dir: {cache}\n")
        assert main(["build", "--config", str(cfg)]) == ExitCode.USAGE
        err = capsys.readouterr().err
        assert "config key 'cache_dir'" in err and "must be outside the reports folder" in err
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["report-2021-07-09-good.pdf"]
    # A hidden one is skipped by the scan, as it always was: that keeps working, without a warning.
    cfg = write(tmp_path / "sitegen.yml", "reports: reports\ncache_dir: reports/.cache\n")
    assert main(["build", "--config", str(cfg), "--strict"]) == ExitCode.OK, capsys.readouterr().err


def test_a_gzip_log_that_expands_without_bound_is_read_up_to_its_limit_and_says_so(tmp_path, capsys, monkeypatch):
    from sitegen import limits

    monkeypatch.setattr(limits, "LOG_GZIP_FLOOR_BYTES", 1 << 20)
    monkeypatch.setattr(limits, "LOG_GZIP_RATIO", 10)
    lines = f'{HEAD}[ERROR] [a.go:1] ["first"]\n' + f'{HEAD}[INFO] [a.go:1] ["filler"]\n' * 200_000  # 12 MB, gzips 600x
    write(tmp_path / "logs" / "p" / "bomb.log.gz", gzip.compress(lines.encode()))
    code, summary, err = report(capsys, tmp_path, str(tmp_path / "logs"))
    assert code == 0, err
    assert summary["metrics"]["errors"] == 1  # what came before the limit counts
    assert "limit LOG_GZIP_RATIO" in err and "p/bomb.log.gz" in err
