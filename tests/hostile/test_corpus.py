"""The hostile corpus through the real CLI, each case under a memory limit and a timeout.

`make test` runs every case in a forked child of one warm helper (tests/hostile/forkrun.py): the same
`sitegen.cli.main`, its own address-space limit (RLIMIT_AS, as `ulimit -v`) and alarm, milliseconds to
start. `make fuzz` (marker `slow`) also runs every case as its own `sitegen` process, the limit set
by `preexec_fn`. Class 7 (the dev server) is a real `sitegen serve` answering hostile requests.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile.checks import MEMORY_LIMIT, Outcome, argv, check, snapshot
from tests.hostile.corpus import all_cases

ROOT = Path(__file__).resolve().parents[2]
CASES = all_cases()
SITEGEN = Path(sys.executable).with_name("sitegen")
FUZZ = bool(os.environ.get("SITEGEN_FUZZ"))


def test_the_corpus_is_large_and_covers_every_class():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    by_class = collections.Counter(c.cls for c in CASES)
    assert set(by_class) >= {"1", "2", "3", "4", "5", "6", "ok"}, by_class


def _prepare(base: Path, case) -> tuple[Path, dict]:
    root = base / case.id
    (root / "reports").mkdir(parents=True)
    case.make(root)
    return root, snapshot(root)


@pytest.fixture(scope="module")
def forked(request, tmp_path_factory) -> dict[str, tuple[Path, Outcome, dict]]:
    """Every selected case, run once in a forked child; {case id: (folder, outcome, snapshot before)}."""
    # Only the cases this session runs (so `-k 4-2-GB` prepares and runs one).
    wanted = {item.callspec.id for item in request.session.items if item.name.startswith("test_case[")}
    base = tmp_path_factory.mktemp("hostile")
    logs = base / "_logs"
    logs.mkdir()
    prepared, jobs = {}, []
    for case in CASES:
        if case.skip or case.id not in wanted:
            continue
        root, before = _prepare(base, case)
        prepared[case.id] = (root, before)
        jobs.append(
            {
                "argv": argv(case),
                "cwd": str(root),
                "stdout": str(logs / f"{case.id}.out"),
                "stderr": str(logs / f"{case.id}.err"),
                "timeout": int(case.seconds * 2) + 1,
                "memory": MEMORY_LIMIT,
            }
        )
    helper = subprocess.run(
        [sys.executable, "-m", "tests.hostile.forkrun"],
        input="".join(json.dumps(j) + "\n" for j in jobs),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    assert helper.returncode == 0, helper.stderr[-3000:]
    answers = [json.loads(line) for line in helper.stdout.splitlines()]
    assert len(answers) == len(jobs), helper.stderr[-3000:]
    out = {}
    for (case_id, (root, before)), answer in zip(prepared.items(), answers, strict=True):
        text = (logs / f"{case_id}.out").read_text(errors="replace") + (logs / f"{case_id}.err").read_text(errors="replace")
        out[case_id] = (root, Outcome(answer["code"], answer["seconds"], answer["maxrss_mb"], text), before)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(forked, case):
    if case.skip:
        pytest.skip(case.skip)
    root, outcome, before = forked[case.id]
    check(case, root, outcome, before)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.slow
@pytest.mark.skipif(not FUZZ, reason="the one-process-per-case variant runs in `make fuzz` (SITEGEN_FUZZ=1)")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_in_its_own_process(tmp_path, case):
    """The same case as a fresh `sitegen` process under `ulimit -v` (preexec_fn) and a timeout."""
    if case.skip:
        pytest.skip(case.skip)
    root, before = _prepare(tmp_path, case)
    command = [str(SITEGEN)] if SITEGEN.exists() else [sys.executable, "-m", "sitegen.cli"]
    start = time.monotonic()
    before_usage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        run = subprocess.run(
            [*command, *argv(case)],
            cwd=root,
            capture_output=True,
            text=True,
            errors="replace",
            preexec_fn=_limit_memory,
            timeout=case.seconds * 2 + 5,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case.id} did not finish within {case.seconds * 2 + 5} s")
    seconds = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # A fresh interpreter spends ~0.5 s importing; the bound is for the work itself.
    outcome = Outcome(run.returncode, max(0.0, seconds - 1.0), (peak if peak > before_usage else 0) / 1024, run.stdout + run.stderr)
    check(case, root, outcome, before)


# --- class 7: the dev server -------------------------------------------------------------------

SERVE_CASES = [
    # (name, request path, headers, statuses allowed, what the answer must not be)
    ("range-of-5000-digits", "/pdf/report-2021-07-09-bad.pdf", {"Range": "bytes=" + "9" * 5000 + "-"}, {416}),
    ("range-end-of-5000-digits", "/pdf/report-2021-07-09-bad.pdf", {"Range": "bytes=0-" + "9" * 5000}, {206}),
    ("suffix-range-of-5000-digits", "/pdf/report-2021-07-09-bad.pdf", {"Range": "bytes=-" + "9" * 5000}, {206}),
    ("300-byte-path-segment", "/nights/" + "a" * 300 + ".html", {}, {404}),
    ("300-byte-folder-segment", "/" + "a" * 300 + "/x.html", {}, {404}),
    ("double-slash-folder", "//nights", {}, {301}),
    ("absolute-form-double-slash", "http://127.0.0.1//nights", {}, {301}),
    ("encoded-nul", "/index.html%00.pdf", {}, {403, 404}),
    ("encoded-traversal", "/%2e%2e/%2e%2e/etc/passwd", {}, {403}),
    ("bad-percent-encoding", "/%ff%fe.html", {}, {403, 404}),
    ("8-KB-path", "/" + "a/" * 4000, {}, {404}),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real `sitegen serve` over a small site, and what it printed."""
    root = tmp_path_factory.mktemp("hostile-serve")
    from tests.hostile.corpus import put

    put(root, "report-2021-07-09-bad.pdf")
    log = open(root / "serve.log", "w")  # noqa: SIM115 - closed below
    command = [str(SITEGEN)] if SITEGEN.exists() else [sys.executable, "-m", "sitegen.cli"]
    proc = subprocess.Popen(
        [*command, "serve", "--reports", "reports", "--output", "public", "--port", "0"],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_limit_memory,
    )
    try:
        port = None
        for _ in range(300):
            text = (root / "serve.log").read_text()
            # The URL is logged before the first build; the site is there once "built in" follows.
            if "http://127.0.0.1:" in text and "built in " in text:
                port = int(text.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
                break
            time.sleep(0.1)
        assert port, (root / "serve.log").read_text()
        yield port, root / "serve.log"
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.mark.parametrize(("name", "path", "headers", "statuses"), SERVE_CASES, ids=[c[0] for c in SERVE_CASES])
def test_serve_case(served, name, path, headers, statuses):
    port, log = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status in statuses, (response.status, response.reason)
    location = response.getheader("Location") or ""
    assert not location.startswith("//"), f"scheme-relative redirect {location!r}"
    time.sleep(0.05)
    text = log.read_text()
    assert "Traceback" not in text and "Exception" not in text, text[-2000:]


def test_serve_answers_after_every_hostile_request(served):
    port, _ = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().status == 200
    conn.close()
