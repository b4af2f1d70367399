"""query_prometheus against a real Prometheus server fed with promtool-made blocks, plus real failing servers."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from sitegen import limits
from sitegen.errors import ReportError, UsageError
from sitegen.nightly.prometheus import query_prometheus

T0 = dt.datetime(2021, 7, 9, 1, 0, tzinfo=dt.UTC)  # old on purpose: only blocks made by promtool can hold it
DIP = (T0 + dt.timedelta(minutes=20), T0 + dt.timedelta(minutes=22))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openmetrics() -> str:
    """One hour every 15 s: a QPS gauge for two instances (one dips to 10 for two minutes) and a 100/s counter."""
    lines = ["# TYPE sitegen_qps gauge", "# TYPE sitegen_queries counter"]
    body = []
    for i in range(240):
        t = T0 + dt.timedelta(seconds=15 * i)
        ts = int(t.timestamp())
        body.append(f'sitegen_qps{{instance="tidb-0"}} {10 if DIP[0] <= t < DIP[1] else 100} {ts}')
        body.append(f'sitegen_qps{{instance="tidb-1"}} 50 {ts}')
        body.append(f'sitegen_queries_total{{instance="tidb-0"}} {1500 * i} {ts}')
    # OpenMetrics wants each metric family's samples together.
    ordered = [b for b in body if b.startswith("sitegen_qps")] + [b for b in body if b.startswith("sitegen_queries")]
    return "\n".join(lines[:1] + ordered[:480] + lines[1:] + ordered[480:]) + "\n# EOF\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> Iterator[str]:
    """A real Prometheus on 127.0.0.1 holding the data above; killed at the end whatever happens."""
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed (Debian package prometheus)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must install it")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("prom")
    data, source = root / "data", root / "qps.om"
    source.write_text(_openmetrics())
    made = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)], capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n")
    port = _free_port()
    log = (root / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("prometheus did not become ready:\n" + (root / "prometheus.log").read_text()[-2000:])
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.mark.prometheus
def test_sum_query_shows_the_dip(prometheus):
    s = query_prometheus(prometheus, "sum(sitegen_qps)", start=at(10), end=at(30), step_s=60)
    values = dict(s.points)
    assert len(s.points) == 21
    assert values[at(10).timestamp()] == 150
    assert values[at(20).timestamp()] == 60 and values[at(21).timestamp()] == 60
    assert values[at(22).timestamp()] == 150
    assert "1 series" in s.source


@pytest.mark.prometheus
def test_several_series_summed_or_first(prometheus):
    summed = query_prometheus(prometheus, "sitegen_qps", start=at(20), end=at(21), step_s=30)
    assert [v for _, v in summed.points] == [60, 60, 60]
    assert "summed 2 series" in summed.source
    first = query_prometheus(prometheus, "sitegen_qps", start=at(20), end=at(21), step_s=30, combine="first")
    assert [v for _, v in first.points] == [10, 10, 10]
    assert 'instance="tidb-0"' in first.source


@pytest.mark.prometheus
def test_rate_of_a_counter(prometheus):
    s = query_prometheus(prometheus, "rate(sitegen_queries_total[1m])", start=at(5), end=at(6), step_s=15)
    assert [v for _, v in s.points] == pytest.approx([100.0] * 5)


@pytest.mark.prometheus
def test_long_range_is_fetched_in_pieces(prometheus):
    # 59 minutes at 0.25 s is 14,161 points, over Prometheus's 11,000-point limit per request
    s = query_prometheus(prometheus, "sum(sitegen_qps)", start=at(0), end=at(59), step_s=0.25)
    times = [t for t, _ in s.points]
    assert len(times) == 14161 and len(set(times)) == 14161
    assert times == sorted(times)
    assert sum(v == 60 for _, v in s.points) == 2 * 60 * 4  # the two-minute dip


@pytest.mark.prometheus
def test_bad_expression_quotes_the_server(prometheus):
    with pytest.raises(UsageError) as err:
        query_prometheus(prometheus, "sum(sitegen_qps", start=at(0), end=at(10), step_s=60)
    message = str(err.value)
    assert f"Prometheus at {prometheus} rejected the query 'sum(sitegen_qps' (HTTP 400) - bad_data:" in message
    assert "parse error" in message


@pytest.mark.prometheus
def test_no_data_in_range(prometheus):
    with pytest.raises(ReportError, match=r"the query 'sum\(sitegen_qps\)' returned no series between 2021-07-08T15:00:00\+00:00"):
        query_prometheus(prometheus, "sum(sitegen_qps)", start=at(-600), end=at(-500), step_s=60)


# --- failing servers: no Prometheus binary needed ----------------------------------------------------------------


def test_connection_refused():
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ReportError, match=f"cannot reach Prometheus at {url}: connection refused"):
        query_prometheus(url, "up", start=at(0), end=at(10), step_s=60)


class _Canned(http.server.BaseHTTPRequestHandler):
    status = 503
    delay = 0.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        body = json.dumps({"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}).encode()
        try:
            self.send_response(self.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up first

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def canned(http_server):
    """A server answering every query with `status` after `delay` seconds."""
    return lambda status, delay=0.0: http_server(type("H", (_Canned,), {"status": status, "delay": delay}))


def test_http_503_gives_the_server_text(canned):
    url = canned(503)
    with pytest.raises(ReportError) as err:
        query_prometheus(url, "up", start=at(0), end=at(10), step_s=60)
    assert str(err.value) == f"Prometheus at {url} failed the query (HTTP 503) - timeout: query timed out in expression evaluation"


def test_http_422_is_a_usage_error(canned):
    url = canned(422)
    with pytest.raises(UsageError, match=r"rejected the query 'up' \(HTTP 422\)"):
        query_prometheus(url, "up", start=at(0), end=at(10), step_s=60)


def test_timeout(canned):
    url = canned(200, delay=1.5)
    with pytest.raises(ReportError, match=f"Prometheus at {url} did not answer within 0.3 s"):
        query_prometheus(url, "up", start=at(0), end=at(10), step_s=60, timeout_s=0.3)


def test_bad_arguments():
    with pytest.raises(UsageError, match="must be an http"):
        query_prometheus("prometheus:9090", "up", start=at(0), end=at(1), step_s=60)
    with pytest.raises(UsageError, match="--query is empty"):
        query_prometheus("http://127.0.0.1:9", " ", start=at(0), end=at(1), step_s=60)
    with pytest.raises(UsageError, match="the query range is empty"):
        query_prometheus("http://127.0.0.1:9", "up", start=at(1), end=at(0), step_s=60)


class _Flood(http.server.BaseHTTPRequestHandler):
    """A 200 answer far larger than the limit: the start of a valid query_range answer, then padding."""

    size = 4 * 1024 * 1024
    chunked = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        head = b'{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": ['
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if self.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(self.size))
            self.end_headers()
            sent, block = 0, head + b" " * (64 * 1024 - len(head))
            while sent < self.size:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if self.chunked else block)
                sent += len(block)
                block = b" " * len(block)
            if self.chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client stopped reading at the limit

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_answer_larger_than_the_limit_is_refused_naming_the_url_and_the_limit(http_server, monkeypatch, chunked):
    monkeypatch.setattr(limits, "PROMETHEUS_BYTES", 256 * 1024)
    url = http_server(type("H", (_Flood,), {"chunked": chunked}))
    with pytest.raises(ReportError) as err:
        query_prometheus(url, "up", start=at(0), end=at(10), step_s=60)
    assert str(err.value) == (
        f"Prometheus at {url} answered {url}/api/v1/query_range with more than the 256 KB limit of one answer "
        "(PROMETHEUS_BYTES, docs/limits.md); narrow the query, for example with sum() over its series"
    )


def test_an_answer_under_the_limit_is_still_read(http_server, monkeypatch):
    """The limit is on the bytes, not a guess: the same answer passes once the limit is above its size."""
    monkeypatch.setattr(limits, "PROMETHEUS_BYTES", 256 * 1024)
    url = http_server(type("H", (_Flood,), {"size": 128 * 1024}))
    with pytest.raises(ReportError, match="did not answer with JSON"):  # read whole; the padding never closes the JSON
        query_prometheus(url, "up", start=at(0), end=at(10), step_s=60)


def test_a_report_whose_prometheus_answers_too_much_says_so_and_is_still_written(http_server, tmp_path, capsys, monkeypatch):
    from sitegen.cli import main

    monkeypatch.setattr(limits, "PROMETHEUS_BYTES", 256 * 1024)
    url = http_server(_Flood)
    code = main(["report", "--night", "2021-07-09", "--prometheus", url, "--query", "up", "--reports", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"note: metrics unavailable: Prometheus at {url} answered {url}/api/v1/query_range with more than the 256 KB limit" in out
