"""The history pages as rendered: the overview on the index, a page per suite (trend, calendar, nights), first-seen on night pages.

Render output is parsed, never string-matched alone; fixtures have gaps, several suites, a duplicate night and
suite names that need derived folder names. One Chromium test follows a calendar cell to its night.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import posixpath
import re

import pytest

from sitegen.config import parse_config
from sitegen.model import Report, SignatureSummary
from sitegen.site import layout
from sitegen.site.render import render_site
from sitegen.site.trend import nice_ceiling, trend


def report(day: str, status: str = "good", suite: str = "a", metrics: dict | None = None, sigs: tuple[str, ...] = (), **kw) -> Report:
    name = kw.pop("name", f"report-{day}-{status}.pdf")
    fields = {
        "source": f"{suite}/{name}" if suite else name,
        "date": dt.date.fromisoformat(day),
        "status": status,
        "suite": suite,
        "title": "",
        "summary": f"headline of {suite} {day}",
        "pages": 2,
        "bytes": 1000,
        "metrics": metrics if metrics is not None else {"errors": 10, "worst_ttr_s": 30, "min_qps": 4000},
        "signatures": tuple(SignatureSummary(key=k, level="error", count=3, message=f"message {k}") for k in sigs),
    }
    fields.update(kw)
    return Report(**fields)


class Page(html.parser.HTMLParser):
    """Elements of a page as (tag, attrs, text) with the text inside each element; enough to query a few classes."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict] = []
        self._open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": {k: v or "" for k, v in attrs}, "text": "", "parents": [e["tag"] for e in self._open]}
        element["inside"] = set().union(*(e["classes"] for e in self._open))  # classes of the elements around it
        element["classes"] = set(element["attrs"].get("class", "").split())
        self.elements.append(element)
        if tag not in {"meta", "link", "input", "br", "img", "rect", "path"}:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self._open and self._open[-1]["tag"] == tag:
            self._open.pop()

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def find(self, cls: str, tag: str | None = None) -> list[dict]:
        return [e for e in self.elements if cls in e["classes"] and (tag is None or e["tag"] == tag)]


def parse(data: bytes) -> Page:
    page = Page()
    page.feed(data.decode())
    return page


def words(text: str) -> str:
    return " ".join(text.split())


def resolve(from_page: str, href: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(from_page), href.split("#")[0]))


@pytest.fixture
def site(tmp_path):
    """Two suites with gaps: `a` bad now for 2 nights, with a missing night in the middle; `b` good for 3 since a bad one."""
    reports = [
        report("2021-06-28", "good", "a", sigs=("old",)),
        report("2021-06-29", "bad", "a", sigs=("old", "panic")),
        # 06-30 missing: a gap
        report("2021-07-01", "good", "a", metrics={"errors": 5}, sigs=("old",)),
        report("2021-07-02", "bad", "a", metrics={}, sigs=("panic",)),
        report("2021-07-03", "bad", "a", sigs=("panic", "brand-new")),
        report("2021-07-03", "good", "a", name="report-2021-07-03-good.pdf"),  # a good duplicate never hides the bad one
        report("2021-06-30", "bad", "b"),
        report("2021-07-01", "good", "b"),
        report("2021-07-02", "good", "b"),
        report("2021-07-03", "good", "b", sigs=("old",)),
    ]
    return render_site(parse_config({}, tmp_path), reports), reports


def test_overview_has_one_row_per_suite_bad_now_first_with_streak_rate_and_sparkline(site):
    files, _ = site
    index = parse(files["index.html"])
    rows = index.find("suite-row", "li")
    names = [words(e["text"]) for e in index.find("suite-row-name")]
    assert names == ["a", "b"]
    a, b = (words(r["text"]) for r in rows)
    assert "Bad for 2 nights in a row, since Fri 2 Jul 2021" in a
    assert "Good for 3 nights since the last bad one, Wed 30 Jun 2021" in b
    assert "40 % good of the last 5 nights" in a and "75 % good of the last 4 nights" in b
    assert "headline of a 2021-07-03" in a  # the latest night's headline (the bad duplicate's)
    # The sparkline: one box per night, oldest first; bad ones are tall (class `bad`), and it has a text alternative.
    spark_a, spark_b = index.find("spark")
    assert spark_a["attrs"]["role"] == "img"
    assert spark_a["attrs"]["aria-label"] == "The last 5 nights, oldest first: 2 good, 3 bad"
    assert spark_b["attrs"]["aria-label"] == "The last 4 nights, oldest first: 3 good, 1 bad"
    boxes = [e for e in index.elements if e["tag"] == "i" and "spark" in e["inside"]]
    assert len(boxes) == 9
    assert ["bad" in e["classes"] for e in boxes[:5]] == [False, True, False, True, True]
    assert boxes[1]["attrs"]["title"] == "Tue 29 Jun 2021: Needs a look"
    # Links: the suite's page and the latest night, both existing pages.
    links = [e["attrs"]["href"] for e in index.elements if e["tag"] == "a" and "suite-row" in e["inside"]]
    assert "suites/a/index.html" in links and "nights/a/2021-07-03.html" in links
    assert all(resolve("index.html", href) in files for href in links)


def test_a_status_the_config_does_not_know_is_neither_good_nor_bad_in_the_overview(tmp_path):
    """A suite whose only night is `flaky` used to read "Good for all 1 night, none bad" and "100 % good"."""
    reports = [report("2021-07-12", "flaky", "")]
    reports += [report("2021-07-01", "bad", "b"), report("2021-07-02", "good", "b"), report("2021-07-03", "flaky", "b")]
    reports += [report("2021-07-02", "flaky", "c"), report("2021-07-03", "good", "c")]
    days = (("2021-07-01", "bad"), ("2021-07-02", "flaky"), ("2021-07-03", "good"), ("2021-07-04", "good"))
    reports += [report(d, s, "d") for d, s in days]
    files = render_site(parse_config({}, tmp_path), reports)
    index = parse(files["index.html"])
    names = index.find("suite-row-name")
    rows = {words(e["text"]): words(r["text"]) for r, e in zip(index.find("suite-row", "li"), names, strict=True)}
    only = rows["(no suite)"]
    assert "Status unknown for the last 1 night" in only and "0 % good of the last 1 night" in only
    assert "Good for" not in only and "none bad" not in only
    assert "Status unknown for the last 1 night; the last bad one was Thu 1 Jul 2021" in rows["b"]
    assert "33 % good of the last 3 nights" in rows["b"]
    assert "Good for the last 1 night, none bad" in rows["c"] and "Good for all" not in rows["c"]
    # The bad night is not the one just before the good run: no "since the last bad one".
    assert "Good for the last 2 nights; the last bad one was Thu 1 Jul 2021" in rows["d"] and "since" not in rows["d"]
    spark = {e["attrs"]["aria-label"] for e in index.find("spark")}
    assert "The last 3 nights, oldest first: 1 good, 1 bad, 1 of unknown status" in spark


def test_needs_a_look_now_counts_and_links_only_the_latest_bad_night_of_each_suite(site):
    files, _ = site
    index = parse(files["index.html"])
    (look,) = index.find("overview-look")
    assert words(look["text"]).startswith("1 needs a look now:")
    links = [e["attrs"]["href"] for e in index.elements if e["tag"] == "a" and "overview-look" in e["inside"]]
    assert links == ["nights/a/2021-07-03.html"]
    text = words(look["text"])
    assert "a, Sat 3 Jul 2021" in text and "b," not in text


def test_suite_page_has_row_trend_calendar_and_nights_and_every_link_resolves(site):
    files, _ = site
    path = "suites/a/index.html"
    page = parse(files[path])
    assert words(next(e for e in page.elements if e["tag"] == "h1")["text"]) == "a"
    assert len(page.find("suite-row", "li")) == 1
    for e in page.elements:
        if e["tag"] == "a" and e["attrs"].get("href") and not e["attrs"]["href"].startswith("#"):
            assert resolve(path, e["attrs"]["href"]) in files, e["attrs"]["href"]
    # Nights table: every night of the suite once (duplicates are one night), newest first, metrics or a dash.
    rows = [e for e in page.elements if e["tag"] == "tr" and "nights-table" in e["inside"] and "tbody" in e["parents"]]
    assert len(rows) == 5 and "needs-look" in rows[0]["classes"]
    assert "–" in words(rows[1]["text"])  # 2 Jul has no metrics
    heads = [words(e["text"]) for e in page.elements if e["tag"] == "th" and e["attrs"].get("scope") == "row"]
    assert heads == ["Sat 3 Jul 2021", "Fri 2 Jul 2021", "Thu 1 Jul 2021", "Tue 29 Jun 2021", "Mon 28 Jun 2021"]


def test_trend_marks_bad_nights_breaks_at_gaps_and_has_a_text_alternative(site):
    files, _ = site
    page = parse(files["suites/a/index.html"])
    assert len([e for e in page.elements if e["tag"] == "figure"]) == 1
    caption = words(next(e for e in page.elements if e["tag"] == "figcaption")["text"])
    assert "Mon 28 Jun 2021 to Sat 3 Jul 2021" in caption and "3 bad nights" in caption
    svgs = [e for e in page.elements if e["tag"] == "svg" and "trend-svg" in e["classes"]]
    assert len(svgs) == 3 and all(s["attrs"]["aria-hidden"] == "true" for s in svgs)
    assert svgs[0]["attrs"]["viewbox"] == "0 0 6 100"  # six calendar days, 28 Jun to 3 Jul
    labels = [words(e["text"]) for e in page.find("trend-label")]
    assert labels[0].startswith("errors latest 10")
    bands = page.find("trend-bad")
    assert {b["attrs"]["x"] for b in bands} == {"1", "4", "5"}  # 29 Jun, 2 Jul, 3 Jul
    paths = [e["attrs"]["d"] for e in page.find("trend-line")]
    # errors: 28-29 Jun joined, a break for the missing 30 Jun, 1 Jul alone (2 Jul has no metrics), then 3 Jul.
    assert paths[0].count("M") == 3
    strip = [e for e in page.elements if e["tag"] == "rect" and "trend-strip" in e["inside"]]
    assert [r["attrs"]["height"] for r in strip] == ["3", "10", "3", "10", "10"]


def test_search_words_are_whole_words_from_the_start_of_the_message():
    from sitegen.site.suite_pages import search_words

    assert search_words("  region   unavailable  ") == "region unavailable"
    assert search_words("a b c d e f g h i j") == "a b c d e f g h"
    assert search_words("invalid memory addr…") == "invalid memory"


def test_trend_panels_only_for_metrics_that_are_present():
    from sitegen.site.history import Night

    nights = [Night(report(f"2021-07-0{d}", metrics={"errors": d}), False) for d in (3, 2, 1)]
    shown = trend(nights)
    assert [p.key for p in shown.panels] == ["errors"]
    assert shown.panels[0].path.count("M") == 1 and shown.panels[0].top == "3"
    assert trend([]) is None
    assert [nice_ceiling(v) for v in (0, 1, 7, 226, 1204, 30, 11_474)] == [1, 1, 8, 250, 1500, 30, 15_000]


def test_calendar_cells_link_their_nights_and_show_gaps_with_a_shape_not_only_colour(site):
    files, _ = site
    path = "suites/a/index.html"
    page = parse(files[path])
    cells = [e for e in page.find("cal-day", "a")]
    assert len(cells) == 5
    for cell in cells:
        target = resolve(path, cell["attrs"]["href"])
        night = parse(files[target])
        body = next(e for e in night.elements if e["tag"] == "body")
        day = dt.date.fromisoformat(body["attrs"]["data-date"])
        assert cell["attrs"]["aria-label"].startswith(f"{day.day}: ")
        assert cell["attrs"]["title"].startswith(f"{day:%a} {day.day} ")
        glyph = words(cell["text"])
        assert glyph == ("!" if "status-bad" in cell["classes"] else "✓")
    bad = [c for c in cells if "status-bad" in c["classes"]]
    assert len(bad) == 3 and all("cal-alert" in c["classes"] for c in bad)
    gaps = [g for g in page.find("cal-gap", "span") if "cal-legend" not in g["inside"]]
    assert [g["attrs"]["title"] for g in gaps] == ["Wed 30 Jun 2021: no report"]
    year = words(page.find("cal-year-title")[0]["text"])
    assert year == "2021 5 nights · 3 bad · 1 day without a report"
    captions = [words(e["text"]) for e in page.elements if e["tag"] == "caption"]
    assert captions == ["June 2021", "July 2021"]


def test_night_page_lists_first_seen_and_how_often_lately(site):
    files, _ = site
    page = parse(files["nights/a/2021-07-03.html"])
    lines = [words(e["text"]).removesuffix(" · search the nights for it") for e in page.find("sig-history")]
    assert "First seen Tue 29 Jun 2021 · in 3 of the last 5 nights" in lines  # panic: 29 Jun, 2 Jul, 3 Jul
    assert "First seen this night · in 1 of the last 5 nights" in lines  # brand-new
    first = [e["attrs"]["href"] for e in page.elements if e["tag"] == "a" and "sig-history" in e["inside"]]
    # The first night, and the index's search (search.js) for the signature's words in this suite.
    assert first == ["2021-06-29.html", "../../index.html?suite=a&q=message+panic", "../../index.html?suite=a&q=message+brand-new"]
    # An older night counts the nights up to itself, so it does not change when newer nights arrive.
    older = parse(files["nights/a/2021-06-29.html"])
    assert "First seen Mon 28 Jun 2021 · in 2 of the last 2 nights · search the nights for it" in [
        words(e["text"]) for e in older.find("sig-history")
    ]
    # Suite b's "old" is its own: first seen in b, not in a.
    b = parse(files["nights/b/2021-07-03.html"])
    lines_b = [words(e["text"]) for e in b.find("sig-history")]
    assert lines_b == ["First seen this night · in 1 of the last 4 nights · search the nights for it"]
    # The night page links its suite's page.
    assert any(e["attrs"].get("href") == "../../suites/a/index.html" for e in page.elements if e["tag"] == "a")


def test_suite_names_that_need_derived_folders_never_share_a_page_and_are_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    reports = [report("2021-07-01", "bad", s) for s in ("A", "a", "x y", evil)] + [report("2021-07-01", "good", "")]
    files = render_site(parse_config({}, tmp_path), reports)
    pages = sorted(p for p in files if p.startswith(f"{layout.SUITES_DIR}/"))
    assert len(pages) == 5 and len({p.casefold() for p in pages}) == 5
    assert "suites/a/index.html" in pages and "suites/~root/index.html" in pages
    index = files["index.html"].decode()
    assert evil not in index and "&lt;script&gt;" in index
    for path in pages:
        assert b"<script>alert" not in files[path]
    names = [words(e["text"]) for e in parse(files["index.html"]).find("suite-row-name")]
    assert "(no suite)" in names


def test_history_pages_are_deterministic_and_reused_when_unchanged(tmp_path):
    reports = [report(f"2021-07-{d:02d}", "bad" if d % 3 == 0 else "good", s, sigs=("k",)) for d in range(1, 20) for s in ("a", "b")]
    config = parse_config({}, tmp_path)
    first = render_site(config, reports)
    again = render_site(config, list(reversed(reports)))
    assert first == again
    # A new night of suite a: b's page and a's older night pages stay byte-identical.
    more = render_site(config, [*reports, report("2021-07-20", "good", "a", sigs=("k",))])
    assert more["suites/b/index.html"] == first["suites/b/index.html"]
    assert more["nights/a/2021-07-10.html"] == first["nights/a/2021-07-10.html"]
    assert more["suites/a/index.html"] != first["suites/a/index.html"]


def test_earlier_years_have_their_own_calendar_pages_that_a_new_night_leaves_alone(tmp_path):
    """Three years of nights: the suite's page shows the newest year's calendar and lists every year; each earlier
    year has its page (every night a square linked to its page); a new night redraws the suite's page only."""
    start = dt.date(2019, 11, 20)
    reports = [report((start + dt.timedelta(days=d)).isoformat(), "bad" if d % 9 == 0 else "good", "a") for d in range(800)]
    config = parse_config({}, tmp_path)
    first = render_site(config, reports)
    index, years = "suites/a/index.html", ["suites/a/2019.html", "suites/a/2020.html", "suites/a/2021.html"]
    assert all(path in first for path in years) and "suites/a/2022.html" not in first  # 2022 is on the suite's page
    suite = parse(first[index])
    assert [words(e["text"]).split()[0] for e in suite.find("cal-year-title")] == ["2022"]
    listed = [(words(e["text"]), resolve(index, e["attrs"]["href"]) if e["tag"] == "a" else None)
              for e in suite.elements if e["tag"] in ("a", "strong") and "cal-years" in e["inside"]]
    assert listed == [("2022", None), ("2021", years[2]), ("2020", years[1]), ("2019", years[0])]
    for path in years:
        page = parse(first[path])
        year = int(path[-9:-5])
        linked = [resolve(path, e["attrs"]["href"]) for e in page.find("cal-day", "a")]
        nights = [r for r in reports if r.date.year == year]
        assert len(linked) == len(nights) and all(link in first for link in linked)
        assert [words(e["text"]).split()[0] for e in page.find("cal-year-title")] == [str(year)]
        back = [e for e in page.elements if e["tag"] == "a" and e["attrs"].get("rel") == "up"]
        assert resolve(path, back[0]["attrs"]["href"]) == index
    # The next night: the suite's page changes, the earlier years' pages are byte for byte the same.
    later = reports[-1].date + dt.timedelta(days=1)
    more = render_site(config, [*reports, report(later.isoformat(), "bad", "a")])
    assert more[index] != first[index]
    assert all(more[path] == first[path] for path in years)


def test_index_overview_stays_small_with_many_suites(tmp_path):
    start = dt.date(2021, 1, 1)
    reports = [
        report((start + dt.timedelta(days=d)).isoformat(), "bad" if (d * 7 + s) % 5 == 0 else "good", f"suite-{s}")
        for s in range(10) for d in range(60)
    ]
    files = render_site(parse_config({}, tmp_path), reports)
    index = files["index.html"].decode()
    overview = index[index.index('<section class="suites"'):index.index("</section>", index.index('<section class="suites"'))]
    assert len(parse(files["index.html"]).find("suite-row", "li")) == 10
    assert len(overview.encode()) < 30_000  # 10 suites, 3 KB each: a small part of the index's 150 KB budget
    assert re.search(r'href="suites/suite-0/index.html"', overview)


@pytest.mark.browser
def test_a_calendar_cell_opens_its_night_in_chromium(tmp_path, static_server, page, make_pdf):
    from sitegen.site.build import build_site

    reports = tmp_path / "reports" / "cluster-a"
    for day, status in (("2021-07-05", "good"), ("2021-07-07", "bad"), ("2021-07-08", "good")):
        make_pdf(reports / f"report-{day}-{status}.pdf", subject=f"night {day}")
    build_site(parse_config({"reports": "reports", "output": "public", "cache_dir": "cache"}, tmp_path))
    base = static_server(tmp_path / "public")
    page.goto(base + "index.html")
    page.click("a[href='suites/cluster-a/index.html']")
    page.wait_for_load_state()
    assert page.url.endswith("/suites/cluster-a/index.html")
    cell = page.locator("a.cal-day[aria-label='7: Needs a look']")
    assert cell.inner_text() == "!"
    assert page.locator(".cal-gap[title='Tue 6 Jul 2021: no report']").count() == 1
    cell.click()
    page.wait_for_load_state()
    assert page.url.endswith("/nights/cluster-a/2021-07-07.html")
    assert page.evaluate("() => [document.body.dataset.date, document.body.dataset.status]") == ["2021-07-07", "bad"]


WATCH_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_history_pages_keep_the_csp_and_axe_finds_no_violation(tmp_path, static_server, browser, make_pdf, width):
    """The overview, a suite page (with a gap, a bad night and two suites) and an earlier year's calendar, at desktop
    and phone width."""
    import json

    from sitegen.site.build import build_site
    from tests.conftest import ROOT

    for suite, days in (("tikv-failure", ("2020-12-30", "2021-07-05", "2021-07-07", "2021-07-08")), ("pd-partition", ("2021-07-08",))):
        for day in days:
            status = "bad" if day == "2021-07-07" else "good"
            make_pdf(tmp_path / "reports" / suite / f"report-{day}-{status}.pdf",
                     summary={"schema": 1, "date": day, "status": status, "headline": f"night {day}",
                              "metrics": {"errors": 3 if status == "good" else 300, "worst_ttr_s": 30, "min_qps": 4000}})
    build_site(parse_config({"reports": "reports", "output": "public", "cache_dir": "cache"}, tmp_path))
    base = static_server(tmp_path / "public")
    axe = ROOT / "node_modules" / "axe-core" / "axe.min.js"
    for path in ("index.html", "suites/tikv-failure/index.html", "suites/tikv-failure/2020.html"):
        context = browser.new_context(viewport={"width": width, "height": 900})
        try:
            page = context.new_page()
            page.add_init_script(WATCH_CSP)
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("() => window.__csp") == [], path
            # Nothing wider than the screen (the calendar and the table scroll inside their own boxes).
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width, path
        finally:
            context.close()
        if not axe.is_file():
            continue  # axe-core comes with `make setup` (npm ci); test_axe.py says so when it is missing
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        try:
            page = context.new_page()
            page.goto(base + path)
            page.evaluate(axe.read_text(encoding="utf-8"))
            found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
            assert found == [], json.dumps([(v["id"], [n["html"][:160] for n in v["nodes"][:3]]) for v in found], indent=1)
        finally:
            context.close()
