"""Helpers for the dev-loop tests: a small real build function and a dev server in a thread."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from sitegen.config import Config, parse_config
from sitegen.errors import BuildError


@dataclass
class ListingBuild:
    """Writes output/index.html listing the reports folder's PDFs, like a tiny site builder.

    It records what every build saw, fails with BuildError while a file named BROKEN exists in
    the reports folder, and can be paused mid-build (after writing a half page) by a test.
    """

    reports: Path
    output: Path
    seen: list[list[str]] = field(default_factory=list)
    incomplete_seen: list[str] = field(default_factory=list)
    pause: threading.Event | None = None
    paused: threading.Event = field(default_factory=threading.Event)
    files: dict[str, bytes] = field(default_factory=dict)
    _previous: dict[str, bytes] = field(default_factory=dict)

    def __call__(self, config: Config) -> SimpleNamespace:
        if (self.reports / "BROKEN").exists():
            raise BuildError("report-2021-07-09-bad.pdf: something the user can fix")
        pdfs = sorted(p.relative_to(self.reports).as_posix() for p in self.reports.rglob("*.pdf"))
        for name in pdfs:
            if b"%%EOF" not in (self.reports / name).read_bytes()[-64:]:
                self.incomplete_seen.append(name)
        self.seen.append(pdfs)
        items = "".join(f'<li class="card" data-name="{html.escape(n)}">{html.escape(n)}</li>' for n in pdfs)
        page = f"<!doctype html><html><head><title>t</title></head><body><ul>{items}</ul></body></html>"
        outputs = {"index.html": page.encode(), **self.files}
        self.output.mkdir(parents=True, exist_ok=True)
        if self.pause is not None:
            (self.output / "index.html").write_bytes(b"<html><body>half-built</body></html>")
            self.paused.set()
            self.pause.wait(10)
        changed = []
        for rel, data in outputs.items():
            target = self.output / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if self._previous.get(rel) != data or not target.exists():
                target.write_bytes(data)
                changed.append(rel)
        self._previous = dict(outputs)
        return SimpleNamespace(changed=changed, warnings=[], describe=lambda: f"{len(pdfs)} report(s)")


@pytest.fixture
def project(tmp_path: Path) -> SimpleNamespace:
    """A project folder with reports/, public/ and a config pointing at them."""
    root = tmp_path / "project"
    (root / "reports").mkdir(parents=True)
    config = parse_config({"reports": "reports", "output": "public", "cache_dir": ".cache"}, root)
    build = ListingBuild(root / "reports", root / "public")
    return SimpleNamespace(root=root, reports=root / "reports", output=root / "public", config=config, build=build)


@pytest.fixture
def serve(project) -> Iterator[Callable[..., str]]:
    """Start run_serve in a thread on a free port; returns its base URL once the first build is done."""
    from sitegen.serve import run_serve

    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start(build: Callable | None = None, config: Config | None = None, real: bool = False) -> str:
        """`real=True` runs the real site builder instead of the listing build."""
        stop, ready = threading.Event(), threading.Event()
        urls: list[str] = []

        def on_ready(url: str) -> None:
            urls.append(url)
            ready.set()

        thread = threading.Thread(
            target=run_serve,
            args=(config or project.config,),
            kwargs={
                "host": "127.0.0.1",
                "port": 0,
                "build": None if real else build or project.build,
                "stop": stop,
                "ready": on_ready,
            },
            daemon=True,
        )
        thread.start()
        stops.append((stop, thread))
        assert ready.wait(30), "dev server did not start"
        return urls[0]

    yield start
    for stop, thread in stops:
        stop.set()
        thread.join(timeout=10)
