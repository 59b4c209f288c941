"""The analyst web page in real headless Chromium (the distribution's `chromium`, driven by
Playwright) against the real app (`create_app`) over the screened scenario store.

Every test fails on a console error or an uncaught page error. Screenshots go to
test-output/web/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
uvicorn = pytest.importorskip("uvicorn", reason="the web extra (fastapi, uvicorn) is not installed")
pytest.importorskip("fastapi", reason="the web extra (fastapi, uvicorn) is not installed")

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-output" / "web"

# Headless Chromium has no GPU here: WebGL (MapLibre) runs on SwiftShader through ANGLE.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
WAIT_MS = 20_000

# Colours of the map style (src/shadowtrace/web/static/theme.js).
SEA = (0x0B, 0x17, 0x24)
LAND = (0x1B, 0x26, 0x31)


@pytest.fixture(scope="module")
def web_db(screened: Path) -> Path:
    """The shared scenario store, its list loaded and screened (see conftest)."""
    return screened


@pytest.fixture(scope="module")
def base_url(web_db: Path) -> Iterator[str]:
    """The real app served by uvicorn on a free loopback port, in a background thread."""
    from shadowtrace.web.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(web_db), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def api(base_url: str, path: str) -> Any:
    with urllib.request.urlopen(base_url + path, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Page:
    """A browser page that records console errors, page errors, failed and external requests."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        # The page aborts superseded searches and event loads itself: those are not failures.
        self.page.on("requestfailed", lambda r: None if r.failure == "net::ERR_ABORTED"
                     else self.errors.append(f"request failed: {r.url} {r.failure}"))
        self.page.on("request", lambda r: None if r.url.startswith((base_url, "data:", "blob:")) else self.external.append(r.url))

    def open(self, path: str = "/") -> None:
        self.page.goto(self.base_url + path)
        self.page.wait_for_selector("body[data-ready=true]")
        self.wait_idle()

    def navigate(self, hash_: str) -> None:
        """Change the hash as a user clicking a link would (no reload)."""
        self.page.evaluate("(h) => { location.hash = h; }", hash_)

    def wait_idle(self) -> None:
        """Until the map has drawn everything it has (no pending tiles, no animation)."""
        self.page.wait_for_function("() => window.shadowtrace && shadowtrace.map.loaded() && !shadowtrace.map.isMoving()",
                                    polling=100)
        # Resolve with nothing: handing back the event would serialise the whole map object.
        self.page.evaluate("() => new Promise((done) => { shadowtrace.map.once('idle', () => done(true)); shadowtrace.map.triggerRepaint(); })")

    def shot(self, label: str) -> bytes:
        SHOTS.mkdir(parents=True, exist_ok=True)
        return self.page.screenshot(path=str(SHOTS / f"{label}.png"))

    def check_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.external == [], f"the page fetched from outside: {self.external}"


@pytest.fixture(scope="module")
def shared_page(browser: Any, base_url: str) -> Iterator[Page]:
    """One page loaded once for the module (a load costs seconds on a software GPU); each test
    starts from the overview (#/) and leaves it clean."""
    wrapper = Page(browser, base_url)
    wrapper.open("/")
    yield wrapper
    wrapper.context.close()


@pytest.fixture
def page(shared_page: Page) -> Iterator[Page]:
    if shared_page.page.evaluate("() => location.hash") not in ("", "#/"):
        shared_page.navigate("#/")
        shared_page.page.wait_for_selector("[data-testid=panel]", state="hidden")
    yield shared_page
    shared_page.check_clean()


@pytest.fixture
def fresh_page(browser: Any, base_url: str) -> Iterator[Page]:
    wrapper = Page(browser, base_url)
    yield wrapper
    wrapper.context.close()


def wait_panel_name(page: Page, name: str) -> None:
    page.page.wait_for_function(
        "(name) => document.querySelector('[data-testid=panel-name]')?.textContent === name", arg=name, polling=100)


def wait_track_fitted(page: Page, mmsi: int) -> None:
    """The track of ``mmsi`` is in its source, drawn, and the map shows all of it."""
    page.page.wait_for_function("""(mmsi) => {
        const el = document.querySelector('#map');
        const t = shadowtrace.mapView.trackBounds;
        if (el.dataset.trackMmsi !== String(mmsi) || !t || shadowtrace.map.isMoving()) return false;
        const b = shadowtrace.map.getBounds();
        return b.contains([t[0], t[1]]) && b.contains([t[2], t[3]]);
    }""", arg=mmsi, polling=100)
    page.wait_idle()
    drawn = page.page.evaluate("() => shadowtrace.map.querySourceFeatures('track').length")
    assert drawn > 0


def test_page_loads_without_console_errors(page: Page) -> None:
    # The shared page was loaded by its fixture; `page` fails the test on any error it logged.
    page.page.wait_for_selector("[data-testid=vessel-row]")
    assert page.page.locator("[data-testid=status]").inner_text().strip()
    assert page.page.locator("[data-testid=legend-events] input").count() >= 10
    page.shot("overview")


def test_map_canvas_draws_sea_and_land(page: Page) -> None:
    from PIL import Image

    page.page.wait_for_function("() => document.querySelector('#map').dataset.basemap === 'loaded'")
    page.wait_idle()
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = page.page.locator("#map canvas.maplibregl-canvas").screenshot(path=str(SHOTS / "map-canvas.png"))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = Counter({rgb: n for n, rgb in image.getcolors(maxcolors=1 << 24)})
    total = image.width * image.height

    def share(rgb: tuple[int, int, int]) -> float:
        return sum(n for c, n in colours.items() if max(abs(a - b) for a, b in zip(c, rgb)) <= 3) / total

    assert len(colours) > 20, f"canvas looks blank: {len(colours)} colours"
    assert share(LAND) > 0.05, ("no land drawn", colours.most_common(5))
    assert share(SEA) > 0.2, ("no sea drawn", colours.most_common(5))
    assert int(page.page.evaluate("() => document.querySelector('#map').dataset.events")) > 0


def test_vessel_list_shows_the_top_vessel(page: Page, base_url: str) -> None:
    top = api(base_url, "/api/vessels?limit=1")["items"][0]
    first = page.page.locator("[data-testid=vessel-row]").first
    first.wait_for()
    assert first.get_attribute("data-mmsi") == str(top["mmsi"])
    assert first.locator("[data-testid=vessel-name]").inner_text() == top["name"]
    assert first.locator("[data-testid=vessel-score]").inner_text() == str(round(top["score"]))


def test_clicking_a_vessel_opens_its_panel_and_draws_its_track(page: Page, base_url: str) -> None:
    top = api(base_url, "/api/vessels?limit=1")["items"][0]
    page.page.locator("[data-testid=vessel-row]").first.click()
    wait_panel_name(page, top["name"])
    assert page.page.evaluate("() => location.hash") == f"#/vessel/{top['mmsi']}"
    wait_track_fitted(page, top["mmsi"])
    assert page.page.locator("[data-testid=panel-risk]").is_visible()
    assert page.page.locator("[data-testid=dossier-link]").get_attribute("href") == \
        f"/api/vessels/{top['mmsi']}/dossier.html"
    # The replay slider moves a marker along the track.
    slider = page.page.locator("[data-testid=replay-slider]")
    slider.fill(str(int(slider.get_attribute("max")) // 2))
    replayed = page.page.evaluate("async () => (await shadowtrace.map.getSource('replay').getData()).features")
    assert len(replayed) == 1
    assert page.page.locator("[data-testid=replay-time]").inner_text().startswith("20")
    page.wait_idle()
    page.shot("vessel")


def test_clicking_an_event_shows_its_evidence(page: Page, base_url: str) -> None:
    top = api(base_url, "/api/vessels?limit=1")["items"][0]
    page.navigate(f"#/vessel/{top['mmsi']}")
    wait_panel_name(page, top["name"])
    row = page.page.locator("[data-testid=timeline-event]").first
    event_id = row.get_attribute("data-event-id")
    event = api(base_url, f"/api/events/{event_id}")
    raws = [e["raw"] for e in event["evidence"] if e.get("raw")]
    assert raws, "the scenario's events cite NMEA rows"
    row.click()
    raw = page.page.locator("[data-testid=evidence-raw]").first
    raw.wait_for()
    assert raw.is_visible()
    assert raw.inner_text() == raws[0]
    assert "AIVDM" in raw.inner_text()
    assert page.page.evaluate("() => location.hash") == f"#/event/{event_id}"
    assert page.page.locator("[data-testid=event-dossier-link]").get_attribute("href") == \
        f"/api/vessels/{top['mmsi']}/dossier.html"
    page.wait_idle()
    page.shot("event")
    # Back returns to the vessel, forward to the event.
    page.page.go_back()
    wait_panel_name(page, top["name"])
    page.page.go_forward()
    page.page.locator("[data-testid=evidence-raw]").first.wait_for()


def test_clicking_an_event_marker_on_the_map_opens_it(page: Page, base_url: str) -> None:
    top = api(base_url, "/api/vessels?limit=1")["items"][0]
    page.navigate(f"#/vessel/{top['mmsi']}")
    wait_panel_name(page, top["name"])
    wait_track_fitted(page, top["mmsi"])
    # Hide the clustered markers so the vessel's own event marker is the one under the pointer,
    # then fold the legend so it covers nothing.
    legend_toggle = page.page.locator("[data-testid=legend-toggle]")

    def fold_legend(folded: bool) -> None:
        if ("collapsed" in (page.page.locator("[data-testid=legend]").get_attribute("class") or "")) != folded:
            legend_toggle.click()

    fold_legend(False)
    toggle = page.page.locator("[data-testid=layer-events]")
    toggle.uncheck()
    try:
        fold_legend(True)
        page.wait_idle()
        event_id = page.page.locator("[data-testid=timeline-event]").first.get_attribute("data-event-id")
        event = api(base_url, f"/api/events/{event_id}")
        point = page.page.evaluate("(ll) => shadowtrace.map.project(ll)", [event["lon"], event["lat"]])
        box = page.page.locator("#map").bounding_box()
        x, y = box["x"] + point["x"], box["y"] + point["y"]
        hit = page.page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.className", [x, y])
        assert "maplibregl-canvas" in str(hit), f"the marker is covered by {hit}"
        page.page.mouse.click(x, y)
        page.page.wait_for_function("(id) => location.hash === '#/event/' + id", arg=event_id, polling=100)
        page.page.locator("[data-testid=evidence-raw]").first.wait_for()
    finally:
        fold_legend(False)
        toggle.check()


def test_search_by_imo_opens_the_vessel(page: Page, base_url: str) -> None:
    # A vessel whose IMO finds it first (the scenario has IMOs shared by more than one MMSI).
    vessels = api(base_url, "/api/vessels?limit=50")["items"]
    target = next(v for v in vessels[1:] if v["imo"] and api(base_url, f"/api/search?q={v['imo']}")[0]["mmsi"] == v["mmsi"])
    search = page.page.locator("[data-testid=search-input]")
    search.fill(str(target["imo"]))
    search.press("Enter")
    wait_panel_name(page, target["name"])
    assert page.page.evaluate("() => location.hash") == f"#/vessel/{target['mmsi']}"


def test_deep_link_opens_the_vessel_panel(fresh_page: Page, base_url: str) -> None:
    target = api(base_url, "/api/vessels?limit=3")["items"][2]
    fresh_page.open(f"/#/vessel/{target['mmsi']}")
    wait_panel_name(fresh_page, target["name"] or "(no name broadcast)")
    wait_track_fitted(fresh_page, target["mmsi"])
    assert fresh_page.page.locator("[data-testid=panel]").is_visible()
    fresh_page.check_clean()
