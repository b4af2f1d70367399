"""`sitegen deploy --gh-pages` against real local bare repositories with real git: content, safety, races, refusals."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sitegen import deploy
from sitegen.cli import main
from sitegen.config import parse_config
from sitegen.deploy import DeployError, deploy_gh_pages
from sitegen.errors import ExitCode, MissingToolError, UsageError
from sitegen.site import budget
from sitegen.site.budget import FILE_LIMIT, PAGES_LIMIT, Budget, measure
from sitegen.site.build import build_site
from tests.conftest import IN_CI, ROOT
from tests.pdf_factory import make_pdf

SUMMARY = {"schema": 1, "status": "bad", "title": "Chaos night", "headline": "TiKV store 4 panicked.", "metrics": {"errors": 7}}


@pytest.fixture(autouse=True)
def git_env(tmp_path, monkeypatch):
    """Real git, isolated from the machine's config, with a known committer."""
    if shutil.which("git") is None:
        if IN_CI:
            pytest.fail("git is missing: CI must install it")
        pytest.skip("git is not installed (sudo apt-get install -y git)")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # never find a repository around the test
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Nightly Bot")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "bot@example.invalid")


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=True)
    return done.stdout.decode().strip()


def bare(tmp_path: Path, name: str = "remote.git") -> Path:
    path = tmp_path / name
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def project(tmp_path: Path, remote: Path, name: str = "proj") -> Path:
    """A reports project in git, with a commit, and an origin remote."""
    root = tmp_path / name
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", str(remote))
    (root / ".gitignore").write_text("/public/\n/.cache/\n")
    (root / "notes.md").write_text("work in progress\n")
    git(root, "add", ".gitignore", "notes.md")
    git(root, "commit", "-q", "-m", "start")
    return root


def add_night(root: Path, date: str, status: str = "bad") -> None:
    make_pdf(
        root / "reports" / "cluster-a" / f"report-{date}-{status}.pdf",
        pages=[f"Night {date}."],
        summary={**SUMMARY, "date": date, "status": status},
    )


def build(root: Path) -> Path:
    """A real `sitegen build` of the project's reports."""
    build_site(parse_config({"cache_dir": ".cache"}, root))
    return root / "public"


def fake_build(root: Path, *nights: str) -> Path:
    """A site shaped like a build's (marker, pages, PDFs, pdf.js), swapped in as a build does; deploy reads only files."""
    site, new = root / "public", root / "public.new"
    pages = {f"nights/cluster-a/{d}.html": f"<p>night {d}</p>".encode() for d in nights}
    pdfs = {f"pdf/cluster-a/report-{d}-bad.pdf": b"%PDF-1.4 night " + d.encode() for d in nights}
    entries = ",".join(f'{{"date": "{d}", "pdf_url": "pdf/cluster-a/report-{d}-bad.pdf"}}' for d in nights)
    files = {
        ".sitegen": b"marker",
        ".nojekyll": b"",
        "index.html": "".join(f"<a href='{p}'>" for p in pages).encode(),
        "reports.json": f'{{"schema": 1, "reports": [{entries}]}}'.encode(),
        "static/pdfjs/build/pdf.min.mjs": b"export {};",
        **pages,
        **pdfs,
    }
    for rel, data in files.items():
        (new / rel).parent.mkdir(parents=True, exist_ok=True)
        (new / rel).write_bytes(data)
    if site.exists():
        shutil.rmtree(site)
    new.rename(site)
    return site


def publish(root: Path, **kw) -> deploy.DeployResult:
    return deploy_gh_pages(root / "public", root, **kw)


def tip(repo: Path, ref: str = "gh-pages") -> str:
    return git(repo, "rev-parse", ref)


def branch_files(repo: Path, ref: str = "gh-pages") -> dict[str, bytes]:
    """Every file of the branch as committed, read back through `git archive`."""
    data = subprocess.run(["git", "archive", "--format=tar", ref], cwd=repo, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def site_files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def checkout_state(root: Path) -> dict[str, object]:
    """What a deploy must not touch: index bytes, HEAD, status, every working-tree file's bytes and mtime."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith((".git/", "public/", ".cache/")):
            files[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return {
        "index": hashlib.sha256((root / ".git" / "index").read_bytes()).hexdigest(),
        "HEAD": (root / ".git" / "HEAD").read_text(),
        "head": tip(root, "HEAD"),
        "status": git(root, "status", "--porcelain=v2", "--untracked-files=all", "--ignored"),
        "files": files,
    }


def test_deploy_commits_the_site_byte_for_byte_and_pushes_it(tmp_path):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    add_night(root, "2021-07-09")
    site = build(root)
    # Rules that would change bytes if the site went through the work-tree machinery (`git add`).
    (root / ".git" / "info" / "attributes").write_text("* text eol=crlf\n*.html filter=mangle\n")
    git(root, "config", "filter.mangle.clean", "tr a-z A-Z")

    result = publish(root)

    assert result.pushed and result.parent is None and result.attempts == 1
    assert result.messages == [
        f"pushed {result.commit[:12]} to origin gh-pages as the branch's first commit: "
        f"{result.files} file(s); {result.files} added, 0 changed, 0 removed"
    ]
    assert tip(remote) == tip(root, "gh-pages") == tip(root, "origin/gh-pages") == result.commit
    assert branch_files(remote) == site_files(site)
    assert {".nojekyll", ".sitegen", "index.html", "reports.json", "pdf/cluster-a/report-2021-07-09-bad.pdf"} <= set(
        branch_files(remote)
    )
    head = git(root, "rev-parse", "--short=12", "HEAD")
    assert git(remote, "log", "--format=%s", "gh-pages") == (
        f"Publish the reports site: 1 night(s), {result.budget.site_bytes / 1e6:.1f} MB (sitegen 0.1.0, from {head})"
    )
    assert git(remote, "branch", "--list") == "gh-pages"  # nothing but the site's branch was pushed


def test_deploy_leaves_the_working_tree_the_index_and_head_alone(tmp_path):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    fake_build(root, "2021-07-09")
    # Uncommitted work of every kind: staged, modified after staging, untracked, ignored.
    (root / "staged.txt").write_text("staged\n")
    git(root, "add", "staged.txt")
    (root / "staged.txt").write_text("staged, then changed\n")
    (root / "notes.md").write_text("edited, not staged\n")
    (root / "untracked.txt").write_text("new\n")
    before = checkout_state(root)
    first = publish(root)
    assert checkout_state(root) == before

    fake_build(root, "2021-07-09", "2021-07-10")
    before = checkout_state(root)
    second = publish(root, message="second")
    assert checkout_state(root) == before
    assert second.parent == first.commit and tip(root, "gh-pages") == second.commit


def test_a_later_deploy_is_a_child_commit_and_an_unchanged_site_makes_none(tmp_path):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    fake_build(root, "2021-07-09")
    first = publish(root, message="first")

    again = publish(root)
    assert not again.pushed and again.commit is None
    assert again.messages == [f"origin gh-pages already holds this site ({first.commit[:12]}); nothing to push"]
    assert tip(remote) == first.commit

    fake_build(root, "2021-07-09", "2021-07-10")
    second = publish(root, message="second")
    assert second.pushed and second.parent == first.commit
    assert git(remote, "rev-parse", "gh-pages^") == first.commit
    assert second.changes == {"added": 2, "changed": 2, "removed": 0}  # PDF + page; index + reports.json
    assert branch_files(remote) == site_files(root / "public")


def test_a_deploy_that_races_another_one_lands_on_top_of_it(tmp_path, caplog):
    """Two machines deploy at once: B's push is refused because A pushed meanwhile; B re-parents and wins, A's commit stays."""
    remote = bare(tmp_path)
    a = project(tmp_path, remote, "machine-a")
    b = project(tmp_path, remote, "machine-b")
    fake_build(a, "2021-07-09")
    fake_build(b, "2021-07-09", "2021-07-10")
    base = publish(a, message="yesterday").commit
    # A's deploy runs exactly in B's window between fetching the tip and pushing: from B's pre-push hook.
    flag = tmp_path / "raced"
    hook = b / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        f"[ -e '{flag}' ] && exit 0\n"
        f"touch '{flag}'\n"
        f"cd '{a}' && exec '{sys.executable}' -m sitegen -q deploy --gh-pages --message 'from A' >/dev/null\n"
    )
    hook.chmod(0o755)
    (a / "public" / "a-was-here.txt").write_text("A's site differs from B's\n")

    result = publish(b, message="from B")

    assert flag.exists()  # the race happened
    assert result.pushed and result.attempts == 2
    subjects = git(remote, "log", "--format=%s", "gh-pages").splitlines()
    assert subjects == ["from B", "from A", "yesterday"]  # no commit lost
    from_a = git(remote, "rev-parse", "gh-pages^")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"origin gh-pages moved while deploying (another deploy pushed {from_a[:12]}); "
        "making the commit again on top of it (attempt 2 of 3)"
    ]
    assert result.parent == from_a and git(remote, "rev-parse", "gh-pages~2") == base
    assert branch_files(remote) == site_files(b / "public")  # the last deploy's site is what is served


def test_a_deploy_that_lands_before_the_push_connects_is_refused_by_the_lease_and_retried(tmp_path, monkeypatch):
    """The other timing: the branch moved after the fetch but before the push saw it, so git refuses it client-side (stale info)."""
    remote = bare(tmp_path)
    a = project(tmp_path, remote, "machine-a")
    b = project(tmp_path, remote, "machine-b")
    fake_build(a, "2021-07-09")
    fake_build(b, "2021-07-09", "2021-07-10")
    publish(a, message="yesterday")
    (a / "public" / "a.txt").write_text("A\n")
    real_push = deploy._Git.push
    reasons: list[str | None] = []
    raced = []

    def push_after_the_other_deploy(self, remote_name, commit, ref, expect):
        if self.cwd == b and not raced:
            raced.append(publish(a, message="from A"))
        reason = real_push(self, remote_name, commit, ref, expect)
        if self.cwd == b:
            reasons.append(reason)
        return reason

    monkeypatch.setattr(deploy._Git, "push", push_after_the_other_deploy)
    result = publish(b, message="from B")
    assert reasons == ["stale info", None] and result.attempts == 2
    assert git(remote, "log", "--format=%s", "gh-pages").splitlines() == ["from B", "from A", "yesterday"]


def test_a_branch_that_keeps_moving_is_a_clear_error_and_loses_nothing(tmp_path, capsys, monkeypatch):
    remote = bare(tmp_path)
    a = project(tmp_path, remote, "machine-a")
    b = project(tmp_path, remote, "machine-b")
    for machine in (a, b):
        fake_build(machine, "2021-07-09")
    (b / "public" / "b.txt").write_text("B\n")
    publish(a, message="yesterday")
    # Another deploy lands during every one of B's pushes.
    hook = b / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\nunset GIT_DIR GIT_INDEX_FILE GIT_WORK_TREE\n"
        f"cd '{a}' && git fetch -q origin gh-pages"
        " && git push -q origin $(git commit-tree origin/gh-pages^{tree} -p origin/gh-pages -m other):refs/heads/gh-pages\n"
    )
    hook.chmod(0o755)
    monkeypatch.chdir(b)

    code = main(["deploy", "--gh-pages", "--message", "from B"])

    assert code == ExitCode.FAILED
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        "sitegen: error: origin gh-pages kept moving: another deploy pushed during each of 3 attempts; "
        "nothing of theirs was lost and nothing of this site was pushed; run the deploy again"
    )
    assert [line[-16:] for line in err[:-1]] == ["(attempt 2 of 3)", "(attempt 3 of 3)"]  # each retry logged
    assert git(remote, "log", "--format=%s", "gh-pages").splitlines() == ["other", "other", "other", "yesterday"]


def test_the_cli_prints_the_size_warning_and_still_publishes_below_the_limit(tmp_path, capsys, monkeypatch):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    fake_build(root, "2021-07-09")
    near = Budget(site_bytes=850_000_000, fixed_bytes=4_000_000, nights=423)
    monkeypatch.setattr(deploy, "measure", lambda site: near)
    monkeypatch.chdir(root)
    assert main(["deploy", "--gh-pages"]) == ExitCode.OK
    out, err = capsys.readouterr()
    assert err.splitlines() == near.problems() and near.problems()[0].startswith("the site is 850.0 MB, 85 % of")
    assert out.startswith("pushed ") and tip(remote)


def test_a_push_the_remote_refuses_for_a_rule_is_not_retried(tmp_path):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    fake_build(root, "2021-07-09")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'site pushes are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(DeployError) as caught:
        publish(root)
    assert str(caught.value) == (
        "origin refused the push to gh-pages (pre-receive hook declined: site pushes are frozen); nothing was pushed"
    )
    assert git(remote, "branch", "--list") == ""
    assert git(root, "branch", "--list", "gh-pages") == ""  # the local branch follows only a published commit


def test_dry_run_makes_the_commit_and_changes_no_branch(tmp_path, capsys, monkeypatch):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    fake_build(root, "2021-07-09")
    first = publish(root)
    fake_build(root, "2021-07-09", "2021-07-10")
    monkeypatch.chdir(root)

    assert main(["deploy", "--gh-pages", "--dry-run"]) == ExitCode.OK

    line = capsys.readouterr().out.strip()
    assert line.startswith("dry run: would push ") and line.endswith(" changed, 0 removed; nothing pushed")
    assert f"to origin gh-pages on top of {first.commit[:12]}: " in line
    assert tip(remote) == tip(root, "gh-pages") == first.commit


def test_a_local_branch_the_remote_never_had_becomes_the_parent_of_the_first_push(tmp_path):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    fake_build(root, "2021-07-09")
    empty_tree = git(root, "mktree", input=b"")
    old = git(root, "commit-tree", empty_tree, "-m", "an old local site")
    git(root, "update-ref", "refs/heads/gh-pages", old)

    result = publish(root)

    assert result.parent == old and git(remote, "rev-parse", "gh-pages^") == old


def test_odd_file_names_and_modes_are_committed_exactly(tmp_path):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    site = fake_build(root, "2021-07-09")
    odd = [b'quote".txt', b"back\\slash.txt", b"new\nline.txt", b"tab\there.txt", b"caf\xc3\xa9.txt", b"latin1-\xe9.txt", b" lead"]
    for name in odd:
        with open(os.fsencode(site) + b"/" + name, "wb") as fh:
            fh.write(b"payload " + name)
    (site / "run.sh").write_text("#!/bin/sh\n")
    (site / "run.sh").chmod(0o755)

    publish(root)

    listing = subprocess.run(["git", "ls-tree", "-r", "-z", "gh-pages"], cwd=remote, capture_output=True, check=True).stdout
    entries = {e.split(b"\t", 1)[1]: e.split(b" ")[0] for e in listing.split(b"\0") if e}
    assert set(odd) <= set(entries) and entries[b"run.sh"] == b"100755" and entries[b"index.html"] == b"100644"
    for name in odd:
        blob = subprocess.run(["git", "cat-file", "blob", b"gh-pages:" + name], cwd=remote, capture_output=True, check=True)
        assert blob.stdout == b"payload " + name


def test_a_site_rebuilt_while_it_is_read_is_read_again(tmp_path, monkeypatch, caplog):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    site = fake_build(root, "2021-07-09")
    real = deploy._write_tree
    calls = []

    def swap_during_first_read(g, folder):
        out = real(g, folder)
        if not calls:  # what a build's swap does: a new folder at the same path
            shutil.copytree(folder, tmp_path / "new")
            (tmp_path / "new" / "late.txt").write_text("written by the build that finished meanwhile\n")
            os.rename(folder, tmp_path / "old")
            os.rename(tmp_path / "new", folder)
        calls.append(folder)
        return out

    monkeypatch.setattr(deploy, "_write_tree", swap_during_first_read)
    caplog.set_level(logging.INFO, logger="sitegen.deploy")
    publish(root)
    assert len(calls) == 2 and "late.txt" in branch_files(remote)
    assert "was rebuilt while being read; reading it again" in caplog.text
    assert branch_files(remote) == site_files(site)


@pytest.mark.parametrize(
    ("setup", "kwargs", "error", "message"),
    [
        ("no-remote", {"remote": "upstream"}, UsageError, "no git remote named 'upstream' in {root}; `git remote -v` lists them"),
        ("", {"branch": "bad..name"}, UsageError, "'bad..name' is not a valid branch name"),
        ("", {"branch": "main"}, UsageError, "branch 'main' is checked out in a working tree of {root}; deploy to another branch"),
        ("no-site", {}, UsageError, "no built site at {root}/public (it has no .sitegen file): run `sitegen build` first"),
        ("symlink", {}, DeployError, "{root}/public/leak is a symlink; it is not published; nothing was pushed"),
        ("fifo", {}, DeployError, "{root}/public/pipe is not a regular file; it is not published; nothing was pushed"),
    ],
)
def test_refusals_name_the_problem_and_push_nothing(tmp_path, setup, kwargs, error, message):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    if setup != "no-site":
        fake_build(root, "2021-07-09")
    if setup == "symlink":
        (root / "public" / "leak").symlink_to("/etc/passwd")
    if setup == "fifo":
        os.mkfifo(root / "public" / "pipe")
    with pytest.raises(error) as caught:
        publish(root, **kwargs)
    assert str(caught.value) == message.format(root=root)
    assert git(remote, "branch", "--list") == ""


def test_a_dry_run_previews_a_repository_that_has_no_remote_yet(tmp_path):
    """A fresh repository: the preview works and says what a real deploy still needs; nothing is pushed or moved."""
    root = project(tmp_path, bare(tmp_path))
    git(root, "remote", "remove", "origin")
    fake_build(root, "2021-07-09")
    result = publish(root, dry_run=True)
    assert not result.pushed and result.commit and result.parent is None
    assert "dry run: would push" in result.messages[0] and "as the branch's first commit" in result.messages[0]
    assert result.messages[-1] == "there is no git remote named 'origin' yet: add it (`git remote add origin URL`) to deploy"
    assert git(root, "branch", "--list", "gh-pages") == ""
    with pytest.raises(UsageError, match="no git remote named 'origin'"):
        publish(root)


def test_outside_a_git_repository_and_without_git_the_cli_says_what_to_do(tmp_path, capsys, monkeypatch):
    fake_build(tmp_path / "plain", "2021-07-09")
    monkeypatch.chdir(tmp_path / "plain")
    assert main(["deploy", "--gh-pages"]) == ExitCode.USAGE
    assert capsys.readouterr().err.strip() == (
        f"sitegen: error: {tmp_path / 'plain'} is not inside a git repository; sitegen deploy publishes through one"
    )
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    assert main(["deploy", "--gh-pages"]) == ExitCode.MISSING_TOOL
    assert capsys.readouterr().err.strip() == (
        "sitegen: error: git is not installed; sitegen deploy needs it (sudo apt-get install -y git)"
    )
    with pytest.raises(MissingToolError):
        deploy_gh_pages(tmp_path / "plain" / "public", tmp_path)


def test_without_a_committer_identity_the_message_says_how_to_set_one(tmp_path, monkeypatch):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    fake_build(root, "2021-07-09")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(var, raising=False)
    git(root, "config", "user.useConfigOnly", "true")
    with pytest.raises(UsageError, match=r"^git does not know who is committing: set `git config user.name`"):
        publish(root)


def test_a_site_over_a_github_limit_is_refused_before_anything_is_hashed(tmp_path):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    site = fake_build(root, "2021-07-09")
    with open(site / "huge.bin", "wb") as fh:  # sparse: costs no disk
        fh.truncate(FILE_LIMIT + 1)
    objects = git(root, "count-objects")
    with pytest.raises(DeployError) as caught:
        publish(root)
    assert str(caught.value) == (
        "huge.bin is 104.9 MB; GitHub refuses a push holding a file over 100 MiB; nothing was pushed to origin gh-pages"
    )
    assert git(root, "count-objects") == objects  # refused before hashing anything


# --- the size budget (GitHub Pages' 1 GB) ---


def test_budget_is_quiet_well_inside_the_limit_and_counts_nights_that_fit():
    b = Budget(site_bytes=104_000_000, fixed_bytes=4_000_000, nights=50)
    assert b.per_night == 2_000_000 and b.nights_that_fit == 498
    assert b.problems() == [] and not b.too_big


def test_budget_warns_near_the_limit_with_the_nights_that_fit():
    b = Budget(site_bytes=804_000_000, fixed_bytes=4_000_000, nights=400)
    assert b.problems() == [
        "the site is 804.0 MB, 80 % of GitHub Pages' 1 GB limit; at 2.0 MB a night about 498 night(s) fit and it holds 400"
        " (keep at most 498 with retention: max_nights)"
    ]
    assert not b.too_big


def test_budget_over_the_limit_says_pages_will_not_publish_it():
    b = Budget(site_bytes=1_204_000_000, fixed_bytes=4_000_000, nights=600)
    assert b.too_big
    assert b.problems() == [
        "the site is 1204.0 MB, over GitHub Pages' 1 GB limit; at 2.0 MB a night about 498 night(s) fit and it holds 600"
        " (keep at most 498 with retention: max_nights); GitHub Pages will not publish it"
    ]
    assert Budget(site_bytes=PAGES_LIMIT, fixed_bytes=PAGES_LIMIT, nights=0).problems() == [
        "the site is 1000.0 MB, 100 % of GitHub Pages' 1 GB limit"
    ]


def test_measure_counts_published_nights_from_reports_json_and_fixed_bytes_from_static(tmp_path):
    remote = bare(tmp_path)
    root = project(tmp_path, remote)
    add_night(root, "2021-07-09")
    add_night(root, "2021-07-10", "good")
    make_pdf(root / "reports" / "cluster-b" / "report-2021-07-10-bad.pdf", pages=["same night, other suite"])
    site = build(root)
    b = measure(site)
    files = [p for p in site.rglob("*") if p.is_file()]
    assert b.site_bytes == sum(p.stat().st_size for p in files)
    assert b.fixed_bytes == sum(p.stat().st_size for p in files if p.relative_to(site).parts[0] == "static")
    assert b.nights == 2  # two dates, three PDFs
    (site / "reports.json").write_text("{not json")
    assert measure(site).nights == 3  # then the published PDFs are counted


def test_deploy_and_build_agree_on_the_site_marker():
    from sitegen.site.write import MARKER

    assert deploy.MARKER == MARKER == ".sitegen"
    assert budget.PAGES_LIMIT == 1_000_000_000
    assert (ROOT / "sitegen" / "deploy.py").is_file()
