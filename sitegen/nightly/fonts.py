"""Find the fonts the PDF needs: DejaVu for Latin text and a CJK fallback, from the report config."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sitegen.errors import MissingToolError

log = logging.getLogger(__name__)

LATIN_PACKAGE = "fonts-dejavu-core"
CJK_PACKAGES = "fonts-noto-cjk or fonts-wqy-microhei"


@dataclass(frozen=True, slots=True)
class Fonts:
    """Font files for the PDF; bold and mono fall back to the regular Latin face when absent."""

    latin: Path
    bold: Path
    mono: Path
    cjk: Path


def _index(dirs: list[Path]) -> dict[str, Path]:
    """File name (lower-case) -> first path found under the folders, searched recursively in order."""
    found: dict[str, Path] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for root, subdirs, files in os.walk(folder):
            subdirs.sort()  # a stable pick when two folders hold the same file name
            for name in sorted(files):
                found.setdefault(name.lower(), Path(root) / name)
    return found


def _lookup(name: str, index: dict[str, Path]) -> Path | None:
    path = Path(name).expanduser()
    if path.is_absolute() or os.sep in name:
        return path if path.is_file() else None
    return index.get(name.lower())


def find_fonts(latin_font: str, cjk_fonts: list[str], font_dirs: list[str]) -> Fonts:
    """Resolve the configured fonts; a missing one is a MissingToolError naming the Debian package."""
    index = _index([Path(d).expanduser() for d in font_dirs])
    latin = _lookup(latin_font, index)
    if latin is None:
        raise MissingToolError(
            f"font {latin_font!r} not found in {', '.join(font_dirs)} (config report.latin_font / report.font_dirs); "
            f"install it with: sudo apt-get install -y {LATIN_PACKAGE}"
        )
    cjk = next((p for p in (_lookup(name, index) for name in cjk_fonts) if p is not None), None)
    if cjk is None:
        raise MissingToolError(
            f"no CJK fallback font found (looked for {', '.join(cjk_fonts) or 'nothing'} in {', '.join(font_dirs)}; "
            f"config report.cjk_fonts / report.font_dirs); install one with: sudo apt-get install -y {CJK_PACKAGES}"
        )
    # DejaVu ships its bold and mono faces beside the regular one; use them when they are there.
    stem, suffix = latin.stem, latin.suffix
    bold = latin.with_name(f"{stem}-Bold{suffix}")
    mono = latin.with_name(f"{stem}Mono{suffix}")
    fonts = Fonts(
        latin=latin,
        bold=bold if bold.is_file() else latin,
        mono=mono if mono.is_file() else latin,
        cjk=cjk,
    )
    log.debug("fonts: %s", fonts)
    return fonts


def fonts_from_config(report_config: object) -> Fonts:
    """find_fonts with the `report:` section of the config."""
    return find_fonts(
        report_config.latin_font,  # type: ignore[attr-defined]
        list(report_config.cjk_fonts),  # type: ignore[attr-defined]
        list(report_config.font_dirs),  # type: ignore[attr-defined]
    )
