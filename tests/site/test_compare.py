"""compare.html in headless Chromium: two nights of a suite side by side, from the search index."""

from __future__ import annotations

import pytest

from tests.site.search_site import FRESH, RARE, SURGING, TIKV, build_search_site, until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_search_site(tmp_path_factory.mktemp("compare"))


def groups(page) -> dict[str, list[str]]:
    return page.evaluate(
        """() => Object.fromEntries(['new', 'gone', 'surging'].map(kind =>
             [kind, Array.from(document.querySelectorAll(`.compare-${kind} .sig-message`)).map(m => m.textContent)]))"""
    )


def test_the_night_page_links_compare_and_it_shows_what_is_new_gone_and_surging(site, static_server, page):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = static_server(site.parent) + "repo/"
    page.goto(base + f"nights/{TIKV}/2021-07-06.html")
    link = page.get_by_role("link", name="Compare with the previous night")
    assert link.get_attribute("href") == f"../../compare.html?a=2021-07-05&b=2021-07-06&suite={TIKV}"
    link.click()
    page.wait_for_url(f"**/repo/compare.html?a=2021-07-05&b=2021-07-06&suite={TIKV}")
    until(page, "() => document.querySelector('.compare-signatures')")
    assert groups(page) == {"new": [FRESH], "gone": [RARE], "surging": [SURGING]}
    assert page.locator(".compare-new .sig-new").inner_text() == "NEW"
    assert page.locator(".compare-surging .sig-count").inner_text() == "10× → 40×"
    nights = page.locator(".compare-night")
    assert [nights.nth(i).get_attribute("data-date") for i in range(2)] == ["2021-07-05", "2021-07-06"]
    row = page.locator(".compare-metrics tbody tr", has=page.locator("th", has_text="errors"))
    assert row.locator("td").all_inner_texts() == ["150", "160", "+10 (+6.7 %)"]
    assert "worse" in row.locator("td.delta").get_attribute("class")
    drop = page.locator(".compare-metrics tbody tr", has=page.locator("th", has_text="drop"))
    assert drop.locator("td").all_inner_texts()[2] == "+2.5 pp"  # percentage points; no relative change of a percentage
    qps = page.locator(".compare-metrics tbody tr", has=page.locator("th", has_text="min QPS"))
    assert "better" in qps.locator("td.delta").get_attribute("class")  # more throughput is good news
    assert errors == []


def test_without_a_it_compares_with_the_suites_night_before_and_the_form_changes_the_url(site, static_server, page):
    base = static_server(site.parent) + "repo/"
    page.goto(base + f"compare.html?b=2021-07-05&suite={TIKV}")
    until(page, "() => document.querySelector('.compare-signatures')")
    assert page.input_value("#compare-a") == "2021-07-04"
    assert groups(page)["new"] == [RARE]
    page.fill("#compare-a", "2021-07-01")
    page.fill("#compare-b", "2021-07-02")
    page.get_by_role("button", name="Compare").click()
    until(page, "() => location.search.includes('b=2021-07-02')")
    until(page, "() => document.querySelector('.compare-night:last-child')?.dataset.date === '2021-07-02'")
    page.go_back()
    until(page, "() => document.querySelector('.compare-night:last-child')?.dataset.date === '2021-07-05'")
    page.goto(base + f"compare.html?a=2020-01-01&b=2021-07-05&suite={TIKV}")
    until(page, "() => document.getElementById('compare-status').textContent.includes('No night 2020-01-01')")
