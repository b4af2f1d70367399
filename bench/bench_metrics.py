"""Benchmark the numbers stages on a full day at one point a second (86,400 points).

Measures, each the median of --repeat runs:
- load_metrics on a sysbench 1.x interval log and on a CSV, both 86,400 lines;
- detect_dips on the loaded series (no chaos source given);
- load_chaos expanding '@every 10m' (144 windows) and '@every 5s' (17,279 windows) over the night;
- analyze_injections for the 144 windows.

    .venv/bin/python bench/bench_metrics.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sitegen.nightly.analyze import analyze_injections  # noqa: E402
from sitegen.nightly.chaos import detect_dips, load_chaos  # noqa: E402
from sitegen.nightly.metrics import load_metrics  # noqa: E402

SINCE = dt.datetime(2021, 7, 8, 22, 0, tzinfo=dt.UTC)
UNTIL = SINCE + dt.timedelta(days=1)
N = 86_400


def qps_at(i: int, rng: random.Random) -> float:
    """About 20,000 qps with noise; every 10 minutes a 20 s fall to 5 % and a 40 s climb back."""
    phase = i % 600
    if i >= 600 and phase < 20:
        return 1000.0
    if i >= 600 and phase < 60:
        return 1000.0 + 19000.0 * (phase - 20) / 40
    return 20000.0 + rng.uniform(-400, 400)


def write_inputs(folder: Path) -> tuple[Path, Path, Path, Path]:
    rng = random.Random(7)
    sysbench = folder / "sysbench.log"
    csv = folder / "qps.csv"
    with sysbench.open("w") as sb, csv.open("w") as c:
        sb.write(f"# start: {SINCE.isoformat()}\n")
        c.write("timestamp,value\n")
        for i in range(N):
            q = qps_at(i, rng)
            sb.write(
                f"[ {i + 1}s ] thds: 64 tps: {q / 20:.2f} qps: {q:.2f} (r/w/o: {q * 0.7:.2f}/{q * 0.3:.2f}/0.00) "
                f"lat (ms,95%): 12.08 err/s: 0.00 reconn/s: 0.00\n"
            )
            c.write(f"{int(SINCE.timestamp()) + i + 1},{q:.2f}\n")
    every10m = folder / "every10m.yaml"
    every10m.write_text(
        "kind: Schedule\nmetadata: {name: kill}\nspec: {schedule: '@every 10m', type: PodChaos, "
        "podChaos: {action: pod-failure, duration: 20s}}\n"
    )
    every5s = folder / "every5s.yaml"
    every5s.write_text("kind: Schedule\nmetadata: {name: kill}\nspec: {schedule: '@every 5s', type: PodChaos, podChaos: {}}\n")
    return sysbench, csv, every10m, every5s


def timed(fn, repeat: int):
    runs, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sysbench, csv, every10m, every5s = write_inputs(Path(tmp))
        rows = []
        s_sb, series = timed(lambda: load_metrics(sysbench), args.repeat)
        rows.append(("load_metrics, sysbench 1.x, 86,400 interval lines", s_sb, f"{len(series.points):,} points"))
        s_csv, _ = timed(lambda: load_metrics(csv), args.repeat)
        rows.append(("load_metrics, CSV, 86,400 rows", s_csv, ""))
        s_dip, dips = timed(lambda: detect_dips(series), args.repeat)
        rows.append(("detect_dips on the sysbench series", s_dip, f"{len(dips)} dips"))
        s_w10, windows = timed(lambda: load_chaos(every10m, since=SINCE, until=UNTIL), args.repeat)
        rows.append(("load_chaos '@every 10m'", s_w10, f"{len(windows)} windows"))
        s_w5, many = timed(lambda: load_chaos(every5s, since=SINCE, until=UNTIL), args.repeat)
        rows.append(("load_chaos '@every 5s'", s_w5, f"{len(many):,} windows"))
        s_an, inj = timed(lambda: analyze_injections(series, windows, []), args.repeat)
        recovered = sum(i.ttr_s is not None for i in inj)
        rows.append(("analyze_injections, 144 windows", s_an, f"{recovered} recovered"))
    print(f"| What | Median of {args.repeat} | Result |")
    print("|---|---|---|")
    for what, seconds, note in rows:
        print(f"| {what} | {seconds:.3f} s | {note} |")


if __name__ == "__main__":
    main()
