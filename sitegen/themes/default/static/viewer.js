/* The report viewer: pdf.js PDFViewer (text layer on, eval off), page navigation and zoom.
   A classic script on purpose: it runs from file:// too, where it explains that pdf.js needs a
   web server instead of spinning; pdf.js itself is loaded with dynamic import(). */
(function () {
  "use strict";
  var body = document.body;
  if (!body.dataset.pdf) return;  // the PDF was not published: the page already says why
  var message = document.getElementById("viewer-message");
  var pdfUrl = new URL(body.dataset.pdf, document.baseURI).href;

  function showMessage(text, linkText, detail) {
    // textContent only: error messages may quote the PDF.
    message.textContent = "";
    var p = document.createElement("p");
    p.textContent = text + " ";
    var link = document.createElement("a");
    link.href = body.dataset.pdf;
    link.textContent = linkText;
    link.className = "pdf-fallback";
    p.appendChild(link);
    p.appendChild(document.createTextNode("."));
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

  if (location.protocol === "file:") {
    body.classList.add("viewer-file");
    showMessage("This viewer needs a web server: browsers do not let pdf.js load files from a file:// page. " +
      "Serve the site (for example with “sitegen serve”), or", "open the PDF directly");
    return;
  }

  var base = new URL(body.dataset.pdfjs, document.baseURI);
  var $ = function (id) { return document.getElementById(id); };

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
    var viewer = new viewerLib.PDFViewer({
      container: container,
      viewer: $("viewer"),
      eventBus: eventBus,
      linkService: linkService,
      textLayerMode: 1,  // enabled: text can be selected and searched
    });
    linkService.setViewer(viewer);

    var pageInput = $("page-number");
    function syncPage() {
      var n = viewer.currentPageNumber, total = viewer.pagesCount;
      pageInput.value = n;
      $("prev-page").disabled = n <= 1;
      $("next-page").disabled = n >= total;
    }
    function syncZoom() {
      var fit = viewer.currentScaleValue === "page-width";
      $("zoom-value").textContent = fit ? "Fit width" : Math.round(viewer.currentScale * 100) + "%";
    }
    eventBus.on("pagesinit", function () {
      viewer.currentScaleValue = "page-width";
      body.classList.add("viewer-ready");
      message.hidden = true;
      ["page-number", "zoom-in", "zoom-out", "zoom-fit"].forEach(function (id) { $(id).disabled = false; });
      syncPage();
    });
    eventBus.on("pagechanging", syncPage);
    eventBus.on("scalechanging", syncZoom);
    eventBus.on("pagerendered", function (e) {
      if (e.pageNumber === 1) body.dataset.firstPageRendered = "true";  // a hook for tests and the dev server
    });

    $("prev-page").addEventListener("click", function () { viewer.previousPage(); });
    $("next-page").addEventListener("click", function () { viewer.nextPage(); });
    pageInput.addEventListener("change", function () {
      var n = parseInt(pageInput.value, 10);
      if (n >= 1 && n <= viewer.pagesCount) viewer.currentPageNumber = n; else syncPage();
    });
    $("zoom-in").addEventListener("click", function () { viewer.increaseScale(); });
    $("zoom-out").addEventListener("click", function () { viewer.decreaseScale(); });
    $("zoom-fit").addEventListener("click", function () { viewer.currentScaleValue = "page-width"; });
    window.addEventListener("resize", function () {
      if (viewer.currentScaleValue === "page-width") viewer.currentScaleValue = "page-width";
    });
    document.addEventListener("keydown", function (e) {
      if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "ArrowLeft" || e.key === "p") viewer.previousPage();
      else if (e.key === "ArrowRight" || e.key === "n") viewer.nextPage();
      else if (e.key === "+" || e.key === "=") viewer.increaseScale();
      else if (e.key === "-") viewer.decreaseScale();
      else return;
      e.preventDefault();
    });

    var task = pdfjsLib.getDocument({
      url: pdfUrl,
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
