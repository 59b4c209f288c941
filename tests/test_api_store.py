"""The web Store's caches (ranking, vessel summaries, rendered list rows, health counts, positions
copy): the same answers as the library's queries on the store, and `refresh()` picks up what a
process writes through the store's connection."""

from __future__ import annotations

import json
import shutil
import threading
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette's TestClient warns about httpx on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from shadowtrace.filters import BBox  # noqa: E402
from shadowtrace.overview import store_health  # noqa: E402
from shadowtrace.tracks_geo import track_geojson  # noqa: E402
from shadowtrace.vessels import NotFoundError, query_vessels, vessel_summary  # noqa: E402
from shadowtrace.web import create_app  # noqa: E402
from shadowtrace.web.deps import Store  # noqa: E402
from shadowtrace.web.models import VesselPage  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def store(screened: Path):
    opened = Store(screened)
    yield opened
    opened.close()


def _filters(cur) -> list[dict]:
    """Every filter of the vessel list, alone and combined, with values taken from the store."""
    kinds = [r[0] for r in cur.execute("SELECT DISTINCT type FROM events ORDER BY type").fetchall()]
    name, = cur.execute("SELECT name FROM vessel_reports WHERE name IS NOT NULL ORDER BY ts LIMIT 1").fetchall()[0]
    mmsi, lat, lon, ts = cur.execute("SELECT mmsi, lat, lon, ts FROM positions ORDER BY ts LIMIT 1").fetchall()[0]
    flags = ["pa", "ru", "LR", "gb", "km", "xx"]
    out: list[dict] = [{}, {"min_score": 20}, {"max_score": 10}, {"min_score": 5.5, "max_score": 60},
                       {"min_score": 100}, {"list_name": "sim"}, {"list_name": "nope"},
                       {"bbox": BBox(lon - 1, lat - 1, lon + 1, lat + 1)}, {"bbox": BBox(179, -90, -179, 90)},
                       {"since": ts, "until": ts}, {"q": name[:3]}, {"q": str(mmsi)[:4]}, {"q": "zzz"},
                       {"list_name": "sim", "min_score": 10, "ship_type": "other"},
                       {"event_type": kinds[0], "flag": "pa", "bbox": BBox(-180, -90, 180, 90)}]
    out += [{"flag": flag} for flag in flags]
    out += [{"ship_type": kind} for kind in ("tanker", "cargo", "passenger", "fishing", "other", "80", "0", 52)]
    out += [{"event_type": kind} for kind in kinds] + [{"event_type": kinds[-1], "min_score": 10}]
    return out


def test_ranking_in_memory_answers_as_the_query(store: Store) -> None:
    cur = store.cursor()
    try:
        for filters in _filters(cur):
            for limit, offset in ((50, 0), (3, 2), (500, 0), (10, 10_000), (0, 0)):
                args = {**filters, "limit": limit, "offset": offset, "max_reasons": 3, "positions": store.positions}
                expected = query_vessels(cur, **args)
                assert store.vessel_ranking.query(cur, **args) == expected, args
                assert store.vessel_ranking.query(cur, **{**args, "max_reasons": None}) == \
                    query_vessels(cur, **{**args, "max_reasons": None}), args
        for bad in ({"flag": "p1"}, {"ship_type": "submarine"}, {"event_type": "piracy"}, {"limit": -1}, {"q": " "}):
            with pytest.raises(Exception) as expected:
                query_vessels(cur, **bad)
            with pytest.raises(type(expected.value), match=str(expected.value)[:20]):
                store.vessel_ranking.query(cur, **bad)
    finally:
        store.release(cur)


def test_rendered_list_rows_are_the_models(store: Store) -> None:
    """The list route joins rows rendered at opening: byte for byte what the response model
    renders from the same page."""
    with TestClient(create_app(store.path)) as client:
        for params in ({}, {"limit": 500}, {"limit": 7, "offset": 3, "min_score": 10}, {"offset": 100_000},
                       {"list": "sim", "ship_type": "other"}):
            response = client.get("/api/vessels", params=params)
            assert response.status_code == 200 and response.headers["content-type"] == "application/json"
            limit, offset = params.get("limit", 50), params.get("offset", 0)
            filters = {("list_name" if k == "list" else k): v for k, v in params.items() if k not in ("limit", "offset")}
            cur = store.cursor()
            rows, total = query_vessels(cur, limit=limit, offset=offset, max_reasons=3, **filters)
            store.release(cur)
            model = VesselPage.model_validate({"items": rows, "total": total, "limit": limit, "offset": offset})
            assert response.content == model.model_dump_json().encode()


def test_vessel_summaries_in_memory_are_the_library_ones(store: Store) -> None:
    cur = store.cursor()
    try:
        mmsis = [r[0] for r in cur.execute("""SELECT mmsi FROM positions UNION SELECT mmsi FROM vessel_reports
                                              UNION SELECT other_mmsi FROM events WHERE other_mmsi IS NOT NULL
                                              ORDER BY 1""").fetchall()]
        assert len(store.vessels) == len(mmsis)
        for mmsi in mmsis:
            assert store.vessels.get(mmsi) == vessel_summary(cur, mmsi, positions=store.positions), mmsi
            assert store.vessels.get(mmsi) == vessel_summary(cur, mmsi), mmsi  # the store's own table too
        for unknown in (1, 123456789):
            with pytest.raises(NotFoundError, match=str(unknown)):
                store.vessels.get(unknown)
        assert store.health() == store_health(cur)
    finally:
        store.release(cur)


def test_positions_copy_can_be_off(screened: Path) -> None:
    off = Store(screened, cache_rows=0)
    try:
        cur = off.cursor()
        assert not off.caches.positions_copied
        mmsi, = cur.execute("SELECT mmsi FROM positions GROUP BY mmsi ORDER BY count(*) DESC LIMIT 1").fetchall()[0]
        assert track_geojson(cur, mmsi, positions=off.positions) == track_geojson(cur, mmsi)
        assert off.vessels.get(mmsi) == vessel_summary(cur, mmsi)
        off.release(cur)
        off.refresh()  # a view again, not a copy
        assert not off.caches.positions_copied
    finally:
        off.close()


def test_refresh_picks_up_what_is_written(screened: Path, tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    shutil.copy(screened, db)
    store = Store(db, read_only=False)
    try:
        health = store.health()
        cur = store.cursor()
        last, = cur.execute("SELECT mmsi FROM risk_scores ORDER BY score, mmsi LIMIT 1").fetchall()[0]
        ingest, = cur.execute("SELECT max(ingest_id) FROM ingests").fetchall()[0]
        new = 999_000_001
        assert cur.execute("SELECT count(*) FROM positions WHERE mmsi = ?", [new]).fetchall()[0][0] == 0
        # What a live process writes: a new vessel's positions and report, an event, a new score.
        cur.execute("""INSERT INTO positions (mmsi, ts, lat, lon, sog, ingest_id, source_line)
                       VALUES (?, TIMESTAMP '2030-01-01 00:00:00', 10.0, 20.0, 5.0, ?, 900000001),
                              (?, TIMESTAMP '2030-01-01 01:00:00', 10.1, 20.1, NULL, ?, 900000002)""",
                    [new, ingest, new, ingest])
        cur.execute("""INSERT INTO vessel_reports (mmsi, ts, name, ingest_id, source_line)
                       VALUES (?, TIMESTAMP '2030-01-01 00:30:00', 'REFRESHED', ?, 900000003)""", [new, ingest])
        cur.execute("""INSERT INTO events VALUES ('feedc0de', 'encounter', ?, ?, TIMESTAMP '2030-01-01 00:00:00',
                       TIMESTAMP '2030-01-01 01:00:00', 10.0, 20.0, 0.9, '{"note": "live"}')""", [new, last])
        cur.execute("UPDATE risk_scores SET score = 100, reasons = '[]' WHERE mmsi = ?", [last])
        store.release(cur)

        # Until refresh() the caches are those of the opening.
        assert store.health() == health
        with pytest.raises(NotFoundError):
            store.vessels.get(new)
        assert store.vessel_ranking.rows[0]["mmsi"] != last

        store.refresh()
        assert store.health()["positions"] == health["positions"] + 2
        assert store.health()["events"] == health["events"] + 1
        assert store.health()["vessels"] == health["vessels"] + 1
        vessel = store.vessels.get(new)
        assert vessel["name"] == "REFRESHED" and vessel["first_seen"] == "2030-01-01T00:00:00"
        assert [e["event_id"] for e in vessel["events"]] == ["feedc0de"]
        assert "feedc0de" in [e["event_id"] for e in store.vessels.get(last)["events"]]
        top = store.vessel_ranking.query(None, limit=1, max_reasons=3)[0][0]
        assert top["mmsi"] == last and top["score"] == 100 and top["reasons"] == []
        assert json.loads(store.caches.list_rows[0])["mmsi"] == last
        assert last in {row["mmsi"] for row in store.vessel_ranking.query(None, event_type="encounter", limit=500)[0]}
        cur = store.cursor()
        assert track_geojson(cur, new, positions=store.positions)["total_positions"] == 2  # the positions copy
        store.release(cur)
    finally:
        store.close()


def test_refresh_while_requests_run(screened: Path) -> None:
    """Requests read the previous caches while a refresh builds new ones: no errors."""
    store = Store(screened)
    errors: list[str] = []
    done = threading.Event()
    mmsi = store.vessel_ranking.rows[0]["mmsi"]

    def requests() -> None:
        while not done.is_set():
            cur = store.cursor()
            try:
                store.vessel_ranking.select(cur, min_score=1, q="a", positions=store.positions)
                track_geojson(cur, mmsi, positions=store.positions)
                store.vessels.get(mmsi)
            except Exception as exc:  # any error fails the test
                errors.append(repr(exc))
            finally:
                store.release(cur)

    workers = [threading.Thread(target=requests) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        for _ in range(3):
            store.refresh()
    finally:
        done.set()
        for worker in workers:
            worker.join()
        store.close()
    assert errors == []


def test_serve_workers_and_access_log(screened: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve --workers N` hands uvicorn an app factory by name (each worker process opens the
    store itself); `--no-access-log` turns the per-request log off."""
    import uvicorn
    from typer.testing import CliRunner

    from shadowtrace.cli import app as cli_app
    from shadowtrace.cli_serve import WORKER_ENV, worker_app

    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    monkeypatch.delenv("SHADOWTRACE_TOKEN", raising=False)
    monkeypatch.setenv(WORKER_ENV, "")  # restored after the test
    runner = CliRunner()

    one = runner.invoke(cli_app, ["serve", "--db", str(screened), "--no-access-log"])
    assert one.exit_code == 0, one.output
    app, kwargs = calls[-1]
    assert not isinstance(app, str) and kwargs["access_log"] is False and "workers" not in kwargs

    two = runner.invoke(cli_app, ["serve", "--db", str(screened), "--workers", "2", "--port", "8124"])
    assert two.exit_code == 0, two.output
    app, kwargs = calls[-1]
    assert app == "shadowtrace.cli_serve:worker_app"
    assert kwargs["factory"] is True and kwargs["workers"] == 2 and kwargs["access_log"] is True
    with TestClient(worker_app(), base_url="http://127.0.0.1:8124") as client:  # what each worker runs
        assert client.get("/api/health").json()["positions"] > 0
        assert client.get("/api/health", headers={"host": "attacker.example"}).status_code == 400

    missing = runner.invoke(cli_app, ["serve", "--db", str(screened.parent / "none.duckdb"), "--workers", "2"])
    assert missing.exit_code == 2 and "no store" in missing.output
