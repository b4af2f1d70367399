"""Live reload: a hub that records finished builds, and the script injected into HTML pages.

Pages listen on /__sitegen/events (Server-Sent Events). Each event names the build and the
output paths it changed; the page decides whether it is affected. A page passes the build it
was served from (`?since=N`), so a build finishing between page load and connect is not missed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections import deque
from dataclasses import dataclass

EVENTS_PATH = "/__sitegen/events"
_HISTORY = 64


@dataclass(frozen=True)
class BuildEvent:
    """One finished build: its number, whether it worked, and the output paths it changed (None: unknown, reload all)."""

    number: int
    ok: bool
    changed: tuple[str, ...] | None
    error: str = ""

    def to_json(self) -> str:
        return json.dumps({"build": self.number, "ok": self.ok, "changed": self.changed, "error": self.error})


class ReloadHub:
    """Build counter plus recent history; SSE handlers wait here for the next build."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._history: deque[BuildEvent] = deque(maxlen=_HISTORY)
        self._number = 0
        self._closed = False
        # Build numbers restart with the server; pages from an earlier run are recognised by this id.
        self.server_id = secrets.token_hex(4)

    @property
    def number(self) -> int:
        with self._cond:
            return self._number

    def publish(self, ok: bool, changed: list[str] | tuple[str, ...] | None, error: str = "") -> BuildEvent:
        with self._cond:
            self._number += 1
            event = BuildEvent(self._number, ok, None if changed is None else tuple(sorted(changed)), error)
            self._history.append(event)
            self._cond.notify_all()
            return event

    def close(self) -> None:
        """Wake every waiting stream so the server can shut down."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def since(self, number: int, timeout: float) -> list[BuildEvent] | None:
        """Events after build `number`, waiting up to `timeout` for one; None once the hub is closed.

        When `number` is older than the history kept, one synthetic "reload everything" event is returned.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._number > number, timeout=timeout)
            if self._closed:
                return None
            if self._number <= number:
                return []
            events = [e for e in self._history if e.number > number]
            if not events or events[0].number != number + 1:
                return [BuildEvent(self._number, True, None)]
            return events


# The client: plain ES5 so it runs everywhere; it only ever reads data from our own server.
_SCRIPT = """<script id="sitegen-live-reload">(function () {
  "use strict";
  if (!window.EventSource || location.protocol === "file:") return;
  var since = %(build)d, server = "%(server)s";
  var here = decodeURIComponent(location.pathname).replace(/^\\/+/, "");
  if (here === "" || /\\/$/.test(here)) here += "index.html";
  var isIndex = here === "index.html";
  var key = "sitegen-position:" + here;
  function sitePath(url) {
    try { var u = new URL(url, document.baseURI); } catch (e) { return null; }
    if (u.origin !== location.origin) return null;
    return decodeURIComponent(u.pathname).replace(/^\\/+/, "");
  }
  function dependsOn() {
    var deps = {}; deps[here] = true;
    var pdf = document.body && document.body.getAttribute("data-pdf");
    if (pdf) deps[sitePath(pdf)] = true;
    var nodes = document.querySelectorAll("link[rel=stylesheet][href], script[src], img[src]");
    for (var i = 0; i < nodes.length; i++) {
      var p = sitePath(nodes[i].getAttribute("href") || nodes[i].getAttribute("src"));
      if (p) deps[p] = true;
    }
    return deps;
  }
  function affected(ev) {
    if (!ev.ok) return false;
    if (ev.changed === null || isIndex) return ev.changed === null || ev.changed.length > 0;
    var deps = dependsOn();
    for (var i = 0; i < ev.changed.length; i++) if (deps[ev.changed[i]]) return true;
    return false;
  }
  var pending = null;  // a position restored from the last reload but not applied yet
  function savePosition() {
    // Two rebuilds in a row (a PDF deleted, then written again) reload twice; a position the first
    // reload had not applied yet is carried over instead of being lost.
    if (pending && !document.body.classList.contains("viewer-ready")) {
      pending.t = Date.now();
      try { sessionStorage.setItem(key, JSON.stringify(pending)); } catch (e) { /* storage off */ }
      return;
    }
    var pos = { x: window.scrollX, y: window.scrollY, t: Date.now() };
    var page = document.getElementById("page-number");
    var box = document.getElementById("viewerContainer");
    if (page && document.body.classList.contains("viewer-ready")) pos.page = parseInt(page.value, 10) || 1;
    if (box) pos.box = box.scrollTop;
    try { sessionStorage.setItem(key, JSON.stringify(pos)); } catch (e) { /* storage off: reload anyway */ }
  }
  function restorePosition() {
    var pos;
    try { pos = JSON.parse(sessionStorage.getItem(key) || "null"); sessionStorage.removeItem(key); } catch (e) { return; }
    if (!pos || Date.now() - pos.t > 60000) return;
    pending = pos;
    var tries = 0;
    (function step() {
      var box = document.getElementById("viewerContainer");
      if (pos.page || pos.box) {
        if (!document.body.classList.contains("viewer-ready")) {
          if (++tries < 200) setTimeout(step, 50);
          return;
        }
        var page = document.getElementById("page-number");
        var count = parseInt((document.getElementById("page-count") || {}).textContent, 10) || 1;
        if (page && pos.page) {
          page.value = String(Math.min(pos.page, count));
          page.dispatchEvent(new Event("change"));
        }
        if (box && pos.box && box.scrollHeight >= pos.box) box.scrollTop = pos.box;
      }
      window.scrollTo(pos.x, pos.y);
      pending = null;
    })();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", restorePosition);
  else restorePosition();
  var source = null;
  function connect() {
    source = new EventSource("%(events)s?server=" + server + "&since=" + since);
    source.addEventListener("build", function (msg) {
      var ev = JSON.parse(msg.data);
      since = Math.max(since, ev.build);
      if (!ev.ok && window.console) console.warn("sitegen: rebuild failed: " + ev.error);
      if (affected(ev)) {
        source.close();
        savePosition();
        location.reload();
      }
    });
  }
  connect();
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();</script>
"""

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


def reload_script(build: int, server_id: str) -> bytes:
    """The client script for a page served from build number `build` of server run `server_id`."""
    return (_SCRIPT % {"build": build, "server": server_id, "events": EVENTS_PATH}).encode()


# The pages' Content-Security-Policy forbids inline scripts; the injected one is allowed by its hash.
_CSP_SCRIPT_SRC = re.compile(rb'(<meta\s+http-equiv="Content-Security-Policy"\s+content="[^"]*?\bscript-src\b)', re.IGNORECASE)


def inject(html: bytes, build: int, server_id: str) -> bytes:
    """Insert the reload script before the last </body> (or append it), and allow it in the page's CSP."""
    script = reload_script(build, server_id)
    code = script[script.index(b">") + 1 : script.rindex(b"</script>")]
    digest = base64.b64encode(hashlib.sha256(code).digest())
    html = _CSP_SCRIPT_SRC.sub(lambda m: m[1] + b" 'sha256-" + digest + b"'", html, count=1)
    matches = list(_BODY_END.finditer(html))
    if not matches:
        return html + script
    at = matches[-1].start()
    return html[:at] + script + html[at:]
