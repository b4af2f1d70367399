"""manifest.json, the record `sitegen collect` leaves beside the logs it wrote, and what the report reads of it.

Two modes write it: `once` (one `kubectl logs` per container in the morning) and `follow` (every
container instance streamed through the night). Schema 3: `mode`, and for `follow` the instances
(one file each) and the gaps, stretches of time whose lines may be missing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen import limits

MANIFEST_NAME = "manifest.json"
# 2: `outcome` replaced `exit_code` (exit codes belong to the command line); 3: `mode`, follow's instances and gaps
MANIFEST_SCHEMA = 3
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def write_manifest(folder: Path, obj: dict[str, Any]) -> Path:
    """Write folder/manifest.json atomically (temp file + rename): a reader never sees half of it."""
    path = folder / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest in `folder` as a dict; None when there is none or it cannot be read as one."""
    path = folder / MANIFEST_NAME
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        obj = limits.loads_json(path.read_bytes())
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


@dataclass(frozen=True, slots=True)
class FollowedInstance:
    """One container instance (pod UID, container, container ID) and the file holding its lines of the night."""

    pod: str
    container: str
    uid: str
    restart: int
    container_id: str
    init: bool
    file: str  # relative to the night's folder: POD/CONTAINER.UID8-RESTART.log
    lines: int
    first: str | None  # RFC 3339 of its first and last line in the night
    last: str | None
    state: str  # following | done | lost | stopped


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of time whose lines may be missing: for one instance, or for the whole namespace."""

    since: str | None
    until: str | None
    reason: str
    pod: str | None = None
    container: str | None = None
    uid: str | None = None
    restart: int | None = None

    def describe(self) -> str:
        who = "all pods" if self.pod is None else f"{self.pod}/{self.container}"
        if self.uid:
            who += f" (uid {self.uid[:8]}, restart {self.restart})"
        return f"{who}: {self.since or '?'} -> {self.until or '?'}: {self.reason}"


@dataclass(frozen=True, slots=True)
class FollowedNight:
    """A night folder written by `sitegen collect --follow`: each instance once, and the gaps."""

    folder: Path
    night: str
    closed: bool  # the follower finished the night (its end plus the grace time passed)
    outcome: str  # ok | partial
    updated: str
    instances: list[FollowedInstance] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def files(self) -> list[Path]:
        """Each instance's file once, in manifest order (instances without lines have none)."""
        seen: dict[str, Path] = {}
        for inst in self.instances:
            path = self.folder / inst.file
            if inst.file not in seen and _inside(self.folder, path) and path.is_file():
                seen[inst.file] = path
        return list(seen.values())


def _inside(folder: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _int(value: Any) -> int:
    """A count from the manifest; anything that is not a plain number (a hand-edited file) counts as 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 2**63:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 20:
        return int(value)
    return 0


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    """A time or name from the manifest as text; None when missing or not a string."""
    return value if isinstance(value, str) else None


def read_followed(folder: Path) -> FollowedNight | None:
    """The followed night in `folder`; None when its manifest is missing or was written by a one-shot collect."""
    obj = load_manifest(folder)
    if obj is None or obj.get("mode") != "follow":
        return None
    instances = []
    for raw in _list(obj.get("instances")):
        if not isinstance(raw, dict) or not isinstance(raw.get("file"), str):
            continue
        instances.append(
            FollowedInstance(
                pod=str(raw.get("pod", "")),
                container=str(raw.get("container", "")),
                uid=str(raw.get("uid", "")),
                restart=_int(raw.get("restart")),
                container_id=str(raw.get("container_id", "")),
                init=bool(raw.get("init")),
                file=raw["file"],
                lines=_int(raw.get("lines")),
                first=_text(raw.get("first")),
                last=_text(raw.get("last")),
                state=str(raw.get("state", "")),
            )
        )
    gaps = [
        Gap(
            since=_text(g.get("since")),
            until=_text(g.get("until")),
            reason=str(g.get("reason", "")),
            pod=_text(g.get("pod")),
            container=_text(g.get("container")),
            uid=_text(g.get("uid")),
            restart=_int(g["restart"]) if g.get("restart") is not None else None,
        )
        for g in _list(obj.get("gaps"))
        if isinstance(g, dict)
    ]
    return FollowedNight(
        folder=folder,
        night=str(obj.get("night", "")),
        closed=bool(obj.get("closed")),
        outcome=str(obj.get("outcome", "partial")),
        updated=str(obj.get("updated", "")),
        instances=instances,
        gaps=gaps,
        errors=[str(e) for e in _list(obj.get("errors"))],
    )
