"""Incremental rebuilds: each edit is compared with a clean build of the same inputs, byte for byte."""

from __future__ import annotations

import os

from sitegen.config import parse_config
from sitegen.site.build import build_site
from sitegen.site.render import clear_memo


def tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_incremental_builds_equal_clean_builds_after_each_edit(tmp_path, make_pdf):
    root = tmp_path / "project"
    reports = root / "reports"
    theme = root / "mytheme"
    make_pdf(reports / "a" / "report-2021-07-08-good.pdf", subject="night eight")
    make_pdf(reports / "a" / "report-2021-07-09-bad.pdf", subject="night nine")
    make_pdf(reports / "b" / "report-2021-07-09-good.pdf", pages=["suite b text"])
    settings: dict = {}
    clean_builds = 0

    def incremental():
        return build_site(parse_config(settings, root))

    def check(result, expect_changed=None):
        nonlocal clean_builds
        clean_builds += 1
        other = tmp_path / f"clean-{clean_builds}"
        clear_memo()  # a clean build renders every page, as a new process would
        clean = build_site(parse_config({**settings, "output": str(other / "public"), "cache_dir": str(other / "cache")}, root))
        assert clean.extracted == len(clean.reports)  # really from scratch
        assert tree(root / "public") == tree(other / "public")
        assert [r.source for r in result.reports] == [r.source for r in clean.reports]
        if expect_changed is not None:
            assert expect_changed <= set(result.changed)
        return result

    check(incremental())

    # 1. a new night arrives: its page and PDF are new, the index and the catalog change
    make_pdf(reports / "a" / "report-2021-07-10-good.pdf", subject="night ten")
    step = check(incremental(), {"nights/a/2021-07-10.html", "pdf/a/report-2021-07-10-good.pdf", "index.html", "reports.json"})
    assert step.extracted == 1
    assert "nights/b/2021-07-09.html" not in step.changed  # other suite untouched

    # 2. a night is removed: its page and PDF disappear
    (reports / "a" / "report-2021-07-08-good.pdf").unlink()
    step = check(incremental(), {"nights/a/2021-07-08.html", "pdf/a/report-2021-07-08-good.pdf"})
    assert not (root / "public" / "pdf" / "a" / "report-2021-07-08-good.pdf").exists()

    # 3. a night regenerated from bad to good keeps its page URL, with a new card
    os.rename(reports / "a" / "report-2021-07-09-bad.pdf", reports / "a" / "report-2021-07-09-good.pdf")
    step = check(incremental(), {"nights/a/2021-07-09.html", "pdf/a/report-2021-07-09-good.pdf", "pdf/a/report-2021-07-09-bad.pdf"})
    assert 'data-status="bad"' not in (root / "public" / "index.html").read_text()

    # 4. the config changes: new title everywhere, nothing re-extracted
    settings["title"] = "Cluster nights"
    step = check(incremental(), {"index.html", "reports.json", "nights/a/2021-07-09.html"})
    assert step.extracted == 0

    # 5. summary length changes: extraction is redone
    settings["summary_length"] = 5
    step = check(incremental())
    assert step.extracted == len(step.reports)

    # 6. a PDF rewritten in place (same name, new content)
    make_pdf(reports / "b" / "report-2021-07-09-good.pdf", subject="rewritten")
    os.utime(reports / "b" / "report-2021-07-09-good.pdf", ns=(10**18, 10**18))
    step = check(incremental(), {"pdf/b/report-2021-07-09-good.pdf", "nights/b/2021-07-09.html"})

    # 7. a user theme overriding a static file
    (theme / "static").mkdir(parents=True)
    (theme / "static" / "extra.css").write_text("body { color: black }\n")
    settings["theme"] = "mytheme"
    check(incremental(), {"static/extra.css"})

    # 8. nothing changed: nothing is written
    before = {p: p.stat().st_ino for p in (root / "public").rglob("*")}
    quiet = incremental()
    assert quiet.changed == [] and quiet.extracted == 0 and quiet.written == 0
    assert {p: p.stat().st_ino for p in (root / "public").rglob("*")} == before


def test_a_file_deleted_from_the_output_is_restored(tmp_path, make_pdf):
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf")
    config = parse_config({}, tmp_path)
    build_site(config)
    (tmp_path / "public" / "index.html").unlink()
    (tmp_path / "public" / "stray.html").write_text("left by hand")

    result = build_site(config)

    assert set(result.changed) == {"index.html", "stray.html"}
    assert (tmp_path / "public" / "index.html").is_file()
    assert not (tmp_path / "public" / "stray.html").exists()
    assert build_site(config).changed == []


def test_lost_build_record_still_reports_no_change(tmp_path, make_pdf):
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf")
    config = parse_config({}, tmp_path)
    build_site(config)
    for record in (tmp_path / ".sitegen-cache").glob("site-*.json"):
        record.unlink()
    result = build_site(config)
    assert result.changed == [] and result.written == 0


def test_index_and_monthly_archive_stay_equal_to_a_clean_build_as_nights_come_and_go(tmp_path, make_pdf):
    root = tmp_path / "project"
    reports = root / "reports"
    for day in ("2021-06-29", "2021-06-30", "2021-07-01"):
        make_pdf(reports / "a" / f"report-{day}-good.pdf", subject=f"night {day}")
    settings = {"index_limit": 2}
    runs = 0

    def build_and_compare():
        nonlocal runs
        runs += 1
        result = build_site(parse_config(settings, root))
        clear_memo()
        other = tmp_path / f"clean-{runs}"
        build_site(parse_config({**settings, "output": str(other / "public"), "cache_dir": str(other / "cache")}, root))
        assert tree(root / "public") == tree(other / "public")
        return result, (root / "public" / "index.html").read_text()

    _, index = build_and_compare()
    assert "2021-06-29" not in index.split('id="archive"')[0]  # third newest: archive only
    assert 'href="archive/2021-06.html"' in index and 'href="archive/2021-07.html"' in index

    # A new night pushes 2021-06-30 off the index; June's archive page and older viewers are not rewritten.
    make_pdf(reports / "a" / "report-2021-07-02-bad.pdf", subject="night two")
    step, index = build_and_compare()
    assert {"index.html", "archive/2021-07.html", "nights/a/2021-07-02.html", "nights/a/2021-07-01.html"} <= set(step.changed)
    assert "archive/2021-06.html" not in step.changed and "nights/a/2021-06-30.html" not in step.changed
    assert "2021-06-30" not in index.split('id="archive"')[0]
    assert 'data-date="2021-06-30"' in (root / "public" / "archive" / "2021-06.html").read_text()

    # The only night of a month removed: that month's page disappears and its neighbour's links follow.
    (reports / "a" / "report-2021-07-01-good.pdf").unlink()
    (reports / "a" / "report-2021-07-02-bad.pdf").unlink()
    step, index = build_and_compare()
    assert "archive/2021-07.html" in step.changed and not (root / "public" / "archive" / "2021-07.html").exists()
    assert "2021-07" not in index
