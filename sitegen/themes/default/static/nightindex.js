// What search.js (the index page) and compare.js (compare.html) share to read the night index
// (search/index.json or its shards) and draw from it: one global, window.SitegenIndex, of small functions
// that take what they need (the page's icons <template>, the index header) as parameters.
// Loaded with its own <script src> before either script. Every text from a report goes in with
// textContent, never as HTML: it is untrusted.
"use strict";

window.SitegenIndex = (() => {
  const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  // A new element; `text`, when given, is set as text.
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A copy of the icon `name` from the page's <template> of icons (`icons`), or of its dot when it has no such icon.
  function icon(icons, name) {
    const found = icons.content.querySelector(`.icon-${name}`) || icons.content.querySelector(".icon-dot");
    return found.cloneNode(true);
  }

  // "2021-07-09" -> "Fri 9 Jul 2021", as the server's `nicedate` filter writes it.
  function niceDate(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    const day = new Date(Date.UTC(y, m - 1, d));
    return `${WEEKDAYS[day.getUTCDay()]} ${d} ${MONTHS[m - 1]} ${y}`;
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  // A file lists each signature's words once ("sigs": key, kind, message, component); a night's "g" holds
  // [row, count, new]. Expanded here, in place, to [key, kind, count, new, message, component]; the file is
  // marked expanded so a second call returns its nights as they are.
  function expand(file) {
    if (file.expanded) return file.nights;
    for (const night of file.nights) {
      if (night.g) night.g = night.g.map(([row, count, isNew]) => {
        const [key, kind, message, component] = file.sigs[row];
        return [key, kind, count, isNew, message, component];
      });
    }
    file.expanded = true;
    return file.nights;
  }

  // A status word of a night, as the index header's "statuses" describe it: [label, css, icon, look].
  function statusOf(header, word) {
    const known = header.statuses[word];
    if (known) return { label: known[0], css: known[1], icon: known[2], look: Boolean(known[3]), known: true };
    return { label: `Unknown status: ${word}`, css: "unknown-status", icon: "unknown", look: false, known: false };
  }

  return Object.freeze({ el, icon, niceDate, getJson, expand, statusOf });
})();
