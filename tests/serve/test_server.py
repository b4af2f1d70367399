"""The dev server on a real socket on 127.0.0.1: MIME types, Range, traversal, build gating, reload script."""

from __future__ import annotations

import http.client
import os
import re
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from sitegen.cli import main


def fetch(url: str, path: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 10):
    """One raw request: the path is sent exactly as given (no client-side normalisation)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture
def site(project, serve):
    """A served site with one file of each interesting type."""
    project.build.files.update(
        {
            "static/pdfjs/build/pdf.min.mjs": b"export const x = 1;\n",
            "static/pdfjs/build/openjpeg.wasm": b"\0asm\1\0\0\0",
            "static/site.css": b"body{color:red}",
            "static/app.js": b"console.log(1)",
            "static/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
            "reports.json": b'{"schema": 1}',
            "pdf/report-2021-07-09-bad.pdf": bytes(range(256)) * 40,
            "nights/2021-07-09.html": b"<!doctype html><html><body data-pdf='../pdf/report-2021-07-09-bad.pdf'>night</body></html>",
        }
    )
    return serve()


@pytest.mark.parametrize(
    "path, mime",
    [
        ("/static/pdfjs/build/pdf.min.mjs", "text/javascript"),
        ("/static/pdfjs/build/openjpeg.wasm", "application/wasm"),
        ("/pdf/report-2021-07-09-bad.pdf", "application/pdf"),
        ("/reports.json", "application/json"),
        ("/static/site.css", "text/css"),
        ("/static/logo.svg", "image/svg+xml"),
        ("/", "text/html"),
    ],
)
def test_mime_types(site, path, mime):
    status, headers, _ = fetch(site, path)
    assert status == 200
    assert headers["content-type"].split(";")[0] == mime
    assert headers["x-content-type-options"] == "nosniff"


def test_range_requests(site, project):
    pdf = (project.output / "pdf/report-2021-07-09-bad.pdf").read_bytes()
    size = len(pdf)
    status, headers, body = fetch(site, "/pdf/report-2021-07-09-bad.pdf", {"Range": "bytes=100-199"})
    assert (status, headers["content-range"], body) == (206, f"bytes 100-199/{size}", pdf[100:200])
    assert headers["content-length"] == "100"
    status, headers, body = fetch(site, "/pdf/report-2021-07-09-bad.pdf", {"Range": "bytes=-10"})
    assert (status, headers["content-range"], body) == (206, f"bytes {size - 10}-{size - 1}/{size}", pdf[-10:])
    status, headers, body = fetch(site, "/pdf/report-2021-07-09-bad.pdf", {"Range": f"bytes={size - 5}-"})
    assert (status, body) == (206, pdf[-5:])
    status, headers, body = fetch(site, "/pdf/report-2021-07-09-bad.pdf", {"Range": f"bytes={size}-"})
    assert (status, headers["content-range"], body) == (416, f"bytes */{size}", b"")
    status, headers, body = fetch(site, "/pdf/report-2021-07-09-bad.pdf")
    assert (status, headers["accept-ranges"], body) == (200, "bytes", pdf)
    status, headers, body = fetch(site, "/pdf/report-2021-07-09-bad.pdf", method="HEAD")
    assert (status, headers["content-length"], body) == (200, str(size), b"")


@pytest.mark.parametrize(
    "header, status",
    [
        ("bytes=" + "9" * 5000 + "-", 416),
        ("bytes=0-" + "9" * 5000, 206),
        ("bytes=-" + "9" * 5000, 206),
        ("bytes=" + "0" * 5000 + "7-9", 206),
    ],
    ids=["first", "last", "suffix", "leading-zeros"],
)
def test_a_range_of_5000_digits_is_answered_not_a_traceback(site, capfd, header, status):
    # Issue #11: `Range: bytes=<5,000 digits>-` closed the connection and printed a traceback.
    got, headers, _ = fetch(site, "/pdf/report-2021-07-09-bad.pdf", {"Range": header})
    assert got == status
    if status == 206:
        assert headers["content-range"].startswith("bytes ")
    assert "Traceback" not in capfd.readouterr().err
    assert fetch(site, "/")[0] == 200  # and the server still answers


@pytest.mark.parametrize("path", ["/nights/" + "a" * 300 + ".html", "/" + "b" * 300 + "/index.html", "/" + "c" * 5000])
def test_a_300_byte_path_segment_is_not_found(site, path, capfd):
    # Issue #11: a segment longer than the file system allows gave 500 (ENAMETOOLONG), not 404.
    status, _, _ = fetch(site, path)
    assert status == 404
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("path", ["//nights", "///nights", "http://127.0.0.1//nights"])
def test_a_folder_redirect_never_names_another_host(site, path):
    # Issue #11: GET //nights redirected to `//nights/`, a scheme-relative URL for the host "nights".
    status, headers, _ = fetch(site, path)
    assert status == 301
    assert headers["location"] == "/nights/"


def test_path_traversal_is_refused(site, project, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    os.symlink(secret, project.output / "link.txt")
    os.symlink(tmp_path, project.output / "escape")
    attempts = [
        "/../secret.txt",
        "/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/static/..%2F..%2F..%2Fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/static/%2e%2e%5c%2e%2e%5csecret.txt",
        "/.%2e/secret.txt",
        "/link.txt",
        "/escape/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/index.html%00.pdf",
    ]
    for attempt in attempts:
        status, _, body = fetch(site, attempt)
        assert status in (400, 403, 404), attempt
        assert b"TOP SECRET" not in body, attempt
    # A symlink that stays inside the site is fine.
    os.symlink(project.output / "static" / "site.css", project.output / "inside.css")
    assert fetch(site, "/inside.css")[0] == 200


def test_foreign_host_names_are_refused_on_loopback(site):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not read the site."""
    assert fetch(site, "/", {"Host": "evil.example:8000"})[0] == 403
    assert fetch(site, "/__sitegen/events", {"Host": "evil.example"})[0] == 403
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"):
        assert fetch(site, "/", {"Host": host})[0] == 200, host


def test_reload_script_goes_into_html_only(site):
    status, headers, body = fetch(site, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body.count(b'id="sitegen-live-reload"') == 1
    assert body.index(b"sitegen-live-reload") < body.rindex(b"</body>")
    assert int(headers["content-length"]) == len(body)
    for path in ("/static/app.js", "/reports.json", "/static/site.css", "/static/logo.svg", "/pdf/report-2021-07-09-bad.pdf"):
        assert b"sitegen-live-reload" not in fetch(site, path)[2], path
    # A folder without a slash is redirected, not served under the wrong base URL.
    status, headers, _ = fetch(site, "/nights")
    assert status == 301 and headers["location"] == "/nights/"


def _read_event(sock_file) -> dict[str, str]:
    fields: dict[str, str] = {}
    while True:
        line = sock_file.readline().decode().rstrip("\n")
        if not line:
            if "event" in fields:
                return fields
            fields = {}  # e.g. the opening `retry:` block
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(": ")
        fields[key] = value


def test_requests_wait_for_a_running_build_and_events_name_the_changed_paths(project, serve, make_pdf):
    url = serve()
    server_id = re.search(rb'server = "([0-9a-f]+)"', fetch(url, "/")[2]).group(1)
    parts = urlsplit(url)

    def listen(query: bytes):
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        sock.sendall(b"GET /__sitegen/events?" + query + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"HTTP/1.1 200")
        return sock, stream

    events, stream = listen(b"server=" + server_id + b"&since=1")
    # A page from an earlier run of the server (other id) is sent every build of this run.
    stale, stale_stream = listen(b"server=0badc0de&since=9")
    assert _read_event(stale_stream)["id"] == f"{server_id.decode()}:1"
    stale.close()

    pause = threading.Event()
    project.build.pause = pause
    make_pdf(project.reports / "report-2021-07-10-good.pdf")
    assert project.build.paused.wait(5), "the change did not start a build"
    results: list[bytes] = []
    reader = threading.Thread(target=lambda: results.append(fetch(url, "/index.html")[2]))
    reader.start()
    time.sleep(0.4)
    assert results == [], "a request was answered while the build was running"
    assert b"half-built" in (project.output / "index.html").read_bytes()  # it really was half-built on disk
    pause.set()
    reader.join(10)
    assert b"report-2021-07-10-good.pdf" in results[0] and b"half-built" not in results[0]

    event = _read_event(stream)
    assert event["event"] == "build" and event["id"] == f"{server_id.decode()}:2"
    assert '"changed": ["index.html"]' in event["data"] and '"ok": true' in event["data"]
    events.close()


def test_port_in_use_gives_a_clear_message(project, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--port", str(port), "--reports", str(project.reports), "--output", str(project.output)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in err and "--port" in err
    assert "Traceback" not in err
    assert not project.output.exists(), "nothing is built when the server cannot start"


def test_real_builder_settles_after_a_drop_and_publishes_its_changed_paths(project, serve, make_pdf):
    """The builder reading and hard-linking PDFs must not trigger further builds (no rebuild loop)."""
    from sitegen.site.build import build_site

    builds: list[list[str]] = []

    def counting(config):
        result = build_site(config)
        builds.append(list(result.changed))
        return result

    make_pdf(project.reports / "report-2021-07-09-bad.pdf")
    url = serve(build=counting)
    make_pdf(project.reports / "report-2021-07-10-good.pdf")
    deadline = time.monotonic() + 5
    while len(builds) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    assert len(builds) == 2, builds
    assert "index.html" in builds[1] and "pdf/report-2021-07-10-good.pdf" in builds[1]
    status, _headers, body = fetch(url, "/pdf/report-2021-07-10-good.pdf")
    assert status == 200 and body.startswith(b"%PDF")


@pytest.mark.parametrize("port", ["99999", "-1", "80a", "٣"])
def test_a_port_out_of_range_is_a_usage_error_naming_the_option(project, capsys, port):
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", port, "--reports", str(project.reports), "--output", str(project.output)])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "--port" in err and "0 to 65535" in err and "internal error" not in err
    assert not project.output.exists()
