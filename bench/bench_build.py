"""Benchmark `sitegen build` on generated reports: cold build, no-change rebuild, one new report.

The last scenario also runs in one long-running process (as in the dev server). `--suites 10
--reports 10000` is the "year across ten clusters" site; `--browser` also times the first card.

Each scenario runs in a fresh child process (like a real `sitegen build`), which reports the time
build_site() took and its peak RSS (its own and that of its worker processes, via getrusage).

    .venv/bin/python bench/bench_build.py [--reports 2000] [--suites 2] [--repeat 3] [--browser]

Generating the PDFs: fpdf2 writes one template PDF whose summary.json attachment is stored
uncompressed with fixed-width padding; every variant swaps in its own summary of the same length,
so each file is a valid, distinct PDF without running fpdf2 2,000 times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "build"
SLOT = 1400  # bytes reserved for each summary.json (with three signatures)

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from sitegen.config import parse_config
from sitegen.site.build import build_site
root = Path(sys.argv[1])
settings = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
start = time.perf_counter()
result = build_site(parse_config(settings, root))
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "reports": len(result.reports),
    "extracted": result.extracted,
    "written": result.written,
    "changed": len(result.changed),
    "drawn": result.drawn,
    "warnings": len(result.warnings),
    "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "timings": {k: round(v, 4) for k, v in result.timings.items()},
}))
"""

# One long-running process, like the dev server: each new report is built incrementally, drawing only the
# pages whose key changed (the first build of the five is not counted).
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
    day = dt.date(2200, 1, 1) + dt.timedelta(days=k)  # after every generated night (100,000 over 10 suites reach 2043)
    new = root / "reports" / "cluster-0" / f"report-{day.isoformat()}-good.pdf"
    new.write_bytes(head + summary_for(90000 + k, day, "good") + tail)
    start = time.perf_counter()
    result = build_site(config)
    runs.append({"seconds": time.perf_counter() - start, "changed": len(result.changed),
                 "timings": {k: round(v, 4) for k, v in result.timings.items()}})
print(json.dumps(runs))
"""


def summary_for(i: int, day: dt.date, status: str, suites: int = 2) -> bytes:
    sigs = [
        {"key": f"k{(i // suites) % 40:02d}", "level": "error", "kind": "error", "count": 3 + i % 11, "component": "tikv-1",
         "message": f"region {(i // suites) % 40} is unavailable", "pattern": "region <n> is unavailable"},
        {"key": "kstore", "level": "warn", "kind": "warn", "count": 1 + i % 5, "component": "pd-0",
         "message": "store 4 is disconnected", "pattern": "store <n> is disconnected"},
    ]
    if status == "bad":
        sigs.insert(0, {"key": f"p{i % 9}", "level": "fatal", "kind": "panic", "count": 1, "new": i % 3 == 0,
                        "component": "tidb-0", "message": "invalid memory address or nil pointer dereference",
                        "pattern": "invalid memory address or nil pointer dereference"})
    obj = {
        "schema": 1,
        "date": day.isoformat(),
        "status": status,
        "suite": f"cluster-{i % suites}",
        "title": f"Nightly chaos run #{i}",
        "headline": f"Run {i}: {i % 17} errors, worst recovery {i % 90} s after pod-kill.",
        "metrics": {"errors": i % 17, "warnings": i % 41, "fatal": int(status == "bad"), "min_qps": 900 + i % 50,
                    "worst_ttr_s": i % 90},
        "signatures": sigs,
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


def generate(folder: Path, count: int, suites: int = 2) -> tuple[bytes, bytes]:
    """Write `count` reports over `suites` suites; returns the template's parts for writing more."""
    template = make_template()
    head, tail = template.split(b"@" * SLOT)
    start = dt.date(2016, 1, 1)
    for i in range(count):
        day = start + dt.timedelta(days=i // suites)
        status = "bad" if i % 7 == 0 else "good"
        target = folder / f"cluster-{i % suites}" / f"report-{day.isoformat()}-{status}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(head + summary_for(i, day, status, suites) + tail)
    return head, tail


def run_child(root: Path, settings: dict | None = None) -> dict:
    """One build_site() of `root` in a fresh process; `settings` are config keys (a new title redraws every page)."""
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    argv = [sys.executable, "-c", CHILD, str(root), json.dumps(settings or {})]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"build failed:\n{proc.stderr}")
    # CPU of the whole process tree (the drawing child and extraction workers are waited for, so they count).
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {**json.loads(proc.stdout), "wall": wall, "cpu": user + system, "sys": system}


def first_card_seconds(site: Path, repeat: int = 3) -> list[float]:
    """Time from navigation to the first card drawn, in Debian's Chromium, the site served on 127.0.0.1."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    out = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
            for _ in range(repeat):
                page = browser.new_page()
                start = time.perf_counter()
                page.goto(url, wait_until="commit")
                page.wait_for_selector(".grid .card", state="visible")
                out.append(time.perf_counter() - start)
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return out


def site_size(site: Path) -> tuple[int, int]:
    files = [p for p in site.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--suites", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time the first card in Chromium")
    args = parser.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    reports = OUT / "reports"
    t = time.perf_counter()
    head, tail = generate(reports, args.reports, args.suites)
    print(f"generated {args.reports} PDFs over {args.suites} suites in {time.perf_counter() - t:.1f} s into {reports}")
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")

    rows: dict[str, list[dict]] = {"cold": [], "no-change": [], "one new report": []}
    for extra in range(1, args.repeat + 1):
        shutil.rmtree(OUT / "public", ignore_errors=True)
        shutil.rmtree(OUT / ".sitegen-cache", ignore_errors=True)
        rows["cold"].append(run_child(OUT))
        rows["no-change"].append(run_child(OUT))
        day = dt.date(2100, 1, 1) + dt.timedelta(days=extra)  # the newest night, as a real new report is
        new = reports / "cluster-0" / f"report-{day.isoformat()}-bad.pdf"
        new.write_bytes(head + summary_for(args.suites * (10**6 + extra), day, "bad", args.suites) + tail)
        rows["one new report"].append(run_child(OUT))
    files, size = site_size(OUT / "public")
    index_kb = (OUT / "public" / "index.html").stat().st_size / 1024
    search = sorted((OUT / "public" / "search").glob("*.json"))

    proc = subprocess.run(
        [sys.executable, "-c", CHILD_SAME_PROCESS, str(OUT), str(ROOT / "bench")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"build failed:\n{proc.stderr}")
    same = json.loads(proc.stdout)[1:]
    for new in (reports / "cluster-0").glob("report-2200-*.pdf"):
        new.unlink()
    cards = first_card_seconds(OUT / "public") if args.browser else []
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")

    for name, runs in rows.items():
        for r in runs:
            print(f"  {name:16} {r['seconds']:.3f} s  read {r['extracted']:5}  drawn {r['drawn']:5}  written {r['written']:5}"
                  f"  changed {r['changed']:5}")
    first = rows["cold"][0]
    # A site over GitHub Pages' 1 GB (100,000 PDFs are 2 GB) warns: the one warning expected.
    if first["reports"] != args.reports or first["extracted"] != args.reports or first["warnings"] > (args.reports > 40_000):
        raise SystemExit(f"unexpected cold build: {first}")
    print(f"\n{'scenario':16} {'median s':>9} {'min s':>7} {'process s':>10} {'peak RSS MB':>12}")
    for name, runs in rows.items():
        times = [r["seconds"] for r in runs]
        rss = max(max(r["rss_self_mb"], r["rss_workers_mb"]) for r in runs)
        wall = statistics.median(r["wall"] for r in runs)
        print(f"{name:16} {statistics.median(times):9.3f} {min(times):7.3f} {wall:10.3f} {rss:12.0f}")
    times = [r["seconds"] for r in same]
    print(f"one new, same process: {statistics.median(times):.3f} median, {min(times):.3f} min of {len(times)}")
    print("(median/min: build_site() in a fresh process; process: the whole child process, with start-up and imports)")
    print(f"site: {files} files, {size / 1e6:.1f} MB (PDFs hard-linked); index.html {index_kb:.0f} KB; search index "
          f"{len(search)} file(s), {sum(p.stat().st_size for p in search) / 1e6:.1f} MB")
    if cards:
        print(f"first card in Chromium: {statistics.median(cards):.3f} s median, {min(cards):.3f} s min of {len(cards)}")
    for label, runs in (("cold", rows["cold"]), ("one new report", rows["one new report"]), ("no-change", rows["no-change"])):
        print(f"\n{label} stages (median):")
        for stage in runs[0]["timings"]:
            print(f"  {stage:10} {statistics.median(r['timings'].get(stage, 0) for r in runs):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
