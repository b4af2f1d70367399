"""One declared config: every key has a type, a default and a one-line doc.

Unknown keys and bad values are errors, all reported together, each naming its key
(`config key 'report.timezone': ...`). Nothing falls back silently.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen import grammar, limits
from sitegen.errors import ConfigError
from sitegen.model import STATUS_RE, clean_text, suite_problem

DEFAULT_CONFIG_NAME = "sitegen.yml"
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Check = Callable[[Any], str | None]  # returns a problem, or None when the value is fine


@dataclass(frozen=True)
class Key:
    """One config key: its type, default, doc, and an optional extra check."""

    type: type | tuple[type, ...]
    default: Any
    doc: str
    check: Check | None = None
    nullable: bool = False


@dataclass(frozen=True)
class Section:
    """A mapping of keys; nested sections are allowed."""

    doc: str
    keys: Mapping[str, Key | Section] = field(default_factory=dict)


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _fraction(value: Any) -> str | None:
    return None if 0 < value <= 1 else "must be in (0, 1]"


def _hhmm(value: Any) -> str | None:
    return None if _HHMM_RE.match(value) else "must be a time of day as HH:MM"


def _timezone(value: Any) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r} (use an IANA name such as 'UTC' or 'Asia/Shanghai')"
    return None


def _status_word(value: Any) -> str | None:
    return None if STATUS_RE.match(value) else "must be a lower-case word (a-z, 0-9, _)"


def _one_line(value: Any) -> str | None:
    # Shown in every page and in feed.xml, where a control character makes the XML not well-formed.
    return None if clean_text(value) == value else "must not hold control characters, bidi overrides or newlines"


def _base_url(value: Any) -> str | None:
    if value and not re.match(r"^https?://[^\s/?#]+", value, re.IGNORECASE):
        return "must be an absolute http:// or https:// URL (or empty)"
    return _one_line(value)


def _suite(value: Any) -> str | None:
    return suite_problem(value)


def _size(value: Any) -> str | None:
    try:
        limits.parse_size(value)
    except ValueError as exc:
        return str(exc)
    return None


def _str_list(value: Any) -> str | None:
    if not all(isinstance(item, str) for item in value):
        return "must be a list of strings"
    return None


def _rules(value: Any) -> str | None:
    return "; ".join(f"rules[{i}]: {problem}" for i, problem in grammar.rule_problems(value)[1]) or None


def _since(value: Any) -> str | None:
    return grammar.since_problem(value)


def _namespace(value: Any) -> str | None:
    return grammar.namespace_problem(value) if value else None  # empty: nothing is collected


def _statuses(value: Any) -> str | None:
    problems = []
    if not value:
        return "must name at least one status"
    for word, spec in value.items():
        if not isinstance(word, str) or not STATUS_RE.match(word):
            problems.append(f"status {word!r} must be a lower-case word (a-z, 0-9, _)")
            continue
        if not isinstance(spec, dict):
            problems.append(f"status {word!r} must be a mapping with color, label, needs_look")
            continue
        unknown = sorted(set(spec) - {"color", "label", "needs_look"})
        if unknown:
            problems.append(f"status {word!r} has unknown key(s) {', '.join(unknown)}")
        color = spec.get("color")
        if not isinstance(color, str) or not _COLOR_RE.match(color):
            problems.append(f"status {word!r} color must be #rgb or #rrggbb")
        label = spec.get("label", word)
        if not isinstance(label, str):
            problems.append(f"status {word!r} label must be a string")
        elif problem := _one_line(label):
            problems.append(f"status {word!r} label {problem}")
        if not isinstance(spec.get("needs_look", False), bool):
            problems.append(f"status {word!r} needs_look must be true or false")
    return "; ".join(problems) or None


SCHEMA = Section(
    "sitegen.yml",
    {
        "title": Key(str, "Chaos nightly reports", "Site title shown in the header and the browser tab.", _one_line),
        "reports": Key(str, "reports", "Folder holding the nightly PDFs (relative to the config file)."),
        "output": Key(str, "public", "Folder the static site is written to (relative to the config file)."),
        "theme": Key(
            str, None, "Folder of a user theme; its templates override the default theme's.", nullable=True
        ),
        "base_url": Key(
            str, "", "Absolute URL the site is served from; enables the Atom feed (feed.xml) and canonical links.", _base_url
        ),
        "cache_dir": Key(
            str,
            ".sitegen-cache",
            "Folder for the extraction cache; outside the output folder, and outside the reports folder unless hidden.",
        ),
        "summary_length": Key(int, 300, "Maximum characters of summary text shown on a card.", _positive),
        # 60 keeps index.html near 100 KB with ten suites (a card is about 1.4 KB); older nights are a click away.
        "index_limit": Key(int, 60, "Cards on the index page (newest first); older nights are in monthly archive pages.", _positive),
        "statuses": Key(
            dict,
            {
                "good": {"color": "#1a7f37", "label": "Good", "needs_look": False},
                "bad": {"color": "#cf222e", "label": "Needs a look", "needs_look": True},
            },
            "Status words a report name may carry: colour, label and whether the night needs a look.",
            _statuses,
        ),
        "retention": Section(
            "How many nights' PDFs the published site keeps; older nights keep their card, marked 'PDF archived'."
            " The reports folder is never touched.",
            {
                "max_nights": Key(
                    int, None, "Publish the PDFs of at most this many nights (dates), the newest; empty keeps all.",
                    _positive, nullable=True,
                ),
                "max_bytes": Key(
                    (int, str), None,
                    "Publish at most this many bytes of PDFs, newest nights first (e.g. 900 MB); empty keeps all.",
                    _size, nullable=True,
                ),
            },
        ),
        "report": Section(
            "How `sitegen report` analyses a night.",
            {
                "timezone": Key(str, "UTC", "IANA zone for timestamps without an offset and for the night window.", _timezone),
                "night_ends_at": Key(str, "06:00", "Night D covers the 24 h ending at D plus this time of day.", _hhmm),
                "suite": Key(str, "", "Suite (sub-folder of the reports folder) to write to when --suite is not given.", _suite),
                "good_status": Key(str, "good", "Status word for a night where no rule fired.", _status_word),
                "bad_status": Key(str, "bad", "Status word for a night where a rule fired.", _status_word),
                "baseline_minutes": Key((int, float), 5, "Minutes before an injection whose median is the baseline.", _positive),
                "recovery_fraction": Key((int, float), 0.9, "Recovered once the metric holds this fraction of baseline.", _fraction),
                "recovery_hold_s": Key((int, float), 30, "Seconds the metric must hold to count as recovered.", _positive),
                "top_signatures": Key(int, 20, "Signatures shown in detail in the PDF (the rest follow, one line each).", _positive),
                "chart_points": Key(int, 2880, "Points the QPS chart is downsampled to (min/max per bucket).", _positive),
                "latin_font": Key(str, "DejaVuSans.ttf", "Font file name or path for Latin text (Debian: fonts-dejavu-core)."),
                "cjk_fonts": Key(
                    list,
                    ["NotoSansCJK-Regular.ttc", "wqy-microhei.ttc"],
                    "Fallback fonts for Chinese/Japanese/Korean text, first found wins "
                    "(Debian: fonts-noto-cjk or fonts-wqy-microhei).",
                    _str_list,
                ),
                "font_dirs": Key(list, ["/usr/share/fonts"], "Folders searched (recursively) for font files.", _str_list),
            },
        ),
        "rules": Key(
            list,
            ["fatal > 0", "errors > 100", "worst_ttr_s > 60", "max_drop_pct > 95"],
            "Verdict rules: the night is bad when any fires (`metric op number`).",
            _rules,
        ),
        "nightly": Section(
            "What `sitegen nightly` runs: collect, report and build.",
            {
                "namespace": Key(str, "", "Kubernetes namespace whose pod logs are collected.", _namespace),
                "context": Key(str, "", "kubectl context; empty means the current one."),
                "selector": Key(str, "", "Label selector limiting the pods collected."),
                "since": Key(str, "24h", "How far back kubectl logs reaches.", _since),
                "logs_dir": Key(str, "logs", "Folder where collected logs are kept, one sub-folder per night."),
                "metrics": Key(str, "", "Load-test output or CSV/JSON metrics file for the night."),
                "prometheus": Key(str, "", "Prometheus base URL for a live QPS query."),
                "query": Key(str, "", "PromQL expression giving QPS (with `prometheus`)."),
                "chaos": Key(str, "", "Chaos Mesh Schedule YAML, status, events JSON or CSV of windows."),
                "lock_file": Key(str, ".sitegen-nightly.lock", "Lock file stopping two nightly runs from overlapping."),
                "log_file": Key(str, "nightly.log", "Where `sitegen nightly` appends its log."),
            },
        ),
    },
)


class Values:
    """Read-only attribute view of a validated config section."""

    def __init__(self, data: dict[str, Any]):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(name) from None
        return Values(value) if isinstance(value, dict) and name not in _MAPPING_KEYS else value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("config values are read-only")

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)


# Keys whose value is a free-form mapping rather than a section.
_MAPPING_KEYS = {"statuses"}


@dataclass(frozen=True)
class Config:
    """A validated config. `root` is the folder relative paths are resolved against."""

    values: Values
    root: Path
    source: Path | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.values, name)

    def path(self, key: str) -> Path:
        """A top-level or dotted path key resolved against the config's folder."""
        value: Any = self.values
        for part in key.split("."):
            value = getattr(value, part)
        return (self.root / value).resolve()

    def fingerprint(self, *keys: str) -> str:
        """A stable hash of some keys' values (of the whole config without keys), for invalidating caches."""
        data = self.values.as_dict()
        picked = {k: _dig(data, k) for k in keys} if keys else data
        return hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with some top-level keys replaced (CLI flags win over the file)."""
        data = self.values.as_dict()
        problems = []
        for key, value in overrides.items():
            if value is None:
                continue
            spec = SCHEMA.keys.get(key)
            if not isinstance(spec, Key):
                raise KeyError(key)
            problems += _check_value(key, spec, value)
            data[key] = value
        if problems:
            raise ConfigError(problems, source="command line")
        return Config(Values(data), self.root, self.source)


def _dig(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a mapping"}
    if isinstance(t, tuple):
        return "a number" if set(t) == {int, float} else " or ".join(names[x] for x in t)
    return names[t]


def _check_value(name: str, spec: Key, value: Any) -> list[str]:
    if value is None:
        return [] if spec.nullable else [f"config key '{name}': must be {_type_name(spec.type)}, got nothing"]
    types = spec.type if isinstance(spec.type, tuple) else (spec.type,)
    # bool is an int in Python; a YAML `yes` must not pass as a number.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        return [f"config key '{name}': must be {_type_name(spec.type)}, got {type(value).__name__} {limits.short_repr(value)}"]
    if spec.check is not None:
        problem = spec.check(value)
        if problem:
            return [f"config key '{name}': {problem}"]
    return []


def _validate(section: Section, raw: Any, prefix: str, problems: list[str]) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(f"config key '{prefix.rstrip('.') or '(top level)'}': must be a mapping, got {type(raw).__name__}")
        raw = {}
    for unknown in sorted(set(map(str, raw)) - set(section.keys)):
        problems.append(f"config key '{prefix}{_key_text(unknown)}': unknown key")
    out: dict[str, Any] = {}
    for name, spec in section.keys.items():
        dotted = prefix + name
        if isinstance(spec, Section):
            out[name] = _validate(spec, raw.get(name), dotted + ".", problems)
        elif name in raw:
            problems += _check_value(dotted, spec, raw[name])
            out[name] = raw[name]
        else:
            out[name] = copy.deepcopy(spec.default)
    return out


def _key_text(key: str) -> str:
    # A key comes from the file: one short line, whatever it holds.
    text = clean_text(key)
    return text if len(text) <= 60 else text[:59] + "…"


_PROBLEMS_SHOWN = 50  # a file of 50,000 unknown keys gets a readable message, not 50,000 lines


def theme_problem(folder: Path) -> str | None:
    """What is wrong with a configured theme folder, or None: said with every other problem by the commands that
    build a site now (`build`, `config --check`), and by the build itself should the folder be gone by then. Not by
    the others: the report wing never reads the theme, and the dev server watches for a theme folder still to come."""
    return None if folder.is_dir() else f"config key 'theme': folder not found: {folder}"


def parse_config(raw: Any, root: Path, source: Path | None = None, *, theme_must_exist: bool = False) -> Config:
    """Validate an already-decoded config mapping; raises ConfigError listing every problem."""
    problems: list[str] = []
    data = _validate(SCHEMA, raw, "", problems)
    theme = data.get("theme")
    if theme_must_exist and isinstance(theme, str) and theme and (problem := theme_problem((root / theme).resolve())):
        problems.append(problem)
    if len(problems) > _PROBLEMS_SHOWN:
        problems = [*problems[:_PROBLEMS_SHOWN], f"... and {len(problems) - _PROBLEMS_SHOWN} more problem(s)"]
    if problems:
        raise ConfigError(problems, source=str(source) if source else "config")
    return Config(Values(data), root.resolve(), source)


def load_config(path: Path | None = None, root: Path | None = None, *, theme_must_exist: bool = False) -> Config:
    """Load `path`, or `sitegen.yml` in `root` (default: the current folder) if it exists, else defaults."""
    root = Path.cwd() if root is None else root
    found = path is None
    if path is None:
        candidate = root / DEFAULT_CONFIG_NAME
        if not candidate.exists():
            return parse_config({}, root)
        path = candidate
    # A --config may be a pipe (`--config <(...)`); a sitegen.yml found in the folder must be a plain file.
    raw = read_yaml_file(path, "config", limit=limits.CONFIG_BYTES, regular_only=found)
    return parse_config(raw, path.parent, path, theme_must_exist=theme_must_exist)


def read_yaml_file(path: Path, what: str, *, limit: int, regular_only: bool = False) -> Any:
    """A bounded YAML file (size, depth, aliases) decoded; ConfigError naming the file and the limit otherwise."""
    try:
        data = limits.read_capped(path, limit, regular_only=regular_only)
        text = data.decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([f"{what} file not found: {path}"], source=str(path)) from None
    except limits.LimitExceeded as exc:
        raise ConfigError([f"{what} file is {exc} (see docs/limits.md)"], source=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{what} file is not UTF-8 text"], source=str(path)) from None
    except OSError as exc:
        raise ConfigError([f"cannot read {what} file: {exc.strerror or exc}"], source=str(path)) from None
    try:
        return load_yaml(text)
    except ValueError as exc:  # YAML syntax (YAMLError is wrapped) or a limit
        raise ConfigError([str(exc)], source=str(path)) from None


def load_yaml(text: str, *, all_documents: bool = False) -> Any:
    """yaml.safe_load (or a list of every document) with limits.YAML_DEPTH, YAML_ALIASES and YAML_ALIAS_NODES.

    Raises ValueError: LimitExceeded naming the limit, or `not valid YAML: ...` on one line. The
    events are checked first, so a "billion laughs" is refused before anything is built; then
    libyaml (when PyYAML has it; 50x faster than the pure-Python loader) builds the data.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _check_events(yaml.parse(text, Loader=loader))
        return list(yaml.load_all(text, Loader=loader)) if all_documents else yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own bound (1,000) met while scanning ahead
            raise limits.LimitExceeded(f"YAML nested deeper than the limit of {limits.YAML_DEPTH} levels") from None
        raise ValueError(" ".join(f"not valid YAML: {exc}".split())[:300]) from None


def _check_events(events: Any) -> None:
    """Depth, alias uses and the nodes aliases add (each alias counts its anchor's whole expanded size)."""
    import yaml

    sizes: dict[str, int] = {}  # anchor -> nodes under it, aliases inside expanded
    open_: list[list[Any]] = []  # per open collection: [anchor, nodes so far]
    aliases = added = 0

    def limit(what: str, event: Any) -> limits.LimitExceeded:
        return limits.LimitExceeded(f"YAML {what} (line {event.start_mark.line + 1})")

    for event in events:
        if isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_):  # `&a [*a]`: no reader can walk it
                raise limit("alias refers to the node that holds it", event)
            aliases += 1
            size = sizes.get(event.anchor, 1)
            added += size
            if aliases > limits.YAML_ALIASES:
                raise limit(f"uses more than the limit of {limits.YAML_ALIASES:,} aliases", event)
            if added > limits.YAML_ALIAS_NODES:
                raise limit(f"aliases expand to more than the limit of {limits.YAML_ALIAS_NODES:,} nodes", event)
            for frame in open_:
                frame[1] += size
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            for frame in open_:
                frame[1] += 1
        elif isinstance(event, yaml.CollectionStartEvent):
            for frame in open_:
                frame[1] += 1
            open_.append([event.anchor, 1])
            if len(open_) > limits.YAML_DEPTH:
                raise limit(f"nested deeper than the limit of {limits.YAML_DEPTH} levels", event)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_.pop()
            if anchor:
                sizes[anchor] = size


def describe() -> list[tuple[str, str, str]]:
    """(dotted key, default as YAML-ish text, doc) for every key, for docs and `sitegen config`."""
    rows: list[tuple[str, str, str]] = []

    def walk(section: Section, prefix: str) -> None:
        for name, spec in section.keys.items():
            if isinstance(spec, Section):
                rows.append((prefix + name, "", spec.doc))
                walk(spec, prefix + name + ".")
            else:
                rows.append((prefix + name, json.dumps(spec.default), spec.doc))

    walk(SCHEMA, "")
    return rows
