"""The start race: a night dropped while the first build runs, or right after it, still shows up,
and changes during a build give exactly one more build after it.

The real `sitegen serve` runs as a subprocess; the nightly job writes to a hidden temp name and
renames it into place, as a careful job (or rsync) does.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sitegen.serve import run_serve, run_watch
from sitegen.serve.loop import DevLoop
from tests.pdf_factory import make_pdf

REPO = Path(__file__).resolve().parents[2]
NEW_NIGHT = "2021-07-10"
NEW_NAME = f"report-{NEW_NIGHT}-good.pdf"
CARD = f'data-date="{NEW_NIGHT}"'


@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory) -> bytes:
    return make_pdf(tmp_path_factory.mktemp("pdf") / "r.pdf", pages=["Chaos night"]).read_bytes()


def drop(reports: Path, name: str, data: bytes) -> Path:
    """Write like a nightly job: a hidden temp name, then one atomic rename into place."""
    temp = reports / f".{name}.part"
    temp.write_bytes(data)
    os.replace(temp, reports / name)
    return reports / name


class Server:
    """`sitegen serve` in a subprocess; its log lines are collected as they come."""

    def __init__(self, cwd: Path, *flags: str):
        site = ["--reports", "reports", "--output", "public", "--host", "127.0.0.1", "--port", "0"]
        args = [sys.executable, "-m", "sitegen", *flags, "serve", *site]
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, cwd=cwd, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._new_line:
                self.lines.append(line)
                self._new_line.notify_all()
        with self._new_line:
            self._new_line.notify_all()

    def wait_for_line(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """The first log line matching `pattern` (waiting for it to be written)."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    match = re.search(pattern, line)
                    if match:
                        return match
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    pytest.fail(f"no log line matching {pattern!r}:\n{self.log()}")
                self._new_line.wait(min(left, 0.5))

    def url(self) -> str:
        return self.wait_for_line(r"serving .* at (http://\S+)").group(1)

    def log(self) -> str:
        with self._new_line:
            return "".join(self.lines)

    def count(self, text: str) -> int:
        with self._new_line:
            return sum(text in line for line in self.lines)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)


@pytest.fixture
def start_server(tmp_path):
    servers: list[Server] = []

    def start(*flags: str) -> Server:
        servers.append(Server(tmp_path, *flags))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def get(url: str, path: str, timeout: float = 30) -> tuple[int, bytes]:
    host, port = url.split("//")[1].rstrip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_for_card(url: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = get(url, "/index.html")
        if status == 200 and CARD.encode() in body:
            return True
        time.sleep(0.05)
    return False


def test_a_night_dropped_the_moment_the_index_first_answers_shows_up(tmp_path, start_server, pdf_bytes):
    reports = tmp_path / "reports"
    reports.mkdir()
    drop(reports, "report-2021-07-09-bad.pdf", pdf_bytes)
    server = start_server()
    url = server.url()
    # Requests wait at the gate while the first build runs, so the first 200 comes the moment it ends.
    deadline = time.monotonic() + 20
    while get(url, "/index.html")[0] != 200:
        assert time.monotonic() < deadline, f"the first build never finished:\n{server.log()}"
    drop(reports, NEW_NAME, pdf_bytes)
    assert wait_for_card(url), f"the night dropped right after the first build never showed up:\n{server.log()}"


def test_a_night_dropped_during_a_big_first_build_gives_exactly_one_more_build(tmp_path, start_server, pdf_bytes):
    reports = tmp_path / "reports"
    reports.mkdir()
    for i in range(200):
        (reports / f"report-2020-{1 + i // 28:02d}-{1 + i % 28:02d}-good.pdf").write_bytes(pdf_bytes)
    server = start_server("--verbose")
    url = server.url()
    # The scan stage has listed the folder: a file dropped now is not in the first build.
    server.wait_for_line(r"stage scan ")
    drop(reports, NEW_NAME, pdf_bytes)
    built = server.wait_for_line(r"built in [\d.]+ s: (\d+) reports")
    assert built.group(1) == "200", "the night was dropped too late: the first build had already ended"
    assert wait_for_card(url), f"the night dropped during the first build never showed up:\n{server.log()}"
    time.sleep(0.6)  # a second, needless rebuild would have started by now
    assert server.count("changed: ") == 1, server.log()
    assert server.count("rebuilt in ") == 1, server.log()


class PausedFirstBuild:
    """A build that lists the reports folder, then holds the first build until released; counts overlaps."""

    def __init__(self, reports: Path):
        self.reports = reports
        self.seen: list[list[str]] = []
        self.started, self.release = threading.Event(), threading.Event()
        self.running = self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, config) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            self.seen.append(sorted(p.name for p in self.reports.glob("*.pdf")))
            if len(self.seen) == 1:
                self.started.set()
                assert self.release.wait(10), "the test never released the first build"
            time.sleep(0.05)  # a build takes time: a second one started meanwhile would overlap
        finally:
            with self._lock:
                self.running -= 1


def wait_until(predicate, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("command", ["watch", "serve"])
def test_changes_during_the_first_build_give_exactly_one_more_build(project, command, pdf_bytes, monkeypatch):
    queued: list[set[Path]] = []
    on_change = DevLoop.on_change

    def recording(self, paths):
        queued.append(set(paths))
        on_change(self, paths)

    monkeypatch.setattr(DevLoop, "on_change", recording)
    build = PausedFirstBuild(project.reports)
    stop = threading.Event()
    if command == "watch":
        target, kwargs = run_watch, {}
    else:
        target, kwargs = run_serve, {"host": "127.0.0.1", "port": 0}
    kwargs.update(build=build, stop=stop)
    thread = threading.Thread(target=target, args=(project.config,), kwargs=kwargs, daemon=True)
    thread.start()
    try:
        assert build.started.wait(10)
        # Two separate bursts while the first build runs: the watcher reports each on its own.
        first = drop(project.reports, "report-2021-07-10-good.pdf", pdf_bytes)
        assert wait_until(lambda: len(queued) == 1), "the watcher was not running during the first build"
        second = drop(project.reports, "report-2021-07-11-bad.pdf", pdf_bytes)
        assert wait_until(lambda: len(queued) == 2)
        assert queued == [{first}, {second}]
        build.release.set()
        assert wait_until(lambda: len(build.seen) >= 2), build.seen
        time.sleep(0.6)  # a third build would have started by now
        assert build.seen == [[], ["report-2021-07-10-good.pdf", "report-2021-07-11-bad.pdf"]]
        assert build.most_at_once == 1
    finally:
        build.release.set()
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
