"""Write stage: the only code that touches the output folder.

The first build assembles the site in a sibling folder (`public.sitegen-XXXX`) and renames it
into place. Later builds change the live folder file by file, each through a temp file and a
rename, so a web server sees every file old or new and never half; the order (new files first,
the index and catalogs last, removals at the end) keeps every link from the index resolving if
a build dies half-way. Files whose bytes, source PDF or key did not change are not touched at
all. What was written is recorded in a state file in the cache folder, never in the output, so
the output is the same bytes whichever way it was built.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import filecmp
import hashlib
import logging
import marshal
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.errors import BuildError, UsageError
from sitegen.site.cache import folder_key, write_atomic
from sitegen.site.layout import is_inside

log = logging.getLogger(__name__)

MARKER = ".sitegen"
MARKER_BYTES = b"This folder is written by `sitegen build` and replaced as a whole on every build.\n"
NOJEKYLL = ".nojekyll"
STATE_FORMAT = 2  # 2: marshal (the record of 20,000 files: 0.07 s less per build than JSON); 1: JSON
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass
class Plan:
    """The whole new site: generated files as bytes, and files copied (or hard-linked) from elsewhere."""

    files: dict[str, bytes] = field(default_factory=dict)
    copies: dict[str, Path] = field(default_factory=dict)
    keep: dict[str, str] = field(default_factory=dict)  # pages not rendered, as their key is unchanged: path -> key
    keys: dict[str, str] = field(default_factory=dict)  # the key of each rendered page, recorded for the next build
    staged: dict[str, tuple[str, int]] = field(default_factory=dict)  # written into a first build's staging already: (sha, size)
    # (size, mtime_ns, inode) of a copy's source as the scan saw it (the PDFs); a copy without one is stat'ed (pdf.js).
    stamps: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def may_link(self, rel: str) -> bool:
        """Whether the copy at `rel` may be a hard link to its source: the reports' PDFs only (10,000 copies would double
        the disk). pdf.js is really copied: a link would make an edit of the site write into sitegen's installed files."""
        return rel in self.stamps

    def paths(self) -> set[str]:
        return set(self.files) | set(self.copies) | set(self.keep) | set(self.staged)


@dataclass
class Outcome:
    """What a write did: output paths added, changed or removed, and how many files were new or reused."""

    changed: list[str]
    written: int
    reused: int


# --- where the output may go -------------------------------------------------------------------


def is_empty(folder: Path) -> bool:
    """True for a folder with no entries at all (hidden ones count)."""
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def check_output(output: Path, reports: Path, cache_dir: Path, protected: list[Path]) -> None:
    """Refuse output folders that could destroy data: the reports, their parents, /, home, the project."""
    output, reports, cache_dir = output.resolve(), reports.resolve(), cache_dir.resolve()
    if is_inside(output, reports):
        raise UsageError(f"output folder {output} is the reports folder or inside it ({reports}); choose a folder outside it")
    if is_inside(reports, output):
        raise UsageError(f"reports folder {reports} is inside the output folder {output}; the build would replace the reports")
    if is_inside(cache_dir, output):
        raise UsageError(f"config key 'cache_dir': {cache_dir} must be outside the output folder {output}")
    if is_inside(cache_dir, reports) and not any(part.startswith(".") for part in cache_dir.relative_to(reports).parts):
        # The scan would list its files as reports folder entries (a warning about each on every build); a hidden
        # folder (`reports/.cache`) is one the scan skips.
        raise UsageError(f"config key 'cache_dir': {cache_dir} must be outside the reports folder {reports}, or hidden in it")
    try:
        home = [Path.home()]
    except RuntimeError:  # no HOME and no passwd entry
        home = []
    for place in [Path("/"), *home, *protected]:
        place = place.resolve()
        if is_inside(place, output):
            raise UsageError(f"output folder {output} would replace {place}; choose a dedicated folder such as {place / 'public'}")
    if output.exists() or output.is_symlink():
        if not output.is_dir():
            raise UsageError(f"output folder {output} exists and is not a folder")
        try:
            has_marker = (output / MARKER).is_file()
            empty = not has_marker and is_empty(output)
        except OSError as exc:
            raise UsageError(f"output folder {output} cannot be read ({exc.strerror})") from None
        if not has_marker and not empty:
            raise UsageError(
                f"output folder {output} is not empty and was not made by sitegen (no {MARKER} file); "
                "sitegen replaces its output folder as a whole, so choose a new or empty folder"
            )


# --- the record of the last build --------------------------------------------------------------


def state_file(cache_dir: Path, output: Path) -> Path:
    return cache_dir / f"site-{folder_key(output)}.record"


def _load_state(path: Path) -> dict[str, Any]:
    """The last build's record. marshal: written by this sitegen into the user's own cache folder (as the compiled
    templates are), read and written at every build, and several times faster than JSON at 20,000 files."""
    try:
        obj = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):  # a damaged record is no record: bytes are compared instead
        return {}
    if not isinstance(obj, dict) or obj.get("format") != STATE_FORMAT or not isinstance(obj.get("files"), dict):
        return {}
    return obj


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def tree(folder: Path) -> dict[str, list[int]]:
    """(size, mtime_ns, inode) of every file under `folder`, by POSIX path relative to it; symlinks are not followed."""
    out: dict[str, list[int]] = {}
    if not folder.is_dir():
        return out
    stack = [("", str(folder))]
    while stack:
        prefix, path = stack.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append((rel + "/", entry.path))
                else:
                    out[rel] = _stamp(entry.stat(follow_symlinks=False))
    return out


@dataclass
class SiteRecord:
    """What the last build wrote (from its state file) and what the output holds now: read once per build."""

    path: Path  # the state file
    output: Path
    files: dict[str, dict[str, Any]]  # output path -> record (sha or src, stamp, key)
    tree: dict[str, list[int]]  # output path -> (size, mtime_ns, inode) now
    about: dict[str, Any] = field(default_factory=dict)  # what that build kept with its record (see write_site)

    @classmethod
    def load(cls, path: Path, output: Path) -> SiteRecord:
        output = output.resolve()
        state = _load_state(path)
        if state.get("output") != str(output):
            state = {}
        try:
            current = tree(output)
        except OSError:
            current, state = {}, {}
        files = {rel: rec for rel, rec in state.get("files", {}).items() if isinstance(rec, dict)}
        about = {k: v for k, v in state.items() if k not in ("format", "output", "files")}
        return cls(path, output, files, current, about)

    def trusted(self, rel: str) -> bool:
        """The output still holds exactly what the last build wrote at `rel`."""
        rec = self.files.get(rel)
        return rec is not None and self.tree.get(rel) == rec.get("stamp")

    def unchanged(self, inputs: str) -> bool:
        """True when the last build had these inputs and nobody has touched its output since."""
        recorded = {rel: rec.get("stamp") for rel, rec in self.files.items()}
        return self.about.get("inputs") == inputs and bool(recorded) and self.tree == recorded

    def recorded(self, rel: str) -> bytes | None:
        """The bytes of the output file at `rel` when it is still exactly what the last build wrote, else None."""
        if not self.trusted(rel):
            return None
        try:
            return _read(str(self.output / rel))
        except OSError:
            return None

    def kept_keys(self) -> dict[str, str]:
        """{path: key} of the pages the last build drew that the output still holds exactly as written."""
        return {rel: rec["key"] for rel, rec in self.files.items() if isinstance(rec.get("key"), str) and self.trusted(rel)}


# --- writing -----------------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False when the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # file system or kernel without exchange support: use two renames
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(staging: Path, output: Path) -> Path | None:
    """Put `staging` at `output`; returns the folder now holding the previous site (to delete), if any."""
    if not output.exists():
        os.rename(staging, output)
        return None
    if _exchange(staging, output):
        return staging
    # Fallback: for a moment there is no output folder, but never a half-written one.
    old = Path(tempfile.mkdtemp(prefix=f"{output.name}.sitegen-old-", dir=output.parent))
    os.rmdir(old)
    os.rename(output, old)
    os.rename(staging, output)
    return old


def _remove_leftovers(output: Path) -> None:
    """Delete staging folders a crashed build left beside the output (only ours: they carry the marker)."""
    prefix = f"{output.name}.sitegen-"
    with contextlib.suppress(OSError), os.scandir(output.parent) as entries:
        for entry in entries:
            if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
                path = Path(entry.path)
                if (path / MARKER).is_file() or is_empty(path):
                    log.debug("removing leftover staging folder %s", path)
                    shutil.rmtree(path, ignore_errors=True)


def _place(src: Path, dst: str, link: bool) -> None:
    """Hard-link a file into the new site (if `link`), or copy it where links are impossible (other file system).

    A file others may not read (a 0600 PDF from the nightly job) is copied too: a link shares its
    mode, and the web server, running as another user, could not serve it.
    """
    try:
        if link and os.stat(src).st_mode & 0o004:
            _link(src, dst)
            return
    except OSError:
        pass
    with contextlib.suppress(FileNotFoundError):
        os.unlink(dst)  # a file of that name already (copyfile would write through a link into the source)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)


def new_staging(output: Path) -> Path:
    """An empty private folder beside `output` for the next site, after clearing crashed builds' leftovers."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(output)
    staging = Path(tempfile.mkdtemp(prefix=f"{output.name}.sitegen-", dir=output.parent))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; a web server running as another user must read the site
    (staging / MARKER).write_bytes(MARKER_BYTES)  # lets a later build recognise and remove it if this one dies
    return staging


class Stager:
    """Writes each drawn page into the build's staging folder at once, so no process holds them all.

    A first build renames that folder into place; a later one moves each changed page from it into the
    live site and leaves the unchanged ones to be deleted with it. Called from the drawing processes
    (site/fanout.py): each creates its own files, which spreads the kernel's file-creation time over
    both cores too. Returns what the record needs: (sha256, size).
    """

    def __init__(self, staging: Path) -> None:
        self.target = _makedirs_for(str(staging) + "/")

    def __call__(self, rel: str, data: bytes) -> tuple[str, int]:
        _write_new(self.target(rel), data)
        return _digest(data), len(data)


def discard_staging(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def _write_new(path: str, data: bytes) -> None:
    """`data` into the file at `path`, created or emptied first.

    os.open rather than open(): a site's pages are tens of thousands of small files, and open() adds three system
    calls to each for its buffering (fstat, ioctl, lseek): 31,000 of a full build's 132,000 at 10,000 reports.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _link(src: str | Path, dst: str | Path) -> None:
    try:
        os.link(src, dst)
    except FileExistsError:  # a file of that name already
        os.unlink(dst)
        os.link(src, dst)


def write_site(output: Path, plan: Plan, last: SiteRecord, about: dict[str, Any], staging: Path | None = None) -> Outcome:
    """Make `output` hold exactly `plan`, touching only files that changed; record what was written.

    A first build (no site yet) is assembled in `staging` and renamed into place. Later builds
    write in place, each file atomically (temp file + rename), in an order that keeps every link
    of every page reachable from the index resolving if the build dies half-way: new files first,
    then changed ones from the deepest folder up, so the index and the catalogs come last; removed
    files go at the end. Pages on their way in or out are reachable from no page yet or any more;
    their links to each other (a new night and its new month link both ways) may miss a file while
    they are written, and after a build killed then, until the next build, which repairs them.
    `last` is what the previous build wrote and the output holds now (SiteRecord.load); `about` is kept
    with the record of this build (its `inputs` fingerprint, and what a no-change build repeats).
    """
    output = output.resolve()
    fresh = not output.is_dir() or is_empty(output)
    if fresh:
        return _write_fresh(output, plan, last.path, about, staging)
    if plan.staged and staging is None:
        raise BuildError("internal error: pages were written into a staging folder that was not passed on")
    return _write_in_place(output, plan, last, about, str(staging) + "/" if staging is not None else "")


def _makedirs_for(root: str) -> Any:
    made: set[str] = set()

    def target(rel: str) -> str:
        parent = os.path.dirname(rel)
        if parent and parent not in made:
            os.makedirs(root + parent, exist_ok=True)
            made.add(parent)
        return root + rel

    return target


def _write_fresh(output: Path, plan: Plan, state_path: Path, about: dict[str, Any], staging: Path | None) -> Outcome:
    """The first build: every file into a private folder beside `output`, then one rename."""
    if staging is None:
        staging = new_staging(output)
    records: dict[str, dict[str, Any]] = {}
    try:
        # Plain strings, not Path objects: thousands of files per build, and pathlib's parsing showed in profiles.
        root = str(staging) + "/"
        target = _makedirs_for(root)
        for rel in sorted(plan.files):
            data = plan.files[rel]
            _write_new(target(rel), data)
            records[rel] = _record(plan, rel, sha=_digest(data))
        for rel, (sha, _size) in plan.staged.items():
            records[rel] = _record(plan, rel, sha=sha)
        for rel in sorted(plan.copies):
            src = plan.copies[rel]
            key = _source_key(plan, rel, src)
            _place(src, target(rel), plan.may_link(rel))
            records[rel] = {"src": key}
        new_tree = tree(staging)
        for rel, rec in records.items():
            rec["stamp"] = new_tree[rel]
        leftover = _swap_in(staging, output)  # an empty folder may have appeared meanwhile: swapped out
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if leftover is not None:
        shutil.rmtree(leftover, ignore_errors=True)
    _save_state(state_path, {"format": STATE_FORMAT, "output": str(output), **about, "files": records})
    return Outcome(changed=sorted(records), written=len(records), reused=0)


def _record(plan: Plan, rel: str, **fields: Any) -> dict[str, Any]:
    key = plan.keys.get(rel)
    return {**fields, "key": key} if key else fields


TEMP_PREFIX = ".sitegen-tmp-"  # an in-place write's temp file; one left by a killed build is removed by the next


def _write_in_place(output: Path, plan: Plan, last: SiteRecord, about: dict[str, Any], staged_root: str) -> Outcome:
    """Change the live site file by file; the pages in `plan.staged` wait under `staged_root` to be moved in."""
    root = str(output) + "/"
    old_tree, old_records, state_path = last.tree, last.files, last.path
    # A recorded file may be reused only if it is still exactly what the last build wrote.
    trusted = {rel for rel in old_records if last.trusted(rel)}
    records: dict[str, dict[str, Any]] = {}
    todo: list[str] = []
    reused = 0

    for rel in plan.keep:  # the renderer skipped these: their key, and so their bytes, are the recorded ones
        if rel not in trusted:
            raise BuildError(f"internal error: {rel} was kept but the output no longer holds what was recorded")
        records[rel] = {**old_records[rel], "key": plan.keep[rel]}
        reused += 1
    def unchanged(rel: str, digest: str, size: int, data: bytes | None) -> bool:
        """The output holds these bytes at `rel` already: by its record, or (no record: cache wiped) by comparing."""
        if rel in trusted:
            return old_records[rel].get("sha") == digest
        if rel not in old_tree or old_tree[rel][0] != size:
            return False
        return _read(root + rel) == data if data is not None else filecmp.cmp(root + rel, staged_root + rel, shallow=False)

    # Drawn files: in memory (plan.files) or already on disk in the staging folder (plan.staged).
    drawn = [(rel, _digest(data), len(data), data) for rel, data in plan.files.items()]
    drawn += [(rel, digest, size, None) for rel, (digest, size) in plan.staged.items()]
    for rel, digest, size, data in drawn:
        if unchanged(rel, digest, size, data):
            records[rel] = _record(plan, rel, sha=digest, stamp=old_tree[rel])
            reused += 1
        else:
            records[rel] = _record(plan, rel, sha=digest)
            todo.append(rel)
    for rel, src in plan.copies.items():
        key = _source_key(plan, rel, src)
        rec = old_records.get(rel)
        if (rel in trusted and rec.get("src") == key) or (
            rec is None and rel in old_tree and _same_file(root + rel, src, plan.may_link(rel))
        ):
            # Unchanged; or no record (cache wiped) but the very same file. With a record whose source
            # stamp differs, the PDF was rewritten in place: re-place it and report it as changed.
            records[rel] = {"src": key, "stamp": old_tree[rel]}
            reused += 1
        else:
            records[rel] = {"src": key}
            todo.append(rel)

    # New files first (nothing reachable links to them yet), files before the pages that link them (a new night's PDF
    # before its page); then changed ones deepest first: the root pages last.
    todo.sort(key=lambda rel: (rel in old_tree, rel not in old_tree and rel.endswith(".html"), -rel.count("/"), rel))
    _clear_set_aside(root)
    undo = _Undo(root)
    try:
        target = _makedirs_for(root)
        for rel in todo:
            dst = target(rel)
            staged = staged_root + rel if rel in plan.staged else None
            undo.replace(dst, plan.files.get(rel), plan.copies.get(rel), staged, existed=rel in old_tree, link=plan.may_link(rel))
            records[rel]["stamp"] = _stamp(os.stat(dst, follow_symlinks=False))
    except BaseException:
        undo.roll_back()  # a failed build leaves the previous site as it was
        raise
    undo.forget()

    # What is gone, pages first (shallowest first), so a PDF goes after the page that linked it. None of them is
    # reachable any more: the pages that linked them were rewritten above.
    removed = sorted(set(old_tree) - set(records), key=lambda rel: (not rel.endswith(".html"), rel.count("/"), rel))
    for rel in removed:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # gone, or its folder was set aside for a file
            os.unlink(root + rel)
    _remove_empty_folders(output, removed)
    if staged_root:
        # Before the record: a build killed after it finds nothing to do and would never clear the folder.
        discard_staging(Path(staged_root))
    _save_state(state_path, {"format": STATE_FORMAT, "output": str(output), **about, "files": records})
    return Outcome(changed=sorted([*todo, *removed]), written=len(todo), reused=reused)


class _Undo:
    """Atomic replaces that can be rolled back: each replaced file is first kept under a hard link.

    A link costs a few microseconds and no data is copied. On failure every file is put back and
    the new ones are removed; after success the kept links are dropped. A build killed half-way
    leaves the links behind as unknown files, which the next build removes.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.done: list[tuple[str, str | None]] = []  # (destination, its kept old version or None if it is new)

    def replace(
        self, dst: str, data: bytes | None, src: Path | None, staged: str | None, *, existed: bool, link: bool
    ) -> None:
        """Put `data`, a link to (if `link`) or copy of `src`, or the file at `staged` (moved) at `dst`."""
        folder, n = os.path.dirname(dst), len(self.done)  # numbered: unique however long or alike the names are
        tmp = f"{folder}/{TEMP_PREFIX}{n}-{os.getpid()}"
        new = tmp  # the file renamed over `dst`
        try:
            if data is not None:
                _write_new(tmp, data)
            elif staged is not None:
                # Renamed straight over `dst`: two file-system calls fewer per redrawn page than a hop through `tmp`.
                # The staging folder is beside the output, so on its file system unless the output is a mount.
                new = staged
            else:
                assert src is not None
                _place(src, tmp, link)
            kept = None
            if existed:
                kept = f"{folder}/{TEMP_PREFIX}old-{n}-{os.getpid()}"
                _link(dst, kept)
            elif os.path.isdir(dst) and not os.path.islink(dst):
                # A folder where the site has a file (made by hand): set aside like an old file, so the site heals.
                # Into the site's root, the one place the next in-place build clears (_clear_set_aside) should this
                # one die: a folder holding no file is never found by the removal of unknown files.
                kept = f"{self.root}{TEMP_PREFIX}old-{n}-{os.getpid()}"
                os.rename(dst, kept)
            self.done.append((dst, kept))
            try:
                os.replace(new, dst)
            except OSError as exc:
                if new is tmp or exc.errno != errno.EXDEV:
                    raise
                new = tmp  # another file system: copied beside `dst` first
                shutil.copyfile(staged, tmp)
                os.replace(tmp, dst)
        except OSError as exc:  # name the site's file, not the temp file beside it
            raise OSError(exc.errno, exc.strerror, dst) from None
        finally:
            # Still there when the rename failed, or when tmp and dst were links to one file (rename then does nothing).
            if new is tmp:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)

    def roll_back(self) -> None:
        for dst, kept in reversed(self.done):
            with contextlib.suppress(OSError):
                if kept is None:
                    os.unlink(dst)
                elif os.path.isdir(kept):  # a folder set aside: the file now in its place goes first
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(dst)
                    os.rename(kept, dst)
                elif _same_inode(kept, dst):  # the replace that failed: dst is the old file still
                    os.unlink(kept)
                else:
                    os.replace(kept, dst)

    def forget(self) -> None:
        for _dst, kept in self.done:
            if kept is None:
                continue
            if os.path.isdir(kept) and not os.path.islink(kept):
                shutil.rmtree(kept, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(kept)


def _same_inode(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except FileNotFoundError:  # `b` removed by someone else meanwhile: put `a` back there
        return False


def _clear_set_aside(root: str) -> None:
    """Folders a killed build set aside in the site's root (see _Undo.replace): ours, by their name."""
    with contextlib.suppress(OSError), os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


def _remove_empty_folders(output: Path, removed: list[str]) -> None:
    """Folders left empty by removed files (a suite that is gone), deepest first; never the output itself."""
    folders = {os.path.dirname(rel) for rel in removed}
    for folder in sorted({p for f in folders for p in _parents(f)}, key=lambda f: -f.count("/")):
        with contextlib.suppress(OSError):  # not empty, or gone: both fine
            os.rmdir(output / folder)


def _parents(folder: str) -> list[str]:
    out = []
    while folder:
        out.append(folder)
        folder = os.path.dirname(folder)
    return out


def _source_key(plan: Plan, rel: str, src: Path) -> list[Any]:
    """What a copy's record says it was made from: [source, size, mtime_ns, inode], plus "copy" where it may not be a link.

    The PDFs' stamps are the scan's: 10,000 stat calls fewer per build, and the record names the version
    the build saw. Should the file change after the scan, the next scan sees a newer stamp and places it again.
    """
    stamp = plan.stamps.get(rel)
    if stamp is None:
        st = src.stat()
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    # "copy": a site built when pdf.js was linked, not copied, gets copies in place of the links.
    return [str(src), *stamp] if plan.may_link(rel) else [str(src), *stamp, "copy"]


def _same_file(old: str, src: Path, link_ok: bool) -> bool:
    """The site's file at `old` already is what placing `src` would give: its link (where links are allowed), or a
    copy with the same bytes. A link where a copy belongs (pdf.js linked by an older sitegen) is not."""
    try:
        ost, st = os.stat(old), src.stat()
    except OSError:
        return False
    if (ost.st_dev, ost.st_ino) == (st.st_dev, st.st_ino):
        return link_ok
    return ost.st_size == st.st_size and filecmp.cmp(old, src, shallow=False)


def _save_state(path: Path, state: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        path.with_suffix(".json").unlink(missing_ok=True)  # the JSON record of sitegen before record format 2
    try:
        write_atomic(path, marshal.dumps(state))
    except OSError as exc:
        # Without the record the next build compares bytes instead; slower, still correct.
        log.warning("%s: build record cannot be written (%s)", path, exc.strerror)


def write_or_fail(output: Path, plan: Plan, last: SiteRecord, about: dict[str, Any], staging: Path | None = None) -> Outcome:
    """write_site, with file-system errors turned into a BuildError that says the old site is intact."""
    try:
        return write_site(output, plan, last, about, staging)
    except OSError as exc:
        where = exc.filename or output
        raise BuildError(f"cannot write the site ({exc.strerror}: {where}); the previous output is left as it was") from None
