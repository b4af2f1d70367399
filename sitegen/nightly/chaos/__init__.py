"""Turn a chaos source (Chaos Mesh YAML, experiment status, events JSON, CSV) into the night's fault windows.

This module reads the file and hands each part to its reader (`csvfile`, `events`, `objects`); with no source
at all, `detect_dips` finds the windows in the metric itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Any

from sitegen import limits
from sitegen.config import load_yaml
from sitegen.errors import UsageError
from sitegen.nightly.chaos.cron import Cron, schedule_times
from sitegen.nightly.chaos.csvfile import read_csv
from sitegen.nightly.chaos.dips import detect_dips
from sitegen.nightly.chaos.events import from_events
from sitegen.nightly.chaos.objects import from_object
from sitegen.nightly.files import read_text, text_lines
from sitegen.nightly.records import ChaosWindow
from sitegen.nightly.times import go_duration

__all__ = ["SUPPORTED", "Cron", "detect_dips", "go_duration", "load_chaos", "schedule_times"]

log = logging.getLogger(__name__)

SUPPORTED = (
    "a Chaos Mesh Schedule YAML ('@every 10m' or 5-field cron), a chaos object with spec.scheduler.cron (v1), "
    "a chaos object or Workflow as stored in the cluster (kubectl get ... -o yaml, with creationTimestamp/status), "
    "`kubectl get events -o json`, or a CSV of start,end"
)

_AGE_RE = re.compile(r"^\s*(?:\d+[smhd])+\s|<unknown>|<invalid>")


def load_chaos(path: Path, *, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo = dt.UTC) -> list[ChaosWindow]:
    """Fault windows overlapping [since, until) from any supported chaos source, sorted by start."""
    path = Path(path)
    text = read_text(path, "chaos", limits.CHAOS_BYTES)
    if since.tzinfo is None:
        since = since.replace(tzinfo=tz)
    if until.tzinfo is None:
        until = until.replace(tzinfo=tz)
    windows = read_csv(text, path, tz)
    if windows is None:
        docs = _documents(text, path)
        problems: list[str] = []  # why some documents gave no windows; raised together when none gave any
        windows = from_events(docs, path, tz) or []
        for doc in docs:
            windows += from_object(doc, path, since, until, tz, problems)
        if not windows and problems:
            raise UsageError(f"{path}: no chaos windows could be placed in time:\n  " + "\n  ".join(problems))
        for problem in problems:
            log.warning("%s: %s", path, problem)
    inside = [w for w in windows if w.start < until and (w.end or w.start) >= since]
    if len(inside) > limits.CHAOS_WINDOWS:
        raise UsageError(
            f"{path}: {len(inside):,} fault windows in the night, more than the limit of {limits.CHAOS_WINDOWS:,} "
            "that can be measured one by one (see docs/limits.md); pass the windows to measure as a CSV of start,end"
        )
    inside.sort(key=lambda w: (w.start, w.name))
    log.info("%s: %d chaos window(s) in the night (%d in the file)", path, len(inside), len(windows))
    return inside


def _not_supported(path: Path, text: str, why: str) -> UsageError:
    hint = ""
    lines = [line for line in text_lines(text) if line.strip()]
    if any(line.strip() == "Events:" for line in lines) or any(_AGE_RE.match(line) for line in lines[:5]):
        hint = (
            " It looks like the text output of `kubectl get events` or `kubectl describe`, whose times are"
            " ages relative to when it was run; use `kubectl get events -o json` instead."
        )
    return UsageError(f"{path}: not a supported chaos source ({why}).{hint} Supported: {SUPPORTED}.")


def _documents(text: str, path: Path) -> list[dict[str, Any]]:
    """Every Kubernetes object in a YAML or JSON text, with List wrappers unpacked."""
    stripped = text.lstrip("\ufeff \t\r\n")
    try:
        raw_docs = [limits.loads_json(stripped)] if stripped.startswith(("{", "[")) else load_yaml(text, all_documents=True)
    except limits.LimitExceeded as exc:
        raise UsageError(f"{path}: {exc} (see docs/limits.md)") from None
    except ValueError as exc:
        raise _not_supported(path, text, f"neither YAML nor JSON: {exc}") from None
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
