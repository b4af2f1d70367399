"""Verdict rules (`metric OP number`): parsed and checked at start-up, evaluated once the night's numbers exist."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sitegen import limits
from sitegen.errors import ConfigError
from sitegen.grammar import Rule, rule_problems
from sitegen.nightly.records import RuleResult, Verdict

log = logging.getLogger(__name__)


def parse_rules(rules: Any, *, key: str = "rules", source: str = "config") -> list[Rule]:
    """Parse every rule; raises ConfigError listing all bad ones (`config key 'rules[2]': ...`) at once."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise ConfigError([f"config key '{key}': must be a list of rules like 'fatal > 0', got {type(rules).__name__}"], source)
    parsed, problems = rule_problems(rules)
    if problems:
        raise ConfigError([f"config key '{key}[{i}]': {problem}" for i, problem in problems], source)
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
