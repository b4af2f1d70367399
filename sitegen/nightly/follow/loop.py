"""The follower's main loop: pod events, stream ends and list results come through one queue, decided here only.

From the pods' status it knows which container instances exist (`Instance`), opens a log stream for
each (at most `max_streams` at once; the others wait, with a message), opens a stream again when it
breaks, reads a finished instance with --previous when the kubelet has moved on, and records a gap
where lines may be missing. What is written, and where, is the store's business.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sitegen.errors import NoClusterError
from sitegen.nightly.follow.instance import Instance
from sitegen.nightly.follow.options import FollowOptions, FollowResult
from sitegen.nightly.follow.store import Store
from sitegen.nightly.follow.stream import Stream
from sitegen.nightly.follow.watch import Lister, Pod, Watch, container_ids, resource_version
from sitegen.nightly.kube import NAME_RE, Kubectl, is_pod_not_found, stamp

log = logging.getLogger(__name__)

STOP_WAIT_S = 5.0


class Follower:
    """The main loop: pod events and stream ends come through one queue; decisions are made here only."""

    def __init__(self, options: FollowOptions, kubectl: Kubectl, stop: threading.Event, clock: Callable[[], float]):
        self.options = options
        self.out = Path(options.out)
        self.kubectl = kubectl
        self.stop = stop
        self.clock = clock
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.pods: dict[str, Pod] = {}
        self.instances: dict[str, Instance] = {}
        self.finished: set[str] = set()  # instance keys an earlier run already read to the end
        self.numbers: dict[tuple[str, str], set[int]] = {}  # (uid, container) -> restart numbers known
        self.streams: set[Stream] = set()
        self.watch: Watch | None = None
        self.watch_retry_at: float | None = None
        self.watch_delay = 0.0
        self.lister: Lister | None = None
        self.resync_again = False  # a list is wanted that starts after the running one
        self.next_resync = 0.0
        self.told: set[str] = set()
        self.store = Store(options, clock, self.events, self.instances, self.finished, self.numbers)

    def now_ns(self) -> int:
        return self.store.now_ns()

    # --- what the streams call (from their threads) ---------------------------------------

    @property
    def keep_from_ns(self) -> int:
        """Lines stamped before this belong to no night still written."""
        return self.store.keep_from_ns

    def write(self, inst: Instance, ns: int | None, line: bytes) -> bool:
        return self.store.write(inst, ns, line)

    def flush(self, inst: Instance) -> None:
        self.store.flush(inst)

    # --- lifecycle ----------------------------------------------------------------------

    def run(self) -> FollowResult:
        o = self.options
        self.out.mkdir(parents=True, exist_ok=True)
        self.store.version = self.kubectl.version()
        listing, problem = self.kubectl.list_pods(o.namespace, o.selector)
        if listing is None:
            where = f"context {o.context!r}" if o.context else "the current kubectl context"
            raise NoClusterError(f"cannot list pods in namespace {o.namespace!r} with {where}: {problem}")
        today = self.store.nights_of.of(self.store.started_ns)
        self.store.open_nights(today)
        log.info(
            "following the pods of namespace %s%s into %s (night %s); stop with SIGTERM or Ctrl+C",
            o.namespace, f" matching {o.selector}" if o.selector else "", self.out, today,
        )
        self._apply_list(listing, first=True)
        self.watch = Watch(self)
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
        return self.store.result()

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
        elif kind == "watch-listed":
            if payload is self.watch:
                # A watch begins with kubectl's own list, and a pod deleted before that list sends this watch no
                # DELETED event; the resync started with the watch may have listed before the deletion (it is the
                # API server's restart that ended the old watch: a pod-kill then is likely). A list from now on
                # cannot miss it.
                self._resync(after_running=True)
        elif kind == "list":
            listing, problem = payload
            self.lister = None
            if listing is None:
                self._tell(f"list:{problem}", f"cannot list the pods again ({problem}); the watch goes on", logging.WARNING)
            else:
                self._apply_list(listing)
            if self.resync_again:
                self._resync()

    def _tick(self) -> None:
        now = time.monotonic()
        self.store.roll_nights()
        self._schedule(now)
        if self.watch is None and self.watch_retry_at is not None and now >= self.watch_retry_at:
            self.watch_retry_at = None
            self.watch = Watch(self)
            self.watch.start()
            self._resync()
        if now >= self.next_resync:
            self._resync()
        self.store.save_all(force=False)

    def _resync(self, *, after_running: bool = False) -> None:
        """A full list of the pods, off the main loop; `after_running`: one that starts after a list still running."""
        self.next_resync = time.monotonic() + self.options.resync_s
        if self.lister is None:
            self.resync_again = False
            self.lister = Lister(self)
            self.lister.start()
        elif after_running:
            self.resync_again = True

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
        self.store.close(self.now_ns())
        log.info("follower stopped; manifests written")

    def _apply_list(self, listing: dict[str, Any], *, first: bool = False) -> None:
        items = [i for i in listing.get("items") or [] if isinstance(i, dict)]
        seen = set()
        for item in items:
            seen.add(str((item.get("metadata") or {}).get("uid", "")))
            self._apply_pod(item, initial=first)
        list_rv = resource_version(listing)
        for uid, pod in self.pods.items():
            if uid not in seen and not pod.deleted and (list_rv is None or pod.rv is None or pod.rv < list_rv):
                self._delete(pod)

    def _apply_pod(self, obj: dict[str, Any], *, deleted: bool = False, initial: bool = False) -> None:
        meta = obj.get("metadata") or {}
        uid, name = str(meta.get("uid", "")), str(meta.get("name", ""))
        if not uid:
            return
        rv = resource_version(obj)
        pod = self.pods.get(uid)
        if pod is not None and not deleted and (pod.deleted or (rv is not None and pod.rv is not None and rv < pod.rv)):
            return  # older news than what is known
        if pod is None:
            pod = self.pods[uid] = Pod(name, uid, obj, rv)
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

    def _apply_container(self, pod: Pod, cs: dict[str, Any], init: bool, initial: bool) -> None:
        cname = str(cs.get("name", ""))
        if not NAME_RE.match(cname):
            message = f"pod {pod.name}: container {cname!r} is not a valid Kubernetes name; not followed"
            self._tell(f"name:{pod.uid}:{cname}", message, logging.WARNING)
            return
        try:
            restarts = int(cs.get("restartCount") or 0)
        except (TypeError, ValueError):
            restarts = 0
        current, last, _state = container_ids(cs)
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

    def _ensure(self, pod: Pod, cname: str, init: bool, cid: str, number: int) -> None:
        key = f"{pod.uid}/{cname}/{cid}"
        if key in self.instances or key in self.finished:
            return
        rel = f"{pod.name}/{cname}.{pod.uid[:8]}-{number}.log"
        if any(i.rel == rel for i in self.instances.values()):
            rel = f"{pod.name}/{cname}.{pod.uid[:8]}-{number}-{cid.rsplit('/', 1)[-1][:8]}.log"
        inst = Instance(pod=pod.name, uid=pod.uid, container=cname, init=init, restart=number, cid=cid, rel=rel)
        self.instances[key] = inst
        log.info("new instance %s", inst.label)

    def _delete(self, pod: Pod) -> None:
        if pod.deleted:
            return
        pod.deleted = True
        log.info("pod %s (uid %s) deleted", pod.name, pod.uid[:8])
        for inst in self.instances.values():
            if inst.uid == pod.uid and inst.stream is None:
                inst.retry_at = time.monotonic()

    # --- deciding what to read ----------------------------------------------------------

    def _target(self, inst: Instance) -> tuple[str, bool] | None:
        """(mode, follow) for the next stream of `inst`: ("current", True) while it runs; None when unreachable."""
        pod = self.pods.get(inst.uid)
        if pod is None or pod.deleted:
            return None
        cs = pod.status_of(inst.container, inst.init)
        if cs is None:
            return None
        current, last, state = container_ids(cs)
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
                    self.store.current_night().error(message)
                continue
            inst.waiting = False
            self._open(inst, mode, follow_it)

    def _open(self, inst: Instance, mode: str, follow_it: bool) -> None:
        stream = Stream(self, inst, mode, follow_it)
        inst.stream = stream
        inst.attaches += 1
        self.store.opened += 1
        self.streams.add(stream)
        how = "following" if follow_it else "reading the previous log of" if mode == "previous" else "reading"
        if inst.attaches == 1:
            log.info("%s %s", how, inst.label)
        else:
            log.debug("%s %s again (attach %d, since %s)", how, inst.label, inst.attaches, stamp(stream.since_ns))
        stream.start()

    def _stream_ended(self, stream: Stream) -> None:
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

    def _end(self, inst: Instance) -> None:
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

    def _finish(self, inst: Instance, state: str) -> None:
        with inst.lock:
            inst.state = state
            for fh in inst.files.values():
                fh.close()
            inst.files.clear()
        log.info("%s: %s (%d line(s))", inst.label, "read to its end" if state == "done" else "lost",
                 sum(c[0] for c in inst.counts.values()))
        self.store.touch()

    def _gap(self, since_ns: int | None, until_ns: int | None, reason: str, *, inst: Instance | None = None,
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
        self.store.add_gap(gap, lo, hi)
        log.warning("gap: %s/%s: %s", gap.get("pod") or "all pods", gap.get("container") or "-", reason)

    def _watch_ended(self, watch: Watch, code: int, message: str) -> None:
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

    def _tell(self, key: str, message: str, level: int) -> None:
        """Log a message once; repeats of it go to the debug log."""
        if key in self.told:
            log.debug("%s", message)
            return
        self.told.add(key)
        log.log(level, "%s", message)


