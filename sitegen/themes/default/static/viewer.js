/* The report viewer: pdf.js PDFViewer with its find controller (text layer on, eval off), links to a
   page (#page=N, kept in the URL as you read), zoom modes, a find bar, the "?" list of shortcuts and
   the summary panel.
   A classic script on purpose: it runs from file:// too, where it explains that pdf.js needs a
   web server instead of spinning; pdf.js itself is loaded with dynamic import(). No inline script
   anywhere: the pages' Content-Security-Policy allows scripts of the site only. */
(function () {
  "use strict";
  var body = document.body;
  if (!body.dataset.pdf) return;  // the PDF was not published: the page already says why
  var $ = function (id) { return document.getElementById(id); };
  var message = $("viewer-message");
  // The PDF is the one the page names (data-pdf), never one taken from the URL.
  var pdfUrl = new URL(body.dataset.pdf, document.baseURI);

  function showMessage(text, linkText, detail) {
    // textContent only: error messages may quote the PDF.
    message.textContent = "";
    var p = document.createElement("p");
    p.textContent = text;
    if (linkText) {
      var link = document.createElement("a");
      link.href = body.dataset.pdf;
      link.textContent = linkText;
      link.className = "pdf-fallback";
      p.appendChild(document.createTextNode(" "));
      p.appendChild(link);
      p.appendChild(document.createTextNode("."));
    }
    message.appendChild(p);
    if (detail) {
      var small = document.createElement("p");
      small.className = "detail";
      small.textContent = detail;
      message.appendChild(small);
    }
    message.hidden = false;
    body.classList.add("viewer-failed");
  }

  // --- The summary panel: beside the pages on wide screens, over them on demand on narrow ones.
  var summary = $("night-summary"), summaryToggle = $("summary-toggle");
  var narrow = window.matchMedia("(max-width: 899px)");
  var HIDE_KEY = "sitegen-summary-hidden";
  function summaryShown() { return !!summary && getComputedStyle(summary).display !== "none"; }
  function syncSummary() { if (summaryToggle) summaryToggle.setAttribute("aria-expanded", String(summaryShown())); }
  function toggleSummary() {
    if (!summary) return;
    if (narrow.matches) body.classList.toggle("summary-shown");
    else {
      var hidden = body.classList.toggle("summary-hidden");
      try { localStorage.setItem(HIDE_KEY, hidden ? "1" : ""); } catch (e) { /* storage off: not remembered */ }
    }
    syncSummary();
  }
  try { if (localStorage.getItem(HIDE_KEY)) body.classList.add("summary-hidden"); } catch (e) { /* storage off */ }
  if (summaryToggle) summaryToggle.addEventListener("click", toggleSummary);
  if (narrow.addEventListener) narrow.addEventListener("change", syncSummary);
  syncSummary();

  if (location.protocol === "file:") {
    body.classList.add("viewer-file");
    showMessage("This viewer needs a web server: browsers do not let pdf.js load files from a file:// page. " +
      "Serve the site (for example with “sitegen serve”), or", "open the PDF directly");
    return;
  }
  if (pdfUrl.origin !== location.origin) {
    // The Content-Security-Policy (connect-src 'self') would block the request anyway; say why here.
    showMessage("This viewer shows only PDFs of this site, not " + pdfUrl.origin + ".");
    return;
  }

  var base = new URL(body.dataset.pdfjs, document.baseURI);

  // --- #page=N: a link opens that page; reading updates it (replaceState: no history entry per page).
  function hashParams() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at < 0) { if (/^\d+$/.test(part)) out.page = part; return; }
      try { out[decodeURIComponent(part.slice(0, at))] = decodeURIComponent(part.slice(at + 1).replace(/\+/g, " ")); } catch (e) { /* a bad escape: ignored */ }
    });
    return out;
  }

  async function start() {
    var pdfjsLib = await import(new URL("build/pdf.min.mjs", base).href);
    globalThis.pdfjsLib = globalThis.pdfjsLib || pdfjsLib;  // web/pdf_viewer.mjs reads it from here
    var viewerLib = await import(new URL("web/pdf_viewer.mjs", base).href);
    pdfjsLib.GlobalWorkerOptions.workerSrc = new URL("build/pdf.worker.min.mjs", base).href;

    var container = $("viewerContainer");
    var eventBus = new viewerLib.EventBus();
    var linkService = new viewerLib.PDFLinkService({
      eventBus: eventBus,
      externalLinkTarget: viewerLib.LinkTarget ? viewerLib.LinkTarget.BLANK : 2,
      externalLinkRel: "noopener noreferrer nofollow",
    });
    // The find controller reads the text of every page from the document, not only the pages drawn.
    var findController = new viewerLib.PDFFindController({ eventBus: eventBus, linkService: linkService });
    var viewer = new viewerLib.PDFViewer({
      container: container,
      viewer: $("viewer"),
      eventBus: eventBus,
      linkService: linkService,
      findController: findController,
      textLayerMode: 1,  // enabled: text can be selected and searched
    });
    linkService.setViewer(viewer);
    var ready = false;

    // --- Pages
    var pageInput = $("page-number");
    function syncPage() {
      var n = viewer.currentPageNumber, total = viewer.pagesCount;
      pageInput.value = n;
      $("prev-page").disabled = n <= 1;
      $("next-page").disabled = n >= total;
      body.dataset.page = n;
      if (ready && (n !== 1 || location.hash)) {
        var hash = "#page=" + n;
        if (location.hash !== hash) history.replaceState(history.state, "", location.pathname + location.search + hash);
      }
    }
    function goToPage(n) {
      if (n >= 1 && n <= viewer.pagesCount) viewer.currentPageNumber = n; else syncPage();
    }
    function pageFromHash() {
      var n = parseInt(hashParams().page, 10);
      return n >= 1 ? Math.min(n, viewer.pagesCount) : null;
    }

    // --- Zoom: presets (fit page, fit width, actual size, automatic) or a percentage.
    var zoom = $("zoom-mode"), customZoom = $("zoom-custom");
    function isPreset(value) { return /^(auto|page-fit|page-width|page-actual)$/.test(value); }
    function setZoom(value) { viewer.currentScaleValue = value; }
    function syncZoom() {
      var value = String(viewer.currentScaleValue), known = false;
      for (var i = 0; i < zoom.options.length; i++) {
        var option = zoom.options[i];
        if (option !== customZoom && option.value === value) { known = true; break; }
      }
      customZoom.hidden = known;
      if (known) zoom.value = value;
      else {
        customZoom.textContent = Math.round(viewer.currentScale * 100) + " %";
        zoom.value = "custom";
      }
    }
    zoom.addEventListener("change", function () { if (zoom.value !== "custom") setZoom(zoom.value); });
    $("zoom-in").addEventListener("click", function () { viewer.increaseScale(); });
    $("zoom-out").addEventListener("click", function () { viewer.decreaseScale(); });
    // A preset follows the space it has (window resized, summary shown or hidden).
    new ResizeObserver(function () {
      if (ready && isPreset(viewer.currentScaleValue)) viewer.currentScaleValue = viewer.currentScaleValue;
    }).observe(container);

    // --- Find bar: pdf.js's find controller, every match highlighted.
    var findbar = $("findbar"), findInput = $("find-input"), findStatus = $("find-status"), findOpen = $("find-open");
    var FindState = viewerLib.FindState || { FOUND: 0, NOT_FOUND: 1, WRAPPED: 2, PENDING: 3 };
    function find(type, previous) {
      eventBus.dispatch("find", {
        source: findbar, type: type, query: findInput.value, caseSensitive: false, entireWord: false,
        highlightAll: true, findPrevious: !!previous, matchDiacritics: false,
      });
    }
    function openFind() {
      findbar.hidden = false;
      findOpen.setAttribute("aria-expanded", "true");
      findInput.focus();
      findInput.select();
    }
    function closeFind() {
      if (findbar.hidden) return;
      findbar.hidden = true;
      findOpen.setAttribute("aria-expanded", "false");
      eventBus.dispatch("findbarclose", { source: findbar });
      container.focus({ preventScroll: true });
    }
    function showCount(count, state) {
      findStatus.classList.toggle("not-found", state === FindState.NOT_FOUND);
      if (!findInput.value) findStatus.textContent = "";
      else if (state === FindState.PENDING) findStatus.textContent = "…";
      else if (state === FindState.NOT_FOUND) findStatus.textContent = "Not found";
      else if (count && count.total) findStatus.textContent = (count.current || 1) + " of " + count.total;
    }
    findInput.addEventListener("input", function () { find(""); });
    findInput.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); find("again", e.shiftKey); }
      else if (e.key === "Escape") { e.preventDefault(); closeFind(); }
    });
    findOpen.addEventListener("click", function () { if (findbar.hidden) openFind(); else closeFind(); });
    $("find-next").addEventListener("click", function () { find("again", false); });
    $("find-prev").addEventListener("click", function () { find("again", true); });
    $("find-close").addEventListener("click", closeFind);
    eventBus.on("updatefindmatchescount", function (e) { showCount(e.matchesCount, FindState.FOUND); });
    eventBus.on("updatefindcontrolstate", function (e) { showCount(e.matchesCount, e.state); });

    // --- The "?" list of shortcuts
    var dialog = $("shortcuts");
    function openHelp() { if (!dialog.open) dialog.showModal(); }
    $("help-open").addEventListener("click", openHelp);
    $("shortcuts-close").addEventListener("click", function () { dialog.close(); });

    function click(selector) {
      var link = document.querySelector(selector);
      if (link && link.href) link.click();
    }
    document.addEventListener("keydown", function (e) {
      var mod = e.ctrlKey || e.metaKey;
      if (mod && !e.altKey && !e.shiftKey && (e.key === "f" || e.key === "F")) {
        // Browser find sees only the pages drawn so far; this searches them all.
        if (ready) { e.preventDefault(); openFind(); }
        return;
      }
      if ((mod && (e.key === "g" || e.key === "G")) || e.key === "F3") {
        if (findInput.value) { e.preventDefault(); find("again", e.shiftKey); }
        return;
      }
      if (mod || e.altKey || e.defaultPrevented || dialog.open) return;
      if (e.key === "Escape") {
        if (!findbar.hidden) closeFind();
        else if (body.classList.contains("summary-shown")) toggleSummary();
        return;
      }
      if (e.target.closest("input, textarea, select, [contenteditable]")) return;  // typing, not a shortcut
      if (e.key === "?") openHelp();
      else if (e.key === "s") toggleSummary();
      else if (e.key === "[") click("a.older");
      else if (e.key === "]") click("a.newer");
      else if (!ready) return;
      else if (e.key === "ArrowLeft" || e.key === "p") viewer.previousPage();
      else if (e.key === "ArrowRight" || e.key === "n") viewer.nextPage();
      else if (e.key === "+" || e.key === "=") viewer.increaseScale();
      else if (e.key === "-") viewer.decreaseScale();
      else if (e.key === "0") setZoom("page-actual");
      else if (e.key === "f") setZoom("page-fit");
      else if (e.key === "w") setZoom("page-width");
      else if (e.key === "g") { pageInput.focus(); pageInput.select(); }
      else if (e.key === "/") openFind();
      else return;
      e.preventDefault();
    });

    eventBus.on("pagesinit", function () {
      viewer.currentScaleValue = "auto";
      var n = pageFromHash();
      if (n) viewer.currentPageNumber = n;
      ready = true;
      body.classList.add("viewer-ready");
      message.hidden = true;
      ["page-number", "zoom-in", "zoom-out", "zoom-mode", "find-open"].forEach(function (id) { $(id).disabled = false; });
      syncPage();
      syncZoom();
      var query = hashParams().search;  // #search=panic opens the find bar on that word
      if (query) { findInput.value = query; openFind(); find(""); }
    });
    eventBus.on("pagechanging", syncPage);
    eventBus.on("scalechanging", syncZoom);
    eventBus.on("pagerendered", function () {
      // A hook for tests and the dev server: the first page shown has been drawn.
      if (!body.dataset.firstPageRendered) body.dataset.firstPageRendered = "true";
    });
    window.addEventListener("hashchange", function () {
      var n = ready && pageFromHash();
      if (n && n !== viewer.currentPageNumber) viewer.currentPageNumber = n;
    });

    $("prev-page").addEventListener("click", function () { viewer.previousPage(); });
    $("next-page").addEventListener("click", function () { viewer.nextPage(); });
    pageInput.addEventListener("change", function () { goToPage(parseInt(pageInput.value, 10)); });
    pageInput.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { goToPage(parseInt(pageInput.value, 10)); container.focus({ preventScroll: true }); }
    });

    var task = pdfjsLib.getDocument({
      url: pdfUrl.href,
      isEvalSupported: false,  // never compile code from a PDF (CVE-2024-4367)
      enableXfa: false,
      cMapUrl: new URL("cmaps/", base).href,
      cMapPacked: true,  // CJK text in PDFs whose fonts use predefined CMaps
    });
    var doc = await task.promise;
    $("page-count").textContent = doc.numPages;
    pageInput.max = doc.numPages;
    viewer.setDocument(doc);
    linkService.setDocument(doc, null);
    container.focus({ preventScroll: true });
  }

  start().catch(function (err) {
    showMessage("The PDF could not be shown here.", "Open the PDF directly", String(err && err.message || err));
  });
})();
