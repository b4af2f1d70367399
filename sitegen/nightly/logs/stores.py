"""Exports of a log store as --logs inputs: Loki's `logcli query --output=jsonl` and Elasticsearch/OpenSearch hits.

Such a file mixes every pod of the night, one entry per line of log, often newest first. It is split
here into one stream per pod and container (taken from the entry's labels or Kubernetes fields), each
in time order and each line stamped with the store's time the way `kubectl logs --timestamps` does,
so the reader sees what `sitegen collect` would have written: `POD/CONTAINER` with stamped lines.

Recognised by their content, whatever the file is called (gzip too):
- logcli jsonl: `{"labels": {"pod": ..., "container": ...}, "line": ..., "timestamp": ...}` per line;
- Elasticsearch/OpenSearch: a `_search` response (or several, as a scroll writes them), a JSON array
  of hits, or one hit (`{"_source": ...}`) or one document per line (elasticdump, `jq -c`), with the
  Fluent Bit/Fluentd (`kubernetes.pod_name`, `log`) or Filebeat/ECS (`kubernetes.pod.name`,
  `message`) fields.
`logcli --output=raw` prints the lines alone, with no labels and no time: it is read as any plain
log, named by its file (export it with --forward, since logcli writes newest first by default).

The streams are spooled to a temporary folder removed when the process ends: about the export's
size on disk, and memory bounded by MAX_JSON_BYTES (a whole-document response) and MAX_SORT_LINES.
"""

from __future__ import annotations

import atexit
import gzip
import json
import logging
import re
import shutil
import tempfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sitegen.errors import UsageError
from sitegen.nightly.files import GZIP_MAGIC
from sitegen.nightly.kube import NAME_RE, line_time_ns, stamp
from sitegen.nightly.logs.inputs import Source

log = logging.getLogger(__name__)

SNIFF_BYTES = 64 * 1024
MAX_JSON_LINE = 16 * 1024 * 1024  # one jsonl entry; longer ones are skipped and counted
MAX_JSON_BYTES = 256 * 1024 * 1024  # a _search response is parsed whole: bigger ones must be exported one hit per line
MAX_SORT_LINES = 2_000_000  # a stream not in time order either way is sorted in memory up to this many lines
MAX_STREAMS = 10_000
OPEN_FILES = 64
REVERSE_BLOCK = 1 << 20

POD_LABELS = ("pod", "pod_name", "kubernetes_pod_name", "k8s_pod_name")
CONTAINER_LABELS = ("container", "container_name", "kubernetes_container_name", "k8s_container_name")
POD_FIELDS = ("kubernetes.pod_name", "kubernetes.pod.name", "k8s.pod.name", "kubernetes_pod_name")
CONTAINER_FIELDS = ("kubernetes.container_name", "kubernetes.container.name", "k8s.container.name", "kubernetes_container_name")
LINE_FIELDS = ("log", "message", "msg")
TIME_FIELDS = ("@timestamp", "timestamp", "time")
_ARRAY_OF_OBJECTS_RE = re.compile(r"^\[\s*\{")
_HITS_RE = re.compile(r'^\s*\{.{0,8192}?"hits"\s*:\s*\{', re.DOTALL)
_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One log line of a store: when, which pod and container, and the line itself."""

    ns: int | None
    pod: str | None
    container: str | None
    line: str


def kind_of(path: Path) -> str | None:
    """`logcli`, `es-lines` (a hit or a document per line), `es-json` (responses or an array), or None (a plain log)."""
    try:
        with _open(path) as fh:
            head = fh.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error):
        return None  # the reader reports it
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("["):
        # An array of hits, `[{"_index": ..., "_source": {...}}, ...]`; a unified log line starts `[2021/...`.
        return "es-json" if _ARRAY_OF_OBJECTS_RE.match(stripped) and '"_source"' in stripped else None
    if not stripped.startswith("{"):
        return None
    first = stripped.split("\n", 1)[0]
    try:
        obj = json.loads(first)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder goes: a plain log line
        obj = None
    if isinstance(obj, dict):
        if isinstance(obj.get("line"), str) and "timestamp" in obj and (
            isinstance(obj.get("labels"), dict) or set(obj) <= {"line", "timestamp", "labels"}
        ):
            return "logcli"
        if isinstance(obj.get("_source"), dict):
            return "es-lines"
        hits = obj.get("hits")
        if isinstance(hits, dict) and isinstance(hits.get("hits"), list):  # a _search response: hits.hits
            return "es-json"
        if isinstance(obj.get("kubernetes"), dict) and any(isinstance(obj.get(k), str) for k in LINE_FIELDS):
            return "es-lines"
        return None
    return "es-json" if _HITS_RE.match(stripped) else None


def split_exports(sources: list[Source]) -> list[Source]:
    """Each log-store export replaced by its streams, one per pod and container; other sources as they are."""
    out: list[Source] = []
    spool: _Spool | None = None
    for source in sources:
        kind = kind_of(source.path) if source.path is not None else None
        if kind is None:
            out.append(source)
            continue
        spool = spool or _Spool()
        assert source.path is not None
        before = spool.entries
        try:
            spool.add(source, _entries(source, kind))
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # a cut or corrupt .gz: what was read before it is kept
            log.warning("log input %s: reading stopped after %d entries: %s", source.name, spool.entries - before, exc)
        if spool.entries == before:
            # Looked like an export but held no entry of one: read it as the log it may be, so no line is lost.
            log.warning(
                "log input %s: looks like a %s export but holds no entry of one; read as a plain log", source.name, _KIND_NAMES[kind]
            )
            out.append(source)
            continue
        log.info("log input %s: a %s export, %d entries", source.name, _KIND_NAMES[kind], spool.entries - before)
    if spool is not None:
        out.extend(spool.finish())
    return out


_KIND_NAMES = {"logcli": "logcli jsonl", "es-lines": "Elasticsearch hits", "es-json": "Elasticsearch _search"}


# --- reading the exports ------------------------------------------------------------------


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as fh:
        gz = fh.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gz else open(path, "rb")  # the caller closes it


def _entries(source: Source, kind: str) -> Iterator[Entry]:
    assert source.path is not None
    if kind == "es-json":
        yield from _es_documents(source)
        return
    with _open(source.path) as fh:
        for number, raw in enumerate(_lines(fh), 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                log.debug("%s line %d is not a JSON object; skipped", source.name, number)
                continue
            entry = _logcli_entry(obj) if kind == "logcli" else _hit_entry(obj)
            if entry is not None:
                yield entry


def _lines(fh: IO[bytes]) -> Iterator[bytes]:
    """Lines of at most MAX_JSON_LINE bytes; a longer one is skipped whole."""
    while True:
        line = fh.readline(MAX_JSON_LINE + 1)
        if not line:
            return
        if len(line) > MAX_JSON_LINE and not line.endswith(b"\n"):
            while (more := fh.readline(1 << 20)) and not more.endswith(b"\n"):
                pass
            log.warning("a JSON line of more than %d bytes was skipped", MAX_JSON_LINE)
            continue
        yield line


def _es_documents(source: Source) -> Iterator[Entry]:
    """Hits of a _search response, of several glued together (scroll pages), or of a JSON array of hits."""
    assert source.path is not None
    with _open(source.path) as fh:
        data = fh.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise UsageError(
            f"--logs {source.name}: an Elasticsearch response of more than {_size(MAX_JSON_BYTES)} is read whole; "
            "export the hits one per line instead (for example with elasticdump, or jq -c '.hits.hits[]')"
        )
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"--logs {source.name}: not a readable Elasticsearch export: {exc}") from None
        hits = doc if isinstance(doc, list) else ((doc.get("hits") or {}).get("hits") if isinstance(doc, dict) else None)
        for hit in hits if isinstance(hits, list) else []:
            entry = _hit_entry(hit) if isinstance(hit, dict) else None
            if entry is not None:
                yield entry


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MB" if n >= 1 << 20 else f"{n:,} bytes"


def _logcli_entry(obj: dict[str, Any]) -> Entry | None:
    line = obj.get("line")
    if not isinstance(line, str):
        return None
    labels = obj.get("labels") if isinstance(obj.get("labels"), dict) else {}
    return Entry(_time(obj.get("timestamp")), _first(labels, POD_LABELS), _first(labels, CONTAINER_LABELS), line)


def _hit_entry(hit: dict[str, Any]) -> Entry | None:
    doc = hit.get("_source") if isinstance(hit.get("_source"), dict) else hit
    line = next((v for k in LINE_FIELDS if isinstance(v := _field(doc, k), str)), None)
    if line is None:
        return None
    when = next((t for k in TIME_FIELDS if (t := _time(_field(doc, k))) is not None), None)
    pod = next((v for k in POD_FIELDS if isinstance(v := _field(doc, k), str)), None)
    container = next((v for k in CONTAINER_FIELDS if isinstance(v := _field(doc, k), str)), None)
    return Entry(when, pod, container, line)


def _field(doc: dict[str, Any], dotted: str) -> Any:
    """`a.b.c` nested, or a flat key holding the dots (both are how Elasticsearch documents arrive)."""
    if dotted in doc:
        return doc[dotted]
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _first(labels: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((v for k in keys if isinstance(v := labels.get(k), str) and v), None)


def _time(value: Any) -> int | None:
    """Nanoseconds of an RFC 3339 time, or of epoch seconds/milliseconds/nanoseconds (as stores write them)."""
    if isinstance(value, str):
        if value.isdigit():
            value = int(value)
        else:
            return line_time_ns(value.strip().replace(" ", "T", 1).encode() + b" ")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value > 1e17:
        return int(value)  # nanoseconds (Loki's own API)
    if value > 1e11:
        return int(value * 1_000_000)  # milliseconds (epoch_millis in Elasticsearch)
    return int(value * 1_000_000_000)


# --- one file per stream, in time order ---------------------------------------------------


@dataclass
class _Stream:
    name: str
    path: Path
    lines: int = 0
    last: int | None = None
    ascending: bool = True
    descending: bool = True


@dataclass
class _Spool:
    """The streams of every export given, written to a temporary folder that goes away with the process."""

    folder: Path = field(default_factory=lambda: _temp_folder())
    streams: dict[str, _Stream] = field(default_factory=dict)
    files: OrderedDict[str, IO[bytes]] = field(default_factory=OrderedDict)
    entries: int = 0

    def add(self, source: Source, entries: Iterator[Entry]) -> None:
        fallback = Path(source.name).name
        for entry in entries:
            self.entries += 1
            if entry.pod and entry.container and NAME_RE.match(entry.pod) and NAME_RE.match(entry.container):
                name = f"{entry.pod}/{entry.container}"
            elif entry.pod and NAME_RE.match(entry.pod):
                name = entry.pod
            else:
                name = fallback  # no labels (logcli --no-labels): the export is one stream, named by its file
            stream = self.streams.get(name)
            if stream is None:
                if len(self.streams) >= MAX_STREAMS:
                    raise UsageError(f"--logs {source.name}: more than {MAX_STREAMS} pod/container streams in the exports")
                stream = self.streams[name] = _Stream(name, self.folder / f"{len(self.streams):05d}-{_SAFE_RE.sub('_', name)}.log")
            self._write(stream, entry)

    def _write(self, stream: _Stream, entry: Entry) -> None:
        fh = self.files.get(stream.name)
        if fh is None:
            if len(self.files) >= OPEN_FILES:
                _name, old = self.files.popitem(last=False)
                old.close()
            fh = self.files[stream.name] = open(stream.path, "ab")  # noqa: SIM115 - closed in finish()
        else:
            self.files.move_to_end(stream.name)
        ns = entry.ns
        if ns is not None and stream.last is not None:
            stream.ascending &= ns >= stream.last
            stream.descending &= ns <= stream.last
        if ns is not None:
            stream.last = ns
        prefix = f"{stamp(ns)} " if ns is not None else ""
        # A store entry may hold several lines (a multi-line parser joined a panic): each gets the stamp.
        text = entry.line[:-1] if entry.line.endswith("\n") else entry.line
        for part in text.split("\n"):
            fh.write((prefix + part.rstrip("\r") + "\n").encode("utf-8", "replace"))
            stream.lines += 1

    def finish(self) -> list[Source]:
        for fh in self.files.values():
            fh.close()
        self.files.clear()
        out = []
        for stream in self.streams.values():
            if not stream.ascending:
                if stream.descending:
                    _reverse(stream.path)  # logcli's default, and `"sort": [{"@timestamp": "desc"}]`
                else:
                    _sort(stream)
            out.append(Source(stream.name, stream.path))
        return out


def _temp_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="sitegen-logs-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _reverse(path: Path) -> None:
    """Rewrite the file with its lines in reverse order, reading it backwards a block at a time."""
    target = path.with_name(path.name + ".rev")
    with open(path, "rb") as fh, open(target, "wb") as out:
        pos = fh.seek(0, 2)
        tail = b""
        while pos > 0:
            step = min(REVERSE_BLOCK, pos)
            pos -= step
            fh.seek(pos)
            parts = (fh.read(step) + tail).split(b"\n")
            tail = parts[0]
            for line in reversed(parts[1:]):
                if line:
                    out.write(line + b"\n")
        if tail:
            out.write(tail + b"\n")
    target.replace(path)


def _sort(stream: _Stream) -> None:
    """A stream in no time order (hits sorted by score): sorted by the store's time, in memory, up to a limit."""
    if stream.lines > MAX_SORT_LINES:
        raise UsageError(
            f"--logs: the entries of {stream.name} are in no time order and are more than {MAX_SORT_LINES:,} lines; "
            "export them sorted by time (logcli --forward, or \"sort\": [{\"@timestamp\": \"asc\"}])"
        )
    with open(stream.path, "rb") as fh:
        lines = fh.readlines()
    lines.sort(key=lambda line: line_time_ns(line) or 0)  # stable: lines of one entry keep their order
    with open(stream.path, "wb") as out:
        out.writelines(lines)

