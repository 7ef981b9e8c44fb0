"""The built book (``_build/html``) in headless Chromium, with the network off.

Each page of ``_toc.yml`` is opened on a desktop and on a phone (see ``book_browser.py``) and
checked for: no request leaving the machine and no missing local file; no console error;
every formula typeset by MathJax with no raw ``$``/``\\(`` left in the prose; every image
loaded and every figure of the notebook present; every ipywidgets snapshot drawn (or its
static image shown); no broken in-page or cross-page link; a layout that fits a 390 px phone.
Then the sidebar (desktop and phone) and the search are used like a reader would. Screenshots
of every page at 1280 px and 390 px land in ``_build/screenshots/``.

Run with ``make test-browser`` (after ``make book``); skipped when Chromium is absent.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from book_browser import HTML, PHONE, ROOT, toc_docs

DOCS = toc_docs()
CHAPTERS = [doc for doc in DOCS if doc != DOCS[0]]
FIGURE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
WIDGET_ERRORS = re.compile(r"Error displaying widget|Failed to load model|model not found", re.I)

# Each interactive explorer of dlbook.viz and the static plots that stand in for it in the
# built book (a kernel is needed to move the explorer's sliders; the book has none).
EXPLORER_TWINS = {
    "activation_explorer": ("plot_activation", "plot_activation_grid"),
    "lr_momentum_explorer": ("plot_lr_momentum_grid", "plot_trajectories"),
    "conv_explorer": ("plot_slide", "plot_filters", "plot_feature_maps"),
    "attention_explorer": ("plot_attention",),
    "latent_explorer": ("plot_interpolation", "plot_latent_grid"),
}


def _notebook(doc: str) -> dict[str, Any] | None:
    path = ROOT / f"{doc}.ipynb"
    return json.loads(path.read_text()) if path.exists() else None


def _code_cells(nb: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [("".join(c["source"]), c.get("outputs", [])) for c in nb["cells"]
            if c["cell_type"] == "code"]


def _figures(outputs: list[dict[str, Any]]) -> int:
    return sum(any(m in o.get("data", {}) for m in FIGURE_MIMES) for o in outputs)


def _calls(source: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){name}\(", source) is not None


@pytest.fixture(params=[pytest.param(d, marks=pytest.mark.xdist_group(d)) for d in DOCS],
                ids=[d.split("/")[-1] for d in DOCS])
def report(request: pytest.FixtureRequest, book: Any) -> Any:
    """The browser's report on one page of the book (visited once per session; under xdist
    every test of a page runs on the worker that visited it)."""
    return book.report(request.param)


def test_every_toc_page_was_built(book: Any) -> None:
    missing = [doc for doc in DOCS if not (HTML / f"{doc}.html").exists()]
    assert not missing, f"pages in _toc.yml with no built HTML (run make book): {missing}"


def test_no_request_leaves_the_machine(report: Any) -> None:
    assert not report.remote_requests, f"{report.doc} asked the network: {report.remote_requests}"
    assert not report.missing_files, f"{report.doc} asked for missing files: {report.missing_files}"


def test_no_console_errors(report: Any) -> None:
    assert not report.console_errors, f"{report.doc}: {report.console_errors}"


def test_maths_typeset(report: Any) -> None:
    facts = report.facts
    if facts["mathNodes"]:
        assert facts["mathjax"], f"{report.doc} has maths but does not load MathJax"
    assert not facts["untypeset"], f"{report.doc}: formulas MathJax did not typeset"
    assert facts["mjx"] >= facts["mathNodes"]
    assert not facts["mathErrors"], f"{report.doc}: MathJax errors {facts['mathErrors']}"
    assert not facts["leftovers"], (
        f"{report.doc}: raw TeX left in the prose (a $$ or $ MyST did not parse, often display "
        f"maths inside a list item or a line starting with + or -): {facts['leftovers']}")


def test_images_load(report: Any) -> None:
    broken = [img["src"] for img in report.facts["images"] if img["width"] == 0]
    assert not broken, f"{report.doc}: images that did not load: {broken}"
    nb = _notebook(report.doc)
    if nb is not None:
        expected = sum(_figures(outputs) for _, outputs in _code_cells(nb))
        assert report.facts["outputImages"] >= expected, (
            f"{report.doc}: the notebook has {expected} figures, the page shows "
            f"{report.facts['outputImages']}")


def test_widgets_render(report: Any) -> None:
    for widget in report.facts["widgets"]:
        assert widget["rendered"] or widget["images"], (
            f"{report.doc}: widget {widget['model']} shows neither a widget nor a static image")
        assert not WIDGET_ERRORS.search(widget["text"]), f"{report.doc}: {widget['text']}"
        assert not widget["emptyOutputs"], (
            f"{report.doc}: widget {widget['model']} has an Output with nothing saved in it "
            "(an explorer's snapshot should show its figure)")


def test_links_resolve(report: Any) -> None:
    assert not report.facts["brokenAnchors"], (
        f"{report.doc}: links to ids not on the page: {report.facts['brokenAnchors']}")
    missing = sorted({link for link in report.facts["internalLinks"]
                      if not Path(unquote(urlparse(link).path)).exists()})
    assert not missing, f"{report.doc}: links to pages that were not built: {missing}"


def test_fits_a_phone(report: Any) -> None:
    assert report.phone_width <= PHONE["width"] + 1, (
        f"{report.doc} is {report.phone_width} px wide on a {PHONE['width']} px phone: "
        "something scrolls the whole page sideways")


def test_sidebar_lists_and_opens_every_chapter(book: Any) -> None:
    book.open(book.url(DOCS[0]))
    nav = book.page.locator("nav.bd-docs-nav")
    hrefs = nav.locator("a.reference.internal").evaluate_all("links => links.map(a => a.href)")
    listed = {unquote(urlparse(h).path) for h in hrefs}
    missing = [doc for doc in CHAPTERS if str(HTML / f"{doc}.html") not in listed]
    assert not missing, f"chapters missing from the sidebar: {missing}"
    target = CHAPTERS[min(2, len(CHAPTERS) - 1)]
    nav.locator(f'a[href$="{target.split("/")[-1]}.html"]').first.click()
    book.page.wait_for_load_state("load")
    assert book.page.url.startswith(book.url(target))
    title = book.page.locator("article h1").first
    assert title.is_visible()
    current = book.page.locator("nav.bd-docs-nav li.current > a").first.inner_text()
    assert current.strip() in title.inner_text(), "the sidebar does not mark the open chapter"
    book.page.locator("button.primary-toggle:visible").first.click()
    expect_hidden = nav.locator("a.reference.internal").first
    expect_hidden.wait_for(state="hidden")  # the hamburger collapses the sidebar
    assert not book.requests_outside()


def test_phone_sidebar_opens_and_navigates(book: Any) -> None:
    book.open(book.url(DOCS[0]), viewport=PHONE)
    page = CHAPTERS[0].split("/")[-1] + ".html"
    link = book.page.locator(f'nav.bd-docs-nav a[href$="{page}"]').first
    assert not link.is_visible(), "on a phone the sidebar should start closed"
    book.page.locator("button.primary-toggle:visible").first.click()
    link.wait_for(state="visible")
    link.click()
    book.page.wait_for_load_state("load")
    assert book.page.url.startswith(book.url(CHAPTERS[0]))
    assert not book.requests_outside()


def test_search_finds_a_chapter(book: Any) -> None:
    book.open(book.url(DOCS[0]))
    book.page.locator("button.search-button__button:visible").first.click()
    box = book.page.locator("#pst-search-dialog input[name=q]")
    box.fill("perceptron")
    box.press("Enter")
    book.page.wait_for_url(re.compile(r"search\.html\?q=perceptron"))
    results = book.page.locator("#search-results ul.search li a")
    results.first.wait_for(state="visible")
    found = results.evaluate_all("links => links.map(a => a.href)")
    assert any("ch01_perceptron_mlp.html" in href for href in found), found
    assert not book.requests_outside()


@pytest.mark.parametrize("explorer", sorted(EXPLORER_TWINS))
def test_explorer_has_a_static_figure(explorer: str) -> None:
    """Every chapter that shows an explorer also shows one of its static twins as a figure."""
    users = [doc for doc in DOCS if (nb := _notebook(doc)) is not None
             and any(_calls(src, explorer) for src, _ in _code_cells(nb))]
    if not users:
        pytest.skip(f"no chapter notebook uses {explorer}")
    twins = EXPLORER_TWINS[explorer]
    for doc in users:
        cells = _code_cells(_notebook(doc))
        assert any(_figures(out) and any(_calls(src, t) for t in twins) for src, out in cells), (
            f"{doc} shows {explorer} but none of its static figures ({', '.join(twins)})")
