"""Place Chaos Mesh objects in time: experiments (one-shot, v1 cron, containerRecords), Schedules and Workflows."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from sitegen.nightly.chaos.cron import schedule_times
from sitegen.nightly.chaos.events import EVENT_KINDS
from sitegen.nightly.chaos.windows import as_datetime, make_window, pair_events
from sitegen.nightly.records import ChaosWindow
from sitegen.nightly.times import go_duration

log = logging.getLogger(__name__)

_MAX_WINDOWS = 100_000  # '@every 1s' over a year would otherwise never end


def _duration(spec: dict[str, Any], where: str, problems: list[str]) -> float | None:
    raw = spec.get("duration")
    if raw in (None, ""):
        return None
    try:
        return go_duration(raw)
    except ValueError as exc:
        problems.append(f"{where}: duration {exc}")
        return None


def from_object(
    doc: dict[str, Any], path: Path, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo, problems: list[str]
) -> list[ChaosWindow]:
    """The windows one object gives; why it gives none is appended to `problems`."""
    kind = doc.get("kind", "")
    meta = doc.get("metadata") or {}
    name = str(meta.get("name", ""))
    spec = doc.get("spec") or {}
    where = f"{kind} {name!r}"
    created = as_datetime(meta.get("creationTimestamp"), tz)
    source = str(path)
    if kind in EVENT_KINDS:
        return []  # events are read as a group (see events.py)
    if kind == "Schedule":
        return _expand_schedule(spec, name, source, since, until, tz, created, where, problems)
    if kind == "Workflow":
        if created is None:
            problems.append(
                f"{where}: a Workflow definition does not say when it ran; pass it as stored in the cluster "
                f"(`kubectl get workflow {name} -o yaml`, which carries its creationTimestamp)"
            )
            return []
        return _expand_workflow(spec, name, source, created, tz, where, problems)
    if not kind.endswith("Chaos"):
        problems.append(f"{where}: kind {kind!r} is not a Chaos Mesh experiment, Schedule or Workflow")
        return []
    records = ((doc.get("status") or {}).get("experiment") or {}).get("containerRecords")
    duration = _duration(spec, where, problems)
    if records:
        return _from_records(records, kind, name, source, duration, where, tz)
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
    return [make_window(created, duration, name, kind, source)]


def _chaos_spec(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    # The spec key is lowerCamel of the kind; PhysicalMachineChaos appears as 'physicalmachineChaos' in the wild.
    wanted = kind.lower()
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
            out.append(make_window(start, duration, name, kind, source))
            if len(out) >= _MAX_WINDOWS:
                problems.append(f"{where}: stopped after {_MAX_WINDOWS} windows")
                break
    except ValueError as exc:
        problems.append(f"{where}: schedule {schedule!r}: {exc}")
        return []
    return out


def _expand_workflow(spec, name, source, created, tz, where, problems) -> list[ChaosWindow]:
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
            out.extend(make_window(s, duration, f"{name}/{tname}", kind, source) for s in times[:_MAX_WINDOWS])
            return deadline or 0.0
        if ttype.endswith("Chaos"):
            duration = _duration(_chaos_spec(t, ttype), where, problems) or deadline
            if deadline and duration:
                duration = min(duration, deadline)
            out.append(make_window(start, duration, f"{name}/{tname}", ttype, source))
            return duration or 0.0
        return deadline or 0.0  # Suspend, StatusCheck, Task: they take time but inject nothing

    run(entry, created, 0)
    return out


def _safe_duration(value: Any) -> float | None:
    try:
        return go_duration(value) if value not in (None, "") else None
    except ValueError:
        return None


def _from_records(records, kind, name, source, duration, where, tz) -> list[ChaosWindow]:
    """Windows from status.experiment.containerRecords: a window is open while any target is injected."""
    events: list[tuple[dt.datetime, str, str]] = []
    failed = 0
    for record in records:
        if not isinstance(record, dict):
            continue
        target = str(record.get("id", ""))
        for ev in record.get("events") or []:
            when = as_datetime(ev.get("timestamp"), tz)
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
    return pair_events(sorted(events, key=lambda e: e[0]), duration, name, kind, source)
