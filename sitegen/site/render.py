"""Render the site's pages from reports: the card index, one viewer page per report, the theme's static files.

A pure function of (config, reports): it returns `{output path: bytes}` and writes nothing, so
tests need no disk and an incremental build is byte-identical to a clean one (no timestamps).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen.config import Config
from sitegen.errors import BuildError, UsageError
from sitegen.model import Report
from sitegen.site import layout

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_THEME = PROJECT_ROOT / "themes" / "default"
UNKNOWN_COLOR = "#6e7781"
UNAVAILABLE = "summary unavailable:"  # how extraction words a failed summary
# Statuses shown with a check mark; other calm statuses get a plain dot (the label still says it).
_GOOD_WORDS = frozenset({"good", "ok", "pass", "passed", "green", "success"})
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
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


def theme_folders(config: Config) -> list[Path]:
    """The theme folders in lookup order: the user's theme (if any) first, then the default theme."""
    folders = []
    if config.theme:
        user = config.path("theme")
        if not user.is_dir():
            raise UsageError(f"config key 'theme': folder not found: {user}")
        folders.append(user)
    folders.append(DEFAULT_THEME)
    return folders


def _templates_dir(theme: Path) -> Path:
    # A user theme may mirror the default layout (templates/, static/) or just hold templates.
    sub = theme / "templates"
    return sub if sub.is_dir() else theme


def make_environment(config: Config) -> Any:
    """A Jinja2 environment over the theme folders; `default:NAME` always means the default theme's NAME."""
    import jinja2

    folders = [str(_templates_dir(t)) for t in theme_folders(config)]
    loader = jinja2.ChoiceLoader(
        [
            jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(DEFAULT_THEME / "templates"))}, delimiter=":"),
            jinja2.FileSystemLoader(folders),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
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
    env.filters["clip"] = clip
    env.filters["metric_name"] = metric_name
    return env


def nice_date(day: dt.date) -> str:
    """'Fri 9 Jul 2021', independent of the machine's locale so output is reproducible."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def format_number(value: float) -> str:
    """A metric as a person reads it: 3, 12.5, 1,204 (no float noise)."""
    if isinstance(value, bool):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def metric_name(key: str) -> str:
    """`max_drop_pct` -> 'max drop %', `worst_ttr_s` -> 'worst ttr (s)': unit suffixes read as units."""
    key = str(key)
    for suffix, unit in (("_pct", " %"), ("_s", " (s)"), ("_ms", " (ms)")):
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)].replace("_", " ") + unit
    return key.replace("_", " ")


def format_size(size: int) -> str:
    """File size in B, KB or MB with one decimal."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def clip(text: str, limit: int) -> str:
    """Shorten text to about `limit` characters at a word boundary, marking the cut with an ellipsis."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,.;:") + "…"


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


def newest_first(reports: list[Report]) -> list[Report]:
    """Cards order: newest night first; within a night by suite, then by file name (stable and total)."""
    by_suite = sorted(reports, key=lambda r: (r.suite, r.source))
    return sorted(by_suite, key=lambda r: r.date, reverse=True)


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
    pdf_url: str
    suite_index: int  # position of the suite in the filter list, for CSS-only filtering

    @property
    def unavailable(self) -> bool:
        """True when extraction failed and the summary is the 'summary unavailable: REASON' text."""
        return self.report.summary.startswith(UNAVAILABLE)

    @property
    def problems(self) -> tuple[str, ...]:
        """Problems worth their own line: the ones the summary text does not already say."""
        return tuple(p for p in self.report.problems if p not in self.report.summary)


@functools.lru_cache(maxsize=4096)
def _relative_dir(from_dir: str, to_dir: str) -> str:
    return layout.relative(posixpath.join(from_dir, "x"), to_dir or ".")


def _link(from_page: str, to_path: str) -> str:
    """layout.relative, memoised per folder pair: a site has few folders but thousands of links."""
    to_dir, name = posixpath.split(to_path)
    up = _relative_dir(posixpath.dirname(from_page), to_dir)
    return name if up == "." else f"{up}/{name}"


def _card(report: Report, status: Status, from_page: str, pages: dict[str, str], suite_index: int) -> Card:
    return Card(
        report=report,
        status=status,
        page_url=_link(from_page, pages[report.source]),
        pdf_url=_link(from_page, layout.pdf_path(report)),
        suite_index=suite_index,
    )


def static_files(config: Config) -> dict[str, bytes]:
    """The theme's static files under `static/`; a user theme's file replaces the default one of the same name."""
    files: dict[str, Path] = {}
    for theme in reversed(theme_folders(config)):
        folder = theme / "static"
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files[f"{layout.STATIC_DIR}/{path.relative_to(folder).as_posix()}"] = path
    return {name: files[name].read_bytes() for name in sorted(files)}


def render_site(config: Config, reports: list[Report]) -> dict[str, bytes]:
    """Every page of the site plus the theme's static files, as {output path: bytes}."""
    import jinja2

    try:
        return _render(config, reports)
    except jinja2.TemplateSyntaxError as exc:
        raise BuildError(f"theme template {exc.filename or exc.name}, line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        # Usually a user theme naming a variable or template that does not exist (StrictUndefined).
        raise BuildError(f"theme template error: {exc.message or exc}") from None


def _render(config: Config, reports: list[Report]) -> dict[str, bytes]:
    env = make_environment(config)
    vocabulary = statuses(config)
    pages = layout.page_paths(reports)
    ordered = newest_first(reports)
    suites = sorted({r.suite for r in reports})
    suite_index = {s: i for i, s in enumerate(suites)}
    out: dict[str, bytes] = {}

    def site(from_page: str) -> dict[str, Any]:
        return {
            "title": config.title,
            "root": _link(from_page, layout.INDEX),
            "static": _link(from_page, layout.STATIC_DIR),
            "pdfjs": _link(from_page, layout.PDFJS_DIR),
            "summary_length": config.summary_length,
        }

    cards = [_card(r, status_of(r, vocabulary), layout.INDEX, pages, suite_index[r.suite]) for r in ordered]
    needing_look = [c for c in cards if c.status.needs_look]
    out[layout.INDEX] = (
        env.get_template("index.html")
        .render(
            site=site(layout.INDEX),
            cards=cards,
            suites=suites,
            statuses=list(vocabulary.values()),
            needing_look=needing_look,
            latest=cards[0] if cards else None,
            page_kind="index",
        )
        .encode("utf-8")
    )

    neighbours = _neighbours(reports)
    viewer = env.get_template("viewer.html")
    for report in ordered:
        path = pages[report.source]
        older, newer = neighbours[report.source]
        out[path] = viewer.render(
            site=site(path),
            card=_card(report, status_of(report, vocabulary), path, pages, suite_index[report.suite]),
            older=_card(older, status_of(older, vocabulary), path, pages, suite_index[older.suite]) if older else None,
            newer=_card(newer, status_of(newer, vocabulary), path, pages, suite_index[newer.suite]) if newer else None,
            page_kind="viewer",
        ).encode("utf-8")

    out.update(static_files(config))
    log.debug("rendered %d pages and static files", len(out))
    return out
