"""The extraction cache: what invalidates it, what survives it, and that a no-change rebuild opens no PDF."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pypdf
import pytest

import sitegen.site.extract as extract_mod
from sitegen.config import parse_config
from sitegen.site.build import build_site
from sitegen.site.cache import CACHE_FORMAT, COMPACT_SLACK, ExtractCache
from sitegen.site.extract import Extracted


@pytest.fixture
def project(tmp_path, make_pdf):
    reports = tmp_path / "reports"
    make_pdf(reports / "report-2021-07-09-bad.pdf", subject="first night " * 20)
    make_pdf(reports / "a" / "report-2021-07-10-good.pdf", pages=["plain page text"])
    return tmp_path


def config(root, **raw):
    return parse_config(raw, root)


class Opened(Exception):
    pass


def forbid_pdf_reading(monkeypatch):
    def refuse(*args, **kwargs):
        raise Opened("a PDF was opened")

    monkeypatch.setattr(pypdf, "PdfReader", refuse)


def test_rebuild_with_nothing_changed_opens_no_pdf(project, monkeypatch):
    first = build_site(config(project))
    assert first.extracted == 2
    forbid_pdf_reading(monkeypatch)

    again = build_site(config(project))

    assert again.extracted == 0
    assert again.warnings == []  # a refused open would have become "corrupt PDF" warnings
    assert again.shown == 2 and again.reports == []  # not even the cache is read: the site already holds them
    assert again.changed == []


def test_changed_file_is_read_again_and_only_it(project, make_pdf, monkeypatch):
    build_site(config(project))
    path = project / "reports" / "report-2021-07-09-bad.pdf"
    make_pdf(path, subject="rewritten")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks

    result = build_site(config(project))

    assert result.extracted == 1
    assert {r.source: r.summary for r in result.reports}["report-2021-07-09-bad.pdf"] == "rewritten"


def test_summary_length_change_invalidates(project):
    build_site(config(project))
    result = build_site(config(project, summary_length=20))
    assert result.extracted == 2
    assert all(len(r.summary) <= 21 for r in result.reports)


def test_extractor_version_change_invalidates(project, monkeypatch):
    build_site(config(project))
    monkeypatch.setattr("sitegen.site.build.EXTRACTOR_VERSION", extract_mod.EXTRACTOR_VERSION + 1)
    assert build_site(config(project)).extracted == 2
    assert build_site(config(project)).extracted == 0


@pytest.mark.parametrize(
    "damage",
    [b"{not json", b"\xff\xfe", b'{"format": 1}', b"[]", b"[" * 100_000 + b"]" * 100_000],
    ids=["not-json", "not-utf8", "no-entries", "a-list", "100000-deep"],
)
def test_damaged_cache_is_rebuilt_with_a_warning(project, damage):
    build_site(config(project))
    (cache_file,) = (project / ".sitegen-cache").glob("extract-*.jsonl")
    cache_file.write_bytes(damage)
    # Nothing changed: the site already holds every night, so the cache is not even read.
    assert (build_site(config(project)).extracted, cache_file.read_bytes()) == (0, damage)
    pdf = next((project / "reports").rglob("*.pdf"))
    os.utime(pdf, ns=(10**18, 10**18))  # something changed: now the cache is needed

    result = build_site(config(project))

    assert result.extracted == 2
    assert len(result.warnings) == 1
    assert str(cache_file) in result.warnings[0] and "every PDF is read again" in result.warnings[0]
    # ... and repaired: the next build is quiet and reads nothing.
    after = build_site(config(project))
    assert (after.extracted, after.warnings) == (0, [])


def cache_lines(project):
    """The cache file, its header and its entries as [path, size, mtime_ns, inode, light, result]."""
    (cache_file,) = (project / ".sitegen-cache").glob("extract-*.jsonl")
    head, *lines = cache_file.read_bytes().splitlines()
    rows = [line.split(b"\t") for line in lines]
    entries = [[*json.loads(path_and_stamp), json.loads(result)] for path_and_stamp, result, _check in rows]
    return cache_file, [json.loads(head), *entries]


def got(cache, path, stamp):
    """What a cache holds for `path` at `stamp`, decoded in full (None for a miss)."""
    hit = cache.get(path, stamp)
    return None if hit is None else hit.load()


def test_cache_lives_outside_the_output_and_is_versioned_json_lines(project):
    build_site(config(project))
    _file, (header, *rows) = cache_lines(project)
    assert header["format"] == CACHE_FORMAT and f"extractor {extract_mod.EXTRACTOR_VERSION};" in header["stamp"]
    assert sorted(os.path.basename(row[0]) for row in rows) == ["report-2021-07-09-bad.pdf", "report-2021-07-10-good.pdf"]
    assert not any(p.name.startswith("extract-") for p in (project / "public").rglob("*"))


def test_a_new_report_appends_one_line_and_leaves_the_others_bytes_alone(project, make_pdf):
    build_site(config(project))
    cache_file, _ = cache_lines(project)
    before = cache_file.read_bytes()
    make_pdf(project / "reports" / "report-2021-07-11-good.pdf", subject="third night")

    assert build_site(config(project)).extracted == 1

    after = cache_file.read_bytes()
    assert after.startswith(before)
    (added,) = after[len(before):].splitlines()
    assert json.loads(added.partition(b"\t")[0])[0].endswith("report-2021-07-11-good.pdf")


def test_a_line_torn_by_a_killed_build_costs_only_that_entry(project, make_pdf, monkeypatch):
    build_site(config(project))
    cache_file, _ = cache_lines(project)
    make_pdf(project / "reports" / "report-2021-07-11-good.pdf", subject="third night")
    build_site(config(project))
    data = cache_file.read_bytes()
    cache_file.write_bytes(data[: len(data) - 40])  # the appended line cut short, as a kill mid-write leaves it
    os.utime(project / "reports" / "report-2021-07-11-good.pdf", ns=(10**18, 10**18))  # make the next build look

    result = build_site(config(project))

    assert (result.extracted, result.warnings) == (1, [])  # only the torn entry's PDF is read again, quietly
    forbid_pdf_reading(monkeypatch)
    os.utime(project / "reports" / "report-2021-07-09-bad.pdf", ns=(10**18, 10**18))
    assert build_site(config(project)).extracted == 1  # the re-read one is cached again: only the touched file
    _file, (_header, *rows) = cache_lines(project)  # every line of the file reads again
    assert len(rows) >= 3


def test_removed_reports_leave_the_cache_when_it_is_compacted(project, monkeypatch):
    monkeypatch.setattr("sitegen.site.cache.COMPACT_SLACK", 0)  # compact as soon as one line is dead
    build_site(config(project))
    (project / "reports" / "a" / "report-2021-07-10-good.pdf").unlink()
    build_site(config(project))
    _file, (_header, *rows) = cache_lines(project)
    assert [os.path.basename(row[0]) for row in rows] == ["report-2021-07-09-bad.pdf"]


def test_dead_lines_stay_bounded_however_often_a_report_is_rewritten(tmp_path):
    value = Extracted(title="t")
    for round_ in range(200):
        cache, warnings = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
        assert warnings == []
        cache.get(tmp_path / "x.pdf", (1, round_, 0))
        cache.put(tmp_path / "x.pdf", (1, round_, 0), value)
        assert cache.save() == []
    (cache_file,) = (tmp_path / "cache").glob("*.jsonl")
    assert len(cache_file.read_bytes().splitlines()) <= 2 + COMPACT_SLACK
    again, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    assert got(again, tmp_path / "x.pdf", (1, 199, 0)) == value and got(again, tmp_path / "x.pdf", (1, 198, 0)) is None


def test_the_cache_of_an_older_sitegen_is_replaced(project):
    build_site(config(project))
    cache_file, _ = cache_lines(project)
    legacy = cache_file.with_suffix(".json")
    legacy.write_text('{"format": 1, "stamp": "x", "entries": {}}')
    cache_file.unlink()
    os.utime(next((project / "reports").rglob("*.pdf")), ns=(10**18, 10**18))

    assert build_site(config(project)).extracted == 2
    assert not legacy.exists() and cache_file.exists()


def test_a_cache_of_the_previous_line_format_is_read_again_quietly_and_rewritten(project):
    build_site(config(project))
    cache_file, (header, *rows) = cache_lines(project)
    # Format 2 kept each result as an object with its key names; this sitegen cannot use those lines.
    old_lines = [json.dumps({"format": 2, "stamp": header["stamp"]})]
    old_lines += [json.dumps(row[:3]) + "\t" + json.dumps({"title": "stale", "summary": "stale"}) for row in rows]
    cache_file.write_text("\n".join(old_lines) + "\n")
    os.utime(next((project / "reports").rglob("*.pdf")), ns=(10**18, 10**18))  # else nothing changed: no build

    again = build_site(config(project))

    assert (again.extracted, again.warnings) == (2, [])
    assert "stale" not in (project / "public" / "reports.json").read_text()
    _file, (new_header, *new_rows) = cache_lines(project)
    assert new_header["format"] == CACHE_FORMAT and all(isinstance(row[-1], list) for row in new_rows)


def test_signatures_survive_the_cache_field_by_field(tmp_path):
    from sitegen.model import SignatureSummary

    sigs = (
        SignatureSummary("k1", "fatal", 2, new=True, kind="panic", component="tidb-0", message="m", pattern="p",
                         first_seen="2021-07-09T01:00:00+00:00", last_seen="2021-07-09T02:00:00+00:00"),
        SignatureSummary("k2", "warn", 0, kind="warn"),  # as extraction makes them: kind defaults to the level
    )
    value = Extracted(title="t", summary="s", pages=1, metrics={"errors": 1.5}, extra={"x": [1]}, summary_date="2021-07-09",
                      summary_status="bad", summary_suite="a", problems=("p",), signatures=sigs)
    cache, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    cache.put(tmp_path / "x.pdf", (1, 1, 0), value)
    assert cache.save() == []
    loaded, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    assert got(loaded, tmp_path / "x.pdf", (1, 1, 0)) == value
    # What every build reads of every report without decoding the rest: the same values.
    hit = loaded.get(tmp_path / "x.pdf", (1, 1, 0))
    assert (hit.summary_date, hit.summary_status, hit.summary_suite, hit.problems) == ("2021-07-09", "bad", "a", ("p",))
    assert hit.signature_keys == ("k1", "k2")


@pytest.mark.parametrize(
    "edit",
    [(b'"s"', b'"forged summary"'), (b'["p"]', b'["forged problem"]'), (b'"k1"', b'"k9"'), (b'1.5', b'2.5')],
    ids=["summary", "problem", "signature-key", "metric"],
)
def test_a_line_edited_by_hand_into_valid_json_is_read_again(tmp_path, edit):
    """A line's check covers all of it: an edit that keeps the JSON valid is not shown as the PDF's own words."""
    from sitegen.model import SignatureSummary

    sigs = (SignatureSummary("k1", "warn", 1),)
    value = Extracted(title="t", summary="s", metrics={"errors": 1.5}, problems=("p",), signatures=sigs)
    cache, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    cache.put(tmp_path / "x.pdf", (1, 1, 0), value)
    cache.put(tmp_path / "y.pdf", (1, 1, 0), Extracted(summary="untouched"))
    cache.save()
    file = cache.file
    lines = file.read_bytes().split(b"\n")
    (index,) = [i for i, line in enumerate(lines) if b"x.pdf" in line]
    assert edit[0] in lines[index]
    lines[index] = lines[index].replace(*edit)
    file.write_bytes(b"\n".join(lines))

    loaded, warnings = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")

    assert warnings == [] and loaded.get(tmp_path / "x.pdf", (1, 1, 0)) is None
    assert got(loaded, tmp_path / "y.pdf", (1, 1, 0)) == Extracted(summary="untouched")


def test_an_edited_cache_line_is_read_again_from_its_pdf_by_the_build(project, monkeypatch):
    first = build_site(config(project))
    summary = {r.source: r.summary for r in first.reports}["report-2021-07-09-bad.pdf"]
    cache_file, _ = cache_lines(project)
    data = cache_file.read_bytes()
    word = summary.split()[0].encode()
    cache_file.write_bytes(data.replace(word, b"forged", 1))
    os.utime(project / "reports" / "a" / "report-2021-07-10-good.pdf", ns=(10**18, 10**18))  # the other one: a build to do

    again = build_site(config(project))

    assert again.extracted == 2 and again.warnings == []  # the touched one, and the one whose line fails its check
    assert {r.source: r.summary for r in again.reports}["report-2021-07-09-bad.pdf"] == summary
    assert b"forged" not in (project / "public" / "reports.json").read_bytes()


@pytest.mark.parametrize("result", [b'["t"]', b'[1,2,3,4,{},{},5,6,7,[],[["k"]]]', b'["t","s","none",1,[],{},null,null,null,[],[]]'])
def test_a_cache_line_of_the_wrong_shape_is_read_again_not_trusted(tmp_path, result):
    (tmp_path / "cache").mkdir()
    cache, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    cache.save()  # no file yet: writes nothing
    file = tmp_path / "cache" / cache.file.name
    file.write_bytes(cache._header() + json.dumps([str(tmp_path / "x.pdf"), 1, 1, 0]).encode() + b"\t" + result + b"\n")
    loaded, warnings = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    assert warnings == [] and got(loaded, tmp_path / "x.pdf", (1, 1, 0)) is None


def test_key_is_size_and_mtime_and_survives_a_reload(tmp_path):
    cache, warnings = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    assert warnings == []
    value = Extracted(title="t", summary="s", pages=2, metrics={"errors": 3}, problems=("p",))
    cache.put(tmp_path / "x.pdf", (10, 5, 0), value)
    assert got(cache, tmp_path / "x.pdf", (10, 5, 0)) == value
    assert got(cache, tmp_path / "x.pdf", (11, 5, 0)) is None
    assert got(cache, tmp_path / "x.pdf", (10, 6, 0)) is None
    assert cache.save() == []

    loaded, warnings = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    assert warnings == []
    assert got(loaded, tmp_path / "x.pdf", (10, 5, 0)) == value
    other, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "another stamp")
    assert got(other, tmp_path / "x.pdf", (10, 5, 0)) is None


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    cache = ExtractCache(tmp_path / "cache" / "c.jsonl", "stamp")
    cache.put(tmp_path / "x.pdf", (1, 1, 0), Extracted())
    cache.save()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["c.jsonl", "c.jsonl.lock"]


def test_unwritable_cache_is_a_warning(tmp_path):
    (tmp_path / "blocker").write_text("a file where the cache folder should be")
    cache = ExtractCache(tmp_path / "blocker" / "c.jsonl", "stamp")
    cache.put(tmp_path / "x.pdf", (1, 1, 0), Extracted())
    (warning,) = cache.save()
    assert "cannot be written" in warning


def test_two_sites_with_other_settings_never_read_each_others_results(tmp_path):
    # Two outputs from one reports folder build at the same time (their build locks are per output).
    short, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "summary_length 100")
    long_, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "summary_length 500")
    long_.put(tmp_path / "b.pdf", (1, 1, 0), Extracted(summary="made for 500"))
    assert long_.save() == []
    short.put(tmp_path / "a.pdf", (1, 1, 0), Extracted(summary="made for 100"))
    assert short.save() == []  # the file is no longer the one it loaded: it is rewritten, not appended to

    for stamp, path, expected in (("summary_length 100", "a.pdf", "made for 100"), ("summary_length 500", "a.pdf", None)):
        again, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", stamp)
        hit = got(again, tmp_path / path, (1, 1, 0))
        assert (hit.summary if hit else None) == expected


def test_two_builds_appending_at_once_lose_at_most_an_entry(tmp_path):
    first, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    first.put(tmp_path / "a.pdf", (1, 1, 0), Extracted(summary="a"))
    first.save()
    one, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    two, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    for cache, name in ((one, "b"), (two, "c")):
        assert got(cache, tmp_path / "a.pdf", (1, 1, 0)) == Extracted(summary="a")
        cache.put(tmp_path / f"{name}.pdf", (1, 1, 0), Extracted(summary=name))
        assert cache.save() == []

    after, warnings = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    assert warnings == []
    found = {name: got(after, tmp_path / f"{name}.pdf", (1, 1, 0)) for name in "abc"}
    assert found["a"] == Extracted(summary="a") and found["c"] == Extracted(summary="c")
    assert found["b"] in (None, Extracted(summary="b"))  # lost at worst (read again), never wrong


def test_a_hand_edited_line_costs_only_itself(tmp_path):
    cache, _ = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")
    cache.put(tmp_path / "a.pdf", (1, 1, 0), Extracted(summary="a"))
    cache.save()
    (file,) = (tmp_path / "cache").glob("*.jsonl")
    with file.open("ab") as fh:
        fh.write(b'"x",1,2\t["t"]\n')  # a head with commas at its top level: three values, not one

    loaded, warnings = ExtractCache.load(tmp_path / "cache", tmp_path / "reports", "stamp")

    assert warnings == []
    assert got(loaded, tmp_path / "a.pdf", (1, 1, 0)) == Extracted(summary="a")
    assert got(loaded, Path("x"), (1, 2, 0)) is None


def test_a_cache_folder_that_cannot_be_used_is_named_and_the_site_is_left_alone(project):
    from sitegen.errors import BuildError

    (project / "blocker").write_text("a file where the cache folder should be")
    with pytest.raises(BuildError, match=r"cache folder .*blocker.* cannot be used"):
        build_site(config(project, cache_dir="blocker"))
    assert not (project / "public").exists()
