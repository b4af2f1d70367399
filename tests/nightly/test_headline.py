"""The headline: one sentence naming what broke, where, how badly and whether it recovered (golden strings).

The expected sentences are written out in full so a change in wording is a reviewable diff here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sitegen.nightly.headline import MAX_HEADLINE, Night, write_headline
from sitegen.nightly.logs import digest_logs
from sitegen.nightly.records import ChaosWindow, Injection, RuleResult, Signature, Verdict
from tests.nightly.report_records import NIGHT, SINCE, UNTIL, UTC

RULES = ("fatal > 0", "errors > 100", "worst_ttr_s > 60", "max_drop_pct > 95")
SELECTOR = "one pod of app.kubernetes.io/component=tikv in tidb-cluster"


def _verdict(values: dict[str, float]) -> Verdict:
    results = []
    for rule in RULES:
        metric, _, threshold = rule.split()
        value = values.get(metric)
        results.append(RuleResult(rule=rule, metric=metric, value=value, fired=value is not None and value > float(threshold)))
    return Verdict(status="bad" if any(r.fired for r in results) else "good", results=results)


def _injections(
    ttrs: list[float | None], drops: list[float], *, target: str = SELECTOR, action: str = "pod-failure"
) -> list[Injection]:
    out = []
    for i, (ttr, drop) in enumerate(zip(ttrs, drops, strict=True)):
        start = dt.datetime(2021, 7, 8, 18, 5, tzinfo=UTC) + dt.timedelta(minutes=15 * i)
        window = ChaosWindow(start=start, end=start + dt.timedelta(seconds=60), name="tikv-failure-nightly", kind="PodChaos",
                             action=action, target=target)
        out.append(Injection(window=window, baseline=22500.0, minimum=22500.0 * (1 - drop / 100), drop_pct=drop, ttr_s=ttr,
                             recovered_at=None if ttr is None else start + dt.timedelta(seconds=ttr), errors=2))
    return out


def _sig(key: str, level: str, message: str, count: int, *, new: bool = False, panic: bool = False, origin: str = "") -> Signature:
    t = dt.datetime(2021, 7, 8, 18, 50, 10, tzinfo=UTC)
    return Signature(key=key, pattern=message, level=level, count=count, first_seen=t, last_seen=t, sources=[origin],
                     sample=message, new=new, panic=panic, message=message, origin=origin)


def _night(verdict: Verdict, metrics: dict[str, float], signatures: list[Signature], injections: list[Injection], **kw) -> Night:
    return Night(verdict=verdict, metrics=metrics, signatures=sorted(signatures, key=Signature.rank), injections=injections,
                 tz=UTC, **kw)


def test_a_red_night_names_the_new_panic_its_pod_and_the_worst_injection():
    metrics = {"fatal": 1, "errors": 18, "new_signatures": 1, "worst_ttr_s": 40, "max_drop_pct": 72.0}
    sigs = [
        _sig("p1", "fatal", "panic: runtime error: invalid memory address or nil pointer dereference", 1, new=True, panic=True,
             origin="tidb-0/tidb.previous.log"),
        _sig("e1", "error", "2PC failed commit key after primary key committed", 11, origin="tidb-1/tidb.log"),
        _sig("w1", "warn", "command dispatched failed", 62, origin="tidb-0/tidb.log"),
    ]
    injections = _injections([40, 30, 40], [47.4, 72.0, 42.5], target="tidb-cluster/tikv-1", action="pod-kill")
    headline = write_headline(_night(_verdict(metrics), metrics, sigs, injections))
    assert headline == (
        "NEW panic in tidb-0: invalid memory address or nil pointer dereference; "
        "QPS fell 72.0 % and recovered in 30 s after pod-kill on tikv-1 (#2, 18:20 UTC)."
    )


def test_a_slow_recovery_leads_the_sentence_when_its_rule_fired():
    metrics = {"fatal": 0, "errors": 18, "new_signatures": 0, "worst_ttr_s": 110, "max_drop_pct": 77.9}
    sigs = [_sig("e1", "error", "2PC failed commit key after primary key committed", 11, origin="tidb-1/tidb.log")]
    injections = _injections([40, 110, None], [47.4, 77.9, 12.0])
    night = _night(_verdict(metrics), metrics, sigs, injections)
    assert write_headline(night) == (
        "QPS fell 12.0 % and did not recover after pod-failure on one pod of component=tikv (#3, 18:35 UTC); no new errors."
    )
    recovered = _night(_verdict(metrics), metrics, sigs, _injections([40, 110, 30], [47.4, 77.9, 12.0]))
    assert write_headline(recovered) == (
        "QPS fell 77.9 % and recovered in 110 s after pod-failure on one pod of component=tikv (#2, 18:20 UTC); no new errors."
    )


def test_a_green_night_says_what_held():
    metrics = {"fatal": 0, "errors": 18, "new_signatures": 0, "worst_ttr_s": 40, "max_drop_pct": 69.6}
    injections = _injections([24, 40, 21, 27, 22, 20, 24, 24], [47.4, 52.3, 42.5, 69.6, 56.1, 41.1, 65.8, 57.0])
    sigs = [_sig("e1", "error", "connection aborted", 18, origin="tikv-0/tikv.log")]
    night = _night(_verdict(metrics), metrics, sigs, injections)
    assert night.verdict.status == "good"
    assert write_headline(night) == "8 injections, all recovered within 40 s (worst drop 69.6 %); no new errors."
    # Without last night's report nothing can be NEW, so the sentence does not claim it.
    first = _night(_verdict(metrics), metrics, sigs, injections, compared=False)
    assert write_headline(first) == "8 injections, all recovered within 40 s (worst drop 69.6 %); 18 errors, none fatal."


def test_missing_inputs_are_said():
    night = _night(_verdict({}), {}, [], [], has_logs=False, compared=False, metrics_missing="no metrics given")
    assert write_headline(night) == "No logs given; no metrics given."


def test_an_error_storm_names_the_rule_and_the_signature_behind_it():
    metrics = {"fatal": 0, "errors": 1204, "new_signatures": 0}
    sigs = [_sig("e1", "error", "region sync with leader meet error", 1180, origin="pd-2/pd.log"),
            _sig("e2", "error", "connection aborted", 24, origin="tikv-0/tikv.log")]
    night = _night(_verdict(metrics), metrics, sigs, [], metrics_missing="no metrics given")
    assert write_headline(night) == (
        "1,204 errors (rule errors > 100); most of them error in pd-2: region sync with leader meet error (1,180×); "
        "no new errors; no metrics given."
    )


def test_the_headline_is_one_bounded_line_of_clean_text():
    metrics = {"fatal": 3, "errors": 5000, "new_signatures": 2, "worst_ttr_s": 900, "max_drop_pct": 99.0}
    long = "panic: " + "\x1b[31mvery long message with \x00 control characters and words " * 20
    sigs = [_sig("p1", "fatal", long, 3, new=True, panic=True, origin="tidb-0/tidb.log"),
            _sig("e1", "error", "x " * 300, 4000, new=True, origin="pd-0/pd.log")]
    injections = _injections([None, None, 900], [99.0, 98.0, 97.0], target=", ".join(f"ns/tikv-{i}" for i in range(40)))
    headline = write_headline(_night(_verdict(metrics), metrics, sigs, injections))
    assert len(headline) <= MAX_HEADLINE
    assert "\n" not in headline and "\x00" not in headline and "\x1b" not in headline
    assert headline.startswith("NEW panic in tidb-0: ")


def test_a_panic_outranks_twenty_noisier_errors(tmp_path: Path):
    """Through the real log reader: one TiDB panic record among 20 CJK error signatures logged 30 times each."""
    lines = []
    for i in range(20):
        for k in range(30):
            stamp = (SINCE + dt.timedelta(hours=2, minutes=i, seconds=k)).strftime("%Y/%m/%d %H:%M:%S.000 +00:00")
            lines.append(f'[{stamp}] [ERROR] [region.go:1] ["区域调度失败 类型{chr(0x4E00 + i)}"] [region_id={k}]')
    stamp = (SINCE + dt.timedelta(hours=5)).strftime("%Y/%m/%d %H:%M:%S.000 +00:00")
    lines.append(f'[{stamp}] [ERROR] [conn.go:726] ["connection running loop panic"] [conn=7] '
                 '[lastSQL="select 1"] [err="runtime error: index out of range [3] with length 3"] '
                 '[stack="goroutine 1093 [running]:\\ngithub.com/pingcap/tidb/server.(*clientConn).Run.func1()"]')
    folder = tmp_path / "logs" / "tidb-0"
    folder.mkdir(parents=True)
    (folder / "tidb.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    digest = digest_logs([str(tmp_path / "logs")], since=SINCE, until=UNTIL, tz=UTC, night=NIGHT, previous_keys=None)
    assert len(digest.signatures) == 21
    first = digest.signatures[0]
    assert (first.kind, first.count, first.component) == ("panic", 1, "tidb-0")
    assert all(s.count == 30 for s in digest.signatures[1:])
    metrics = {"fatal": 0, "errors": 601, "new_signatures": 0}
    night = _night(_verdict(metrics), metrics, digest.signatures, [], compared=False, metrics_missing="no metrics given")
    assert write_headline(night) == (
        "Panic in tidb-0: connection running loop panic error=runtime error: index out of range [3] with length 3; "
        "601 errors (rule errors > 100); most of them error in tidb-0: 区域调度失败 类型一 (30×); no metrics given."
    )
