"""Scan stage: which files are reports, their suites, and a warning for everything else."""

from __future__ import annotations

import datetime as dt
import os

from sitegen.site.scan import scan_reports


def touch(path, data=b"%PDF-1.4\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_finds_reports_recursively_with_suites_and_any_case_extension(tmp_path):
    touch(tmp_path / "report-2021-07-09-bad.pdf")
    touch(tmp_path / "cluster-a" / "report-2021-07-10-GOOD.PDF")
    touch(tmp_path / "cluster-b" / "deeper" / "report-2021-07-11-good.Pdf")

    result = scan_reports(tmp_path)

    assert [(f.source, f.suite, f.date, f.status) for f in result.found] == [
        ("cluster-a/report-2021-07-10-GOOD.PDF", "cluster-a", dt.date(2021, 7, 10), "good"),
        ("cluster-b/deeper/report-2021-07-11-good.Pdf", "cluster-b", dt.date(2021, 7, 11), "good"),
        ("report-2021-07-09-bad.pdf", "", dt.date(2021, 7, 9), "bad"),
    ]
    assert result.warnings == []
    first = result.found[0]
    assert first.size == (tmp_path / first.source).stat().st_size
    assert first.mtime_ns == (tmp_path / first.source).stat().st_mtime_ns


def test_other_files_and_impossible_dates_are_listed_in_one_warning(tmp_path):
    touch(tmp_path / "report-2021-07-09-bad.pdf")
    touch(tmp_path / "notes.txt", b"hello")
    touch(tmp_path / "report-2021-02-30-bad.pdf")
    touch(tmp_path / "a" / "summary-2021-07-09.pdf")
    touch(tmp_path / ".gitkeep", b"")  # hidden files are not worth a warning

    result = scan_reports(tmp_path)

    assert [f.source for f in result.found] == ["report-2021-07-09-bad.pdf"]
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert "3 file(s)" in warning
    assert "notes.txt" in warning
    assert "a/summary-2021-07-09.pdf" in warning
    assert "report-2021-02-30-bad.pdf (impossible date)" in warning
    assert ".gitkeep" not in warning


def test_symlink_leading_out_is_not_followed_and_warned(tmp_path):
    reports = tmp_path / "reports"
    outside = touch(tmp_path / "elsewhere" / "report-2021-07-09-bad.pdf")
    touch(tmp_path / "elsewhere" / "x" / "report-2021-07-10-bad.pdf")
    reports.mkdir()
    (reports / "report-2021-07-09-bad.pdf").symlink_to(outside)
    (reports / "linked-suite").symlink_to(tmp_path / "elsewhere" / "x", target_is_directory=True)

    result = scan_reports(reports)

    assert result.found == []
    assert any("report-2021-07-09-bad.pdf" in w and "out of the reports folder" in w for w in result.warnings)
    assert any("linked-suite" in w and "outside the reports folder" in w for w in result.warnings)


def test_symlink_to_a_file_inside_the_folder_is_a_report(tmp_path):
    real = touch(tmp_path / "archive" / "report-2021-07-09-bad.pdf")
    (tmp_path / "report-2021-07-09-bad.pdf").symlink_to(real)
    (tmp_path / "report-2021-07-10-bad.pdf").symlink_to(tmp_path / "missing.pdf")

    result = scan_reports(tmp_path)

    assert [f.source for f in result.found] == ["archive/report-2021-07-09-bad.pdf", "report-2021-07-09-bad.pdf"]
    assert any("report-2021-07-10-bad.pdf: broken symlink" in w for w in result.warnings)


def test_fifo_with_a_report_name_is_skipped_not_read(tmp_path):
    os.mkfifo(tmp_path / "report-2021-07-09-bad.pdf")  # reading it would block forever
    result = scan_reports(tmp_path)
    assert result.found == []
    assert result.warnings == [f"{tmp_path}/report-2021-07-09-bad.pdf: not a regular file, skipped"]


def test_same_night_twice_in_a_suite_keeps_both_and_warns(tmp_path):
    touch(tmp_path / "a" / "report-2021-07-09-bad.pdf")
    touch(tmp_path / "a" / "report-2021-07-09-good.pdf")
    touch(tmp_path / "b" / "report-2021-07-09-good.pdf")  # another suite: no clash

    result = scan_reports(tmp_path)

    assert len(result.found) == 3
    assert result.warnings == [
        "2 reports for 2021-07-09 in suite 'a': a/report-2021-07-09-bad.pdf, a/report-2021-07-09-good.pdf (all are shown)"
    ]


def test_missing_reports_folder_is_a_warning_not_a_crash(tmp_path):
    result = scan_reports(tmp_path / "nope")
    assert result.found == []
    assert "does not exist" in result.warnings[0]
