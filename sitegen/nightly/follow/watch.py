"""What the cluster says about the pods: `kubectl get pods --watch`, a full list now and then, and the pod records.

Both run in their own thread and only put what they read on the follower's queue; the loop decides.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from sitegen.nightly.follow.options import FollowOptions
from sitegen.nightly.kube import Kubectl, kubectl_message

log = logging.getLogger(__name__)

READ_BYTES = 64 * 1024
MAX_WATCH_OBJECT = 16 * 1024 * 1024  # one pod as JSON; far more than any real pod


class WatchHost(Protocol):
    """What the watch and the lister need of the follower: the cluster to ask, and the queue to answer into."""

    options: FollowOptions
    kubectl: Kubectl
    events: queue.Queue[tuple[str, Any]]


@dataclass(eq=False)
class Pod:
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


def resource_version(obj: dict[str, Any]) -> int | None:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion"))
    except (TypeError, ValueError):
        return None


def container_ids(cs: dict[str, Any]) -> tuple[str, str, str]:
    """(current container ID, last terminated container ID, state) of a container status."""
    state = cs.get("state") or {}
    kind = "running" if state.get("running") is not None else "terminated" if state.get("terminated") is not None else "waiting"
    current = str(cs.get("containerID") or "") if kind != "waiting" else ""
    last = str(((cs.get("lastState") or {}).get("terminated") or {}).get("containerID") or "")
    return current, last, kind



class Watch(threading.Thread):
    """`kubectl get pods --watch`: each event goes to the follower's queue; its end too."""

    def __init__(self, follower: WatchHost):
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
                    if self.events_seen == 1:  # kubectl has listed the pods and watches from that list on
                        self.follower.events.put(("watch-listed", self))
            if len(text) > MAX_WATCH_OBJECT:
                return f"kubectl printed more than {MAX_WATCH_OBJECT} bytes that are not one JSON object"


class Lister(threading.Thread):
    """One `kubectl get pods -o json` off the main loop (a resync); the list goes to the queue."""

    def __init__(self, follower: WatchHost):
        super().__init__(name="pod list", daemon=True)
        self.follower = follower

    def run(self) -> None:
        f = self.follower
        try:
            listing, problem = f.kubectl.list_pods(f.options.namespace, f.options.selector)
        except Exception as exc:
            listing, problem = None, f"internal error: {exc}"
        f.events.put(("list", (listing, problem)))

