"""Per-injection analysis on constructed series whose baseline, dip and recovery are known exactly."""

from __future__ import annotations

import datetime as dt

import pytest

from sitegen.nightly.analyze import analyze_injections, night_metrics
from sitegen.nightly.records import ChaosWindow, Series

S = 1_625_792_400.0  # 2021-07-09T01:00:00Z: the injection starts here
START = dt.datetime.fromtimestamp(S, dt.UTC)


def series(segments, step=1.0, before_s=600):
    """Baseline 1000 for `before_s` seconds, then (seconds, value) segments from S on."""
    pts = [(S - before_s + i * step, 1000.0) for i in range(int(before_s / step))]
    t = S
    for seconds, value in segments:
        for _ in range(int(seconds / step)):
            pts.append((t, value))
            t += step
    return Series(name="qps", points=pts)


def window(start=START, seconds: float | None = 30, name="kill tikv-0"):
    end = None if seconds is None else start + dt.timedelta(seconds=seconds)
    return ChaosWindow(start=start, end=end, name=name, kind="PodChaos")


def test_dip_depth_and_time_to_recover():
    s = series([(10, 200.0), (10, 850.0), (120, 950.0)])
    errors = [(S - 10, "error"), (S + 5, "error"), (S + 6, "fatal"), (S + 7, "warn"), (S + 100, "error")]
    (inj,) = analyze_injections(s, [window()], errors)
    assert inj.baseline == 1000.0
    assert inj.minimum == 200.0
    assert inj.drop_pct == 80.0
    # 850 is below 90 % of 1000; from S+20 the metric holds 950 for 30 s
    assert inj.ttr_s == 20.0
    assert inj.recovered_at == START + dt.timedelta(seconds=20)
    assert inj.errors == 2  # the error and the fatal inside [S, S+30]; not the warn, not those outside


def test_never_recovers():
    s = series([(10, 200.0), (300, 850.0)])
    (inj,) = analyze_injections(s, [window()])
    assert inj.ttr_s is None and inj.recovered_at is None
    assert inj.minimum == 200.0 and inj.drop_pct == 80.0


def test_recovery_needs_the_full_hold_before_the_data_ends():
    s = series([(10, 0.0), (29, 1000.0)])  # back up for only 29 s
    (inj,) = analyze_injections(s, [window()])
    assert inj.ttr_s is None
    assert inj.drop_pct == 100.0


def test_gap_breaks_the_hold():
    s = series([(20, 100.0), (15, 990.0), (1, None), (60, 990.0)])  # a gap at S+35
    (inj,) = analyze_injections(s, [window()])
    assert inj.ttr_s == 36.0


def test_missing_samples_break_the_hold():
    pts = [(S - 300 + 10 * i, 1000.0) for i in range(30)]  # every 10 s
    pts += [(S, 100.0), (S + 10, 950.0), (S + 20, 950.0), (S + 60, 950.0), (S + 70, 950.0), (S + 80, 950.0), (S + 90, 950.0)]
    (inj,) = analyze_injections(Series(name="qps", points=pts), [window()])
    # S+30..S+50 are missing: the run starting at S+10 is broken; the one from S+60 holds 30 s at S+90
    assert inj.ttr_s == 60.0


def test_baseline_is_the_median_of_the_last_n_minutes():
    pts = [(S - 1200 + i, 500.0) for i in range(600)]  # 20..10 minutes before: outside a 5-minute baseline
    pts += [(S - 600 + i, 1000.0) for i in range(600)]
    pts[-100] = (pts[-100][0], 1_000_000.0)  # one spike does not move a median
    pts += [(S + i, 400.0 if i < 5 else 1000.0) for i in range(100)]
    (inj,) = analyze_injections(Series(name="qps", points=pts), [window()], baseline_minutes=5)
    assert inj.baseline == 1000.0 and inj.drop_pct == 60.0 and inj.ttr_s == 5.0
    (wide,) = analyze_injections(Series(name="qps", points=pts), [window()], baseline_minutes=20)
    assert wide.baseline == 750.0  # 600 samples of 500 and 600 of 1000 (the spike among them)


def test_fraction_and_hold_are_configurable():
    s = series([(10, 200.0), (10, 850.0), (200, 950.0)])
    (loose,) = analyze_injections(s, [window()], recovery_fraction=0.8)
    assert loose.ttr_s == 10.0  # 850 >= 800
    (strict,) = analyze_injections(s, [window()], recovery_fraction=0.96)
    assert strict.ttr_s is None  # 950 never reaches 960
    (long_hold,) = analyze_injections(series([(10, 200.0), (40, 950.0), (1, 100.0), (100, 950.0)]), [window()], recovery_hold_s=60)
    assert long_hold.ttr_s == 51.0


def test_open_window_counts_errors_until_recovery():
    s = series([(10, 100.0), (100, 1000.0)])
    errors = [(S + 3, "error"), (S + 9, "fatal"), (S + 15, "error")]
    (inj,) = analyze_injections(s, [window(seconds=None)], errors)
    assert inj.ttr_s == 10.0
    assert inj.errors == 2  # up to the recovery at S+10


def test_no_effect_means_recovered_at_once():
    s = series([(100, 1000.0)])
    (inj,) = analyze_injections(s, [window()])
    assert (inj.ttr_s, inj.drop_pct, inj.minimum) == (0.0, 0.0, 1000.0)


def test_several_windows_and_night_metrics():
    s = series([(10, 500.0), (110, 1000.0), (5, 0.0), (300, 800.0)])
    w1 = window(name="first")
    w2 = window(start=START + dt.timedelta(seconds=120), name="second")
    outside = window(start=START - dt.timedelta(hours=2), name="before data")
    injections = analyze_injections(s, [w2, outside, w1])
    assert [i.window.name for i in injections] == ["before data", "first", "second"]
    before, first, second = injections
    assert before.baseline is None and before.drop_pct is None and before.ttr_s is None
    assert (first.drop_pct, first.ttr_s) == (50.0, 10.0)
    assert second.minimum == 0.0 and second.ttr_s is None
    metrics = night_metrics(s, injections)
    # worst_ttr_s counts the unrecovered injection from its start (S+120) to the last sample (S+424)
    assert metrics == {
        "min_qps": 0.0,
        "injections": 3,
        "unrecovered": 1,
        "max_drop_pct": 100.0,
        "worst_ttr_s": 304.0,
    }


def test_night_metrics_without_data():
    assert night_metrics(None, []) == {}
    assert night_metrics(None, analyze_injections(None, [window()])) == {"injections": 1}
    only_series = night_metrics(series([(10, 7.0)]), [])
    assert only_series == {"min_qps": 7.0, "injections": 0, "unrecovered": 0}


@pytest.mark.parametrize("value", [None, 0.0])
def test_gaps_never_count_as_minimum_zero(value):
    s = series([(10, value), (10, 400.0), (100, 1000.0)])
    (inj,) = analyze_injections(s, [window()])
    assert inj.minimum == (400.0 if value is None else 0.0)
