"""Collect a namespace's pod logs with kubectl once: one file per container, plus a manifest of what happened.

Containers that restarted also get their previous instance's log (`--previous`). Older instances, and
every instance of a pod that was deleted and recreated, are gone by the time this runs: `follow.py`
keeps them by streaming through the night. Partial results are always kept, and are not an error:
`CollectResult.partial` says so. A cluster that cannot be reached raises NoClusterError.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.errors import NoClusterError
from sitegen.grammar import since_problem
from sitegen.nightly.kube import (
    NAME_RE,
    Kubectl,
    check_target,
    containers,
    find_kubectl,
    is_pod_not_found,
    kubectl_message,
    raise_problems,
)
from sitegen.nightly.manifest import MANIFEST_NAME, MANIFEST_SCHEMA, load_manifest, write_manifest

log = logging.getLogger(__name__)

LOGS_TIMEOUT_S = 600


@dataclass
class CollectResult:
    """What collect did: whether it is partial, lines for the user, and the manifest written to disk."""

    partial: bool  # some pods or containers could not be read, or no pod matched; what was read is kept
    messages: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def _check_args(namespace: str, out: Path, since: str, context: str | None, selector: str | None) -> None:
    problems = check_target(namespace, context, selector)
    if problem := since_problem(since or ""):
        problems.append(f"--since {problem}")
    if out.exists() and not out.is_dir():
        problems.append(f"--out {out}: exists and is not a folder")
    elif (load_manifest(out) or {}).get("mode") == "follow":
        # Its instance files already hold these lines: a second copy would count every one twice.
        problems.append(f"--out {out}: holds the logs `sitegen collect --follow` keeps; collect into another folder")
    raise_problems(problems)


class _Collector:
    """Runs the kubectl calls of one collection."""

    def __init__(self, kubectl: Kubectl, namespace: str, out: Path, since: str):
        self.kubectl = kubectl
        self.namespace = namespace
        self.out = out
        self.since = since

    def fetch_log(self, pod: str, container: str, previous: bool) -> tuple[str | None, str | None]:
        """(relative file written or None, error or None) for one container's log."""
        rel = f"{pod}/{container}.previous.log" if previous else f"{pod}/{container}.log"
        target = self.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        args = ["logs", "--timestamps", f"--since={self.since}", "-n", self.namespace, pod, "-c", container]
        if previous:
            args.append("--previous")
        run = self.kubectl.run(args, timeout=LOGS_TIMEOUT_S, stdout_path=part)
        size = part.stat().st_size if part.exists() else 0
        if run.returncode == 0 or size > 0:
            # A stream cut short still holds lines worth reading; keep them and say so.
            os.replace(part, target)
            if run.returncode != 0:
                return rel, f"incomplete: {kubectl_message(run.stderr)}"
            return rel, None
        part.unlink(missing_ok=True)
        return None, kubectl_message(run.stderr)


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
    kubectl = Kubectl(find_kubectl(), context or None)
    out.mkdir(parents=True, exist_ok=True)
    collector = _Collector(kubectl, namespace, out, since)
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "mode": "once",
        "namespace": namespace,
        "context": context or "",
        "selector": selector or "",
        "since": since,
        "started": _now(),
        "kubectl": kubectl.version(),
        "pods": [],
        "errors": [],
    }
    messages: list[str] = []

    def finish(outcome: str) -> None:
        manifest.update(finished=_now(), outcome=outcome, commands=kubectl.commands)
        write_manifest(out, manifest)
        messages.append(f"manifest: {out / MANIFEST_NAME}")

    listing, problem = kubectl.list_pods(namespace, selector or None)
    items = listing["items"] if listing is not None else None
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
            "containers": containers(item),
            "errors": [],
        }
        manifest["pods"].append(pod)
        if not NAME_RE.match(name) or any(not NAME_RE.match(c["name"]) for c in pod["containers"]):
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
                if is_pod_not_found(error, name):
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
