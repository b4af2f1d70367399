"""Pages drawn on both cores: the same bytes as drawn in one process, and clear errors from the child."""

from __future__ import annotations

import os
import signal

import pytest

from sitegen.config import parse_config
from sitegen.errors import BuildError
from sitegen.site import fanout
from sitegen.site.build import build_site
from sitegen.site.render import _template_problem
from tests.site.test_build_incremental import tree
from tests.site.test_render import write_theme

needs_two_cores = pytest.mark.skipif(fanout.cores() < 2, reason="the child is forked only with two cores")


@needs_two_cores
def test_every_result_comes_back_in_order_and_half_of_them_from_a_child():
    parent = os.getpid()
    out = fanout.draw_all([lambda i=i: (i, os.getpid()) for i in range(fanout.FANOUT_MIN + 1)], _template_problem)
    assert [i for i, _ in out] == list(range(fanout.FANOUT_MIN + 1))
    pids = {pid for _, pid in out}
    assert parent in pids and len(pids) == 2


@needs_two_cores
def test_a_killed_child_is_a_clear_build_error():
    parent = os.getpid()

    def draw() -> bytes:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return b"page"

    with pytest.raises(BuildError, match=r"ended without them \(killed by signal 9\); nothing was changed"):
        fanout.draw_all([draw] * fanout.FANOUT_MIN, _template_problem)


@needs_two_cores
def test_a_bug_in_the_child_is_raised_with_its_traceback():
    parent = os.getpid()

    def draw() -> bytes:
        if os.getpid() != parent:
            raise ZeroDivisionError("in the child")
        return b"page"

    with pytest.raises(RuntimeError, match=r"(?s)failed:.*ZeroDivisionError: in the child"):
        fanout.draw_all([draw] * fanout.FANOUT_MIN, _template_problem)


def _site(root, count: int, make_pdf) -> None:
    for day in range(count):
        month, mday = divmod(day, 28)
        status = "bad" if day % 5 == 0 else "good"
        make_pdf(root / "reports" / f"s{day % 2}" / f"report-2021-{month + 1:02d}-{mday + 1:02d}-{status}.pdf", subject=f"night {day}")


@needs_two_cores
def test_a_site_drawn_on_two_cores_is_the_site_drawn_on_one(tmp_path, make_pdf, monkeypatch):
    root = tmp_path / "project"
    _site(root, 40, make_pdf)
    monkeypatch.setattr(fanout, "FANOUT_MIN", 10**9)
    build_site(parse_config({"output": str(tmp_path / "one" / "public"), "cache_dir": str(tmp_path / "one" / "cache")}, root))
    monkeypatch.setattr(fanout, "FANOUT_MIN", 2)  # every build below forks
    first = build_site(parse_config({}, root))  # a first build: both processes write into the staging folder
    assert first.drawn > 40
    assert tree(root / "public") == tree(tmp_path / "one" / "public")
    # Every page redrawn in place (a new title): the pages come back through the pipe as bytes.
    settings = {"title": "Renamed"}
    again = build_site(parse_config(settings, root))
    assert again.drawn == first.drawn
    build_site(parse_config({**settings, "output": str(tmp_path / "two" / "public"), "cache_dir": str(tmp_path / "two" / "c")}, root))
    assert tree(root / "public") == tree(tmp_path / "two" / "public")


@needs_two_cores
def test_a_theme_mistake_in_the_childs_half_is_the_same_clear_error(tmp_path, make_pdf, monkeypatch):
    root = tmp_path / "project"
    _site(root, 6, make_pdf)
    build_site(parse_config({}, root))
    before = tree(root / "public")
    write_theme(root / "t", {"viewer.html": "{{ no_such_thing }}"})
    monkeypatch.setattr(fanout, "FANOUT_MIN", 2)
    with pytest.raises(BuildError, match="theme template error: 'no_such_thing' is undefined"):
        build_site(parse_config({"theme": "t"}, root))
    assert tree(root / "public") == before
