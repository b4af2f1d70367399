"""One walk of the reports folder, shared by the glance (a digest of every stamp) and the scan (the reports).

Both used to walk the folder on their own. One walk makes them see the same tree by construction
(a file written between two walks could be in the digest and not in the scan), and `os.DirEntry`
keeps its stat result: the scan's stat of a file costs nothing after the glance's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Folder:
    """One folder of the walk: its entries sorted by name, hidden ones (.git, .gitkeep) left out."""

    path: str  # as the walk reached it: the reports folder joined with the names on the way
    prefix: str  # relative to the reports folder: '' for the folder itself, else ending in '/'
    entries: list[os.DirEntry[str]] = field(default_factory=list)
    error: OSError | None = None  # the folder could not be listed


def walk(folder: Path) -> list[Folder]:
    """Every folder under `folder` (not through links to folders), in a fixed order: one tree gives one list."""
    out: list[Folder] = []
    stack = [(str(folder), "")]
    while stack:
        here, prefix = stack.pop()
        try:
            with os.scandir(here) as it:
                entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
        except OSError as exc:
            out.append(Folder(here, prefix, error=exc))
            continue
        out.append(Folder(here, prefix, entries))
        stack.extend((e.path, f"{prefix}{e.name}/") for e in entries if _is_folder(e))
    return out


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:  # vanished since the listing: the glance and the scan say what they find
        return False
