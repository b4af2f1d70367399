"""Turn a chaos source (Chaos Mesh YAML, experiment status, events JSON, CSV) into the night's fault windows.

With no source at all, `detect_dips` finds the windows in the metric itself.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sitegen.errors import UsageError
from sitegen.nightly.metrics import parse_time, rolling_median
from sitegen.nightly.records import ChaosWindow, Series

log = logging.getLogger(__name__)

SUPPORTED = (
    "a Chaos Mesh Schedule YAML ('@every 10m' or 5-field cron), a chaos object with spec.scheduler.cron (v1), "
    "a chaos object or Workflow as stored in the cluster (kubectl get ... -o yaml, with creationTimestamp/status), "
    "`kubectl get events -o json`, or a CSV of start,end"
)

_GO_DURATION = re.compile(r"([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_APPLY_RE = re.compile(r"apply chaos for (\S+)", re.IGNORECASE)
_RECOVER_RE = re.compile(r"recover chaos for (\S+)", re.IGNORECASE)
_AGE_RE = re.compile(r"^\s*(?:\d+[smhd])+\s|<unknown>|<invalid>")
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
_MAX_WINDOWS = 100_000  # '@every 1s' over a year would otherwise never end


def go_duration(text: str | int | float) -> float:
    """Seconds in a Go duration such as '30s', '1m30s', '400ms'; a bare number is seconds."""
    if isinstance(text, int | float):
        return float(text)
    text = str(text).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not _GO_DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 1m30s or 2h")
    total = sum(float(v) * _GO_UNITS[u] for v, u in _GO_PART.findall(text))
    return -total if text.startswith("-") else total


# --- cron -------------------------------------------------------------------------------------------------------


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


# --- loading ----------------------------------------------------------------------------------------------------


def load_chaos(path: Path, *, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo = dt.UTC) -> list[ChaosWindow]:
    """Fault windows overlapping [since, until) from any supported chaos source, sorted by start."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise UsageError(f"chaos file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"chaos path is a folder, not a file: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read chaos file {path}: {exc}") from None
    if since.tzinfo is None:
        since = since.replace(tzinfo=tz)
    if until.tzinfo is None:
        until = until.replace(tzinfo=tz)
    windows = _try_csv(text, path, tz)
    if windows is None:
        docs = _documents(text, path)
        problems: list[str] = []  # why some documents gave no windows; raised together when none gave any
        windows = _from_events(docs, path, tz) or []
        for doc in docs:
            windows += _from_object(doc, path, since, until, tz, problems)
        if not windows and problems:
            raise UsageError(f"{path}: no chaos windows could be placed in time:\n  " + "\n  ".join(problems))
        for problem in problems:
            log.warning("%s: %s", path, problem)
    inside = [w for w in windows if w.start < until and (w.end or w.start) >= since]
    inside.sort(key=lambda w: (w.start, w.name))
    log.info("%s: %d chaos window(s) in the night (%d in the file)", path, len(inside), len(windows))
    return inside


def _not_supported(path: Path, text: str, why: str) -> UsageError:
    hint = ""
    lines = [line for line in text.splitlines() if line.strip()]
    if any(line.strip() == "Events:" for line in lines) or any(_AGE_RE.match(line) for line in lines[:5]):
        hint = (
            " It looks like the text output of `kubectl get events` or `kubectl describe`, whose times are"
            " ages relative to when it was run; use `kubectl get events -o json` instead."
        )
    return UsageError(f"{path}: not a supported chaos source ({why}).{hint} Supported: {SUPPORTED}.")


def _documents(text: str, path: Path) -> list[dict[str, Any]]:
    import yaml

    stripped = text.lstrip("\ufeff \t\r\n")
    try:
        raw_docs = [json.loads(stripped)] if stripped.startswith(("{", "[")) else list(yaml.safe_load_all(text))
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _not_supported(path, text, f"neither YAML nor JSON: {first}") from None
    docs: list[dict[str, Any]] = []

    def flatten(obj: Any) -> None:
        if isinstance(obj, list):
            for item in obj:
                flatten(item)
        elif isinstance(obj, dict) and isinstance(obj.get("items"), list) and "kind" in obj and "spec" not in obj:
            flatten(obj["items"])  # kind: List / EventList / PodChaosList
        elif isinstance(obj, dict) and isinstance(obj.get("kind"), str):
            docs.append(obj)

    for raw in raw_docs:
        flatten(raw)
    if not docs:
        raise _not_supported(path, text, "no Kubernetes object with a 'kind' found")
    return docs


def _time(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    if value in (None, "", "<nil>", "null"):
        return None
    if isinstance(value, dt.datetime):  # YAML decodes unquoted timestamps itself
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        return parse_time(str(value), tz)
    except ValueError:
        return None


def _duration(spec: dict[str, Any], where: str, problems: list[str]) -> float | None:
    raw = spec.get("duration")
    if raw in (None, ""):
        return None
    try:
        return go_duration(raw)
    except ValueError as exc:
        problems.append(f"{where}: duration {exc}")
        return None


def _from_object(
    doc: dict[str, Any], path: Path, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo, problems: list[str]
) -> list[ChaosWindow]:
    kind = doc.get("kind", "")
    meta = doc.get("metadata") or {}
    name = str(meta.get("name", ""))
    spec = doc.get("spec") or {}
    where = f"{kind} {name!r}"
    created = _time(meta.get("creationTimestamp"), tz)
    source = str(path)
    if kind in ("Event", "Event.v1"):
        return []  # handled as a group below
    if kind == "Schedule":
        return _expand_schedule(spec, name, source, since, until, tz, created, where, problems)
    if kind == "Workflow":
        if created is None:
            problems.append(
                f"{where}: a Workflow definition does not say when it ran; pass it as stored in the cluster "
                f"(`kubectl get workflow {name} -o yaml`, which carries its creationTimestamp)"
            )
            return []
        return _expand_workflow(spec, name, source, created, since, until, tz, where, problems)
    if not kind.endswith("Chaos"):
        problems.append(f"{where}: kind {kind!r} is not a Chaos Mesh experiment, Schedule or Workflow")
        return []
    records = ((doc.get("status") or {}).get("experiment") or {}).get("containerRecords")
    duration = _duration(spec, where, problems)
    if records:
        return _from_records(records, kind, name, source, duration, where, problems, tz)
    cron = (spec.get("scheduler") or {}).get("cron")
    if cron:  # Chaos Mesh 1.x and 0.x: the experiment object carries its own schedule
        return _expand(str(cron), duration, kind, name, source, since, until, tz, created, "Forbid", where, problems)
    if created is None:
        problems.append(
            f"{where}: a one-shot experiment definition does not say when it ran; pass it as stored in the cluster "
            f"(`kubectl get {kind.lower()} {name} -o yaml`, with creationTimestamp and status), "
            "its events (`kubectl get events -o json`), a Schedule, or a CSV of start,end"
        )
        return []
    return [_window(created, duration, name, kind, source)]


def _window(start: dt.datetime, duration: float | None, name: str, kind: str, source: str) -> ChaosWindow:
    end = start + dt.timedelta(seconds=duration) if duration else None
    return ChaosWindow(start=start, end=end, name=name, kind=kind, source=source)


def _spec_key(kind: str) -> str:
    return kind[:1].lower() + kind[1:] if kind else ""


def _chaos_spec(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    # The spec key is lowerCamel of the kind; PhysicalMachineChaos appears as 'physicalmachineChaos' in the wild.
    wanted = _spec_key(kind).lower()
    for key, value in spec.items():
        if isinstance(value, dict) and key.lower() == wanted:
            return value
    return {}


def _expand_schedule(spec, name, source, since, until, tz, created, where, problems) -> list[ChaosWindow]:
    schedule = spec.get("schedule")
    kind = str(spec.get("type") or "")
    if not schedule:
        problems.append(f"{where}: spec.schedule is missing")
        return []
    inner = _chaos_spec(spec, kind)
    duration = _duration(inner, where, problems)
    policy = str(spec.get("concurrencyPolicy") or "Forbid")
    return _expand(str(schedule), duration, kind, name, source, since, until, tz, created, policy, where, problems)


def _expand(schedule, duration, kind, name, source, since, until, tz, created, policy, where, problems) -> list[ChaosWindow]:
    # Start early enough that a window begun before `since` and still running is kept.
    lookback = dt.timedelta(seconds=duration or 0)
    try:
        times = schedule_times(schedule, since=since - lookback, until=until, tz=tz, anchor=created or since)
        out: list[ChaosWindow] = []
        for start in times:
            if created is not None and start < created:
                continue
            # Forbid: the controller skips a tick while the previous experiment is still running.
            if policy == "Forbid" and out and out[-1].end is not None and start < out[-1].end:
                continue
            out.append(_window(start, duration, name, kind, source))
            if len(out) >= _MAX_WINDOWS:
                problems.append(f"{where}: stopped after {_MAX_WINDOWS} windows")
                break
    except ValueError as exc:
        problems.append(f"{where}: schedule {schedule!r}: {exc}")
        return []
    return out


def _expand_workflow(spec, name, source, created, since, until, tz, where, problems) -> list[ChaosWindow]:
    templates = {t.get("name"): t for t in spec.get("templates") or [] if isinstance(t, dict)}
    entry = spec.get("entry")
    if entry not in templates:
        problems.append(f"{where}: entry template {entry!r} not found")
        return []
    out: list[ChaosWindow] = []

    def run(tname: str, start: dt.datetime, depth: int) -> float:
        """Place template `tname` at `start`; returns how long it occupies the workflow."""
        t = templates.get(tname)
        if t is None or depth > 50:
            problems.append(f"{where}: template {tname!r} not found")
            return 0.0
        ttype = str(t.get("templateType") or "")
        deadline = _safe_duration(t.get("deadline"))
        if ttype in ("Serial", "Parallel"):
            spans = []
            at = start
            for child in t.get("children") or []:
                span = run(child, at if ttype == "Serial" else start, depth + 1)
                spans.append(span)
                at += dt.timedelta(seconds=span)
            total = sum(spans) if ttype == "Serial" else max(spans, default=0.0)
            return min(total, deadline) if deadline else total
        if ttype == "Schedule":
            inner = t.get("schedule") or {}
            stop = start + dt.timedelta(seconds=deadline or 0)
            kind = str(inner.get("type") or "")
            duration = _duration(_chaos_spec(inner, kind), where, problems)
            try:
                times = list(schedule_times(str(inner.get("schedule")), since=start, until=stop, tz=tz, anchor=start))
            except ValueError as exc:
                problems.append(f"{where}: template {tname!r}: {exc}")
                times = []
            out.extend(_window(s, duration, f"{name}/{tname}", kind, source) for s in times[:_MAX_WINDOWS])
            return deadline or 0.0
        if ttype.endswith("Chaos"):
            duration = _duration(_chaos_spec(t, ttype), where, problems) or deadline
            if deadline and duration:
                duration = min(duration, deadline)
            out.append(_window(start, duration, f"{name}/{tname}", ttype, source))
            return duration or 0.0
        return deadline or 0.0  # Suspend, StatusCheck, Task: they take time but inject nothing

    run(entry, created, 0)
    return out


def _safe_duration(value: Any) -> float | None:
    try:
        return go_duration(value) if value not in (None, "") else None
    except ValueError:
        return None


def _from_records(records, kind, name, source, duration, where, problems, tz) -> list[ChaosWindow]:
    """Windows from status.experiment.containerRecords: a window is open while any target is injected."""
    events: list[tuple[dt.datetime, str, str]] = []
    failed = 0
    for record in records:
        if not isinstance(record, dict):
            continue
        target = str(record.get("id", ""))
        for ev in record.get("events") or []:
            when = _time(ev.get("timestamp"), tz)
            if when is None:
                continue
            message = str(ev.get("message") or "")
            # Failed records carry a message; one cut short before its `type` line is still a failure.
            if ev.get("type") == "Failed" or ("type" not in ev and "fail" in message.lower()):
                failed += 1
                continue
            events.append((when, str(ev.get("operation", "")), target))
    if failed:
        log.warning("%s: %s: %d failed Apply/Recover record(s) ignored: the fault was not injected then", source, where, failed)
    return _pair(sorted(events, key=lambda e: e[0]), duration, name, kind, source)


def _pair(events, duration, name, kind, source) -> list[ChaosWindow]:
    """Apply opens a window when nothing is injected; it closes when the last target recovers (or TimeUp)."""
    windows: list[ChaosWindow] = []
    active: set[str] = set()
    start: dt.datetime | None = None
    for when, op, target in events:
        if op == "Apply":
            if not active:
                start = when
            active.add(target)
        elif op in ("Recover", "TimeUp") and start is not None:
            active.discard(target)
            if op == "TimeUp":
                active.clear()
            if not active:
                windows.append(ChaosWindow(start=start, end=when, name=name, kind=kind, source=source))
                start = None
    if start is not None:
        windows.append(_window(start, duration, name, kind, source))
    return windows


def _events_windows(docs: list[dict[str, Any]], source: str, tz: dt.tzinfo) -> list[ChaosWindow]:
    groups: dict[tuple[str, str, str], list[tuple[dt.datetime, str, str]]] = {}
    for ev in docs:
        obj = ev.get("involvedObject") or ev.get("regarding") or {}
        reason = ev.get("reason", "")
        op = {"Applied": "Apply", "Recovered": "Recover", "TimeUp": "TimeUp"}.get(reason)
        if op is None:
            continue
        message = str(ev.get("message") or ev.get("note") or "")
        m = (_APPLY_RE if op == "Apply" else _RECOVER_RE).search(message)
        first = ev.get("eventTime") or ev.get("firstTimestamp")
        last = ev.get("eventTime") or ev.get("lastTimestamp")
        when = _time(first if op == "Apply" else last, tz) or _time(first or last, tz)
        when = when or _time((ev.get("metadata") or {}).get("creationTimestamp"), tz)
        if when is None:
            continue
        key = (str(obj.get("kind", "")), str(obj.get("namespace", "")), str(obj.get("name", "")))
        groups.setdefault(key, []).append((when, op, m.group(1) if m else ""))
    windows: list[ChaosWindow] = []
    for (kind, _ns, name), events in groups.items():
        if any(op == "Recover" for _, op, _ in events):
            # Recovered events name each target; TimeUp only says recovery has begun.
            events = [e for e in events if e[1] != "TimeUp"]
        events.sort(key=lambda e: (e[0], e[1] != "Apply"))
        windows += _pair(events, None, name, kind, source)
    return windows


def _from_events(docs, path, tz) -> list[ChaosWindow] | None:
    events = [d for d in docs if d.get("kind") in ("Event", "Event.v1")]
    if not events:
        return None
    windows = _events_windows(events, str(path), tz)
    if not windows:
        raise UsageError(
            f"{path}: {len(events)} event(s) but none is a Chaos Mesh Applied/Recovered/TimeUp event "
            "(check the namespace: chaos events are recorded where the experiment object lives)"
        )
    return windows


def _try_csv(text: str, path: Path, tz: dt.tzinfo) -> list[ChaosWindow] | None:
    """Windows from 'start,end[,name[,kind]]' lines; None when the text is not such a CSV."""
    rows = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise UsageError(f"{path}: the chaos file is empty")
    header = [c.strip().lower() for c in rows[0][1].split(",")]
    has_header = header[:1] == ["start"]
    if not has_header:
        cells = rows[0][1].split(",")
        if len(cells) < 2 or "{" in rows[0][1] or (":" not in cells[0] and not cells[0].strip().replace(".", "").isdigit()):
            return None
        try:
            parse_time(cells[0], tz)
        except ValueError:
            return None
        header = ["start", "end", "name", "kind"]
    else:
        rows = rows[1:]
    out: list[ChaosWindow] = []
    for line_no, line in rows:
        cells = dict(zip(header, (c.strip() for c in line.split(",")), strict=False))
        try:
            start = parse_time(cells.get("start", ""), tz)
            end = parse_time(cells["end"], tz) if cells.get("end") else None
        except (ValueError, OverflowError):
            raise UsageError(f"{path}:{line_no}: {line.strip()!r} is not 'start,end' with ISO times or epoch seconds") from None
        if end is not None and end < start:
            raise UsageError(f"{path}:{line_no}: the window ends before it starts")
        name, kind = cells.get("name", ""), cells.get("kind", "") or "csv"
        out.append(ChaosWindow(start=start, end=end, name=name, kind=kind, source=str(path)))
    return out


# --- detection from the metric ------------------------------------------------------------------------------------


def detect_dips(
    series: Series,
    *,
    drop_fraction: float = 0.5,
    baseline_minutes: float = 5,
    merge_s: float = 0.0,
    min_baseline_points: int = 3,
) -> list[ChaosWindow]:
    """Windows where the metric falls below `drop_fraction` of the median of the preceding minutes.

    A dip starts at the first point below the threshold and ends at the first point back above it; gaps
    inside a dip extend it. Values inside a dip are kept out of the baseline so a long outage does not
    become its own reference.
    """
    pts = series.points
    if not pts:
        return []
    window_s = baseline_minutes * 60
    windows: list[ChaosWindow] = []
    in_dip_at: float | None = None
    dip_base = 0.0
    baselines = _clean_baselines(pts, window_s, drop_fraction, min_baseline_points)
    for (t, v), base in zip(pts, baselines, strict=True):
        if in_dip_at is None:
            if base is not None and v is not None and v < drop_fraction * base:
                in_dip_at, dip_base = t, base
        elif v is not None and v >= drop_fraction * dip_base:
            windows.append(_detected(in_dip_at, t, series))
            in_dip_at = None
    if in_dip_at is not None:
        windows.append(ChaosWindow(start=_utc(in_dip_at), end=None, name="dip", kind="detected", source=series.source))
    if merge_s > 0:
        merged: list[ChaosWindow] = []
        for w in windows:
            if merged and merged[-1].end is not None and (w.start - merged[-1].end).total_seconds() <= merge_s:
                merged[-1].end = w.end
            else:
                merged.append(w)
        windows = merged
    for i, w in enumerate(windows, 1):
        w.name = f"dip {i}"
    return windows


def _clean_baselines(pts, window_s, fraction, min_points) -> list[float | None]:
    """Rolling medians over the points that are not themselves in a dip (two passes keep it simple)."""
    first = rolling_median(pts, window_s)
    cleaned = [(t, v if v is None or b is None or v >= fraction * b else None) for (t, v), b in zip(pts, first, strict=True)]
    second = rolling_median(cleaned, window_s)
    counts = _rolling_count(cleaned, window_s)
    return [b if n >= min_points else None for b, n in zip(second, counts, strict=True)]


def _rolling_count(pts, window_s) -> list[int]:
    out = []
    lo = 0
    good = [0]
    for _, v in pts:
        good.append(good[-1] + (v is not None))
    for i, (t, _) in enumerate(pts):
        while pts[lo][0] < t - window_s:
            lo += 1
        out.append(good[i] - good[lo])
    return out


def _utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def _detected(start: float, end: float, series: Series) -> ChaosWindow:
    return ChaosWindow(start=_utc(start), end=_utc(end), name="dip", kind="detected", source=series.source)
