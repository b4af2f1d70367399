"""`sitegen nightly`: collect the night's pod logs, write its report, then rebuild the site, under a lock.

When `sitegen collect --follow` kept the night (its manifest says so), its instance files are the
logs, each read once, and nothing is collected; otherwise it collects once, as the night ends.

The site build is passed in as a callback: the nightly wing must not import the site builder.
Whatever stops a run is written to the nightly log file and raised again; the CLI picks the exit code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sitegen.config import Config
from sitegen.errors import BuildError, NoClusterError, SitegenError, UsageError, os_error_message
from sitegen.nightly.lock import exclusive_lock
from sitegen.nightly.manifest import MANIFEST_NAME, FollowedNight, read_followed

log = logging.getLogger(__name__)

Build = Callable[[], object]


@dataclass(frozen=True)
class NightlyResult:
    """One finished night: the report written, and whether some pods' logs are missing from it."""

    night: dt.date
    report: Path
    partial: bool


def nightly_lock(path: Path) -> contextlib.AbstractContextManager[IO[str]]:
    """The overlap lock of `sitegen nightly`."""
    return exclusive_lock(path, f"another nightly run holds the lock file {path}", config_key="nightly.lock_file")


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
    except (Exception, KeyboardInterrupt) as exc:
        # The CLI shows the error on the terminal; the file gets it here, so it is not shown twice.
        record = log.makeRecord(log.name, logging.ERROR, __file__, 0, "nightly: stopped: %s", (_describe(exc),), None)
        handler.handle(record)
        raise
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


def _describe(exc: BaseException) -> str:
    """The one-line story of what stopped a run, as the CLI tells it."""
    if isinstance(exc, SitegenError):
        return str(exc)
    if isinstance(exc, OSError):
        return os_error_message(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"internal error: {type(exc).__name__}: {exc}"


def _collect(config: Config, logs_dir: Path) -> bool:
    """Run collect into logs_dir; True when its result is partial. NoClusterError when unreachable."""
    from sitegen.nightly.collect import collect

    nightly = config.nightly
    result = collect(
        namespace=nightly.namespace,
        out=logs_dir,
        context=nightly.context or None,
        selector=nightly.selector or None,
        since=nightly.since,
    )
    level = logging.WARNING if result.partial else logging.INFO
    for line in result.messages:
        log.log(level, "collect: %s", line)
    return result.partial


def _use_followed(followed: FollowedNight) -> str:
    """Log what the follower kept of the night; returns why the night is partial ("" when it is not)."""
    pods = {(i.pod, i.uid) for i in followed.instances}
    lines = sum(i.lines for i in followed.instances)
    log.info(
        "nightly: using the logs `sitegen collect --follow` kept in %s: %d instance(s) of %d pod(s), %d line(s), %d gap(s)",
        followed.folder, len(followed.instances), len(pods), lines, len(followed.gaps),
    )
    for gap in followed.gaps:
        log.warning("nightly: gap: %s", gap.describe())
    for error in followed.errors:
        log.warning("nightly: follower: %s", error)
    if not followed.closed:
        log.warning(
            "nightly: the follower has not closed night %s (last update %s): its last lines may be missing",
            followed.night, followed.updated or "unknown",
        )
    if followed.gaps or followed.errors:
        return "the followed logs have gaps or errors (see manifest.json)"
    if not followed.closed:
        return "the follower had not closed the night"
    return ""


def _log_inputs(logs_dir: Path) -> list[str]:
    """The collected container logs as a glob, and files put beside them (a logcli or Elasticsearch export)."""
    inputs = [str(logs_dir / "*" / "*.log")] if any(logs_dir.glob("*/*.log")) else []
    if logs_dir.is_dir():
        inputs += sorted(
            str(p) for p in logs_dir.iterdir() if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith(".")
        )
    return inputs


def run_nightly(
    config: Config,
    night: str | None = None,
    suite: str | None = None,
    build: Build | None = None,
    now: dt.datetime | None = None,
) -> NightlyResult:
    """Collect, report and build one night; raises what stopped it, after writing it to the log file."""
    with _log_to_file(config.path("nightly.log_file")):
        the_night = _night(config, night, now)
        with nightly_lock(config.path("nightly.lock_file")):
            return _run_locked(config, the_night, suite, build)


def _run_locked(config: Config, night: dt.date, suite: str | None, build: Build | None) -> NightlyResult:
    from sitegen.nightly.report import ReportRequest, run_report

    started = time.monotonic()
    nightly = config.nightly
    logs_dir = config.path("nightly.logs_dir") / night.isoformat()
    log.info("nightly: night %s, suite %s, logs in %s", night, suite or config.report.suite or "(none)", logs_dir)

    partial = ""
    followed = read_followed(logs_dir)
    if followed is not None:
        partial = _use_followed(followed)
        logs = [str(path) for path in followed.files()]
    else:
        if nightly.namespace:
            try:
                partial = "some pods' logs could not be collected" if _collect(config, logs_dir) else ""
            except NoClusterError:
                log.error("nightly: no report written for %s: the cluster could not be reached", night)
                raise
        else:
            log.info("nightly: nightly.namespace is empty; not collecting, using the logs already in %s", logs_dir)
        logs = _log_inputs(logs_dir)
        if not logs and not nightly.namespace:
            # Under cron a mistyped logs_dir would otherwise publish a night that looks clean, every night.
            partial = f"no logs to read: nightly.namespace is empty and {logs_dir} holds no log files"
            log.warning("nightly: %s; the report says 'no logs given'", partial)

    request = ReportRequest(
        night=night.isoformat(),
        logs=logs,
        metrics=_input_path(config, nightly.metrics, night),
        prometheus=nightly.prometheus or None,
        query=nightly.query or None,
        metrics_start=None,
        chaos=_input_path(config, nightly.chaos, night),
        since=None,
        until=None,
        suite=suite,
        rules_file=None,
        followed=str(logs_dir) if followed is not None else None,
    )
    outcome = run_report(config, request)
    for line in outcome.messages:
        log.info("report: %s", line)
    log.info("report: wrote %s", outcome.path)

    if build is None:
        log.info("nightly: no site build step configured")
    else:
        try:
            described = build()
        except SitegenError as exc:
            # The report is written by now: a usage error's "nothing written" would mislead.
            raise BuildError(f"site build failed: {exc}") from exc
        if described:
            log.info("build: %s", described)

    took = time.monotonic() - started
    if partial:
        log.info("nightly: done in %.1f s, partial: %s", took, partial)
    else:
        log.info("nightly: done in %.1f s", took)
    return NightlyResult(night, outcome.path, bool(partial))
