"""Child processes that never outlive the process that started them.

A build killed with SIGKILL runs no cleanup: its pool workers would live on, blocked on a pipe they
hold both ends of, and keep the build lock (an inherited file descriptor) locked, so the next build
would wait forever. Linux's parent-death signal ends them with their parent instead. Stdlib only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make this (just forked) process get SIGKILL when its parent ends; exit at once if it already has.

    `parent_pid` is the parent's pid as the parent saw it before forking: if the parent died between
    the fork and this call, the signal would never come, and getppid() already names someone else.
    None when the parent is not the caller (a forkserver's child): then only the signal is set.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no usable libc: the getppid() check below still catches most cases
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def cores() -> int:
    """CPU cores this process may use (`taskset` counts)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
