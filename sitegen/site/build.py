"""`sitegen build`: scan -> (nothing changed? done) -> extract (cached) -> assemble -> retention -> catalog
-> render (only pages whose key changed) -> write (only files that changed), each stage timed.

Gather first, write last: every stage before `write` only returns values, so a failure anywhere
leaves the previous site untouched. Safe to call again and again in one process (the dev server
does, on every change); a call with nothing changed reads no PDF, draws no page and writes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sitegen import __version__
from sitegen.config import Config
from sitegen.errors import BuildError, UsageError
from sitegen.limits import parse_size
from sitegen.model import Report
from sitegen.site import budget, glance, layout, listing
from sitegen.site.cache import Cached, ExtractCache, folder_key, locked
from sitegen.site.catalog import Catalog, build_catalog, reusable_lines
from sitegen.site.extract import EXTRACTOR_VERSION, Extracted, extract_many, pypdf_version, unavailable
from sitegen.site.retention import archived
from sitegen.site.scan import Found, scan_reports, shown
from sitegen.site.write import (
    MARKER,
    MARKER_BYTES,
    NOJEKYLL,
    Plan,
    SiteRecord,
    Stager,
    check_output,
    discard_staging,
    new_staging,
    state_file,
    write_or_fail,
)

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Why an unreadable PDF has no summary and is not published (card, viewer page and reports.json say so).
UNREADABLE = "cannot read the file (permission denied)"
GC_THRESHOLD = 10_000  # allocations between passes of the youngest generation during a build (Python's default: 700)
NEVER = 1 << 30  # passes of the middle generation between passes of the oldest: none during a build (default: 10)

T = TypeVar("T")


@dataclass
class BuildResult:
    """What a build did: the reports shown, warnings (each naming its file) and output paths that changed."""

    output: Path
    reports: list[Report] = field(default_factory=list)  # empty when nothing changed: then no PDF or cache is read
    shown: int = 0  # reports in the site (also when nothing changed)
    warnings: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # output-relative; empty when nothing changed
    extracted: int = 0  # PDFs opened this time (the rest came from the cache)
    written: int = 0  # files written or copied into the site
    reused: int = 0  # files carried over from the previous site unchanged
    drawn: int = 0  # pages rendered this time (the others' keys were unchanged: not even rendered)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the terminal: counts and time."""
        n = self.shown
        head = f"{n} report{'s' if n != 1 else ''} ({self.extracted} PDF(s) read, {n - self.extracted} cached)"
        if not self.reports and not self.changed:
            return f"{n} report{'s' if n != 1 else ''}; nothing changed, {self.output} is up to date ({self.seconds:.2f} s)"
        if not self.changed:
            return f"{head}; {self.output} already up to date ({self.seconds:.2f} s)"
        return (
            f"{head} -> {self.output}: {self.written} file(s) written, {self.reused} unchanged, "
            f"{len(self.changed)} path(s) changed ({self.seconds:.2f} s)"
        )


class _Stages:
    """Runs each stage, logging and recording how long it took."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def __call__(self, name: str, func: Callable[..., T], *args: Any) -> T:
        start = time.perf_counter()
        value = func(*args)
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start
        log.debug("stage %-9s %7.1f ms", name, self.timings[name] * 1000)
        return value


class _Collector:
    """The collector's thresholds while builds run in this process: set by the first build, restored by the last,
    so that two builds in two threads never leave the process without passes of the oldest generation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.before = gc.get_threshold()


_COLLECTOR = _Collector()


@contextlib.contextmanager
def _collecting_rarely() -> Iterator[None]:
    """Fewer garbage-collector passes while the build runs, and none of the oldest generation (restored after).

    A build holds tens of thousands of long-lived objects (one report is several), and with the default
    thresholds every pass of the oldest generation walks them all: a fifth of a one-new build at 10,000
    reports, and at 100,000 four passes of 0.5 s each (bench/RESULTS.md). Cycles still die young: the young
    generations are collected, only less often; what reaches the oldest waits for the build's end.
    """
    c = _COLLECTOR
    with c.lock:
        if not c.running:
            c.before = before = gc.get_threshold()
            gc.set_threshold(max(before[0], GC_THRESHOLD), before[1], NEVER)
        c.running += 1
    try:
        yield
    finally:
        with c.lock:
            c.running -= 1
            if not c.running:
                gc.set_threshold(*c.before)


@contextlib.contextmanager
def _build_lock(cache_dir: Path, output: Path) -> Iterator[None]:
    """One build per output folder at a time, across processes (CLI build while `serve` runs)."""
    lock = contextlib.ExitStack()
    try:  # only taking the lock is guarded here: an OSError from the build itself is not about the cache folder
        lock.enter_context(locked(cache_dir / f"build-{folder_key(output)}.lock"))
    except OSError as exc:
        raise BuildError(f"cache folder {cache_dir} cannot be used ({exc.strerror})") from None
    with lock:
        yield


def build_site(config: Config, *, keep_published: bool = True) -> BuildResult:
    """Build the site described by `config`; raises UsageError/BuildError, leaving the old output as it was.

    `keep_published`: a reports folder with no report does not replace a site that shows nights (an empty mount
    point looks like that). The dev server passes False: there the user empties the folder on purpose.
    """
    start = time.perf_counter()
    reports_dir, output, cache_dir = config.path("reports"), config.path("output"), config.path("cache_dir")
    protected = [config.root, PACKAGE_DIR, Path.cwd()]  # the installed package, too
    check_output(output, reports_dir, cache_dir, protected)
    if not reports_dir.is_dir():
        # Not an empty site: a typo or a share not mounted must not replace every published night with none.
        raise UsageError(f"reports folder {reports_dir} does not exist or is not a folder; nothing was built, {output} is as it was")
    stage = _Stages()
    result = BuildResult(output=output)
    with _build_lock(cache_dir, output), _collecting_rarely():
        # One walk of the reports folder for the glance's digest and, if the build goes on, the scan.
        listed = stage("list", listing.walk, reports_dir.resolve())
        inputs = stage("inputs", _inputs_fingerprint, config, listed)
        memo = glance.record_file(cache_dir, output)
        seen = stage("glance", glance.recall, memo)
        if seen is not None and seen.inputs == inputs and seen.output == glance.output_stamps(output, seen.folders):
            # Nothing to read, draw or write: the site holds what these inputs give. Its warnings are repeated.
            log.debug("nothing changed since the last build of %s", output)
            result.shown = seen.shown
            result.warnings += seen.warnings
        else:
            glance.forget(memo)  # if this build dies half-way, the next one must look closer
            scanned = stage("scan", scan_reports, reports_dir, listed)
            del listed  # its entries and their stats: 9 MB at 10,000 reports, not needed past the scan
            last = stage("record", SiteRecord.load, state_file(cache_dir, output), output)
            if not scanned.found and keep_published:
                _refuse_to_empty(reports_dir, output, last, scanned.warnings)
            if last.unchanged(inputs):  # unchanged, but the glance was lost or the output's root files were touched
                shown_before = last.about.get("shown")
                result.shown = shown_before if isinstance(shown_before, int) else 0
                repeated = [str(w) for w in last.about.get("warnings", ()) if isinstance(w, str)]
            else:
                repeated = _build(config, scanned.found, last, inputs, stage, result)
            result.warnings += scanned.warnings + repeated
            folders = glance.output_folders(output)
            left = glance.Glance(inputs, glance.output_stamps(output, folders), folders, result.shown, scanned.warnings + repeated)
            stage("remember", glance.remember, memo, left)
    result.warnings = [shown(w) for w in result.warnings]  # file names and PDF text cannot forge terminal output
    result.timings = stage.timings
    result.seconds = time.perf_counter() - start
    return result


def _refuse_to_empty(reports_dir: Path, output: Path, last: SiteRecord, scan_warnings: list[str]) -> None:
    """A UsageError when the output shows nights (its night pages, whether or not a build record is left)."""
    pages = sum(1 for rel in last.tree if rel.startswith(layout.PAGES_DIR + "/"))
    if not pages:
        return
    # The scan's own words first (a folder it cannot read, names that are not reports'): they say what to fix.
    why = "; ".join(shown(w) for w in scan_warnings[:5]) if scan_warnings else "a share not mounted?"
    raise UsageError(
        f"reports folder {reports_dir} holds no reports, but {output} shows {pages} night page(s) ({why}); nothing was "
        f"built. To publish a site with no nights on purpose, delete {output} first."
    )


def _build(config: Config, found: list[Found], last: SiteRecord, inputs: str, stage: _Stages, result: BuildResult) -> list[str]:
    """The stages of a build with something to do: extract -> assemble -> retention -> catalog -> render -> write.

    Returns the warnings about the reports and the site, which a no-change build repeats.
    """
    output, cache_dir = config.path("output"), config.path("cache_dir")
    extractor = _extract_stamp(config)
    cache, cache_warnings = stage("cache load", ExtractCache.load, cache_dir, config.path("reports"), extractor)
    result.warnings += cache_warnings  # about this run's cache only: not repeated by a later no-change build
    warnings: list[str] = []  # about the reports and the site: a no-change build repeats these
    extracted, result.extracted = stage("extract", _extract, found, cache, config.summary_length)
    result.warnings += stage("cache save", cache.save)
    reports = stage("assemble", _assemble, found, extracted, warnings, extractor)
    unpublished = stage("retention", _unpublished, config, found, reports)
    paths = stage("layout", layout.site_paths, reports)
    catalog = stage("catalog", _catalog, config, reports, unpublished, paths, last)
    staging = _staging(output)
    try:
        sink = Stager(staging)  # drawn pages go to disk as they are drawn: no process holds them all
        plan = stage("render", _plan, config, reports, paths, catalog.data, found, unpublished, last.kept_keys(), sink)
        nights = len({r.date for r in reports if r.source not in unpublished})
        warnings += stage("budget", _budget_warnings, plan, found, nights)
        # What a no-change build repeats, and which report each line of reports.json is (the next build reuses them).
        about = {"inputs": inputs, "shown": len(reports), "warnings": warnings, "catalog_tokens": catalog.tokens}
        outcome = stage("write", write_or_fail, output, plan, last, about, staging)
    finally:
        discard_staging(staging)  # after a first build it is gone already (renamed into place)
    result.reports, result.shown, result.drawn = reports, len(reports), len(plan.keys) - len(plan.keep)
    result.changed, result.written, result.reused = outcome.changed, outcome.written, outcome.reused
    return warnings


def _staging(output: Path) -> Path:
    """The folder beside `output` that the drawn pages are written into: the whole site of a first build,
    the pages to move into place for a later one."""
    try:
        return new_staging(output)
    except OSError as exc:
        raise BuildError(f"cannot prepare the site beside {output} ({exc.strerror}); nothing was changed") from None


def _extract_stamp(config: Config) -> str:
    """What the cached results depend on besides the file itself."""
    # summary_length: extract()'s one setting.
    return f"extractor {EXTRACTOR_VERSION}; pypdf {pypdf_version()}; summary_length {config.summary_length}"


def _extract(found: list[Found], cache: ExtractCache, summary_length: int) -> tuple[dict[str, Extracted | Cached], int]:
    """Every report's extraction, from the cache where its stamp still matches; and how many PDFs were read."""
    out: dict[str, Extracted | Cached] = {}
    todo: list[Found] = []
    for f in found:
        if not f.readable:
            out[f.source] = unavailable(UNREADABLE)
            continue
        hit = cache.get(f.path, f.stamp)
        if hit is None:
            todo.append(f)
        else:
            out[f.source] = hit
    fresh = extract_many([(f.path, f.size) for f in todo], summary_length)
    for f, value in zip(todo, fresh, strict=True):
        out[f.source] = value
        cache.put(f.path, f.stamp, value)
    return out, len(todo)


def _assemble(found: list[Found], extracted: dict[str, Extracted | Cached], warnings: list[str], stamp: str) -> list[Report]:
    """Reports from scan + extraction; where summary.json disagrees with the file name, the name wins.

    A cached report's title, summary, metrics and signatures are decoded when a page first reads them (Report.deferred).
    """
    reports = []
    for f in found:
        x = extracted[f.source]
        problems = list(x.problems)
        if x.summary_date is not None and x.summary_date != f.date.isoformat():
            problems.append(f"summary.json says date {x.summary_date!r} but the file name says {f.date.isoformat()}; the name wins")
        if x.summary_status is not None and x.summary_status.lower() != f.status:
            problems.append(f"summary.json says status {x.summary_status!r} but the file name says {f.status!r}; the name wins")
        if x.summary_suite and f.suite and x.summary_suite != f.suite:
            problems.append(f"summary.json says suite {x.summary_suite!r} but the file is in folder {f.suite!r}; the folder wins")
        warnings.extend(f"{f.path}: {problem}" for problem in problems)
        known = {
            "source": f.source,
            "date": f.date,
            "status": f.status,
            "suite": f.suite,
            "bytes": f.size,
            "problems": tuple(problems),
            # The file's own path, not the shown name: two names that clean_text shows alike are two files.
            "made_from": f"{f.path}\0{f.stamp}\0{f.readable}\0{stamp}",
        }
        if isinstance(x, Cached):
            reports.append(Report.deferred(functools.partial(_loaded, x), x.signature_keys, **known))
        else:
            reports.append(Report(**known, **_read_fields(x)))
    return reports


def _read_fields(x: Extracted) -> dict[str, Any]:
    """The fields of a Report that extraction read (the others come from the scan)."""
    return {
        "title": x.title,
        "summary": x.summary,
        "pages": x.pages,
        "metrics": dict(x.metrics),
        "extra": dict(x.extra),
        "summary_source": x.summary_source,
        "signatures": x.signatures,
    }


def _loaded(cached: Cached) -> dict[str, Any]:
    return _read_fields(cached.load())


def _unpublished(config: Config, found: list[Found], reports: list[Report]) -> dict[str, str]:
    """{source: reason} for the PDFs the site does not carry: unreadable ones, then what retention archives."""
    unreadable = {f.source: UNREADABLE for f in found if not f.readable}
    keep = config.retention
    max_bytes = None if keep.max_bytes is None else parse_size(keep.max_bytes)
    return {**unreadable, **archived(reports, keep.max_nights, max_bytes, skip=unreadable)}


def _budget_warnings(plan: Plan, found: list[Found], nights: int) -> list[str]:
    """GitHub Pages' limits against the planned site, from sizes already known (nothing is read or walked)."""
    sizes = {f.path: f.size for f in found}
    files = {path: len(data) for path, data in plan.files.items()}
    files.update((path, size) for path, (_sha, size) in plan.staged.items())
    for path, source in plan.copies.items():
        size = sizes.get(source)
        if size is None:  # pdf.js: a few files, stat them
            try:
                size = source.stat().st_size
            except OSError:
                size = 0
        files[path] = size
    return budget.from_sizes(files, nights).problems()


def _stat_files(paths: list[Path]) -> list[list[Any]]:
    out = []
    for path in sorted(paths):
        try:
            st = path.stat()
            out.append([str(path), st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([str(path), None, None])
    return out


@functools.cache
def _code_stamp() -> list[list[Any]]:
    """The site-building code this process runs, stamped once: an upgraded sitegen re-renders.

    Taken at first use rather than per build, so a long-running dev server never records the
    stamps of code it has not loaded (its pages came from the old code).
    """
    return _stat_files([*(PACKAGE_DIR / "site").rglob("*.py"), PACKAGE_DIR / "model.py", PACKAGE_DIR / "config.py"])


def _inputs_fingerprint(config: Config, listed: list[listing.Folder]) -> str:
    """A hash of everything the output depends on, cheap enough to compute on every rebuild (no file is read).

    What extraction reads is a function of each file's stamp and the extractor's, so the stamps stand
    for the reports' contents here (as they do for the extraction cache); owner, mode and the builder's
    user stand for whether a file can be read.
    """
    from sitegen.site.assets import pdfjs_files, templates_dir, theme_files, theme_folders

    themes = theme_folders(config)
    files = [p for folder in themes for p in theme_files(folder)]
    data = {
        "version": __version__,
        "config": config.fingerprint(),  # the whole config: a key added to a template can never serve stale pages
        "reports_dir": str(config.path("reports")),  # the PDFs are linked from there
        "reports": glance.reports_stamps(listed),
        "user": [os.geteuid(), os.getegid(), *os.getgroups()],
        "extractor": _extract_stamp(config),
        "theme": _stat_files(files),
        # Which folder holds a theme's templates: an empty templates/ appearing in a theme of bare templates changes it.
        "templates": [str(templates_dir(folder)) for folder in themes],
        "pdfjs": _stat_files(list(pdfjs_files().values())),
        "code": _code_stamp(),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _code_salt() -> str:
    """What every page key and reused catalog line depends on besides its inputs: sitegen's own code, so an upgrade redraws all."""
    return hashlib.sha256(json.dumps([__version__, _code_stamp()]).encode()).hexdigest()


def _catalog(config: Config, reports: list[Report], unpublished: dict[str, str], paths: layout.SitePaths, last: SiteRecord) -> Catalog:
    """reports.json, reusing the lines of the one the last build wrote (when the output still holds it) for unchanged reports."""
    tokens = last.about.get("catalog_tokens")
    # The old file's bytes are not kept while the new one is joined: at 100,000 reports each is 100 MB.
    reusable = reusable_lines(last.recorded(layout.REPORTS_JSON), tokens) if isinstance(tokens, list) else {}
    return build_catalog(config, reports, unpublished, paths, reusable, _code_salt())


def _plan(
    config: Config,
    reports: list[Report],
    paths: layout.SitePaths,
    catalog: bytes,
    found: list[Found],
    unpublished: dict[str, str],
    previous: dict[str, str],
    sink: Stager,
) -> Plan:
    """Every file of the new site: pages drawn or kept (their key unchanged), static files, reports.json, PDFs, pdf.js."""
    from sitegen.site.assets import pdfjs_files
    from sitegen.site.render import render_pages

    rendered = render_pages(config, reports, unpublished, previous, _code_salt(), sink, paths)
    plan = Plan(keys=rendered.keys, staged=rendered.staged)
    plan.files.update(rendered.files)
    plan.keep = {path: rendered.keys[path] for path in rendered.kept}
    plan.files[layout.REPORTS_JSON] = catalog
    plan.files[NOJEKYLL] = b""  # GitHub Pages: serve the files as they are
    plan.files[MARKER] = MARKER_BYTES
    by_source = {f.source: f for f in found}
    for report in reports:
        if report.source not in unpublished:
            f = by_source[report.source]
            plan.copies[paths.pdfs[report.source]] = f.path
            plan.stamps[paths.pdfs[report.source]] = f.stamp
    plan.copies.update(pdfjs_files())
    clash = (set(plan.files) | set(plan.staged)) & set(plan.copies)
    if clash:
        raise BuildError(f"two files want the same output path: {', '.join(sorted(clash))}")
    return plan
