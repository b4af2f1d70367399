"""What the history parts of the site show, ready for the templates: overview rows, calendars, signature lines.

Built from `history` (pure functions over the reports) and given links by the caller, relative to the page
that shows them. `card` is the renderer's card maker, so a night looks the same here as everywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sitegen.model import Report
from sitegen.site.history import (
    WINDOW,
    CalendarMonth,
    Night,
    SignatureTimeline,
    Streak,
    SuiteOverview,
    calendar_months,
    years,
)

CardMaker = Callable[[Report], Any]  # Report -> render.Card, with links relative to the page being drawn


@dataclass(frozen=True)
class SuiteRow:
    """One suite in the overview: its latest night, streak, pass rate and the sparkline of recent nights."""

    suite: str
    url: str  # the suite's page
    latest: Any  # Card of the newest night
    streak: Streak
    streak_card: Any  # Card of the night the streak text links: the first of a bad run, or the last bad night
    good: int  # nights among the `counted` recent ones that were good
    bad: int  # and those that needed a look (the rest have a status the config does not know)
    counted: int
    spark: tuple[Any, ...]  # Cards of the recent nights, oldest first

    @property
    def pass_percent(self) -> int:
        return round(100 * self.good / self.counted) if self.counted else 0


def suite_row(row: SuiteOverview, url: str, nights: list[Night], card: CardMaker) -> SuiteRow:
    streak = row.streak
    linked = streak.since if streak.bad else streak.last_bad
    linked_night = next((n for n in nights if n.date == linked), None) if linked else None
    return SuiteRow(
        suite=row.suite,
        url=url,
        latest=card(row.latest.report),
        streak=streak,
        streak_card=card(linked_night.report) if linked_night else None,
        good=sum(1 for n in row.recent if n.good),
        bad=sum(1 for n in row.recent if n.needs_look),
        counted=row.counted,
        spark=tuple(card(n.report) for n in row.recent),
    )


@dataclass(frozen=True)
class Year:
    year: int
    months: list[CalendarMonth]
    nights: int
    needing_look: int
    missing: int


def calendar_years(nights: list[Night], wanted: Collection[int] | None = None) -> list[Year]:
    """The years the suite has nights in (only those `wanted`, if given), newest first, as month calendars."""
    out = []
    for year in years(nights):
        if wanted is not None and year not in wanted:
            continue
        months = calendar_months(nights, year)
        out.append(
            Year(
                year=year,
                months=months,
                nights=sum(m.nights for m in months),
                needing_look=sum(m.needing_look for m in months),
                missing=sum(m.missing for m in months),
            )
        )
    return out


@dataclass(frozen=True)
class YearLink:
    """One year in a suite's list of calendars; `url` is '' on that year's own page."""

    year: int
    url: str


@dataclass(frozen=True)
class SignatureLine:
    """'first seen' and 'seen in N of the last nights' for one signature on one night page."""

    first_date: dt.date
    first_url: str  # '' when the first night is this one
    seen: int
    counted: int
    search_url: str  # the index's search for its words in this suite: every night it appeared in


SEARCH_WORDS = 8  # words of a signature's message the "every night with it" search looks for


def search_words(message: str) -> str:
    """The first few whole words of a message, for the index's search (which wants every word in a night's text)."""
    found = message.split()
    if found and found[-1].endswith("…"):  # a clipped last word would match nothing
        found.pop()
    return " ".join(found[:SEARCH_WORDS])


def signature_lines(
    report: Report, timeline: SignatureTimeline, link: Callable[[Report], str], search: Callable[[str], str],
    window: int = WINDOW,
) -> dict[str, SignatureLine]:
    """Signature key -> its line, for the signatures the night page shows; `search(words)` links the index's search."""
    out = {}
    for sig in report.signatures:
        seen = timeline.seen(report, sig.key, window)
        if seen is None or not sig.key:
            continue
        first = seen.first
        out[sig.key] = SignatureLine(
            first_date=first.date,
            first_url="" if first.date == report.date else link(first),
            seen=seen.seen,
            counted=seen.counted,
            search_url=search(search_words(sig.message or sig.pattern)),
        )
    return out
