"""A build with no site yet and nothing to extract creates its page files in a forked helper: same site."""

from __future__ import annotations

import os
import shutil

from sitegen.config import parse_config
from sitegen.site import build
from sitegen.site.build import build_site
from sitegen.site.render import clear_memo


def tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_warm_cache_rebuild_with_forked_helper_equals_clean_build(tmp_path, make_pdf, monkeypatch):
    root = tmp_path / "project"
    for day in (7, 8, 9):
        make_pdf(root / "reports" / "a" / f"report-2021-07-0{day}-good.pdf", subject=f"night {day}")
    make_pdf(root / "reports" / "b" / "report-2021-07-09-bad.pdf", subject="suite b")
    clean = build_site(parse_config({"output": str(tmp_path / "clean"), "cache_dir": str(tmp_path / "clean-cache")}, root))
    assert clean.extracted == 4

    forks = []
    real_fork = os.fork

    def counting_fork():
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(build._EarlyFiles, "FORK_FROM", 1)  # the helper is meant for thousands of pages
    monkeypatch.setattr(os, "fork", counting_fork)
    # Earlier tests in this process may leave threads running (servers, browser); the CLI has none.
    monkeypatch.setattr(build.threading, "active_count", lambda: 1)
    config = parse_config({}, root)
    build_site(config)  # fills the extraction cache
    shutil.rmtree(root / "public")  # the site is deleted, the cache is kept
    clear_memo()
    result = build_site(config)

    assert result.extracted == 0 and forks  # nothing read again, and the helper really ran
    assert tree(root / "public") == tree(tmp_path / "clean")
    assert [p.name for p in root.iterdir() if p.name.startswith("public.sitegen-")] == []  # no staging folder left behind
