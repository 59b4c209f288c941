"""The read-only API over a screened scenario store: every endpoint's shape, paging, filters,
404s, exports, the dossier and track thinning."""

from __future__ import annotations

import csv
import io
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

from shadowtrace.errors import StoreError  # noqa: E402
from shadowtrace.store import SCHEMA_VERSION  # noqa: E402
from shadowtrace.web import create_app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def store(screened: Path) -> Path:
    """The shared scenario store, its list loaded and screened (see conftest)."""
    return screened


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sql(store: Path, client: TestClient) -> Iterator[duckdb.DuckDBPyConnection]:
    """Direct reads of the same store, to check answers against (read-only, like the app)."""
    con = duckdb.connect(str(store), read_only=True)
    yield con
    con.close()


def one(con: duckdb.DuckDBPyConnection, query: str, *args: object) -> object:
    return con.execute(query, list(args)).fetchall()[0][0]


def get(client: TestClient, url: str, status: int = 200, **params: object) -> dict | list:
    response = client.get(url, params=params)
    assert response.status_code == status, response.text
    return response.json()


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


# --- store --------------------------------------------------------------------------------


def test_health_counts_the_store(client: TestClient, sql) -> None:
    health = get(client, "/api/health")
    assert health == {
        "status": "ok", "schema_version": SCHEMA_VERSION,
        "positions": one(sql, "SELECT count(*) FROM positions"),
        "vessels": one(sql, "SELECT count(*) FROM (SELECT mmsi FROM positions UNION SELECT mmsi FROM vessel_reports)"),
        "events": one(sql, "SELECT count(*) FROM events"),
        "lists": 1,
        "scored_vessels": one(sql, "SELECT count(*) FROM risk_scores WHERE score > 0"),
    }


def test_lists_and_ingests(client: TestClient) -> None:
    lists = get(client, "/api/lists")
    assert [item["name"] for item in lists] == ["sim"]
    assert lists[0]["format"] == "ftm" and lists[0]["vessels"] > 0 and lists[0]["designated"] > 0
    assert lists[0]["loaded_at"].endswith("Z") and len(lists[0]["fingerprint"]) == 64
    page = get(client, "/api/ingests", limit=1)
    assert page["total"] == 1 and page["limit"] == 1 and page["offset"] == 0
    ingest = page["items"][0]
    assert ingest["status"] == "complete" and ingest["positions_added"] > 0
    assert ingest["ts_min"] < ingest["ts_max"]
    assert get(client, "/api/ingests", offset=1)["items"] == []


def test_store_problems_are_clear(tmp_path: Path) -> None:
    from shadowtrace.store import connect

    with pytest.raises(StoreError, match="no store"):
        create_app(tmp_path / "missing.duckdb")
    old = tmp_path / "old.duckdb"
    connect(old).close()
    con = duckdb.connect(str(old))
    con.execute("DELETE FROM schema_version WHERE version >= 3")
    con.close()
    with pytest.raises(StoreError, match="schema version 2"):
        create_app(old)


# --- vessels ------------------------------------------------------------------------------


def test_vessels_are_ranked_and_paged(client: TestClient, sql) -> None:
    page = get(client, "/api/vessels")
    assert set(page) == {"items", "total", "limit", "offset"}
    assert page["total"] == one(sql, "SELECT count(*) FROM risk_scores") and page["limit"] == 50
    items = page["items"]
    assert [row["rank"] for row in items] == list(range(1, len(items) + 1))
    assert [row["score"] for row in items] == sorted((row["score"] for row in items), reverse=True)
    top = items[0]
    assert set(top) == {"rank", "mmsi", "name", "imo", "flag", "ship_type", "score", "lists", "reasons"}
    assert top["lists"] == ["sim"] and 1 <= len(top["reasons"]) <= 3
    assert all(len(row["reasons"]) <= 3 for row in items)
    second = get(client, "/api/vessels", limit=5, offset=5)
    assert [row["mmsi"] for row in second["items"]] == [row["mmsi"] for row in items[5:10]]
    beyond = get(client, "/api/vessels", offset=page["total"])
    assert beyond["items"] == [] and beyond["total"] == page["total"]


def test_vessel_filters(client: TestClient, sql) -> None:
    everything = get(client, "/api/vessels", limit=500)["items"]

    def mmsis(**params: object) -> set[int]:
        page = get(client, "/api/vessels", limit=500, **params)
        assert page["total"] == len(page["items"])
        return {row["mmsi"] for row in page["items"]}

    scores = {row["mmsi"]: row["score"] for row in everything}
    assert mmsis(min_score=20) == {m for m, s in scores.items() if s >= 20}
    assert mmsis(max_score=10) == {m for m, s in scores.items() if s <= 10}
    assert mmsis(min_score=20, max_score=60) == {m for m, s in scores.items() if 20 <= s <= 60}
    listed = {r[0] for r in sql.execute("SELECT DISTINCT mmsi FROM screen_matches").fetchall()}
    assert listed and mmsis(list="sim") == listed
    assert mmsis(list="no such list") == set()
    flags = {row["flag"] for row in everything if row["flag"]}
    flag = sorted(flags)[0]
    assert mmsis(flag=flag) == {row["mmsi"] for row in everything if row["flag"] == flag}
    assert mmsis(flag=flag.upper()) == mmsis(flag=flag)
    types = {row["mmsi"]: row["ship_type"] for row in everything}
    assert mmsis(ship_type="tanker") == {m for m, t in types.items() if t is not None and 80 <= t <= 89}
    assert mmsis(ship_type="cargo") == {m for m, t in types.items() if t is not None and 70 <= t <= 79}
    assert mmsis(ship_type="80") == {m for m, t in types.items() if t == 80}
    assert mmsis(ship_type="other") == {m for m, t in types.items()
                                        if t is None or not any(lo <= t <= hi for lo, hi in
                                                                ((80, 89), (70, 79), (60, 69), (30, 30)))}
    kind, = sql.execute("SELECT type FROM events GROUP BY type ORDER BY count(*) LIMIT 1").fetchall()[0]
    sides = {r[0] for r in sql.execute("SELECT mmsi FROM events WHERE type = ? UNION "
                                       "SELECT other_mmsi FROM events WHERE type = ? AND other_mmsi IS NOT NULL",
                                       [kind, kind]).fetchall()}
    assert mmsis(event_type=kind) == sides
    mmsi, lat, lon, ts = sql.execute("SELECT mmsi, lat, lon, ts FROM positions ORDER BY ts LIMIT 1").fetchall()[0]
    inside = mmsis(bbox=f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}")
    assert mmsi in inside and len(inside) < len(everything)
    assert mmsis(bbox="-179.9,-89.9,-179.8,-89.8") == set()
    crossing = mmsis(bbox="179,-90,-179,90")  # the antimeridian box: only vessels near 180
    near_180 = {r[0] for r in sql.execute("SELECT DISTINCT mmsi FROM positions WHERE abs(lon) >= 179").fetchall()}
    assert crossing == (near_180 & set(scores))
    # A map's view across the antimeridian (longitudes past 180) and a world-wide one.
    assert mmsis(bbox="179,-100,181,100") == crossing
    assert mmsis(bbox="-540,-90,540,90") == set(scores) & mmsis(bbox="-180,-90,180,90")
    assert mmsis(bbox=f"{lon - 0.01},{lat + 0.01},{lon + 0.01},{lat - 0.01}") == inside  # latitudes in any order
    window = mmsis(since=ts.isoformat() + "Z", until=ts.isoformat() + "Z")
    assert mmsi in window and len(window) < len(everything)
    assert mmsis(since="2000-01-01T00:00:00+02:00", until="2000-01-02T00:00:00Z") == set()
    top = everything[0]
    assert top["mmsi"] in mmsis(q=top["name"].split()[0].lower())
    assert mmsis(q=str(top["mmsi"])) == {top["mmsi"]}
    # Filters combine (AND) and ranks stay those of the whole list.
    both = get(client, "/api/vessels", list="sim", min_score=top["score"])["items"]
    assert both and both[0]["rank"] == 1


def test_vessel_filter_values_are_checked(client: TestClient) -> None:
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"offset": 1_000_001}, {"min_score": 101},
                   {"max_score": -1}, {"flag": "PAN"}, {"flag": "1a"}, {"ship_type": "submarine"},
                   {"ship_type": "100"}, {"event_type": "piracy"}, {"bbox": "1,2,3"}, {"bbox": "a,b,c,d"},
                   {"bbox": "1e500,0,1,2"}, {"bbox": "1, 2, 3, 4"}, {"bbox": "1000,0,1,5"}, {"since": "yesterday"},
                   {"q": ""}, {"q": "x" * 101}, {"list": "x" * 101}):
        error = assert_error(client.get("/api/vessels", params=params), 422, "invalid_parameter")
        assert error["details"] and error["details"][0]["field"].startswith("query."), params


def test_vessel_summary(client: TestClient, sql) -> None:
    top = get(client, "/api/vessels", limit=1)["items"][0]
    vessel = get(client, f"/api/vessels/{top['mmsi']}")
    assert set(vessel) == {"mmsi", "name", "imo", "flag", "first_seen", "last_seen", "risk",
                           "identity_history", "matches", "exposures", "events"}
    assert vessel["mmsi"] == top["mmsi"] and vessel["risk"]["score"] == top["score"]
    assert len(vessel["risk"]["reasons"]) >= len(top["reasons"])
    assert vessel["matches"] and vessel["matches"][0]["list"] == "sim" and vessel["matches"][0]["summary"]
    assert {"kind", "value", "first", "last", "reports", "evidence"} <= set(vessel["identity_history"][0])
    assert len(vessel["events"]) == one(sql, "SELECT count(*) FROM events WHERE mmsi = ? OR other_mmsi = ?",
                                        top["mmsi"], top["mmsi"])
    assert vessel["first_seen"].endswith("Z") and vessel["first_seen"] <= vessel["last_seen"]
    owned = one(sql, "SELECT mmsi FROM screen_exposures WHERE kind = 'ownership' LIMIT 1")
    exposures = get(client, f"/api/vessels/{owned}")["exposures"]
    assert any(e["kind"] == "ownership" and e["text"] for e in exposures)

    error = assert_error(client.get("/api/vessels/123456789"), 404, "not_found")
    assert "123456789" in error["message"]
    for bad in ("0", "1000000000", "abc", "1.5"):
        assert_error(client.get(f"/api/vessels/{bad}"), 422, "invalid_parameter")


def test_track_geojson_and_thinning(client: TestClient, sql) -> None:
    # The busiest vessel with one continuous track (a clone or spoofed jumps split it into stretches).
    mmsi, total = sql.execute("""
        SELECT mmsi, count(*) FROM positions WHERE mmsi NOT IN (
            SELECT mmsi FROM events WHERE type IN ('identity_conflict', 'teleport', 'position_on_land'))
        GROUP BY mmsi ORDER BY 2 DESC, 1 LIMIT 1""").fetchall()[0]
    full = get(client, f"/api/vessels/{mmsi}/track", zoom=22)
    assert full["type"] == "FeatureCollection" and full["total_positions"] == total
    assert full["vertices"] == total  # under 20,000: every position
    for feature in full["features"]:
        assert feature["geometry"]["type"] == "LineString"
        props = feature["properties"]
        assert len(props["times"]) == len(props["sog"]) == len(feature["geometry"]["coordinates"]) >= 2
        assert props["times"] == sorted(props["times"]) and props["times"][0].endswith("Z")
    sizes = [get(client, f"/api/vessels/{mmsi}/track", zoom=z)["vertices"] for z in (0, 2, 4, 6)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1] <= total
    assert 250 <= sizes[0] <= 260  # about 250 at zoom 0 (plus the ends of stretches)
    default = get(client, f"/api/vessels/{mmsi}/track")
    assert 1414 <= default["vertices"] <= 1424  # 250 x 2^2.5

    start, end = sql.execute("SELECT min(ts), max(ts) FROM positions WHERE mmsi = ?", [mmsi]).fetchall()[0]
    middle = start + (end - start) / 2
    half = get(client, f"/api/vessels/{mmsi}/track", zoom=22, since=middle.isoformat())
    assert 0 < half["total_positions"] < total
    assert all(t >= middle.isoformat() for f in half["features"] for t in f["properties"]["times"])
    empty = get(client, f"/api/vessels/{mmsi}/track", until="2000-01-01T00:00:00Z")
    assert empty["features"] == [] and empty["total_positions"] == 0
    assert_error(client.get("/api/vessels/123456789/track"), 404, "not_found")
    assert_error(client.get(f"/api/vessels/{mmsi}/track", params={"zoom": 23}), 422, "invalid_parameter")


def test_track_splits_at_jumps(client: TestClient, sql) -> None:
    mmsi = one(sql, "SELECT mmsi FROM events WHERE type = 'teleport' LIMIT 1")
    track = get(client, f"/api/vessels/{mmsi}/track", zoom=22)
    assert len(track["features"]) >= 2
    # Consecutive stretches meet across the jump: one ends before the next starts.
    for before, after in zip(track["features"], track["features"][1:]):
        assert before["properties"]["times"][-1] <= after["properties"]["times"][0]
    assert [f["properties"]["stretch"] for f in track["features"]] == list(range(len(track["features"])))


def test_dossier(client: TestClient) -> None:
    top = get(client, "/api/vessels", limit=1)["items"][0]
    response = client.get(f"/api/vessels/{top['mmsi']}/dossier.html")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert str(top["mmsi"]) in response.text and "<html" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "'sha256-" in policy
    assert_error(client.get("/api/vessels/123456789/dossier.html"), 404, "not_found")


# --- events -------------------------------------------------------------------------------


def test_events_page_and_filters(client: TestClient, sql) -> None:
    total = one(sql, "SELECT count(*) FROM events")
    page = get(client, "/api/events", limit=20)
    assert set(page) == {"items", "total", "limit", "offset"} and page["total"] == total
    event = page["items"][0]
    assert set(event) == {"event_id", "type", "mmsi", "other_mmsi", "start", "end", "lat", "lon",
                          "confidence", "details"}
    assert isinstance(event["details"], dict) and event["start"].endswith("Z")
    everything = get(client, "/api/events", limit=500)["items"]
    assert len(everything) == total and [e["start"] for e in everything] == sorted(e["start"] for e in everything)
    assert get(client, "/api/events", limit=7, offset=7)["items"] == everything[7:14]

    def ids(**params: object) -> set[str]:
        page = get(client, "/api/events", limit=500, **params)
        assert page["total"] == len(page["items"])
        return {e["event_id"] for e in page["items"]}

    assert ids(type="port_call") == {e["event_id"] for e in everything if e["type"] == "port_call"}
    response = client.get("/api/events", params=[("type", "port_call"), ("type", "teleport"), ("limit", 500)])
    assert {e["type"] for e in response.json()["items"]} == {"port_call", "teleport"}
    encounter = next(e for e in everything if e["other_mmsi"])
    assert encounter["event_id"] in ids(mmsi=encounter["other_mmsi"])  # either side
    assert ids(mmsi=encounter["mmsi"]) == {e["event_id"] for e in everything
                                          if encounter["mmsi"] in (e["mmsi"], e["other_mmsi"])}
    assert ids(since=encounter["start"], until=encounter["start"]) == {
        e["event_id"] for e in everything if e["end"] >= encounter["start"] >= e["start"]}
    lat, lon = encounter["lat"], encounter["lon"]
    assert ids(bbox=f"{lon - 0.5},{lat - 0.5},{lon + 0.5},{lat + 0.5}") == {
        e["event_id"] for e in everything if e["lat"] is not None
        and abs(e["lat"] - lat) <= 0.5 and abs(e["lon"] - lon) <= 0.5}
    assert ids(min_confidence=0.9) == {e["event_id"] for e in everything if e["confidence"] >= 0.9}
    assert ids(min_confidence=0.9, type="port_call") < ids(type="port_call") or not ids(type="port_call")
    assert ids(mmsi=123456789) == set()
    for params in ({"type": "piracy"}, {"mmsi": 0}, {"min_confidence": 1.5}, {"format": "xml"},
                   {"limit": 501}, {"bbox": "1,2,3,4,5"}, {"until": "not a time"}):
        assert_error(client.get("/api/events", params=params), 422, "invalid_parameter")


def test_events_exports(client: TestClient, sql) -> None:
    total = one(sql, "SELECT count(*) FROM events")
    response = client.get("/api/events", params={"format": "geojson", "limit": 10, "offset": 5})
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 10
    assert collection["total"] == total and response.headers["x-total-count"] == str(total)
    page = get(client, "/api/events", limit=10, offset=5)["items"]
    assert [f["id"] for f in collection["features"]] == [e["event_id"] for e in page]
    point = next(f for f in collection["features"] if f["geometry"])
    assert point["geometry"]["type"] == "Point" and len(point["geometry"]["coordinates"]) == 2
    assert {"event_id", "type", "mmsi", "start", "end", "confidence", "details"} <= set(point["properties"])

    response = client.get("/api/events", params={"format": "csv", "type": "port_call", "limit": 500})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == one(sql, "SELECT count(*) FROM events WHERE type = 'port_call'")
    assert set(rows[0]) == {"event_id", "type", "mmsi", "other_mmsi", "start", "end", "lat", "lon",
                            "confidence", "details"} and {r["type"] for r in rows} == {"port_call"}
    capped = client.get("/api/events", params={"format": "csv", "limit": 3})
    assert len(capped.text.strip().splitlines()) == 4 and capped.headers["x-total-count"] == str(total)


def test_event_with_evidence(client: TestClient, sql) -> None:
    event_id, mmsi, other = sql.execute(
        "SELECT event_id, mmsi, other_mmsi FROM events WHERE type = 'encounter' LIMIT 1").fetchall()[0]
    event = get(client, f"/api/events/{event_id}")
    assert event["event_id"] == event_id and event["vessel"]["mmsi"] == mmsi
    assert event["other_vessel"]["mmsi"] == other and "score" in event["other_vessel"]
    assert event["evidence"], "an encounter cites its positions"
    row = event["evidence"][0]
    assert row["kind"] in ("position", "report") and row["source"] and row["source_line"] > 0
    assert row["ts"].endswith("Z") and row["raw"].startswith("\\s:")  # the raw NMEA sentence
    identity = one(sql, "SELECT event_id FROM events WHERE type = 'identity_change' AND other_mmsi IS NULL"
                        " ORDER BY event_id LIMIT 1")  # a rename (a reflag names the old MMSI as other)
    change = get(client, f"/api/events/{identity}")
    assert change["other_vessel"] is None and "before" in str(change["details"])
    assert any(r["kind"] == "report" for r in change["evidence"])
    assert_error(client.get("/api/events/0123456789abcdef0123"), 404, "not_found")
    assert_error(client.get("/api/events/not-hex!"), 422, "invalid_parameter")


# --- search, layers, page -----------------------------------------------------------------


def test_search(client: TestClient) -> None:
    top = get(client, "/api/vessels", limit=1)["items"][0]
    by_mmsi = get(client, "/api/search", q=str(top["mmsi"]))
    assert by_mmsi == [{"mmsi": top["mmsi"], "name": top["name"], "imo": top["imo"], "score": top["score"],
                        "matched": "mmsi"}]
    by_imo = get(client, "/api/search", q=f"IMO {top['imo']}")
    assert by_imo[0]["mmsi"] == top["mmsi"] and by_imo[0]["matched"] == "imo"
    by_name = get(client, "/api/search", q=top["name"].lower())
    assert by_name[0]["mmsi"] == top["mmsi"] and by_name[0]["matched"] == "name"  # exact first
    prefix = get(client, "/api/search", q=str(top["mmsi"])[:3], limit=20)
    assert 1 <= len(prefix) <= 20 and all(str(h["mmsi"]).startswith(str(top["mmsi"])[:3]) for h in prefix)
    assert len(get(client, "/api/search", q="a", limit=2)) == 2
    assert get(client, "/api/search", q="%") == [] and get(client, "/api/search", q="_") == []
    assert_error(client.get("/api/search"), 422, "invalid_parameter")
    assert_error(client.get("/api/search", params={"q": " "}), 422, "invalid_parameter")
    assert_error(client.get("/api/search", params={"q": "a", "limit": 21}), 422, "invalid_parameter")


def test_layers(client: TestClient) -> None:
    terminals = client.get("/api/layers/terminals")
    assert terminals.headers["content-type"] == "application/geo+json"
    features = terminals.json()["features"]
    assert len(features) >= 10 and all(f["geometry"]["type"] == "Point" for f in features)
    assert any(f["properties"]["name"] == "Primorsk" for f in features)
    areas = get(client, "/api/layers/sts_areas")["features"]
    assert areas and all(f["properties"]["radius_km"] > 0 for f in areas)
    for name, kind in (("land", "Polygon"), ("coastlines", "LineString")):
        response = client.get(f"/api/layers/{name}")
        assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
        body = response.json()
        assert body["type"] == "FeatureCollection" and kind in {f["geometry"]["type"] for f in body["features"]}


def test_page_static_and_docs(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert client.get("/static/index.html").status_code == 200
    assert_error(client.get("/static/no-such-file.js"), 404, "not_found")
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"] == "shadowtrace"
    assert client.get("/docs").status_code == 200
    head = client.head("/api/health")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
    assert head.headers["x-content-type-options"] == "nosniff"
    assert_error(client.get("/api/nothing-here"), 404, "not_found")


def test_concurrent_requests_each_get_their_own_cursor(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    top = get(client, "/api/vessels", limit=1)["items"][0]["mmsi"]
    urls = ["/api/health", "/api/vessels?limit=20", f"/api/vessels/{top}", f"/api/vessels/{top}/track",
            "/api/events?limit=100", "/api/search?q=a"] * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda url: client.get(url).status_code, urls))
    assert statuses == [200] * len(urls)


def test_api_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/static/vendor/swagger-ui/{asset}").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "shadowtrace"
