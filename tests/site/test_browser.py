"""The built site in real headless Chromium: cards, the pdf.js viewer drawing page 1, file:// behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitegen.config import parse_config
from sitegen.site.build import build_site

pytestmark = pytest.mark.browser

# An unusual word on page 1 of the bad night, to find in pdf.js's text layer.
MARKER = "Quetzalcoatlus"
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


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """A site built by the real pipeline into www/repo/, so it can be served under the /repo/ sub-path."""
    from tests.pdf_factory import make_pdf

    root = tmp_path_factory.mktemp("browser")
    reports = root / "reports" / "cluster-a"
    summary = {"schema": 1, "date": "2021-07-09", "status": "bad", "title": "Chaos night", "metrics": {"errors": 7}}
    make_pdf(
        reports / "report-2021-07-09-bad.pdf",
        pages=[f"TiKV store 4 panicked. Marker word: {MARKER}.", "Second page of the bad night."],
        summary={**summary, "headline": "TiKV store 4 panicked during the partition."},
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
    page.wait_for_function(f"({PIXELS_ON_PAGE_1})() !== null && ({PIXELS_ON_PAGE_1})().ink > 200", timeout=20_000)
    pixels = page.evaluate(PIXELS_ON_PAGE_1)
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
    assert page.locator("#page-count").inner_text() == "2"

    page.click("#next-page")
    page.wait_for_function("document.getElementById('page-number').value === '2'")
    scale = page.locator("#zoom-value").inner_text()
    page.click("#zoom-in")
    page.wait_for_function(f"document.getElementById('zoom-value').textContent !== {scale!r}")

    download = page.locator("#download")
    assert download.get_attribute("href") == "../../pdf/cluster-a/report-2021-07-09-bad.pdf"
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
    page.wait_for_function(f"({PIXELS_ON_PAGE_1})() !== null && ({PIXELS_ON_PAGE_1})().ink > 200", timeout=20_000)
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
