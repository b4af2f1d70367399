"""The hostile corpus: every case is made by code here, from a handful of base PDFs, into its own folder.

Each case is what a nightly job gone wrong, or a stranger, could put in front of sitegen: a reports
folder (`build`), a config file (`config`), report inputs (`report`). Its `cls` is the class of issue
#11 it belongs to (1-6; 7 is the dev server, in test_corpus.py; "ok" for attacks that already failed
before the issue was filed). A case says what must come out: the exit codes allowed, the reports that
must be on the site (`valid`, by source path), and words the message must hold.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.pdf_factory import make_pdf

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "night-2021-07-09"
BASE_URL = "https://chaos.example.org/sub/"
# If any of this reaches a page unescaped, the HTML parser sees an <x-pwn> element, an on* handler,
# a javascript: URL or a script holding "pwn": test_corpus looks for exactly those.
PAYLOAD = '<x-pwn a="1">"\'&amp;</x-pwn><script>pwn()</script><img src=x onerror=pwn()>javascript:pwn() ]]>'
# A folder or file name can hold everything but '/' and NUL.
NAME_PAYLOAD = "<x-pwn>\"'&;javascript:pwn()"
CONTROLS = "".join(map(chr, range(1, 32))) + "\x7f\x85\x9f\ufffe\uffff"
SUMMARY = {"schema": 1, "date": "2021-07-09", "status": "bad", "title": "Nightly chaos report", "headline": "TiKV panicked."}


@dataclass
class Case:
    name: str
    cls: str  # "1".."6" as in issue #11, or "ok"
    kind: str  # build | config | report
    make: Callable[[Path], None]  # fills the case folder (reports/, in/, config files)
    args: list[str] = field(default_factory=list)  # after the command's standard arguments
    exit: tuple[int, ...] = (0,)
    valid: tuple[str, ...] = ()  # build: report sources that must have a page and a PDF
    says: str = ""  # words the output (stderr + stdout) must hold
    seconds: float = 15.0  # what the case may take (its timeout is twice this)
    skip: str = ""  # why the case cannot run here ("" when it can)

    @property
    def id(self) -> str:
        return f"{self.cls}-{self.name}"


# --- PDFs --------------------------------------------------------------------------------------

_BASE: dict[str, bytes] = {}


def base_pdf() -> bytes:
    """A plain three-page report (made once; every variant is derived from it with pypdf)."""
    if "plain" not in _BASE:
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"sitegen-corpus-{os.getpid()}.pdf"
        make_pdf(tmp, pages=["Nightly chaos report", "Signatures", "Appendix"])
        _BASE["plain"] = tmp.read_bytes()
        tmp.unlink()
    return _BASE["plain"]


def pdf(*, meta: dict | None = None, summary: dict | None = None, raw: bytes | None = None, name: str = "summary.json") -> bytes:
    """The base report with metadata and a summary.json (or any raw attachment) set."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ByteStringObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(base_pdf())))
    if meta:
        info = {}
        for key, value in meta.items():
            info[NameObject(key)] = ByteStringObject(value) if isinstance(value, bytes) else TextStringObject(value)
        writer.add_metadata(info)
    payload = raw if raw is not None else (json.dumps(summary).encode() if summary is not None else None)
    if payload is not None:
        writer.add_attachment(name, payload)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def raw_pdf(objects: list[bytes], trailer: bytes = b"", count_root: int = 1) -> bytes:
    """A hand-made PDF from numbered object bodies (1-based), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, count_root, trailer, xref)
    return bytes(out)


def _page_objects(content: bytes = b"BT /F1 12 Tf 72 720 Td (Nightly chaos report) Tj ET", extra: bytes = b"") -> list[bytes]:
    stream = b"<< /Length %d %s >>\nstream\n" % (len(content), extra) + content + b"\nendstream"
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        stream,
    ]


def aes256_owner_only() -> bytes:
    """An AES-256 (R6) encrypted PDF: pypdf needs the `cryptography` package to even try the empty password."""
    objects = _page_objects()
    objects.append(
        b"<< /Filter /Standard /V 5 /R 6 /Length 256 /P -4 /EncryptMetadata true "
        b"/CF << /StdCF << /AuthEvent /DocOpen /CFM /AESV3 /Length 32 >> >> /StmF /StdCF /StrF /StdCF "
        b"/O <" + b"ab" * 48 + b"> /U <" + b"cd" * 48 + b"> /OE <" + b"ef" * 32 + b"> /UE <" + b"01" * 32 + b"> "
        b"/Perms <" + b"23" * 16 + b"> >>"
    )
    return raw_pdf(objects, b"/Encrypt 5 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]")


def rc4_pdf(user: str | None, owner: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(base_pdf())))
    writer.encrypt(user_password=user or "", owner_password=owner, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- writing a case's files --------------------------------------------------------------------


def put(root: Path, rel: str | bytes, data: bytes | None = None) -> None:
    """Write reports/REL (the base report when no data); REL may be bytes for names that are not UTF-8."""
    reports = os.fsencode(root / "reports")
    target = os.path.join(reports, rel if isinstance(rel, bytes) else os.fsencode(rel))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as fh:
        fh.write(base_pdf() if data is None else data)


def anchors(root: Path) -> None:
    """The valid nights every build case keeps beside its hostile file: they must survive it."""
    put(root, "report-2021-07-08-good.pdf", pdf(summary={**SUMMARY, "date": "2021-07-08", "status": "good"}))
    put(root, "keep/report-2021-07-08-bad.pdf")


ANCHORS = ("report-2021-07-08-good.pdf", "keep/report-2021-07-08-bad.pdf")


def sparse(root: Path, rel: str, size: int, head: bytes = b"%PDF-1.4\n", tail: bytes = b"") -> None:
    path = root / "reports" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size - len(tail))
        fh.seek(size - len(tail))
        fh.write(tail)


def write(root: Path, rel: str, data: bytes | str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def gzip_bomb(byte: bytes, megabytes: int = 100) -> bytes:
    """100 KB of gzip that inflates to 100 MB: one member of 1 MB repeated (gzip readers join members)."""
    return gzip.compress(byte * (1024 * 1024), 9) * megabytes


def billion_laughs(key: str = "title") -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text + f"{key}: *i\n"


# --- the cases ---------------------------------------------------------------------------------


def build_cases() -> list[Case]:
    """Reports folders; the command is `sitegen build` with a base URL (so feed.xml is written)."""
    cases: list[Case] = []

    def case(name: str, cls: str, make: Callable[[Path], None], valid: tuple[str, ...] = (), **kw) -> None:
        def full(root: Path) -> None:
            anchors(root)
            make(root)

        cases.append(Case(name, cls, "build", full, valid=ANCHORS + valid, **kw))

    # 1: one file stops the whole build
    case(
        "suite-named-like-a-page",
        "1",
        lambda r: (put(r, "2021-07-09.html/report-2021-07-09-bad.pdf"), put(r, "report-2021-07-09-good.pdf")),
        ("2021-07-09.html/report-2021-07-09-bad.pdf", "report-2021-07-09-good.pdf"),
    )
    case(
        "suite-named-like-a-pdf",
        "1",
        lambda r: (put(r, "report-2021-07-09-bad.PDF/report-2021-07-09-good.pdf"), put(r, "report-2021-07-09-bad.pdf")),
        ("report-2021-07-09-bad.PDF/report-2021-07-09-good.pdf", "report-2021-07-09-bad.pdf"),
    )
    long_last = "report-2021-07-09-" + "z" * (255 - 22) + ".pdf"
    long_first = "report-2021-07-09-" + "a" * (255 - 22) + ".pdf"
    case(
        "255-byte-name-second-of-night",
        "1",
        lambda r: (put(r, "report-2021-07-09-good.pdf"), put(r, long_last)),
        ("report-2021-07-09-good.pdf", long_last),
    )
    case(
        "255-byte-name-first-of-night",
        "1",
        lambda r: (put(r, "report-2021-07-09-good.pdf"), put(r, long_first)),
        ("report-2021-07-09-good.pdf", long_first),
    )
    long_suite = "s" * 255
    case(
        "255-byte-suite-folder",
        "1",
        lambda r: put(r, f"{long_suite}/report-2021-07-09-bad.pdf"),
        (f"{long_suite}/report-2021-07-09-bad.pdf",),
    )
    deep = "/".join(["d"] * 60)
    case("folders-60-deep", "1", lambda r: put(r, f"{deep}/report-2021-07-09-bad.pdf"), (f"{deep}/report-2021-07-09-bad.pdf",))
    surrogate = b'{"schema":1,"date":"2021-07-09","status":"bad","title":"\\ud800","headline":"x\\udfff"}'
    case(
        "lone-surrogate-title", "1", lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(raw=surrogate)), ("report-2021-07-09-bad.pdf",)
    )
    surrogate_keys = b'{"schema":1,"date":"2021-07-09","status":"bad","metrics":{"\\ud800":1},"\\udfff":{"\\ud800":"\\ud801"}}'
    case(
        "lone-surrogate-keys",
        "1",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(raw=surrogate_keys)),
        ("report-2021-07-09-bad.pdf",),
    )
    case("unicode-suite", "1", lambda r: put(r, "调度/report-2021-07-09-bad.pdf"), ("调度/report-2021-07-09-bad.pdf",))
    case(
        "suite-with-tilde-and-dots",
        "1",
        lambda r: (
            put(r, "~x/report-2021-07-09-bad.pdf"),
            put(r, "x~/report-2021-07-09-bad.pdf"),
            put(r, "v1.2/report-2021-07-09-bad.pdf"),
        ),
        ("~x/report-2021-07-09-bad.pdf", "x~/report-2021-07-09-bad.pdf", "v1.2/report-2021-07-09-bad.pdf"),
    )
    case(
        "suites-named-like-site-folders",
        "1",
        lambda r: [put(r, f"{s}/report-2021-07-09-bad.pdf") for s in ("static", "pdfjs", "nights", "pdf", "archive", "index.html")],
        tuple(f"{s}/report-2021-07-09-bad.pdf" for s in ("static", "pdfjs", "nights", "pdf", "archive", "index.html")),
    )
    # 2: two nights collide
    case(
        "suites-a-space-b-and-a-dash-b",
        "2",
        lambda r: (put(r, "a b/report-2021-07-09-good.pdf"), put(r, "a-b/report-2021-07-09-good.pdf")),
        ("a b/report-2021-07-09-good.pdf", "a-b/report-2021-07-09-good.pdf"),
    )
    case(
        "suites-differing-in-case",
        "2",
        lambda r: (put(r, "Cluster/report-2021-07-09-good.pdf"), put(r, "cluster/report-2021-07-09-good.pdf")),
        ("Cluster/report-2021-07-09-good.pdf", "cluster/report-2021-07-09-good.pdf"),
    )
    case(
        "pdf-PDF-Pdf-in-one-folder",
        "2",
        lambda r: [put(r, f"report-2021-07-09-bad.{e}") for e in ("pdf", "PDF", "Pdf")],
        tuple(f"report-2021-07-09-bad.{e}" for e in ("pdf", "PDF", "Pdf")),
    )
    case(
        "status-differing-in-case",
        "2",
        lambda r: [put(r, f"report-2021-07-09-{s}.pdf") for s in ("bad", "BAD", "Bad")],
        tuple(f"report-2021-07-09-{s}.pdf" for s in ("bad", "BAD", "Bad")),
    )
    case(
        "name-ending-in-newline",
        "2",
        lambda r: (put(r, "report-2021-07-09-bad.pdf"), put(r, "report-2021-07-09-bad.pdf\n")),
        ("report-2021-07-09-bad.pdf",),
        says="report-2021-07-09-bad.pdf\\n",
    )
    case(
        "twenty-reports-one-night",
        "2",
        lambda r: [put(r, f"report-2021-07-09-s{i}.pdf") for i in range(20)],
        tuple(f"report-2021-07-09-s{i}.pdf" for i in range(20)),
    )
    case(
        "suite-folder-names-differing-in-a-control",
        "2",
        lambda r: (put(r, "x\x01/report-2021-07-09-bad.pdf"), put(r, "x\x02/report-2021-07-09-bad.pdf")),
        ("x\ufffd/report-2021-07-09-bad.pdf",),
        says="skipped",
    )
    case(
        "hashed-name-taken-by-a-real-folder",
        "2",
        lambda r: (put(r, "a b/report-2021-07-09-good.pdf"), put(r, "a-b~c8687a08aa/report-2021-07-09-good.pdf")),
        ("a b/report-2021-07-09-good.pdf", "a-b~c8687a08aa/report-2021-07-09-good.pdf"),
    )
    case("unknown-status-word", "2", lambda r: put(r, "report-2021-07-09-flaky.pdf"), ("report-2021-07-09-flaky.pdf",))
    # 3: an unusual summary.json must not cost the PDF its metadata
    nested = b"[" * 5000 + b"]" * 5000
    for name, raw in [
        ("summary-nested-5000-deep", b'{"schema":1,"date":"2021-07-09","status":"bad","extra":' + nested + b"}"),
        ("summary-is-a-deep-array", nested),
        (
            "summary-metric-10-to-the-400",
            b'{"schema":1,"date":"2021-07-09","status":"bad","metrics":{"errors":1' + b"0" * 400 + b',"fatal":2}}',
        ),
        (
            "summary-metric-1e400",
            b'{"schema":1,"date":"2021-07-09","status":"bad","metrics":{"errors":1e400,"nan":NaN,"inf":-Infinity}}',
        ),
        ("summary-5000-digit-integer", b'{"schema":1,"date":"2021-07-09","status":"bad","n":1' + b"0" * 5000 + b"}"),
        ("summary-2-MB", json.dumps({**SUMMARY, "extra": "x" * (2 * 1024 * 1024)}).encode()),
        ("summary-not-utf8", b'{"schema":1,"date":"2021-07-09","status":"bad","title":"\xff\xfe"}'),
        ("summary-a-string", b'"hello"'),
        ("summary-wrong-types", b'{"schema":"1","date":7,"status":[],"title":{},"metrics":[1],"signatures":"x"}'),
        (
            "summary-garbage-signatures",
            json.dumps({**SUMMARY, "signatures": [1, None, {"key": 5}, {"key": "k", "count": "many", "level": PAYLOAD}]}).encode(),
        ),
        ("summary-20000-keys", json.dumps({**SUMMARY, **{f"k{i}": i for i in range(20000)}}).encode()),
        ("summary-disagrees-with-name", json.dumps({**SUMMARY, "date": "1999-01-01", "status": "good", "suite": "other"}).encode()),
    ]:
        case(
            name,
            "3",
            lambda r, raw=raw: put(
                r, "report-2021-07-09-bad.pdf", pdf(raw=raw, meta={"/Title": "Kept title", "/Subject": "Kept subject"})
            ),
            ("report-2021-07-09-bad.pdf",),
        )
    # 4: unbounded work
    case(
        "2-GB-sparse-pdf",
        "4",
        lambda r: sparse(r, "report-2021-07-09-bad.pdf", 2 * 1024**3),
        ("report-2021-07-09-bad.pdf",),
        seconds=10,
    )
    case(
        "200-MB-sparse-pdf",
        "4",
        lambda r: sparse(r, "report-2021-07-09-bad.pdf", 200 * 1024**2, tail=b"\nstartxref\n9\n%%EOF\n"),
        ("report-2021-07-09-bad.pdf",),
        seconds=10,
    )
    case(
        "40-MB-zeros-no-eof",
        "4",
        lambda r: sparse(r, "report-2021-07-09-bad.pdf", 40 * 1024**2),
        ("report-2021-07-09-bad.pdf",),
        seconds=10,
    )
    case("fifo-named-like-a-report", "4", lambda r: os.mkfifo(r / "reports" / "report-2021-07-09-bad.pdf"), says="not a regular file")
    case("socket-named-like-a-report", "4", _socket, says="not a regular file")
    bomb = zlib.compress(b" " * 100_000_000, 9)
    case(
        "flate-bomb-page",
        "4",
        lambda r: put(r, "report-2021-07-09-bad.pdf", raw_pdf(_page_objects(bomb, b"/Filter /FlateDecode"))),
        ("report-2021-07-09-bad.pdf",),
    )
    huge_count = _page_objects()
    huge_count[1] = b"<< /Type /Pages /Kids [3 0 R] /Count 1000000000000 >>"
    case(
        "page-count-10-to-the-12",
        "4",
        lambda r: put(r, "report-2021-07-09-bad.pdf", raw_pdf(huge_count)),
        ("report-2021-07-09-bad.pdf",),
    )
    cycle = _page_objects()
    cycle[1] = b"<< /Type /Pages /Kids [2 0 R 3 0 R] >>"
    case("page-tree-cycle", "4", lambda r: put(r, "report-2021-07-09-bad.pdf", raw_pdf(cycle)), ("report-2021-07-09-bad.pdf",))
    arrays = _page_objects()
    arrays[0] = b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * 20000 + b"]" * 20000 + b" >>"
    case("arrays-20000-deep", "4", lambda r: put(r, "report-2021-07-09-bad.pdf", raw_pdf(arrays)), ("report-2021-07-09-bad.pdf",))
    case("500-other-files", "4", lambda r: [put(r, f"junk/file-{i:04d}.txt", b"x") for i in range(500)])
    # 5: exit 70 where a clear message belongs
    case(
        "aes-256-owner-password-only",
        "5",
        lambda r: put(r, "report-2021-07-09-bad.pdf", aes256_owner_only()),
        ("report-2021-07-09-bad.pdf",),
        says="pip install cryptography",
    )
    case(
        "rc4-user-password",
        "5",
        lambda r: put(r, "report-2021-07-09-bad.pdf", rc4_pdf("secret", "owner")),
        ("report-2021-07-09-bad.pdf",),
        says="password",
    )
    case(
        "rc4-owner-password-only",
        "ok",
        lambda r: put(r, "report-2021-07-09-bad.pdf", rc4_pdf(None, "owner")),
        ("report-2021-07-09-bad.pdf",),
    )
    # 6: text that breaks a format
    case(
        "controls-in-subject",
        "6",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(meta={"/Subject": "s" + CONTROLS})),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "controls-in-headline",
        "6",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(summary={**SUMMARY, "headline": "h" + CONTROLS, "title": "t" + CONTROLS})),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "nul-title-bytes",
        "6",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(meta={"/Title": b"imagemagick-lzw\x00"})),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "bidi-and-format-characters",
        "6",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(meta={"/Title": "\u202egood\u202c\u200b\u2066x\u2069"})),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "cdata-end-and-entities",
        "6",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(meta={"/Title": "]]> &amp; &#0; &lt;", "/Subject": "<![CDATA[x]]>"})),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "one-MB-title",
        "6",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(meta={"/Title": "t " * 500_000})),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "astral-and-rtl",
        "6",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(meta={"/Title": "\U0001f525 مرحبا \U00010348", "/Subject": "שלום"})),
        ("report-2021-07-09-bad.pdf",),
    )
    # Payloads everywhere text enters (escaping already held; the corpus keeps it so)
    case(
        "payload-in-metadata",
        "ok",
        lambda r: put(r, "report-2021-07-09-bad.pdf", pdf(meta={"/Title": PAYLOAD, "/Subject": PAYLOAD, "/Author": PAYLOAD})),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "payload-in-summary",
        "ok",
        lambda r: put(
            r,
            "report-2021-07-09-bad.pdf",
            pdf(
                summary={
                    **SUMMARY,
                    "title": PAYLOAD,
                    "headline": PAYLOAD,
                    "suite": PAYLOAD,
                    "metrics": {PAYLOAD: 1, "errors": 3},
                    PAYLOAD: {PAYLOAD: [PAYLOAD]},
                }
            ),
        ),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "payload-in-page-text",
        "ok",
        lambda r: make_pdf(r / "reports" / "report-2021-07-09-bad.pdf", pages=[PAYLOAD]),
        ("report-2021-07-09-bad.pdf",),
    )
    case(
        "payload-in-suite-folder",
        "ok",
        lambda r: put(r, f"{NAME_PAYLOAD}/report-2021-07-09-bad.pdf"),
        (f"{NAME_PAYLOAD}/report-2021-07-09-bad.pdf",),
    )
    case(
        "payload-in-deeper-folder",
        "ok",
        lambda r: put(r, f"s/{NAME_PAYLOAD}/report-2021-07-09-bad.pdf"),
        (f"s/{NAME_PAYLOAD}/report-2021-07-09-bad.pdf",),
    )
    case("payload-in-site-title", "ok", lambda r: write(r, "sitegen.yml", json.dumps({"title": PAYLOAD})))
    open_action = _page_objects()
    open_action[0] = b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert\\('pwn'\\)) >> >>"
    case(
        "openaction-javascript",
        "ok",
        lambda r: put(r, "report-2021-07-09-bad.pdf", raw_pdf(open_action)),
        ("report-2021-07-09-bad.pdf",),
    )
    # Files that are not what their name says (already handled: a card or a warning each)
    case(
        "html-saved-as-pdf",
        "ok",
        lambda r: put(r, "report-2021-07-09-bad.pdf", b"<!doctype html><html><body>" + PAYLOAD.encode() + b"</body></html>"),
        ("report-2021-07-09-bad.pdf",),
    )
    case("empty-file", "ok", lambda r: put(r, "report-2021-07-09-bad.pdf", b""), ("report-2021-07-09-bad.pdf",))
    case(
        "truncated-pdf",
        "ok",
        lambda r: put(r, "report-2021-07-09-bad.pdf", base_pdf()[: len(base_pdf()) // 2]),
        ("report-2021-07-09-bad.pdf",),
    )
    case("random-bytes", "ok", lambda r: put(r, "report-2021-07-09-bad.pdf", os.urandom(5000)), ("report-2021-07-09-bad.pdf",))
    case(
        "broken-xref",
        "ok",
        lambda r: put(r, "report-2021-07-09-bad.pdf", base_pdf().replace(b"xref", b"xxxx")),
        ("report-2021-07-09-bad.pdf",),
    )
    broken_names = _page_objects()
    broken_names[0] = b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(summary.json) 99 0 R (x)] >> >> >>"
    case(
        "broken-attachment-tree",
        "ok",
        lambda r: put(r, "report-2021-07-09-bad.pdf", raw_pdf(broken_names)),
        ("report-2021-07-09-bad.pdf",),
    )
    case("symlink-out-of-the-folder", "ok", _symlink_out, says="symlink leading out")
    case(
        "symlink-to-a-folder-inside", "ok", lambda r: os.symlink(r / "reports" / "keep", r / "reports" / "again"), says="not followed"
    )
    case(
        "broken-symlink",
        "ok",
        lambda r: os.symlink(r / "reports" / "nowhere.pdf", r / "reports" / "report-2021-07-09-bad.pdf"),
        says="broken symlink",
    )
    case("hidden-files-and-folders", "ok", lambda r: (put(r, ".git/report-2021-07-09-bad.pdf"), put(r, ".report-2021-07-09-bad.pdf")))
    case("name-not-utf8", "ok", lambda r: put(r, b"report-2021-07-09-\xff.pdf"), says="not valid UTF-8")
    case("suite-not-utf8", "ok", lambda r: put(r, b"s\xff/report-2021-07-09-bad.pdf"), says="not valid UTF-8")
    case(
        "impossible-dates",
        "ok",
        lambda r: [put(r, f"report-{d}-bad.pdf") for d in ("2021-02-30", "2021-13-01", "2021-00-10")],
        says="impossible date",
    )
    case(
        "years-0001-and-9999",
        "ok",
        lambda r: (put(r, "report-0001-01-01-good.pdf"), put(r, "report-9999-12-31-bad.pdf")),
        ("report-0001-01-01-good.pdf", "report-9999-12-31-bad.pdf"),
    )
    case(
        "unreadable-pdf",
        "ok",
        lambda r: (put(r, "report-2021-07-09-bad.pdf"), os.chmod(r / "reports" / "report-2021-07-09-bad.pdf", 0)),
        skip="root reads every file" if os.geteuid() == 0 else "",
    )
    return cases


def _socket(root: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    (root / "reports").mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    os.chdir(root / "reports")  # a socket's path is limited to 108 bytes; a relative one is short
    try:
        sock.bind("report-2021-07-09-bad.pdf")
    finally:
        os.chdir(here)
        sock.close()


def _symlink_out(root: Path) -> None:
    (root / "outside").mkdir(exist_ok=True)
    (root / "outside" / "report-2021-07-09-bad.pdf").write_bytes(base_pdf())
    os.symlink(root / "outside" / "report-2021-07-09-bad.pdf", root / "reports" / "report-2021-07-09-bad.pdf")
    os.symlink(root / "outside", root / "reports" / "out")


def config_cases() -> list[Case]:
    """Config files (`sitegen build --config FILE`): every one is a clear error, exit 2."""
    cases: list[Case] = []

    def case(name: str, cls: str, text: str | bytes | None, says: str, file: str = "bad.yml", **kw) -> None:
        def make(root: Path) -> None:
            anchors(root)
            if text is not None:
                write(root, file, text)
            elif file == "sitegen.yml":
                os.mkfifo(root / file)

        args = ["--config", file] if file != "sitegen.yml" else []
        cases.append(Case(name, cls, "config", make, args=args, exit=(2,), says=says, **kw))

    case("billion-laughs", "4", billion_laughs(), "aliases expand to more than")
    case("billion-laughs-unknown-key", "4", billion_laughs("unknown"), "aliases expand to more than")
    case("50000-deep", "5", "[" * 50000 + "]" * 50000, "nested deeper than the limit")
    case("50000-deep-block", "5", "".join(" " * (i % 200) + "a:\n" for i in range(2000)), "nested deeper than the limit")
    case("2-MB-config", "4", "title: x\n" + "#" * (2 * 1024 * 1024), "larger than the 1 MB limit")
    case("6000-unknown-keys", "4", "".join(f"k{i}: 1\n" for i in range(6000)), "more problem(s)")
    case("recursive-alias", "4", "title: &a [*a]\n", "alias refers to the node that holds it")
    case("not-utf8", "5", b"title: \xff\xfe\n", "not UTF-8")
    case("controls-in-keys", "6", '"\\e[31mred\\a\\x85": 1\n', "unknown key")
    case("raw-controls-in-the-file", "6", "\x1b[31mred\x07: 1\n", "not valid YAML")
    case("status-word-with-newline", "6", 'statuses: {"bad\\n": {color: "#ff0000"}}\n', "lower-case word")
    case("suite-with-newline", "6", 'report: {suite: "x\\n"}\n', "report.suite")
    case("huge-value-in-typed-key", "4", "title: [" + ",".join(["1"] * 10000) + "]\n", "must be a string")
    case("fifo-as-sitegen-yml", "4", None, "not a regular file", file="sitegen.yml")
    case("tab-indentation", "ok", "title:\n\t- x\n", "not valid YAML")
    case("control-in-site-title", "6", 'title: "Nightly\\x01 reports"\n', "must not hold control characters")
    case("javascript-base-url", "6", 'base_url: "javascript:pwn()//"\n', "must be an absolute http")
    return cases


def report_cases() -> list[Case]:
    """Report inputs (`sitegen report --night 2021-07-09 --reports reports ...`)."""
    cases: list[Case] = []

    def case(
        name: str, cls: str, make: Callable[[Path], None], args: list[str], exit: tuple[int, ...] = (2,), says: str = "", **kw
    ) -> None:
        cases.append(Case(name, cls, "report", make, args=args, exit=exit, says=says, **kw))

    def chaos(text: str) -> Callable[[Path], None]:
        return lambda r: write(r, "in/chaos.yaml", text)

    schedule = (
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: Schedule\nmetadata: {{name: s, creationTimestamp: '2021-07-01T00:00:00Z'}}\n"
        "spec:\n  schedule: '{every}'\n  type: PodChaos\n  concurrencyPolicy: {policy}\n"
        "  podChaos: {{action: pod-kill, duration: '{duration}'}}\n"
    )
    metrics = ["--metrics", str(EXAMPLE / "sysbench.log")]
    with_chaos = ["--chaos", "in/chaos.yaml", *metrics]
    chaos_only = ["--chaos", "in/chaos.yaml"]
    case(
        "every-500ms",
        "4",
        chaos(schedule.format(every="@every 500ms", policy="Forbid", duration="100ms")),
        with_chaos,
        says="more than 100,000 fault windows",
    )
    case(
        "every-1ns",
        "4",
        chaos(schedule.format(every="@every 1ns", policy="Forbid", duration="30s")),
        with_chaos,
        says="more than 200,000 firings",
    )
    case(
        "cron-with-duration-999999h",
        "4",
        chaos(schedule.format(every="0 * * * *", policy="Allow", duration="999999h")),
        chaos_only,
        exit=(0,),
        says="longer than the limit of 366 days",
    )
    case(
        "duration-past-the-calendar",
        "4",
        chaos(schedule.format(every="0 * * * *", policy="Allow", duration="99999999999999999h")),
        chaos_only,
        exit=(0,),
        says="longer than the limit",
    )
    fan = (
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: Workflow\nmetadata: {name: w, creationTimestamp: '2021-07-09T01:00:00Z'}\n"
        "spec:\n  entry: t0\n  templates:\n"
    )
    for level in range(30):
        fan += f"  - {{name: t{level}, templateType: Parallel, children: [{', '.join([f't{level + 1}'] * 10)}]}}\n"
    fan += "  - {name: t30, templateType: PodChaos, podChaos: {action: pod-kill, duration: 1s}}\n"
    case("workflow-fan-out-10-to-the-30", "4", chaos(fan), with_chaos, says="more than 10,000 workflow steps")
    deadline = (
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: Workflow\nmetadata: {name: w, creationTimestamp: '2021-07-01T00:00:00Z'}\n"
        "spec:\n  entry: s\n  templates:\n  - {name: s, templateType: Schedule, deadline: 99999h,\n"
        "     schedule: {schedule: '* * * * *', type: PodChaos, podChaos: {duration: 1s}}}\n"
    )
    case("workflow-schedule-deadline-99999h", "4", chaos(deadline), chaos_only, exit=(0,))
    case("chaos-billion-laughs", "4", chaos(billion_laughs("items")), with_chaos, says="aliases expand to more than")
    case(
        "chaos-json-100000-deep",
        "5",
        lambda r: write(r, "in/chaos.yaml", '{"a":' + "[" * 100000 + "]" * 100000 + "}"),
        with_chaos,
        says="nested deeper",
    )
    case(
        "chaos-odd-shapes",
        "5",
        chaos(
            "kind: Schedule\nmetadata: [1]\n"
            "spec: {schedule: 5, type: [x], podChaos: {duration: [1], selector: {pods: {ns: 5}}}}\n---\n"
            "kind: PodChaos\nmetadata: {name: p, creationTimestamp: '0001-01-01T00:00:00Z'}\nspec: {selector: 7, scheduler: 5}\n"
            "status: {experiment: {containerRecords: [1, {events: 3}, {events: [1, {timestamp: x}]}]}}\n---\n"
            "kind: Workflow\nmetadata: {name: w, creationTimestamp: '9999-12-31T23:59:59-23:59'}\n"
            "spec: {entry: [1], templates: 5}\n---\n"
            "kind: 7\n---\n[1, 2]\n"
        ),
        with_chaos,
        says="no chaos windows",
    )
    case(
        "events-odd-shapes",
        "5",
        lambda r: write(
            r,
            "in/chaos.yaml",
            json.dumps(
                {
                    "kind": "EventList",
                    "items": [
                        {"kind": "Event", "reason": "Applied", "involvedObject": 5, "message": ["x"], "firstTimestamp": 7},
                        {"kind": "Event", "reason": "Recovered", "involvedObject": {"kind": [1]}, "lastTimestamp": "x"},
                    ],
                }
            ),
        ),
        with_chaos,
        exit=(0, 2),
    )
    case(
        "chaos-csv-108000-windows",  # over CHAOS_WINDOWS (100,000); 36,000 are now measured and drawn bounded
        "4",
        lambda r: write(
            r,
            "in/chaos.csv",
            "start,end\n"
            + "".join(
                f"2021-07-09T0{h}:{m:02d}:{s:02d}.{a}Z,2021-07-09T0{h}:{m:02d}:{s:02d}.{a + 2}Z\n"
                for h in range(6)
                for m in range(60)
                for s in range(60)
                for a in (0, 2, 4, 6, 7)
            ),
        ),
        ["--chaos", "in/chaos.csv"],
        says="fault windows in the night",
    )
    case(
        "chaos-creation-year-1",
        "5",
        chaos(schedule.format(every="@every 1h", policy="Forbid", duration="30s").replace("2021-07-01", "0001-01-01")),
        chaos_only,
        exit=(0,),
    )
    case("chaos-gzip-bomb", "4", lambda r: write(r, "in/chaos.yaml", gzip_bomb(b"#")), with_chaos, says="larger than the 64 MB limit")
    case("night-0001-01-01", "5", lambda r: None, ["--night", "0001-01-01"], says="years 1970-9998")
    case("night-9999-12-31", "5", lambda r: None, ["--night", "9999-12-31"], says="years 1970-9998")
    case(
        "since-1970-until-9998",
        "5",
        lambda r: None,
        ["--since", "1970-01-01", "--until", "9998-12-31"],
        says="longer than the limit of 31 days",
    )
    case("until-year-9999-offset", "5", lambda r: None, ["--until", "9999-12-31T23:59-23:59"], says="expected an ISO 8601 time")
    case(
        "prometheus-timestamp-x",
        "5",
        lambda r: write(
            r,
            "in/m.json",
            json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [["x", "1"]]}]}}),
        ),
        ["--metrics", "in/m.json"],
        says="is not [time",
    )
    case(
        "prometheus-odd-shapes",
        "5",
        lambda r: write(
            r,
            "in/m.json",
            json.dumps(
                {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": 5, "values": [[1, [2]], [True, "1"]]}]}}
            ),
        ),
        ["--metrics", "in/m.json"],
        says="is not [time",
    )
    case(
        "prometheus-error-payload",
        "6",
        lambda r: write(r, "in/m.json", json.dumps({"status": "error", "errorType": CONTROLS, "error": "x" * 100000})),
        ["--metrics", "in/m.json"],
        says="Prometheus answered with an error",
    )
    case(
        "metrics-json-100000-deep",
        "5",
        lambda r: write(r, "in/m.json", '{"a":' + "[" * 100000 + "]" * 100000 + "}"),
        ["--metrics", "in/m.json"],
        says="nested deeper",
    )
    case(
        "corrupt-gzip-csv",
        "5",
        lambda r: write(r, "in/m.csv.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage" * 10),
        ["--metrics", "in/m.csv.gz"],
        says="cannot read metrics file",
    )
    case(
        "cut-gzip-csv",
        "5",
        lambda r: write(r, "in/m.csv.gz", _cut(gzip.compress(b"timestamp,value\n" + os.urandom(20000).hex().encode()))),
        ["--metrics", "in/m.csv.gz"],
        says="cannot read metrics file",
    )
    case(
        "metrics-gzip-bomb",
        "4",
        lambda r: write(r, "in/m.csv.gz", gzip_bomb(b"\n")),
        ["--metrics", "in/m.csv.gz"],
        says="larger than the 64 MB",
    )
    case(
        "csv-header-of-commas",
        "4",
        lambda r: write(r, "in/m.csv", "timestamp" + "," * 5_000_000 + "\n1,2\n"),
        ["--metrics", "in/m.csv"],
        says="more than 1,000 columns",
    )
    case(
        "csv-over-the-points-limit",
        "4",
        lambda r: write(r, "in/m.csv", "timestamp,a,b,c\n" + "1625800000,1,2,3\n" * 700_000),
        ["--metrics", "in/m.csv"],
        says="more than 2,000,000 samples",
    )
    case(
        "csv-year-9999",
        "5",
        lambda r: write(r, "in/m.csv", "timestamp,value\n9999-12-31T23:59:59-23:59,1\n"),
        ["--metrics", "in/m.csv"],
        says="is not an ISO time",
    )
    case("fifo-in-logs-folder", "4", _fifo_logs, ["--logs", "in/logs"], exit=(0,), says="not a regular file")
    case(
        "fifo-as-metrics",
        "4",
        lambda r: (r / "in").mkdir() or os.mkfifo(r / "in" / "m.csv"),
        ["--metrics", "in/m.csv"],
        says="in/m.csv: is not a regular file",
    )
    case("report-suite-with-newline", "6", lambda r: None, ["--suite", "x\n"], says="a suite is one folder name")
    case("suite-dot-dot", "ok", lambda r: None, ["--suite", ".."], says="a suite is one folder name")
    case(
        "rules-billion-laughs",
        "4",
        lambda r: write(r, "in/rules.yml", billion_laughs("rules")),
        ["--rules", "in/rules.yml"],
        says="aliases expand to more than",
    )
    case("rules-50000-deep", "5", lambda r: write(r, "in/rules.yml", "[" * 50000), ["--rules", "in/rules.yml"], says="nested deeper")
    return cases


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _fifo_logs(root: Path) -> None:
    logs = root / "in" / "logs"
    logs.mkdir(parents=True)
    (logs / "tidb.log").write_text('[2021/07/09 01:00:00.000 +00:00] [ERROR] [x.go:1] ["boom"]\n')
    os.mkfifo(logs / "stuck.log")


def all_cases() -> list[Case]:
    return build_cases() + config_cases() + report_cases()
