"""History per suite, rebuilt from the reports alone: the latest night, the streak, the pass rate, a calendar, first-seen.

Pure functions over `Report`s: nothing is stored between builds, so history can never be lost and
retention is just deleting PDFs. A "night" is one (suite, date); when a suite has several reports for
one date, the one that needs a look stands for the night, so a bad duplicate is never hidden by a good one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sitegen.model import Report

WINDOW = 30  # nights the pass rate, the sparkline and "seen in N of the last nights" look back over


@dataclass(frozen=True)
class Night:
    report: Report
    needs_look: bool

    @property
    def date(self) -> dt.date:
        return self.report.date


@dataclass(frozen=True)
class Streak:
    """`nights` in a row, counted from the newest, that all needed a look (`bad`) or all did not."""

    bad: bool
    nights: int
    since: dt.date  # the oldest night of the streak
    last_bad: dt.date | None  # for a good streak: the bad night before it, if any


@dataclass(frozen=True)
class SuiteOverview:
    suite: str
    latest: Night
    streak: Streak
    pass_rate: float  # share of the last `counted` nights that did not need a look
    counted: int
    recent: tuple[Night, ...]  # up to WINDOW nights, oldest first (the sparkline)


@dataclass(frozen=True)
class SignatureHistory:
    first_seen: dt.date  # the first night of the suite that had this signature
    seen: int  # nights among the suite's last WINDOW that had it
    nights: tuple[dt.date, ...]  # every night it appeared in, newest first


def nights_by_suite(reports: Iterable[Report], needs_look: Callable[[str], bool]) -> dict[str, list[Night]]:
    """Suite -> its nights, newest first; one night per date."""
    per_date: dict[tuple[str, dt.date], Night] = {}
    for report in sorted(reports, key=lambda r: r.source):
        night = Night(report, needs_look(report.status))
        key = (report.suite, report.date)
        held = per_date.get(key)
        if held is None or (night.needs_look and not held.needs_look):
            per_date[key] = night
    suites: dict[str, list[Night]] = defaultdict(list)
    for (suite, _date), night in per_date.items():
        suites[suite].append(night)
    return {suite: sorted(found, key=lambda n: n.date, reverse=True) for suite, found in sorted(suites.items())}


def streak(nights: list[Night]) -> Streak:
    """The run of equal verdicts ending at the newest night (`nights` newest first, not empty)."""
    bad = nights[0].needs_look
    length = next((i for i, night in enumerate(nights) if night.needs_look != bad), len(nights))
    last_bad = None if bad or length == len(nights) else nights[length].date
    return Streak(bad=bad, nights=length, since=nights[length - 1].date, last_bad=last_bad)


def overview(suites: dict[str, list[Night]], window: int = WINDOW) -> list[SuiteOverview]:
    """One row per suite, suites that need a look now first, then by name."""
    rows = []
    for suite, nights in suites.items():
        if not nights:
            continue
        recent = nights[:window]
        good = sum(1 for night in recent if not night.needs_look)
        rows.append(
            SuiteOverview(
                suite=suite,
                latest=nights[0],
                streak=streak(nights),
                pass_rate=good / len(recent),
                counted=len(recent),
                recent=tuple(reversed(recent)),
            )
        )
    return sorted(rows, key=lambda row: (not row.latest.needs_look, row.suite))


def needs_a_look_now(rows: list[SuiteOverview]) -> list[Night]:
    """The latest night of every suite whose latest night needs a look: what is bad now."""
    return [row.latest for row in rows if row.latest.needs_look]


def calendar(nights: list[Night], year: int) -> list[list[tuple[dt.date, Night | None]]]:
    """The year as weeks (Monday first), each day with its night or None: missing nights show as gaps."""
    by_date = {night.date: night for night in nights if night.date.year == year}
    day = dt.date(year, 1, 1)
    day -= dt.timedelta(days=day.weekday())
    end = dt.date(year, 12, 31)
    weeks = []
    while day <= end:
        weeks.append([(day + dt.timedelta(days=i), by_date.get(day + dt.timedelta(days=i))) for i in range(7)])
        day += dt.timedelta(days=7)
    return weeks


def signature_history(
    nights: list[Night], keys_of: Callable[[Report], Iterable[str]], window: int = WINDOW
) -> dict[str, SignatureHistory]:
    """Signature key -> since when a suite has it and how often lately (`nights` newest first)."""
    dates: dict[str, list[dt.date]] = defaultdict(list)
    for night in nights:
        for key in dict.fromkeys(keys_of(night.report)):
            dates[key].append(night.date)
    recent = {night.date for night in nights[:window]}
    return {
        key: SignatureHistory(first_seen=seen[-1], seen=sum(1 for d in seen if d in recent), nights=tuple(seen))
        for key, seen in dates.items()
    }
