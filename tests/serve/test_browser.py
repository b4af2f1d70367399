"""Live reload in real Chromium: a PDF dropped into the reports folder shows up in the open tab."""

from __future__ import annotations

import time

import pytest

from tests.pdf_factory import make_pdf

pytestmark = pytest.mark.browser

CARD = '[data-date="{}"]'


def _night(folder, date, status, pages=None, title=None):
    return make_pdf(folder / f"report-{date}-{status}.pdf", title=title or f"Night {date}", pages=pages or [f"Chaos night {date}"])


def _viewer_on_page_3(project, serve, page, title=None):
    """Serve a bad 5-page night and a good one, open the bad night's viewer at page 3; returns the page texts."""
    pages = [f"Page {n} of the night" for n in range(1, 6)]
    _night(project.reports, "2021-07-09", "bad", pages=pages, title=title)
    _night(project.reports, "2021-07-10", "good")
    page.goto(serve(real=True) + "nights/2021-07-09.html")
    page.wait_for_selector("body.viewer-ready", timeout=15000)
    page.fill("#page-number", "3")
    page.dispatch_event("#page-number", "change")
    page.wait_for_function("() => document.getElementById('page-number').value === '3'")
    page.evaluate("window.__notReloaded = true")  # cleared by a reload
    return pages


@pytest.mark.slow
def test_new_pdf_appears_in_the_open_index_without_manual_reload(project, serve, page, tmp_path):
    _night(project.reports, "2021-07-09", "bad")
    _night(project.reports, "2021-07-10", "good")
    url = serve(real=True)
    page.goto(url)
    assert page.locator("[data-date]").count() == 2

    # A copy that is renamed into place, as rsync or a careful job does it.
    staged = _night(tmp_path / "staging", "2021-07-11", "good")
    temp = project.reports / ".incoming.tmp"
    temp.write_bytes(staged.read_bytes())
    temp.rename(project.reports / "report-2021-07-11-good.pdf")
    page.wait_for_selector(CARD.format("2021-07-11"), timeout=3000)

    # A slow copy in chunks: nothing may show until the file is whole.
    data = _night(tmp_path / "staging", "2021-07-12", "bad", pages=["slow night"] * 3).read_bytes()
    chunk = len(data) // 4
    with open(project.reports / "report-2021-07-12-bad.pdf", "wb") as fh:
        for i in range(3):
            fh.write(data[i * chunk : (i + 1) * chunk])
            fh.flush()
            time.sleep(0.4)
            assert page.locator(CARD.format("2021-07-12")).count() == 0, "a half-written PDF was published"
        fh.write(data[3 * chunk :])
    page.wait_for_selector(CARD.format("2021-07-12"), timeout=3000)
    card = page.locator(CARD.format("2021-07-12"))
    assert card.get_attribute("data-status") == "bad"
    assert "summary unavailable" not in card.inner_text()
    assert page.locator("[data-date]").count() == 4


@pytest.mark.slow
def test_viewer_reloads_when_its_pdf_changes_and_keeps_the_page(project, serve, page, tmp_path):
    pages = _viewer_on_page_3(project, serve, page, title="before")

    # Another night arriving does not disturb this viewer...
    _night(project.reports, "2021-07-11", "good")
    time.sleep(1.5)
    assert page.evaluate("window.__notReloaded === true")

    # ...but its own PDF being regenerated (bad -> good keeps the URL) reloads it at the same page.
    (project.reports / "report-2021-07-09-bad.pdf").unlink()
    _night(project.reports, "2021-07-09", "good", pages=pages, title="after")
    page.wait_for_function("() => window.__notReloaded !== true", timeout=3000)
    page.wait_for_selector("body.viewer-ready", timeout=15000)
    page.wait_for_function("() => document.getElementById('page-number').value === '3'", timeout=5000)
    assert page.locator("body").get_attribute("data-status") == "good"


def test_viewer_keeps_its_page_when_its_pdf_is_deleted_and_written_again_in_two_builds(project, serve, page, tmp_path):
    """A regenerated night can arrive as two rebuilds (delete, then write); the open page survives both reloads."""
    pages = _viewer_on_page_3(project, serve, page)

    (project.reports / "report-2021-07-09-bad.pdf").unlink()
    page.wait_for_function("() => window.__notReloaded !== true", timeout=10000)  # the first rebuild reloaded the tab
    page.evaluate("window.__notReloaded = true")
    _night(project.reports, "2021-07-09", "good", pages=pages)
    page.wait_for_function("() => window.__notReloaded !== true", timeout=10000)
    page.wait_for_selector("body.viewer-ready", timeout=15000)
    page.wait_for_function("() => document.getElementById('page-number').value === '3'", timeout=5000)
    assert page.locator("body").get_attribute("data-status") == "good"
