"""Helpers for the browser tests of the built book (``make test-browser``, after ``make book``).

One headless Chromium (Debian's ``/usr/bin/chromium``, or ``$DLBOOK_CHROMIUM``) is driven by
playwright with ``executable_path``: playwright never downloads a browser. Every request is
routed: ``file://`` URLs load, anything else is aborted and recorded, so a test can assert
that no request ever left the machine.

``book`` (session-scoped) opens each page of ``_toc.yml`` in one reused tab, once on a desktop
and once on a phone, and keeps a :class:`PageReport` of what the page did: console errors,
requests, maths, images, widgets, and the width of the layout on the phone. It also writes
two full-page screenshots of the page to ``_build/screenshots/``: ``<page>-desktop.png``
(1280 px wide) and ``<page>-phone.png`` (390 px wide).

:func:`why_not_runnable` says why the tests cannot run (no playwright, Chromium or built book).
The fixtures that use all this are in ``conftest.py``.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path(os.environ.get("DLBOOK_CHROMIUM", "/usr/bin/chromium"))
# What a root CI machine needs; --disable-background-networking stops Chromium's own traffic
# (component updates, safe browsing), which the route below would not see.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 20_000

# Console errors that come from the toolchain, not from the book, and break nothing:
# sphinx-thebe 0.3.1 writes its `const THEBE_JS_URL = ...` script into every page twice (thebe
# itself is off, the string is never used); the second copy throws "already been declared".
HARMLESS_ERRORS = [re.compile(r"Identifier 'THEBE_JS_URL' has already been declared")]


def toc_docs() -> list[str]:
    """Every document of ``_toc.yml`` in reading order, e.g. ``"book/ch02_activations"``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        docs += [chapter["file"] for chapter in part["chapters"]]
    return [re.sub(r"\.(md|ipynb)$", "", doc) for doc in docs]


@dataclass
class PageReport:
    """What one built page did in the browser (collected once, checked by several tests)."""

    doc: str
    url: str
    console_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    phone_width: int = 0


# Runs in the page once MathJax and the widgets are done: everything the tests look at.
FACTS_JS = """() => {
  const article = document.querySelector("article.bd-article") || document.body;
  const skip = "pre, code, script, style, mjx-container, textarea, .jupyter-widgets";
  const leftovers = [];
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const raw = /\\$|\\\\\\(|\\\\\\)|\\\\\\[|\\\\\\]|\\\\(frac|sum|begin|end|mathbf|hat|bar|tag)\\b/;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent && !parent.closest(skip) && raw.test(node.textContent)) {
      leftovers.push(node.textContent.trim().slice(0, 120));
    }
  }
  const mathNodes = Array.from(document.querySelectorAll(".math"));
  const widgets = Array.from(document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]')).map(script => {
    const output = script.closest(".cell_output, .output") || script.parentElement;
    const views = Array.from(output.querySelectorAll(".jupyter-widgets"));
    const box = views.length ? views[0].getBoundingClientRect() : {width: 0, height: 0};
    return {
      model: JSON.parse(script.textContent).model_id,
      rendered: views.length > 0 && box.width > 0 && box.height > 0,
      images: Array.from(output.querySelectorAll("img")).filter(i => i.naturalWidth > 0).length,
      emptyOutputs: Array.from(output.querySelectorAll(".widget-output"))
          .filter(o => !o.innerText.trim() && !o.querySelector("img, svg, canvas")).length,
      text: output.innerText.slice(0, 200),
    };
  });
  return {
    mathjax: !!document.querySelector("script[src*='mathjax']"),
    mathNodes: mathNodes.length,
    untypeset: mathNodes.filter(m => !m.querySelector("mjx-container"))
                        .map(m => m.textContent.slice(0, 80)),
    mjx: document.querySelectorAll("mjx-container").length,
    mathErrors: Array.from(document.querySelectorAll("mjx-merror"))
                     .map(e => (e.getAttribute("data-mjx-error") || e.textContent).slice(0, 80)),
    leftovers: leftovers,
    images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src,
                                                   width: i.naturalWidth})),
    outputImages: article.querySelectorAll(".cell_output img").length,
    brokenAnchors: Array.from(document.querySelectorAll('a[href^="#"]'))
        .map(a => decodeURIComponent(a.getAttribute("href").slice(1)))
        .filter(id => id && !document.getElementById(id)),
    internalLinks: Array.from(document.querySelectorAll("a.reference.internal[href]"))
        .map(a => a.href.split("#")[0]).filter(h => h.startsWith("file:")),
    widgets: widgets,
  };
}"""

# Resolves when MathJax (if the page loads it) has typeset, every widget snapshot has been
# drawn by the widget manager (or ~8 s have passed) and every image has settled.
SETTLE_JS = """async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const scripts = () => Array.from(document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]'));
  const drawn = s => (s.closest(".cell_output, .output") || s.parentElement)
      .querySelector(".jupyter-widgets");
  for (let i = 0; i < 80 && scripts().some(s => !drawn(s)); i++) await sleep(100);
  if (document.querySelector("script[src*='mathjax']")) {
    for (let i = 0; i < 80 && !(window.MathJax && MathJax.startup && MathJax.startup.promise);
         i++) await sleep(100);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
    }
  }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(r => { img.addEventListener("load", r); img.addEventListener("error", r); })));
  await document.fonts.ready;
}"""


class BookBrowser:
    """One Chromium tab over the built book, with every non-file request blocked and logged."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport=DESKTOP)
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.console: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        self.page.on("pageerror", lambda e: self.console.append(f"uncaught: {e}"))
        self.page.on("requestfailed", self._failed)
        self.reports: dict[str, PageReport] = {}

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith("file://"):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def _failed(self, request: Any) -> None:
        if request.url.startswith("file://"):
            self.failed.append(f"{request.url} ({request.failure})")

    def requests_outside(self) -> list[str]:
        """The requests since the last :meth:`open` that were not for a local file."""
        return [url for url in self.requests if not url.startswith("file://")]

    def url(self, doc: str) -> str:
        return (HTML / f"{doc}.html").as_uri()

    def open(self, url: str, viewport: dict[str, int] = DESKTOP) -> None:
        """Load ``url`` at ``viewport`` and wait until maths, widgets and images are done."""
        self.requests.clear()
        self.failed.clear()
        self.console.clear()
        self.page.set_viewport_size(viewport)
        self.page.goto(url, wait_until="load")
        self.page.evaluate(SETTLE_JS)

    def report(self, doc: str) -> PageReport:
        """The :class:`PageReport` of ``doc`` (the page is visited and screenshotted once)."""
        if doc not in self.reports:
            self.reports[doc] = self._visit(doc)
        return self.reports[doc]

    def _visit(self, doc: str) -> PageReport:
        """Load ``doc`` on a desktop, then afresh on a phone (a resized page would be caught
        mid-transition by the screenshot), and keep what both loads did."""
        report = PageReport(doc=doc, url=self.url(doc))
        name = doc.split("/")[-1]
        for viewport, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
            self.open(report.url, viewport)
            if label == "desktop":
                report.facts = self.page.evaluate(FACTS_JS)
            else:
                report.phone_width = self.page.evaluate(
                    "() => document.documentElement.scrollWidth")
            self.page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
            report.console_errors += [f"[{label}] {m}" for m in self.console
                                      if not any(p.search(m) for p in HARMLESS_ERRORS)]
            report.remote_requests += self.requests_outside()
            report.missing_files += self.failed
        return report


def why_not_runnable() -> str | None:
    if not (HTML / "index.html").exists():
        return f"the book is not built ({HTML} has no index.html): run `make book` first"
    if not (CHROMIUM.exists() or shutil.which(str(CHROMIUM))):
        return (f"Chromium not found at {CHROMIUM}: install it (`apt-get install -y chromium`) "
                "or set DLBOOK_CHROMIUM to a Chromium binary")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -r requirements-dev.txt"
    return None
