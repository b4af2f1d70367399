"""The night's time window: night D covers the 24 h ending at D + night_ends_at in the report zone."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sitegen import limits
from sitegen.errors import UsageError
from sitegen.nightly import times

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class NightWindow:
    """The night reported and the time span its logs, metrics and chaos windows are read from."""

    night: dt.date
    since: dt.datetime  # timezone-aware, inclusive
    until: dt.datetime  # timezone-aware, exclusive
    tz: ZoneInfo
    night_end: dt.datetime  # where the night ends by default (D + night_ends_at), whatever --until says


def parse_night(text: str) -> dt.date:
    """Parse --night as a real calendar date YYYY-MM-DD."""
    try:
        if len(text) != 10:
            raise ValueError
        night = dt.date.fromisoformat(text)
    except (ValueError, TypeError):
        raise UsageError(f"--night {text!r}: expected a date as YYYY-MM-DD, for example 2021-07-09") from None
    if not limits.FIRST_YEAR <= night.year <= limits.LAST_YEAR:
        # The night before 0001-01-01 does not exist, and epoch times stop well before 9999.
        raise UsageError(f"--night {text!r}: the night must lie in the years {limits.FIRST_YEAR}-{limits.LAST_YEAR}")
    return night


def parse_time(text: str, tz: ZoneInfo, *, flag: str = "TIME") -> dt.datetime:
    """Parse an ISO 8601 time, with or without offset (then taken in `tz`); a bare date means its midnight."""
    raw = text.strip()
    try:
        if _NUMBER.fullmatch(raw):
            # times.parse_time reads a bare number as epoch seconds; the CLI flags take ISO only, and of
            # all-digit text just the basic-format date (20210709) is ISO.
            return times.in_range(dt.datetime.fromisoformat(raw).replace(tzinfo=tz))
        return times.in_range(times.parse_time(raw, tz))
    except ValueError:
        raise UsageError(
            f"{flag} {text!r}: expected an ISO 8601 time such as 2021-07-09T06:00 or 2021-07-09T06:00:00+08:00"
        ) from None


def _ends_at(night: dt.date, ends_at: str, tz: ZoneInfo) -> dt.datetime:
    hours, minutes = (int(part) for part in ends_at.split(":"))
    return dt.datetime.combine(night, dt.time(hours, minutes), tzinfo=tz)


def night_window(
    night: dt.date,
    *,
    ends_at: str = "06:00",
    tz: str | ZoneInfo = "UTC",
    since: str | None = None,
    until: str | None = None,
) -> NightWindow:
    """The window for `night`; --since/--until replace either end. Raises UsageError on bad times."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    end = default_end = _ends_at(night, ends_at, zone)
    # Wall-clock arithmetic in the zone: a night spanning a DST change is 23 or 25 h of real time.
    start = _ends_at(night - dt.timedelta(days=1), ends_at, zone)
    if since is not None:
        start = parse_time(since, zone, flag="--since")
    if until is not None:
        end = parse_time(until, zone, flag="--until")
    if start >= end:
        raise UsageError(f"the time window is empty: --since {start.isoformat()} is not before --until {end.isoformat()}")
    if end - start > dt.timedelta(days=limits.WINDOW_DAYS):
        raise UsageError(
            f"the time window {start.isoformat()} to {end.isoformat()} is longer than the limit of "
            f"{limits.WINDOW_DAYS} days for one night's report (see docs/limits.md)"
        )
    return NightWindow(night=night, since=start, until=end, tz=zone, night_end=default_end)


def night_for(moment: dt.datetime, *, ends_at: str = "06:00", tz: str | ZoneInfo = "UTC") -> dt.date:
    """The latest night that has ended at `moment`: a run at 06:10 on 07-09 reports night 07-09."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
    day = local.date()
    return day if local >= _ends_at(day, ends_at, zone) else day - dt.timedelta(days=1)
