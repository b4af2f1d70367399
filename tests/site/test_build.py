"""Whole builds of fixture report folders: the output tree, reports.json, bad input, refusals, atomicity, CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sitegen.cli import main
from sitegen.config import parse_config
from sitegen.errors import BuildError, UsageError
from sitegen.site import layout
from sitegen.site.assets import PDFJS_VENDORED
from sitegen.site.build import build_site

SUMMARY = {
    "schema": 1,
    "date": "2021-07-09",
    "status": "bad",
    "title": "TiDB nightly <script>alert('t')</script>",
    "headline": "3 fatal errors & <b>lost</b> writes.",
    "metrics": {"errors": 120, "fatal": 3},
    "runner": {"host": "ci-7"},
}


def build(root: Path, **raw):
    return build_site(parse_config(raw, root))


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def catalog(root: Path, output: str = "public") -> dict:
    return json.loads((root / output / "reports.json").read_text(encoding="utf-8"))


@pytest.fixture
def project(tmp_path, make_pdf):
    r = tmp_path / "reports"
    make_pdf(r / "cluster-a" / "report-2021-07-09-bad.pdf", summary=SUMMARY, pages=["Fatal errors everywhere"])
    make_pdf(r / "cluster-a" / "report-2021-07-10-good.pdf", title="Quiet night", subject="Nothing broke.")
    make_pdf(r / "cluster-b" / "report-2021-07-10-flaky.pdf", pages=["Only page text here"])
    make_pdf(r / "report-2021-07-08-good.pdf", pages=["Top level night"])
    return tmp_path


def test_output_tree_and_reports_json(project):
    result = build(project)
    out = project / "public"

    assert result.warnings == []
    assert len(result.reports) == 4
    files = tree(out)
    assert {"index.html", "reports.json", ".nojekyll"} <= set(files)
    assert files[".nojekyll"] == b""
    # One viewer page per report at the layout's stable URL, and the PDF itself, hard-linked.
    for page in layout.page_paths(result.reports).values():
        assert page in files
    for report in result.reports:
        published = out / layout.pdf_path(report)
        original = project / "reports" / report.source
        assert published.read_bytes() == original.read_bytes()
        assert published.stat().st_ino == original.stat().st_ino
    # pdf.js: the ES-module builds only, no legacy build and no source maps; copies, not links to the installed package.
    assert "static/pdfjs/build/pdf.min.mjs" in files
    vendored = PDFJS_VENDORED / "build" / "pdf.min.mjs"
    assert (out / "static/pdfjs/build/pdf.min.mjs").stat().st_ino != vendored.stat().st_ino
    assert not [p for p in files if p.endswith(".map") or "/legacy/" in p]

    doc = catalog(project)
    assert doc["schema"] == 1 and doc["count"] == 4
    assert [(e["date"], e["suite"], e["status"]) for e in doc["reports"]] == [
        ("2021-07-10", "cluster-a", "good"),
        ("2021-07-10", "cluster-b", "flaky"),
        ("2021-07-09", "cluster-a", "bad"),
        ("2021-07-08", "", "good"),
    ]
    bad = doc["reports"][2]
    assert bad == {
        "date": "2021-07-09",
        "suite": "cluster-a",
        "status": "bad",
        "status_known": True,
        "title": "TiDB nightly <script>alert('t')</script>",
        "summary": "3 fatal errors & <b>lost</b> writes.",
        "summary_source": "attachment",
        "page_url": "nights/cluster-a/2021-07-09.html",
        "pdf_url": "pdf/cluster-a/report-2021-07-09-bad.pdf",
        "source": "cluster-a/report-2021-07-09-bad.pdf",
        "pages": 1,
        "bytes": (project / "reports/cluster-a/report-2021-07-09-bad.pdf").stat().st_size,
        "metrics": {"errors": 120, "fatal": 3},
        "extra": {"runner": {"host": "ci-7"}},
        "problems": [],
        "unpublished": None,
        "signatures": [],
    }
    assert doc["reports"][1]["status_known"] is False  # kept, shown as unknown status
    assert doc["reports"][0]["summary_source"] == "metadata" and doc["reports"][3]["summary_source"] == "text"
    for entry in doc["reports"]:
        assert (out / entry["page_url"]).is_file() and (out / entry["pdf_url"]).is_file()
    # The HTML from the PDF is escaped in the page, while reports.json keeps it as a plain string.
    assert "<script>alert('t')" not in files["index.html"].decode()
    assert b"No timestamps" not in files["reports.json"] and b"2026" not in files["reports.json"]


def test_cards_carry_their_hooks(project):
    build(project)
    html = (project / "public" / "index.html").read_text()
    cards = re.findall(r'data-status="([^"]+)" data-date="([^"]+)" data-suite="([^"]*)"', html)
    assert sorted(cards) == [
        ("bad", "2021-07-09", "cluster-a"),
        ("flaky", "2021-07-10", "cluster-b"),
        ("good", "2021-07-08", ""),
        ("good", "2021-07-10", "cluster-a"),
    ]


def test_summary_disagreeing_with_the_name_loses_with_a_warning(tmp_path, make_pdf):
    make_pdf(tmp_path / "reports" / "report-2021-07-11-bad.pdf", summary={**SUMMARY, "date": "2021-07-09", "status": "good"})
    result = build(tmp_path)
    (report,) = result.reports
    assert (report.date.isoformat(), report.status) == ("2021-07-11", "bad")
    assert len(result.warnings) == 2
    assert all("report-2021-07-11-bad.pdf" in w and "the name wins" in w for w in result.warnings)
    assert len(catalog(tmp_path)["reports"][0]["problems"]) == 2


def test_every_bad_input_still_gets_its_card(tmp_path, make_pdf):
    r = tmp_path / "reports"
    make_pdf(r / "report-2021-07-01-good.pdf", subject="a fine night")
    (r / "report-2021-07-02-bad.pdf").write_bytes(b"")
    good = make_pdf(tmp_path / "whole.pdf", summary=SUMMARY)
    (r / "report-2021-07-03-bad.pdf").write_bytes(good.read_bytes()[:1500])
    make_pdf(r / "report-2021-07-04-bad.pdf", password="pw", title="locked")
    (r / "report-2021-07-05-bad.pdf").write_bytes(b"<html><head><title>404</title></head></html>")
    (r / "report-2021-02-30-bad.pdf").write_bytes(b"%PDF-")
    (r / "readme.md").write_text("hi")
    outside = make_pdf(tmp_path / "outside" / "report-2021-07-06-bad.pdf")
    (r / "report-2021-07-06-bad.pdf").symlink_to(outside)

    result = build(tmp_path)

    doc = catalog(tmp_path)
    by_date = {e["date"]: e for e in doc["reports"]}
    assert sorted(by_date) == ["2021-07-01", "2021-07-02", "2021-07-03", "2021-07-04", "2021-07-05"]
    assert by_date["2021-07-01"]["problems"] == []
    for day, reason in [
        ("2021-07-02", "empty file (0 bytes)"),
        ("2021-07-03", "truncated PDF"),
        ("2021-07-04", "encrypted PDF"),
        ("2021-07-05", "not a PDF: the file is HTML"),
    ]:
        entry = by_date[day]
        assert entry["summary"].startswith("summary unavailable: " + reason)
        assert entry["problems"][0].startswith(reason)
        assert any(f"report-{day}-bad.pdf: {reason}" in w for w in result.warnings)
    html = (tmp_path / "public" / "index.html").read_text()
    assert html.count('data-status="bad"') == 4
    assert "summary unavailable: empty file" in html
    assert any("readme.md" in w and "report-2021-02-30-bad.pdf (impossible date)" in w for w in result.warnings)
    assert any("report-2021-07-06-bad.pdf: symlink leading out" in w for w in result.warnings)
    assert not (tmp_path / "public" / "pdf" / "report-2021-07-06-bad.pdf").exists()


def test_same_night_twice_both_shown_and_reachable(tmp_path, make_pdf):
    make_pdf(tmp_path / "reports" / "a" / "report-2021-07-09-bad.pdf", subject="first")
    make_pdf(tmp_path / "reports" / "a" / "report-2021-07-09-good.pdf", subject="second")
    result = build(tmp_path)
    assert len(result.warnings) == 1 and "2 reports for 2021-07-09 in suite 'a'" in result.warnings[0]
    pages = {e["page_url"] for e in catalog(tmp_path)["reports"]}
    assert len(pages) == 2
    assert all((tmp_path / "public" / p).is_file() for p in pages)


def test_empty_reports_folder_builds_an_empty_site(tmp_path):
    (tmp_path / "reports").mkdir()
    result = build(tmp_path)
    assert result.reports == [] and result.warnings == []
    assert catalog(tmp_path)["reports"] == []
    assert (tmp_path / "public" / "index.html").is_file()


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reports", "output", "message"),
    [
        ("reports", "reports", "is the reports folder or inside it"),
        ("reports", "reports/site", "is the reports folder or inside it"),
        ("site/reports", "site", "is inside the output folder"),
        ("reports", ".", "would replace"),
        ("reports", "..", "would replace"),
    ],
)
def test_dangerous_output_folders_are_refused(tmp_path, reports, output, message):
    (tmp_path / reports).mkdir(parents=True, exist_ok=True)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(UsageError, match=re.escape(message)):
        build(tmp_path, reports=reports, output=output)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, not even the cache


def test_home_and_root_are_refused(tmp_path):
    for output in (str(Path.home()), "/"):
        with pytest.raises(UsageError, match="would replace"):
            build(tmp_path, output=output)


def test_a_folder_sitegen_did_not_make_is_refused(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("precious")
    with pytest.raises(UsageError, match="not empty and was not made by sitegen"):
        build(tmp_path, output="docs")
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "precious"


def test_cache_inside_the_output_is_refused(tmp_path):
    with pytest.raises(UsageError, match="config key 'cache_dir'"):
        build(tmp_path, cache_dir="public/.cache")


# --- atomicity ----------------------------------------------------------------------------------


def test_failed_render_leaves_the_previous_site_untouched(project, make_pdf, monkeypatch):
    build(project)
    before = tree(project / "public")
    make_pdf(project / "reports" / "report-2021-07-11-bad.pdf")

    def broken(*args, **kw):
        raise BuildError("template exploded")

    monkeypatch.setattr("sitegen.site.render.render_pages", broken)
    with pytest.raises(BuildError, match="template exploded"):
        build(project)
    assert tree(project / "public") == before
    assert sorted(p.name for p in project.iterdir()) == [".sitegen-cache", "public", "reports"]


def test_failed_first_build_leaves_nothing_behind(project, monkeypatch):
    def broken(*args, **kw):
        raise BuildError("template exploded")

    monkeypatch.setattr("sitegen.site.render.render_pages", broken)
    with pytest.raises(BuildError):
        build(project)
    assert sorted(p.name for p in project.iterdir()) == [".sitegen-cache", "reports"]


def test_leftovers_of_a_crashed_build_are_cleared(project):
    build(project)
    crashed = project / "public.sitegen-dead1234"
    (crashed / "nights").mkdir(parents=True)
    (crashed / ".sitegen").write_text("marker")
    unrelated = project / "public.sitegen-notes"  # not ours: no marker, not empty
    unrelated.mkdir()
    (unrelated / "keep.txt").write_text("mine")

    build(project, title="changed")

    assert not crashed.exists()
    assert (unrelated / "keep.txt").read_text() == "mine"


def test_pages_redrawn_in_place_reach_an_output_on_another_file_system(project, tmp_path, monkeypatch):
    """Drawn pages wait in a folder beside the output; where they cannot be renamed in (the output is a
    mount point: EXDEV) they are copied, and the site is still the one a clean build gives."""
    import errno

    build(project)
    real_rename, real_replace, refused = os.rename, os.replace, []

    def across_devices(real):
        def move(src, dst):
            if "/public.sitegen-" in str(src):  # a staged page on its way into public/
                refused.append(src)
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            return real(src, dst)
        return move

    monkeypatch.setattr("sitegen.site.write.os.rename", across_devices(real_rename))
    monkeypatch.setattr("sitegen.site.write.os.replace", across_devices(real_replace))
    build(project, title="Moved across")
    monkeypatch.undo()
    assert refused
    assert sorted(p.name for p in project.iterdir()) == [".sitegen-cache", "public", "reports"]  # nothing staged left
    build(project, title="Moved across", output=str(tmp_path / "clean"), cache_dir=str(tmp_path / "clean-cache"))
    assert tree(project / "public") == tree(tmp_path / "clean")


def test_a_build_killed_right_after_its_record_leaves_no_staging_folder(project, monkeypatch):
    """The staged pages' folder goes before the record is written: a build killed after the record (the next one
    finds nothing to do, so it would never look for leftovers) leaves nothing beside the output."""
    from sitegen.site import write

    build(project)
    real_save = write._save_state

    def saved_then_killed(path, state):
        real_save(path, state)
        raise SystemExit("killed")  # a SIGKILL here would skip every finally: so does this test, below

    monkeypatch.setattr(write, "_save_state", saved_then_killed)
    monkeypatch.setattr("sitegen.site.build.discard_staging", lambda staging: None)
    with pytest.raises(SystemExit):
        build(project, title="changed")
    monkeypatch.undo()
    build(project, title="changed")
    assert sorted(p.name for p in project.iterdir()) == [".sitegen-cache", "public", "reports"]


def test_failed_write_leaves_the_previous_site_untouched(project, make_pdf, monkeypatch):
    build(project)
    before = tree(project / "public")
    make_pdf(project / "reports" / "report-2021-07-11-bad.pdf")
    calls = []

    def failing_place(src, dst, link):
        calls.append(src)
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr("sitegen.site.write._place", failing_place)
    with pytest.raises(BuildError, match=r"No space left on device.*previous output is left as it was"):
        build(project)
    assert calls
    assert tree(project / "public") == before
    assert sorted(p.name for p in project.iterdir()) == [".sitegen-cache", "public", "reports"]
    # The next good build picks up the new night.
    monkeypatch.undo()
    assert len(build(project).reports) == 5


def test_pdfs_are_copied_across_file_systems_and_never_again(project, make_pdf, monkeypatch):
    real_link = os.link
    reports = str(project / "reports")

    def no_cross_link(src, dst, *args, **kwargs):
        if str(src).startswith(reports):
            raise OSError(18, "Invalid cross-device link")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", no_cross_link)
    first = build(project)
    pdf = project / "public" / "pdf" / "cluster-a" / "report-2021-07-09-bad.pdf"
    assert pdf.read_bytes() == (project / "reports/cluster-a/report-2021-07-09-bad.pdf").read_bytes()
    inode = pdf.stat().st_ino
    assert inode != (project / "reports/cluster-a/report-2021-07-09-bad.pdf").stat().st_ino

    make_pdf(project / "reports" / "report-2021-07-11-bad.pdf")
    second = build(project)

    assert pdf.stat().st_ino == inode  # carried over from the old site, not copied again
    assert second.written < first.written
    assert "pdf/report-2021-07-11-bad.pdf" in second.changed
    assert "pdf/cluster-a/report-2021-07-09-bad.pdf" not in second.changed


def test_site_is_readable_by_others(project):
    build(project)
    assert (project / "public").stat().st_mode & 0o005 == 0o005


# --- the command line ---------------------------------------------------------------------------


def run_cli(tmp_path, monkeypatch, *args):
    monkeypatch.chdir(tmp_path)  # the default config and cache folder are relative to here
    return main(["build", "--reports", "reports", "--output", "public", *args])


def test_cli_exits_0_with_a_warnings_summary(tmp_path, make_pdf, monkeypatch, capsys):
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf")
    (tmp_path / "reports" / "stray.txt").write_text("x")
    assert run_cli(tmp_path, monkeypatch) == 0
    err = capsys.readouterr().err
    assert "stray.txt" in err
    assert "1 report (1 PDF(s) read, 0 cached)" in err
    assert "build finished with 1 warning(s)" in err
    assert (tmp_path / "public" / "index.html").is_file()


def test_cli_strict_turns_warnings_into_exit_1(tmp_path, make_pdf, monkeypatch):
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf")
    (tmp_path / "reports" / "stray.txt").write_text("x")
    assert run_cli(tmp_path, monkeypatch, "--strict") == 1
    (tmp_path / "reports" / "stray.txt").unlink()
    assert run_cli(tmp_path, monkeypatch, "--strict") == 0


def test_cli_refusal_is_a_clean_message_with_exit_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--reports", "reports", "--output", "reports/public"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sitegen: error: output folder") and "Traceback" not in err


def test_unreadable_report_keeps_its_card_without_a_pdf(tmp_path, make_pdf):
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf")
    locked = make_pdf(tmp_path / "reports" / "report-2021-07-10-bad.pdf")
    locked.chmod(0)
    command = [sys.executable, "-m", "sitegen", "build", "--reports", "reports", "--output", "public"]
    if os.geteuid() == 0:  # root reads everything: drop the capabilities that let it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv (util-linux)")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]

    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)

    assert proc.returncode == 0, proc.stderr
    assert "report-2021-07-10-bad.pdf: cannot read this file (permission denied)" in proc.stderr
    entry = next(e for e in catalog(tmp_path)["reports"] if e["date"] == "2021-07-10")
    assert entry["summary"] == "summary unavailable: cannot read the file (permission denied)"
    assert entry["pdf_url"] is None
    assert not (tmp_path / "public" / "pdf" / "report-2021-07-10-bad.pdf").exists()
    assert (tmp_path / "public" / entry["page_url"]).is_file()
    assert (tmp_path / "public" / "pdf" / "report-2021-07-09-bad.pdf").is_file()


def test_hostile_file_names_are_escaped_in_warnings(tmp_path, make_pdf):
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf")
    (tmp_path / "reports" / "evil\x1b[2Jname\n.txt").write_text("x")
    bad_dir = os.path.join(os.fsencode(tmp_path / "reports"), b"suite-\xff")
    os.makedirs(bad_dir)
    make_pdf(Path(os.fsdecode(bad_dir)) / "report-2021-07-10-bad.pdf")

    result = build(tmp_path)

    assert [r.source for r in result.reports] == ["report-2021-07-09-bad.pdf"]
    assert not any("\x1b" in w or "\n" in w for w in result.warnings)
    assert any("evil\\x1b[2Jname\\n.txt" in w for w in result.warnings)
    assert any("suite-\\udcff" in w and "not valid UTF-8" in w for w in result.warnings)
    json.loads((tmp_path / "public" / "reports.json").read_bytes())


def test_readers_never_see_a_missing_or_half_written_site(project, make_pdf):
    import threading

    build(project)
    out = project / "public"
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def reader():
        while not stop.is_set():
            try:
                seen.append(json.loads((out / "reports.json").read_bytes())["count"])
                assert (out / "index.html").stat().st_size > 0
            except BaseException as exc:  # any failure is the finding
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for day in range(11, 16):
            make_pdf(project / "reports" / f"report-2021-07-{day}-good.pdf")
            build(project)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert seen and set(seen) <= set(range(4, 10)) and seen[-1] == 9


def test_swap_falls_back_to_two_renames(project, make_pdf, monkeypatch):
    monkeypatch.setattr("sitegen.site.write._exchange", lambda a, b: False)
    build(project)
    make_pdf(project / "reports" / "report-2021-07-11-bad.pdf")
    result = build(project)
    assert "nights/2021-07-11.html" in result.changed
    assert (project / "public" / "nights" / "2021-07-11.html").is_file()
    assert sorted(p.name for p in project.iterdir()) == [".sitegen-cache", "public", "reports"]


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    from sitegen.site.write import _exchange

    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "fresh.html").write_text("new")
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "old.html").write_text("old")
    if not _exchange(tmp_path / "new", tmp_path / "public"):
        pytest.skip("this file system has no renameat2 RENAME_EXCHANGE")
    assert [p.name for p in (tmp_path / "public").iterdir()] == ["fresh.html"]
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["old.html"]


def test_private_pdfs_are_copied_so_a_web_server_can_read_them(tmp_path, make_pdf):
    private = make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf")
    private.chmod(0o600)  # as a nightly job with a tight umask would leave it
    build(tmp_path)
    published = tmp_path / "public" / "pdf" / "report-2021-07-09-bad.pdf"
    assert published.read_bytes() == private.read_bytes()
    assert published.stat().st_mode & 0o777 == 0o644
    assert private.stat().st_mode & 0o777 == 0o600


def test_a_page_that_cannot_be_written_is_named_in_the_error_and_the_site_rolled_back(project, monkeypatch):
    build(project)
    page = project / "public" / "compare.html"
    real_replace = os.replace

    def refusing(src, dst, *args, **kwargs):
        if str(dst) == str(page):
            raise PermissionError(13, "Permission denied", str(src))  # the error names the temp file beside the page
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", refusing)
    with pytest.raises(BuildError) as info:
        build(project, title="changed")  # every page changes: compare.html is written too
    monkeypatch.undo()
    assert str(page) in str(info.value) and ".sitegen-tmp" not in str(info.value)
    assert not [p for p in (project / "public").rglob(".sitegen-tmp*")]  # nothing of the failed build is left
    assert (project / "public" / "index.html").read_text().count("changed") == 0  # rolled back: still the old title
    build(project, title="changed")
    assert "changed" in (project / "public" / "index.html").read_text()


def test_editing_the_sites_pdfjs_in_place_leaves_the_installed_pdfjs_alone(project):
    """A deploy step that rewrites files in place (or a slip by hand) must not write into sitegen's own install."""
    build(project)
    vendored = PDFJS_VENDORED / "web" / "pdf_viewer.mjs"
    before = vendored.read_bytes()
    with open(project / "public" / "static" / "pdfjs" / "web" / "pdf_viewer.mjs", "r+b") as fh:
        fh.write(b"tampered")
    assert vendored.read_bytes() == before


@pytest.mark.parametrize("gone", ["missing", "a file", "empty", "empty, cache wiped", "no report names"])
def test_a_reports_folder_that_is_gone_is_refused_and_the_published_site_kept(project, capsys, monkeypatch, gone):
    """An unmounted share (an empty mount point) or a typo must not publish a site with no nights: exit 2, the old
    site as it was, whether or not the build record is left; deleting the site publishes one with no nights."""
    monkeypatch.chdir(project)
    assert main(["build", "--reports", "reports", "--output", "public"]) == 0
    before = tree(project / "public")
    shutil.move(project / "reports", project / "reports.real")
    if gone == "a file":
        (project / "reports").write_text("not a folder")
    elif gone.startswith("empty"):
        (project / "reports").mkdir()
    elif gone == "no report names":
        (project / "reports").mkdir()
        (project / "reports" / "nightly-2021-07-09.pdf").write_bytes(b"%PDF-1.4")
    if gone.endswith("cache wiped"):
        shutil.rmtree(project / ".sitegen-cache")
    capsys.readouterr()

    assert main(["build", "--reports", "reports", "--output", "public"]) == 2

    err = capsys.readouterr().err
    said = "does not exist or is not a folder" if gone in ("missing", "a file") else "holds no reports, but"
    assert "reports folder" in err and said in err and "Traceback" not in err
    if gone == "no report names":  # the scan's own words say what to fix
        assert "are not reports (expected report-YYYY-MM-DD-STATUS.pdf)" in err and "nightly-2021-07-09.pdf" in err
    assert tree(project / "public") == before
    if gone.startswith("empty"):
        for path in (project / "public").iterdir():  # emptied by hand, the marker kept: shows no night
            if path.name != ".sitegen":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        assert main(["build", "--reports", "reports", "--output", "public"]) == 0
        assert json.loads((project / "public" / "reports.json").read_text())["count"] == 0


def test_the_dev_server_shows_a_reports_folder_emptied_while_working_and_watch_keeps_the_site(project):
    """`sitegen serve` is a working session: its user empties the folder on purpose. `sitegen watch` may keep a published
    site up to date: it refuses, as `build` does, to replace the nights with none."""
    from sitegen.serve.loop import default_build, serve_build

    config = parse_config({}, project)
    build_site(config)
    shutil.rmtree(project / "reports")
    (project / "reports").mkdir()

    with pytest.raises(UsageError, match="holds no reports"):
        default_build(config)
    assert serve_build(config).shown == 0
    assert json.loads((project / "public" / "reports.json").read_text())["count"] == 0


def test_pdfjs_linked_by_an_older_sitegen_is_copied_even_without_the_build_record(project):
    """An older sitegen hard-linked pdf.js to its install; with the record gone (cache wiped) the link must still go."""
    build(project)
    site_file = project / "public" / "static" / "pdfjs" / "build" / "pdf.min.mjs"
    vendored = PDFJS_VENDORED / "build" / "pdf.min.mjs"
    site_file.unlink()
    os.link(vendored, site_file)  # what that sitegen left
    shutil.rmtree(project / ".sitegen-cache")

    build(project)

    assert site_file.stat().st_ino != vendored.stat().st_ino and site_file.read_bytes() == vendored.read_bytes()


def test_a_damaged_compiled_template_cache_costs_a_compile_not_the_build(project):
    from jinja2.bccache import bc_magic

    from sitegen.site import render

    build(project)
    for compiled in (project / ".sitegen-cache" / "templates").iterdir():
        compiled.write_bytes(compiled.read_bytes()[: len(bc_magic)] + b"\x80\x04\x95torn")  # magic whole, the rest not
    render._environments.clear()  # as a new process finds it

    result = build(project, title="Renamed")

    assert "Renamed" in (project / "public" / "index.html").read_text() and result.changed


def test_a_roll_back_puts_back_a_page_someone_removed_while_the_build_ran(tmp_path):
    """The writer's undo log (site/write.py): a failed build restores the old page even if it vanished meanwhile."""
    from sitegen.site.write import _Undo

    root = str(tmp_path) + "/"
    page = tmp_path / "page.html"
    page.write_text("old")
    undo = _Undo(root)
    undo.replace(str(page), b"new", None, None, existed=True, link=False)
    page.unlink()  # by someone else, before the build fails

    undo.roll_back()

    assert page.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_no_pass_of_the_oldest_generation_while_a_build_runs_and_the_thresholds_come_back(tmp_path, make_pdf, monkeypatch):
    """At 100,000 reports each pass of the oldest generation walked every report's objects (0.5 s, four per build)."""
    import gc

    import sitegen.site.build as build_module

    for day in range(1, 29):
        make_pdf(tmp_path / "reports" / f"report-2021-02-{day:02d}-good.pdf")
    passes: list[int] = []
    stages = build_module._build
    inside = []

    def counted_stages(*args):
        inside.append(gc.get_threshold())
        gc.callbacks.append(count)
        try:
            return stages(*args)
        finally:
            gc.callbacks.remove(count)

    def count(phase, info):
        if phase == "start":
            passes.append(info["generation"])

    monkeypatch.setattr(build_module, "_build", counted_stages)
    monkeypatch.setattr(build_module, "GC_THRESHOLD", 1)  # passes of the young generations at every chance
    before = gc.get_threshold()
    gc.set_threshold(1, 1, 1)  # a collector eager to collect every generation
    try:
        result = build_site(parse_config({}, tmp_path))
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*before)
    assert result.shown == 28 and passes.count(1) > 0  # the young generations are still collected
    assert 2 not in passes
    assert after == (1, 1, 1) and inside[0][2] > 1000


def test_builds_overlapping_in_two_threads_give_the_collector_back_as_it_was():
    import gc
    import threading

    from sitegen.site.build import _collecting_rarely

    before = gc.get_threshold()
    first, second = _collecting_rarely(), _collecting_rarely()
    first.__enter__()
    thread = threading.Thread(target=second.__enter__)
    thread.start()
    thread.join()
    first.__exit__(None, None, None)  # the first to start ends first, while the other still runs
    assert gc.get_threshold()[2] > 1000
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
