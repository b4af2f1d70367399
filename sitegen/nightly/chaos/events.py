"""Pair the Applied/Recovered/TimeUp events of `kubectl get events -o json` into fault windows."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from sitegen.errors import UsageError
from sitegen.nightly.chaos.windows import as_datetime, pair_events
from sitegen.nightly.records import ChaosWindow

_APPLY_RE = re.compile(r"apply chaos for (\S+)", re.IGNORECASE)
_RECOVER_RE = re.compile(r"recover chaos for (\S+)", re.IGNORECASE)
EVENT_KINDS = ("Event", "Event.v1")


def from_events(docs: list[dict[str, Any]], path: Path, tz: dt.tzinfo) -> list[ChaosWindow] | None:
    """Windows from the Event objects among `docs`; None when there are no events at all."""
    events = [d for d in docs if d.get("kind") in EVENT_KINDS]
    if not events:
        return None
    windows = _events_windows(events, str(path), tz)
    if not windows:
        raise UsageError(
            f"{path}: {len(events)} event(s) but none is a Chaos Mesh Applied/Recovered/TimeUp event "
            "(check the namespace: chaos events are recorded where the experiment object lives)"
        )
    return windows


def _events_windows(docs: list[dict[str, Any]], source: str, tz: dt.tzinfo) -> list[ChaosWindow]:
    groups: dict[tuple[str, str, str], list[tuple[dt.datetime, str, str]]] = {}
    for ev in docs:
        obj = ev.get("involvedObject") or ev.get("regarding")
        obj = obj if isinstance(obj, dict) else {}  # a hand-edited or foreign file may hold anything here
        reason = ev.get("reason")
        op = {"Applied": "Apply", "Recovered": "Recover", "TimeUp": "TimeUp"}.get(reason) if isinstance(reason, str) else None
        if op is None:
            continue
        message = str(ev.get("message") or ev.get("note") or "")
        m = (_APPLY_RE if op == "Apply" else _RECOVER_RE).search(message)
        first = ev.get("eventTime") or ev.get("firstTimestamp")
        last = ev.get("eventTime") or ev.get("lastTimestamp")
        when = as_datetime(first if op == "Apply" else last, tz) or as_datetime(first or last, tz)
        meta = ev.get("metadata")
        when = when or as_datetime(meta.get("creationTimestamp") if isinstance(meta, dict) else None, tz)
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
        windows += pair_events(events, None, name, kind, source)
    return windows
