"""Fixtures shared by every test folder: sample corpus, PDF factory, HTTP server, browser."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pdf_factory import make_pdf as _make_pdf

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "samples"
CHROMIUM = "/usr/bin/chromium"
IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def samples() -> Path:
    """The real-world sample corpus, copied into tests/data/samples with its SOURCES.txt files."""
    if not SAMPLES.is_dir():
        pytest.fail(f"sample corpus not found at {SAMPLES}")
    return SAMPLES


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """cli.main() points the root logger at the sys.stderr of its test; later threads must not log into that closed stream."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def make_pdf() -> Callable[..., Path]:
    return _make_pdf


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript"}

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[Callable[..., str]]:
    """Start a real HTTP server on 127.0.0.1 with the given handler class; returns its base URL (no slash)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def static_server(http_server) -> Callable[[Path], str]:
    """Serve a folder over real HTTP on 127.0.0.1; returns its base URL (ending in /)."""
    return lambda folder: http_server(functools.partial(_QuietHandler, directory=str(folder))) + "/"


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if IN_CI:
            pytest.fail("chromium is missing: run scripts/system-deps as root")
        pytest.skip("chromium is not installed (sudo apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()
