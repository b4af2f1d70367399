"""Benchmark `sitegen build` on 2,000 generated reports: cold build, no-change rebuild, one new report.

The last scenario also runs in one long-running process (as in the dev server), where unchanged
pages come from the render memo.

Each scenario runs in a fresh child process (like a real `sitegen build`), which reports the time
build_site() took and its peak RSS (its own and that of its worker processes, via getrusage).

    .venv/bin/python bench/bench_build.py [--reports 2000] [--repeat 3]

Generating the PDFs: fpdf2 writes one template PDF whose summary.json attachment is stored
uncompressed with fixed-width padding; every variant swaps in its own summary of the same length,
so each file is a valid, distinct PDF without running fpdf2 2,000 times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "build"
SLOT = 480  # bytes reserved for each summary.json
FLOOR_NO_CHANGE = 0.5
FLOOR_COLD_BASE, FLOOR_COLD_PER_REPORT = 0.5, 0.0015

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from sitegen.config import parse_config
from sitegen.site.build import build_site
root = Path(sys.argv[1])
start = time.perf_counter()
result = build_site(parse_config({}, root))
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "reports": len(result.reports),
    "extracted": result.extracted,
    "written": result.written,
    "changed": len(result.changed),
    "warnings": len(result.warnings),
    "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "timings": {k: round(v, 4) for k, v in result.timings.items()},
}))
"""

# One long-running process, like the dev server: each new report is built incrementally; the first build
# renders every page (nothing in the render memo yet), the later ones only the pages whose inputs changed.
CHILD_SAME_PROCESS = r"""
import datetime as dt, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from bench_build import SLOT, make_template, summary_for
from sitegen.config import parse_config
from sitegen.site.build import build_site
root = Path(sys.argv[1])
head, tail = make_template().split(b"@" * SLOT)
config = parse_config({}, root)
runs = []
for k in range(5):
    day = dt.date(2031, 1, 1) + dt.timedelta(days=k)
    new = root / "reports" / "cluster-0" / f"report-{day.isoformat()}-good.pdf"
    new.write_bytes(head + summary_for(90000 + k, day, "good") + tail)
    start = time.perf_counter()
    result = build_site(config)
    runs.append({"seconds": time.perf_counter() - start, "changed": len(result.changed),
                 "timings": {k: round(v, 4) for k, v in result.timings.items()}})
print(json.dumps(runs))
"""


def summary_for(i: int, day: dt.date, status: str) -> bytes:
    obj = {
        "schema": 1,
        "date": day.isoformat(),
        "status": status,
        "suite": f"cluster-{i % 2}",
        "title": f"Nightly chaos run #{i}",
        "headline": f"Run {i}: {i % 17} errors, worst recovery {i % 90} s after pod-kill.",
        "metrics": {"errors": i % 17, "warnings": i % 41, "fatal": int(status == "bad"), "min_qps": 900 + i % 50},
    }
    data = json.dumps(obj).encode()
    if len(data) > SLOT:
        raise ValueError("summary too long for its slot")
    return data + b" " * (SLOT - len(data))


def make_template() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(dt.datetime(2021, 7, 9, tzinfo=dt.UTC))
    pdf.set_font("Helvetica", size=12)
    pdf.set_title("Nightly chaos report")
    for page in range(3):
        pdf.add_page()
        pdf.multi_cell(0, 8, f"Page {page + 1}. " + "Pods were killed and the cluster recovered. " * 20)
    pdf.embed_file(bytes=b"@" * SLOT, basename="summary.json", mime_type="application/json")
    data = bytes(pdf.output())
    if data.count(b"@" * SLOT) != 1:
        raise RuntimeError("template attachment not found uncompressed")
    return data


def generate(folder: Path, count: int) -> tuple[bytes, bytes]:
    """Write `count` reports over two suites; returns the template's parts for writing more."""
    template = make_template()
    head, tail = template.split(b"@" * SLOT)
    start = dt.date(2016, 1, 1)
    for i in range(count):
        day = start + dt.timedelta(days=i // 2)
        status = "bad" if i % 7 == 0 else "good"
        target = folder / f"cluster-{i % 2}" / f"report-{day.isoformat()}-{status}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(head + summary_for(i, day, status) + tail)
    return head, tail


def run_child(root: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root)], capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"build failed:\n{proc.stderr}")
    return {**json.loads(proc.stdout), "wall": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    reports = OUT / "reports"
    t = time.perf_counter()
    head, tail = generate(reports, args.reports)
    print(f"generated {args.reports} PDFs in {time.perf_counter() - t:.1f} s into {reports}")

    rows: dict[str, list[dict]] = {"cold": [], "no-change": [], "one new report": []}
    for extra in range(1, args.repeat + 1):
        shutil.rmtree(OUT / "public", ignore_errors=True)
        shutil.rmtree(OUT / ".sitegen-cache", ignore_errors=True)
        rows["cold"].append(run_child(OUT))
        rows["no-change"].append(run_child(OUT))
        day = dt.date(2030, 1, 1) + dt.timedelta(days=extra)
        new = reports / "cluster-0" / f"report-{day.isoformat()}-bad.pdf"
        new.write_bytes(head + summary_for(args.reports + extra, day, "bad") + tail)
        rows["one new report"].append(run_child(OUT))

    proc = subprocess.run(
        [sys.executable, "-c", CHILD_SAME_PROCESS, str(OUT), str(ROOT / "bench")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"build failed:\n{proc.stderr}")
    same = json.loads(proc.stdout)[1:]  # the first build fills the render memo
    for new in (reports / "cluster-0").glob("report-2031-*.pdf"):
        new.unlink()

    for name, runs in rows.items():
        for r in runs:
            print(f"  {name:16} {r['seconds']:.3f} s  read {r['extracted']:4}  written {r['written']:4}  changed {r['changed']:4}")
    first = rows["cold"][0]
    if first["reports"] != args.reports or first["extracted"] != args.reports or first["warnings"]:
        raise SystemExit(f"unexpected cold build: {first}")
    print(f"\n{'scenario':16} {'median s':>9} {'min s':>7} {'process s':>10} {'peak RSS MB':>12}")
    for name, runs in rows.items():
        times = [r["seconds"] for r in runs]
        rss = max(max(r["rss_self_mb"], r["rss_workers_mb"]) for r in runs)
        wall = statistics.median(r["wall"] for r in runs)
        print(f"{name:16} {statistics.median(times):9.3f} {min(times):7.3f} {wall:10.3f} {rss:12.0f}")
    times = [r["seconds"] for r in same]
    print(f"one new, same process: {statistics.median(times):.3f} median, {min(times):.3f} min of {len(times)} (memo warm)")
    print("(median/min: build_site() in a fresh process; process: the whole child process, with start-up and imports)")
    print("\ncold build stages (median):")
    for stage in first["timings"]:
        print(f"  {stage:10} {statistics.median(r['timings'].get(stage, 0) for r in rows['cold']):.3f} s")
    print("\none new report in the same process, stages (median):")
    for stage in same[0]["timings"]:
        print(f"  {stage:10} {statistics.median(r['timings'].get(stage, 0) for r in same):.3f} s")
    cold_floor = FLOOR_COLD_BASE + FLOOR_COLD_PER_REPORT * args.reports
    cold = statistics.median(r["seconds"] for r in rows["cold"])
    quiet = statistics.median(r["seconds"] for r in rows["no-change"])
    print(f"\nfloor: cold < {cold_floor:.2f} s -> {'ok' if cold < cold_floor else 'MISSED'}; "
          f"no-change < {FLOOR_NO_CHANGE} s -> {'ok' if quiet < FLOOR_NO_CHANGE else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
