"""The night in one sentence, for the card, the PDF's page 1 and /Subject: what broke, where, how badly, and whether it recovered.

Built from the worst findings in a fixed order: the rules that fired, each said through the finding that explains
it; the first fatal, panic or NEW error signature (its component and a short message); the worst injection (its
target, the drop and the recovery). A good night says what held ("8 injections, all recovered within 40 s").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sitegen.model import clean_text, format_metric
from sitegen.nightly.analyze import worst_injection
from sitegen.nightly.records import ChaosWindow, Injection, RuleResult, Signature, Verdict

MAX_HEADLINE = 240  # characters; the card shows about 300, /Subject and a terminal line want less
MAX_MESSAGE = 100  # of a signature's message inside the headline

# How a fired rule reads when nothing else in the sentence explains it.
_RULE_TEXT = {
    "errors": "{v} errors",
    "warnings": "{v} warnings",
    "fatal": "{v} fatal entries",
    "signatures": "{v} error signatures",
    "new_signatures": "{v} new error signatures",
    "min_qps": "lowest QPS {v}",
    "max_drop_pct": "QPS fell {v}",
    "worst_ttr_s": "a recovery took {v}",
    "injections": "{v} injections",
    "unrecovered": "{v} injections did not recover",
}
_KIND_WORD = {"panic": "panic", "fatal": "fatal error", "error": "error", "warn": "warning"}
_PANIC_PREFIX = re.compile(r"^(?:panic:\s*)?(?:runtime error:\s*)?", re.IGNORECASE)
_LABEL_DOMAIN = re.compile(r"\b[a-z0-9.-]+\.[a-z]{2,}/(?=[\w.-]+=)")  # app.kubernetes.io/component=tikv -> component=tikv


@dataclass(frozen=True, slots=True)
class Night:
    """What the headline is made from; plain values, so a headline can be tested without reading a night."""

    verdict: Verdict
    metrics: dict[str, float]
    signatures: list[Signature]  # ranked
    injections: list[Injection]
    tz: ZoneInfo
    has_logs: bool = True
    outside_window: int = 0  # warn/error entries of the logs outside the night's window (left out)
    compared: bool = True  # a previous night's report was read, so NEW means something
    metrics_missing: str = ""  # "no metrics given" / "metrics unavailable" when there is no series


def cut(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters, cut at a word boundary and marked with …."""
    text = " ".join(clean_text(text).split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:") + "…"


def short_message(sig: Signature, limit: int = MAX_MESSAGE) -> str:
    """The signature's first message line, plain and short; a panic loses its `panic: runtime error:` prefix (the kind says it)."""
    text = (sig.message or sig.pattern).strip().splitlines()[0] if (sig.message or sig.pattern).strip() else sig.pattern
    if sig.kind == "panic":
        text = _PANIC_PREFIX.sub("", text, count=1) or text
    return cut(text, limit)


def signature_text(sig: Signature, *, limit: int = MAX_MESSAGE) -> str:
    """`NEW panic in basic-tidb-0: invalid memory address or nil pointer dereference (3×)`."""
    where = f" in {sig.component}" if sig.component else ""
    times = f" ({sig.count:,}×)" if sig.count > 1 else ""
    return f"{'NEW ' if sig.new else ''}{_KIND_WORD.get(sig.kind, sig.kind)}{where}: {short_message(sig, limit)}{times}"


def target_text(window: ChaosWindow, *, short: bool = False) -> str:
    """What an injection hit, as the chaos source says: pods, or a selector; `short` drops namespaces and label domains."""
    target = window.target
    if short and target:
        target = _LABEL_DOMAIN.sub("", target)
        # A selector without its namespaces, pods without theirs: detail the injections table keeps.
        pods = ", ".join(part.rsplit("/", 1)[-1] for part in target.split(", "))
        target = target.split(" in ", 1)[0] if "=" in target else pods
    return target


def fault_text(window: ChaosWindow) -> str:
    """The fault in a few words: `pod-failure on one pod of component=tikv in tidb-cluster`, or its name and kind."""
    target = target_text(window, short=True)
    action = window.action or window.kind
    if target:
        return f"{action} on {target}" if action else target
    if window.kind == "detected":
        return "a dip found in the metric"
    named = " ".join(x for x in (window.name, f"({window.kind})" if window.kind else "") if x)
    return named or "an injection"


def injection_text(inj: Injection, number: int, tz: ZoneInfo) -> str:
    """`QPS fell 69.6 % and recovered in 40 s after pod-failure on ... (#4, 18:50 UTC)`."""
    drop = f"QPS fell {format_metric('drop_pct', inj.drop_pct)}" if inj.drop_pct is not None else "QPS could not be measured"
    recovery = f"recovered in {format_metric('ttr_s', inj.ttr_s)}" if inj.ttr_s is not None else "did not recover"
    when = inj.window.start.astimezone(tz).strftime("%H:%M")
    return f"{drop} and {recovery} after {fault_text(inj.window)} (#{number}, {when} {tz})"


def _cause(signatures: list[Signature]) -> Signature | None:
    """The first fatal or panic signature, else the first NEW error: what the night is remembered by."""
    return next((s for s in signatures if s.severity <= 1 or (s.new and s.severity <= 2)), None)


def write_headline(night: Night) -> str:
    """One sentence of at most MAX_HEADLINE characters; see the module docstring for what goes in, in which order."""
    fired = night.verdict.fired
    fired_metrics = {r.metric for r in fired}
    sig = _cause(night.signatures)
    by = "ttr" if fired_metrics & {"worst_ttr_s", "unrecovered"} else "drop"
    inj = worst_injection(night.injections, by=by)
    number = night.injections.index(inj) + 1 if inj is not None else 0
    all_recovered = inj is not None and not any(i.never_recovered for i in night.injections)
    good = not fired

    sig_clause = signature_text(sig) if sig is not None else ""
    if good and all_recovered and inj is not None:
        measured = [i for i in night.injections if i.measured]
        worst_ttr = max(i.ttr_s or 0.0 for i in measured)
        drop = max((i.drop_pct or 0.0) for i in measured)
        n = len(measured)
        inj_clause = (
            f"{n:,} injection{'s' if n != 1 else ''}, {'all ' if n > 1 else ''}recovered within "
            f"{format_metric('ttr_s', worst_ttr)} (worst drop {format_metric('drop_pct', drop)})"
        )
    else:
        inj_clause = injection_text(inj, number, night.tz) if inj is not None else ""

    # Which fired rules a clause explains, so the sentence says the cause instead of repeating the rule.
    explained_by_sig: set[str] = set()
    if sig is not None:
        explained_by_sig = {"signatures"} | ({"fatal"} if sig.level == "fatal" else set()) | ({"new_signatures"} if sig.new else set())
    explained_by_inj: set[str] = set()
    if inj is not None:
        explained_by_inj = {"worst_ttr_s" if by == "ttr" else "max_drop_pct"} | ({"unrecovered"} if inj.ttr_s is None else set())
    # (priority, text): when the sentence is too long, the clause with the largest number goes first.
    clauses: list[tuple[int, str]] = []
    used: set[str] = set()

    def add(name: str, priority: int, text: str) -> None:
        if text and name not in used:
            used.add(name)
            clauses.append((priority, text))

    if sig is not None and sig.severity <= 1:
        add("sig", 0, sig_clause)  # a fatal error or a panic is the worst finding there is, whichever rule fired
    for rule in fired:
        if rule.metric in explained_by_sig:
            add("sig", 0, sig_clause)
        elif rule.metric in explained_by_inj:
            add("inj", 1, inj_clause)
        else:
            add(rule.rule, 2, _rule_clause(rule))
            # A count alone says little; the signature behind most of it says where to look.
            level = {"errors": "error", "warnings": "warn", "signatures": "error"}.get(rule.metric)
            top = max((s for s in night.signatures if s.level == level and s is not sig), key=lambda s: s.count, default=None)
            if top is not None:
                add(f"top {level}", 4, f"most of them {signature_text(top, limit=60)}")
    add("sig", 0, sig_clause)
    add("inj", 3, inj_clause)

    unrecovered = sum(1 for i in night.injections if i.never_recovered)
    if unrecovered > 1 and not any(r.metric == "unrecovered" and r.metric not in explained_by_inj for r in fired):
        add("unrecovered", 3, f"{unrecovered:,} of {len(night.injections):,} injections did not recover")
    if sig is None:
        add("logs", 5, _logs_clause(night))
    if inj is None:
        if night.metrics_missing:
            add("metrics", 5, night.metrics_missing)
        elif not night.injections:
            add("metrics", 5, "no chaos window in the metric's span")
        else:
            add("metrics", 5, "no injection could be measured (no baseline before them)")
    return _sentence(clauses)


def _rule_clause(rule: RuleResult) -> str:
    value = format_metric(rule.metric, rule.value)
    return _RULE_TEXT.get(rule.metric, f"{rule.metric.replace('_', ' ')} {{v}}").format(v=value) + f" (rule {rule.rule})"


def _logs_clause(night: Night) -> str:
    if not night.has_logs:
        return "no logs given"
    errors = int(night.metrics.get("errors", 0))
    if night.compared and errors:
        return "no new errors"
    if not errors:
        return "no errors logged in the night's window" if night.outside_window else "no errors logged"
    return f"{format_metric('errors', errors)} errors, none fatal"


def _sentence(clauses: list[tuple[int, str]]) -> str:
    clauses = [c for c in clauses if c[1]]
    if not clauses:
        return "Nothing to report."
    while len(clauses) > 1 and len("; ".join(text for _, text in clauses)) + 1 > MAX_HEADLINE:
        # The least important clause goes first (the last of equals); the cause stays.
        clauses.remove(max(reversed(clauses), key=lambda c: c[0]))
    text = cut("; ".join(text for _, text in clauses), MAX_HEADLINE - 1)
    text = text[0].upper() + text[1:]
    return text if text.endswith("…") else text + "."
