"""Build small stores from hand-made tracks and run detectors on them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from shadowtrace.detect.config import default_params
from shadowtrace.detect.run import detect_events
from shadowtrace.engine import get_engine
from shadowtrace.store import connect

T0 = dt.datetime(2025, 3, 1)


def track(mmsi: int, start: dt.datetime, points: list[tuple[float, float, float]], *,
          every_s: float = 60.0, sog: float | None = None) -> list[dict[str, Any]]:
    """Positions at a fixed interval: points are (minutes after start, lat, lon) or, with
    `every_s`, consecutive (lat, lon, sog) samples."""
    rows = []
    for i, (lat, lon, speed) in enumerate(points):
        rows.append({"mmsi": mmsi, "ts": start + dt.timedelta(seconds=i * every_s), "lat": lat,
                     "lon": lon, "sog": speed if sog is None else sog})
    return rows


def line(mmsi: int, start: dt.datetime, lat0: float, lon0: float, lat1: float, lon1: float,
         minutes: float, *, every_s: float = 60.0, sog: float = 10.0) -> list[dict[str, Any]]:
    """A straight run from (lat0, lon0) to (lat1, lon1) over `minutes`."""
    n = max(2, int(minutes * 60 / every_s) + 1)
    return [
        {"mmsi": mmsi, "ts": start + dt.timedelta(seconds=i * every_s),
         "lat": lat0 + (lat1 - lat0) * i / (n - 1), "lon": lon0 + (lon1 - lon0) * i / (n - 1), "sog": sog}
        for i in range(n)
    ]


def make_store(path: Path, positions: list[dict[str, Any]],
               reports: list[dict[str, Any]] | None = None) -> Path:
    """A store holding exactly these rows (one fake ingest, line numbers in order)."""
    con = connect(path)
    con.execute(
        "INSERT INTO ingests (ingest_id, source, fingerprint, format, status, started_at)"
        " VALUES (1, 'hand-made', 'x', 'test', 'complete', now())"
    )
    # Bulk inserts through Arrow: row-by-row INSERTs make tests slow.
    staged = pa.table({
        "mmsi": pa.array([r["mmsi"] for r in positions], pa.int64()),
        "ts": pa.array([r["ts"] for r in positions], pa.timestamp("us")),
        "lat": pa.array([r["lat"] for r in positions], pa.float64()),
        "lon": pa.array([r["lon"] for r in positions], pa.float64()),
        **{k: pa.array([r.get(k) for r in positions], pa.float64()) for k in ("sog", "cog")},
        **{k: pa.array([r.get(k) for r in positions], pa.int64()) for k in ("heading", "nav_status")},
        "source_line": pa.array(range(1, len(positions) + 1), pa.int64()),
    })
    con.register("staged_positions", staged)
    con.execute(
        "INSERT INTO positions SELECT mmsi, ts, lat, lon, sog, cog, heading, nav_status, 1, 1,"
        " source_line, NULL FROM staged_positions"
    )
    con.unregister("staged_positions")
    rows = reports or []
    staged_reports = pa.table({
        "mmsi": pa.array([r["mmsi"] for r in rows], pa.int64()),
        "ts": pa.array([r["ts"] for r in rows], pa.timestamp("us")),
        **{k: pa.array([r.get(k) for r in rows], pa.int64()) for k in ("imo", "ship_type")},
        **{k: pa.array([r.get(k) for r in rows], pa.string()) for k in ("name", "callsign", "destination")},
        "draught": pa.array([r.get("draught") for r in rows], pa.float64()),
        "source_line": pa.array(range(100001, 100001 + len(rows)), pa.int64()),
    })
    con.register("staged_reports", staged_reports)
    con.execute(
        "INSERT INTO vessel_reports (mmsi, ts, imo, name, callsign, ship_type, draught, destination,"
        " msg_type, ingest_id, source_line) SELECT mmsi, ts, imo, name, callsign, ship_type, draught,"
        " destination, 5, 1, source_line FROM staged_reports"
    )
    con.unregister("staged_reports")
    con.close()
    return path


def run_detector(db: Path, name: str, **changes: Any) -> list[dict[str, Any]]:
    """Events of one detector (params changed as given), as dicts with parsed details."""
    import dataclasses

    params = default_params()
    params[name] = dataclasses.replace(params[name], **changes)
    engine = get_engine("duckdb", db=db)
    try:
        report = detect_events(engine, params, only=[name])
    finally:
        engine.close()  # type: ignore[attr-defined]
    rows = report.events[name].to_pylist()
    for row in rows:
        row["details"] = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    return rows


def stored_events(db: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT * FROM events ORDER BY event_id").fetchall()
