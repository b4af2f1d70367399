"""Fetch the night's QPS from a live Prometheus with /api/v1/query_range (stdlib urllib only)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import socket
import urllib.error
import urllib.parse
import urllib.request

from sitegen import limits
from sitegen.errors import ReportError, UsageError
from sitegen.nightly.metrics.promjson import parse_query_range
from sitegen.nightly.records import Series

log = logging.getLogger(__name__)

# Prometheus refuses range queries over 11,000 points per series; longer nights are fetched in pieces.
MAX_POINTS = 11_000
ERROR_BODY_BYTES = 64 * 1024  # of an HTTP error's body, read for its message


def query_prometheus(
    url: str,
    expr: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    step_s: float,
    timeout_s: float = 10.0,
    combine: str = "sum",
) -> Series:
    """Run `expr` as a range query over [start, end]; several result series are summed (or the first taken)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"--prometheus must be an http(s) URL such as http://prometheus:9090, got {url!r}")
    if not expr.strip():
        raise UsageError("--query is empty: give a PromQL expression such as 'sum(rate(tidb_server_query_total[1m]))'")
    if step_s <= 0:
        raise UsageError(f"the query step must be positive, got {step_s}")
    if end <= start:
        raise UsageError(f"the query range is empty: start {start.isoformat()} is not before end {end.isoformat()}")
    endpoint = url.rstrip("/") + "/api/v1/query_range"
    t0, t1 = start.timestamp(), end.timestamp()
    chunk = (MAX_POINTS - 1) * step_s
    merged: dict[tuple, dict] = {}
    warnings: list[str] = []
    pieces = max(1, math.ceil((t1 - t0) / chunk))
    for i in range(pieces):
        a = t0 + i * (chunk + step_s)
        b = min(t1, a + chunk)
        if a > t1:
            break
        data = _fetch(endpoint, url, expr, a, b, step_s, timeout_s)
        if (data.get("data") or {}).get("resultType") != "matrix":
            return parse_query_range(data, source=f"{url} {expr!r}", combine=combine)  # raises a clear error
        warnings += data.get("warnings") or []
        for series in (data.get("data") or {}).get("result") or []:
            key = tuple(sorted((series.get("metric") or {}).items()))
            entry = merged.setdefault(key, {"metric": series.get("metric") or {}, "values": []})
            entry["values"].extend(series.get("values") or [])
    if not merged:
        # Likely a metric that is not scraped (yet) or a wrong label: the night's report notes it rather than failing.
        raise ReportError(
            f"Prometheus at {url}: the query {expr!r} returned no series between {start.isoformat()} and {end.isoformat()} "
            "(check the metric name, the labels and the time range)"
        )
    envelope = {"status": "success", "warnings": warnings, "data": {"resultType": "matrix", "result": list(merged.values())}}
    log.info("prometheus %s: %d series over %d request(s)", url, len(merged), pieces)
    return parse_query_range(envelope, source=f"{url} {expr!r}", combine=combine)


def _fetch(endpoint: str, url: str, expr: str, a: float, b: float, step_s: float, timeout_s: float) -> dict:
    # POST keeps long PromQL out of the URL (and out of proxy logs).
    form = urllib.parse.urlencode({"query": expr, "start": f"{a:.3f}", "end": f"{b:.3f}", "step": f"{step_s:g}"}).encode()
    request = urllib.request.Request(
        endpoint, data=form, headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            limit = limits.PROMETHEUS_BYTES
            body = response.read(limit + 1)  # never more: a runaway answer must not fill memory
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, url, expr) from None
    except urllib.error.URLError as exc:
        raise _url_error(exc, url, timeout_s) from None
    except TimeoutError:
        raise ReportError(f"Prometheus at {url} did not answer within {timeout_s:g} s") from None
    except OSError as exc:
        raise ReportError(f"cannot reach Prometheus at {url}: {exc}") from None
    if len(body) > limit:
        raise ReportError(
            f"Prometheus at {url} answered {endpoint} with more than the {limits.size_text(limit)} limit of one answer "
            "(PROMETHEUS_BYTES, docs/limits.md); narrow the query, for example with sum() over its series"
        )
    try:
        data = limits.loads_json(body, constants=True)
    except limits.LimitExceeded as exc:
        raise ReportError(f"the answer of {endpoint} is {exc}") from None
    except ValueError:
        raise ReportError(f"{endpoint} did not answer with JSON; is {url} a Prometheus server?") from None
    if not isinstance(data, dict) or data.get("status") != "success":
        error = data.get("error", "(no message)") if isinstance(data, dict) else "(not an API response)"
        raise ReportError(f"Prometheus at {url} answered with an error: {limits.short_text(error, 300)}")
    return data


def _url_error(exc: urllib.error.URLError, url: str, timeout_s: float) -> ReportError:
    reason = exc.reason
    if isinstance(reason, ConnectionRefusedError):
        return ReportError(f"cannot reach Prometheus at {url}: connection refused (is it running on that port?)")
    if isinstance(reason, TimeoutError):
        return ReportError(f"Prometheus at {url} did not answer within {timeout_s:g} s")
    if isinstance(reason, socket.gaierror):
        return ReportError(f"cannot reach Prometheus at {url}: unknown host {urllib.parse.urlsplit(url).hostname!r}")
    return ReportError(f"cannot reach Prometheus at {url}: {reason}")


def _http_error(exc: urllib.error.HTTPError, url: str, expr: str) -> Exception:
    try:
        payload = json.loads(exc.read(ERROR_BODY_BYTES) or b"{}")
        detail = f"{payload.get('errorType', 'error')}: {payload.get('error', '(no message)')}"
    except (ValueError, OSError, AttributeError, RecursionError):
        detail = exc.reason or "no details"
    detail = limits.short_text(str(detail), 300)
    if exc.code in (400, 422):
        # The server says the query itself is wrong: the user must change it.
        return UsageError(f"Prometheus at {url} rejected the query {expr!r} (HTTP {exc.code}) - {detail}")
    if exc.code == 404:
        return ReportError(f"{url} has no /api/v1/query_range (HTTP 404); is it a Prometheus server URL?")
    return ReportError(f"Prometheus at {url} failed the query (HTTP {exc.code}) - {detail}")
