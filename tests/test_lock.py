"""The Python lockfiles pin, with hashes, versions inside pyproject's ranges, for every dependency."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, str]:
    """Package -> pinned version; fails on a pin without a hash (pip would refuse it with --require-hashes)."""
    found: dict[str, str] = {}
    text = lock.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=\S)", text):
        match = _PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{lock.name}: {match.group(1)} has no hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
DEV = [Requirement(r) for r in PROJECT["optional-dependencies"]["dev"]]


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [("requirements.lock", RUNTIME), ("requirements-dev.lock", RUNTIME + DEV)],
)
def test_lock_pins_every_dependency_inside_its_range(lock, requirements):
    pinned = pins(ROOT / lock)
    for req in requirements:
        name = canonicalize_name(req.name)
        assert name in pinned, f"{lock} lacks {req.name}: run `make lock`"
        assert req.specifier.contains(pinned[name], prereleases=True), f"{lock}: {req.name}=={pinned[name]} is outside {req.specifier}"


def test_runtime_lock_is_the_dev_lock_without_the_dev_tools():
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime, "the two locks disagree: run `make lock`"
    assert not {canonicalize_name(r.name) for r in DEV} & set(runtime)
