"""`sitegen nightly`: collect the night's pod logs, write its report, then rebuild the site, under a lock.

The site build is passed in as a callback: the nightly wing must not import the site builder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from sitegen.config import Config
from sitegen.errors import MissingToolError, SitegenError, UsageError

log = logging.getLogger(__name__)

# Exit codes of `sitegen nightly` (documented in docs/nightly.md).
EXIT_OK = 0  # logs collected, report written, site built
EXIT_PARTIAL = 1  # report written and site built, but some pods' logs could not be collected
EXIT_USAGE = 2  # bad --night, bad config or unusable inputs; nothing written
EXIT_MISSING_TOOL = 3  # kubectl (or a font the PDF needs) is not installed
EXIT_NO_CLUSTER = 4  # the cluster could not be reached; no report written
EXIT_LOCKED = 5  # another nightly run holds the lock; this one did nothing
EXIT_FAILED = 6  # the report or the site build failed (see the log)

Build = Callable[[], object]


class LockHeldError(SitegenError):
    """Another `sitegen nightly` is running with the same lock file."""

    exit_code = EXIT_LOCKED


@contextlib.contextmanager
def nightly_lock(path: Path) -> Iterator[IO[str]]:
    """Hold an exclusive, non-blocking flock on `path` for the duration; the kernel drops it if we die."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the whole run
    except OSError as exc:
        raise UsageError(f"cannot open the lock file {path}: {exc.strerror} (config key 'nightly.lock_file')") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockHeldError(f"another nightly run holds the lock file {path} ({holder}); not starting a second one") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}\n")
        handle.flush()
        yield handle
    finally:
        handle.close()


@contextlib.contextmanager
def _log_to_file(path: Path) -> Iterator[None]:
    """Append this run's sitegen log records to `path` while the block runs."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot append to the log file {path}: {exc.strerror} (config key 'nightly.log_file')") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("sitegen")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


def _night(config: Config, night: str | None, now: dt.datetime | None) -> dt.date:
    from sitegen.nightly.window import night_for, parse_night

    if night:
        return parse_night(night)
    moment = now or dt.datetime.now(dt.UTC)
    return night_for(moment, ends_at=config.report.night_ends_at, tz=config.report.timezone)


def _input_path(config: Config, value: str, night: dt.date) -> str | None:
    """A config path with `{night}` filled in, resolved against the config's folder; None when unset."""
    if not value:
        return None
    if "://" in value:
        return value
    return str((config.root / value.replace("{night}", night.isoformat())).resolve())


def _code_for(exc: SitegenError) -> int:
    if isinstance(exc, LockHeldError):
        return EXIT_LOCKED
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, MissingToolError):
        return EXIT_MISSING_TOOL
    return EXIT_FAILED


def _collect(config: Config, logs_dir: Path) -> int:
    """Run collect into logs_dir; its exit code (0, 1 or 4)."""
    from sitegen.nightly.collect import collect

    nightly = config.nightly
    result = collect(
        namespace=nightly.namespace,
        out=logs_dir,
        context=nightly.context or None,
        selector=nightly.selector or None,
        since=nightly.since,
    )
    level = logging.INFO if result.exit_code == 0 else logging.WARNING
    for line in result.messages:
        log.log(level, "collect: %s", line)
    return result.exit_code


def _log_inputs(logs_dir: Path) -> list[str]:
    """The collected container logs (not the manifest) as a glob the report reads."""
    if any(logs_dir.glob("*/*.log")):
        return [str(logs_dir / "*" / "*.log")]
    return []


def run_nightly(
    config: Config,
    night: str | None = None,
    suite: str | None = None,
    build: Build | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Collect, report and build for one night; returns the documented exit code."""
    try:
        with _log_to_file(config.path("nightly.log_file")):
            try:
                the_night = _night(config, night, now)
                with nightly_lock(config.path("nightly.lock_file")):
                    return _run_locked(config, the_night, suite, build)
            except SitegenError as exc:
                log.error("nightly: %s", exc)
                return _code_for(exc)
    except UsageError as exc:  # the log file itself could not be opened
        log.error("nightly: %s", exc)
        return EXIT_USAGE


def _run_locked(config: Config, night: dt.date, suite: str | None, build: Build | None) -> int:
    from sitegen.nightly.report import ReportRequest, run_report

    started = time.monotonic()
    nightly = config.nightly
    logs_dir = config.path("nightly.logs_dir") / night.isoformat()
    log.info("nightly: night %s, suite %s, logs in %s", night, suite or config.report.suite or "(none)", logs_dir)

    collect_code = 0
    if nightly.namespace:
        try:
            collect_code = _collect(config, logs_dir)
        except SitegenError as exc:
            log.error("nightly: collect failed: %s", exc)
            return _code_for(exc)
        if collect_code == 4:
            log.error("nightly: no report written for %s: the cluster could not be reached", night)
            return EXIT_NO_CLUSTER
    else:
        log.info("nightly: nightly.namespace is empty; not collecting, using the logs already in %s", logs_dir)

    request = ReportRequest(
        night=night.isoformat(),
        logs=_log_inputs(logs_dir),
        metrics=_input_path(config, nightly.metrics, night),
        prometheus=nightly.prometheus or None,
        query=nightly.query or None,
        metrics_start=None,
        chaos=_input_path(config, nightly.chaos, night),
        since=None,
        until=None,
        suite=suite,
        rules_file=None,
    )
    try:
        outcome = run_report(config, request)
    except SitegenError as exc:
        log.error("nightly: report failed: %s", exc)
        return _code_for(exc)
    for line in outcome.messages:
        log.info("report: %s", line)
    log.info("report: wrote %s", outcome.path)

    if build is None:
        log.info("nightly: no site build step configured")
    else:
        try:
            described = build()
        except SitegenError as exc:
            log.error("nightly: site build failed: %s", exc)
            return EXIT_FAILED
        if described:
            log.info("build: %s", described)

    code = EXIT_PARTIAL if collect_code else EXIT_OK
    log.info("nightly: done in %.1f s, exit %d", time.monotonic() - started, code)
    return code
