"""Retention (`retention: {max_nights, max_bytes}`) and the size budget a build warns about."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sitegen.config import parse_config
from sitegen.errors import ConfigError
from sitegen.model import Report
from sitegen.site import budget
from sitegen.site.build import build_site
from sitegen.site.retention import archived

PANIC = {"key": "k-panic", "level": "fatal", "kind": "panic", "count": 1, "new": True, "component": "tidb-0",
         "message": "invalid memory address or nil pointer dereference", "pattern": "invalid memory address"}


def _summary(day: str, status: str, headline: str) -> dict:
    signatures = [PANIC] + [{"key": f"k{i}", "level": "error", "count": 10 - i, "message": f"error {i}"} for i in range(8)]
    return {"schema": 1, "date": day, "status": status, "headline": headline, "metrics": {"errors": 3}, "signatures": signatures}


@pytest.fixture
def nights(tmp_path, make_pdf) -> Path:
    """Five nights over two suites; 2021-07-08 has a night in each."""
    r = tmp_path / "reports"
    plan = [
        ("tikv", "2021-07-05", "good"),
        ("tikv", "2021-07-06", "bad"),
        ("tikv", "2021-07-07", "good"),
        ("tikv", "2021-07-08", "good"),
        ("pd", "2021-07-08", "bad"),
        ("pd", "2021-07-09", "good"),
    ]
    for suite, day, status in plan:
        make_pdf(r / suite / f"report-{day}-{status}.pdf", summary=_summary(day, status, f"headline of {suite} {day}"))
    return tmp_path


def _catalog(root: Path) -> dict[str, dict]:
    doc = json.loads((root / "public" / "reports.json").read_text(encoding="utf-8"))
    return {r["source"]: r for r in doc["reports"]}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hrefs: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag, attrs) -> None:
        self.hrefs += [v for k, v in attrs if k == "href" and v]


def _page(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_max_nights_drops_the_oldest_pdfs_from_the_site_only(nights):
    reports_before = sorted(p.relative_to(nights).as_posix() for p in (nights / "reports").rglob("*.pdf"))
    result = build_site(parse_config({"retention": {"max_nights": 3}}, nights))
    out = nights / "public"

    cat = _catalog(nights)
    # The newest three dates (07-09, 07-08 in both suites, 07-07) keep their PDFs.
    published = {s for s, r in cat.items() if r["pdf_url"]}
    assert published == {
        "pd/report-2021-07-09-good.pdf",
        "pd/report-2021-07-08-bad.pdf",
        "tikv/report-2021-07-08-good.pdf",
        "tikv/report-2021-07-07-good.pdf",
    }
    for source in ("tikv/report-2021-07-06-bad.pdf", "tikv/report-2021-07-05-good.pdf"):
        entry = cat[source]
        assert entry["pdf_url"] is None
        assert entry["unpublished"].startswith("PDF archived")
        assert "max_nights" in entry["unpublished"]
        assert entry["summary"] == f"headline of tikv {source[12:22]}"  # the summary stays
    pdfs = sorted(p.name for p in out.rglob("*.pdf") if "pdfjs" not in p.parts)
    assert pdfs == sorted(Path(s).name for s in published)
    # The reports folder is never touched.
    assert sorted(p.relative_to(nights).as_posix() for p in (nights / "reports").rglob("*.pdf")) == reports_before
    assert len(result.reports) == 6

    # The archived night's card says so and links no PDF; its page keeps the summary.
    index = _page(out / "index.html")
    text = " ".join(index.parts)
    assert text.count("PDF archived") == 2
    assert "headline of tikv 2021-07-06" in text
    assert not any(h.endswith("report-2021-07-06-bad.pdf") for h in index.hrefs)
    page_url = cat["tikv/report-2021-07-06-bad.pdf"]["page_url"]
    night = _page(out / page_url)
    assert "headline of tikv 2021-07-06" in " ".join(night.parts)
    assert "PDF archived" in " ".join(night.parts)
    assert not any(h.endswith(".pdf") for h in night.hrefs)


def test_reports_json_carries_the_worst_signatures_of_each_night(nights):
    build_site(parse_config({}, nights))
    entry = _catalog(nights)["tikv/report-2021-07-06-bad.pdf"]
    assert [s["key"] for s in entry["signatures"]] == ["k-panic", "k0", "k1", "k2", "k3"]  # the worst five
    assert entry["signatures"][0]["message"] == "invalid memory address or nil pointer dereference"
    assert entry["signatures"][0]["component"] == "tidb-0" and entry["signatures"][0]["new"] is True


def test_raising_the_limit_publishes_the_pdfs_again(nights):
    build_site(parse_config({"retention": {"max_nights": 1}}, nights))
    assert sum(1 for r in _catalog(nights).values() if r["pdf_url"]) == 1
    build_site(parse_config({}, nights))
    cat = _catalog(nights)
    assert all(r["pdf_url"] and r["unpublished"] is None for r in cat.values())
    for r in cat.values():
        assert (nights / "public" / r["pdf_url"]).is_file()


def test_max_bytes_keeps_whole_nights_newest_first(nights):
    sizes = {p.relative_to(nights / "reports").as_posix(): p.stat().st_size for p in (nights / "reports").rglob("*.pdf")}
    # Room for 07-09 and both PDFs of 07-08, one byte short of 07-07 too.
    room = sizes["pd/report-2021-07-09-good.pdf"] + sizes["pd/report-2021-07-08-bad.pdf"] + sizes["tikv/report-2021-07-08-good.pdf"]
    build_site(parse_config({"retention": {"max_bytes": room + sizes["tikv/report-2021-07-07-good.pdf"] - 1}}, nights))
    cat = _catalog(nights)
    assert {s for s, r in cat.items() if r["pdf_url"]} == {
        "pd/report-2021-07-09-good.pdf",
        "pd/report-2021-07-08-bad.pdf",
        "tikv/report-2021-07-08-good.pdf",
    }
    reason = cat["tikv/report-2021-07-07-good.pdf"]["unpublished"]
    limit = room + sizes["tikv/report-2021-07-07-good.pdf"] - 1
    assert reason == f"PDF archived: the site keeps at most {limit:,} bytes of PDFs (retention: max_bytes)"


def test_a_night_too_big_for_max_bytes_archives_it_and_every_older_one():
    def report(day: str, size: int) -> Report:
        return Report(f"report-{day}-good.pdf", dt.date.fromisoformat(day), "good", "", "", "", 1, size)

    reports = [report("2021-07-03", 10), report("2021-07-02", 500), report("2021-07-01", 10)]
    out = archived(reports, None, 100)
    # 07-02 does not fit; 07-01 would, but the published nights stay the newest without a hole.
    assert set(out) == {"report-2021-07-02-good.pdf", "report-2021-07-01-good.pdf"}
    assert archived(reports, None, None) == {}
    assert archived(reports, 0, None).keys() == {r.source for r in reports}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"max_nights": 0}, "config key 'retention.max_nights': must be greater than 0"),
        ({"max_nights": "ten"}, "config key 'retention.max_nights': must be an integer"),
        ({"max_bytes": "a lot"}, "config key 'retention.max_bytes': must be a size such as 900 MB"),
        ({"max_bytes": -5}, "config key 'retention.max_bytes': must not be negative"),
        ({"keep": 3}, "config key 'retention.keep': unknown key"),
        ({"max_bytes": "\u0661\u0662 MB"}, "config key 'retention.max_bytes': must be a size"),  # Arabic-Indic digits
        ([3], "config key 'retention': must be a mapping"),
    ],
)
def test_bad_retention_config_names_the_key(tmp_path, raw, problem):
    with pytest.raises(ConfigError) as info:
        parse_config({"retention": raw}, tmp_path)
    assert any(line.startswith(problem) for line in info.value.problems), info.value.problems


def test_every_bad_retention_key_is_listed_at_once(tmp_path):
    with pytest.raises(ConfigError) as info:
        parse_config({"retention": {"max_nights": -1, "max_bytes": "huge"}}, tmp_path)
    assert len(info.value.problems) == 2


def test_the_build_warns_near_the_pages_limit_and_says_how_many_nights_fit(nights, monkeypatch):
    result = build_site(parse_config({}, nights))
    assert not any("GitHub Pages" in w for w in result.warnings)
    site_bytes = budget.measure(nights / "public").site_bytes
    # Pretend the limit is just above this site: 80 % and more of it is "near".
    monkeypatch.setattr(budget, "PAGES_LIMIT", int(site_bytes * 1.1))
    (nights / "reports" / "pd" / "report-2021-07-09-good.pdf").touch()  # something changed: the site is written
    result = build_site(parse_config({}, nights))
    near = [w for w in result.warnings if "GitHub Pages' 1 GB limit" in w]
    assert len(near) == 1, result.warnings
    assert "night(s) fit" in near[0] and "retention: max_nights" in near[0]
    assert "it holds 5" in near[0]  # five dates have a published PDF


def test_the_planned_budget_matches_the_built_site(nights):
    """The build's estimate (from planned sizes) and deploy's measure (a walk of the site) agree."""
    build_site(parse_config({"retention": {"max_nights": 2}}, nights))
    measured = budget.measure(nights / "public")
    assert measured.nights == 2
    planned = budget.from_sizes(
        {p.relative_to(nights / "public").as_posix(): p.stat().st_size for p in (nights / "public").rglob("*") if p.is_file()}, 2
    )
    assert planned == measured
