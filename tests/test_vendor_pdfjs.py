"""scripts/vendor_pdfjs.py puts exactly the locked pdf.js into the package, once, and says what to do when it cannot."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR = runpy.run_path(str(ROOT / "scripts" / "vendor_pdfjs.py"))


def checkout(tmp_path: Path) -> Path:
    """A project folder with the real lock and the real node_modules, and nothing vendored yet."""
    shutil.copy(ROOT / "package-lock.json", tmp_path / "package-lock.json")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    return tmp_path


def listing(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_vendoring_copies_what_the_package_carries_and_is_a_no_op_the_second_time(tmp_path):
    root = checkout(tmp_path)
    target = VENDOR["ensure_vendored"](root, log=lambda _msg: None)
    assert listing(target) == listing(ROOT / "sitegen" / "vendor" / "pdfjs")
    stamp = target / "pdfjs-dist.json"
    before = stamp.stat().st_mtime_ns
    VENDOR["ensure_vendored"](root, log=lambda _msg: None)
    assert stamp.stat().st_mtime_ns == before
    assert not (root / "sitegen" / "vendor" / "pdfjs.new").exists()


def test_a_stale_copy_is_replaced_whole(tmp_path):
    root = checkout(tmp_path)
    stale = root / "sitegen" / "vendor" / "pdfjs"
    stale.mkdir(parents=True)
    (stale / "pdfjs-dist.json").write_text(json.dumps({"version": "4.0.0"}))
    (stale / "leftover.mjs").write_text("old")
    VENDOR["ensure_vendored"](root, log=lambda _msg: None)
    assert not (stale / "leftover.mjs").exists()
    assert VENDOR["vendored_version"](stale) == VENDOR["locked_version"](root)


def test_without_npm_and_without_node_modules_it_says_what_to_install(tmp_path, monkeypatch):
    shutil.copy(ROOT / "package-lock.json", tmp_path / "package-lock.json")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(Exception, match=r"pdf.js 5[.\d]+ is not vendored .* npm is not installed") as info:
        VENDOR["ensure_vendored"](tmp_path, log=lambda _msg: None)
    assert type(info.value).__name__ == "VendorError"
