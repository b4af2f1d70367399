"""Collect a namespace's pod logs with kubectl: one file per container, plus a manifest of what happened.

Containers that restarted also get their previous instance's log (`--previous`): a pod killed by
PodChaos otherwise takes the logs of its crash with it. Partial results are always kept, and are not
an error: `CollectResult.partial` says so. A cluster that cannot be reached raises NoClusterError.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.errors import MissingToolError, NoClusterError, UsageError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = 2  # 2: `outcome` replaced `exit_code`; exit codes belong to the command line

# Kubernetes names are DNS labels/subdomains; anything else must not become a path.
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SINCE_RE = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
# kubectl prints klog lines (E1125 19:13:49.661177 8761 memcache.go:265] ...) before its real message.
_KLOG_RE = re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ \S+:\d+\] ")

GET_TIMEOUT_S = 120
LOGS_TIMEOUT_S = 600


@dataclass
class CollectResult:
    """What collect did: whether it is partial, lines for the user, and the manifest written to disk."""

    partial: bool  # some pods or containers could not be read, or no pod matched; what was read is kept
    messages: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Run:
    """One finished kubectl call."""

    returncode: int
    stdout: bytes
    stderr: str
    seconds: float


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


def _check_args(namespace: str, out: Path, since: str, context: str | None, selector: str | None) -> None:
    problems = []
    if not namespace or not _NAMESPACE_RE.match(namespace):
        problems.append(f"--namespace {namespace!r}: not a Kubernetes namespace name (lower-case letters, digits and '-')")
    if not _SINCE_RE.match(since or ""):
        problems.append(f"--since {since!r}: expected a duration such as 24h, 90m or 1h30m")
    if context is not None and (not context.strip() or context.startswith("-")):
        problems.append(f"--context {context!r}: not a kubectl context name")
    if selector is not None and (not selector.strip() or selector.startswith("-")):
        problems.append(f"--selector {selector!r}: not a label selector (for example app=tidb)")
    if out.exists() and not out.is_dir():
        problems.append(f"--out {out}: exists and is not a folder")
    if problems:
        raise UsageError("; ".join(problems))


class _Collector:
    """Runs the kubectl calls of one collection and keeps the manifest up to date."""

    def __init__(self, kubectl: str, namespace: str, out: Path, context: str | None, selector: str | None, since: str):
        self.kubectl = kubectl
        self.namespace = namespace
        self.out = out
        self.context = context
        self.selector = selector
        self.since = since
        self.commands: list[dict[str, Any]] = []

    def _base(self) -> list[str]:
        return [self.kubectl, *(["--context", self.context] if self.context else [])]

    def run(self, args: list[str], *, timeout: float, stdout_path: Path | None = None) -> _Run:
        """Run kubectl; stdout goes to a file when given (logs can be large), else is captured."""
        argv = self._base() + args
        log.debug("running kubectl %s", " ".join(argv[1:]))
        started = time.monotonic()
        record: dict[str, Any] = {"argv": ["kubectl", *argv[1:]]}
        self.commands.append(record)
        try:
            if stdout_path is not None:
                with open(stdout_path, "wb") as sink:
                    proc = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, timeout=timeout, check=False)
                out = b""
            else:
                proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
                out = proc.stdout
            result = _Run(proc.returncode, out, proc.stderr.decode("utf-8", "replace"), time.monotonic() - started)
        except subprocess.TimeoutExpired:
            result = _Run(-1, b"", f"kubectl timed out after {timeout:g} s", time.monotonic() - started)
        except OSError as exc:
            result = _Run(-1, b"", f"cannot run kubectl: {exc}", time.monotonic() - started)
        record.update(exit_code=result.returncode, seconds=round(result.seconds, 3))
        if result.returncode != 0:
            record["error"] = kubectl_message(result.stderr)
        return result

    def version(self) -> dict[str, Any]:
        run = self.run(["version", "--client", "-o", "json"], timeout=GET_TIMEOUT_S)
        if run.returncode != 0:
            return {"path": self.kubectl, "error": kubectl_message(run.stderr)}
        try:
            client = json.loads(run.stdout).get("clientVersion", {})
        except (ValueError, AttributeError):
            return {"path": self.kubectl, "error": "kubectl version printed something that is not JSON"}
        return {"path": self.kubectl, "version": client.get("gitVersion", ""), "client": client}

    def list_pods(self) -> tuple[list[dict[str, Any]] | None, str]:
        args = ["get", "pods", "-n", self.namespace, *(["-l", self.selector] if self.selector else []), "-o", "json"]
        run = self.run(args, timeout=GET_TIMEOUT_S)
        if run.returncode != 0:
            return None, kubectl_message(run.stderr)
        try:
            items = json.loads(run.stdout)["items"]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return None, "kubectl get pods did not print a JSON pod list"
        return items, ""

    def fetch_log(self, pod: str, container: str, previous: bool) -> tuple[str | None, str | None]:
        """(relative file written or None, error or None) for one container's log."""
        rel = f"{pod}/{container}.previous.log" if previous else f"{pod}/{container}.log"
        target = self.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        args = ["logs", "--timestamps", f"--since={self.since}", "-n", self.namespace, pod, "-c", container]
        if previous:
            args.append("--previous")
        run = self.run(args, timeout=LOGS_TIMEOUT_S, stdout_path=part)
        size = part.stat().st_size if part.exists() else 0
        if run.returncode == 0 or size > 0:
            # A stream cut short still holds lines worth reading; keep them and say so.
            os.replace(part, target)
            if run.returncode != 0:
                return rel, f"incomplete: {kubectl_message(run.stderr)}"
            return rel, None
        part.unlink(missing_ok=True)
        return None, kubectl_message(run.stderr)


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
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


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def collect(
    namespace: str,
    out: Path,
    context: str | None = None,
    selector: str | None = None,
    since: str = "24h",
) -> CollectResult:
    """Collect the logs of every container of every pod in `namespace` into `out`, with manifest.json."""
    out = Path(out)
    _check_args(namespace, out, since, context, selector)
    kubectl = find_kubectl()
    out.mkdir(parents=True, exist_ok=True)
    collector = _Collector(kubectl, namespace, out, context or None, selector or None, since)
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "namespace": namespace,
        "context": context or "",
        "selector": selector or "",
        "since": since,
        "started": _now(),
        "kubectl": collector.version(),
        "pods": [],
        "errors": [],
    }
    messages: list[str] = []

    def finish(outcome: str) -> None:
        manifest.update(finished=_now(), outcome=outcome, commands=collector.commands)
        _write_json(out / MANIFEST_NAME, manifest)
        messages.append(f"manifest: {out / MANIFEST_NAME}")

    items, problem = collector.list_pods()
    if items is None:
        where = f"context {context!r}" if context else "the current kubectl context"
        message = f"cannot list pods in namespace {namespace!r} with {where}: {problem}"
        manifest["errors"].append(message)
        finish("unreachable")
        raise NoClusterError(message)

    files = 0
    failed_pods = 0
    for item in sorted(items, key=lambda p: (p.get("metadata") or {}).get("name", "")):
        meta = item.get("metadata") or {}
        name = meta.get("name", "")
        pod: dict[str, Any] = {
            "name": name,
            "phase": (item.get("status") or {}).get("phase", ""),
            "node": (item.get("spec") or {}).get("nodeName", ""),
            "status": "ok",
            "containers": _containers(item),
            "errors": [],
        }
        manifest["pods"].append(pod)
        if not _NAME_RE.match(name) or any(not _NAME_RE.match(c["name"]) for c in pod["containers"]):
            pod["status"] = "failed"
            pod["errors"].append("pod or container name is not a valid Kubernetes name; skipped")
            failed_pods += 1
            messages.append(f"pod {name!r}: skipped, its name is not a valid Kubernetes name")
            continue
        for container in pod["containers"]:
            if pod["status"] == "vanished":
                break
            fetches = [False, True] if container["restart_count"] > 0 else [False]
            for previous in fetches:
                rel, error = collector.fetch_log(name, container["name"], previous)
                if rel:
                    container["files"].append(rel)
                    files += 1
                if error is None:
                    continue
                which = "previous log" if previous else "log"
                container["errors"].append(f"{which}: {error}")
                if "(NotFound)" in error and f'pods "{name}" not found' in error:
                    pod["status"] = "vanished"
                    pod["errors"].append(f"pod vanished during collection: {error}")
                    break
                if pod["status"] == "ok":
                    pod["status"] = "partial"
        if pod["status"] != "ok":
            failed_pods += 1
            problems = pod["errors"] or [f"{c['name']} {e}" for c in pod["containers"] for e in c["errors"]]
            message = f"pod {name}: {pod['status']}: " + "; ".join(problems)
            messages.append(message)

    if not items:
        message = f"no pods found in namespace {namespace!r}" + (f" matching {selector!r}" if selector else "")
        manifest["errors"].append(message)
        messages.append(message)
        messages.append(f"collected 0 files into {out}")
        finish("partial")
        return CollectResult(True, messages, manifest)
    problems = f"; {failed_pods} pod(s) with problems" if failed_pods else ""
    messages.append(f"collected {files} file(s) from {len(items)} pod(s) into {out}{problems}")
    finish("partial" if failed_pods else "ok")
    return CollectResult(bool(failed_pods), messages, manifest)
