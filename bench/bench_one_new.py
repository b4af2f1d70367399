"""Where a one-new-report build's time goes: the work any incremental design must do, and the rest.

Issue 10 asks for one new report at 10,000 in 0.5 s. This splits such a build (each a fresh process,
like a real `sitegen build`) into what a build must do whatever its design, because the new night
changes those files:

    walk        listing the reports folder (the no-change check needs it too)
    draw        rendering the pages whose key changed (the new night's page, its neighbour's, the
                index, its month, list and suite pages, the search shard)
    start-up    the interpreter and sitegen's imports (a separate `python -c "import ..."`)

and what grows with every report although one changed: every other stage, and inside them
`tree` (a stat of every output file, to trust the record), `record file` (the record of every
output file, loaded and saved), keys (render minus draw: the key of every page is derived again).

    .venv/bin/python bench/bench_one_new.py [--reports 10000] [--suites 2] [--repeat 5] [--where DIR] [--against DIR]

--against DIR times another checkout of sitegen (say `git worktree add /tmp/before HEAD~1`, with its
sitegen/vendor copied in) on its own copy of the site in the same run, the two builds alternating,
so that both see the same machine: on a shared machine the load moves more between runs than a
change does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import generate, run_child, summary_for

ROOT = Path(__file__).resolve().parent.parent

# One build with three functions wrapped to time them; they are module globals, looked up at each call.
CHILD = r"""
import json, sys, time
from pathlib import Path
import sitegen.site.render as render
import sitegen.site.write as write
from sitegen.config import parse_config
from sitegen.site.build import build_site

spent = {"draw": 0.0, "tree": 0.0, "record file": 0.0}

def timed(name, func):
    def wrapper(*args):
        start = time.perf_counter()
        try:
            return func(*args)
        finally:
            spent[name] += time.perf_counter() - start
    return wrapper

render.draw_all = timed("draw", render.draw_all)
write.tree = timed("tree", write.tree)
write._load_state = timed("record file", write._load_state)
write._save_state = timed("record file", write._save_state)
start = time.perf_counter()
result = build_site(parse_config({}, Path(sys.argv[1])))
print(json.dumps({"seconds": time.perf_counter() - start, "drawn": result.drawn, "written": result.written,
                  "timings": result.timings, **spent}))
"""

STARTUP = "import jinja2, sitegen.config, sitegen.site.build, sitegen.site.render"


def one_new(root: Path, head: bytes, tail: bytes, number: int, suites: int, code: Path = ROOT) -> dict:
    day = dt.date(2150, 1, 1) + dt.timedelta(days=number)  # the newest night, as a real new report is
    new = root / "reports" / "cluster-0" / f"report-{day.isoformat()}-bad.pdf"
    new.write_bytes(head + summary_for(suites * (10**6 + number), day, "bad", suites) + tail)
    return build_with(code, root)


def build_with(code: Path, root: Path) -> dict:
    """One build of `root` in a fresh process running the sitegen of the checkout `code` (its folder comes first on sys.path)."""
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root)], capture_output=True, text=True, cwd=code, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"build failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def startup_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", STARTUP], check=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--suites", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--where", type=Path, default=ROOT / "bench" / "out", help="parent folder of the generated site")
    parser.add_argument("--against", type=Path, help="another sitegen checkout, timed alternately on its own copy of the site")
    args = parser.parse_args()

    root = args.where / "one-new"
    shutil.rmtree(root, ignore_errors=True)
    head, tail = generate(root / "reports", args.reports, args.suites)
    run_child(root)  # the site as the last nightly build left it
    other = args.where / "one-new-against"
    if args.against:
        shutil.rmtree(other, ignore_errors=True)
        shutil.copytree(root / "reports", other / "reports")
        build_with(args.against.resolve(), other)
    print(f"{args.reports} reports in {args.suites} suites under {root}; load average before: "
          f"{Path('/proc/loadavg').read_text().strip()}")
    runs, starts, against = [], [], []
    for number in range(1, args.repeat + 1):
        if args.against and number % 2:  # each goes first in every other round
            against.append(one_new(other, head, tail, number, args.suites, args.against.resolve()))
        runs.append(one_new(root, head, tail, number, args.suites))
        if args.against and not number % 2:
            against.append(one_new(other, head, tail, number, args.suites, args.against.resolve()))
        starts.append(startup_seconds())
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}\n")

    def median(values: list[float]) -> float:
        return statistics.median(values)

    if against:
        this, that = median([r["seconds"] for r in runs]), median([r["seconds"] for r in against])
        print(f"side by side, medians of {len(runs)}: this checkout {this:.3f} s, {args.against} {that:.3f} s ({this / that:.2f}x)")
        for name in runs[0]["timings"]:
            a, b = median([r["timings"].get(name, 0.0) for r in runs]), median([r["timings"].get(name, 0.0) for r in against])
            print(f"  {name:12} {a:.3f} s  against {b:.3f} s")
        print()

    stage = {name: median([r["timings"].get(name, 0.0) for r in runs]) for name in runs[0]["timings"]}
    must = {"start-up": median(starts), "walk": stage.get("list", 0.0), "draw": median([r["draw"] for r in runs])}
    linear = {
        "keys (render minus draw)": median([r["timings"]["render"] - r["draw"] for r in runs]),
        "tree (stat every output file)": median([r["tree"] for r in runs]),
        "record file (load + save)": median([r["record file"] for r in runs]),
    }
    print(f"one new report, medians of {len(runs)}: build {median([r['seconds'] for r in runs]):.3f} s, "
          f"drawn {median([r['drawn'] for r in runs]):.0f} pages, written {median([r['written'] for r in runs]):.0f} files")
    print("\nstages:")
    for name, seconds in stage.items():
        print(f"  {name:12} {seconds:.3f} s")
    print("\nwhat any design must do:")
    for name, seconds in must.items():
        print(f"  {name:32} {seconds:.3f} s")
    print(f"  {'sum':32} {sum(must.values()):.3f} s")
    print("\ninside the stages, growing with the reports:")
    for name, seconds in linear.items():
        print(f"  {name:32} {seconds:.3f} s")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("\n(PYTHONDONTWRITEBYTECODE is set: modules without a .pyc are compiled at every start-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
