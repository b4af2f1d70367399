"""Verdict rules (`metric OP number`): parsed and checked at start-up, evaluated once the night's numbers exist."""

from __future__ import annotations

import difflib
import logging
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen import limits
from sitegen.errors import ConfigError
from sitegen.nightly.records import RuleResult, Verdict

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed rule; `text` is kept as the user wrote it for the report."""

    text: str
    metric: str
    op: str
    threshold: float

    def check(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.threshold)


def parse_rules(rules: Any, *, key: str = "rules", source: str = "config") -> list[Rule]:
    """Parse every rule; raises ConfigError listing all bad ones (`config key 'rules[2]': ...`) at once."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise ConfigError([f"config key '{key}': must be a list of rules like 'fatal > 0', got {type(rules).__name__}"], source)
    parsed: list[Rule] = []
    problems: list[str] = []
    for i, raw in enumerate(rules):
        where = f"config key '{key}[{i}]'"
        if not isinstance(raw, str):
            problems.append(f"{where}: must be a string like 'fatal > 0', got {type(raw).__name__} {raw!r}")
            continue
        m = _RULE_RE.match(raw)
        if not m:
            problems.append(f"{where}: {raw!r} is not 'metric OP number' (OP is one of > >= < <= == !=)")
            continue
        metric, op, number = m.group(1), m.group(2), float(m.group(3))
        if metric not in METRICS:
            close = difflib.get_close_matches(metric, METRICS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(f"{where}: unknown metric '{metric}' ({hint}known: {', '.join(METRICS)})")
            continue
        parsed.append(Rule(text=" ".join([metric, op, m.group(3)]), metric=metric, op=op, threshold=number))
    if problems:
        raise ConfigError(problems, source)
    return parsed


def load_rules(path: Path) -> list[Rule]:
    """Rules from a YAML file holding either a list or a mapping with a `rules:` list."""
    from sitegen.config import read_yaml_file

    data = read_yaml_file(Path(path), "rules", limit=limits.CONFIG_BYTES)  # bounded: size, depth, aliases
    if isinstance(data, dict):
        unknown = sorted(set(map(str, data)) - {"rules"})
        if unknown:
            raise ConfigError([f"config key '{k}': unknown key" for k in unknown], str(path))
        data = data.get("rules")
    return parse_rules(data, source=str(path))


def evaluate(rules: list[Rule], metrics: Mapping[str, float | None], *, good: str = "good", bad: str = "bad") -> Verdict:
    """The night's status: `bad` when any rule fires, else `good`; a rule whose metric is absent does not fire."""
    results: list[RuleResult] = []
    for rule in rules:
        value = metrics.get(rule.metric)
        if value is not None and isinstance(value, float) and math.isnan(value):
            value = None
        fired = value is not None and rule.check(float(value))
        results.append(RuleResult(rule=rule.text, metric=rule.metric, value=None if value is None else float(value), fired=fired))
    status = bad if any(r.fired for r in results) else good
    log.info("verdict %s: %d of %d rule(s) fired", status, sum(r.fired for r in results), len(results))
    return Verdict(status=status, results=results)


def explain(result: RuleResult) -> str:
    """One line for the report: the rule, the value it saw and whether it fired."""
    if result.value is None:
        return f"{result.rule}: n/a ({result.metric} not measured)"
    v = result.value
    value = str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.6g}"
    return f"{result.rule}: {result.metric} = {value} ({'fired' if result.fired else 'ok'})"
