"""Log throughput: digest_logs (and `sitegen report` when it exists) against grep on the same big file, same run.

Usage: bench/bench_logs.py [--size-mb 1024] [--report] [--repeat 3]
Generates bench/out/big-unified.log if it is missing or of another size, then times
  grep -cE '\\[(WARN|ERROR|FATAL)\\]' FILE          (the baseline)
  digest_logs([FILE], ...) in a child process        (wall time and peak RSS of that process tree)
  sitegen report --night ... --logs FILE             (with --report)
interleaved --repeat times, and prints the median and best time of each, with its ratio to grep.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import gen_biglog  # noqa: E402

NIGHT = "2021-07-09"
TZ = "Asia/Shanghai"

DIGEST_CHILD = """
import datetime as dt, json, sys, time
from zoneinfo import ZoneInfo
from sitegen.nightly.logs import digest_logs
tz = ZoneInfo(sys.argv[2])
night = dt.date.fromisoformat(sys.argv[3])
until = dt.datetime.combine(night, dt.time(6, 0), tzinfo=tz)
since = until - dt.timedelta(days=1)
t = time.perf_counter()
d = digest_logs([sys.argv[1]], since=since, until=until, tz=tz, night=night)
print(json.dumps({"seconds": time.perf_counter() - t, "counts": d.counts, "outside": d.outside_window,
                  "lines": d.inputs[0].lines, "records": d.inputs[0].records, "signatures": len(d.signatures)}))
"""


def _peak_of(cmd: list[str]) -> tuple[float, float, str]:
    """Wall time and peak RSS (MB, the largest process of the tree) via a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "sys.stderr.write(p.stderr)\n"
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, repr(p.stdout))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds, peak, stdout = out.stdout.split(" ", 2)
    return float(seconds), float(peak), eval(stdout)  # our own repr() from the line above


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="log throughput against grep")
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the generated log (default 1024)")
    parser.add_argument("--report", action="store_true", help="also time `sitegen report --logs FILE` end to end")
    parser.add_argument("--file", type=Path, default=gen_biglog.OUT / "big-unified.log")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each tool (default 3)")
    args = parser.parse_args(argv)

    want = args.size_mb * 1024 * 1024
    if not args.file.exists() or abs(args.file.stat().st_size - want) > want * 0.05:
        t = time.perf_counter()
        gen_biglog.generate(args.file, want)
        print(f"generated {args.file} in {time.perf_counter() - t:.1f} s")
    size_mb = args.file.stat().st_size / 1e6
    # Warm the page cache so both sides read from memory.
    subprocess.run(["cat", str(args.file)], stdout=subprocess.DEVNULL, check=True)

    print(f"file: {size_mb:.0f} MB, {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    commands = {
        "grep -cE": ["grep", "-cE", r"\[(WARN|ERROR|FATAL)\]", str(args.file)],
        "digest_logs": [sys.executable, "-c", DIGEST_CHILD, str(args.file), TZ, NIGHT],
    }
    tmp = tempfile.mkdtemp(prefix="bench-logs-")
    if args.report:
        sitegen = str(Path(sys.executable).parent / "sitegen")
        commands["sitegen report"] = [sitegen, "report", "--night", NIGHT, "--logs", str(args.file), "--reports", tmp]
    # Interleaved repeats: the machine is shared, so each tool sees the same mix of quiet and busy moments.
    runs: dict[str, list[tuple[float, float, str]]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, cmd in commands.items():
            runs[name].append(_peak_of(cmd))
    shutil.rmtree(tmp, ignore_errors=True)
    grep_median = statistics.median(r[0] for r in runs["grep -cE"])
    grep_best = min(r[0] for r in runs["grep -cE"])
    for name, results in runs.items():
        times = [r[0] for r in results]
        median, best = statistics.median(times), min(times)
        peak = max(r[1] for r in results)
        last = results[-1][2].strip().splitlines()[-1:] if results[-1][2].strip() else []
        print(
            f"{name}: median {median:.2f} s ({median / grep_median:.2f}x grep), best {best:.2f} s ({best / grep_best:.2f}x grep),"
            f" peak RSS {peak:.0f} MB, output {last}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
