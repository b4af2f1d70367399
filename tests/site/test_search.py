"""Search and filters on the index page in headless Chromium: over every night, state in the URL, no-JS pages."""

from __future__ import annotations

import pytest

from tests.site.search_site import CARDS, PD, RARE, TIKV, build_search_site, until

pytestmark = pytest.mark.browser

# The page's cards once search.js has drawn the view that `predicate` (JS, on the card list) accepts.
SETTLED = "() => {{ const cards = ({cards})(); return ({predicate})(cards) && cards; }}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_search_site(tmp_path_factory.mktemp("search"))


@pytest.fixture
def base(site, static_server):
    return static_server(site.parent) + "repo/"


def cards_when(page, predicate: str):
    return until(page, SETTLED.format(cards=CARDS, predicate=predicate))


def counts(page) -> dict[str, str]:
    chips = "() => Object.fromEntries(Array.from(document.querySelectorAll('.chip-count'), c => [c.dataset.for, c.textContent]))"
    return page.evaluate(chips)


def test_status_bad_shows_only_bad_cards_and_the_count_follows(page, base):
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "index.html")
    page.wait_for_timeout(300)
    assert len(page.evaluate(CARDS)) == 3 and page.locator("#night-count").inner_text() == "10 nights"
    assert not [u for u in fetched if "/search/" in u]  # nothing fetched before the first use

    page.locator("#search-status label", has_text="Needs a look").click()
    cards = cards_when(page, "cards => cards.length === 4")
    assert all(c.endswith(" bad") for c in cards) and f"{TIKV} 2021-07-02 bad" in cards  # older than the page's three
    assert [u for u in fetched if "/search/" in u] == [base + "search/index.json"]
    assert page.locator("#night-count").inner_text() == "4 of 10 nights"
    assert page.evaluate("location.search") == "?status=bad"
    assert counts(page) == {"status-all": "10", "status-0": "6", "status-1": "4", "suite-all": "4", "suite-0": "1", "suite-1": "3"}

    page.goto(base + "index.html?status=bad")  # the same view from its URL
    cards = cards_when(page, "cards => cards.length === 4")
    assert {c.split()[2] for c in cards} == {"bad"} and page.locator("#night-count").inner_text() == "4 of 10 nights"
    assert page.locator("#search-result").inner_text() == "4 nights match, newest first."
    assert errors == []


def test_search_finds_a_signature_text_and_lists_the_nights_that_have_it(page, base):
    page.goto(base + "index.html")
    page.fill("#search-q", RARE.upper())
    cards = cards_when(page, "cards => cards.length === 2")
    assert cards == [f"{TIKV} 2021-07-05 bad", f"{TIKV} 2021-07-02 bad"]
    until(page, "() => location.search.startsWith('?q=')")
    assert "raft+group" in page.evaluate("location.search").lower()
    page.fill("#search-q", "")
    cards_when(page, "cards => cards.length === 3")  # back to the server's own cards
    assert page.locator("#night-count").inner_text() == "10 nights"


def test_a_shared_url_restores_the_view_and_back_and_forward_follow_it(page, base):
    page.goto(base + f"index.html?status=bad&suite={TIKV}&q=panic&from=2021-07-01&to=2021-07-05")
    cards = cards_when(page, "cards => cards.length === 2")
    assert cards == [f"{TIKV} 2021-07-05 bad", f"{TIKV} 2021-07-02 bad"]
    assert page.input_value("#search-q") == "panic"
    assert page.input_value("#search-from") == "2021-07-01" and page.input_value("#search-to") == "2021-07-05"
    assert page.locator("#status-1").is_checked() and page.locator("#suite-1").is_checked()

    page.locator("label[for=suite-all]").click()
    cards = cards_when(page, "cards => cards.length === 3")
    assert f"{PD} 2021-07-03 bad" in cards and "suite=" not in page.evaluate("location.search")
    page.go_back()
    cards_when(page, "cards => cards.length === 2")
    assert page.locator("#suite-1").is_checked()
    page.go_forward()
    cards_when(page, "cards => cards.length === 3")


def test_slash_focuses_search_and_a_drawn_card_reads_like_the_servers(page, base):
    page.goto(base + "index.html")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search-q"
    shape = """() => {
      const card = document.querySelector('section.grid article.card[data-date="2021-07-06"]');
      // Cards are content-visibility: auto, so one off screen has no innerText until it is drawn: draw it now.
      card.style.contentVisibility = 'visible';
      const walk = el => [el.tagName, el.getAttribute('class') || '', el.getAttribute('href') || '', el.getAttribute('title') || '',
                          Array.from(el.children).map(walk)];
      return {tree: walk(card), text: card.innerText.replace(/\\s+/g, ' ').trim(), data: {...card.dataset}};
    }"""
    server = page.evaluate(shape)
    page.goto(base + f"index.html?suite={TIKV}&from=2021-07-06")
    cards_when(page, "cards => cards.length === 1")
    drawn = page.evaluate(shape)
    assert drawn == server


def test_without_javascript_every_night_is_on_a_list_page(site, static_server, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(static_server(site.parent) + "repo/index.html")
        assert not page.locator("#search").is_visible() and page.locator("form.filters").is_visible()
        page.get_by_role("link", name="page by page").click()
        seen = []
        while True:
            seen += page.evaluate(CARDS)
            older = page.locator("a.older").first
            if not older.count():
                break
            older.click()
        assert len(seen) == len(set(seen)) == 10
        assert seen[0] == f"{TIKV} 2021-07-06 bad" and seen[-1].endswith("2021-07-01 good")
    finally:
        context.close()


def test_a_sharded_index_is_searched_whole_and_compare_reads_only_the_shards_it_needs(tmp_path_factory, static_server, page):
    import json

    site = build_search_site(tmp_path_factory.mktemp("shards"), shard_nights=3)
    manifest = json.loads((site / "search" / "index.json").read_text())
    assert len(manifest["shards"]) >= 3 and "nights" not in manifest
    base = static_server(site.parent) + "repo/"
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(base + "index.html?q=" + RARE.replace(" ", "+"))
    assert cards_when(page, "cards => cards.length === 2") == [f"{TIKV} 2021-07-05 bad", f"{TIKV} 2021-07-02 bad"]
    assert len([u for u in fetched if "/search/" in u]) == len(manifest["shards"]) + 1
    fetched.clear()
    page.goto(base + f"compare.html?a=2021-07-05&b=2021-07-06&suite={TIKV}")
    until(page, "() => document.querySelector('.compare-signatures')")
    assert page.locator(".compare-new .sig-message").all_inner_texts() == ["coprocessor task timed out"]
    assert 1 < len([u for u in fetched if "/search/" in u]) <= len(manifest["shards"])


def test_text_from_a_report_is_drawn_as_text_never_as_markup(tmp_path, static_server, page):
    from sitegen.config import parse_config
    from sitegen.site.build import build_site
    from tests.pdf_factory import make_pdf

    hostile = '<img src=x onerror="window.__pwned=1">'
    for day, suite in (("2021-07-09", hostile), ("2021-07-08", "plain")):
        make_pdf(
            tmp_path / "reports" / suite / f"report-{day}-bad.pdf",
            pages=["night"],
            summary={"schema": 1, "date": day, "status": "bad", "headline": f"headline {hostile}", "metrics": {"errors": 1},
                     "signatures": [{"key": "k", "level": "error", "count": 2, "message": f"sig {hostile}", "component": hostile}]},
        )
    build_site(parse_config({"reports": "reports", "output": "public", "cache_dir": "cache", "index_limit": 1}, tmp_path))
    page.goto(static_server(tmp_path / "public") + "index.html?q=onerror&from=2021-07-08&to=2021-07-09")
    cards = cards_when(page, "cards => cards.length === 2")
    assert cards[0] == f"{hostile} 2021-07-09 bad"  # the suite name, as text, in data-suite
    assert page.evaluate("() => window.__pwned === undefined && document.querySelectorAll('section.grid img').length === 0")
    assert page.locator("section.grid .summary").first.inner_text() == f"headline {hostile}"
    assert page.locator("#search-suite label", has_text="onerror").count() == 1
    page.goto(static_server(tmp_path / "public") + "compare.html?b=2021-07-09&a=2021-07-09&suite=" + hostile.replace(" ", "+"))
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned === undefined && document.querySelectorAll('#compare img').length === 0")
