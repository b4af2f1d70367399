"""What ships inside the package for the site: the default theme and the vendored pdf.js build, and where
the theme folders of a config are.

Both are found through the installed package (importlib.resources), never relative to a source
checkout, so a wheel builds the same site as the repository. pdf.js is copied into
sitegen/vendor/pdfjs from the exact pin in package-lock.json by scripts/vendor_pdfjs.py, at package
build time and by `make setup`; which of its files the viewer needs is decided there.
"""

from __future__ import annotations

import functools
import json
import logging
from importlib import resources
from pathlib import Path

from sitegen import limits
from sitegen.config import Config, theme_problem
from sitegen.errors import MissingToolError, UsageError, os_error_message
from sitegen.site import layout

log = logging.getLogger(__name__)

# Installed wheels and editable installs both unpack to real folders, so a plain Path is safe.
PACKAGE_DATA = Path(str(resources.files("sitegen")))
DEFAULT_THEME = PACKAGE_DATA / "themes" / "default"
PDFJS_VENDORED = PACKAGE_DATA / "vendor" / "pdfjs"
PDFJS_STAMP = "pdfjs-dist.json"
_NOT_VENDORED = "run `make setup` in a checkout (it runs npm ci and scripts/vendor_pdfjs.py), or reinstall sitegen"


def theme_folders(config: Config) -> list[Path]:
    """The theme folders in lookup order: the user's theme (if any) first, then the default theme."""
    folders = []
    if config.theme:
        user = config.path("theme")
        if problem := theme_problem(user):
            raise UsageError(problem)
        folders.append(user)
    folders.append(DEFAULT_THEME)
    return folders


def theme_files(folder: Path) -> list[Path]:
    """Every file under a theme folder, sorted; UsageError when it holds more than limits.THEME_FILES (a theme
    set to `/` or a home folder would otherwise be read whole) or cannot be listed."""
    found = []
    try:
        for path in folder.rglob("*"):
            if path.is_file():
                found.append(path)
                if len(found) > limits.THEME_FILES:
                    raise UsageError(
                        f"theme folder {folder} holds more than {limits.THEME_FILES:,} files (limit THEME_FILES); "
                        "is config key 'theme' set to the theme's own folder?"
                    )
    except OSError as exc:
        raise UsageError(f"theme folder {folder} cannot be read: {os_error_message(exc)}") from None
    return sorted(found)


def templates_dir(theme: Path) -> Path:
    """Where a theme keeps its templates: a user theme may mirror the default layout (templates/, static/) or
    just hold templates."""
    sub = theme / "templates"
    return sub if sub.is_dir() else theme


def pdfjs_version(folder: Path = PDFJS_VENDORED) -> str | None:
    """The vendored pdf.js version, None when pdf.js is not there."""
    try:
        return json.loads((folder / PDFJS_STAMP).read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


@functools.cache
def _listing(folder: Path) -> tuple[tuple[str, Path], ...]:
    if pdfjs_version(folder) is None:
        raise MissingToolError(f"pdf.js is missing from {folder}: {_NOT_VENDORED}")
    found = sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob("*") if p.is_file() and p.name != PDFJS_STAMP)
    log.debug("pdf.js: %d files from %s", len(found), folder)
    return tuple(found)


def pdfjs_files(folder: Path = PDFJS_VENDORED) -> dict[str, Path]:
    """Output path (under static/pdfjs/) -> vendored source file, for every pdf.js file the viewer needs."""
    return {f"{layout.PDFJS_DIR}/{rel}": path for rel, path in _listing(folder)}
