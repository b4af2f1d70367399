"""Pages drawn on both cores: the same bytes as drawn in one process, and clear errors from the child.

Each check runs in a fresh interpreter: the drawing child is forked only from a process with one
thread, and pytest's process may have others (servers and browsers of earlier tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sitegen.procs import cores
from tests.site.test_build_incremental import tree
from tests.site.test_render import write_theme

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(cores() < 2, reason="the child is forked only with two cores")

DRAW = """
import json, os, signal, sys
from sitegen.errors import BuildError
from sitegen.site import fanout
from sitegen.site.render import _template_problem
parent, how = os.getpid(), sys.argv[1]

def draw(i):
    if os.getpid() != parent and how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if os.getpid() != parent and how == "bug":
        raise ZeroDivisionError("in the child")
    if os.getpid() != parent and how == "theme":
        import jinja2
        raise jinja2.UndefinedError("'no_such_thing' is undefined")
    return (i, os.getpid())

try:
    out = fanout.draw_all([lambda i=i: draw(i) for i in range(fanout.FANOUT_MIN + 1)], _template_problem)
    print(json.dumps({"order": [i for i, _ in out], "pids": sorted({pid for _, pid in out}), "parent": parent}))
except BuildError as exc:
    print(json.dumps({"build_error": str(exc)}))
except RuntimeError as exc:
    print(json.dumps({"bug": str(exc)}))
"""

BUILD = """
import json, sys
from pathlib import Path
from sitegen.config import parse_config
from sitegen.errors import BuildError
from sitegen.site import fanout
from sitegen.site.build import build_site
root, fan, settings = Path(sys.argv[1]), sys.argv[2] == "fan", json.loads(sys.argv[3])
fanout.FANOUT_MIN = 2 if fan else 10**9
forks = []
real_fork = fanout.os.fork
fanout.os.fork = lambda: forks.append(1) or real_fork()
try:
    result = build_site(parse_config(settings, root))
    print(json.dumps({"drawn": result.drawn, "forks": len(forks)}))
except BuildError as exc:
    print(json.dumps({"build_error": str(exc), "forks": len(forks)}))
"""


def fresh(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_every_result_comes_back_in_order_and_half_of_them_from_a_child():
    out = fresh(DRAW, "fine")
    assert out["order"] == list(range(len(out["order"])))
    assert out["parent"] in out["pids"] and len(out["pids"]) == 2


def test_a_killed_child_is_a_clear_build_error():
    assert fresh(DRAW, "kill") == {
        "build_error": "the process drawing half of the pages ended without them (killed by signal 9); nothing was changed"
    }


def test_a_theme_mistake_met_by_the_child_is_the_clear_error_it_is_in_one_process():
    assert fresh(DRAW, "theme") == {"build_error": "theme template error: 'no_such_thing' is undefined"}


def test_a_bug_in_the_child_is_raised_with_its_traceback():
    bug = fresh(DRAW, "bug")["bug"]
    assert bug.startswith("the process drawing half of the pages failed:\nTraceback") and "ZeroDivisionError: in the child" in bug


def _site(root: Path, count: int, make_pdf) -> None:
    for day in range(count):
        month, mday = divmod(day, 28)
        status = "bad" if day % 5 == 0 else "good"
        make_pdf(root / "reports" / f"s{day % 2}" / f"report-2021-{month + 1:02d}-{mday + 1:02d}-{status}.pdf", subject=f"night {day}")


def test_a_site_drawn_on_two_cores_is_the_site_drawn_on_one(tmp_path, make_pdf):
    root = tmp_path / "project"
    _site(root, 40, make_pdf)
    one = {"output": str(tmp_path / "one" / "public"), "cache_dir": str(tmp_path / "one" / "cache")}
    assert fresh(BUILD, str(root), "serial", json.dumps(one))["forks"] == 0
    first = fresh(BUILD, str(root), "fan", "{}")  # a first build: both processes write into the staging folder
    assert first["forks"] == 1 and first["drawn"] > 40
    assert tree(root / "public") == tree(tmp_path / "one" / "public")
    # Every page redrawn in place (a new title): both processes stage their pages, then they are moved in.
    again = fresh(BUILD, str(root), "fan", json.dumps({"title": "Renamed"}))
    assert again == {"drawn": first["drawn"], "forks": 1}
    assert sorted(p.name for p in root.iterdir()) == [".sitegen-cache", "public", "reports"]  # no staging left
    two = {"title": "Renamed", "output": str(tmp_path / "two" / "public"), "cache_dir": str(tmp_path / "two" / "cache")}
    fresh(BUILD, str(root), "serial", json.dumps(two))
    assert tree(root / "public") == tree(tmp_path / "two" / "public")


def test_a_theme_mistake_leaves_the_site_as_it_was(tmp_path, make_pdf):
    root = tmp_path / "project"
    _site(root, 6, make_pdf)
    fresh(BUILD, str(root), "serial", "{}")
    before = tree(root / "public")
    write_theme(root / "t", {"viewer.html": "{% if card.report.status == 'bad' %}{{ no_such_thing }}{% endif %}"})
    out = fresh(BUILD, str(root), "fan", json.dumps({"theme": "t"}))
    assert out == {"build_error": "theme template error: 'no_such_thing' is undefined", "forks": 1}
    assert tree(root / "public") == before
    assert sorted(p.name for p in root.iterdir()) == [".sitegen-cache", "public", "reports", "t"]  # nor its pages
