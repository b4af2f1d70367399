"""`sitegen collect --follow`: keep every container instance's log through the night, even when chaos kills the pod.

A pod watch (`kubectl get pods --watch`) says which container instances exist. An instance is a pod
UID, a container and a container ID: a restart makes a new container ID, a pod-kill a new UID. Each
instance gets its own `kubectl logs -f --timestamps` stream and its own file,
OUT/NIGHT/POD/CONTAINER.UID8-RESTART.log, NIGHT being the night its line's timestamp falls in, so the
files roll over at `report.night_ends_at` without touching the streams.

A stream that ends while its container still runs (a network blip, an API server restart) is opened
again with --since-time at the last timestamp written. The API server answers from the start of that
second, so the lines already written in that second are kept aside and dropped when they come again:
none is lost, none is written twice. The first line of a resumed stream must be one of them;
otherwise the kubelet has moved on to the container's next instance, and the follower waits for the
pod status to say so and then reads the old one with --previous.

Bounded: at most `max_streams` kubectl log processes (the others wait, with a message), lines cut at
MAX_LINE bytes, the lines kept aside capped at TAIL_MAX, manifests rewritten at most every
`manifest_every_s`. SIGTERM (or a set `stop` event) ends it cleanly: streams closed, every night's
manifest written, and a later start resumes each instance where it stopped.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import logging
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sitegen.errors import NoClusterError, UsageError
from sitegen.nightly.kube import (
    NAME_RE,
    Kubectl,
    check_target,
    find_kubectl,
    is_pod_not_found,
    kubectl_message,
    line_time_ns,
    raise_problems,
    stamp,
)
from sitegen.nightly.lock import exclusive_lock
from sitegen.nightly.manifest import MANIFEST_SCHEMA, load_manifest, write_manifest
from sitegen.nightly.window import night_for, night_window

log = logging.getLogger(__name__)

NS = 1_000_000_000
MAX_LINE = 1024 * 1024  # a longer line is cut here (and counted), so one runaway line cannot fill memory
TAIL_MAX = 50_000  # lines of the newest second kept aside for de-duplication after a re-attach
RECENT_MAX = 4096  # newest lines per pod name and container, to catch one instance's stream reading another's
READ_BYTES = 64 * 1024
MAX_WATCH_OBJECT = 16 * 1024 * 1024  # one pod as JSON; far more than any real pod
RESUME_BYTES = 4 * 1024 * 1024  # of an instance file's end read back when a follower starts again
MAX_ERRORS = 20  # kept per instance and per night; the count of the rest is kept
HEARTBEAT_S = 10.0
LOCK_NAME = ".sitegen-follow.lock"
STOP_WAIT_S = 5.0


@dataclass(frozen=True)
class FollowOptions:
    """What to follow and the follower's limits and timings (the defaults suit a real cluster)."""

    namespace: str
    out: Path  # the logs folder (config nightly.logs_dir): nights are written in OUT/YYYY-MM-DD/
    context: str | None = None
    selector: str | None = None
    night_ends_at: str = "06:00"
    timezone: str = "UTC"
    max_streams: int = 32  # kubectl log processes open at once (each about 40 MB)
    grace_s: float = 60.0  # a night is closed this long after it ends (late lines of a stream re-attached at 05:59)
    confirm_s: float = 10.0  # how long a resumed stream that does not start where it stopped waits for the pod status
    retry_s: float = 0.5  # first wait before a stream is opened again; doubles up to retry_max_s
    retry_max_s: float = 30.0
    resync_s: float = 300.0  # a full pod list this often, besides the watch
    manifest_every_s: float = 1.0


@dataclass
class FollowResult:
    """How a follower run ended: partial when a night it wrote has gaps or errors; lines for the user."""

    partial: bool
    messages: list[str] = field(default_factory=list)
    manifests: list[Path] = field(default_factory=list)


def check_options(options: FollowOptions) -> None:
    """Every problem with the options at once, as a UsageError (exit 2), before anything runs."""
    problems = check_target(options.namespace, options.context, options.selector)
    out = Path(options.out)
    if out.exists() and not out.is_dir():
        problems.append(f"--out {out}: exists and is not a folder")
    elif (load_manifest(out) or {}).get("mode") is not None:
        problems.append(f"--out {out}: holds one night's logs; give the logs folder the nights go into (nightly.logs_dir)")
    if options.max_streams < 1:
        problems.append(f"--max-streams {options.max_streams}: must be at least 1")
    raise_problems(problems)


def follow(
    options: FollowOptions,
    *,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
) -> FollowResult:
    """Follow the namespace's pods until `stop` is set or SIGTERM arrives; returns what was written."""
    check_options(options)
    kubectl = Kubectl(find_kubectl(), options.context, keep=200)
    stop = stop or threading.Event()
    with _only_follower(Path(options.out)), _stop_on_sigterm(stop):
        return _Follower(options, kubectl, stop, clock).run()


def _only_follower(out: Path) -> contextlib.AbstractContextManager[object]:
    """An flock on OUT/.sitegen-follow.lock: a second follower would write every line a second time."""
    return exclusive_lock(out / LOCK_NAME, f"another follower writes into {out}")


@contextlib.contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM (Kubernetes stopping the pod, systemd, kill) sets `stop`; only the main thread may install it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda _signo, _frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- nights -------------------------------------------------------------------------------


class _Nights:
    """Which night a timestamp belongs to, with the night's window in nanoseconds."""

    def __init__(self, ends_at: str, tz: str):
        self.ends_at, self.tz = ends_at, tz
        self.cache: list[tuple[int, int, dt.date]] = []

    def of(self, ns: int) -> dt.date:
        for since, until, night in self.cache:
            if since <= ns < until:
                return night
        moment = dt.datetime.fromtimestamp(ns / NS, dt.UTC)
        night = night_for(moment, ends_at=self.ends_at, tz=self.tz) + dt.timedelta(days=1)
        since, until = self.bounds(night)
        self.cache = [(since, until, night), *self.cache[:3]]
        return night

    def bounds(self, night: dt.date) -> tuple[int, int]:
        w = night_window(night, ends_at=self.ends_at, tz=self.tz)
        return int(w.since.timestamp()) * NS, int(w.until.timestamp()) * NS


@dataclass(eq=False)
class _Night:
    """One night folder being written: its runs, gaps, errors and what earlier runs left in its manifest."""

    date: dt.date
    since_ns: int
    until_ns: int
    folder: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    earlier: dict[str, dict[str, Any]] = field(default_factory=dict)  # instances of earlier runs, by key
    closed: bool = False
    late_lines: int = 0
    dirty: bool = True
    written_at: float = 0.0

    def error(self, message: str) -> None:
        if message not in self.errors and len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
            self.dirty = True


# --- instances ----------------------------------------------------------------------------


class _Tail:
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


class _Replay:
    """One stream's view of the tail: drops what was already written, once each."""

    def __init__(self, tail: _Tail, keep_from_ns: int):
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
class _Instance:
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
    tail: _Tail = field(default_factory=_Tail)
    counts: dict[dt.date, list[int]] = field(default_factory=dict)  # night -> [lines, first_ns, last_ns]
    files: dict[dt.date, IO[bytes]] = field(default_factory=dict)
    state: str = "following"  # following | done | lost | stopped
    stream: _Stream | None = None
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


@dataclass(eq=False)
class _Pod:
    name: str
    uid: str
    obj: dict[str, Any]
    rv: int | None
    deleted: bool = False

    def status_of(self, container: str, init: bool) -> dict[str, Any] | None:
        status = self.obj.get("status") or {}
        for cs in status.get("initContainerStatuses" if init else "containerStatuses") or []:
            if isinstance(cs, dict) and cs.get("name") == container:
                return cs
        return None


def _rv(obj: dict[str, Any]) -> int | None:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion"))
    except (TypeError, ValueError):
        return None


def _ids(cs: dict[str, Any]) -> tuple[str, str, str]:
    """(current container ID, last terminated container ID, state) of a container status."""
    state = cs.get("state") or {}
    kind = "running" if state.get("running") is not None else "terminated" if state.get("terminated") is not None else "waiting"
    current = str(cs.get("containerID") or "") if kind != "waiting" else ""
    last = str(((cs.get("lastState") or {}).get("terminated") or {}).get("containerID") or "")
    return current, last, kind


# --- the kubectl processes ----------------------------------------------------------------


class _Stream(threading.Thread):
    """One `kubectl logs` of one instance: writes its new lines, then reports how it ended."""

    def __init__(self, follower: _Follower, inst: _Instance, mode: str, follow_it: bool):
        super().__init__(name=f"logs {inst.label}", daemon=True)
        self.follower, self.inst, self.mode, self.follow_it = follower, inst, mode, follow_it
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.superseded = False
        self.verified = False  # its first line showed it reads this instance
        self.returncode: int | None = None
        self.message = ""
        self.got_data = False
        self.new_lines = 0
        self.mismatch = False
        with inst.lock:
            self.replay = _Replay(inst.tail, follower.keep_from_ns)
        self.since_ns = inst.last_ns if inst.last_ns is not None else follower.keep_from_ns
        self.trust = inst.trust

    def argv(self) -> list[str]:
        f = self.follower
        args = ["logs", "--timestamps", "-n", f.options.namespace, self.inst.pod, "-c", self.inst.container]
        if self.follow_it:
            args.append("-f")
        if self.mode == "previous":
            args.append("--previous")
        args.append(f"--since-time={stamp(self.since_ns)}")
        return f.kubectl.argv(args)

    def stop(self, *, superseded: bool = False) -> None:
        self.superseded = superseded
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def run(self) -> None:
        argv = self.argv()
        log.debug("running kubectl %s", " ".join(argv[1:]))
        try:
            with tempfile.TemporaryFile() as err:
                try:
                    self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
                except OSError as exc:
                    self.returncode, self.message = -1, f"cannot run kubectl: {exc}"
                    return
                if self.stopping:
                    self.proc.terminate()
                assert self.proc.stdout is not None
                with self.proc.stdout:
                    self._pump(self.proc.stdout.fileno())
                if self.mismatch and self.proc.poll() is None:
                    self.proc.terminate()
                self.returncode = self.proc.wait()
                err.seek(0, os.SEEK_END)
                err.seek(max(0, err.tell() - 8192))
                text = err.read().decode("utf-8", "replace")
                if self.returncode != 0:
                    self.message = kubectl_message(text)
        except Exception as exc:  # a thread must always report back, or its instance would never be read again
            log.debug("stream of %s failed", self.inst.label, exc_info=True)
            self.returncode, self.message = -1, f"internal error: {type(exc).__name__}: {exc}"
        finally:
            self.follower.events.put(("stream", self))

    def _pump(self, fd: int) -> None:
        pending = b""
        skipping = False  # inside a line longer than MAX_LINE, after its first MAX_LINE bytes
        while True:
            chunk = os.read(fd, READ_BYTES)
            if not chunk:
                break
            self.got_data = True
            data = pending + chunk if pending else chunk
            start = 0
            while (nl := data.find(b"\n", start)) >= 0:
                line, start = data[start : nl + 1], nl + 1
                if skipping:
                    skipping = False
                elif not self._take(line):
                    return
            pending = data[start:]
            if len(pending) > MAX_LINE:
                if not skipping:
                    with self.inst.lock:
                        self.inst.truncated += 1
                    if not self._take(pending[:MAX_LINE] + b"\n"):
                        return
                skipping, pending = True, b""
            self.follower.flush(self.inst)
        if pending and not skipping and not self.follow_it and not self.stopping and self.proc and self.proc.wait() == 0:
            # A finished container's last line without a newline: the whole log was read, so it is whole.
            self._take(pending + b"\n")
            self.follower.flush(self.inst)

    def _take(self, line: bytes) -> bool:
        """Handle one whole line; False when the stream turns out to read another instance (then it stops)."""
        if not self.verified:
            if not self._starts_where_it_stopped(line):
                self.mismatch = True
                return False
            self.verified = True
        self._line(line)
        return True

    def _starts_where_it_stopped(self, line: bytes) -> bool:
        """A resumed stream must start with a line this instance has; else it is the next instance's."""
        if not self.replay.resumed or self.trust:
            return True
        ns = line_time_ns(line)
        return ns is not None and ns <= (self.inst.last_ns or ns) and self.replay.knows(ns, line)

    def _line(self, line: bytes) -> None:
        ns = line_time_ns(line)
        if ns is not None and self.replay.seen(ns, line):
            if self.replay.resumed:
                with self.inst.lock:
                    self.inst.dropped += 1
            return
        if self.follower.write(self.inst, ns, line):
            self.new_lines += 1


class _Watch(threading.Thread):
    """`kubectl get pods --watch`: each event goes to the follower's queue; its end too."""

    def __init__(self, follower: _Follower):
        super().__init__(name="pod watch", daemon=True)
        self.follower = follower
        self.proc: subprocess.Popen[bytes] | None = None
        self.events_seen = 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def run(self) -> None:
        f = self.follower
        o = f.options
        args = ["get", "pods", "-n", o.namespace, *(["-l", o.selector] if o.selector else [])]
        argv = f.kubectl.argv([*args, "--watch", "--output-watch-events", "-o", "json"])
        log.debug("running kubectl %s", " ".join(argv[1:]))
        message, code = "", -1
        try:
            with tempfile.TemporaryFile() as err:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
                assert self.proc.stdout is not None
                with self.proc.stdout:
                    message = self._read(self.proc.stdout.fileno())
                if message and self.proc.poll() is None:
                    self.proc.terminate()
                code = self.proc.wait()
                err.seek(0)
                if code != 0 and not message:
                    message = kubectl_message(err.read()[-8192:].decode("utf-8", "replace"))
        except Exception as exc:
            message = f"cannot run kubectl: {exc}" if isinstance(exc, OSError) else f"internal error: {exc}"
        finally:
            f.events.put(("watch-ended", (self, code, message)))

    def _read(self, fd: int) -> str:
        decoder = json.JSONDecoder()
        text = ""
        raw = b""
        while True:
            chunk = os.read(fd, READ_BYTES)
            if not chunk:
                return ""
            raw += chunk
            try:
                text += raw.decode("utf-8")
                raw = b""
            except UnicodeDecodeError:
                continue  # a character split between two reads
            while True:
                text = text.lstrip()
                if not text:
                    break
                try:
                    obj, end = decoder.raw_decode(text)
                except ValueError:
                    break
                text = text[end:]
                if isinstance(obj, dict) and isinstance(obj.get("object"), dict):
                    self.events_seen += 1
                    self.follower.events.put(("pod-event", (str(obj.get("type", "")), obj["object"])))
            if len(text) > MAX_WATCH_OBJECT:
                return f"kubectl printed more than {MAX_WATCH_OBJECT} bytes that are not one JSON object"


class _Lister(threading.Thread):
    """One `kubectl get pods -o json` off the main loop (a resync); the list goes to the queue."""

    def __init__(self, follower: _Follower):
        super().__init__(name="pod list", daemon=True)
        self.follower = follower

    def run(self) -> None:
        f = self.follower
        try:
            listing, problem = f.kubectl.list_pods(f.options.namespace, f.options.selector)
        except Exception as exc:
            listing, problem = None, f"internal error: {exc}"
        f.events.put(("list", (listing, problem)))


# --- the follower -------------------------------------------------------------------------


class _Follower:
    """The main loop: pod events and stream ends come through one queue; decisions are made here only."""

    def __init__(self, options: FollowOptions, kubectl: Kubectl, stop: threading.Event, clock: Callable[[], float]):
        self.options = options
        self.out = Path(options.out)
        self.kubectl = kubectl
        self.stop = stop
        self.clock = clock
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.nights_of = _Nights(options.night_ends_at, options.timezone)
        self.nights: dict[dt.date, _Night] = {}
        self.nights_lock = threading.Lock()
        self.pods: dict[str, _Pod] = {}
        self.instances: dict[str, _Instance] = {}
        self.finished: set[str] = set()  # instance keys an earlier run already read to the end
        self.recent: dict[tuple[str, str], collections.OrderedDict[bytes, str]] = {}  # newest lines per pod name/container
        self.recent_lock = threading.Lock()
        self.numbers: dict[tuple[str, str], set[int]] = {}  # (uid, container) -> restart numbers known
        self.streams: set[_Stream] = set()
        self.watch: _Watch | None = None
        self.watch_retry_at: float | None = None
        self.watch_delay = 0.0
        self.lister: _Lister | None = None
        self.next_resync = 0.0
        self.told: set[str] = set()
        self.version: dict[str, Any] = {}
        self.started_ns = self.now_ns()
        self.keep_from_ns = 0
        self.opened = 0

    def now_ns(self) -> int:
        return int(self.clock() * NS)

    # --- lifecycle ----------------------------------------------------------------------

    def run(self) -> FollowResult:
        o = self.options
        self.out.mkdir(parents=True, exist_ok=True)
        self.version = self.kubectl.version()
        listing, problem = self.kubectl.list_pods(o.namespace, o.selector)
        if listing is None:
            where = f"context {o.context!r}" if o.context else "the current kubectl context"
            raise NoClusterError(f"cannot list pods in namespace {o.namespace!r} with {where}: {problem}")
        today = self.nights_of.of(self.started_ns)
        self._open_nights(today)
        log.info(
            "following the pods of namespace %s%s into %s (night %s); stop with SIGTERM or Ctrl+C",
            o.namespace, f" matching {o.selector}" if o.selector else "", self.out, today,
        )
        self._apply_list(listing, first=True)
        self.watch = _Watch(self)
        self.watch.start()
        self.next_resync = time.monotonic() + o.resync_s
        try:
            while not self.stop.is_set():
                try:
                    kind, payload = self.events.get(timeout=0.1)
                except queue.Empty:
                    kind, payload = "tick", None
                self._handle(kind, payload)
                while True:  # everything already queued before deciding
                    try:
                        kind, payload = self.events.get_nowait()
                    except queue.Empty:
                        break
                    self._handle(kind, payload)
                self._tick()
        finally:
            self._shutdown()
        return self._result()

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "pod-event":
            event, obj = payload
            if event == "DELETED":
                self._apply_pod(obj, deleted=True)
            elif event in ("ADDED", "MODIFIED"):
                self._apply_pod(obj)
            elif event == "ERROR":
                log.debug("the pod watch sent an error: %s", obj.get("message", obj))
        elif kind == "stream":
            self._stream_ended(payload)
        elif kind == "watch-ended":
            self._watch_ended(*payload)
        elif kind == "misread":
            self._misread(*payload)
        elif kind == "list":
            listing, problem = payload
            self.lister = None
            if listing is None:
                self._tell(f"list:{problem}", f"cannot list the pods again ({problem}); the watch goes on", logging.WARNING)
            else:
                self._apply_list(listing)

    def _tick(self) -> None:
        now = time.monotonic()
        self._roll_nights()
        self._schedule(now)
        if self.watch is None and self.watch_retry_at is not None and now >= self.watch_retry_at:
            self.watch_retry_at = None
            self.watch = _Watch(self)
            self.watch.start()
            self._resync()
        if now >= self.next_resync:
            self._resync()
        self._write_manifests(force=False)

    def _resync(self) -> None:
        self.next_resync = time.monotonic() + self.options.resync_s
        if self.lister is None:
            self.lister = _Lister(self)
            self.lister.start()

    def _shutdown(self) -> None:
        streams = list(self.streams)
        for s in streams:
            s.stop()
        if self.watch is not None:
            self.watch.stop()
        deadline = time.monotonic() + STOP_WAIT_S
        for s in streams:
            s.join(max(0.0, deadline - time.monotonic()))
            if s.is_alive() and s.proc is not None:
                s.proc.kill()
                s.join(1.0)
        if self.watch is not None:
            self.watch.join(max(0.1, deadline - time.monotonic()))
            if self.watch.is_alive() and self.watch.proc is not None:
                self.watch.proc.kill()
        stopped = self.now_ns()
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
        self._write_manifests(force=True)
        log.info("follower stopped; manifests written")

    def _result(self) -> FollowResult:
        messages, manifests, partial = [], [], False
        for night in sorted(self.nights.values(), key=lambda n: n.date):
            records = self._records(night)
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

    def _open_nights(self, today: dt.date) -> None:
        """The night in progress, and the one before when an earlier run left it open; sets keep_from_ns."""
        before = self._night(today - dt.timedelta(days=1), create=False, resume=True)
        self._night(today, resume=True)
        oldest = before if before is not None and not before.closed else self.nights[today]
        self.keep_from_ns = oldest.since_ns

    def _night(self, date: dt.date, *, create: bool = True, resume: bool = False) -> _Night | None:
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
            night = _Night(date, since, until, folder)
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

    def _resume(self, night: _Night) -> None:
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
                inst = _Instance(
                    pod=rec["pod"], uid=rec["uid"], container=str(rec["container"]), init=bool(rec.get("init")),
                    restart=int(rec.get("restart") or 0), cid=rec["container_id"], rel=str(rec.get("file")),
                )
            path = night.folder / inst.rel
            if not path.resolve().is_relative_to(night.folder.resolve()):
                continue
            before = inst.last_ns
            lines = self._read_back(inst, path)
            inst.counts[night.date] = [lines, _parse_stamp(rec.get("first")), _parse_stamp(rec.get("last"))]
            if inst.last_ns != before and inst.last_ns is not None:
                inst.counts[night.date][2] = inst.last_ns
            inst.attaches = max(inst.attaches, int(rec.get("attaches") or 0))
            if key not in self.instances:
                self.instances[key] = inst
                self.numbers.setdefault((inst.uid, inst.container), set()).add(inst.restart)
                log.info("resuming %s after %s", inst.label, stamp(inst.last_ns) if inst.last_ns else "its start")

    def _read_back(self, inst: _Instance, path: Path) -> int:
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

    def _roll_nights(self) -> None:
        now = self.now_ns()
        current = self._night(self.nights_of.of(now))
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
            self._write_manifest(night)
        keep = [n for n in self.nights.values() if not n.closed]
        self.keep_from_ns = min((n.since_ns for n in keep), default=current.since_ns)
        for date in [d for d, n in self.nights.items() if n.closed and n.until_ns + 2 * grace + 86400 * NS < now]:
            del self.nights[date]

    # --- lines --------------------------------------------------------------------------

    def write(self, inst: _Instance, ns: int | None, line: bytes) -> bool:
        """Append one line to the instance's file of the line's night (called by its stream's thread)."""
        when = ns if ns is not None else (inst.last_ns or self.now_ns())
        if when < self.keep_from_ns:
            return False
        if ns is not None and not self._first_owner(inst, line):
            with inst.lock:  # not written again, but a resumed stream starts from it all the same
                inst.tail.add(ns, line)
                inst.last_ns = ns if inst.last_ns is None else max(inst.last_ns, ns)
            return False
        date = self.nights_of.of(when)
        night = self.nights.get(date) or self._night(date)
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

    def _first_owner(self, inst: _Instance, line: bytes) -> bool:
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

    def flush(self, inst: _Instance) -> None:
        with inst.lock:
            for fh in inst.files.values():
                fh.flush()

    # --- pods ---------------------------------------------------------------------------

    def _apply_list(self, listing: dict[str, Any], *, first: bool = False) -> None:
        items = [i for i in listing.get("items") or [] if isinstance(i, dict)]
        seen = set()
        for item in items:
            seen.add(str((item.get("metadata") or {}).get("uid", "")))
            self._apply_pod(item, initial=first)
        list_rv = _rv(listing)
        for uid, pod in self.pods.items():
            if uid not in seen and not pod.deleted and (list_rv is None or pod.rv is None or pod.rv < list_rv):
                self._delete(pod)

    def _apply_pod(self, obj: dict[str, Any], *, deleted: bool = False, initial: bool = False) -> None:
        meta = obj.get("metadata") or {}
        uid, name = str(meta.get("uid", "")), str(meta.get("name", ""))
        if not uid:
            return
        rv = _rv(obj)
        pod = self.pods.get(uid)
        if pod is not None and not deleted and (pod.deleted or (rv is not None and pod.rv is not None and rv < pod.rv)):
            return  # older news than what is known
        if pod is None:
            pod = self.pods[uid] = _Pod(name, uid, obj, rv)
        else:
            pod.obj, pod.rv = obj, rv if rv is not None else pod.rv
        if deleted:
            self._delete(pod)
            return
        if not NAME_RE.match(name):
            self._tell(f"name:{uid}", f"pod {name!r}: not a valid Kubernetes name; its logs are not followed", logging.WARNING)
            return
        status = obj.get("status") or {}
        for init, key in ((True, "initContainerStatuses"), (False, "containerStatuses")):
            for cs in status.get(key) or []:
                if isinstance(cs, dict):
                    self._apply_container(pod, cs, init, initial)
        for inst in self.instances.values():
            if inst.uid != uid or inst.state != "following":
                continue
            if inst.stream is None:
                inst.retry_at = min(inst.retry_at, time.monotonic())  # the status changed: decide again now
                inst.quiet_until = 0.0
            elif not inst.stream.verified and self._target(inst) != (inst.stream.mode, inst.stream.follow_it):
                # Opened on older news and still without a line: it may be waiting on the next instance's log.
                inst.stream.stop(superseded=True)

    def _apply_container(self, pod: _Pod, cs: dict[str, Any], init: bool, initial: bool) -> None:
        cname = str(cs.get("name", ""))
        if not NAME_RE.match(cname):
            message = f"pod {pod.name}: container {cname!r} is not a valid Kubernetes name; not followed"
            self._tell(f"name:{pod.uid}:{cname}", message, logging.WARNING)
            return
        try:
            restarts = int(cs.get("restartCount") or 0)
        except (TypeError, ValueError):
            restarts = 0
        current, last, _state = _ids(cs)
        known = self.numbers.get((pod.uid, cname))
        if known is None and not initial:
            known = {-1}  # a pod that appeared while following: every one of its instances should be seen
        found = []
        if current:
            found.append((current, restarts))
        if last and last != current:
            found.append((last, max(restarts - 1, 0)))
        if known is not None and found:
            lowest = min(n for _cid, n in found)
            missed = list(range(max(known) + 1, lowest))
            if missed:
                self._gap(
                    None, None,
                    f"{len(missed)} instance(s) (restart {missed[0]}-{missed[-1]}) ran and ended between two pod "
                    "updates; their lines are missing",
                    pod=pod.name, container=cname, uid=pod.uid,
                )
        numbers = self.numbers.setdefault((pod.uid, cname), set())
        for cid, number in found:
            numbers.add(number)
            self._ensure(pod, cname, init, cid, number)

    def _ensure(self, pod: _Pod, cname: str, init: bool, cid: str, number: int) -> None:
        key = f"{pod.uid}/{cname}/{cid}"
        if key in self.instances or key in self.finished:
            return
        rel = f"{pod.name}/{cname}.{pod.uid[:8]}-{number}.log"
        if any(i.rel == rel for i in self.instances.values()):
            rel = f"{pod.name}/{cname}.{pod.uid[:8]}-{number}-{cid.rsplit('/', 1)[-1][:8]}.log"
        inst = _Instance(pod=pod.name, uid=pod.uid, container=cname, init=init, restart=number, cid=cid, rel=rel)
        self.instances[key] = inst
        log.info("new instance %s", inst.label)

    def _delete(self, pod: _Pod) -> None:
        if pod.deleted:
            return
        pod.deleted = True
        log.info("pod %s (uid %s) deleted", pod.name, pod.uid[:8])
        for inst in self.instances.values():
            if inst.uid == pod.uid and inst.stream is None:
                inst.retry_at = time.monotonic()

    # --- deciding what to read ----------------------------------------------------------

    def _target(self, inst: _Instance) -> tuple[str, bool] | None:
        """(mode, follow) for the next stream of `inst`: ("current", True) while it runs; None when unreachable."""
        pod = self.pods.get(inst.uid)
        if pod is None or pod.deleted:
            return None
        cs = pod.status_of(inst.container, inst.init)
        if cs is None:
            return None
        current, last, state = _ids(cs)
        if current == inst.cid:
            return "current", state == "running"
        if not current and last == inst.cid:
            return "current", False  # waiting to restart: the latest log is this one's
        if last == inst.cid:
            return "previous", False
        return None

    def _schedule(self, now: float) -> None:
        o = self.options
        todo = [i for i in self.instances.values() if i.state == "following" and i.stream is None and i.retry_at <= now]
        targets = {i.key: self._target(i) for i in todo}
        # Finished containers first: their logs can vanish with the pod; running ones can wait a moment.
        todo.sort(key=lambda i: (targets[i.key] == ("current", True), i.retry_at))
        for inst in todo:
            target = targets[inst.key]
            if target is None:
                self._end(inst)
                continue
            mode, follow_it = target
            if inst.quiet_until > now and target == ("current", True):
                inst.retry_at = inst.quiet_until
                continue
            if inst.mismatch_since is not None and target == ("current", True):
                if now - inst.mismatch_since < o.confirm_s:
                    inst.retry_at = now + min(0.2, o.confirm_s)
                    continue
                if not inst.trust:
                    inst.trust = True
                    self._gap(
                        inst.last_ns, None,
                        f"the resumed stream did not start with a line already written (log rotated?), and after "
                        f"{o.confirm_s:g} s the pod status still shows the same container; lines may be missing",
                        inst=inst,
                    )
            if len(self.streams) >= o.max_streams:
                if not inst.waiting:
                    inst.waiting = True
                    message = (
                        f"{len(self.streams)} log streams are open, the most --max-streams allows; "
                        f"{inst.label} waits for one to end"
                    )
                    self._tell(f"limit:{inst.key}", message, logging.WARNING)
                    self._current_night().error(message)
                continue
            inst.waiting = False
            self._open(inst, mode, follow_it)

    def _open(self, inst: _Instance, mode: str, follow_it: bool) -> None:
        stream = _Stream(self, inst, mode, follow_it)
        inst.stream = stream
        inst.attaches += 1
        self.opened += 1
        self.streams.add(stream)
        how = "following" if follow_it else "reading the previous log of" if mode == "previous" else "reading"
        if inst.attaches == 1:
            log.info("%s %s", how, inst.label)
        else:
            log.debug("%s %s again (attach %d, since %s)", how, inst.label, inst.attaches, stamp(stream.since_ns))
        stream.start()

    def _stream_ended(self, stream: _Stream) -> None:
        self.streams.discard(stream)
        inst = stream.inst
        inst.stream = None
        now = time.monotonic()
        if stream.superseded:
            inst.retry_at = now  # the pod status changed under it: read what the status now says
            return
        if stream.stopping:
            return
        o = self.options
        code = stream.returncode
        if stream.mismatch:
            if inst.mismatch_since is None:
                inst.mismatch_since = now
                log.info("%s: the kubelet already serves a newer instance; waiting for the pod status", inst.label)
            inst.retry_at = now + min(0.2, o.confirm_s)
            return
        if code == 0:
            inst.clean_end = True
            inst.mismatch_since = None
            inst.trust = False
            if not stream.follow_it:
                self._finish(inst, "done")  # a finished container's log, read to its end
                return
        else:
            if stream.got_data:
                inst.clean_end = False  # it broke after it started: whether the container ended is unknown
            message = stream.message or f"kubectl exited with status {code}"
            inst.error(message)
            if not is_pod_not_found(message, inst.pod):
                text = (f"the log stream of {inst.label} broke: {message}" if stream.got_data
                        else f"cannot open the log stream of {inst.label}: {message}")
                self._tell(f"stream:{inst.key}:{message}", f"{text}; trying again", logging.WARNING)
        if inst.last_ns is None and stream.follow_it:
            # Nothing to check a resumed stream against: if the container restarted meanwhile, the kubelet
            # would serve the next instance's lines as this one's. The pod status says so within seconds.
            inst.quiet_until = now + o.confirm_s
        if stream.new_lines:
            inst.delay = 0.0
        else:
            inst.delay = min(max(o.retry_s, inst.delay * 2), o.retry_max_s)
        inst.retry_at = now + inst.delay

    def _misread(self, owner_key: str, reader_key: str) -> None:
        owner, reader = self.instances.get(owner_key), self.instances.get(reader_key)
        if owner is None or owner.state != "following":
            return
        if owner.stream is not None:
            owner.stream.stop(superseded=True)
        later = f"restart {reader.restart}" if reader is not None and reader.uid == owner.uid else "the next pod of that name"
        self._gap(
            owner.last_ns, None,
            f"its stream read lines of {later} (opened before the pod status showed the change); those lines are "
            "in this file, counted once, and this instance's own last lines may be missing",
            inst=owner,
        )
        self._finish(owner, "lost")

    def _end(self, inst: _Instance) -> None:
        """The instance can no longer be read: done when its last stream ended cleanly, else lost."""
        if inst.clean_end:
            self._finish(inst, "done")
            return
        why = f" ({inst.errors[-1]})" if inst.errors else ""
        if inst.last_ns is None:
            reason = f"the instance ended before its log could be read{why}"
        else:
            reason = f"its log stream ended early{why} and the instance was gone before it could be read to its end"
        self._gap(inst.last_ns, None, reason, inst=inst)
        self._finish(inst, "lost")

    def _finish(self, inst: _Instance, state: str) -> None:
        with inst.lock:
            inst.state = state
            for fh in inst.files.values():
                fh.close()
            inst.files.clear()
        log.info("%s: %s (%d line(s))", inst.label, "read to its end" if state == "done" else "lost",
                 sum(c[0] for c in inst.counts.values()))
        for night in list(self.nights.values()):
            night.dirty = True

    def _gap(self, since_ns: int | None, until_ns: int | None, reason: str, *, inst: _Instance | None = None,
             pod: str | None = None, container: str | None = None, uid: str | None = None) -> None:
        now = self.now_ns()
        gap: dict[str, Any] = {
            "since": stamp(since_ns) if since_ns else None,
            "until": stamp(until_ns or now),
            "reason": reason,
        }
        if inst is not None:
            gap.update(pod=inst.pod, container=inst.container, uid=inst.uid, restart=inst.restart)
        elif pod is not None:
            gap.update(pod=pod, container=container, uid=uid)
        lo, hi = since_ns or now, until_ns or now
        nights = [n for n in list(self.nights.values()) if n.since_ns <= hi and lo < n.until_ns] or [self._current_night()]
        for night in nights:
            night.gaps.append(gap)
            night.dirty = True
        log.warning("gap: %s/%s: %s", gap.get("pod") or "all pods", gap.get("container") or "-", reason)

    def _current_night(self) -> _Night:
        night = self._night(self.nights_of.of(self.now_ns()))
        assert night is not None
        return night

    def _watch_ended(self, watch: _Watch, code: int, message: str) -> None:
        if watch is not self.watch:
            return
        self.watch = None
        if self.stop.is_set():
            return
        o = self.options
        self.watch_delay = o.retry_s if watch.events_seen else min(max(o.retry_s, self.watch_delay * 2), o.retry_max_s)
        if code == 0 and not message:
            log.debug("the pod watch ended; watching again")
            self.watch_delay = 0.0
        else:
            self._tell(f"watch:{message}", f"the pod watch failed ({message}); watching again in {self.watch_delay:g} s",
                       logging.WARNING)
        self.watch_retry_at = time.monotonic() + self.watch_delay

    # --- manifests ----------------------------------------------------------------------

    def _records(self, night: _Night) -> list[dict[str, Any]]:
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
        return sorted(records.values(), key=_record_order)

    def _manifest(self, night: _Night) -> dict[str, Any]:
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
            "instances": self._records(night),
            "gaps": night.gaps,
            "errors": night.errors,
        }

    def _write_manifest(self, night: _Night) -> None:
        night.dirty = False
        night.written_at = time.monotonic()
        write_manifest(night.folder, self._manifest(night))

    def _write_manifests(self, *, force: bool) -> None:
        now = time.monotonic()
        for night in list(self.nights.values()):
            due = night.dirty and now - night.written_at >= self.options.manifest_every_s
            beat = not night.closed and now - night.written_at >= HEARTBEAT_S
            if force or due or beat:
                self._write_manifest(night)

    def _tell(self, key: str, message: str, level: int) -> None:
        """Log a message once; repeats of it go to the debug log."""
        if key in self.told:
            log.debug("%s", message)
            return
        self.told.add(key)
        log.log(level, "%s", message)


def _record_order(rec: dict[str, Any]) -> tuple[str, str, str, int]:
    return str(rec.get("pod", "")), str(rec.get("container", "")), str(rec.get("uid", "")), int(rec.get("restart") or 0)


def _parse_stamp(text: Any) -> int:
    if not isinstance(text, str):
        return 0
    return line_time_ns(text.encode() + b" ") or 0
