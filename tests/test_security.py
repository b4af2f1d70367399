"""SECURITY.md tells the truth: every test it names exists, and the promises no other test file covers."""

from __future__ import annotations

import ast
import inspect
import re

from sitegen.cli import build_parser
from sitegen.serve import run_serve
from tests.conftest import ROOT

SECURITY = ROOT / "SECURITY.md"


def named_tests() -> list[str]:
    """Every `tests/....py` or `tests/....py::test_name` that SECURITY.md names."""
    return re.findall(r"`(tests/[\w/]+\.py(?:::\w+)?)`", SECURITY.read_text())


def test_every_test_security_md_names_exists():
    names = named_tests()
    assert len(names) >= 25
    missing = []
    for name in names:
        path, _, function = name.partition("::")
        file = ROOT / path
        if not file.is_file():
            missing.append(name)
            continue
        if function:
            defined = {n.name for n in ast.walk(ast.parse(file.read_text())) if isinstance(n, ast.FunctionDef)}
            if function not in defined:
                missing.append(name)
    assert missing == []


def test_serve_binds_the_loopback_address_by_default():
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert inspect.signature(run_serve).parameters["host"].default == "127.0.0.1"
