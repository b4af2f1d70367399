"""Streak, pass rate, calendar gaps and first-seen, on nights with gaps, duplicates and several suites."""

from __future__ import annotations

import datetime as dt

from sitegen.model import Report
from sitegen.site.history import calendar, needs_a_look_now, nights_by_suite, overview, signature_history, streak


def night(day: str, status: str, suite: str = "a", name: str = "", signatures: tuple[str, ...] = ()) -> Report:
    source = f"{suite}/{name or f'report-{day}-{status}.pdf'}"
    return Report(
        source=source, date=dt.date.fromisoformat(day), status=status, suite=suite, title="", summary="",
        pages=1, bytes=1, extra={"keys": list(signatures)},
    )


def needs_look(status: str) -> bool:
    return status != "good"


def suites(*reports: Report):
    return nights_by_suite(reports, needs_look)


def test_good_streak_counts_back_to_the_last_bad_night_across_gaps():
    found = suites(
        night("2021-07-01", "bad"), night("2021-07-02", "good"), night("2021-07-05", "good"), night("2021-07-06", "good")
    )["a"]
    s = streak(found)
    assert (s.bad, s.nights, s.since, s.last_bad) == (False, 3, dt.date(2021, 7, 2), dt.date(2021, 7, 1))


def test_bad_streak_and_a_suite_that_was_never_bad():
    rows = {r.suite: r for r in overview(suites(
        night("2021-07-01", "good", "a"), night("2021-07-02", "bad", "a"), night("2021-07-03", "bad", "a"),
        night("2021-07-03", "good", "b"),
    ))}
    assert (rows["a"].streak.bad, rows["a"].streak.nights, rows["a"].streak.since) == (True, 2, dt.date(2021, 7, 2))
    assert (rows["b"].streak.bad, rows["b"].streak.nights, rows["b"].streak.last_bad) == (False, 1, None)


def test_a_bad_duplicate_of_a_night_is_never_hidden_by_a_good_one():
    found = suites(night("2021-07-09", "good"), night("2021-07-09", "bad", name="report-2021-07-09-bad.pdf"))["a"]
    assert len(found) == 1 and found[0].needs_look


def test_pass_rate_and_sparkline_cover_the_last_30_nights_oldest_first():
    days = [dt.date(2021, 1, 1) + dt.timedelta(days=2 * i) for i in range(40)]  # every other day: gaps everywhere
    reports = [night(d.isoformat(), "bad" if i % 4 == 0 else "good") for i, d in enumerate(days)]
    (row,) = overview(suites(*reports))
    assert row.counted == 30
    recent = reports[10:]
    assert row.pass_rate == sum(1 for r in recent if r.status == "good") / 30
    assert [n.date for n in row.recent] == [r.date for r in recent]
    assert row.latest.date == days[-1]


def test_what_is_bad_now_is_the_latest_night_of_each_suite_and_those_suites_come_first():
    rows = overview(suites(
        night("2021-07-08", "bad", "old-trouble"), night("2021-07-09", "good", "old-trouble"),
        night("2021-07-09", "bad", "z-now"), night("2021-07-09", "good", "fine"),
    ))
    assert [r.suite for r in rows] == ["z-now", "fine", "old-trouble"]
    assert [(n.report.suite, n.date) for n in needs_a_look_now(rows)] == [("z-now", dt.date(2021, 7, 9))]


def test_calendar_weeks_start_on_monday_and_missing_nights_are_gaps():
    found = suites(night("2021-01-01", "good"), night("2021-01-03", "bad"), night("2020-12-31", "bad"))["a"]
    weeks = calendar(found, 2021)
    assert weeks[0][0][0] == dt.date(2020, 12, 28) and weeks[0][0][0].weekday() == 0
    cells = {day: n for week in weeks for day, n in week}
    assert cells[dt.date(2021, 1, 1)] is not None and cells[dt.date(2021, 1, 2)] is None
    assert cells[dt.date(2021, 1, 3)].needs_look
    assert cells[dt.date(2020, 12, 31)] is None  # another year's night is not drawn in this one
    assert weeks[-1][-1][0] >= dt.date(2021, 12, 31)


def test_first_seen_and_seen_in_the_last_nights_per_suite():
    reports = [night(f"2021-06-{d:02d}", "good", signatures=("old",)) for d in range(1, 31)]
    reports += [night("2021-07-01", "bad", signatures=("old", "new")), night("2021-07-02", "bad", signatures=("new", "new"))]
    reports.append(night("2021-07-02", "bad", suite="b", signatures=("old",)))
    found = suites(*reports)
    history = signature_history(found["a"], lambda r: r.extra["keys"])
    assert history["new"].first_seen == dt.date(2021, 7, 1)
    assert history["new"].seen == 2 and history["new"].nights == (dt.date(2021, 7, 2), dt.date(2021, 7, 1))
    assert history["old"].first_seen == dt.date(2021, 6, 1)
    assert history["old"].seen == 29  # of the last 30 nights (06-03..07-02), all but 07-02 had it
    assert signature_history(found["b"], lambda r: r.extra["keys"])["old"].first_seen == dt.date(2021, 7, 2)
