#!/usr/bin/env python3
"""Copy the pdf.js files the viewer needs from node_modules/pdfjs-dist into sitegen/vendor/pdfjs.

Run at package build time (setup.py calls `ensure_vendored`) and by `make setup`, so the wheel carries
pdf.js and a user's machine needs no Node. The version comes from the exact pin in package-lock.json;
when node_modules does not hold it, `npm ci` installs it (npm checks the lockfile's integrity hashes).
A vendored copy whose stamp matches the lock is left alone, so building a wheel from an sdist (which
carries the vendored files and the lock) needs no Node either.

Only what the viewer loads is copied: the ES-module builds, the viewer component, its CSS and the
images that CSS names, and the packed cMaps. Measured in Chromium: a PDF whose CJK font uses a
predefined CMap (UniGB-UCS2-H, common from Chinese tools) draws nothing and has an empty text layer
without cMaps, and draws fine with them (1.7 MB). The standard-font data is left out: non-embedded
Helvetica drew and selected identically with and without it, since pdf.js uses the browser's system
fonts. No legacy build, no source maps, no wasm decoders (JPEG 2000/JBIG2 images).

Stdlib only: it runs inside the isolated build environment before sitegen's dependencies exist.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path("sitegen") / "vendor" / "pdfjs"
STAMP = "pdfjs-dist.json"  # {"version": ...}; read by sitegen --version and by the next vendoring run
PACKAGE = Path("node_modules") / "pdfjs-dist"

_CORE = ("build/pdf.min.mjs", "build/pdf.worker.min.mjs", "web/pdf_viewer.css", "LICENSE")
_VIEWER = ("web/pdf_viewer.min.mjs", "web/pdf_viewer.mjs")  # the first one present wins
_CSS_URL = re.compile(r"""url\(\s*["']?(images/[^"')\s]+)["']?\s*\)""")
_DATA_DIRS = ("cmaps",)
_NPM_CI = ("npm", "ci", "--ignore-scripts", "--omit=optional", "--no-audit", "--no-fund")


class VendorError(Exception):
    """pdf.js cannot be vendored; the message says what to do."""


def locked_version(root: Path = ROOT) -> str:
    """The pdfjs-dist version package-lock.json pins."""
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/pdfjs-dist"]["version"]


def vendored_version(target: Path) -> str | None:
    try:
        return json.loads((target / STAMP).read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def select(package: Path) -> dict[str, Path]:
    """Vendored relative path -> source file, for every pdf.js file the viewer needs."""
    missing = [rel for rel in _CORE if not (package / rel).is_file()]
    viewer = next((rel for rel in _VIEWER if (package / rel).is_file()), None)
    if missing or viewer is None:
        raise VendorError(f"pdf.js in {package} is incomplete ({', '.join(missing) or 'web/pdf_viewer.mjs'} missing): run `npm ci`")
    files = {rel: package / rel for rel in _CORE}
    # The page imports the viewer under one name whichever build the package ships.
    files["web/pdf_viewer.mjs"] = package / viewer
    css = (package / "web/pdf_viewer.css").read_text(encoding="utf-8")
    for image in sorted(set(_CSS_URL.findall(css))):
        if (package / "web" / image).is_file():  # the CSS names a few images the package does not ship
            files[f"web/{image}"] = package / "web" / image
    for folder in _DATA_DIRS:
        for path in sorted((package / folder).glob("*")):
            if path.is_file() and not path.name.endswith(".map"):
                files[f"{folder}/{path.name}"] = path
    return files


def _installed_version(package: Path) -> str | None:
    try:
        return json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_vendored(root: Path = ROOT, log=print) -> Path:
    """Make root/sitegen/vendor/pdfjs hold exactly the locked pdf.js; returns the folder."""
    target, package = root / TARGET, root / PACKAGE
    want = locked_version(root)
    if vendored_version(target) == want:
        return target
    if _installed_version(package) != want:
        if shutil.which("npm") is None:
            raise VendorError(
                f"pdf.js {want} is not vendored in {target} and npm is not installed to fetch it (install Node.js, then `npm ci`)"
            )
        log(f"vendor_pdfjs: installing pdfjs-dist {want} with npm ci")
        done = subprocess.run(_NPM_CI, cwd=root, check=False)
        if done.returncode != 0 or _installed_version(package) != want:
            raise VendorError(f"`npm ci` did not install pdfjs-dist {want} (exit {done.returncode})")
    files = select(package)
    # Build beside the target and swap, so an interrupted run never leaves a half-copied pdf.js.
    fresh = target.with_name(target.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    for rel, source in files.items():
        (fresh / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, fresh / rel)
    (fresh / STAMP).write_text(json.dumps({"version": want, "files": len(files)}) + "\n", encoding="utf-8")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    log(f"vendor_pdfjs: copied {len(files)} pdf.js {want} files into {target.relative_to(root)}")
    return target


if __name__ == "__main__":
    try:
        ensure_vendored()
    except VendorError as exc:
        print(f"vendor_pdfjs: error: {exc}", file=sys.stderr)
        sys.exit(1)
