"""One container instance being followed, and what de-duplicates the lines a resumed stream sends again.

An instance is a pod UID, a container and a container ID: a restart makes a new container ID, a
pod-kill a new UID. `Tail` keeps the lines of the newest second written; a stream opened again with
--since-time gets a `Replay` of them, which drops each one once when it comes again.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from sitegen.nightly.follow.night import MAX_ERRORS, NS
from sitegen.nightly.kube import stamp

TAIL_MAX = 50_000  # lines of the newest second kept aside for de-duplication after a re-attach


class StreamLike(Protocol):
    """What the loop asks of an instance's running stream (stream.Stream), without importing it."""

    mode: str
    follow_it: bool
    verified: bool

    def stop(self, *, superseded: bool = False) -> None: ...


class Tail:
    """The lines written with a stamp in the newest second: what a --since-time replay sends again."""

    def __init__(self) -> None:
        self.from_ns: int | None = None  # lines stamped before this were all written
        self.lines: collections.Counter[bytes] = collections.Counter()
        self.size = 0

    def add(self, ns: int, line: bytes) -> None:
        second = ns - ns % NS
        if self.from_ns is None or second > self.from_ns:
            self.from_ns, self.size = second, 0
            self.lines.clear()
        elif ns < self.from_ns:
            return  # an older stamp than the kept second (stdout and stderr interleaved): never replayed
        if self.size >= TAIL_MAX:
            self.from_ns, self.size = ns, 0
            self.lines.clear()
        self.lines[line] += 1
        self.size += 1


class Replay:
    """One stream's view of the tail: drops what was already written, once each."""

    def __init__(self, tail: Tail, keep_from_ns: int):
        self.from_ns = tail.from_ns if tail.from_ns is not None else keep_from_ns
        self.lines = collections.Counter(tail.lines)
        self.resumed = tail.from_ns is not None

    def knows(self, ns: int, line: bytes) -> bool:
        """Whether `line` is one this instance already has (the first line of a resumed stream must be)."""
        return ns < self.from_ns or self.lines.get(line, 0) > 0

    def seen(self, ns: int, line: bytes) -> bool:
        if ns < self.from_ns:
            return True
        n = self.lines.get(line, 0)
        if n:
            self.lines[line] = n - 1
            return True
        return False


@dataclass(eq=False)
class Instance:
    """One container instance: its file in each night, the newest second's lines, and its stream's story."""

    pod: str
    uid: str
    container: str
    init: bool
    restart: int
    cid: str
    rel: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_ns: int | None = None
    tail: Tail = field(default_factory=Tail)
    counts: dict[dt.date, list[int]] = field(default_factory=dict)  # night -> [lines, first_ns, last_ns]
    files: dict[dt.date, IO[bytes]] = field(default_factory=dict)
    state: str = "following"  # following | done | lost | stopped
    stream: StreamLike | None = None
    attaches: int = 0
    clean_end: bool = False  # the last stream that got data ended without an error
    retry_at: float = 0.0
    delay: float = 0.0
    mismatch_since: float | None = None
    trust: bool = False
    errors: list[str] = field(default_factory=list)
    told: set[str] = field(default_factory=set)
    dropped: int = 0  # lines sent again after a re-attach, and dropped
    truncated: int = 0
    waiting: bool = False  # waits for a free stream
    quiet_until: float = 0.0  # an instance without lines waits this long for the pod status before it is read again

    @property
    def key(self) -> str:
        return f"{self.uid}/{self.container}/{self.cid}"

    @property
    def label(self) -> str:
        return f"{self.pod}/{self.container} (uid {self.uid[:8]}, restart {self.restart})"

    def error(self, message: str) -> None:
        if message not in self.errors and len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def record(self, night: dt.date) -> dict[str, Any]:
        lines, first, last = self.counts.get(night, [0, 0, 0])
        return {
            "pod": self.pod,
            "container": self.container,
            "init": self.init,
            "uid": self.uid,
            "restart": self.restart,
            "container_id": self.cid,
            "file": self.rel,
            "lines": lines,
            "first": stamp(first) if lines else None,
            "last": stamp(last) if lines else None,
            "state": self.state,
            "attaches": self.attaches,
            "dropped_repeats": self.dropped,
            "truncated_lines": self.truncated,
            "errors": list(self.errors),
        }

