"""The pdf.js files the viewer page needs, picked from node_modules/pdfjs-dist.

Only what the viewer loads is published: the ES-module builds, the viewer component, its CSS and
the images that CSS names, and the packed cMaps. Measured in Chromium: a PDF whose CJK font uses a
predefined CMap (UniGB-UCS2-H, common from Chinese tools) draws nothing and has an empty text layer
without cMaps, and draws fine with them (1.7 MB, copied once). The standard-font data is left out:
non-embedded Helvetica drew and selected identically with and without it, since pdf.js uses the
browser's system fonts. No legacy build, no source maps, no wasm decoders (JPEG 2000/JBIG2 images).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sitegen.errors import MissingToolError
from sitegen.site import layout

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
PDFJS_PACKAGE = PROJECT_ROOT / "node_modules" / "pdfjs-dist"

_CORE = ("build/pdf.min.mjs", "build/pdf.worker.min.mjs", "web/pdf_viewer.css", "LICENSE")
_VIEWER = ("web/pdf_viewer.min.mjs", "web/pdf_viewer.mjs")  # the first one present wins
_CSS_URL = re.compile(r"""url\(\s*["']?(images/[^"')\s]+)["']?\s*\)""")
_DATA_DIRS = ("cmaps",)


def pdfjs_files(package: Path = PDFJS_PACKAGE) -> dict[str, Path]:
    """Output path (under static/pdfjs/) -> source file, for every pdf.js file the viewer needs."""
    if not (package / "package.json").is_file():
        raise MissingToolError(f"pdf.js is missing: run `npm ci` (looked for {package})")
    wanted: list[str] = []
    for rel in _CORE:
        if not (package / rel).is_file():
            raise MissingToolError(f"pdf.js is incomplete, {rel} is missing: run `npm ci` (in {package})")
        wanted.append(rel)
    viewer = next((rel for rel in _VIEWER if (package / rel).is_file()), None)
    if viewer is None:
        raise MissingToolError(f"pdf.js is incomplete, web/pdf_viewer.mjs is missing: run `npm ci` (in {package})")
    # The page imports the viewer under one name whichever build is installed.
    files = {f"{layout.PDFJS_DIR}/{rel}": package / rel for rel in wanted}
    files[f"{layout.PDFJS_DIR}/web/pdf_viewer.mjs"] = package / viewer

    css = (package / "web/pdf_viewer.css").read_text(encoding="utf-8")
    for image in sorted(set(_CSS_URL.findall(css))):
        source = package / "web" / image
        if source.is_file():  # the CSS names a few images the package does not ship; the browser just skips them
            files[f"{layout.PDFJS_DIR}/web/{image}"] = source
    for folder in _DATA_DIRS:
        for path in sorted((package / folder).glob("*")):
            if path.is_file() and not path.name.endswith(".map"):
                files[f"{layout.PDFJS_DIR}/{folder}/{path.name}"] = path
    log.debug("pdf.js: %d files from %s", len(files), package)
    return files
