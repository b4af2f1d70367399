"""Draw many pages on both cores: half of them in one forked child, half here, results back through a pipe.

The child draws every other run of `RUN` pages, so pages next to each other stay in one process:
the renderer puts the pages that share work (the list and month pages showing the same nights, whose
cards it draws once) side by side.

A full build draws 10,000+ pages, and jinja2 is pure Python: one process keeps one core busy.
Forking copies the renderer with every closure ready, so only results cross the pipe: a page's
bytes, or, when a first build writes its pages straight into the staging folder, the page's
digest and size (marshal, written by our own child; nothing from it is ever run). Below `FANOUT_MIN`
pages, or in a process with other threads (the dev server: a lock another thread holds would
stay locked in the child), or with one core, everything is drawn here, in order.
"""

from __future__ import annotations

import logging
import marshal
import os
import signal
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar

from sitegen.errors import BuildError
from sitegen.procs import cores, die_with_parent

log = logging.getLogger(__name__)

# A fork and the pipe cost ~20-40 ms here; below this many pages drawing them all in one process wins.
FANOUT_MIN = 300
RUN = 16
_CHUNK = 1 << 20

T = TypeVar("T")  # what a draw gives: marshal-able (bytes, str, ints and tuples of them)


def draw_all(draws: Sequence[Callable[[], T]], explain: Callable[[BaseException], str | None]) -> list[T]:
    """Every `draws[i]()`, in order. Where `explain` turns the child's exception into a message, a BuildError says it."""
    if len(draws) < FANOUT_MIN or cores() < 2 or threading.active_count() > 1:
        return [draw() for draw in draws]
    # Every other run of RUN pages: the kinds of page are spread evenly, and pages next to each other
    # (a list page and the month pages of the same nights) are drawn by one process, which can share work.
    mine, theirs = [i for i in range(len(draws)) if not i // RUN % 2], [i for i in range(len(draws)) if i // RUN % 2]
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: draw, send, and leave without running any of the parent's cleanup
        os.close(read_end)
        die_with_parent(parent)
        os._exit(_child(draws, theirs, write_end, explain))
    os.close(write_end)
    received: list[bytearray] = []
    reader = threading.Thread(target=_drain, args=(read_end, received), daemon=True)
    reader.start()
    out: list[T | None] = [None] * len(draws)
    try:
        for i in mine:
            out[i] = draws[i]()
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # this build fails anyway: the child's half is not wanted
        raise
    finally:
        reader.join()
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    answer = marshal.loads(received[0]) if received else None
    received.clear()
    if not isinstance(answer, tuple) or len(answer) != 2:  # killed (out of memory, say) before it answered
        raise BuildError(f"the process drawing half of the pages ended without them ({_how(status)}); nothing was changed")
    kind, value = answer
    if kind == "explained":
        raise BuildError(value)
    if kind == "bug":
        raise RuntimeError(f"the process drawing half of the pages failed:\n{value}")
    for i, data in zip(theirs, value, strict=True):
        out[i] = data
    log.debug("drew %d pages here and %d in a child process", len(draws) - len(theirs), len(theirs))
    return out  # type: ignore[return-value] - every slot is filled by now


def _child(draws: Sequence[Callable[[], object]], mine: list[int], fd: int, explain: Callable[[BaseException], str | None]) -> int:
    answer: tuple[str, object]
    try:
        answer = ("ok", [draws[i]() for i in mine])
    except BaseException as exc:  # reported to the parent, which raises it
        message = explain(exc)
        answer = ("bug", traceback.format_exc()) if message is None else ("explained", message)
    data = marshal.dumps(answer)
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view[:_CHUNK]) :]
    except OSError:
        return 1
    return 0


def _drain(fd: int, into: list[bytearray]) -> None:
    data = bytearray()  # one growing buffer: a list of chunks joined later would hold the pages twice
    while chunk := os.read(fd, _CHUNK):
        data += chunk
    if data:
        into.append(data)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
