"""The metrics parsers: any file either becomes a Series or a UsageError naming the file, nothing else."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sitegen.errors import UsageError
from sitegen.nightly.metrics import load_metrics, parse_query_range
from tests.fuzz import documents, fuzz, lines

FRAGMENTS = [
    "# started at: 2021-07-08T18:00:00Z\n",
    "start: x\n",
    "timestamp,value\n",
    "time,qps,errors\n",
    "t,a\n",
    "2021-07-09T01:00:00Z,",
    "1625800000,",
    "1e400",
    "nan",
    "-inf",
    "9999-12-31T23:59:59-23:59,",
    "[ 10s ] thds: 16 tps: 1.00 qps: 20.00 (r/w/o: 14.00/4.00/2.00) lat (ms,95%): 3.00 err/s: 0.00 reconn/s: 0.00\n",
    "[10s] threads: 4, tps: 1.00, reads: 2.00, writes: 3.00, response time: 5.00ms (95%)\n",
    "READ   - Takes(s): 10.0, Count: 100, OPS: 10.0, Avg(us): 5\n",
    "READ_ERROR - Takes(s): 10.0, Count: 1, OPS: 0.1, Avg(us)",
    "[Current] NEW_ORDER - Takes(s): 10.0, Count: 100, TPM: 600.0, Sum(ms): 5\n",
    "TS:1625800000 min:1 max:2 SEC_STAT(rps/p50/p99):100,1.0,2.0\n",
    "[1] 01:00:00 [SUCCESS] host\n",
    "_elapsed___errors__ops/sec(inst)___ops/sec(cum)__p50(ms)__p95(ms)__p99(ms)_pMax(ms)\n",
    "      1.0s        0          100.0          100.0      1.0      2.0      3.0      4.0 read\n",
    "Run finished, takes 10s\n",
    "sysbench 1.0.20\n",
    "FATAL: mysql_drv_query() returned error\n",
]
PROMETHEUS_KEYS = ["status", "data", "resultType", "result", "values", "metric", "__name__", "warnings", "error", "errorType"]


def _load(data: bytes, name: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            series = load_metrics(path, start=dt.datetime(2021, 7, 9, 1, tzinfo=dt.UTC))
        except UsageError as exc:
            assert str(exc)
            return None
    assert all(isinstance(t, float) for t, _ in series.points)
    return series


@fuzz
@given(lines(FRAGMENTS, max_size=30), st.sampled_from(["m.log", "m.csv", "m.json"]), st.booleans())
def test_a_metrics_text_loads_or_is_a_usage_error(text, name, gzipped):
    data = text.encode("utf-8", "surrogatepass")
    _load(gzip.compress(data) if gzipped else data, name)


@fuzz
@given(st.binary(max_size=500))
def test_any_bytes_load_or_are_a_usage_error(data):
    _load(data, "m.bin")


prometheus = st.one_of(
    documents(PROMETHEUS_KEYS),
    st.fixed_dictionaries(
        {
            "status": st.just("success"),
            "data": st.fixed_dictionaries(
                {
                    "resultType": st.sampled_from(["matrix", "vector"]),
                    "result": st.lists(
                        st.fixed_dictionaries({"metric": documents(["__name__", "job"], 5), "values": documents([], 10)}), max_size=3
                    ),
                }
            ),
        }
    ),
)


@fuzz
@given(prometheus)
def test_a_prometheus_answer_parses_or_is_a_usage_error(data):
    try:
        series = parse_query_range(data, source="q")
    except UsageError:
        return
    assert all(isinstance(t, float) for t, _ in series.points)


@fuzz
@given(prometheus)
def test_a_prometheus_file_loads_or_is_a_usage_error(data):
    _load(json.dumps(data).encode("utf-8", "surrogatepass"), "q.json")
