"""axe-core (pinned in package-lock.json, installed by `make setup`'s npm ci) finds no violation on any kind of page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT
from tests.site.search_site import TIKV, build_search_site, until

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        if IN_CI:
            pytest.fail(f"{AXE} is missing: run `make setup` (npm ci installs the locked axe-core)")
        pytest.skip("axe-core is not installed: run `make setup`")
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/axe-core"]["version"]
    installed = json.loads((AXE.parent / "package.json").read_text())["version"]
    assert installed == locked, f"node_modules holds axe-core {installed}, the lock pins {locked}: run `make setup`"
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build_search_site(tmp_path_factory.mktemp("axe"))


def violations(page, axe_source: str) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, impact, the first offending nodes)."""
    page.evaluate(axe_source)  # the page's CSP allows no injected <script>: the test context bypasses it
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{v['id']} ({v['impact']}): {v['help']}: " + " | ".join(n["html"][:160] for n in v["nodes"][:3]) for v in found]


@pytest.mark.parametrize(
    "path",
    [
        "index.html",
        "index.html?status=bad&q=panic",
        f"nights/{TIKV}/2021-07-06.html",
        f"compare.html?a=2021-07-05&b=2021-07-06&suite={TIKV}",
        "page/1.html",
        "archive/2021-07.html",
    ],
)
def test_axe_finds_no_violation(site, static_server, browser, axe_source, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(static_server(site.parent) + "repo/" + path)
        if path.startswith("index.html?"):
            until(page, "() => document.querySelector('.grid .card') && document.getElementById('search-result').textContent")
        elif path.startswith("compare"):
            until(page, "() => document.querySelector('.compare-signatures')")
        elif path.startswith("nights/"):
            until(page, "() => document.body.classList.contains('viewer-ready') || document.querySelector('.viewer-message a')", 20)
        found = violations(page, axe_source)
        assert found == [], "\n".join(found)
    finally:
        context.close()
