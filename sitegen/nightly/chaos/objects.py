"""Place Chaos Mesh objects in time: experiments (one-shot, v1 cron, containerRecords), Schedules and Workflows."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from sitegen import limits
from sitegen.errors import UsageError
from sitegen.nightly.chaos.cron import schedule_times
from sitegen.nightly.chaos.events import EVENT_KINDS
from sitegen.nightly.chaos.windows import as_datetime, make_window, pair_events
from sitegen.nightly.records import ChaosWindow
from sitegen.nightly.times import go_duration

log = logging.getLogger(__name__)

_LOOKBACK = dt.timedelta(days=limits.SCHEDULE_LOOKBACK_DAYS)
_LONGEST_S = limits.DURATION_DAYS * 86400.0


def _mapping(value: Any) -> dict[str, Any]:
    """A part of an object that should be a mapping; {} when the file holds something else there."""
    return value if isinstance(value, dict) else {}


def _bounded_duration(raw: Any) -> float:
    """go_duration, refusing what no experiment lasts (and what no datetime can hold)."""
    seconds = go_duration(raw)
    if not -_LONGEST_S <= seconds <= _LONGEST_S:  # NaN fails too
        raise ValueError(f"{limits.short_repr(raw)} is longer than the limit of {limits.DURATION_DAYS} days")
    return seconds


def _duration(spec: dict[str, Any], where: str, problems: list[str]) -> float | None:
    raw = _mapping(spec).get("duration")
    if raw in (None, ""):
        return None
    try:
        return _bounded_duration(raw)
    except (ValueError, TypeError) as exc:
        problems.append(f"{where}: duration {exc}")
        return None


class _Budget:
    """Firings (or workflow steps) looked at for one object: a schedule of '@every 1ns' stops here."""

    def __init__(self, source: str, where: str, limit: int = limits.SCHEDULE_FIRINGS, what: str = "firings") -> None:
        self.left, self.limit, self.source, self.where, self.what = limit, limit, source, where, what

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise UsageError(
                f"{self.source}: {self.where}: more than {self.limit:,} {self.what} to place in and around "
                "the night (see docs/limits.md); is it meant to be this dense?"
            )


def from_object(
    doc: dict[str, Any], path: Path, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo, problems: list[str]
) -> list[ChaosWindow]:
    """The windows one object gives, each with its action and target where the object says; see `_windows`."""
    windows = _windows(doc, path, since, until, tz, problems)
    spec = _mapping(doc.get("spec"))
    if doc.get("kind") == "Schedule":
        spec = _chaos_spec(spec, str(spec.get("type") or ""))
    if isinstance(spec, dict):
        action, target = str(spec.get("action") or ""), describe_selector(spec)
        for w in windows:
            w.action = w.action or action
            w.target = w.target or target  # pods named by records or events beat the selector
    return windows


def describe_selector(spec: dict[str, Any]) -> str:
    """A chaos spec's selector in words: `ns/pod` names, or `one pod of app=tikv in ns`; "" when it has none."""
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return ""
    pods = selector.get("pods")
    if isinstance(pods, dict) and pods:
        return ", ".join(f"{ns}/{pod}" for ns, names in pods.items() for pod in (names if isinstance(names, list) else [names]))
    labels = selector.get("labelSelectors")
    labels = ",".join(f"{k}={v}" for k, v in labels.items()) if isinstance(labels, dict) else ""
    namespaces = selector.get("namespaces")
    where = " in " + ", ".join(map(str, namespaces)) if isinstance(namespaces, list) and namespaces else ""
    if not labels and not where:
        return ""
    mode, value = str(spec.get("mode") or ""), spec.get("value")
    count = {"one": "one pod", "all": "all pods", "fixed": f"{value} pods", "fixed-percent": f"{value} % of pods",
             "random-max-percent": f"up to {value} % of pods"}.get(mode, "pods")
    return f"{count} of {labels}{where}" if labels else f"{count}{where}"


def _windows(
    doc: dict[str, Any], path: Path, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo, problems: list[str]
) -> list[ChaosWindow]:
    """The windows one object gives; why it gives none is appended to `problems`."""
    kind = str(doc.get("kind", ""))
    meta = _mapping(doc.get("metadata"))
    name = str(meta.get("name", ""))
    spec = _mapping(doc.get("spec"))
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
        return _expand_workflow(spec, name, source, created, since, until, tz, where, problems)
    if not kind.endswith("Chaos"):
        problems.append(f"{where}: kind {kind!r} is not a Chaos Mesh experiment, Schedule or Workflow")
        return []
    records = _mapping(_mapping(doc.get("status")).get("experiment")).get("containerRecords")
    duration = _duration(spec, where, problems)
    if records and isinstance(records, list):
        return _from_records(records, kind, name, source, duration, where, tz)
    cron = _mapping(spec.get("scheduler")).get("cron")
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
    # Start early enough that a window begun before `since` and still running is kept, but never
    # more than a week early: a duration of 999999h would otherwise mean a century of firings.
    lookback = min(dt.timedelta(seconds=max(duration or 0, 0)), _LOOKBACK)
    budget = _Budget(source, where)
    in_night = 0
    try:
        times = schedule_times(schedule, since=since - lookback, until=until, tz=tz, anchor=created or since)
        out: list[ChaosWindow] = []
        for start in times:
            budget.spend()
            if created is not None and start < created:
                continue
            # Forbid: the controller skips a tick while the previous experiment is still running.
            if policy == "Forbid" and out and out[-1].end is not None and start < out[-1].end:
                continue
            window = make_window(start, duration, name, kind, source)
            out.append(window)
            in_night += (window.end or window.start) >= since
            if in_night > limits.CHAOS_WINDOWS:
                raise UsageError(
                    f"{source}: {where}: schedule {limits.short_repr(schedule)} gives more than {limits.CHAOS_WINDOWS:,} "
                    "fault windows in the night, the limit that can be measured one by one (see docs/limits.md)"
                )
    except (ValueError, OverflowError) as exc:
        problems.append(f"{where}: schedule {limits.short_repr(schedule)}: {exc}")
        return []
    return out


def _expand_workflow(spec, name, source, created, since, until, tz, where, problems) -> list[ChaosWindow]:
    raw_templates = spec.get("templates")
    templates = {str(t.get("name")): t for t in raw_templates if isinstance(t, dict)} if isinstance(raw_templates, list) else {}
    entry = spec.get("entry")
    if not isinstance(entry, str) or entry not in templates:
        problems.append(f"{where}: entry template {limits.short_repr(entry)} not found")
        return []
    out: list[ChaosWindow] = []
    steps, firings = _Budget(source, where, limits.WORKFLOW_STEPS, "workflow steps"), _Budget(source, where)
    first, last = since - _LOOKBACK, until  # a template firing outside these cannot reach the night

    def run(tname: Any, start: dt.datetime, depth: int) -> float:
        """Place template `tname` at `start`; returns how long it occupies the workflow."""
        steps.spend()  # children fanning out 50 levels deep would otherwise never finish
        t = templates.get(str(tname))
        if t is None or depth > 50:
            problems.append(f"{where}: template {limits.short_repr(tname)} not found")
            return 0.0
        ttype = str(t.get("templateType") or "")
        deadline = _safe_duration(t.get("deadline"))
        if ttype in ("Serial", "Parallel"):
            spans = []
            at = start
            children = t.get("children")
            for child in children if isinstance(children, list) else []:
                span = run(child, at if ttype == "Serial" else start, depth + 1)
                spans.append(span)
                at += dt.timedelta(seconds=span)
            total = sum(spans) if ttype == "Serial" else max(spans, default=0.0)
            return min(total, deadline) if deadline else total
        if ttype == "Schedule":
            inner = _mapping(t.get("schedule"))
            stop = min(start + dt.timedelta(seconds=max(deadline or 0, 0)), last)
            kind = str(inner.get("type") or "")
            duration = _duration(_chaos_spec(inner, kind), where, problems)
            try:
                for s in schedule_times(str(inner.get("schedule")), since=max(start, first), until=stop, tz=tz, anchor=start):
                    firings.spend()
                    out.append(make_window(s, duration, f"{name}/{tname}", kind, source))
            except (ValueError, OverflowError) as exc:
                problems.append(f"{where}: template {limits.short_repr(tname)}: {exc}")
            return deadline or 0.0
        if ttype.endswith("Chaos"):
            duration = _duration(_chaos_spec(t, ttype), where, problems) or deadline
            if deadline and duration:
                duration = min(duration, deadline)
            out.append(make_window(start, duration, f"{name}/{tname}", ttype, source))
            return duration or 0.0
        return deadline or 0.0  # Suspend, StatusCheck, Task: they take time but inject nothing

    try:
        run(entry, created, 0)
    except OverflowError:  # serial steps adding up past the year 9999
        problems.append(f"{where}: its steps run past the end of the calendar")
    return out


def _safe_duration(value: Any) -> float | None:
    try:
        return _bounded_duration(value) if value not in (None, "") else None
    except (ValueError, TypeError):
        return None


def _from_records(records, kind, name, source, duration, where, tz) -> list[ChaosWindow]:
    """Windows from status.experiment.containerRecords: a window is open while any target is injected."""
    events: list[tuple[dt.datetime, str, str]] = []
    failed = 0
    for record in records:
        if not isinstance(record, dict):
            continue
        target = str(record.get("id", ""))
        record_events = record.get("events")
        for ev in record_events if isinstance(record_events, list) else []:
            if not isinstance(ev, dict):
                continue
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
