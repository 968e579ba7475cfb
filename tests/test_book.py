"""`make book`: the stored notebooks render into a static site with every figure and link.

Builds the book from the stored notebooks into a temporary folder (tools/build_book.py,
Sphinx with warnings as errors), then checks every page: one per notebook, one <img> per
image output and each one loads, no error output, every internal link and anchor
resolves, and a screenshot of notebook 06's page in Debian's Chromium is not blank.
Needs the `book` extra; without it, or without /usr/bin/chromium, the tests skip with the
reason, except in CI (the CI environment variable set), where they fail.
"""

from __future__ import annotations

import base64
import functools
import http.server
import io
import os
import sys
import threading
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlsplit

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_book  # noqa: E402

from compress_lib.widgets import NOTE  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "build" / "screenshots" / "book_06.png"
NOTEBOOKS = sorted(build_book.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
ERROR_SELECTOR = ".output.traceback, .output.error, .output.stderr"
EXPLORER_NOTEBOOKS = ("01", "02", "03", "04", "05", "06")  # every notebook has an explorer


def _missing(reason: str) -> None:
    """Skip for a missing tool, but fail in CI, where everything must be installed."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the book test must run)")
    pytest.skip(reason)


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        _missing(f"{module} is not installed: pip install -e '.[book]'")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The book built from the stored notebooks, in a temporary folder."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme", "jupyter_server_mathjax", "bs4"):
        _require(module)
    tmp = tmp_path_factory.mktemp("book")
    return build_book.build(tmp / "book", tmp / "src").parent


def _soup(page: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def _page(site: Path, notebook: Path) -> Path:
    return site / "notebooks" / f"{notebook.stem}.html"


def _image_outputs(notebook: Path) -> int:
    """How many image outputs the stored notebook has."""
    nb = nbformat.read(notebook, as_version=4)
    return sum(any(t in out.get("data", {}) for t in IMAGE_TYPES)
               for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


def _image_bytes(page: Path, src: str) -> bytes:
    """The bytes an <img src> points to (a data URI or a file of the site)."""
    if src.startswith("data:"):
        return base64.b64decode(src.split(",", 1)[1])
    target = (page.parent / unquote(urlsplit(src).path)).resolve()
    assert target.is_file(), f"{page.name}: image {src} does not exist"
    return target.read_bytes()


def test_every_notebook_has_a_page_in_the_table_of_contents(site):
    assert NOTEBOOKS, "no stored notebooks"
    toc = {a["href"] for a in _soup(site / "index.html").select("nav a[href], main a[href]")}
    for notebook in NOTEBOOKS:
        assert _page(site, notebook).is_file(), f"no page for {notebook.name}"
        assert f"notebooks/{notebook.stem}.html" in toc, f"{notebook.name} not in the TOC"
    for page in ("results/README.html", "glossary.html"):
        assert (site / page).is_file() and page in toc, page


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_page_shows_every_figure_of_its_notebook(site, notebook):
    from PIL import Image

    page = _page(site, notebook)
    images = _soup(page).select("div.cell_output img")
    assert len(images) == _image_outputs(notebook) > 0, page.name
    for img in images:
        with Image.open(io.BytesIO(_image_bytes(page, img["src"]))) as figure:
            figure.verify()  # a complete, decodable image
            assert min(figure.size) > 50, f"{page.name}: {img['src']} is {figure.size}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_page_shows_an_error_or_a_blank_output(site, notebook):
    page = _page(site, notebook)
    soup = _soup(page)
    assert not soup.select(ERROR_SELECTOR), f"{page.name} shows an error or stderr output"
    assert "Traceback (most recent call last)" not in soup.get_text()
    for output in soup.select("div.cell_output"):
        assert output.get_text(strip=True) or output.find("img"), f"{page.name}: empty output"
    nb = nbformat.read(notebook, as_version=4)
    widgets = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
               if "".join(out.get("data", {}).get("text/plain", "")).startswith(NOTE)]
    assert widgets or notebook.name[:2] not in EXPLORER_NOTEBOOKS, f"{notebook.name}: no note"
    text = " ".join(soup.get_text().split())
    for out in widgets:  # a stored explorer shows its text note, not an empty box
        note = " ".join(out["data"]["text/plain"].split())[:40]
        assert note in text, f"{page.name}: widget note {note!r} not shown"


def _ids(page: Path, cache: dict) -> set[str]:
    if page not in cache:
        soup = _soup(page)
        cache[page] = {t["id"] for t in soup.select("[id]")} | {
            t["name"] for t in soup.select("a[name]")}
    return cache[page]


def _broken_links(site: Path, page: Path, cache: dict) -> list[str]:
    """The href/src of `page` without a scheme that name no file, or no id in it."""
    broken = []
    for tag in _soup(page).select("[href], [src]"):
        link = tag.get("href") or tag.get("src")
        parts = urlsplit(link)
        if parts.scheme or link.startswith("//") or not (parts.path or parts.fragment):
            continue
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or not target.is_relative_to(site.resolve()):
            broken.append(link)
        elif parts.fragment and target.suffix == ".html" \
                and unquote(parts.fragment) not in _ids(target, cache):
            broken.append(link)
    return broken


def test_every_internal_link_and_anchor_resolves(site):
    cache: dict = {}
    pages = [p for p in sorted(site.rglob("*.html")) if "_static" not in p.parts]  # (templates)
    broken = {str(p.relative_to(site)): b for p in pages if (b := _broken_links(site, p, cache))}
    assert not broken, broken
    results = _soup(site / "results" / "README.html")
    linked = {a["href"] for a in results.select("main a[href]")}
    assert {f"../notebooks/{nb.stem}.html" for nb in NOTEBOOKS} <= linked  # provenance links


def test_a_broken_output_is_caught(tmp_path):
    """The checks see an error output (a stored traceback) and a stderr line is hidden."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme", "jupyter_server_mathjax", "bs4"):
        _require(module)
    (tmp_path / "nb").mkdir()
    for notebook in NOTEBOOKS[1:]:  # the others unchanged, so that every link resolves
        (tmp_path / "nb" / notebook.name).write_bytes(notebook.read_bytes())
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.outputs += [nbformat.v4.new_output("stream", name="stderr", text="W0000 a log line\n"),
                     nbformat.v4.new_output("error", ename="ValueError", evalue="boom",
                                            traceback=["ValueError: boom"])]
    nbformat.write(nb, tmp_path / "nb" / NOTEBOOKS[0].name)
    site = build_book.build(tmp_path / "book", tmp_path / "src", notebooks=tmp_path / "nb")
    soup = _soup(site.parent / "notebooks" / f"{NOTEBOOKS[0].stem}.html")
    assert soup.select(ERROR_SELECTOR) and "W0000 a log line" not in soup.get_text()


@pytest.fixture()
def server(site):
    """The built site over HTTP on 127.0.0.1 (a free port), stopped afterwards."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        """No access log in the test output."""


def _not_blank(png: bytes) -> float:
    """The fraction of pixels that differ from the most common colour (the background)."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    return float(np.any(pixels != colours[counts.argmax()], axis=1).mean())


def test_screenshot_of_notebook_06_in_chromium(site, server):
    """Notebook 06's page in Chromium: math typeset, a figure on screen, nothing fetched."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    _require("playwright")
    from playwright.sync_api import sync_playwright

    stem = next(nb.stem for nb in NOTEBOOKS if nb.name.startswith("06_"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{server}/notebooks/{stem}.html", wait_until="load")
            page.wait_for_function("() => window.MathJax && MathJax.isReady", timeout=30_000)
            page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
            assert page.locator(".MathJax").count() > 0, "no math typeset"
            assert page.locator(".MathJax_Error, .merror").count() == 0
            figure = page.locator("div.cell_output img").first
            figure.scroll_into_view_if_needed()
            assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            png = page.screenshot(path=str(SCREENSHOT))
            shown = figure.screenshot()
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith((server, "data:", "about:"))]
    assert not outside, f"the page fetched from outside the site: {outside}"
    assert _not_blank(png) > 0.05, "the screenshot is blank"
    assert _not_blank(shown) > 0.01, "the figure is blank"
