"""Measure each fault injection's effect on the metric: baseline, depth of the dip, time to recover, errors logged."""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import statistics

from sitegen.nightly.metrics.series import typical_step
from sitegen.nightly.records import ChaosWindow, Injection, Series

log = logging.getLogger(__name__)

ERROR_LEVELS = frozenset({"fatal", "error"})


def analyze_injections(
    series: Series | None,
    windows: list[ChaosWindow],
    error_times: list[tuple[float, str]] | None = None,
    *,
    baseline_minutes: float = 5,
    recovery_fraction: float = 0.9,
    recovery_hold_s: float = 30,
) -> list[Injection]:
    """One Injection per window, in start order.

    - baseline: median of the non-gap values in the `baseline_minutes` before the start;
    - recovered: the first moment at or after the start from which the metric stays at or above
      `recovery_fraction` x baseline for `recovery_hold_s` seconds without a gap; None if it never does;
    - minimum and drop: over the start up to the recovery (or, never recovered, up to the next window or the data's end);
    - errors: fatal and error entries from the start to the window's end (or to that same point when the end is unknown).
    """
    windows = sorted(windows, key=lambda w: w.start)
    points = series.points if series else []
    times = [t for t, _ in points]
    step = typical_step(times) or 0.0
    errors = sorted(t for t, level in (error_times or []) if level in ERROR_LEVELS)
    out: list[Injection] = []
    last_t = times[-1] if times else None
    for i, w in enumerate(windows):
        s = w.start.timestamp()
        next_start = windows[i + 1].start.timestamp() if i + 1 < len(windows) else None
        baseline = _baseline(points, times, s, baseline_minutes * 60)
        recovered = None
        if baseline is not None:
            recovered = _recovery(points, times, s, recovery_fraction * baseline, recovery_hold_s, step)
        if recovered is not None:
            span_end = recovered
        else:
            limits = [x for x in (next_start, last_t) if x is not None]
            span_end = min(limits) if limits else s
        if w.end is not None:
            span_end = max(span_end, w.end.timestamp())
        minimum = _minimum(points, times, s, span_end)
        drop = None
        if baseline is not None and baseline > 0 and minimum is not None:
            drop = round(max(0.0, (baseline - minimum) / baseline * 100.0), 2)
        error_end = w.end.timestamp() if w.end is not None else span_end
        n_errors = bisect.bisect_right(errors, error_end) - bisect.bisect_left(errors, s)
        out.append(
            Injection(
                window=w,
                baseline=baseline,
                minimum=minimum,
                drop_pct=drop,
                ttr_s=None if recovered is None else round(recovered - s, 3),
                recovered_at=None if recovered is None else dt.datetime.fromtimestamp(recovered, dt.UTC),
                errors=n_errors,
            )
        )
    log.info("analysed %d injection(s)", len(out))
    return out


def _baseline(points, times, start: float, span: float) -> float | None:
    lo = bisect.bisect_left(times, start - span)
    hi = bisect.bisect_left(times, start)
    values = [v for _, v in points[lo:hi] if v is not None]
    return statistics.median(values) if values else None


def _minimum(points, times, start: float, end: float) -> float | None:
    lo = bisect.bisect_left(times, start)
    hi = bisect.bisect_right(times, end)
    values = [v for _, v in points[lo:hi] if v is not None]
    return min(values) if values else None


def _recovery(points, times, start: float, threshold: float, hold: float, step: float) -> float | None:
    """Start of the first run of good points lasting `hold` seconds; gaps and missing intervals break a run."""
    run_from: float | None = None
    prev_t: float | None = None
    for j in range(bisect.bisect_left(times, start), len(points)):  # indexed: a slice would copy the rest of the night
        t, v = points[j]
        if prev_t is not None and step and t - prev_t > 1.5 * step:
            run_from = None  # a hole in the data: nothing proves the metric held during it
        prev_t = t
        if v is None or v < threshold:
            run_from = None
            continue
        if run_from is None:
            run_from = t
        if t - run_from >= hold:
            return run_from
    return None


def night_metrics(series: Series | None, injections: list[Injection]) -> dict[str, float]:
    """The metric values verdict rules can test: min_qps, max_drop_pct, worst_ttr_s, injections, unrecovered.

    A key is left out when there is nothing to measure, so a rule on it reports n/a instead of a made-up 0.
    An injection that never recovered counts in `unrecovered`, and in `worst_ttr_s` with the time from its
    start to the end of the data (a lower bound), so `worst_ttr_s > 60` still fires for it.
    """
    out: dict[str, float] = {}
    values = [v for _, v in series.points if v is not None] if series else []
    if values:
        out["min_qps"] = min(values)
    if injections or (series is not None and series.points):
        out["injections"] = len(injections)
    if series is None or not series.points:
        return out
    out["unrecovered"] = sum(1 for i in injections if i.never_recovered)
    drops = [i.drop_pct for i in injections if i.drop_pct is not None]
    if drops:
        out["max_drop_pct"] = max(drops)
    last_t = series.points[-1][0]
    ttrs = []
    for inj in injections:
        if inj.ttr_s is not None:
            ttrs.append(inj.ttr_s)
        elif inj.baseline is not None:
            ttrs.append(round(max(0.0, last_t - inj.window.start.timestamp()), 3))
    if ttrs:
        out["worst_ttr_s"] = max(ttrs)
    return out


def worst_injection(injections: list[Injection], *, by: str = "drop") -> Injection | None:
    """The injection to look at first: one that never recovered, then the deepest drop (`by="drop"`) or the
    longest recovery (`by="ttr"`), the other breaking ties; None when no injection could be measured."""
    measured = [i for i in injections if i.measured]
    if not measured:
        return None
    if by == "ttr":
        return max(measured, key=lambda i: (i.ttr_s is None, i.ttr_s or 0.0, i.drop_pct or 0.0))
    return max(measured, key=lambda i: (i.ttr_s is None, i.drop_pct or 0.0, i.ttr_s or 0.0))
