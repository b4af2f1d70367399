"""Run sitegen commands through their real entry point, each in a forked child of one warm process.

`python -m tests.hostile.forkrun` reads one JSON job per line on stdin: {"argv", "cwd", "stdout",
"stderr", "timeout", "memory"}. For each it forks; the child limits its address space (RLIMIT_AS,
what `ulimit -v` sets) and its run time (SIGALRM, whose default action kills it), sends stdout and
stderr to the job's files and calls `sitegen.cli.main(argv)`. The parent answers one JSON line per
job: exit code (negative for a signal), seconds and peak RSS. Forking costs milliseconds where a
fresh interpreter importing pypdf, jinja2 and fpdf2 costs most of a second, which keeps a corpus
of a hundred cases inside `make test`'s budget; the slow variant runs each case as its own process.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import traceback


def _child(job: dict) -> int:
    os.chdir(job["cwd"])
    for fd, name in ((1, job["stdout"]), (2, job["stderr"])):
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the job pipe is the parent's, not sitegen's stdin
    os.close(devnull)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process ends with os._exit
    memory = int(job["memory"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    signal.alarm(int(job["timeout"]))
    from sitegen.cli import main

    try:
        return int(main(job["argv"]))
    except SystemExit as exc:  # argparse's own usage errors
        return exc.code if isinstance(exc.code, int) else 2


def _run(job: dict) -> dict:
    start = time.monotonic()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 111
        try:
            code = _child(job)
        except BaseException:  # what escapes main() is a traceback: the test looks for exactly that
            traceback.print_exc()
            code = 112
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    return {
        "code": os.waitstatus_to_exitcode(status),
        "seconds": round(time.monotonic() - start, 3),
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def _warm_up() -> None:
    """One small build in this process first: every child then starts with jinja2's templates compiled
    and pypdf's lazy imports done (the render memo is keyed by content, so pages stay exact)."""
    import contextlib
    import io
    import tempfile
    from pathlib import Path

    from sitegen.cli import main as sitegen
    from tests.hostile.corpus import put

    with tempfile.TemporaryDirectory() as tmp:
        put(Path(tmp), "report-2021-07-09-bad.pdf")
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            sitegen(["-q", "build", "--reports", f"{tmp}/reports", "--output", f"{tmp}/public", "--base-url", "https://x.org/"])


def main() -> None:
    # Everything the commands import, once, before the first fork.
    import fpdf  # noqa: F401
    import jinja2  # noqa: F401
    import pygal  # noqa: F401
    import pypdf  # noqa: F401
    import yaml  # noqa: F401

    import sitegen.cli
    import sitegen.nightly.report
    import sitegen.site.build  # noqa: F401

    _warm_up()
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
