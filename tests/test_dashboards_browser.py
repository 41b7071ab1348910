"""The dashboards in a real headless Chromium (Debian's /usr/bin/chromium via Playwright):
every page loads offline with no console error and no request outside localhost/file, every
chart draws marks, screenshots are not blank, and the interactive controls change the view."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image, ImageStat

from procmine import store
from procmine.render import render_all
from procmine.render.serve import make_server
from tests.test_dashboards import PAGES, build_fixture_db, isolated_config, mined_volvo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(os.environ.get("PROCMINE_SCREENSHOTS", "")) if os.environ.get(
    "PROCMINE_SCREENSHOTS") else None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian chromium at /usr/bin/chromium "
                              "(apt-get install -y chromium chromium-driver); CI installs it"),
]

# Marks of data (not axes, legends or groups) that a chart drew, per chart container.
MARKS_JS = """
() => Array.from(document.querySelectorAll('[data-spec]')).map(el => ({
  spec: el.getAttribute('data-spec'),
  rendered: el.getAttribute('data-rendered'),
  svg: el.querySelectorAll('svg.marks').length,
  marks: el.querySelectorAll('svg.marks g.role-mark:not(.mark-group) > *').length,
}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The marts fixture's pages, without the PNGs (the same pages: a browser loading them
    requests no PNG; test_dashboards checks the PNGs of the same marts)."""
    base = tmp_path_factory.mktemp("browser")
    db = build_fixture_db(base / "procmine.duckdb")
    out = base / "dashboards"
    conn = store.reading(db)
    try:
        render_all(conn, isolated_config(base), out, png=False)
    finally:
        conn.close()
    return out


@pytest.fixture(scope="module", params=["fixture", "volvo"])
def any_site(request: pytest.FixtureRequest, site: Path,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The pages of the marts fixture, then of the mined Volvo log (skipped until mined)."""
    if request.param == "fixture":
        return "fixture", site
    return "volvo", mined_volvo(tmp_path_factory, request.getfixturevalue("volvo_store"))[1]


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    httpd = make_server(site, port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


class Visit:
    """One page load with its console messages and requests recorded."""

    def __init__(self, context: object, url: str) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"{m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_function(
            "!document.querySelector('[data-spec]') || "
            "document.body.getAttribute('data-charts') !== null", timeout=30_000)

    def foreign_requests(self, allowed_host: str | None) -> list[str]:
        def local(url: str) -> bool:
            parsed = urlparse(url)
            if parsed.scheme in ("file", "data", "blob", "about"):
                return True
            return parsed.scheme == "http" and parsed.netloc == allowed_host
        return [u for u in self.requests if not local(u)]


def _assert_not_blank(png: Path) -> None:
    image = Image.open(png).convert("L")
    stat = ImageStat.Stat(image)
    assert stat.stddev[0] > 15, f"{png.name}: nearly uniform (stddev {stat.stddev[0]:.1f})"
    histogram = image.histogram()
    background = max(histogram)
    assert 1 - background / sum(histogram) > 0.05, f"{png.name}: mostly one colour"


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_and_draws_every_chart(name: str, any_site: tuple[str, Path],
                                                  browser: object, tmp_path: Path) -> None:
    label, site = any_site
    visit = Visit(browser, (site / f"{name}.html").as_uri())
    try:
        assert visit.errors == []
        assert visit.foreign_requests(None) == []
        charts = visit.page.evaluate(MARKS_JS)
        if name != "index":
            assert charts, f"{name}: no charts"
            assert visit.page.get_attribute("body", "data-charts") == "ready"
        for chart in charts:
            assert chart["rendered"] == "1" and chart["svg"] == 1, chart
            assert chart["marks"] > 0, chart
        overflowing = visit.page.evaluate(
            "() => Array.from(document.querySelectorAll('section.card'))"
            ".filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.id)")
        assert overflowing == [], f"{name}: charts wider than the page: {overflowing}"
        folder = (SCREENSHOTS / label) if SCREENSHOTS else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"{name}.png"
        visit.page.screenshot(path=str(shot), full_page=True)
        _assert_not_blank(shot)
    finally:
        visit.page.close()


def test_pages_over_localhost_request_nothing_else(server: str, browser: object) -> None:
    host = urlparse(server).netloc
    for name in ("index", "waste", "overview"):
        visit = Visit(browser, f"{server}/{name}.html")
        try:
            assert visit.errors == []
            assert visit.foreign_requests(host) == []
            assert visit.requests[0] == f"{server}/{name}.html"
        finally:
            visit.page.close()
    nav = Visit(browser, f"{server}/index.html")
    try:
        nav.page.click("nav >> text=Waste heat map")
        nav.page.wait_for_function("document.body.getAttribute('data-charts') === 'ready'")
        assert nav.page.url == f"{server}/waste.html"
    finally:
        nav.page.close()


def _texts(page: object, spec: str) -> list[str]:
    return page.evaluate(
        "(spec) => Array.from(document.querySelectorAll(`[data-spec='${spec}'] "
        "svg.marks g.mark-text.role-mark text`)).map(t => t.textContent)", spec)


def test_heatmap_switches_between_hours_and_cost_and_explains_cells(site: Path,
                                                                    browser: object) -> None:
    visit = Visit(browser, (site / "waste.html").as_uri())
    try:
        hours = _texts(visit.page, "spec-waste-heatmap")
        assert hours and all(t.endswith(" h") for t in hours)
        visit.page.check("#waste-heatmap input[type=radio][value=Cost]")
        visit.page.wait_for_timeout(300)
        cost = _texts(visit.page, "spec-waste-heatmap")
        assert len(cost) == len(hours) and not any(t.endswith(" h") for t in cost)
        cell = visit.page.locator("[data-spec='spec-waste-heatmap'] svg.marks g.mark-rect.role-mark path").first
        box = cell.bounding_box()
        visit.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tooltip = visit.page.locator("#vg-tooltip-element")
        tooltip.wait_for(state="visible", timeout=5_000)
        assert "Top evidence" in tooltip.inner_text() and "Cases" in tooltip.inner_text()
        assert visit.errors == []
    finally:
        visit.page.close()


def test_trend_filters_recompute_the_series(site: Path, browser: object) -> None:
    visit = Visit(browser, (site / "overview.html").as_uri())
    try:
        def bar_heights() -> list[str]:
            return visit.page.evaluate(
                "() => Array.from(document.querySelectorAll(\"[data-spec='spec-overview-trends']"
                " svg.marks g.mark-rect.role-mark path\")).map(p => p.getAttribute('d'))")
        before = bar_heights()
        select = visit.page.locator("#overview-trends select").first
        options = select.locator("option").all_inner_texts()
        select.select_option(options[1])
        visit.page.wait_for_timeout(300)
        after = bar_heights()
        assert before and after and before != after
        assert visit.errors == []
    finally:
        visit.page.close()
