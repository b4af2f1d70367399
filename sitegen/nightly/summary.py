"""The summary.json attachment: build it for tonight, and read last night's for NEW signatures."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from pathlib import Path
from typing import Any

from sitegen import limits
from sitegen.model import MAX_SIGNATURE_TEXT, MAX_SUMMARY_SIGNATURES, SUMMARY_ATTACHMENT, SignatureSummary, Summary, parse_report_name
from sitegen.nightly.records import Injection, NightReport, Signature

log = logging.getLogger(__name__)

MAX_MESSAGE = 200


def _number(value: Any) -> float | int | None:
    """JSON has no NaN or Infinity: such values are left out rather than written as invalid JSON."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float):
        # Cards show a few digits; 6821.129999999999 is float noise, not information.
        value = round(value, 3)
        return int(value) if value.is_integer() else value
    return value


def _time(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _injection(inj: Injection, with_logs: bool) -> dict[str, Any]:
    w = inj.window
    return {
        "start": _time(w.start),
        "end": _time(w.end),
        "name": w.name,
        "kind": w.kind,
        "baseline": _number(inj.baseline),
        "minimum": _number(inj.minimum),
        "drop_pct": _number(inj.drop_pct),
        "ttr_s": _number(inj.ttr_s),
        "recovered_at": _time(inj.recovered_at),
        "errors": inj.errors if with_logs else None,  # without logs the count is unknown, not zero
    }


def signature_summary(sig: Signature) -> SignatureSummary:
    """A signature as summary.json carries it (model.SignatureSummary)."""
    from sitegen.nightly.headline import cut

    return SignatureSummary(
        key=sig.key,
        level=sig.level,
        count=sig.count,
        new=sig.new,
        kind=sig.kind,
        component=sig.component,
        message=cut((sig.message or sig.pattern).strip().split("\n", 1)[0], MAX_MESSAGE),
        pattern=sig.pattern[:MAX_SIGNATURE_TEXT],
        first_seen=_time(sig.first_seen),
        last_seen=_time(sig.last_seen),
    )


def build_summary(report: NightReport) -> dict[str, Any]:
    """The summary.json object (schema 1) for a night; it parses with model.Summary.from_json_obj.

    Signatures are listed in rank order and at most MAX_SUMMARY_SIGNATURES of them (the PDF lists all).
    """
    metrics = {k: n for k, v in sorted(report.metrics.items()) if (n := _number(v)) is not None}
    summary = Summary(
        date=report.night.isoformat(),
        status=report.verdict.status,
        title=report.title,
        headline=report.headline,
        suite=report.suite or None,
        metrics=metrics,
        signatures=tuple(signature_summary(s) for s in report.signatures[:MAX_SUMMARY_SIGNATURES]),
    )
    obj = summary.to_json_obj()
    obj["rules_fired"] = [
        {"rule": r.rule, "metric": r.metric, "value": _number(r.value)} for r in report.verdict.fired
    ]
    obj["rules"] = [
        {"rule": r.rule, "metric": r.metric, "value": _number(r.value), "fired": r.fired} for r in report.verdict.results
    ]
    # The first SUMMARY_INJECTIONS by time (metrics.injections has the count): the site reads at most 1 MB of summary.
    obj["injections"] = [_injection(i, report.logs is not None) for i in report.injections[: limits.SUMMARY_INJECTIONS]]
    obj["notes"] = list(report.notes)
    return obj


def encode_summary(obj: dict[str, Any]) -> bytes:
    """UTF-8 JSON; dicts keep their insertion order, so the same night always gives the same bytes."""
    return (json.dumps(obj, ensure_ascii=False, indent=1, allow_nan=False) + "\n").encode("utf-8")


def read_attachment(path: Path) -> Summary | None:
    """The summary.json attached to a report PDF; None (and a warning) when it cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        payloads = reader.attachments.get(SUMMARY_ATTACHMENT)
        if not payloads:
            log.warning("%s: no %s attachment", path, SUMMARY_ATTACHMENT)
            return None
        summary = Summary.from_json_bytes(payloads[0])
    except (OSError, PyPdfError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: cannot read its %s (%s)", path, SUMMARY_ATTACHMENT, exc)
        return None
    return summary


def reports_of_night(folder: Path, date: dt.date) -> list[Path]:
    """The report files in `folder` for one night (any status), sorted; empty when the folder does not exist."""
    if not folder.is_dir():
        return []
    return sorted(
        entry for entry in folder.iterdir() if entry.is_file() and (p := parse_report_name(entry.name)) is not None and p.date == date
    )


def previous_report(folder: Path, night: dt.date) -> Path | None:
    """Last night's report in the same suite folder (any status); the newest file if there are several."""
    found = reports_of_night(folder, night - dt.timedelta(days=1))
    if not found:
        return None
    return max(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def previous_keys(folder: Path, night: dt.date, *, shown_as: str | None = None) -> tuple[set[str] | None, str]:
    """Signature keys of last night's report, and a sentence saying where they came from (`shown_as` names the folder)."""
    path = previous_report(folder, night)
    if path is None:
        where = shown_as or str(folder)
        return None, f"no report for {night - dt.timedelta(days=1)} in {where}, so no signature is marked NEW"
    summary = read_attachment(path)
    if summary is None:
        return None, f"the previous night's report {path.name} has no readable summary.json, so no signature is marked NEW"
    if summary.signatures is None:
        return None, f"the previous night's report {path.name} lists no signatures, so no signature is marked NEW"
    keys = {s.key for s in summary.signatures}
    return keys, f"NEW compares with {path.name} ({len(keys)} signature(s))"
