"""Parse the interval lines of load generators (sysbench 1.x/0.5, go-ycsb, go-tpc, cockroach workload, pd-tso-bench)."""

from __future__ import annotations

import collections
import math
import re
from pathlib import Path

from sitegen.errors import UsageError
from sitegen.nightly.metrics.series import Point, make_series, number
from sitegen.nightly.records import Series
from sitegen.nightly.times import go_duration

_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?i:nan|inf))"
_SB1 = re.compile(
    r"^\[\s*(\d+(?:\.\d+)?)s\s*\] thds: (\d+) tps: N qps: N \(r/w/o: N/N/N\) lat \(ms,([^)]*)\): N err/s:? N reconn/s:? N".replace(
        "N", _NUM
    )
)
_SB05 = re.compile(
    r"^\[\s*(\d+(?:\.\d+)?)s\] threads: (\d+), tps: N, reads(?:/s)?: N, writes(?:/s)?: N, response time: Nms \((\d+)%\)"
    r"(?:, errors(?:/s)?: N, reconnects(?:/s)?:\s+N)?".replace("N", _NUM)
)
_YCSB = re.compile(r"^([A-Z][A-Z_]*?)(_ERROR)?\s+- Takes\(s\): N, Count: (\d+), OPS: N, Avg\(us\)".replace("N", _NUM))
_YCSB_END = re.compile(r"^Run finished, takes ")
_GOTPC = re.compile(
    r"^\[(Current|Summary)\] ([A-Z0-9_]+?)(_ERR)?\s+- (?:Takes\(s\): N, )?Count: (\d+)(?:, TPM: N)?, Sum\(ms\): N".replace("N", _NUM)
)
_PDTSO = re.compile(r"^TS:(\d+) min:(\S+) max:(\S+) SEC_STAT\(rps/p50/p99\):(\d+),([^,\s]+),(\S+)$")
_PSSH_SECTION = re.compile(r"^\[(\d+)\] \d\d:\d\d:\d\d \[(?:SUCCESS|FAILURE)\]")
_CRDB = re.compile(r"^\s*((?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s)\s+(\d+)\s+N\s+N\s+N\s+N\s+N\s+N (\w+)\s*$".replace("N", _NUM))
_CRDB_SUMMARY = re.compile(r"^_elapsed_+errors_+ops\(total\)")

# The data line of each format, in the order detection tries them.
LINE_PATTERNS = {
    "sysbench 1.x": _SB1,
    "sysbench 0.5": _SB05,
    "go-ycsb": _YCSB,
    "go-tpc": _GOTPC,
    "pd-tso-bench": _PDTSO,
    "cockroach workload": _CRDB,
}


def _no_points(path: Path, fmt: str) -> UsageError:
    return UsageError(f"{path}: {fmt} output holds no interval lines to chart")


def sysbench1(lines: list[str], path: Path, t0: float) -> Series:
    """sysbench 1.x '[ 10s ] thds: ...' lines; the value is successful queries per second."""
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    for line in lines:
        m = _SB1.match(line)
        if not m:
            continue
        t = t0 + float(m.group(1))
        tps, qps, errs, reconn, lat = number(m[3]), number(m[4]), number(m[10]), number(m[11]), number(m[9])
        # sysbench counts failed queries in qps (qps == err/s after a failover), so the chart shows successful ones.
        ok = None if qps is None or errs is None else max(qps - errs, 0.0)
        points.append((t, ok))
        for key, value in (("qps", qps), ("tps", tps), ("err/s", errs), ("reconn/s", reconn), ("latency_ms", lat)):
            extra[key].append((t, value))
        extra["threads"].append((t, float(m.group(2))))
    if not points:
        raise _no_points(path, "sysbench 1.x")
    return make_series("qps", "qps", f"sysbench 1.x {path.name} (qps minus err/s)", points, extra)


def sysbench05(lines: list[str], path: Path, t0: float) -> Series:
    """sysbench 0.5 '[10s] threads: ...' lines; the value is reads plus writes per second."""
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    for line in lines:
        m = _SB05.match(line)
        if not m:
            continue
        t = t0 + float(m.group(1))
        tps, reads, writes, lat = number(m[3]), number(m[4]), number(m[5]), number(m[6])
        qps = None if reads is None or writes is None else round(reads + writes, 6)
        points.append((t, qps))
        extra["qps"].append((t, qps))
        extra["tps"].append((t, tps))
        extra["latency_ms"].append((t, lat))
        extra["threads"].append((t, float(m.group(2))))
        if m.group(8) is not None:
            extra["err/s"].append((t, number(m.group(8))))
            extra["reconn/s"].append((t, number(m.group(9))))
    if not points:
        raise _no_points(path, "sysbench 0.5")
    return make_series("qps", "qps", f"sysbench 0.5 {path.name} (reads + writes per second)", points, extra)


def ycsb(lines: list[str], path: Path, t0: float) -> Series:
    """go-ycsb periodic status lines; the value is operations per second over all operation types."""
    # go-ycsb prints cumulative Count and Takes(s); the per-interval rate comes from their differences.
    rounds: list[dict[str, tuple[float, int, float | None]]] = []
    for line in lines:
        if _YCSB_END.match(line):
            break  # what follows is the whole-run summary, not an interval
        m = _YCSB.match(line)
        if not m:
            continue
        op = m.group(1) + (m.group(2) or "")
        if not rounds or op in rounds[-1]:
            rounds.append({})
        rounds[-1][op] = (float(m.group(3)), int(m.group(4)), number(m.group(5)))
    if not rounds:
        raise UsageError(
            f"{path}: go-ycsb output holds only the final run summary, no interval lines; "
            "run go-ycsb with its periodic status output (measurementtype=timeseries or histogram)"
        )
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    prev: dict[str, tuple[float, int]] = {}
    for rnd in rounds:
        t = max(takes for takes, _, _ in rnd.values())
        ok = errs = 0.0
        for op, (takes, count, ops) in rnd.items():
            if op in prev and takes > prev[op][0]:
                rate: float | None = (count - prev[op][1]) / (takes - prev[op][0])
            else:
                rate = ops
            prev[op] = (takes, count)
            if rate is None:
                ok = math.nan
            elif op.endswith("_ERROR"):
                errs += rate
            else:
                ok += rate
        points.append((t0 + t, number(str(ok))))
        extra["err/s"].append((t0 + t, errs))
    return make_series("ops", "ops/s", f"go-ycsb {path.name} (rate from cumulative counts)", points, extra)


def gotpc(lines: list[str], path: Path, t0: float) -> Series:
    """go-tpc [Current] lines; the value is transactions per second over all transaction types."""
    # [Current] rows are per interval and printed sorted by name; a name not after the previous one starts a round.
    rounds: list[dict[str, tuple[float, int]]] = []
    last = ""
    for line in lines:
        m = _GOTPC.match(line)
        if not m or m.group(1) != "Current" or m.group(4) is None:
            continue
        name = m.group(2) + (m.group(3) or "")
        if not rounds or name <= last:
            rounds.append({})
        last = name
        rounds[-1][name] = (float(m.group(4)), int(m.group(5)))
    if not rounds:
        raise _no_points(path, "go-tpc")
    width = max(sum(not n.endswith("_ERR") for n in r) for r in rounds)
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    elapsed = 0.0
    for rnd in rounds:
        elapsed += max(takes for takes, _ in rnd.values())
        ok = [count / takes for n, (takes, count) in rnd.items() if not n.endswith("_ERR") and takes > 0]
        errs = sum(count / takes for n, (takes, count) in rnd.items() if n.endswith("_ERR") and takes > 0)
        # A round missing some transaction types (cut output) would fake a dip: keep it as a gap.
        points.append((t0 + elapsed, sum(ok) if len(ok) == width else None))
        extra["err/s"].append((t0 + elapsed, errs))
    return make_series("txn", "txn/s", f"go-tpc {path.name} (sum of [Current] Count/Takes)", points, extra)


def cockroach(lines: list[str], path: Path, t0: float) -> Series:
    """cockroach workload per-second table; the value is ops/sec(inst) summed over transaction types."""
    by_time: dict[float, dict[str, tuple[float | None, int]]] = collections.defaultdict(dict)
    for line in lines:
        if _CRDB_SUMMARY.match(line):
            break  # the end-of-run totals use other columns
        m = _CRDB.match(line)
        if m:
            by_time[go_duration(m.group(1))][m.group(9)] = (number(m.group(3)), int(m.group(2)))
    if not by_time:
        raise _no_points(path, "cockroach workload")
    width = max(len(ops) for ops in by_time.values())
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    for elapsed, ops in by_time.items():
        values = [v for v, _ in ops.values()]
        complete = len(ops) == width and None not in values
        points.append((t0 + elapsed, sum(values) if complete else None))  # type: ignore[arg-type]
        extra["errors"].append((t0 + elapsed, float(sum(e for _, e in ops.values()))))
    return make_series("ops", "ops/s", f"cockroach workload {path.name} (sum of ops/sec(inst) over txn types)", points, extra)


def pd_tso(lines: list[str], path: Path) -> Series:
    """pd-tso-bench SEC_STAT lines, which carry epoch seconds; the value is TSO requests per second."""
    # pssh output holds one section per client with the same seconds; the night's rps is their sum.
    section = "0"
    sections: set[str] = set()
    by_time: dict[float, dict[str, tuple[float, float | None]]] = collections.defaultdict(dict)
    for line in lines:
        s = _PSSH_SECTION.match(line)
        if s:
            section = s.group(1)
            continue
        m = _PDTSO.match(line)
        if m:
            sections.add(section)
            by_time[float(m.group(1))][section] = (float(m.group(4)), number(m.group(6)))
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    for t, clients in by_time.items():
        # A second some clients did not report would look like a drop: a gap is the honest value.
        points.append((t, sum(r for r, _ in clients.values()) if len(clients) == len(sections) else None))
        p99 = [p for _, p in clients.values() if p is not None]
        extra["p99_ms"].append((t, max(p99) if p99 else None))
    how = f"summed over {len(sections)} clients" if len(sections) > 1 else "one client"
    return make_series("rps", "rps", f"pd-tso-bench {path.name} ({how})", points, extra)


# The parsers of formats whose times are relative to the run's start (`t0`, epoch seconds).
RELATIVE_PARSERS = {
    "sysbench 1.x": sysbench1,
    "sysbench 0.5": sysbench05,
    "go-ycsb": ycsb,
    "go-tpc": gotpc,
    "cockroach workload": cockroach,
}
