"""Generate a big TiDB/TiKV/PD unified-format log for the log-throughput benchmark (seeded, fast).

About 2 % of the records are WARN/ERROR (a few FATAL), some ERROR records carry a raw multi-line Go
panic below them, and some INFO records carry raw continuation lines that mention "[ERROR]" so the
reader has to tell records from continuations. Speed comes from generating one block of lines
once and writing it over and over with the clock moved forward each time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

INFO = [
    '[region.go:{n}] ["region changed"] [region-id={id}] [detail="StartKey Changed:{{7480000000000000FF{h}}}"]'
    " [old-version={n}] [new-version={m}]",
    '[session.go:{n}] ["CRUCIAL OPERATION"] [conn={id}] [schemaVersion={n}] [cur_db=test]'
    ' [sql="select * from t where id = {m}"] [user=root@10.0.{n}.{m}]',
    '[raft.rs:{n}] ["became follower at term {m}"] [term={m}] [raft_id={id}] [region_id={id}]',
    '[apply.rs:{n}] ["apply snapshot"] [snap-key={id}_{m}_{n}] [region_id={id}] [peer_id={m}] [takes={n}.{m}ms]',
    '[grpc_service.go:{n}] ["update service GC safe point"] [service-id=gc_worker] [expire-at={id}] [safepoint={id}{m}]',
    '[tso.go:{n}] ["sync and save timestamp"] [last={id}] [save={id}] [next={id}]',
    '[gc_worker.go:{n}] ["[gc worker] start delete ranges"] [uuid={h}] [ranges={n}] [error=none]',
]
WARN = [
    '[backoff.go:{n}] ["regionMiss backoffer.maxSleep 40000ms is exceeded"] [region_id={id}] [store={n}] [error="epoch_not_match"]',
    '[client.go:{n}] ["[pd] failed updating member"] [urls="[http://10.0.{n}.{m}:2379]"] [error="context deadline exceeded"]',
    '[tso.go:{n}] ["clock offset"] [jet-lag={n}.{m}ms] [update-physical-interval=50ms]',
]
ERROR = [
    '[heartbeat_streams.go:{n}] ["send keepalive message fail"] [target-store-id={m}] [error=EOF]',
    '[raft_client.rs:{n}] ["connection aborted"] [addr=tikv-{m}.tikv-peer.ns.svc:20160] [store_id={m}]',
    '[conn.go:{n}] ["connection running loop panic"] [conn={id}]'
    ' [err="runtime error: invalid memory address or nil pointer dereference"]',
]
PANIC = [
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x2000955]",
    "",
    "goroutine {id} [running]:",
    "github.com/pingcap/tidb/session.(*session).ExecuteStmt(0xc00{h}, 0x4c3e3a0)",
    "\t/go/src/github.com/pingcap/tidb/session/session.go:{n} +0x{m}",
    "github.com/pingcap/tidb/server.(*clientConn).Run(0xc0{h})",
    "\t/go/src/github.com/pingcap/tidb/server/conn.go:{n} +0x{m}",
]
# Raw lines under an INFO record that a naive grep would count; the reader must not.
NOISY = [
    "    previous attempt: [ERROR] store {m} unreachable, retried",
    "    last failure was [WARN] level before restart",
]
LEVEL_WIDTH = {"INFO": "INFO", "WARN": "WARN", "ERROR": "ERROR", "FATAL": "FATAL"}


def _fill(rng: random.Random, template: str) -> str:
    n, m, ident = rng.randrange(10, 3000), rng.randrange(1, 999), rng.randrange(10**5, 10**9)
    return template.format(n=n, m=m, id=ident, h=f"{rng.getrandbits(40):010x}")


def make_block(rng: random.Random, records: int) -> list[tuple[float, str, str]]:
    """One block of (seconds offset, level, rest-of-line-or-raw) items; raw lines have level ""."""
    items: list[tuple[float, str, str]] = []
    t = 0.0
    for _ in range(records):
        t += rng.expovariate(1 / 0.013)
        roll = rng.random()
        if roll < 0.0008:
            items.append((t, "ERROR", _fill(rng, ERROR[2])))
            items.extend((t, "", _fill(rng, line)) for line in PANIC)
        elif roll < 0.001:
            items.append((t, "FATAL", _fill(rng, ERROR[0])))
        elif roll < 0.011:
            items.append((t, "ERROR", _fill(rng, rng.choice(ERROR[:2]))))
        elif roll < 0.02:
            items.append((t, "WARN", _fill(rng, rng.choice(WARN))))
        else:
            items.append((t, "INFO", _fill(rng, rng.choice(INFO))))
            if roll > 0.9995:
                items.append((t, "", _fill(rng, rng.choice(NOISY))))
    return items


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y/%m/%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} +08:00"


def generate(path: Path, size: int, *, seed: int = 7, start: dt.datetime | None = None) -> int:
    """Write about `size` bytes of log to `path`; returns the number of bytes written."""
    rng = random.Random(seed)
    block = make_block(rng, 20_000)
    span = block[-1][0] + 0.01
    start = start or dt.datetime(2021, 7, 8, 6, 30, 0)
    written = 0
    rep = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        while written < size:
            base = start + dt.timedelta(seconds=rep * span)
            # One timestamp string per 10 ms keeps generation cheap while the clock still moves.
            cache: dict[int, str] = {}
            lines = []
            for offset, level, rest in block:
                if not level:
                    lines.append(rest)
                    continue
                tick = int(offset * 100)
                stamp = cache.get(tick)
                if stamp is None:
                    stamp = cache[tick] = _stamp(base + dt.timedelta(seconds=tick / 100))
                lines.append(f"[{stamp}] [{LEVEL_WIDTH[level]}] {rest}")
            chunk = "\n".join(lines) + "\n"
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
            rep += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="approximate size in MiB (default 1024)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT / "big-unified.log")
    args = parser.parse_args(argv)
    written = generate(args.out, args.size_mb * 1024 * 1024, seed=args.seed)
    sys.stdout.write(f"{args.out} {written / 1e6:.1f} MB\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
