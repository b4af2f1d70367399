"""Hand-made report-wing records for the PDF, chart and summary tests: real objects, a realistic night."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from sitegen.nightly.records import (
    ChaosWindow,
    Injection,
    InputSource,
    InputStats,
    LogDigest,
    NightReport,
    RuleResult,
    Series,
    Signature,
    Verdict,
)

UTC = ZoneInfo("UTC")
NIGHT = dt.date(2021, 7, 9)
SINCE = dt.datetime(2021, 7, 8, 6, 0, tzinfo=UTC)
UNTIL = dt.datetime(2021, 7, 9, 6, 0, tzinfo=UTC)
CJK_MESSAGE = "region 调度失败: 副本不足"
LONG_TOKEN = "x" * 900
PANIC = "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:12 +0x1d"
# Control characters, ANSI colour, an emoji no font here has, a NUL and a 900-character token.
HOSTILE = f"[2021/07/08 09:00:00.000 +00:00] [ERROR] [{CJK_MESSAGE} 42] token={LONG_TOKEN} \x1b[31mred\x1b[0m \U0001F600 \x00"


def qps_day(step_s: int = 10, *, dips_every_h: int = 3) -> tuple[Series, list[ChaosWindow]]:
    """A day of QPS around 1,000 that falls to about 100 in each 5-minute window and climbs back in a minute."""
    t0 = SINCE.timestamp()
    windows = [
        ChaosWindow(
            start=SINCE + dt.timedelta(hours=h), end=SINCE + dt.timedelta(hours=h, minutes=5), name=f"pod-kill-{i}", kind="PodChaos"
        )
        for i, h in enumerate(range(2, 24, dips_every_h))
    ]
    points: list[tuple[float, float | None]] = []
    for i in range(0, 86400, step_s):
        t = t0 + i
        value: float | None = 1000 + 30 * math.sin(i / 900)
        for w in windows:
            ws = w.start.timestamp()
            if ws <= t < ws + 300:
                value = 100.0
            elif ws + 300 <= t < ws + 360:
                value = 100 + 900 * (t - ws - 300) / 60
        if 40000 <= i < 40300:
            value = None  # a scrape gap
        points.append((t, value))
    return Series(name="qps", points=points, source="sysbench.log"), windows


def injections_for(windows: list[ChaosWindow]) -> list[Injection]:
    out = []
    for i, w in enumerate(windows):
        recovered = i != 2
        out.append(
            Injection(
                window=w,
                baseline=1000.0,
                minimum=100.0,
                drop_pct=90.0 + i * 0.5,
                ttr_s=354.0 + i if recovered else None,
                recovered_at=w.start + dt.timedelta(seconds=354 + i) if recovered else None,
                errors=3 * i,
            )
        )
    return out


def digest() -> LogDigest:
    t = SINCE + dt.timedelta(hours=3)
    sigs = [
        Signature(
            key="a1b2c3d4", pattern="panic: runtime error: index out of range [<N>] with length <N>", level="fatal", count=2,
            first_seen=t, last_seen=t + dt.timedelta(hours=4), sources=["tidb-0/tidb"],
            sample=PANIC,
            new=True,
            panic=True,
            message="panic: runtime error: index out of range [5] with length 3",
            origin="tidb-0/tidb.log",
        ),
        Signature(
            key="e5f6a7b8", pattern=CJK_MESSAGE + " <N>", level="error", count=1234,
            first_seen=t, last_seen=t + dt.timedelta(hours=1), sources=["pd-0/pd", "pd-1/pd"],
            sample=HOSTILE,
            new=False,
            message=f"{CJK_MESSAGE} 42",
            origin="pd-0/pd.log",
        ),
        Signature(
            key="c9d0e1f2", pattern="store <N> is disconnected", level="warn", count=77,
            first_seen=t, last_seen=t, sources=["tikv-0/tikv"], sample="[WARN] store 4 is disconnected", new=True,
            message="store 4 is disconnected", origin="tikv-0/tikv.log",
        ),
    ]
    sigs.sort(key=Signature.rank)  # as the log reader hands them over
    return LogDigest(
        since=SINCE,
        until=UNTIL,
        inputs=[InputStats(path="logs/tidb-0.log", lines=5000, records=4800, formats={"unified": 4800}, truncated_lines=1)],
        counts={"fatal": 2, "error": 1234, "warn": 77},
        signatures=sigs,
        outside_window=12,
    )


def night_report(*, with_logs: bool = True, with_series: bool = True) -> tuple[NightReport, list[ChaosWindow]]:
    series, windows = qps_day() if with_series else (None, [])
    injections = injections_for(windows) if with_series else []
    results = [
        RuleResult(rule="fatal > 0", metric="fatal", value=2.0 if with_logs else None, fired=with_logs),
        RuleResult(rule="errors > 100", metric="errors", value=1236.0 if with_logs else None, fired=with_logs),
        RuleResult(rule="worst_ttr_s > 60", metric="worst_ttr_s", value=360.0 if with_series else None, fired=with_series),
        RuleResult(rule="max_drop_pct > 95", metric="max_drop_pct", value=93.5 if with_series else None, fired=False),
    ]
    fired = any(r.fired for r in results)
    metrics: dict[str, float] = {}
    if with_logs:
        metrics.update(errors=1236, fatal=2, warnings=77, new_signatures=2)
    if with_series:
        metrics.update(min_qps=100.0, max_drop_pct=93.5, worst_ttr_s=360.0, injections=len(injections), unrecovered=1)
    notes = [] if with_logs else ["no logs given"]
    if not with_series:
        notes.append("no metrics given")
    report = NightReport(
        night=NIGHT,
        suite="cluster-a",
        title="Nightly chaos report 2021-07-09 — cluster-a",
        headline="Bad: 3 rule(s) fired.",
        verdict=Verdict(status="bad" if fired else "good", results=results),
        metrics=metrics,
        logs=digest() if with_logs else None,
        series=series,
        injections=injections,
        notes=notes,
        windows=windows,
        sources=[InputSource("Metrics", "sysbench.log")],
    )
    return report, windows
