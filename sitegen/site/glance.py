"""The no-change check: one look at file stamps, before any scan, cache, record or page is read.

`reports_stamps` digests the stamps (size, mtime, inode, mode, owner) of everything in the walk of
the reports folder (`listing.walk`, which the scan then reads the reports from): an added, removed,
renamed, rewritten, touched or chmod-ed file changes it. `output_stamps` digests the stamps of the
output's folders and of its root files: a page added, removed or renamed anywhere changes its
folder's stamp. What a build remembers (`Glance`) is both, plus what
a no-change build repeats: the report count and the warnings about the reports.

Not seen here: a page edited in place inside the output (its folder's stamp stays). The next build
that has something to do finds and rewrites it (it compares every file with its record); deleting
the page makes the next build of any kind put it back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sitegen.site.cache import folder_key, write_atomic
from sitegen.site.listing import Folder

GLANCE_FORMAT = 1
_ROOT_FILES = ("index.html", "reports.json", ".sitegen")


@dataclass(frozen=True)
class Glance:
    """What the last build saw and left: its inputs' digest, its output's, and what to repeat."""

    inputs: str
    output: str
    folders: list[str]  # the output's folders (relative), whose stamps `output` digests
    shown: int
    warnings: list[str]


def record_file(cache_dir: Path, output: Path) -> Path:
    return cache_dir / f"glance-{folder_key(output)}.json"


def reports_stamps(listing: list[Folder]) -> str:
    """A digest of every entry's name and stamp in the walk of the reports folder, links followed to files as the scan does."""
    digest = hashlib.blake2b(digest_size=20)
    for folder in listing:  # in the walk's fixed order, entries sorted by name: the same tree always gives the same digest
        lines = [] if folder.error is None else [_line(folder.prefix, "unreadable", folder.error.errno)]
        for entry in folder.entries:
            rel = folder.prefix + entry.name
            try:
                # A file's stat follows a link to its target: rewriting the target changes the report.
                st = entry.stat(follow_symlinks=False) if entry.is_dir(follow_symlinks=False) else entry.stat()
            except OSError as exc:  # a broken link, say: where it points is in the scan's warning, so in the digest
                lines.append(_line(rel, "unreadable", exc.errno, _link_target(entry)))
                continue
            lines.append(f"{len(rel)}:{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_mode}\0{st.st_uid}\0{st.st_gid}")
        # One update per folder, of text lines: a list of tuples turned into one repr took 40 % longer at 100,000 files.
        digest.update("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def _link_target(entry: os.DirEntry[str]) -> str:
    try:
        return os.readlink(entry.path) if entry.is_symlink() else ""
    except OSError:
        return ""


def _line(rel: str, *stamp: object) -> str:
    # The name's length first (as in the loop above): a name may hold a newline, and must not pass for another entry.
    return f"{len(rel)}:{rel}\0" + "\0".join(map(str, stamp))


def output_folders(output: Path) -> list[str]:
    """Every folder in the output (relative, '' for the output itself); only folder entries are looked at."""
    out = [""]
    stack = [(str(output), "")]
    while stack:
        here, prefix = stack.pop()
        with os.scandir(here) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    out.append(prefix + entry.name)
                    stack.append((entry.path, prefix + entry.name + "/"))
    return sorted(out)


def output_stamps(output: Path, folders: list[str]) -> str:
    """A digest of the stamps of `folders` and of the output's root files (index.html, reports.json, the marker)."""
    rows: list[tuple[object, ...]] = []
    root = str(output) + "/"
    for rel in [*folders, *_ROOT_FILES]:
        try:
            st = os.stat(root + rel, follow_symlinks=False)
        except OSError as exc:
            rows.append((rel, "missing", exc.errno))
            continue
        rows.append((rel, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode))
    return hashlib.blake2b(repr(rows).encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()


def recall(path: Path) -> Glance | None:
    """The last build's glance, or None (no record, or one that cannot be read: then the build looks closer)."""
    try:
        obj = json.loads(path.read_bytes())
        if obj.pop("format") != GLANCE_FORMAT:
            return None
        glance = Glance(**obj)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    if not (isinstance(glance.folders, list) and all(isinstance(f, str) for f in glance.folders)):
        return None
    if not (isinstance(glance.warnings, list) and all(isinstance(w, str) for w in glance.warnings)):
        return None
    return glance if isinstance(glance.shown, int) else None


def remember(path: Path, glance: Glance) -> None:
    """Keep what this build saw; a record that cannot be written only makes the next build look closer."""
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps({"format": GLANCE_FORMAT, **asdict(glance)}, separators=(",", ":")).encode())


def forget(path: Path) -> None:
    """Before a build writes: if it dies half-way, the next one must not trust the old glance."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
