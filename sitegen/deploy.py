"""`sitegen deploy --gh-pages`: commit the built site to a branch and push it, as `mkdocs gh-deploy` does.

Only git plumbing: the site's files are hashed into the object database (`hash-object --no-filters`,
so no attribute or line-ending rule changes a byte), listed in a temporary index (GIT_INDEX_FILE),
written as one tree and committed on top of the remote branch's tip. The working tree, the index
and HEAD are never touched, so uncommitted work is safe. The push is guarded by
`--force-with-lease` on the tip the commit was made on: when another deploy got there first, the
commit is made again on top of theirs (their commit stays in the history) and pushed again, a few
times at most; a branch that keeps moving is a clear error, never a forced push.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sitegen import __version__
from sitegen.errors import MissingToolError, SitegenError, UsageError
from sitegen.site.budget import Budget, measure
from sitegen.site.scan import shown
from sitegen.site.write import MARKER

log = logging.getLogger(__name__)

ATTEMPTS = 3  # pushes tried when another deploy keeps moving the branch
_REJECTED = "!"  # `git push --porcelain` flag of a ref the remote (or the lease) refused


class DeployError(SitegenError):
    """The site could not be published; the message says whether anything was pushed."""


@dataclass
class DeployResult:
    """What a deploy did, for the CLI to print."""

    remote: str
    branch: str
    commit: str | None = None  # the commit made for this site (None when the branch already held it)
    parent: str | None = None  # the tip it was made on (None: the first commit of the branch)
    pushed: bool = False
    attempts: int = 0
    files: int = 0
    changes: dict[str, int] = field(default_factory=dict)  # added / changed / removed against the parent
    budget: Budget | None = None
    warnings: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def deploy_gh_pages(
    site: Path,
    repo: Path,
    *,
    remote: str = "origin",
    branch: str = "gh-pages",
    message: str | None = None,
    dry_run: bool = False,
    attempts: int = ATTEMPTS,
) -> DeployResult:
    """Commit `site` as the whole content of `branch` in the git repository around `repo`, and push it to `remote`."""
    git = _Git(repo)
    # A dry run may preview a repository that has no remote yet: it then commits on the local branch (if any).
    has_remote = git.run("remote", "get-url", remote, check=False).returncode == 0
    if not has_remote and not dry_run:
        raise UsageError(f"no git remote named {remote!r} in {git.top}; `git remote -v` lists them")
    ref = _check_target(git, branch)
    site = _check_site(site)
    budget = measure(site)
    if budget.too_big:
        raise DeployError("; ".join(budget.problems()) + f"; nothing was pushed to {remote} {branch}")
    result = DeployResult(remote=remote, branch=branch, budget=budget, warnings=budget.problems())
    tree, result.files = _snapshot(git, site)
    text = message if message is not None else _default_message(git, budget)
    local_tip = git.rev(ref)
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        tip = _fetch_tip(git, remote, branch) if has_remote else None
        parent = tip or local_tip
        if parent is not None and git.out("rev-parse", f"{parent}^{{tree}}") == tree:
            result.parent = parent
            result.messages.append(f"{remote} {branch} already holds this site ({parent[:12]}); nothing to push")
            return result
        commit = git.commit_tree(tree, parent, text)
        result.commit, result.parent, result.changes = commit, parent, git.changes(parent, commit)
        on_top = f"on top of {parent[:12]}" if parent else "as the branch's first commit"
        summary = f"{result.files} file(s); {_changes_text(result.changes)}"
        if dry_run:
            result.messages.append(f"dry run: would push {commit[:12]} to {remote} {branch} {on_top}: {summary}; nothing pushed")
            if not has_remote:
                add = f"git remote add {remote} URL"
                result.messages.append(f"there is no git remote named {remote!r} yet: add it (`{add}`) to deploy")
            return result
        refused = git.push(remote, commit, ref, expect=tip)
        if refused is None:
            result.pushed = True
            result.messages.append(f"pushed {commit[:12]} to {remote} {branch} {on_top}: {summary}")
            result.messages += _move_local_branch(git, ref, commit, local_tip)
            return result
        now = git.remote_tip(remote, branch)
        if now == tip:  # refused for another reason than a race: a hook, protection, permissions
            raise DeployError(f"{remote} refused the push to {branch} ({refused}); nothing was pushed")
        if attempt < attempts:
            log.warning(
                "%s %s moved while deploying (another deploy pushed %s); making the commit again on top of it (attempt %d of %d)",
                remote, branch, (now or "a deletion")[:12], attempt + 1, attempts,
            )  # fmt: skip
    raise DeployError(
        f"{remote} {branch} kept moving: another deploy pushed during each of {attempts} attempts; "
        f"nothing of theirs was lost and nothing of this site was pushed; run the deploy again"
    )


def _check_target(git: _Git, branch: str) -> str:
    """The full ref name of `branch`, after checking the branch is safe to replace."""
    ref = f"refs/heads/{branch}"
    if not branch or branch.startswith("-") or git.run("check-ref-format", ref, check=False).returncode != 0:
        raise UsageError(f"{branch!r} is not a valid branch name")
    worktrees = git.out("worktree", "list", "--porcelain").splitlines()
    if f"branch {ref}" in worktrees:
        # The site would replace the files of a branch someone works on, and its working tree would go stale.
        raise UsageError(f"branch {branch!r} is checked out in a working tree of {git.top}; deploy to another branch")
    return ref


def _check_site(site: Path) -> Path:
    site = site.resolve()
    if not (site / MARKER).is_file():
        raise UsageError(f"no built site at {site} (it has no {MARKER} file): run `sitegen build` first")
    return site


def _snapshot(git: _Git, site: Path) -> tuple[str, int]:
    """The tree object of the site's files and their count; read again if a build swapped the folder meanwhile."""
    for _ in range(3):
        before = os.stat(site).st_ino
        tree, count = _write_tree(git, site)
        if os.stat(site).st_ino == before:
            return tree, count
        log.info("%s was rebuilt while being read; reading it again", site)
    raise DeployError(f"{site} was rebuilt again and again while being read; nothing was pushed; run the deploy again")


def _write_tree(git: _Git, site: Path) -> tuple[str, int]:
    files = _site_files(os.fsencode(site))
    if not files:
        raise UsageError(f"the site at {site} has no files")
    # One hash-object for every file: paths C-quoted as git reads them, so any byte in a name survives.
    paths = b"".join(_c_quote(os.fsencode(site) + b"/" + rel) + b"\n" for rel, _ in files)
    blobs = git.run("hash-object", "-w", "--no-filters", "--stdin-paths", input=paths).stdout.split()
    if len(blobs) != len(files):
        raise DeployError(f"git hashed {len(blobs)} of the site's {len(files)} files; nothing was pushed")
    listing = b"".join(b"%s %s\t%s\0" % (mode, blob, rel) for (rel, mode), blob in zip(files, blobs, strict=True))
    with tempfile.TemporaryDirectory(prefix="sitegen-deploy-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}  # a private index: the repository's own is never read or written
        git.run("update-index", "-z", "--index-info", input=listing, env=env)
        return git.out("write-tree", env=env), len(files)


def _site_files(root: bytes) -> list[tuple[bytes, bytes]]:
    """(relative path, git mode) of every file under `root`; a symlink or special file is refused, never followed."""
    out: list[tuple[bytes, bytes]] = []
    stack = [b""]
    while stack:
        prefix = stack.pop()
        with os.scandir(root + b"/" + prefix if prefix else root) as entries:
            for entry in entries:
                rel = prefix + entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(rel + b"/")
                elif stat.S_ISREG(st.st_mode):
                    out.append((rel, b"100755" if st.st_mode & stat.S_IXUSR else b"100644"))
                else:
                    kind = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
                    raise DeployError(f"{shown(os.fsdecode(root + b'/' + rel))} is {kind}; it is not published; nothing was pushed")
    return sorted(out)


def _c_quote(path: bytes) -> bytes:
    """A path as git's --stdin-paths reads it: plain, or C-quoted when it holds a quote, backslash or control byte."""
    if all(0x20 <= b < 0x7F and b not in b'"\\' for b in path):
        return path
    out = bytearray(b'"')
    for b in path:
        if b in b'"\\':
            out += b"\\" + bytes([b])
        elif 0x20 <= b < 0x7F:
            out.append(b)
        else:
            out += b"\\%03o" % b
    return bytes(out + b'"')


def _fetch_tip(git: _Git, remote: str, branch: str) -> str | None:
    """The remote branch's tip, fetched so it can be a parent; None when the remote has no such branch."""
    tip = git.remote_tip(remote, branch)
    if tip is None:
        return None
    fetched = git.run("fetch", "--quiet", "--no-tags", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}", check=False)
    if fetched.returncode != 0:
        raise DeployError(f"cannot fetch {branch} from {remote}: {_tail(fetched.stderr)}")
    # The tracking ref, not ls-remote's answer: the fetch may have brought a newer tip.
    return git.rev(f"refs/remotes/{remote}/{branch}")


def _move_local_branch(git: _Git, ref: str, commit: str, old: str | None) -> list[str]:
    """Point the local branch at the published commit, as a push of it would; a race here is only a note."""
    notes = []
    if old is not None and git.run("merge-base", "--is-ancestor", old, commit, check=False).returncode != 0:
        notes.append(f"the local {ref[11:]} was at {old[:12]}, which the remote never had; it stays in `git reflog {ref[11:]}`")
    moved = git.run("update-ref", "-m", "sitegen deploy", ref, commit, old or "", check=False)
    if moved.returncode != 0:
        notes.append(f"the local {ref[11:]} was not moved ({_tail(moved.stderr)})")
    return notes


def _default_message(git: _Git, budget: Budget) -> str:
    head = git.run("rev-parse", "--short=12", "--verify", "--quiet", "HEAD", check=False).stdout.decode().strip()
    source = f", from {head}" if head else ""
    return f"Publish the reports site: {budget.nights} night(s), {budget.site_bytes / 1e6:.1f} MB (sitegen {__version__}{source})"


def _changes_text(changes: dict[str, int]) -> str:
    return ", ".join(f"{changes.get(k, 0)} {k}" for k in ("added", "changed", "removed"))


def _tail(stderr: bytes, lines: int = 3) -> str:
    text = " / ".join(line.strip() for line in stderr.decode(errors="replace").splitlines()[-lines:] if line.strip())
    return shown(text) or "no message"


class _Git:
    """git run in one repository, with an environment that cannot point it at another one."""

    def __init__(self, repo: Path) -> None:
        self.exe = shutil.which("git")
        if self.exe is None:
            raise MissingToolError("git is not installed; sitegen deploy needs it (sudo apt-get install -y git)")
        self.cwd = repo.resolve()
        self.env = dict(os.environ)
        # GIT_DIR, GIT_INDEX_FILE and friends (set inside git hooks, say) would redirect every command.
        for name in self._local_env_vars():
            self.env.pop(name, None)
        self.env["GIT_TERMINAL_PROMPT"] = "0"  # a cron job must fail, not wait for a password
        found = self.run("rev-parse", "--show-toplevel", check=False)
        if found.returncode != 0:
            raise UsageError(f"{self.cwd} is not inside a git repository; sitegen deploy publishes through one")
        self.top = found.stdout.decode(errors="replace").strip() or str(self.cwd)

    def _local_env_vars(self) -> list[str]:
        done = subprocess.run([self.exe, "rev-parse", "--local-env-vars"], capture_output=True, check=False)  # type: ignore[list-item]
        return done.stdout.decode().split() or ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"]

    def run(
        self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [self.exe, *args],  # type: ignore[list-item]
            cwd=self.cwd,
            input=input,
            env={**self.env, **(env or {})},
            capture_output=True,
            check=False,
        )
        if check and done.returncode != 0:
            raise DeployError(f"git {args[0]} failed: {_tail(done.stderr)}; nothing was pushed")
        return done

    def out(self, *args: str, env: dict[str, str] | None = None) -> str:
        return self.run(*args, env=env).stdout.decode().strip()

    def rev(self, name: str) -> str | None:
        done = self.run("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False)
        return done.stdout.decode().strip() or None

    def remote_tip(self, remote: str, branch: str) -> str | None:
        done = self.run("ls-remote", "--exit-code", remote, f"refs/heads/{branch}", check=False)
        if done.returncode == 2:  # reached the remote; no such branch
            return None
        if done.returncode != 0:
            raise DeployError(f"cannot reach {remote}: {_tail(done.stderr)}; nothing was pushed")
        for line in done.stdout.decode().splitlines():
            sha, _, name = line.partition("\t")
            if name == f"refs/heads/{branch}":
                return sha
        return None

    def commit_tree(self, tree: str, parent: str | None, message: str) -> str:
        args = ["commit-tree", tree, *(["-p", parent] if parent else [])]
        done = self.run(*args, input=message.encode(), check=False)
        if done.returncode != 0:
            if b"identity" in done.stderr or b"user.email" in done.stderr:
                raise UsageError(
                    "git does not know who is committing: set `git config user.name` and `git config user.email` "
                    "(or GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL and GIT_COMMITTER_NAME/GIT_COMMITTER_EMAIL in a cron job)"
                )
            raise DeployError(f"git commit-tree failed: {_tail(done.stderr)}; nothing was pushed")
        return done.stdout.decode().strip()

    def changes(self, parent: str | None, commit: str) -> dict[str, int]:
        args = ["diff-tree", "-r", "--no-renames", "--no-commit-id", "--name-status", "-z"]
        args += [parent, commit] if parent else ["--root", commit]
        fields = self.run(*args).stdout.split(b"\0")
        counts = {"added": 0, "changed": 0, "removed": 0}
        names = {b"A": "added", b"M": "changed", b"T": "changed", b"D": "removed"}
        for status in fields[::2]:  # (status, path) pairs
            with contextlib.suppress(KeyError):
                counts[names[status[:1]]] += 1
        return counts

    def push(self, remote: str, commit: str, ref: str, expect: str | None) -> str | None:
        """None when the remote took the commit; else why the push was refused (a race or a rule)."""
        lease = f"--force-with-lease={ref}:{expect or ''}"  # empty: the branch must not exist yet
        with tempfile.TemporaryDirectory(prefix="sitegen-deploy-") as tmp:
            # PDFs are compressed already: searching them for deltas cost 5x the CPU and memory of the
            # whole push (200 MB of PDFs: 62 s against 11 s) and found nothing. Pages still get deltas.
            attributes = os.path.join(tmp, "attributes")
            with open(attributes, "w") as fh:
                fh.write("*.[pP][dD][fF] -delta\n")
            args = ("-c", f"core.attributesFile={attributes}", "push", "--porcelain", lease, remote, f"{commit}:{ref}")
            done = self.run(*args, check=False)
        log.debug("git push: %s %s", done.stdout, done.stderr)
        refused = [line for line in done.stdout.decode(errors="replace").splitlines() if line.startswith(_REJECTED + "\t")]
        if done.returncode == 0 and not refused:
            return None
        if refused:
            # "[remote rejected] (pre-receive hook declined)", plus what the remote's hook said about it
            summary = refused[0].split("\t")[-1].strip()
            reason = summary[summary.find("(") + 1 : summary.rfind(")")] if "(" in summary else summary.strip("[]")
            said = [line[8:].strip() for line in done.stderr.decode(errors="replace").splitlines() if line.startswith("remote: ")]
            return shown(": ".join([reason, *[line for line in said if line][:3]]))
        raise DeployError(f"cannot push to {remote}: {_tail(done.stderr)}; nothing was pushed")
