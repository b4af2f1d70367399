"""`sitegen collect --follow`: keep every container instance's log through the night, even when chaos kills the pod.

A pod watch (`kubectl get pods --watch`) says which container instances exist. An instance is a pod
UID, a container and a container ID: a restart makes a new container ID, a pod-kill a new UID. Each
instance gets its own `kubectl logs -f --timestamps` stream and its own file,
OUT/NIGHT/POD/CONTAINER.UID8-RESTART.log, NIGHT being the night its line's timestamp falls in, so the
files roll over at `report.night_ends_at` without touching the streams.

Bounded: at most `max_streams` kubectl log processes (the others wait, with a message), lines cut at
MAX_LINE bytes, the lines kept aside capped at TAIL_MAX, manifests rewritten at most every
`manifest_every_s`. SIGTERM (or a set `stop` event) ends it cleanly: streams closed, every night's
manifest written, and a later start resumes each instance where it stopped.

The modules, each with one job, importing only downwards (import-linter checks it):

    loop      the main loop: pod events -> instances -> streams, stream ends, gaps
    store     the night folders: lines into files, manifests, rollover, resuming a stopped run
    stream    one `kubectl logs` stream of one instance, resumed without loss or repeats
    watch     `kubectl get pods --watch` and the resync list; the pod records
    instance  one container instance, and the de-duplication of a resumed stream's lines
    night     which night a timestamp falls in; one night's record
    options   FollowOptions and FollowResult
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sitegen.nightly.follow.loop import Follower
from sitegen.nightly.follow.options import FollowOptions, FollowResult
from sitegen.nightly.kube import Kubectl, check_target, find_kubectl, raise_problems
from sitegen.nightly.lock import exclusive_lock
from sitegen.nightly.manifest import load_manifest

__all__ = ["LOCK_NAME", "FollowOptions", "FollowResult", "check_options", "follow"]

LOCK_NAME = ".sitegen-follow.lock"


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
        return Follower(options, kubectl, stop, clock).run()


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
