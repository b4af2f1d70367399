"""A small built site for the search, compare and accessibility browser tests: two suites, ten nights,
three cards on the index page, so search must draw nights the page does not carry."""

from __future__ import annotations

from pathlib import Path

from sitegen.config import parse_config
from sitegen.site.build import build_site

RARE = "raft group stalled on region 77"  # a signature of two tikv nights, one too old for the index page
FRESH = "coprocessor task timed out"  # new on the newest tikv night
SURGING = "region unavailable"  # 10 on 07-05, 40 on 07-06
INDEX_LIMIT = 3
TIKV, PD = "tikv-failure", "pd-partition"
BAD = {(TIKV, "2021-07-02"), (TIKV, "2021-07-05"), (TIKV, "2021-07-06"), (PD, "2021-07-03")}


def _signatures(suite: str, day: str) -> list[dict]:
    sigs = [{"key": "k-region", "level": "error", "kind": "error", "count": 40 if day == "2021-07-06" else 10, "message": SURGING,
             "component": "tikv-1"}]
    if suite == TIKV and day in ("2021-07-02", "2021-07-05"):
        sigs.append({"key": "k-raft", "level": "warn", "kind": "warn", "count": 3, "message": RARE, "component": "tikv-2"})
    if suite == TIKV and day == "2021-07-06":
        sigs.append({"key": "k-cop", "level": "error", "kind": "error", "count": 5, "new": True, "message": FRESH,
                     "component": "tidb-0"})
    return sigs


def build_search_site(root: Path, shard_nights: int | None = None) -> Path:
    """Build the site into root/www/repo (served under /repo/ like the other browser tests); returns that folder.

    With `shard_nights` the search index is sharded at that many nights, as a big site's would be.
    """
    import pytest

    from sitegen.site import search_index
    from tests.pdf_factory import make_pdf

    for suite, days in ((TIKV, range(1, 7)), (PD, range(1, 5))):
        for d in days:
            day = f"2021-07-0{d}"
            status = "bad" if (suite, day) in BAD else "good"
            errors = 100 + d * 10 if status == "bad" else d
            make_pdf(
                root / "reports" / suite / f"report-{day}-{status}.pdf",
                pages=[f"Night {day} of {suite}."],
                summary={
                    "schema": 1, "date": day, "status": status, "suite": suite, "title": "Chaos night",
                    "headline": f"{suite} on {day}: {'panic in tikv-1' if status == 'bad' else 'all recovered'}.",
                    "metrics": {
                        "errors": errors, "fatal": 1 if status == "bad" else 0, "min_qps": 4000 + d, "max_drop_pct": 60 + 2.5 * d,
                    },
                    "signatures": _signatures(suite, day),
                },
            )
    raw = {"reports": "reports", "output": "www/repo", "cache_dir": "cache", "title": "Search test", "index_limit": INDEX_LIMIT}
    with pytest.MonkeyPatch.context() as patch:
        if shard_nights:
            patch.setattr(search_index, "SHARD_NIGHTS", shard_nights)
        build_site(parse_config(raw, root))
    return root / "www" / "repo"


def until(page, predicate: str, timeout: float = 10):
    """Poll a JS function (the CSP forbids wait_for_function's string form) until it returns something truthy."""
    import time

    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(predicate)):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        page.wait_for_timeout(50)
    return value


# "SUITE DATE STATUS" of every card in the grid, in order.
CARDS = """() => Array.from(document.querySelectorAll('section.grid article.card'))
  .map(c => c.dataset.suite + ' ' + c.dataset.date + ' ' + c.dataset.status)"""
