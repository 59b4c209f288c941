"""A vessel's track as GeoJSON for a map: continuous stretches, thinned to the zoom level."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import numpy as np

from shadowtrace.errors import ConfigError
from shadowtrace.filters import positions_where, relation
from shadowtrace.geo import EARTH_RADIUS_M

JUMP_SPEED_KN = 60.0        # faster than any merchant ship: the line would draw a jump that did not happen
JUMP_MIN_DISTANCE_M = 1_000.0  # below this it is GNSS noise between near-simultaneous fixes, not a jump
MAX_VERTICES = 20_000
MAX_ZOOM = 22.0


def vertex_budget(zoom: float) -> int:
    """About 250 x 2^(zoom/2) vertices: doubling every two zoom levels, at most 20,000."""
    if not 0 <= zoom <= MAX_ZOOM:
        raise ConfigError(f"zoom {zoom} is outside 0..{MAX_ZOOM:g}")
    return min(MAX_VERTICES, round(250 * 2 ** (zoom / 2)))


# Breaks are found on every position, before thinning, so a jump is never averaged away;
# the first and last position of each stretch survive the thinning. One vessel's window is a few
# thousand rows at most: numpy does the steps (a SQL window query costs several times more).
def _breaks(ts: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """1 where a position starts a new stretch (a jump over 60 kn across more than 1 km, or the
    antimeridian crossed since the previous position), else 0; the first position is 0."""
    brk = np.zeros(len(ts), dtype=np.int64)
    if len(ts) < 2:
        return brk
    p_lat, p_lon = lat[:-1], lon[:-1]
    c_lat, c_lon = lat[1:], lon[1:]
    hav = (np.sin(np.radians(c_lat - p_lat) / 2) ** 2
           + np.cos(np.radians(c_lat)) * np.cos(np.radians(p_lat)) * np.sin(np.radians(c_lon - p_lon) / 2) ** 2)
    dist_m = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(hav))
    seconds = np.maximum(np.diff(ts).astype("timedelta64[us]").astype(np.int64) / 1e6, 1.0)
    jump = (dist_m > JUMP_MIN_DISTANCE_M) & (dist_m / 1852.0 / seconds * 3600 > JUMP_SPEED_KN)
    brk[1:] = (np.abs(c_lon - p_lon) > 180) | jump
    return brk


def track_geojson(con: duckdb.DuckDBPyConnection, mmsi: int, *, since: dt.datetime | None = None,
                  until: dt.datetime | None = None, zoom: float = 5.0,
                  positions: str = "positions") -> dict[str, Any]:
    """GeoJSON FeatureCollection of the vessel's positions (naive UTC window): one LineString per
    continuous stretch, split at jumps over 60 kn and at the antimeridian, with
    ``properties.times`` (ISO, UTC) and ``properties.sog`` for each vertex. A stretch of one
    position is a LineString of that position twice (so every feature draws and replays alike).
    Raises :class:`shadowtrace.vessels.NotFoundError` for an MMSI the store has never seen.

    ``positions`` names the table to read (mmsi, ts, lat, lon, sog): the store's, or a copy
    ordered by vessel and time (the web server keeps one; see :mod:`shadowtrace.web.deps`)."""
    from shadowtrace.vessels import NotFoundError, vessel_known

    budget = vertex_budget(zoom)
    condition, args = positions_where(mmsi=mmsi, since=since, until=until)
    table = relation(positions)
    data = con.execute(f"SELECT ts, lat, lon, sog FROM {table} WHERE {condition} ORDER BY ts, lat, lon",
                       args).fetchnumpy()
    total = len(data["ts"])
    if total == 0 and not vessel_known(con, mmsi, positions=table):
        raise NotFoundError(f"no vessel with MMSI {mmsi} in this store",
                            hint="`shadowtrace vessels --db FILE` lists vessels")
    ts = np.asarray(data["ts"], dtype="datetime64[us]")
    lat, lon = np.asarray(data["lat"], dtype=np.float64), np.asarray(data["lon"], dtype=np.float64)
    brk = _breaks(ts, lat, lon)
    seg = np.cumsum(brk)
    next_brk = np.append(brk[1:], 1)
    # Evenly spread: row n (1-based) is kept when floor(n * keep / total) steps up.
    keep = min(budget, total)
    n = np.arange(1, total + 1, dtype=np.int64)
    step = (n - 1) * keep // max(total, 1) != (n - 2) * keep // max(total, 1)
    rows = np.flatnonzero((n == 1) | step | (brk == 1) | (next_brk == 1))
    sog = data["sog"]
    sog_values = np.ma.getdata(sog)[rows].astype(np.float64).tolist()
    sog_missing = np.ma.getmaskarray(sog)[rows].tolist()
    times = [t + "Z" for t in np.datetime_as_string(ts[rows].astype("datetime64[s]"), unit="s").tolist()]
    stretches: dict[int, list[tuple[str, float, float, float | None]]] = {}
    for key, stamp, la, lo, speed, missing in zip(seg[rows].tolist(), times, lat[rows].tolist(),
                                                  lon[rows].tolist(), sog_values, sog_missing):
        stretches.setdefault(key, []).append((stamp, la, lo, None if missing else speed))
    features = []
    for index, points in enumerate(stretches.values()):
        if len(points) == 1:
            points = points * 2
        features.append({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[p[2], p[1]] for p in points]},
            "properties": {"mmsi": mmsi, "stretch": index, "times": [p[0] for p in points],
                           "sog": [None if p[3] is None else round(p[3], 1) for p in points]},
        })
    return {"type": "FeatureCollection", "features": features, "mmsi": mmsi,
            "total_positions": int(total), "vertices": len(rows)}
