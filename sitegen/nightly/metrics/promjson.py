"""Turn a Prometheus /api/v1/query_range JSON answer into a Series, shared by metrics files and the live query."""

from __future__ import annotations

import logging
from typing import Any

from sitegen import limits
from sitegen.errors import UsageError
from sitegen.nightly.metrics.series import make_series, number
from sitegen.nightly.records import Series

log = logging.getLogger(__name__)


def parse_query_range(data: Any, *, source: str, combine: str = "sum") -> Series:
    """A Series from a decoded /api/v1/query_range response; several series are summed per timestamp or the first taken."""
    if not isinstance(data, dict) or "status" not in data:
        raise UsageError(f"{source}: JSON is not a Prometheus API response (no 'status' key)")
    if data["status"] != "success":
        error_type, error = (limits.short_text(data.get(k, d)) for k, d in (("errorType", "unknown"), ("error", "(no message)")))
        raise UsageError(f"{source}: Prometheus answered with an error ({error_type}): {error}")
    warnings = data.get("warnings")
    for warning in warnings if isinstance(warnings, list) else []:
        log.warning("%s: Prometheus warning: %s", source, limits.short_text(warning))
    body = data.get("data")
    body = body if isinstance(body, dict) else {}
    if body.get("resultType") != "matrix":
        kind = limits.short_repr(body.get("resultType"))
        raise UsageError(f"{source}: result type is {kind}, not 'matrix'; use a range query (/api/v1/query_range)")
    result = body.get("result")
    if not isinstance(result, list) or not all(isinstance(series, dict) for series in result):
        raise UsageError(f"{source}: data.result is not a list of series")
    if not result:
        raise UsageError(f"{source}: the query returned no series (check the metric name and the time range)")
    if combine not in ("sum", "first"):
        raise UsageError(f"unknown way to combine series {combine!r}: use 'sum' or 'first'")
    chosen = result if combine == "sum" else result[:1]
    total: dict[float, float | None] = {}
    for i, series in enumerate(chosen):
        values = series.get("values")
        if not isinstance(values, list):
            raise UsageError(f"{source}: series {i + 1} has no 'values' list")
        for sample in values:
            # Each sample is [epoch seconds, "value"]; anything else means this is not Prometheus' answer.
            t = number(str(sample[0])) if isinstance(sample, list) and len(sample) == 2 else None
            if t is None or isinstance(sample[0], bool):
                raise UsageError(f"{source}: series {i + 1}: sample {limits.short_repr(sample)} is not [time, \"value\"]")
            raw = sample[1]
            value = number(str(raw)) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else None
            if t in total:
                prev = total[t]
                total[t] = None if prev is None or value is None else prev + value
            else:
                total[t] = value
    metric = chosen[0].get("metric")
    labels = _labels(metric if isinstance(metric, dict) else {})
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
    text = f"{name}{{{rest}}}"
    return text if len(text) <= 200 else text[:199] + "…"
