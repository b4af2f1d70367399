// Search and filters over every night, on the index page. The night index (search/index.json, or its
// shards) is fetched the first time a filter or the search box is used, or when the page opens with a
// filter in its URL. The view lives in the URL query (?status=bad&suite=S&q=panic&from=D&to=D) so it can
// be shared; back and forward restore it. Matches are drawn as the same cards the server draws, with DOM
// calls only (every text from a report is untrusted). Without filters the server's cards are shown.
// Its helpers are nightindex.js's, loaded before it.
"use strict";

(() => {
  const form = document.getElementById("search");
  const grid = document.querySelector("section.grid");
  const shared = window.SitegenIndex; // nightindex.js
  // From file:// the browser may not fetch the index: the CSS-only filters of the page stay instead.
  if (!form || !grid || !shared || location.protocol === "file:") return;
  const { el, niceDate, getJson, expand } = shared;

  const PAGE = 100; // cards drawn at a time; "Show more" adds as many again
  const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

  const query = document.getElementById("search-q");
  const from = document.getElementById("search-from");
  const to = document.getElementById("search-to");
  const result = document.getElementById("search-result");
  const countLine = document.getElementById("night-count");
  const showing = document.getElementById("showing");
  const icons = document.getElementById("card-icons");
  const serverCards = Array.from(grid.children);
  const serverCount = countLine ? countLine.textContent : "";
  const total = Number(form.querySelector("#status-all + label .chip-count").textContent.replace(/,/g, "")) || 0;

  let data = null; // {header, nights} once loaded
  let loading = null; // the Promise while loading
  let shown = 0; // matches drawn so far
  let matches = [];
  let more = null;

  form.hidden = false;
  document.body.classList.add("search-ready");
  // The CSS-only filters hide cards by their own rules; with the script they would fight it.
  for (const input of document.querySelectorAll("form.filters input")) input.checked = input.id === "filter-all";

  const number = (n) => n.toLocaleString("en-US");
  const nights = (n) => `${number(n)} night${n === 1 ? "" : "s"}`;

  // --- the state: form <-> URL ------------------------------------------------------------------

  function radioValue(name) {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value : "";
  }

  function setRadio(name, value) {
    let found = false;
    for (const input of form.querySelectorAll(`input[name="${name}"]`)) {
      input.checked = input.value === value;
      found = found || input.checked;
    }
    if (!found) {
      const all = form.querySelector(`input[name="${name}"][value=""]`);
      if (all) all.checked = true;
    }
  }

  function readForm() {
    return {
      status: radioValue("search-status"),
      suite: radioValue("search-suite"),
      q: query.value.trim(),
      from: DATE_RE.test(from.value) ? from.value : "",
      to: DATE_RE.test(to.value) ? to.value : "",
    };
  }

  function fromUrl() {
    const params = new URLSearchParams(location.search);
    const date = (key) => (DATE_RE.test(params.get(key) || "") ? params.get(key) : "");
    return { status: params.get("status") || "", suite: params.get("suite") || "", q: params.get("q") || "", from: date("from"), to: date("to") };
  }

  function writeForm(state) {
    setRadio("search-status", state.status);
    setRadio("search-suite", state.suite);
    query.value = state.q;
    from.value = state.from;
    to.value = state.to;
  }

  function toUrl(state) {
    const params = new URLSearchParams();
    for (const key of ["status", "suite", "q", "from", "to"]) if (state[key]) params.set(key, state[key]);
    const text = params.toString();
    return location.pathname + (text ? `?${text}` : "") + location.hash;
  }

  const active = (state) => Boolean(state.status || state.suite || state.q || state.from || state.to);

  // --- loading the index ------------------------------------------------------------------------

  function load() {
    if (!loading) {
      const url = new URL(form.dataset.index, document.baseURI);
      loading = (async () => {
        const header = await getJson(url);
        let list;
        if (header.nights) {
          list = expand(header);
        } else {
          const root = new URL(".", document.baseURI); // shard URLs are relative to the site root, where the index is
          const shards = await Promise.all(header.shards.map((s) => getJson(new URL(s.url, root))));
          list = shards.flatMap(expand);
        }
        for (const night of list) night.text = haystack(night);
        data = { header, nights: list };
      })();
      loading.catch((error) => {
        loading = null;
        result.textContent = `Search is not available: ${error.message}`;
      });
    }
    return loading;
  }

  function haystack(night) {
    const parts = [night.h || "", night.i || "", night.d];
    for (const sig of night.g || []) parts.push(sig[4], sig[5]);
    return parts.join("\n").toLowerCase();
  }

  // --- filtering ----------------------------------------------------------------------------------

  function suiteValue(night) {
    const name = data.header.suites[night.s];
    return name === "" ? "~" : name;
  }

  function tests(state) {
    const words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    return {
      status: (n) => !state.status || n.t === state.status,
      suite: (n) => !state.suite || suiteValue(n) === state.suite,
      rest: (n) =>
        (!state.from || n.d >= state.from) && (!state.to || n.d <= state.to) && words.every((w) => n.text.includes(w)),
    };
  }

  function recount(state) {
    const t = tests(state);
    const counts = { status: new Map(), suite: new Map() };
    let statusAll = 0;
    let suiteAll = 0;
    for (const n of data.nights) {
      if (!t.rest(n)) continue;
      if (t.suite(n)) {
        statusAll++;
        counts.status.set(n.t, (counts.status.get(n.t) || 0) + 1);
      }
      if (t.status(n)) {
        suiteAll++;
        const s = suiteValue(n);
        counts.suite.set(s, (counts.suite.get(s) || 0) + 1);
      }
    }
    for (const input of form.querySelectorAll('input[type="radio"]')) {
      const label = form.querySelector(`.chip-count[data-for="${input.id}"]`);
      if (!label) continue;
      const facet = input.name === "search-status" ? "status" : "suite";
      const n = input.value === "" ? (facet === "status" ? statusAll : suiteAll) : counts[facet].get(input.value) || 0;
      label.textContent = number(n);
      label.parentElement.classList.toggle("chip-empty", n === 0);
    }
  }

  async function apply(state) {
    if (!active(state) && !data) return showServer();
    if (!data) {
      result.textContent = "Loading every night…";
      await load();
      if (!data) return;
      state = readForm(); // the reader may have typed on while it loaded
    }
    recount(state);
    if (!active(state)) return showServer();
    const t = tests(state);
    matches = data.nights.filter((n) => t.status(n) && t.suite(n) && t.rest(n));
    grid.replaceChildren();
    shown = 0;
    drawMore();
    if (showing) showing.hidden = true;
    if (countLine) countLine.textContent = `${number(matches.length)} of ${nights(total)}`;
    result.textContent =
      matches.length === 0
        ? "No night matches."
        : `${nights(matches.length)} match${matches.length === 1 ? "es" : ""}, newest first.`;
  }

  function showServer() {
    matches = [];
    grid.replaceChildren(...serverCards);
    if (more) more.hidden = true;
    if (showing) showing.hidden = false;
    if (countLine) countLine.textContent = serverCount;
    result.textContent = "";
  }

  function drawMore() {
    const part = matches.slice(shown, shown + PAGE);
    grid.append(...part.map(drawCard));
    shown += part.length;
    if (!more) {
      more = document.createElement("button");
      more.type = "button";
      more.className = "search-more";
      more.addEventListener("click", drawMore);
      grid.after(more);
    }
    more.hidden = shown >= matches.length;
    more.textContent = `Show ${number(Math.min(PAGE, matches.length - shown))} more of ${number(matches.length - shown)}`;
  }

  // --- a card, as card.html draws it -----------------------------------------------------------------

  const icon = (name) => shared.icon(icons, name);
  const statusOf = (word) => shared.statusOf(data.header, word);

  function drawCard(n) {
    const status = statusOf(n.t);
    const suite = data.header.suites[n.s];
    const card = el("article", `card ${status.css}${status.look ? " needs-look" : ""}${status.known ? "" : " unknown"} s${n.s}`);
    card.dataset.status = n.t;
    card.dataset.date = n.d;
    card.dataset.suite = suite;

    const top = el("div", "card-top");
    const badge = el("span", `badge ${status.css}`);
    badge.append(icon(status.icon), el("span", "badge-label", status.label));
    top.append(badge);
    if (suite) top.append(" ", el("span", "suite", suite));
    card.append(top);

    const title = el("h2", "card-title");
    const link = el("a", "card-link");
    link.href = n.u;
    const time = el("time", "", niceDate(n.d));
    time.dateTime = n.d;
    link.append(time);
    title.append(link);
    card.append(title);

    if (n.i) card.append(el("p", "card-subtitle", n.i));
    if (n.h) card.append(el("p", `summary${n.a ? " unavailable" : ""}`, n.c || n.h));
    if (n.r) {
      const fired = el("p", "card-fired");
      const words = el("span");
      words.append(el("span", "fired-label", n.r.length > 1 ? "Rules fired:" : "Rule fired:"), " ");
      n.r.forEach(([rule, text], i) => {
        const one = el("span", "rule", text);
        one.title = rule;
        words.append(one);
        if (i < n.r.length - 1) words.append(", ");
      });
      fired.append(icon("alert"), words);
      card.append(fired);
    }
    if (n.m) {
      const list = el("dl", "metrics");
      for (const [key, label, value, rule] of n.m.slice(0, 8)) {
        const chip = el("div", `chip${rule ? " fired" : ""}`);
        chip.title = rule ? `${key}: rule ${rule} fired` : key;
        const dt = el("dt");
        if (rule) dt.append(icon("alert"));
        dt.append(label);
        if (rule) dt.append(el("span", "sr-only", " (rule fired)"));
        chip.append(dt, el("dd", "", value));
        list.append(chip);
      }
      card.append(list);
    }
    if (n.q) {
      const problems = el("ul", "problems");
      for (const problem of n.q) problems.append(el("li", "", problem));
      card.append(problems);
    }
    const foot = el("div", "card-foot");
    foot.append(el("span", "", n.f));
    if (n.p) {
      const pdf = el("a", "pdf-link", "PDF");
      pdf.href = n.p;
      foot.append(" ", pdf);
    } else if (n.x) {
      const missing = el("span", n.x[0], n.x[1]);
      if (n.x[2]) missing.title = n.x[2];
      foot.append(" ", missing);
    }
    card.append(foot);
    return card;
  }

  // --- events -------------------------------------------------------------------------------------------

  let typing = null;
  function changed(push) {
    const state = readForm();
    const url = toUrl(state);
    if (url !== location.pathname + location.search + location.hash) {
      if (push) history.pushState(null, "", url);
      else history.replaceState(null, "", url);
    }
    apply(state);
  }

  form.addEventListener("submit", (event) => event.preventDefault()); // the CSP allows no form posts anyway
  form.addEventListener("change", (event) => {
    if (event.target !== query) changed(true);
  });
  query.addEventListener("input", () => {
    load(); // start fetching at the first key
    clearTimeout(typing);
    typing = setTimeout(() => changed(false), 200);
  });
  query.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && query.value) {
      query.value = "";
      changed(true);
    } else if (event.key === "Enter") {
      clearTimeout(typing);
      changed(true);
    }
  });
  document.getElementById("search-clear").addEventListener("click", () => {
    writeForm({ status: "", suite: "", q: "", from: "", to: "" });
    changed(true);
  });
  window.addEventListener("popstate", () => {
    const state = fromUrl();
    writeForm(state);
    apply(state);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    event.preventDefault();
    query.focus();
    query.select();
  });

  const initial = fromUrl();
  writeForm(initial);
  if (active(initial)) apply(readForm());
})();
