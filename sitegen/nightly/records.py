"""The data the report wing passes between its stages. Plain dataclasses, no I/O.

logs -> LogDigest; metrics -> Series; chaos -> ChaosWindow; analyze -> Injection;
rules -> Verdict; pdf takes a NightReport holding all of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sitegen.model import clean_text

LEVELS = ("fatal", "error", "warn")  # the levels a report counts, most severe first
# Severity classes a signature is ranked by: a panic or stack trace at any level outranks every plain error.
SEVERITY = {"fatal": 0, "panic": 1, "error": 2, "warn": 3}


@dataclass(slots=True)
class LogRecord:
    """One log entry after parsing; continuation lines (stacks, panics) are in `text`."""

    time: dt.datetime | None  # timezone-aware; None when the line carried no usable time
    level: str  # fatal | error | warn | info | debug | "" (unknown)
    message: str  # the message alone, without time/level/fields
    source: str  # pod/container, or the file it came from
    fmt: str  # detected format, e.g. "unified", "klog", "zap-console", "json", "logfmt"
    text: str  # the whole entry as read (first line plus continuation lines)
    line_no: int = 0
    fields: dict[str, str] | None = None  # error/err fields where the format has them (signatures use them)


@dataclass(slots=True)
class Signature:
    """A group of log messages that differ only in numbers, ids, addresses and the like."""

    key: str  # stable short hash of (level, pattern); compared across nights for NEW
    pattern: str  # the normalised message
    level: str
    count: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    sources: list[str]
    sample: str  # one full original entry
    new: bool = False
    panic: bool = False  # a panic or a crash stack trace (Go, Rust, Java, Python), whatever its level
    message: str = ""  # the message of the first occurrence, as logged
    origin: str = ""  # the source of the first occurrence (the sample's)

    @property
    def component(self) -> str:
        """Where it was first logged, as a reader names it: the pod of `POD/CONTAINER.log`, else the file's stem."""
        parts = [p for p in self.origin.replace("\\", "/").split("/") if p]
        if not parts:
            return ""
        if len(parts) >= 2:
            return parts[-2]
        name = parts[-1]
        for suffix in (".gz", ".log", ".txt", ".previous"):
            name = name.removesuffix(suffix)
        return name or parts[-1]

    @property
    def kind(self) -> str:
        """The severity class in words: panic, fatal, error or warn."""
        return "panic" if self.panic else self.level

    @property
    def severity(self) -> int:
        """0 fatal, 1 panic or stack trace, 2 error, 3 warning: what the report ranks by first."""
        return 0 if self.level == "fatal" else SEVERITY.get(self.kind, len(SEVERITY))

    def rank(self) -> tuple[int, bool, int, float, str]:
        """Severity first, then NEW, then count; ties by first appearance, then key (stable)."""
        first = self.first_seen.timestamp() if self.first_seen is not None else 0.0
        return (self.severity, not self.new, -self.count, first, self.key)


@dataclass(slots=True)
class InputStats:
    """What one input contributed, for the appendix."""

    path: str
    lines: int = 0
    records: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    truncated_lines: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class LogDigest:
    """Everything the report needs from the night's logs."""

    since: dt.datetime
    until: dt.datetime
    inputs: list[InputStats]
    counts: dict[str, int]  # fatal / error / warn inside the window
    signatures: list[Signature]  # ranked: Signature.rank()
    outside_window: int = 0
    # (epoch seconds, level) of every fatal/error entry in the window, for per-injection counts.
    # The log reader gives whole seconds (a night of millions of errors then stays small in memory).
    error_times: list[tuple[float, str]] = field(default_factory=list)


@dataclass(slots=True)
class Series:
    """A metric over time. `None` values are gaps (NaN, Inf, missing), never zeros."""

    name: str
    points: list[tuple[float, float | None]]  # (epoch seconds, value), sorted by time
    unit: str = "qps"
    source: str = ""
    extra: dict[str, list[tuple[float, float | None]]] = field(default_factory=dict)  # tps, err/s, latency...


@dataclass(slots=True)
class ChaosWindow:
    """One fault injection: when it started and ended."""

    start: dt.datetime
    end: dt.datetime | None  # None: still running, or no duration known
    name: str = ""
    kind: str = ""  # PodChaos, NetworkChaos, ... or "detected" for dips found in the metric
    source: str = ""
    action: str = ""  # pod-kill, pod-failure, partition, ... when the chaos source says
    target: str = ""  # what was hit: "ns/pod" names, or a selector ("app=tikv in ns"), when the source says

    def __post_init__(self) -> None:
        # Every field but the times comes from a chaos file, a cluster or a file name: it reaches the PDF and summary.json.
        self.name, self.kind, self.source = clean_text(self.name), clean_text(self.kind), clean_text(self.source)
        self.action, self.target = clean_text(self.action), clean_text(self.target)


@dataclass(slots=True)
class Injection:
    """The measured effect of one chaos window on the metric."""

    window: ChaosWindow
    baseline: float | None
    minimum: float | None
    drop_pct: float | None
    ttr_s: float | None  # None: never recovered within the data
    recovered_at: dt.datetime | None
    errors: int  # fatal + error entries logged during the window

    @property
    def measured(self) -> bool:
        """Whether there was a baseline to measure the window against (no data before it: nothing to say)."""
        return self.baseline is not None

    @property
    def never_recovered(self) -> bool:
        """A measured injection whose metric did not come back within the data."""
        return self.measured and self.ttr_s is None


@dataclass(slots=True)
class RuleResult:
    rule: str  # as written, e.g. "fatal > 0"
    metric: str
    value: float | None
    fired: bool


@dataclass(slots=True)
class Verdict:
    status: str
    results: list[RuleResult]

    @property
    def fired(self) -> list[RuleResult]:
        return [r for r in self.results if r.fired]


@dataclass(frozen=True, slots=True)
class InputSource:
    """Where one kind of input came from, for the appendix: named relative to the night's inputs, never a temp path."""

    what: str  # Logs, Metrics, Chaos, Previous night
    description: str


@dataclass(slots=True)
class NightReport:
    """All a night's findings, ready to be written as a PDF and a summary.json."""

    night: dt.date
    suite: str
    title: str
    headline: str
    verdict: Verdict
    metrics: dict[str, float]
    logs: LogDigest | None
    series: Series | None
    injections: list[Injection]
    notes: list[str] = field(default_factory=list)  # "no logs given", "no metrics given", problems met
    windows: list[ChaosWindow] = field(default_factory=list)  # every chaos window in the night, by start
    sources: list[InputSource] = field(default_factory=list)

    @property
    def signatures(self) -> list[Signature]:
        """Every signature of the night, ranked; empty without logs."""
        return self.logs.signatures if self.logs is not None else []
