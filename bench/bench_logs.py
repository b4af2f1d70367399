"""Log throughput: digest_logs (and `sitegen report` when it exists) against grep on the same big file, same run.

Usage: bench/bench_logs.py [--size-mb 1024] [--report] [--floor] [--repeat 3] [--pinned] [--engines re2,re]
Generates bench/out/big-unified.log if it is missing or of another size, then times
  grep -cE '\\[(WARN|ERROR|FATAL)\\]' FILE          (the baseline)
  digest_logs([FILE], ...) in a child process        (wall time and peak RSS of that process tree), once per
                                                     line-classifier engine (re2 when installed, and re)
  sitegen report --night ... --logs FILE             (with --report)
  the reader's floor                                 (with --floor: only what the fast reader cannot avoid on
                                                     both cores: reading, the classifier's search for the lines
                                                     to parse, and counting lines; nothing is parsed)
and with --pinned each of them again under `taskset -c 0` (one core, grep on the same core), all interleaved
--repeat times; prints the median and best time of each, with its ratio to grep (pinned ones to pinned grep).
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
from sitegen.nightly.logs import digest_logs, skips
skips.use_re2(sys.argv[4] == "re2")
assert skips.engine() == sys.argv[4], f"engine {sys.argv[4]} is not available"
tz = ZoneInfo(sys.argv[2])
night = dt.date.fromisoformat(sys.argv[3])
until = dt.datetime.combine(night, dt.time(6, 0), tzinfo=tz)
since = until - dt.timedelta(days=1)
t = time.perf_counter()
d = digest_logs([sys.argv[1]], since=since, until=until, tz=tz, night=night)
print(json.dumps({"engine": skips.engine(), "seconds": round(time.perf_counter() - t, 3),
                  "counts": d.counts, "outside": d.outside_window,
                  "lines": d.inputs[0].lines, "records": d.inputs[0].records, "signatures": len(d.signatures)}))
"""

# --check: the fast reader (each engine) against the simple per-line path, field by field, on the same file.
CHECK_CHILD = """
import datetime as dt, sys
from zoneinfo import ZoneInfo
from sitegen.nightly.logs import digest_logs, skips
from sitegen.nightly.logs.digest import digest_simple
tz = ZoneInfo(sys.argv[2])
night = dt.date.fromisoformat(sys.argv[3])
until = dt.datetime.combine(night, dt.time(6, 0), tzinfo=tz)
since = until - dt.timedelta(days=1)
(simple,) = digest_simple([sys.argv[1]], since=since, until=until, tz=tz, night=night)
want = ((simple.stats.lines, simple.stats.records, simple.stats.formats, simple.stats.truncated_lines),
        simple.counts, simple.outside, sorted(simple.error_times),
        {k: (g.count, g.first, g.last, g.sample, sorted(g.sources)) for k, g in simple.book.groups.items()})
for engine in sys.argv[4].split(","):
    skips.use_re2(engine == "re2")
    d = digest_logs([sys.argv[1]], since=since, until=until, tz=tz, night=night)
    (stats,) = d.inputs
    got = ((stats.lines, stats.records, stats.formats, stats.truncated_lines), d.counts, d.outside_window, d.error_times,
           {s.key: (s.count, s.first_seen and s.first_seen.timestamp(), s.last_seen and s.last_seen.timestamp(), s.sample,
                    s.sources) for s in d.signatures})
    print(f"fast path ({skips.engine()}) == simple path: {got == want}; lines {stats.lines}, records {stats.records},"
          f" counts {d.counts}, signatures {len(d.signatures)}", flush=True)
    if got != want:
        raise SystemExit(1)
"""


# The floor of the fast reader's design: the same two processes, blocks, classifier and line count as
# digest_logs, with none of the per-line work (decode, parse, assemble, tally) that Python does for each line
# the classifier yields. Whatever digest_logs takes beyond this is the Python work on those lines.
FLOOR_CHILD = """
import os, sys
from sitegen.nightly.logs import skips
from sitegen.nightly.logs.inputs import BLOCK
path = sys.argv[1]
size = os.path.getsize(path)
with open(path, "rb") as fh:  # cut at a line's start, as digest_logs cuts at a record head
    fh.seek(size // 2)
    fh.readline()
    middle = fh.tell()

def scan(start, end):
    odd, buf, lines, found = skips.UNIFIED.odd, bytearray(BLOCK), 0, 0
    with open(path, "rb", buffering=0) as fh:
        fh.seek(start)
        left = end - start
        while left > 0:
            got = fh.readinto(memoryview(buf)[: min(BLOCK, left)])
            if not got:
                break
            left -= got
            found += sum(1 for _ in odd(buf, got))
            lines += buf.count(b"\\n", 0, got)
    return lines, found

child = os.fork()
if child == 0:
    scan(middle, size)
    os._exit(0)
lines, found = scan(0, middle)
os.waitpid(child, 0)
print(f"engine {skips.engine()}; first half: {lines} lines, {found} to parse")
"""


def _peak_of(cmd: list[str]) -> tuple[float, float, str, float]:
    """Wall time, peak RSS (MB, the largest process of the tree) and CPU time (user + system, the whole tree) via a
    fresh wrapper process. CPU time hardly depends on what else the machine runs; wall time does."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "sys.stderr.write(p.stderr)\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(dt, r.ru_maxrss / 1024, r.ru_utime + r.ru_stime, repr(p.stdout))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds, peak, cpu, stdout = out.stdout.split(" ", 3)
    return float(seconds), float(peak), eval(stdout), float(cpu)  # our own repr() from the line above


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _have(engine: str) -> bool:
    probe = "from sitegen.nightly.logs import skips; raise SystemExit(skips.engine() != 're2')"
    return engine == "re2" and subprocess.run([sys.executable, "-c", probe], cwd=ROOT).returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="log throughput against grep")
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the generated log (default 1024)")
    parser.add_argument("--report", action="store_true", help="also time `sitegen report --logs FILE` end to end")
    parser.add_argument("--file", type=Path, default=gen_biglog.OUT / "big-unified.log")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each tool (default 3)")
    parser.add_argument("--pinned", action="store_true", help="also run everything pinned to one core (taskset -c 0)")
    parser.add_argument("--engines", default="re2,re", help="line-classifier engines to time (default re2,re; re2 if installed)")
    parser.add_argument("--floor", action="store_true", help="also time the reader's floor: classify and count lines, parse none")
    parser.add_argument("--check", action="store_true", help="first check the fast reader against the simple path on the file")
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
    print(f"load average before: {_loadavg()}")
    engines = [e for e in args.engines.split(",") if e == "re" or _have(e)]
    if args.check:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", CHECK_CHILD, str(args.file), TZ, NIGHT, ",".join(engines)], check=True, cwd=ROOT)
        print(f"check took {time.perf_counter() - t:.0f} s")
    commands = {"grep -cE": ["grep", "-cE", r"\[(WARN|ERROR|FATAL)\]", str(args.file)]}
    for engine in engines:
        commands[f"digest_logs ({engine})"] = [sys.executable, "-c", DIGEST_CHILD, str(args.file), TZ, NIGHT, engine]
    if args.floor:
        commands["floor (classify + count, no parsing)"] = [sys.executable, "-c", FLOOR_CHILD, str(args.file)]
    tmp = tempfile.mkdtemp(prefix="bench-logs-")
    if args.report:
        sitegen = str(Path(sys.executable).parent / "sitegen")
        commands["sitegen report"] = [sitegen, "report", "--night", NIGHT, "--logs", str(args.file), "--reports", tmp]
    if args.pinned:
        commands |= {f"{name}, pinned": ["taskset", "-c", "0", *cmd] for name, cmd in commands.items()}
    # Interleaved repeats: the machine is shared, so each tool sees the same mix of quiet and busy moments.
    runs: dict[str, list[tuple[float, float, str, float]]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, cmd in commands.items():
            runs[name].append(_peak_of(cmd))
        print(f"load average after round: {_loadavg()}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    for name, results in runs.items():
        base = runs["grep -cE, pinned" if name.endswith(", pinned") else "grep -cE"]
        grep_median, grep_best = statistics.median(r[0] for r in base), min(r[0] for r in base)
        times = [r[0] for r in results]
        median, best = statistics.median(times), min(times)
        peak = max(r[1] for r in results)
        cpu, grep_cpu = statistics.median(r[3] for r in results), statistics.median(r[3] for r in base)
        last = results[-1][2].strip().splitlines()[-1:] if results[-1][2].strip() else []
        print(
            f"{name}: median {median:.2f} s ({median / grep_median:.2f}x grep), best {best:.2f} s ({best / grep_best:.2f}x grep),"
            f" all {' '.join(f'{x:.2f}' for x in times)}, CPU {cpu:.2f} s ({cpu / grep_cpu:.2f}x grep's), peak RSS {peak:.0f} MB,"
            f" output {last}"
        )
    print(f"load average after: {_loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
