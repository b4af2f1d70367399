"""An exclusive, non-blocking flock held for a block; the kernel drops it if the process dies."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sitegen.errors import LockHeldError, UsageError


@contextlib.contextmanager
def exclusive_lock(path: Path, held_by_other: str, config_key: str = "") -> Iterator[IO[str]]:
    """Hold the lock on `path`; LockHeldError `held_by_other (holder)` when another process has it.

    The holder's pid and start time are written into the file, so the refusal can say who holds it.
    """
    where = f" (config key '{config_key}')" if config_key else ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the whole block
    except OSError as exc:
        raise UsageError(f"cannot open the lock file {path}: {exc.strerror}{where}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockHeldError(f"{held_by_other} ({holder}); not starting a second one") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}\n")
        handle.flush()
        yield handle
