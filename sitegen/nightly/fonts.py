"""Find the fonts the PDF needs: DejaVu for Latin text and a CJK fallback, in the configured folders, then through fontconfig.

A missing font never costs a night its report: without DejaVu the PDF falls back to fpdf2's core
fonts, without a CJK font to replacement marks, and one warning says which package brings the full look.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LATIN_PACKAGE = "fonts-dejavu-core"
CJK_PACKAGE = "fonts-wqy-microhei"  # 5 MB; fonts-noto-cjk looks better but weighs over 50 MB
FONT_SUFFIXES = (".ttf", ".ttc", ".otf")  # what fpdf2 can embed; fontconfig also lists bitmap and Type 1 fonts
FC_TIMEOUT_S = 10  # a first fc-list on a machine without a font cache builds one, which can take seconds


@dataclass(frozen=True, slots=True)
class Fonts:
    """Font files for the PDF. latin None: fpdf2's core fonts (Helvetica, Courier); cjk None: CJK text is replaced."""

    latin: Path | None
    bold: Path | None  # the regular Latin face when no bold one is found
    mono: Path | None
    cjk: Path | None
    warning: str | None = None  # what is missing and how to install it; find_fonts logs it once per process


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


def _fc_files(*pattern: str) -> list[Path]:
    """Font files fontconfig lists for a pattern, sorted; none when fc-list is absent, fails or hangs."""
    tool = shutil.which("fc-list")
    if tool is None:
        return []
    try:
        proc = subprocess.run(
            [tool, "--format", "%{file}\n", *pattern],
            capture_output=True, timeout=FC_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("fonts: fc-list failed: %s", exc)
        return []
    if proc.returncode != 0:
        log.debug("fonts: fc-list exited %d: %s", proc.returncode, proc.stderr.decode(errors="replace").strip())
        return []
    paths = {Path(os.fsdecode(line)) for line in proc.stdout.splitlines() if line.strip()}
    return sorted(p for p in paths if p.suffix.lower() in FONT_SUFFIXES and p.is_file())  # its cache can be stale


@functools.cache
def _fc_index() -> dict[str, Path]:
    """Every font fontconfig knows, by file name: other distributions and macOS keep DejaVu elsewhere."""
    index: dict[str, Path] = {}
    for path in _fc_files():
        index.setdefault(path.name.lower(), path)
    return index


def _warning(latin_font: str, latin: Path | None, cjk: Path | None, searched: str) -> str | None:
    if latin is None:
        packages = LATIN_PACKAGE if cjk is not None else f"{LATIN_PACKAGE} {CJK_PACKAGE}"
        return (
            f"fonts: {latin_font} not found in {searched} (config report.latin_font / report.font_dirs); "
            "the PDF uses the built-in Helvetica and Courier and shows characters they lack as '?'. "
            f"For the full look: sudo apt-get install -y {packages}"
        )
    if cjk is None:
        return (
            f"fonts: no CJK font found in {searched} (config report.cjk_fonts / report.font_dirs); "
            "Chinese, Japanese and Korean text shows as replacement marks. "
            f"For the full look: sudo apt-get install -y {CJK_PACKAGE} (or fonts-noto-cjk)"
        )
    return None


@functools.cache
def _resolve(latin_font: str, cjk_fonts: tuple[str, ...], font_dirs: tuple[str, ...]) -> Fonts:
    """find_fonts, once per process: a demo making dozens of nights walks the folders and warns once."""
    folders = _index([Path(d).expanduser() for d in font_dirs])

    def first(names: tuple[str, ...], index: dict[str, Path]) -> Path | None:
        return next((p for p in (_lookup(n, index) for n in names) if p is not None), None)

    def find(*names: str) -> Path | None:
        # Every name in the folders before any through fontconfig, so the usual case runs no program.
        return first(names, folders) or first(names, _fc_index())

    latin = find(latin_font)
    # Failing the configured names, any font fontconfig says covers Chinese will do: it only draws what DejaVu lacks.
    cjk = find(*cjk_fonts) or next(iter(_fc_files(":lang=zh")), None)
    bold = mono = latin
    if latin is not None:
        # DejaVu ships its bold and mono faces beside the regular one (Fedora: in sibling folders).
        def face(name: str) -> Path:
            beside = latin.with_name(name)
            return beside if beside.is_file() else find(name) or latin

        bold, mono = face(f"{latin.stem}-Bold{latin.suffix}"), face(f"{latin.stem}Mono{latin.suffix}")
    searched = (", ".join(font_dirs) or "no folder") + (" or through fontconfig" if shutil.which("fc-list") else "")
    fonts = Fonts(latin=latin, bold=bold, mono=mono, cjk=cjk, warning=_warning(latin_font, latin, cjk, searched))
    log.debug("fonts: %s", fonts)
    if fonts.warning:
        log.warning("%s", fonts.warning)
    return fonts


def find_fonts(latin_font: str, cjk_fonts: list[str], font_dirs: list[str]) -> Fonts:
    """Resolve the configured fonts; what is missing becomes a fallback and one warning, never an error."""
    return _resolve(latin_font, tuple(cjk_fonts), tuple(font_dirs))


def fonts_from_config(report_config: object) -> Fonts:
    """find_fonts with the `report:` section of the config."""
    return find_fonts(
        report_config.latin_font,  # type: ignore[attr-defined]
        list(report_config.cjk_fonts),  # type: ignore[attr-defined]
        list(report_config.font_dirs),  # type: ignore[attr-defined]
    )
