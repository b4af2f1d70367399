"""Log-store exports as --logs inputs: logcli jsonl and Elasticsearch/OpenSearch hits, split by pod and container."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitegen.errors import UsageError
from sitegen.nightly.logs import digest_logs, iter_records, stores
from sitegen.nightly.logs.inputs import expand

UTC = ZoneInfo("UTC")
NIGHT = dt.date(2021, 7, 9)
SINCE = dt.datetime(2021, 7, 8, 6, 0, tzinfo=UTC)
UNTIL = dt.datetime(2021, 7, 9, 6, 0, tzinfo=UTC)
PANIC = ["panic: runtime error: index out of range [5] with length 3", "", "goroutine 1 [running]:", "main.main()"]


def unified(when: str, level: str, message: str) -> str:
    return f"[{when.replace('-', '/')} +00:00] [{level}] [store.go:7] [\"{message}\"]"


def night_entries() -> list[tuple[str, str, str, str]]:
    """(timestamp, pod, container, line) in time order: two TiKV instances' worth and a PD, with a Go panic."""
    rows = [
        ("2021-07-08T20:00:00.000000001Z", "basic-tikv-0", "tikv",
         unified("2021-07-08 20:00:00.000", "ERROR", "region 1 unavailable")),
        ("2021-07-08T20:00:01.5Z", "basic-pd-0", "pd", unified("2021-07-08 20:00:01.500", "WARN", "leader changed")),
        ("2021-07-08T20:00:02Z", "basic-tikv-0", "tikv", unified("2021-07-08 20:00:02.000", "INFO", "still here")),
    ]
    rows += [("2021-07-08T21:00:00.000000042Z", "basic-tikv-0", "tikv", line) for line in PANIC]  # one stamp, four lines
    rows += [("2021-07-08T21:00:05Z", "basic-tikv-0", "tikv", unified("2021-07-08 21:00:05.000", "ERROR", "region 2 unavailable"))]
    rows += [("2021-07-08T22:00:00Z", "basic-pd-0", "pd", unified("2021-07-08 22:00:00.000", "ERROR", "pd lost its lease"))]
    return rows


def logcli_jsonl(rows, *, labels: bool = True) -> str:
    out = []
    for ts, pod, container, line in rows:
        obj = {"line": line, "timestamp": ts}
        if labels:
            obj["labels"] = {"container": container, "namespace": "tidb-cluster", "pod": pod, "job": "tidb-cluster/tikv"}
        out.append(json.dumps(obj, sort_keys=True))
    return "\n".join(out) + "\n"


def digest(*paths: Path):
    return digest_logs([str(p) for p in paths], since=SINCE, until=UNTIL, tz=UTC, night=NIGHT)


def test_logcli_jsonl_newest_first_becomes_one_stream_per_pod_and_container_in_time_order(tmp_path):
    export = tmp_path / "loki-2021-07-09.jsonl"
    export.write_text(logcli_jsonl(reversed(night_entries())))  # logcli's default direction: backward
    assert stores.kind_of(export) == "logcli"
    result = digest(export)
    assert {s.path for s in result.inputs} == {"basic-tikv-0/tikv", "basic-pd-0/pd"}
    assert result.counts == {"fatal": 1, "error": 3, "warn": 1}
    records = list(iter_records([str(export)], tz=UTC, night=NIGHT))
    panic = next(r for r in records if r.level == "fatal")
    # The four entries of the panic are back in their order, under their head, stamped like kubectl does.
    assert panic.source == "basic-tikv-0/tikv"
    assert [line.split(" ", 1)[-1] for line in panic.text.splitlines()] == [PANIC[0], "2021-07-08T21:00:00.000000042Z", *PANIC[2:]]
    tikv = [r.message for r in records if r.source == "basic-tikv-0/tikv" and r.level == "error"]
    assert tikv == ["region 1 unavailable", "region 2 unavailable"]


def test_logcli_without_labels_is_one_stream_named_by_its_file_and_gzip_is_read(tmp_path):
    export = tmp_path / "night.jsonl.gz"
    export.write_bytes(gzip.compress(logcli_jsonl(night_entries(), labels=False).encode()))
    assert stores.kind_of(export) == "logcli"
    result = digest(export)
    assert [s.path for s in result.inputs] == ["night.jsonl.gz"]
    assert result.counts["error"] == 3


def test_logcli_raw_is_read_as_a_plain_log(tmp_path):
    export = tmp_path / "raw.log"
    export.write_text("".join(line + "\n" for _ts, _p, _c, line in night_entries()))
    assert stores.kind_of(export) is None
    assert [s.name for s in expand([str(export)])] == ["raw.log"]
    assert digest(export).counts["error"] == 3


def es_hit(ts: str, pod: str, container: str, line: str, *, ecs: bool = False) -> dict:
    """A hit as Fluent Bit's kubernetes filter ships it, or as Filebeat (ECS) does."""
    if ecs:
        source = {"@timestamp": ts, "message": line, "kubernetes": {"pod": {"name": pod}, "container": {"name": container}}}
    else:
        source = {"@timestamp": ts, "log": line + "\n", "stream": "stderr",
                  "kubernetes": {"pod_name": pod, "container_name": container, "namespace_name": "tidb-cluster"}}
    return {"_index": "logstash-2021.07.08", "_id": ts, "_score": None, "_source": source, "sort": [ts]}


def test_an_elasticsearch_search_response_sorted_newest_first(tmp_path):
    hits = [es_hit(*row) for row in reversed(night_entries())]
    response = {"took": 12, "timed_out": False, "_shards": {"total": 1}, "hits": {"total": {"value": len(hits)}, "hits": hits}}
    export = tmp_path / "search.json"
    export.write_text(json.dumps(response, indent=2))  # pretty, as curl ...?pretty or Kibana's inspector saves it
    assert stores.kind_of(export) == "es-json"
    result = digest(export)
    assert {s.path for s in result.inputs} == {"basic-tikv-0/tikv", "basic-pd-0/pd"}
    assert result.counts == {"fatal": 1, "error": 3, "warn": 1}


def test_scroll_pages_glued_together_and_ecs_hits_one_per_line(tmp_path):
    rows = night_entries()
    pages = tmp_path / "scroll.json"
    pages.write_text("".join(json.dumps({"_scroll_id": "x", "hits": {"hits": [es_hit(*r) for r in rows[i : i + 3]]}})
                             for i in range(0, len(rows), 3)))
    lines = tmp_path / "elasticdump.ndjson"
    lines.write_text("".join(json.dumps(es_hit(*r, ecs=True)) + "\n" for r in rows))
    assert (stores.kind_of(pages), stores.kind_of(lines)) == ("es-json", "es-lines")
    for export in (pages, lines):
        assert digest(export).counts == {"fatal": 1, "error": 3, "warn": 1}, export.name


def test_hits_in_no_time_order_are_sorted_and_dotted_flat_keys_are_read(tmp_path):
    rows = night_entries()
    order = [5, 0, 7, 2, 1, 3, 4, 6, 8]  # by score, say; the panic's lines keep their relative order
    export = tmp_path / "by-score.ndjson"
    export.write_text("".join(
        json.dumps({"_source": {"@timestamp": rows[i][0], "message": rows[i][3],
                                "kubernetes.pod_name": rows[i][1], "kubernetes.container_name": rows[i][2]}}) + "\n"
        for i in order
    ))
    records = list(iter_records([str(export)], tz=UTC, night=NIGHT))
    assert [r.message for r in records if r.source == "basic-tikv-0/tikv" and r.level in ("error", "fatal")] == [
        "region 1 unavailable", PANIC[0], "region 2 unavailable",
    ]


def test_an_ordinary_json_log_is_not_taken_for_an_export(tmp_path):
    zap = tmp_path / "chaos-controller.log"
    zap.write_text('{"level":"error","ts":1625792400.5,"logger":"podchaos","msg":"failed to kill pod","error":"timeout"}\n')
    docker = tmp_path / "docker.log"
    docker.write_text(json.dumps({"log": unified("2021-07-08 20:00:00.000", "ERROR", "x") + "\n", "stream": "stderr",
                                  "time": "2021-07-08T20:00:00Z"}) + "\n")
    assert stores.kind_of(zap) is None and stores.kind_of(docker) is None
    assert [s.name for s in expand([str(zap), str(docker)])] == ["chaos-controller.log", "docker.log"]


def test_limits_are_clear_messages_naming_the_file(tmp_path, monkeypatch):
    export = tmp_path / "big.json"
    export.write_text(json.dumps({"hits": {"hits": [es_hit(*r) for r in night_entries()]}}))
    monkeypatch.setattr(stores, "MAX_JSON_BYTES", 1024)
    with pytest.raises(UsageError, match=r"^--logs .*big\.json: an Elasticsearch response of more than 1,024 bytes is read whole; "
                                         r"export the hits one per line instead"):
        digest(export)
    monkeypatch.setattr(stores, "MAX_SORT_LINES", 3)
    mixed = tmp_path / "mixed.ndjson"
    rows = night_entries()
    mixed.write_text("".join(json.dumps(es_hit(*rows[i])) + "\n" for i in (7, 0, 2, 4)))
    with pytest.raises(UsageError, match=r"the entries of basic-tikv-0/tikv are in no time order and are more than 3 lines"):
        digest(mixed)
