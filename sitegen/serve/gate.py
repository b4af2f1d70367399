"""A readers-writer gate: requests open files freely, but never while a build is rewriting the site."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class BuildGate:
    """Many readers or one builder. A waiting builder blocks new readers so it is never starved.

    Readers hold the gate only while they resolve a path and open the file; an open file
    stays valid after the builder replaces it, so streaming a big PDF never blocks a build.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._building = False
        self._builders_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._building and not self._builders_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def building(self) -> Iterator[None]:
        with self._cond:
            self._builders_waiting += 1
            self._cond.wait_for(lambda: not self._building and not self._readers)
            self._builders_waiting -= 1
            self._building = True
        try:
            yield
        finally:
            with self._cond:
                self._building = False
                self._cond.notify_all()

