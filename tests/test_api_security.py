"""The API's defences: loopback by default, the token everywhere when set, read-only methods,
no bodies, bounded URIs and pages, one error shape, and SQL injection through every filter."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette's TestClient warns about httpx on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient
from typer.testing import CliRunner  # noqa: E402

from shadowtrace.cli import app as cli_app  # noqa: E402
from shadowtrace.cli_serve import allowed_hosts, check_bind, is_loopback  # noqa: E402
from shadowtrace.errors import ConfigError  # noqa: E402
from shadowtrace.web import create_app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def store(screened: Path) -> Path:
    return screened


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def ids(store: Path) -> dict[str, object]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        mmsi = con.execute("SELECT mmsi FROM risk_scores ORDER BY score DESC LIMIT 1").fetchall()[0][0]
        event_id = con.execute("SELECT event_id FROM events LIMIT 1").fetchall()[0][0]
    finally:
        con.close()
    return {"mmsi": mmsi, "event_id": event_id}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


def every_get_path(app, ids: dict[str, object]) -> list[str]:
    """Every GET path: the API's from its schema with path parameters filled in, plus the page,
    a static file and the docs."""
    paths = ["/", "/static/index.html", "/openapi.json", "/docs"]
    for path, operations in app.openapi()["paths"].items():
        assert set(operations) == {"get"}, path
        path = path.replace("{mmsi}", str(ids["mmsi"])).replace("{event_id}", str(ids["event_id"]))
        paths.append(path + ("?q=a" if path == "/api/search" else ""))
    return paths


# --- binding ------------------------------------------------------------------------------


def test_only_loopback_without_a_token() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert is_loopback(host)
        check_bind(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org", "10.0.0.1"):
        assert not is_loopback(host)
        with pytest.raises(ConfigError, match="without a token"):
            check_bind(host, None)
        with pytest.raises(ConfigError, match="shorter than"):
            check_bind(host, "short")
        check_bind(host, TOKEN)
    assert allowed_hosts("127.0.0.1", None) is not None and "localhost" in allowed_hosts("127.0.0.1", None)
    assert allowed_hosts("0.0.0.0", TOKEN) is None


def test_serve_command(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    runner = CliRunner()
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    monkeypatch.delenv("SHADOWTRACE_TOKEN", raising=False)
    refused = runner.invoke(cli_app, ["serve", "--db", str(store), "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "SHADOWTRACE_TOKEN" in refused.output and not calls
    missing = runner.invoke(cli_app, ["serve", "--db", str(store.parent / "none.duckdb")])
    assert missing.exit_code == 2 and "no store" in missing.output and not calls

    started = runner.invoke(cli_app, ["serve", "--db", str(store), "--port", "8123"])
    assert started.exit_code == 0, started.output
    assert "http://127.0.0.1:8123/" in started.output
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8123

    monkeypatch.setenv("SHADOWTRACE_TOKEN", TOKEN)
    shared = runner.invoke(cli_app, ["serve", "--db", str(store), "--host", "0.0.0.0"])
    assert shared.exit_code == 0, shared.output
    assert "?token=" in shared.output and TOKEN not in shared.output and calls[-1]["host"] == "0.0.0.0"


def test_host_header_must_be_loopback_without_token(store: Path) -> None:
    app = create_app(store, allowed_hosts=allowed_hosts("127.0.0.1", None))
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/api/health").status_code == 200
    with TestClient(app, base_url="http://localhost:8000") as local:
        assert local.get("/api/health").status_code == 200
    with TestClient(app, base_url="http://attacker.example") as rebound:
        assert_error(rebound.get("/api/health"), 400, "bad_request")


# --- token --------------------------------------------------------------------------------


def test_token_is_required_on_every_route(store: Path, ids: dict[str, object]) -> None:
    app = create_app(store, token=TOKEN)
    with TestClient(app, follow_redirects=False) as client:
        paths = every_get_path(app, ids)
        assert {"/", "/api/health", "/api/vessels", "/api/events", "/openapi.json", "/docs"} <= set(paths)
        assert len(paths) >= 17
        for path in paths:
            assert_error(client.get(path), 401, "unauthorized")
            assert_error(client.get(path, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
            assert_error(client.get(path, headers={"Authorization": f"Basic {TOKEN}"}), 401, "unauthorized")
            assert_error(client.get(path, cookies={"shadowtrace_token": "wrong"}), 401, "unauthorized")
            ok = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            # The alert stream exists only inside `watch --serve`; past the token it says so.
            assert ok.status_code == (404 if path == "/api/alerts/stream" else 200), (path, ok.text[:200])
        assert client.get("/api/health").headers["www-authenticate"] == "Bearer"
        # The bearer scheme is in the schema, so clients know.
        schema = client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert schema["security"] == [{"token": []}]


def test_token_link_sets_a_cookie(store: Path, ids: dict[str, object]) -> None:
    app = create_app(store, token=TOKEN)
    with TestClient(app, follow_redirects=False) as client:
        assert_error(client.get("/", params={"token": "wrong"}), 401, "unauthorized")
        assert "set-cookie" not in client.get("/", params={"token": "wrong"}).headers
        response = client.get("/", params={"token": TOKEN})
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"shadowtrace_token={TOKEN}")
        assert "HttpOnly" in cookie and re.search("SameSite=strict", cookie, re.I) and "Path=/" in cookie
        client.cookies.set("shadowtrace_token", TOKEN)
        for path in every_get_path(app, ids):
            assert client.get(path).status_code == (404 if path == "/api/alerts/stream" else 200), path
        # The token in a query string only counts on the page link, never on the API.
        client.cookies.clear()
        assert_error(client.get("/api/health", params={"token": TOKEN}), 401, "unauthorized")


# --- read-only and bounded requests -------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_only_get_and_head(client: TestClient, method: str, ids: dict[str, object]) -> None:
    for path in ("/api/health", "/api/vessels", f"/api/vessels/{ids['mmsi']}", "/api/events", "/", "/static/index.html"):
        response = client.request(method, path)
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "GET, HEAD"


def test_bodies_uris_and_pages_are_bounded(client: TestClient) -> None:
    assert_error(client.request("GET", "/api/health", content=b"{}"), 413, "payload_too_large")
    assert_error(client.request("GET", "/api/vessels", content=b"x" * 10_000), 413, "payload_too_large")
    assert_error(client.get("/api/health", headers={"Transfer-Encoding": "chunked"}), 413, "payload_too_large")
    assert client.get("/api/health", headers={"Content-Length": "0"}).status_code == 200
    assert_error(client.get("/api/vessels", params={"q": "x" * 2100}), 414, "uri_too_long")
    assert_error(client.get("/api/vessels/" + "1" * 2100), 414, "uri_too_long")
    assert client.get("/api/vessels", params={"q": "x" * 100, "list": "y" * 100}).status_code == 200
    error = assert_error(client.get("/api/vessels?limit=5&limit=500"), 422, "invalid_parameter")
    assert error["details"] == [{"field": "query.limit", "message": "given more than once"}]
    assert client.get("/api/events?type=port_call&type=teleport").status_code == 200  # the one repeatable
    for path in ("/api/vessels", "/api/events", "/api/ingests"):
        error = assert_error(client.get(path, params={"limit": 501}), 422, "invalid_parameter")
        assert error["details"] == [{"field": "query.limit", "message": "Input should be less than or equal to 500"}]
        assert client.get(path, params={"limit": 500}).status_code == 200
        assert_error(client.get(path, params={"offset": 1_000_001}), 422, "invalid_parameter")


def test_unexpected_errors_tell_nothing(store: Path) -> None:
    app = create_app(store)

    def boom() -> None:
        raise RuntimeError("secret internals at /srv/shadowtrace line 42")

    app.add_api_route("/api/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/boom")
        error = assert_error(response, 500, "internal")
        assert "secret" not in response.text and "Traceback" not in response.text and error["details"] is None


# --- SQL injection ------------------------------------------------------------------------

INJECTIONS = (
    "1' OR '1'='1",
    "'; DROP TABLE events; --",
    "0) UNION SELECT event_id, type, mmsi FROM events --",
    "1; DELETE FROM positions",
    "%' OR 1=1 --",
    "\\'; SELECT 1; --",
    "1,2,3,4); DROP TABLE risk_scores; --",
    "tanker' OR ship_type IS NOT NULL --",
    "port_call') OR ('1'='1",
)

# Every query parameter of every endpoint ({path params} are attacked through the path).
FILTERS = {
    "/api/vessels": ("min_score", "max_score", "list", "flag", "ship_type", "event_type", "bbox", "since",
                     "until", "q", "limit", "offset"),
    "/api/vessels/{mmsi}/track": ("since", "until", "zoom"),
    "/api/events": ("type", "mmsi", "since", "until", "bbox", "min_confidence", "format", "limit", "offset"),
    "/api/search": ("q", "limit"),
    "/api/ingests": ("limit", "offset"),
    "/api/alerts": ("rule", "mmsi", "since", "limit", "offset"),
}
PATHS = ("/api/vessels/{}", "/api/vessels/{}/track", "/api/vessels/{}/dossier.html", "/api/events/{}")


def _counts(store: Path) -> dict[str, int]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("positions", "vessel_reports", "events", "risk_scores", "lists", "screen_matches")}
    finally:
        con.close()


def test_sql_injection_through_every_filter(client: TestClient, store: Path, ids: dict[str, object]) -> None:
    before = _counts(store)
    normal_vessels = client.get("/api/vessels").json()["total"]
    normal_events = client.get("/api/events").json()["total"]
    # The list of attacked parameters covers the schema: a new filter must be added here.
    schema = client.get("/openapi.json").json()["paths"]
    for path, params in FILTERS.items():
        declared = {p["name"] for p in schema[path]["get"]["parameters"] if p["in"] == "query"}
        assert declared == set(params), (path, declared)
    attacked = 0
    for payload in INJECTIONS:
        for path, params in FILTERS.items():
            for name in params:
                url = path.replace("{mmsi}", str(ids["mmsi"]))
                extra = {"q": "a"} if path == "/api/search" and name != "q" else {}
                response = client.get(url, params={name: payload, **extra})
                attacked += 1
                assert response.status_code < 500, (url, name, payload, response.text)
                if response.status_code != 200:
                    assert response.json()["error"]["code"] in ("invalid_parameter", "bad_request")
                    continue
                body = response.json()
                # A string filter that got through matched nothing (it was a value, not SQL).
                if path == "/api/vessels":
                    assert name in ("list", "q") and body["total"] == 0, (name, payload)
                elif path == "/api/events":
                    assert body["total"] == normal_events
                elif path == "/api/search":
                    assert body == []
                elif path == "/api/alerts":
                    assert body["total"] == 0
        for template in PATHS:
            response = client.get(template.format(payload.replace("/", "%2F")))
            attacked += 1
            assert 400 <= response.status_code < 500, (template, payload, response.text)
    assert attacked > 250
    assert _counts(store) == before
    # And the store still answers normally.
    assert client.get("/api/vessels").json()["total"] == normal_vessels
    assert client.get("/api/events").json()["total"] == normal_events
