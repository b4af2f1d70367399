"""Every page carries a strict Content-Security-Policy and needs nothing it forbids (HTML here; Chromium: test_browser)."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import re

from sitegen.serve.reload import inject
from sitegen.site.render import CSP, render_site
from tests.site.test_render import config, report


class Page(html.parser.HTMLParser):
    """The first tags of <head>, every inline script or style, and the CSP meta's content."""

    def __init__(self) -> None:
        super().__init__()
        self.head: list[str] = []
        self.inline: list[str] = []
        self.csp: list[str] = []
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "head":
            self._in_head = True
        elif self._in_head:
            self.head.append(tag if tag != "meta" else f"meta {a.get('charset') or a.get('http-equiv') or a.get('name')}")
        if a.get("http-equiv", "").lower() == "content-security-policy":
            self.csp.append(a.get("content") or "")
        if tag == "script" and "src" not in a:
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"{tag} {name}=" for name in a if name == "style" or name.startswith("on")]
        self.inline += [f"{tag} {k}={v}" for k, v in a.items() if (v or "").strip().lower().startswith("javascript:")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def test_the_policy_forbids_inline_script_plugins_base_and_other_origins():
    d = directives(CSP)
    assert d["default-src"] == ["'self'"] and d["script-src"] == ["'self'"] and d["style-src"] == ["'self'"]
    assert d["object-src"] == ["'none'"] and d["base-uri"] == ["'none'"] and d["form-action"] == ["'none'"]
    assert d["connect-src"] == ["'self'"]  # pdf.js fetches its PDF: only from this site
    assert d["worker-src"] == ["'self'"]  # the pdf.js worker is a file of the site
    assert not any(source in CSP for source in ("unsafe-inline", "unsafe-eval", "*", "http:", "https:"))


def test_every_page_has_the_policy_first_and_nothing_inline(tmp_path):
    reports = [report("2021-07-09", "bad", "a", title="<script>x</script>"), report("2021-07-08", "flaky", "b")]
    files = render_site(config(tmp_path, base_url="https://chaos.example.org/"), reports)
    pages = [p for p in files if p.endswith(".html")]
    assert {"index.html", "archive/2021-07.html", "nights/a/2021-07-09.html", "nights/b/2021-07-08.html"} <= set(pages)
    for path in pages:
        page = Page()
        page.feed(files[path].decode())
        assert page.csp == [CSP], path
        assert page.head[:2] == ["meta utf-8", "meta Content-Security-Policy"], (path, page.head)  # covers all after it
        assert page.inline == [], (path, page.inline)


def test_a_theme_can_loosen_the_policy_in_its_base_template(tmp_path):
    theme = tmp_path / "t" / "templates"
    theme.mkdir(parents=True)
    (theme / "base.html").write_text(
        '{% extends "default:base.html" %}{% block csp %}{{ super() }}; img-src \'self\' https://img.example{% endblock %}'
    )
    index = render_site(config(tmp_path, theme="t"), [report("2021-07-09")])["index.html"].decode()
    assert f"content=\"{CSP}; img-src 'self' https://img.example\"" in index


def test_the_dev_server_allows_its_reload_script_by_hash_and_nothing_more(tmp_path):
    page = render_site(config(tmp_path), [report("2021-07-09")])["nights/2021-07-09.html"]
    served = inject(page, 7, "abcd").decode()
    code = re.search(r'<script id="sitegen-live-reload">(.*?)</script>', served, re.S)[1]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    policy = Page()
    policy.feed(served)
    assert sorted(directives(policy.csp[0])["script-src"]) == ["'self'", f"'sha256-{digest}'"]
    assert policy.csp[0].replace(f" 'sha256-{digest}'", "") == CSP
