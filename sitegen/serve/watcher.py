"""Turn a stream of file events into few rebuilds, and only once new PDFs are whole.

watchdog (inotify on Linux) feeds a queue; one thread drains it, waits for a quiet moment
(debounce), holds back while a PDF is still being written, then calls `on_change` once
with every path that changed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sitegen.serve.filters import is_pdf, is_temp_name, pdf_parses, pdf_state
from sitegen.site.layout import is_inside

log = logging.getLogger(__name__)
# How often the debounce loop looks for watched folders that do not exist yet.
MISSING_POLL_S = 0.5


@dataclass(frozen=True)
class Timing:
    """Debounce and completeness knobs, in seconds."""

    quiet: float = 0.15  # no event for this long ends a burst
    max_wait: float = 3.0  # a never-ending stream still rebuilds this often
    poll: float = 0.1  # how often a PDF being written is looked at again
    stall: float = 10.0  # a PDF stable this long without parsing is published anyway (a broken night still gets its card)


@dataclass(frozen=True)
class WatchSpec:
    """What to watch: folders (recursively), single files, and folders whose events are ignored."""

    folders: tuple[Path, ...]
    files: tuple[Path, ...] = ()
    ignored: tuple[Path, ...] = ()

    def wants(self, path: Path) -> bool:
        """True when an event on `path` may change the site."""
        if any(is_inside(path, folder) for folder in self.ignored):
            return False
        if path in self.files:
            return True
        if not any(is_inside(path, folder) for folder in self.folders):
            return False
        return not is_temp_name(path.name)


class _Pending:
    """A PDF seen changing: its last (size, mtime) and since when it has been stable."""

    __slots__ = ("stable_since", "state")

    def __init__(self, state: tuple[int, int] | None):
        self.state = state
        self.stable_since: float | None = None


class Watcher:
    """Watch `spec` and call `on_change(paths)` after each debounced, complete burst of changes."""

    def __init__(self, spec: WatchSpec, on_change: Callable[[set[Path]], None], timing: Timing | None = None):
        self.spec = spec
        self.on_change = on_change
        self.timing = timing or Timing()
        self._events: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer = None
        # rewatch() runs in the builder's thread, _appeared() in ours: one observer swap at a time.
        self._swapping = threading.Lock()
        self._missing: tuple[Path, ...] = ()  # folders to watch that do not exist yet

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._observer = self._schedule(self.spec)
        self._thread = threading.Thread(target=self._run, name="sitegen-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._events.put(None)
        with self._swapping:
            observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def rewatch(self, spec: WatchSpec) -> None:
        """Follow a config change that moved the reports or theme folder."""
        if spec != self.spec:
            self._swap(spec)

    def _swap(self, spec: WatchSpec) -> None:
        """Watch `spec` with a new observer, started before the old one stops so no event falls between."""
        with self._swapping:
            if self._stop.is_set():
                return
            old, self.spec = self._observer, spec
            self._observer = self._schedule(spec)
        if old is not None:
            old.stop()
            old.join(timeout=5)

    def _schedule(self, spec: WatchSpec):
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        events = self._events

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return  # reads (our own builder opening PDFs) change nothing
                if event.is_directory and event.event_type not in ("deleted", "moved"):
                    return  # a folder's mtime changes with every file in it; the file events say more
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    if raw:
                        events.put(Path(raw if isinstance(raw, str) else raw.decode()))

        observer = Observer()
        handler = Handler()
        watched: set[Path] = set()
        for folder in spec.folders:
            if folder.is_dir() and folder not in watched:
                observer.schedule(handler, str(folder), recursive=True)
                watched.add(folder)
            elif not folder.is_dir():
                log.warning("not watching %s yet: no such folder (it is picked up once created)", folder)
        for file in spec.files:
            parent = file.parent
            if parent.is_dir() and not any(is_inside(parent, w) for w in watched):
                observer.schedule(handler, str(parent), recursive=False)
                watched.add(parent)
        # inotify cannot watch what does not exist; the debounce loop looks for these folders instead.
        self._missing = tuple(folder for folder in spec.folders if not folder.is_dir())
        observer.daemon = True
        observer.start()
        return observer

    def _appeared(self) -> set[Path]:
        """Folders of the spec that were missing and now exist; they are watched from now on."""
        if not self._missing or not any(folder.is_dir() for folder in self._missing):
            return set()
        appeared = {folder for folder in self._missing if folder.is_dir()}
        self._swap(self.spec)
        log.info("now watching %s", ", ".join(str(f) for f in sorted(appeared)))
        return appeared

    # -- the debounce loop ------------------------------------------------------------------
    def _run(self) -> None:
        t = self.timing
        changed: set[Path] = set()
        pending: dict[Path, _Pending] = {}
        first = last = settled = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if not changed and not pending:
                timeout = MISSING_POLL_S if self._missing else None
            elif now - last < t.quiet and now - first < t.max_wait:
                timeout = min(last + t.quiet, first + t.max_wait) - now
            else:
                timeout = max(0.0, settled + t.poll - now)
            try:
                path = self._events.get(timeout=timeout)
            except queue.Empty:
                pass
            else:
                if path is None:
                    continue  # stop() woke us up
                if self._take(path, changed, pending):
                    now = time.monotonic()
                    first = first or now
                    last = now
            appeared = self._appeared()
            if appeared:  # a theme or reports folder created after start: rebuild with what it holds
                changed |= appeared
                now = time.monotonic()
                first = first or now
                last = now
            if not changed and not pending:
                continue
            now = time.monotonic()
            if (now - last < t.quiet and now - first < t.max_wait) or now - settled < t.poll:
                continue
            settled = now
            self._settle(pending, changed, now)
            if pending:
                continue  # hold the whole build: the builder would publish the half-written file
            batch, changed = changed, set()
            first = last = 0.0
            self._fire(batch)

    def _take(self, path: Path, changed: set[Path], pending: dict[Path, _Pending]) -> bool:
        """Record one event; False when the path is of no interest."""
        if not self.spec.wants(path):
            return False
        if is_pdf(path) and path.exists():
            entry = pending.get(path)
            state = pdf_state(path)
            if entry is None:
                pending[path] = _Pending(state)
            elif entry.state != state:
                entry.state, entry.stable_since = state, None
        else:
            pending.pop(path, None)
            changed.add(path)
        return True

    def _settle(self, pending: dict[Path, _Pending], changed: set[Path], now: float) -> None:
        """Move every PDF that is complete (size stable over two looks and parses) to `changed`."""
        for path, entry in list(pending.items()):
            state = pdf_state(path)
            if state is None:  # deleted or renamed away before it was complete
                del pending[path]
                changed.add(path)
                continue
            if state != entry.state:
                entry.state, entry.stable_since = state, None
                continue
            if entry.stable_since is None:
                entry.stable_since = now
            if pdf_parses(path):
                del pending[path]
                changed.add(path)
            elif now - entry.stable_since >= self.timing.stall:
                log.warning("%s has not changed for %.0f s but does not parse; publishing it as it is", path, self.timing.stall)
                del pending[path]
                changed.add(path)

    def _fire(self, batch: set[Path]) -> None:
        log.debug("rebuilding for %d changed path(s)", len(batch))
        try:
            self.on_change(batch)
        except Exception:  # the callback reports its own errors; the watcher must outlive them
            log.exception("rebuild callback failed")


def watch_spec(reports: Path, themes: Iterable[Path], config_file: Path | None, ignored: Iterable[Path]) -> WatchSpec:
    """The standard spec: reports and theme folders, the config file, minus output and cache."""
    folders = tuple(dict.fromkeys(p.resolve() for p in (reports, *themes)))
    files = (config_file.resolve(),) if config_file else ()
    return WatchSpec(folders=folders, files=files, ignored=tuple(p.resolve() for p in ignored))
