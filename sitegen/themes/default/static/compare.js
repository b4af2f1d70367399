// compare.html?a=DATE&b=DATE&suite=S: two nights of one suite side by side, from the search index
// (search/index.json, or only the shards that hold the two dates): the key numbers with their change,
// and the log signatures that are new in b, gone since a, or surging (more than twice as many).
// Without a, a is the suite's night before b; without b, b is the suite's newest night.
// Every text from a report goes in with textContent: it is untrusted. Its helpers are nightindex.js's, loaded before it.
"use strict";

(() => {
  const form = document.getElementById("compare-form");
  const out = document.getElementById("compare");
  const status = document.getElementById("compare-status");
  const icons = document.getElementById("card-icons");
  const shared = window.SitegenIndex; // nightindex.js
  if (!form || !out || !shared) return;
  const { el, niceDate, getJson, expand } = shared;
  const suiteInput = document.getElementById("compare-suite");
  const aInput = document.getElementById("compare-a");
  const bInput = document.getElementById("compare-b");

  const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
  const SURGE = 2; // "surging": more than this many times the count in a
  const root = new URL(".", document.baseURI); // the site root: compare.html sits there, index URLs are relative to it

  let header = null;
  const loaded = new Map(); // shard URL -> its nights

  const icon = (name) => shared.icon(icons, name);
  const statusOf = (word) => shared.statusOf(header, word);

  const number = (n) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });
  // As the cards round: whole numbers from 100 on, else one decimal.
  const rounded = (n) => n.toLocaleString("en-US", { maximumFractionDigits: n >= 100 ? 0 : 1 });
  const HIGHER_IS_BETTER = /qps|tps|throughput/i;

  // The nights of the shards that may hold these dates (all of them when the index is one file).
  async function nightsAround(dates) {
    if (!header) header = await getJson(new URL(form.dataset.index, root));
    if (header.nights) return expand(header);
    const wanted = header.shards.filter(
      (s, i) => dates.length === 0 || dates.some((d) => (d >= s.from && d <= s.to) || (i === 0 && d > s.to)),
    );
    // The shard just older than the oldest wanted one, for "the night before b".
    const last = header.shards.indexOf(wanted[wanted.length - 1]);
    if (last >= 0 && last + 1 < header.shards.length) wanted.push(header.shards[last + 1]);
    if (wanted.length === 0) wanted.push(...header.shards);
    await Promise.all(
      wanted.filter((s) => !loaded.has(s.url)).map(async (s) => loaded.set(s.url, expand(await getJson(new URL(s.url, root))))),
    );
    return header.shards.filter((s) => loaded.has(s.url)).flatMap((s) => loaded.get(s.url));
  }

  function params() {
    const p = new URLSearchParams(location.search);
    const date = (key) => (DATE_RE.test(p.get(key) || "") ? p.get(key) : "");
    return { a: date("a"), b: date("b"), suite: p.get("suite") };
  }

  async function show() {
    const want = params();
    status.textContent = "Loading…";
    let nights;
    try {
      nights = await nightsAround([want.a, want.b].filter(Boolean));
    } catch (error) {
      const hint = location.protocol === "file:" ? " Comparing needs a web server (sitegen serve)." : "";
      status.textContent = `The night index could not be read: ${error.message}.${hint}`;
      return;
    }
    fillForm(want);
    let suite = want.suite;
    if (suite === null) {
      // No suite given: the suite of night b when only one suite has it, or the only suite.
      const named = new Set(nights.filter((n) => !want.b || n.d === want.b).map((n) => n.s));
      suite = named.size === 1 ? header.suites[[...named][0]] : header.suites.length === 1 ? header.suites[0] : null;
    }
    const index = header.suites.indexOf(suite);
    if (index < 0) {
      status.textContent = "Choose a suite and two nights to compare.";
      out.replaceChildren();
      return;
    }
    const chain = nights.filter((n) => n.s === index); // newest first
    const b = want.b ? chain.find((n) => n.d === want.b) : chain[0];
    const a = want.a ? chain.find((n) => n.d === want.a) : b && chain.find((n) => n.d < b.d);
    suiteInput.value = suite;
    if (a) aInput.value = a.d;
    if (b) bInput.value = b.d;
    if (!a || !b) {
      const missing = !b ? want.b || "b" : want.a || "the night before b";
      status.textContent = `No night ${missing} in suite ${suite || "(no suite)"}.`;
      out.replaceChildren();
      return;
    }
    status.textContent = "";
    document.title = `${a.d} vs ${b.d}${suite ? ` · ${suite}` : ""} · ${document.title.split(" · ").pop()}`;
    out.replaceChildren(drawNights(a, b), drawMetrics(a, b), drawSignatures(a, b));
  }

  function fillForm(want) {
    if (!suiteInput.options.length) {
      header.suites.forEach((name) => suiteInput.append(new Option(name || "(no suite)", name)));
    }
    aInput.value = want.a;
    bInput.value = want.b;
    form.hidden = false;
  }

  function drawNights(a, b) {
    const section = el("section", "compare-nights");
    section.setAttribute("aria-label", "The two nights");
    for (const [which, n] of [["a", a], ["b", b]]) {
      const s = statusOf(n.t);
      const card = el("article", `card compare-night ${s.css}${s.look ? " needs-look" : ""}`);
      card.dataset.status = n.t;
      card.dataset.date = n.d;
      card.dataset.suite = header.suites[n.s];
      const top = el("div", "card-top");
      const badge = el("span", `badge ${s.css}`);
      badge.append(icon(s.icon), el("span", "badge-label", s.label));
      top.append(el("span", "compare-which", `Night ${which}`), " ", badge);
      const title = el("h2", "card-title");
      const link = el("a", "card-link");
      link.href = new URL(n.u, root).href;
      const time = el("time", "", niceDate(n.d));
      time.dateTime = n.d;
      link.append(time);
      title.append(link);
      card.append(top, title);
      if (n.h) card.append(el("p", "summary", n.c || n.h));
      section.append(card);
    }
    return section;
  }

  function unit(text) {
    const found = / (%|s|ms)$/.exec(text || "");
    return found ? ` ${found[1]}` : "";
  }

  function drawMetrics(a, b) {
    const rows = new Map();
    for (const [key, label, value, , raw] of b.m || []) rows.set(key, { label, b: value, braw: raw });
    for (const [key, label, value, , raw] of a.m || []) {
      const row = rows.get(key) || { label };
      rows.set(key, Object.assign(row, { a: value, araw: raw }));
    }
    const table = el("table", "compare-metrics");
    table.append(el("caption", "", "Key numbers"));
    const head = el("tr");
    for (const text of ["Metric", `a: ${a.d}`, `b: ${b.d}`, "Change"]) {
      const th = el("th", "", text);
      th.scope = "col";
      head.append(th);
    }
    table.append(el("thead"));
    table.tHead.append(head);
    const body = el("tbody");
    for (const [key, row] of rows) {
      const tr = el("tr");
      const th = el("th", "", row.label);
      th.scope = "row";
      th.title = key;
      tr.append(th, el("td", "", row.a ?? "–"), el("td", "", row.b ?? "–"));
      const delta = el("td", "delta");
      if (typeof row.araw === "number" && typeof row.braw === "number") {
        const change = row.braw - row.araw;
        const sign = change > 0 ? "+" : "−";
        // A change of a percentage is in percentage points, and a relative change of it would only confuse.
        const percent = unit(row.b) === " %";
        delta.textContent = change === 0 ? "same" : `${sign}${rounded(Math.abs(change))}${percent ? " pp" : unit(row.b)}`;
        if (change !== 0 && row.araw !== 0 && !percent) delta.textContent += ` (${sign}${rounded(Math.abs((100 * change) / row.araw))} %)`;
        // Red for worse, green for better: more is worse except for throughput ("min QPS").
        const better = HIGHER_IS_BETTER.test(key) ? change > 0 : change < 0;
        if (change !== 0) delta.classList.add(better ? "better" : "worse");
      } else {
        delta.textContent = "–";
      }
      tr.append(delta);
      body.append(tr);
    }
    table.append(body);
    if (!rows.size) {
      const tr = el("tr");
      const td = el("td", "", "Neither night lists any numbers.");
      td.colSpan = 4;
      tr.append(td);
      body.append(tr);
    }
    return table;
  }

  function drawSignatures(a, b) {
    const before = new Map((a.g || []).map((s) => [s[0], s]));
    const after = new Map((b.g || []).map((s) => [s[0], s]));
    const fresh = [...after.values()].filter((s) => !before.has(s[0]));
    const gone = [...before.values()].filter((s) => !after.has(s[0]));
    const surging = [...after.values()].filter((s) => before.has(s[0]) && s[2] > SURGE * before.get(s[0])[2]);
    const section = el("section", "compare-signatures");
    section.setAttribute("aria-labelledby", "signatures-title");
    const title = el("h2", "", "Log signatures");
    title.id = "signatures-title";
    section.append(title);
    section.append(
      group("new", `New in b (${fresh.length})`, fresh, (s) => `${number(s[2])}×`),
      group("gone", `Gone since a (${gone.length})`, gone, (s) => `${number(s[2])}× in a`),
      group("surging", `Surging, more than ${SURGE}× as often (${surging.length})`, surging, (s) => `${number(before.get(s[0])[2])}× → ${number(s[2])}×`),
    );
    section.append(el("p", "compare-note", "Among the worst signatures each night lists (up to 20), matched by their fingerprint."));
    return section;
  }

  function group(kind, heading, list, counted) {
    const part = el("section", `compare-group compare-${kind}`);
    part.append(el("h3", "", heading));
    if (!list.length) {
      part.append(el("p", "compare-none", "None."));
      return part;
    }
    const ol = el("ol", "signatures");
    for (const sig of list) {
      const [, sigKind, , isNew, message, component] = sig;
      const li = el("li", `sig sig-${sigKind}`);
      const head = el("span", "sig-head");
      head.append(el("span", "sig-kind", sigKind));
      if (kind === "new" && isNew) {
        const mark = el("span", "sig-new");
        mark.append(icon("new"), "NEW");
        head.append(" ", mark);
      }
      head.append(" ", el("span", "sig-count", counted(sig)));
      if (component) head.append(" ", el("span", "sig-component", component));
      li.append(head, el("code", "sig-message", message));
      ol.append(li);
    }
    part.append(ol);
    return part;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault(); // the CSP allows no form submission; the view lives in the URL
    const p = new URLSearchParams({ a: aInput.value, b: bInput.value, suite: suiteInput.value });
    history.pushState(null, "", `${location.pathname}?${p}`);
    show();
  });
  window.addEventListener("popstate", show);
  show();
})();
