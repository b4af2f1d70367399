"""When a Chaos Mesh schedule fires: a 5-field cron expression and the '@every D' form."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator

from sitegen.nightly.times import go_duration

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_NAMES = {
    3: {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m},
    4: {d.lower(): (i + 1) % 7 for i, d in enumerate(calendar.day_abbr)},
}
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


class Cron:
    """A 5-field cron expression (minute hour day-of-month month day-of-week) as Chaos Mesh's controller reads it."""

    def __init__(self, expr: str, tz: dt.tzinfo):
        self.expr = expr
        self.tz = tz
        text = expr.strip()
        m = re.match(r"^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$", text)
        if m:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                self.tz = ZoneInfo(m.group(1))
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {m.group(1)!r}") from None
            text = m.group(2)
        text = _DESCRIPTORS.get(text.lower(), text)
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(f"{expr!r} has {len(fields)} fields; a cron schedule has 5 (minute hour day month weekday)")
        self.sets = [self._field(f, i) for i, f in enumerate(fields)]
        self.sets[4] = {d % 7 for d in self.sets[4]}  # 7 is Sunday too
        self.dom_star = fields[2].startswith("*")
        self.dow_star = fields[4].startswith("*")

    def _field(self, text: str, index: int) -> set[int]:
        lo, hi = _CRON_BOUNDS[index]
        out: set[int] = set()
        for part in text.split(","):
            m = re.fullmatch(r"(\*|\?|[\w]+(?:-[\w]+)?)(?:/(\d+))?", part)
            if not m:
                raise ValueError(f"cron field {text!r} is not understood")
            rng, step = m.group(1), int(m.group(2) or 1)
            if step < 1:
                raise ValueError(f"cron step in {text!r} must be at least 1")
            if rng in ("*", "?"):
                a, b = lo, hi
            elif "-" in rng:
                a, b = (self._value(x, index) for x in rng.split("-"))
            else:
                a = self._value(rng, index)
                b = hi if m.group(2) else a
            if not (lo <= a <= hi and lo <= b <= hi) or a > b:
                raise ValueError(f"cron field {text!r} is out of range {lo}-{hi}")
            out.update(range(a, b + 1, step))
        return out

    @staticmethod
    def _value(text: str, index: int) -> int:
        names = _NAMES.get(index, {})
        if text.lower() in names:
            return names[text.lower()]
        if not text.isdigit():
            raise ValueError(f"cron value {text!r} is not a number")
        return int(text)

    def matches(self, when: dt.datetime) -> bool:
        minute, hour, dom, month, dow = self.sets
        when = when.astimezone(self.tz)
        if when.minute not in minute or when.hour not in hour or when.month not in month:
            return False
        dom_ok = when.day in dom
        dow_ok = (when.isoweekday() % 7) in dow
        # Standard cron: when both day fields are restricted, either one matching is enough.
        if not self.dom_star and not self.dow_star:
            return dom_ok or dow_ok
        return dom_ok and dow_ok

    def times(self, since: dt.datetime, until: dt.datetime) -> Iterator[dt.datetime]:
        """Every firing in [since, until), minute by minute in UTC so DST changes are handled by the zone."""
        t = since.astimezone(dt.UTC)
        t = t.replace(second=0, microsecond=0) + (dt.timedelta(minutes=1) if t.second or t.microsecond else dt.timedelta())
        end = until.astimezone(dt.UTC)
        while t < end:
            if self.matches(t):
                yield t
            t += dt.timedelta(minutes=1)


def schedule_times(
    schedule: str, *, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo, anchor: dt.datetime | None = None
) -> Iterator[dt.datetime]:
    """Firing times of a Chaos Mesh schedule in [since, until).

    `@every D` fires D after the object was created, then every D; when the creation time is unknown the
    schedule is assumed to have been created at `since`.
    """
    text = str(schedule).strip()
    if text.lower().startswith("@every"):
        every = go_duration(text[len("@every") :].strip())
        if every <= 0:
            raise ValueError(f"{text!r} needs a positive interval")
        base = (anchor or since).timestamp()
        k = max(1, int(-(-(since.timestamp() - base) // every)))
        t = base + k * every
        while t < until.timestamp():
            yield dt.datetime.fromtimestamp(t, dt.UTC)
            t += every
        return
    yield from Cron(text, tz).times(since, until)
