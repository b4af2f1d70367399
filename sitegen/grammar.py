"""Small grammars that config values share with the commands that read them: verdict rules (`metric OP number`),
kubectl durations and namespace names. One definition each, so `sitegen config --check` rejects exactly what
`sitegen report` or `sitegen nightly` would, and names the config key while it does."""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

# The one list of names a rule may test; the report fills their values (see docs/rules.md).
METRICS: dict[str, str] = {
    "fatal": "log entries at level fatal, panic or crit in the night's window",
    "errors": "log entries at level error in the night's window",
    "warnings": "log entries at level warn in the night's window",
    "signatures": "distinct error and fatal message signatures",
    "new_signatures": "error and fatal signatures not seen the previous night",
    "min_qps": "lowest value of the load metric during the night",
    "max_drop_pct": "deepest drop below baseline at any injection, in %",
    "worst_ttr_s": "longest time to recover after an injection, in seconds (an unrecovered one counts to the end of the data)",
    "injections": "number of fault injections (chaos windows) in the night",
    "unrecovered": "injections after which the metric never recovered",
}

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

_RULE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")

# What `kubectl logs --since` accepts (Go's time.ParseDuration without a sign), and a namespace name (RFC 1123 label).
SINCE_RE = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed rule; `text` is kept as the user wrote it for the report."""

    text: str
    metric: str
    op: str
    threshold: float

    def check(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.threshold)


def parse_rule(raw: object) -> Rule | str:
    """The rule, or what is wrong with it (one phrase, without the key it came from)."""
    if not isinstance(raw, str):
        return f"must be a string like 'fatal > 0', got {type(raw).__name__} {raw!r}"
    m = _RULE_RE.match(raw)
    if not m:
        return f"{raw!r} is not 'metric OP number' (OP is one of > >= < <= == !=)"
    metric, op, number = m.group(1), m.group(2), m.group(3)
    if metric not in METRICS:
        close = difflib.get_close_matches(metric, METRICS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown metric '{metric}' ({hint}known: {', '.join(METRICS)})"
    return Rule(text=" ".join([metric, op, number]), metric=metric, op=op, threshold=float(number))


def rule_problems(rules: list[object]) -> tuple[list[Rule], list[tuple[int, str]]]:
    """The rules that parse, and (index, what is wrong) for each other one; both callers print the index as
    `rules[i]`, counted from 0 as in YAML."""
    parsed: list[Rule] = []
    problems: list[tuple[int, str]] = []
    for i, raw in enumerate(rules):
        rule = parse_rule(raw)
        if isinstance(rule, str):
            problems.append((i, rule))
        else:
            parsed.append(rule)
    return parsed, problems


def since_problem(value: str) -> str | None:
    """What is wrong with a `kubectl logs --since` duration, or None."""
    return None if SINCE_RE.match(value) else f"{value!r}: expected a duration such as 24h, 90m or 1h30m"


def namespace_problem(value: str) -> str | None:
    """What is wrong with a Kubernetes namespace name, or None."""
    return None if NAMESPACE_RE.match(value) else f"{value!r}: not a Kubernetes namespace name (lower-case letters, digits and '-')"
