"""Render the site's pages from reports: the index, monthly archives, one viewer page per report, static files.

A pure function of (config, reports): it returns `{output path: bytes}` and writes nothing, so
tests need no disk and an incremental build is byte-identical to a clean one (no timestamps).
Within one process, a page whose template context and theme are unchanged is not rendered again:
its bytes come from the previous call (the dev server rebuilds on every change).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import math
import posixpath
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen.config import Config
from sitegen.errors import BuildError
from sitegen.model import STATUS_RE, Report, format_metric, report_name
from sitegen.site import history, layout, trend
from sitegen.site.assets import DEFAULT_THEME, templates_dir, theme_files, theme_folders
from sitegen.site.extract import collapse
from sitegen.site.fanout import draw_all
from sitegen.site.feed import FEED, absolute, feed_xml
from sitegen.site.retention import is_archived
from sitegen.site.suite_pages import YearLink, calendar_years, signature_lines, suite_row

log = logging.getLogger(__name__)

UNKNOWN_COLOR = "#6e7781"
GENERATED_CSS = "static/generated.css"  # status colours and the suite filter, drawn from the config and the reports
# Every page's Content-Security-Policy (a <meta>: GitHub Pages sets no headers). No inline script or
# style anywhere, pdf.js and its worker from the site itself, nothing fetched from another origin (so
# no viewer can be pointed at a foreign PDF), no plugins, no <base> rewriting links, no form posts.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'"
)
UNAVAILABLE = "summary unavailable:"  # how extraction words a failed summary
# Statuses shown with a check mark; other calm statuses get a plain dot (the label still says it).
_GOOD_WORDS = frozenset({"good", "ok", "pass", "passed", "green", "success"})
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Status:
    """How a status word is shown: colour, label, icon, whether the night needs a look."""

    word: str
    label: str
    color: str
    text_color: str  # black or white, whichever reads better on `color`
    needs_look: bool
    known: bool
    icon: str  # name of an icon in the theme's icons template: ok | alert | unknown | dot

    @property
    def css_class(self) -> str:
        """The class that sets `--status` and `--status-text` (static/generated.css): no inline styles, for the CSP."""
        # Status words are [a-z][a-z0-9_]* (model.STATUS_RE), so `status-WORD` is a safe class that
        # can never be `unknown-status`.
        return f"status-{self.word}" if self.known else "unknown-status"


def _template_cache(config: Config) -> Any:
    """Compiled templates kept in the cache folder: compiling the theme costs a new process about 0.3 s.

    jinja2 checks each template's source against its cached code, so an edited template is compiled again.
    A cache is only ever a saving: a folder deleted while the dev server runs is made again, and one that
    cannot be written or read costs the compile, never the build.
    """
    import jinja2

    folder = config.path("cache_dir") / "templates"

    class Cache(jinja2.FileSystemBytecodeCache):  # defined here: jinja2 is imported only by a build that draws
        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # unreadable or torn (pickle and marshal raise their own kinds): compiled again
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError as exc:
                log.debug("compiled template not kept in %s: %s", folder, exc)

    return Cache(str(folder))


def make_environment(config: Config) -> Any:
    """A Jinja2 environment over the theme folders; `default:NAME` always means the default theme's NAME."""
    import jinja2

    folders = [str(templates_dir(t)) for t in theme_folders(config)]
    loader = jinja2.ChoiceLoader(
        [
            jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(DEFAULT_THEME / "templates"))}, delimiter=":"),
            jinja2.FileSystemLoader(folders),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        bytecode_cache=_template_cache(config),
        autoescape=True,  # everywhere: titles, summaries and metric names come from PDFs
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # one environment per build: no need to stat templates on every include
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["nicedate"] = nice_date
    env.filters["number"] = format_number
    env.filters["filesize"] = format_size
    env.filters["clip"] = lambda text, limit: collapse(str(text), limit)
    env.filters["metric_name"] = metric_name
    env.filters["metric"] = lambda value, key: format_metric(key, value)
    # The icons are drawn about 20,000 times in a full build, and importing icons.html in each template costs as
    # much again: as globals each is drawn once per argument (so a theme's icons.html must draw only from those).
    icons = env.get_template("icons.html").module
    for name in ("icon", "badge"):
        env.globals[name] = _DrawnOnce(getattr(icons, name, None), name)
    return env


class _DrawnOnce:
    """A macro of icons.html as a global: drawn once per set of arguments while its environment lives.

    Calls it cannot remember go straight to the macro: arguments that cannot be hashed, and `{% call %}`
    (a new `caller` each time, which would keep its page alive in the cache). `typed`: Markup('<b>') and
    '<b>' are equal strings but not the same argument to a template.
    """

    def __init__(self, macro: Any, name: str) -> None:
        self.macro, self.name = macro, name
        self.remembered = functools.lru_cache(maxsize=256, typed=True)(macro) if callable(macro) else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.remembered is None:
            import jinja2

            raise jinja2.TemplateRuntimeError(f"the theme's icons.html has no macro {self.name!r}")
        if "caller" in kwargs:
            return self.macro(*args, **kwargs)
        try:
            hash((args, *kwargs.items()))
        except TypeError:
            return self.macro(*args, **kwargs)
        return self.remembered(*args, **kwargs)


def nice_date(day: dt.date) -> str:
    """'Fri 9 Jul 2021', independent of the machine's locale so output is reproducible."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def format_number(value: float) -> str:
    """A plain number the one way both wings show numbers (model.format_metric): 1,204 · 4,033 · 0.25."""
    return format_metric("", value)


# Metric-name suffixes that are units: model.format_metric moves the unit from the name to the value ("110 s").
_UNIT_SUFFIXES = ("_pct", "_ms", "_s")
# What the report wing's metrics mean, in words a reader knows (docs/rules.md); others are derived from the key.
_METRIC_LABELS = {
    "new_signatures": "new signatures",
    "min_qps": "min QPS",
    "max_drop_pct": "worst drop",
    "worst_ttr_s": "worst recovery",
    "unrecovered": "not recovered",
}


@functools.lru_cache(maxsize=4096)
def metric_name(key: str) -> str:
    """`max_drop_pct` -> 'worst drop', `p99_ms` -> 'p99': the words for a metric; its unit goes with the value."""
    key = str(key)
    if key in _METRIC_LABELS:
        return _METRIC_LABELS[key]
    for suffix in _UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return key.replace("_", " ")


# Nights repeat the same few values (0 fatal, 8 injections): format each (key, value) once per process.
_shown = functools.lru_cache(maxsize=65536)(format_metric)

# The numbers a chaos engineer looks at first; any other metric follows in name order.
CARD_METRICS = ("fatal", "errors", "warnings", "new_signatures", "min_qps", "max_drop_pct", "worst_ttr_s")
CARD_METRICS_SHOWN = 8


@dataclass(frozen=True)
class Chip:
    """One metric as a card or a night page shows it; `fired` names the rule it broke ("" when none)."""

    key: str
    label: str
    value: str
    fired: str = ""


def card_metrics(metrics: dict[str, float], fired: tuple[FiredRule, ...] = (), limit: int | None = CARD_METRICS_SHOWN) -> list[Chip]:
    """The metrics to show: those of fired rules first, then the key ones in a fixed order, then the rest."""
    rules: dict[str, list[str]] = {}
    for rule in fired:
        rules.setdefault(rule.metric, []).append(rule.text)
    order = list(dict.fromkeys([*(r.metric for r in fired), *CARD_METRICS]))
    values = dict(metrics)
    for rule in fired:  # a rule's value stands in for a metric the summary did not list
        if rule.metric not in values and rule.value is not None:
            values[rule.metric] = rule.value
    first = [key for key in order if key in values]
    rest = sorted(key for key in values if key not in order)
    chips = [Chip(k, metric_name(k), _shown(k, values[k]), "; ".join(rules.get(k, ()))) for k in first + rest]
    return chips if limit is None else chips[:limit]


_RULE_RE = re.compile(r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<number>-?\d+(?:\.\d+)?)\s*$")
_OPS = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠", ">": ">", "<": "<"}


@dataclass(frozen=True)
class FiredRule:
    """A verdict rule that fired: `rule` as configured (`worst_ttr_s > 60`), `text` in words ('worst recovery > 60 s')."""

    rule: str
    metric: str
    value: float | None
    text: str
    shown_value: str  # the value it saw, formatted ('110 s'), or ''


def _fired_rule(rule: str, metric: str, value: Any) -> FiredRule:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None
    match = _RULE_RE.match(rule)
    if match:
        metric = metric or match["metric"]
        threshold = float(match["number"])
        text = f"{metric_name(match['metric'])} {_OPS[match['op']]} {format_metric(match['metric'], threshold)}"
    else:
        text = rule
    return FiredRule(rule, metric, number, text, format_metric(metric, number) if number is not None else "")


def _field(item: Any, name: str) -> Any:
    """A field of a record in summary.json's extra keys (untrusted: anything may be there)."""
    return item.get(name) if isinstance(item, dict) else None


def fired_rules(report: Report) -> tuple[FiredRule, ...]:
    """The rules that made the night's verdict, from summary.json (`rules_fired`, or `rules` with `fired`)."""
    found = report.extra.get("rules_fired")
    if not isinstance(found, list):
        every = report.extra.get("rules")
        found = [r for r in every if _field(r, "fired") is True] if isinstance(every, list) else []
    out = []
    for item in found[:20]:  # a summary is untrusted: bound what a card draws
        rule, metric = _field(item, "rule"), _field(item, "metric")
        if isinstance(rule, str) and rule.strip():
            out.append(_fired_rule(rule.strip(), metric if isinstance(metric, str) else "", _field(item, "value")))
    return tuple(out)


@dataclass(frozen=True)
class Signature:
    """One log signature as a night page lists it."""

    kind: str  # fatal | panic | error | warn | log: how severe, for the label, the styling and the order
    message: str
    component: str  # the pod or log file it was first seen in, or ''
    count: int
    new: bool
    key: str = ""  # the fingerprint, for its history across nights (site/history.py)


_KINDS = {"fatal": 0, "crit": 0, "critical": 0, "panic": 1, "error": 2, "err": 2, "warn": 3, "warning": 3}
_KIND_WORDS = ("fatal", "panic", "error", "warn", "log")
_PANIC_RE = re.compile(r"\bpanic|goroutine \d+|stack trace|nil pointer", re.IGNORECASE)
SIGNATURES_SHOWN = 5


def top_signatures(report: Report, limit: int = SIGNATURES_SHOWN) -> tuple[Signature, ...]:
    """The night's worst log signatures: fatal, then panic, error, warning; NEW first; then count (the report's order)."""
    ranked = []
    for i, sig in enumerate(report.signatures):
        rank = _KINDS.get(sig.kind.lower(), _KINDS.get(sig.level.lower(), 4))
        if rank > 1 and _PANIC_RE.search(sig.message or sig.pattern):  # a summary from before signatures had a kind
            rank = 1
        ranked.append((rank, not sig.new, -sig.count, i))
    out = []
    for rank, _, _, i in sorted(ranked):
        sig = report.signatures[i]
        message = collapse(sig.message or sig.pattern, 240)
        if message:
            out.append(Signature(_KIND_WORDS[rank], message, sig.component, sig.count, sig.new, sig.key))
            if len(out) == limit:
                break
    return tuple(out)


# Words a report title uses that say nothing the date and suite do not ("Nightly chaos report 2021-07-09 — cluster-a").
_FILLER = frozenset(
    {"nightly", "night", "chaos", "report", "reports", "test", "tests", "testing", "run", "results", "result", "summary"}
    | {"for", "of", "on", "the", "a", "and", "at", "in", "suite"}
)


@functools.lru_cache(maxsize=16384)  # a night's card, its page and its search entry ask in turn, thousands apart
def informative_title(title: str, date: dt.date, suite: str) -> str:
    """The title, or '' when it only repeats the date and the suite that the card shows anyway."""
    text = title.lower()
    iso = date.isoformat()
    for said in (iso, nice_date(date).lower(), iso.replace("-", ""), suite.lower()):
        if said:
            text = text.replace(said, " ")
    return title if any(word not in _FILLER for word in re.findall(r"\w+", text)) else ""


def download_name(report: Report) -> str:
    """A name that stays unique in a downloads folder: `SUITE-report-DATE-STATUS.pdf`.

    The suite as its output folder is named (layout.folder_name): file-safe, and two suites never share one.
    """
    name = report_name(report.date, report.status) if STATUS_RE.match(report.status) else f"report-{report.date}.pdf"
    return f"{layout.folder_name(report.suite)}-{name}" if report.suite else name


def format_size(size: int) -> str:
    """File size in B, KB or MB with one decimal."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _text_color(color: str) -> str:
    hex_ = color.lstrip("#")
    if len(hex_) == 3:
        hex_ = "".join(c * 2 for c in hex_)
    channels = []
    for i in (0, 2, 4):
        c = int(hex_[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    # Pick whichever of black/white has the higher WCAG contrast ratio on this colour.
    return "#ffffff" if (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) else "#1f2328"


def statuses(config: Config) -> dict[str, Status]:
    """The configured status vocabulary as display records."""
    out = {}
    for word, spec in config.statuses.items():
        needs_look = bool(spec.get("needs_look", False))
        out[word] = Status(
            word=word,
            label=spec.get("label", word),
            color=spec["color"],
            text_color=_text_color(spec["color"]),
            needs_look=needs_look,
            known=True,
            icon="alert" if needs_look else ("ok" if word in _GOOD_WORDS else "dot"),
        )
    return out


def status_of(report: Report, vocabulary: dict[str, Status]) -> Status:
    """A report's status record; a word not in the config becomes a neutral 'unknown status'."""
    found = vocabulary.get(report.status)
    if found is not None:
        return found
    return Status(
        word=report.status,
        label=f"Unknown status: {report.status}",
        color=UNKNOWN_COLOR,
        text_color="#ffffff",
        needs_look=False,
        known=False,
        icon="unknown",
    )


def _neighbours(reports: list[Report]) -> dict[str, tuple[Report | None, Report | None]]:
    """(older, newer) report in the same suite for each report, keyed by source."""
    out: dict[str, tuple[Report | None, Report | None]] = {}
    suites: dict[str, list[Report]] = {}
    for report in sorted(reports, key=lambda r: (r.date, r.source)):
        suites.setdefault(report.suite, []).append(report)
    for chain in suites.values():
        for i, report in enumerate(chain):
            older = chain[i - 1] if i > 0 else None
            newer = chain[i + 1] if i + 1 < len(chain) else None
            out[report.source] = (older, newer)
    return out


@dataclass(frozen=True)
class Card:
    """Everything a template needs to draw one report, with links relative to the page showing it."""

    report: Report
    status: Status
    page_url: str
    pdf_url: str | None  # None when the PDF could not be published
    suite_index: int  # position of the suite in the filter list, for CSS-only filtering
    unpublished: str = ""  # why the PDF is not in the site ("" when it is)

    @property
    def archived(self) -> bool:
        """True when retention left the PDF out of the site: the card keeps its summary and says 'PDF archived'."""
        return is_archived(self.unpublished)

    @property
    def unavailable(self) -> bool:
        """True when extraction failed and the summary is the 'summary unavailable: REASON' text."""
        return self.report.summary.startswith(UNAVAILABLE)

    @property
    def problems(self) -> tuple[str, ...]:
        """Problems worth their own line: the ones the summary text does not already say."""
        return tuple(p for p in self.report.problems if p not in self.report.summary)

    @functools.cached_property
    def fired(self) -> tuple[FiredRule, ...]:
        """The verdict rules that fired (from summary.json; none for PDFs of other tools)."""
        return fired_rules(self.report)

    @property
    def chips(self) -> list[Chip]:
        """The card's metrics: fired ones first (marked), then the key ones, at most CARD_METRICS_SHOWN."""
        return self.all_metrics[:CARD_METRICS_SHOWN]

    @functools.cached_property
    def all_metrics(self) -> list[Chip]:
        """Every metric, in the card's order: for the night page."""
        return card_metrics(self.report.metrics, self.fired, limit=None)

    @functools.cached_property
    def signatures(self) -> tuple[Signature, ...]:
        """The night's worst log signatures, for the night page."""
        return top_signatures(self.report)

    @functools.cached_property
    def subtitle(self) -> str:
        """The title when it says more than the date and suite shown beside it, else ''."""
        return informative_title(self.report.title, self.report.date, self.report.suite)

    @property
    def download_name(self) -> str:
        return download_name(self.report)


@dataclass(frozen=True)
class MonthLink:
    """A link to one month's archive page, relative to the page showing it."""

    label: str  # 'July 2021'
    url: str


@dataclass(frozen=True)
class Month:
    """One month of the archive as the index lists it: link, number of nights, how many need a look."""

    key: str  # 'YYYY-MM'
    label: str
    url: str
    nights: int
    needing_look: int


@functools.lru_cache(maxsize=4096)
def _relative_dir(from_dir: str, to_dir: str) -> str:
    return layout.relative(posixpath.join(from_dir, "x"), to_dir or ".")


def _link(from_page: str, to_path: str) -> str:
    """layout.relative, memoised per folder pair: a site has few folders but thousands of links."""
    # rpartition, not posixpath.split: the site's paths are normalised (no '//', no trailing '/'), and a
    # full build makes 270,000 links, where posixpath's split and dirname cost about 2 us each.
    to_dir, _, name = to_path.rpartition("/")
    up = _relative_dir(from_page.rpartition("/")[0], to_dir)
    return name if up == "." else f"{up}/{name}"


def static_files(config: Config) -> dict[str, bytes]:
    """The theme's static files under `static/`; a user theme's file replaces the default one of the same name."""
    files: dict[str, Path] = {}
    for theme in reversed(theme_folders(config)):
        folder = theme / "static"
        if not folder.is_dir():
            continue
        for path in theme_files(folder):
            files[f"{layout.STATIC_DIR}/{path.relative_to(folder).as_posix()}"] = path
    return {name: files[name].read_bytes() for name in sorted(files)}


@dataclass(frozen=True)
class RenderedSite:
    """What render_pages returns: the bytes of the pages drawn, and the key of every keyed page."""

    files: dict[str, bytes]  # output path -> bytes: pages drawn now, the feed, static files
    keys: dict[str, str]  # output path -> key, for every page that has one (drawn or not)
    kept: frozenset[str]  # pages whose key equals `previous`: not drawn, their file on disk stays
    staged: dict[str, tuple[str, int]]  # pages drawn and handed to the `sink` (not in `files`): what it returned


def render_site(config: Config, reports: list[Report], unpublished: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Every page of the site plus the theme's static files, as {output path: bytes}.

    `unpublished` maps the sources whose PDF is not in the site to the reason:
    their cards and viewer pages say so instead of linking a missing file.
    """
    return render_pages(config, reports, unpublished).files


def render_pages(
    config: Config,
    reports: list[Report],
    unpublished: Mapping[str, str] | None = None,
    previous: Mapping[str, str] | None = None,
    salt: str = "",
    sink: Callable[[str, bytes], tuple[str, int]] | None = None,
    paths: layout.SitePaths | None = None,
) -> RenderedSite:
    """Like render_site, but pages whose key is `previous[path]` are not drawn (the build keeps their files).

    `salt` joins every key: the build passes a stamp of sitegen's own code, so an upgrade redraws all.
    `sink(path, bytes)`, when given, takes each keyed page as it is drawn (a first build writes it
    into its staging folder) and what it returns is kept instead of the bytes. `paths`: the build's
    layout.site_paths(reports), when it has them already.
    """
    import jinja2

    reasons = {source: str(why) for source, why in (unpublished or {}).items()}
    previous = previous or {}
    try:
        out = _render(config, reports, reasons, salt, paths or layout.site_paths(reports))
        files: dict[str, bytes] = {}
        keys: dict[str, str] = {}
        kept: set[str] = set()
        todo: dict[str, _Page] = {}
        for path, value in out.items():
            if isinstance(value, _Page):
                keys[path] = value.key
                if previous.get(path) == value.key:
                    kept.add(path)
                else:
                    todo[path] = value
            else:
                files[path] = value
        unkeyed = len(files)
        if sink is None:
            files.update(zip(todo, draw_all([page.draw for page in todo.values()], _template_problem), strict=True))
            staged = {}
        else:
            jobs = [functools.partial(_drawn_into, sink, path, page.draw) for path, page in todo.items()]
            staged = dict(zip(todo, draw_all(jobs, _template_problem), strict=True))
    except jinja2.TemplateError as exc:
        raise BuildError(_template_problem(exc) or str(exc)) from None
    log.debug("drew %d of %d keyed pages (%d unchanged), plus %d other files", len(todo), len(keys), len(kept), unkeyed)
    return RenderedSite(files, keys, frozenset(kept), staged)


def _drawn_into(sink: Callable[[str, bytes], tuple[str, int]], path: str, draw: Callable[[], bytes]) -> tuple[str, int]:
    return sink(path, draw())


def _template_problem(exc: BaseException) -> str | None:
    """What a template error tells the theme's author; None for anything else (a bug)."""
    import jinja2

    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"theme template {exc.filename or exc.name}, line {exc.lineno}: {exc.message}"
    if isinstance(exc, jinja2.TemplateError):
        # Usually a user theme naming a variable or template that does not exist (StrictUndefined).
        return f"theme template error: {exc.message or exc}"
    return None


# --- keys: a page is rendered only when its key, a digest of all its inputs, has changed ----------

_env_lock = threading.Lock()
# Theme fingerprint and cache folder -> jinja2 Environment (at most one kept): templates compile once per process.
_environments: dict[str, Any] = {}


def _theme_fingerprint(config: Config) -> str:
    """A hash of every template file the environment can load: an edited template changes every page's key."""
    digest = hashlib.blake2b(digest_size=16)
    for folder in dict.fromkeys([*(templates_dir(t) for t in theme_folders(config)), DEFAULT_THEME / "templates"]):
        digest.update(b"\0dir\0" + str(folder).encode())
        for path in theme_files(folder):
            digest.update(b"\0file\0" + path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _environment(config: Config, fingerprint: str) -> Any:
    # By cache folder too: the environment writes its compiled templates there, and one process (the dev server,
    # a test run) may build projects with different cache folders.
    key = f"{fingerprint}\0{config.path('cache_dir')}"
    with _env_lock:
        env = _environments.get(key)
        if env is None:
            env = make_environment(config)
            _environments.clear()
            _environments[key] = env
        return env


class _Page:
    """A page not rendered yet: its key, and how to draw it if the key says it changed."""

    __slots__ = ("draw", "key")

    def __init__(self, key: str, draw: Callable[[], bytes]) -> None:
        self.key, self.draw = key, draw


class _Renderer:
    """Turns (template, key, context) into a page: drawn at once without a key, else drawn only if needed.

    The caller derives each key from everything the page's template context is made of: the
    reports it draws, their page paths and publish state, its neighbours and path. The renderer
    adds what every page shares: the theme's templates, the whole config, the suite list and the
    code (the `salt`). An unchanged key therefore means the bytes on disk are what a fresh render
    would give, and the context (cards, relative links) is never built for such a page.
    """

    def __init__(self, env: Any, fingerprint: bytes) -> None:
        self.env = env
        self.fingerprint = fingerprint

    def __call__(self, template: str, key: bytes | None, context: Callable[[], dict[str, Any]]) -> Any:
        def draw() -> bytes:
            return self.env.get_template(template).render(**context()).encode("utf-8")

        if key is None:  # not worth a key (the index changes with nearly every new night)
            return draw()
        return self.lazy(template, key, draw)

    def lazy(self, name: str, key: bytes, draw: Callable[[], bytes]) -> _Page:
        """Any file drawn by code (the search index, say) keyed like a page: `key` digests its own inputs."""
        return _Page(hashlib.blake2b(self.fingerprint + name.encode() + b"\0" + key, digest_size=20).hexdigest(), draw)


class _SiteVars(dict):  # type: ignore[type-arg] - str -> value, as `site` in every template
    """The `site` of a page: a dict (a theme may copy it, `dict(site, summary_length=12)`) whose keys are also
    attributes, so that `site.static` is found at once; on a plain dict jinja2 first tries the attribute,
    and 120,000 such misses cost a full build about 0.2 s."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.__dict__ = self  # one store: a theme's `site.update(...)` changes both views


class _CardMemo:
    """The default card.html drawn once per (report, links) in this process, for every grid that shows it.

    A night's card is the same HTML on the list page and the month page that show it (both one folder
    down, so the links match), and drawing one is about 0.15 ms: a full build drew 20,000 of them for
    10,000 nights. The default card.html reads only its `card` and `site.summary_length` (a test holds
    it to that), so a card is known by its report's token, its two links and that length. Only used
    while the theme keeps the default card.html: another one may read anything its grid's context holds.
    """

    LIMIT = 4096  # cards kept at most: pages that share cards are drawn one after the other (see _render)

    def __init__(self, env: Any, token: dict[str, bytes]) -> None:
        import markupsafe

        self.markup = markupsafe.Markup  # drawn HTML, not to be escaped again by the grid
        self.template = env.get_template("card.html")
        self.token = token
        self.drawn: dict[tuple[bytes, str, str | None, object], Any] = {}

    def __call__(self, card: Card, site: Any) -> Any:
        """The card as the grid's page shows it; `site` is that page's (a theme may set its own summary_length)."""
        length = site.get("summary_length") if isinstance(site, Mapping) else None
        key = (self.token[card.report.source], card.page_url, card.pdf_url, length)
        html = self.drawn.get(key)
        if html is None:
            if len(self.drawn) >= self.LIMIT:
                self.drawn.clear()
            html = self.drawn[key] = self.markup(self.template.render(card=card, site=site))
        return html


def _uses_default_card(env: Any) -> bool:
    """True when "card.html" resolves to the default theme's own file (no user theme replaces it)."""
    _source, filename, _uptodate = env.loader.get_source(env, "card.html")
    return filename is not None and Path(filename).resolve() == (DEFAULT_THEME / "templates" / "card.html").resolve()


def _months(ordered: list[Report]) -> dict[str, list[Report]]:
    """Reports grouped by 'YYYY-MM', newest month first, newest first within a month."""
    out: dict[str, list[Report]] = {}
    for report in ordered:
        out.setdefault(f"{report.date.year:04d}-{report.date.month:02d}", []).append(report)
    return out


def _month_label(key: str) -> str:
    year, month = key.split("-")
    return f"{_MONTH_NAMES[int(month) - 1]} {year}"


def _month_path(key: str) -> str:
    year, month = key.split("-")
    return layout.archive_path(int(year), int(month))


def compare_url(from_page: str, older: Report, newer: Report) -> str:
    """The link from a night page to compare.html with the suite's previous night (a) and this one (b)."""
    # What urlencode gives, built per night: the dates are digits and '-', only the suite needs quoting.
    return f"{_link(from_page, layout.COMPARE)}?a={older.date}&b={newer.date}&suite={_query_value(newer.suite)}"


# One value of a query string, as urlencode quotes it. Memoised: the suites and a signature's words recur night
# after night, and a full build makes a link with them on every night page.
_query_value = functools.lru_cache(maxsize=4096)(urllib.parse.quote_plus)


def _list_chunks(ordered: list[Report], size: int) -> list[list[Report]]:
    """The no-JS list of every night, `size` per page, counted from the oldest (page 1) so that a new
    night changes only the newest page; each page newest first."""
    oldest = ordered[::-1]
    return [oldest[i : i + size][::-1] for i in range(0, len(oldest), size)]


def _list_pages(
    chunks: list[list[Report]], render: _Renderer, site: Callable[[str], dict[str, Any]], card: Callable[[Report, str], Card],
    suites: list[str], status_list: list[Status], token: dict[str, bytes], card_html: _CardMemo | None,
) -> dict[str, bytes]:
    """page/N.html: every night in pages, with older and newer links, for readers without JavaScript."""
    out: dict[str, bytes] = {}
    count = len(chunks)
    if count < 2:  # the index shows them all
        return out

    def context(number: int, path: str) -> dict[str, Any]:
        cards = [card(r, path) for r in chunks[number - 1]]
        return {
            "site": site(path),
            "number": number,
            "count": count,
            "newest": chunks[number - 1][0].date,
            "oldest": chunks[number - 1][-1].date,
            "newer_page": _link(path, layout.list_page_path(number + 1)) if number < count else None,
            "older_page": _link(path, layout.list_page_path(number - 1)) if number > 1 else None,
            "cards": cards,
            "suites": suites,
            "statuses": status_list,
            "needing_look": [c for c in cards if c.status.needs_look],
            "page_kind": "list",
            "card_html": card_html,
        }

    for number in range(1, count + 1):
        path = layout.list_page_path(number)
        memo_key = f"{path}\0{count}".encode() + b"".join(token[r.source] for r in chunks[number - 1])
        out[path] = render("list.html", memo_key, functools.partial(context, number, path))
    return out


class _CardsByDate(dict):  # type: ignore[type-arg] - date -> Card, as the templates index it
    """Each night's card, made the first time a template asks for it: a suite's page shows a year and the
    latest nights of a history that may hold 10,000, and a card costs about 0.1 ms."""

    def __init__(self, nights: list[history.Night], make: Callable[[Report], Card]) -> None:
        super().__init__()
        self._nights = {n.date: n for n in nights}
        self._make = make

    def __missing__(self, day: dt.date) -> Card:
        value = self[day] = self._make(self._nights[day].report)
        return value


def _suite_pages(
    rows: list[history.SuiteOverview], nights: dict[str, list[history.Night]], paths: dict[str, str], render: _Renderer,
    site: Callable[[str], dict[str, Any]], card: Callable[[Report, str], Card], suites: list[str],
    status_list: list[Status], token: dict[str, bytes],
) -> dict[str, bytes]:
    """suites/SUITE/index.html (overview row, trend, the newest year's calendar, the latest nights) and one page per
    earlier year's calendar (suites/SUITE/YEAR.html), so a new night redraws the suite's page but no old year."""
    out: dict[str, bytes] = {}

    def links(path: str, year_paths: dict[int, str], here: int) -> list[YearLink]:
        return [YearLink(year, "" if year == here else _link(path, target)) for year, target in year_paths.items()]

    def context(row: history.SuiteOverview, path: str, newest: int, year_paths: dict[int, str]) -> dict[str, Any]:
        found = nights[row.suite]
        cards = _CardsByDate(found, functools.partial(card, from_page=path))
        shown = trend.trend(found)
        return {
            "site": site(path),
            "row": suite_row(row, path.rpartition("/")[2], found, lambda r: cards[r.date]),
            "trend": shown,
            "years": calendar_years(found, {newest}),
            "year_pages": links(path, year_paths, newest) if len(year_paths) > 1 else [],
            "calendar_title": "Calendar",
            "cards": cards,
            "table": [cards[n.date] for n in found[: trend.TREND_NIGHTS]],
            "total": len(found),
            "first_date": found[-1].date,
            "last_date": found[0].date,
            "month_names": _MONTH_NAMES,
            "suites": suites,
            "statuses": status_list,
            "page_kind": "suite",
        }

    def year_context(
        row: history.SuiteOverview, path: str, year: int, year_paths: dict[int, str], of_year: list[history.Night]
    ) -> dict[str, Any]:
        found = nights[row.suite]
        [shown] = calendar_years(found, {year})
        return {
            "site": site(path),
            "suite": row.suite,
            "suite_url": _link(path, paths[row.suite]),
            "year": shown,
            "years": [shown],
            "year_pages": links(path, year_paths, year),
            "calendar_title": f"Calendar of {year}",
            "cards": _CardsByDate(of_year, functools.partial(card, from_page=path)),
            "first_date": found[-1].date,
            "last_date": found[0].date,  # always after this year: it only says that every day of it counts
            "month_names": _MONTH_NAMES,
            "statuses": status_list,
            "page_kind": "suite-year",
        }

    for row in rows:
        path, found = paths[row.suite], nights[row.suite]
        years = history.years(found)
        newest = years[0]
        # The newest year is on the suite's page; its own entry in the list of years links that page.
        year_paths = {newest: path} | {y: layout.suite_year_path(path, y) for y in years[1:]}
        memo_key = path.encode() + b"".join(token[n.report.source] for n in found)
        out[path] = render("suite.html", memo_key, functools.partial(context, row, path, newest, year_paths))
        listed = repr((years, found[-1].date.isoformat())).encode()  # what an old year's page shows besides its nights
        by_year: dict[int, list[history.Night]] = {}
        for night in found:
            by_year.setdefault(night.date.year, []).append(night)
        for year in years[1:]:
            target = year_paths[year]
            key = target.encode() + b"\0" + listed + b"".join(token[n.report.source] for n in by_year[year])
            out[target] = render("suite_year.html", key, functools.partial(year_context, row, target, year, year_paths, by_year[year]))
    return out


def _render(config: Config, reports: list[Report], unpublished: dict[str, str], salt: str, paths: layout.SitePaths) -> dict[str, Any]:
    from sitegen.site import search_index  # it builds on this module's cards
    theme = _theme_fingerprint(config)
    vocabulary = statuses(config)
    status_list = list(vocabulary.values())
    pages, pdfs, ordered = paths.pages, paths.pdfs, paths.ordered  # never shared, however names clash
    suites = sorted({r.suite for r in reports})
    suite_index = {s: i for i, s in enumerate(suites)}
    months = _months(ordered)
    # What every page may show besides its own reports: the theme, the whole config, the suite filter, the code.
    shared = repr((theme, config.fingerprint(), suites, salt)).encode()
    env = _environment(config, theme)
    render = _Renderer(env, hashlib.blake2b(shared, digest_size=20).digest())
    # One digest per report of everything its card depends on (status and links derive from these).
    token = {r.source: paths.token(r, unpublished.get(r.source, "")) for r in reports}
    card_html = _CardMemo(env, token) if _uses_default_card(env) else None
    out: dict[str, bytes] = {}

    def site(from_page: str) -> dict[str, Any]:
        return _SiteVars({
            "title": config.title,
            "root": _link(from_page, layout.INDEX),
            "static": _link(from_page, layout.STATIC_DIR),
            "pdfjs": _link(from_page, layout.PDFJS_DIR),
            "summary_length": config.summary_length,
            # Feeds need absolute URLs, so there is one only when the site knows where it lives.
            "feed": _link(from_page, FEED) if config.base_url else None,
            "canonical": absolute(config.base_url, from_page) if config.base_url else None,
            "csp": CSP,
        })

    def card(report: Report, from_page: str) -> Card:
        reason = unpublished.get(report.source, "")
        return Card(
            report=report,
            status=status_of(report, vocabulary),
            page_url=_link(from_page, pages[report.source]),
            pdf_url=None if reason else _link(from_page, pdfs[report.source]),
            suite_index=suite_index[report.suite],
            unpublished=reason,
        )

    def month_list(from_page: str) -> list[Month]:
        return [
            Month(
                key=key,
                label=_month_label(key),
                url=_link(from_page, _month_path(key)),
                nights=len(chunk),
                needing_look=sum(status_of(r, vocabulary).needs_look for r in chunk),
            )
            for key, chunk in months.items()
        ]

    index_months = month_list(layout.INDEX)
    # History per suite (site/history.py): the overview on the index, a page per suite, first-seen on night pages.
    suite_pages = layout.suite_paths(suites)
    suite_nights = history.nights_by_suite(
        reports, lambda word: word in vocabulary and vocabulary[word].needs_look, lambda word: word in vocabulary
    )
    suite_rows = history.overview(suite_nights)
    index_rows = [
        suite_row(row, _link(layout.INDEX, suite_pages[row.suite]), suite_nights[row.suite], lambda r: card(r, layout.INDEX))
        for row in suite_rows
    ]
    shown = [card(r, layout.INDEX) for r in ordered[: config.index_limit]]
    list_chunks = _list_chunks(ordered, config.index_limit)
    out[layout.INDEX] = render(
        "index.html",
        None,
        lambda: {
            "site": site(layout.INDEX),
            "cards": shown,
            "total": len(ordered),
            "total_needing_look": sum(m.needing_look for m in index_months),
            "months": index_months,
            "suites": suites,
            "statuses": status_list,
            "needing_look": [c for c in shown if c.status.needs_look],
            "latest": shown[0] if shown else None,
            "suite_rows": index_rows,
            "look_now": [row.latest for row in index_rows if row.latest.status.needs_look],
            "search": search_index.search_form(ordered, vocabulary, suites),
            "list_first": _link(layout.INDEX, layout.list_page_path(len(list_chunks))) if len(list_chunks) > 1 else None,
            "page_kind": "index",
            "card_html": card_html,
        },
    )
    grids = _list_pages(list_chunks, render, site, card, suites, status_list, token, card_html)
    newest = {layout.list_page_path(n): chunk[0].date for n, chunk in enumerate(list_chunks, start=1)}

    keys = list(months)

    def archive(i: int, path: str) -> dict[str, Any]:
        links = [MonthLink(m.label, _link(path, _month_path(m.key))) for m in index_months]
        cards = [card(r, path) for r in months[keys[i]]]
        this = index_months[i]
        return {
            "site": site(path),
            "month": Month(this.key, this.label, links[i].url, this.nights, this.needing_look),
            # Links only (no counts), so a new night does not re-render the neighbouring months' pages.
            "newer_month": links[i - 1] if i > 0 else None,
            "older_month": links[i + 1] if i + 1 < len(keys) else None,
            "cards": cards,
            "suites": suites,
            "statuses": status_list,
            "needing_look": [c for c in cards if c.status.needs_look],
            "page_kind": "archive",
            "card_html": card_html,
        }

    for i, key in enumerate(keys):
        path = _month_path(key)
        around = [keys[j] if 0 <= j < len(keys) else "" for j in (i - 1, i + 1)]
        memo_key = "\0".join([path, *around]).encode() + b"".join(token[r.source] for r in months[key])
        grids[path] = render("archive.html", memo_key, functools.partial(archive, i, path))
        newest[path] = months[key][0].date
    # The list and month pages newest first, side by side: pages that show the same nights are drawn one
    # after the other, in the same process (site/fanout.py hands out runs of pages), and share their cards.
    out.update(sorted(grids.items(), key=lambda item: newest[item[0]], reverse=True))

    neighbours = _neighbours(reports)
    by_suite: dict[str, list[Report]] = {}
    for r in reports:
        by_suite.setdefault(r.suite, []).append(r)
    timelines = {
        suite: history.SignatureTimeline(found, lambda r: (key for key in r.signature_keys if key))
        for suite, found in by_suite.items()
    }

    def sig_lines(r: Report) -> dict[str, Any]:
        """The night page's "first seen" and "seen in N of the last 30" lines (drawn pages only: it formats links)."""
        if not r.signature_keys or r.suite not in timelines:
            return {}
        path = pages[r.source]
        return signature_lines(
            r,
            timelines[r.suite],
            lambda first: _link(path, pages[first.source]),
            # The index's search (search.js) over every night of the suite; `~` is how it names the suite ''.
            lambda words: f"{_link(path, layout.INDEX)}?suite={_query_value(r.suite or '~')}&q={_query_value(words)}",
        )

    def sig_key(r: Report) -> bytes:
        """What sig_lines(r) is made of besides the report itself: for each signature, its first night and counts."""
        timeline = timelines.get(r.suite)
        if not r.signature_keys or timeline is None:
            return b""
        standing = timeline.standing(r, [key for key in r.signature_keys if key])
        return repr([(key, pages[first.source], seen, counted) for key, first, seen, counted in standing]).encode()

    def viewer(report: Report, path: str) -> dict[str, Any]:
        older, newer = neighbours[report.source]
        month = f"{report.date.year:04d}-{report.date.month:02d}"
        return {
            "site": site(path),
            "card": card(report, path),
            "older": card(older, path) if older else None,
            "newer": card(newer, path) if newer else None,
            "month": MonthLink(label=_month_label(month), url=_link(path, _month_path(month))),
            "compare_url": compare_url(path, older, report) if older else None,
            "sig_history": sig_lines(report),
            "suite_url": _link(path, suite_pages[report.suite]),
            "page_kind": "viewer",
        }

    for report in ordered:
        path = pages[report.source]
        older, newer = neighbours[report.source]
        memo_key = b"".join([path.encode(), token[report.source], *(token[n.source] if n else b"-" for n in (older, newer))])
        memo_key += sig_key(report) + suite_pages[report.suite].encode()
        out[path] = render("viewer.html", memo_key, functools.partial(viewer, report, path))

    if config.base_url:
        labels = {status.word: status.label for status in status_list}
        out[FEED] = feed_xml(config.title, config.base_url, ordered, pages, labels)
    out[GENERATED_CSS] = render(
        "generated.css",
        b"generated",
        lambda: {"statuses": status_list, "suites": suites, "unknown_color": UNKNOWN_COLOR},
    )
    out.update(_suite_pages(suite_rows, suite_nights, suite_pages, render, site, card, suites, status_list, token))
    out[layout.COMPARE] = render(
        "compare.html", b"compare", lambda: {"site": site(layout.COMPARE), "search_index": layout.SEARCH_INDEX, "page_kind": "compare"}
    )
    for path, key, draw in search_index.search_parts(
        search_index.index_header(suites, vocabulary, config.summary_length),
        ordered,
        lambda r: card(r, layout.INDEX),
        config.summary_length,
        tokens=[token[r.source] for r in ordered],
    ):
        out[path] = render.lazy(path, key, draw)
    out.update(static_files(config))  # after generated.css: a theme's own static/generated.css wins
    return out
