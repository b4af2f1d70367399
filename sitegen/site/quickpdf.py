"""A reader for the plain PDFs that sitegen's report wing writes: its page count and its summary.json, without pypdf.

pypdf parses a whole object graph in pure Python: about 0.4-0.8 ms per report PDF, most of a cold build at 10,000
reports, and 0.1 s just to import for one new night. The report wing (fpdf2) writes the simplest PDF there is:
one classic cross-reference table, no object streams, no encryption, a catalog whose /EmbeddedFiles name tree
lists one file. This module reads exactly that shape and answers `None` the moment a file is anything else: an
appended update, an xref stream, a name tree with kids, a filter other than Flate, an object not where the
table says; extract.py then reads the file with pypdf.

The aim is pypdf's reading, not the specification's: where the two part (NUL and vertical tab, which pypdf does
not take for white space everywhere; references it looks for only 20 bytes ahead; octal escapes over 255; a root
that is not a /Catalog, which pypdf replaces by searching), this reader gives up too. A test holds its answers
equal to pypdf's on every PDF the tests make or collect and on fuzzed variants.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from sitegen import limits

# White space as every pypdf path agrees on it. NUL and vertical tab are white space to the specification, but pypdf
# keeps NUL inside names and between a reference's numbers and stops at a vertical tab: bytes this reader gives up on.
_W = rb"[\t\n\x0c\r ]"
_WHITE = b"\t\n\x0c\r "
_END = rb"(?=[\t\n\x0c\r ()<>\[\]{}/%]|\Z)"  # where a number or a keyword must stop
# One token of a value, after any white space; the group that matched names its kind.
_TOKEN = re.compile(
    rb"%s*(?:" % _W
    + rb"(?P<ref>(?P<num>\d+)%s+(?P<gen>\d+)%s+R%s)" % (_W, _W, _END)
    + rb"|(?P<real>[+-]?(?:\d+\.\d*|\.\d+)%s)" % _END
    + rb"|(?P<int>[+-]?\d+%s)" % _END
    + rb"|/(?P<name>[^\x00\x0b\t\n\x0c\r ()<>\[\]{}/%]*)"
    + rb"|(?P<open><<|\[)|(?P<close>>>|\])"
    + rb"|<(?P<hex>[0-9A-Fa-f\t\n\x0c\r ]*)>"
    + rb"|(?P<string>\()"
    + rb"|(?P<word>true|false|null)%s)" % _END
)
_REF_PEEK = 20  # pypdf tells a reference from a number by looking this many bytes ahead for `N G R`
_OBJ_HEAD = re.compile(rb"%s*(\d+)%s+(\d+)%s+obj" % (_W, _W, _W))
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?: \r| \n|\r\n)")  # 20 bytes each (7.5.4)
# Possessive (`*+`): a plain `*` keeps a backtracking record per entry, 1.4 GB for a 120 MB table.
_XREF_ENTRIES = re.compile(rb"(?:\d{10} \d{5} [nf](?: \r| \n|\r\n))*+")
_XREF_SECTION = re.compile(rb"xref%s+0 (\d+)%s+" % (_W, _W))
_STRING_STOP = re.compile(rb"[()\\\r]")
_ESCAPE = re.compile(rb"[0-7]{1,3}|[nrtbf()\\]")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}
_STREAM = re.compile(rb"%s*stream(?:\r\n|\n)" % _W)
# The last three lines, each on its own as pypdf reads them (backwards, line by line).
_STARTXREF = re.compile(rb"(?<=[\r\n])startxref(?:\r\n|\r|\n)(\d+)(?:\r\n|\r|\n)%%EOF[\r\n]*\Z")
_STREAM_END = re.compile(rb"[\r\n]{0,2}endstream")
_TAIL = 1024  # where startxref must be: in the file's last KiB (the writer's own trailer; pypdf looks further)
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
    except (_NotSimple, ValueError, RecursionError, zlib.error):
        return None  # a damaged or unusual file, which pypdf reads (or explains) instead


class _Reader:
    def __init__(self, data: bytes) -> None:
        if not data.startswith(b"%PDF-"):
            raise _NotSimple  # offsets count from the header: with bytes before it, pypdf guesses them
        self.data = data
        self.table = self.count = 0  # where the xref table's entries start, and how many there are
        self.followed = 0
        self.trailer = self._xref()

    def quick(self) -> Quick:
        catalog = self._dict(self.trailer.get(b"Root"))
        if catalog.get(b"Type") != _Name(b"Catalog"):
            raise _NotSimple  # pypdf then searches the file for a catalog
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
        if b"Filter" not in head:
            return raw
        flate = self._get(head[b"Filter"])
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
        if self.followed > _MAX_OBJECTS:
            raise _NotSimple
        offset, generation = self._offset(ref.number)
        head = _OBJ_HEAD.match(self.data, offset)
        if head is None or (int(head[1]), int(head[2])) != (ref.number, ref.generation) or generation != ref.generation:
            raise _NotSimple  # the table points elsewhere: pypdf would search for the object
        return _Parser(self.data, head.end()).value_and_end()

    # --- the cross-reference table ----------------------------------------------------------------

    def _xref(self) -> dict[bytes, object]:
        """The trailer; the table's entries are looked up when an object is asked for (`_offset`)."""
        data = self.data
        tail = data[-_TAIL:]
        mark = tail.rfind(b"startxref")
        if mark < 0 or tail.count(b"startxref") != 1:
            raise _NotSimple
        found = _STARTXREF.match(data, len(data) - len(tail) + mark)
        if found is None:
            raise _NotSimple
        # One subsection, from object 0, of 20-byte entries: what a writer of the whole file makes. Several
        # subsections (an object listed twice, a table from 1 that pypdf renumbers) are pypdf's to read.
        start = int(found[1])
        section = _XREF_SECTION.match(data, start) if start < len(data) else None
        if section is None:
            raise _NotSimple  # a cross-reference stream, or a table of another shape
        self.table, self.count = section.end(), int(section[1])
        at = self.table + 20 * self.count
        # Every entry well formed (pypdf reads them all, and stops at a bad one), checked in one pass of the regex engine.
        if at > len(data) or _XREF_ENTRIES.match(data, self.table, at).end() != at or not data.startswith(b"trailer", at):
            raise _NotSimple
        trailer, _end = _Parser(data, at + 7).value_and_end()
        if not isinstance(trailer, dict) or set(trailer) - {b"Size", b"Root", b"Info", b"ID"} or trailer.get(b"Size") != self.count:
            raise _NotSimple  # /Encrypt, /Prev (an update), /XRefStm (a hybrid file): pypdf's job
        return trailer

    def _offset(self, number: int) -> tuple[int, int]:
        """(offset, generation) of an object in use, from its entry in the table."""
        if not 0 < number < self.count:
            raise _NotSimple
        entry = _XREF_ENTRY.match(self.data, self.table + 20 * number)
        if entry is None or entry[3] != b"n":
            raise _NotSimple
        return int(entry[1]), int(entry[2])


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
            if token.end() - token.start("ref") >= _REF_PEEK:
                raise _NotSimple  # pypdf would read a number, not a reference
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
                if code[0] in b"01234567":
                    if int(code, 8) > 0xFF:
                        raise _NotSimple  # pypdf keeps such an escape as it stands
                    out.append(int(code, 8))
                else:
                    out += _ESCAPES[code]
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
