"""A reader for the plain PDFs that sitegen's report wing writes: its page count and its summary.json, without pypdf.

pypdf parses a whole object graph in pure Python: about 0.6 ms per report PDF, most of a cold build at 10,000
reports, and 0.1 s just to import for one new night. The report wing (fpdf2) writes the simplest PDF there is:
one classic cross-reference table, no object streams, no encryption, a catalog whose /EmbeddedFiles name
tree lists one file. This module reads exactly that shape, following the PDF specification, and answers
`None` the moment a file is anything else (an incremental update, an xref stream, a name tree with kids, a
filter other than Flate, an offset that does not point at its object, ...): extract.py then reads it with
pypdf. So it never has to be right about a PDF it does not understand; where it answers, a test holds its
answer equal to pypdf's on every PDF the tests make or collect.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from sitegen import limits

_WHITE = b"\x00\t\n\x0c\r "
_W = rb"[\x00\t\n\x0c\r ]"  # white space (7.2.3)
_END = rb"(?=[\x00\t\n\x0c\r ()<>\[\]{}/%]|\Z)"  # where a number or a keyword must stop
# One token of a value, after any white space; the group that matched names its kind.
_TOKEN = re.compile(
    rb"%s*(?:" % _W
    + rb"(?P<ref>(?P<num>\d+)%s+(?P<gen>\d+)%s+R%s)" % (_W, _W, _END)
    + rb"|(?P<real>[+-]?(?:\d+\.\d*|\.\d+)%s)" % _END
    + rb"|(?P<int>[+-]?\d+%s)" % _END
    + rb"|/(?P<name>[^\x00\t\n\x0c\r ()<>\[\]{}/%]*)"
    + rb"|(?P<open><<|\[)|(?P<close>>>|\])"
    + rb"|<(?P<hex>[0-9A-Fa-f\x00\t\n\x0c\r ]*)>"
    + rb"|(?P<string>\()"
    + rb"|(?P<word>true|false|null)%s)" % _END
)
_OBJ_HEAD = re.compile(rb"[\x00\t\n\x0c\r ]*(\d+)[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+obj")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])[\r\n ]{2}")
_WHITE_RUN = re.compile(rb"[\x00\t\n\x0c\r ]*")
_STRING_STOP = re.compile(rb"[()\\\r]")
_ESCAPE = re.compile(rb"[0-7]{1,3}|[nrtbf()\\]")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}
_STREAM = re.compile(rb"[\x00\t\n\x0c\r ]*stream(?:\r\n|\n)")
_SECTION = re.compile(rb"(\d+) (\d+)[\r\n ]*")
# The last three lines, each on its own as pypdf reads them (backwards, line by line).
_STARTXREF = re.compile(rb"(?<=[\r\n])startxref(?:\r\n|\r|\n)(\d+)(?:\r\n|\r|\n)%%EOF[\r\n]*\Z")
_STREAM_END = re.compile(rb"[\r\n]{0,2}endstream")
_TAIL = 1024  # where startxref must be: within the file's last KiB, as pypdf also looks
_MAX_DEPTH = 32  # arrays and dictionaries nested deeper than this are not the simple shape
_MAX_OBJECTS = 16  # objects followed per file: the catalog, the page tree, the name tree, a file spec, a stream
_MAX_OBJECT_BYTES = 64 * 1024  # an object of the simple shape is a few hundred bytes (its stream's data aside)
_SUMMARY = b"summary.json"


class _NotSimple(Exception):
    """The file is not of the simple shape: pypdf reads it."""


@dataclass(frozen=True)
class _Ref:
    number: int
    generation: int


@dataclass(frozen=True)
class _Name:
    value: bytes


@dataclass(frozen=True)
class Quick:
    """What the quick reader found: the page tree's /Count and the summary.json attachment's bytes."""

    pages: int
    summary: bytes


def read(data: bytes) -> Quick | None:
    """The page count and summary.json of a PDF of the simple shape; None for every other file, and for one
    without that attachment (its card needs the metadata or the text of page 1: pypdf reads those)."""
    try:
        return _Reader(data).quick()
    except (_NotSimple, ValueError, IndexError, KeyError, TypeError, RecursionError, zlib.error):
        return None  # the errors are a damaged file's, which pypdf reads (or explains) instead


class _Reader:
    def __init__(self, data: bytes) -> None:
        if not data.startswith(b"%PDF-"):
            raise _NotSimple  # offsets count from the header: with bytes before it, pypdf guesses them
        self.data = data
        self.offsets: dict[int, tuple[int, int]] = {}  # object number -> (offset, generation)
        self.followed = 0
        self.trailer = self._xref()

    def quick(self) -> Quick:
        if set(self.trailer) - {b"Size", b"Root", b"Info", b"ID"}:
            raise _NotSimple  # /Encrypt, /Prev (an update), /XRefStm (a hybrid file): pypdf's job
        catalog = self._dict(self.trailer.get(b"Root"))
        pages = self._get(self._dict(catalog.get(b"Pages")).get(b"Count"))
        if type(pages) is not int or not 0 <= pages <= limits.PAGE_COUNT:
            raise _NotSimple
        return Quick(pages, self._summary(catalog))

    # --- the one attachment ---------------------------------------------------------------------

    def _summary(self, catalog: dict[bytes, object]) -> bytes:
        names = self._dict(catalog.get(b"Names"))
        tree = self._dict(names.get(b"EmbeddedFiles"))
        if set(tree) != {b"Names"}:
            raise _NotSimple  # /Kids, /Limits: a tree pypdf walks
        pairs = self._get(tree[b"Names"])
        if not isinstance(pairs, list) or len(pairs) != 2 or not isinstance(pairs[0], bytes):
            raise _NotSimple  # several files: which one pypdf lists first is its business
        spec = self._dict(pairs[1])
        # pypdf knows a file by its key in the tree and by the spec's /UF (else /F; a null one does not count).
        names_of_it = {_text(pairs[0])}
        for key in (b"UF", b"F"):
            alternative = self._get(spec.get(key))
            if alternative is not None:
                names_of_it.add(_text(alternative))
                break
        if _SUMMARY not in names_of_it:
            raise _NotSimple
        streams = self._dict(spec.get(b"EF"))
        return self._stream(streams[b"UF"] if b"UF" in streams else streams.get(b"F"))

    def _stream(self, ref: object) -> bytes:
        if not isinstance(ref, _Ref):
            raise _NotSimple
        head, at = self._object(ref)
        if not isinstance(head, dict):
            raise _NotSimple
        length = self._get(head.get(b"Length"))
        if type(length) is not int or length < 0 or set(head) - {b"Length", b"Filter", b"Params", b"Subtype", b"Type", b"DL"}:
            raise _NotSimple  # /DecodeParms, /F (an external file), ...
        start = _stream_start(self.data, at)
        raw = self.data[start : start + length]
        if len(raw) != length or not _STREAM_END.match(self.data, start + length, start + length + 11):
            raise _NotSimple  # a wrong /Length: pypdf has ways to find the end; leave it to them
        flate = self._get(head.get(b"Filter"))
        if flate is None:
            return raw
        if flate not in (_Name(b"FlateDecode"), [_Name(b"FlateDecode")]):
            raise _NotSimple
        inflate = zlib.decompressobj()
        out = inflate.decompress(raw, limits.SUMMARY_BYTES + 1)
        if len(out) > limits.SUMMARY_BYTES or not inflate.eof or inflate.unused_data:
            raise _NotSimple  # too big (the summary is refused, with a reason pypdf's path words), or not one whole stream
        return out

    # --- objects ----------------------------------------------------------------------------------

    def _get(self, value: object) -> object:
        """A value, with a reference followed to its object."""
        if isinstance(value, _Ref):
            value, _end = self._object(value)
        return value

    def _dict(self, value: object) -> dict[bytes, object]:
        value = self._get(value)
        if not isinstance(value, dict):
            raise _NotSimple
        return value

    def _object(self, ref: _Ref) -> tuple[object, int]:
        """The object `ref` names, and where its value ends."""
        self.followed += 1
        if self.followed > _MAX_OBJECTS or ref.number not in self.offsets:
            raise _NotSimple
        offset, generation = self.offsets[ref.number]
        head = _OBJ_HEAD.match(self.data, offset)
        if head is None or (int(head[1]), int(head[2])) != (ref.number, ref.generation) or generation != ref.generation:
            raise _NotSimple  # the table points elsewhere: pypdf would search for the object
        return _Parser(self.data, head.end()).value_and_end()

    # --- the cross-reference table ----------------------------------------------------------------

    def _xref(self) -> dict[bytes, object]:
        data = self.data
        tail = data[-_TAIL:]
        mark = tail.rfind(b"startxref")
        if mark < 0 or tail.count(b"startxref") != 1 or b"%%EOF" not in tail[mark:]:
            raise _NotSimple
        found = _STARTXREF.match(data, len(data) - len(tail) + mark)
        if found is None:
            raise _NotSimple
        at = int(found[1])
        if not data.startswith(b"xref", at):
            raise _NotSimple  # a cross-reference stream
        pos = _WHITE_RUN.match(data, at + 4).end()
        while True:
            section = _SECTION.match(data, pos)
            if section is None:
                break
            first, count = int(section[1]), int(section[2])
            pos = section.end()
            for number in range(first, first + count):
                entry = _XREF_ENTRY.match(data, pos)
                if entry is None:
                    raise _NotSimple
                if entry[3] == b"n":
                    self.offsets[number] = (int(entry[1]), int(entry[2]))
                pos = entry.end()
        if not data.startswith(b"trailer", pos):
            raise _NotSimple
        trailer, _end = _Parser(data, pos + 7).value_and_end()
        if not isinstance(trailer, dict):
            raise _NotSimple
        return trailer


class _Parser:
    """PDF values (ISO 32000-1, 7.3): numbers, names, strings, arrays, dictionaries, references, booleans, null.

    One regular expression finds each token, so a page tree's long /Kids array costs one match per item.
    """

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos
        self.limit = min(len(data), pos + _MAX_OBJECT_BYTES)

    def value_and_end(self) -> tuple[object, int]:
        value = self._value(self._next(), 0)
        return value, self.pos

    def _next(self) -> re.Match[bytes]:
        token = _TOKEN.match(self.data, self.pos, self.limit)
        if token is None:
            raise _NotSimple  # a comment, a keyword, a stray delimiter, or the end of the object's room
        self.pos = token.end()
        return token

    def _value(self, token: re.Match[bytes], depth: int) -> object:
        kind = token.lastgroup
        if kind == "ref":
            return _Ref(int(token["num"]), int(token["gen"]))
        if kind == "name":
            return _Name(_name(token["name"]))
        if kind == "int":
            return int(token["int"])
        if kind == "real":
            return float(token["real"])
        if kind == "open":
            if depth >= _MAX_DEPTH:
                raise _NotSimple
            return self._dict(depth + 1) if token["open"] == b"<<" else self._array(depth + 1)
        if kind == "hex":
            digits = token["hex"].translate(None, _WHITE)
            return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())
        if kind == "string":
            return self._string()
        if kind == "word":
            word = token["word"]
            return None if word == b"null" else word == b"true"
        raise _NotSimple  # `]` or `>>` where a value should be

    def _array(self, depth: int) -> list[object]:
        items = []
        while True:
            token = self._next()
            if token.lastgroup == "close" and token["close"] == b"]":
                return items
            items.append(self._value(token, depth))

    def _dict(self, depth: int) -> dict[bytes, object]:
        out: dict[bytes, object] = {}
        while True:
            token = self._next()
            if token.lastgroup == "close" and token["close"] == b">>":
                return out
            if token.lastgroup != "name":
                raise _NotSimple
            key = _name(token["name"])
            if key in out:
                raise _NotSimple  # a repeated key: which one wins is pypdf's rule
            out[key] = self._value(self._next(), depth)

    def _string(self) -> bytes | _Escaped:
        """A literal string (7.3.4.2): balanced parentheses, backslash escapes, octal codes (pypdf writes `.` as `\056`).

        Only file names are ever compared, so the two rules whose reading varies between readers are not copied:
        a string with a line continuation, an unknown escape or a raw carriage return is found to its end, not read.
        """
        data, pos, limit = self.data, self.pos, self.limit
        out = bytearray()
        depth, plain = 1, True
        while True:
            found = _STRING_STOP.search(data, pos, limit)
            if found is None:
                raise _NotSimple
            out += data[pos : found.start()]
            stop, pos = found[0], found.end()
            if stop == b"\\":
                escape = _ESCAPE.match(data, pos, limit)
                if escape is None:
                    plain, pos = False, pos + 1
                    continue
                code = escape[0]
                out += bytes([int(code, 8) & 0xFF]) if code[0] in b"01234567" else _ESCAPES[code]
                pos = escape.end()
                continue
            if stop == b"\r":
                plain = False
            else:
                depth += 1 if stop == b"(" else -1
                if not depth:
                    self.pos = pos
                    return bytes(out) if plain else _Escaped()
            out += stop


class _Escaped:
    """A literal string holding an escape or a carriage return, which no file name of the simple shape has."""


def _name(raw: bytes) -> bytes:
    """A name's bytes, its #xx escapes decoded (7.3.5); a `#` without two hex digits is not simple."""
    if b"#" not in raw:
        return raw
    parts = raw.split(b"#")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) < 2 or not re.fullmatch(rb"[0-9A-Fa-f]{2}", part[:2]):
            raise _NotSimple
        out.append(int(part[:2], 16))
        out += part[2:]
    return bytes(out)


def _text(value: object) -> bytes:
    """A file name from the name tree or a file spec, when it is plain ASCII (which reads the same in every PDF
    text encoding); anything else is for pypdf's decoding rules."""
    if not isinstance(value, bytes) or not all(0x20 <= b < 0x7F for b in value):
        raise _NotSimple
    return value


def _stream_start(data: bytes, at: int) -> int:
    """Where a stream's bytes begin: after `stream` and its end of line (CRLF or LF, as 7.3.8.1 says)."""
    found = _STREAM.match(data, at)
    if found is None:
        raise _NotSimple
    return found.end()
