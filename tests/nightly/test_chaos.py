"""Chaos windows: every Chaos Mesh sample, events JSON, CSV, cron/@every expansion, and dips found in the metric.

Expected windows were worked out from the files by hand (schedule, duration, creation time), not from the code.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitegen.errors import UsageError
from sitegen.nightly.chaos import Cron, detect_dips, go_duration, load_chaos
from sitegen.nightly.metrics import load_metrics
from sitegen.nightly.records import Series

DATA = Path(__file__).resolve().parent.parent / "data" / "chaos"
CHAOS = "05_chaos_mesh_yaml_and_events"
SINCE = dt.datetime(2021, 7, 8, 22, 0, tzinfo=dt.UTC)  # night 2021-07-09 ending 06:00 in UTC+8
UNTIL = SINCE + dt.timedelta(days=1)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def load(path, since=SINCE, until=UNTIL, tz=dt.UTC):
    return load_chaos(path, since=since, until=until, tz=tz)


# --- yaml/ ----------------------------------------------------------------------------------------------------

# (file, windows in the night, first start, first end, name, kind). Schedules without a creationTimestamp are
# taken as created at the night's start, so '@every D' first fires D after it.
SCHEDULES = [
    (
        "v0_pingcap.com_NetworkChaos_delay_scheduler_cron.yaml",
        1439,
        utc(2021, 7, 8, 22, 1),
        30,
        "network-delay-example",
        "NetworkChaos",
    ),
    ("v1_NetworkChaos_delay_scheduler_cron_every60s.yaml", 1439, utc(2021, 7, 8, 22, 1), 30, "web-show-network-delay", "NetworkChaos"),
    ("v1_PodChaos_pod-failure_scheduler_cron_every2m.yaml", 719, utc(2021, 7, 8, 22, 2), 30, "pod-failure-example", "PodChaos"),
    (
        "v2.8.1_Schedule_podkill_cron_star5_concurrencyAllow_historyLimit2__gitwithnj-Contactme.yaml",
        288,  # '*/5 * * * *' over 24 h, the first at 22:00 itself
        utc(2021, 7, 8, 22, 0),
        None,  # pod-kill has no duration
        "scheduled-resume-app-pod-kill",
        "PodChaos",
    ),
    ("v2_Schedule_iochaos_every10m_duration400s.yaml", 143, utc(2021, 7, 8, 22, 10), 400, "io-delay-example", "IOChaos"),
    (
        "v2_Schedule_networkchaos_cron_minute5_hourly_duration12s__website-docs-define-scheduling-rules.yaml",
        24,  # '5 * * * *' is minute 5 of every hour
        utc(2021, 7, 8, 22, 5),
        12,
        "schedule-delay-example",
        "NetworkChaos",
    ),
    ("v2_Schedule_networkchaos_every60s_duration30s.yaml", 1439, utc(2021, 7, 8, 22, 1), 30, "web-show-network-delay", "NetworkChaos"),
    (
        "v2_Schedule_physicalmachinechaos_startingDeadlineSeconds_null.yaml",
        17279,  # every 5 s; the spec key is spelled 'physicalmachineChaos'
        utc(2021, 7, 8, 22, 0, 5),
        4,
        "test",
        "PhysicalMachineChaos",
    ),
    ("v2_Schedule_podchaos_every5s_no_duration.yaml", 17279, utc(2021, 7, 8, 22, 0, 5), None, "schedule-pod-kill-example", "PodChaos"),
    ("v2_Schedule_podchaos_failure_every2m_duration30s.yaml", 719, utc(2021, 7, 8, 22, 2), 30, "web-show-pod-failure", "PodChaos"),
]


@pytest.mark.parametrize(("name", "count", "first", "seconds", "obj", "kind"), SCHEDULES, ids=[s[0][:40] for s in SCHEDULES])
def test_schedule_samples(samples, name, count, first, seconds, obj, kind):
    windows = load(samples / CHAOS / "yaml" / name)
    assert len(windows) == count
    w = windows[0]
    assert w.start == first
    assert w.end == (None if seconds is None else first + dt.timedelta(seconds=seconds))
    assert (w.name, w.kind) == (obj, kind)
    assert windows[-1].start < UNTIL


ONE_SHOTS = [
    ("v2_NetworkChaos_delay.yaml", "network-delay-example", 10),
    ("v2_NetworkChaos_loss.yaml", "network-loss-example", 10),
    ("v2_NetworkChaos_partition_with_target.yaml", "network-partition-example", 10),
    ("v2_PodChaos_pod-failure_duration.yaml", "pod-failure-example", 30),
    ("v2_PodChaos_pod-kill.yaml", "pod-kill-example", None),
    ("v2_TimeChaos.yaml", "time-shift-example", 30),
]


@pytest.mark.parametrize(("name", "obj", "seconds"), ONE_SHOTS, ids=[s[0] for s in ONE_SHOTS])
def test_one_shot_definition_has_no_time(samples, tmp_path, name, obj, seconds):
    with pytest.raises(UsageError) as err:
        load(samples / CHAOS / "yaml" / name)
    assert f"'{obj}': a one-shot experiment definition does not say when it ran" in str(err.value)
    assert "-o yaml" in str(err.value)
    # The same object as stored in the cluster carries its creation time: then it is one window.
    text = (samples / CHAOS / "yaml" / name).read_text()
    stored = tmp_path / name
    stored.write_text(text.replace(f"  name: {obj}\n", f'  name: {obj}\n  creationTimestamp: "2021-07-09T01:00:00Z"\n'))
    (w,) = load(stored)
    assert w.start == utc(2021, 7, 9, 1, 0)
    assert w.end == (None if seconds is None else w.start + dt.timedelta(seconds=seconds))


@pytest.mark.parametrize("name", ["v2_Workflow_parallel.yaml", "v2_Workflow_serial.yaml", "v2_Workflow_status_check.yaml"])
def test_workflow_definition_is_a_clear_error(samples, name):
    with pytest.raises(UsageError, match="a Workflow definition does not say when it ran"):
        load(samples / CHAOS / "yaml" / name)


def test_workflow_serial_expanded():
    windows = load(DATA / "workflow_serial_created.yaml")
    # stress 20 s, suspend 10 s, network 20 s, suspend 5 s, then pod-kill '@every 2s' for its 40 s deadline
    stress, network, *kills = windows
    assert (stress.kind, stress.start, stress.end) == ("StressChaos", utc(2021, 7, 9, 1, 0, 0), utc(2021, 7, 9, 1, 0, 20))
    assert (network.kind, network.start, network.end) == ("NetworkChaos", utc(2021, 7, 9, 1, 0, 30), utc(2021, 7, 9, 1, 0, 50))
    assert len(kills) == 19
    assert kills[0].start == utc(2021, 7, 9, 1, 0, 57) and kills[-1].start == utc(2021, 7, 9, 1, 1, 33)
    assert {k.kind for k in kills} == {"PodChaos"} and kills[0].end is None
    assert network.name == "try-workflow-serial/workflow-network-chaos"


def test_workflow_parallel_expanded():
    windows = load(DATA / "workflow_parallel_created.yaml")
    assert len(windows) == 21
    assert sum(w.start == utc(2021, 7, 9, 1, 0) for w in windows) == 2  # stress and network together
    kills = [w for w in windows if w.kind == "PodChaos"]
    assert kills[0].start == utc(2021, 7, 9, 1, 0, 2) and kills[-1].start == utc(2021, 7, 9, 1, 0, 38)


# --- status/ ---------------------------------------------------------------------------------------------------


def test_status_spawned_podchaos(samples):
    windows = load(
        samples / CHAOS / "status" / "v2.8.1_PodChaos_spawned_by_Schedule_ownerRef_paused_annotation__gitwithnj-Contactme.yaml",
        since=utc(2026, 1, 24, 6),
        until=utc(2026, 1, 25, 6),
    )
    assert len(windows) == 1
    w = windows[0]
    assert (w.start, w.end) == (utc(2026, 1, 24, 20, 5), None)  # Apply Succeeded, pod-kill never 'recovers'
    assert (w.name, w.kind) == ("scheduled-resume-app-pod-kill-85nfm", "PodChaos")


def test_status_failed_applies_are_no_injection(samples, caplog):
    path = samples / CHAOS / "status" / "v2.8.1_NetworkChaos_bandwidth_status_Apply_Failed_messages__gitwithnj-Contactme.yaml"
    with caplog.at_level(logging.WARNING):
        windows = load(path, since=utc(2026, 1, 24, 6), until=utc(2026, 1, 25, 6))
    assert windows == []
    # two Apply records, both failures (the second one cut by `head -50` before its type line)
    assert "2 failed Apply/Recover record(s) ignored" in caplog.text


# --- events/ (text): not usable, with a clear message --------------------------------------------------------------

EVENT_TEXTS = [
    ("chaos-mesh_describe_podchaos_status_and_events__website-docs-inspect-chaos-experiments.txt", True),
    ("chaos-mesh_v2.8.1_kubectl_get_events_grep_chaos_Failed_TimeUp_Updated_no_header__gitwithnj-Contactme.txt", True),
    ("kubectl_describe_events_2015_tab_separated__k8s-6532.txt", False),
    ("kubectl_describe_events_2017_Last_column_x_starting__k8s-47715.txt", True),
    ("kubectl_describe_events_x_over_aggregation__k8s-113215.txt", True),
    ("kubectl_get_events_2014_TIME_NAME_KIND_CONDITION__k8s-3172.txt", False),
    ("kubectl_get_events_2017_old_columns_grep__k8s-38532.txt", True),
    ("kubectl_get_events_2023_default_columns_no_header__oomichi-try-kubernetes-129.txt", True),
    ("kubectl_get_events_custom_columns_nil_timestamp__inspektor-gadget-187.txt", False),
]


@pytest.mark.parametrize(("name", "relative"), EVENT_TEXTS, ids=[e[0][:45] for e in EVENT_TEXTS])
def test_event_text_is_not_a_supported_source(samples, name, relative):
    with pytest.raises(UsageError) as err:
        load(samples / CHAOS / "events" / name)
    message = str(err.value)
    assert f"{name}: not a supported chaos source" in message
    assert "kubectl get events -o json" in message
    # Tables of relative ages ('37s', '4m37s') get the reason spelled out.
    assert ("whose times are ages relative to when it was run" in message) is relative


# --- events JSON, CSV --------------------------------------------------------------------------------------------


def test_events_json():
    windows = load(DATA / "events_chaos.json")
    assert [(w.kind, w.name, w.start, w.end) for w in windows] == [
        # two targets: the window lasts until the last one recovers (TimeUp only starts recovery)
        ("PodChaos", "pod-failure-tikv", utc(2021, 7, 9, 1, 0, 1), utc(2021, 7, 9, 1, 0, 32)),
        ("NetworkChaos", "pd-partition", utc(2021, 7, 9, 2, 0), utc(2021, 7, 9, 2, 1)),
        ("PodChaos", "tidb-kill-x7k2p", utc(2021, 7, 9, 3, 0), None),  # applied, not yet recovered
    ]  # the Failed (Warning) apply and the Pod event are not injections


def test_events_json_without_chaos_events():
    with pytest.raises(UsageError, match=r"1 event\(s\) but none is a Chaos Mesh Applied/Recovered/TimeUp event"):
        load(DATA / "events_no_chaos.json")


def test_csv_windows():
    tz = ZoneInfo("Asia/Shanghai")
    windows = load(DATA / "windows.csv", since=utc(2021, 7, 8, 16), until=utc(2021, 7, 9, 16), tz=tz)
    assert [(w.start, w.end, w.name, w.kind) for w in windows] == [
        (utc(2021, 7, 8, 17, 0), utc(2021, 7, 8, 17, 0, 30), "kill tikv-0", "PodChaos"),
        (utc(2021, 7, 8, 17, 10), utc(2021, 7, 8, 17, 11), "partition pd", "NetworkChaos"),
        (utc(2021, 7, 8, 19, 0), None, "pod-kill", "PodChaos"),  # zone-less time read in the configured zone
    ]
    # outside the night: dropped
    assert load(DATA / "windows.csv", since=utc(2021, 7, 10), until=utc(2021, 7, 11)) == []


def test_csv_without_header(tmp_path):
    windows = load(DATA / "windows_no_header.csv")
    assert [(w.start, w.end) for w in windows] == [
        (utc(2021, 7, 9, 1), utc(2021, 7, 9, 1, 0, 30)),
        (utc(2021, 7, 9, 2), utc(2021, 7, 9, 2, 1)),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("start,end\n2021-07-09T01:00:00Z,2021-07-09T00:00:00Z\n")
    with pytest.raises(UsageError, match=r"bad.csv:2: the window ends before it starts"):
        load(bad)
    bad.write_text("start,end\nlater,2021-07-09T00:00:00Z\n")
    with pytest.raises(UsageError, match=r"bad.csv:2: 'later,2021-07-09T00:00:00Z' is not 'start,end'"):
        load(bad)


# --- schedules: cron details, zones, concurrency ---------------------------------------------------------------------


def test_multi_schedule_list_cron_ranges_and_every_anchor():
    since, until = utc(2021, 7, 8, 16), utc(2021, 7, 9, 16)
    windows = load(DATA / "schedules_multi.yaml", since=since, until=until)
    tikv = [w for w in windows if w.name == "tikv-kill-weekdays"]
    pd = [w for w in windows if w.name == "pd-delay"]
    # '0-30/15 1,3 * * mon-fri' on Friday 2021-07-09 (UTC): 01:00 01:15 01:30 03:00 03:15 03:30, 90 s each
    assert [w.start for w in tikv] == [utc(2021, 7, 9, h, m) for h in (1, 3) for m in (0, 15, 30)]
    assert all(w.end - w.start == dt.timedelta(seconds=90) for w in tikv)
    # '@every 2h' created 22:10 the day before: 00:10, 02:10, ... 14:10
    assert [w.start for w in pd] == [utc(2021, 7, 9, h, 10) for h in range(0, 16, 2)]
    assert windows == sorted(windows, key=lambda w: w.start)


def test_cron_is_read_in_the_controller_zone():
    tz = ZoneInfo("Asia/Shanghai")
    windows = load(DATA / "schedules_multi.yaml", since=utc(2021, 7, 8, 16), until=utc(2021, 7, 9, 16), tz=tz)
    tikv = [w.start for w in windows if w.name == "tikv-kill-weekdays"]
    assert tikv[0] == utc(2021, 7, 8, 17, 0)  # 01:00 on Friday in Shanghai
    assert len(tikv) == 6


def test_forbid_skips_ticks_while_running(tmp_path):
    doc = """apiVersion: chaos-mesh.org/v1alpha1
kind: Schedule
metadata: {name: slow, creationTimestamp: "2021-07-09T00:00:00Z"}
spec:
  schedule: "@every 1m"
  type: PodChaos
  concurrencyPolicy: POLICY
  podChaos: {action: pod-failure, mode: one, duration: 90s}
"""
    path = tmp_path / "s.yaml"
    path.write_text(doc.replace("POLICY", "Forbid"))
    starts = [w.start for w in load(path, since=utc(2021, 7, 9), until=utc(2021, 7, 9, 0, 10))]
    assert starts == [utc(2021, 7, 9, 0, m) for m in (1, 3, 5, 7, 9)]
    path.write_text(doc.replace("POLICY", "Allow"))
    assert len(load(path, since=utc(2021, 7, 9), until=utc(2021, 7, 9, 0, 10))) == 9


def test_bad_schedule_is_a_clear_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("kind: Schedule\nmetadata: {name: typo}\nspec: {schedule: '61 * * * *', type: PodChaos, podChaos: {}}\n")
    with pytest.raises(UsageError, match=r"Schedule 'typo': schedule '61 \* \* \* \*': cron field '61' is out of range 0-59"):
        load(path)
    path.write_text("kind: Schedule\nmetadata: {name: short}\nspec: {schedule: '5 * * *', type: PodChaos}\n")
    with pytest.raises(UsageError, match="has 4 fields; a cron schedule has 5"):
        load(path)


def test_cron_semantics():
    c = Cron("*/20 9-17/4 1,15 * *", dt.UTC)
    assert c.matches(utc(2021, 7, 1, 13, 40)) and not c.matches(utc(2021, 7, 1, 11, 40)) and not c.matches(utc(2021, 7, 2, 9, 0))
    either = Cron("0 0 13 * fri", dt.UTC)  # both day fields restricted: either matches
    assert either.matches(utc(2021, 7, 13)) and either.matches(utc(2021, 7, 9)) and not either.matches(utc(2021, 7, 10))
    assert Cron("0 0 * * 7", dt.UTC).matches(utc(2021, 7, 11))  # 7 is Sunday too
    assert Cron("@hourly", dt.UTC).matches(utc(2021, 7, 9, 5))
    assert Cron("CRON_TZ=Asia/Shanghai 0 9 * * *", dt.UTC).matches(utc(2021, 7, 9, 1))


def test_go_durations():
    assert go_duration("1m30s") == 90
    assert go_duration("400ms") == pytest.approx(0.4)
    assert go_duration("2h") == 7200
    assert go_duration("-10m100ns") == pytest.approx(-600.0000001)
    with pytest.raises(ValueError, match="is not a duration"):
        go_duration("10 minutes")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(UsageError, match="chaos file not found"):
        load(tmp_path / "none.yaml")
    (tmp_path / "e.yaml").write_text("\n")
    with pytest.raises(UsageError, match="the chaos file is empty"):
        load(tmp_path / "e.yaml")


# --- detect_dips ---------------------------------------------------------------------------------------------------


def test_detect_dips_pd_tso_failovers(samples):
    series = load_metrics(samples / "04_load_test_output" / "pd-tso-bench_SEC_STAT_tso_failover_qps_to_zero__FULL.log")
    dips = detect_dips(series)
    # rps (3 clients) ~90,000; below half at 1688031894 (44,454) and back at 1688031907 (89,938); and so on
    assert [(w.start.timestamp(), w.end.timestamp()) for w in dips] == [
        (1688031894, 1688031907),
        (1688032015, 1688032028),
        (1688032135, 1688032147),
    ]
    assert {w.kind for w in dips} == {"detected"} and dips[0].name == "dip 1"


def test_detect_dips_none_without_outage(samples):
    series = load_metrics(samples / "04_load_test_output" / "pd-tso-bench_SEC_STAT_taas_no_outage__excerpt_lines1-120.log")
    assert detect_dips(series) == []


def test_detect_dips_gap_extends_and_open_end():
    base = 1_000_000.0
    pts = [(base + i, 100.0) for i in range(400)]
    pts[310:320] = [(base + i, 10.0) for i in range(310, 315)] + [(base + i, None) for i in range(315, 320)]
    pts[390:] = [(base + i, 5.0) for i in range(390, 400)]
    dips = detect_dips(Series(name="qps", points=pts))
    assert [(w.start.timestamp() - base, None if w.end is None else w.end.timestamp() - base) for w in dips] == [
        (310, 320),
        (390, None),
    ]
