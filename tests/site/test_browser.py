"""The built site in real headless Chromium: cards, the pdf.js viewer (page links, find, zoom), no-JS pages, the CSP.

Waits poll with `until` (page.evaluate of a function): wait_for_function's string predicates are an
eval, which the pages' Content-Security-Policy forbids.
"""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path

import pytest

from sitegen.config import parse_config
from sitegen.site.build import build_site
from tests.site.search_site import until

pytestmark = pytest.mark.browser

# An unusual word on page 1 of the bad night, to find in pdf.js's text layer; another only on its last page.
MARKER = "Quetzalcoatlus"
LAST_PAGE_WORD = "Zyzzyva"
BAD_PAGES = 4
HEADLINE = "TiKV store 4 panicked during the partition; QPS fell 78 % and took 110 s to recover."
BAD_NIGHT = "nights/cluster-a/2021-07-09.html"
# Reports violations of the Content-Security-Policy, and pdf.js's renders, from the page's first moment.
WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""
CJK_TEXT = "混沌测试报告"

PIXELS_ON_PAGE_1 = """() => {
  const canvas = document.querySelector('.page[data-page-number="1"] canvas');
  if (!canvas || !canvas.width) return null;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0, paper = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 200 && data[i] < 100 && data[i + 1] < 100 && data[i + 2] < 100) ink++;
    else if (data[i + 3] > 200 && data[i] > 240 && data[i + 1] > 240 && data[i + 2] > 240) paper++;
  }
  return {ink, paper, total: data.length / 4};
}"""


def write_cjk_pdf(path: Path, text: str) -> None:
    """A one-page PDF whose Chinese text uses a non-embedded font with the predefined UniGB-UCS2-H CMap.

    fpdf2 always embeds fonts, but many Chinese tools write PDFs like this; pdf.js can only read
    them with its cMaps, so this proves the site ships them.
    """
    content = b"BT /F1 36 Tf 50 700 Td <" + text.encode("utf-16-be").hex().upper().encode() + b"> Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out)


def open_viewer(page, url: str) -> None:
    page.goto(url)
    until(page, "() => document.body.classList.contains('viewer-ready') && document.body.dataset.firstPageRendered", 20)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """A site built by the real pipeline into www/repo/, so it can be served under the /repo/ sub-path."""
    from tests.pdf_factory import make_pdf

    root = tmp_path_factory.mktemp("browser")
    reports = root / "reports" / "cluster-a"
    summary = {"schema": 1, "date": "2021-07-09", "status": "bad", "title": "Chaos night", "metrics": {"errors": 7}}
    make_pdf(
        reports / "report-2021-07-09-bad.pdf",
        pages=[f"TiKV store 4 panicked. Marker word: {MARKER}.", "Second page of the bad night.", "Third page.",
               f"Appendix. The last word: {LAST_PAGE_WORD}."],
        summary={
            **summary,
            "headline": HEADLINE,
            "metrics": {"errors": 7, "fatal": 1, "worst_ttr_s": 110, "max_drop_pct": 77.93, "min_qps": 4032.92},
            "rules_fired": [{"rule": "worst_ttr_s > 60", "metric": "worst_ttr_s", "value": 110}],
            "signatures": [
                {"key": "a1", "level": "error", "kind": "error", "count": 40, "message": "region unavailable"},
                {"key": "b2", "level": "fatal", "kind": "panic", "count": 1, "new": True, "component": "tidb-0",
                 "message": "invalid memory address or nil pointer dereference"},
            ],
        },
    )
    make_pdf(
        reports / "report-2021-07-08-good.pdf",
        pages=["All experiments recovered."],
        summary={**summary, "date": "2021-07-08", "status": "good", "headline": "All good.", "metrics": {"errors": 0}},
    )
    # HTML saved as .pdf: it still gets a card, and its viewer must say the PDF cannot be shown.
    (reports / "report-2021-07-07-bad.pdf").write_text("<html><body>not a pdf</body></html>")
    write_cjk_pdf(root / "reports" / "cluster-b" / "report-2021-07-06-good.pdf", CJK_TEXT)
    config = parse_config({"reports": "reports", "output": "www/repo", "cache_dir": "cache", "title": "Browser test"}, root)
    build_site(config)
    return root / "www" / "repo"


def test_cards_and_viewer_draw_page_one_under_a_sub_path(built_site, static_server, page):
    base = static_server(built_site.parent) + "repo/"
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base)

    bad = page.locator('article[data-status="bad"][data-date="2021-07-09"][data-suite="cluster-a"]')
    good = page.locator('article[data-status="good"][data-date="2021-07-08"]')
    assert bad.is_visible() and good.is_visible()
    assert bad.evaluate("el => getComputedStyle(el).borderTopColor") == "rgb(207, 34, 46)"
    assert good.evaluate("el => getComputedStyle(el).borderTopColor") == "rgb(26, 127, 55)"
    assert "Needs a look" in bad.inner_text() and "Good" in good.inner_text()  # not colour alone
    assert page.locator("article.card").count() == 4

    bad.locator("a.card-link").click()
    page.wait_for_url("**/repo/nights/cluster-a/2021-07-09.html")
    pixels = until(page, f"() => {{ const p = ({PIXELS_ON_PAGE_1})(); return p && p.ink > 200 && p; }}", 20)
    assert pixels["paper"] > pixels["total"] / 2, pixels  # a white page with dark text on it
    # The page fits the width of the viewer (within the page margins).
    widths = page.evaluate(
        """() => [document.querySelector('.page[data-page-number="1"]').getBoundingClientRect().width,
                 document.getElementById('viewerContainer').clientWidth]"""
    )
    assert widths[1] * 0.85 < widths[0] <= widths[1], widths

    text_layer = page.locator('.page[data-page-number="1"] .textLayer')
    text_layer.get_by_text(MARKER, exact=False).wait_for(timeout=10_000)
    assert MARKER in text_layer.inner_text()
    assert page.locator("#page-count").inner_text() == str(BAD_PAGES)

    page.click("#next-page")
    until(page, "() => document.getElementById('page-number').value === '2'")
    assert page.evaluate("location.hash") == "#page=2"  # paging keeps the URL a link to this page
    page.click("#zoom-in")
    until(page, "() => document.getElementById('zoom-mode').value === 'custom'")
    assert page.locator("#zoom-custom").inner_text().endswith(" %")

    download = page.locator("#download")
    assert download.get_attribute("href") == "../../pdf/cluster-a/report-2021-07-09-bad.pdf"
    assert download.get_attribute("download") == "cluster-a-report-2021-07-09-bad.pdf"  # unique across suites
    assert page.request.get(download.evaluate("a => a.href")).body()[:5] == b"%PDF-"
    page.click("a.older")
    page.wait_for_url("**/repo/nights/cluster-a/2021-07-08.html")
    page.click("a.back")
    page.wait_for_url("**/repo/index.html")
    assert errors == []


def test_viewer_shows_a_plain_link_when_pdfjs_cannot_read_the_file(built_site, static_server, page):
    base = static_server(built_site.parent) + "repo/"
    page.goto(base + "nights/cluster-a/2021-07-07.html")
    message = page.locator("#viewer-message")
    message.get_by_text("could not be shown").wait_for(timeout=15_000)
    assert message.locator("a").get_attribute("href") == "../../pdf/cluster-a/report-2021-07-07-bad.pdf"


def test_from_file_urls_the_index_shows_cards_and_the_viewer_asks_for_a_server(built_site, page):
    page.goto((built_site / "index.html").as_uri())
    assert page.locator("article.card").count() == 4
    assert page.locator('article[data-status="bad"]').first.is_visible()
    page.goto((built_site / "nights" / "cluster-a" / "2021-07-09.html").as_uri())
    message = page.locator("#viewer-message")
    assert "needs a web server" in message.inner_text() and "sitegen serve" in message.inner_text()
    assert message.locator("a").get_attribute("href") == "../../pdf/cluster-a/report-2021-07-09-bad.pdf"


def test_viewer_draws_cjk_text_that_needs_pdfjs_cmaps(built_site, static_server, page):
    page.goto(static_server(built_site.parent) + "repo/nights/cluster-b/2021-07-06.html")
    until(page, f"() => {{ const p = ({PIXELS_ON_PAGE_1})(); return p && p.ink > 200; }}", 20)
    text_layer = page.locator('.page[data-page-number="1"] .textLayer')
    text_layer.get_by_text(CJK_TEXT).wait_for(timeout=10_000)


def test_with_javascript_off_the_viewer_offers_a_plain_pdf_link(built_site, static_server, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(static_server(built_site.parent) + "repo/nights/cluster-a/2021-07-09.html")
        link = page.get_by_role("link", name="Open the PDF")
        assert link.is_visible() and link.get_attribute("href") == "../../pdf/cluster-a/report-2021-07-09-bad.pdf"
        assert not page.get_by_text("Loading the PDF").is_visible()
        # The night itself is in the HTML: headline, the rule that fired, key numbers, the worst signatures.
        summary = page.locator("#night-summary")
        assert summary.is_visible() and summary.locator(".headline").inner_text() == HEADLINE
        text = summary.inner_text()
        assert "worst recovery > 60 s: was 110 s" in text and "4,033" in text and "77.9 %" in text
        signatures = summary.locator(".sig")
        assert signatures.count() == 2 and "nil pointer dereference" in signatures.first.inner_text()
        assert "NEW" in signatures.first.inner_text() and "tidb-0" in signatures.first.inner_text()
        assert not page.locator("#find-open").is_visible() and not page.locator("#viewerContainer").is_visible()

        # The index needs no JavaScript, its suite and needs-a-look filters included.
        page.goto(static_server(built_site.parent) + "repo/index.html")
        cards = page.locator("article.card")
        assert cards.count() == 4
        page.get_by_text("cluster-b", exact=True).and_(page.locator("label")).click()
        assert [c.get_attribute("data-suite") for c in cards.all() if c.is_visible()] == ["cluster-b"]
        page.locator("label[for=filter-all]").click()
        page.locator("label[for=filter-look]").click()
        assert {c.get_attribute("data-status") for c in cards.all() if c.is_visible()} == {"bad"}
    finally:
        context.close()


def test_card_shows_the_headline_and_the_fired_chip_first_and_marked(built_site, static_server, page):
    page.goto(static_server(built_site.parent) + "repo/")
    card = page.locator('article[data-date="2021-07-09"][data-suite="cluster-a"]')
    assert card.locator(".summary").inner_text() == HEADLINE
    assert card.locator(".card-fired").inner_text().replace("\n", " ") == "Rule fired: worst recovery > 60 s"
    first = card.locator(".metrics > div").first
    assert "fired" in first.get_attribute("class")
    assert first.inner_text().split() == ["worst", "recovery", "(rule", "fired)", "110", "s"]
    # Marked by shape and words as well as colour: an icon, and "(rule fired)" for screen readers.
    assert first.locator("svg.icon-alert").is_visible()
    assert first.locator(".sr-only").text_content() == " (rule fired)"
    assert first.evaluate("el => getComputedStyle(el).boxShadow") != card.locator(".metrics > div").nth(1).evaluate(
        "el => getComputedStyle(el).boxShadow"
    )
    assert card.locator(".metrics dd").all_inner_texts()[:4] == ["110 s", "1", "7", "4,033"]


def test_a_link_to_page_3_opens_page_3_and_the_url_follows_the_reader(built_site, static_server, page):
    open_viewer(page, static_server(built_site.parent) + "repo/" + BAD_NIGHT + "#page=3")
    until(page, "() => document.getElementById('page-number').value === '3'")
    top = page.evaluate(
        """() => document.querySelector('.page[data-page-number="3"]').getBoundingClientRect().top
                 - document.getElementById('viewerContainer').getBoundingClientRect().top"""
    )
    assert abs(top) < 40, top  # page 3 is at the top of the viewer, not merely counted
    page.evaluate("location.hash = '#page=2'")  # a link within the site, or the reader editing the URL
    until(page, "() => document.getElementById('page-number').value === '2'")
    page.keyboard.press("n")
    until(page, "() => location.hash === '#page=3'")


def test_the_find_bar_searches_every_page_and_highlights_the_match(built_site, static_server, page):
    open_viewer(page, static_server(built_site.parent) + "repo/" + BAD_NIGHT)
    assert page.locator(f'.page[data-page-number="{BAD_PAGES}"] .textLayer span').count() == 0  # not drawn yet
    page.locator("#viewerContainer").focus()
    page.keyboard.press("Control+f")
    assert page.locator("#findbar").is_visible() and page.evaluate("document.activeElement.id") == "find-input"
    page.keyboard.type(LAST_PAGE_WORD.lower())
    until(page, "() => document.getElementById('find-status').textContent === '1 of 1'")
    until(page, f"() => document.getElementById('page-number').value === '{BAD_PAGES}'")
    highlight = page.locator(f'.page[data-page-number="{BAD_PAGES}"] .textLayer .highlight')
    highlight.first.wait_for(timeout=10_000)
    assert LAST_PAGE_WORD in highlight.first.inner_text()
    page.fill("#find-input", "no such word anywhere")
    until(page, "() => document.getElementById('find-status').textContent === 'Not found'")
    page.keyboard.press("Escape")
    assert not page.locator("#findbar").is_visible()


def test_zoom_fits_the_page_or_the_width_or_shows_actual_size_and_keys_are_listed(built_site, static_server, page):
    open_viewer(page, static_server(built_site.parent) + "repo/" + BAD_NIGHT)
    box = """() => { const p = document.querySelector('.page[data-page-number="1"]').getBoundingClientRect();
                     const c = document.getElementById('viewerContainer');
                     return [p.width, p.height, c.clientWidth, c.clientHeight]; }"""
    page.select_option("#zoom-mode", "page-fit")
    until(page, f"() => ({box})()[1] <= ({box})()[3]")
    width, height, area_width, area_height = page.evaluate(box)
    assert area_height * 0.85 < height <= area_height and width < area_width * 0.8
    page.keyboard.press("w")
    until(page, f"() => ({box})()[0] > ({box})()[2] * 0.9")
    assert page.locator("#zoom-mode").input_value() == "page-width"
    page.keyboard.press("0")
    until(page, "() => document.getElementById('zoom-mode').value === 'page-actual'")
    # Actual size: an A4 page (595 pt) at 96 px per inch.
    until(page, f"() => Math.abs(({box})()[0] - 595 * 96 / 72) < 3")
    # "?" lists the shortcuts.
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts")
    assert dialog.is_visible() and "Keyboard shortcuts" in dialog.inner_text() and "fit width" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()


RING, RING_RGB = "rgb(9, 105, 218)", (9, 105, 218)  # the theme's --accent


def test_keyboard_focus_ring_on_a_card_is_drawn_around_it(built_site, static_server, page):
    """content-visibility: auto clips what a card's children draw outside it: the ring must be the card's own."""
    from PIL import Image

    page.goto(static_server(built_site.parent) + "repo/")
    card = page.locator("article.card").first

    def ring_pixels() -> tuple[int, int]:
        # Sample the middle of where the ring goes (outline 3 px, offset 3 px), along the straight edges. The card
        # may sit at a fractional position, where Chromium antialiases the ring's edges: of the three pixels
        # across the ring's middle, one is wholly inside it.
        left, top, right, bottom = card.evaluate("el => ['left', 'top', 'right', 'bottom'].map(k => el.getBoundingClientRect()[k])")
        img = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        d, corner = 4.5, 18
        points = [(x, y, 0, 1) for x in range(round(left + corner), round(right - corner)) for y in (top - d, bottom + d)]
        points += [(x, y, 1, 0) for y in range(round(top + corner), round(bottom - corner)) for x in (left - d, right + d)]

        def ring_coloured(x: float, y: float, dx: int, dy: int) -> bool:
            across = [img.getpixel((round(x) + k * dx, round(y) + k * dy)) for k in (-1, 0, 1)]
            return any(sum(abs(a - b) for a, b in zip(c, RING_RGB, strict=True)) < 60 for c in across)

        blue = sum(1 for point in points if ring_coloured(*point))
        return blue, len(points)

    assert ring_pixels()[0] == 0
    for _ in range(40):  # from the top of the page, as a keyboard user gets there (past the overview and search)
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('card-link')"):
            break
    assert page.evaluate("document.activeElement.closest('article') === document.querySelector('article.card')")
    assert card.evaluate("el => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineColor]") == ["solid", RING]
    blue, total = ring_pixels()
    assert blue > 0.95 * total, (blue, total)


def test_no_page_breaks_its_content_security_policy(built_site, static_server, page):
    base = static_server(built_site.parent) + "repo/"
    page.add_init_script(WATCH)
    for path in ("index.html", "archive/2021-07.html"):
        page.goto(base + path)
        page.wait_for_timeout(200)
        assert page.evaluate("window.__csp") == [], path
    open_viewer(page, base + BAD_NIGHT)
    page.keyboard.press("Control+f")
    page.keyboard.type(LAST_PAGE_WORD)
    until(page, "() => document.getElementById('find-status').textContent === '1 of 1'")
    page.locator(f'.page[data-page-number="{BAD_PAGES}"] .textLayer .highlight').first.wait_for(timeout=10_000)
    assert page.evaluate("window.__csp") == []
    # The listener does hear the policy: an inline script is refused and reported.
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s); }")
    until(page, "() => window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None


def test_the_viewer_cannot_be_pointed_at_a_pdf_of_another_origin(built_site, static_server, page):
    base = static_server(built_site.parent) + "repo/"
    asked: list[str] = []
    page.route("https://evil.example/**", lambda route: (asked.append(route.request.url), route.abort()))
    page.on("request", lambda r: urllib.parse.urlsplit(r.url).hostname == "evil.example" and asked.append(r.url))
    # Whatever the URL says, the viewer opens the page's own PDF.
    open_viewer(page, base + BAD_NIGHT + "?file=https://evil.example/x.pdf&url=https%3A%2F%2Fevil.example%2Fy.pdf#file=//evil.example/z.pdf")
    assert page.locator("#page-count").inner_text() == str(BAD_PAGES)
    # A page edited to name a foreign PDF is refused by the viewer (and the CSP's connect-src would block it).
    night = (built_site / BAD_NIGHT).read_text()
    forged = built_site / "nights" / "cluster-a" / "forged.html"
    forged.write_text(night.replace('data-pdf="../../pdf/cluster-a/report-2021-07-09-bad.pdf"', 'data-pdf="https://evil.example/x.pdf"'))
    try:
        page.goto(base + "nights/cluster-a/forged.html")
        page.locator("#viewer-message").get_by_text("only PDFs of this site").wait_for(timeout=10_000)
    finally:
        forged.unlink()
    assert asked == []


def test_on_a_phone_the_header_is_small_and_the_summary_one_tap_away(built_site, static_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        open_viewer(page, static_server(built_site.parent) + "repo/" + BAD_NIGHT)
        header = page.evaluate("document.querySelector('.viewer-header').getBoundingClientRect().height")
        assert header < 0.1 * 844, header
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
        summary = page.locator("#night-summary")
        assert not summary.is_visible()
        page.locator("#summary-toggle").tap()
        assert summary.is_visible() and summary.locator(".headline").inner_text() == HEADLINE
        assert page.locator("#summary-toggle").get_attribute("aria-expanded") == "true"
    finally:
        context.close()
