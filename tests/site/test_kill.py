"""Crash safety: a build killed with SIGKILL at any moment leaves a site a reader can use.

1,000 uncached PDFs are enough for the build to use its worker pool, which is where a kill used
to leave orphans holding the build lock. Each round flips the reports between two sets, kills the
build at a random moment, then checks: the index and reports.json are the old or the new ones,
never half; every link from the index resolves (the site is checked against its own links);
nothing of the killed build survives; and the next build runs and gives exactly the new site.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

NIGHTS = 1000
EXTRA = 100  # nights the second set adds
ROUNDS = 20
VARIANTS = 8  # distinct PDFs, copied to every night's name (making 1,000 PDFs with fpdf2 takes a minute)


def manifest(site: Path) -> dict[str, str]:
    """Every file of a site with a hash of its bytes: the site as a user would get it."""
    return {
        p.relative_to(site).as_posix(): hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


_LINK_RE = re.compile(rb'(?:href|src)="([^"#?]+)')


def broken_links(site: Path) -> list[str]:
    """Links that point at no file, in every page reachable from the index (pdf.js's own files aside)."""
    todo, seen, broken = ["index.html"], {"index.html"}, []
    while todo:
        page = todo.pop()
        data = (site / page).read_bytes()
        for raw in _LINK_RE.findall(data):
            link = raw.decode()
            if "://" in link or link.startswith(("mailto:", "data:")):
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(page), link))
            if link.endswith("/"):
                target = os.path.join(target, "index.html")
            if not (site / target).is_file():
                broken.append(f"{page} -> {link}")
            elif target.endswith(".html") and target not in seen:
                seen.add(target)
                todo.append(target)
    return broken


def night_names(count: int) -> list[str]:
    import datetime as dt

    start = dt.date(2019, 1, 1)
    return [f"report-{start + dt.timedelta(days=i)}-{'bad' if i % 7 == 3 else 'good'}.pdf" for i in range(count)]


def build_cmd() -> list[str]:
    return [sys.executable, "-m", "sitegen", "build"]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def group_alive(pgid: int) -> list[int]:
    """Pids still running in a process group (zombies do not count: they hold nothing)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            alive.append(int(entry.name))
    return alive


@pytest.fixture
def project(tmp_path, make_pdf) -> tuple[Path, list[Path]]:
    variants = [
        make_pdf(tmp_path / "variants" / f"v{i}.pdf", pages=[f"Night variant {i}: 3 errors"], title=f"Chaos night {i}")
        for i in range(VARIANTS)
    ]
    reports = tmp_path / "reports"
    reports.mkdir()
    for i, name in enumerate(night_names(NIGHTS - EXTRA)):
        shutil.copyfile(variants[i % VARIANTS], reports / name)
    extra = []
    for i, name in enumerate(night_names(NIGHTS)[NIGHTS - EXTRA :]):
        path = tmp_path / "extra" / name
        path.parent.mkdir(exist_ok=True)
        shutil.copyfile(variants[i % VARIANTS], path)
        extra.append(path)
    return tmp_path, extra


def set_reports(root: Path, extra: list[Path], with_extra: bool) -> None:
    for path in extra:
        target = root / "reports" / path.name
        if with_extra:
            shutil.copy2(path, target)
        else:
            target.unlink(missing_ok=True)


def run_build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(build_cmd(), cwd=root, env=env(), capture_output=True, text=True, timeout=300)


def test_sigkill_at_random_moments_leaves_a_usable_site_and_the_next_build_runs(project):
    root, extra = project
    rng = random.Random(20211209)
    # The two sites a user may see: the reports without and with the extra nights.
    sites = {}
    for with_extra in (True, False):
        set_reports(root, extra, with_extra)
        done = run_build(root)
        assert done.returncode == 0, done.stderr
        sites[with_extra] = manifest(root / "public")
    assert len(sites[True]) > len(sites[False]) > NIGHTS
    start = time.perf_counter()
    set_reports(root, extra, True)
    shutil.rmtree(root / ".sitegen-cache")
    assert run_build(root).returncode == 0
    uncached = time.perf_counter() - start  # how long an uncached build takes here: kills land within it

    current = True
    outcomes = {"old": 0, "new": 0, "mixed": 0}
    for round_ in range(ROUNDS):
        target = not current
        set_reports(root, extra, target)
        shutil.rmtree(root / ".sitegen-cache", ignore_errors=True)  # every PDF is extracted again
        proc = subprocess.Popen(
            build_cmd(), cwd=root, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        time.sleep(rng.uniform(0.05, uncached * 1.25))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        deadline = time.monotonic() + 10
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = group_alive(proc.pid)
        for pid in survivors:  # do not leave them behind for the other tests
            os.kill(pid, signal.SIGKILL)
        assert not survivors, f"round {round_}: processes of the killed build survived: {survivors}"

        seen = manifest(root / "public")
        for root_file in ("index.html", "reports.json"):
            assert seen[root_file] in (sites[current][root_file], sites[target][root_file]), f"round {round_}: {root_file} is half"
        assert broken_links(root / "public") == [], f"round {round_}: links from the index lead nowhere"
        outcomes["new" if seen == sites[target] else "old" if seen == sites[current] else "mixed"] += 1

        done = run_build(root)  # it must not wait for a lock the dead build held
        assert done.returncode == 0, f"round {round_}: {done.stderr}"
        assert manifest(root / "public") == sites[target]
        assert not [p.name for p in root.iterdir() if p.name.startswith("public.")], "a staging folder was left behind"
        current = target
    print(f"kills leaving the old site / a mix / the new one: {outcomes} (uncached build {uncached:.2f} s)")
    assert outcomes["old"] > 0  # some kills landed before any file was written (otherwise the rounds proved little)
