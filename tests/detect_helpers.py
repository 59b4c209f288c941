"""Build small stores from hand-made tracks and run detectors on them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb

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
    for i, row in enumerate(positions, start=1):
        con.execute(
            "INSERT INTO positions VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?, NULL)",
            [row["mmsi"], row["ts"], row["lat"], row["lon"], row.get("sog"), row.get("cog"),
             row.get("heading"), row.get("nav_status"), i],
        )
    for i, row in enumerate(reports or [], start=1):
        con.execute(
            "INSERT INTO vessel_reports (mmsi, ts, imo, name, callsign, ship_type, draught,"
            " destination, msg_type, ingest_id, source_line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 5, 1, ?)",
            [row["mmsi"], row["ts"], row.get("imo"), row.get("name"), row.get("callsign"),
             row.get("ship_type"), row.get("draught"), row.get("destination"), 100000 + i],
        )
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
