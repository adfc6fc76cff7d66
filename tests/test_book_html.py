"""The built book in headless Chromium with no network: every page as a reader sees it (issue 16).

Opens every page of `_build/html` from disk (file://) with the network cut off, checks equations,
images, console, requests, links and code width, and saves a full-page screenshot of each page
under `build/screenshots/` for a person to look at (with `summary.json`: what was checked).
Builds the book first when `_build/html` is missing or older than its sources.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "build" / "screenshots"
SOURCES = [ROOT / "_config.yml", ROOT / "_toc.yml", *ROOT.glob("book/**/*"), *ROOT.glob("notebooks/*.ipynb")]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1440, "height": 900}  # the theme's full page width (1408 px) and more
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# Runs in the page after MathJax has typeset it; returns what the checks below need.
INSPECT = r"""async () => {
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  const skip = 'pre, code, script, style, mjx-container, textarea';
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    const m = n.textContent.match(/\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{/);
    if (m) raw.push(n.textContent.trim().slice(0, 80));
  }
  const maths = Array.from(document.querySelectorAll('.math'));
  const pres = Array.from(document.querySelectorAll('pre'));
  const longest = p => p.innerText.split('\n').reduce((a, l) => (l.length > a.length ? l : a), '');
  const wide = pres.filter(p => p.scrollWidth > p.clientWidth)
                   .map(p => [p.scrollWidth, p.clientWidth, longest(p).slice(0, 100)]);
  const unwrapped = [];  // notebook code cells must fit without wrapping (at most 88 columns)
  for (const p of document.querySelectorAll('div.cell_input pre')) {
    p.style.whiteSpace = 'pre';
    if (p.scrollWidth > p.clientWidth) unwrapped.push([p.scrollWidth, p.clientWidth, longest(p)]);
    p.style.whiteSpace = '';
  }
  return {
    equations: maths.length,
    unrendered: maths.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
    tex_errors: Array.from(document.querySelectorAll('mjx-merror, mjx-container [style*="color: red"]'))
                     .map(e => e.getAttribute('data-mjx-error') || e.textContent || 'undefined macro (red)'),
    raw_tex: raw,
    images: Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name')),
    code_blocks: pres.length, wide_code: wide, unwrapped_code: unwrapped,
  };
}"""


@dataclass
class Visit:
    """What one page showed: the browser's findings and the page's own events."""

    page: str
    inspect: dict
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)


def book_is_stale() -> bool:
    """Whether `_build/html` is missing or older than any of the book's sources."""
    index = HTML / "index.html"
    if not index.exists():
        return True
    built = index.stat().st_mtime
    return any(p.is_file() and p.stat().st_mtime > built for p in SOURCES)


def pages() -> list[Path]:
    """Every HTML page of the book (not the theme's assets), as paths relative to `_build/html`."""
    skip = ("_static", "_sources", "_images")
    return sorted(p.relative_to(HTML) for p in HTML.rglob("*.html") if p.relative_to(HTML).parts[0] not in skip)


def visit(browser, page: Path) -> Visit:
    """Open one page in a fresh offline context and inspect it; save its full-page screenshot."""
    context = browser.new_context(offline=True, viewport=VIEWPORT)
    context.route(re.compile(r"^(https?|wss?|ftp)://"), lambda route: route.abort())
    tab = context.new_page()
    seen = Visit(page=page.as_posix(), inspect={})
    tab.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: seen.console_errors.append(f"uncaught: {e}"))
    tab.on("requestfailed", lambda r: seen.failed_requests.append(f"{r.url} ({r.failure})"))
    tab.on("request", lambda r: None if r.url.startswith(LOCAL_SCHEMES) else seen.network_requests.append(r.url))
    tab.goto((HTML / page).as_uri(), wait_until="load")
    seen.inspect = tab.evaluate(INSPECT)
    shot = SCREENSHOTS / (page.with_suffix("").as_posix().replace("/", "__") + ".png")
    tab.screenshot(path=str(shot), full_page=True)
    context.close()
    return seen


@pytest.fixture(scope="module")
def visits() -> dict[str, Visit]:
    """Every page of the built book, opened offline in headless Chromium (builds the book if stale)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("browser test of the book skipped: no chromium; install it with "
                    "`apt-get install -y chromium` (Debian/Ubuntu), as .ci/run does")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright missing: run bash scripts/setup.sh")
    if book_is_stale():
        jb = Path(sys.executable).with_name("jupyter-book")
        subprocess.run([str(jb), "build", "-W", "-n", "--keep-going", "-q", str(ROOT)], check=True, cwd=ROOT)
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            found = {p.as_posix(): visit(browser, p) for p in pages() if p.name != "index.html" or p.parent != Path()}
        finally:
            browser.close()
    summary = {"pages": len(found), "equations": sum(v.inspect["equations"] for v in found.values()),
               "images": sum(len(v.inspect["images"]) for v in found.values()),
               "internal_links": sum(len(internal_links(v)) for v in found.values()),
               "code_blocks": sum(v.inspect["code_blocks"] for v in found.values()),
               "visits": [asdict(v) | {"inspect": {k: v.inspect[k] for k in v.inspect if k not in ("ids", "links")}}
                          for v in found.values()]}
    (SCREENSHOTS / "summary.json").write_text(json.dumps(summary, indent=1))
    return found


def internal_links(v: Visit) -> list[tuple[Path, str]]:
    """The page's links into the book, as (target file, fragment)."""
    out = []
    for url in v.inspect["links"]:
        parts = urlsplit(url)
        if parts.scheme == "file":
            out.append((Path(url2pathname(parts.path)), unquote(parts.fragment)))
    return out


def failures(visits: dict[str, Visit], key: str) -> dict[str, list]:
    """The pages whose inspection found something under `key`, with what it found."""
    return {page: v.inspect[key] for page, v in visits.items() if v.inspect[key]}


def test_every_page_of_the_toc_was_opened(visits):
    toc = re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()) + ["book/intro"]
    missing = [f for f in toc if f"{f}.html" not in visits]
    assert not missing, f"_toc.yml entries with no page in {HTML}: {missing}"
    redirect = (HTML / "index.html").read_text()
    assert 'url=book/intro.html' in redirect, f"{HTML / 'index.html'} does not send the reader to book/intro.html"


def test_every_equation_renders(visits):
    assert sum(v.inspect["equations"] for v in visits.values()) > 0, "no page has an equation: is MathJax wired?"
    assert not failures(visits, "unrendered"), f"equations MathJax did not typeset: {failures(visits, 'unrendered')}"
    assert not failures(visits, "tex_errors"), f"TeX errors on the pages: {failures(visits, 'tex_errors')}"
    assert not failures(visits, "raw_tex"), f"raw TeX delimiters left in the text: {failures(visits, 'raw_tex')}"


def test_every_image_loads(visits):
    broken = {page: [src for src, ok in v.inspect["images"] if not ok] for page, v in visits.items()}
    broken = {page: srcs for page, srcs in broken.items() if srcs}
    assert not broken, f"images that did not load (naturalWidth 0): {broken}"


def test_no_console_errors_failed_requests_or_network(visits):
    for kind in ("console_errors", "failed_requests", "network_requests"):
        found = {page: getattr(v, kind) for page, v in visits.items() if getattr(v, kind)}
        assert not found, f"{kind.replace('_', ' ')} on the pages (offline, from {HTML}): {found}"


def test_internal_links_and_anchors_resolve(visits):
    ids = {(HTML / page).resolve(): set(v.inspect["ids"]) for page, v in visits.items()}
    broken = {}
    for page, v in visits.items():
        for target, fragment in internal_links(v):
            target = target / "index.html" if target.is_dir() else target
            if not target.exists():
                broken.setdefault(page, []).append(f"{target} (no such file)")
            elif fragment and target.resolve() in ids and fragment not in ids[target.resolve()]:
                broken.setdefault(page, []).append(f"{target.name}#{fragment} (no such anchor)")
    assert sum(len(internal_links(v)) for v in visits.values()) > 0, "no internal links found: is the sidebar there?"
    assert not broken, f"internal links that do not resolve: {broken}"


def test_code_fits_the_code_column(visits):
    assert not failures(visits, "wide_code"), (
        f"code blocks wider than their column (scrollWidth > clientWidth): {failures(visits, 'wide_code')}")
    assert not failures(visits, "unwrapped_code"), (
        f"notebook code lines that only fit by wrapping (more than the column's columns at "
        f"{VIEWPORT['width']} px): {failures(visits, 'unwrapped_code')}")


def test_a_screenshot_of_every_page(visits):
    shots = {p.stem for p in SCREENSHOTS.glob("*.png") if p.stat().st_size > 0}
    missing = [page for page in visits if Path(page).with_suffix("").as_posix().replace("/", "__") not in shots]
    assert not missing, f"no screenshot in {SCREENSHOTS} for: {missing}"
