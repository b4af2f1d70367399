"""pdf.js is pinned to one exact, patched version, and the lockfile and install agree with the pin."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATCHED = (4, 2, 67)  # first release fixing CVE-2024-4367 (arbitrary JS from a crafted font)


def _version(text: str) -> tuple[int, ...]:
    assert re.fullmatch(r"\d+\.\d+\.\d+", text), f"not an exact version: {text!r}"
    return tuple(int(part) for part in text.split("."))


def test_pdfjs_is_pinned_exactly_to_a_patched_release():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["pdfjs-dist"]
    assert _version(pinned) >= PATCHED


def test_lockfile_and_installed_copy_match_the_pin():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["pdfjs-dist"]
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/pdfjs-dist"]["version"] == pinned
    installed = json.loads((ROOT / "node_modules/pdfjs-dist/package.json").read_text())
    assert installed["version"] == pinned


def test_pdfjs_runs_on_this_node():
    """pdfjs-dist declares the Node versions it supports; the pinned one must accept Node 20."""
    engines = json.loads((ROOT / "node_modules/pdfjs-dist/package.json").read_text()).get("engines", {})
    ranges = [r.strip() for r in engines.get("node", ">=20").split("||")]
    assert any(r.startswith(">=20") for r in ranges), engines


def test_the_package_carries_the_locked_pdfjs():
    """The wheel and the editable install serve the vendored copy; it must be the locked version."""
    from sitegen.site.assets import pdfjs_version

    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert pdfjs_version() == lock["packages"]["node_modules/pdfjs-dist"]["version"]
