"""Incremental rebuilds: each edit is compared with a clean build of the same inputs, byte for byte."""

from __future__ import annotations

import os
import shutil

import pytest

from sitegen.config import parse_config
from sitegen.site.build import build_site


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
    for record in (tmp_path / ".sitegen-cache").glob("site-*.record"):
        record.unlink()
    result = build_site(config)
    assert result.changed == [] and result.written == 0


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"cut", "truncated"], ids=["empty", "garbage", "short", "truncated"])
def test_a_damaged_build_record_costs_a_comparison_never_the_site(tmp_path, make_pdf, damage):
    root = tmp_path / "project"
    make_pdf(root / "reports" / "report-2021-07-09-bad.pdf")
    config = parse_config({}, root)
    build_site(config)
    (record,) = (root / ".sitegen-cache").glob("site-*.record")
    record.write_bytes(record.read_bytes()[:-7] if damage == "truncated" else damage)
    for glance in (root / ".sitegen-cache").glob("glance-*"):
        glance.unlink()  # else the build sees nothing changed and never reads the record

    result = build_site(config)

    assert (result.changed, result.written) == ([], 0)  # every file compared equal to what it would write: none rewritten
    make_pdf(root / "reports" / "report-2021-07-10-good.pdf")
    assert "nights/2021-07-10.html" in build_site(config).changed
    _equals_a_clean_build(tmp_path, root, "damaged")
    assert build_site(config).changed == []  # and the record is whole again


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


def test_a_new_night_draws_only_the_pages_it_changes_even_in_a_new_process(tmp_path, make_pdf):
    """Page keys are recorded with the site: a later build (any process) draws only pages whose inputs changed."""
    reports = tmp_path / "reports"
    for day in range(1, 21):
        make_pdf(reports / "a" / f"report-2021-07-{day:02d}-good.pdf", subject=f"night {day}")
    config = parse_config({}, tmp_path)
    first = build_site(config)
    assert first.drawn > 20
    make_pdf(reports / "a" / "report-2021-07-21-bad.pdf", subject="night 21")
    step = build_site(config)
    # The new night, its older neighbour, July's archive, the no-JS list page and the suite page; not the 19 others.
    assert 3 <= step.drawn <= 8, step.drawn
    assert "nights/a/2021-07-10.html" not in step.changed
    # A kept page edited by hand in place: a build with nothing changed only glances at folder stamps, so it is
    # left alone (the README's "Speed" section says so) ...
    page = tmp_path / "public" / "nights" / "a" / "2021-07-10.html"
    original = page.read_bytes()
    page.write_bytes(b"tampered")
    idle = build_site(config)
    assert idle.changed == [] and idle.drawn == 0 and page.read_bytes() == b"tampered"
    # ... and the next build with something to do notices it (the file no longer matches the record) and draws it again.
    make_pdf(reports / "a" / "report-2021-07-22-good.pdf", subject="night 22")
    fixed = build_site(config)
    assert page.read_bytes() == original and "nights/a/2021-07-10.html" in fixed.changed
    # A page deleted by hand changes its folder's stamp: even a build with nothing else to do puts it back.
    page.unlink()
    back = build_site(config)
    assert page.read_bytes() == original and back.changed == ["nights/a/2021-07-10.html"] and back.drawn == 1


def test_random_edits_always_give_the_clean_build(tmp_path, make_pdf):
    """A seeded random sequence of add, delete, rename, touch, config and template edits, each checked byte for byte."""
    import random
    import shutil

    from sitegen.site.assets import DEFAULT_THEME

    rng = random.Random(10)
    root = tmp_path / "project"
    reports = root / "reports"
    variants = [make_pdf(tmp_path / "v" / f"v{i}.pdf", subject=f"variant {i}", pages=[f"text {i}"]) for i in range(4)]
    nights: dict[str, str] = {}  # source -> status

    def add():
        suite = rng.choice(["a", "b", "c d"])
        day = f"2021-{rng.randint(6, 8):02d}-{rng.randint(1, 28):02d}"
        status = rng.choice(["good", "bad"])
        source = f"{suite}/report-{day}-{status}.pdf"
        (reports / suite).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rng.choice(variants), reports / source)
        nights[source] = status

    for _ in range(8):
        add()
    settings: dict = {"index_limit": 3}
    theme = root / "mytheme" / "templates"
    theme.mkdir(parents=True)
    settings["theme"] = "mytheme"

    def edit() -> str:
        kind = rng.choice(["add", "add", "delete", "rename", "touch", "config", "template"])
        existing = sorted(nights)
        if kind == "add" or not existing:
            add()
        elif kind == "delete":
            source = rng.choice(existing)
            (reports / source).unlink()
            del nights[source]
        elif kind == "rename":
            source = rng.choice(existing)
            good = source.endswith("-good.pdf")
            flipped = source.replace("-good.pdf", "-bad.pdf") if good else source.replace("-bad.pdf", "-good.pdf")
            os.rename(reports / source, reports / flipped)
            nights[flipped] = nights.pop(source)
        elif kind == "touch":
            source = rng.choice(existing)
            stamp = rng.randint(10**17, 10**18)
            os.utime(reports / source, ns=(stamp, stamp))
        elif kind == "config":
            settings["title"] = rng.choice(["Nights", "Cluster nights", "Chaos"])
            settings["index_limit"] = rng.randint(1, 5)
        else:  # a user template overriding the default card, with a word that changes
            card = (DEFAULT_THEME / "templates" / "card.html").read_text()
            marked = f'<div class="card-top" data-v="{rng.randint(0, 9)}">'
            (theme / "card.html").write_text(card.replace('<div class="card-top">', marked))
        return kind

    for step in range(25):
        kind = edit()
        build_site(parse_config(settings, root))
        other = tmp_path / f"clean-{step}"
        build_site(parse_config({**settings, "output": str(other / "public"), "cache_dir": str(other / "cache")}, root))
        assert tree(root / "public") == tree(other / "public"), f"step {step} ({kind}) differs from a clean build"
        shutil.rmtree(other)


def test_a_build_with_nothing_changed_reads_nothing_and_repeats_the_warnings(tmp_path, make_pdf, monkeypatch):
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf", summary={"schema": 1, "date": "2021-07-08", "status": "bad"})
    make_pdf(tmp_path / "reports" / "report-2021-07-10-good.pdf", subject="fine")
    config = parse_config({}, tmp_path)
    first = build_site(config)
    assert len(first.warnings) == 1 and "the name wins" in first.warnings[0]

    from sitegen.site import build as build_module

    def no_reading(*args, **kwargs):
        raise AssertionError("a no-change build must not load the extraction cache")

    monkeypatch.setattr(build_module.ExtractCache, "load", no_reading)
    again = build_site(config)
    assert again.warnings == first.warnings and again.shown == 2 and again.changed == []
    assert "2 reports; nothing changed" in again.describe()


def test_a_broken_link_pointed_elsewhere_is_seen_by_the_no_change_check(tmp_path, make_pdf):
    """Both targets are missing, so no stamp changes; the warning names the target, so the next build must not repeat the old one."""
    make_pdf(tmp_path / "reports" / "report-2021-07-09-good.pdf")
    link = tmp_path / "reports" / "report-2021-07-10-good.pdf"
    link.symlink_to(tmp_path / "gone-a.pdf")
    config = parse_config({}, tmp_path)
    assert any("gone-a.pdf" in w for w in build_site(config).warnings)
    link.unlink()
    link.symlink_to(tmp_path / "gone-b.pdf")
    again = build_site(config)
    assert any("gone-b.pdf" in w for w in again.warnings) and not any("gone-a.pdf" in w for w in again.warnings)


def test_a_build_with_nothing_changed_only_glances_at_stamps(tmp_path, make_pdf, monkeypatch):
    """No scan, no record, no walk of the output: the stamps of the reports and of the output's folders decide."""
    make_pdf(tmp_path / "reports" / "a" / "report-2021-07-09-bad.pdf", subject="nine")
    make_pdf(tmp_path / "reports" / "a" / "report-2021-07-10-good.pdf", subject="ten")
    (tmp_path / "reports" / "notes.txt").write_text("not a report")
    config = parse_config({}, tmp_path)
    first = build_site(config)
    assert any("not reports" in w for w in first.warnings)

    from sitegen.site import build as build_module

    def looked_closer(*args, **kwargs):
        raise AssertionError("a no-change build must not scan the reports or load the build record")

    with monkeypatch.context() as patched:
        patched.setattr(build_module, "scan_reports", looked_closer)
        patched.setattr(build_module.SiteRecord, "load", looked_closer)
        again = build_site(config)
    assert again.warnings == first.warnings and again.shown == 2 and again.changed == []
    assert set(again.timings) <= {"list", "inputs", "glance"}

    # Whatever changes a stamp is seen, and each build after it equals a clean one.
    report = tmp_path / "reports" / "a" / "report-2021-07-10-good.pdf"
    page = tmp_path / "public" / "nights" / "a" / "2021-07-10.html"
    os.utime(report, ns=(report.stat().st_atime_ns, report.stat().st_mtime_ns + 10**9))  # touched
    assert "scan" in build_site(config).timings
    report.chmod(0o600)  # who may read it decides whether it is published (tests/site/test_build.py)
    assert "scan" in build_site(config).timings
    report.chmod(0o644)
    assert "scan" in build_site(config).timings
    page.unlink()  # an output page deleted by hand
    assert build_site(config).changed == ["nights/a/2021-07-10.html"] and page.is_file()
    shutil.rmtree(tmp_path / "public" / "suites")  # a whole output folder
    assert any(p.startswith("suites/") for p in build_site(config).changed)
    (tmp_path / "public" / "index.html").write_bytes(b"tampered")  # a root file edited in place
    build_site(config)
    assert b"tampered" not in (tmp_path / "public" / "index.html").read_bytes()
    clean = build_site(parse_config({"output": str(tmp_path / "clean"), "cache_dir": str(tmp_path / "c2")}, tmp_path))
    assert clean.extracted == 2 and tree(tmp_path / "public") == tree(tmp_path / "clean")


def test_a_build_that_dies_while_writing_leaves_no_glance_to_trust(tmp_path, make_pdf, monkeypatch):
    make_pdf(tmp_path / "reports" / "report-2021-07-09-bad.pdf", subject="nine")
    config = parse_config({}, tmp_path)
    build_site(config)
    make_pdf(tmp_path / "reports" / "report-2021-07-10-good.pdf", subject="ten")
    from sitegen.site import build as build_module

    def dies(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(build_module, "write_or_fail", dies)
        with pytest.raises(KeyboardInterrupt):
            build_site(config)
    (tmp_path / "reports" / "report-2021-07-10-good.pdf").unlink()  # back to what the site holds
    after = build_site(config)
    assert "scan" in after.timings and after.changed == []


def test_a_new_night_reuses_the_lines_of_reports_json_for_every_other_night(tmp_path, make_pdf, monkeypatch):
    """Only the new night's line is drawn; the rest come from the reports.json the last build wrote, unless someone
    changed that file (then every line is drawn again, and the file is put right)."""
    from sitegen.site import catalog

    reports = tmp_path / "reports"
    for day in range(1, 8):
        make_pdf(reports / "s" / f"report-2021-07-{day:02d}-good.pdf", subject=f"night {day}")
    build = lambda: build_site(parse_config({}, tmp_path))  # noqa: E731
    build()
    drawn = []
    real = catalog.report_entry
    monkeypatch.setattr(catalog, "report_entry", lambda r, *a, **k: drawn.append(r.source) or real(r, *a, **k))

    make_pdf(reports / "s" / "report-2021-07-08-bad.pdf", subject="night 8")
    build()
    assert drawn == ["s/report-2021-07-08-bad.pdf"]

    site = tmp_path / "public" / "reports.json"
    site.write_bytes(site.read_bytes().replace(b"night 3", b"night 333"))  # edited by hand
    make_pdf(reports / "s" / "report-2021-07-09-good.pdf", subject="night 9")
    drawn.clear()
    build()
    assert len(drawn) == 9 and b"night 333" not in site.read_bytes()

    monkeypatch.undo()
    shutil.copytree(reports, tmp_path / "clean" / "reports")
    build_site(parse_config({}, tmp_path / "clean"))
    assert site.read_bytes() == (tmp_path / "clean" / "public" / "reports.json").read_bytes()


def test_lines_are_reused_only_from_a_catalog_that_fits_its_recorded_tokens():
    from sitegen.site.catalog import reusable_lines

    good = b'{"schema": 1, "reports": [\n  {"a": 1},\n  {"b": 2}\n ]}\n'
    assert reusable_lines(good, ["t1", "t2"]) == {"t1": b'{"a": 1}', "t2": b'{"b": 2}'}
    assert reusable_lines(good, ["t1"]) == {}  # another count of lines than recorded
    assert reusable_lines(good.replace(b"{\"b\"", b"[\"b\""), ["t1", "t2"]) == {}  # not one object per line
    assert reusable_lines(good[:-6], ["t1", "t2"]) == {}  # cut short
    assert reusable_lines(None, ["t1"]) == {} and reusable_lines(good, []) == {}


def test_a_pdf_rewritten_while_the_build_runs_is_published_anew_by_the_next_build(tmp_path, make_pdf, monkeypatch):
    """The record of a published PDF holds the stamp the scan saw: a rewrite after the scan is never taken for the old file."""
    import sitegen.site.build as build_mod

    root = tmp_path / "project"
    pdf = root / "reports" / "report-2021-07-09-bad.pdf"
    make_pdf(pdf, subject="first version")
    make_pdf(root / "reports" / "report-2021-07-10-good.pdf", subject="another night")
    build_site(parse_config({}, root))
    make_pdf(root / "reports" / "report-2021-07-11-good.pdf", subject="a new night, so the next build has work to do")
    real_scan = build_mod.scan_reports

    def scan_then_rewrite(*args):
        scanned = real_scan(*args)
        # Written as a new file and renamed over the old one, as the nightly job does: the site's link would keep the old one.
        make_pdf(root / "reports" / "next.tmp", subject="second version, written after the scan")
        os.utime(root / "reports" / "next.tmp", ns=(10**18, 10**18))
        os.replace(root / "reports" / "next.tmp", pdf)
        return scanned

    monkeypatch.setattr(build_mod, "scan_reports", scan_then_rewrite)
    build_site(parse_config({}, root))
    monkeypatch.setattr(build_mod, "scan_reports", real_scan)

    after = build_site(parse_config({}, root))

    assert after.extracted == 1  # the new version's summary is read; the others come from the cache
    assert (root / "public" / "pdf" / "report-2021-07-09-bad.pdf").read_bytes() == pdf.read_bytes()
    assert "second version" in (root / "public" / "reports.json").read_text()


def test_one_process_builds_on_after_its_cache_folder_is_deleted_and_for_another_cache_folder(tmp_path, make_pdf):
    """The dev server keeps compiled templates in the cache folder: deleting that folder while it runs, or building
    another project in the same process, must neither fail a build nor write into the first project's cache."""
    first, second = tmp_path / "first", tmp_path / "second"
    make_pdf(first / "reports" / "report-2021-07-08-good.pdf", subject="one")
    build_site(parse_config({}, first))
    shutil.rmtree(first / ".sitegen-cache")
    make_pdf(first / "reports" / "report-2021-07-09-bad.pdf", subject="two")

    # index_limit 1 draws list pages: a template the first build never compiled, so its compiled code is written now.
    result = build_site(parse_config({"index_limit": 1}, first))

    assert (first / "public" / "page" / "2.html").is_file() and result.shown == 2
    make_pdf(second / "reports" / "report-2021-07-09-good.pdf", subject="other project")
    make_pdf(second / "reports" / "report-2021-07-10-good.pdf", subject="other project, next night")
    first_templates = sorted((first / ".sitegen-cache" / "templates").iterdir())
    build_site(parse_config({"index_limit": 1, "title": "Other"}, second))
    assert any((second / ".sitegen-cache" / "templates").iterdir())  # its own compiled templates, in its own cache
    assert sorted((first / ".sitegen-cache" / "templates").iterdir()) == first_templates


def _same_size_variant(make_pdf, path, tag):
    """A PDF whose headline holds `tag` (four characters) as plain bytes: variants differ in content, not in size."""
    summary = {"schema": 1, "headline": f"headline {tag}", "date": path.name[7:17], "status": path.name[18:-4]}
    return make_pdf(path, subject=f"night {tag}", summary=summary)


def _equals_a_clean_build(tmp_path, root, label):
    other = tmp_path / f"clean-{label}"
    build_site(parse_config({"output": str(other / "public"), "cache_dir": str(other / "cache")}, root))
    assert tree(root / "public") == tree(other / "public")


def test_a_report_replaced_by_a_same_size_file_with_its_mtime_set_back_is_read_and_published_again(tmp_path, make_pdf):
    """`cp -p`, tar and rsync -t keep the mtime; the nightly job renames a new file over the old one: a new inode."""
    root = tmp_path / "project"
    pdf = _same_size_variant(make_pdf, root / "reports" / "a" / "report-2021-01-02-bad.pdf", "A002")
    _same_size_variant(make_pdf, root / "reports" / "a" / "report-2021-01-01-good.pdf", "A001")
    build_site(parse_config({}, root))
    before = pdf.stat()
    newer = pdf.with_name("next.tmp")
    newer.write_bytes(pdf.read_bytes().replace(b"A002", b"Z999"))
    os.utime(newer, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(newer, pdf)

    result = build_site(parse_config({}, root))

    assert result.extracted == 1
    assert "headline Z999" in (root / "public" / "reports.json").read_text()
    assert (root / "public" / "pdf" / "a" / "report-2021-01-02-bad.pdf").read_bytes() == pdf.read_bytes()
    _equals_a_clean_build(tmp_path, root, "replaced")


def test_a_symlinked_report_pointed_at_another_pdf_of_the_same_size_and_mtime_is_published_anew(tmp_path, make_pdf):
    root = tmp_path / "project"
    reports = root / "reports"
    first = _same_size_variant(make_pdf, reports / "a" / "report-2021-01-05-good.pdf", "P001")
    second = _same_size_variant(make_pdf, reports / "a" / "report-2021-01-06-good.pdf", "P002")
    stamp = first.stat()
    os.utime(second, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    (reports / "l").mkdir()
    link = reports / "l" / "report-2021-01-07-good.pdf"
    os.symlink("../a/report-2021-01-05-good.pdf", link)
    build_site(parse_config({}, root))
    link.unlink()
    os.symlink("../a/report-2021-01-06-good.pdf", link)

    build_site(parse_config({}, root))

    assert (root / "public" / "pdf" / "l" / "report-2021-01-07-good.pdf").read_bytes() == second.read_bytes()
    _equals_a_clean_build(tmp_path, root, "relinked")


def test_two_folders_shown_alike_are_two_reports_for_the_page_keys(tmp_path, make_pdf):
    """'x\\x01' and 'x\\x02' are both shown as 'x\\ufffd': when the one shown goes, the other's night takes its place,
    and its pages must say what its own PDF says even with the same size and mtime."""
    root = tmp_path / "project"
    reports = root / "reports"
    _same_size_variant(make_pdf, reports / "a" / "report-2021-01-01-good.pdf", "A001")
    kept = _same_size_variant(make_pdf, reports / "x\x01" / "report-2021-01-03-good.pdf", "X001")
    gone = _same_size_variant(make_pdf, reports / "x\x02" / "report-2021-01-03-good.pdf", "X002")
    stamp = kept.stat()
    os.utime(gone, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    build_site(parse_config({}, root))
    gone.unlink()

    build_site(parse_config({}, root))

    assert "headline X001" in (root / "public" / "reports.json").read_text()
    _equals_a_clean_build(tmp_path, root, "shown-alike")


def test_a_theme_of_bare_templates_that_gains_a_templates_folder_is_built_from_that_folder(tmp_path, make_pdf):
    """A user theme is either bare templates or the default's layout (templates/, static/): the folder that holds
    the templates decides, so an empty templates/ appearing is a change even though no file changed."""
    root = tmp_path / "project"
    make_pdf(root / "reports" / "report-2021-01-01-good.pdf", subject="one night")
    (root / "flat").mkdir()
    (root / "flat" / "base.html").write_text('{% extends "default:base.html" %}{% block footer %}<footer>FLAT</footer>{% endblock %}')
    build_site(parse_config({"theme": "flat"}, root))
    assert "FLAT" in (root / "public" / "index.html").read_text()
    (root / "flat" / "templates").mkdir()

    result = build_site(parse_config({"theme": "flat"}, root))

    assert "index.html" in result.changed and "FLAT" not in (root / "public" / "index.html").read_text()


def _a_folder_where_a_page_goes(tmp_path, make_pdf, inside: str):
    """A built site whose compare.html was replaced by hand with a folder holding `inside` (a file, or a folder)."""
    root = tmp_path / "project"
    make_pdf(root / "reports" / "report-2021-01-01-good.pdf", subject="one night")
    build_site(parse_config({}, root))
    page = root / "public" / "compare.html"
    page.unlink()
    page.mkdir()
    if inside.endswith("/"):
        (page / inside).mkdir()
    else:
        (page / inside).write_text("put here by hand")
    return root, page


def test_a_folder_put_where_a_page_belongs_is_replaced_by_the_page(tmp_path, make_pdf):
    root, page = _a_folder_where_a_page_goes(tmp_path, make_pdf, "stray.txt")

    build_site(parse_config({}, root))

    assert page.is_file()
    _equals_a_clean_build(tmp_path, root, "folder-for-page")
    assert not [p.name for p in page.parent.iterdir() if p.name.startswith(".sitegen-tmp")]


@pytest.mark.parametrize("site_on_its_own_file_system", [False, True])
def test_a_build_killed_after_setting_a_folder_aside_leaves_nothing_behind_after_the_next(
    tmp_path, make_pdf, site_on_its_own_file_system
):
    import subprocess
    import sys

    # A folder of folders: no file in it for the removal of unknown files to find.
    root, page = _a_folder_where_a_page_goes(tmp_path, make_pdf, "empty/")
    # A site on a file system of its own cannot set the folder aside into the staging folder beside it (EXDEV).
    cross = (
        "real_rename = os.rename\n"
        "def rename(src, dst, *a, **k):\n"
        f"    if str(src) == {str(page)!r} and '.sitegen-' in os.path.dirname(str(dst)):\n"
        "        raise OSError(18, 'Invalid cross-device link')\n"
        "    return real_rename(src, dst, *a, **k)\n"
        "os.rename = rename\n"
    )
    child = (
        "import os, pathlib, sys\n"
        "from sitegen.config import parse_config\n"
        "from sitegen.site.build import build_site\n"
        + (cross if site_on_its_own_file_system else "")
        + "real = os.replace\n"
        f"os.replace = lambda src, dst, *a, **k: os._exit(9) if str(dst) == {str(page)!r} else real(src, dst, *a, **k)\n"
        f"build_site(parse_config({{}}, pathlib.Path({str(root)!r})))\n"
    )
    assert subprocess.run([sys.executable, "-c", child], check=False).returncode == 9  # died as a SIGKILL would

    build_site(parse_config({}, root))

    assert page.is_file()
    assert not [p for p in root.rglob(".sitegen-tmp*")] and not [p for p in tmp_path.rglob("public.sitegen-*")]
    _equals_a_clean_build(tmp_path, root, "killed-aside")


def test_a_new_nights_pdf_is_in_place_before_its_page_appears(tmp_path, make_pdf, monkeypatch):
    """A build killed between the two must not leave a night page whose PDF link is dead (found by killing builds)."""
    import re

    root = tmp_path / "project"
    make_pdf(root / "reports" / "a" / "report-2023-01-01-good.pdf", subject="first")
    build_site(parse_config({}, root))
    for day in ("02", "03"):
        make_pdf(root / "reports" / "a" / f"report-2023-01-{day}-bad.pdf", subject=f"night {day}")
    real_replace, seen = os.replace, []

    def checking(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        dst = str(dst)
        if "/nights/" in dst and dst.endswith(".html"):
            with open(dst, encoding="utf-8") as fh:
                page = fh.read()
            for link in re.findall(r'href="([^"#?]+\.pdf)"', page):
                seen.append((dst, os.path.exists(os.path.join(os.path.dirname(dst), link))))

    monkeypatch.setattr(os, "replace", checking)
    build_site(parse_config({}, root))

    assert seen and all(there for _page, there in seen), seen
