"""The night window: night D is the 24 h ending at D + night_ends_at in the report zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sitegen.errors import UsageError
from sitegen.nightly.window import night_for, night_window, parse_night, parse_time

UTC = ZoneInfo("UTC")


def test_a_run_at_0610_reports_the_night_that_just_ended_from_0600_the_day_before():
    night = night_for(dt.datetime(2021, 7, 9, 6, 10, tzinfo=UTC))
    assert night == dt.date(2021, 7, 9)
    window = night_window(night)
    assert window.since == dt.datetime(2021, 7, 8, 6, 0, tzinfo=UTC)
    assert window.until == dt.datetime(2021, 7, 9, 6, 0, tzinfo=UTC)


def test_before_the_night_ends_the_previous_night_is_reported():
    assert night_for(dt.datetime(2021, 7, 9, 5, 59, 59, tzinfo=UTC)) == dt.date(2021, 7, 8)
    assert night_for(dt.datetime(2021, 7, 9, 6, 0, tzinfo=UTC)) == dt.date(2021, 7, 9)


def test_the_window_follows_the_configured_zone_and_end_time():
    shanghai = ZoneInfo("Asia/Shanghai")
    # 22:30 UTC on 07-08 is 06:30 on 07-09 in Shanghai: night 07-09 has ended there.
    assert night_for(dt.datetime(2021, 7, 8, 22, 30, tzinfo=UTC), tz="Asia/Shanghai") == dt.date(2021, 7, 9)
    window = night_window(dt.date(2021, 7, 9), ends_at="08:30", tz="Asia/Shanghai")
    assert window.since == dt.datetime(2021, 7, 8, 8, 30, tzinfo=shanghai)
    assert window.until.astimezone(UTC) == dt.datetime(2021, 7, 9, 0, 30, tzinfo=UTC)


def test_a_night_across_a_dst_change_is_23_hours_of_real_time():
    window = night_window(dt.date(2021, 3, 28), tz="Europe/Berlin")
    assert window.until.astimezone(UTC) - window.since.astimezone(UTC) == dt.timedelta(hours=23)


def test_since_and_until_override_the_night_with_or_without_an_offset():
    window = night_window(
        dt.date(2021, 7, 9), tz="Asia/Shanghai", since="2021-07-08T20:00:00+00:00", until="2021-07-09 07:00"
    )
    assert window.since == dt.datetime(2021, 7, 8, 20, 0, tzinfo=UTC)
    # No offset: the configured zone.
    assert window.until == dt.datetime(2021, 7, 9, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    # The night's own end stays put, whatever --until says.
    assert window.night_end == dt.datetime(2021, 7, 9, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    only_since = night_window(dt.date(2021, 7, 9), since="2021-07-08T12:00Z")
    assert only_since.until == dt.datetime(2021, 7, 9, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("yesterday", None, "--since 'yesterday': expected an ISO 8601 time"),
        (None, "2021-07-09T25:00", "--until '2021-07-09T25:00': expected an ISO 8601 time"),
        ("2021-07-09T06:00Z", "2021-07-09T05:00Z", "the time window is empty"),
    ],
)
def test_bad_times_are_usage_errors(since, until, message):
    with pytest.raises(UsageError) as err:
        night_window(dt.date(2021, 7, 9), since=since, until=until)
    assert message in str(err.value)


@pytest.mark.parametrize("text", ["2021-02-30", "2021-7-9", "20210709", "tonight", ""])
def test_night_must_be_a_real_date(text):
    with pytest.raises(UsageError, match="expected a date as YYYY-MM-DD"):
        parse_night(text)


def test_parse_time_accepts_z_and_offsets():
    assert parse_time("2021-07-09T06:00:00Z", UTC) == dt.datetime(2021, 7, 9, 6, tzinfo=UTC)
    assert parse_time("2021-07-09T14:00:00+08:00", UTC).astimezone(UTC) == dt.datetime(2021, 7, 9, 6, tzinfo=UTC)
