"""Read the night's load metric (QPS or the like) from load-generator output, CSV or Prometheus JSON into a Series.

Every loader keeps NaN, Inf and missing intervals as gaps (None), never as zeros, because a zero is an outage
and a gap is a hole in the measurement; the analysis must tell them apart.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import gzip
import itertools
import json
import logging
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sitegen.errors import UsageError
from sitegen.nightly.records import Series

log = logging.getLogger(__name__)

Point = tuple[float, float | None]

SUPPORTED = (
    "sysbench 0.5 and 1.x interval lines, go-ycsb, go-tpc ([Current] lines), pd-tso-bench SEC_STAT, "
    "cockroach workload, CSV with a 'timestamp,value' header, Prometheus query_range JSON"
)

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
_CRDB = re.compile(
    r"^\s*((?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s)\s+(\d+)\s+N\s+N\s+N\s+N\s+N\s+N (\w+)\s*$".replace("N", _NUM)
)
_CRDB_SUMMARY = re.compile(r"^_elapsed_+errors_+ops\(total\)")
_START_HEADER = re.compile(
    r"^\s*(?:#|//)?\s*(?:metrics[-_ ])?start(?:ed)?(?:[-_ ](?:time|at))?\s*[:=]\s*(\S.*?)\s*$", re.IGNORECASE
)
_DETECT_LINES = 5000
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def parse_time(text: str, tz: dt.tzinfo) -> dt.datetime:
    """An ISO-8601 time (zone optional: `tz` is assumed) or epoch seconds/milliseconds, as an aware datetime."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        value = float(text)
        if value > 1e11:  # milliseconds: 1e11 s is the year 5138
            value /= 1000.0
        return dt.datetime.fromtimestamp(value, dt.UTC)
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=tz)


def _num(text: str) -> float | None:
    """A float, or None for NaN/Inf: those are gaps in the measurement, not values."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def typical_step(times: list[float]) -> float | None:
    """The most common spacing between samples (the smallest on a tie): the reporting interval."""
    diffs = collections.Counter(round(b - a, 3) for a, b in itertools.pairwise(times) if b > a)
    if not diffs:
        return None
    best = max(diffs.values())
    return min(d for d, n in diffs.items() if n == best)


def fill_gaps(points: list[Point], step: float | None = None) -> list[Point]:
    """Insert None at every missing reporting interval so a hole in the data shows as a gap."""
    if len(points) < 3 and step is None:
        return points
    times = [t for t, _ in points]
    step = step or typical_step(times)
    if not step:
        return points
    return _apply_gaps(points, _gap_plan(times, step))


def _gap_plan(times: list[float], step: float) -> list[tuple[int, list[float]]]:
    """(index, missing times to insert before it) for every hole longer than 1.5 reporting intervals."""
    limit = 1.5 * step
    plan: list[tuple[int, list[float]]] = []
    budget = 10 * len(times) + 100_000  # a stray far-off sample must not blow up memory
    for i in range(1, len(times)):
        prev, t = times[i - 1], times[i]
        if t - prev > limit:
            missing = round((t - prev) / step) - 1
            if missing > budget:
                plan.append((i, [(prev + t) / 2]))
            else:
                budget -= missing
                plan.append((i, [prev + k * step for k in range(1, missing + 1)]))
    return plan


def _apply_gaps(points: list[Point], plan: list[tuple[int, list[float]]]) -> list[Point]:
    if not plan:
        return points
    out: list[Point] = []
    last = 0
    for index, missing in plan:
        out.extend(points[last:index])
        out.extend((t, None) for t in missing)
        last = index
    out.extend(points[last:])
    return out


def _read_text(path: Path) -> str:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
                return fh.read()
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise UsageError(f"metrics file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"metrics path is a folder, not a file: {path}") from None
    except (OSError, EOFError) as exc:
        raise UsageError(f"cannot read metrics file {path}: {exc}") from None


def load_metrics(
    path: Path, *, start: dt.datetime | None = None, tz: dt.tzinfo = dt.UTC, combine: str = "sum"
) -> Series:
    """Read a metrics file of any supported format; relative-time outputs are placed at `start` (or a header)."""
    path = Path(path)
    text = _read_text(path)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: looks like JSON but cannot be parsed: {exc}") from None
        return parse_query_range(data, source=str(path), combine=combine)
    lines = text.splitlines()
    csv_series = _try_csv(lines, path, tz)
    if csv_series is not None:
        return csv_series
    fmt = _detect(lines, path)
    if fmt is None:
        raise UsageError(f"{path}: not a recognised metrics format. Supported: {SUPPORTED}.")
    if fmt == "pd-tso-bench":
        return _pd_tso(lines, path)
    if start is None:
        start = _header_start(lines, tz, path)
    if start is None:
        raise UsageError(
            f"{path}: {fmt} output gives times relative to the start of the run; "
            "pass the run's start time with --metrics-start (e.g. --metrics-start 2021-07-09T01:00:00+08:00) "
            "or put a line 'start: <ISO time>' at the top of the file"
        )
    parser = {"sysbench 1.x": _sysbench1, "sysbench 0.5": _sysbench05, "go-ycsb": _ycsb, "go-tpc": _gotpc, "cockroach workload": _crdb}
    return parser[fmt](lines, path, start.timestamp())


def _detect(lines: list[str], path: Path) -> str | None:
    """The format most lines match; None when no line matches any."""
    patterns = {
        "sysbench 1.x": _SB1,
        "sysbench 0.5": _SB05,
        "go-ycsb": _YCSB,
        "go-tpc": _GOTPC,
        "pd-tso-bench": _PDTSO,
        "cockroach workload": _CRDB,
    }
    hits: collections.Counter[str] = collections.Counter()
    # The first few thousand lines decide; the whole file only when they hold no data line at all.
    head = lines[:_DETECT_LINES]
    for line in head if _any_match(head) else lines:
        for name, rx in patterns.items():
            if rx.match(line):
                hits[name] += 1
                break
    if not hits:
        if any(line.startswith(("FATAL: mysql_drv_query", "ALERT: mysql_drv_query", "sysbench ")) for line in lines):
            raise UsageError(
                f"{path}: sysbench output without any interval line ('[ 10s ] thds: ...'): run sysbench with --report-interval"
            )
        return None
    return hits.most_common(1)[0][0]


def _any_match(lines: list[str]) -> bool:
    return any(rx.match(line) for line in lines for rx in (_SB1, _SB05, _YCSB, _GOTPC, _PDTSO, _CRDB))


def _header_start(lines: list[str], tz: dt.tzinfo, path: Path) -> dt.datetime | None:
    for line in lines[:50]:
        m = _START_HEADER.match(line)
        if m:
            try:
                return parse_time(m.group(1), tz)
            except ValueError:
                raise UsageError(f"{path}: start header {line.strip()!r} is not an ISO time or epoch seconds") from None
    return None


def _series(name: str, unit: str, source: str, points: list[Point], extra: dict[str, list[Point]]) -> Series:
    times = [t for t, _ in points]
    if any(b < a for a, b in itertools.pairwise(times)):
        points = sorted(points, key=lambda p: p[0])
        times = [t for t, _ in points]
    step = typical_step(times)
    plan = _gap_plan(times, step) if step else []
    filled = _apply_gaps(points, plan)
    extras = {}
    for key, values in extra.items():
        # Extras sampled with the main value share its holes; others get their own.
        same = len(values) == len(points) and all(a[0] == b for a, b in zip(values, times, strict=True))
        extras[key] = _apply_gaps(values, plan) if same else fill_gaps(sorted(values, key=lambda p: p[0]), step)
    log.debug("%s: %d points (%d gaps)", source, len(filled), sum(v is None for _, v in filled))
    return Series(name=name, points=filled, unit=unit, source=source, extra=extras)


def _no_points(path: Path, fmt: str) -> UsageError:
    return UsageError(f"{path}: {fmt} output holds no interval lines to chart")


def _sysbench1(lines: list[str], path: Path, t0: float) -> Series:
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    for line in lines:
        m = _SB1.match(line)
        if not m:
            continue
        t = t0 + float(m.group(1))
        tps, qps, errs, reconn, lat = _num(m[3]), _num(m[4]), _num(m[10]), _num(m[11]), _num(m[9])
        # sysbench counts failed queries in qps (qps == err/s after a failover), so the chart shows successful ones.
        ok = None if qps is None or errs is None else max(qps - errs, 0.0)
        points.append((t, ok))
        for key, value in (("qps", qps), ("tps", tps), ("err/s", errs), ("reconn/s", reconn), ("latency_ms", lat)):
            extra[key].append((t, value))
        extra["threads"].append((t, float(m.group(2))))
    if not points:
        raise _no_points(path, "sysbench 1.x")
    return _series("qps", "qps", f"sysbench 1.x {path.name} (qps minus err/s)", points, extra)


def _sysbench05(lines: list[str], path: Path, t0: float) -> Series:
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    for line in lines:
        m = _SB05.match(line)
        if not m:
            continue
        t = t0 + float(m.group(1))
        tps, reads, writes, lat = _num(m[3]), _num(m[4]), _num(m[5]), _num(m[6])
        qps = None if reads is None or writes is None else round(reads + writes, 6)
        points.append((t, qps))
        extra["qps"].append((t, qps))
        extra["tps"].append((t, tps))
        extra["latency_ms"].append((t, lat))
        extra["threads"].append((t, float(m.group(2))))
        if m.group(8) is not None:
            extra["err/s"].append((t, _num(m.group(8))))
            extra["reconn/s"].append((t, _num(m.group(9))))
    if not points:
        raise _no_points(path, "sysbench 0.5")
    return _series("qps", "qps", f"sysbench 0.5 {path.name} (reads + writes per second)", points, extra)


def _ycsb(lines: list[str], path: Path, t0: float) -> Series:
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
        rounds[-1][op] = (float(m.group(3)), int(m.group(4)), _num(m.group(5)))
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
        points.append((t0 + t, _num(str(ok))))
        extra["err/s"].append((t0 + t, errs))
    return _series("ops", "ops/s", f"go-ycsb {path.name} (rate from cumulative counts)", points, extra)


def _gotpc(lines: list[str], path: Path, t0: float) -> Series:
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
    return _series("txn", "txn/s", f"go-tpc {path.name} (sum of [Current] Count/Takes)", points, extra)


def _elapsed_s(text: str) -> float:
    total = 0.0
    for value, unit in _GO_DURATION_PART.findall(text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def _crdb(lines: list[str], path: Path, t0: float) -> Series:
    by_time: dict[float, dict[str, tuple[float | None, int]]] = collections.defaultdict(dict)
    for line in lines:
        if _CRDB_SUMMARY.match(line):
            break  # the end-of-run totals use other columns
        m = _CRDB.match(line)
        if m:
            by_time[_elapsed_s(m.group(1))][m.group(9)] = (_num(m.group(3)), int(m.group(2)))
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
    return _series("ops", "ops/s", f"cockroach workload {path.name} (sum of ops/sec(inst) over txn types)", points, extra)


def _pd_tso(lines: list[str], path: Path) -> Series:
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
            by_time[float(m.group(1))][section] = (float(m.group(4)), _num(m.group(6)))
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    for t, clients in by_time.items():
        # A second some clients did not report would look like a drop: a gap is the honest value.
        points.append((t, sum(r for r, _ in clients.values()) if len(clients) == len(sections) else None))
        p99 = [p for _, p in clients.values() if p is not None]
        extra["p99_ms"].append((t, max(p99) if p99 else None))
    how = f"summed over {len(sections)} clients" if len(sections) > 1 else "one client"
    return _series("rps", "rps", f"pd-tso-bench {path.name} ({how})", points, extra)


def _try_csv(lines: list[str], path: Path, tz: dt.tzinfo) -> Series | None:
    """A CSV with a header whose first column is the time; None when the text is not such a CSV."""
    body = [(i, line) for i, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    if not body:
        return None
    header = [h.strip().lower() for h in body[0][1].split(",")]
    if len(header) < 2 or header[0] not in {"timestamp", "time", "ts", "date", "datetime", "t"}:
        return None
    value_col = next((header.index(n) for n in ("value", "qps", "ops", "tps") if n in header), 1)
    points: list[Point] = []
    extra: dict[str, list[Point]] = collections.defaultdict(list)
    for line_no, line in body[1:]:
        cells = [c.strip() for c in line.split(",")]
        try:
            t = parse_time(cells[0], tz).timestamp()
        except (ValueError, OverflowError):
            raise UsageError(f"{path}:{line_no}: {cells[0]!r} is not an ISO time or epoch seconds") from None
        cells += [""] * (len(header) - len(cells))
        for i, name in enumerate(header[1:], 1):
            value = _num(cells[i]) if cells[i] else None
            if cells[i] and value is None and cells[i].lower().lstrip("+-") not in {"nan", "inf", "infinity"}:
                raise UsageError(f"{path}:{line_no}: column {name!r} holds {cells[i]!r}, not a number")
            if i == value_col:
                points.append((t, value))
            else:
                extra[name].append((t, value))
    if not points:
        raise UsageError(f"{path}: the CSV has a header but no rows")
    name = header[value_col]
    return _series(name, name if name != "value" else "", f"CSV {path.name}", points, extra)


def parse_query_range(data: Any, *, source: str, combine: str = "sum") -> Series:
    """A Series from a decoded /api/v1/query_range response; several series are summed per timestamp or the first taken."""
    if not isinstance(data, dict) or "status" not in data:
        raise UsageError(f"{source}: JSON is not a Prometheus API response (no 'status' key)")
    if data["status"] != "success":
        raise UsageError(
            f"{source}: Prometheus answered with an error ({data.get('errorType', 'unknown')}): {data.get('error', '(no message)')}"
        )
    for warning in data.get("warnings") or []:
        log.warning("%s: Prometheus warning: %s", source, warning)
    body = data.get("data") or {}
    if body.get("resultType") != "matrix":
        raise UsageError(
            f"{source}: result type is {body.get('resultType')!r}, not 'matrix'; use a range query (/api/v1/query_range)"
        )
    result = body.get("result") or []
    if not result:
        raise UsageError(f"{source}: the query returned no series (check the metric name and the time range)")
    if combine not in ("sum", "first"):
        raise UsageError(f"unknown way to combine series {combine!r}: use 'sum' or 'first'")
    chosen = result if combine == "sum" else result[:1]
    total: dict[float, float | None] = {}
    for series in chosen:
        for t, raw in series.get("values") or []:
            t = float(t)
            value = _num(str(raw))
            if t in total:
                prev = total[t]
                total[t] = None if prev is None or value is None else prev + value
            else:
                total[t] = value
    labels = _labels(chosen[0].get("metric") or {})
    if len(result) == 1:
        how = f"1 series {labels}"
    elif combine == "sum":
        how = f"summed {len(result)} series"
    else:
        how = f"first of {len(result)} series: {labels}"
    points = sorted(total.items())
    return _series("value", "", f"Prometheus {source} ({how})", points, {})


def _labels(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}"


def rolling_median(points: Iterable[Point], window_s: float) -> list[float | None]:
    """The median of the non-gap values in the `window_s` seconds before each point (exclusive)."""
    pts = list(points)
    out: list[float | None] = []
    window: collections.deque[Point] = collections.deque()
    ordered: list[float] = []
    i = 0
    for t, _ in pts:
        while i < len(pts) and pts[i][0] < t:
            if pts[i][1] is not None:
                window.append(pts[i])
                bisect.insort(ordered, pts[i][1])
            i += 1
        while window and window[0][0] < t - window_s:
            old = window.popleft()[1]
            del ordered[bisect.bisect_left(ordered, old)]
        out.append(_median_sorted(ordered))
    return out


def _median_sorted(values: list[float]) -> float | None:
    n = len(values)
    if not n:
        return None
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
