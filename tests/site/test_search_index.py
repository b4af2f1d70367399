"""The search index (search/index.json and its shards), the no-JS list pages and the compare links, without a browser."""

from __future__ import annotations

import datetime as dt
import json

from sitegen.model import Report, SignatureSummary
from sitegen.site import layout, search_index
from sitegen.site.render import render_site
from tests.site.test_render import config, report


def night(day: str, status: str = "good", suite: str = "a", **kw) -> Report:
    """test_render's report, in suite "a" and with two metrics unless told otherwise."""
    return report(day, status, suite, **{"metrics": {"errors": 4, "min_qps": 4032.92}, **kw})


def nights(count: int, suite: str = "a", start: dt.date = dt.date(2021, 1, 1)) -> list[Report]:
    sig = SignatureSummary(key="k1", level="error", kind="error", count=3, message="region unavailable " + "x" * 200)
    days = [(start + dt.timedelta(days=i)).isoformat() for i in range(count)]
    return [night(day, "bad" if i % 3 == 0 else "good", suite, signatures=(sig,)) for i, day in enumerate(days)]


def load(files: dict[str, bytes], path: str = layout.SEARCH_INDEX):
    return json.loads(files[path])


def test_one_file_holds_every_night_with_what_its_card_shows(tmp_path):
    hostile = '<img src=x onerror=alert(1)>'
    reports = [
        night("2021-07-09", "bad", "a", summary=hostile,
              signatures=(SignatureSummary("k9", "fatal", 2, True, "panic", "tidb-0", "nil pointer"),)),
        night("2021-07-08", "flaky", "b"),
        night("2021-07-07", "good", ""),
    ]
    doc = load(render_site(config(tmp_path), reports))
    assert doc["count"] == 3 and doc["suites"] == ["", "a", "b"] and "shards" not in doc
    assert doc["statuses"]["bad"] == ["Needs a look", "status-bad", "alert", 1]
    first, second, third = doc["nights"]
    assert first["d"] == "2021-07-09" and first["t"] == "bad" and first["s"] == 1
    assert first["u"] == "nights/a/2021-07-09.html" and first["p"] == "pdf/a/report-2021-07-09-bad.pdf"
    assert first["h"] == hostile  # plain JSON: search.js sets it as text, never as HTML
    assert doc["sigs"] == [["k9", "panic", "nil pointer", "tidb-0"]] and first["g"] == [[0, 2, 1]]  # words once per file
    assert ["min_qps", "min QPS", "4,033", "", 4032.92] in first["m"]
    assert first["f"] == "3 pages · 20.0 KB"
    assert second["t"] == "flaky" and second["s"] == 2 and third["s"] == 0


def test_the_bytes_are_the_same_on_every_build(tmp_path):
    reports = nights(40)
    one = render_site(config(tmp_path), reports)
    two = render_site(config(tmp_path), list(reversed(reports)))
    assert {p: d for p, d in one.items() if p.startswith("search/")} == {p: d for p, d in two.items() if p.startswith("search/")}


def drawn(parts) -> dict[str, bytes]:
    """Every file of the search index, drawn."""
    return {path: draw() for path, _key, draw in parts}


def test_past_the_limit_nights_go_into_shards_and_a_new_night_changes_only_the_newest(tmp_path):
    reports = nights(150)  # Jan to May 2021
    header = search_index.index_header(["a"], {}, 300)

    def card(r):
        from sitegen.site.render import Card, Status

        return Card(r, Status(r.status, r.status, "#000", "#fff", False, True, "dot"), f"nights/{r.date}.html", f"pdf/{r.date}.pdf", 0)

    ordered = sorted(reports, key=lambda r: r.date, reverse=True)
    files = drawn(search_index.search_parts(header, ordered, card, 300, limit=40))
    manifest = json.loads(files[layout.SEARCH_INDEX])
    assert "nights" not in manifest and manifest["count"] == 150 and len(manifest["shards"]) > 2
    shards = manifest["shards"]
    assert [s["to"] for s in shards] == sorted((s["to"] for s in shards), reverse=True)  # newest shard first
    assert sum(s["count"] for s in shards) == 150
    seen = []
    for shard in shards:
        data = files[shard["url"]]
        assert len(json.loads(data)["nights"]) == shard["count"] <= 40
        dates = [n["d"] for n in json.loads(data)["nights"]]
        assert dates[0] == shard["to"] and dates[-1] == shard["from"] and dates == sorted(dates, reverse=True)
        seen += dates
    assert seen == [r.date.isoformat() for r in ordered]

    later = [night("2021-05-31", "good", "a"), *ordered]
    again = drawn(search_index.search_parts(header, later, card, 300, limit=40))
    changed = {p for p in set(files) | set(again) if files.get(p) != again.get(p)}
    assert changed == {layout.SEARCH_INDEX, shards[0]["url"]}


def test_the_index_page_has_the_form_with_counts_and_loads_no_index_itself(tmp_path):
    reports = [night("2021-07-09", "bad", "a"), night("2021-07-08", "good", "a"), night("2021-07-08", "bad", "b")]
    index = render_site(config(tmp_path), reports)["index.html"].decode()
    assert 'data-index="search/index.json"' in index and 'src="static/search.js"' in index
    assert '<link rel="preload"' not in index and "index.json\"" not in index.replace('data-index="search/index.json"', "")
    assert 'id="status-1" value="bad"' in index and 'data-for="status-1">2</span>' in index
    assert 'data-for="suite-all">3</span>' in index and 'id="night-count"' in index
    assert index.count("<h1") == 1


def test_no_js_list_pages_hold_every_night_and_only_the_newest_changes_with_a_new_night(tmp_path):
    cfg = config(tmp_path, index_limit=10)
    reports = nights(25)
    files = render_site(cfg, reports)
    assert sorted(p for p in files if p.startswith("page/")) == ["page/1.html", "page/2.html", "page/3.html"]
    index = files["index.html"].decode()
    assert 'href="page/3.html"' in index  # the newest page: the reader walks back from there
    oldest = files["page/1.html"].decode()
    assert oldest.count("<article") == 10 and 'data-date="2021-01-01"' in oldest and 'href="2.html"' in oldest
    assert files["page/3.html"].decode().count("<article") == 5
    more = render_site(cfg, [*reports, night("2021-01-26", "good", "a")])
    assert [p for p in ("page/1.html", "page/2.html", "page/3.html") if files[p] != more[p]] == ["page/3.html"]
    assert render_site(cfg, reports[:10]).keys().isdisjoint({"page/1.html"})  # one page: the index is the list


def test_each_night_page_links_compare_with_the_previous_night_of_its_suite(tmp_path):
    reports = [night("2021-07-09", "bad", "a b"), night("2021-07-07", "good", "a b"), night("2021-07-08", "good", "c")]
    files = render_site(config(tmp_path), reports)
    newest = files[layout.page_paths(reports)[reports[0].source]].decode()
    assert 'class="compare-link" href="../../compare.html?a=2021-07-07&amp;b=2021-07-09&amp;suite=a+b"' in newest
    assert "compare-link" not in files[layout.page_paths(reports)[reports[1].source]].decode()  # the first night has none
    compare = files["compare.html"].decode()
    assert 'src="static/compare.js"' in compare and 'data-index="search/index.json"' in compare


def test_the_search_index_follows_a_changed_night_and_the_summary_length(tmp_path):
    reports = nights(30)
    first = render_site(config(tmp_path), reports)
    changed = [*reports[:-1], night("2021-01-30", "bad", "a", summary="a new text")]
    again = render_site(config(tmp_path), changed)
    fresh = render_site(config(tmp_path), changed)
    assert again[layout.SEARCH_INDEX] == fresh[layout.SEARCH_INDEX] != first[layout.SEARCH_INDEX]
    assert "a new text" in again[layout.SEARCH_INDEX].decode()
    assert render_site(config(tmp_path, summary_length=40), changed)[layout.SEARCH_INDEX] != fresh[layout.SEARCH_INDEX]


def test_a_new_night_works_out_only_the_newest_shard(tmp_path, monkeypatch):
    """With the page keys of the previous build, unchanged shards are not even worked out (nor are their cards)."""
    from sitegen.site.render import render_pages

    monkeypatch.setattr(search_index, "SHARD_NIGHTS", 40)
    reports = nights(150)
    first = render_pages(config(tmp_path), reports)
    worked: list[str] = []
    real = search_index.night_entry

    def counting(report, card, summary_length):
        worked.append(report.date.isoformat())
        return real(report, card, summary_length)

    monkeypatch.setattr(search_index, "night_entry", counting)
    later = render_pages(config(tmp_path), [*reports, night("2021-05-31", "good", "a")], previous=first.keys)
    shards = [p for p in later.keys if p.startswith("search/") and p != layout.SEARCH_INDEX]
    assert len(shards) == 4
    assert set(worked) <= {r.date.isoformat() for r in reports[-40:]} | {"2021-05-31"}  # the newest shard's nights only
    assert len([p for p in shards if p in later.kept]) == 3
