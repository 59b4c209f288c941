"""The workbench inside the watcher (`shadowtrace watch --serve`) in real headless Chromium:
alerts arrive live on the page (list and blinking markers) while a feed is replayed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_replay import ReplayServer
from tests.test_web_browser import CHROMIUM, CHROMIUM_ARGS, Page, sync_api


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def live_server(scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`watch --serve` on a new store holding the scenario's list, fed by a paced TCP replay."""
    from shadowtrace.lists.store import add_list
    from shadowtrace.store import connect

    result, _ = scenario
    db = tmp_path_factory.mktemp("weblive") / "live.duckdb"
    con = connect(db)
    add_list(con, result.lists_path, "sim")
    con.close()
    lines = result.positions_path.read_text(encoding="latin-1").splitlines()
    feed = ReplayServer(lines, chunk_lines=1500, pause_s=0.12)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "shadowtrace", "watch", "--source", feed.url, "--db", str(db), "--serve",
         "--port", str(port), "--detect-every", "1", "--screen-every", "0", "--quiet", "--stop-when-idle", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(base + "/api/alerts")
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"watch --serve did not start: {proc.stderr.read() if proc.stderr else ''}") from None
            time.sleep(0.2)
    yield {"base": base, "proc": proc, "feed": feed}
    proc.terminate()
    try:
        proc.wait(30)
    finally:
        feed.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def test_alerts_arrive_live_on_the_map(live_server: dict, browser: Any) -> None:
    page = Page(browser, live_server["base"])
    try:
        page.open("/")
        assert _get(live_server["base"] + "/api/alerts")["live"] is True
        page.page.wait_for_selector("[data-testid=alert-live]:not([hidden])")
        before = page.page.locator("[data-testid=alert-item]").count()
        # New alerts come in through the event stream while the feed plays, without a reload.
        page.page.wait_for_function(
            "(n) => document.querySelectorAll('[data-testid=alert-item]').length > n", arg=before,
            timeout=120_000, polling=250)
        page.page.wait_for_selector("[data-testid=alert-marker].blink")
        page.page.wait_for_selector("[data-testid=alert-item].fresh")
        page.shot("live-alerts")
        stored = _get(live_server["base"] + "/api/alerts?limit=500")
        shown = page.page.eval_on_selector_all("[data-testid=alert-item]", "els => els.map(e => e.dataset.alertId)")
        assert set(shown) <= {a["alert_id"] for a in stored["items"]}  # what the page shows was stored
        # Clicking an alert opens its event or vessel in the panel.
        page.page.locator("[data-testid=alert-item] button").first.click()
        page.page.wait_for_selector("[data-testid=panel]:not([hidden])")
        page.page.wait_for_function("() => /^#\\/(event|vessel)\\//.test(location.hash)")
        page.shot("live-alert-opened")
        page.check_clean()
    finally:
        page.context.close()


def test_served_store_is_refreshed_as_the_feed_arrives(live_server: dict) -> None:
    """The API inside the watcher sees the store grow (its caches are rebuilt after each run)."""
    first = _get(live_server["base"] + "/api/health")["positions"]
    deadline = time.monotonic() + 60
    while _get(live_server["base"] + "/api/health")["positions"] <= first:
        assert time.monotonic() < deadline, "health did not change while the feed played"
        time.sleep(0.5)


def test_alert_stream_outside_the_watcher_is_a_clear_404(screened: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from shadowtrace.web import create_app

    with TestClient(create_app(screened)) as client:
        page = client.get("/api/alerts").json()
        assert page["live"] is False and page["total"] == 0
        response = client.get("/api/alerts/stream")
        assert response.status_code == 404 and "watch --serve" in response.json()["error"]["message"]
