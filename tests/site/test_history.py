"""Streak, pass rate, calendar gaps and first-seen, on nights with gaps, duplicates and several suites."""

from __future__ import annotations

import datetime as dt

from sitegen.model import Report
from sitegen.site.history import calendar_months, needs_a_look_now, nights_by_suite, overview, signature_history, streak


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
    found = suites(
        night("2021-01-01", "good"), night("2021-01-03", "bad"), night("2021-01-05", "good"), night("2020-12-31", "bad")
    )["a"]
    months = calendar_months(found, 2021)
    assert [m.first for m in months] == [dt.date(2021, 1, 1)]  # from the first night's month to the latest's
    january = months[0]
    assert january.weeks[0][:4] == ((None, None),) * 4  # 2021-01-01 is a Friday: Monday to Thursday are blank
    cells = {day: n for week in january.weeks for day, n in week if day}
    assert cells[dt.date(2021, 1, 1)] is not None and cells[dt.date(2021, 1, 2)] is None
    assert cells[dt.date(2021, 1, 3)].needs_look
    assert (january.nights, january.needing_look, january.missing) == (3, 1, 2)  # 01-02 and 01-04 are gaps
    assert all(len(week) == 7 for week in january.weeks) and len(cells) == 31
    assert calendar_months(found, 2020)[0].nights == 1  # another year's night is drawn in its own year


def test_calendar_reaches_the_first_and_last_years_sitegen_accepts():
    found = suites(night("9998-12-31", "good"), night("0001-01-01", "bad"))["a"]
    assert calendar_months(found, 1)[0].weeks[0][0][0] == dt.date(1, 1, 1)  # a Monday: no blank before it
    last = calendar_months(found, 9998)[-1]
    assert last.first == dt.date(9998, 12, 1) and dt.date(9998, 12, 31) in {d for w in last.weeks for d, _ in w}


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
