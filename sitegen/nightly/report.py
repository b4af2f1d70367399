"""`sitegen report`: one night's logs, metrics and chaos windows become report-YYYY-MM-DD-STATUS.pdf.

A flat pipeline: check every argument first (nothing is read or written on a usage error),
then logs -> metrics -> chaos -> analysis -> verdict -> chart -> PDF, then one atomic write.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.config import Config
from sitegen.errors import ReportError, UsageError
from sitegen.model import report_name
from sitegen.nightly.manifest import FollowedNight
from sitegen.nightly.records import ChaosWindow, Injection, InputSource, LogDigest, NightReport, Series
from sitegen.nightly.window import NightWindow, night_window, parse_night, parse_time

log = logging.getLogger(__name__)

_SUITE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")  # \Z: `$` lets a final newline through
NEUTRAL_COLOR = "#6e7781"
PROMETHEUS_STEP_S = 15.0


@dataclass(slots=True)
class ReportRequest:
    """What the user asked for on the command line (or what `sitegen nightly` asks for); strings as typed."""

    night: str
    logs: list[str] = field(default_factory=list)
    metrics: str | None = None
    prometheus: str | None = None
    query: str | None = None
    metrics_start: str | None = None
    chaos: str | None = None
    since: str | None = None
    until: str | None = None
    suite: str | None = None
    rules_file: Path | None = None
    followed: str | None = None  # a night folder `sitegen collect --follow` wrote (else found among the --logs folders)


@dataclass(slots=True)
class ReportOutcome:
    """The PDF written, what to tell the user, and the reports it replaced."""

    path: Path
    messages: list[str]
    replaced: list[Path]
    status: str = ""


@contextmanager
def _stage(name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.debug("report: %s took %.3f s", name, time.perf_counter() - started)


# --- checking the request -----------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    """A request after every check: typed values, ready to run."""

    window: NightWindow
    suite: str
    folder: Path
    rules: Any
    metrics_path: Path | None
    metrics_start: dt.datetime | None
    chaos_path: Path | None
    logs: list[str]
    followed: FollowedNight | None = None


def _followed(request: ReportRequest) -> FollowedNight | None:
    """The followed night the logs come from: the one named, or a --logs folder holding a follow manifest."""
    from sitegen.nightly.manifest import read_followed

    if request.followed:
        return read_followed(Path(request.followed))
    folders = [Path(p) for p in request.logs if p != "-" and Path(p).is_dir()]
    found = [f for f in (read_followed(folder) for folder in folders) if f is not None]
    return found[0] if len(found) == 1 else None


def _check(config: Config, request: ReportRequest) -> _Plan:
    """Every argument checked before any work; raises UsageError/ConfigError (exit 2)."""
    from sitegen.nightly.rules import load_rules, parse_rules

    rc = config.report
    night = parse_night(request.night)
    window = night_window(night, ends_at=rc.night_ends_at, tz=rc.timezone, since=request.since, until=request.until)

    if request.rules_file is not None:
        rules = load_rules(request.rules_file)
    else:
        rules = parse_rules(list(config.rules), source=str(config.source or "config"))

    suite = rc.suite if request.suite is None else request.suite
    if suite and (not _SUITE_RE.match(suite) or suite in (".", "..")):
        raise UsageError(f"--suite {suite!r}: a suite is one folder name of letters, digits, '.', '_' or '-'")

    if request.metrics and request.prometheus:
        raise UsageError("give either --metrics PATH or --prometheus URL --query EXPR, not both")
    if bool(request.prometheus) != bool(request.query):
        raise UsageError("--prometheus and --query go together: the URL of the server and the PromQL expression giving QPS")
    metrics_path = Path(request.metrics) if request.metrics else None
    chaos_path = Path(request.chaos) if request.chaos else None
    for flag, path in (("--metrics", metrics_path), ("--chaos", chaos_path)):
        if path is not None and not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "is not a regular file" if path.exists() else "no such file"
            raise UsageError(f"{flag} {path}: {what}")
    metrics_start = parse_time(request.metrics_start, window.tz, flag="--metrics-start") if request.metrics_start else None

    reports = config.path("reports")
    folder = reports / suite if suite else reports
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"cannot write reports into {folder}: it is not a folder")
    return _Plan(
        window=window,
        suite=suite,
        folder=folder,
        rules=rules,
        metrics_path=metrics_path,
        metrics_start=metrics_start,
        chaos_path=chaos_path,
        logs=[str(p) for p in request.logs],
        followed=_followed(request),
    )


# --- the stages ---------------------------------------------------------------------------


def _clip(series: Series, window: NightWindow) -> Series:
    """Only the night's points; analysis and chart both look at the same span."""
    t0, t1 = window.since.timestamp(), window.until.timestamp()
    points = [(t, v) for t, v in series.points if t0 <= t <= t1]
    return Series(name=series.name, points=points, unit=series.unit, source=series.source, extra=series.extra)


def _span(series: Series, tz: Any) -> str:
    if not series.points:
        return "no points"
    a = dt.datetime.fromtimestamp(series.points[0][0], tz).strftime("%Y-%m-%d %H:%M:%S")
    b = dt.datetime.fromtimestamp(series.points[-1][0], tz).strftime("%Y-%m-%d %H:%M:%S")
    return f"{len(series.points):,} points, {a} → {b}"


def shown_path(path: Path, root: Path | None) -> str:
    """A path as the report shows it: relative to the night's inputs folder, else its name; never this machine's folders."""
    if root is not None:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def inputs_root(plan: _Plan) -> Path | None:
    """The folder all of the night's input files share (`examples/night-2021-07-09`), resolved; None when there are none."""
    paths = [Path(p) for p in plan.logs if p != "-" and Path(p).exists()]
    paths += [p for p in (plan.metrics_path, plan.chaos_path) if p is not None]
    folders = [str(p.resolve() if p.is_dir() else p.resolve().parent) for p in paths]
    return Path(os.path.commonpath(folders)) if folders else None


@dataclass(slots=True)
class _Stage:
    """What one input stage returns beside its value: where the input came from, and what the reader should know."""

    sources: list[InputSource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _read_logs(plan: _Plan) -> tuple[LogDigest | None, bool, _Stage]:
    """The night's log digest (None without logs) and whether last night's report was there to mark NEW against."""
    from sitegen.nightly.logs import digest_logs
    from sitegen.nightly.summary import previous_keys

    stage = _Stage()
    if not plan.logs:
        stage.notes.append("no logs given")
        return None, False, stage
    window = plan.window
    # Named relative to the reports folder: the note ends up in summary.json, which should not depend on the machine.
    shown = f"suite folder {plan.suite}/" if plan.suite else "the reports folder"
    keys, where = previous_keys(plan.folder, window.night, shown_as=shown)
    stage.sources.append(InputSource("Previous night", where))
    if keys is None:
        stage.notes.append(where)
    followed = plan.followed
    if followed is not None:
        lines = sum(i.lines for i in followed.instances)
        stage.sources.append(InputSource(
            "Logs", f"kept by sitegen collect --follow: {len(followed.instances):,} container instance(s), "
                    f"{lines:,} line(s), {len(followed.gaps):,} gap(s) (listed in the appendix)"))
        if followed.gaps:
            stage.notes.append(f"the followed logs have {len(followed.gaps):,} gap(s) where lines may be missing (see the appendix)")
    digest = digest_logs(plan.logs, since=window.since, until=window.until, tz=window.tz, night=window.night, previous_keys=keys)
    if digest.outside_window and not any(digest.counts.values()):
        # Like metrics with no point in the window: most likely the wrong night, time zone or log files.
        n = digest.outside_window
        what = "the one warn/error entry of the logs lies" if n == 1 else f"all {n:,} warn/error entries of the logs lie"
        stage.notes.append(f"{what} outside the night's window and {'was' if n == 1 else 'were'} left out")
    return digest, keys is not None, stage


def _load_series(plan: _Plan, request: ReportRequest, root: Path | None) -> tuple[Series | None, _Stage]:
    window = plan.window
    stage = _Stage()
    if plan.metrics_path is not None:
        from sitegen.nightly.metrics import load_metrics

        full = load_metrics(plan.metrics_path, start=plan.metrics_start, tz=window.tz)
        name = shown_path(plan.metrics_path, root)
        full.source = full.source.replace(str(plan.metrics_path), name)  # a query_range file is named by its full path
        stage.sources.append(InputSource("Metrics", f"{name} ({full.name or 'qps'}; {_span(full, window.tz)})"))
    elif request.prometheus:
        from sitegen.nightly.prometheus import query_prometheus

        try:
            full = query_prometheus(
                request.prometheus, request.query or "", start=window.since, end=window.until, step_s=PROMETHEUS_STEP_S
            )
        except ReportError as exc:
            # The server being down must not cost the night its report: say so in it instead.
            stage.notes.append(f"metrics unavailable: {exc}")
            stage.sources.append(InputSource("Metrics", f"Prometheus {request.prometheus}, query {request.query!r}: failed ({exc})"))
            return None, stage
        full.source = full.source or f"Prometheus {request.prometheus}"
        described = f"Prometheus {request.prometheus}, query {request.query!r} ({_span(full, window.tz)})"
        stage.sources.append(InputSource("Metrics", described))
    else:
        stage.notes.append("no metrics given")
        return None, stage
    clipped = _clip(full, window)
    if not clipped.points:
        stage.notes.append(f"the metrics have no points inside the night's window ({_span(full, window.tz)})")
    elif len(clipped.points) < len(full.points):
        stage.notes.append(f"{len(full.points) - len(clipped.points):,} metric points outside the night's window were left out")
    return clipped, stage


def _load_windows(
    plan: _Plan, series: Series | None, root: Path | None, *, baseline_minutes: float
) -> tuple[list[ChaosWindow], _Stage]:
    window = plan.window
    stage = _Stage()
    if plan.chaos_path is not None:
        from sitegen.nightly.chaos import load_chaos

        windows = load_chaos(plan.chaos_path, since=window.since, until=window.until, tz=window.tz)
        stage.sources.append(InputSource("Chaos", f"{shown_path(plan.chaos_path, root)} ({len(windows)} window(s) in the night)"))
        return windows, stage
    if series is not None and series.points:
        from sitegen.nightly.chaos import detect_dips

        windows = detect_dips(series, baseline_minutes=baseline_minutes)
        stage.sources.append(InputSource("Chaos", f"no chaos schedule given; {len(windows)} dip(s) detected in the metric"))
        stage.notes.append("no chaos schedule given: injections are dips detected in the metric")
        return windows, stage
    stage.sources.append(InputSource("Chaos", "no chaos schedule given"))
    return [], stage


def log_metrics(digest: LogDigest | None) -> dict[str, float]:
    """The log numbers rules can test (see grammar.METRICS); absent when no logs were given, so rules say n/a."""
    if digest is None:
        return {}
    serious = [s for s in digest.signatures if s.level in ("fatal", "error")]
    return {
        "fatal": digest.counts.get("fatal", 0),
        "errors": digest.counts.get("error", 0),
        "warnings": digest.counts.get("warn", 0),
        "signatures": len(serious),
        "new_signatures": sum(1 for s in serious if s.new),
    }


def _status_look(config: Config, status: str) -> tuple[str, str]:
    spec = config.statuses.get(status) if isinstance(config.statuses, dict) else None
    if not spec:
        return status, NEUTRAL_COLOR
    return spec.get("label", status), spec.get("color", NEUTRAL_COLOR)


# --- writing ------------------------------------------------------------------------------


def write_report(folder: Path, night: dt.date, status: str, data: bytes) -> tuple[Path, list[Path]]:
    """Write atomically (temp file + rename), then remove the night's reports with another status."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create the reports folder {folder}: {exc}") from None
    from sitegen.nightly.summary import reports_of_night

    target = folder / report_name(night, status)
    before = reports_of_night(folder, night)
    _remove_stale_temp_files(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportError(f"cannot write {target}: {exc}") from None
    replaced = []
    for old in before:
        if old.name == target.name:
            replaced.append(old)
            continue
        # The new report is safely in place before the old one goes, so the night is never lost.
        try:
            old.unlink()
            replaced.append(old)
        except OSError as exc:
            log.warning("could not remove the replaced report %s: %s", old, exc)
    return target, replaced


STALE_TEMP_S = 600  # a temp file lives for the milliseconds of one write; one this old is from a killed run


def _remove_stale_temp_files(folder: Path) -> None:
    """Remove what a killed `sitegen report` left: its `.report-*.pdf.*.tmp` files (never a report itself)."""
    now = time.time()
    for tmp in folder.glob(".report-*.pdf.*.tmp"):
        try:
            if tmp.is_file() and not tmp.is_symlink() and now - tmp.stat().st_mtime > STALE_TEMP_S:
                tmp.unlink()
                log.info("removed %s, left by a report run that was killed while writing", tmp.name)
        except OSError:
            pass  # someone else's file, or gone already: harmless


# --- the pipeline -------------------------------------------------------------------------


def build_night(config: Config, request: ReportRequest, plan: _Plan | None = None) -> NightReport:
    """Everything but the PDF: read the inputs, analyse, judge, say it in one sentence. Each stage returns its values."""
    from sitegen.nightly.analyze import analyze_injections, night_metrics
    from sitegen.nightly.headline import Night, write_headline
    from sitegen.nightly.rules import evaluate

    plan = plan or _check(config, request)
    rc = config.report
    window = plan.window
    root = inputs_root(plan)

    with _stage("logs"):
        digest, compared, logs_stage = _read_logs(plan)
    with _stage("metrics"):
        series, metrics_stage = _load_series(plan, request, root)
    with _stage("chaos"):
        windows, chaos_stage = _load_windows(plan, series, root, baseline_minutes=rc.baseline_minutes)

    injections: list[Injection] = []
    if series is not None and series.points and windows:
        with _stage("analyze"):
            injections = analyze_injections(
                series,
                windows,
                digest.error_times if digest is not None else [],
                baseline_minutes=rc.baseline_minutes,
                recovery_fraction=rc.recovery_fraction,
                recovery_hold_s=rc.recovery_hold_s,
            )

    metrics = {**log_metrics(digest), **night_metrics(series, injections)}
    verdict = evaluate(plan.rules, metrics, good=rc.good_status, bad=rc.bad_status)
    notes = logs_stage.notes + metrics_stage.notes + chaos_stage.notes
    missing = next((n.split(":", 1)[0] for n in metrics_stage.notes if n.startswith(("no metrics given", "metrics unavailable"))), "")
    headline = write_headline(
        Night(
            verdict=verdict,
            metrics=metrics,
            signatures=digest.signatures if digest is not None else [],
            injections=injections,
            tz=window.tz,
            has_logs=digest is not None,
            outside_window=digest.outside_window if digest is not None else 0,
            compared=compared,
            metrics_missing=missing,
        )
    )
    return NightReport(
        night=window.night,
        suite=plan.suite,
        title=f"Nightly chaos report {window.night.isoformat()}" + (f" — {plan.suite}" if plan.suite else ""),
        headline=headline,
        verdict=verdict,
        metrics=metrics,
        logs=digest,
        series=series,
        injections=injections,
        notes=notes,
        windows=windows,
        sources=logs_stage.sources + metrics_stage.sources + chaos_stage.sources,
    )


def run_report(config: Config, request: ReportRequest) -> ReportOutcome:
    """Write the night's PDF into the reports folder and say what was written and replaced."""
    from sitegen import __version__
    from sitegen.nightly.chart import ChartData, render_chart
    from sitegen.nightly.fonts import fonts_from_config
    from sitegen.nightly.pdf import PdfContext, render_pdf
    from sitegen.nightly.summary import build_summary, encode_summary

    plan = _check(config, request)
    # A missing font is found before any log is read.
    fonts = fonts_from_config(config.report)
    report = build_night(config, request, plan)
    window = plan.window
    rc = config.report

    chart_svg, chart_note = None, ""
    if report.series is not None and report.series.points:
        with _stage("chart"):
            chart = render_chart(
                ChartData(series=report.series, windows=report.windows, injections=report.injections, tz=window.tz),
                max_points=rc.chart_points,
            )
            chart_svg, chart_note = chart.svg, chart.note
    label, color = _status_look(config, report.verdict.status)
    ctx = PdfContext(
        status_label=label,
        status_color=color,
        tz=window.tz,
        since=window.since,
        until=window.until,
        created=window.night_end,
        chart_svg=chart_svg,
        chart_note=chart_note,
        top_signatures=rc.top_signatures,
        generator=f"sitegen {__version__}",
        followed=plan.followed,
    )
    summary = build_summary(report)
    with _stage("pdf"):
        data = render_pdf(report, ctx, fonts, encode_summary(summary))
    path, replaced = write_report(plan.folder, window.night, report.verdict.status, data)

    messages = [report.headline]
    messages += [f"note: {n}" for n in report.notes]
    for old in replaced:
        messages.append(f"replaced {old}" if old != path else f"replaced the earlier {old.name}")
    log.info("report: %s written (%d bytes)", path, len(data))
    return ReportOutcome(path=path, messages=messages, replaced=replaced, status=report.verdict.status)
