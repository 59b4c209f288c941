"""ais_gap: a vessel goes dark (no position for hours) and reappears.

Definition: no position from a track for >= min_gap_hours, reported when it reappears.
Default 6 h: Global Fishing Watch pipe-gaps default (github.com/GlobalFishingWatch/pipe-gaps,
config/default.json); Skylight also flags dark activity after 6 h. GFW's published
"suspected AIS disabling" uses 12 h and a reception score; here the reception check is a
confidence input: a gap during which other vessels nearby kept reporting is more suspicious.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowtrace.detect.base import KNOT_M_S, haversine_sql, position_ref_sql, seconds_sql
from shadowtrace.engine.base import Engine


@dataclass(frozen=True)
class Params:
    min_gap_hours: float = 6.0  # GFW pipe-gaps default; Skylight
    reception_radius_m: float = 50_000.0  # issue definition: others reporting within 50 km
    reception_cell_deg: float = 0.5  # grid used to find the others (>= radius)
    others_for_full_confidence: int = 5  # our choice: five vessels heard nearby make reception evident


def detect(engine: Engine, params: Params) -> str:
    min_s = params.min_gap_hours * 3600
    engine.materialize(
        "gap_candidates",
        f"""
        SELECT mmsi, track_id, ts, lat, lon, ingest_id, source_line,
               prev_ts, prev_lat, prev_lon, prev_ingest_id, prev_source_line
        FROM track_points  -- each point carries the previous one of its track
        WHERE prev_ts IS NOT NULL AND {seconds_sql('ts', 'prev_ts')} >= {min_s}
        """,
    )
    cell = params.reception_cell_deg
    # Others heard near the gap: distinct vessels by hour and grid cell, then those cells
    # around where the vessel went dark, within the gap's hours.
    return f"""
        WITH heard AS (
            SELECT DISTINCT mmsi, date_trunc('hour', ts) AS hour,
                   CAST(floor(lat / {cell}) AS INTEGER) AS cy, CAST(floor(lon / {cell}) AS INTEGER) AS cx,
                   avg(lat) AS lat, avg(lon) AS lon
            FROM track_points
            WHERE ts >= (SELECT min(prev_ts) FROM gap_candidates)
              AND ts <= (SELECT max(ts) FROM gap_candidates)
            GROUP BY ALL
        ),
        others AS (
            SELECT g.mmsi, g.track_id, g.prev_ts, count(DISTINCT h.mmsi) AS n
            FROM gap_candidates g JOIN heard h
              ON h.hour BETWEEN date_trunc('hour', g.prev_ts) AND g.ts
             AND h.cy BETWEEN CAST(floor(g.prev_lat / {cell}) AS INTEGER) - 1 AND CAST(floor(g.prev_lat / {cell}) AS INTEGER) + 1
             AND h.cx BETWEEN CAST(floor(g.prev_lon / {cell}) AS INTEGER) - 1 AND CAST(floor(g.prev_lon / {cell}) AS INTEGER) + 1
             AND h.mmsi <> g.mmsi
             AND {haversine_sql('g.prev_lat', 'g.prev_lon', 'h.lat', 'h.lon')} <= {params.reception_radius_m}
            GROUP BY ALL
        )
        SELECT g.mmsi, CAST(NULL AS INTEGER) AS other_mmsi, g.prev_ts AS start, g.ts AS "end",
               g.prev_lat AS lat, g.prev_lon AS lon,
               0.3 + 0.6 * least(coalesce(o.n, 0), {params.others_for_full_confidence}) / {params.others_for_full_confidence}
                   + 0.1 * least({seconds_sql('g.ts', 'g.prev_ts')} / 86400.0, 1) AS confidence,
               {{'duration_hours': round({seconds_sql('g.ts', 'g.prev_ts')} / 3600.0, 2),
                 'distance_m': round({haversine_sql('g.prev_lat', 'g.prev_lon', 'g.lat', 'g.lon')}),
                 'implied_speed_kn': round({haversine_sql('g.prev_lat', 'g.prev_lon', 'g.lat', 'g.lon')}
                     / greatest({seconds_sql('g.ts', 'g.prev_ts')}, 1) / {KNOT_M_S}, 2),
                 'end_lat': g.lat, 'end_lon': g.lon,
                 'others_reporting_nearby': coalesce(o.n, 0),
                 'track_id': g.track_id,
                 'positions': [{position_ref_sql().replace('ingest_id', 'g.prev_ingest_id').replace('source_line', 'g.prev_source_line')},
                               {position_ref_sql('g')}]}} AS details
        FROM gap_candidates g
        LEFT JOIN others o ON o.mmsi = g.mmsi AND o.track_id = g.track_id AND o.prev_ts = g.prev_ts
    """
