"""A vessel's track as GeoJSON for a map: continuous stretches, thinned to the zoom level."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from shadowtrace.errors import ConfigError
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
# the first and last position of each stretch survive the thinning.
_TRACK_SQL = """
WITH p AS (
    SELECT ts, lat, lon, sog,
           lag(ts) OVER w AS p_ts, lag(lat) OVER w AS p_lat, lag(lon) OVER w AS p_lon,
           row_number() OVER w AS n
    FROM positions WHERE {where}
    WINDOW w AS (ORDER BY ts, lat, lon)
), d AS (
    SELECT *, 2 * {radius} * asin(sqrt(
               pow(sin(radians(lat - p_lat) / 2), 2)
               + cos(radians(lat)) * cos(radians(p_lat)) * pow(sin(radians(lon - p_lon) / 2), 2))) AS dist_m
    FROM p
), b AS (
    SELECT *, CASE
        WHEN p_ts IS NULL THEN 0
        WHEN abs(lon - p_lon) > 180 THEN 1
        WHEN dist_m > {min_jump_m}
             AND dist_m / 1852.0 / greatest(epoch(ts) - epoch(p_ts), 1) * 3600 > {max_kn} THEN 1
        ELSE 0 END AS brk
    FROM d
), s AS (
    SELECT *, sum(brk) OVER (ORDER BY n ROWS UNBOUNDED PRECEDING) AS seg,
           lead(brk, 1, 1) OVER (ORDER BY n) AS next_brk
    FROM b
)
SELECT seg, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS t, lat, lon, sog FROM s
WHERE n = 1 OR ((n - 1) * ?) // ? <> ((n - 2) * ?) // ? OR brk = 1 OR next_brk = 1
ORDER BY n
"""


def track_geojson(con: duckdb.DuckDBPyConnection, mmsi: int, *, since: dt.datetime | None = None,
                  until: dt.datetime | None = None, zoom: float = 5.0) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the vessel's positions (naive UTC window): one LineString per
    continuous stretch, split at jumps over 60 kn and at the antimeridian, with
    ``properties.times`` (ISO, UTC) and ``properties.sog`` for each vertex. A stretch of one
    position is a LineString of that position twice (so every feature draws and replays alike).
    Raises :class:`shadowtrace.vessels.NotFoundError` for an MMSI the store has never seen."""
    from shadowtrace.vessels import NotFoundError, vessel_known

    budget = vertex_budget(zoom)
    where, args = ["mmsi = ?"], [mmsi]
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    if until is not None:
        where.append("ts <= ?")
        args.append(until)
    condition = " AND ".join(where)
    total = con.execute(f"SELECT count(*) FROM positions WHERE {condition}", args).fetchall()[0][0]
    if total == 0 and not vessel_known(con, mmsi):
        raise NotFoundError(f"no vessel with MMSI {mmsi} in this store",
                            hint="`shadowtrace vessels --db FILE` lists vessels")
    keep = min(budget, total)  # evenly spread: row n is kept when floor(n * keep / total) steps up
    sql = _TRACK_SQL.format(where=condition, radius=EARTH_RADIUS_M, min_jump_m=JUMP_MIN_DISTANCE_M,
                            max_kn=JUMP_SPEED_KN)
    rows = con.execute(sql, args + [keep, total, keep, total]).fetchall() if total else []
    stretches: dict[int, list[tuple[str, float, float, float | None]]] = {}
    for seg, stamp, lat, lon, sog in rows:
        stretches.setdefault(seg, []).append((stamp, lat, lon, sog))
    features = []
    for index, points in enumerate(stretches.values()):
        if len(points) == 1:
            points = points * 2
        features.append({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[p[2], p[1]] for p in points]},
            "properties": {"mmsi": mmsi, "stretch": index, "times": [p[0] for p in points],
                           "sog": [None if p[3] is None else round(float(p[3]), 1) for p in points]},
        })
    return {"type": "FeatureCollection", "features": features, "mmsi": mmsi,
            "total_positions": int(total), "vertices": len(rows)}
