"""What `collect` and `collect --follow` share about kubectl: finding it, its messages, names, pod specs, timestamps."""

from __future__ import annotations

import calendar
import json
import logging
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from sitegen.errors import MissingToolError, UsageError
from sitegen.grammar import namespace_problem

log = logging.getLogger(__name__)

# Kubernetes names are DNS labels/subdomains; anything else must not become a path.
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# kubectl prints klog lines (E1125 19:13:49.661177 8761 memcache.go:265] ...) before its real message.
_KLOG_RE = re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ \S+:\d+\] ")
# The stamp `kubectl logs --timestamps` puts before each line (RFC 3339, nine digits from the kubelet).
_STAMP_RE = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ")

GET_TIMEOUT_S = 120


def find_kubectl() -> str:
    """The kubectl on PATH, or a MissingToolError saying how to fix it."""
    path = shutil.which("kubectl")
    if path is None:
        raise MissingToolError(
            "kubectl was not found on PATH; install kubectl (the Kubernetes command-line tool) "
            "or add the folder holding it to PATH"
        )
    return path


def kubectl_message(stderr: str) -> str:
    """kubectl's own one-line explanation, without the klog noise it prints before it."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    plain = [line for line in lines if not _KLOG_RE.match(line)]
    if plain:
        return plain[-1]
    return lines[-1] if lines else "no message from kubectl"


def is_pod_not_found(message: str, pod: str) -> bool:
    """kubectl's answer when the pod no longer exists (1.20: `pods "x" not found`; 1.32 adds `in namespace`)."""
    return "(NotFound)" in message and f'pods "{pod}" not found' in message


def check_target(namespace: str, context: str | None, selector: str | None) -> list[str]:
    """Problems with the namespace, context and selector flags, as `--flag 'value': why` lines."""
    problems = []
    if problem := namespace_problem(namespace):
        problems.append(f"--namespace {problem}")
    if context is not None and (not context.strip() or context.startswith("-")):
        problems.append(f"--context {context!r}: not a kubectl context name")
    if selector is not None and (not selector.strip() or selector.startswith("-")):
        problems.append(f"--selector {selector!r}: not a label selector (for example app=tidb)")
    return problems


def raise_problems(problems: list[str]) -> None:
    if problems:
        raise UsageError("; ".join(problems))


@dataclass
class Run:
    """One finished kubectl call."""

    returncode: int
    stdout: bytes
    stderr: str
    seconds: float


class Kubectl:
    """kubectl with the context flag; every call is kept (argv, exit status, time) for the manifest."""

    def __init__(self, path: str, context: str | None, *, keep: int | None = None):
        self.path = path
        self.context = context
        self.commands: list[dict[str, Any]] = []
        self.keep = keep  # the follower runs for days: it keeps only the newest calls

    def argv(self, args: list[str]) -> list[str]:
        return [self.path, *(["--context", self.context] if self.context else []), *args]

    def record(self, argv: list[str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"argv": ["kubectl", *argv[1:]]}
        self.commands.append(entry)
        if self.keep is not None and len(self.commands) > self.keep:
            del self.commands[: len(self.commands) - self.keep]
        return entry

    def run(self, args: list[str], *, timeout: float, stdout_path: Any = None) -> Run:
        """Run kubectl; stdout goes to a file when given (logs can be large), else is captured."""
        argv = self.argv(args)
        log.debug("running kubectl %s", " ".join(argv[1:]))
        started = time.monotonic()
        entry = self.record(argv)
        try:
            if stdout_path is not None:
                with open(stdout_path, "wb") as sink:
                    proc = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, timeout=timeout, check=False)
                out = b""
            else:
                proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
                out = proc.stdout
            result = Run(proc.returncode, out, proc.stderr.decode("utf-8", "replace"), time.monotonic() - started)
        except subprocess.TimeoutExpired:
            result = Run(-1, b"", f"kubectl timed out after {timeout:g} s", time.monotonic() - started)
        except OSError as exc:
            result = Run(-1, b"", f"cannot run kubectl: {exc}", time.monotonic() - started)
        entry.update(exit_code=result.returncode, seconds=round(result.seconds, 3))
        if result.returncode != 0:
            entry["error"] = kubectl_message(result.stderr)
        return result

    def version(self) -> dict[str, Any]:
        run = self.run(["version", "--client", "-o", "json"], timeout=GET_TIMEOUT_S)
        if run.returncode != 0:
            return {"path": self.path, "error": kubectl_message(run.stderr)}
        try:
            client = json.loads(run.stdout).get("clientVersion", {})
        except (ValueError, AttributeError):
            return {"path": self.path, "error": "kubectl version printed something that is not JSON"}
        return {"path": self.path, "version": client.get("gitVersion", ""), "client": client}

    def list_pods(self, namespace: str, selector: str | None) -> tuple[dict[str, Any] | None, str]:
        """(the PodList, "") or (None, kubectl's reason)."""
        args = ["get", "pods", "-n", namespace, *(["-l", selector] if selector else []), "-o", "json"]
        run = self.run(args, timeout=GET_TIMEOUT_S)
        if run.returncode != 0:
            return None, kubectl_message(run.stderr)
        try:
            listing = json.loads(run.stdout)
            if not isinstance(listing.get("items"), list):
                raise TypeError
        except (ValueError, AttributeError, TypeError):
            return None, "kubectl get pods did not print a JSON pod list"
        return listing, ""


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (init and regular) container of a pod with its restart count."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    restarts = {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            restarts[cs.get("name")] = int(cs.get("restartCount") or 0)
    found = []
    for key, init in (("initContainers", True), ("containers", False)):
        for c in spec.get(key) or []:
            name = c.get("name", "")
            found.append({"name": name, "init": init, "restart_count": restarts.get(name, 0), "files": [], "errors": []})
    return found


def line_time_ns(line: bytes) -> int | None:
    """Nanoseconds since the epoch of the stamp `kubectl logs --timestamps` put before `line`; None without one."""
    m = _STAMP_RE.match(line)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if zone != b"Z":
        sign = 1 if zone[:1] == b"+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    nanos = int(frac.ljust(9, b"0")) if frac else 0
    return seconds * 1_000_000_000 + nanos


def stamp(ns: int) -> str:
    """An RFC 3339 time with nine digits, as kubectl takes it for --since-time and the manifest shows it."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"
