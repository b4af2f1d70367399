"""Map a request path to a file inside the output folder, refusing anything that could leave it."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit


class Refused(Exception):
    """The request path tries to leave the site (traversal, encoded separators, symlink out)."""


def site_file(root: Path, raw_target: str) -> tuple[Path, str]:
    """(file on disk, site-relative path) for a request target; raises Refused or FileNotFoundError.

    Each segment is decoded on its own, so an encoded slash or backslash (%2f, %5c) can never
    become a separator; dot segments in any spelling are refused rather than normalised.
    """
    path = urlsplit(raw_target).path
    if not path.startswith("/") or "\\" in path:
        raise Refused(raw_target)
    parts: list[str] = []
    for raw in path.split("/")[1:]:
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise Refused(raw_target) from None
        if segment in (".", "..") or any(c in segment for c in "/\\\x00"):
            raise Refused(raw_target)
        if segment:
            parts.append(segment)
    relative = "/".join(parts)
    real_root = root.resolve()
    candidate = real_root.joinpath(*parts)
    real = _confined(real_root, candidate, raw_target)
    if real.is_dir():
        if not path.endswith("/") and parts:
            raise IsADirectoryError(relative)
        real = _confined(real_root, real / "index.html", raw_target)
        relative = f"{relative}/index.html" if relative else "index.html"
    if not real.is_file():
        raise FileNotFoundError(relative)
    return real, relative


def _confined(real_root: Path, candidate: Path, raw_target: str) -> Path:
    # realpath follows every symlink; the result must still be inside the site.
    real = Path(os.path.realpath(candidate))
    if real != real_root and real_root not in real.parents:
        raise Refused(raw_target)
    return real
