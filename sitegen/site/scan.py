"""Scan stage: walk the reports folder and list the report PDFs in it, with a warning for everything else.

Nothing here opens a PDF; it only reads names and stats files, so a no-change rebuild stays cheap.
A name is shown on the site as `model.clean_text` makes it; `path` keeps the real one for reading.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.model import clean_text, parse_report_name
from sitegen.site.layout import is_inside
from sitegen.site.listing import Folder, walk

log = logging.getLogger(__name__)

# Looks like a report name but the date does not exist (2021-02-30): worth naming the reason.
_DATE_SHAPED = re.compile(r"^report-\d{4}-\d{2}-\d{2}-[a-z][a-z0-9_]*\.pdf\Z", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """One report PDF found by the scan: where it is, what its name says and its stamp (size, mtime_ns, inode)."""

    source: str  # path relative to the reports folder, POSIX separators, as shown (clean_text)
    path: Path  # absolute path (for a symlink inside the folder: the link, which stat follows)
    date: dt.date
    status: str
    suite: str
    size: int
    mtime_ns: int
    inode: int
    readable: bool = True  # False: its name is a report's but the file cannot be opened

    @property
    def stamp(self) -> tuple[int, int, int]:
        """What stands for the file's contents (cache.Stamp): a new file renamed over it has another inode."""
        return (self.size, self.mtime_ns, self.inode)


@dataclass
class ScanResult:
    """The reports found, sorted by source, and the warnings the scan gave."""

    found: list[Found] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as lone surrogates
        return False
    return True


def shown(text: str | os.PathLike[str]) -> str:
    """A name safe to print: control characters and undecodable bytes escaped, so a file name cannot forge output.

    Not `clean_text`: a terminal line is for finding the file, so the escape keeps what the bytes were,
    and it also escapes the bidi and format characters a terminal would obey.
    """
    text = os.fspath(text)
    if text.isprintable() and _utf8(text):
        return text
    return "".join(c if c.isprintable() and _utf8(c) else ascii(c)[1:-1] for c in text)


def scan_reports(folder: Path, listing: list[Folder] | None = None) -> ScanResult:
    """Every report PDF under `folder` (recursively); other files, bad dates and unsafe links become warnings.

    `listing` is the build's walk of `folder.resolve()` (listing.walk), when it has one already.
    """
    result = ScanResult()
    folder = folder.resolve()
    skipped: list[str] = []  # readable files whose name is not a report's, listed in one warning
    if not folder.is_dir():
        result.warnings.append(f"reports folder {folder} does not exist or is not a folder; the site has no reports")
        return result

    for here in walk(folder) if listing is None else listing:
        if not _utf8(here.prefix):  # inside a folder whose name was not valid UTF-8: that folder was named once
            continue
        if here.error is not None:
            result.warnings.append(f"{here.path}: cannot read this folder ({here.error.strerror}); its reports are missing")
            continue
        for entry in here.entries:
            rel = here.prefix + entry.name
            if not _utf8(rel):
                # It could not be written into reports.json or a URL; say so instead of failing later.
                result.warnings.append(f"{shown(entry.path)}: name is not valid UTF-8, skipped")
                continue
            if entry.is_dir(follow_symlinks=False):
                continue  # the walk lists it as a folder of its own
            if entry.is_symlink() and Path(entry.path).is_dir():
                target = Path(entry.path).resolve()
                where = "outside the reports folder" if not is_inside(target, folder) else "inside the reports folder"
                result.warnings.append(f"{entry.path}: symlink to a folder {where}, not followed")
            else:
                found = _examine(entry, rel, folder, result.warnings, skipped)
                if found is not None:
                    result.found.append(found)

    if skipped:
        result.warnings.append(
            f"{len(skipped)} file(s) in {folder} are not reports (expected report-YYYY-MM-DD-STATUS.pdf) and were skipped: "
            + ", ".join(skipped)
        )
    result.found = _distinct(sorted(result.found, key=lambda f: f.source), result.warnings)
    result.warnings.extend(_same_night_warnings(result.found))
    log.debug("scan: %d report(s), %d warning(s) in %s", len(result.found), len(result.warnings), folder)
    return result


def _examine(entry: os.DirEntry[str], rel: str, folder: Path, warnings: list[str], skipped: list[str]) -> Found | None:
    """A Found for a report file, or None after recording why the file is not one."""
    path = Path(entry.path)
    if entry.is_symlink():
        try:
            target = path.resolve()
        except (RuntimeError, OSError):  # a loop of links: RuntimeError up to Python 3.12, OSError after
            warnings.append(f"{path}: symlink loop (the link leads back to itself), skipped")
            return None
        if not is_inside(target, folder):
            warnings.append(f"{path}: symlink leading out of the reports folder (to {target}), not followed")
            return None
        if not target.exists():
            warnings.append(f"{path}: broken symlink, skipped")
            return None
    parsed = parse_report_name(entry.name)
    if parsed is None:
        skipped.append(f"{rel} (impossible date)" if _DATE_SHAPED.match(entry.name) else rel)
        return None
    try:
        st = entry.stat()  # follows a symlink that stays inside the folder
    except OSError as exc:
        warnings.append(f"{path}: cannot read this file ({exc.strerror}), skipped")
        return None
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device with a report's name would block or never end when read.
        warnings.append(f"{path}: not a regular file, skipped")
        return None
    readable = os.access(entry.path, os.R_OK)  # the str: no os.fspath per file
    if not readable:
        warnings.append(f"{path}: cannot read this file (permission denied); its card says so and the PDF is not published")
    suite, slash, _ = rel.partition("/")
    return Found(
        source=clean_text(rel),
        path=path,
        date=parsed.date,
        status=parsed.status,
        suite=clean_text(suite) if slash else "",
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        inode=st.st_ino,
        readable=readable,
    )


def _distinct(found: list[Found], warnings: list[str]) -> list[Found]:
    """The first of reports whose shown names are equal (they differ only in replaced characters); a warning for the rest."""
    out: list[Found] = []
    for f in found:
        if out and out[-1].source == f.source:
            warnings.append(f"{f.path}: shown as {f.source}, like {out[-1].path}; skipped")
        else:
            out.append(f)
    return out


def _same_night_warnings(found: list[Found]) -> list[str]:
    """One warning per (suite, date) that has more than one PDF; all of them are still shown."""
    nights: dict[tuple[str, dt.date], list[Found]] = {}
    for f in found:
        nights.setdefault((f.suite, f.date), []).append(f)
    warnings = []
    for (suite, date), group in sorted(nights.items(), key=lambda item: (item[0][0], item[0][1])):
        if len(group) > 1:
            where = f"suite '{suite}'" if suite else "the top-level folder"
            warnings.append(
                f"{len(group)} reports for {date.isoformat()} in {where}: "
                + ", ".join(f.source for f in group)
                + " (all are shown)"
            )
    return warnings
