"""What a card and a night page say about a night: headline, the rule that fired, numbers, signatures."""

from __future__ import annotations

import datetime as dt
import re

from sitegen.model import Report, SignatureSummary
from sitegen.site.render import informative_title, render_site
from tests.site.test_render import config, parse, report, text

FIRED = {"rules_fired": [{"rule": "worst_ttr_s > 60", "metric": "worst_ttr_s", "value": 110}]}
METRICS = {"errors": 18, "fatal": 0, "warnings": 134, "new_signatures": 0, "min_qps": 4032.92, "max_drop_pct": 77.93,
           "worst_ttr_s": 110, "injections": 8, "unrecovered": 0}
HEADLINE = "TiKV store 4 panicked; QPS fell 78 % and took 110 s to recover."


def sig(message: str, kind: str, count: int, new: bool = False, component: str = "") -> SignatureSummary:
    level = "fatal" if kind == "panic" else kind
    return SignatureSummary(key=f"k{count}{kind}", level=level, count=count, new=new, kind=kind, component=component, message=message)


def bad_night(**kw) -> Report:
    fields = {"title": "Nightly chaos report 2021-07-09 — cluster-a", "summary": HEADLINE, "metrics": METRICS, "extra": FIRED}
    return report("2021-07-09", "bad", "cluster-a", **{**fields, **kw})


def card_html(files: dict[str, bytes]) -> str:
    found = re.search(r"<article .*?</article>", text(files, "index.html"), re.S)
    assert found
    return found[0]


def test_card_shows_the_headline_and_the_fired_rule_and_its_chip_first_and_marked(tmp_path):
    card = card_html(render_site(config(tmp_path), [bad_night()]))
    assert f'<p class="summary">{HEADLINE}</p>' in card
    # The rule is named in words (and as configured, in a tooltip); its metric's chip comes first.
    assert 'Rule fired:</span>' in card and '<span class="rule" title="worst_ttr_s &gt; 60">worst recovery &gt; 60 s</span>' in card
    chips = re.findall(r'<div class="chip( fired)?"[^>]*><dt>(.*?)</dt><dd>(.*?)</dd>', card)
    assert chips[0][0] == " fired" and "worst recovery" in chips[0][1] and chips[0][2] == "110 s"
    # Marked by an icon and words, not by colour alone.
    assert "icon-alert" in chips[0][1] and '<span class="sr-only"> (rule fired)</span>' in chips[0][1]
    assert [c[0] for c in chips[1:]] == [""] * (len(chips) - 1)
    assert [c[2] for c in chips[1:5]] == ["0", "18", "134", "0"]
    assert ("", "min QPS", "4,033") in chips and ("", "worst drop", "77.9 %") in chips


def test_a_foreign_pdf_keeps_its_text_and_marks_nothing(tmp_path):
    foreign = report("2021-07-09", "bad", summary="Subject line of another tool", metrics={}, summary_source="metadata")
    card = card_html(render_site(config(tmp_path), [foreign]))
    assert '<p class="summary">Subject line of another tool</p>' in card
    assert "Rule fired" not in card and "fired" not in card and "<dl" not in card


def test_fired_rules_also_come_from_the_rules_list_and_bad_entries_are_skipped(tmp_path):
    extra = {"rules": [{"rule": "fatal > 0", "metric": "fatal", "value": 2, "fired": True},
                       {"rule": "errors > 100", "metric": "errors", "value": 18, "fired": False},
                       "junk", {"rule": 5}]}
    card = card_html(render_site(config(tmp_path), [bad_night(extra=extra, metrics={"errors": 18})]))
    assert '>fatal &gt; 0</span>' in card and "errors &gt; 100" not in card
    # The fired metric is shown (with the value the rule saw) even though metrics did not list it.
    assert re.search(r'<div class="chip fired"[^>]*><dt>.*?fatal.*?</dt><dd>2</dd>', card)


def test_the_subtitle_is_shown_only_when_it_says_more_than_date_and_suite():
    day = dt.date(2021, 7, 9)
    assert informative_title("Nightly chaos report 2021-07-09 — cluster-a", day, "cluster-a") == ""
    assert informative_title("Night of 2021-07-09", day, "") == ""
    assert informative_title("Chaos report: Fri 9 Jul 2021", day, "") == ""
    assert informative_title("TiDB v5.1 upgrade soak — cluster-a", day, "cluster-a") == "TiDB v5.1 upgrade soak — cluster-a"


def test_card_and_page_drop_a_title_that_repeats_the_date_and_suite(tmp_path):
    files = render_site(config(tmp_path), [bad_night(), report("2021-07-08", "good", "cluster-a", title="Upgrade soak, v5.1")])
    index = text(files, "index.html")
    assert "Nightly chaos report 2021-07-09" not in index and '<p class="card-subtitle">Upgrade soak, v5.1</p>' in index
    assert "viewer-subtitle" not in text(files, "nights/cluster-a/2021-07-09.html")


def test_night_page_carries_headline_rules_numbers_and_top_signatures_in_html(tmp_path):
    noise = [sig(f"CJK JSON error number {i} 错误", "error", 100 - i) for i in range(20)]
    panic = sig("connection running loop panic <script>", "panic", 1, new=True, component="basic-tidb-0")
    night = bad_night(signatures=(*noise, sig("slow score", "warn", 500), panic))
    page = text(render_site(config(tmp_path), [night]), "nights/cluster-a/2021-07-09.html")
    summary = page.split('<aside class="night-summary"')[1].split("</aside>")[0]
    assert f'<p class="headline">{HEADLINE}</p>' in summary
    assert "<strong>worst recovery &gt; 60 s</strong>: was 110 s <code>worst_ttr_s &gt; 60</code>" in summary
    assert '<dt>min QPS</dt><dd>4,033</dd>' in summary and '<dt>not recovered</dt><dd>0</dd>' in summary
    # The one panic outranks twenty noisier errors and a loud warning; text from the logs is escaped.
    items = re.findall(r'<li class="sig sig-(\w+)">(.*?)</li>', summary, re.S)
    assert [kind for kind, _ in items] == ["panic", "error", "error", "error", "error"]
    assert "connection running loop panic &lt;script&gt;" in items[0][1] and "NEW" in items[0][1]
    assert "basic-tidb-0" in items[0][1] and "1×" in items[0][1]
    assert "<script>" not in summary


def test_night_page_of_a_foreign_pdf_has_only_what_it_knows(tmp_path):
    foreign = report("2021-07-09", "good", summary="Page one text", metrics={})
    summary = text(render_site(config(tmp_path), [foreign]), "nights/2021-07-09.html").split('<aside class="night-summary"')[1]
    assert '<p class="headline">Page one text</p>' in summary
    assert "Rule" not in summary.split("</aside>")[0] and "signatures" not in summary.split("</aside>")[0]


def test_cards_are_unchanged_by_the_order_of_metrics(tmp_path):
    one = card_html(render_site(config(tmp_path), [bad_night()]))
    two = card_html(render_site(config(tmp_path), [bad_night(metrics=dict(reversed(list(METRICS.items()))))]))
    assert one == two
    assert len(parse(one).cards) == 1
