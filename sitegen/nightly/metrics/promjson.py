"""Turn a Prometheus /api/v1/query_range JSON answer into a Series, shared by metrics files and the live query."""

from __future__ import annotations

import logging
from typing import Any

from sitegen.errors import UsageError
from sitegen.nightly.metrics.series import make_series, number
from sitegen.nightly.records import Series

log = logging.getLogger(__name__)


def parse_query_range(data: Any, *, source: str, combine: str = "sum") -> Series:
    """A Series from a decoded /api/v1/query_range response; several series are summed per timestamp or the first taken."""
    if not isinstance(data, dict) or "status" not in data:
        raise UsageError(f"{source}: JSON is not a Prometheus API response (no 'status' key)")
    if data["status"] != "success":
        raise UsageError(
            f"{source}: Prometheus answered with an error ({data.get('errorType', 'unknown')}): {data.get('error', '(no message)')}"
        )
    for warning in data.get("warnings") or []:
        log.warning("%s: Prometheus warning: %s", source, warning)
    body = data.get("data") or {}
    if body.get("resultType") != "matrix":
        raise UsageError(f"{source}: result type is {body.get('resultType')!r}, not 'matrix'; use a range query (/api/v1/query_range)")
    result = body.get("result") or []
    if not result:
        raise UsageError(f"{source}: the query returned no series (check the metric name and the time range)")
    if combine not in ("sum", "first"):
        raise UsageError(f"unknown way to combine series {combine!r}: use 'sum' or 'first'")
    chosen = result if combine == "sum" else result[:1]
    total: dict[float, float | None] = {}
    for series in chosen:
        for t, raw in series.get("values") or []:
            t = float(t)
            value = number(str(raw))
            if t in total:
                prev = total[t]
                total[t] = None if prev is None or value is None else prev + value
            else:
                total[t] = value
    labels = _labels(chosen[0].get("metric") or {})
    if len(result) == 1:
        how = f"1 series {labels}"
    elif combine == "sum":
        how = f"summed {len(result)} series"
    else:
        how = f"first of {len(result)} series: {labels}"
    points = sorted(total.items())
    return make_series("value", "", f"Prometheus {source} ({how})", points, {})


def _labels(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}"
