"""Extract stage: the order summary sources are tried in, and a readable card for every broken PDF."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitegen.site.extract import collapse, extract, extract_many

SUMMARY = {
    "schema": 1,
    "date": "2021-07-09",
    "status": "bad",
    "suite": "cluster-a",
    "title": "TiDB nightly",
    "headline": "3 fatal errors after the pod-kill window.",
    "metrics": {"errors": 120, "fatal": 3, "min_qps": 812.5},
    "runner": "ci-7",
}


def run(path, length=300):
    return extract(path, path.stat().st_size, length)


def test_attachment_wins_over_metadata_and_text(tmp_path, make_pdf):
    pdf = make_pdf(tmp_path / "r.pdf", title="Meta title", subject="Meta subject", pages=["page text"], summary=SUMMARY)
    x = run(pdf)
    assert x.summary_source == "attachment"
    assert x.title == "TiDB nightly"
    assert x.summary == "3 fatal errors after the pod-kill window."
    assert x.metrics == {"errors": 120, "fatal": 3, "min_qps": 812.5}
    assert x.extra == {"runner": "ci-7"}  # unknown keys are kept
    assert (x.summary_date, x.summary_status, x.summary_suite) == ("2021-07-09", "bad", "cluster-a")
    assert x.pages == 1
    assert x.problems == ()


def test_metadata_when_there_is_no_attachment(tmp_path, make_pdf):
    pdf = make_pdf(tmp_path / "r.pdf", title="Meta title", subject="Meta subject", pages=["one", "two", "three"])
    x = run(pdf)
    assert (x.summary_source, x.title, x.summary, x.pages) == ("metadata", "Meta title", "Meta subject", 3)
    assert x.metrics == {} and x.summary_date is None


def test_metadata_fills_what_the_attachment_leaves_out(tmp_path, make_pdf):
    """/Info is read only when summary.json lacks a title or a headline; then its /Title or /Subject fills the gap."""
    untitled = make_pdf(tmp_path / "a.pdf", title="Meta title", subject="Meta subject", summary={**SUMMARY, "title": ""})
    silent = make_pdf(tmp_path / "b.pdf", title="Meta title", subject="Meta subject", summary={**SUMMARY, "headline": " "})
    assert (run(untitled).title, run(untitled).summary) == ("Meta title", SUMMARY["headline"])
    assert (run(silent).title, run(silent).summary, run(silent).summary_source) == ("TiDB nightly", "Meta subject", "attachment")


def test_page_one_text_collapsed_and_trimmed_when_nothing_else(tmp_path, make_pdf):
    words = "Chaos   night\n\nall pods recovered " * 30
    pdf = make_pdf(tmp_path / "r.pdf", pages=[words, "second page words"])
    x = run(pdf, length=80)
    assert x.summary_source == "text"
    assert x.summary.startswith("Chaos night all pods recovered Chaos night")
    assert len(x.summary) <= 81 and x.summary.endswith("…")
    assert "  " not in x.summary and "\n" not in x.summary
    assert "second" not in x.summary


def test_broken_attachment_falls_back_with_a_problem(tmp_path, make_pdf):
    pdf = make_pdf(tmp_path / "r.pdf", subject="From metadata", raw_attachment=b"{not json")
    x = run(pdf)
    assert x.summary_source == "metadata" and x.summary == "From metadata"
    assert len(x.problems) == 1 and "summary.json attachment ignored: summary.json is not valid JSON" in x.problems[0]


def test_non_finite_numbers_never_reach_the_catalog(tmp_path, make_pdf):
    raw = b'{"schema": 1, "date": "2021-07-09", "status": "bad", "metrics": {"a": NaN, "b": 1e400, "c": 2}, "x": [Infinity]}'
    x = run(make_pdf(tmp_path / "r.pdf", raw_attachment=raw))
    assert x.metrics == {"c": 2}
    assert x.extra == {"x": [None]}


def test_html_in_metadata_is_kept_as_plain_text(tmp_path, make_pdf):
    x = run(make_pdf(tmp_path / "r.pdf", title="<script>alert(1)</script>", subject="<b>bold</b> & co"))
    assert x.title == "<script>alert(1)</script>"  # escaping is the renderer's job
    assert x.summary == "<b>bold</b> & co"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file (0 bytes)"),
        (b"<!DOCTYPE html><html><body>Report</body></html>", "not a PDF: the file is HTML"),
        (b"PK\x03\x04 zip data", "not a PDF: the file does not start with a %PDF header"),
        (b"%PDF-1.4\n1 0 obj garbage garbage\n", "truncated PDF (no end-of-file marker)"),
    ],
)
def test_unreadable_files_get_a_reason_not_a_traceback(tmp_path, content, reason):
    path = tmp_path / "report-2021-07-09-bad.pdf"
    path.write_bytes(content)
    x = run(path)
    assert x.summary.startswith("summary unavailable: " + reason)
    assert x.problems[0].startswith(reason)


def test_truncated_pdf(tmp_path, make_pdf):
    pdf = make_pdf(tmp_path / "r.pdf", summary=SUMMARY)
    pdf.write_bytes(pdf.read_bytes()[: pdf.stat().st_size // 2])
    x = run(pdf)
    assert x.summary.startswith("summary unavailable: truncated PDF")


def test_corrupt_pdf_with_end_marker(tmp_path):
    path = tmp_path / "r.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\nstartxref\n999999\n%%EOF\n")
    x = run(path)
    assert x.summary.startswith("summary unavailable: corrupt PDF")


def test_encrypted_pdf(tmp_path, make_pdf):
    x = run(make_pdf(tmp_path / "r.pdf", password="s3cret", title="Hidden"))
    assert x.summary == "summary unavailable: encrypted PDF (a password is needed to open it)"
    assert x.title == ""


def test_collapse_cuts_at_a_word():
    assert collapse("  a  b\tc\n", 10) == "a b c"
    assert collapse("alpha beta gamma", 12) == "alpha beta…"
    assert collapse("x" * 20, 5) == "xxxxx…"


@pytest.mark.parametrize("threaded", [False, True], ids=["fork", "forkserver"])
def test_extract_many_in_worker_processes_matches_one_process(tmp_path, make_pdf, monkeypatch, threaded):
    import threading

    import sitegen.site.extract as mod

    pdfs = [make_pdf(tmp_path / f"r{i}.pdf", subject=f"night {i}", pages=["x"] * (1 + i % 3)) for i in range(6)]
    (tmp_path / "bad.pdf").write_bytes(b"")
    jobs = [(p, p.stat().st_size) for p in [*pdfs, tmp_path / "bad.pdf"]]
    serial = extract_many(jobs, 300)
    monkeypatch.setattr(mod, "POOL_THRESHOLD", 2)
    stop = threading.Event()
    if threaded:  # like the dev server: another thread is running, so no plain fork
        threading.Thread(target=stop.wait, daemon=True).start()
    try:
        pooled = extract_many(jobs, 300)
    finally:
        stop.set()
    assert pooled == serial
    assert [x.summary for x in serial[:2]] == ["night 0", "night 1"]
    assert [x.pages for x in serial[:3]] == [1, 2, 3]
    assert serial[-1].summary == "summary unavailable: empty file (0 bytes)"


@given(text=st.text(), limit=st.integers(min_value=1, max_value=400))
def test_collapse_never_exceeds_the_limit_and_keeps_no_runs_of_space(text, limit):
    out = collapse(text, limit)
    assert len(out) <= limit + 1  # plus the ellipsis
    assert out == out.strip() or out.endswith("…")
    assert "  " not in out and "\n" not in out
    if len(" ".join(text.split())) <= limit:
        assert out == " ".join(text.split())


def test_pdf_encrypted_with_an_empty_user_password_is_read(tmp_path, make_pdf):
    # (fpdf2 garbles attachment names when it encrypts, so this uses metadata and page text.)
    pdf = make_pdf(tmp_path / "r.pdf", owner_password="owner", title="Owner only", subject="Readable subject")
    assert b"/Encrypt" in pdf.read_bytes()
    x = run(pdf)
    assert (x.problems, x.title, x.summary, x.pages) == ((), "Owner only", "Readable subject", 1)


def test_a_pdf_that_takes_too_long_to_read_is_published_unread_and_the_build_goes_on(tmp_path, make_pdf, monkeypatch):
    """pypdf stuck in one hostile PDF: the timer stops it, the card says why, the other nights are read."""
    import time

    from sitegen import limits
    from sitegen.config import parse_config
    from sitegen.site import extract as extract_module
    from sitegen.site.build import build_site

    reports = tmp_path / "reports"
    make_pdf(reports / "report-2021-07-08-good.pdf", subject="A quiet night.")
    make_pdf(reports / "report-2021-07-09-bad.pdf", subject="Stuck inside pypdf.")
    real = extract_module._extract_pdf

    def stuck_on_one(data, summary_length):
        if b"Stuck inside pypdf" in data:
            time.sleep(30)
        return real(data, summary_length)

    monkeypatch.setattr(extract_module, "_extract_pdf", stuck_on_one)
    monkeypatch.setattr(limits, "PDF_READ_SECONDS", 0.5)
    start = time.monotonic()
    result = build_site(parse_config({}, tmp_path))
    assert time.monotonic() - start < 20
    by_date = {r.date.isoformat(): r for r in result.reports}
    assert by_date["2021-07-08"].summary == "A quiet night."
    stuck = by_date["2021-07-09"]
    assert stuck.summary.startswith("summary unavailable: reading it took longer than 0.5 s")
    assert (tmp_path / "public" / "pdf" / "report-2021-07-09-bad.pdf").is_file()  # still published


def test_the_cache_stamp_names_the_installed_pypdf_version():
    from importlib import metadata

    from sitegen.site import extract as extract_module

    extract_module.pypdf_version.cache_clear()
    assert extract_module.pypdf_version() == metadata.version("pypdf")


@pytest.mark.parametrize(
    ("version_file", "expected"),
    [
        (None, "metadata"),  # no _version.py: another layout
        (b"VERSION = (7, 1)\n", "metadata"),  # no version line in it
        (b'"""pypdf."""\n__version__ = "9.0.0b1"\nother = 1\n', "9.0.0b1"),
    ],
)
def test_the_pypdf_version_is_read_from_its_version_file_or_its_metadata(tmp_path, monkeypatch, version_file, expected):
    import importlib.machinery
    from importlib import metadata

    from sitegen.site import extract as extract_module

    package = tmp_path / "pypdf"
    package.mkdir()
    (package / "__init__.py").write_text("")
    if version_file is not None:
        (package / "_version.py").write_bytes(version_file)
    spec = importlib.machinery.ModuleSpec("pypdf", None, origin=str(package / "__init__.py"))
    monkeypatch.setattr(extract_module.importlib.util, "find_spec", lambda name: spec)
    extract_module.pypdf_version.cache_clear()
    try:
        assert extract_module.pypdf_version() == (metadata.version("pypdf") if expected == "metadata" else expected)
    finally:
        extract_module.pypdf_version.cache_clear()
