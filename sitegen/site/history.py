"""History per suite, rebuilt from the reports alone: the latest night, the streak, the pass rate, a calendar, first-seen.

Pure functions over `Report`s: nothing is stored between builds, so history can never be lost and
retention is just deleting PDFs. A "night" is one (suite, date); when a suite has several reports for
one date, the one that needs a look stands for the night, so a bad duplicate is never hidden by a good one.
"""

from __future__ import annotations

import bisect
import calendar
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
    known: bool = True  # its status is one the site's config knows; an unknown one is neither good nor bad

    @property
    def date(self) -> dt.date:
        return self.report.date

    @property
    def good(self) -> bool:
        return self.known and not self.needs_look

    @property
    def kind(self) -> str:
        """What a streak is a run of: "bad" (needs a look), "good", or "unknown" (a status the config does not know)."""
        return "bad" if self.needs_look else "good" if self.known else "unknown"


@dataclass(frozen=True)
class Streak:
    """`nights` in a row, counted from the newest, of one kind (Night.kind): all bad, all good or all unknown."""

    kind: str
    nights: int
    since: dt.date  # the oldest night of the streak
    last_bad: dt.date | None  # for a good or unknown streak: the latest bad night before it, if any
    whole: bool = False  # the streak reaches back to the suite's first night
    after_bad: bool = False  # the night just before the streak was the bad one (`last_bad`), no unknown between

    @property
    def bad(self) -> bool:
        return self.kind == "bad"


@dataclass(frozen=True)
class SuiteOverview:
    suite: str
    latest: Night
    streak: Streak
    pass_rate: float  # share of the last `counted` nights that were good (an unknown status is not)
    counted: int
    recent: tuple[Night, ...]  # up to WINDOW nights, oldest first (the sparkline)


@dataclass(frozen=True)
class SignatureHistory:
    first_seen: dt.date  # the first night of the suite that had this signature
    seen: int  # nights among the suite's last WINDOW that had it
    nights: tuple[dt.date, ...]  # every night it appeared in, newest first


def nights_by_suite(
    reports: Iterable[Report], needs_look: Callable[[str], bool], known: Callable[[str], bool] = lambda _word: True
) -> dict[str, list[Night]]:
    """Suite -> its nights, newest first; one night per date."""
    per_date: dict[tuple[str, dt.date], Night] = {}
    for report in sorted(reports, key=lambda r: r.source):
        night = Night(report, needs_look(report.status), known(report.status))
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
    kind = nights[0].kind
    length = next((i for i, night in enumerate(nights) if night.kind != kind), len(nights))
    last_bad = None if kind == "bad" else next((n.date for n in nights[length:] if n.needs_look), None)
    after_bad = length < len(nights) and nights[length].needs_look
    return Streak(
        kind=kind, nights=length, since=nights[length - 1].date, last_bad=last_bad, whole=length == len(nights), after_bad=after_bad
    )


def overview(suites: dict[str, list[Night]], window: int = WINDOW) -> list[SuiteOverview]:
    """One row per suite, suites that need a look now first, then by name."""
    rows = []
    for suite, nights in suites.items():
        if not nights:
            continue
        recent = nights[:window]
        good = sum(1 for night in recent if night.good)
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


@dataclass(frozen=True)
class CalendarMonth:
    """One month of a suite's calendar: weeks (Monday first) of (day, night); `day` is None outside the month."""

    first: dt.date  # the 1st of the month
    weeks: tuple[tuple[tuple[dt.date | None, Night | None], ...], ...]
    nights: int
    needing_look: int
    missing: int  # days between the suite's first and latest night that have no report


def calendar_months(nights: list[Night], year: int) -> list[CalendarMonth]:
    """The months of `year` from the suite's first night to its latest (whole months), each as a small calendar.

    A day inside that span without a night is a gap (`missing`); months wholly before the first night or after the
    latest one are left out, so a suite that started in May does not open on four empty months.
    """
    if not nights:
        return []
    newest, oldest = nights[0].date, nights[-1].date
    by_date = {night.date: night for night in nights if night.date.year == year}
    first_month = oldest.month if oldest.year == year else 1
    last_month = newest.month if newest.year == year else 12
    out = []
    for month in range(first_month, last_month + 1):
        first = dt.date(year, month, 1)
        found, bad, missing = 0, 0, 0
        # Blank cells before the 1st and after the last day: no date arithmetic past year 1 or 9999.
        cells: list[tuple[dt.date | None, Night | None]] = [(None, None)] * first.weekday()
        for number in range(1, calendar.monthrange(year, month)[1] + 1):
            day = dt.date(year, month, number)
            night = by_date.get(day)
            cells.append((day, night))
            found += night is not None
            bad += bool(night and night.needs_look)
            missing += night is None and oldest <= day <= newest
        cells += [(None, None)] * (-len(cells) % 7)
        weeks = [tuple(cells[i : i + 7]) for i in range(0, len(cells), 7)]
        out.append(CalendarMonth(first, tuple(weeks), found, bad, missing))
    return out


def years(nights: list[Night]) -> list[int]:
    """The years a suite has nights in, newest first."""
    return sorted({night.date.year for night in nights}, reverse=True)


@dataclass(frozen=True)
class SignatureSeen:
    """A signature as one night page shows it: since when the suite has it and how often lately."""

    first: Report  # the suite's earliest report that had it
    seen: int  # nights among the `counted` nights up to and including this one that had it
    counted: int


class SignatureTimeline:
    """Every signature of one suite over its nights, to answer "since when?" and "how often?" for any night.

    Counted per night (date), so a duplicate PDF of one night counts once; "lately" is the WINDOW nights ending at
    the night asked about, so an older night's page does not change when newer nights arrive.
    """

    def __init__(self, reports: Iterable[Report], keys_of: Callable[[Report], Iterable[str]]) -> None:
        by_date: dict[dt.date, list[Report]] = defaultdict(list)
        for report in sorted(reports, key=lambda r: (r.date, r.source)):
            by_date[report.date].append(report)
        self._index: dict[dt.date, int] = {}
        self._positions: dict[str, list[int]] = defaultdict(list)
        self._first: dict[str, Report] = {}
        for i, (day, found) in enumerate(by_date.items()):  # dates ascending: inserted in sorted order
            self._index[day] = i
            for report in found:
                for key in keys_of(report):
                    positions = self._positions[key]
                    if not positions or positions[-1] != i:
                        positions.append(i)
                    self._first.setdefault(key, report)

    def seen(self, report: Report, key: str, window: int = WINDOW) -> SignatureSeen | None:
        """How `key` stood on `report`'s night; None when the suite never had it (or the night is unknown)."""
        for _key, first, seen, counted in self.standing(report, (key,), window):
            return SignatureSeen(first=first, seen=seen, counted=counted)
        return None

    def standing(self, report: Report, keys: Iterable[str], window: int = WINDOW) -> list[tuple[str, Report, int, int]]:
        """(key, first report, seen, counted) for each of `keys` the suite ever had, as `seen` says (seen 0 for a key
        first seen after `report`'s night).

        As plain tuples, for every night at once: a build keys each night page on these (10,000 pages).
        """
        i = self._index.get(report.date)
        if i is None:
            return []
        low = max(0, i - window + 1)
        out = []
        for key in keys:
            positions = self._positions.get(key)
            if positions:
                seen = bisect.bisect_right(positions, i) - bisect.bisect_left(positions, low)
                out.append((key, self._first[key], seen, i - low + 1))
        return out
