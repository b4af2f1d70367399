"""A small Kubernetes API fake on 127.0.0.1 for the real kubectl: pods, the pod watch, streaming logs.

It serves what `kubectl get pods [--watch]` and `kubectl logs [-f] [--previous] [--since-time] --timestamps`
ask for, from a `Cluster` that a test scripts like a chaos night: pods created, containers restarted,
pods killed and recreated with a new UID, log streams cut in the middle of a line, the watch closed.

The log endpoint follows the kubelet's rules (pkg/kubelet/kubelet_pods.go validateContainerLogStatus):
the current instance is the running (or last terminated) container, `previous` is lastState.terminated,
`sinceTime` is whole seconds and inclusive, `timestamps` prefixes RFC3339 with nine fixed digits. The
kubelet's view of a container can run ahead of the pod status the API serves (`status_lag`), as on a
real node, where the status reaches the API server about a second after a restart.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import itertools
import json
import re
import select
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WAIT_STEP_S = 0.05


def rfc3339(ns: int, *, fixed: bool = True) -> str:
    """2021-07-09T01:02:03.000000123Z, nine fixed digits as the kubelet writes them."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z" if fixed else f"{base}Z"


def parse_rfc3339_seconds(text: str) -> int:
    """Whole seconds of an RFC 3339 time, as the API server reads sinceTime (fractions are dropped)."""
    moment = dt.datetime.fromisoformat(re.sub(r"\.\d+", "", text).replace("Z", "+00:00"))
    return int(moment.timestamp())


@dataclass
class Instance:
    """One run of one container: its id, number and lines (ts_ns, text)."""

    cid: str
    number: int
    started_ns: int
    lines: list[tuple[int, str]] = field(default_factory=list)
    running: bool = True
    finished_ns: int | None = None
    exit_code: int = 0


@dataclass
class Container:
    name: str
    init: bool
    instances: list[Instance] = field(default_factory=list)  # oldest first

    @property
    def current(self) -> Instance:
        return self.instances[-1]


@dataclass
class Pod:
    name: str
    uid: str
    labels: dict[str, str]
    containers: dict[str, Container]
    node: str = "node-1"
    deleting: bool = False
    status: dict[str, Any] = field(default_factory=dict)  # what the API serves (may lag the kubelet)


class Cluster:
    """The state a night script changes and the HTTP handler serves; every method is thread-safe."""

    def __init__(self, namespace: str = "tidb-cluster", clock: Callable[[], int] | None = None):
        self.namespace = namespace
        self.cond = threading.Condition()
        self.clock = clock or time.time_ns
        self.rv = 1000
        self.pods: dict[str, Pod] = {}  # by name: the pod that now has that name
        self.events: list[tuple[int, str, dict[str, Any]]] = []  # (resourceVersion, type, object)
        self.watch_generation = 0
        self.closing = False
        self.requests: list[str] = []
        self.forbidden_logs: set[str] = set()  # pod names whose log endpoint answers 403
        # Callables, each run once by the next pod list request: before its answer is made, and after it is sent.
        self.before_list: list[Any] = []
        self.after_list: list[Any] = []
        self.cut_next: set[str] = set()  # container ids whose open streams break in the next line they send
        self.written: list[tuple[str, str, int, str, str]] = []  # (pod, uid, container number, cid, line)
        self.every: list[tuple[Pod, Container, Instance]] = []  # every instance ever run, deleted pods' too
        self.open_streams = 0
        self._ids = itertools.count(1)
        self._last_ns = 0

    # --- scripting -------------------------------------------------------------------------

    def now_ns(self) -> int:
        with self.cond:
            ns = max(self.clock(), self._last_ns + 1000)
            self._last_ns = ns
            return ns

    def add_pod(self, name: str, containers: list[str], init: list[str] = (), labels: dict[str, str] | None = None) -> str:
        """Create a running pod (init containers already done); returns its UID."""
        with self.cond:
            uid = f"{next(self._ids):08x}-0000-4000-8000-{next(self._ids):012x}"
            cs = {c: Container(c, True) for c in init} | {c: Container(c, False) for c in containers}
            pod = Pod(name, uid, labels or {"app.kubernetes.io/instance": "basic"}, cs)
            for c in pod.containers.values():
                self._start(pod, c, 0)
            self.pods[name] = pod
            pod.status = self._status(pod)
            self._event("ADDED", pod)
            return uid

    def log(self, pod: str, container: str, text: str, *, same_time_as_last: bool = False) -> str:
        """The pod's container writes one line; returns the line with its kubelet timestamp."""
        with self.cond:
            p = self.pods[pod]
            inst = p.containers[container].current
            assert inst.running, f"{pod}/{container} is not running"
            ns = inst.lines[-1][0] if same_time_as_last and inst.lines else self.now_ns()
            inst.lines.append((ns, text))
            self.written.append((pod, p.uid, inst.number, inst.cid, f"{rfc3339(ns)} {text}"))
            self.cond.notify_all()
            return f"{rfc3339(ns)} {text}"

    def finish_init(self, pod: str, container: str) -> None:
        """An init container exits 0."""
        with self.cond:
            p = self.pods[pod]
            inst = p.containers[container].current
            inst.running, inst.finished_ns = False, self.now_ns()
            p.status = self._status(p)
            self._event("MODIFIED", p)
            self.cond.notify_all()

    def restart(self, pod: str, container: str, *, status_lag: float = 0.0) -> None:
        """The container is killed (exit 137) and the kubelet starts its next instance.

        The log endpoint sees the new instance at once; the pod status shows it `status_lag` seconds later.
        """
        with self.cond:
            p = self.pods[pod]
            c = p.containers[container]
            old = c.current
            old.running, old.finished_ns, old.exit_code = False, self.now_ns(), 137
            if status_lag == 0:
                p.status = self._status(p)  # first the terminated state, as the kubelet reports it
                self._event("MODIFIED", p)
            self._start(p, c, old.number + 1)
            self.cond.notify_all()
        if status_lag:
            time.sleep(status_lag)
        with self.cond:
            p.status = self._status(p)
            self._event("MODIFIED", p)
            self.cond.notify_all()

    def kill(self, pod: str) -> None:
        """PodChaos pod-kill: the pod is deleted; its containers end and it goes away with its logs."""
        with self.cond:
            p = self.pods[pod]
            p.deleting = True
            for c in p.containers.values():
                if c.current.running:
                    c.current.running, c.current.finished_ns, c.current.exit_code = False, self.now_ns(), 137
            p.status = self._status(p)
            self._event("MODIFIED", p)
            self.cond.notify_all()
        time.sleep(0.05)
        with self.cond:
            del self.pods[pod]
            self._event("DELETED", p)
            self.cond.notify_all()

    def cut(self, pod: str, container: str) -> None:
        """Open log streams of this container break in the middle of the next line they send."""
        with self.cond:
            self.cut_next.add(self.pods[pod].containers[container].current.cid)

    def run_once(self, actions: list[Any]) -> None:
        """Take every action waiting in `actions` and run it, outside the lock (an action may kill a pod)."""
        with self.cond:
            todo, actions[:] = list(actions), []
        for action in todo:
            action()

    def close_watches(self) -> None:
        """The API server restarts: every open watch ends."""
        with self.cond:
            self.watch_generation += 1
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()

    def lines_of(self, cid: str) -> list[str]:
        return [line for *_rest, c, line in self.written if c == cid]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no log stream is open (a follower that stopped closed all of them)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.open_streams and time.monotonic() < deadline:
                self.cond.wait(WAIT_STEP_S)
            return not self.open_streams

    # --- API objects -----------------------------------------------------------------------

    def _start(self, pod: Pod, c: Container, number: int) -> None:
        inst = Instance(self._cid(), number, self.now_ns())
        c.instances.append(inst)
        self.every.append((pod, c, inst))

    def _cid(self) -> str:
        return f"containerd://{next(self._ids):064x}"

    def _status(self, p: Pod) -> dict[str, Any]:
        def one(c: Container) -> dict[str, Any]:
            cur = c.current
            if cur.running and not p.deleting:
                state = {"running": {"startedAt": rfc3339(cur.started_ns, fixed=False)}}
            else:
                state = {"terminated": {"exitCode": cur.exit_code, "reason": "Completed" if cur.exit_code == 0 else "Error",
                                        "startedAt": rfc3339(cur.started_ns, fixed=False),
                                        "finishedAt": rfc3339(cur.finished_ns or self.clock(), fixed=False),
                                        "containerID": cur.cid}}
            last: dict[str, Any] = {}
            if len(c.instances) > 1:
                prev = c.instances[-2]
                last = {"terminated": {"exitCode": prev.exit_code, "reason": "Error",
                                       "startedAt": rfc3339(prev.started_ns, fixed=False),
                                       "finishedAt": rfc3339(prev.finished_ns or 0, fixed=False), "containerID": prev.cid}}
            return {"name": c.name, "ready": cur.running, "restartCount": cur.number, "image": f"pingcap/{c.name}:v5.1.0",
                    "imageID": "", "containerID": cur.cid, "started": cur.running, "state": state, "lastState": last}

        return {
            "phase": "Running",
            "podIP": "10.0.0.1",
            "initContainerStatuses": [one(c) for c in p.containers.values() if c.init],
            "containerStatuses": [one(c) for c in p.containers.values() if not c.init],
        }

    def _object(self, p: Pod, rv: int) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": p.name, "namespace": self.namespace, "uid": p.uid, "resourceVersion": str(rv),
                                "labels": dict(p.labels), "creationTimestamp": "2021-07-08T06:00:00Z"}
        if p.deleting:
            meta["deletionTimestamp"] = rfc3339(self.clock(), fixed=False)
        spec = {
            "nodeName": p.node,
            "initContainers": [{"name": c.name, "image": f"pingcap/{c.name}"} for c in p.containers.values() if c.init],
            "containers": [{"name": c.name, "image": f"pingcap/{c.name}"} for c in p.containers.values() if not c.init],
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": json.loads(json.dumps(p.status))}

    def _event(self, kind: str, p: Pod) -> None:
        self.rv += 1
        self.events.append((self.rv, kind, self._object(p, self.rv)))
        self.cond.notify_all()

    def current_objects(self, selector: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
        with self.cond:
            latest: dict[str, dict[str, Any]] = {}
            for _rv, kind, obj in self.events:
                if kind == "DELETED":
                    latest.pop(obj["metadata"]["uid"], None)
                else:
                    latest[obj["metadata"]["uid"]] = obj
            items = [o for o in latest.values() if _matches(o, selector)]
            return self.rv, sorted(items, key=lambda o: o["metadata"]["name"])


def _matches(obj: dict[str, Any], selector: dict[str, str]) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _selector(text: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in text.split(",") if part]
    return {k.rstrip("="): v for k, v in pairs}


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


RESOURCES = {
    "kind": "APIResourceList", "groupVersion": "v1",
    "resources": [
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "shortNames": ["po"],
         "verbs": ["get", "list", "watch"]},
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
    ],
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster: Cluster  # set on the subclass made by `serve`

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        c = self.cluster
        with c.cond:
            c.requests.append(self.path)
        parts = [p for p in url.path.split("/") if p]
        if url.path == "/api":
            return self._json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if url.path == "/apis":
            return self._json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        if url.path == "/api/v1":
            return self._json(200, RESOURCES)
        if url.path == "/version":
            return self._json(200, {"major": "1", "minor": "21", "gitVersion": "v1.21.2-fake", "platform": "linux/amd64"})
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 4:
            # kubectl asks whether the namespace exists after a NotFound inside it
            if parts[3] == c.namespace:
                return self._json(200, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": c.namespace}})
            return self._json(404, _status(404, "NotFound", f'namespaces "{parts[3]}" not found'))
        if parts[:3] != ["api", "v1", "namespaces"] or len(parts) < 5 or parts[4] != "pods":
            return self._json(404, _status(404, "NotFound", "the server could not find the requested resource"))
        if parts[3] != c.namespace:
            if len(parts) == 5:
                empty = {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(c.rv)}, "items": []}
                return self._json(200, empty)
            return self._json(404, _status(404, "NotFound", f'pods "{parts[5]}" not found'))
        if len(parts) == 5:
            if query.get("watch") in ("true", "1"):
                return self._watch(query)
            c.run_once(c.before_list)
            rv, items = c.current_objects(_selector(query.get("labelSelector", "")))
            self._json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)}, "items": items})
            c.run_once(c.after_list)
            return None
        name = parts[5]
        with c.cond:
            pod = c.pods.get(name)
            obj = c._object(pod, c.rv) if pod else None
        if pod is None:
            return self._json(404, _status(404, "NotFound", f'pods "{name}" not found'))
        if len(parts) == 6:
            return self._json(200, obj)
        if len(parts) == 7 and parts[6] == "log":
            return self._logs(pod, query)
        return self._json(404, _status(404, "NotFound", "the server could not find the requested resource"))

    # --- responses -------------------------------------------------------------------------

    def _json(self, code: int, obj: dict[str, Any]) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_chunks(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _break(self) -> None:
        """Drop the connection without ending the chunked body: the client sees a stream cut short."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _client_gone(self) -> bool:
        """The client closed the connection (kubectl was stopped): readable, and nothing to read."""
        readable, _w, _x = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _watch(self, query: dict[str, str]) -> None:
        c = self.cluster
        selector = _selector(query.get("labelSelector", ""))
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + float(query["timeoutSeconds"]) if "timeoutSeconds" in query else None
        with c.cond:
            generation = c.watch_generation
        self._start_chunks("application/json")
        sent = since
        try:
            while True:
                with c.cond:
                    batch = [(rv, k, o) for rv, k, o in c.events if rv > sent]
                    if not batch:
                        if c.closing or c.watch_generation != generation or (deadline and time.monotonic() > deadline):
                            break
                        c.cond.wait(WAIT_STEP_S)
                        if self._client_gone():
                            return
                        continue
                for rv, kind, obj in batch:
                    sent = rv
                    if _matches(obj, selector):
                        self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
            self._end_chunks()
        except OSError:
            pass

    def _logs(self, pod: Pod, query: dict[str, str]) -> None:
        c = self.cluster
        name = query.get("container")
        with c.cond:
            if pod.name in c.forbidden_logs:
                return self._json(403, _status(403, "Forbidden", f'pods "{pod.name}" is forbidden: User '
                                  '"system:serviceaccount:tidb-cluster:sitegen-follow" cannot get resource "pods/log"'))
            if name is None:
                if len(pod.containers) != 1:
                    names = " ".join(k for k, v in pod.containers.items() if not v.init)
                    message = f"a container name must be specified for pod {pod.name}, choose one of: [{names}]"
                    return self._json(400, _status(400, "BadRequest", message))
                name = next(iter(pod.containers))
            container = pod.containers.get(name)
            if container is None:
                return self._json(400, _status(400, "BadRequest", f"container {name} is not valid for pod {pod.name}"))
            if query.get("previous") == "true":
                if len(container.instances) < 2:
                    return self._json(400, _status(400, "BadRequest",
                                      f'previous terminated container "{name}" in pod "{pod.name}" not found'))
                inst = container.instances[-2]
            else:
                inst = container.current
        since_ns = parse_rfc3339_seconds(query["sinceTime"]) * 1_000_000_000 if "sinceTime" in query else None
        if "sinceSeconds" in query:
            since_ns = c.clock() - int(query["sinceSeconds"]) * 1_000_000_000
        follow = query.get("follow") == "true"
        stamps = query.get("timestamps") == "true"
        self._start_chunks("text/plain")
        sent = 0
        with c.cond:
            c.open_streams += 1
        try:
            while True:
                with c.cond:
                    batch = inst.lines[sent:]
                    if not batch:
                        if c.closing or not follow or not inst.running:
                            break
                        c.cond.wait(WAIT_STEP_S)
                        if self._client_gone():
                            return
                        continue
                    cut = inst.cid in c.cut_next
                    c.cut_next.discard(inst.cid)
                for ns, text in batch:
                    sent += 1
                    if since_ns is not None and ns < since_ns:
                        continue
                    line = (f"{rfc3339(ns)} {text}\n" if stamps else f"{text}\n").encode()
                    if cut:
                        self._chunk(line[: len(line) // 2])
                        return self._break()
                    self._chunk(line)
            self._end_chunks()
        except OSError:
            pass
        finally:
            with c.cond:
                c.open_streams -= 1
                c.cond.notify_all()


@dataclass
class Server:
    """A running fake: its cluster, URL and the kubeconfig pointing kubectl at it."""

    cluster: Cluster
    url: str
    kubeconfig: Path
    httpd: http.server.ThreadingHTTPServer

    def close(self) -> None:
        self.cluster.stop()
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # kubectl hanging up mid-stream is what the tests do on purpose


def serve(cluster: Cluster, folder: Path) -> Server:
    """Start the fake on 127.0.0.1 (a free port) and write `folder/kubeconfig` for it."""
    handler = type("BoundHandler", (Handler,), {"cluster": cluster})
    httpd = _Quiet(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: fake\n  cluster:\n    server: {url}\n"
        f"contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {cluster.namespace}\n"
        "current-context: fake\n"
        "users:\n- name: fake\n  user: {}\n"
    )
    return Server(cluster, url, kubeconfig, httpd)
