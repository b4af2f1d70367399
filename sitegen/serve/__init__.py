"""Dev loop: watch + HTTP + live reload. Calls the builder, never the other way round.

`run_watch` rebuilds on changes; `run_serve` also serves the output with live reload.
Both return an exit code; Ctrl+C is the normal way to stop them and exits 0.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sitegen.config import Config
from sitegen.serve.loop import BuildFn, DevLoop, serve_build

log = logging.getLogger(__name__)


def run_watch(
    config: Config,
    *,
    build: BuildFn | None = None,
    reload_config: Callable[[], Config] | None = None,
    stop: threading.Event | None = None,
    ready: Callable[[], None] | None = None,
) -> int:
    """Build once, then rebuild whenever reports, theme or config change, until Ctrl+C or `stop`.

    Builds run in the calling thread (so Ctrl+C interrupts one cleanly), one at a time.
    """
    loop = DevLoop(config, build=build, reload_config=reload_config)
    stop = stop or threading.Event()
    try:
        # Watch before the first build: a night written while it runs is queued for the next one.
        loop.start_watching()
        loop.build()
        log.info("watching %s for changes (Ctrl+C to stop)", ", ".join(str(p) for p in loop.watcher.spec.folders))
        if ready is not None:
            ready()
        loop.run(stop)
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        loop.stop()
    return 0


def run_serve(
    config: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = False,
    build: BuildFn | None = None,
    reload_config: Callable[[], Config] | None = None,
    stop: threading.Event | None = None,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Serve the output folder with live reload while watching and rebuilding, until Ctrl+C or `stop`."""
    from sitegen.serve.server import bind

    loop = DevLoop(config, build=build or serve_build, reload_config=reload_config)
    stop = stop or threading.Event()
    # Bind first: a busy port is reported before a possibly long build.
    server = bind(host, port, loop.output, loop.gate, loop.hub)
    thread = threading.Thread(target=server.serve_forever, name="sitegen-http", daemon=True)
    thread.start()
    try:
        log.info("serving %s at %s", loop.output(), server.url)
        # Watch before the first build: a night written while it runs is queued for the next one.
        loop.start_watching()
        loop.build()
        log.info("watching for changes; open %s (Ctrl+C to stop)", server.url)
        if ready is not None:
            ready(server.url)
        if open_browser:
            import webbrowser

            webbrowser.open(server.url)
        loop.run(stop)
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        loop.stop()
        server.close()
        thread.join(timeout=5)
    return 0


__all__ = ["run_serve", "run_watch"]
