#!/usr/bin/env python3
"""Generate one realistic chaos night into a folder, deterministically from a seed.

The folder looks like what `sitegen collect` and a load-test job leave behind:

    logs/POD/CONTAINER[.previous].log   `kubectl logs --timestamps` output of TiDB, TiKV and PD
    sysbench.log                        sysbench 1.x interval output (with a `# started at:` line)
    schedule.yaml                       the Chaos Mesh Schedule that injected the faults
    README.md                           how to turn it into a report

QPS dips at each injection and recovers after a realistic time; a night can carry raw Go panics,
slow recoveries or an error storm, so that some nights come out bad.

    python examples/make_night.py --out /tmp/night --night 2021-07-09 --seed 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

UTC = dt.UTC
CST = dt.timezone(dt.timedelta(hours=8))  # the components log in the cluster's local time, +08:00
NAMESPACE = "tidb-cluster"
SUITES = ("tikv-failure", "pd-partition")
INTERVAL_S = 10  # sysbench --report-interval
RUN_S = 2 * 3600  # the load test runs two hours around the injections
RUN_START = dt.time(18, 0)  # UTC on the day before the night's date: 02:00 in +08:00

TIDB_PODS = ("basic-tidb-0", "basic-tidb-1")
TIKV_PODS = ("basic-tikv-0", "basic-tikv-1", "basic-tikv-2")
PD_PODS = ("basic-pd-0", "basic-pd-1", "basic-pd-2")
STORE_IDS = {"basic-tikv-0": 1, "basic-tikv-1": 4, "basic-tikv-2": 5}


@dataclass(frozen=True)
class NightSpec:
    """What kind of night to generate."""

    night: dt.date
    seed: int = 1
    suite: str = "tikv-failure"
    panics: int = 1  # raw Go panics crashing a TiDB (each in a different TiDB pod, at most 2)
    slow_recovery: bool = False  # one injection takes minutes to recover
    error_storm: bool = False  # PD logs an error every few seconds for half an hour


@dataclass
class Injection:
    start: float  # seconds since the load test started
    duration: float
    target: str
    outage_s: float  # how long QPS sits at the bottom
    depth: float  # fraction of baseline QPS left at the bottom
    ramp_s: float  # how long the climb back takes
    panic_pod: str | None = None


@dataclass
class Line:
    """One log line; `t` orders the file, `seq` keeps the order of lines written at the same instant."""

    t: dt.datetime
    seq: int
    text: str


@dataclass
class PodLog:
    lines: list[Line] = field(default_factory=list)
    crashes: list[dt.datetime] = field(default_factory=list)  # each ends a container instance


# --- time -----------------------------------------------------------------------------------------------------


def run_start(night: dt.date) -> dt.datetime:
    return dt.datetime.combine(night - dt.timedelta(days=1), RUN_START, tzinfo=UTC)


def unified_time(t: dt.datetime) -> str:
    local = t.astimezone(CST)
    return local.strftime("%Y/%m/%d %H:%M:%S.") + f"{local.microsecond // 1000:03d} +08:00"


def kubectl_time(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}{t.microsecond % 997:03d}Z"


# --- the chaos schedule ---------------------------------------------------------------------------------------

SCHEDULES = {
    # (cron in the controller's zone, UTC; chaos kind; duration in seconds)
    "tikv-failure": ("5,20,35,50 18-19 * * *", "PodChaos", 60),
    "pd-partition": ("10,40 18-19 * * *", "NetworkChaos", 30),
}


def schedule_yaml(spec: NightSpec) -> str:
    cron, kind, duration = SCHEDULES[spec.suite]
    if kind == "PodChaos":
        body = f"""  type: PodChaos
  podChaos:
    action: pod-failure
    mode: one
    duration: {duration}s
    selector:
      namespaces:
        - {NAMESPACE}
      labelSelectors:
        app.kubernetes.io/component: tikv
"""
    else:
        body = f"""  type: NetworkChaos
  networkChaos:
    action: partition
    mode: one
    duration: {duration}s
    direction: both
    selector:
      namespaces:
        - {NAMESPACE}
      labelSelectors:
        app.kubernetes.io/component: pd
    target:
      mode: all
      selector:
        namespaces:
          - {NAMESPACE}
        labelSelectors:
          app.kubernetes.io/component: tikv
"""
    return f"""# Nightly fault schedule ({spec.suite}). Cron times are in the controller-manager's zone (UTC).
apiVersion: chaos-mesh.org/v1alpha1
kind: Schedule
metadata:
  name: {spec.suite}-nightly
  namespace: {NAMESPACE}
spec:
  schedule: "{cron}"
  historyLimit: 5
  concurrencyPolicy: Forbid
{body}"""


def _cron_values(field_text: str) -> list[int]:
    values: list[int] = []
    for part in field_text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            values += range(int(lo), int(hi) + 1)
        else:
            values.append(int(part))
    return values


def injections(spec: NightSpec, rng: random.Random) -> list[Injection]:
    cron, _kind, duration = SCHEDULES[spec.suite]
    minutes, hours = (_cron_values(f) for f in cron.split()[:2])
    starts = sorted(((h - RUN_START.hour) * 3600 + m * 60) for h in hours for m in minutes)
    found = []
    for start in starts:
        if spec.suite == "tikv-failure":
            # Leaders on the failed store need an election timeout (~10-20 s) before they move.
            target = rng.choice(TIKV_PODS)
            found.append(Injection(start, duration, target, rng.uniform(8, 18), rng.uniform(0.25, 0.55), rng.uniform(8, 24)))
        else:
            # An isolated PD leader stops TSO for every transaction until a new leader is elected.
            target = rng.choice(PD_PODS)
            found.append(Injection(start, duration, target, rng.uniform(4, 9), rng.uniform(0.03, 0.12), rng.uniform(6, 16)))
    if spec.slow_recovery:
        slow = rng.choice(found)
        slow.ramp_s = rng.uniform(110, 180)
        slow.depth = min(slow.depth, 0.2)
    for i, pod in enumerate(TIDB_PODS[: max(0, min(spec.panics, len(TIDB_PODS)))]):
        hit = found[(rng.randrange(len(found)) + i) % len(found)]
        if hit.panic_pod:
            hit = found[(found.index(hit) + 1) % len(found)]
        hit.panic_pod = pod
    return found


# --- the load test --------------------------------------------------------------------------------------------


def qps_factor(t: float, injected: list[Injection]) -> float:
    """Fraction of baseline QPS at `t` seconds: flat, a drop at each injection, then a climb back."""
    factor = 1.0
    for inj in injected:
        dt_s = t - inj.start
        if dt_s < 0 or dt_s > inj.outage_s + inj.ramp_s + 60:
            continue
        depth = inj.depth * (0.6 if inj.panic_pod else 1.0)  # a crashed TiDB drops its clients' connections too
        if dt_s < 2:
            f = 1 - (1 - depth) * dt_s / 2
        elif dt_s < inj.outage_s:
            f = depth
        else:
            # Smooth climb back: most of the way within ramp_s, a small tail after it.
            x = (dt_s - inj.outage_s) / inj.ramp_s
            f = 1 - (1 - depth) * math.exp(-3.2 * x)
        factor = min(factor, f)
    return factor


def sysbench_output(spec: NightSpec, injected: list[Injection], rng: random.Random) -> str:
    threads = 64
    base_tps = rng.uniform(1050, 1350)
    start = run_start(spec.night)
    out = [
        f"# started at: {start.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "sysbench 1.0.20 (using bundled LuaJIT 2.1.0-beta2)",
        "",
        "Running the test with following options:",
        f"Number of threads: {threads}",
        f"Report intermediate results every {INTERVAL_S} second(s)",
        "Initializing random number generator from current time",
        "",
        "",
        "Initializing worker threads...",
        "",
        "Threads started!",
        "",
    ]
    totals = {"tps": 0.0, "err": 0.0, "reconn": 0.0}
    for k in range(1, RUN_S // INTERVAL_S + 1):
        t1 = k * INTERVAL_S
        # sysbench prints the average over the interval; integrate second by second.
        avg = sum(qps_factor(t1 - INTERVAL_S + s + 0.5, injected) for s in range(INTERVAL_S)) / INTERVAL_S
        tps = base_tps * avg * rng.uniform(0.97, 1.03)
        hurt = 1 - avg
        err = 0.0 if hurt < 0.02 else tps * 20 * hurt * rng.uniform(0.02, 0.06)
        reconn = 0.0
        for inj in injected:
            if inj.panic_pod and inj.start + 10 <= t1 < inj.start + 10 + 2 * INTERVAL_S:
                reconn = threads / 2 / INTERVAL_S  # the crashed TiDB's clients reconnect
        lat = 92.0 * rng.uniform(0.9, 1.12) / max(avg, 0.05) ** 0.7
        r, w, o = tps * 14, tps * 4, tps * 2
        qps = r + w + o + err
        totals["tps"] += tps * INTERVAL_S
        totals["err"] += err * INTERVAL_S
        totals["reconn"] += reconn * INTERVAL_S
        out.append(
            f"[ {t1}s ] thds: {threads} tps: {tps:.2f} qps: {qps:.2f} (r/w/o: {r:.2f}/{w:.2f}/{o:.2f}) "
            f"lat (ms,95%): {lat:.2f} err/s: {err:.2f} reconn/s: {reconn:.2f}"
        )
    txns = round(totals["tps"])
    out += [
        "",
        "SQL statistics:",
        "    queries performed:",
        f"        read:                            {txns * 14}",
        f"        write:                           {txns * 4}",
        f"        other:                           {txns * 2}",
        f"        total:                           {txns * 20}",
        f"    transactions:                        {txns} ({txns / RUN_S:.2f} per sec.)",
        f"    queries:                             {txns * 20} ({txns * 20 / RUN_S:.2f} per sec.)",
        f"    ignored errors:                      {round(totals['err'])} ({totals['err'] / RUN_S:.2f} per sec.)",
        f"    reconnects:                          {round(totals['reconn'])} ({totals['reconn'] / RUN_S:.2f} per sec.)",
        "",
        "General statistics:",
        f"    total time:                          {RUN_S}.0021s",
        f"    total number of events:              {txns}",
        "",
        "Threads fairness:",
        f"    events (avg/stddev):           {txns / threads:.4f}/{rng.uniform(20, 60):.2f}",
        "",
    ]
    return "\n".join(out)


# --- the logs -------------------------------------------------------------------------------------------------


class Logs:
    """Builds every container's log; pods that crash keep only their last two instances, as kubelet does."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pods: dict[str, PodLog] = {}
        self.seq = 0

    def raw(self, pod: str, t: dt.datetime, text: str) -> None:
        self.seq += 1
        self.pods.setdefault(pod, PodLog()).lines.append(Line(t, self.seq, text))

    def log(self, pod: str, t: dt.datetime, level: str, source: str, message: str, *fields: str) -> None:
        msg = message if message.replace("-", "").replace("_", "").isalnum() else _quote(message)
        text = f"[{unified_time(t)}] [{level}] [{source}] [{msg}]" + "".join(f" [{f}]" for f in fields)
        self.raw(pod, t, text)

    def crash(self, pod: str, t: dt.datetime) -> None:
        self.pods.setdefault(pod, PodLog()).crashes.append(t)

    def files(self) -> dict[str, str]:
        """{relative path: content} as `kubectl logs --timestamps [--previous]` would print them."""
        out: dict[str, str] = {}
        for pod, plog in sorted(self.pods.items()):
            container = pod.split("-")[1]
            lines = sorted(plog.lines, key=lambda line: (line.t, line.seq))
            cuts = sorted(plog.crashes)
            if cuts:
                last = cuts[-1]
                before = cuts[-2] if len(cuts) > 1 else None
                previous = [x for x in lines if x.t <= last and (before is None or x.t > before)]
                lines = [x for x in lines if x.t > last]
                out[f"{pod}/{container}.previous.log"] = _render(previous)
            out[f"{pod}/{container}.log"] = _render(lines)
        return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _render(lines: list[Line]) -> str:
    return "".join(f"{kubectl_time(x.t)} {x.text}\n" for x in lines)


def _tikv_addr(pod: str) -> str:
    return f"{pod}.basic-tikv-peer.{NAMESPACE}.svc:20160"


def _ts(t: dt.datetime) -> int:
    """A TiDB timestamp oracle value for wall time t (physical ms << 18)."""
    return int(t.timestamp() * 1000) << 18


def background(logs: Logs, since: dt.datetime, until: dt.datetime, rng: random.Random) -> None:
    """The day-long trickle of INFO lines and the odd harmless warning."""
    for pod in PD_PODS + TIKV_PODS + TIDB_PODS:
        t = since + dt.timedelta(seconds=rng.uniform(0, 600))
        while t < until:
            _background_line(logs, pod, t, rng)
            t += dt.timedelta(seconds=rng.uniform(420, 1500))


def _background_line(logs: Logs, pod: str, t: dt.datetime, rng: random.Random) -> None:
    region = rng.randrange(1000, 9000)
    if pod.startswith("basic-pd"):
        if pod != "basic-pd-0" and rng.random() < 0.7:
            logs.log(pod, t, "INFO", "server.go:1284", "update etcd member", f"member-id={rng.getrandbits(63):x}")
            return
        src, dst = rng.sample(sorted(STORE_IDS.values()), 2)
        op = (
            f"balance-leader {{transfer leader: store {src} to {dst}}} (kind:leader, region:{region}(17,5), "
            f"createAt:{t.astimezone(CST):%Y-%m-%d %H:%M:%S} +0800 CST, startAt:0001-01-01 00:00:00 +0000 UTC, currentStep:0, "
            f"steps:[transfer leader from store {src} to store {dst}])"
        )
        logs.log(
            pod,
            t,
            "INFO",
            "operator_controller.go:424",
            "add operator",
            f"region-id={region}",
            f"operator={_quote(op)}",
            "additional-info=",
        )
        done = t + dt.timedelta(milliseconds=rng.uniform(4, 40))
        logs.log(
            pod,
            done,
            "INFO",
            "operator_controller.go:620",
            "operator finish",
            f"region-id={region}",
            f"takes={rng.uniform(4, 40):.6f}ms",
            f"operator={_quote(op)}",
        )
        if rng.random() < 0.05:
            logs.log(
                pod,
                done,
                "WARN",
                "tso.go:288",
                "clock offset",
                f"jet-lag={rng.uniform(150, 400):.6f}ms",
                "update-physical-interval=50ms",
            )
    elif pod.startswith("basic-tikv"):
        choice = rng.random()
        if choice < 0.5:
            logs.log(
                pod,
                t,
                "INFO",
                "apply.rs:1395",
                "execute admin command",
                f'command="cmd_type: CompactLog compact_log {{ compact_index: {rng.randrange(10**4, 10**6)} compact_term: 7 }}"',
                f"index={rng.randrange(10**4, 10**6)}",
                "term=7",
                f"peer_id={region + 3}",
                f"region_id={region}",
            )
        elif choice < 0.9:
            logs.log(
                pod, t, "INFO", "gc_worker.rs:393", "gc_worker: update safe point", f"safe_point={_ts(t - dt.timedelta(minutes=10))}"
            )
        else:
            logs.log(
                pod,
                t,
                "WARN",
                "store.rs:2089",
                "slow score: store is busy",
                f"score={rng.randrange(2, 9)}",
                f"store_id={STORE_IDS[pod]}",
            )
    else:
        choice = rng.random()
        if choice < 0.45:
            logs.log(
                pod,
                t,
                "INFO",
                "server.go:495",
                "new connection",
                f"conn={rng.randrange(100, 60000)}",
                f"remoteAddr=10.244.3.{rng.randrange(2, 250)}:{rng.randrange(30000, 60000)}",
            )
        elif choice < 0.8:
            logs.log(
                pod,
                t,
                "INFO",
                "gc_worker.go:282",
                "[gc worker] starts the whole job",
                "uuid=5e69a0c1dc00004",
                f"safePoint={_ts(t - dt.timedelta(minutes=10))}",
                "concurrency=3",
            )
        else:
            logs.log(
                pod,
                t,
                "INFO",
                "update.go:1090",
                "[stats] auto analyze triggered",
                f'sql="analyze table `sbtest`.`sbtest{rng.randrange(1, 17)}`"',
                f'reason="too many modifications({rng.randrange(200000, 900000)}/1000000>0.5)"',
            )


def chaos_logs(logs: Logs, spec: NightSpec, start: dt.datetime, inj: Injection, rng: random.Random) -> None:
    """What TiDB, TiKV and PD say while one fault is injected and recovered."""
    t0 = start + dt.timedelta(seconds=inj.start)

    def at(seconds: float) -> dt.datetime:
        return t0 + dt.timedelta(seconds=seconds, microseconds=rng.randrange(0, 999_999))

    if spec.suite == "tikv-failure":
        victim, store = inj.target, STORE_IDS[inj.target]
        logs.crash(victim, at(0))
        for k in range(rng.randrange(3, 7)):
            peer = rng.choice([p for p in TIKV_PODS if p != victim])
            logs.log(
                peer,
                at(1 + k * 2),
                "WARN",
                "raft_client.rs:296",
                "RPC batch_raft fail",
                'err="Some(RpcFailure(RpcStatus { status: 14-UNAVAILABLE, '
                'details: Some(\\"failed to connect to all addresses\\") }))"',
                'sink_err="Some(RpcFinished(None))"',
                f"to_addr={_tikv_addr(victim)}",
            )
        for peer in TIKV_PODS:
            if peer != victim and rng.random() < 0.7:
                logs.log(
                    peer,
                    at(2),
                    "ERROR",
                    "raft_client.rs:567",
                    "connection aborted",
                    f"addr={_tikv_addr(victim)}",
                    'receiver_err="Some(RpcFailure(RpcStatus { status: 14-UNAVAILABLE, details: Some(\\"Socket closed\\") }))"',
                    "sink_error=Some(RemoteStopped)",
                    f"store_id={store}",
                )
        logs.log(
            "basic-pd-0",
            at(20),
            "WARN",
            "cluster.go:1306",
            "store may be disconnected",
            f"store-id={store}",
            f"store-address={_tikv_addr(victim)}",
        )
        for tidb in TIDB_PODS:
            logs.log(
                tidb,
                at(3),
                "WARN",
                "client_batch.go:621",
                "batchRecvLoop fails when receiving, needs to reconnect",
                f"target={_tikv_addr(victim)}",
                "forwardedHost=",
                'error="rpc error: code = Unavailable desc = transport is closing"',
            )
            for k in range(rng.randrange(2, 6)):
                conn = rng.randrange(100, 60000)
                logs.log(
                    tidb,
                    at(4 + k * 3),
                    "WARN",
                    "conn.go:812",
                    "command dispatched failed",
                    f"conn={conn}",
                    f'connInfo="id:{conn}, addr:10.244.3.{rng.randrange(2, 250)}:{rng.randrange(30000, 60000)} status:10, '
                    'collation:utf8mb4_0900_ai_ci, user:root"',
                    "command=Execute",
                    'status="inTxn:0, autocommit:1"',
                    'sql="UPDATE sbtest7 SET k=k+1 WHERE id=?"',
                    "txn_mode=PESSIMISTIC",
                    'err="[tikv:9005]Region is unavailable"',
                )
            if rng.random() < 0.6:
                commit = at(rng.uniform(5, 15))
                logs.log(
                    tidb,
                    commit,
                    "ERROR",
                    "2pc.go:1435",
                    "2PC failed commit key after primary key committed",
                    'error="[tikv:9005]Region is unavailable"',
                    f"txnStartTS={_ts(commit) - 5 * 2**18}",
                    f"commitTS={_ts(commit)}",
                    f"keys=[7480000000000000{rng.randrange(16, 99)}5f7280000000000{rng.randrange(10**4, 10**5)}]",
                )
        back = at(inj.duration + 2)
        logs.raw(victim, back, f'[{unified_time(back)}] [INFO] [lib.rs:81] ["Welcome to TiKV"]')
        logs.log(victim, back, "INFO", "lib.rs:86", "Release Version:   5.1.0")
        logs.log(
            victim,
            back,
            "WARN",
            "server.rs:1109",
            "check: kernel",
            'err="kernel parameters net.core.somaxconn got 4096, expect 32768"',
        )
        logs.log(
            "basic-pd-0",
            at(inj.duration + 8),
            "INFO",
            "cluster.go:1325",
            "store has changed to serving",
            f"store-id={store}",
            f"store-address={_tikv_addr(victim)}",
        )
    else:
        leader = inj.target
        logs.log(
            leader,
            at(1),
            "WARN",
            "lease.go:116",
            "lease keep alive failed",
            'purpose="leader election"',
            'error="context deadline exceeded"',
        )
        new_leader = rng.choice([p for p in PD_PODS if p != leader])
        logs.log(
            new_leader,
            at(inj.outage_s * 0.6),
            "INFO",
            "raft.go:941",
            f"{rng.getrandbits(63):x} is starting a new election at term {rng.randrange(6, 40)}",
        )
        logs.log(
            new_leader, at(inj.outage_s), "INFO", "member.go:322", "campaign pd leader ok", f"campaign-pd-leader-name={new_leader}"
        )
        for tidb in TIDB_PODS:
            for k in range(rng.randrange(2, 5)):
                logs.log(tidb, at(1 + k), "WARN", "pd.go:131", "get timestamp too slow", f'"cost time"={rng.uniform(0.5, 3):.9f}s')
            logs.log(
                tidb,
                at(2),
                "ERROR",
                "client.go:780",
                "[pd] getTS error",
                "dc-location=global",
                'error="[PD:client:ErrClientGetTSO]rpc error: code = Unknown desc = [PD:tso:ErrGenerateTimestamp]'
                'generate timestamp failed, requested pd is not leader of cluster"',
            )
        for kv in TIKV_PODS:
            if rng.random() < 0.5:
                logs.log(
                    kv,
                    at(3),
                    "ERROR",
                    "util.rs:456",
                    "request failed, retry",
                    "err_code=KV:PD:gRPC",
                    'err="Grpc(RpcFailure(RpcStatus { status: 4-DEADLINE_EXCEEDED, details: Some(\\"Deadline Exceeded\\") }))"',
                )
            logs.log(
                kv,
                at(4),
                "WARN",
                "client.rs:138",
                "failed to update PD client",
                'error="Other(\\"[components/pd_client/src/util.rs:306]: cancel reconnection due to too small interval\\")"',
            )

    if inj.panic_pod:
        _go_panic(logs, inj.panic_pod, at(10), rng)


def _go_panic(logs: Logs, pod: str, t: dt.datetime, rng: random.Random) -> None:
    """A raw Go panic on stderr crashes TiDB: unformatted lines, then the container restarts."""
    goroutine = rng.randrange(10**4, 10**6)
    base = "/home/jenkins/agent/workspace/build-common/go/src/github.com/pingcap/tidb"
    addr = f"0xc{rng.getrandbits(36):09x}"
    lines = [
        "panic: runtime error: invalid memory address or nil pointer dereference",
        f"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x{rng.getrandbits(24):x}]",
        "",
        f"goroutine {goroutine} [running]:",
        f"github.com/pingcap/tidb/store/tikv.(*twoPhaseCommitter).execute.func2({addr})",
        f"\t{base}/store/tikv/2pc.go:1167 +0x{rng.getrandbits(12):x}",
        f"github.com/pingcap/tidb/store/tikv.(*twoPhaseCommitter).doActionOnBatches(0x0, {addr}, 0x3a4c5c0, 0x1, 0x1)",
        f"\t{base}/store/tikv/2pc.go:786 +0x{rng.getrandbits(12):x}",
        "created by github.com/pingcap/tidb/store/tikv.(*twoPhaseCommitter).execute",
        f"\t{base}/store/tikv/2pc.go:1161 +0x{rng.getrandbits(12):x}",
    ]
    for i, text in enumerate(lines):
        logs.raw(pod, t + dt.timedelta(microseconds=7 * i), text)
    logs.crash(pod, t + dt.timedelta(microseconds=7 * len(lines)))
    back = t + dt.timedelta(seconds=rng.uniform(2, 4))
    logs.log(pod, back, "INFO", "printer.go:33", "Welcome to TiDB.", '"Release Version"=v5.1.0', "Edition=Community")
    logs.log(
        pod, back + dt.timedelta(milliseconds=40), "WARN", "config.go:893", "Enable the feature by setting tidb_enable_clustered_index"
    )


def error_storm(logs: Logs, start: dt.datetime, rng: random.Random) -> None:
    """A PD follower that lost its region sync stream complains every ~10 s for half an hour."""
    t = start + dt.timedelta(seconds=rng.uniform(2400, 3000))
    end = t + dt.timedelta(minutes=30)
    while t < end:
        logs.log(
            "basic-pd-2",
            t,
            "ERROR",
            "client.go:171",
            "region sync with leader meet error",
            'error="rpc error: code = Canceled desc = context canceled"',
        )
        t += dt.timedelta(seconds=rng.uniform(6, 12))


# --- the whole night ------------------------------------------------------------------------------------------


def generate(spec: NightSpec) -> dict[str, str]:
    """{relative path: text} of the whole night; the same spec always gives the same bytes."""
    if spec.suite not in SUITES:
        raise ValueError(f"unknown suite {spec.suite!r}; choose one of {', '.join(SUITES)}")
    rng = random.Random(f"{spec.seed}:{spec.night.isoformat()}:{spec.suite}")
    start = run_start(spec.night)
    injected = injections(spec, rng)
    # kubectl logs --since=24h, run a few minutes after the night ended at 06:00 UTC.
    collected = dt.datetime.combine(spec.night, dt.time(6, 9), tzinfo=UTC)
    logs = Logs(rng)
    background(logs, collected - dt.timedelta(hours=24), collected, rng)
    for inj in injected:
        chaos_logs(logs, spec, start, inj, rng)
    if spec.error_storm:
        error_storm(logs, start, rng)
    files = {f"logs/{rel}": text for rel, text in logs.files().items()}
    files["sysbench.log"] = sysbench_output(spec, injected, rng)
    files["schedule.yaml"] = schedule_yaml(spec)
    files["README.md"] = readme(spec, injected)
    return files


def _ttr_estimate(inj: Injection) -> float:
    depth = inj.depth * (0.6 if inj.panic_pod else 1.0)
    return inj.outage_s + inj.ramp_s * math.log(max((1 - depth) / 0.1, 1.0)) / 3.2


def readme(spec: NightSpec, injected: list[Injection]) -> str:
    folder = f"examples/night-{spec.night}"
    flags = "".join([" --slow-recovery" if spec.slow_recovery else "", " --error-storm" if spec.error_storm else ""])
    times = ", ".join(f"{run_start(spec.night) + dt.timedelta(seconds=inj.start):%H:%M}" for inj in injected)
    ttrs = ", ".join(f"{_ttr_estimate(inj):.0f}" for inj in injected)
    command = " ".join(
        [
            f"sitegen report --night {spec.night} --suite {spec.suite}",
            f"--logs {folder}/logs --metrics {folder}/sysbench.log --chaos {folder}/schedule.yaml",
        ]
    )
    return f"""# Example night {spec.night} ({spec.suite}, seed {spec.seed})

Generated by `python examples/make_night.py --out {folder} --night {spec.night} --seed {spec.seed} --suite {spec.suite} \\
--panics {spec.panics}{flags}`; regenerate it rather than editing it.

Turn it into a PDF report (written to `reports/{spec.suite}/`) with one command from the repository root:

    {command}

- `logs/POD/CONTAINER.log`: `kubectl logs --timestamps` of TiDB, TiKV and PD; `.previous.log` is the container
  instance before its last restart (a pod-failure or a crash).
- `sysbench.log`: sysbench 1.x output, {INTERVAL_S} s intervals counted from its `# started at:` line.
- `schedule.yaml`: the Chaos Mesh Schedule that injected the faults.

Faults injected at (UTC, {spec.night - dt.timedelta(days=1)}): {times}.
Recovery time built into the QPS curve, roughly, in seconds: {ttrs}.
Raw Go panics crashing a TiDB: {sum(1 for inj in injected if inj.panic_pod)}.
"""


def write_night(out: Path, spec: NightSpec) -> list[Path]:
    """Write the night into `out` (replacing files of the same name); returns the files written."""
    written = []
    for rel, text in sorted(generate(spec).items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the night into")
    parser.add_argument("--night", default="2021-07-09", help="the night's date, YYYY-MM-DD (default: 2021-07-09)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--suite", choices=SUITES, default="tikv-failure", help="which fault schedule (default: tikv-failure)")
    parser.add_argument("--panics", type=int, default=1, choices=(0, 1, 2), help="raw Go panics crashing TiDB (default: 1)")
    parser.add_argument("--slow-recovery", action="store_true", help="one injection recovers only after minutes")
    parser.add_argument("--error-storm", action="store_true", help="PD logs an error every few seconds for 30 minutes")
    args = parser.parse_args(argv)
    try:
        night = dt.date.fromisoformat(args.night)
    except ValueError:
        parser.error(f"--night {args.night!r}: expected YYYY-MM-DD")
    spec = NightSpec(night, args.seed, args.suite, args.panics, args.slow_recovery, args.error_storm)
    files = write_night(args.out, spec)
    size = sum(p.stat().st_size for p in files)
    print(f"wrote {len(files)} files ({size / 1024:.0f} KiB) into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
