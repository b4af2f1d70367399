"""The HTTP side of `sitegen serve`: static files from the output folder, Range, live reload events."""

from __future__ import annotations

import errno
import html
import http.server
import logging
import mimetypes
import os
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sitegen.errors import UsageError
from sitegen.serve.gate import BuildGate
from sitegen.serve.paths import Refused, site_file
from sitegen.serve.ranges import Unsatisfiable, parse_range
from sitegen.serve.reload import EVENTS_PATH, ReloadHub, inject

log = logging.getLogger(__name__)

# Set explicitly: the platform's mimetypes table often lacks .mjs/.wasm, and pdf.js will not
# load a module served as text/plain.
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".pdf": "application/pdf",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".bcmap": "application/octet-stream",
    ".pfb": "application/octet-stream",
}
_CHUNK = 256 * 1024
_KEEPALIVE_S = 15.0
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def mime_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in MIME_TYPES:
        return MIME_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class DevServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server over the current output folder, gated by the builder."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], root: Callable[[], Path], gate: BuildGate, hub: ReloadHub):
        self.root = root
        self.gate = gate
        self.hub = hub
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"

    def close(self) -> None:
        self.hub.close()
        self.shutdown()
        self.server_close()


def bind(host: str, port: int, root: Callable[[], Path], gate: BuildGate, hub: ReloadHub) -> DevServer:
    """Bind the server; a busy port or a bad address becomes a UsageError with a way out."""
    if ":" in host:
        DevServer.address_family = socket.AF_INET6
    try:
        return DevServer((host, port), root, gate, hub)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {host} is already in use (another server is running?); "
                f"choose another port, e.g. --port {port + 1 if port < 65535 else 8001}"
            ) from None
        if exc.errno == errno.EACCES:
            raise UsageError(f"not allowed to listen on port {port}; use a port above 1023, e.g. --port 8000") from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        DevServer.address_family = socket.AF_INET


class _Handler(http.server.BaseHTTPRequestHandler):
    server: DevServer
    protocol_version = "HTTP/1.1"  # keep-alive: pdf.js makes many range requests
    timeout = 120  # idle keep-alive connections do not hold a thread forever
    server_version = "sitegen-serve"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:
        if self._host_ok():
            self._serve(head=True)

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        if urlsplit(self.path).path == EVENTS_PATH:
            self._events()
        else:
            self._serve(head=False)

    def _host_ok(self) -> bool:
        """On a loopback address, only answer requests made to a loopback name.

        A web page elsewhere can point its own host name at 127.0.0.1 (DNS rebinding) and read the
        site through the user's browser; such requests carry that foreign name in Host.
        """
        bound = str(self.server.server_address[0])
        if bound not in ("127.0.0.1", "::1") and not bound.startswith("127."):
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0] if ":" in host else host
        if name in _LOOPBACK_NAMES or name == bound or not host:
            return True
        self._error(403, "Forbidden", "This dev server only answers requests for localhost.")
        return False

    # -- static files -------------------------------------------------------------------------
    def _serve(self, head: bool) -> None:
        try:
            with self.server.gate.reading():
                path, _relative = site_file(self.server.root(), self.path)
                fh = open(path, "rb")  # noqa: SIM115 - closed below, after the gate is released
                build, server_id = self.server.hub.number, self.server.hub.server_id
                size = os.fstat(fh.fileno()).st_size
                body = None
                ctype = mime_type(path)
                if ctype.startswith("text/html"):
                    with fh:
                        body = inject(fh.read(), build, server_id)
                    size = len(body)
        except Refused:
            self._error(403, "Forbidden", "That path is outside the site.")
            return
        except IsADirectoryError:
            target = urlsplit(self.path)
            # One leading slash: `//nights/` would be a scheme-relative URL naming the host "nights".
            self._redirect("/" + target.path.lstrip("/") + "/" + (f"?{target.query}" if target.query else ""))
            return
        except (FileNotFoundError, NotADirectoryError):
            self._error(404, "Not found", "No such page in the site (yet).")
            return
        except OSError as exc:
            if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
                # A 300-byte path segment names no file the site can hold: not found, not a server error.
                self._error(404, "Not found", "No such page in the site (yet).")
                return
            log.warning("cannot read %s: %s", self.path, exc)
            self._error(500, "Cannot read file", "The file could not be read; see the server log.")
            return

        try:
            span = parse_range(self.headers.get("Range"), size)
        except Unsatisfiable:
            if body is None:
                fh.close()
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        first, last = span if span else (0, size - 1)
        length = max(0, last - first + 1)
        self.send_response(206 if span else 200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        if span:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        try:
            if body is not None:
                if not head:
                    self.wfile.write(body[first : last + 1])
                return
            with fh:
                if head:
                    return
                fh.seek(first)
                remaining = length
                while remaining > 0:
                    chunk = fh.read(min(_CHUNK, remaining))
                    if not chunk:
                        break  # the file shrank under us; the client sees a short body
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _error(self, code: int, title: str, text: str) -> None:
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{code} {html.escape(title)}</title></head>"
            f"<body><h1>{code} {html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
        ).encode()
        # A 404 page reloads itself once a build makes the page.
        body = inject(page, self.server.hub.number, self.server.hub.server_id)
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(301)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- live reload --------------------------------------------------------------------------
    def _events(self) -> None:
        """Stream finished builds as Server-Sent Events until the client or the server goes away."""
        since = self._since()
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        hub = self.server.hub
        try:
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while True:
                events = hub.since(since, timeout=_KEEPALIVE_S)
                if events is None:
                    return
                if not events:
                    self.wfile.write(b": keep-alive\n\n")
                for event in events:
                    self.wfile.write(f"id: {hub.server_id}:{event.number}\nevent: build\ndata: {event.to_json()}\n\n".encode())
                    since = event.number
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return

    def _since(self) -> int:
        """The last build the page has seen; 0 when it was served by an earlier run of the server."""
        query = parse_qs(urlsplit(self.path).query)
        last_id = self.headers.get("Last-Event-ID", "")  # sent by EventSource when it reconnects
        if last_id:
            server_id, _, number = last_id.partition(":")
        else:
            server_id, number = query.get("server", [""])[0], query.get("since", ["0"])[0]
        if server_id != self.server.hub.server_id:
            return 0
        try:
            return max(0, int(number))
        except ValueError:
            return 0
