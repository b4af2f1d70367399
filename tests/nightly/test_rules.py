"""Verdict rules: parsing with exact error messages, evaluation, explanations."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitegen.errors import ConfigError
from sitegen.grammar import METRICS
from sitegen.nightly.rules import evaluate, explain, load_rules, parse_rules


def test_parse_all_operators_and_spacing():
    rules = parse_rules(["fatal > 0", "errors>=100", "  min_qps <  500.5 ", "worst_ttr_s<=60", "injections == 3", "unrecovered != 0"])
    assert [(r.metric, r.op, r.threshold) for r in rules] == [
        ("fatal", ">", 0.0),
        ("errors", ">=", 100.0),
        ("min_qps", "<", 500.5),
        ("worst_ttr_s", "<=", 60.0),
        ("injections", "==", 3.0),
        ("unrecovered", "!=", 0.0),
    ]
    assert rules[1].text == "errors >= 100"


def test_every_bad_rule_is_listed_at_once():
    with pytest.raises(ConfigError) as err:
        parse_rules(["fatal > 0", "fatals > 0", "errors >> 1", 5, "max_drop_pct > lots", "new_signatures > 0"], source="sitegen.yml")
    assert err.value.problems == [
        "config key 'rules[1]': unknown metric 'fatals' (did you mean 'fatal'? known: "
        "fatal, errors, warnings, signatures, new_signatures, min_qps, max_drop_pct, worst_ttr_s, injections, unrecovered)",
        "config key 'rules[2]': 'errors >> 1' is not 'metric OP number' (OP is one of > >= < <= == !=)",
        "config key 'rules[3]': must be a string like 'fatal > 0', got int 5",
        "config key 'rules[4]': 'max_drop_pct > lots' is not 'metric OP number' (OP is one of > >= < <= == !=)",
    ]
    assert str(err.value).startswith("sitegen.yml: 4 problem(s)\n  config key 'rules[1]'")


def test_unknown_metric_without_a_close_match():
    with pytest.raises(ConfigError) as err:
        parse_rules(["latency_p99 > 5"])
    assert err.value.problems[0].startswith("config key 'rules[0]': unknown metric 'latency_p99' (known: fatal, errors,")


def test_rules_must_be_a_list():
    with pytest.raises(ConfigError, match="config key 'rules': must be a list of rules like 'fatal > 0', got str"):
        parse_rules("fatal > 0")
    assert parse_rules(None) == [] and parse_rules([]) == []


def test_evaluate_fires_and_reports_values():
    rules = parse_rules(["fatal > 0", "errors > 100", "worst_ttr_s > 60", "max_drop_pct > 95"])
    verdict = evaluate(rules, {"fatal": 0, "errors": 250, "worst_ttr_s": 61.5, "max_drop_pct": 95.0}, good="good", bad="bad")
    assert verdict.status == "bad"
    assert [(r.rule, r.value, r.fired) for r in verdict.results] == [
        ("fatal > 0", 0.0, False),
        ("errors > 100", 250.0, True),
        ("worst_ttr_s > 60", 61.5, True),
        ("max_drop_pct > 95", 95.0, False),  # not strictly greater
    ]
    assert [r.rule for r in verdict.fired] == ["errors > 100", "worst_ttr_s > 60"]
    assert [explain(r) for r in verdict.results] == [
        "fatal > 0: fatal = 0 (ok)",
        "errors > 100: errors = 250 (fired)",
        "worst_ttr_s > 60: worst_ttr_s = 61.5 (fired)",
        "max_drop_pct > 95: max_drop_pct = 95 (ok)",
    ]


def test_absent_metric_is_n_a_and_does_not_fire():
    rules = parse_rules(["max_drop_pct > 95", "min_qps < 1", "fatal > 0"])
    verdict = evaluate(rules, {"fatal": 0}, good="pass", bad="fail")
    assert verdict.status == "pass"
    assert [r.value for r in verdict.results] == [None, None, 0.0]
    assert explain(verdict.results[0]) == "max_drop_pct > 95: n/a (max_drop_pct not measured)"
    assert evaluate(rules, {"min_qps": 0.0}, good="pass", bad="fail").status == "fail"


def test_no_rules_is_good():
    assert evaluate([], {"fatal": 9}, good="good", bad="bad").status == "good"


def test_metric_names_are_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    for name in METRICS:
        assert f"`{name}`" in doc


def test_rules_file(tmp_path):
    f = tmp_path / "rules.yml"
    f.write_text("rules:\n  - fatal > 0\n  - new_signatures > 0\n")
    assert [r.text for r in load_rules(f)] == ["fatal > 0", "new_signatures > 0"]
    f.write_text("- errors > 5\n")
    assert [r.metric for r in load_rules(f)] == ["errors"]
    f.write_text("rulez:\n  - fatal > 0\n")
    with pytest.raises(ConfigError, match="config key 'rulez': unknown key"):
        load_rules(f)
    with pytest.raises(ConfigError, match="rules file not found"):
        load_rules(tmp_path / "missing.yml")
