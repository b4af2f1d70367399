"""One `kubectl logs --timestamps [-f]` stream of one container instance: its lines, resumed without loss or repeats.

A stream that ends while its container still runs (a network blip, an API server restart) is opened
again with --since-time at the last timestamp written. The API server answers from the start of that
second, so the lines already written in that second are dropped when they come again (instance.Replay).
The first line of a resumed stream must be one of them; otherwise the kubelet has moved on to the
container's next instance, and the stream stops with `mismatch` set for the loop to decide.
Lines are cut at MAX_LINE bytes, so one runaway line cannot fill memory.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import tempfile
import threading
from typing import Any, Protocol

from sitegen.nightly.follow.instance import Instance, Replay
from sitegen.nightly.follow.options import FollowOptions
from sitegen.nightly.kube import Kubectl, kubectl_message, line_time_ns, stamp

log = logging.getLogger(__name__)

MAX_LINE = 1024 * 1024  # a longer line is cut here (and counted), so one runaway line cannot fill memory
READ_BYTES = 64 * 1024


class StreamHost(Protocol):
    """What a stream needs of the follower: where to write its lines, and where to say it ended."""

    options: FollowOptions
    kubectl: Kubectl
    events: queue.Queue[tuple[str, Any]]

    @property
    def keep_from_ns(self) -> int: ...

    def write(self, inst: Instance, ns: int | None, line: bytes) -> bool: ...

    def flush(self, inst: Instance) -> None: ...


class Stream(threading.Thread):
    """One `kubectl logs` of one instance: writes its new lines, then reports how it ended."""

    def __init__(self, follower: StreamHost, inst: Instance, mode: str, follow_it: bool):
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
            self.replay = Replay(inst.tail, follower.keep_from_ns)
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

