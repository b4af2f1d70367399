"""The watcher with real files in temp folders: debounce, partial PDFs, temp files, errors and recovery."""

from __future__ import annotations

import functools
import logging
import threading
import time
from pathlib import Path

import pytest

from sitegen.config import parse_config
from sitegen.serve import run_watch
from sitegen.serve.watcher import Timing, Watcher, WatchSpec
from tests.pdf_factory import make_pdf


@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory) -> bytes:
    return make_pdf(tmp_path_factory.mktemp("pdf") / "r.pdf", pages=["one", "two"]).read_bytes()


class Calls:
    """Collects on_change batches and what each changed PDF looked like at that moment."""

    def __init__(self) -> None:
        self.batches: list[set[Path]] = []
        self.complete_at_call: dict[Path, bool] = {}
        self.event = threading.Event()

    def __call__(self, paths: set[Path]) -> None:
        for p in paths:
            if p.suffix == ".pdf" and p.exists():
                self.complete_at_call[p] = p.read_bytes().rstrip().endswith(b"%%EOF")
        self.batches.append(set(paths))
        self.event.set()

    def all(self) -> set[Path]:
        return set().union(*self.batches) if self.batches else set()

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()


@pytest.fixture
def watch(tmp_path):
    watchers: list[Watcher] = []

    def start(spec: WatchSpec, timing: Timing | None = None) -> Calls:
        calls = Calls()
        watcher = Watcher(spec, calls, timing)
        watcher.start()
        watchers.append(watcher)
        return calls

    yield start
    for w in watchers:
        w.stop()


def test_a_burst_of_500_new_pdfs_gives_at_most_two_rebuilds(tmp_path, watch, pdf_bytes):
    reports = tmp_path / "reports"
    reports.mkdir()
    calls = watch(WatchSpec(folders=(reports,)))
    names = [reports / f"report-2020-{1 + i // 28:02d}-{1 + i % 28:02d}-good.pdf" for i in range(336)]
    names += [reports / "suite-b" / f"report-2021-{1 + i // 28:02d}-{1 + i % 28:02d}-bad.pdf" for i in range(164)]
    (reports / "suite-b").mkdir()
    for path in names:
        path.write_bytes(pdf_bytes)
    assert calls.wait_for(lambda: set(names) <= calls.all(), timeout=10), "not every new PDF was reported"
    time.sleep(0.5)  # any straggler rebuild would show up by now
    assert 1 <= len(calls.batches) <= 2, [len(b) for b in calls.batches]


def test_a_pdf_being_written_is_not_acted_on_until_complete(tmp_path, watch, pdf_bytes):
    reports = tmp_path / "reports"
    reports.mkdir()
    calls = watch(WatchSpec(folders=(reports,)))
    target = reports / "report-2021-07-09-bad.pdf"
    quarter = len(pdf_bytes) // 4
    with open(target, "wb") as fh:  # a slow copy: chunks with pauses longer than the debounce
        for i in range(3):
            fh.write(pdf_bytes[i * quarter : (i + 1) * quarter])
            fh.flush()
            time.sleep(0.5)
            assert not calls.batches, "acted on a half-written PDF"
        fh.write(pdf_bytes[3 * quarter :])
    assert calls.wait_for(lambda: target in calls.all(), timeout=3)
    assert calls.complete_at_call[target] is True
    assert len(calls.batches) == 1


def test_a_truncated_pdf_that_never_completes_is_published_after_the_stall_time(tmp_path, watch, pdf_bytes):
    reports = tmp_path / "reports"
    reports.mkdir()
    calls = watch(WatchSpec(folders=(reports,)), Timing(stall=1.0))
    target = reports / "report-2021-07-09-bad.pdf"
    target.write_bytes(pdf_bytes[: len(pdf_bytes) // 2])
    time.sleep(0.6)
    assert not calls.batches
    assert calls.wait_for(lambda: target in calls.all(), timeout=3), "a broken night must still reach the site"


def test_renamed_into_place_is_picked_up_and_the_temp_name_is_not(tmp_path, watch, pdf_bytes):
    reports = tmp_path / "reports"
    reports.mkdir()
    calls = watch(WatchSpec(folders=(reports,)))
    temp = reports / ".report-2021-07-09-good.pdf.Xy12ab"
    temp.write_bytes(pdf_bytes)
    final = reports / "report-2021-07-09-good.pdf"
    temp.rename(final)
    assert calls.wait_for(lambda: final in calls.all(), timeout=3)
    assert calls.all() == {final}


def test_editor_temp_files_output_and_cache_are_ignored(tmp_path, watch):
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    output, cache = tmp_path / "theme" / "public", tmp_path / "theme" / ".cache"
    output.mkdir()
    cache.mkdir()
    calls = watch(WatchSpec(folders=(theme,), ignored=(output, cache)))
    templates = theme / "templates"
    for name in ("base.html.swp", ".base.html.swx", "base.html~", ".#base.html", "4913"):
        (templates / name).write_text("editor noise")
    (output / "index.html").write_text("built")
    (cache / "extract.json").write_text("{}")
    time.sleep(0.8)
    assert calls.batches == []
    (templates / "base.html").write_text("<html></html>")
    assert calls.wait_for(lambda: bool(calls.batches), timeout=3)
    time.sleep(0.3)
    assert calls.batches == [{templates / "base.html"}]


def test_only_the_config_file_is_watched_in_its_folder(tmp_path, watch):
    config = tmp_path / "sitegen.yml"
    config.write_text("title: a\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    calls = watch(WatchSpec(folders=(reports,), files=(config,)))
    (tmp_path / "notes.txt").write_text("unrelated")
    time.sleep(0.5)
    assert calls.batches == []
    config.write_text("title: b\n")
    assert calls.wait_for(lambda: config in calls.all(), timeout=3)


def test_a_failing_rebuild_is_reported_and_the_next_change_recovers(project, pdf_bytes, caplog):
    stop, ready = threading.Event(), threading.Event()
    caplog.set_level(logging.INFO)
    kwargs = {"build": project.build, "stop": stop, "ready": ready.set}
    thread = threading.Thread(target=run_watch, args=(project.config,), kwargs=kwargs, daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        assert project.build.seen == [[]]
        (project.reports / "BROKEN").write_text("x")
        assert Calls.wait_for(None, lambda: "build failed" in caplog.text, timeout=5)
        failure = next(r for r in caplog.records if "build failed" in r.getMessage())
        assert "something the user can fix" in failure.getMessage()
        assert failure.exc_info is None  # a message, not a traceback
        assert thread.is_alive()

        (project.reports / "BROKEN").unlink()
        (project.reports / "report-2021-07-10-good.pdf").write_bytes(pdf_bytes)
        assert Calls.wait_for(None, lambda: b"report-2021-07-10-good.pdf" in (project.output / "index.html").read_bytes(), 5)
        assert project.build.incomplete_seen == []
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_config_edit_reloads_the_config_and_a_bad_one_keeps_the_old(tmp_path, caplog):
    from sitegen.config import load_config

    (tmp_path / "reports").mkdir()
    config_file = tmp_path / "sitegen.yml"
    config_file.write_text("title: First\n")
    titles: list[str] = []
    stop, ready = threading.Event(), threading.Event()
    caplog.set_level(logging.INFO)
    kwargs = {"build": lambda c: titles.append(c.title), "stop": stop, "ready": ready.set,
              "reload_config": lambda: load_config(config_file)}
    thread = threading.Thread(target=run_watch, args=(load_config(config_file),), kwargs=kwargs, daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        config_file.write_text("title: Second\n")
        assert Calls.wait_for(None, lambda: titles == ["First", "Second"], timeout=5), titles
        config_file.write_text("title: [not, a, string]\nbogus: 1\n")
        assert Calls.wait_for(None, lambda: "config not reloaded" in caplog.text, timeout=5)
        assert "config key 'bogus': unknown key" in caplog.text
        assert titles == ["First", "Second"]
    finally:
        stop.set()
        thread.join(timeout=10)


@pytest.mark.parametrize("command", ["watch", "serve"])
def test_ctrl_c_exits_cleanly(tmp_path, command, pdf_bytes):
    import os
    import signal
    import subprocess
    import sys

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "report-2021-07-09-bad.pdf").write_bytes(pdf_bytes)
    args = [sys.executable, "-m", "sitegen", command, "--reports", "reports", "--output", "public"]
    if command == "serve":
        args += ["--port", "0"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    # As from a terminal: a test run started in the background (`make test &`) ignores SIGINT, and a child would
    # inherit that, and Python then never turns Ctrl+C into KeyboardInterrupt.
    restore = functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL)
    proc = subprocess.Popen(args, cwd=tmp_path, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=restore)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "Ctrl+C" in line:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    try:
        _out, rest = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"`sitegen {command}` did not stop on Ctrl+C; it said:\n{''.join(lines)}")
    assert proc.returncode == 0
    err = "".join(lines) + rest
    assert "Traceback" not in err
    assert "stopped" in err
    assert (tmp_path / "public" / "index.html").exists()


def test_a_missing_reports_folder_is_created_and_its_first_pdf_is_picked_up(tmp_path, pdf_bytes):
    from tests.serve.conftest import ListingBuild

    root = tmp_path / "new-project"
    root.mkdir()
    config = parse_config({"reports": "reports", "output": "public", "cache_dir": ".cache"}, root)
    build = ListingBuild(root / "reports", root / "public")
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_watch, args=(config,), kwargs={"build": build, "stop": stop, "ready": ready.set},
                              daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        assert (root / "reports").is_dir()
        (root / "reports" / "report-2021-07-09-bad.pdf").write_bytes(pdf_bytes)
        assert Calls.wait_for(None, lambda: ["report-2021-07-09-bad.pdf"] in build.seen, timeout=5), build.seen
    finally:
        stop.set()
        thread.join(timeout=10)


def test_a_theme_folder_created_after_start_is_watched_from_then_on(tmp_path, watch):
    reports, theme = tmp_path / "reports", tmp_path / "my-theme"
    reports.mkdir()
    calls = watch(WatchSpec(folders=(reports, theme), files=(), ignored=()))
    time.sleep(0.2)
    (theme / "templates").mkdir(parents=True)
    assert calls.wait_for(lambda: theme in calls.all(), timeout=5), calls.batches
    template = theme / "templates" / "base.html"
    template.write_text("{% extends 'default:base.html' %}")
    assert calls.wait_for(lambda: template in calls.all(), timeout=5), calls.batches
