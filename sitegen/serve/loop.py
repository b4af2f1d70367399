"""The dev loop: rebuild under the gate, report the outcome, tell open pages what changed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sitegen.config import Config
from sitegen.errors import SitegenError
from sitegen.serve.gate import BuildGate
from sitegen.serve.reload import ReloadHub
from sitegen.serve.watcher import Watcher, WatchSpec, watch_spec

log = logging.getLogger(__name__)

BuildFn = Callable[[Config], Any]


def default_build(config: Config) -> Any:
    from sitegen.site.build import build_site

    return build_site(config)


def serve_build(config: Config) -> Any:
    """The dev server's build: there a reports folder emptied while working is on purpose, and the site shows it. (`watch`
    may keep a published site up to date, so it refuses, as `build` does, to replace its nights with none.)"""
    from sitegen.site.build import build_site

    return build_site(config, keep_published=False)


def theme_folders(config: Config) -> list[Path]:
    """The user theme (when set) and the default theme; a missing user theme is still watched for."""
    from sitegen.site.assets import DEFAULT_THEME  # not the renderer: the watcher needs no jinja2 or templates

    folders = [config.path("theme")] if config.theme else []
    return [*folders, DEFAULT_THEME]


def spec_for(config: Config) -> WatchSpec:
    return watch_spec(
        reports=config.path("reports"),
        themes=theme_folders(config),
        config_file=config.source,
        ignored=[config.path("output"), config.path("cache_dir")],
    )


class DevLoop:
    """Owns the current config and runs builds one at a time, all in the thread that calls `run`.

    The watcher thread only queues what changed (`on_change`), so it keeps watching while a build
    runs: changes seen during a build are merged into one more build after it, never lost.
    """

    def __init__(
        self,
        config: Config,
        build: BuildFn | None = None,
        reload_config: Callable[[], Config] | None = None,
        gate: BuildGate | None = None,
        hub: ReloadHub | None = None,
    ):
        self.config = config
        self.build_fn = build or default_build
        self.reload_config = reload_config
        self.gate = gate or BuildGate()
        self.hub = hub or ReloadHub()
        self.watcher: Watcher | None = None
        self._warnings: set[str] = set()
        self._queued: set[Path] = set()  # changed since the last build started
        self._queue_changed = threading.Condition()

    def output(self) -> Path:
        return self.config.path("output")

    def build(self, reason: str = "start") -> bool:
        """One build; errors are logged (message only) and published, never raised."""
        started = time.perf_counter()
        try:
            with self.gate.building():
                result = self.build_fn(self.config)
        except SitegenError as exc:
            return self._failed(str(exc))
        except Exception as exc:  # a bug in a build stage must not end the dev loop
            log.debug("build crashed", exc_info=True)
            return self._failed(f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started
        self._report_warnings(getattr(result, "warnings", ()) or ())
        describe = getattr(result, "describe", None)
        log.info("%s in %.2f s: %s", "built" if reason == "start" else "rebuilt", elapsed, describe() if describe else "done")
        changed = getattr(result, "changed", None)
        changed = None if changed is None else sorted(str(p) for p in changed)
        if changed is None or changed:
            self.hub.publish(ok=True, changed=changed)
        return True

    def _failed(self, message: str) -> bool:
        log.error("build failed: %s", message)
        log.error("still watching; the previous site stays online until a build succeeds")
        self.hub.publish(ok=False, changed=[], error=message)
        return False

    def _report_warnings(self, warnings: Iterable[Any]) -> None:
        # Only new warnings are shown: the same 40 stray files need not scroll by on every save.
        current = {str(w) for w in warnings}
        for warning in sorted(current - self._warnings):
            log.warning("%s", warning)
        if current:
            log.info("%d warning(s) in this build", len(current))
        self._warnings = current

    def on_change(self, paths: set[Path]) -> None:
        """Watcher callback: queue the paths for the next build; never waits for a build."""
        with self._queue_changed:
            self._queued |= paths
            self._queue_changed.notify_all()

    def take_changes(self, timeout: float) -> set[Path]:
        """Every path queued since the last call, waiting up to `timeout` s for one; empty if none came."""
        with self._queue_changed:
            self._queue_changed.wait_for(lambda: bool(self._queued), timeout)
            paths, self._queued = self._queued, set()
        return paths

    def run(self, stop: threading.Event) -> None:
        """Rebuild once per batch of queued changes, in this thread, until `stop` is set."""
        while not stop.is_set():
            paths = self.take_changes(0.5)  # short waits so Ctrl+C and `stop` are seen promptly
            if paths:
                self.rebuild(paths)

    def rebuild(self, paths: set[Path]) -> None:
        """Reload the config if it is among `paths`, then rebuild."""
        shown = sorted(str(p) for p in paths)
        log.info("changed: %s%s", ", ".join(shown[:3]), f" and {len(shown) - 3} more" if len(shown) > 3 else "")
        source = self.config.source.resolve() if self.config.source else None
        if source is not None and source in paths and self.reload_config is not None:
            try:
                config = self.reload_config()
            except SitegenError as exc:
                self._failed(f"config not reloaded: {exc}")
                return
            self.config = config
            if self.watcher is not None:
                self.watcher.rewatch(spec_for(config))
        self.build(reason="change")

    def start_watching(self, watcher_factory: Callable[[WatchSpec, Callable[[set[Path]], None]], Watcher] | None = None) -> Watcher:
        """Start the watcher; call it before the first build, so a change made during that build is queued."""
        factory = watcher_factory or Watcher
        reports = self.config.path("reports")
        if not reports.exists():
            # A folder that does not exist cannot be watched; the first night dropped into a new
            # project would otherwise never show up. An empty input folder changes no output.
            try:
                reports.mkdir(parents=True)
                log.info("created the empty reports folder %s to watch it", reports)
            except OSError as exc:
                log.warning("cannot create the reports folder %s (%s); it is not watched", reports, exc.strerror)
        self.watcher = factory(spec_for(self.config), self.on_change)
        self.watcher.start()
        return self.watcher

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
