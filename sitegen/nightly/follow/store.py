"""The night folders the follower writes: each line into its instance's file of its night, the manifests, rollover.

Files are OUT/NIGHT/POD/CONTAINER.UID8-RESTART.log, NIGHT being the night the line's timestamp falls
in, so they roll over at `report.night_ends_at` without touching the streams. Each night's
manifest.json (instances, gaps, errors, runs) is rewritten at most every `manifest_every_s`, and at
least every HEARTBEAT_S while the night is open. A follower started again reads each instance file's
end back and goes on from there; a line another instance of the same pod name already wrote is not
written twice (the loop is told, and gives the instance a gap).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sitegen.errors import UsageError
from sitegen.nightly.follow.instance import Instance
from sitegen.nightly.follow.night import MAX_ERRORS, NS, Night, Nights
from sitegen.nightly.follow.options import FollowOptions, FollowResult
from sitegen.nightly.kube import NAME_RE, line_time_ns, stamp
from sitegen.nightly.manifest import MANIFEST_SCHEMA, load_manifest, write_manifest

log = logging.getLogger(__name__)

RECENT_MAX = 4096  # newest lines per pod name and container, to catch one instance's stream reading another's
RESUME_BYTES = 4 * 1024 * 1024  # of an instance file's end read back when a follower starts again
HEARTBEAT_S = 10.0


class Store:
    """The nights being written and the lines in them; called by the loop, and by the streams' threads (`write`)."""

    def __init__(
        self,
        options: FollowOptions,
        clock: Callable[[], float],
        events: queue.Queue[tuple[str, Any]],
        instances: dict[str, Instance],
        finished: set[str],
        numbers: dict[tuple[str, str], set[int]],
    ):
        self.options = options
        self.out = Path(options.out)
        self.clock = clock
        self.events = events  # a line read by the wrong instance's stream is reported here ("misread")
        # Shared with the loop: the instances by key, the keys read to the end, restart numbers per (uid, container).
        self.instances = instances
        self.finished = finished
        self.numbers = numbers
        self.nights_of = Nights(options.night_ends_at, options.timezone)
        self.nights: dict[dt.date, Night] = {}
        self.nights_lock = threading.Lock()
        self.recent: dict[tuple[str, str], collections.OrderedDict[bytes, str]] = {}  # newest lines per pod name/container
        self.recent_lock = threading.Lock()
        self.version: dict[str, Any] = {}  # kubectl's, for the manifest
        self.started_ns = self.now_ns()
        self.keep_from_ns = 0
        self.opened = 0  # streams opened, for the manifest

    def now_ns(self) -> int:
        return int(self.clock() * NS)

    def add_gap(self, gap: dict[str, Any], lo: int, hi: int) -> None:
        """Record a gap in every night it overlaps (the current one when it overlaps none)."""
        nights = [n for n in list(self.nights.values()) if n.since_ns <= hi and lo < n.until_ns] or [self.current_night()]
        for night in nights:
            night.gaps.append(gap)
            night.dirty = True

    def touch(self) -> None:
        """Every night's manifest is due again (an instance changed state)."""
        for night in list(self.nights.values()):
            night.dirty = True

    def close(self, stopped: int) -> None:
        """The follower stops: every file closed, this run's end written into each night, every manifest saved."""
        for inst in self.instances.values():
            with inst.lock:
                if inst.state == "following":
                    inst.state = "stopped"
                for fh in inst.files.values():
                    fh.close()
                inst.files.clear()
        for night in self.nights.values():
            for run in night.runs:
                if run.get("pid") == os.getpid() and run.get("stopped") is None:
                    run["stopped"] = stamp(min(stopped, night.until_ns))
            night.dirty = True
        self.save_all(force=True)

    def result(self) -> FollowResult:
        messages, manifests, partial = [], [], False
        for night in sorted(self.nights.values(), key=lambda n: n.date):
            records = self.records(night)
            gaps, errors = len(night.gaps), len(night.errors)
            partial = partial or bool(gaps or errors)
            lines = sum(r["lines"] for r in records)
            state = "closed" if night.closed else "open"
            messages.append(
                f"night {night.date}: {len(records)} instance(s), {lines} line(s), {gaps} gap(s), {errors} error(s) ({state})"
            )
            manifests.append(night.folder / "manifest.json")
            messages.append(f"manifest: {night.folder / 'manifest.json'}")
        return FollowResult(partial, messages, manifests)

    # --- nights -------------------------------------------------------------------------

    def open_nights(self, today: dt.date) -> None:
        """The night in progress, and the one before when an earlier run left it open; sets keep_from_ns."""
        before = self.night(today - dt.timedelta(days=1), create=False, resume=True)
        self.night(today, resume=True)
        oldest = before if before is not None and not before.closed else self.nights[today]
        self.keep_from_ns = oldest.since_ns

    def night(self, date: dt.date, *, create: bool = True, resume: bool = False) -> Night | None:
        """The night's record, loaded from its manifest the first time (resuming an earlier run's instances)."""
        with self.nights_lock:
            if date in self.nights:
                return self.nights[date]
            since, until = self.nights_of.bounds(date)
            folder = self.out / date.isoformat()
            old = load_manifest(folder)
            if old is not None and old.get("mode") != "follow":
                raise UsageError(f"{folder} holds logs of a one-shot `sitegen collect`; move them away to follow into it")
            if old is None and not create:
                return None
            night = Night(date, since, until, folder)
            start = max(self.started_ns, since)
            if old is not None:
                night.runs = [r for r in old.get("runs") or [] if isinstance(r, dict)]
                night.gaps = [g for g in old.get("gaps") or [] if isinstance(g, dict)]
                night.errors = [str(e) for e in old.get("errors") or []][:MAX_ERRORS]
                night.closed = bool(old.get("closed"))
                night.late_lines = int(old.get("late_lines") or 0)
                for rec in old.get("instances") or []:
                    if isinstance(rec, dict) and rec.get("uid") and rec.get("container_id"):
                        night.earlier[f"{rec['uid']}/{rec.get('container')}/{rec['container_id']}"] = rec
                last = night.runs[-1] if night.runs else None
                stopped = (last or {}).get("stopped") or old.get("updated")
                if stopped and not night.closed and self.started_ns < until:
                    how = "stopped" if (last or {}).get("stopped") else "died without stopping"
                    night.gaps.append(
                        {"since": stopped, "until": stamp(start), "reason": f"the follower was not running (it {how})"}
                    )
            elif self.started_ns > since:
                night.gaps.append(
                    {"since": stamp(since), "until": stamp(start),
                     "reason": "the follower was not running; instances that ended before it started are missing "
                               "(of each container, the last one that ended is read with --previous)"}
                )
            if self.started_ns < until:
                night.runs.append({"pid": os.getpid(), "started": stamp(start), "stopped": None})
            folder.mkdir(parents=True, exist_ok=True)
            self.nights[date] = night
        if old is not None and resume:
            self._resume(night)
        return night

    def _resume(self, night: Night) -> None:
        """Instances an earlier run was still reading: read their files' ends back and go on from there."""
        for key, rec in night.earlier.items():
            if rec.get("state") in ("done", "lost"):
                self.finished.add(key)
                continue
            if night.closed or key in self.finished or not all(
                NAME_RE.match(str(rec.get(k, ""))) for k in ("pod", "container")
            ):
                continue
            inst = self.instances.get(key)
            if inst is None:
                inst = Instance(
                    pod=rec["pod"], uid=rec["uid"], container=str(rec["container"]), init=bool(rec.get("init")),
                    restart=int(rec.get("restart") or 0), cid=rec["container_id"], rel=str(rec.get("file")),
                )
            path = night.folder / inst.rel
            if not path.resolve().is_relative_to(night.folder.resolve()):
                continue
            before = inst.last_ns
            lines = self._read_back(inst, path)
            inst.counts[night.date] = [lines, parse_stamp(rec.get("first")), parse_stamp(rec.get("last"))]
            if inst.last_ns != before and inst.last_ns is not None:
                inst.counts[night.date][2] = inst.last_ns
            inst.attaches = max(inst.attaches, int(rec.get("attaches") or 0))
            if key not in self.instances:
                self.instances[key] = inst
                self.numbers.setdefault((inst.uid, inst.container), set()).add(inst.restart)
                log.info("resuming %s after %s", inst.label, stamp(inst.last_ns) if inst.last_ns else "its start")

    def _read_back(self, inst: Instance, path: Path) -> int:
        """Count the file's lines, cut a half-written last line, and keep its newest second aside."""
        try:
            with open(path, "r+b") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - RESUME_BYTES))
                end = fh.read()
                cut = end.rfind(b"\n") + 1
                if cut < len(end):  # a line the last run did not finish: it comes again
                    fh.truncate(size - (len(end) - cut))
                    end = end[:cut]
                fh.seek(0)
                lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
        except OSError:
            return 0
        for line in end.splitlines(keepends=True):
            ns = line_time_ns(line)
            if ns is not None:
                inst.last_ns = ns if inst.last_ns is None else max(inst.last_ns, ns)
                inst.tail.add(ns, line)
        return lines

    def roll_nights(self) -> None:
        now = self.now_ns()
        current = self.night(self.nights_of.of(now))
        assert current is not None
        grace = int(self.options.grace_s * NS)
        settled = now - self.started_ns >= grace
        for night in list(self.nights.values()):
            if night.closed or now < night.until_ns + grace or not settled:
                continue
            night.closed = True
            for inst in self.instances.values():
                with inst.lock:
                    fh = inst.files.pop(night.date, None)
                    if fh is not None:
                        fh.close()
            log.info("night %s closed: %s", night.date, night.folder)
            night.dirty = True
            self.save(night)
        keep = [n for n in self.nights.values() if not n.closed]
        self.keep_from_ns = min((n.since_ns for n in keep), default=current.since_ns)
        for date in [d for d, n in self.nights.items() if n.closed and n.until_ns + 2 * grace + 86400 * NS < now]:
            del self.nights[date]

    # --- lines --------------------------------------------------------------------------

    def write(self, inst: Instance, ns: int | None, line: bytes) -> bool:
        """Append one line to the instance's file of the line's night (called by its stream's thread)."""
        when = ns if ns is not None else (inst.last_ns or self.now_ns())
        if when < self.keep_from_ns:
            return False
        if ns is not None and not self.first_owner(inst, line):
            with inst.lock:  # not written again, but a resumed stream starts from it all the same
                inst.tail.add(ns, line)
                inst.last_ns = ns if inst.last_ns is None else max(inst.last_ns, ns)
            return False
        date = self.nights_of.of(when)
        night = self.nights.get(date) or self.night(date)
        assert night is not None
        with inst.lock:
            fh = inst.files.get(date)
            if fh is None:
                path = night.folder / inst.rel
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = inst.files[date] = open(path, "ab")  # noqa: SIM115 - kept open while the night is written
            fh.write(line)
            count = inst.counts.setdefault(date, [0, when, when])
            count[0] += 1
            count[1], count[2] = min(count[1], when), max(count[2], when)
            if ns is not None:
                inst.tail.add(ns, line)
                inst.last_ns = ns if inst.last_ns is None else max(inst.last_ns, ns)
        if night.closed:
            night.late_lines += 1
        night.dirty = True
        return True

    def first_owner(self, inst: Instance, line: bytes) -> bool:
        """False when another instance of the same pod name and container already wrote this very line.

        Stamps have nanoseconds, so that only happens when a stream opened on stale pod status read the
        next instance's log (a container restarted, or a pod recreated, before the status said so).
        The line stays counted once, where it was first written, and the other instance gets a gap.
        """
        with self.recent_lock:
            recent = self.recent.setdefault((inst.pod, inst.container), collections.OrderedDict())
            owner = recent.get(line)
            if owner is not None and owner != inst.key:
                self.events.put(("misread", (owner, inst.key)))
                return False
            recent[line] = inst.key
            if len(recent) > RECENT_MAX:
                recent.popitem(last=False)
        return True

    def flush(self, inst: Instance) -> None:
        with inst.lock:
            for fh in inst.files.values():
                fh.flush()

    # --- pods ---------------------------------------------------------------------------
    def current_night(self) -> Night:
        night = self.night(self.nights_of.of(self.now_ns()))
        assert night is not None
        return night

    def records(self, night: Night) -> list[dict[str, Any]]:
        records = dict(night.earlier)
        current = night.date == self.nights_of.of(self.now_ns())
        for inst in self.instances.values():
            with inst.lock:
                has_lines = inst.counts.get(night.date, [0])[0] > 0
                if has_lines or (current and inst.state in ("following", "stopped")) or inst.key in records:
                    rec = inst.record(night.date)
                    old = records.get(inst.key)
                    if old is not None and not has_lines:
                        rec.update(lines=old.get("lines", 0), first=old.get("first"), last=old.get("last"))
                    records[inst.key] = rec
        return sorted(records.values(), key=record_order)

    def manifest(self, night: Night) -> dict[str, Any]:
        o = self.options
        return {
            "schema": MANIFEST_SCHEMA,
            "mode": "follow",
            "night": night.date.isoformat(),
            "since": stamp(night.since_ns),
            "until": stamp(night.until_ns),
            "namespace": o.namespace,
            "context": o.context or "",
            "selector": o.selector or "",
            "night_ends_at": o.night_ends_at,
            "timezone": o.timezone,
            "kubectl": self.version,
            "updated": stamp(self.now_ns()),
            "closed": night.closed,
            "outcome": "partial" if night.gaps or night.errors else "ok",
            "runs": night.runs,
            "streams_opened": self.opened,
            "late_lines": night.late_lines,
            "instances": self.records(night),
            "gaps": night.gaps,
            "errors": night.errors,
        }

    def save(self, night: Night) -> None:
        night.dirty = False
        night.written_at = time.monotonic()
        write_manifest(night.folder, self.manifest(night))

    def save_all(self, *, force: bool) -> None:
        now = time.monotonic()
        for night in list(self.nights.values()):
            due = night.dirty and now - night.written_at >= self.options.manifest_every_s
            beat = not night.closed and now - night.written_at >= HEARTBEAT_S
            if force or due or beat:
                self.save(night)



def record_order(rec: dict[str, Any]) -> tuple[str, str, str, int]:
    return str(rec.get("pod", "")), str(rec.get("container", "")), str(rec.get("uid", "")), int(rec.get("restart") or 0)


def parse_stamp(text: Any) -> int:
    if not isinstance(text, str):
        return 0
    return line_time_ns(text.encode() + b" ") or 0
