"""Render stage: the dict of pages it returns, checked without touching the disk."""

from __future__ import annotations

import datetime as dt
import html.parser
import posixpath
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sitegen.config import parse_config
from sitegen.errors import BuildError, MissingToolError, UsageError
from sitegen.model import Report
from sitegen.site import layout
from sitegen.site.assets import pdfjs_files
from sitegen.site.render import render_site

XSS_TITLE = "<script>alert(1)</script>"
XSS_SUMMARY = '"><img src=x onerror=alert(2)>'


def report(day: str, status: str = "good", suite: str = "", **kw) -> Report:
    date = dt.date.fromisoformat(day)
    name = f"report-{day}-{status}.pdf"
    fields = {
        "source": f"{suite}/{name}" if suite else name,
        "date": date,
        "status": status,
        "suite": suite,
        "title": f"Night of {day}",
        "summary": f"summary for {day}",
        "pages": 3,
        "bytes": 20480,
    }
    fields.update(kw)
    return Report(**fields)


def config(tmp_path: Path, **raw) -> object:
    return parse_config(raw, tmp_path)


def text(files: dict[str, bytes], path: str) -> str:
    return files[path].decode("utf-8")


class Links(html.parser.HTMLParser):
    """Collects href/src values and card attributes from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.cards: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.links += [a[k] for k in ("href", "src") if k in a]
        if "data-status" in a and tag == "article":
            self.cards.append(a)


def parse(page: str) -> Links:
    parser = Links()
    parser.feed(page)
    return parser


def test_index_cards_are_newest_first_with_data_hooks_and_relative_links(tmp_path):
    reports = [
        report("2021-07-07", "good", "cluster-b"),
        report("2021-07-09", "bad", "cluster-a"),
        report("2021-07-08", "good", "cluster-a"),
        report("2021-07-09", "good", "cluster-b"),
    ]
    files = render_site(config(tmp_path), reports)
    index = parse(text(files, "index.html"))
    got = [(c["data-date"], c["data-suite"], c["data-status"]) for c in index.cards]
    assert got == [
        ("2021-07-09", "cluster-a", "bad"),
        ("2021-07-09", "cluster-b", "good"),
        ("2021-07-08", "cluster-a", "good"),
        ("2021-07-07", "cluster-b", "good"),
    ]
    pages = layout.page_paths(reports)
    for r in reports:
        assert pages[r.source] in files
        assert f'href="{pages[r.source]}"' in text(files, "index.html")
    # Every link is relative, so the site works under any sub-path such as /repo/.
    for path in [layout.INDEX, *pages.values()]:
        for link in parse(text(files, path)).links:
            assert not link.startswith(("/", "http:", "https:")), (path, link)


def test_every_link_on_every_page_resolves_to_a_published_file(tmp_path):
    reports = [report("2021-07-09", "bad", "a"), report("2021-07-08", "good", "a"), report("2021-07-09", "good", "b")]
    files = render_site(config(tmp_path), reports)
    published = set(files) | set(pdfjs_files()) | {layout.pdf_path(r) for r in reports}
    for path, data in files.items():
        if not path.endswith(".html"):
            continue
        for link in parse(data.decode()).links:
            if link.startswith(("data:", "#")):
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), link.split("#")[0].split("?")[0]))
            assert target in published, f"{path} links to missing {link}"


def test_needs_look_cards_are_red_and_carry_label_and_icon_not_colour_alone(tmp_path):
    files = render_site(config(tmp_path), [report("2021-07-09", "bad"), report("2021-07-08", "good")])
    index = text(files, "index.html")
    bad = re.search(r'<article class="card status-bad needs-look[^"]*"[^>]*data-status="bad".*?</article>', index, re.S)
    good = re.search(r'<article class="card status-good s0"[^>]*data-status="good".*?</article>', index, re.S)
    assert bad and good
    assert "Needs a look" in bad[0] and "icon-alert" in bad[0]
    assert ">Good<" in good[0] and "icon-ok" in good[0]
    assert "1 needs a look" in index
    # The colours come from a stylesheet, not inline styles (the Content-Security-Policy allows none).
    css = text(files, "static/generated.css")
    assert ".status-bad { --status: #cf222e; --status-text: #ffffff; }" in css
    assert ".status-good { --status: #1a7f37;" in css


def test_unknown_status_is_a_neutral_card_never_dropped(tmp_path):
    files = render_site(config(tmp_path), [report("2021-07-09", "flaky"), report("2021-07-08", "good")])
    index = text(files, "index.html")
    cards = parse(index).cards
    assert [c["data-status"] for c in cards] == ["flaky", "good"]
    assert "Unknown status: flaky" in index
    assert "needs-look" not in cards[0]["class"] and "unknown" in cards[0]["class"]
    assert "nights/2021-07-09.html" in files


def test_configured_status_vocabulary_drives_label_colour_and_needs_look(tmp_path):
    cfg = config(
        tmp_path,
        statuses={
            "pass": {"color": "#2da44e", "label": "Passed", "needs_look": False},
            "degraded": {"color": "#fb8500", "label": "Degraded", "needs_look": True},
        },
    )
    files = render_site(cfg, [report("2021-07-09", "degraded"), report("2021-07-08", "bad")])
    cards = parse(text(files, "index.html")).cards
    assert "needs-look" in cards[0]["class"] and "status-degraded" in cards[0]["class"]
    assert ".status-degraded { --status: #fb8500; --status-text: #1f2328; }" in text(files, "static/generated.css")
    # 'bad' is not in this config: neutral, not red.
    assert "needs-look" not in cards[1]["class"] and "unknown-status" in cards[1]["class"]
    assert ".status-bad" not in text(files, "static/generated.css")


def test_text_from_pdfs_is_escaped_everywhere(tmp_path):
    evil = report(
        "2021-07-09",
        "bad",
        "cluster-a",
        title=XSS_TITLE,
        summary=XSS_SUMMARY,
        metrics={"<b>errors</b>": 3, XSS_SUMMARY: 1.5},
        problems=("summary unavailable: <iframe src=javascript:alert(3)>",),
    )
    files = render_site(config(tmp_path), [evil])
    for path in ("index.html", "nights/cluster-a/2021-07-09.html"):
        page = text(files, path)
        for raw in (XSS_TITLE, "<img src=x", "<b>errors</b>", "<iframe"):
            assert raw not in page, (path, raw)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    index = text(files, "index.html")
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in index
    assert "&lt;b&gt;errors&lt;/b&gt;" in index
    assert "summary unavailable: &lt;iframe" in index


def test_card_shows_summary_metrics_and_problems(tmp_path):
    r = report(
        "2021-07-09",
        "bad",
        summary="TiKV store 4 panicked. " + "x" * 500,
        metrics={"errors": 1204, "max_drop_pct": 97.26, "worst_ttr_s": 131.0, "min_qps": 4032.92, "p99_ms": 12.345},
        problems=("summary unavailable: PDF is encrypted",),
    )
    index = text(render_site(config(tmp_path, summary_length=40), [r]), "index.html")
    assert "TiKV store 4 panicked…" in index and "x" * 41 not in index
    # One way to write a number (model.format_metric): the unit moves from the name to the value.
    assert "<dt>errors</dt><dd>1,204</dd>" in index
    assert "<dt>worst drop</dt><dd>97.3 %</dd>" in index
    assert "<dt>worst recovery</dt><dd>131 s</dd>" in index
    assert "<dt>min QPS</dt><dd>4,033</dd>" in index
    assert "<dt>p99</dt><dd>12 ms</dd>" in index
    assert "<li>summary unavailable: PDF is encrypted</li>" in index
    assert "3 pages · 20.0 KB" in index


def test_viewer_page_links_back_prev_next_in_same_suite_and_to_the_pdf(tmp_path):
    reports = [
        report("2021-07-07", "good", "a"),
        report("2021-07-08", "bad", "a"),
        report("2021-07-09", "good", "a"),
        report("2021-07-08", "good", "b"),
    ]
    files = render_site(config(tmp_path), reports)
    page = text(files, "nights/a/2021-07-08.html")
    assert 'href="../../index.html"' in page
    assert 'class="older" rel="prev" href="2021-07-07.html"' in page
    assert 'class="newer" rel="next" href="2021-07-09.html"' in page
    assert 'data-pdf="../../pdf/a/report-2021-07-08-bad.pdf"' in page
    # The download is named by its suite too, so nights of two suites never overwrite each other.
    assert 'id="download" href="../../pdf/a/report-2021-07-08-bad.pdf" download="a-report-2021-07-08-bad.pdf"' in page
    assert 'download="b-report-2021-07-08-good.pdf"' in text(files, "nights/b/2021-07-08.html")
    assert '<noscript><p>This viewer needs JavaScript. <a href="../../pdf/a/report-2021-07-08-bad.pdf">' in page
    assert 'data-pdfjs="../../static/pdfjs/"' in page and 'src="../../static/viewer.js"' in page
    # Suite b has one night only: no neighbours, and never a link into suite a.
    lone = text(files, "nights/b/2021-07-08.html")
    assert 'rel="prev"' not in lone and 'rel="next"' not in lone


def test_viewer_script_keeps_eval_off_and_explains_file_urls(tmp_path):
    script = text(render_site(config(tmp_path), []), "static/viewer.js")
    assert "isEvalSupported: false" in script
    assert 'location.protocol === "file:"' in script and "needs a web server" in script


def test_two_pdfs_for_one_night_both_get_pages(tmp_path):
    reports = [report("2021-07-09", "bad", "a"), report("2021-07-09", "good", "a")]
    files = render_site(config(tmp_path), reports)
    pages = layout.page_paths(reports)
    assert len(set(pages.values())) == 2 and all(p in files for p in pages.values())
    assert len(parse(text(files, "index.html")).cards) == 2


def test_output_is_deterministic_whatever_the_input_order(tmp_path):
    reports = [report(f"2021-07-{d:02d}", "bad" if d % 3 == 0 else "good", suite) for d in range(1, 20) for suite in ("a", "b")]
    first = render_site(config(tmp_path), reports)
    second = render_site(config(tmp_path), list(reversed(reports)))
    assert first == second
    assert all(isinstance(v, bytes) for v in first.values())


def test_empty_site_says_how_to_add_reports(tmp_path):
    index = text(render_site(config(tmp_path), []), "index.html")
    assert "No reports yet" in index and "report-YYYY-MM-DD-STATUS.pdf" in index


def test_suite_filter_only_with_several_suites_and_never_puts_names_in_css(tmp_path):
    one = text(render_site(config(tmp_path), [report("2021-07-09", suite="a")]), "index.html")
    assert 'name="suite"' not in one
    hostile = "x{}</style><script>alert(1)</script>"
    two = text(render_site(config(tmp_path), [report("2021-07-09", suite="a"), report("2021-07-09", suite=hostile)]), "index.html")
    assert two.count('name="suite"') == 3  # All + two suites
    # A card is one suite's night: the count says so when there are several suites (2 nights on one date here).
    assert '<span id="night-count">2 nights</span> in 2 suites' in two
    assert '<span id="night-count">1 night</span></span>' in one
    assert "<style" not in two
    files = render_site(config(tmp_path), [report("2021-07-09", suite="a"), report("2021-07-09", suite=hostile)])
    style = text(files, "static/generated.css")
    assert "alert" not in style and "</style>" not in style and "body:has(#filter-s1:checked) .card:not(.s1)" in style


def write_theme(root: Path, templates: dict[str, str], static: dict[str, str] | None = None) -> Path:
    for name, body in templates.items():
        (root / "templates" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "templates" / name).write_text(body)
    for name, body in (static or {}).items():
        (root / "static" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "static" / name).write_text(body)
    return root


def test_user_theme_extends_default_base_and_overrides_static(tmp_path):
    write_theme(
        tmp_path / "mytheme",
        {"base.html": '{% extends "default:base.html" %}{% block footer %}<footer>Team Chaos {{ site.title }}</footer>{% endblock %}'},
        {"site.css": "body{color:red}", "logo.svg": "<svg/>"},
    )
    files = render_site(config(tmp_path, theme="mytheme", title="A & B"), [report("2021-07-09", "bad")])
    index = text(files, "index.html")
    assert "<footer>Team Chaos A &amp; B</footer>" in index
    assert "Static site built by sitegen" not in index
    assert 'data-status="bad"' in index  # the default index and cards still render through the extended base
    assert files["static/site.css"] == b"body{color:red}" and files["static/logo.svg"] == b"<svg/>"
    assert b"isEvalSupported" in files["static/viewer.js"]  # default static files stay


def test_user_theme_overrides_one_template_and_autoescape_stays_on(tmp_path):
    write_theme(
        tmp_path / "t", {"card.html": '<div class="mine" data-status="{{ card.report.status }}">{{ card.report.title }}</div>'}
    )
    files = render_site(config(tmp_path, theme="t"), [report("2021-07-09", title=XSS_TITLE)])
    index = text(files, "index.html")
    assert '<div class="mine" data-status="good">&lt;script&gt;' in index
    assert "<article" not in index


def _varied_nights() -> list[Report]:
    """Nights of two suites over two months, with metrics, fired rules and problems: every part of a card."""
    out = []
    fired = [{"rule": "worst_ttr_s > 60", "metric": "worst_ttr_s", "value": 90}]
    for i in range(40):
        day = (dt.date(2021, 6, 20) + dt.timedelta(days=i)).isoformat()
        out.append(
            report(
                day,
                "bad" if i % 3 == 0 else "good",
                suite="tidb" if i % 2 else "tikv",
                title=f"Nightly {day}" if i % 4 else f"Kill tikv-{i} every 5 min",
                metrics={"fatal": i % 5, "min_qps": 1000.0 + i, "worst_ttr_s": 12.5 * i},
                extra={"rules_fired": fired} if i % 3 == 0 else {},
                problems=("summary.json says status 'good' but the file name says 'bad'; the name wins",) if i == 9 else (),
            )
        )
    return out


def test_cards_drawn_once_per_grid_equal_cards_drawn_by_include(tmp_path):
    """The default theme draws a night's card once for the list and month pages that both show it; the
    bytes must be those of card.html included in each grid, which a theme with its own card.html still gets."""
    nights = _varied_nights()
    default = render_site(config(tmp_path, index_limit=7), nights, {nights[5].source: "cannot read the file"})
    copy = (Path(__file__).resolve().parents[2] / "sitegen" / "themes" / "default" / "templates" / "card.html").read_text()
    write_theme(tmp_path / "same", {"card.html": copy})  # the default card.html, but a theme's own: included per card
    included = render_site(config(tmp_path, index_limit=7, theme="same"), nights, {nights[5].source: "cannot read the file"})
    grids = [p for p in default if p.startswith(("page/", "archive/")) or p == layout.INDEX]
    assert len(grids) > 8 and default.keys() == included.keys()
    assert [p for p in default if default[p] != included[p]] == []


def test_a_themes_own_card_still_sees_its_grids_context(tmp_path):
    write_theme(tmp_path / "t", {"card.html": '<div class="mine">{{ page_kind }}:{{ card.report.date.isoformat() }}</div>'})
    files = render_site(config(tmp_path, theme="t", index_limit=3), [report(f"2021-07-0{d}") for d in range(1, 8)])
    assert '<div class="mine">index:2021-07-07</div>' in text(files, "index.html")
    assert '<div class="mine">archive:2021-07-07</div>' in text(files, layout.archive_path(2021, 7))
    assert '<div class="mine">list:2021-07-01</div>' in text(files, layout.list_page_path(1))


def test_a_themes_page_may_include_the_default_grid_and_set_its_own_summary_length(tmp_path):
    """Pages of a theme that include the default grid.html: without a card memo in their context, and with their own `site`."""
    write_theme(
        tmp_path / "t",
        {
            "suite.html": "{% with cards=table, needing_look=[] %}{% include 'grid.html' %}{% endwith %}",
            "archive.html": "{% set site = dict(site, summary_length=12) %}{% include 'grid.html' %}",
        },
    )
    night = report("2021-07-09", summary="a long summary that should be clipped")
    files = render_site(config(tmp_path, theme="t"), [night])
    assert text(files, layout.suite_paths([""])[""]).count("<article") == 1
    month = text(files, layout.archive_path(2021, 7))
    assert "a long summary that should be clipped" not in month and "a long" in month
    assert "a long summary that should be clipped" in text(files, "index.html")  # the index keeps the configured length


def test_a_themes_own_icons_are_drawn_on_every_page_that_shows_an_icon(tmp_path):
    """The default templates call `icon` and `badge` without importing icons.html: a theme's icons.html still wins."""
    icons = (
        '{% macro icon(name) %}<i class="my-{{ name }}"></i>{% endmacro %}'
        '{% macro badge(status) %}<b class="my-badge">{{ icon(status.icon) }}{{ status.label }}</b>{% endmacro %}'
    )
    write_theme(tmp_path / "t", {"icons.html": icons})
    nights = [report("2021-07-08"), report("2021-07-09", "bad")]
    files = render_site(config(tmp_path, theme="t"), nights)
    viewer = text(files, layout.page_path(nights[1]))
    assert '<b class="my-badge"><i class="my-alert"></i>Needs a look</b>' in viewer
    assert '<i class="my-download"></i>' in viewer and "<svg" not in viewer
    index = text(files, "index.html")
    assert '<b class="my-badge"><i class="my-ok"></i>Good</b>' in index and "<svg" not in index


def test_a_themes_icons_without_a_badge_is_a_clear_error(tmp_path):
    write_theme(tmp_path / "t", {"icons.html": '{% macro icon(name) %}<i class="my-{{ name }}"></i>{% endmacro %}'})
    with pytest.raises(BuildError, match=r"theme template error: the theme's icons\.html has no macro 'badge'"):
        render_site(config(tmp_path, theme="t"), [report("2021-07-09")])


def test_a_themes_icon_macro_may_take_any_arguments_and_a_caller(tmp_path):
    """Drawn once per argument, but never at the cost of a call that worked: unhashable arguments, Markup against
    the same text unescaped, and {% call %} each give what the macro itself gives."""
    icons = (
        "{% macro icon(name, attrs={}, label='') %}<i class=\"{{ name }}{{ attrs.get('cls', '') }}\">{{ label }}"
        "{% if caller is defined %}{{ caller() }}{% endif %}</i>{% endmacro %}"
        "{% macro badge(status) %}<b>{{ status.label }}</b>{% endmacro %}"
    )
    page = (
        "{{ icon('ok', attrs={'cls': '-z'}) }}|{{ icon('ok', label='<x>'|safe) }}|{{ icon('ok', label='<x>') }}|"
        "{% call icon('ok') %}inside{% endcall %}|{% call icon('ok') %}again{% endcall %}|"
        "{% set _ = site.update({'title': 'T'}) %}{{ site.title }}={{ site['title'] }}"
    )
    write_theme(tmp_path / "t", {"icons.html": icons, "compare.html": page})
    drawn = text(render_site(config(tmp_path, theme="t"), [report("2021-07-09")]), layout.COMPARE)
    assert drawn.split("|") == [
        '<i class="ok-z"></i>', '<i class="ok"><x></i>', '<i class="ok">&lt;x&gt;</i>', '<i class="ok">inside</i>',
        '<i class="ok">again</i>', "T=T",
    ]


def test_user_theme_mistakes_are_clear_errors(tmp_path):
    write_theme(tmp_path / "t", {"card.html": "{{ no_such_thing }}"})
    with pytest.raises(BuildError, match="theme template error: 'no_such_thing' is undefined"):
        render_site(config(tmp_path, theme="t"), [report("2021-07-09")])
    write_theme(tmp_path / "s", {"index.html": "{% if %}"})
    with pytest.raises(BuildError, match=r"theme template .*index.html, line 1: "):
        render_site(config(tmp_path, theme="s"), [])
    with pytest.raises(UsageError, match=r"config key 'theme': folder not found: .*nowhere"):
        render_site(config(tmp_path, theme="nowhere"), [])


def test_pdfjs_files_are_only_what_the_viewer_needs():
    files = pdfjs_files()
    for needed in ("build/pdf.min.mjs", "build/pdf.worker.min.mjs", "web/pdf_viewer.mjs", "web/pdf_viewer.css"):
        assert f"static/pdfjs/{needed}" in files
    assert all(name.startswith("static/pdfjs/") for name in files)
    assert not any("legacy" in name or name.endswith(".map") for name in files)
    assert any(name.startswith("static/pdfjs/web/images/") for name in files)
    assert "static/pdfjs/cmaps/UniGB-UCS2-H.bcmap" in files
    assert all(path.is_file() for path in files.values())


def test_pdfjs_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(MissingToolError, match=r"pdf.js is missing from .*vendor.*: run `make setup` in a checkout"):
        pdfjs_files(tmp_path / "vendor")


def test_unreadable_pdf_card_says_summary_unavailable_once(tmp_path):
    r = report("2021-07-09", "bad", summary="summary unavailable: PDF is encrypted", problems=("PDF is encrypted",), pages=None)
    index = text(render_site(config(tmp_path), [r]), "index.html")
    assert '<p class="summary unavailable">summary unavailable: PDF is encrypted</p>' in index
    assert index.count("PDF is encrypted") == 1
    assert 'data-status="bad"' in index and "pages ·" not in index


def test_index_shows_the_newest_nights_and_monthly_archives_hold_every_night(tmp_path):
    days = [f"2021-06-{d:02d}" for d in range(25, 31)] + [f"2021-07-{d:02d}" for d in range(1, 4)]
    reports = [report(day, "bad" if day.endswith(("27", "02")) else "good", suite) for day in days for suite in ("a", "b")]
    files = render_site(config(tmp_path, index_limit=4), reports)

    index = text(files, "index.html")
    shown = [(c["data-date"], c["data-suite"]) for c in parse(index).cards]
    assert shown == [("2021-07-03", "a"), ("2021-07-03", "b"), ("2021-07-02", "a"), ("2021-07-02", "b")]
    assert "The newest 4 of 18 nights" in index and "18 nights" in index
    assert "need" not in index.split("</header>")[0]  # bad nights in the past, but the latest night of each suite is good
    months = index.split('id="archive"')[1]
    assert months.index('href="archive/2021-07.html">July 2021</a>') < months.index('href="archive/2021-06.html">June 2021</a>')
    assert "6 nights" in months and "12 nights" in months and "2 need a look" in months

    june, july = text(files, "archive/2021-06.html"), text(files, "archive/2021-07.html")
    assert [c["data-date"] for c in parse(june).cards] == [d for d in reversed(days[:6]) for _ in "ab"]
    assert [c["data-date"] for c in parse(july).cards] == [d for d in reversed(days[6:]) for _ in "ab"]
    assert 'href="../nights/a/2021-06-25.html"' in june and 'id="filter-s1"' in june and 'id="filter-look"' in june
    assert 'class="older" rel="prev" href="2021-06.html">‹ June 2021' in july and "No later month" in july
    assert 'class="newer" rel="next" href="2021-07.html">July 2021 ›' in june and "No earlier month" in june
    assert 'href="../index.html#archive"' in june
    # Viewer pages link their month, and prev/next still walk the whole history across months.
    viewer = text(files, "nights/a/2021-07-01.html")
    assert 'class="month-link" href="../../archive/2021-07.html">July 2021</a>' in viewer
    assert 'rel="prev" href="2021-06-30.html"' in viewer


def test_unpublished_pdf_is_explained_instead_of_linked(tmp_path):
    gone = report("2021-07-09", "bad", "a", summary="summary unavailable: cannot read the file (permission denied)", pages=None)
    fine = report("2021-07-08", "good", "a")
    files = render_site(config(tmp_path), [gone, fine], unpublished={gone.source: "cannot read the <file>"})
    index, viewer = text(files, "index.html"), text(files, "nights/a/2021-07-09.html")
    for page in (index, viewer):
        assert "PDF not published: cannot read the &lt;file&gt;" in page
        assert "report-2021-07-09-bad.pdf" not in page  # no dead link anywhere
    assert 'href="pdf/a/report-2021-07-08-good.pdf"' in index  # the published one keeps its link
    assert "data-pdf=" not in viewer and "viewer.js" not in viewer and 'id="download"' not in viewer
    assert 'data-pdf="../../pdf/a/report-2021-07-08-good.pdf"' in text(files, "nights/a/2021-07-08.html")


def test_a_template_edited_between_renders_is_not_served_from_the_memo(tmp_path):
    theme = tmp_path / "t" / "templates"
    theme.mkdir(parents=True)
    (theme / "viewer.html").write_text('{% extends "default:viewer.html" %}{% block footer %}<p>first</p>{% endblock %}')
    reports = [report("2021-07-09"), report("2021-07-08")]
    assert "<p>first</p>" in text(render_site(config(tmp_path, theme="t"), reports), "nights/2021-07-09.html")
    (theme / "viewer.html").write_text('{% extends "default:viewer.html" %}{% block footer %}<p>second</p>{% endblock %}')
    again = render_site(config(tmp_path, theme="t"), reports)
    assert "<p>second</p>" in text(again, "nights/2021-07-09.html") and "<p>second</p>" in text(again, "nights/2021-07-08.html")


def test_card_leads_with_the_key_metrics_whatever_else_the_summary_carries(tmp_path):
    # A real report's summary.json carries ten metrics; the card shows eight, and the ones a
    # chaos engineer checks first (warnings, worst recovery) must not be crowded out alphabetically.
    metrics = {"errors": 18, "fatal": 0, "injections": 8, "max_drop_pct": 77.93, "min_qps": 5419.69,
               "new_signatures": 0, "signatures": 2, "unrecovered": 0, "warnings": 134, "worst_ttr_s": 110}
    index = text(render_site(config(tmp_path), [report("2021-07-09", "bad", metrics=metrics)]), "index.html")
    shown = re.findall(r"<dt>([^<]+)</dt>", index)
    assert shown == ["fatal", "errors", "warnings", "new signatures", "min QPS", "worst drop", "worst recovery", "injections"]


def test_base_url_gives_an_atom_feed_with_absolute_links_and_canonical_pages(tmp_path):
    reports = [report("2021-07-08", "good", "a"), report("2021-07-09", "bad", "a", summary="<b>TiKV</b> & PD")]
    files = render_site(config(tmp_path, base_url="https://chaos.example.org/repo/"), reports)
    feed = text(files, "feed.xml")
    atom = "{http://www.w3.org/2005/Atom}"
    root = ET.fromstring(feed)
    entries = root.findall(f"{atom}entry")
    assert [e.find(f"{atom}link").get("href") for e in entries] == [
        "https://chaos.example.org/repo/nights/a/2021-07-09.html",
        "https://chaos.example.org/repo/nights/a/2021-07-08.html",
    ]
    assert entries[0].find(f"{atom}summary").text == "<b>TiKV</b> & PD"  # escaped in XML, intact when read
    assert root.find(f"{atom}updated").text == "2021-07-09T00:00:00Z"  # from the data, not the clock
    index = text(files, "index.html")
    assert '<link rel="alternate" type="application/atom+xml" title="Chaos nightly reports" href="feed.xml">' in index
    assert '<link rel="canonical" href="https://chaos.example.org/repo/index.html">' in index
    viewer = text(files, "nights/a/2021-07-09.html")
    assert 'href="../../feed.xml"' in viewer


def test_without_base_url_there_is_no_feed_and_no_absolute_link(tmp_path):
    files = render_site(config(tmp_path), [report("2021-07-09", "bad", "a")])
    assert "feed.xml" not in files
    assert not any(b"https://" in data or b"http://" in data for path, data in files.items() if path.endswith(".html"))
